"""HackMD-flavoured Markdown to HTML. The only module that imports markdown_it and mdit_py_plugins.

CommonMark plus what HackMD notes use: tables, strikethrough, footnotes, task lists, YAML front
matter, dollar math, `:::info`-style containers and `:::spoiler`, `==mark==`, `{%youtube id %}` and
`{%hackmd path %}` embeds (as links), image size suffixes (`![a](u =450x)`) and `[TOC]` (removed).

Math comes out as TeX in the one shape the rest of agg uses (see dom.py):
`<span class="math inline">$…$</span>` and `<span class="math display">$$…$$</span>`, TeX escaped.
The output is untrusted HTML: it is sanitised later, with everything else, in normalize.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.front_matter import front_matter_plugin
from mdit_py_plugins.tasklists import tasklists_plugin

from aggregator.text import title_key

_autolink: Callable[[MarkdownIt], None] | None
try:  # mdit-py-plugins >= 0.5; older versions leave bare URLs as text, which is harmless
    from mdit_py_plugins.gfm_autolink import gfm_autolink_plugin as _autolink
except ImportError:  # pragma: no cover
    _autolink = None

FrontMatter = dict[str, str | list[str]]

DEFAULT_ORIGIN = "https://hackmd.io"
ALERT_KINDS = ("info", "warning", "success", "danger")
_SIZE_MARK = "agg-imsize="  # carries an image size from the pre-pass to the image token, inside the URL
# `![alt](url =450x)`, `![alt](url =x200 "title")`, `![alt](url "title" =450x200)`
_IMAGE_SIZE = re.compile(
    r"(?P<head>!\[(?:[^\]\\\n]|\\.)*\]\(\s*)(?P<url><[^>\n]*>|[^\s()<>]+)"
    r"(?P<t1>\s+\"[^\"\n]*\"|\s+'[^'\n]*')?\s+=(?P<w>\d*)x(?P<h>\d*)(?P<t2>\s+\"[^\"\n]*\"|\s+'[^'\n]*')?\s*\)"
)
_SIZE_IN_URL = re.compile(r"(?:#|%23)" + re.escape(_SIZE_MARK) + r"(\d*)x(\d*)$")
_SIZE_IN_TEXT = re.compile(r"#" + re.escape(_SIZE_MARK) + r"(\d*)x(\d*)")
_EMBED = re.compile(r"\{%\s*([A-Za-z]+)\s+([^\s%}]+)(?:\s+[^%}]*)?\s*%\}")
_EMBED_URLS = {
    "youtube": "https://www.youtube.com/watch?v={}",
    "vimeo": "https://vimeo.com/{}",
    "gist": "https://gist.github.com/{}",
    "slideshare": "https://www.slideshare.net/{}",
    "speakerdeck": "https://speakerdeck.com/{}",
}
_TOC = re.compile(r"^\s*\[\s*toc\s*\]\s*$", re.IGNORECASE)
_TAGS_LINE = re.compile(r"^\s*tags\s*:\s*(.*)$", re.IGNORECASE)
_SPOILER_ATTRS = re.compile(r"\{[^}]*\}")
_FRONT_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:(?:\s+(.*)|\s*)$")
_LIST_ITEM = re.compile(r"^\s*-\s*(.*)$")
_LABEL_PREFIX = re.compile(r"^\s*(?:\[[^\]]*\]|【[^】]*】)\s*")


@dataclass(frozen=True, slots=True)
class RenderedMarkdown:
    """A note rendered: HTML (untrusted, unsanitised), its front matter and its first heading as text."""

    html: str
    front_matter: FrontMatter = field(default_factory=dict)
    first_heading: str | None = None
    inline_tags: tuple[str, ...] = ()  # from HackMD's `###### tags: `a` `b`` line

    @property
    def title(self) -> str | None:
        """The front matter `title`, else the first heading, else None."""
        value = self.front_matter.get("title")
        if isinstance(value, str) and value.strip():
            return value.strip()
        return self.first_heading or None

    @property
    def tags(self) -> tuple[str, ...]:
        """Tags from the front matter (a list or a comma-separated string) and the tags line."""
        return tuple(dict.fromkeys([*split_tags(self.front_matter.get("tags")), *self.inline_tags]))


def render_markdown(
    text: str, origin: str = DEFAULT_ORIGIN, drop_title: str | Literal[True] | None = None
) -> RenderedMarkdown:
    """Render Markdown to HTML; never raises (unreadable input comes back as escaped paragraphs).

    `origin` is where `{%hackmd path %}` embeds point. With `drop_title`, a leading `# heading` that
    only repeats that title (and holds no math) is left out, so excerpts do not start with the title;
    `True` means the note's own title (its front matter title, else that first heading).
    """
    try:
        return _render(text, origin, drop_title)
    except Exception:  # a parser bug must not lose the note: keep its text
        return RenderedMarkdown(html=_plain_paragraphs(text))


def render_excerpt(
    text: str, origin: str = DEFAULT_ORIGIN, drop_title: str | Literal[True] | None = None
) -> RenderedMarkdown:
    """Render a Markdown excerpt that was cut off mid-way (HackMD's overview `content`)."""
    return render_markdown(trim_cut_markdown(text), origin, drop_title)


def trim_cut_markdown(text: str) -> str:
    """Drop the half-written construct an excerpt cut leaves at its end (a link, a table, a formula)."""
    lines = text.replace("\r\n", "\n").split("\n")
    if text and not text.endswith("\n") and _looks_unfinished(lines[-1]):
        lines.pop()
    while lines and not lines[-1].strip():
        lines.pop()
    block_start = max((i + 1 for i, line in enumerate(lines) if not line.strip()), default=0)
    block = lines[block_start:]
    if block and all(line.lstrip().startswith("|") for line in block) and not _is_table(block):
        lines = lines[:block_start]  # a table cut before its delimiter row would show as raw pipes
    if sum(1 for line in lines if line.strip() == "$$") % 2:  # an open display formula
        lines = lines[: max(i for i, line in enumerate(lines) if line.strip() == "$$")]
    if sum(1 for line in lines if line.lstrip().startswith(("```", "~~~"))) % 2:  # an open code block
        lines.append("```")
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


def _looks_unfinished(line: str) -> bool:
    """True for a line cut inside a construct: unbalanced brackets, an odd `$`, `**` or backtick, a table row."""
    pairs = (("[", "]"), ("(", ")"), ("{", "}"), ("<", ">"))
    if line.lstrip().startswith("|") or any(line.count(a) != line.count(b) for a, b in pairs):
        return True
    return any(line.count(mark) % 2 for mark in ("$", "`", "**", "=="))


def _is_table(block: list[str]) -> bool:
    return len(block) >= 2 and bool(re.fullmatch(r"\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*", block[1]))


def parse_front_matter(text: str) -> FrontMatter:
    """Read the simple YAML HackMD front matter holds: `key: value`, `key: [a, b]` and `- item` lists.

    Nested mappings and other YAML features are ignored; never raises.
    """
    result: FrontMatter = {}
    list_key: str | None = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _FRONT_KEY.match(line)
        if match and not line[0].isspace():
            key, value = match.group(1).lower(), (match.group(2) or "").strip()
            list_key = None
            if not value:
                result[key] = []
                list_key = key
            elif value.startswith("[") and value.endswith("]"):
                result[key] = [_unquote(item) for item in value[1:-1].split(",") if _unquote(item)]
            else:
                result[key] = _unquote(value)
            continue
        item = _LIST_ITEM.match(line)
        current = result.get(list_key) if list_key else None
        if item and isinstance(current, list) and _unquote(item.group(1)):
            current.append(_unquote(item.group(1)))
    return result


def split_tags(value: object) -> list[str]:
    """Tags from a list or a comma-separated string; anything else gives none."""
    if isinstance(value, str):
        items: list[object] = list(value.split(","))
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        return []
    return [" ".join(str(item).split()) for item in items if isinstance(item, str | int) and str(item).strip()]


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1].strip()
    return value.split(" #", 1)[0].strip()  # a trailing YAML comment, never part of the value


