"""The fetch run: `store.known | sources.<kind> (via http) | normalize (worker pool) | store.save`.

Sources run concurrently on one event loop; parsing and normalising run in a process pool so
the network and the CPU overlap; each source is stored in one transaction as soon as it is done,
so memory stays flat and a failure in one source never touches another.
"""

from __future__ import annotations

import asyncio
import os
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from aggregator.config import Config, SourceConfig
from aggregator.errors import ConfigError, SourceError
from aggregator.http_client import HttpClient
from aggregator.robots import RobotsCache
from aggregator.sources import fetcher_for
from aggregator.sources.base import LazyKnown, SourceContext
from aggregator.store import FetchRecord, SourceState, Store
from aggregator.workers import LazyProcessPool

Status = Literal["new", "updated", "unchanged", "error", "skipped"]
_PUBLISHED_FOR_PROGRAMS = frozenset({"feed", "hackmd"})  # kinds that read endpoints made for programs
_FIRST_BACKOFF = timedelta(minutes=30)
_MAX_BACKOFF = timedelta(days=1)
_COMMIT_SECONDS = 0.5  # a source's run is committed within this (Store.deferred_commits)


@dataclass(slots=True)
class SourceReport:
    """How one source went in this run."""

    name: str
    kind: str
    status: Status
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    requests: int = 0
    seconds: float = 0.0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    detail: str | None = None  # the traceback of an unexpected error, shown under -v


def select_sources(config: Config, names: Sequence[str]) -> list[SourceConfig]:
    """The enabled sources, or exactly the named ones (disabled or not); unknown names are a usage error."""
    if not names:
        return [s for s in config.sources if s.enabled]
    by_name = {s.name: s for s in config.sources}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ConfigError(f"no source named {unknown[0]!r} in {config.path or 'the config'}")
    return [by_name[n] for n in dict.fromkeys(names)]


def retry_time(streak: int, now: datetime) -> datetime:
    """When a source that failed `streak` times in a row is tried again: 30 min, doubling, at most a day."""
    delay: timedelta = min(_MAX_BACKOFF, _FIRST_BACKOFF * 2 ** max(0, streak - 1))
    return now + delay


async def run_fetch(
    config: Config,
    store: Store,
    sources: Sequence[SourceConfig],
    *,
    force: bool = False,
    now: datetime | None = None,
    on_start: Callable[[SourceConfig], None] | None = None,
    on_done: Callable[[SourceReport], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
) -> list[SourceReport]:
    """Fetch `sources` concurrently and store each as it finishes; one report per source, in order.
    `on_notice` is told what concerns the whole run (no worker process could be started)."""
    now = now or datetime.now(UTC)
    settings = config.settings
    workers = settings.workers or (os.cpu_count() or 1)
    pool = LazyProcessPool(workers, on_unavailable=on_notice) if workers > 1 else None
    states = store.source_states()  # one query, not one per source
    if pool is not None and not states.keys() >= {source.name for source in sources}:
        pool.start_early()  # a source never fetched before will be parsed; a run of 304s starts no process
    limit = asyncio.Semaphore(max(1, settings.concurrency))

    async def one(source: SourceConfig) -> SourceReport:
        async with limit:
            if on_start is not None:
                on_start(source)
            report = await fetch_one(source, states.get(source.name), config, store, http, pool, now, force, robots)
            if on_done is not None:
                on_done(report)
            return report

    try:
        with store.deferred_commits():
            committer = asyncio.create_task(_commit_periodically(store, _COMMIT_SECONDS))
            try:
                async with HttpClient(settings) as http:
                    robots = RobotsCache(http, settings.user_agent)
                    return list(await asyncio.gather(*(one(s) for s in sources)))
            finally:
                committer.cancel()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


async def _commit_periodically(store: Store, seconds: float) -> None:
    """Commit what the store deferred every `seconds`: another process waiting to write never waits long."""
    while True:
        await asyncio.sleep(seconds)
        store.commit_deferred()


async def fetch_one(
    source: SourceConfig,
    state: SourceState | None,
    config: Config,
    store: Store,
    http: HttpClient,
    pool: Executor | None,
    now: datetime,
    force: bool,
    robots: RobotsCache | None = None,
) -> SourceReport:
    """Fetch, normalise and store one source (`state`: its earlier runs); every failure becomes an error
    report, never an exception."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    report = SourceReport(source.name, source.kind, "error")
    if not force and state is not None and state.next_try is not None and state.next_try > now and state.error_streak:
        report.error = (
            f"not retried until {state.next_try:%Y-%m-%d %H:%M} UTC after {state.error_streak} failed runs "
            f"(--force tries now); last error: {_one_line(state.last_error or '')}"
        )
        return report
    fetcher = fetcher_for(source.kind)
    if fetcher is None:
        report.status = "skipped"
        report.error = f"kind {source.kind!r} is not supported by this version of agg yet"
        return report
    ctx = SourceContext(
        source=source,
        settings=config.settings,
        http=http,
        now=now,
        known=LazyKnown(lambda: store.known_posts(source.name)),
        detected_kind=state.detected_kind if state is not None else None,
        validators=store.validators(source.name),
        executor=pool,
        robots=robots if source.robots and source.kind not in _PUBLISHED_FOR_PROGRAMS else None,
    )
    try:
        async with asyncio.timeout(config.settings.source_deadline):
            output = await fetcher(ctx)
            skipped: list[str]
            if output.normalized is not None:
                posts, skipped = output.normalized, []
            elif output.posts:
                from aggregator.normalize import normalize_posts  # not imported by a run of 304s

                posts, skipped = await ctx.run_cpu(normalize_posts, output.posts, source.name, now)
            else:
                posts, skipped = [], []  # nothing to normalise (a 304) must not start the worker pool
    except SourceError as e:
        report.error = _one_line(str(e))
    except TimeoutError:
        report.error = f"gave up after {config.settings.source_deadline:g} s (the source deadline)"
    except Exception as e:  # a bug or an unforeseen input must not stop the other sources
        report.error = _one_line(f"internal error: {type(e).__name__}: {e}")
        report.detail = traceback.format_exc()
    report.requests = ctx.requests
    report.warnings = ctx.warnings
    finished = now + timedelta(seconds=loop.time() - started)
    if report.error is not None:
        record = FetchRecord(source.name, now, finished, "error", requests=ctx.requests, error=report.error)
        streak = (state.error_streak if state else 0) + 1
        store.record_failure(source.name, source.url, source.kind, record, retry_time(streak, now))
        report.seconds = loop.time() - started
        return report
    report.warnings = [*ctx.warnings, *output.warnings, *skipped]
    record = FetchRecord(source.name, now, finished, "ok", requests=ctx.requests)
    saved = store.save_source(
        source.name,
        source.url,
        source.kind,
        posts,
        output.unchanged_urls,
        ctx.new_validators,
        record,
        detected_kind=output.detected_kind,
    )
    report.new, report.updated, report.unchanged = saved.new, saved.updated, saved.unchanged
    report.status = "new" if saved.new else "updated" if saved.updated else "unchanged"
    report.seconds = loop.time() - started
    return report


def _one_line(message: str) -> str:
    # an error is one line of the run's output and of `agg sources`, whatever an exception's text holds
    return " ".join(message.split())


def exit_code(reports: Sequence[SourceReport]) -> int:
    """0 when every source worked (or was skipped as unsupported), 1 when any failed."""
    return 1 if any(r.status == "error" for r in reports) else 0
