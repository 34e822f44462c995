"""End to end: the real `agg` CLI against a real HTTP server on 127.0.0.1 serving fixture feeds."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import feedparser
import pytest
from agg_cli import AGG, NOW, agg_env, run_agg, write_feeds_toml
from fixture_server import Served, serve

pytestmark = pytest.mark.e2e

DATA = Path(__file__).parent / "data" / "e2e"


def write_config(folder: Path, served: Served, names: list[tuple[str, str]]) -> Path:
    sources = {name: served.url(path) for name, path in names}
    return write_feeds_toml(folder, sources, {"database": "agg.db", "retries": 0, "deadline": 10})


@pytest.fixture
def site(tmp_path: Path):
    root = tmp_path / "site"
    shutil.copytree(DATA, root)
    with serve(root) as served:
        yield served


GOOD = [("notes", "notes.rss"), ("blog", "blog.atom"), ("repeats", "dupes.rss"), ("relative", "relative.rss")]


def stored(folder: Path) -> list[dict[str, object]]:
    conn = sqlite3.connect(folder / "agg.db")
    conn.row_factory = sqlite3.Row
    return [dict(row) for row in conn.execute("SELECT * FROM posts ORDER BY url")]


def test_fetch_stores_every_entry_once_and_second_run_adds_nothing(tmp_path: Path, site: Served) -> None:
    write_config(tmp_path, site, GOOD)
    first = run_agg("fetch", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "notes: new (3 new" in first.stdout
    assert "blog: new (2 new" in first.stdout
    # week 1 listed twice is one post; a reused GUID with two links is two posts; no link and no title: skipped
    assert "repeats: new (3 new" in first.stdout
    assert "4 sources: 9 new posts, 0 updated, 0 failed" in first.stdout
    posts = stored(tmp_path)
    assert len(posts) == 9
    assert len({p["url_key"] for p in posts}) == 9

    second = run_agg("fetch", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "0 new posts, 0 updated" in second.stdout
    assert len(stored(tmp_path)) == 9
    # the second run asked conditionally and got 304s
    conditional = [h for p, h in site.requests if p == "/notes.rss"]
    assert len(conditional) == 2 and "if-none-match" in conditional[1]


def test_posts_are_normalised_and_sanitised(tmp_path: Path, site: Served) -> None:
    write_config(tmp_path, site, GOOD)
    assert run_agg("fetch", cwd=tmp_path).returncode == 0
    posts = {p["title"]: p for p in stored(tmp_path)}
    attention = posts["Attention Is All You Need 讀書筆記"]
    assert attention["url"] == "https://notes.example.org/2026/11/20/attention/"  # tracking parameter gone
    assert attention["published"] == "2026-11-20T00:30:00Z"  # +08:00 converted to UTC
    assert attention["author"] == "Ada"
    assert json.loads(attention["tags"]) == ["transformer", "paper"]
    content = attention["content_html"]
    assert "<script" not in content and "onclick" not in content and "katex-html" not in content
    assert "$$x_0 = \\sum_i w_i v_i$$" in attention["content_text"]
    assert "x0=∑iwivi" not in attention["content_text"]
    assert "javascript:" not in posts["Layer normalisation, briefly"]["content_html"]
    diffusion = posts["Diffusion models from scratch"]
    assert 'src="https://blog.example.net/images/forward.png"' in diffusion["content_html"]
    assert 'href="https://blog.example.net/2026/10/01/vae/"' in diffusion["content_html"]
    assert posts["VAE notes"]["url"] == "https://blog.example.net/2026/10/01/vae/"
    relative = posts["Relative item"]
    assert relative["url"] == site.url("posts/relative-item.html")
    assert f'src="{site.url("img/a.png")}"' in relative["content_html"]


def test_changed_content_is_an_update_not_a_duplicate(tmp_path: Path, site: Served) -> None:
    write_config(tmp_path, site, [("notes", "notes.rss")])
    assert run_agg("fetch", cwd=tmp_path).returncode == 0
    feed = site.root / "notes.rss"
    feed.write_text(
        feed.read_text(encoding="utf-8").replace(
            "let the model attend by relative position", "let the model attend by relative offset"
        ),
        encoding="utf-8",
    )
    result = run_agg("fetch", cwd=tmp_path)
    assert "notes: updated (0 new, 1 updated, 2 unchanged" in result.stdout
    posts = stored(tmp_path)
    assert len(posts) == 3
    changed = next(p for p in posts if p["title"] == "Positional encodings")
    assert changed["status"] == "updated" and changed["changed_at"] == NOW
    assert "relative offset" in changed["content_text"]


def test_dead_and_broken_sources_fail_alone(tmp_path: Path, site: Served) -> None:
    write_config(
        tmp_path,
        site,
        [("notes", "notes.rss"), ("dead", "status/500"), ("gone", "missing.xml"), ("broken", "broken.xml")],
    )
    result = run_agg("fetch", cwd=tmp_path)
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert any(line.startswith("dead: error: HTTP 500") and site.url("status/500") in line for line in errors)
    assert any(line.startswith("gone: error: HTTP 404") for line in errors)
    assert any(line.startswith("broken: error: not a feed") for line in errors)
    assert "Traceback" not in result.stderr
    assert len(stored(tmp_path)) == 3  # the good source is stored in full
    listing = run_agg("sources", cwd=tmp_path)
    assert "dead  [feed]  0 posts" in listing.stdout and "HTTP 500" in listing.stdout
    # a failing source waits before its next try, and says so; --force tries now
    again = run_agg("fetch", "--source", "dead", cwd=tmp_path)
    assert again.returncode == 1 and "not retried until" in again.stderr
    forced = run_agg("fetch", "--source", "dead", "--force", cwd=tmp_path)
    assert forced.returncode == 1 and "HTTP 500" in forced.stderr
    assert site.hits("/status/500") == 2


def test_export_formats_hold_every_post(tmp_path: Path, site: Served) -> None:
    write_config(tmp_path, site, GOOD)
    assert run_agg("fetch", cwd=tmp_path).returncode == 0
    atom = run_agg("export", "--format", "atom", "--limit", "0", cwd=tmp_path)
    parsed = feedparser.parse(atom.stdout.encode())
    assert not parsed.bozo and parsed.version == "atom10"
    assert len(parsed.entries) == 9
    dates = [e.published_parsed for e in parsed.entries]
    assert dates == sorted(dates, reverse=True)  # newest first
    assert all(e.link.startswith(("https://", "http://")) for e in parsed.entries)
    rss = run_agg("export", "--format", "rss", "--limit", "2", cwd=tmp_path)
    parsed_rss = feedparser.parse(rss.stdout.encode())
    assert parsed_rss.version == "rss20" and len(parsed_rss.entries) == 2
    out = tmp_path / "feed.json"
    assert run_agg("export", "--format", "json", "--limit", "0", "--out", str(out), cwd=tmp_path).returncode == 0
    feed = json.loads(out.read_text(encoding="utf-8"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert len(feed["items"]) == 9
    for item in feed["items"]:
        assert {
            "id",
            "url",
            "title",
            "content_html",
            "summary",
            "date_published",
            "date_modified",
            "authors",
            "tags",
        } <= set(item)
        assert "<script" not in item["content_html"]
    assert len({item["id"] for item in feed["items"]}) == 9


def test_digest_lists_exactly_the_window(tmp_path: Path, site: Served) -> None:
    write_config(tmp_path, site, GOOD)
    assert run_agg("fetch", cwd=tmp_path).returncode == 0
    md = run_agg("digest", "--since", "7d", cwd=tmp_path)
    assert md.returncode == 0
    # in the window (2026-11-14 12:00 to 2026-11-21 12:00): attention, positions, diffusion, relative, weeks 1-3
    for title in [
        "Attention Is All You Need 讀書筆記",
        "Positional encodings",
        "Diffusion models from scratch",
        "Relative item",
        "Week 1: gradient descent",
        "Week 2: momentum",
        "Week 3: Adam",
    ]:
        assert title in md.stdout
    assert "Layer normalisation" not in md.stdout and "VAE notes" not in md.stdout
    assert "7 posts from 4 sources: 7 new, 0 updated." in md.stdout
    data = json.loads(run_agg("digest", "--since", "3d", "--format", "json", cwd=tmp_path).stdout)
    titles = [e["title"] for g in data["groups"] for e in g["entries"]]
    assert sorted(titles) == sorted(
        [
            "Attention Is All You Need 讀書筆記",
            "Diffusion models from scratch",
            "Week 1: gradient descent",
            "Week 2: momentum",
            "Week 3: Adam",
        ]
    )
    html = run_agg("digest", "--since", "2026-11-19", "--format", "html", cwd=tmp_path).stdout
    assert html.startswith("<!doctype html>") and "<script" not in html and "Week 3: Adam" in html
    empty = run_agg("digest", "--since", "1h", cwd=tmp_path)
    assert empty.returncode == 0 and "Nothing new or updated in this window." in empty.stdout


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[settings\n", "TOML syntax error"),
        ("[settings]\ncolour = 1\n", "unknown key 'colour'"),
        ("[settings]\ntimeout = 'fast'\n", "key 'timeout' must be int or float"),
        (
            '[[source]]\nname = "a"\nurl = "http://x.org/"\n[[source]]\nname = "a"\nurl = "http://y.org/"\n',
            "duplicate name 'a'",
        ),
        ('[[source]]\nname = "a"\nurl = "ftp://x.org/feed"\n', "invalid URL 'ftp://x.org/feed'"),
        ('[[source]]\nname = "a"\nurl = "http://x.org/"\nkind = "blog"\n', "unknown kind 'blog'"),
    ],
)
def test_bad_config_stops_before_anything_happens(tmp_path: Path, config: str, message: str) -> None:
    (tmp_path / "feeds.toml").write_text(config, encoding="utf-8")
    result = run_agg("fetch", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "feeds.toml" in lines[0] and message in lines[0]
    assert not (tmp_path / "agg.db").exists()


def test_unknown_source_name_is_a_usage_error(tmp_path: Path, site: Served) -> None:
    write_config(tmp_path, site, GOOD)
    result = run_agg("fetch", "--source", "nope", cwd=tmp_path)
    assert result.returncode == 2 and "no source named 'nope'" in result.stderr


def test_db_flag_and_environment_override_the_config(tmp_path: Path, site: Served) -> None:
    write_config(tmp_path, site, [("blog", "blog.atom")])
    assert run_agg("fetch", "--db", str(tmp_path / "flag.db"), cwd=tmp_path).returncode == 0
    assert (tmp_path / "flag.db").exists() and not (tmp_path / "agg.db").exists()
    assert run_agg("fetch", cwd=tmp_path, env={"AGG_DB": str(tmp_path / "env.db")}).returncode == 0
    assert (tmp_path / "env.db").exists()


def test_json_summary_and_quiet_mode(tmp_path: Path, site: Served) -> None:
    write_config(tmp_path, site, [("blog", "blog.atom"), ("dead", "status/503")])
    result = run_agg("fetch", "--json", cwd=tmp_path)
    summary = json.loads(result.stdout)
    assert summary["totals"] == {"new": 2, "updated": 0, "unchanged": 0, "failed": 1}
    quiet = run_agg("fetch", "--quiet", "--force", cwd=tmp_path)
    assert quiet.stdout == "" and "dead: error: HTTP 503" in quiet.stderr


def test_every_command_has_help(tmp_path: Path) -> None:
    for command in ["fetch", "digest", "export", "sources"]:
        result = run_agg(command, "--help", cwd=tmp_path)
        assert result.returncode == 0
        assert "Usage:" in result.stdout and len(result.stdout.splitlines()) > 5
    version = run_agg("--version", cwd=tmp_path)
    assert version.stdout.startswith("agg ")


def test_auto_source_found_to_be_a_feed_is_fetched_conditionally(tmp_path: Path, site: Served) -> None:
    (tmp_path / "feeds.toml").write_text(
        f'[settings]\ndatabase = "agg.db"\n\n[[source]]\nname = "notes"\nurl = "{site.url("notes.rss")}"\n',
        encoding="utf-8",
    )
    assert "notes: new (3 new" in run_agg("fetch", cwd=tmp_path).stdout
    second = run_agg("fetch", cwd=tmp_path)
    assert "notes: unchanged" in second.stdout
    [_, again] = [headers for path, headers in site.requests if path == "/notes.rss"]
    assert "if-none-match" in again  # answered 304, nothing parsed
    assert "[auto→feed]" in run_agg("sources", cwd=tmp_path).stdout


def test_export_to_a_device_writes_through_it(tmp_path: Path, site: Served) -> None:
    write_config(tmp_path, site, [("blog", "blog.atom")])
    assert run_agg("fetch", cwd=tmp_path).returncode == 0
    assert run_agg("export", "--out", "/dev/null", cwd=tmp_path).returncode == 0
    assert Path("/dev/null").is_char_device()


def test_a_fetch_drops_the_fetch_log_rows_older_than_log_days(tmp_path: Path, site: Served) -> None:
    write_config(tmp_path, site, [("notes", "notes.rss"), ("gone", "missing.xml")])
    for when in ("2026-01-01T00:00:00Z", "2026-05-01T00:00:00Z", "2026-07-01T00:00:00Z"):
        assert run_agg("fetch", "--force", cwd=tmp_path, now=when).returncode == 1  # "gone" fails each time
    with sqlite3.connect(tmp_path / "agg.db") as db:
        started = sorted({row[0] for row in db.execute("SELECT started FROM fetch_log")})
    assert started == ["2026-05-01T00:00:00Z", "2026-07-01T00:00:00Z"]  # January's run is over 90 days old
    digest = run_agg("digest", "--since", "7d", cwd=tmp_path, now="2026-07-01T00:00:00Z").stdout
    assert "- gone: HTTP 404" in digest  # the digest's failures come from each source's own row


def test_exports_to_stdout_are_utf8_whatever_the_terminal_encoding(tmp_path: Path, site: Served) -> None:
    # the feeds declare UTF-8: a Latin-1 stdout must neither garble the CJK title nor fail on it
    write_config(tmp_path, site, [("notes", "notes.rss")])
    assert run_agg("fetch", cwd=tmp_path).returncode == 0
    for fmt in ("atom", "rss", "json"):
        result = subprocess.run(
            [*AGG, "export", "--format", fmt], cwd=tmp_path, env=agg_env({"PYTHONIOENCODING": "latin-1"}),
            capture_output=True, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "Attention Is All You Need 讀書筆記" in result.stdout.decode("utf-8")


def test_dates_without_a_zone_are_read_in_the_configured_timezone(tmp_path: Path) -> None:
    # an RSS feed whose pubDates carry no zone: the author's local time, here in China (UTC+8)
    served_dir = tmp_path / "served"
    served_dir.mkdir()
    items = "".join(
        f"<item><title>{title}</title><link>https://cn.example.org/{n}/</link><pubDate>{when}</pubDate>"
        f"<description>Notes on {title}, long enough to be a post of its own.</description></item>"
        for n, (title, when) in enumerate(
            [("Attention", "Wed, 22 May 2024 01:00:00"), ("Diffusion", "2024-05-23 20:30")]
        )
    )
    rss = f'<?xml version="1.0"?><rss version="2.0"><channel><title>cn</title><link>https://cn.example.org/</link>{items}</channel></rss>'
    (served_dir / "cn.xml").write_text(rss, encoding="utf-8")
    with serve(served_dir) as served:
        for zone, folder in (("Asia/Shanghai", tmp_path / "zoned"), (None, tmp_path / "plain")):
            folder.mkdir()
            write_feeds_toml(
                folder, {"cn": served.url("cn.xml")}, {"retries": 0} | ({"timezone": zone} if zone else {})
            )
            assert run_agg("fetch", "-q", cwd=folder).returncode == 0

    def published(folder: Path) -> list[tuple[str, str]]:
        with sqlite3.connect(folder / "agg.db") as conn:
            return list(conn.execute("SELECT title, published FROM posts ORDER BY title"))

    assert published(tmp_path / "zoned") == [
        ("Attention", "2024-05-21T17:00:00Z"),
        ("Diffusion", "2024-05-23T12:30:00Z"),
    ]
    assert published(tmp_path / "plain") == [
        ("Attention", "2024-05-22T01:00:00Z"),
        ("Diffusion", "2024-05-23T20:30:00Z"),
    ]


def _imported_by(tmp_path: Path, *command: str) -> tuple[set[str], str]:
    """The modules `agg <command>` imported, and what it printed."""
    run = subprocess.run(
        [AGG[0], "-X", "importtime", *AGG[1:], *command], cwd=tmp_path, env=agg_env(), capture_output=True,
        text=True, check=False, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    return {line.rpartition("|")[2].strip() for line in lines if line.startswith("import time:")}, run.stdout


def test_a_run_of_304s_loads_no_parser(tmp_path: Path, site: Served) -> None:
    # cron runs agg hourly, and mostly nothing changed: such a run must not pay for what it does not use
    write_config(tmp_path, site, GOOD)
    assert run_agg("fetch", cwd=tmp_path).returncode == 0
    imported, printed = _imported_by(tmp_path, "fetch")
    assert "0 new posts, 0 updated" in printed
    assert {"aggregator.pipeline", "httpx"} <= imported  # the listing is there
    # sqlite-utils builds the schema: a store already at the latest version is read and written in plain SQL
    unused = {"feedparser", "nh3", "aggregator.normalize", "aggregator.stories", "pydantic", "sqlite_utils"}
    unused |= {"click", "pygments", "rich"}  # httpx's own command-line client; a bar only on a terminal
    unused |= {"selectolax", "aggregator.dom", "aggregator.sources.feed_xml"}  # the other readers, as feedparser
    unused |= {"httpcore", "anyio", "sniffio"}  # httpx's engine: http_backend speaks HTTP/1.1 with h11 alone
    unused |= {"multiprocessing", "aggregator.excerpt"}  # no worker starts; excerpts' patterns take 8 ms to compile
    assert not imported & unused


def test_export_and_digest_load_no_fetch_engine(tmp_path: Path, site: Served) -> None:
    # they read the store and write a file: the event loop and the HTTP client are 70 ms they do not use
    write_config(tmp_path, site, GOOD)
    assert run_agg("fetch", cwd=tmp_path).returncode == 0
    for command in (("export", "--format", "atom", "--out", "all.atom"), ("digest", "--since", "7d")):
        imported, _ = _imported_by(tmp_path, *command)
        assert "aggregator.store" in imported, command
        assert not imported & {"asyncio", "httpx", "h11", "aggregator.http_client", "aggregator.pipeline"}, command
        assert "aggregator.excerpt" not in imported, command  # only the workers cut excerpts
