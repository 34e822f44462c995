"""The published feeds against the rules the W3C Feed Validation Service and the JSON Feed 1.1 spec check."""

from __future__ import annotations

import email.utils
import json
import re
import shutil
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from agg_cli import run_agg, write_feeds_toml
from fixture_server import serve

pytestmark = pytest.mark.e2e

DATA = Path(__file__).parent / "data" / "publish"
BASE = "https://agg.example.org/feeds/"
A = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d\d:\d\d:\d\d [+-]\d{4}$"
)
RELATIVE = re.compile(r"""(?:href|src)\s*=\s*["'](?!https?://)""", re.IGNORECASE)
ABSOLUTE = re.compile(r"^https?://[^/\s]+")


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("valid")
    shutil.copytree(DATA, folder / "served")
    with serve(folder / "served") as served:
        sources = {"notes": served.url("notes.rss"), "blog": served.url("blog.atom")}
        write_feeds_toml(folder, sources, {"retries": 0}, kind=None)
        first = run_agg("publish", "--out", "one", "--base-url", BASE, cwd=folder, now="2026-11-21T12:00:00Z")
        assert first.returncode == 0, first.stderr
        # a later run that sees no change must not move any date or id
        second = run_agg("publish", "--out", "two", "--base-url", BASE, cwd=folder, now="2026-11-22T12:00:00Z")
        assert second.returncode == 0, second.stderr
        yield (
            folder / "one",
            folder / "two",
            {name: served.url(path) for name, path in [("notes", "notes.rss"), ("blog", "blog.atom")]},
        )


def check_json_feed(feed: Any) -> list[str]:
    """Every way `feed` breaks JSON Feed 1.1 (required fields, types, version, unique ids, RFC 3339 dates)."""
    errors: list[str] = []
    if not isinstance(feed, dict):
        return ["top level is not an object"]
    if feed.get("version") != "https://jsonfeed.org/version/1.1":
        errors.append(f"version is {feed.get('version')!r}")
    if not isinstance(feed.get("title"), str) or not feed["title"]:
        errors.append("title missing or not a string")
    for key in ("home_page_url", "feed_url"):
        if key in feed and not (isinstance(feed[key], str) and ABSOLUTE.match(feed[key])):
            errors.append(f"{key} is not an absolute URL")
    items = feed.get("items")
    if not isinstance(items, list):
        return [*errors, "items missing or not an array"]
    ids: set[str] = set()
    for index, item in enumerate(items):
        errors += [f"item {index}: {e}" for e in _check_item(item)]
        item_id = item.get("id") if isinstance(item, dict) else None
        if item_id in ids:
            errors.append(f"item {index}: duplicate id {item_id!r}")
        ids.add(str(item_id))
    return errors


def _check_item(item: Any) -> list[str]:
    if not isinstance(item, dict):
        return ["not an object"]
    errors = []
    if not isinstance(item.get("id"), str) or not item["id"]:
        errors.append("id missing or not a string")
    if not any(isinstance(item.get(k), str) for k in ("content_html", "content_text")):
        errors.append("neither content_html nor content_text")
    for key in ("url", "external_url", "image", "banner_image"):
        if key in item and not (isinstance(item[key], str) and ABSOLUTE.match(item[key])):
            errors.append(f"{key} is not an absolute URL")
    for key in ("date_published", "date_modified"):
        if key in item and not (isinstance(item[key], str) and RFC3339.match(item[key])):
            errors.append(f"{key} {item[key]!r} is not RFC 3339")
    for key in ("tags", "authors"):
        if key in item and not isinstance(item[key], list):
            errors.append(f"{key} is not an array")
    if any(not isinstance(a, dict) or not a.get("name") for a in item.get("authors", [])):
        errors.append("an author without a name")
    for key in ("title", "summary", "content_html", "content_text", "language"):
        if key in item and not isinstance(item[key], str):
            errors.append(f"{key} is not a string")
    return errors


