"""What is new in a window: posts published in it (new) and posts changed in it (updated), grouped.

A post backfilled on the first fetch of a source is not "new" to the reader: the window is about
publication and real change, not about when agg first looked. Undated posts count from first seen.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from aggregator.papers import paper_keys
from aggregator.store import Store, StoredPost

GroupBy = Literal["source", "tag", "paper"]
GROUPINGS: tuple[GroupBy, ...] = ("source", "tag", "paper")
NO_PAPER = "(no paper cited)"
# more posts than this "updated" on one day in one source is a site rebuild (Hexo's mtime), not edits
_REBUILD_THRESHOLD = 5


@dataclass(frozen=True, slots=True)
class DigestEntry:
    title: str
    url: str
    source: str
    author: str | None
    date: datetime
    status: Literal["new", "updated"]
    excerpt: str
    tags: tuple[str, ...]
    papers: tuple[str, ...] = ()  # paper keys (aggregator.papers: "arxiv:2301.00001", "doi:…") it cites
    other_homes: tuple[str, ...] = ()  # URLs of the same story elsewhere (cross-posts); filled in later


@dataclass(slots=True)
class DigestGroup:
    name: str
    entries: list[DigestEntry] = field(default_factory=list)


@dataclass(slots=True)
class Digest:
    since: datetime
    until: datetime
    groups: list[DigestGroup]
    failures: list[tuple[str, str]]

    @property
    def entries(self) -> list[DigestEntry]:
        unique = {(e.url, e.status): e for g in self.groups for e in g.entries}
        return list(unique.values())

    @property
    def total(self) -> int:
        return len({e.url for e in self.entries})

    @property
    def new(self) -> int:
        return sum(1 for e in self.entries if e.status == "new")

    @property
    def updated(self) -> int:
        return sum(1 for e in self.entries if e.status == "updated")

    @property
    def sources(self) -> int:
        return len({e.source for e in self.entries})


def classify(post: StoredPost, since: datetime, rebuild_days: set[tuple[str, str]]) -> Literal["new", "updated"] | None:
    """ "new" if published in the window (or undated and first seen in it), "updated" if changed in it."""
    if post.published is not None and post.published >= since:
        return "new"
    if post.published is None and post.first_seen >= since:
        return "new"
    if post.changed_at is not None and post.changed_at >= since:
        return "updated"
    if (
        post.updated is not None
        and post.updated >= since
        and (post.source, f"{post.updated:%Y-%m-%d}") not in rebuild_days
    ):
        return "updated"
    return None


def _rebuild_days(posts: Sequence[StoredPost]) -> set[tuple[str, str]]:
    counts = Counter((p.source, f"{p.updated:%Y-%m-%d}") for p in posts if p.updated is not None)
    return {key for key, count in counts.items() if count > _REBUILD_THRESHOLD}


def build_digest(
    store: Store, since: datetime, now: datetime, *, group_by: GroupBy = "source", sources: Sequence[str] = ()
) -> Digest:
    """The digest of the window [since, now], groups in name order, entries newest first."""
    candidates = list(store.posts(since=since, sources=sources))
    rebuilds = _rebuild_days(candidates)
    entries: list[DigestEntry] = []
    for post in candidates:
        status = classify(post, since, rebuilds)
        if status is None:
            continue
        entries.append(_entry(post, status))
    entries.sort(key=lambda e: e.date, reverse=True)
    return Digest(since, now, group_entries(entries, group_by), store.failures_since(since))


def _entry(post: StoredPost, status: Literal["new", "updated"]) -> DigestEntry:
    return DigestEntry(
        post.title,
        post.url,
        post.source,
        post.author,
        post.date if status == "new" else (post.changed_at or post.updated or post.date),
        status,
        post.summary,
        post.tags,
        papers=post.papers if post.papers is not None else paper_keys(f"{post.title}\n{post.content_text}"),
        other_homes=post.other_homes,
    )


def _group_keys(entry: DigestEntry, group_by: GroupBy) -> list[str]:
    if group_by == "source":
        return [entry.source]
    if group_by == "tag":
        return list(entry.tags) or ["(untagged)"]
    return list(entry.papers) or [NO_PAPER]


def group_entries(entries: Iterable[DigestEntry], group_by: GroupBy) -> list[DigestGroup]:
    """Entries into groups by source, tag or cited paper (a post under each of its tags or papers).

    Groups are in name order; posts that name no paper come last when grouping by paper.
    """
    groups: dict[str, DigestGroup] = defaultdict(lambda: DigestGroup(""))
    for entry in entries:
        for key in _group_keys(entry, group_by):
            group = groups[key]
            group.name = key
            group.entries.append(entry)
    return [groups[k] for k in sorted(groups, key=lambda k: (k == NO_PAPER, k.casefold()))]
