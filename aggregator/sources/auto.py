"""`kind = "auto"`: tell what a URL is and hand it to the right fetcher.

Order: a HackMD profile path (`/@user`), then the URL's own response: a feed is read as a feed;
an HTML page goes to the site scraper (Hexo, Hugo, generic), which also reads the feed it advertises.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aggregator.errors import FetchError, ParseError
from aggregator.models import SourceOutput
from aggregator.sources import PROFILE_PATH, feed, fetcher_for, is_hackmd_url
from aggregator.sources.base import SourceContext

PAGE_ACCEPT = "text/html, application/xhtml+xml, application/atom+xml, application/rss+xml, */*;q=0.8"


def looks_like_hackmd_profile(url: str) -> bool:
    """hackmd.io/@user, or any host serving a `/@user` path the way HackMD does (a mirror, a test server)."""
    return is_hackmd_url(url) or bool(PROFILE_PATH.match(urlsplit(url).path))


async def fetch(ctx: SourceContext) -> SourceOutput:
    """Detect the source's kind from its URL and response, then fetch it as that kind."""
    url = ctx.source.url
    hackmd = fetcher_for("hackmd")
    if hackmd is not None and looks_like_hackmd_profile(url):
        try:
            output = await hackmd(ctx)
            output.detected_kind = "hackmd"
            return output
        except (FetchError, ParseError):
            if is_hackmd_url(url):
                raise  # on hackmd.io itself there is nothing else to try
    if ctx.detected_kind == "feed":
        return await feed.fetch(ctx)  # known to be a feed: a conditional GET, and a 304 is not parsed
    # on the first run nothing is stored to send, but the answer's validators are kept for the feed path
    response = await ctx.get(url, accept=PAGE_ACCEPT, conditional=ctx.detected_kind is None)
    if response.not_modified:  # a source detected before the kind was recorded: ask again in full
        response = await ctx.get(url, accept=PAGE_ACCEPT)
    if feed.looks_like_feed(response.content, response.content_type):
        return await feed.posts_from_response(ctx, response)
    from aggregator.sources.site import fetch_from_home  # the scraper, loaded only for an HTML page

    return await fetch_from_home(ctx, response)
