"""Encodings end to end: feeds and pages in GBK, GB18030, Big5, Shift_JIS, EUC-KR with no declaration, and UTF-8
with a wrong declaration, fetched by the real CLI from tests/hostile_server.py; stored titles compared exactly."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from agg_cli import run_agg
from hostile_server import ENCODED, ENCODED_BODIES, Hostile, serve_hostile
from test_hostile import write_config

pytestmark = pytest.mark.e2e

KEYS = sorted(ENCODED)


@pytest.fixture(scope="module")
def fetched(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("encodings")
    with serve_hostile(str(folder / "none.txt")) as server:
        write_config(
            folder, server, {f"feed-{key}": f"/enc/{key}.rss" for key in KEYS}, {"deadline": 10, "source_deadline": 30}
        )
        result = run_agg("fetch", cwd=folder)
        yield folder, server, result


def _posts(folder: Path, source: str) -> list[tuple[str, str]]:
    conn = sqlite3.connect(folder / "agg.db")
    try:
        return list(conn.execute("SELECT title, content_text FROM posts WHERE source = ? ORDER BY url", [source]))
    finally:
        conn.close()


def test_the_run_succeeds(fetched: tuple[Path, Hostile, object]) -> None:
    _, _, result = fetched
    assert result.returncode == 0, result.stderr  # type: ignore[attr-defined]


@pytest.mark.parametrize("key", KEYS)
def test_feed_titles_and_bodies_decode_exactly(fetched: tuple[Path, Hostile, object], key: str) -> None:
    folder, _, _ = fetched
    posts = _posts(folder, f"feed-{key}")
    assert [title for title, _ in posts] == ENCODED[key][3]
    for i, (_, text) in enumerate(posts, 1):
        assert text == f"{ENCODED_BODIES[key]} ({i})"


@pytest.mark.parametrize("key", KEYS)
def test_feed_encodings_survive_export(fetched: tuple[Path, Hostile, object], key: str) -> None:
    folder, _, _ = fetched
    out = run_agg("export", "--format", "json", "--limit", "0", "--source", f"feed-{key}", cwd=folder)
    assert out.returncode == 0
    for title in ENCODED[key][3]:
        assert title in out.stdout


@pytest.mark.parametrize("key", KEYS)
def test_html_pages_without_charset_decode_exactly(tmp_path: Path, key: str) -> None:
    with serve_hostile(str(tmp_path / "none.txt")) as server:
        write_config(
            tmp_path, server, {f"site-{key}": f"/pages/{key}/"}, {"deadline": 10, "source_deadline": 30}, kind="html"
        )
        result = run_agg("fetch", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    posts = _posts(tmp_path, f"site-{key}")
    assert sorted(title for title, _ in posts) == sorted(ENCODED[key][3])
    for _, text in posts:
        assert ENCODED_BODIES[key] in text
