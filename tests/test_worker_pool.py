"""The worker pool survives a worker that dies: only the call that killed it fails, and the run goes on."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import time
import weakref
from concurrent.futures import CancelledError, Future, wait
from pathlib import Path

import pytest

from aggregator.errors import SourceError, WorkerCrashed
from aggregator.pipeline import LazyProcessPool

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
