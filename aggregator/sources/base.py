"""What every source fetcher gets and gives.

A fetcher is `async def fetch(ctx: SourceContext) -> SourceOutput`. It asks `ctx.get` for every
URL (never the network directly), runs CPU-heavy parsing through `ctx.run_cpu` (a process pool, so
it must pass top-level functions and picklable arguments), and returns `RawPost`s. It never writes
to the database: the pipeline stores its output in one transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from aggregator.config import Settings, SourceConfig
from aggregator.dates import call_in_zone
from aggregator.errors import FetchError
from aggregator.http_client import HttpClient, Response
from aggregator.models import KnownPost, SourceOutput, Validator
from aggregator.robots import RobotsCache
from aggregator.urls import url_key

T = TypeVar("T")

Fetcher = Callable[["SourceContext"], Awaitable[SourceOutput]]


class LazyKnown(Mapping[str, KnownPost]):
    """The store's known posts, loaded on first use: a source that answers 304 never needs them."""

    def __init__(self, load: Callable[[], dict[str, KnownPost]]) -> None:
        self._load = load
        self._posts: dict[str, KnownPost] | None = None

    def _data(self) -> dict[str, KnownPost]:
        if self._posts is None:
            self._posts = self._load()
        return self._posts

    def __getitem__(self, key: str) -> KnownPost:
        return self._data()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())


class BudgetExceeded(FetchError):
    """The source asked for more pages than its per-run budget allows."""


@dataclass(slots=True)
class SourceContext:
    """One source's view of the run: its config, the shared HTTP client, what is already stored."""

    source: SourceConfig
    settings: Settings
    http: HttpClient
    now: datetime
    known: Mapping[str, KnownPost] = field(default_factory=dict)  # by url_key of the stored canonical URL
    detected_kind: str | None = None  # what `auto` found this source to be on its last run
    validators: dict[str, Validator] = field(default_factory=dict)  # by URL, from the last run
    new_validators: dict[str, Validator] = field(default_factory=dict)  # by URL, to store with the posts
    executor: Executor | None = None
    robots: RobotsCache | None = None  # None: this source does not check robots.txt
    warnings: list[str] = field(default_factory=list)
    requests: int = 0

    @property
    def page_budget(self) -> int:
        return self.source.max_pages if self.source.max_pages is not None else self.settings.max_pages

    async def get(self, url: str, *, conditional: bool = False, accept: str | None = None) -> Response:
        """GET through the shared client; `conditional` sends the validators stored for this URL.

        Raises FetchError (including BudgetExceeded once the source's page budget is spent).
        """
        if self.requests >= self.page_budget:
            raise BudgetExceeded(url, f"page budget of {self.page_budget} requests for this run is spent")
        if self.robots is not None and url != self.source.url and not await self.robots.allowed(url):
            raise FetchError(url, "disallowed by robots.txt (set robots = false for this source to override)")
        self.requests += 1
        validator = self.validators.get(url) if conditional else None
        response = await self.http.get(url, validator=validator, accept=accept)
        if conditional and not response.not_modified:
            self.new_validators[url] = response.validator
        return response

    async def run_cpu(self, function: Callable[..., T], *args: Any) -> T:
        """Run CPU-bound work (parsing, extraction, rendering) off the event loop, in the worker pool.

        `function` must be a top-level function and `args` picklable: they cross a process boundary.
        """
        zone = self.source.timezone or self.settings.timezone  # dates with no zone are in the site's
        if self.executor is None:
            return call_in_zone(zone, function, *args)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, call_in_zone, zone, function, *args)

    def warn(self, message: str) -> None:
        """Record a one-line notice (an entry skipped, one page failed while the rest worked)."""
        self.warnings.append(message)

    def known_post(self, url: str) -> KnownPost | None:
        """What the store holds for the page at `url`, if anything."""
        try:
            return self.known.get(url_key(url))
        except ValueError:
            return None
