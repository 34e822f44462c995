"""The merged feed: Atom 1.0 and RSS 2.0 through feedgen (the only module that imports it), and JSON Feed 1.1.

Written to pass the W3C Feed Validation Service: entry ids are canonical URLs (stable between runs,
unique across sources), dates are RFC 3339 (Atom, JSON) or RFC 822 (RSS), every URL is absolute,
each entry names its author and its source site (Atom `<source>` with id/title/link/updated, RSS
`<source url>` and `dc:creator`), and `updated` moves only when a post really changed.
Content comes from the store already sanitised (normalize runs the allow-list before anything is
stored), so no output carries script; exporting is formatting only.

`write_feed` streams: feedgen writes the feed's head and each entry on its own, one post at a time,
so exporting a whole store (100k posts, a gigabyte of text) never holds it in memory. What the head
says about all posts (the newest change, the language, each source's newest change) comes first from
a `FeedSummary` of their dates.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, Protocol, TextIO

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension
from feedgen.ext.dc import DcEntryExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem
from lxml import etree

from aggregator import __version__
from aggregator.dates import to_iso
from aggregator.store import StoredPost
from aggregator.text import xml_safe

Format = Literal["atom", "rss", "json"]
FORMATS: tuple[Format, ...] = ("atom", "rss", "json")
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
FEED_ID = "tag:agg,2026:merged-feed"  # used only when the feed's own URL is unknown
_PLACEHOLDER_HOME = "https://example.invalid/"  # RSS requires a channel link; pass --self-url to avoid it
_MIME = {"atom": "application/atom+xml", "rss": "application/rss+xml", "json": "application/feed+json"}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """What the merged feed says about itself."""

    title: str = "agg: merged study notes"
    self_url: str | None = None  # where the feed will be published, for the `self` link
    home_url: str | None = None
    description: str = "Posts from every source agg follows, newest first."
    source_urls: Mapping[str, str] = field(default_factory=dict)  # source name -> its site URL

    @property
    def home(self) -> str:
        """The channel / alternate link: the home page, else the folder the feed lives in."""
        if self.home_url:
            return self.home_url
        if self.self_url:
            return self.self_url.rsplit("/", 1)[0] + "/"
        return _PLACEHOLDER_HOME


class Dated(Protocol):
    """What a feed's head needs of a post: a StoredPost, or the store's PostDates."""

    @property
    def source(self) -> str: ...
    @property
    def date(self) -> datetime: ...
    @property
    def changed_at(self) -> datetime | None: ...
    @property
    def updated(self) -> datetime | None: ...
    @property
    def lang(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class FeedSummary:
    """What the head of a feed says about all its posts."""

    updated: datetime  # the newest real change, so the feed's `updated` moves only when a post does
    language: str | None  # the language every post shares; a mixed feed declares none rather than a wrong one
    source_updated: Mapping[str, datetime]  # each source's newest change, for Atom's <source><updated>

    @classmethod
    def of(cls, posts: Iterable[Dated], now: datetime) -> FeedSummary:
        newest: dict[str, datetime] = {}
        langs: set[str | None] = set()
        for post in posts:
            stamp = entry_updated(post)
            if post.source not in newest or stamp > newest[post.source]:
                newest[post.source] = stamp
            langs.add(post.lang)
        language = langs.pop() if len(langs) == 1 else None
        return cls(max(newest.values(), default=now), language, newest)


def export_feed(
    posts: Sequence[StoredPost], fmt: Format, info: FeedInfo, now: datetime, summary: FeedSummary | None = None
) -> str:
    """The feed in `fmt` as text (XML for atom/rss, JSON for json); `summary` when the caller has it."""
    out = io.StringIO()
    write_feed(out, posts, fmt, info, summary or FeedSummary.of(posts, now))
    return out.getvalue()


def write_feed(out: TextIO, posts: Iterable[StoredPost], fmt: Format, info: FeedInfo, summary: FeedSummary) -> None:
    """Write the feed to `out` one post at a time; `summary` describes the same posts (FeedSummary.of)."""
    if fmt == "json":
        _write_json_feed(out, posts, info, summary)
    else:
        _write_xml_feed(out, posts, fmt, info, summary)


def entry_updated(post: Dated) -> datetime:
    """When a post last really changed: agg's change time, else the source's, never before publication."""
    return max(post.date, post.changed_at or post.updated or post.date)


class _EntryExtras(BaseEntryExtension):  # type: ignore[misc]
    """What feedgen cannot say itself: a full Atom `<source>`, related links, RSS `<source url>`, xml:lang."""

    def __init__(self) -> None:
        self.post: StoredPost | None = None
        self.source_url: str | None = None
        self.source_updated: datetime | None = None

    def extend_atom(self, entry: Any) -> Any:
        if self.post is None:
            return entry
        if self.post.lang:
            entry.set(_XML_LANG, self.post.lang)
        for home in self.post.other_homes:
            # the same story elsewhere; added here because feedgen drops `rel` from entry links
            xml_elem("link", entry, rel="related", href=home)
        source = xml_elem("source", entry)
        if self.source_url:
            xml_elem("id", source).text = self.source_url
        xml_elem("title", source).text = self.post.source
        if self.source_url:
            xml_elem("link", source, rel="alternate", href=self.source_url)
        if self.source_updated:
            xml_elem("updated", source).text = self.source_updated.isoformat()
        return entry

    def extend_rss(self, item: Any) -> Any:
        if self.post is not None and self.source_url:
            xml_elem("source", item, url=self.source_url).text = self.post.source
        return item


def _write_xml_feed(
    out: TextIO, posts: Iterable[StoredPost], fmt: Format, info: FeedInfo, summary: FeedSummary
) -> None:
    head, tail = _xml_head(fmt, info, summary)
    out.write(head)
    # each entry is serialised alone, so lxml declares the root's namespaces on it again: drop them
    own_namespace = (
        ' xmlns="http://www.w3.org/2005/Atom"' if fmt == "atom" else ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
    )
    for post in posts:
        try:
            element = _entry_element(post, fmt, info, summary)
        except ValueError:  # a character XML cannot carry, in a post stored before normalising dropped them
            element = _entry_element(_xml_safe_post(post), fmt, info, summary)
        text: str = etree.tostring(element, encoding="unicode", pretty_print=True)
        out.write(text.replace(own_namespace, "", 1))
    out.write(tail)


def _entry_element(post: StoredPost, fmt: Format, info: FeedInfo, summary: FeedSummary) -> Any:
    entry = _entry(post, info.source_urls.get(post.source), summary.source_updated.get(post.source))
    if fmt == "rss":
        # registered by class: load_extension("dc") first tries a module that does not exist, on every entry
        entry.register_extension("dc", DcEntryExtension, atom=False, rss=True)
        entry.dc.dc_creator(post.author or post.source)
    return entry.atom_entry() if fmt == "atom" else entry.rss_entry()


def _xml_safe_post(post: StoredPost) -> StoredPost:
    return replace(
        post,
        source=xml_safe(post.source),
        title=xml_safe(post.title),
        author=xml_safe(post.author) if post.author else post.author,
        summary=xml_safe(post.summary),
        content_html=xml_safe(post.content_html),
        tags=tuple(xml_safe(tag) for tag in post.tags),
    )


def _xml_head(fmt: Format, info: FeedInfo, summary: FeedSummary) -> tuple[str, str]:
    """The feed document without entries, cut where the entries go."""
    generator = FeedGenerator()
    generator.load_extension("dc", atom=False, rss=True)
    generator.id(info.self_url or FEED_ID)
    generator.title(info.title)
    generator.author({"name": "agg"})
    generator.generator("agg", version=__version__)
    generator.description(info.description)
    generator.subtitle(info.description)
    if info.self_url:
        generator.link(href=info.self_url, rel="self", type=_MIME[fmt])
    generator.link(href=info.home, rel="alternate")  # last, because feedgen makes the last link RSS's <link>
    generator.updated(summary.updated)
    generator.lastBuildDate(summary.updated)
    if summary.language:
        generator.language(summary.language)
    data: bytes = generator.atom_str(pretty=True) if fmt == "atom" else generator.rss_str(pretty=True)
    text = data.decode("utf-8")
    cut = text.rindex("</feed>" if fmt == "atom" else "</channel>")
    return text[:cut], text[cut:]


def _entry(post: StoredPost, source_url: str | None, source_updated: datetime | None) -> FeedEntry:
    entry = FeedEntry()
    entry.register_extension("agg", _EntryExtras)
    extras: _EntryExtras = entry.agg
    extras.post, extras.source_url, extras.source_updated = post, source_url, source_updated
    entry.id(post.canonical_url)
    entry.guid(post.canonical_url, permalink=True)
    entry.title(post.title)
    entry.link(href=post.url, rel="alternate")
    entry.published(post.date)
    entry.updated(entry_updated(post))
    entry.author({"name": post.author or post.source})
    content = post.content_html  # sanitised once, when the post was stored
    if content:
        entry.content(content, type="html")
    if post.summary:
        entry.summary(post.summary)  # plain text; feedgen also uses it as the RSS <description>
    for tag in post.tags:
        entry.category(term=tag)
    return entry


def _write_json_feed(out: TextIO, posts: Iterable[StoredPost], info: FeedInfo, summary: FeedSummary) -> None:
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1), one item per line; agg's own fields are under `_agg`."""
    feed: dict[str, object] = {"version": JSON_FEED_VERSION, "title": info.title, "description": info.description}
    if info.home_url or info.self_url:
        feed["home_page_url"] = info.home
    if info.self_url:
        feed["feed_url"] = info.self_url
    feed["authors"] = [{"name": "agg"}]
    if summary.language:
        feed["language"] = summary.language
    feed["items"] = []  # last, so the items can be written where its "[]" is
    head, tail = json.dumps(feed, ensure_ascii=False, indent=1).rsplit("[]", 1)
    out.write(head + "[")
    for index, post in enumerate(posts):
        out.write(",\n" if index else "\n")
        out.write(json.dumps(_json_item(post, info.source_urls.get(post.source)), ensure_ascii=False))
    out.write("\n]" + tail + "\n")


def _json_item(post: StoredPost, source_url: str | None) -> dict[str, object]:
    item: dict[str, object] = {
        "id": post.canonical_url,
        "url": post.url,
        "title": post.title,
        "content_html": post.content_html,
        "content_text": post.content_text,
        "date_published": to_iso(post.date),
        "date_modified": to_iso(entry_updated(post)),
        "authors": [{"name": post.author or post.source}],
        "tags": list(post.tags),
        "_agg": {
            "other_homes": list(post.other_homes),
            "papers": list(post.papers or ()),
            "source": post.source,
            "source_url": source_url,
            "status": post.status,
            "first_seen": to_iso(post.first_seen),
        },
    }
    if post.summary:
        item["summary"] = post.summary
    if post.lang:
        item["language"] = post.lang
    return item
