"""HTML parsing, math recovery and text extraction. The only module that imports selectolax.

Other modules get `Document`/`Node` objects from `parse_html` and use their methods (`css`,
`css_first`, `attributes`, `text`), so the parser can change here without touching them.

Math is kept as TeX in one shape everywhere: `<span class="math inline">$…$</span>` and
`<span class="math display">$$…$$</span>`, so the text of a post shows `$x_0$`, never "x0x_0x0".
"""

from __future__ import annotations

from collections.abc import Iterable

from selectolax.lexbor import LexborHTMLParser, LexborNode

Document = LexborHTMLParser
Node = LexborNode

_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "td",
        "th",
        "ul",
    }
)
_MATH_MARKERS = ("katex", "<math", "math/tex", "mjx_assistive_mathml")  # lower case
_MATHJAX2_RENDERED = (
    ".MathJax_Preview, .MathJax, .MathJax_Display, .MathJax_SVG, .MathJax_SVG_Display, .MathJax_CHTML, "
    ".MathJax_CHTML_Display"
)
_INVISIBLE = "script, style, noscript, template, svg, iframe, object, button, select, head, title"
_ODD_SPACES = ("\t", "\r", "\f", "\v", "\u00a0", "\u200b", "\u3000")  # each is a space in a post's text
_DISPLAY_MATH = "span.math.display"  # on its own line, as a block


def parse_html(html: str | bytes) -> Document:
    """Parse a whole page or a fragment. Never raises on malformed markup."""
    if isinstance(html, bytes):
        html = html.decode("utf-8", errors="replace")
    return LexborHTMLParser(html)


def fragment_root(doc: Document) -> Node | None:
    """The element holding a parsed fragment's content (the body, or the root for odd input)."""
    return doc.body or doc.root or doc.css_first("*")


def parse_fragment(html: str) -> Document:
    """Parse an article fragment inside <body>, so a leading <script> or <style> is not moved into <head>."""
    return parse_html(html if _whole_document(html) else "<body>" + html)


def round_trips(html: str) -> bool:
    """True when parsing the fragment and serialising it again gives back the same text."""
    return _parsed_back(html)[1]


def read_back(html: str) -> tuple[bool, str]:
    """Of sanitised HTML, from one parse: whether it round-trips (see `round_trips`), and its text.

    The text is what `html_to_text` gives: sanitising left no rendered math or script to take out.
    """
    if not html:
        return True, ""
    root, same = _parsed_back(html)
    return same, node_text(root, drop_hidden=False) if root is not None else ""


def _parsed_back(html: str) -> tuple[Node | None, bool]:
    root = fragment_root(parse_fragment(html))
    # an HTML parser drops a leading byte-order mark; parse_fragment's "<body>" would hide that
    return root, root is not None and not html.startswith("\ufeff") and root.inner_html == html


def prepare_content(html: str) -> str:
    """Article HTML ready for the sanitiser: rendered math turned into TeX spans, a whole document cut to
    its body. Returned as it is, with no parse, when it needs neither (most posts): relative links are
    made absolute by the sanitiser, in the pass it makes over every attribute anyway."""
    if not _whole_document(html) and not _has_rendered_math(html):
        return html
    root = fragment_root(parse_fragment(html))
    if root is None:
        return ""
    restore_math(root)
    return root.inner_html or ""


def _has_rendered_math(html: str) -> bool:
    # what restore_math looks for; one lower() and four scans (a case-blind regex took four times as long)
    lowered = html.lower()
    return any(marker in lowered for marker in _MATH_MARKERS)


def _whole_document(html: str) -> bool:
    return html[:200].lstrip().lower().startswith(("<!doctype", "<html"))


