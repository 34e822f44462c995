"""One site from its home page: discover every post through the channels in the order of reference
section 8 (fingerprint, feed, sitemap, search index, list pages), then fetch what is missing.
"""

from __future__ import annotations

from aggregator.errors import FetchError, ParseError
from aggregator.http_client import Response
from aggregator.models import SourceOutput
from aggregator.sources.base import BudgetExceeded, SourceContext
from aggregator.sources.site.discover import Channel, read_feed, read_search_index, read_sitemaps
from aggregator.sources.site.home import HomeInfo, analyze_home
from aggregator.sources.site.listing import parse_list_page
from aggregator.sources.site.pool import CandidatePool
from aggregator.sources.site.posts import PAGE_ACCEPT, SiteHints, build_posts, calibrate_feed_bodies
from aggregator.urls import same_site

_MAX_LIST_PAGES = 500


async def crawl_site(ctx: SourceContext, home: Response, family: str | None) -> SourceOutput:
    """Every post of the site whose home page is `home`; `family` forces hexo/hugo/html, None detects."""
    info = await ctx.run_cpu(analyze_home, home.text(), home.url, family)
    output = SourceOutput(detected_kind=info.fingerprint.family)
    pool = CandidatePool(home.url)
    try:
        await discover(ctx, info, pool, home.url)
    except BudgetExceeded as e:
        ctx.warn(f"page budget spent while looking for posts, kept the {len(pool)} found: {e}")
    hints = SiteHints(theme=info.fingerprint.theme, site_names=info.site_names)
    candidates = pool.candidates()
    prefetched = await calibrate_feed_bodies(ctx, candidates, hints)
    await build_posts(ctx, candidates, hints, output, prefetched)
    output.requests = ctx.requests
    if not output.posts and not output.unchanged_urls:
        raise ParseError(f"no posts found on {home.url} (looked for feeds, sitemaps, search indexes and list pages)")
    return output


async def discover(ctx: SourceContext, info: HomeInfo, pool: CandidatePool, home: str) -> None:
    """Fill the pool: feed, home list, sitemap; search index and list pages only when those left gaps."""
    family = info.fingerprint.family
    feed = await read_feed(ctx, info.feeds, family, home)
    _report(ctx, feed)
    pool.add_feed_posts(feed.posts)
    pool.add_list_items(info.page.items)
    sitemap = await read_sitemaps(ctx, home)
    taken = pool.add_index_entries(sitemap.entries)
    if taken or sitemap.not_modified:
        return
    search = await read_search_index(ctx, info.search_paths, family, home)
    _report(ctx, search)
    pool.add_index_entries(search.entries)
    if search.not_modified:
        return
    await crawl_lists(ctx, info, pool, home)


def _report(ctx: SourceContext, channel: Channel) -> None:
    for warning in channel.warnings:
        ctx.warn(warning)


async def crawl_lists(ctx: SourceContext, info: HomeInfo, pool: CandidatePool, home: str) -> None:
    """Follow the home list's next pages; archives and post sections too when the home page has no list."""
    starts = [info.page.next_url] if info.page.next_url else []
    if not starts or len(info.page.items) < 2:
        starts += info.sections
    visited = {home.rstrip("/")}
    for start in starts:
        await _follow(ctx, start, info, pool, home, visited)


async def _follow(
    ctx: SourceContext, url: str | None, info: HomeInfo, pool: CandidatePool, home: str, visited: set[str]
) -> None:
    """Walk one paginated list until its end, a page seen before, or a page whose posts are all stored."""
    selector = info.page.item_selector
    for _page in range(_MAX_LIST_PAGES):
        if url is None or url.rstrip("/") in visited or not same_site(url, home):
            return
        visited.add(url.rstrip("/"))
        try:
            response = await ctx.get(url, conditional=True, accept=PAGE_ACCEPT)
        except BudgetExceeded:
            raise
        except FetchError as e:
            ctx.warn(f"list page failed: {e}")
            return
        if response.unchanged:
            return  # nothing moved on this page, so nothing moved after it either
        page = await ctx.run_cpu(parse_list_page, response.text(), response.url, home, info.fingerprint.theme, selector)
        if page.refresh_to:
            url = page.refresh_to
            continue
        pool.add_list_items(page.items)
        selector = page.item_selector or selector
        if not page.items or _all_stored(ctx, [item.url for item in page.items]):
            return
        url = page.next_url


def _all_stored(ctx: SourceContext, urls: list[str]) -> bool:
    """Every post of a list page is stored already: older pages hold nothing new either."""
    return all((known := ctx.known_post(url)) is not None and known.has_content for url in urls)
