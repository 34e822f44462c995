"""The published index.html in a real browser: headless Chromium loads it from disk, offline.

Checks the text a reader sees and that the page logged no console error. Skips when chromium is absent
(`.ci/run` installs it).
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from agg_cli import run_agg, write_feeds_toml
from fixture_server import serve

pytestmark = pytest.mark.e2e

DATA = Path(__file__).parent / "data" / "publish"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


def load_in_chromium(page: Path, profile: Path) -> tuple[str, list[str]]:
    """The DOM after load, and the console lines (errors, uncaught exceptions) Chromium logged."""
    assert CHROMIUM is not None
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--window-size=390,844",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            page.as_uri(),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    return result.stdout, console


def visible_text(dom: str) -> str:
    body = re.sub(r"<(style|script|title)\b.*?</\1>", " ", dom, flags=re.DOTALL | re.IGNORECASE)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("browser")
    shutil.copytree(DATA, folder / "served")
    with serve(folder / "served") as served:
        sources = {"notes": served.url("notes.rss"), "blog": served.url("blog.atom")}
        write_feeds_toml(folder, sources, {"retries": 0}, kind=None)
        result = run_agg("publish", "--out", "site", cwd=folder)
        assert result.returncode == 0, result.stderr
    return folder / "site" / "index.html"


@needs_chromium
def test_index_page_shows_the_posts_and_logs_no_error(published: Path, tmp_path: Path) -> None:
    dom, console = load_in_chromium(published, tmp_path / "profile")
    assert console == []
    text = visible_text(dom)
    assert "Recent study notes" in text
    assert "3 posts from 2 sources: 3 new, 0 updated" in text
    for title in ["Attention notes", "Positional encodings", "Diffusion models from scratch"]:
        assert title in text
    assert "VAE notes" not in text and "Layer normalisation" not in text  # outside the window
    assert text.index("Friday, 2026-11-20") < text.index("Thursday, 2026-11-19") < text.index("Wednesday, 2026-11-18")
    assert "Posts per week" in text and "notes (3)" in text and "blog (2)" in text  # the chart covers 12 weeks
    assert "$\\mathrm{softmax}(QK^T)$" in text  # math stays TeX
    assert "alert" not in text and "<script" not in dom.lower()
    assert len(re.findall(r"<rect\b", dom)) == 4  # notes: 2 weeks, blog: 2 weeks


@needs_chromium
def test_console_errors_are_caught(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text('<!doctype html><p>x</p><script>throw new Error("boom")</script>', encoding="utf-8")
    _, console = load_in_chromium(page, tmp_path / "profile")
    assert any("Uncaught Error: boom" in line for line in console)
