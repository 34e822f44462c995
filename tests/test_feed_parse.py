"""aggregator.sources.feed: parse_feed and looks_like_feed on small hand-written feeds.

Each feed in tests/data/feeds/ has its expected result beside it (`<name>.expected.json`); one
parametrized test walks them all, and the tests below look at single behaviours more closely.
"""

from __future__ import annotations

import json
import struct
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator.dates import to_iso
from aggregator.errors import ParseError
from aggregator.sources.feed import ParsedFeed, looks_like_feed, parse_feed
from aggregator.urls import resolve

FEEDS = Path(__file__).parent / "data" / "feeds"
GOLDEN = sorted(FEEDS.glob("*.expected.json"))


def fixture(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def parse_fixture(name: str, content_type: str = "application/rss+xml", url: str | None = None) -> ParsedFeed:
    headers = {"content-type": content_type} if content_type else {}
    return parse_feed(fixture(name), headers, url or f"https://feeds.example.com/{name}")


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0\0")) + chunk(b"IEND", b"")


def post_as_dict(post: Any) -> dict[str, Any]:
    return {
        "url": post.url,
        "title": post.title,
        "guid": post.guid,
        "author": post.author,
        "published": to_iso(post.published),
        "updated": to_iso(post.updated),
        "tags": list(post.tags),
        "content_html": post.content_html,
        "summary_html": post.summary_html,
    }


def test_every_fixture_has_a_golden_file() -> None:
    fixtures = {p.name for p in FEEDS.iterdir() if not p.name.endswith(".expected.json")}
    golden = {p.name.removesuffix(".expected.json") for p in GOLDEN}
    assert fixtures == golden


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda p: p.name.removesuffix(".expected.json"))
def test_golden(golden: Path) -> None:
    expected = json.loads(golden.read_text(encoding="utf-8"))
    content = (FEEDS / golden.name.removesuffix(".expected.json")).read_bytes()
    if "error" in expected:
        with pytest.raises(ParseError, match=expected["error"]):
            parse_feed(content, expected["headers"], expected["url"])
        return
    parsed = parse_feed(content, expected["headers"], expected["url"])
    assert {"title": parsed.title, "link": parsed.link} == expected["feed"]
    assert [post_as_dict(p) for p in parsed.posts] == expected["posts"]
    assert len(parsed.warnings) == len(expected["warnings"]), parsed.warnings
    for warning, pattern in zip(parsed.warnings, expected["warnings"], strict=True):
        assert pattern in warning
        assert "\n" not in warning


# --- RSS 2.0 ------------------------------------------------------------------------------------


def test_rss_content_encoded_is_the_content() -> None:
    feed = parse_fixture("rss2_content_encoded.xml")
    first = feed.posts[0]
    assert first.content_html is not None
    assert first.content_html.startswith("<p>The chain rule gives")
    assert first.summary_html == "A short summary of backprop."
    # relative links stay relative in the raw post; base_url is what they resolve against
    assert 'href="/posts/chain-rule/"' in first.content_html
    assert first.base_url == "https://notes.example.com/posts/backprop/"
    assert resolve(first.base_url, "img/graph.png") == "https://notes.example.com/posts/backprop/img/graph.png"


def test_rss_dates_are_utc() -> None:
    feed = parse_fixture("rss2_content_encoded.xml")
    for post in feed.posts:
        assert post.published is not None
        assert post.published.utcoffset() == timedelta(0)
    assert feed.posts[0].published == datetime(2024, 5, 22, 2, 30, tzinfo=UTC)  # +0800 in the feed


