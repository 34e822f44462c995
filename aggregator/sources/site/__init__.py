"""Hexo, Hugo and unknown-theme blogs from a bare home URL (kinds "hexo", "hugo", "html", and "auto").

    home page ─► fingerprint (generator, theme) ─► feed ─► sitemap ─► search index ─► list pages
              ─► candidates (merged by URL) ─► post pages for what is missing ─► RawPosts

Modules: `themes` (selector table), `detect` (fingerprint), `discover` (feeds, sitemaps, search
indexes), `indexes` (their parsers), `listing` and `pagination` (list pages), `filters` (post or
not), `pool` (candidates), `article` and `readability` (post pages), `posts` (fetch and merge),
`crawl` (the order of it all).
"""

from __future__ import annotations

from aggregator.http_client import Response
from aggregator.models import SourceOutput
from aggregator.sources.base import SourceContext
from aggregator.sources.site.crawl import crawl_site
from aggregator.sources.site.posts import PAGE_ACCEPT

__all__ = ["fetch_from_home", "fetch_hexo", "fetch_html", "fetch_hugo"]


async def fetch_from_home(ctx: SourceContext, home: Response) -> SourceOutput:
    """`kind = "auto"`: the home page is fetched already; tell Hexo, Hugo or generic from it."""
    return await crawl_site(ctx, home, None)


async def fetch_hexo(ctx: SourceContext) -> SourceOutput:
    """`kind = "hexo"`."""
    return await _fetch_as(ctx, "hexo")


async def fetch_hugo(ctx: SourceContext) -> SourceOutput:
    """`kind = "hugo"`."""
    return await _fetch_as(ctx, "hugo")


async def fetch_html(ctx: SourceContext) -> SourceOutput:
    """`kind = "html"`: the generic path alone (no theme tables)."""
    return await _fetch_as(ctx, "html")


async def _fetch_as(ctx: SourceContext, family: str) -> SourceOutput:
    home = await ctx.get(ctx.source.url, accept=PAGE_ACCEPT)
    return await crawl_site(ctx, home, family)