def test_json_feed_checker_catches_mistakes() -> None:
    bad = {"version": "1", "items": [{"id": 1, "date_published": "2026-11-20", "url": "/x"}, {"id": 1}]}
    errors = check_json_feed(bad)
    assert any("version" in e for e in errors) and any("title" in e for e in errors)
    assert any("RFC 3339" in e for e in errors) and any("absolute" in e for e in errors)
    assert any("content_html" in e for e in errors)


def test_json_feed_follows_the_spec(published) -> None:
    one, _, _ = published
    feed = json.loads((one / "feed.json").read_text(encoding="utf-8"))
    assert check_json_feed(feed) == []
    assert feed["feed_url"] == BASE + "feed.json" and len(feed["items"]) == 5


def test_atom_feed_is_valid_atom(published) -> None:
    one, _, urls = published
    root = ET.parse(one / "atom.xml").getroot()
    assert root.tag == A + "feed"
    assert [link.get("href") for link in root.findall(A + "link") if link.get("rel") == "self"] == [BASE + "atom.xml"]
    assert root.findtext(A + "id") and root.findtext(A + "title") and RFC3339.match(root.findtext(A + "updated"))
    entries = root.findall(A + "entry")
    assert len(entries) == 5 and len({e.findtext(A + "id") for e in entries}) == 5
    for entry in entries:
        assert ABSOLUTE.match(entry.findtext(A + "id"))
        assert RFC3339.match(entry.findtext(A + "updated")) and RFC3339.match(entry.findtext(A + "published"))
        assert entry.findtext(f"{A}author/{A}name")
        assert ABSOLUTE.match(entry.find(A + "link").get("href"))
        source = entry.find(A + "source")
        assert source.findtext(A + "title") in urls
        assert source.findtext(A + "id") == urls[source.findtext(A + "title")]  # the source, not the post
        assert source.find(A + "link").get("href") == urls[source.findtext(A + "title")]
        content = entry.findtext(A + "content") or ""
        assert entry.find(A + "content") is None or entry.find(A + "content").get("type") == "html"
        assert not RELATIVE.search(content), content
        assert "<script" not in content and "javascript:" not in content and "onclick" not in content
    attention = next(e for e in entries if "attention" in e.findtext(A + "id"))
    assert {c.get("term") for c in attention.findall(A + "category")} == {"transformer", "paper"}
    assert 'class="math inline"' in attention.findtext(A + "content")
    assert "$x_0$" in attention.findtext(A + "summary") or "x_0" in attention.findtext(A + "content")


def test_rss_feed_is_valid_rss(published) -> None:
    one, _, urls = published
    channel = ET.parse(one / "rss.xml").getroot().find("channel")
    assert channel.findtext("title") and channel.findtext("description")
    assert channel.findtext("link") == BASE
    assert channel.find(A + "link").get("href") == BASE + "rss.xml"
    items = channel.findall("item")
    assert len({i.findtext("guid") for i in items}) == len(items) == 5
    for item in items:
        assert RFC822.match(item.findtext("pubDate")), item.findtext("pubDate")
        assert email.utils.parsedate_to_datetime(item.findtext("pubDate")).tzinfo is not None
        assert item.find("guid").get("isPermaLink") == "true" and ABSOLUTE.match(item.findtext("guid"))
        assert item.find("source").get("url") == urls[item.findtext("source")]
        assert item.findtext(DC + "creator")
    parsed = feedparser.parse((one / "rss.xml").read_bytes())
    assert not parsed.bozo and parsed.version == "rss20"


def test_ids_and_dates_do_not_move_without_a_change(published) -> None:
    one, two, _ = published
    for name in ("atom.xml", "rss.xml", "feed.json"):
        assert (one / name).read_text(encoding="utf-8") == (two / name).read_text(encoding="utf-8"), name
    root = ET.parse(one / "atom.xml").getroot()
    newest = max(datetime.fromisoformat(e.findtext(A + "updated")) for e in root.findall(A + "entry"))
    assert datetime.fromisoformat(root.findtext(A + "updated")) == newest
