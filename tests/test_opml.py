"""OPML in and out: parsing (safely), import into feeds.toml through the CLI, and a round trip."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from agg_cli import run_agg

from aggregator.config import SourceConfig, load_config
from aggregator.errors import ConfigError
from aggregator.opml import parse_opml, write_opml

DATA = Path(__file__).parent / "data" / "publish"


def test_parse_reads_nested_outlines_with_folders_as_tags() -> None:
    sources, warnings = parse_opml((DATA / "subscriptions.opml").read_bytes(), "subs.opml")
    by_name = {s.name: s for s in sources}
    assert list(by_name) == ["Lil'Log", "Distill", "A Hexo blog"]
    assert by_name["Lil'Log"].url == "https://lilianweng.github.io/index.xml"
    assert by_name["Lil'Log"].tags == ("ML", "llm") and by_name["Lil'Log"].kind == "feed"
    assert by_name["A Hexo blog"].kind == "auto" and by_name["A Hexo blog"].url == "https://hexo.example.org/"
    assert len(warnings) == 2 and "ftp://nope.example.org/feed" in warnings[0] and "subs.opml" in warnings[0]
    assert "has no xmlUrl" in warnings[1]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaa">]><opml><body/></opml>', "DOCTYPE or entity"),
        (b"<opml><body><outline", "not valid XML"),
        (b"<rss><channel/></rss>", "not an OPML file"),
    ],
)
def test_unsafe_or_wrong_documents_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_opml(data, "x.opml")


def test_write_then_read_round_trips() -> None:
    sources = [
        SourceConfig("Feed & <co>", "https://a.org/feed.xml?x=1&y=2", "feed", ("ml", "zh")),
        SourceConfig("Site", "https://b.org/", "hexo"),
    ]
    text = write_opml(sources, datetime(2026, 11, 21, tzinfo=UTC))
    back, warnings = parse_opml(text.encode())
    assert warnings == []
    assert [(s.name, s.url, s.tags, s.kind) for s in back] == [
        ("Feed & <co>", "https://a.org/feed.xml?x=1&y=2", ("ml", "zh"), "feed"),
        ("Site", "https://b.org/", (), "auto"),
    ]


def test_cli_import_appends_and_skips_what_exists(tmp_path: Path) -> None:
    config = tmp_path / "feeds.toml"
    config.write_text('# mine\n[[source]]\nname = "Distill"\nurl = "https://distill.pub/rss.xml"\n', encoding="utf-8")
    result = run_agg("sources", "import", str(DATA / "subscriptions.opml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "imported 2 sources" in result.stdout and "skipped 'Distill'" in result.stdout
    assert "ftp://nope.example.org/feed" in result.stderr
    text = config.read_text(encoding="utf-8")
    assert text.startswith("# mine\n")
    names = [s.name for s in load_config(config).sources]
    assert names == ["Distill", "Lil'Log", "A Hexo blog"]
    again = run_agg("sources", "import", str(DATA / "subscriptions.opml"), cwd=tmp_path)
    assert "imported 0 sources" in again.stdout and config.read_text(encoding="utf-8") == text
    exported = run_agg("sources", "export", "--format", "opml", cwd=tmp_path)
    assert exported.returncode == 0 and 'xmlUrl="https://lilianweng.github.io/index.xml"' in exported.stdout


def test_cli_import_of_a_bad_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.opml"
    bad.write_text("<opml><body>", encoding="utf-8")
    result = run_agg("sources", "import", str(bad), cwd=tmp_path)
    assert result.returncode == 2 and "bad.opml" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "feeds.toml").exists()
    missing = run_agg("sources", "import", "nope.opml", cwd=tmp_path)
    assert missing.returncode == 2 and "nope.opml: cannot read" in missing.stderr
    wrong = run_agg("sources", "export", "--format", "csv", cwd=tmp_path)
    assert wrong.returncode == 2 and "--format" in wrong.stderr
