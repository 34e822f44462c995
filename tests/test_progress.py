"""A terminal gets a live progress bar; a pipe (cron) gets only plain, parseable lines."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
from pathlib import Path

import pytest
from agg_cli import AGG, agg_env, run_agg, write_feeds_toml
from fixture_server import serve

DATA = Path(__file__).parent / "data" / "e2e"


def config(folder: Path, base: str) -> None:
    sources = {name: f"{base}{name}" for name in ("notes.rss", "blog.atom", "dupes.rss")}
    write_feeds_toml(folder, sources, {"database": "agg.db", "retries": 0})


def read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.skipif(not hasattr(pty, "openpty"), reason="needs a pseudo-terminal")
def test_terminal_shows_a_progress_bar_and_every_source_line(tmp_path: Path) -> None:
    shutil.copytree(DATA, tmp_path / "site")
    with serve(tmp_path / "site") as served:
        config(tmp_path, served.base)
        main, child = pty.openpty()
        env = agg_env({"COLUMNS": "120", "TERM": "xterm"})
        process = subprocess.Popen([*AGG, "fetch"], cwd=tmp_path, stdin=child, stdout=child, stderr=child, env=env)
        os.close(child)
        output = read_all(main).decode("utf-8", "replace")
        assert process.wait(timeout=60) == 0
        os.close(main)
    assert "\x1b[" in output  # the live display draws with terminal escapes
    assert "fetching" in output and "grouping posts into stories" in output  # a spinner while stories regroup
    for name in ("notes.rss", "blog.atom", "dupes.rss"):
        assert f"{name}: new" in output
    assert "3 sources:" in output


def test_a_pipe_gets_plain_lines_only(tmp_path: Path) -> None:
    shutil.copytree(DATA, tmp_path / "site")
    with serve(tmp_path / "site") as served:
        config(tmp_path, served.base)
        result = run_agg("fetch", cwd=tmp_path)
    assert result.returncode == 0
    assert "\x1b[" not in result.stdout and "\x1b[" not in result.stderr
    assert "grouping" not in result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 4 and lines[-1].startswith("3 sources: ")
    assert all(line.split(":")[0] in ("notes.rss", "blog.atom", "dupes.rss") for line in lines[:3])
