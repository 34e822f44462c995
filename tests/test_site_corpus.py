"""End to end over the saved corpus sites (skipped when /work/shared/corpus is absent).

serve-corpus serves each site on 127.0.0.1; every site goes through `kind = "auto"`, the result is
normalised, exported as a JSON Feed and scored by corpus-check; then a second run must fetch no post
page again.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.config import Settings, SourceConfig
from aggregator.dates import to_iso
from aggregator.http_client import HttpClient
from aggregator.models import KnownPost
from aggregator.normalize import normalize_posts
from aggregator.sources import auto
from aggregator.sources.base import SourceContext
from aggregator.urls import url_key

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus"
TOOLS = SHARED / "tools"
NOW = datetime(2026, 11, 21, tzinfo=UTC)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not (TOOLS / "serve-corpus").exists() or not CORPUS.is_dir(), reason="no shared corpus"),
]


def _free_port_base(count: int) -> int:
    for _ in range(50):
        base = random.randint(20000, 40000)
        try:
            for port in range(base, base + count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free ports")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    sites = sorted(str(p) for p in CORPUS.iterdir() if (p / "truth.json").exists())
    tmp = tmp_path_factory.mktemp("corpus")
    ready, sources = tmp / "ready", tmp / "sources.toml"
    process = subprocess.Popen(
        [
            sys.executable,
            str(TOOLS / "serve-corpus"),
            "--port-base",
            str(_free_port_base(len(sites))),
            *sites,
            "--sources-out",
            str(sources),
            "--ready-file",
            str(ready),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if not ready.exists():
            pytest.skip("serve-corpus did not start")
        yield tmp, sites, tomllib.loads(sources.read_text(encoding="utf-8"))["source"]
    finally:
        process.terminate()
        process.wait(timeout=10)


def _reset_stats(url: str) -> None:
    origin = "/".join(url.split("/")[:3])
    urllib.request.urlopen(urllib.request.Request(origin + "/__stats/reset", method="POST"), timeout=10).read()


def _requested_paths(url: str) -> set[str]:
    origin = "/".join(url.split("/")[:3])
    stats = json.loads(urllib.request.urlopen(origin + "/__stats", timeout=10).read())
    return {path for path, counts in stats.items() if any(n for n in counts.values())}


async def _fetch_all(sources: list[dict[str, str]]) -> tuple[list[dict[str, object]], list[str]]:
    settings = Settings(retries=0)
    items: list[dict[str, object]] = []
    refetched: list[str] = []
    async with HttpClient(settings) as http:
        for source in sources:
            config = SourceConfig(name=source["name"], url=source["url"])
            ctx = SourceContext(source=config, settings=settings, http=http, now=NOW)
            output = await auto.fetch(ctx)
            posts, _ = normalize_posts(output.posts, config.name, NOW)
            items += [
                {
                    "id": p.canonical_url,
                    "url": p.url,
                    "title": p.title,
                    "content_html": p.content_html,
                    "content_text": p.content_text,
                    "date_published": to_iso(p.published),
                }
                for p in posts
            ]
            known = {
                url_key(p.canonical_url): KnownPost(p.url, p.canonical_url, p.updated, p.content_hash, True)
                for p in posts
            }
            _reset_stats(source["url"])
            again = SourceContext(
                source=config, settings=settings, http=http, now=NOW, known=known, validators=dict(ctx.new_validators)
            )
            await auto.fetch(again)
            post_paths = {"/" + p.url.split("/", 3)[3] for p in posts}
            refetched += sorted(_requested_paths(source["url"]) & {urllib.request.unquote(p) for p in post_paths})
    return items, refetched


def test_corpus_meets_every_threshold_and_second_run_is_quiet(served) -> None:  # type: ignore[no-untyped-def]
    tmp, sites, sources = served
    items, refetched = asyncio.run(_fetch_all(sources))
    export = tmp / "export.json"
    export.write_text(json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": items}), encoding="utf-8")
    check = subprocess.run(
        [sys.executable, str(TOOLS / "corpus-check"), str(export), str(tmp / "sources.toml"), *sites],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert refetched == []
