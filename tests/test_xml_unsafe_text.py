"""Text XML cannot carry (a form feed pasted from a PDF, half an emoji from a JSON API) never loses a post
and never breaks an export."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.export import FeedInfo, export_feed
from aggregator.models import RawPost
from aggregator.normalize import normalize_posts
from aggregator.store import FetchRecord, Store

NOW = datetime(2026, 11, 21, tzinfo=UTC)
A = "{http://www.w3.org/2005/Atom}"


def test_normalising_drops_what_xml_cannot_carry_and_keeps_the_post(tmp_path: Path) -> None:
    raw = RawPost(
        url="https://notes.example.org/p/1",
        title="Attention\x0cIs All You Need",
        guid="id\x01-1",
        author="Ming\x08 Li",
        content_html="<p>softmax\x0b(QK<sup>T</sup>) \ud83d 😀 注意力</p>",
        tags=("nlp\x02",),
    )
    posts, warnings = normalize_posts([raw], "notes", NOW)
    assert warnings == []
    [post] = posts
    assert post.title == "AttentionIs All You Need"
    assert post.author == "Ming Li" and post.guid == "id-1" and post.tags == ("nlp",)
    assert "softmax(QK<sup>T</sup>) \ufffd 😀 注意力" in post.content_html
    assert "\ufffd 😀 注意力" in post.content_text
    store = Store.open(tmp_path / "agg.db")  # SQLite cannot encode a lone surrogate: storing proves it is gone
    record = FetchRecord("notes", NOW, NOW, "ok", requests=1)
    store.save_source("notes", "https://notes.example.org/", "feed", posts, [], {}, record, detected_kind="feed")
    assert [p.title for p in store.posts()] == ["AttentionIs All You Need"]


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_posts_stored_before_lose_it_when_the_store_migrates(tmp_path: Path, fmt: str) -> None:
    raw = RawPost(url="https://notes.example.org/p/1", title="Attention", content_html="<p>softmax</p>", tags=("nlp",))
    fine = RawPost(url="https://notes.example.org/p/2", title="Fine", content_html="<p>ok</p>")
    posts, _ = normalize_posts([raw, fine], "notes", NOW)
    store = Store.open(tmp_path / "agg.db")
    record = FetchRecord("notes", NOW, NOW, "ok", requests=1)
    store.save_source("notes", "https://notes.example.org/", "feed", posts, [], {}, record, detected_kind="feed")
    # as an earlier version stored it: with a form feed, a backspace, a vertical tab and a control in a tag
    store.db.execute(
        "UPDATE posts SET title = ?, author = ?, summary = ?, content_html = ?, content_text = ?, tags = ? "
        "WHERE title = 'Attention'",
        [
            "Attention\x0cIs All",
            "Ming\x08 Li",
            "softmax\x0b",
            "<p>softmax\x0b</p>",
            "softmax\x0b",
            '["nlp\\u0002", "cv\uffff"]',
        ],
    )
    store.db.execute("PRAGMA user_version = 5")
    store.close()

    store = Store.open(tmp_path / "agg.db")
    old = next(p for p in store.posts() if p.url.endswith("/1"))
    assert (old.title, old.author, old.summary, old.content_html, old.content_text, old.tags) == (
        "AttentionIs All",
        "Ming Li",
        "softmax",
        "<p>softmax</p>",
        "softmax",
        ("nlp", "cv"),
    )
    assert store.search("softmax")  # the changed text is indexed again
    feed = ET.fromstring(export_feed(list(store.posts()), fmt, FeedInfo(), NOW).encode("utf-8"))  # type: ignore[arg-type]
    if fmt == "atom":
        titles = sorted(e.findtext(f"{A}title") or "" for e in feed.iter(f"{A}entry"))
    else:
        titles = sorted(e.findtext("title") or "" for e in feed.iter("item"))
    assert titles == ["AttentionIs All", "Fine"]


def test_character_references_to_what_xml_forbids_are_dropped_too(tmp_path: Path) -> None:
    # the parsers decode &#12; into the form feed itself, after the raw text was checked
    raw = RawPost(
        url="https://notes.example.org/p/2",
        title="T",
        content_html="<p>page&#12;break &#1; &#xFFFF; kept</p>",
        tags=("nlp&#2;", "<b>cv&#x1F;</b>"),
    )
    posts, _ = normalize_posts([raw], "notes", NOW)
    assert posts[0].content_html == "<p>pagebreak   kept</p>"
    assert posts[0].tags == ("nlp", "cv") and posts[0].content_text == posts[0].summary == "pagebreak kept"
    store = Store.open(tmp_path / "agg.db")
    record = FetchRecord("notes", NOW, NOW, "ok", requests=1)
    store.save_source("notes", "https://notes.example.org/", "feed", posts, [], {}, record, detected_kind="feed")
    for fmt in ("atom", "rss"):
        ET.fromstring(export_feed(list(store.posts()), fmt, FeedInfo(), NOW).encode("utf-8"))  # type: ignore[arg-type]
