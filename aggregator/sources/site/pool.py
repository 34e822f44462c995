"""The post candidates of one site, merged from every channel, keyed by URL identity.

A candidate is vouched for when a feed or a list page presents it as a post; sitemap and search
index URLs only become candidates when they look like the vouched ones (or when there is nothing to
compare with, and then their page decides).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from aggregator.dom import html_to_text
from aggregator.excerpt import looks_truncated
from aggregator.models import KnownPost, RawPost
from aggregator.sources.site.filters import UrlShapes, is_non_post_url, section_roots
from aggregator.sources.site.indexes import IndexEntry
from aggregator.sources.site.listing import ListItem
from aggregator.urls import url_key

_MIN_BODY_CHARS = 200
_DATE_ONLY_SLACK = timedelta(days=1)


@dataclass(slots=True)
class Candidate:
    """Everything known about one URL before (and instead of) fetching its page."""

    url: str
    title: str | None = None  # the feed's title: the site's own words, preferred over the page's
    other_title: str | None = None  # from a list page or search index: used when the page has none
    published: datetime | None = None
    updated: datetime | None = None
    lastmod: datetime | None = None
    author: str | None = None
    tags: tuple[str, ...] = ()
    guid: str | None = None
    content_html: str | None = None  # full body from a feed
    summary_html: str | None = None
    excerpt_full_html: str | None = None  # a list page that printed the whole post
    feed_body_html: str | None = None  # an RSS description that may be the whole post: see calibrate
    feed_body_chars: int = 0  # the length of its text
    vouched: bool = False
    conflicting: bool = False  # listed twice with different dates: the page decides


@dataclass(frozen=True, slots=True)
class FeedPost:
    """A feed entry, with what its bodies are worth (measured in the worker that parsed the feed)."""

    post: RawPost
    content_is_full: bool  # Atom <content> or content:encoded, clearly longer than the summary, not cut short
    description_chars: int  # the text length of an RSS description that may be the whole post, else 0


def judge_feed_post(post: RawPost) -> FeedPost:
    """Whether a feed entry's body is the whole post; a description may be (Notepadium, Stack) or be
    only Hugo's summary, which the page then tells."""
    summary_text = html_to_text(post.summary_html or "")
    if post.content_html:
        text = html_to_text(post.content_html)
        full = bool(text) and not looks_truncated(text) and len(text) >= 1.5 * len(summary_text)
        return FeedPost(post, full, 0)
    whole = len(summary_text) >= _MIN_BODY_CHARS and not looks_truncated(summary_text)
    return FeedPost(post, False, len(summary_text) if whole else 0)


def is_newer(stamp: datetime | None, known: datetime | None) -> bool:
    """Did the page change after what is stored? Date-only sitemap stamps get a day of slack."""
    if stamp is None:
        return False
    if known is None:
        return True
    date_only = stamp.hour == stamp.minute == stamp.second == 0
    return stamp - known > (_DATE_ONLY_SLACK if date_only else timedelta(seconds=1))


def is_unchanged(candidate: Candidate, known: KnownPost | None) -> bool:
    """Stored with content, and no channel says it changed since."""
    if known is None or not known.has_content:
        return False
    return not is_newer(candidate.lastmod, known.updated) and not is_newer(candidate.updated, known.updated)


@dataclass(slots=True)
class CandidatePool:
    """Candidates by URL identity, in discovery order."""

    home: str
    by_key: dict[str, Candidate] = field(default_factory=dict)
    shapes: UrlShapes = field(init=False)

    def __post_init__(self) -> None:
        self.shapes = UrlShapes(self.home)

    def __len__(self) -> int:
        return len(self.by_key)

    def candidates(self) -> list[Candidate]:
        return list(self.by_key.values())

    def _slot(self, url: str) -> tuple[Candidate | None, bool]:
        """The candidate for `url` (made on first sight; None for a URL with no key), and whether it was known."""
        try:
            key = url_key(url)
        except ValueError:
            return None, False
        slot = self.by_key.get(key)
        if slot is not None:
            return slot, True
        slot = self.by_key[key] = Candidate(url=url)
        return slot, False

    def has(self, url: str) -> bool:
        try:
            return url_key(url) in self.by_key
        except ValueError:
            return False

    def add_feed_posts(self, entries: Iterable[FeedPost]) -> None:
        """Feed entries are vouched posts; undated ones (Hugo's 0001-01-01 pages) are left to their page."""
        for entry in entries:
            post = entry.post
            if not post.url or is_non_post_url(post.url, self.home):
                continue
            slot, known = self._slot(post.url)
            if slot is None:
                continue
            if known and slot.published and post.published and slot.published != post.published:
                slot.conflicting = True
                continue
            full, published = entry.content_is_full, post.published  # parse_date already dropped Hugo's 0001
            slot.title = slot.title or post.title
            slot.published = slot.published or published
            slot.updated = slot.updated or post.updated
            slot.author = slot.author or post.author
            slot.tags = slot.tags or post.tags
            slot.guid = slot.guid or post.guid
            slot.content_html = slot.content_html or ((post.content_html or post.summary_html) if full else None)
            slot.summary_html = slot.summary_html or (post.summary_html if not full else None)
            if entry.description_chars:
                slot.feed_body_html, slot.feed_body_chars = post.summary_html, entry.description_chars
            slot.vouched = slot.vouched or published is not None
            if published is not None:
                self.shapes.learn([post.url])

    def add_list_items(self, items: Iterable[ListItem]) -> None:
        """List page items are vouched posts."""
        for item in items:
            slot, _ = self._slot(item.url)
            if slot is None:
                continue
            slot.other_title = slot.other_title or item.title
            slot.published = slot.published or item.published
            slot.summary_html = slot.summary_html or (None if item.excerpt_is_full else item.excerpt_html)
            slot.excerpt_full_html = slot.excerpt_full_html or (item.excerpt_html if item.excerpt_is_full else None)
            slot.vouched = True
            self.shapes.learn([item.url])

    def add_index_entries(self, entries: list[IndexEntry]) -> int:
        """Sitemap or search index URLs that look like this site's posts. Returns how many were taken."""
        roots = section_roots(e.url for e in entries) | section_roots(c.url for c in self.by_key.values())
        taken = 0
        for entry in entries:
            if is_non_post_url(entry.url, self.home) or _path_dir(entry.url) in roots:
                continue
            if not self.has(entry.url) and not self._looks_like_post(entry.url):
                continue
            slot, _ = self._slot(entry.url)
            if slot is None:
                continue
            slot.lastmod = max(filter(None, (slot.lastmod, entry.lastmod)), default=None)
            slot.other_title = slot.other_title or entry.title
            slot.published = slot.published or entry.published
            slot.tags = slot.tags or entry.tags
            taken += 1
        return taken

    def _looks_like_post(self, url: str) -> bool:
        if not self.shapes.confident:
            return True  # nothing to compare with: the page will tell
        return self.shapes.matches(url) or self.shapes.plausible(url)


def _path_dir(url: str) -> str:
    return urlsplit(url).path.rstrip("/") + "/"
