"""One story per post, end to end: a note cross-posted under an edited title is one story with two homes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import feedparser
import pytest
from agg_cli import run_agg, write_feeds_toml
from fixture_server import Served, serve

DATA = Path(__file__).parent / "data" / "stories"


@pytest.fixture
def served(tmp_path: Path):
    shutil.copytree(DATA, tmp_path / "site")
    with serve(tmp_path / "site") as site:
        sources = {name: site.url(name + ".rss") for name in ("blog", "hackmd", "other")}
        write_feeds_toml(tmp_path, sources, {"database": "agg.db", "retries": 0})
        assert run_agg("fetch", cwd=tmp_path).returncode == 0
        yield site


def test_cross_post_is_one_story_and_another_persons_notes_stay_apart(tmp_path: Path, served: Served) -> None:
    stories = json.loads(run_agg("dupes", "--json", cwd=tmp_path).stdout)
    assert len(stories) == 1
    [story] = stories
    assert [m["source"] for m in story] == ["blog", "hackmd"]  # the earliest published is the primary
    assert story[0]["primary"] and not story[1]["primary"] and story[1]["score"] > 0.6

    feed = json.loads(run_agg("export", "--format", "json", "--limit", "0", cwd=tmp_path).stdout)
    urls = [item["url"] for item in feed["items"]]
    assert sorted(urls) == ["https://blog.test/2026/11/18/vit/", "https://other.test/vit/"]  # shown once
    blog = next(i for i in feed["items"] if i["url"].startswith("https://blog.test"))
    assert blog["_agg"]["other_homes"] == ["https://hackmd.test/@ada/vit"]
    atom = run_agg("export", "--format", "atom", "--limit", "0", cwd=tmp_path).stdout
    parsed = feedparser.parse(atom.encode())
    entry = next(e for e in parsed.entries if e.link.startswith("https://blog.test"))
    assert [(link.rel, link.href) for link in entry.links] == [
        ("alternate", "https://blog.test/2026/11/18/vit/"),
        ("related", "https://hackmd.test/@ada/vit"),
    ]
    digest = run_agg("digest", "--since", "7d", cwd=tmp_path).stdout
    assert "Also at: <https://hackmd.test/@ada/vit>" in digest and digest.count("ViT 讀後感") == 1


def test_explain_and_a_remembered_split(tmp_path: Path, served: Served) -> None:
    why = run_agg("dupes", "--explain", "https://hackmd.test/@ada/vit", cwd=tmp_path).stdout
    assert "one story" in why and "Jaccard" in why
    alone = run_agg("dupes", "--explain", "https://other.test/vit/", cwd=tmp_path).stdout
    assert "stands alone" in alone
    split = run_agg("dupes", "--split", "https://hackmd.test/@ada/vit", cwd=tmp_path)
    assert split.returncode == 0 and "remembered" in split.stdout
    assert json.loads(run_agg("dupes", "--json", cwd=tmp_path).stdout) == []
    assert run_agg("fetch", "--force", cwd=tmp_path).returncode == 0  # regrouping after a fetch keeps the split
    assert json.loads(run_agg("dupes", "--json", cwd=tmp_path).stdout) == []
    missing = run_agg("dupes", "--explain", "https://nowhere.test/", cwd=tmp_path)
    assert missing.returncode == 1 and "no stored post" in missing.stderr


def test_search_finds_chinese_words_and_papers_are_recorded(tmp_path: Path, served: Served) -> None:
    found = json.loads(run_agg("search", "歸納偏置", "--json", cwd=tmp_path).stdout)
    assert {r["url"] for r in found} == {
        "https://blog.test/2026/11/18/vit/",
        "https://hackmd.test/@ada/vit",
        "https://other.test/vit/",
    }
    assert [r["url"] for r in json.loads(run_agg("search", "Swin", "--json", cwd=tmp_path).stdout)] == [
        "https://other.test/vit/"
    ]
    feed = json.loads(run_agg("export", "--format", "json", "--limit", "0", cwd=tmp_path).stdout)
    other = next(i for i in feed["items"] if i["url"] == "https://other.test/vit/")
    assert other["_agg"]["papers"] == ["arxiv:2010.11929"] and other["language"] == "zh-Hant"
