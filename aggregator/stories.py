"""One story per post: group the stored posts that are the same note, and explain or split a group.

Runs after every fetch: sketches come from the store (recomputed only when their version is stale),
grouping is `dedup.group_stories`, and the result replaces the store's story table in one
transaction. Nothing is ever deleted; a group's alternates stay as other homes of its primary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aggregator.dates import from_iso
from aggregator.dedup import (
    DEFAULT_POLICY,
    FINGERPRINT_VERSION,
    DedupPolicy,
    DupRecord,
    Fingerprint,
    explain,
    fingerprint,
    group_stories,
)
from aggregator.errors import AggError
from aggregator.store import Store

_KINDS = {"hackmd": "hackmd", "feed": "feed"}  # every scraped kind (hexo, hugo, html) is a "blog"


@dataclass(frozen=True, slots=True)
class GroupingResult:
    posts: int
    stories: int
    alternates: int


def _records(store: Store) -> tuple[list[DupRecord], dict[int, Fingerprint]]:
    records: list[DupRecord] = []
    prints: dict[int, Fingerprint] = {}
    stale: list[int] = []
    for row in store.dedup_rows():
        id_, *_, fp, size, version, _key = row
        records.append(_dup_record(row))
        if fp is not None and version == FINGERPRINT_VERSION:
            prints[id_] = Fingerprint.from_bytes(fp, size or 0)
        else:
            stale.append(id_)  # a sketch from another interpreter or an older agg: made again below
    if stale:
        # once the rows are read: each text read between two rows would pass through the scan's page cache
        fresh = {id_: fingerprint(store.post_text(id_)) for id_ in stale}
        prints.update(fresh)
        store.save_fingerprints([(id_, fp.to_bytes(), fp.size, FINGERPRINT_VERSION) for id_, fp in fresh.items()])
    return records, prints


def regroup(store: Store, policy: DedupPolicy = DEFAULT_POLICY) -> GroupingResult:
    """Group every stored post into stories and store the result."""
    records, prints = _records(store)
    groups = group_stories(records, policy, splits=store.splits(), fingerprints=prints, load_text=store.post_text)
    members: list[tuple[int, int, bool, float, str]] = []
    for group in groups:
        members.append((group.primary, group.primary, True, 0.0, ""))
        members.extend(
            (m, group.primary, False, p.score, p.rule) for m, p in zip(group.alternates, group.pairs, strict=True)
        )
    store.replace_stories(members)
    return GroupingResult(len(records), len(groups), sum(len(g.members) - 1 for g in groups))


def _dup_record(row: Sequence[Any], text: str = "") -> DupRecord:
    """A post as grouping sees it, from a `Store.dedup_rows()` row; `text` only where a pair is explained."""
    id_, url, source, title, author, published, kind, *_, key = row
    return DupRecord(id_, url, source, title, author, from_iso(published), text, _KINDS.get(kind, "blog"), key)


def _record(store: Store, post_id: int) -> DupRecord:
    rows = list(store.dedup_rows(post_id))
    if not rows:
        raise AggError(f"no stored post with id {post_id}")
    return _dup_record(rows[0], store.post_text(post_id))


def _post_id(store: Store, url: str) -> int:
    post_id = store.post_id_for_url(url)
    if post_id is None:
        raise AggError(f"no stored post at {url}")
    return post_id


def explain_url(store: Store, url: str, policy: DedupPolicy = DEFAULT_POLICY) -> list[str]:
    """Why the post at `url` is grouped with each other member of its story (or stands alone)."""
    post_id = _post_id(store, url)
    others = [m for m in store.story_of(post_id) if m != post_id]
    if not others:
        return [f"{url} stands alone: no other stored post is the same story."]
    me, splits = _record(store, post_id), store.splits()
    return [explain(me, _record(store, other), policy, splits) for other in others]


def split_url(store: Store, url: str, now: datetime, policy: DedupPolicy = DEFAULT_POLICY) -> int:
    """Take the post at `url` out of its story for good; return how many pairs were split."""
    post_id = _post_id(store, url)
    others = [m for m in store.story_of(post_id) if m != post_id]
    for other in others:
        store.add_split(post_id, other, now)
    regroup(store, policy)
    return len(others)