def test_rss_relative_item_link_resolved() -> None:
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>https://rel.example.com/blog/</link>
    <item><title>Relative</title><link>/posts/one/</link></item>
    <item><title>GUID only</title><guid>https://rel.example.com/posts/two/</guid></item>
    </channel></rss>"""
    feed = parse_feed(rss, {"content-type": "application/rss+xml"}, "https://rel.example.com/feed.xml")
    assert [p.url for p in feed.posts] == ["https://rel.example.com/posts/one/", "https://rel.example.com/posts/two/"]


# --- Atom and xml:base --------------------------------------------------------------------------


def test_atom_links_resolved_against_xml_base() -> None:
    feed = parse_fixture("atom_xml_base.xml", "application/atom+xml", "https://blog.example.org/ml/atom.xml")
    attention, layernorm = feed.posts
    assert attention.url == "https://blog.example.org/ml/posts/attention/"
    # an entry's own xml:base wins over the feed's
    assert layernorm.url == "https://blog.example.org/ml/2024/layernorm.html"
    assert feed.link == "https://blog.example.org/ml/"


def test_atom_entry_base_url_is_the_xml_base_in_effect() -> None:
    feed = parse_fixture("atom_xml_base.xml", "application/atom+xml", "https://blog.example.org/ml/atom.xml")
    # the second entry declares its own xml:base
    assert [p.base_url for p in feed.posts] == ["https://blog.example.org/ml/", "https://blog.example.org/ml/2024/"]


def test_atom_content_resolves_against_xml_base() -> None:
    feed = parse_fixture("atom_xml_base.xml", "application/atom+xml", "https://blog.example.org/ml/atom.xml")
    attention = feed.posts[0]
    assert attention.base_url is not None
    assert resolve(attention.base_url, "../refs/") == "https://blog.example.org/refs/"


def test_atom_categories_become_tags() -> None:
    feed = parse_fixture("atom_xml_base.xml", "application/atom+xml")
    assert feed.posts[0].tags == ("transformers", "nlp")
    assert feed.posts[1].tags == ()


def test_atom_dates_to_utc_and_updated_only() -> None:
    feed = parse_fixture("atom_xml_base.xml", "application/atom+xml")
    attention, layernorm = feed.posts
    assert attention.published == datetime(2024, 6, 29, 6, 7, 41, tzinfo=UTC)  # +09:00 in the feed
    assert attention.updated == datetime(2024, 6, 30, 1, 0, tzinfo=UTC)
    # an entry with only <updated> is dated by it
    assert layernorm.published == layernorm.updated == datetime(2024, 5, 1, 7, 0, tzinfo=UTC)


def test_atom_html_title_is_plain_text() -> None:
    feed = parse_fixture("atom_xml_base.xml", "application/atom+xml")
    assert feed.posts[1].title == "Layer norm explained"


def test_atom_author_from_feed() -> None:
    feed = parse_fixture("atom_xml_base.xml", "application/atom+xml")
    assert [p.author for p in feed.posts] == ["Sato Hanako", "Sato Hanako"]


# --- missing fields, duplicates, malformed feeds ------------------------------------------------


def test_entry_without_link_is_skipped_with_a_warning() -> None:
    feed = parse_fixture("rss_missing_fields.xml", "text/xml")
    assert [p.url for p in feed.posts] == [
        "https://odd.example.net/2024/05/untitled.html",
        "https://odd.example.net/2024/05/normal.html",
    ]
    assert any("No link and no guid" in w and "skipped" in w for w in feed.warnings)


def test_entry_without_title_gets_one_with_a_warning() -> None:
    feed = parse_fixture("rss_missing_fields.xml", "text/xml")
    untitled = feed.posts[0]
    assert untitled.title == "Convolution layers share weights across positions."
    assert any("has no title" in w and "untitled.html" in w for w in feed.warnings)


def test_entry_without_title_or_text_uses_link() -> None:
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>https://x.example.com/</link>
    <item><link>https://x.example.com/p/1</link></item></channel></rss>"""
    feed = parse_feed(rss, {"content-type": "application/rss+xml"}, "https://x.example.com/feed")
    assert feed.posts[0].title == "https://x.example.com/p/1"
    assert len(feed.warnings) == 1


def test_duplicate_guids_with_different_links_are_both_kept() -> None:
    feed = parse_fixture("rss_duplicate_guid.xml")
    assert [(p.guid, p.url) for p in feed.posts] == [
        ("post", "https://dup.example.com/tensors-1/"),
        ("post", "https://dup.example.com/autograd-2/"),
    ]


def test_truncated_xml_keeps_complete_items() -> None:
    feed = parse_fixture("rss_truncated.xml")
    assert [p.title for p in feed.posts] == ["First complete item", "Second complete item"]
    assert feed.warnings
    assert feed.warnings[0].startswith("feed is malformed")


def test_truncated_before_any_item_is_an_error() -> None:
    cut = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>https://x.example.com/</link'
    with pytest.raises(ParseError):
        parse_feed(cut, {"content-type": "application/rss+xml"}, "https://x.example.com/feed")


@pytest.mark.parametrize("content_type", ["", "text/plain; charset=utf-8", "text/html"])
def test_well_formed_feed_with_odd_content_type_has_no_warning(content_type: str) -> None:
    feed = parse_fixture("rss2_content_encoded.xml", content_type)
    assert len(feed.posts) == 2
    assert feed.warnings == []