def _plain_paragraphs(text: str) -> str:
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text or "") if b.strip()]
    return "\n".join(f"<p>{escapeHtml(b)}</p>" for b in blocks)


def _render(text: str, origin: str, drop_title: str | Literal[True] | None) -> RenderedMarkdown:
    md = _parser()
    env: dict[str, Any] = {"origin": origin.rstrip("/"), "tags": []}
    tokens = md.parse(text.replace("\x00", "\ufffd"), env)
    front_text = next((t.content for t in tokens if t.type == "front_matter"), "")
    front = parse_front_matter(front_text) if front_text else {}
    parts = RenderedMarkdown(html="", front_matter=front, first_heading=_first_heading(tokens))
    title = parts.title if drop_title is True else drop_title
    if title:
        tokens = _without_title_heading(tokens, title)
    html = md.renderer.render(tokens, md.options, env)
    return replace(parts, html=html, inline_tags=tuple(env["tags"]))  # the tags line, found while parsing


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    """One configured parser per process (building it costs more than rendering a short note)."""
    # HackMD renders single newlines as <br> and allows raw HTML (sanitised later in normalize.py)
    md = MarkdownIt("commonmark", {"html": True, "breaks": True}).enable(["table", "strikethrough"])
    front_matter_plugin(md)
    footnote_plugin(md)
    tasklists_plugin(md)
    if _autolink is not None:
        _autolink(md)  # HackMD links bare URLs
    # no digit after a closing `$`: "$5 and $10" stays text; HackMD has no equation labels
    dollarmath_plugin(md, allow_labels=False, allow_digits=False, double_inline=True)
    for kind in ALERT_KINDS:
        container_plugin(md, kind, render=_render_alert)
    container_plugin(md, "spoiler", render=_render_spoiler)
    md.inline.ruler.before("emphasis", "mark", _mark_rule)
    md.inline.ruler.before("link", "embed", _embed_rule)
    if hasattr(md.inline, "add_terminator_char"):
        md.inline.add_terminator_char("=")
        md.inline.add_terminator_char("{")
    md.core.ruler.after("block", "hackmd_blocks", _hackmd_blocks)
    md.core.ruler.before("inline", "image_size_marks", _mark_image_sizes)
    md.core.ruler.after("inline", "image_sizes", _apply_image_sizes)
    md.add_render_rule("math_inline", _render_math_inline)
    md.add_render_rule("math_inline_double", _render_math_display_inline)
    md.add_render_rule("math_block", _render_math_block)
    md.add_render_rule("front_matter", _render_front_matter)
    md.add_render_rule("fence", _render_fence)
    md.add_render_rule("html_inline", _render_html_inline)
    md.add_render_rule("embed", _render_embed)
    return md


