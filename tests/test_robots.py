"""robots.txt is honoured for scraped pages, once per host, and never for the configured URL itself."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from aggregator.config import Settings, SourceConfig
from aggregator.errors import FetchError
from aggregator.http_client import HttpClient
from aggregator.robots import RobotsCache
from aggregator.sources.base import SourceContext

ROBOTS = "User-agent: *\nDisallow: /private/\n\nUser-agent: agg\nDisallow: /no-agg/\n"


def run(robots_body: str | None, robots_status: int, urls: list[str]) -> tuple[list[str], list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/robots.txt":
            return httpx.Response(robots_status, text=robots_body or "")
        return httpx.Response(200, text="<html><body>page</body></html>")

    async def main() -> list[str]:
        settings = Settings(retries=0)
        async with HttpClient(settings, transport=httpx.MockTransport(handler)) as http:
            source = SourceConfig(name="blog", url="http://blog.test/private/home/")
            ctx = SourceContext(source, settings, http, datetime.now(UTC), robots=RobotsCache(http, "agg/0.1"))
            outcomes = []
            for url in urls:
                try:
                    await ctx.get(url)
                    outcomes.append("ok")
                except FetchError as e:
                    outcomes.append(e.cause)
            return outcomes

    return asyncio.run(main()), seen


def test_disallowed_pages_are_not_requested_and_robots_is_read_once() -> None:
    outcomes, seen = run(
        ROBOTS,
        200,
        [
            "http://blog.test/posts/a/",
            "http://blog.test/private/b/",
            "http://blog.test/no-agg/c/",
            "http://blog.test/posts/d/",
        ],
    )
    assert outcomes[0] == "ok" and outcomes[3] == "ok"
    # agg's own group replaces the `*` group, as robots.txt rules say: /private/ is open to agg, /no-agg/ is not
    assert outcomes[1] == "ok"
    assert outcomes[2].startswith("disallowed by robots.txt")
    assert seen.count("/robots.txt") == 1
    assert "/no-agg/c/" not in seen


def test_the_star_group_applies_when_agg_has_none() -> None:
    outcomes, seen = run("User-agent: *\nDisallow: /private/\n", 200, ["http://blog.test/private/b/"])
    assert outcomes[0].startswith("disallowed by robots.txt") and "/private/b/" not in seen


def test_the_configured_url_is_always_fetched() -> None:
    outcomes, seen = run(ROBOTS, 200, ["http://blog.test/private/home/"])
    assert outcomes == ["ok"] and seen == ["/private/home/"]


@pytest.mark.parametrize("status", [404, 500])
def test_missing_or_broken_robots_allows_everything(status: int) -> None:
    outcomes, _ = run("User-agent: *\nDisallow: /\n", status, ["http://blog.test/private/x/"])
    assert outcomes == ["ok"]
