"""aggregator.sanitize: allow-list sanitising of third-party HTML."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from aggregator.dom import html_to_text, prepare_content
from aggregator.sanitize import escape_text, sanitize_html, sanitize_with_text

REL = 'rel="noopener noreferrer nofollow"'
BASE = "https://blog.example.com/posts/attention/"


def attributes_of(html: str) -> list[tuple[str, str, str]]:
    """(tag, attribute, value) for every element of a fragment."""
    doc = LexborHTMLParser(html)
    root = doc.body
    found = []
    if root is None:
        return found
    for node in root.traverse():
        if node.tag in ("-text", "body"):
            continue
        for name, value in node.attributes.items():
            found.append((node.tag, name, value or ""))
    return found


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>hi<script>alert(1)</script></p>", "<p>hi</p>"),
        ("<p>a</p><SCRIPT SRC=//evil.example/x.js></SCRIPT><p>b</p>", "<p>a</p><p>b</p>"),
        ("<img src=x onerror=alert(1)>", '<img src="x">'),
        ('<div onclick="steal()" class="note">d</div>', '<div class="note">d</div>'),
        ('<body onload="x()"><p>t</p></body>', "<p>t</p>"),
        ('<iframe src="https://evil.example/"></iframe>after', "after"),
        ('<form action="https://evil.example/"><input name="q"><button>Go</button></form>after', "after"),
        ("<style>body { display: none }</style><p>x</p>", "<p>x</p>"),
        ('<p style="position:fixed;top:0">x</p>', "<p>x</p>"),
        ("<svg><script>alert(1)</script><circle r=1 /></svg>after", "after"),
        ('<object data="x.swf"></object><embed src="x.swf">after', "after"),
        ("<textarea><script>x</script></textarea>after", "after"),
        ("<!-- a comment --><p>x</p>", "<p>x</p>"),
        ("<p>a &lt;script&gt; b</p>", "<p>a &lt;script&gt; b</p>"),
        ("", ""),
    ],
)
def test_dangerous_markup_removed(html: str, expected: str) -> None:
    assert sanitize_html(html) == expected


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "java&#x09;script:alert(1)",
        "&#106;avascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html,<script>alert(1)</script>",
        "data:image/png;base64,iVBORw0KGgo=",  # data: only on img src
        "ftp://files.example.com/x",
    ],
)
def test_bad_link_urls_removed(href: str) -> None:
    out = sanitize_html(f'<a href="{href}">x</a>')
    assert out == f"<a {REL}>x</a>"


@pytest.mark.parametrize(
    "src",
    ["javascript:alert(1)", "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=", "data:text/html;base64,PHA+", "vbscript:x"],
)
def test_bad_image_urls_removed(src: str) -> None:
    assert sanitize_html(f'<img src="{src}" alt="a">') == '<img alt="a">'


@pytest.mark.parametrize(
    "src",
    [
        "data:image/png;base64,iVBORw0KGgo=",
        "data:image/jpeg;base64,/9j/4AAQ",
        "data:image/gif;base64,R0lGODlh",
        "data:image/webp;base64,UklGRg==",
        "data:image/avif;base64,AAAA",
        "DATA:image/png;base64,iVBORw0KGgo=",
    ],
)
def test_raster_data_images_kept(src: str) -> None:
    assert sanitize_html(f'<img src="{src}">') == f'<img src="{src}">'


def test_data_urls_elsewhere_removed() -> None:
    out = sanitize_html('<video src="https://example.com/v.mp4" poster="data:image/png;base64,AA" controls></video>')
    assert "data:" not in out
    assert 'src="https://example.com/v.mp4"' in out
    assert sanitize_html('<img srcset="data:image/png;base64,AA 1x">') == "<img>"
    assert sanitize_html('<source srcset="data:image/png;base64,AA">') == "<source>"


@pytest.mark.parametrize(
    "srcset",
    [
        "javascript:alert(1) 1x, https://example.com/b.png 2x",
        "https://example.com/a.png 1x, data:image/svg+xml;base64,PHN2Zz4= 2x",
    ],
)
def test_srcset_candidates_checked(srcset: str) -> None:
    out = sanitize_html(f'<img src="https://example.com/a.png" srcset="{srcset}">')
    assert "javascript:" not in out
    assert "data:" not in out


@pytest.mark.parametrize("html", ["<pre>\n\n</pre>", "<pre>\n\nx = 1\n</pre>", '<pre class="x">\n\n  indented</pre>'])
def test_sanitize_idempotent_on_pre_leading_newline(html: str) -> None:
    once = sanitize_html(html)
    assert sanitize_html(once) == once


def test_sanitize_idempotent_on_misnested_headings() -> None:
    once = sanitize_html("<h1><a><h1></a></h1>")
    assert sanitize_html(once) == once


def test_math_spans_and_code_classes_kept() -> None:
    html = (
        '<p>Let <span class="math inline">$x_0$</span> be</p>'
        '<div class="math display">$$E = mc^2$$</div>'
        '<pre class="language-python"><code class="language-python hljs">x = 1</code></pre>'
    )
    assert sanitize_html(html) == html


def test_links_get_rel_and_lose_target() -> None:
    out = sanitize_html('<a href="https://example.com/" target="_blank" rel="opener">x</a>')
    assert out == f'<a href="https://example.com/" {REL}>x</a>'
    assert sanitize_html('<a href="/relative">r</a>') == f'<a href="/relative" {REL}>r</a>'
    assert sanitize_html('<a href="mailto:me@example.com">m</a>') == f'<a href="mailto:me@example.com" {REL}>m</a>'


def test_structure_kept() -> None:
    html = (
        "<h2>Title</h2><p>Text with <strong>bold</strong>, <em>em</em> and <code>code</code>.</p>"
        '<figure><img src="https://example.com/a.png" alt="graph" width="10" loading="lazy">'
        "<figcaption>Caption</figcaption></figure>"
        "<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>"
        "<details><summary>More</summary><p>Hidden</p></details>"
        '<blockquote><p>Quote</p></blockquote><ol start="3"><li>three</li></ol>'
    )
    assert sanitize_html(html) == html


def test_escape_text() -> None:
    text = "<script>alert('x') & co</script> 深度学习"
    escaped = escape_text(text)
    assert "<" not in escaped
    assert ">" not in escaped
    assert html.unescape(escaped) == text


# --- property tests -----------------------------------------------------------------------------

_TAGS = [
    "p",
    "a",
    "img",
    "div",
    "span",
    "script",
    "style",
    "iframe",
    "svg",
    "math",
    "form",
    "input",
    "b",
    "em",
    "pre",
    "code",
    "table",
    "tr",
    "td",
    "ul",
    "li",
    "video",
    "source",
    "object",
    "textarea",
    "noscript",
    "template",
    "h1",
    "blockquote",
    "select",
    "option",
    "br",
    "annotation",
    "details",
    "body",
    "title",
]
_URL_ATTRS = ["href", "src", "poster", "action", "formaction", "xlink:href", "data", "background"]
_PLAIN_ATTRS = [
    "class",
    "id",
    "title",
    "alt",
    "lang",
    "width",
    "style",
    "onclick",
    "onerror",
    "onload",
    "OnMouseOver",
    "target",
    "rel",
    "type",
    "colspan",
    "open",
    "dir",
]
_URL_VALUES = [
    "javascript:alert(1)",
    " JaVaScRiPt:alert(1)",
    "java&#x09;script:x",
    "&#106;avascript:x",
    "vbscript:msgbox(1)",
    "VBScript:x",
    "data:text/html,<b>x</b>",
    "data:image/png;base64,AA",
    "data:image/svg+xml,<svg onload=alert(1)>",
    "https://example.com/a?b=1&c=2",
    "/rel",
    "#frag",
    "mailto:a@example.com",
    "",
    "x y",
]
_PLAIN_VALUES = [
    "x",
    "math inline",
    "language-python",
    "alert(1)",
    '"quoted"',
    "it's",
    "a<b",
    "1",
    "",
    "深度学习",
    "rtl",
]
_WORDS = ["hello", " ", "深度学习", "$x_0$", "&amp;", "&lt;", "&", "<", ">", "a=b", "\n", "x", "'", '"', "/"]


@st.composite
def _attribute(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        name, value = draw(st.sampled_from(_URL_ATTRS)), draw(st.sampled_from(_URL_VALUES))
    else:
        name, value = draw(st.sampled_from(_PLAIN_ATTRS)), draw(st.sampled_from(_PLAIN_VALUES))
    quote = draw(st.sampled_from(['"', "'", ""]))
    if quote == "" and (not value or any(c in value for c in " \"'<>=`")):
        quote = '"'
    value = value.replace(quote, "&quot;" if quote == '"' else "&#39;") if quote else value
    return f" {name}={quote}{value}{quote}"


@st.composite
def _element(draw: st.DrawFn, inner: st.SearchStrategy[str]) -> str:
    tag = draw(st.sampled_from(_TAGS))
    attrs = "".join(draw(st.lists(_attribute(), max_size=3)))
    close = draw(st.sampled_from(["full", "full", "none", "self"]))
    if close == "self":
        return f"<{tag}{attrs}/>"
    body = draw(inner)
    return f"<{tag}{attrs}>{body}" + (f"</{tag}>" if close == "full" else "")


_text = st.lists(st.sampled_from(_WORDS), max_size=4).map("".join)
_html = st.recursive(
    _text,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=4).map("".join),
        _element(inner),
    ),
    max_leaves=12,
)


def _has_nested_heading(html: str) -> bool:
    root = LexborHTMLParser(html).body
    headings = "h1, h2, h3, h4, h5, h6"
    return root is not None and any(h.css_first(headings) is not None for h in root.css(headings))


@settings(deadline=None)
@given(_html)
def test_sanitize_is_idempotent(html: str) -> None:
    once = sanitize_html(html)
    if re.search(r"<pre[^>]*>\n", once) or _has_nested_heading(once):
        return  # the two known non-idempotent shapes, each with its own xfail test above
    assert sanitize_html(once) == once


@settings(deadline=None, max_examples=300)
@given(_html)
def test_skipping_the_second_pass_changes_nothing(html: str) -> None:
    # sanitize_html skips its second pass when the first output parses back to itself: a second pass
    # (and a third) must then give the same text
    from aggregator.sanitize import _clean_once

    once = _clean_once(html)
    settled = once
    for _ in range(2):
        settled = _clean_once(settled)
    if sanitize_html(html) == once:
        assert settled == once or re.search(r"<pre[^>]*>\n", once) or _has_nested_heading(once)
    assert sanitize_html(html) in (once, _clean_once(once), settled)


@settings(deadline=None)
@given(_html)
def test_sanitized_output_is_safe(html: str) -> None:
    out = sanitize_html(html)
    assert "<script" not in out.lower()
    # markup-looking text (e.g. inside <title>, which is RCDATA) comes out escaped, so look inside tags only
    for tag_text in re.findall(r"<[^>]*>", out):
        assert not re.search(r"\son\w+=", tag_text, re.IGNORECASE), tag_text
        assert "javascript:" not in tag_text.lower(), tag_text
        assert "vbscript:" not in tag_text.lower(), tag_text
    for tag, name, value in attributes_of(out):
        assert not name.lower().startswith("on"), (tag, name)
        assert name != "style", tag
        assert tag not in ("script", "style", "iframe", "svg", "math", "form", "object", "textarea"), tag
        if value.strip().lower().startswith("data:"):
            assert (tag, name) == ("img", "src"), (tag, name, value)
            assert not value.strip().lower().startswith("data:image/svg")


@settings(deadline=None)
@given(st.text(max_size=200))
def test_sanitize_never_raises_on_text(text: str) -> None:
    out = sanitize_html(text)
    assert isinstance(out, str)
    assert sanitize_html(out) == out


@pytest.mark.parametrize(
    "html",
    ["\ufeff\ufeff", "\ufeff\ufeff<p>x</p>", "<x-tag>\ufeff</x-tag>\ufeffy", "\ufeff" * 4, "\ufeff" * 9 + "<p>x</p>"],
)
def test_a_leading_byte_order_mark_settles_in_one_call(html: str) -> None:
    # found by the fuzz test: html5ever drops one leading BOM per pass, more than the passes sanitising makes
    once = sanitize_html(html)
    assert sanitize_html(once) == once and not once.startswith("\ufeff")


@pytest.mark.parametrize("value", ["javascript:alert(1)", " JavaScript:x", "java\tscript:x", "vbscript:msgbox"])
def test_a_script_url_is_dropped_from_any_attribute(value: str) -> None:
    # found by the fuzz test: nh3 checks URL schemes only on URL attributes, not on a class or a title
    out = sanitize_html(f'<p class="{value}" title="{value}">text</p>')
    assert "script:" not in out.lower().replace("\t", "") and "text" in out


_KATEX = (
    '<p>Loss <span class="katex"><span class="katex-mathml"><math><semantics><mrow><mi>x</mi></mrow>'
    '<annotation encoding="application/x-tex">x_0</annotation></semantics></math></span>'
    '<span class="katex-html" aria-hidden="true">x0</span></span> and</p>'
    '<script type="math/tex; mode=display">\\sum_i w_i</script><span class="MathJax">rendered</span>'
)


@settings(deadline=None, max_examples=300)
@given(_html)
def test_sanitize_with_text_is_sanitize_then_text(html: str) -> None:
    # normalize takes the text from the parse that checks the sanitised HTML: it must be the text of that HTML
    cleaned = sanitize_html(html)
    assert sanitize_with_text(html) == (cleaned, html_to_text(cleaned))


@pytest.mark.parametrize(
    "html",
    [
        "",
        "\ufeff\ufeff<p>x</p>",  # needs a second pass
        "<h1>a<h2>b</h2></h1><pre>\ncode</pre>",  # the known shapes that need more passes
        prepare_content(_KATEX),  # rendered math already turned into TeX
        '<ul><li>one<li>two</ul><img alt="figure 1" src="/f.png"><table><tr><td>a<td>b</table>',
    ],
)
def test_sanitize_with_text_on_known_shapes(html: str) -> None:
    cleaned, text = sanitize_with_text(html)
    assert cleaned == sanitize_html(html)
    assert text == html_to_text(cleaned)


def test_sanitize_with_text_keeps_math_as_tex() -> None:
    _, text = sanitize_with_text(prepare_content(_KATEX))
    assert "$x_0$" in text and "$$\\sum_i w_i$$" in text
    assert "x0" not in text.replace("x_0", "") and "rendered" not in text


def test_relative_links_made_absolute() -> None:
    html = (
        '<p><a href="../gpt/">prev</a> <a href="#sec-2">s</a> <a href="mailto:me@example.com">m</a> '
        '<a href="//cdn.example.org/x">cdn</a> <a href="/about/">about</a> '
        '<a href="https://other.example.net/y">abs</a></p>'
        '<img src="img/attn.png" srcset="img/attn.png 1x, /img/attn@2x.png 2x, https://cdn.example.org/c.png 3x">'
        '<img src="data:image/png;base64,AA">'
        '<picture><source srcset="img/a.webp" type="image/webp"></picture>'
        '<video src="v.mp4" poster="poster.jpg"></video>'
    )
    doc = LexborHTMLParser(sanitize_html(html, BASE))
    hrefs = [a.attributes["href"] for a in doc.css("a")]
    assert hrefs == [
        "https://blog.example.com/posts/gpt/",
        "#sec-2",
        "mailto:me@example.com",
        "https://cdn.example.org/x",
        "https://blog.example.com/about/",
        "https://other.example.net/y",
    ]
    imgs = doc.css("img")
    assert imgs[0].attributes["src"] == "https://blog.example.com/posts/attention/img/attn.png"
    assert imgs[0].attributes["srcset"] == (
        "https://blog.example.com/posts/attention/img/attn.png 1x, "
        "https://blog.example.com/img/attn@2x.png 2x, https://cdn.example.org/c.png 3x"
    )
    assert imgs[1].attributes["src"] == "data:image/png;base64,AA"
    assert doc.css_first("source").attributes["srcset"] == "https://blog.example.com/posts/attention/img/a.webp"
    video = doc.css_first("video")
    assert video.attributes["src"] == "https://blog.example.com/posts/attention/v.mp4"
    assert video.attributes["poster"] == "https://blog.example.com/posts/attention/poster.jpg"


def test_no_base_leaves_links() -> None:
    assert sanitize_html('<a href="../x">x</a>') == f'<a href="../x" {REL}>x</a>'


def test_links_are_resolved_only_against_the_fragment_being_cleaned() -> None:
    sanitize_html('<a href="x">x</a>', BASE)
    assert sanitize_html('<a href="x">x</a>') == f'<a href="x" {REL}>x</a>'  # the base of the last call is gone
    # a relative link that only looks like a script URL once resolved is not one; a real one is still dropped
    out = sanitize_html('<a href="javascript%3Aalert(1)">a</a><a href="java\tscript:alert(1)">b</a>', BASE)
    assert 'href="https://blog.example.com/posts/attention/javascript%3Aalert(1)"' in out
    assert "<a " + REL + ">b</a>" in out


def test_links_resolved_with_rendered_math_too() -> None:
    html = '<p><script type="math/tex">x_0</script> see <a href="../gpt/">gpt</a></p>'
    cleaned, text = sanitize_with_text(prepare_content(html), BASE)
    assert 'href="https://blog.example.com/posts/gpt/"' in cleaned
    assert text == "$x_0$ see gpt"


def test_a_link_that_resolves_to_no_address_is_dropped_as_nh3_drops_it() -> None:
    # "//<a href=" is a relative link to nh3; resolved, it has "<a href=" for a host
    once = sanitize_html('<a href="//<a href=">x</a>', BASE)
    assert once == f"<a {REL}>x</a>"
    assert sanitize_html(once, BASE) == once


_LINK_PIECES = ['<a href="', '<img srcset="', '<img src="', '"', ">", " 2x,", "../", "//", ":", "%", "x"]


@settings(deadline=None, max_examples=200)
@given(
    st.lists(st.sampled_from(_LINK_PIECES)).map("".join),
    st.sampled_from([None, "", BASE, "http://[broken", "not a url", "https://例え.jp/a b/"]),
)
def test_any_base_and_link_sanitise_without_raising(html: str, base: str | None) -> None:
    once = sanitize_html(html, base)
    assert sanitize_html(once, base) == once
