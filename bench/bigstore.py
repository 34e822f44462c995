"""A synthetic agg store of many posts, and the duplicate-grouping timing on it. Runs in agg's interpreter.

    python bench/bigstore.py build --db DB [--posts 100000] [--sources 200]
    python bench/bigstore.py sketch --db DB
    python bench/bigstore.py dedup --db DB

`build` writes posts through `aggregator.store.Store.save_source` (the path `agg fetch` uses): 2-8 KB
of HTML each, mostly CJK with TeX math, dates spread over the 3 years before NOW, ~3% cross-source
copies (same title and text, another URL) so duplicate grouping has something to find. Prints JSON.
`sketch` runs `aggregator.stories.regroup` (what `agg fetch` runs) once to compute and store every sketch;
`dedup` times it then, in a process of its own, as each fetch runs it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from array import array
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from feeds import _DISPLAY_MATH, _INLINE_MATH, _TAGS, _ZH

from aggregator.excerpt import make_excerpt
from aggregator.models import Post
from aggregator.store import FetchRecord, Store
from aggregator.stories import regroup
from aggregator.text import content_hash, title_key

NOW = datetime(2026, 7, 1, tzinfo=UTC)
RUN_DAYS = 30  # a source's posts are stored in one save_source call per 30 days (one "run" of agg fetch)


_SYLLABLES = ("ka", "to", "ri", "en", "al", "mo", "de", "si", "ur", "pa", "ne", "lo", "tra", "ver", "gen", "ion")


_HIGH_BYTES = bytes(0x4E + b % 0x52 for b in range(256))  # UTF-16 high bytes of U+4E00..U+9FFF


@dataclass(slots=True)
class TextPools:
    """Fresh random Chinese text and pseudo-words for every paragraph, plus a few stock phrases.

    Random text, so that unrelated posts share no more than real ones do: no paragraph is ever reused
    (reused paragraphs or slices of one stream make posts partial near-duplicates of many others), and the
    stock phrases (by ~30% of paragraphs) are the boilerplate real posts share. Built from random bytes at
    C speed: drawing every character with `random.choice` would cost more than the store itself."""

    vocabulary: list[str]

    @classmethod
    def make(cls, rng: random.Random) -> TextPools:
        return cls(["".join(rng.choices(_SYLLABLES, k=rng.randint(1, 4))) for _ in range(6000)])

    def chinese(self, rng: random.Random, count: int) -> str:
        units = bytearray(2 * count)
        units[0::2], units[1::2] = rng.randbytes(count), rng.randbytes(count).translate(_HIGH_BYTES)
        chunk = units.decode("utf-16-le")
        step = rng.randint(12, 30)
        text = "，".join(chunk[i : i + step] for i in range(0, len(chunk), step)) + "。"
        return rng.choice(_ZH) + text if rng.random() < 0.3 else text

    def english(self, rng: random.Random, count: int) -> str:
        words = [self.vocabulary[i % len(self.vocabulary)] for i in array("H", rng.randbytes(2 * count))]
        return " ".join(words).capitalize() + "."


def _body(rng: random.Random, pools: TextPools) -> tuple[str, str]:
    """About 2-8 KB of HTML: mostly Chinese paragraphs, some English, inline and display TeX, code, headings."""
    target = rng.randint(2000, 8000)  # bytes of HTML
    html: list[str] = []
    text: list[str] = []
    size = 0
    while size < target:
        roll = rng.random()
        if roll < 0.08:
            part = f"第{len(html)}节 {pools.english(rng, 3)}"
            html_part = f"<h2>{escape(part)}</h2>\n"
        elif roll < 0.16:
            part = rng.choice(_DISPLAY_MATH)
            html_part = f'<p><span class="math display">{escape(part)}</span></p>\n'
        elif roll < 0.2:
            part = "x = torch.softmax(h, dim=-1)\nloss = F.mse_loss(x, y)"
            html_part = f'<pre><code class="language-python">{escape(part)}</code></pre>\n'
        elif roll < 0.75:
            part = pools.chinese(rng, rng.randint(40, 160))
            if rng.random() < 0.5:
                part += f" {rng.choice(_INLINE_MATH)} " + pools.chinese(rng, rng.randint(10, 40))
            html_part = f"<p>{escape(part)}</p>\n"
        else:
            part = pools.english(rng, rng.randint(20, 60))
            html_part = f"<p>{escape(part)}</p>\n"
        html.append(html_part)
        text.append(part)
        size += len(html_part.encode("utf-8"))
    return "".join(html), "\n".join(text)


def _post(
    source: str, url: str, title: str, html: str, text: str, published: datetime | None, updated: datetime | None
) -> Post:
    tags: tuple[str, ...] = ()
    return Post(
        canonical_url=url,
        url=url,
        source=source,
        title=title,
        title_key=title_key(title),
        guid=url,
        author=f"author of {source}",
        published=published,
        updated=updated,
        content_html=html,
        content_text=text,
        summary=make_excerpt(text),
        tags=tags,
        content_hash=content_hash(title, text, ""),
        lang="zh",
    )


def build(db_path: Path, total: int, sources: int, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    pools = TextPools.make(rng)
    span = timedelta(days=3 * 365)
    started = time.perf_counter()
    store = Store.open(db_path)
    recent: list[Post] = []  # candidates for cross-source copies
    written = 0
    per_source = [total // sources + (1 if i < total % sources else 0) for i in range(sources)]
    copies = 0
    for number, count in enumerate(per_source):
        source = f"source-{number:03d}"
        posts: list[tuple[datetime, Post]] = []  # (when it was written, the post): undated posts have one too
        for index in range(count):
            written_at = NOW - span * rng.random()
            published: datetime | None = written_at if rng.random() >= 0.02 else None
            updated = None
            if published is not None and rng.random() < 0.15:
                updated = published + timedelta(days=rng.uniform(0, 200))
                updated = updated if updated <= NOW else None  # not clamped: that would pile them up on NOW
            url = f"https://blog{number}.example.org/{index // 50}/post-{number}-{index}/"
            if recent and rng.random() < 0.03:
                original = rng.choice(recent)
                post = _post(
                    source, url, original.title, original.content_html, original.content_text, published, updated
                )
                copies += 1
            else:
                title = f"{rng.choice(_ZH)[: rng.randint(8, 20)]} {rng.choice(_TAGS)} #{number}-{index}"
                html, text = _body(rng, pools)
                post = _post(source, url, title, html, text, published, updated)
            posts.append((written_at, post))
        recent.extend(p for _, p in posts if rng.random() < 0.01)  # copies come from other sources only
        runs: dict[int, list[Post]] = {}  # one fetch run per RUN_DAYS: it stores what appeared since the last
        for written_at, post in posts:
            runs.setdefault((NOW - written_at).days // RUN_DAYS, []).append(post)
        for age in sorted(runs, reverse=True):
            run = NOW - timedelta(days=age * RUN_DAYS)  # the end of the period: first_seen of its posts
            batch = runs[age]
            record = FetchRecord(source, run, run + timedelta(seconds=1), "ok", requests=1)
            feed_url = f"https://blog{number}.example.org/atom.xml"
            saved = store.save_source(source, feed_url, "feed", batch, [], {}, record)
            written += saved.new
    store.close()
    seconds = time.perf_counter() - started
    size = db_path.stat().st_size + sum(p.stat().st_size for p in db_path.parent.glob(db_path.name + "-wal"))
    return {"posts": written, "copies": copies, "sources": sources, "seconds": round(seconds, 2), "db_bytes": size}


def sketch(db_path: Path) -> dict[str, Any]:
    """The first `aggregator.stories.regroup(store)` on the fixture: it computes and stores the sketch of
    every post (the fixture's posts were stored without one), as the first fetch after a Python upgrade does."""
    store = Store.open(db_path)
    try:
        started = time.perf_counter()
        first = regroup(store)
        seconds = time.perf_counter() - started
    finally:
        store.close()
    return {"seconds": round(seconds, 3), "result": str(first)}


def dedup(db_path: Path) -> dict[str, Any]:
    """`aggregator.stories.regroup(store)`, what `agg fetch` runs after every fetch, in a process of its own
    as each fetch is, with every sketch read back from the store (run `sketch` first)."""
    store = Store.open(db_path)
    try:
        started = time.perf_counter()
        result = regroup(store)
        seconds = time.perf_counter() - started
    finally:
        store.close()
    return {
        "available": True,
        "function": "aggregator.stories.regroup(store), sketches stored, a new process",
        "records": result.posts,
        "seconds": round(seconds, 3),
        "groups": result.stories,
        "posts_in_groups": result.stories + result.alternates,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=("build", "sketch", "dedup"))
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--sources", type=int, default=200)
    args = parser.parse_args()
    if args.command == "build":
        print(json.dumps(build(args.db, args.posts, args.sources)))
    else:
        print(json.dumps((sketch if args.command == "sketch" else dedup)(args.db)))


if __name__ == "__main__":
    main()
