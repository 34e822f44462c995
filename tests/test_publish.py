"""`agg publish` end to end: the real CLI against feeds served on 127.0.0.1, then the five files checked."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from agg_cli import run_agg, start_agg, write_feeds_toml
from fixture_server import Served, serve

from aggregator.atomic import replacing, write_whole
from aggregator.digest import DigestEntry
from aggregator.publish import build_chart, group_by_day, weekly_counts

pytestmark = pytest.mark.e2e

DATA = Path(__file__).parent / "data" / "publish"
FILES = ["atom.xml", "rss.xml", "feed.json", "digest.md", "index.html"]
HOSTILE = re.compile(r"<script|javascript:|\son[a-z]+\s*=", re.IGNORECASE)


def write_config(folder: Path, served: Served, extra: list[tuple[str, str]] = ()) -> None:
    sources = {name: served.url(path) for name, path in [("notes", "notes.rss"), ("blog", "blog.atom"), *extra]}
    write_feeds_toml(folder, sources, {"database": "agg.db", "retries": 0, "deadline": 10})


@pytest.fixture
def site(tmp_path: Path):
    root = tmp_path / "served"
    shutil.copytree(DATA, root)
    with serve(root) as served:
        yield served


def test_publish_writes_five_whole_files(tmp_path: Path, site: Served) -> None:
    write_config(tmp_path, site)
    result = run_agg("publish", "--out", "public", "--base-url", "https://agg.example.org/x/", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 sources: 5 new posts" in result.stdout
    out = tmp_path / "public"
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)  # no temporary file left behind
    for name in FILES:
        text = (out / name).read_text(encoding="utf-8")
        assert not HOSTILE.search(text), f"{name} carries script"
    atom = feedparser.parse((out / "atom.xml").read_bytes())
    assert not atom.bozo and len(atom.entries) == 5
    assert atom.feed.links[0].href == "https://agg.example.org/x/atom.xml"
    rss = feedparser.parse((out / "rss.xml").read_bytes())
    assert not rss.bozo and rss.version == "rss20" and rss.feed.link == "https://agg.example.org/x/"
    digest = (out / "digest.md").read_text(encoding="utf-8")
    assert "3 posts from 2 sources: 3 new, 0 updated." in digest and "VAE notes" not in digest
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count("<rect ") >= 3 and "Friday, 2026-11-20" in page


def test_quiet_no_fetch_and_failure_exit_code(tmp_path: Path, site: Served) -> None:
    write_config(tmp_path, site, [("dead", "status/500")])
    failed = run_agg("publish", "--out", "public", "-q", cwd=tmp_path)
    assert failed.returncode == 1  # like fetch: a source failed, the others were stored and published
    assert failed.stdout == "" and "dead: error: HTTP 500" in failed.stderr
    assert len(feedparser.parse((tmp_path / "public" / "atom.xml").read_bytes()).entries) == 5
    hits = site.hits("/notes.rss")
    again = run_agg("publish", "--out", "public", "--no-fetch", cwd=tmp_path)
    assert again.returncode == 0 and site.hits("/notes.rss") == hits
    assert "failed in this window" in (tmp_path / "public" / "digest.md").read_text(encoding="utf-8")


def test_empty_window_is_said_and_exits_zero(tmp_path: Path, site: Served) -> None:
    write_config(tmp_path, site)
    result = run_agg("publish", "--out", "public", "--since", "1h", cwd=tmp_path)
    assert result.returncode == 0
    assert "Nothing new or updated in this window." in (tmp_path / "public" / "index.html").read_text(encoding="utf-8")


def test_two_publishes_started_together_both_finish_whole(tmp_path: Path, site: Served) -> None:
    write_config(tmp_path, site)
    runs = [start_agg("publish", "--out", "public", cwd=tmp_path) for _ in range(2)]
    outcomes = [(p.wait(timeout=300), p.communicate()) for p in runs]
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    out = tmp_path / "public"
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    json.loads((out / "feed.json").read_text(encoding="utf-8"))
    assert (out / "index.html").read_text(encoding="utf-8").rstrip().endswith("</html>")


def test_a_held_lock_with_no_wait_exits_3(tmp_path: Path, site: Served) -> None:
    from aggregator.lock import exclusive

    write_config(tmp_path, site)
    with exclusive(tmp_path / "agg.db"):
        result = run_agg("publish", "--out", "public", "--wait", "0", cwd=tmp_path)
    assert result.returncode == 3 and "another agg publish run" in result.stderr
    assert not (tmp_path / "public").exists()


def test_bad_values_are_one_line_usage_errors(tmp_path: Path, site: Served) -> None:
    write_config(tmp_path, site)
    for args, message in [(["--since", "soon"], "--since"), (["--base-url", "ftp://x"], "--base-url")]:
        result = run_agg("publish", "--out", "public", *args, cwd=tmp_path)
        assert result.returncode == 2 and message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", encoding="utf-8")
    result = run_agg("publish", "--out", str(blocked), "--no-fetch", cwd=tmp_path)
    assert result.returncode == 1 and "cannot write the site" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("durable", [False, True])
def test_a_file_is_replaced_whole_and_no_temp_is_left(tmp_path: Path, durable: bool) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old", encoding="utf-8")
    write_whole(target, "new\n注意力", durable=durable)
    assert target.read_text(encoding="utf-8") == "new\n注意力"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), replacing(target) as handle:
        handle.write(b"half")
        raise RuntimeError("the export failed half way")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def _entry(source: str, when: datetime) -> DigestEntry:
    return DigestEntry("t", "https://x.org/" + source, source, None, when, "new", "", ())


def test_group_by_day_then_source() -> None:
    day1, day2 = datetime(2026, 11, 20, 9, tzinfo=UTC), datetime(2026, 11, 19, 9, tzinfo=UTC)
    days = group_by_day([_entry("b", day2), _entry("a", day1), _entry("c", day1)])
    assert [d.day.isoformat() for d in days] == ["2026-11-20", "2026-11-19"]
    assert [name for name, _ in days[0].sources] == ["a", "c"]


def test_weekly_counts_and_chart_stack_per_source() -> None:
    from aggregator.store import StoredPost

    def post(source: str, day: int) -> StoredPost:
        when = datetime(2026, 11, day, tzinfo=UTC)
        return StoredPost(day, "u", "u", source, "t", None, when, None, "", "", "", (), None, when, None, "new")

    now = datetime(2026, 11, 21, tzinfo=UTC)
    posts = [post("a", 20), post("a", 19), post("b", 18), post("b", 2)]
    counts = weekly_counts(posts, now)
    assert len(counts) == 12 and list(counts.values())[-1] == {"a": 2, "b": 1}
    chart = build_chart(posts, now)
    assert chart.peak == 3 and len(chart.bars) == 3
    assert [s for s, _, _ in chart.legend] == ["a", "b"]
    assert all(b.y >= 0 and b.y + b.height <= chart.height for b in chart.bars)


def test_new_commands_have_help(tmp_path: Path) -> None:
    for command in (["publish"], ["sources", "add"], ["sources", "import"], ["sources", "export"], ["sources"]):
        result = run_agg(*command, "--help", cwd=tmp_path)
        assert result.returncode == 0 and "Usage:" in result.stdout and len(result.stdout.splitlines()) > 5


def test_digest_groups_by_paper(tmp_path: Path, site: Served) -> None:
    write_config(tmp_path, site)
    assert run_agg("publish", "--out", "public", cwd=tmp_path).returncode == 0
    result = run_agg("digest", "--since", "7d", "--group-by", "paper", "--format", "json", cwd=tmp_path)
    groups = {g["name"]: [e["title"] for e in g["entries"]] for g in json.loads(result.stdout)["groups"]}
    assert groups == {
        "arxiv:1706.03762": ["Attention notes"],
        "arxiv:2006.11239": ["Diffusion models from scratch"],
        "arxiv:2104.09864": ["Positional encodings"],
    }
    entry = json.loads(result.stdout)["groups"][0]["entries"][0]
    assert entry["other_homes"] == [] and entry["papers"] == ["arxiv:1706.03762"]
