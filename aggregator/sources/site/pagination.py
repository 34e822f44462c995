"""The next page of a paginated list, by the priority of reference section 8, step 5."""

from __future__ import annotations

import re
from urllib.parse import urldefrag, urlsplit

from aggregator.dom import Document, Node
from aggregator.sources.site.themes import GENERIC_NEXT
from aggregator.urls import resolve, same_site

_CURRENT = (
    ".pagination .active, .pagination .current, .paginator .current, .page-number.current, "
    "li.page-item.active, [aria-current=page], nav .current, .pager .current"
)
_NEXT_TEXT = re.compile(
    r"^\s*(?:next|older|下一页|下一頁|后一页|다음|次へ|次のページ|»|›|→|>>|>)(?:\s+[\w ]{0,20})?\s*[»›→>]*\s*$",
    re.IGNORECASE,
)
_PAGE_N = re.compile(r"/page/(\d+)/?$")


def next_page_url(doc: Document, url: str, theme_selector: str = "") -> str | None:
    """The URL of the page after this one, or None on the last page."""
    selectors = ((theme_selector,) if theme_selector else ()) + GENERIC_NEXT
    for selector in selectors:
        for node in doc.css(selector):
            found = _usable(node, url)
            if found:
                return found
    return _after_current(doc, url) or _by_text(doc, url)


def _usable(node: Node, url: str) -> str | None:
    """A link that goes somewhere new on this site, and is not a disabled button."""
    if _disabled(node):
        return None
    href = (node.attributes.get("href") or "").strip()
    if not href or href.startswith(("#", "javascript:")):
        return None
    target = urldefrag(resolve(url, href))[0]
    if not same_site(target, url) or _same_page(target, url) or _is_first_page_alias(target):
        return None
    if _going_back(target, url):
        return None
    return target


def _disabled(node: Node) -> bool:
    """Hidden or disabled, on the link or on its wrapper (Icarus keeps an invisible Next on the last page)."""
    current: Node | None = node
    for _level in range(3):
        if current is None:
            return False
        classes = (current.attributes.get("class") or "").split()
        if {"is-invisible", "disabled", "is-disabled", "hidden"} & set(classes):
            return True
        if current.attributes.get("aria-disabled") == "true":
            return True
        current = current.parent
    return False


def _same_page(a: str, b: str) -> bool:
    return urlsplit(a).path.rstrip("/") == urlsplit(b).path.rstrip("/") and urlsplit(a).query == urlsplit(b).query


def _is_first_page_alias(url: str) -> bool:
    match = _PAGE_N.search(urlsplit(url).path)
    return match is not None and int(match.group(1)) <= 1


def _going_back(target: str, url: str) -> bool:
    here = _PAGE_N.search(urlsplit(url).path)
    there = _PAGE_N.search(urlsplit(target).path)
    return here is not None and there is not None and int(there.group(1)) <= int(here.group(1))


def _after_current(doc: Document, url: str) -> str | None:
    """Themes with no next button (Stack, Notepadium, LoveIt): the link after the current page number."""
    for current in doc.css(_CURRENT):
        node: Node | None = current
        for _level in range(2):
            if node is None:
                break
            sibling = _next_element(node)
            if sibling is not None:
                anchor = sibling if sibling.tag == "a" else sibling.css_first("a[href]")
                found = _usable(anchor, url) if anchor is not None else None
                if found:
                    return found
                break
            node = node.parent
    return None


def _next_element(node: Node) -> Node | None:
    sibling = node.next
    while sibling is not None and (not sibling.tag or sibling.tag.startswith("-")):
        sibling = sibling.next
    return sibling


def _by_text(doc: Document, url: str) -> str | None:
    for anchor in doc.css("a[href]"):
        label = anchor.attributes.get("aria-label") or ""
        if _NEXT_TEXT.match(anchor.text(deep=True) or "") or _NEXT_TEXT.match(label):
            found = _usable(anchor, url)
            if found:
                return found
    return None
