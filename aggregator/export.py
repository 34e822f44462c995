"""The merged feed: Atom 1.0 and RSS 2.0 through feedgen (the only module that imports it), and JSON Feed 1.1.

Stored content is already sanitised and its links absolute, so exporting is formatting only.
Entry ids are the canonical URLs: stable between runs, unique across sources.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from feedgen.feed import FeedGenerator

from aggregator import __version__
from aggregator.dates import to_iso
from aggregator.store import StoredPost

Format = Literal["atom", "rss", "json"]
FORMATS: tuple[Format, ...] = ("atom", "rss", "json")
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """What the merged feed says about itself."""

    title: str = "agg: merged study notes"
    self_url: str | None = None  # where the feed will be published, for the `self` link
    home_url: str | None = None
    description: str = "Posts from every source agg follows, newest first."


def export_feed(posts: Sequence[StoredPost], fmt: Format, info: FeedInfo, now: datetime) -> str:
    """The feed in `fmt` as text (XML for atom/rss, JSON for json)."""
    if fmt == "json":
        return json_feed(posts, info)
    return _xml_feed(posts, fmt, info, now)


def _feed_updated(posts: Sequence[StoredPost], now: datetime) -> datetime:
    # the newest real change, so `updated` moves only when a post does
    stamps = [p.changed_at or p.updated or p.date for p in posts]
    return max(stamps) if stamps else now


def _xml_feed(posts: Sequence[StoredPost], fmt: Format, info: FeedInfo, now: datetime) -> str:
    generator = FeedGenerator()
    self_url = info.self_url or "urn:agg:merged-feed"
    generator.id(info.self_url or "urn:agg:merged-feed")
    generator.title(info.title)
    generator.author({"name": "agg"})
    generator.generator("agg", version=__version__)
    generator.description(info.description)
    generator.subtitle(info.description)
    generator.link(href=info.home_url or info.self_url or "https://example.invalid/", rel="alternate")
    if info.self_url:
        generator.link(href=self_url, rel="self")
    generator.updated(_feed_updated(posts, now))
    generator.lastBuildDate(_feed_updated(posts, now))
    generator.language("mul")
    for post in posts:
        _add_entry(generator, post)
    data: bytes = generator.atom_str(pretty=True) if fmt == "atom" else generator.rss_str(pretty=True)
    return data.decode("utf-8")


def _add_entry(generator: FeedGenerator, post: StoredPost) -> None:
    entry = generator.add_entry(order="append")
    entry.id(post.canonical_url)
    entry.guid(post.canonical_url, permalink=True)
    entry.title(post.title)
    entry.link(href=post.url, rel="alternate")
    entry.published(post.date)
    entry.updated(post.changed_at or post.updated or post.date)
    entry.author({"name": post.author or post.source})
    if post.content_html:
        entry.content(post.content_html, type="html")
    if post.summary:
        entry.summary(post.summary)  # feedgen also uses it as the RSS <description>
    for tag in post.tags:
        entry.category(term=tag)
    entry.source(url=post.url, title=post.source)


def json_feed(posts: Iterable[StoredPost], info: FeedInfo) -> str:
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1); agg's own fields are under `_agg`."""
    feed: dict[str, object] = {"version": JSON_FEED_VERSION, "title": info.title, "description": info.description}
    if info.home_url:
        feed["home_page_url"] = info.home_url
    if info.self_url:
        feed["feed_url"] = info.self_url
    feed["items"] = [_json_item(p) for p in posts]
    return json.dumps(feed, ensure_ascii=False, indent=1)


def _json_item(post: StoredPost) -> dict[str, object]:
    item: dict[str, object] = {
        "id": post.canonical_url,
        "url": post.url,
        "title": post.title,
        "content_html": post.content_html,
        "content_text": post.content_text,
        "summary": post.summary,
        "date_published": to_iso(post.date),
        "date_modified": to_iso(post.changed_at or post.updated or post.date),
        "authors": [{"name": post.author or post.source}],
        "tags": list(post.tags),
        "_agg": {"source": post.source, "status": post.status, "first_seen": to_iso(post.first_seen)},
    }
    if post.lang:
        item["language"] = post.lang
    return item
