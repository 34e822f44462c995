"""The main content of a page nobody wrote a selector for: the block where the prose is.

A small readability-style scorer: each paragraph-like element gives its text length to its parent
and half to its grandparent; link-heavy blocks are discounted; navigation, headers, footers, sidebars
and comments never count.
"""

from __future__ import annotations

import re

from aggregator.dom import Document, Node

_PARAGRAPHS = "p, pre, blockquote, li, td, h2, h3, h4, dd, figure, span.math, script[type^='math/tex']"
_NOISE = re.compile(
    r"comment|sidebar|footer|header|nav|menu|related|share|social|widget|breadcrumb|pagination|advert|banner|toc",
    re.IGNORECASE,
)
_CONTENT_NAMES = re.compile(r"content|article|post|entry", re.IGNORECASE)
_NOISE_TAGS = frozenset({"nav", "header", "footer", "aside", "form"})
_MIN_SCORE = 80


def main_content(doc: Document) -> Node | None:
    """The most text-dense block of the page, or None when the page has no prose."""
    body = doc.body
    if body is None:
        return None
    scores: dict[int, float] = {}
    nodes: dict[int, Node] = {}
    for paragraph in body.css(_PARAGRAPHS):
        if _in_noise(paragraph):
            continue
        weight = min(len((paragraph.text(deep=True) or "").strip()), 2000)
        if weight < 20 and paragraph.tag not in ("pre", "span", "script"):
            continue
        for share, ancestor in ((1.0, paragraph.parent), (0.5, _grandparent(paragraph))):
            if ancestor is None or ancestor.tag in ("body", "html"):
                continue
            key = ancestor.mem_id
            nodes[key] = ancestor
            scores[key] = scores.get(key, 0.0) + weight * share
    ranked = sorted(((score * (1 - _link_density(nodes[k])), k) for k, score in scores.items()), reverse=True)
    if not ranked or ranked[0][0] < _MIN_SCORE:
        return None
    return nodes[ranked[0][1]]


def _grandparent(node: Node) -> Node | None:
    parent = node.parent
    return parent.parent if parent is not None else None


def _in_noise(node: Node) -> bool:
    """Inside navigation, a sidebar, comments and the like (by tag, class or id)."""
    current: Node | None = node.parent
    while current is not None and current.tag not in ("body", "html"):
        if (current.tag in _NOISE_TAGS and current.tag != "header") or _is_noise_block(current):
            return True
        current = current.parent
    return False


def _is_noise_block(node: Node) -> bool:
    if node.tag in ("article", "main"):
        return False
    names = f"{node.attributes.get('class') or ''} {node.attributes.get('id') or ''}"
    return bool(_NOISE.search(names)) and not _CONTENT_NAMES.search(names)


def _link_density(node: Node) -> float:
    text = len(node.text(deep=True) or "")
    if text == 0:
        return 1.0
    linked = sum(len(a.text(deep=True) or "") for a in node.css("a"))
    return min(1.0, linked / text)
