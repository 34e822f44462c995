"""The HackMD source against the shared mock profile served by serve-corpus (skipped when they are absent)."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.config import Settings, SourceConfig
from aggregator.http_client import HttpClient, Validator
from aggregator.models import KnownPost, Post, SourceOutput
from aggregator.normalize import normalize_post
from aggregator.sources import auto, hackmd
from aggregator.sources.base import SourceContext
from aggregator.urls import url_key

SHARED = Path(__file__).resolve().parents[2] / "shared"
MOCK = SHARED / "hackmd-mock"
SERVE = SHARED / "tools" / "serve-corpus"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.skipif(not (MOCK.is_dir() and SERVE.exists()), reason="shared HackMD mock not available")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def mock_copy(tmp_path: Path) -> Path:
    """A writable copy of the mock, so a test can move a note's last-change time."""
    target = tmp_path / "hackmd-mock"
    shutil.copytree(MOCK, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return target


@pytest.fixture
def server(mock_copy: Path, tmp_path: Path) -> Iterator[str]:
    """serve-corpus on a free port; yields the origin of its HackMD mock."""
    ready = tmp_path / "ready"
    process = subprocess.Popen(
        [str(SERVE), "--hackmd", str(mock_copy), "--port-base", str(free_port()), "--ready-file", str(ready)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not ready.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.skip("serve-corpus did not start")
            time.sleep(0.05)
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"hackmd (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)


class Store:
    """What the database would hold between runs: known posts and validators."""

    def __init__(self) -> None:
        self.known: dict[str, KnownPost] = {}
        self.validators: dict[str, Validator] = {}

    async def fetch(self, url: str, kind: str = "hackmd") -> tuple[SourceOutput, SourceContext]:
        settings = Settings()
        async with HttpClient(settings) as http:
            source = SourceConfig(name="tsen", url=url, kind=kind)  # type: ignore[arg-type]
            ctx = SourceContext(source, settings, http, NOW, known=dict(self.known), validators=dict(self.validators))
            output = await (auto.fetch(ctx) if kind == "auto" else hackmd.fetch(ctx))
        for post in self.normalised(output):
            self.known[url_key(post.canonical_url)] = KnownPost(
                post.url, post.canonical_url, post.updated, post.content_hash, post.complete
            )
        self.validators.update(ctx.new_validators)
        return output, ctx

    @staticmethod
    def normalised(output: SourceOutput) -> list[Post]:
        return [normalize_post(raw, "tsen", NOW) for raw in output.posts]


def formulas(markdown: str) -> list[str]:
    """Every `$…$` and `$$…$$` of a note outside code, as the text of a post shows them."""
    body = re.sub(r"```.*?```", "", markdown, flags=re.DOTALL)
    body = re.sub(r"`[^`\n]*`", "", body)
    display = [f"$${m.strip()}$$" for m in re.findall(r"\$\$(.+?)\$\$", body, flags=re.DOTALL)]
    rest = re.sub(r"\$\$(.+?)\$\$", "", body, flags=re.DOTALL)
    return display + [f"${m.strip()}$" for m in re.findall(r"\$([^$\n]+?)\$", rest)]


@pytest.mark.parametrize("kind", ["hackmd", "auto"])
def test_mock_profile_end_to_end(server: str, mock_copy: Path, kind: str) -> None:
    store = Store()
    output, ctx = asyncio.run(store.fetch(f"{server}/@tsen159", kind))
    overview = json.loads((mock_copy / "profiles" / "tsen159.json").read_text(encoding="utf-8"))
    posts = {post.guid: post for post in store.normalised(output)}
    assert output.detected_kind == "hackmd"
    assert len(output.posts) == len(posts) == 18
    assert ctx.requests == 19
    assert ctx.warnings == []
    for note in overview["notes"]:
        post = posts[note["id"]]
        assert post.title == note["title"]
        assert post.author == "Tsen"
        assert post.published is not None and post.updated is not None
        assert set(note["tags"]) <= set(post.tags)
        assert post.url == f"{server}/@tsen159/{note['permalink'] or note['shortId']}"
        markdown = (mock_copy / "notes" / f"{note['id']}.md").read_text(encoding="utf-8")
        for tex in formulas(markdown):
            assert tex in post.content_text, (post.title, tex)
        for leftover in ("**", "![", "](", "=450x", "[TOC]", ":::", "{%", "==", "# "):
            assert leftover not in post.summary, (post.title, post.summary)


def test_mock_profile_incremental(server: str, mock_copy: Path) -> None:
    store = Store()
    asyncio.run(store.fetch(f"{server}/@tsen159"))
    second, ctx = asyncio.run(store.fetch(f"{server}/@tsen159/"))
    assert ctx.requests == 1  # the overview only
    assert second.posts == []
    profile_path = mock_copy / "profiles" / "tsen159.json"
    data = json.loads(profile_path.read_text(encoding="utf-8"))
    changed = data["notes"][3]
    changed["lastchangeAt"] += 60_000
    profile_path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    third, ctx = asyncio.run(store.fetch(f"{server}/@tsen159"))
    assert ctx.requests == 2  # the overview and the one changed note
    assert [post.guid for post in third.posts] == [changed["id"]]
    assert len(third.unchanged_urls) == 17
