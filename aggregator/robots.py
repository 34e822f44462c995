"""robots.txt for scraped pages: read once per host per run, honoured for every page but the configured URL.

Feeds and HackMD's profile API are published to be read by programs, so their sources skip this; a
source can opt out with `robots = false`. A missing robots.txt (4xx) allows everything; one that
cannot be fetched (5xx, timeout) allows everything too, so a flaky robots.txt never blanks a blog.
"""

from __future__ import annotations

import asyncio
from urllib import robotparser
from urllib.parse import urlsplit

from aggregator.errors import FetchError
from aggregator.http_client import HttpClient

_MAX_ROBOTS_BYTES = 512_000


class RobotsCache:
    """Parsed robots.txt per origin, shared by every source of one run."""

    def __init__(self, http: HttpClient, user_agent: str) -> None:
        self.http = http
        self.agent = user_agent.split("/", maxsplit=1)[0] or "agg"  # robots.txt groups match the product token
        self._parsers: dict[str, robotparser.RobotFileParser | None] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def allowed(self, url: str) -> bool:
        """True when robots.txt of the URL's host lets agg fetch it."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:  # one robots.txt request per host, however many pages wait for it
            if origin not in self._parsers:
                self._parsers[origin] = await self._load(origin)
        parser = self._parsers[origin]
        return True if parser is None else parser.can_fetch(self.agent, url)

    async def _load(self, origin: str) -> robotparser.RobotFileParser | None:
        try:
            response = await self.http.get(f"{origin}/robots.txt", max_bytes=_MAX_ROBOTS_BYTES)
        except FetchError:
            return None
        parser = robotparser.RobotFileParser()
        parser.parse(response.text().splitlines())
        return parser