# --- things that are not feeds ------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["image/png", "application/octet-stream"])
def test_png_is_not_a_feed(content_type: str) -> None:
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(tiny_png(), {"content-type": content_type}, "https://x.example.com/feed")


@pytest.mark.parametrize("content_type", ["application/rss+xml", ""])
def test_png_served_as_a_feed_is_not_a_feed(content_type: str) -> None:
    headers = {"content-type": content_type} if content_type else {}
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(tiny_png(), headers, "https://x.example.com/feed")


@pytest.mark.parametrize("content_type", ["application/rss+xml", "text/html; charset=utf-8", "application/xml"])
def test_html_served_as_rss_is_not_a_feed(content_type: str) -> None:
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(fixture("html_page.html"), {"content-type": content_type}, "https://blog.example.com/feed.xml")


def test_well_formed_xhtml_is_not_a_feed() -> None:
    xhtml = b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><p>x</p></body></html>'
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(xhtml, {"content-type": "application/xml"}, "https://x.example.com/feed")


@pytest.mark.parametrize("body", [b"", b"   \n\t", b"\xef\xbb\xbf"])
def test_empty_body_is_not_a_feed(body: bytes) -> None:
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(body, {"content-type": "application/rss+xml"}, "https://x.example.com/feed")


# --- encodings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/rss+xml", "text/xml", ""])
def test_undeclared_gbk_rss(content_type: str) -> None:
    feed = parse_fixture("rss_gbk_undeclared.xml", content_type)
    assert feed.title == "深度学习笔记"
    assert [p.title for p in feed.posts] == ["深度学习入门：反向传播算法详解", "卷积神经网络：从原理到实现"]


@pytest.mark.parametrize("encoding", ["big5", "gb18030"])
def test_declared_legacy_encoding(encoding: str) -> None:
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>機器學習筆記</title>'
        "<link>https://tw.example.com/</link><item><title>機器學習筆記：繁體中文部落格</title>"
        "<link>https://tw.example.com/p/1</link></item></channel></rss>"
    )
    feed = parse_feed(text.encode(encoding), {"content-type": "application/rss+xml"}, "https://tw.example.com/feed")
    assert feed.posts[0].title == "機器學習筆記：繁體中文部落格"


@pytest.mark.parametrize("wrong", ["header", "prolog"])
def test_gbk_rss_with_wrong_utf8_declaration(wrong: str) -> None:
    content = fixture("rss_gbk_undeclared.xml")
    headers = {"content-type": "application/rss+xml"}
    if wrong == "header":
        headers = {"content-type": "application/rss+xml; charset=utf-8"}
    else:
        content = content.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="UTF-8"?>')
    feed = parse_feed(content, headers, "https://cn.example.com/rss.xml")
    assert [p.title for p in feed.posts] == ["深度学习入门：反向传播算法详解", "卷积神经网络：从原理到实现"]


# --- looks_like_feed ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["rss2_content_encoded.xml", "atom_xml_base.xml", "rss_truncated.xml", "rss_gbk_undeclared.xml"]
)
def test_looks_like_feed_fixtures(name: str) -> None:
    assert looks_like_feed(fixture(name), "application/xml")


@pytest.mark.parametrize(
    "head",
    [
        b'\xef\xbb\xbf<?xml version="1.0"?>\n<rss version="2.0">',
        b'<?xml version="1.0"?><?xml-stylesheet type="text/xsl" href="/rss.xsl"?><rss>',
        b"<!-- generated by Hexo --><feed xmlns='http://www.w3.org/2005/Atom'>",
        b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
        b"<!DOCTYPE rss PUBLIC '-//Netscape'><rss version='0.91'>",
        b"\n\n  <RSS version='2.0'>",
    ],
)
def test_looks_like_feed(head: bytes) -> None:
    assert looks_like_feed(head)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"<!DOCTYPE html><html><head></head></html>", "text/html"),
        (b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml">', "application/xhtml+xml"),
        (b"<rss version='2.0'>", "image/png"),  # the type says no
        (b"", ""),
        (b'{"version": "https://jsonfeed.org/version/1"}', "application/json"),
        (b"<!-- a comment that never closes <rss version='2.0'", ""),  # once looped for ever
        (b"<?xml version='1.0'?><!doctype rss", ""),
    ],
)
def test_not_looks_like_feed(content: bytes, content_type: str) -> None:
    assert not looks_like_feed(content, content_type)


def test_png_does_not_look_like_a_feed() -> None:
    assert not looks_like_feed(tiny_png(), "")