# --- math -----------------------------------------------------------------------------------


def _math_span(tex: str, *, display: bool) -> str:
    tex = escapeHtml(tex.strip())
    return f'<span class="math display">$${tex}$$</span>' if display else f'<span class="math inline">${tex}$</span>'


def _render_math_inline(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return _math_span(tokens[idx].content, display=False)


def _render_math_display_inline(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return _math_span(tokens[idx].content, display=True)


def _render_math_block(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    # a paragraph around it puts the formula on its own line in the text extracted later
    return f"<p>{_math_span(tokens[idx].content, display=True)}</p>\n"


def _render_fence(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    if token.info.strip().lower() in ("math", "latex", "tex", "katex"):
        return _render_math_block(self, tokens, idx, options, env)
    return str(self.fence(tokens, idx, options, env))


def _render_front_matter(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return ""  # metadata, read from the token by _render


def _render_html_inline(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    content = tokens[idx].content
    if content.startswith('<input class="task-list-item-checkbox"'):
        # sanitising drops <input>: a character keeps the done/not-done state visible in every output
        return "\u2611" if "checked" in content else "\u2610"
    return content


# --- containers -----------------------------------------------------------------------------


def _render_alert(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    if token.nesting == 1:
        kind = token.info.strip().split(" ", 1)[0].lower()
        return f'<div class="alert alert-{kind}">\n'
    return "</div>\n"


def _render_spoiler(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    if token.nesting != 1:
        return "</details>\n"
    params = token.info.strip()[len("spoiler") :]
    is_open = bool(re.search(r"state\s*=\s*[\"']?open", params))
    summary = " ".join(_SPOILER_ATTRS.sub(" ", params).split()) or "Spoiler"
    return f"<details{' open' if is_open else ''}><summary>{escapeHtml(summary)}</summary>\n"


# --- block-level HackMD syntax: [TOC], `###### tags:`, task list checkboxes ---------------------


def _hackmd_blocks(state: StateCore) -> None:
    """Drop `[TOC]` paragraphs and the `tags:` heading (its tags go to env), after block parsing."""
    tokens = state.tokens
    kept: list[Token] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        inline = tokens[i + 1] if i + 2 < len(tokens) else None
        if inline is not None and inline.type == "inline" and token.type in ("paragraph_open", "heading_open"):
            if token.type == "paragraph_open" and _TOC.match(inline.content):
                i += 3  # the table of contents is dropped: anchors do not survive sanitising
                continue
            tags = _TAGS_LINE.match(inline.content) if token.tag == "h6" else None
            if tags:
                state.env.setdefault("tags", []).extend(_inline_tags(tags.group(1)))
                i += 3
                continue
        kept.append(token)
        i += 1
    state.tokens = kept


def _inline_tags(text: str) -> list[str]:
    quoted = re.findall(r"`([^`]+)`", text)
    return [t.strip() for t in (quoted or text.split(",")) if t.strip()]


# --- ==mark== and {%embed %} ------------------------------------------------------------------


def _mark_rule(state: StateInline, silent: bool) -> bool:
    """`==text==` as <mark>; the text may hold other inline syntax, not line breaks."""
    start = state.pos
    if not state.src.startswith("==", start) or state.src.startswith("===", start):
        return False
    end = state.src.find("==", start + 2, state.posMax)
    inner = state.src[start + 2 : end] if end > 0 else ""
    if not inner or inner[0].isspace() or inner[-1].isspace() or "\n" in inner:
        return False
    if not silent:
        state.push("mark_open", "mark", 1)
        old_max = state.posMax
        state.pos, state.posMax = start + 2, end
        state.md.inline.tokenize(state)
        state.posMax = old_max
        state.push("mark_close", "mark", -1)
    state.pos = end + 2
    return True


def _embed_rule(state: StateInline, silent: bool) -> bool:
    """`{%youtube id %}`, `{%hackmd path %}` and the like, kept as an `embed` token."""
    if not state.src.startswith("{%", state.pos):
        return False
    match = _EMBED.match(state.src, state.pos, state.posMax)
    if match is None:
        return False
    if not silent:
        token = state.push("embed", "", 0)
        token.info = match.group(1).lower()
        token.content = match.group(2)
    state.pos = match.end()
    return True


def _render_embed(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    url = embed_url(tokens[idx].info, tokens[idx].content, str(env.get("origin") or DEFAULT_ORIGIN))
    if url is None:
        return ""  # a HackMD theme include or an unknown embed: nothing a reader can follow
    href = escapeHtml(url)
    return f'<a href="{href}">{href}</a>'


def embed_url(kind: str, target: str, origin: str = DEFAULT_ORIGIN) -> str | None:
    """The page an embed shows: a YouTube video, a HackMD note; None for themes and unknown kinds."""
    target = target.strip()
    if not target:
        return None
    if kind == "hackmd":
        if target.rsplit("/", 1)[-1].startswith("theme-"):
            return None  # `{%hackmd theme-dark %}` styles the page, it is not content
        if target.startswith(("http://", "https://")):
            return target
        return f"{origin.rstrip('/')}/{target.lstrip('/')}"
    if kind == "pdf" and target.startswith(("http://", "https://")):
        return target
    pattern = _EMBED_URLS.get(kind)
    if pattern is None:
        return None
    if target.startswith(("http://", "https://")):
        return target
    return pattern.format(target)


# --- image size suffix ------------------------------------------------------------------------


def _mark_image_sizes(state: StateCore) -> None:
    """Rewrite `![a](u =WxH)` so the link parser accepts it, carrying the size in the URL."""
    for token in state.tokens:
        if token.type == "inline" and "=" in token.content and "![" in token.content:
            token.content = _IMAGE_SIZE.sub(_size_in_url, token.content)


def _size_in_url(match: re.Match[str]) -> str:
    url, size = match.group("url"), f"#{_SIZE_MARK}{match['w']}x{match['h']}"
    marked = f"{url[:-1]}{size}>" if url.startswith("<") else f"{url}{size}"
    title = match.group("t1") or match.group("t2") or ""
    return f"{match['head']}{marked}{title})"


def _apply_image_sizes(state: StateCore) -> None:
    """Move the carried size onto the image's width/height; restore it in text it ended up in."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open"):
            _style_to_align(token)
        for child in token.children or ():
            src = child.attrGet("src") if child.type == "image" else None
            found = _SIZE_IN_URL.search(str(src)) if src else None
            if found:
                child.attrSet("src", str(src)[: found.start()])
                if found.group(1):
                    child.attrSet("width", found.group(1))
                if found.group(2):
                    child.attrSet("height", found.group(2))
            elif _SIZE_MARK in child.content:
                child.content = _SIZE_IN_TEXT.sub(r" =\1x\2", child.content)


def _style_to_align(token: Token) -> None:
    # sanitising drops style attributes but keeps align: column alignment survives this way
    style = str(token.attrGet("style") or "")
    match = re.fullmatch(r"text-align:\s*(left|right|center)", style.strip())
    if match:
        token.attrs.pop("style", None)
        token.attrSet("align", match.group(1))


# --- headings ---------------------------------------------------------------------------------


def _inline_text(token: Token) -> str:
    parts: list[str] = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "math_inline":
            parts.append(f"${child.content}$")
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return " ".join("".join(parts).split())


def _first_heading(tokens: list[Token]) -> str | None:
    for i, token in enumerate(tokens[:-1]):
        if token.type == "heading_open" and tokens[i + 1].type == "inline":
            text = _inline_text(tokens[i + 1])
            if text:
                return text
    return None


def _without_title_heading(tokens: list[Token], title: str) -> list[Token]:
    """Tokens without a leading h1 that repeats `title` (after front matter only)."""
    start = 1 if tokens and tokens[0].type == "front_matter" else 0
    if len(tokens) < start + 3 or tokens[start].type != "heading_open" or tokens[start].tag != "h1":
        return tokens
    inline = tokens[start + 1]
    if any(child.type.startswith("math") for child in inline.children or ()):
        return tokens  # a heading with a formula keeps it visible
    # "[Paper notes] X" repeats heading "X": a leading bracketed label is not part of the comparison
    heading, wanted = title_key(_inline_text(inline)), title_key(_LABEL_PREFIX.sub("", title))
    if not heading or not (wanted.startswith(heading) or wanted.endswith(heading)):
        return tokens
    return tokens[:start] + tokens[start + 3 :]