def restore_math(root: Node) -> int:
    """Replace rendered math (KaTeX, MathML with a TeX annotation, MathJax scripts) by TeX spans; count them."""
    count = 0
    for display in root.css("span.katex-display, div.katex-display"):
        count += _replace_with_tex(display, display=True)
    for katex in root.css(".katex"):
        count += _replace_with_tex(katex, display=False)
    for math in root.css("math"):
        count += _replace_with_tex(math, display=(math.attributes.get("display") == "block"))
    scripts = root.css('script[type^="math/tex"]')
    if scripts:
        for rendered in root.css(_MATHJAX2_RENDERED):
            rendered.decompose()  # MathJax 2's output beside its script: the TeX is in the script
    for script in scripts:
        tex = script.text(deep=True) or ""
        if not tex.strip():
            script.decompose()  # an empty math script is an artefact (seen in posts that talk about MathJax)
            continue
        script.replace_with(_math_span(tex, display="mode=display" in (script.attributes.get("type") or "")))
        count += 1
    for leftover in root.css(".katex-html, .MJX_Assistive_MathML"):
        leftover.decompose()
    return count


def _replace_with_tex(node: Node, *, display: bool) -> int:
    annotation = node.css_first('annotation[encoding="application/x-tex"]')
    if annotation is None:
        return 0
    node.replace_with(_math_span(annotation.text(deep=True) or "", display=display))
    return 1


def _math_span(tex: str, *, display: bool) -> Node:
    tex = tex.strip()
    span = parse_html(f'<span class="math {"display" if display else "inline"}"></span>').css_first("span")
    assert span is not None  # parsing our own literal markup always yields the span
    span.insert_child(f"$${tex}$$" if display else f"${tex}$")
    return span


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML fragment: blocks on their own lines, math as TeX, nothing hidden."""
    if not html:
        return ""
    doc = parse_fragment(html)
    root = fragment_root(doc)
    if root is None:
        return ""
    restore_math(root)
    return node_text(root)


def node_text(root: Node, *, drop_hidden: bool = True) -> str:
    """Text of a node with block elements on separate lines (scripts, styles and SVG left out: `drop_hidden`
    False skips looking for them, in sanitised HTML, which holds none)."""
    if drop_hidden:
        for hidden in root.css(_INVISIBLE):
            hidden.decompose()
    # one walk finds blocks and images: a selector list of 30 tags cost twice the parse
    images: list[Node] = []
    blocks: list[Node] = []
    for node in root.traverse():
        tag = node.tag
        if tag in _BLOCK_TAGS:
            blocks.append(node)
        elif tag == "img":
            images.append(node)
    for image in images:
        alt = (image.attributes.get("alt") or "").strip()
        if alt and alt.lower() not in ("image", "img"):
            image.insert_before(f" {alt} ")
    # a line break before and after each block (in any order: each is the same "\n"), then one walk in C:
    # a Python walk cost 0.2 ms a post
    for block in (*blocks, *root.css(_DISPLAY_MATH)):
        block.insert_before("\n")
        block.insert_after("\n")
    return join_text([root.text(deep=True, separator="", strip=False)])


def join_text(pieces: Iterable[str]) -> str:
    """Collapse spaces inside lines, and drop blank lines."""
    text = "".join(pieces)
    # str.replace and `in` run in C; a regex over the spaces' class cost 35 us a post (it tests each character)
    for space in _ODD_SPACES:
        if space in text:
            text = text.replace(space, " ")
    while "  " in text:
        text = text.replace("  ", " ")
    return "\n".join(line for line in map(str.strip, text.split("\n")) if line)


def meta_content(doc: Document, *names: str) -> str | None:
    """The first non-empty `<meta name=… | property=…>` content among `names`."""
    for name in names:
        for node in doc.css(f'meta[property="{name}"], meta[name="{name}"]'):
            value = (node.attributes.get("content") or "").strip()
            if value:
                return value
    return None


def all_meta_content(doc: Document, name: str) -> list[str]:
    """Every `<meta name|property=name>` content, in order (e.g. `article:tag`)."""
    nodes = doc.css(f'meta[property="{name}"], meta[name="{name}"]')
    return [v for v in ((n.attributes.get("content") or "").strip() for n in nodes) if v]
