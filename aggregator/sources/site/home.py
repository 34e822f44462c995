"""Everything the home page tells at once: generator, theme, feeds, search index paths, site names,
the posts it lists and where the list goes on."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aggregator.dom import meta_content, parse_html
from aggregator.sources.site.detect import Fingerprint, fingerprint
from aggregator.sources.site.discover import advertised_feeds, search_paths_in_config
from aggregator.sources.site.listing import ListPage, parse_list_page
from aggregator.urls import resolve, same_site

_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|::|·)\s+")
_SECTION_LINKS = "a[href$='/archives/'], a[href$='/archives'], a[href$='/posts/'], a[href$='/post/'], a[href$='/blog/']"


@dataclass(slots=True)
class HomeInfo:
    """The facts of one home page."""

    fingerprint: Fingerprint
    feeds: list[str] = field(default_factory=list)
    search_paths: list[str] = field(default_factory=list)
    site_names: tuple[str, ...] = ()
    page: ListPage = field(default_factory=ListPage)
    sections: list[str] = field(default_factory=list)  # archives and post sections, to list from when needed


def _site_names(names: tuple[str | None, ...]) -> tuple[str, ...]:
    """The site's names, and each part of a "Name - Tagline" home title."""
    found: list[str] = []
    for name in names:
        cleaned = " ".join((name or "").split())
        if cleaned:
            found.append(cleaned)
            found.extend(part for part in _SEPARATORS.split(cleaned) if part.strip())
    return tuple(dict.fromkeys(found))


def analyze_home(html: str, url: str, family: str | None) -> HomeInfo:
    """Read a home page. Pure: runs in the worker pool. `family` forces hexo/hugo/html when configured."""
    doc = parse_html(html)
    found = fingerprint(doc, html)
    if family and family != found.family:
        found = Fingerprint(family=family, theme=found.theme if family != "html" else None, generator=found.generator)
    title_node = doc.css_first("head > title") or doc.css_first("title")
    names = (meta_content(doc, "og:site_name"), title_node.text(deep=True) if title_node else None)
    sections = [resolve(url, n.attributes.get("href") or "") for n in doc.css(_SECTION_LINKS)]
    return HomeInfo(
        fingerprint=found,
        feeds=advertised_feeds(doc, url),
        search_paths=[p for p in search_paths_in_config(html, url) if same_site(p, url)],
        site_names=_site_names(names),
        page=parse_list_page(html, url, url, found.theme),
        sections=[s for s in dict.fromkeys(sections) if same_site(s, url) and s.rstrip("/") != url.rstrip("/")],
    )
