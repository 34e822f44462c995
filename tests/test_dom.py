"""aggregator.dom: math recovery, absolute links, plain text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.dom import (
    all_meta_content,
    html_to_text,
    join_text,
    meta_content,
    node_text,
    parse_html,
    prepare_content,
    restore_math,
)

BASE = "https://blog.example.com/posts/attention/"

KATEX_INLINE = (
    '<p>Let <span class="katex"><span class="katex-mathml"><math xmlns="http://www.w3.org/1998/Math/MathML">'
    "<semantics><mrow><msub><mi>x</mi><mn>0</mn></msub></mrow>"
    '<annotation encoding="application/x-tex">x_0</annotation></semantics></math></span>'
    '<span class="katex-html" aria-hidden="true"><span class="base"><span class="strut"></span>'
    '<span class="mord"><span class="mord mathnormal">x</span><span class="msupsub"><span class="vlist-t">'
    '<span class="mord mtight">0</span></span></span></span></span></span></span> be the start.</p>'
)
KATEX_DISPLAY = (
    '<p>Energy:</p><p class="katex-block"><span class="katex-display"><span class="katex">'
    '<span class="katex-mathml"><math display="block"><semantics><mrow><mi>E</mi><mo>=</mo><mi>m</mi>'
    "<msup><mi>c</mi><mn>2</mn></msup></mrow>"
    '<annotation encoding="application/x-tex">E = mc^2</annotation></semantics></math></span>'
    '<span class="katex-html" aria-hidden="true"><span class="base">E=mc2</span></span></span></span></p>'
)
MATHML = (
    "<p>Area <math><semantics><mrow><mi>π</mi><msup><mi>r</mi><mn>2</mn></msup></mrow>"
    '<annotation encoding="application/x-tex">\\pi r^2</annotation></semantics></math> of a circle.</p>'
    '<math display="block"><semantics><mi>y</mi>'
    '<annotation encoding="application/x-tex">y = ax + b</annotation></semantics></math>'
)
MATHJAX_SCRIPTS = (
    '<p>Inline <script type="math/tex">a^2 + b^2</script> holds.</p>'
    '<script type="math/tex; mode=display">\\int_0^1 f(x)\\,dx</script>'
    '<p>Empty <script type="math/tex"></script>script<script type="math/tex">   </script> dropped.</p>'
)
# MathJax 2 as a saved page has it: preview, the rendered spans, assistive MathML, then the TeX script
MATHJAX2_RENDERED = (
    '<p>Let <span class="MathJax_Preview" style="color: inherit;"></span>'
    '<span class="MathJax" id="MathJax-Element-1-Frame" tabindex="0" role="presentation">'
    '<nobr aria-hidden="true"><span class="math" id="MathJax-Span-1"><span class="mrow"><span class="msubsup">'
    '<span class="mi">x</span><span class="mn">0</span></span></span></span></nobr>'
    '<span class="MJX_Assistive_MathML" role="presentation"><math xmlns="http://www.w3.org/1998/Math/MathML">'
    "<msub><mi>x</mi><mn>0</mn></msub></math></span></span>"
    '<script type="math/tex" id="MathJax-Element-1">x_0</script> be given.</p>'
)


def test_katex_inline() -> None:
    out = prepare_content(KATEX_INLINE)
    assert out == '<p>Let <span class="math inline">$x_0$</span> be the start.</p>'
    assert html_to_text(KATEX_INLINE) == "Let $x_0$ be the start."


def test_katex_display() -> None:
    out = prepare_content(KATEX_DISPLAY)
    assert '<span class="math display">$$E = mc^2$$</span>' in out
    assert "katex-html" not in out
    assert "E=mc2" not in out
    assert html_to_text(KATEX_DISPLAY) == "Energy:\n$$E = mc^2$$"


def test_mathml_with_annotation() -> None:
    out = prepare_content(MATHML)
    assert '<span class="math inline">$\\pi r^2$</span>' in out
    assert '<span class="math display">$$y = ax + b$$</span>' in out
    assert "<math" not in out


def test_mathml_without_annotation_is_left_alone() -> None:
    html = "<p><math><mi>x</mi></math></p>"
    doc = parse_html(html)
    assert restore_math(doc.body) == 0
    assert "<math>" in prepare_content(html)


def test_mathjax_scripts() -> None:
    out = prepare_content(MATHJAX_SCRIPTS)
    assert '<span class="math inline">$a^2 + b^2$</span>' in out
    assert '<span class="math display">$$\\int_0^1 f(x)\\,dx$$</span>' in out
    assert "<script" not in out  # empty math scripts are dropped, not kept
    assert "$$$$" not in out
    assert "<p>Empty script dropped.</p>" in out


def test_restore_math_counts() -> None:
    doc = parse_html(KATEX_INLINE)
    assert restore_math(doc.body) == 1
    doc = parse_html(KATEX_INLINE + KATEX_DISPLAY + MATHML + MATHJAX_SCRIPTS)
    assert restore_math(doc.body) == 6


def test_leading_math_script_kept() -> None:
    html = '<script type="math/tex; mode=display">\\nabla_\\theta L</script><p>is the gradient.</p>'
    assert prepare_content(html) == ('<span class="math display">$$\\nabla_\\theta L$$</span><p>is the gradient.</p>')
    assert html_to_text(html).startswith("$$\\nabla_\\theta L$$")


def test_math_tex_is_text_not_markup() -> None:
    html = '<p>so <script type="math/tex">a < b \\text{ and } <b>x</b></script></p>'
    out = prepare_content(html)
    assert "<b>" not in out
    assert "$a &lt; b \\text{ and } &lt;b&gt;x&lt;/b&gt;$" in out


@pytest.mark.parametrize("html", [KATEX_INLINE, KATEX_DISPLAY, MATHML, MATHJAX_SCRIPTS])
def test_no_triple_text(html: str) -> None:
    text = html_to_text(html)
    assert "x0x" not in text
    assert "x0$" not in text
    assert "E=mc2" not in text
    assert "πr2" not in text


def test_mathjax2_rendered_output_has_no_duplicate() -> None:
    assert html_to_text(MATHJAX2_RENDERED) == "Let $x_0$ be given."


def test_prepare_content_without_math_is_not_parsed() -> None:
    html = '<p>See <a href="../gpt/">the last post</a>.<p>Unclosed, <b>bold'
    assert prepare_content(html) is html  # links are the sanitiser's job; nothing here needs a parse


def test_prepare_content_cuts_a_whole_document_to_its_body() -> None:
    html = "<!DOCTYPE html><html><head><title>Site</title><style>p{}</style></head><body><p>x</p></body></html>"
    assert prepare_content(html) == "<p>x</p>"


@pytest.mark.parametrize(
    "html",
    [
        '<p><span class="KaTeX">x</span></p>',
        "<p><MATH><mi>x</mi></MATH></p>",
        '<p><script type="Math/TeX">x</script></p>',
        '<p><span class="MJX_Assistive_MathML">x</span></p>',
    ],
)
def test_any_case_of_a_math_marker_gets_the_math_pass(html: str) -> None:
    assert prepare_content(html) is not html
    tex_only = "<p>$x$ and \\(y\\) are TeX already</p>"
    assert prepare_content(tex_only) is tex_only


def test_prepare_content_empty() -> None:
    assert prepare_content("") == ""
    assert prepare_content("plain text") == "plain text"


# --- html_to_text -------------------------------------------------------------------------------


def test_html_to_text_blocks_on_separate_lines() -> None:
    html = (
        "<h1>Title</h1><p>One <b>bold</b> word.</p><ul><li>first</li><li>second</li></ul>"
        "<p>line<br>break</p><table><tr><td>a</td><td>b</td></tr></table>"
    )
    assert html_to_text(html) == "Title\nOne bold word.\nfirst\nsecond\nline\nbreak\na\nb"


def test_html_to_text_hidden_parts_left_out() -> None:
    html = (
        "<p>kept</p><script>var x = 1;</script><style>.a{}</style><noscript>no js</noscript>"
        "<svg><text>svg text</text></svg><template><p>tpl</p></template><button>Click</button>"
    )
    assert html_to_text(html) == "kept"


def test_html_to_text_image_alt() -> None:
    assert html_to_text('<p>See <img alt="the attention diagram"> here <img alt="image"></p>') == (
        "See the attention diagram here"
    )


def test_html_to_text_spaces_collapsed() -> None:
    assert html_to_text("<p>a \u00a0 b\u3000c\t\td</p>\n\n\n<p>e</p>") == "a b c d\ne"
    assert html_to_text("") == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\tb\rc\fd\ve", "a b c d e"),  # each space-like character a post's text holds becomes one space
        ("x\u00a0\u200b\u3000 \t y", "x y"),  # a mixed run is one space
        ("a" + " " * 129 + "b", "a b"),  # a long run (indented code) too
        ("a \u2003 b", "a \u2003 b"),  # inside a line, other Unicode spaces are kept as they are...
        ("\u2003 a \u2028", "a"),  # ...and at its ends stripped, as str.strip() does
        ("\n \n a \n\u3000\n b \n", "a\nb"),  # blank lines dropped
        ("", ""),
    ],
)
def test_join_text_spaces(text: str, expected: str) -> None:
    assert join_text([text]) == expected
    assert join_text(text) == expected  # pieces may be single characters


def test_html_to_text_block_lines_in_any_nesting() -> None:
    html = '<p>a<span class="display math x">$$y$$</span>b<img alt="fig"><br>c</p><table><tr><td>d</td></tr></table>'
    assert html_to_text(html) == "a\n$$y$$\nb fig\nc\nd"


def test_html_to_text_cjk() -> None:
    html = "<h2>深度学习入门：反向传播算法详解</h2><p>本文介绍神经网络的反向传播算法。</p>"
    assert html_to_text(html) == "深度学习入门：反向传播算法详解\n本文介绍神经网络的反向传播算法。"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<h2>Head</h2>body", "Head\nbody"),
        ("<blockquote><p>quote</p></blockquote>Next", "quote\nNext"),
        ("<ul><li>a</li></ul>after", "a\nafter"),
        ("<div>x<div>y</div>z</div>", "x\ny\nz"),
    ],
)
def test_html_to_text_text_after_a_block(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


def test_html_to_text_display_math_on_its_own_line() -> None:
    assert html_to_text(MATHML) == "Area $\\pi r^2$ of a circle.\n$$y = ax + b$$"


def test_node_text_and_meta() -> None:
    doc = parse_html(
        '<html><head><meta property="og:title" content=" OG title "><meta name="description" content="">'
        '<meta property="article:tag" content="ml"><meta property="article:tag" content="nlp">'
        "</head><body><article><h1>T</h1><p>body</p></article></body></html>"
    )
    assert meta_content(doc, "description", "og:title") == "OG title"
    assert meta_content(doc, "nothing") is None
    assert all_meta_content(doc, "article:tag") == ["ml", "nlp"]
    assert node_text(doc.css_first("article")) == "T\nbody"


def test_parse_html_bytes() -> None:
    doc = parse_html("<p>深度学习</p>".encode())
    assert doc.css_first("p").text() == "深度学习"


# --- property tests -----------------------------------------------------------------------------

_pieces = st.sampled_from(
    [
        "<p>",
        "</p>",
        "<div>",
        "</div>",
        '<span class="katex">',
        '<span class="katex-display">',
        "</span>",
        "<math>",
        "</math>",
        "<semantics>",
        '<annotation encoding="application/x-tex">',
        "</annotation>",
        '<script type="math/tex">',
        '<script type="math/tex; mode=display">',
        "</script>",
        '<a href="../x">',
        "</a>",
        '<img src="i.png" srcset="a.png 1x, , b.png 2x">',
        '<img srcset=",,,">',
        "<br>",
        "x_0",
        "$",
        "深度",
        "<table><tr><td>",
        "</td></tr></table>",
        "<!--",
        "-->",
        "<svg>",
        "</svg>",
        "&amp;",
        "<",
        ">",
        " ",
        '<span class="katex-html">',
        '<a href="http://[bad">',
        '<img src="">',
        "<li>",
        "<pre>",
    ]
)
_htmlish = st.one_of(st.text(max_size=200), st.lists(_pieces, max_size=30).map("".join))


@settings(deadline=None)
@given(_htmlish)
def test_prepare_content_never_raises(html: str) -> None:
    assert isinstance(prepare_content(html), str)


@settings(deadline=None)
@given(_htmlish)
def test_html_to_text_never_raises(html: str) -> None:
    text = html_to_text(html)
    assert isinstance(text, str)
    assert text == text.strip()
    assert "\n\n" not in text
