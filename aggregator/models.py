"""The plain data that flows through the pipeline.

Two types per stage, as in reader: a `RawPost` is what a source said (optional, untrusted, as found);
a `Post` is what agg promises after normalisation (canonical URL, UTC dates, sanitised HTML, text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from aggregator.urls import url_key

Kind = Literal["auto", "feed", "hackmd", "hexo", "hugo", "html"]
KINDS: tuple[Kind, ...] = ("auto", "feed", "hackmd", "hexo", "hugo", "html")


@dataclass(frozen=True, slots=True)
class RawPost:
    """One post as a source found it. HTML here is untrusted and may hold relative links.

    `content_html` is the full article when the source had it; `summary_html` is whatever short text
    the source offered (a feed summary, a list-page excerpt). `base_url` resolves relative links.
    Dates are timezone-aware (UTC) or None; sources parse them with `aggregator.dates`.
    """

    url: str | None
    title: str | None = None
    guid: str | None = None
    author: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    content_html: str | None = None
    summary_html: str | None = None
    tags: tuple[str, ...] = ()
    base_url: str | None = None
    canonical_url: str | None = None
    lang_hint: str | None = None
    complete: bool = True  # False: only a summary was had (a download failed); fetch again next run


@dataclass(frozen=True, slots=True)
class Post:
    """One normalised post, ready for the store and every output."""

    canonical_url: str
    url: str
    source: str
    title: str
    title_key: str
    guid: str | None
    author: str | None
    published: datetime | None
    updated: datetime | None
    content_html: str
    content_text: str
    summary: str
    tags: tuple[str, ...]
    content_hash: str
    lang: str | None = None
    complete: bool = True
    papers: tuple[str, ...] = ()  # one key per cited paper: arxiv:2303.13744, doi:..., openreview:..., acl:...
    fingerprint: bytes | None = None  # the near-duplicate sketch of the text (dedup.Fingerprint.to_bytes)
    fingerprint_size: int = 0
    fingerprint_version: str | None = None  # sketches are comparable only within one version
    # identity keys, derived once where the post is made (a worker), not again by the store
    canonical_key: str = field(init=False)
    url_key: str = field(init=False)

    def __post_init__(self) -> None:
        own_key = url_key(self.url)
        object.__setattr__(self, "url_key", own_key)
        object.__setattr__(
            self, "canonical_key", own_key if self.canonical_url == self.url else url_key(self.canonical_url)
        )


@dataclass(frozen=True, slots=True)
class Validator:
    """What a server told us last time about a URL, to ask "has it changed?" next time."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


@dataclass(frozen=True, slots=True)
class KnownPost:
    """What the store already holds about a post, so a source can skip work on the next run."""

    url: str
    canonical_url: str
    updated: datetime | None
    content_hash: str
    has_content: bool


@dataclass(slots=True)
class SourceOutput:
    """Everything one source produced in one run.

    `posts` are to be stored; `unchanged_urls` were seen but not re-read (their stored rows stay as
    they are); `not_modified` means the source answered 304 as a whole; `warnings` are one-line
    notices worth showing under -v (entries skipped, pages that failed while others worked).
    """

    posts: list[RawPost] = field(default_factory=list)
    normalized: list[Post] | None = None  # set instead of `posts` by a source that normalised in its worker call
    unchanged_urls: list[str] = field(default_factory=list)
    not_modified: bool = False
    warnings: list[str] = field(default_factory=list)
    requests: int = 0
    detected_kind: str | None = None
