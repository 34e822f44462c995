"""The worker pool survives a worker that dies: only the call that killed it fails, and the run goes on."""

from __future__ import annotations

import asyncio
import concurrent.futures
import concurrent.futures.process
import errno
import gc
import os
import signal
import subprocess
import sys
import threading
import time
import weakref
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest
from agg_cli import agg_env, write_feeds_toml
from fixture_server import serve

from aggregator.config import load_config
from aggregator.errors import SourceError, WorkerCrashed, WorkersDying
from aggregator.pipeline import run_fetch
from aggregator.store import Store
from aggregator.workers import LazyProcessPool

pytestmark = pytest.mark.skipif(os.name != "posix", reason="kills a worker with a POSIX signal")


def twice(value: int) -> int:
    """A worker function; a negative value dies as a native parser crashing on hostile bytes would."""
    if value < 0:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.05)  # a few calls are in the pool together when one dies
    return 2 * value


def touch(path: str) -> None:
    Path(path).write_text("ran")


class Payload:
    """A picklable argument that can be watched with a weak reference (bytes cannot)."""

    def __init__(self, size: int) -> None:
        self.data = b"x" * size


def size_of(payload: Payload) -> int:
    return len(payload.data)


def outcome(future: Future[int]) -> int | str:
    try:
        return future.result(timeout=0)
    except WorkerCrashed:
        return "crashed"


def test_a_dying_worker_fails_only_its_own_call() -> None:
    pool = LazyProcessPool(2)
    try:
        futures = [pool.submit(twice, value) for value in (1, 2, 3, -1, 4, 5, 6, 7)]
        _, waiting = wait(futures, timeout=120)
        assert not waiting
        # the calls the break caught in the pool ran again, alone, and got their results
        assert [outcome(f) for f in futures] == [2, 4, 6, "crashed", 8, 10, 12, 14]
        assert pool.submit(twice, 21).result(timeout=60) == 42  # the pool was started again
        # a second crash is handled as the first
        again = [pool.submit(twice, value) for value in (-5, 8)]
        wait(again, timeout=120)
        assert [outcome(f) for f in again] == ["crashed", 16]
    finally:
        pool.shutdown()


def test_a_crash_reaches_the_event_loop_as_a_source_error() -> None:
    pool = LazyProcessPool(2)

    async def run(value: int) -> int:
        return await asyncio.get_running_loop().run_in_executor(pool, twice, value)  # as SourceContext.run_cpu

    try:
        with pytest.raises(SourceError) as raised:
            asyncio.run(run(-1))
        assert isinstance(raised.value, WorkerCrashed)
        assert "\n" not in str(raised.value) and "other sources went on" in str(raised.value)
        assert asyncio.run(run(4)) == 8
    finally:
        pool.shutdown()


def test_a_call_given_up_while_queued_never_runs(tmp_path: Path) -> None:
    pool = LazyProcessPool(2)
    marker = tmp_path / "ran"
    try:
        busy = [pool.submit(twice, value) for value in range(8)]  # more than the pool takes in at once
        queued = pool.submit(touch, str(marker))
        assert queued.cancel()
        wait(busy, timeout=120)
        assert [f.result() for f in busy] == [2 * value for value in range(8)]
        with pytest.raises(CancelledError):
            queued.result(timeout=0)
    finally:
        pool.shutdown()
    assert not marker.exists()


def test_a_finished_call_keeps_nothing_alive() -> None:
    # a feed's bytes and posts must be freed when its call is done, not at the next full garbage collection
    pool = LazyProcessPool(2)
    gc.disable()
    try:
        payload = Payload(1000)
        watched = weakref.ref(payload)
        future = pool.submit(size_of, payload)
        assert future.result(timeout=60) == 1000
        del payload, future
        assert pool.submit(size_of, Payload(1)).result(timeout=60) == 1  # the pool's threads move on
        assert watched() is None
    finally:
        gc.enable()
        pool.shutdown()


RSS = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://blog.test/</link>'
    "<item><title>Attention</title><link>https://blog.test/a/</link><description>notes</description></item>"
    "</channel></rss>"
)


def test_workers_start_early_for_a_new_source_and_never_for_a_run_of_304s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[LazyProcessPool] = []

    def start_early(pool: LazyProcessPool) -> None:
        started.append(pool)

    monkeypatch.setattr(LazyProcessPool, "start_early", start_early)
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "feed.xml").write_text(RSS, encoding="utf-8")
    with serve(tmp_path / "site") as served:
        config = load_config(write_feeds_toml(tmp_path, {"one": served.url("feed.xml")}, {"workers": 2}))
        store = Store.open(tmp_path / "agg.db")
        try:
            first = asyncio.run(run_fetch(config, store, config.sources))
            assert [(r.status, r.new) for r in first] == [("new", 1)]
            assert len(started) == 1  # a source never fetched: its feed will be parsed
            again = asyncio.run(run_fetch(config, store, config.sources))
            assert [r.status for r in again] == ["unchanged"]
            assert len(started) == 1  # every source known: a run of 304s starts no process
        finally:
            store.close()


