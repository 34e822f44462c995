"""`agg sources add`: one GET to a real 127.0.0.1 server, the kind detected, feeds.toml edited in place."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from agg_cli import run_agg
from fixture_server import Served, serve

from aggregator.config import load_config

pytestmark = pytest.mark.e2e

DATA = Path(__file__).parent / "data" / "publish"
CONFIG = '# my sources\n[settings]\nretries = 0   # fail fast\n\n# the first one\n[[source]]\nname = "old"\nurl = "https://old.example.org/"\n'


@pytest.fixture
def site(tmp_path: Path):
    root = tmp_path / "served"
    shutil.copytree(DATA / "sites", root)
    shutil.copy(DATA / "notes.rss", root / "notes.rss")
    with serve(root) as served:
        yield served


@pytest.mark.parametrize(
    ("path", "kind", "name"),
    [
        ("hexo/", "hexo", "Hexo Notes"),
        ("hugo/", "hugo", "Hugo Study Group"),
        ("plain/", "html", "Plain blog"),
        ("notes.rss", "feed", "Ada's study notes"),
        ("@ada", "hackmd", "ada - HackMD"),
    ],
)
def test_add_detects_the_kind_and_keeps_the_file(tmp_path: Path, site: Served, path: str, kind: str, name: str) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text(CONFIG, encoding="utf-8")
    result = run_agg("sources", "add", site.url(path), "--tag", "ml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"[{kind}, detected]" in result.stdout
    assert site.hits("/" + path.rstrip("/") + ("/" if path.endswith("/") else "")) == 1  # exactly one request
    text = config.read_text(encoding="utf-8")
    assert text.startswith(CONFIG)  # comments and layout untouched
    added = load_config(config).sources[-1]
    assert (added.name, added.url, added.kind, added.tags) == (name, site.url(path), kind, ("ml",))


def test_timezone_option_is_checked_and_written(tmp_path: Path, site: Served) -> None:
    wrong = run_agg("sources", "add", site.url("hexo/"), "--timezone", "Asia/Shangai", cwd=tmp_path)
    assert wrong.returncode == 2 and "unknown time zone 'Asia/Shangai'" in wrong.stderr
    assert not (tmp_path / "feeds.toml").exists() and site.hits("/hexo/") == 0  # refused before any request
    result = run_agg("sources", "add", site.url("hexo/"), "--timezone", "Asia/Shanghai", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (source,) = load_config(tmp_path / "feeds.toml").sources
    assert source.timezone == "Asia/Shanghai"


def test_name_and_kind_options_win(tmp_path: Path, site: Served) -> None:
    result = run_agg("sources", "add", site.url("plain/"), "--name", "Mine", "--kind", "hugo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (source,) = load_config(tmp_path / "feeds.toml").sources
    assert (source.name, source.kind) == ("Mine", "hugo")
    listing = run_agg("sources", cwd=tmp_path)
    assert listing.returncode == 0 and "Mine  [hugo]  0 posts" in listing.stdout
    assert run_agg("sources", "list", "--json", cwd=tmp_path).stdout.lstrip().startswith("[")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["missing/"], 1, "HTTP 404"),
        (["status/500"], 1, "HTTP 500"),
        (["ftp://x.org/"], 2, "not an absolute http"),
        (["plain/", "--kind", "blog"], 2, "--kind"),
        (["hexo/", "--name", "old"], 2, "a source named 'old' already exists"),
    ],
)
def test_failures_are_one_line_and_leave_the_file(
    tmp_path: Path, site: Served, args: list[str], code: int, message: str
) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text(CONFIG, encoding="utf-8")
    url = args[0] if "://" in args[0] else site.url(args[0])
    result = run_agg("sources", "add", url, *args[1:], cwd=tmp_path)
    assert result.returncode == code and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert config.read_text(encoding="utf-8") == CONFIG


def test_a_broken_config_is_not_edited(tmp_path: Path, site: Served) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text("[settings\n", encoding="utf-8")
    result = run_agg("sources", "add", site.url("hexo/"), cwd=tmp_path)
    assert result.returncode == 2 and "TOML syntax error" in result.stderr
    assert config.read_text(encoding="utf-8") == "[settings\n"
