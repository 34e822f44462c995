"""The fetch run: `store.known | sources.<kind> (via http) | normalize (worker pool) | store.save`.

Sources run concurrently on one event loop; parsing and normalising run in a process pool so
the network and the CPU overlap; each source is stored in one transaction as soon as it is done,
so memory stays flat and a failure in one source never touches another.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import multiprocessing
import os
import threading
import traceback
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aggregator.config import Config, SourceConfig
from aggregator.errors import ConfigError, SourceError, WorkerCrashed
from aggregator.http_client import HttpClient
from aggregator.robots import RobotsCache
from aggregator.sources import fetcher_for
from aggregator.sources.base import LazyKnown, SourceContext
from aggregator.store import FetchRecord, Store

Status = Literal["new", "updated", "unchanged", "error", "skipped"]
_PUBLISHED_FOR_PROGRAMS = frozenset({"feed", "hackmd"})  # kinds that read endpoints made for programs
_FIRST_BACKOFF = timedelta(minutes=30)
_MAX_BACKOFF = timedelta(days=1)


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


# what the worker functions live in (parsers, extractors, normalising), for the forkserver to preload
_WORKER_MODULES = (
    "aggregator.sources.feed",
    "aggregator.sources.site",
    "aggregator.sources.hackmd",
    "aggregator.normalize",
    "feedparser",
    "dateutil.parser",  # aggregator.dates imports it on the first date it cannot read itself
)


class LazyProcessPool(Executor):
    """A process pool started on first use (or early, by `start_early`), so a run where everything answers
    304 starts no process.

    A worker that dies (a native parser crashing on hostile bytes, the OOM killer) breaks a
    ProcessPoolExecutor for every call in it and after it. Here the pool is started again for new calls,
    and each call the break caught is run once more alone, in a process of its own, one at a time: the
    call that dies there fails with WorkerCrashed, and the others get their results.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()  # the pool is swapped from the pool's own result thread
        self._alone: ThreadPoolExecutor | None = None  # runs the calls to try again, one at a time
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        pool, inner = self._submit_shared(fn, args, kwargs)
        outer: Future[Any] = Future()
        # a caller that gives up (a source's deadline) cancels the call while it still waits in the queue; a
        # weak reference, or the two futures would hold each other (and the call's bytes and result) until
        # a full garbage collection: 50 MB more at the peak of a cold run of 1,000 feeds
        outer.add_done_callback(functools.partial(_cancel_waiting, weakref.ref(inner)))
        inner.add_done_callback(lambda done: self._settle(outer, done, pool, fn, args, kwargs))
        return outer

    def start_early(self) -> None:
        """Start the workers now, from a thread, while the run's first requests are in flight. Started by the
        first call instead, they block the event loop until the forkserver has imported the parsers."""
        threading.Thread(target=self._start_workers, name="agg-pool-start", daemon=True).start()

    def _start_workers(self) -> None:
        with contextlib.suppress(RuntimeError):  # the run ended first, and shut the pool down
            for _ in range(self.workers):
                self._submit_shared(os.getpid, (), {})  # each call that finds no idle worker starts one

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True  # an early start still under way must not start a pool now
            pool, alone = self._pool, self._alone
        if alone is not None:
            alone.shutdown(wait=wait, cancel_futures=cancel_futures)
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def _submit_shared(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[ProcessPoolExecutor, Future[Any]]:
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker pool is shut down")
            if self._pool is None:
                self._pool = self._start(self.workers)
            pool = self._pool
        try:
            return pool, pool.submit(fn, *args, **kwargs)
        except BrokenProcessPool:  # broken by a call whose result has not been handled yet
            self._replace(pool)
            return self._submit_shared(fn, args, kwargs)

    def _settle(
        self,
        outer: Future[Any],
        done: Future[Any],
        pool: ProcessPoolExecutor,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        if done.cancelled() or not isinstance(done.exception(), BrokenProcessPool):
            _copy_outcome(done, outer)
            return
        self._replace(pool)
        with self._lock:
            if self._closed:  # a break while the run shuts down: nobody waits for a second try
                alone = None
            elif self._alone is None:
                alone = self._alone = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agg-alone")
            else:
                alone = self._alone
        if alone is None:
            _copy_outcome(done, outer)
        else:
            alone.submit(self._run_alone, outer, fn, args, kwargs)

    def _run_alone(
        self, outer: Future[Any], fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        if outer.cancelled():
            return
        pool = self._start(1)
        try:
            done = pool.submit(fn, *args, **kwargs)
            concurrent.futures.wait([done])
        finally:
            pool.shutdown(wait=True)
        crashed = not done.cancelled() and isinstance(done.exception(), BrokenProcessPool)
        _copy_outcome(_failed(WorkerCrashed()) if crashed else done, outer)

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is not broken or self._closed:
                return  # started again already, by another call of the same break; or the run is over
            self._pool = self._start(self.workers)
        broken.shutdown(wait=False)

    @staticmethod
    def _start(workers: int) -> ProcessPoolExecutor:
        # forkserver: workers fork from a clean process, not from one running an event loop and sockets
        context = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
        if os.name == "posix":
            # the parsers are imported once, in the server, and every worker forks with them loaded
            context.set_forkserver_preload(list(_WORKER_MODULES))
        return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def _cancel_waiting(waiting: weakref.ref[Future[Any]], settled: Future[Any]) -> None:
    call = waiting()
    if settled.cancelled() and call is not None:
        call.cancel()


def _failed(error: BaseException) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_exception(error)
    return future


def _copy_outcome(done: Future[Any], outer: Future[Any]) -> None:
    try:
        if done.cancelled():
            outer.cancel()
        elif (error := done.exception()) is not None:
            outer.set_exception(error)
        else:
            outer.set_result(done.result())
    except concurrent.futures.InvalidStateError:
        pass  # the caller gave up on it meanwhile


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
) -> list[SourceReport]:
    """Fetch `sources` concurrently and store each as it finishes; one report per source, in order."""
    now = now or datetime.now(UTC)
    settings = config.settings
    workers = settings.workers or (os.cpu_count() or 1)
    pool = LazyProcessPool(workers) if workers > 1 else None
    if pool is not None and not store.source_names() >= {source.name for source in sources}:
        pool.start_early()  # a source never fetched before will be parsed; a run of 304s starts no process
    limit = asyncio.Semaphore(max(1, settings.concurrency))

    async def one(source: SourceConfig) -> SourceReport:
        async with limit:
            if on_start is not None:
                on_start(source)
            report = await fetch_one(source, config, store, http, pool, now, force, robots)
            if on_done is not None:
                on_done(report)
            return report

    try:
        async with HttpClient(settings) as http:
            robots = RobotsCache(http, settings.user_agent)
            return list(await asyncio.gather(*(one(s) for s in sources)))
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


async def fetch_one(
    source: SourceConfig,
    config: Config,
    store: Store,
    http: HttpClient,
    pool: Executor | None,
    now: datetime,
    force: bool,
    robots: RobotsCache | None = None,
) -> SourceReport:
    """Fetch, normalise and store one source; every failure becomes an error report, never an exception."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    report = SourceReport(source.name, source.kind, "error")
    row = store.source_state(source.name)
    if not force and row is not None and row.next_try is not None and row.next_try > now and row.error_streak:
        report.error = (
            f"not retried until {row.next_try:%Y-%m-%d %H:%M} UTC after {row.error_streak} failed runs "
            f"(--force tries now); last error: {row.last_error}"
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
        detected_kind=row.detected_kind if row is not None else None,
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
        report.error = str(e)
    except TimeoutError:
        report.error = f"gave up after {config.settings.source_deadline:g} s (the source deadline)"
    except Exception as e:  # a bug or an unforeseen input must not stop the other sources
        report.error = f"internal error: {type(e).__name__}: {e}"
        report.detail = traceback.format_exc()
    report.requests = ctx.requests
    report.warnings = ctx.warnings
    finished = now + timedelta(seconds=loop.time() - started)
    if report.error is not None:
        record = FetchRecord(source.name, now, finished, "error", requests=ctx.requests, error=report.error)
        streak = (row.error_streak if row else 0) + 1
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


def exit_code(reports: Sequence[SourceReport]) -> int:
    """0 when every source worked (or was skipped as unsupported), 1 when any failed."""
    return 1 if any(r.status == "error" for r in reports) else 0