def running_workers(pool: LazyProcessPool) -> int:
    # ProcessPoolExecutor lists its processes nowhere public
    processes = getattr(pool._pool, "_processes", None) or {}
    return sum(1 for process in list(processes.values()) if process.is_alive())


def test_calls_a_broken_pool_leaves_unsettled_are_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # CPython 3.11's pool thread can die while it fails the calls of a broken pool (a call sent meanwhile
    # changes the dict it walks): here the first break fails one of them, then stops, as that thread does
    manager = concurrent.futures.process._ExecutorManagerThread
    real = manager.terminate_broken
    broken: list[int] = []

    def dies_failing_them(self: Any, cause: Any) -> None:
        if broken:
            return real(self, cause)
        broken.append(1)
        executor = self.executor_reference()
        executor._broken = "a worker died"  # as the real one sets first: nothing more is sent to it
        executor._shutdown_thread = True
        first = next(iter(self.pending_work_items.values()))
        first.future.set_exception(BrokenProcessPool("a worker died"))
        return None  # and the rest wait

    monkeypatch.setattr(manager, "terminate_broken", dies_failing_them)
    pool = LazyProcessPool(2)
    try:
        futures = [pool.submit(twice, value) for value in (1, 2, 3, -1, 4, 5, 6, 7)]
        _, waiting = wait(futures, timeout=60)
        assert broken and not waiting
        assert [outcome(f) for f in futures] == [2, 4, 6, "crashed", 8, 10, 12, 14]
    finally:
        pool.shutdown()


def test_start_early_starts_the_workers_without_a_call() -> None:
    pool = LazyProcessPool(2)
    try:
        assert running_workers(pool) == 0
        pool.start_early()
        deadline = time.monotonic() + 60
        while running_workers(pool) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert running_workers(pool) == 2
        assert pool.submit(twice, 3).result(timeout=60) == 6
    finally:
        pool.shutdown()


def test_an_early_start_after_the_end_of_the_run_starts_nothing() -> None:
    pool = LazyProcessPool(2)
    pool.shutdown()
    pool.start_early()  # its thread finds the pool shut down
    time.sleep(0.5)
    assert pool._pool is None
    with pytest.raises(RuntimeError):
        pool.submit(twice, 1)


def test_a_crash_at_the_end_of_the_run_leaves_nothing_running() -> None:
    pool = LazyProcessPool(2)
    future = pool.submit(twice, -1)
    pool.shutdown()  # the break reaches the pool before or after this: either way the call is settled
    assert isinstance(future.exception(timeout=60), WorkerCrashed | BrokenProcessPool)
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("agg-alone")]


def refuse(*args: object, **kwargs: object) -> None:
    raise OSError(errno.EMFILE, "Too many open files")


def pid() -> int:
    return os.getpid()


def test_calls_run_in_this_process_when_no_worker_pool_can_be_made(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", refuse)  # no semaphores, pipes or descriptors left
    notices: list[str] = []
    pool = LazyProcessPool(2, on_unavailable=notices.append)
    try:
        assert [pool.submit(twice, value).result(timeout=60) for value in (1, 2, 3)] == [2, 4, 6]
        assert pool.submit(pid).result(timeout=60) == os.getpid()
    finally:
        pool.shutdown()
    # told once, in one line, with the reason
    assert notices == [
        "no worker process could be started (OSError: [Errno 24] Too many open files); parsing in this process"
    ]
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("agg-inline")]


def test_calls_run_in_this_process_when_no_worker_can_be_forked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ProcessPoolExecutor, "submit", refuse)  # the pool is made; starting a worker fails
    notices: list[str] = []
    pool = LazyProcessPool(2, on_unavailable=notices.append)
    try:
        assert pool.submit(twice, 5).result(timeout=60) == 10
        assert pool.submit(pid).result(timeout=60) == os.getpid()
        assert pool._pool is None  # the pool that could not start a worker is let go
    finally:
        pool.shutdown()
    assert len(notices) == 1 and "Too many open files" in notices[0]


