"""The worker processes that parse and normalise, off the event loop, on every core.

A ProcessPoolExecutor on the forkserver, started on first use (or early, from a thread), with the parsers
imported once in the server; a worker that dies costs only the call that killed it. Where no process can be
started at all, the calls run in a thread of this process instead, and the run is told once.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import os
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Executor, Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from aggregator.errors import WorkerCrashed, WorkersDying

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing.process import BaseProcess

# what the worker functions live in (parsers, extractors, normalising), for the forkserver to preload
_WORKER_MODULES = (
    "aggregator.sources.feed",
    "aggregator.sources.site",
    "aggregator.sources.hackmd",
    "aggregator.normalize",
    "feedparser",
    "dateutil.parser",  # aggregator.dates imports it on the first date it cannot read itself
)


# fresh workers in a row that die before a trivial call: they die as they start (a memory limit below what
# a worker needs, a broken native library), whatever they are given; a hostile feed kills only its own call
_DEAD_STARTS = 3
_BREAK_GRACE = 5.0  # seconds a broken pool's own thread has to fail the calls it held, before agg does


class LazyProcessPool(Executor):
    """A process pool started on first use (or early, by `start_early`), so a run where everything answers
    304 starts no process.

    A worker that dies (a native parser crashing on hostile bytes, the OOM killer) breaks a
    ProcessPoolExecutor for every call in it and after it. Here the pool is started again for new calls,
    and each call the break caught is run once more alone, in a process of its own, one at a time: the
    call that dies there fails with WorkerCrashed, and the others get their results.

    Before a second try, the fresh process runs a trivial call first. When _DEAD_STARTS fresh processes in
    a row die on it, workers die whatever they are given: every call from then on fails at once with
    WorkersDying, and the run is told once (second tries for 1,000 sources, one at a time, took minutes to
    fail them all the same).
    """

    def __init__(self, workers: int, *, on_unavailable: Callable[[str], None] | None = None) -> None:
        self.workers = workers
        # told once, with the reason, when the calls run in this process, or when workers die as they start
        self.on_unavailable = on_unavailable
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()  # the pool is swapped from the pool's own result thread
        self._alone: ThreadPoolExecutor | None = None  # runs the calls to try again, one at a time
        self._inline: ThreadPoolExecutor | None = None  # runs every call once no process can be started
        self._closed = False
        self._dead_starts = 0  # fresh processes in a row that died before a trivial call
        self._dying: str | None = None  # why calls fail at once, when workers die as they start
        # the calls sent to each shared pool, so that a break settles every one of them (see _settle_left)
        self._sent: weakref.WeakKeyDictionary[ProcessPoolExecutor, weakref.WeakSet[Future[Any]]]
        self._sent = weakref.WeakKeyDictionary()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if self._dying is not None:
            failed: Future[Any] = Future()
            failed.set_exception(WorkersDying(self._dying))
            return failed
        try:
            pool, inner = self._submit_shared(fn, args, kwargs)
        except _CannotStart as e:
            return self._run_inline(e.reason).submit(fn, *args, **kwargs)
        outer: Future[Any] = Future()
        # a caller that gives up (a source's deadline) cancels the call while it still waits in the queue; a
        # weak reference, or the two futures would hold each other (and the call's bytes and result) until
        # a full garbage collection: 50 MB more at the peak of a cold run of 1,000 feeds
        outer.add_done_callback(functools.partial(_cancel_waiting, weakref.ref(inner)))
        inner.add_done_callback(lambda done: self._settle(outer, done, pool, fn, args, kwargs))
        return outer

    def start_early(self) -> None:
        """Start the workers now, from a thread, while the run's first requests are in flight: the forkserver
        imports the parsers meanwhile. The first call still waits until it is ready (170-190 ms in a cold run);
        started by that call instead, the event loop would wait for the whole import."""
        threading.Thread(target=self._start_workers, name="agg-pool-start", daemon=True).start()

    def _start_workers(self) -> None:
        with contextlib.suppress(RuntimeError):  # the run ended first, and shut the pool down
            try:
                for _ in range(self.workers):
                    self._submit_shared(os.getpid, (), {})  # each call that finds no idle worker starts one
            except _CannotStart as e:
                self._run_inline(e.reason)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True  # an early start still under way must not start a pool now
            pool, alone, inline = self._pool, self._alone, self._inline
        for threads in (alone, inline):
            if threads is not None:
                threads.shutdown(wait=wait, cancel_futures=cancel_futures)
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def _submit_shared(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[ProcessPoolExecutor, Future[Any]]:
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker pool is shut down")
            if self._inline is not None:
                raise _CannotStart("")  # known already: no new try for every call
            if self._pool is None:
                self._pool = self._start(self.workers)
            pool = self._pool
        try:
            inner = _launch(pool, fn, args, kwargs)
        except BrokenExecutor:  # broken by a call whose result has not been handled yet
            self._replace(pool)
            return self._submit_shared(fn, args, kwargs)
        except _CannotStart:
            with self._lock:
                replaced = self._pool is not pool and self._pool is not None
            if replaced:  # it broke as the call went in, and was closing its pipes (CPython 3.11): not a start
                return self._submit_shared(fn, args, kwargs)
            raise
        with self._lock:
            self._sent.setdefault(pool, weakref.WeakSet()).add(inner)
        return pool, inner

    def _run_inline(self, reason: str) -> ThreadPoolExecutor:
        """The thread that runs the calls from now on; the first time, the run is told why."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker pool is shut down")
            first = self._inline is None
            if first:
                self._inline = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agg-inline")
            inline, pool, self._pool = self._inline, self._pool, None
        if first:
            if pool is not None:  # the calls it holds still run in the workers it has, if any
                pool.shutdown(wait=False)
            if self.on_unavailable is not None:
                self.on_unavailable(f"no worker process could be started ({reason}); parsing in this process")
        assert inline is not None
        return inline

    def _settle(
        self,
        outer: Future[Any],
        done: Future[Any],
        pool: ProcessPoolExecutor,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        if not _broke(done):
            _copy_outcome(done, outer)
            return
        self._replace(pool)
        alone = self._alone_runner()
        if self._dying is not None:
            _copy_outcome(done, outer, error=WorkersDying(self._dying))
        elif alone is None:  # a break while the run shuts down: nobody waits for a second try
            _copy_outcome(done, outer)
        else:
            alone.submit(self._run_alone, outer, fn, args, kwargs)

    def _alone_runner(self) -> ThreadPoolExecutor | None:
        """The thread that runs second tries one at a time, started at the first break; None once shut down."""
        with self._lock:
            if self._alone is None and not self._closed:
                self._alone = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agg-alone")
            return None if self._closed else self._alone

    def _run_alone(
        self, outer: Future[Any], fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        if outer.cancelled():
            return
        try:
            while True:
                if self._dying is not None:
                    outer.set_exception(WorkersDying(self._dying))
                    return
                pool = self._start(1)
                try:
                    if self._starts_a_worker(pool):
                        done = _launch(pool, fn, args, kwargs)
                        concurrent.futures.wait([done])
                        break
                finally:
                    pool.shutdown(wait=True)
        except _CannotStart as e:  # not run in this process instead: it may be what killed the worker
            outer.set_exception(WorkerCrashed(f"no process could be started to try it again: {e.reason}"))
            return
        _copy_outcome(done, outer, error=WorkerCrashed() if _broke(done) else None)

    def _starts_a_worker(self, pool: ProcessPoolExecutor) -> bool:
        """Whether a fresh process lives through a trivial call; after _DEAD_STARTS in a row that do not,
        workers are known to die as they start, and the run is told."""
        probe = _launch(pool, os.getpid, (), {})
        concurrent.futures.wait([probe])
        if not _broke(probe):
            self._dead_starts = 0
            return True
        self._dead_starts += 1  # only the one thread that runs second tries counts
        if self._dead_starts >= _DEAD_STARTS:
            self._dying = f"worker processes die as they start ({self._dead_starts} in a row before a trivial call)"
            if self.on_unavailable is not None:
                self.on_unavailable(f"{self._dying}; nothing more is parsed in this run")
        return False

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is not broken or self._closed:
                return  # started again already, by another call of the same break; or the run is over
            try:
                self._pool = self._start(self.workers) if self._dying is None else None
            except _CannotStart:
                self._pool = None  # the next call tries again, and runs in this process if it cannot either
            sent = self._sent.setdefault(broken, weakref.WeakSet())  # a call sent during the break joins it
        workers = list((getattr(broken, "_processes", None) or {}).values())  # no public list; shutdown drops it
        broken.shutdown(wait=False)
        threading.Thread(target=_settle_left, args=(sent, workers), name="agg-pool-break", daemon=True).start()

    @staticmethod
    def _start(workers: int) -> ProcessPoolExecutor:
        import multiprocessing  # with the process pool's module, 11 ms that a run of 304s need not pay
        from concurrent.futures import ProcessPoolExecutor

        # forkserver: workers fork from a clean process, not from one running an event loop and sockets
        context = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
        if os.name == "posix":
            # the parsers are imported once, in the server, and every worker forks with them loaded
            context.set_forkserver_preload(list(_WORKER_MODULES))
        try:
            return ProcessPoolExecutor(max_workers=workers, mp_context=context)
        except (OSError, NotImplementedError) as e:  # no semaphores (/dev/shm), no pipes: no pool at all
            raise _CannotStart(_reason(e)) from e


def _launch(
    pool: ProcessPoolExecutor, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Future[Any]:
    """`pool.submit`, which starts a worker process when one is missing."""
    try:
        return pool.submit(fn, *args, **kwargs)
    except OSError as e:  # fork, the forkserver's socket or its file descriptors failed
        raise _CannotStart(_reason(e)) from e


class _CannotStart(Exception):
    """No worker process can be started here."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _settle_left(sent: weakref.WeakSet[Future[Any]], workers: list[BaseProcess]) -> None:
    """Do what a broken pool's own thread left undone: fail its calls, so that each gets its second try, and
    stop its workers. CPython 3.11's pool thread dies while it fails the calls when one more is sent meanwhile
    ("dictionary changed size during iteration"): those calls would wait forever, and its live workers would
    keep agg from exiting (multiprocessing joins them at exit)."""
    from concurrent.futures.process import BrokenProcessPool

    concurrent.futures.wait(list(sent), timeout=_BREAK_GRACE)
    left = [call for call in list(sent) if not call.done()]  # a call that joined meanwhile counts as well
    if not left:
        return  # the pool's thread did it all, its workers included
    for call in left:
        with contextlib.suppress(concurrent.futures.InvalidStateError):  # the pool's thread settled it meanwhile
            call.set_exception(BrokenProcessPool("the worker pool broke and left this call unsettled"))
    for process in workers:
        process.terminate()


def _cancel_waiting(waiting: weakref.ref[Future[Any]], settled: Future[Any]) -> None:
    call = waiting()
    if settled.cancelled() and call is not None:
        call.cancel()


def _broke(done: Future[Any]) -> bool:
    """Whether the call's pool broke under it (a worker died), rather than the call returning or raising."""
    return not done.cancelled() and isinstance(done.exception(), BrokenExecutor)  # a process pool's: BrokenProcessPool


def _copy_outcome(done: Future[Any], outer: Future[Any], *, error: BaseException | None = None) -> None:
    """Settle `outer` as `done` ended, or with `error` instead."""
    try:
        if error is None and done.cancelled():
            outer.cancel()
        elif (error := error or done.exception()) is not None:
            outer.set_exception(error)
        else:
            outer.set_result(done.result())
    except concurrent.futures.InvalidStateError:
        pass  # the caller gave up on it meanwhile
