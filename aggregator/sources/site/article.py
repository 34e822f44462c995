"""One post page: title, dates, author, tags and the article body.

Every field is looked up in the order the reference gives (section 8, step 6): machine-readable
metadata first (Open Graph, JSON-LD, microdata), then the theme's markup, then generic guesses.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from aggregator.dates import parse_date
from aggregator.dom import Document, Node, all_meta_content, html_to_text, meta_content, parse_html, restore_math
from aggregator.sources.site.dating import date_from_node, date_in_text
from aggregator.sources.site.listing import refresh_target
from aggregator.sources.site.readability import main_content
from aggregator.sources.site.themes import GENERIC_CONTENT, THEMES, Theme, theme_named
from aggregator.urls import is_http_url, resolve

_TITLE_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|::|·|»|/)\s+|\u00a0[–—-]\u00a0")
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z]+);", re.IGNORECASE)
_CLUTTER = "script:not([type^='math/tex']), style, noscript, .headerlink:empty, .post-copyright, .reward-container"


@dataclass(frozen=True, slots=True)
class Article:
    """What a post page says about itself. `kind` is "post", "page", "list" or "alias"."""

    url: str
    kind: str
    title: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    author: str | None = None
    tags: tuple[str, ...] = ()
    content_html: str | None = None
    canonical_url: str | None = None
    text_chars: int = 0  # length of the body's text, measured here in the worker, not on the event loop


def extract_article(html: str, url: str, theme_name: str | None, site_names: tuple[str, ...]) -> Article:
    """Read a post page. Pure and picklable: runs in the worker pool; never raises on bad markup."""
    doc = parse_html(html)
    alias = refresh_target(doc, url)
    if alias:
        return Article(url=url, kind="alias", canonical_url=alias)
    theme = theme_named(theme_name)
    ld = json_ld(doc)
    content = _content_node(doc, theme)
    content_html = _content_html(content)
    return Article(
        url=url,
        kind=page_kind(doc, theme),
        title=page_title(doc, theme, ld, site_names),
        published=_published(doc, theme, ld),
        updated=_updated(doc, theme, ld),
        author=_author(doc, ld),
        tags=_tags(doc, theme),
        content_html=content_html,
        canonical_url=declared_canonical(doc, url),
        text_chars=len(html_to_text(content_html)) if content_html else 0,
    )


def declared_canonical(doc: Document, url: str) -> str | None:
    """The page's own `rel=canonical` (else `og:url`), unless it points at a site's home page.

    Themes that print the home page as every page's canonical are common; trusting them would fold a
    whole blog into one post.
    """
    node = doc.css_first('link[rel~="canonical"][href]')
    href = (node.attributes.get("href") or "").strip() if node is not None else ""
    href = href or (meta_content(doc, "og:url") or "")
    if not href:
        return None
    target = resolve(url, href)
    try:
        path = urlsplit(target).path
    except ValueError:
        return None
    if not is_http_url(target) or path.strip("/") in ("", "index.html"):
        return None
    return target


def page_kind(doc: Document, theme: Theme | None) -> str:
    """A list page shows several posts; a Hexo page (about, links) says og:type website."""
    if meta_content(doc, "article:published_time") is None and _lists_posts(doc, theme):
        return "list"
    if (meta_content(doc, "og:type") or "").lower() == "website":
        return "page"
    return "post"


def _lists_posts(doc: Document, theme: Theme | None) -> bool:
    if theme is not None and len({node.mem_id for node in doc.css(theme.list_item)}) >= 2:
        return True
    return len({node.mem_id for node in doc.css("article")}) >= 3 and doc.css_first("h1") is None


def json_ld(doc: Document) -> dict[str, Any]:
    """The Article-like JSON-LD object of a page (merged over @graph), or {}."""
    for script in doc.css("script[type='application/ld+json']"):
        try:
            data = json.loads(script.text(deep=True) or "")
        except ValueError:
            continue
        for node in _ld_nodes(data):
            if "datePublished" in node or "headline" in node:
                return node
    return {}


def _ld_nodes(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, list):
        return [n for item in data for n in _ld_nodes(item)]
    if isinstance(data, dict):
        return [data, *_ld_nodes(data.get("@graph", []))]
    return []


def page_title(doc: Document, theme: Theme | None, ld: dict[str, Any], site_names: tuple[str, ...]) -> str | None:
    """og:title, the theme's heading, JSON-LD headline, any h1, then <title> without the site name."""
    folded_sites = {_fold(name) for name in site_names if name}
    candidates = [
        meta_content(doc, "og:title"),
        meta_content(doc, "twitter:title"),
        _theme_text(doc, theme.title if theme else ""),
        ld.get("headline") if isinstance(ld.get("headline"), str) else None,
        _theme_text(doc, "article h1, main h1, h1"),
    ]
    for candidate in candidates:
        title = _clean_title(candidate)
        if title and _fold(title) not in folded_sites:
            return title
    return _title_without_site(doc, folded_sites)