def test_an_early_start_that_cannot_fork_tells_the_run_and_raises_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", refuse)
    uncaught: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", uncaught.append)
    notices: list[str] = []
    pool = LazyProcessPool(2, on_unavailable=notices.append)
    try:
        pool.start_early()
        deadline = time.monotonic() + 60
        while not notices and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pool.submit(twice, 4).result(timeout=60) == 8
    finally:
        pool.shutdown()
    assert len(notices) == 1 and not uncaught  # no traceback from the starting thread


def test_a_second_try_with_no_process_to_run_in_fails_its_call_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = LazyProcessPool(2)
    try:
        assert pool.submit(twice, 1).result(timeout=60) == 2
        monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", refuse)
        # the crash breaks the pool; neither a new pool nor the second try alone can start a process
        crashed = pool.submit(twice, -1)
        error = crashed.exception(timeout=120)
        assert isinstance(error, WorkerCrashed)
        assert "no process could be started to try it again" in str(error) and "\n" not in str(error)
    finally:
        pool.shutdown()


FETCH_WITHOUT_PROCESSES = """
import concurrent.futures

def refuse(*args, **kwargs):
    raise OSError(11, "Resource temporarily unavailable")  # fork() failing with EAGAIN

concurrent.futures.ProcessPoolExecutor = refuse  # what agg starts its workers with
from aggregator.cli import main
main()
"""


def test_fetch_goes_on_in_one_process_when_the_system_refuses_workers(tmp_path: Path) -> None:
    # the real CLI and a real HTTP server; only the operating system's answer is replaced
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "feed.xml").write_text(RSS, encoding="utf-8")
    with serve(tmp_path / "site") as served:
        config = write_feeds_toml(tmp_path, {"one": served.url("feed.xml"), "two": served.url("feed.xml?2")}, {})
        done = subprocess.run(
            [sys.executable, "-c", FETCH_WITHOUT_PROCESSES, "fetch", "--config", str(config), "-q"],
            cwd=tmp_path, env=agg_env(), capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "agg: warning: no worker process could be started "
        "(BlockingIOError: [Errno 11] Resource temporarily unavailable); parsing in this process"
    ]
    store = Store.open(tmp_path / "agg.db")
    try:
        assert [post.title for post in store.posts()] == ["Attention"]  # one post, though two sources list it
    finally:
        store.close()


def test_workers_that_die_as_they_start_fail_every_call_at_once_and_tell_the_run_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[int] = []
    real = ProcessPoolExecutor

    def aborting(*args: object, **kwargs: object) -> object:
        made.append(1)
        return real(*args, initializer=os.abort, **kwargs)  # type: ignore[misc, arg-type]  # every worker dies first

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", aborting)
    notices: list[str] = []
    pool = LazyProcessPool(2, on_unavailable=notices.append)
    try:
        futures = [pool.submit(twice, value) for value in range(1, 25)]
        _, waiting = wait(futures, timeout=120)
        assert not waiting
        errors = [f.exception(timeout=0) for f in futures]
        assert all(isinstance(e, WorkerCrashed | WorkersDying) for e in errors)
        assert sum(isinstance(e, WorkersDying) for e in errors) >= 12  # most never wait for a second try
        later = pool.submit(twice, 5)
        assert later.done() and isinstance(later.exception(), WorkersDying)  # no new process for it
    finally:
        pool.shutdown()
    assert len(made) < 24  # a second try alone for each call would start a process for each
    assert notices == ["worker processes die as they start (3 in a row before a trivial call); nothing more is "
                       "parsed in this run"]  # fmt: skip
    assert str(errors[-1]) == "not parsed: worker processes die as they start (3 in a row before a trivial call)"


FETCH_WITH_DYING_WORKERS = """
import concurrent.futures, functools, os

concurrent.futures.ProcessPoolExecutor = functools.partial(concurrent.futures.ProcessPoolExecutor, initializer=os.abort)
from aggregator.cli import main
main()
"""


def test_fetch_with_workers_that_die_as_they_start_fails_each_source_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "feed.xml").write_text(RSS, encoding="utf-8")
    with serve(tmp_path / "site") as served:
        sources = {f"s{n}": served.url(f"feed.xml?{n}") for n in range(30)}
        config = write_feeds_toml(tmp_path, sources, {})
        done = subprocess.run(
            [sys.executable, "-c", FETCH_WITH_DYING_WORKERS, "fetch", "--config", str(config), "-q"],
            cwd=tmp_path, env=agg_env(), capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert "Traceback" not in done.stderr
    warning = "agg: warning: worker processes die as they start (3 in a row before a trivial call); nothing more"
    assert [line for line in lines if line.startswith("agg: warning")] == [f"{warning} is parsed in this run"]
    failed = [line for line in lines if line.startswith("s")]
    assert len(failed) == 30
    assert sum("not parsed: worker processes die as they start" in line for line in failed) >= 15
