"""`agg publish`: the five files of a static site, each written whole or not at all.

    store ─► feeds (atom.xml, rss.xml, feed.json) + digest.md + index.html ─► temp file ─► rename

Everything is rendered before anything is written, so a failure leaves the previous files as they
were; each file goes to a temporary name in the same folder and is renamed over the old one, so a
web server or a feed reader never sees half a file. Locking against a concurrent run is the caller's.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from aggregator.atomic import write_whole
from aggregator.digest import Digest, DigestEntry, build_digest
from aggregator.errors import AggError
from aggregator.export import Dated, FeedInfo, FeedSummary, export_feed
from aggregator.render import render_digest, render_index
from aggregator.store import Store
from aggregator.text import with_final_newline

FILES = ("atom.xml", "rss.xml", "feed.json", "digest.md", "index.html")
CHART_WEEKS = 12
# colour-blind-safe palette (Okabe-Ito); sources beyond it share the last colour
_PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#999999")
_CHART_W, _CHART_H, _CHART_PAD = 600, 160, 22


@dataclass(frozen=True, slots=True)
class PublishOptions:
    """What to publish: the window of the digest and page, how many posts the feeds hold, where it lives."""

    since: datetime
    now: datetime
    limit: int = 100  # newest posts in each feed; 0 = every post
    base_url: str | None = None  # the public URL of the folder, for the feeds' self links
    source_urls: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Bar:
    """One source's share of one week, as an SVG rect."""

    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[float, str], ...]  # (x, "11-02") under every other week
    legend: tuple[tuple[str, str, int], ...]  # (source, colour, posts in the chart's weeks)
    peak: int


@dataclass(frozen=True, slots=True)
class DayGroup:
    day: date
    sources: tuple[tuple[str, tuple[DigestEntry, ...]], ...]


@dataclass(frozen=True, slots=True)
class IndexPage:
    digest: Digest
    days: tuple[DayGroup, ...]
    chart: Chart
    generated: datetime


def publish_site(store: Store, out_dir: Path, options: PublishOptions) -> list[Path]:
    """Render the five files from the store, then write each atomically into `out_dir`; return their paths."""
    texts = render_site(store, options)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        # durable: a crash between two runs of cron must not leave a published name on an empty file
        return [write_whole(out_dir / name, with_final_newline(text), durable=True) for name, text in texts.items()]
    except OSError as e:
        raise AggError(f"{out_dir}: cannot write the site: {e.strerror or e}") from None


def render_site(store: Store, options: PublishOptions) -> dict[str, str]:
    """The five files' text, by file name."""
    posts = list(store.posts(limit=options.limit or None))
    base = options.base_url.rstrip("/") + "/" if options.base_url else None

    def info(name: str) -> FeedInfo:
        self_url = base + name if base else None
        return FeedInfo(self_url=self_url, home_url=base, source_urls=options.source_urls)

    digest = build_digest(store, options.since, options.now)
    chart_start = week_start(options.now.date()) - timedelta(weeks=CHART_WEEKS - 1)
    # the chart needs only sources and dates: read from the date index, not the posts
    weeks = [p for p in store.post_dates(since=_midnight(chart_start, options.now)) if p.date.date() >= chart_start]
    page = IndexPage(digest, group_by_day(digest.entries), build_chart(weeks, options.now), options.now)
    summary = FeedSummary.of(posts, options.now)  # one summary for the three feeds
    return {
        "atom.xml": export_feed(posts, "atom", info("atom.xml"), options.now, summary),
        "rss.xml": export_feed(posts, "rss", info("rss.xml"), options.now, summary),
        "feed.json": export_feed(posts, "json", info("feed.json"), options.now, summary),
        "digest.md": render_digest(digest, "md"),
        "index.html": render_index(page),
    }


def group_by_day(entries: Sequence[DigestEntry]) -> tuple[DayGroup, ...]:
    """Entries by UTC day (newest day first), then by source (name order), newest first inside."""
    days: dict[date, dict[str, list[DigestEntry]]] = defaultdict(lambda: defaultdict(list))
    for entry in sorted(entries, key=lambda e: e.date, reverse=True):
        days[entry.date.date()][entry.source].append(entry)
    return tuple(
        DayGroup(day, tuple((name, tuple(days[day][name])) for name in sorted(days[day], key=str.casefold)))
        for day in sorted(days, reverse=True)
    )


def week_start(day: date) -> date:
    """The Monday of `day`'s ISO week."""
    return day - timedelta(days=day.weekday())


def weekly_counts(posts: Sequence[Dated], now: datetime, weeks: int = CHART_WEEKS) -> dict[date, Counter[str]]:
    """Posts per source in each of the last `weeks` weeks (by publication date), oldest week first."""
    last = week_start(now.date())
    counts: dict[date, Counter[str]] = {last - timedelta(weeks=i): Counter() for i in reversed(range(weeks))}
    for post in posts:
        week = week_start(post.date.date())
        if week in counts:
            counts[week][post.source] += 1
    return counts


def build_chart(posts: Sequence[Dated], now: datetime) -> Chart:
    """A stacked bar chart of posts per week per source, laid out in SVG user units."""
    counts = weekly_counts(posts, now)
    totals = sum(counts.values(), Counter[str]())
    sources = sorted(totals, key=lambda s: (-totals[s], s.casefold()))
    colours = {s: _PALETTE[min(i, len(_PALETTE) - 1)] for i, s in enumerate(sources)}
    peak = max((sum(c.values()) for c in counts.values()), default=0)
    slot = (_CHART_W - 2 * _CHART_PAD) / len(counts)
    usable = _CHART_H - 2 * _CHART_PAD
    bars: list[Bar] = []
    ticks: list[tuple[float, str]] = []
    for index, (week, counter) in enumerate(counts.items()):
        x = _CHART_PAD + index * slot
        if index % 2 == 0:
            ticks.append((round(x + slot / 2, 1), f"{week:%m-%d}"))
        bottom = float(_CHART_H - _CHART_PAD)
        for source in sources:
            if not counter[source]:
                continue
            height = usable * counter[source] / peak
            bottom -= height
            count = counter[source]
            label = f"{source}: {count} post{'s' if count != 1 else ''}, week of {week:%Y-%m-%d}"
            bars.append(
                Bar(round(x + 2, 1), round(bottom, 1), round(slot - 4, 1), round(height, 1), colours[source], label)
            )
    legend = tuple((s, colours[s], totals[s]) for s in sources)
    return Chart(_CHART_W, _CHART_H, tuple(bars), tuple(ticks), legend, peak)


def _midnight(day: date, like: datetime) -> datetime:
    return datetime.combine(day, time(), tzinfo=like.tzinfo)
