"""Parse the site-wide URL lists: sitemaps (XML, index, txt) and search indexes (XML and JSON).

Pure functions over bytes, picklable results, so they can run in the worker pool. The XML here is
simple and machine-made, so it is read with small patterns instead of an XML parser: nothing is
expanded or fetched (no entities, no DTDs).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aggregator.dates import parse_date
from aggregator.urls import is_http_url, resolve

_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
_MAX_ENTRIES = 50_000
_LINK_KEYS = ("permalink", "url", "uri", "link", "path")


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One URL a site-wide list names, with whatever it says about it."""

    url: str
    lastmod: datetime | None = None  # sitemap: when the page last changed
    published: datetime | None = None  # search indexes that carry dates (Hugo Stack)
    title: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(slots=True)
class SitemapData:
    """A sitemap's page entries, or a sitemap index's child sitemaps."""

    entries: list[IndexEntry] = field(default_factory=list)
    children: list[str] = field(default_factory=list)


def _elements(xml: str, tag: str) -> list[str]:
    return re.findall(rf"<(?:\w+:)?{tag}\b[^>]*>(.*?)</(?:\w+:)?{tag}>", xml, re.DOTALL | re.IGNORECASE)[:_MAX_ENTRIES]


def _first(xml: str, tag: str) -> str | None:
    found = re.search(rf"<(?:\w+:)?{tag}\b[^>]*>(.*?)</(?:\w+:)?{tag}>", xml, re.DOTALL | re.IGNORECASE)
    return xml_text(found.group(1)) if found else None


def xml_text(raw: str) -> str:
    """An element's text: CDATA kept verbatim, entities decoded once."""
    parts: list[str] = []
    position = 0
    for match in _CDATA.finditer(raw):
        parts.append(html.unescape(raw[position : match.start()]))
        parts.append(match.group(1))
        position = match.end()
    parts.append(html.unescape(raw[position:]))
    return "".join(parts).strip()


def parse_sitemap(content: bytes, url: str) -> SitemapData:
    """An XML sitemap (urlset or sitemapindex) or a plain-text one (one URL per line)."""
    text = content.decode("utf-8", errors="replace")
    data = SitemapData()
    if "<sitemapindex" in text[:4096].lower():
        data.children = [resolve(url, loc) for loc in (xml_text(s) for s in _elements(text, "loc")) if loc]
        return data
    if "<urlset" in text[:4096].lower() or "<url>" in text.lower():
        for block in _elements(text, "url"):
            loc = _first(block, "loc")
            if loc and is_http_url(resolve(url, loc)):
                data.entries.append(IndexEntry(resolve(url, loc), lastmod=parse_date(_first(block, "lastmod"))))
        return data
    if text.lstrip()[:1] == "<":
        return data  # HTML or some other document: not a sitemap
    for line in text.splitlines()[:_MAX_ENTRIES]:
        if is_http_url(line.strip()):
            data.entries.append(IndexEntry(line.strip()))
    return data


def robots_sitemaps(content: bytes, url: str) -> list[str]:
    """The `Sitemap:` lines of a robots.txt."""
    text = content.decode("utf-8", errors="replace")
    found = re.findall(r"^\s*sitemap\s*:\s*(\S+)", text, re.IGNORECASE | re.MULTILINE)
    return [resolve(url, value) for value in found if is_http_url(resolve(url, value))]


def parse_search_index(content: bytes, url: str) -> list[IndexEntry]:
    """Hexo search.xml/local-search.xml, or any JSON search index (Hexo, Icarus, PaperMod, Stack, LoveIt)."""
    text = content.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith(("[", "{")):
        try:
            return _json_entries(json.loads(text), url)
        except (ValueError, RecursionError):
            return []
    if text.startswith("<"):
        return _xml_entries(text, url)
    return []


def _xml_entries(text: str, url: str) -> list[IndexEntry]:
    entries: list[IndexEntry] = []
    for block in _elements(text, "entry"):
        link = _first(block, "url") or _first(block, "link")
        if not link:
            continue
        tags = tuple(xml_text(t) for t in _elements(block, "tag") if xml_text(t))
        entries.append(
            IndexEntry(
                url=resolve(url, link),
                title=_first(block, "title"),
                tags=tags,
            )
        )
    return entries


def _json_entries(data: Any, url: str) -> list[IndexEntry]:
    if isinstance(data, dict):
        data = data.get("posts") or data.get("items") or data.get("pages") or []
    if not isinstance(data, list):
        return []
    entries: list[IndexEntry] = []
    seen: set[str] = set()
    for record in data[:_MAX_ENTRIES]:
        if not isinstance(record, dict):
            continue
        link = next((record[k] for k in _LINK_KEYS if isinstance(record.get(k), str) and record[k].strip()), None)
        if not isinstance(link, str) or not link.strip():
            continue
        absolute = resolve(url, link)
        if absolute in seen:
            continue  # LoveIt/DoIt split one post into a record per section
        seen.add(absolute)
        title = record.get("title")
        tags = record.get("tags")
        entries.append(
            IndexEntry(
                url=absolute,
                title=_TAGS.sub("", html.unescape(title)).strip() if isinstance(title, str) else None,
                published=parse_date(record.get("date")),
                tags=tuple(str(t) for t in tags if isinstance(t, str | int)) if isinstance(tags, list) else (),
            )
        )
    return entries
