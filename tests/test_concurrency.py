"""Two `agg fetch` on one database at once: the second exits 3 with a clear message, or waits with --wait.

Never a "database is locked" error or a traceback, from either run or from a reader running meanwhile.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from agg_cli import run_agg, start_agg
from hostile_server import Hostile, good_titles, serve_hostile
from test_hostile import write_config

pytestmark = pytest.mark.e2e

DELAY = 3  # the slow source answers after this many seconds, so the first run holds the lock that long


@pytest.fixture
def server(tmp_path: Path):
    with serve_hostile(str(tmp_path / "none.txt")) as hostile:
        yield hostile


def wait_for_lock_holder(folder: Path, process: subprocess.Popen[str]) -> None:
    """Until the first run has written its pid into the lock file (it holds the lock from then on)."""
    lock = folder / "agg.db.lock"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if lock.exists() and lock.read_text().strip() == str(process.pid):
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    raise AssertionError("the first agg fetch never took the lock")


def configure(folder: Path, server: Hostile) -> None:
    write_config(
        folder,
        server,
        {"slow": f"/slow-ok?delay={DELAY}", "quick": "/good/quick.rss"},
        {"timeout": 10, "deadline": 20, "source_deadline": 30},
    )


def assert_clean(*outputs: str) -> None:
    for text in outputs:
        assert "Traceback" not in text
        assert "database is locked" not in text.lower()


def test_second_fetch_exits_3_with_a_clear_message(tmp_path: Path, server: Hostile) -> None:
    configure(tmp_path, server)
    first = start_agg("fetch", cwd=tmp_path, text=True)
    wait_for_lock_holder(tmp_path, first)
    second = run_agg("fetch", cwd=tmp_path)
    reader = run_agg("sources", cwd=tmp_path)  # reading while the first run writes: fine, no lock error
    out, err = first.communicate(timeout=60)
    assert second.returncode == 3
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "another agg fetch run" in lines[0] and f"pid {first.pid}" in lines[0] and "--wait" in lines[0]
    assert second.stdout == ""
    assert first.returncode == 0, err
    assert reader.returncode == 0, reader.stderr
    assert_clean(second.stderr, second.stdout, out, err, reader.stderr)
    assert server.hits("/slow-ok") == 1  # the refused run fetched nothing


def test_with_wait_both_runs_succeed_one_after_the_other(tmp_path: Path, server: Hostile) -> None:
    configure(tmp_path, server)
    first = start_agg("fetch", cwd=tmp_path, text=True)
    wait_for_lock_holder(tmp_path, first)
    second = run_agg("fetch", "--wait", "30", cwd=tmp_path)
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert second.returncode == 0, second.stderr
    assert_clean(second.stderr, second.stdout, out, err)
    assert "slow: new (4 new" in out
    assert "0 new posts" in second.stdout  # the second saw what the first stored
    conn = sqlite3.connect(tmp_path / "agg.db")
    titles = sorted(row[0] for row in conn.execute("SELECT title FROM posts"))
    assert titles == sorted(good_titles("slow-ok") + good_titles("quick"))
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_wait_gives_up_with_exit_3(tmp_path: Path, server: Hostile) -> None:
    configure(tmp_path, server)
    first = start_agg("fetch", cwd=tmp_path, text=True)
    wait_for_lock_holder(tmp_path, first)
    started = time.monotonic()
    second = run_agg("fetch", "--wait", "0.5", cwd=tmp_path)
    waited = time.monotonic() - started
    first.communicate(timeout=60)
    assert second.returncode == 3 and "another agg fetch run" in second.stderr
    assert waited < DELAY + 5  # gave up after its --wait, did not sit out the whole first run
    assert_clean(second.stderr)


def test_many_fetches_at_once_never_see_a_locked_database(tmp_path: Path, server: Hostile) -> None:
    write_config(tmp_path, server, {f"feed-{i}": f"/good/f{i}.rss" for i in range(5)})
    runs = [start_agg("fetch", "--wait", "60", cwd=tmp_path, text=True) for _ in range(4)]
    results = [(p.communicate(timeout=120), p.returncode) for p in runs]
    for (out, err), code in results:
        assert code == 0, err
        assert_clean(out, err)
    conn = sqlite3.connect(tmp_path / "agg.db")
    assert conn.execute("SELECT count(*), count(DISTINCT url_key) FROM posts").fetchone() == (20, 20)


def test_sources_that_changed_nothing_are_committed_while_a_slow_one_is_still_out(
    tmp_path: Path, server: Hostile
) -> None:
    # a run commits the sources that changed nothing together, but within a second: a reader sees them, and a
    # writer (agg search brings its index up to date) never waits for the whole run
    configure(tmp_path, server)
    assert run_agg("fetch", cwd=tmp_path).returncode == 0
    conn = sqlite3.connect(tmp_path / "agg.db")
    before = dict(conn.execute("SELECT name, last_fetch FROM sources"))
    second = start_agg("fetch", cwd=tmp_path, text=True)
    wait_for_lock_holder(tmp_path, second)
    time.sleep(DELAY / 2)
    during = dict(conn.execute("SELECT name, last_fetch FROM sources"))
    search = run_agg("search", "quick", cwd=tmp_path)
    search_done_first = second.poll() is None
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert during["quick"] != before["quick"]  # the quick source's second run, committed mid-run
    assert during["slow"] == before["slow"]  # still out
    assert search.returncode == 0, search.stderr
    assert search_done_first
    assert_clean(out, err, search.stderr)
    after = dict(conn.execute("SELECT name, last_fetch FROM sources"))
    assert after["slow"] != before["slow"]  # the end of the run commits the rest