def _clean_title(value: str | None) -> str | None:
    text = " ".join((value or "").split())
    for _round in range(2):  # og:title is sometimes escaped twice ("100&#37;")
        if _ENTITY.search(text):
            text = html_lib.unescape(text)
    return text or None


def _fold(text: str) -> str:
    return " ".join(html_lib.unescape(text).split()).casefold()


def _title_without_site(doc: Document, folded_sites: set[str]) -> str | None:
    node = doc.css_first("head > title") or doc.css_first("title")
    title = _clean_title(node.text(deep=True) if node is not None else None)
    if not title:
        return None
    parts = [p for p in _TITLE_SEPARATORS.split(title) if p.strip()]
    kept = [p for p in parts if _fold(p) not in folded_sites]
    if len(kept) < len(parts) and kept:
        return " - ".join(kept) if len(kept) > 1 else kept[0]
    return title


def _theme_text(doc: Document, selector: str) -> str | None:
    if not selector:
        return None
    for node in doc.css(selector):
        text = " ".join((node.text(deep=True) or "").split())
        if text:
            return text
    return None


def _published(doc: Document, theme: Theme | None, ld: dict[str, Any]) -> datetime | None:
    found = parse_date(meta_content(doc, "article:published_time", "og:published_time", "datePublished"))
    found = found or parse_date(ld.get("datePublished") or ld.get("dateCreated"))
    found = found or _date_at(doc, "time[itemprop~=datePublished], [itemprop~=datePublished]")
    found = found or _date_at(doc, theme.published if theme else "")
    return found or _date_at(doc, "article header time, header time, article time, main time") or _header_date(doc)


def _updated(doc: Document, theme: Theme | None, ld: dict[str, Any]) -> datetime | None:
    found = parse_date(meta_content(doc, "article:modified_time", "og:updated_time", "dateModified"))
    found = found or parse_date(ld.get("dateModified"))
    found = found or _date_at(doc, "time[itemprop~=dateModified], [itemprop~=dateModified]")
    return found or _date_at(doc, theme.updated if theme else "")


def _date_at(doc: Document, selector: str) -> datetime | None:
    if not selector:
        return None
    for node in doc.css(selector):
        found = date_from_node(node)
        if found is not None:
            return found
    return None


def _header_date(doc: Document) -> datetime | None:
    """A date written near the title, for themes that print it as text only."""
    heading = doc.css_first("article h1, main h1, h1")
    if heading is None or heading.parent is None:
        return None
    return date_in_text((heading.parent.text(deep=True) or "")[:400])


def _author(doc: Document, ld: dict[str, Any]) -> str | None:
    author = ld.get("author")
    if isinstance(author, list) and author:
        author = author[0]
    if isinstance(author, dict):
        author = author.get("name")
    if isinstance(author, str) and author.strip():
        return author.strip()
    return meta_content(doc, "article:author", "author")


def _tags(doc: Document, theme: Theme | None) -> tuple[str, ...]:
    tags = all_meta_content(doc, "article:tag")
    if not tags and theme is not None and theme.tags:
        tags = [" ".join((n.text(deep=True) or "").split()).lstrip("#").strip() for n in doc.css(theme.tags)]
    return tuple(dict.fromkeys(t for t in tags if t))


def _content_node(doc: Document, theme: Theme | None) -> Node | None:
    """The theme's container, then the other known containers, then the text-densest block."""
    selectors = [theme.content] if theme else []
    selectors += list(GENERIC_CONTENT) + [t.content for t in THEMES if t is not theme]
    for selector in selectors:
        node = doc.css_first(selector)
        if node is not None:
            return node
    return main_content(doc)


def _content_html(node: Node | None) -> str | None:
    if node is None:
        return None
    for clutter in node.css(_CLUTTER):
        clutter.decompose()
    restore_math(node)  # before any text is taken, so KaTeX never flattens into "x0x_0x0"
    return node.inner_html or ""
