"""List pages (home, `page/N`, archives): the posts they link to, and the next page.

A known theme's own item markup is used first; otherwise the generic rule of section 8 step 7:
the best group of repeated sibling blocks that each hold a same-site link and some text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urldefrag

from aggregator.dom import Document, Node, parse_html
from aggregator.excerpt import looks_truncated
from aggregator.sources.site.dating import date_from_node
from aggregator.sources.site.filters import is_non_post_url
from aggregator.sources.site.pagination import next_page_url
from aggregator.sources.site.themes import Theme, theme_named
from aggregator.urls import resolve, same_site

_READ_MORE_LINKS = "a.btn[href*='#more'], .post-button a, a.article-more, a.more-link, a.read-more, .read-more-link"
_HEADINGS = "h1, h2, h3, h4"
_FULL_BODY_MARKUP = ("<h2", "<h3", "<pre", "<ol", "<ul", "<table", "<blockquote", "<figure", "<img")
_SKIP_CONTAINERS = frozenset({"nav", "header", "footer", "aside", "head", "script", "style", "form", "select"})
_MIN_GROUP = 2
_FULL_BODY_CHARS = 300


@dataclass(frozen=True, slots=True)
class ListItem:
    """One post as a list page shows it."""

    url: str
    title: str | None = None
    published: datetime | None = None
    excerpt_html: str | None = None
    excerpt_is_full: bool = False  # NexT/Icarus print the whole post when it has no <!-- more -->


@dataclass(slots=True)
class ListPage:
    """What one list page held."""

    items: list[ListItem] = field(default_factory=list)
    next_url: str | None = None
    refresh_to: str | None = None  # a meta-refresh alias (Hugo page/1/)
    item_selector: str | None = None  # the generic rule's pick, reused on the next pages (which may hold one post)


def parse_list_page(
    html: str, url: str, home: str, theme_name: str | None, item_selector: str | None = None
) -> ListPage:
    """Items and next page of a list page. Pure: runs in the worker pool.

    `item_selector` is what the generic rule picked on the first page of the same list.
    """
    doc = parse_html(html)
    page = ListPage(refresh_to=refresh_target(doc, url))
    if page.refresh_to:
        return page
    theme = theme_named(theme_name)
    items = themed_items(doc, url, home, theme) if theme else []
    if not items and item_selector:
        items = _items_at(doc, url, home, item_selector)
        page.item_selector = item_selector if items else None
    if not items:
        items, page.item_selector = generic_items(doc, url, home)
    page.items = items
    page.next_url = next_page_url(doc, url, theme.next_page if theme else "")
    return page


def _items_at(doc: Document, url: str, home: str, selector: str) -> list[ListItem]:
    found = ((node, _block_link(node, url, home)) for node in doc.css(selector))
    return _dedup([_make_generic_item(node, link) for node, link in found if link])


def _make_generic_item(node: Node, link: str) -> ListItem:
    return _make_item(node, link, _HEADINGS, "time[datetime], time", "p")


def refresh_target(doc: Document, url: str) -> str | None:
    """Where an alias page (`<meta http-equiv=refresh content="0; url=…">`) sends readers."""
    node = doc.css_first("meta[http-equiv=refresh], meta[http-equiv=Refresh]")
    if node is None:
        return None
    content = node.attributes.get("content") or ""
    _, _, target = content.partition("=")
    return resolve(url, target.strip(" '\"")) if "url" in content.lower() and target.strip() else url


def themed_items(doc: Document, url: str, home: str, theme: Theme) -> list[ListItem]:
    items: list[ListItem] = []
    for node in doc.css(theme.list_item):
        link = _item_link(node, theme.item_link, url)
        if link is None or is_non_post_url(link, home):
            continue
        items.append(_make_item(node, link, theme.item_title, theme.item_date, theme.item_excerpt))
    return _dedup(items)


def _item_link(node: Node, selector: str, page_url: str) -> str | None:
    anchor = node if node.tag == "a" and not selector else (node.css_first(selector) if selector else None)
    if anchor is None:
        anchor = node.css_first("a[href]")
    href = (anchor.attributes.get("href") or "").strip() if anchor is not None else ""
    if not href or href.startswith(("#", "javascript:", "mailto:")):
        return None
    return urldefrag(resolve(page_url, href))[0]


def _make_item(node: Node, link: str, title_sel: str, date_sel: str, excerpt_sel: str) -> ListItem:
    title_node = node.css_first(title_sel) if title_sel else None
    title = _clean(title_node.text(deep=True)) if title_node is not None else None
    if not title:
        title = _link_title(node, link)
    date_node = node.css_first(date_sel) if date_sel else None
    published = date_from_node(date_node) if date_node is not None else None
    if published is None:
        published = date_from_node(node, text_only=True)
    excerpt = node.css_first(excerpt_sel) if excerpt_sel else None
    excerpt_html = excerpt.inner_html if excerpt is not None else None
    return ListItem(link, title, published, excerpt_html, _is_full_body(node, excerpt))


def _link_title(node: Node, link: str) -> str | None:
    for anchor in node.css("a[href]"):
        text = _clean(anchor.text(deep=True)) or _clean(anchor.attributes.get("title") or "")
        label = (anchor.attributes.get("aria-label") or "").removeprefix("post link to ").strip()
        if urldefrag(anchor.attributes.get("href") or "")[0] and (text or label):
            return text or label
    return None


def _is_full_body(item: Node, excerpt: Node | None) -> bool:
    if excerpt is None or item.css_first(_READ_MORE_LINKS) is not None:
        return False
    body = excerpt.inner_html or ""
    text = excerpt.text(deep=True) or ""
    return len(text) > _FULL_BODY_CHARS and not looks_truncated(text) and any(tag in body for tag in _FULL_BODY_MARKUP)


def _clean(text: str | None) -> str | None:
    cleaned = " ".join((text or "").split())
    return cleaned or None


def _dedup(items: list[ListItem]) -> list[ListItem]:
    seen: set[str] = set()
    unique: list[ListItem] = []
    for item in items:
        if item.url not in seen:
            seen.add(item.url)
            unique.append(item)
    return unique


def generic_items(doc: Document, url: str, home: str) -> tuple[list[ListItem], str | None]:
    """Repeated sibling blocks that each hold one same-site post link and some text, and their selector."""
    best: list[tuple[Node, str]] = []
    best_score = 0.0
    best_signature: str | None = None
    for parent in doc.css("body *"):
        if parent.tag in _SKIP_CONTAINERS:
            continue
        for group in _sibling_groups(parent):
            linked = [(node, link) for node in group if (link := _block_link(node, url, home))]
            if len(linked) < _MIN_GROUP or len({link for _, link in linked}) < len(linked) * 0.8:
                continue
            text = sum(min(len(node.text(deep=True) or ""), 600) for node, _ in linked)
            score = len(linked) * 50 + text
            if score > best_score:
                best, best_score, best_signature = linked, score, _signature(group[0])
    return _dedup([_make_generic_item(node, link) for node, link in best]), best_signature


def _signature(node: Node) -> str:
    """A CSS selector for a block's tag and classes (`section.entry`)."""
    classes = sorted(
        c for c in (node.attributes.get("class") or "").split() if c.replace("-", "").replace("_", "").isalnum()
    )
    return ".".join([node.tag or "div", *classes])


def _sibling_groups(parent: Node) -> list[list[Node]]:
    groups: dict[str, list[Node]] = {}
    child = parent.child
    while child is not None:
        if child.tag and not child.tag.startswith("-") and child.tag not in _SKIP_CONTAINERS:
            signature = _signature(child)
            groups.setdefault(signature, []).append(child)
        child = child.next
    return [group for group in groups.values() if len(group) >= _MIN_GROUP]


def _block_link(node: Node, page_url: str, home: str) -> str | None:
    """The block's post link: the one in a heading, else the one with the longest text."""
    anchors = node.css("h1 a[href], h2 a[href], h3 a[href], h4 a[href]") or node.css("a[href]")
    if node.tag == "a" and node.attributes.get("href"):
        anchors = [node]
    best: tuple[int, str] | None = None
    for anchor in anchors:
        link = urldefrag(resolve(page_url, anchor.attributes.get("href") or ""))[0]
        if not same_site(link, home) or is_non_post_url(link, home) or link.rstrip("/") == page_url.rstrip("/"):
            continue
        length = len((anchor.text(deep=True) or "").strip())
        if best is None or length > best[0]:
            best = (length, link)
    return best[1] if best else None
