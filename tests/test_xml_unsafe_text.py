"""Text XML cannot carry (a form feed pasted from a PDF, half an emoji from a JSON API) never loses a post
and never breaks an export."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.export import FeedInfo, export_feed
from aggregator.models import RawPost
from aggregator.normalize import normalize_posts
from aggregator.store import FetchRecord, Store, StoredPost

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


def _old_post() -> StoredPost:
    """A post stored by a version that kept control characters."""
    return StoredPost(
        id=1,
        canonical_url="https://notes.example.org/p/1",
        url="https://notes.example.org/p/1",
        source="notes",
        title="Attention\x0cIs All You Need",
        author="Ming\x08 Li",
        published=NOW,
        updated=None,
        summary="softmax\x0b of scores",
        content_html="<p>softmax\x0b of scores</p>",
        content_text="softmax\x0b of scores",
        tags=("nlp\x02",),
        lang="en",
        first_seen=NOW,
        changed_at=None,
        status="new",
    )


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_an_old_post_with_control_characters_still_exports(fmt: str) -> None:
    ok = replace(_old_post(), id=2, title="Fine", canonical_url="https://x.org/2", url="https://x.org/2")
    feed = ET.fromstring(export_feed([_old_post(), ok], fmt, FeedInfo(), NOW).encode("utf-8"))  # type: ignore[arg-type]
    if fmt == "atom":
        titles = [e.findtext(f"{A}title") for e in feed.iter(f"{A}entry")]
        assert feed.find(f"{A}entry/{A}content").text == "<p>softmax of scores</p>"  # type: ignore[union-attr]
    else:
        titles = [e.findtext("title") for e in feed.iter("item")]
    assert titles == ["AttentionIs All You Need", "Fine"]
