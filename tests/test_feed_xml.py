"""The fast feed reader (ElementTree) reads what feedparser reads, and hands anything unusual to feedparser."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.sources import feed_xml as feed_xml_module
from aggregator.sources.feed import ParsedFeed, as_utf8, parse_feed
from aggregator.sources.feed_xml import read_simple_feed

DATA = Path(__file__).parent / "data"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
URL = "https://blog.test/feed.xml"
HEADERS = {"content-type": "application/xml"}

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
  <title>  Notes &amp;amp; more </title>
  <link>https://blog.test/</link>
  <atom:link href="https://blog.test/feed.xml" rel="self" type="application/rss+xml"/>
  <managingEditor>ada@blog.test (Ada)</managingEditor>
  <image><title>logo</title><url>/logo.png</url><link>https://blog.test/</link></image>
  {items}
</channel>
</rss>"""
ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">Ada&#39;s &lt;b&gt;notes&lt;/b&gt;</title>
  <link href="https://blog.test/"/>
  <link href="/atom.xml" rel="self"/>
  <author><name>Ada</name></author>
  <id>https://blog.test/</id>
  <updated>2026-11-01T00:00:00Z</updated>
  {items}
</feed>"""
RSS_ITEMS = [
    "<item><title>Plain</title><link>https://blog.test/a/</link><guid>https://blog.test/a/</guid>"
    "<pubDate>Mon, 02 Nov 2026 10:00:00 +0800</pubDate><description>&lt;p&gt;Hi &amp;amp; bye&lt;/p&gt;</description>"
    "<category>ML</category><category domain='x'>RL</category><category>ML</category></item>",
    "<item><title>Relative</title><link>/posts/b/?a=1&amp;b=2</link><guid isPermaLink='false'>b-17</guid>"
    "<dc:creator>Bob</dc:creator><dc:date>2026-11-03T00:00:00Z</dc:date>"
    "<content:encoded><![CDATA[<p>Full <a href='/x'>text</a> \u2013 \u0080 euro</p>]]></content:encoded>"
    "<description><![CDATA[<p>Full text</p>]]></description></item>",
    "<item><title>Guid only</title><guid>/posts/c/</guid><author>bob@blog.test (Bob)</author>"
    "<description>short</description><content:encoded>long</content:encoded></item>",
    "<item><title></title><link>https://blog.test/d/</link><description>untitled one</description></item>",
    "<item><title>No link</title><guid isPermaLink='false'>e</guid><description>x</description></item>",
    "<item><title>Comments</title><link>https://blog.test/f/</link><comments>https://blog.test/f/#c</comments>"
    "<enclosure url='https://blog.test/f.mp3' type='audio/mpeg' length='1'/>"
    "<atom:link href='https://blog.test/f-alt/' rel='alternate'/></item>",
    "<item><title>Ã©tÃ© mojibake</title><link>https://blog.test/g/</link></item>",
    "<item><title>歸納偏置筆記</title><link>https://blog.test/%E7%AD%86/</link>"
    "<pubDate>2026-11-04</pubDate><description>中文 $x^2$</description></item>",
]
ATOM_ENTRIES = [
    "<entry><id>https://blog.test/a/</id><title>A</title><link href='https://blog.test/a/'/>"
    "<published>2026-11-01T00:00:00+08:00</published><updated>2026-11-02T00:00:00Z</updated>"
    "<summary type='html'>&lt;p&gt;short&lt;/p&gt;</summary><content type='html'>&lt;p&gt;long &lt;img src='i.png'&gt;"
    "&lt;/p&gt;</content><category term='ML' label='Machine learning'/><category label='only label'/></entry>",
    "<entry><link href='/b/'/><id>tag:blog.test,2026:b</id><title type='text'>B &amp; C</title>"
    "<author><name>Bob</name><email>bob@blog.test</email></author><content>plain &lt;text&gt;</content></entry>",
    "<entry><id>/c/</id><title>C</title><link rel='alternate' type='text/html' href='/c/'/>"
    "<link rel='related' href='https://arxiv.org/abs/2303.13744'/>"
    "<content type='text/html'>&lt;p&gt;c&lt;/p&gt;</content></entry>",
    "<entry><title>D</title><id>tag:x</id><link rel='enclosure' href='/d.mp3'/><summary>only summary</summary></entry>",
    "<entry><title>E</title><link href='https://blog.test/e/'/><author><uri>https://bob.test</uri></author></entry>",
]


def _documents() -> list[tuple[str, bytes]]:
    files = [path for path in sorted(DATA.rglob("*")) if path.suffix in (".xml", ".rss", ".atom")]
    documents = [(path.name, path.read_bytes()) for path in files]
    documents.append(("rss", RSS.replace("{items}", "\n".join(RSS_ITEMS)).encode()))
    documents.append(("atom", ATOM.replace("{items}", "\n".join(ATOM_ENTRIES)).encode()))
    documents += [(f"rss item {n}", RSS.replace("{items}", item).encode()) for n, item in enumerate(RSS_ITEMS)]
    documents += [(f"atom entry {n}", ATOM.replace("{items}", item).encode()) for n, item in enumerate(ATOM_ENTRIES)]
    for path in sorted(CORPUS.glob("*/**/*.xml")) if CORPUS.is_dir() else []:
        head = path.read_bytes()[:500]
        if b"<rss" in head or b"<feed" in head:
            documents.append((str(path.relative_to(CORPUS)), path.read_bytes()))
    return documents


def _with_feedparser_only(monkeypatch: pytest.MonkeyPatch, content: bytes) -> ParsedFeed:
    with monkeypatch.context() as patch:
        patch.setattr(feed_xml_module, "read_simple_feed", lambda *_: None)  # parse_feed reads it per call
        return parse_feed(content, dict(HEADERS), URL)


@pytest.mark.parametrize(("name", "content"), _documents(), ids=lambda value: value if isinstance(value, str) else "")
def test_both_readers_give_the_same_posts(monkeypatch: pytest.MonkeyPatch, name: str, content: bytes) -> None:
    try:
        expected = _with_feedparser_only(monkeypatch, content)
    except Exception as error:  # a document feedparser refuses must be refused the same way
        with pytest.raises(type(error)):
            parse_feed(content, dict(HEADERS), URL)
        return
    assert parse_feed(content, dict(HEADERS), URL) == expected


def test_the_fast_reader_takes_the_common_blog_feeds() -> None:
    # Hexo's atom.xml and Hugo's RSS (the corpus's, when ../shared is there), and the shapes above
    common = {"rss", "atom", "rss2_content_encoded.xml", "notes.rss", "hexo-next-zhouyifan/atom.xml"}
    common |= {"hugo-notepadium-cse-study/index.xml", "hugo-papermod-lilianweng/posts/index.xml"}
    common |= {"hugo-stack-maosong/post/index.xml", "hugo-stack-maosong/index.xml"}
    documents = [(name, content) for name, content in _documents() if name in common]
    assert len(documents) >= 5
    for name, content in documents:
        assert read_simple_feed(as_utf8(content, dict(HEADERS))[0], URL) is not None, name


@pytest.mark.parametrize(
    "document",
    [
        '<!DOCTYPE rss [<!ENTITY a "aaaa">]><rss version="2.0"><channel><item><title>&a;</title></item>'
        "</channel></rss>",
        '<rss version="2.0" xml:base="https://other.test/"><channel><item><link>/a</link></item></channel></rss>',
        '<feed xmlns="http://www.w3.org/2005/Atom"><entry><content type="xhtml"><div>x</div></content></entry></feed>',
        '<feed xmlns="http://www.w3.org/2005/Atom"><entry><content src="https://blog.test/a"/></entry></feed>',
        '<rss version="2.0"><channel><item><title>A</title><source url="https://x.test/">X</source></item></channel></rss>',
        '<rss version="2.0"><channel><item><title>A</title><title>B</title></item></channel></rss>',
        '<rss version="2.0"><channel><item><description>a <b>bold</b> move</description></item></channel></rss>',
        '<rss version="2.0"><channel><item><pubDate>the day after tomorrow</pubDate></item></channel></rss>',
        '<rss version="2.0"><channel><item><media:title xmlns:media="http://search.yahoo.com/mrss/">M</media:title>'
        "</item></channel></rss>",
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"/>',
        '<rss version="2.0"><channel><item><title>broken</channel></rss>',
        "<html><body>not a feed</body></html>",
    ],
)
def test_anything_unusual_goes_to_feedparser(document: str) -> None:
    assert read_simple_feed(document.encode(), URL) is None


_RSS_PARTS = st.sampled_from(
    [
        "<title>T &amp; U</title>", "<title> spaced </title>", "<title></title>", "<title>&lt;b&gt;x&lt;/b&gt;</title>",
        "<link>https://blog.test/a/</link>", "<link>/rel/</link>", "<link> </link>", "<link>javascript:x</link>",
        "<guid>https://blog.test/g/</guid>", "<guid isPermaLink='false'>g-1</guid>", "<guid>/g/</guid>",
        "<guid isPermaLink='true'>x</guid>", "<description>d</description>",
        "<description><![CDATA[<p>x</p>]]></description>", "<content:encoded>c</content:encoded>",
        "<content:encoded><![CDATA[<p>full</p>]]></content:encoded>",
        "<pubDate>Mon, 02 Nov 2026 10:00:00 +0800</pubDate>",
        "<pubDate>2026-11-02T10:00:00Z</pubDate>", "<pubDate>0001-01-01</pubDate>", "<pubDate></pubDate>",
        "<dc:date>2026-11-03</dc:date>", "<category>ML</category>", "<category domain='d'>RL</category>",
        "<category></category>", "<category domain='d'></category>", "<author>a@b.test (A)</author>",
        "<dc:creator>B</dc:creator>", "<comments>https://blog.test/c</comments>",
        "<atom:link href='https://blog.test/alt/' rel='alternate'/>", "<atom:link href='/x' rel='related'/>",
        "<atom:link href='/t' rel='alternate' type='text/plain'/>", "<enclosure url='https://blog.test/e.mp3'/>",
    ]
)  # fmt: skip
_ATOM_PARTS = st.sampled_from(
    [
        "<title>T</title>", "<title type='html'>&lt;i&gt;T&lt;/i&gt;</title>", "<title type='text'>A &lt; B</title>",
        "<link href='https://blog.test/a/'/>", "<link href='/b/' rel='alternate' type='text/html'/>",
        "<link href='/c/' rel='related'/>", "<link href='/d/' type='application/pdf'/>", "<link href=''/>",
        "<id>https://blog.test/id/</id>", "<id>tag:blog.test,2026:1</id>", "<id>/rel-id/</id>",
        "<published>2026-11-01T00:00:00+08:00</published>", "<updated>2026-11-02T00:00:00Z</updated>",
        "<updated>not a date</updated>", "<summary>s</summary>", "<summary type='html'>&lt;p&gt;s&lt;/p&gt;</summary>",
        "<content type='html'>&lt;p&gt;c&lt;/p&gt;</content>", "<content>plain</content>",
        "<category term='ML'/>", "<category label='L'/>", "<category term='ML' label='M'/>",
        "<author><name>N</name></author>", "<author><name>N</name><email>n@x.test</email></author>",
        "<author><email>e@x.test</email></author>",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_RSS_PARTS, max_size=8).map("".join), max_size=4))
def test_random_rss_items_read_the_same_by_both_readers(items: list[str]) -> None:
    document = RSS.replace("{items}", "".join(f"<item>{item}</item>" for item in items)).encode()
    _assert_same(document)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_ATOM_PARTS, max_size=8).map("".join), max_size=4))
def test_random_atom_entries_read_the_same_by_both_readers(entries: list[str]) -> None:
    document = ATOM.replace("{items}", "".join(f"<entry>{entry}</entry>" for entry in entries)).encode()
    _assert_same(document)


def _assert_same(document: bytes) -> None:
    original = feed_xml_module.read_simple_feed
    feed_xml_module.read_simple_feed = lambda *_: None  # type: ignore[assignment]
    try:
        expected: ParsedFeed | Exception = parse_feed(document, dict(HEADERS), URL)
    except Exception as error:
        expected = error
    finally:
        feed_xml_module.read_simple_feed = original
    if isinstance(expected, Exception):
        with pytest.raises(type(expected)):
            parse_feed(document, dict(HEADERS), URL)
    else:
        assert parse_feed(document, dict(HEADERS), URL) == expected
