"""Site-wide channels: feeds (advertised, then well-known paths), sitemaps (with indexes, robots.txt,
sitemap.txt) and search indexes. Each step fetches conditionally and reports 304s, so a second run
that finds nothing changed stops early.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aggregator.dom import Document
from aggregator.errors import FetchError, ParseError
from aggregator.http_client import Response
from aggregator.sources.base import BudgetExceeded, SourceContext
from aggregator.sources.feed import FEED_ACCEPT, looks_like_feed, parse_feed
from aggregator.sources.site.indexes import IndexEntry, parse_search_index, parse_sitemap, robots_sitemaps
from aggregator.sources.site.pool import FeedPost, judge_feed_post
from aggregator.urls import origin, resolve, same_site

_FEED_TYPES = ("application/atom+xml", "application/rss+xml", "application/feed+json")
_WELL_KNOWN_FEEDS = {
    "hexo": ("atom.xml", "rss2.xml", "rss.xml", "feed.xml"),
    "hugo": ("index.xml", "feed.xml", "atom.xml"),
    "html": ("feed.xml", "atom.xml", "rss.xml", "index.xml", "feed/", "rss2.xml"),
}
_WELL_KNOWN_SEARCH = {
    "hexo": ("search.xml", "search.json", "local-search.xml", "content.json"),
    "hugo": ("index.json", "search/index.json"),
    "html": ("search.xml", "search.json", "index.json", "search/index.json", "local-search.xml", "content.json"),
}
_SEARCH_IN_CONFIG = re.compile(
    r"""["']?(?:search_path|path)["']?\s*:\s*["']([^"'\s]*?(?:search|content)[^"'\s]*\.(?:xml|json))["']""",
    re.IGNORECASE,
)
_MAX_CHILD_SITEMAPS = 20
SITEMAP_ACCEPT = "application/xml, text/xml;q=0.9, text/plain;q=0.8, */*;q=0.5"


@dataclass(slots=True)
class Channel:
    """What one kind of site-wide list gave: entries, whether it was seen at all, whether all was 304."""

    not_modified: bool = False
    posts: list[FeedPost] = field(default_factory=list)
    entries: list[IndexEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def advertised_feeds(doc: Document, page_url: str) -> list[str]:
    """Feed links in <head>, Atom before RSS; Hugo's application/json search index is not a feed."""
    found: list[tuple[int, str]] = []
    for node in doc.css("link[rel~=alternate][href], link[rel=feed][href]"):
        kind = (node.attributes.get("type") or "").lower()
        if kind in _FEED_TYPES and not node.attributes.get("hreflang"):
            found.append((_FEED_TYPES.index(kind), resolve(page_url, node.attributes.get("href") or "")))
    urls = [url for _, url in sorted(found, key=lambda pair: pair[0])]
    return [u for u in dict.fromkeys(urls) if same_site(u, page_url)]


def search_paths_in_config(html: str, page_url: str) -> list[str]:
    """Search index paths named by theme config blobs (NexT next-config, Butterfly GLOBAL_CONFIG, Fluid CONFIG)."""
    return list(dict.fromkeys(resolve(page_url, path) for path in _SEARCH_IN_CONFIG.findall(html)))


def site_base(home: str) -> str:
    """The site root as a directory URL: `https://host/blog/` for a blog under /blog/."""
    parts = urlsplit(home)
    path = parts.path if parts.path.endswith("/") else parts.path.rsplit("/", 1)[0] + "/"
    return f"{parts.scheme}://{parts.netloc}{path}"


async def _get(ctx: SourceContext, url: str, accept: str) -> Response | None:
    """A conditional GET that turns a failure into None; the page budget still stops everything."""
    try:
        return await ctx.get(url, conditional=True, accept=accept)
    except BudgetExceeded:
        raise
    except FetchError:
        return None


async def read_feed(ctx: SourceContext, advertised: list[str], family: str, home: str) -> Channel:
    """The first feed that answers: advertised ones, else the generator's well-known paths."""
    channel = Channel()
    candidates = advertised or [resolve(site_base(home), path) for path in _WELL_KNOWN_FEEDS[family]]
    for url in candidates:
        response = await _get(ctx, url, FEED_ACCEPT)
        if response is None:
            continue
        if response.unchanged:
            channel.not_modified = True
            return channel
        if not looks_like_feed(response.content, response.content_type):
            continue
        try:
            posts, warnings = await ctx.run_cpu(read_site_feed, response.content, dict(response.headers), response.url)
        except ParseError as e:
            channel.warnings.append(f"feed {url}: {e}")
            continue
        channel.posts = posts
        channel.warnings.extend(warnings)
        return channel
    return channel


def read_site_feed(content: bytes, headers: dict[str, str], url: str) -> tuple[list[FeedPost], list[str]]:
    """Parse a site's feed and judge its entries' bodies, in one call to the worker pool."""
    parsed = parse_feed(content, headers, url)
    return [judge_feed_post(post) for post in parsed.posts], parsed.warnings


async def read_sitemaps(ctx: SourceContext, home: str) -> Channel:
    """sitemap.xml (and its children), robots.txt's Sitemap lines, or sitemap.txt."""
    channel = Channel()
    base = site_base(home)
    candidates = [resolve(base, "sitemap.xml")]
    if base != origin(home) + "/":
        candidates.append(origin(home) + "/sitemap.xml")
    candidates += [resolve(base, "sitemap.txt")]
    for url in candidates:
        if await _read_one_sitemap(ctx, url, channel, depth=0):
            return channel
    robots = await _get(ctx, origin(home) + "/robots.txt", "text/plain")
    if robots is not None and not robots.unchanged:
        for url in robots_sitemaps(robots.content, robots.url)[:_MAX_CHILD_SITEMAPS]:
            if url not in candidates and same_site(url, home):
                await _read_one_sitemap(ctx, url, channel, depth=0)
    return channel


async def _read_one_sitemap(ctx: SourceContext, url: str, channel: Channel, depth: int) -> bool:
    response = await _get(ctx, url, SITEMAP_ACCEPT)
    if response is None:
        return False
    if response.unchanged:
        channel.not_modified = not channel.entries
        return True
    data = await ctx.run_cpu(parse_sitemap, response.content, response.url)
    if not data.entries and not data.children:
        return False
    channel.not_modified = False
    channel.entries.extend(data.entries)
    if depth == 0:
        for child in data.children[:_MAX_CHILD_SITEMAPS]:
            await _read_one_sitemap(ctx, child, channel, depth=1)
    return True


async def read_search_index(ctx: SourceContext, named: list[str], family: str, home: str) -> Channel:
    """The first search index that parses: the ones the theme config names, else well-known paths."""
    channel = Channel()
    base = site_base(home)
    well_known = [resolve(base, path) for path in _WELL_KNOWN_SEARCH[family]]
    candidates = named + [url for url in well_known if url not in named]
    for url in candidates:
        if not same_site(url, home):
            continue
        response = await _get(ctx, url, "application/json, application/xml, */*;q=0.5")
        if response is None:
            continue
        if response.unchanged:
            channel.not_modified = True
            return channel
        entries = await ctx.run_cpu(parse_search_index, response.content, response.url)
        if entries:
            channel.entries = entries
            return channel
    return channel
