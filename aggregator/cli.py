"""The `agg` command line. The only module that imports typer.

A thin translator: parse arguments, call one function, print, pick the exit code.
Exit codes: 0 success; 1 some source failed (the others were stored); 2 usage or config error;
3 another agg run holds the database.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer

from aggregator import __version__
from aggregator.atomic import replacing
from aggregator.config import Config, Settings, SourceConfig, check_zone, find_config, load_config
from aggregator.dates import parse_date, parse_since, to_iso
from aggregator.errors import AggError, ConfigError, LockedError
from aggregator.lock import exclusive
from aggregator.models import KINDS
from aggregator.report import (
    report_json,
    report_line,
    source_table,
    source_table_text,
    stories_text,
    summary_line,
)
from aggregator.store import PostQuery, Store
from aggregator.text import with_final_newline
from aggregator.urls import is_http_url

if TYPE_CHECKING:  # the fetch engine (parsers, sanitiser, rich) is imported by the commands that fetch
    from aggregator.pipeline import SourceReport

EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 1, 2, 3

app = typer.Typer(
    name="agg",
    help="Follow ML study blogs (HackMD, Hexo, Hugo, RSS/Atom), store every post, and publish one merged feed.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

ConfigOption = Annotated[
    str | None,
    typer.Option("--config", "-c", help="Config file (default: $AGG_CONFIG, else ./feeds.toml).", show_default=False),
]
DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database file (default: $AGG_DB, else [settings] database).", show_default=False),
]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Show warnings and details.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print errors only (for cron).")]


class Output:
    """Where lines go: results to stdout, errors to stderr; -q keeps only errors, -v adds details."""

    def __init__(self, verbose: bool = False, quiet: bool = False) -> None:
        self.verbose = verbose and not quiet
        self.quiet = quiet

    def info(self, line: str) -> None:
        if not self.quiet:
            print(line, flush=True)

    def detail(self, line: str) -> None:
        if self.verbose:
            print(line, file=sys.stderr, flush=True)

    def error(self, line: str) -> None:
        print(line, file=sys.stderr, flush=True)


def now_utc() -> datetime:
    """The current time; $AGG_NOW (ISO 8601) pins it for reproducible digests and tests."""
    pinned = os.environ.get("AGG_NOW")
    if not pinned:
        return datetime.now(UTC)
    value = parse_date(pinned)
    if value is None:
        raise ConfigError(f"$AGG_NOW: cannot read {pinned!r} as a date")
    return value


@contextmanager
def handled_errors() -> Iterator[None]:
    """Expected errors become one line on stderr and their exit code; never a traceback."""
    try:
        yield
    except LockedError as e:
        print(f"agg: {e}", file=sys.stderr)
        raise typer.Exit(EXIT_LOCKED) from None
    except ConfigError as e:
        print(f"agg: {e}", file=sys.stderr)
        raise typer.Exit(EXIT_USAGE) from None
    except AggError as e:
        print(f"agg: {e}", file=sys.stderr)
        raise typer.Exit(EXIT_FAILED) from None


def open_config(config: str | None) -> Config:
    return load_config(find_config(config))


def open_store(config: Config, db: str | None) -> Store:
    path = config.database_path(db)
    try:
        return Store.open(path)
    except Exception as e:  # sqlite3.DatabaseError and OSError: name the file, not a traceback
        raise ConfigError(f"{path}: cannot open the database: {e}") from None


def _version_callback(value: bool) -> None:
    if value:
        print(f"agg {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """agg: a feed aggregator and scraper for ML study blogs."""


@app.command()
def fetch(
    source: Annotated[
        list[str] | None,
        typer.Option("--source", "-s", help="Fetch only this source (repeatable).", show_default=False),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Also fetch sources waiting after repeated failures.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a machine-readable summary instead of lines.")] = False,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for another agg run to finish.")] = 0.0,
    config: ConfigOption = None,
    db: DbOption = None,
    verbose: VerboseOption = False,
    quiet: QuietOption = False,
) -> None:
    """Fetch every enabled source (or the named ones) and store new and changed posts.

    Prints one line per source (new / updated / unchanged / error) and a summary.
    Exit code 0 when every source worked, 1 when some failed, 2 for usage or config errors,
    3 when another agg run is using the database.
    """
    from aggregator.pipeline import exit_code, select_sources

    out = Output(verbose, quiet or as_json)
    with handled_errors():
        cfg = open_config(config)
        chosen = select_sources(cfg, source or [])
        path = cfg.database_path(db)
        with exclusive(path, wait=wait, what="agg fetch"):
            store = open_store(cfg, db)
            try:
                now = now_utc()
                reports = _run_with_progress(cfg, store, chosen, out, force=force, now=now)
                _after_run(store, out, reports, now)
            finally:
                store.close()
        if as_json:
            print(report_json(reports))
        else:
            out.info(summary_line(reports))
        code = exit_code(reports)
    raise typer.Exit(code)


def _run_with_progress(
    cfg: Config, store: Store, chosen: list[SourceConfig], out: Output, *, force: bool = False, now: datetime
) -> list[SourceReport]:
    """Run the fetch with a live bar on a terminal, plain lines otherwise (cron)."""
    from aggregator.pipeline import run_fetch
    from aggregator.progress import FetchProgress

    with FetchProgress(len(chosen), quiet=out.quiet) as progress:

        def done(report: SourceReport) -> None:
            progress.finished(report.name, report_line(report), is_error=report.status == "error")
            if out.verbose:
                for warning in report.warnings:
                    progress.detail(f"{report.name}: warning: {warning}")
                if report.detail:
                    progress.detail(report.detail)

        import asyncio  # only the commands that fetch: 50 ms that export and digest need not pay

        return asyncio.run(
            run_fetch(
                cfg,
                store,
                chosen,
                force=force,
                now=now,
                on_start=lambda s: progress.started(s.name),
                on_done=done,
                on_notice=lambda line: progress.warning(f"agg: warning: {line}"),
            )
        )


@app.command()
def digest(
    since: Annotated[str, typer.Option("--since", help="Window: 12h, 7d, 2w, or an ISO date.")] = "7d",
    fmt: Annotated[str, typer.Option("--format", "-f", help="md, html or json.")] = "md",
    out_file: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")] = None,
    group_by: Annotated[str, typer.Option("--group-by", help="source, tag or paper (cited paper).")] = "source",
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="Only this source (repeatable).")] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Summarise what was published or changed in a window, grouped by source, newest first."""
    from aggregator.digest import GROUPINGS, build_digest
    from aggregator.render import DIGEST_FORMATS, render_digest

    with handled_errors():
        if fmt not in DIGEST_FORMATS:
            raise ConfigError(f"--format: {fmt!r} is not one of {', '.join(DIGEST_FORMATS)}")
        if group_by not in GROUPINGS:
            raise ConfigError(f"--group-by: {group_by!r} is not one of {', '.join(GROUPINGS)}")
        now = now_utc()
        start = parse_since(since, now)
        cfg = open_config(config)
        store = open_store(cfg, db)
        try:
            result = build_digest(store, start, now, group_by=group_by, sources=source or [])
        finally:
            store.close()
        _write(render_digest(result, fmt), out_file)


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", "-f", help="atom, rss or json (JSON Feed 1.1).")] = "atom",
    since: Annotated[str | None, typer.Option("--since", help="Only posts from this window (7d, ISO date).")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Newest N posts; 0 means every post.")] = 100,
    out_file: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")] = None,
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="Only this source (repeatable).")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Only posts with this tag (repeatable).")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="Only posts in this language (e.g. zh, en).")] = None,
    self_url: Annotated[str | None, typer.Option("--self-url", help="The URL the feed is published at.")] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Write one merged feed of all sources, newest first: Atom, RSS 2.0 or JSON Feed 1.1."""
    from aggregator.export import FORMATS, FeedInfo, FeedSummary, write_feed  # feedgen and lxml: only to export

    with handled_errors():
        if fmt not in FORMATS:
            raise ConfigError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
        if limit < 0:
            raise ConfigError("--limit must be 0 (every post) or more")
        now = now_utc()
        start = parse_since(since, now) if since else None
        cfg = open_config(config)
        store = open_store(cfg, db)
        store.map_for_reading()
        info = FeedInfo(self_url=self_url, source_urls={s.name: s.url for s in cfg.sources})
        query = PostQuery(since=start, limit=limit or None, sources=source or [], tags=tag or [], lang=lang)
        try:
            summary = FeedSummary.of_changes(store.change_summary(**query), now)
            rows = store.posts_with_body(with_text=fmt == "json", **query)  # Atom and RSS carry the HTML only
            _write_streamed(out_file, lambda out: write_feed(out, rows, fmt, info, summary))
        finally:
            store.close()


@app.command()
def publish(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the site into.", show_default=False)],
    no_fetch: Annotated[bool, typer.Option("--no-fetch", help="Publish what is stored; fetch nothing.")] = False,
    since: Annotated[str, typer.Option("--since", help="Window of the digest and page: 7d, 12h, ISO date.")] = "7d",
    limit: Annotated[int, typer.Option("--limit", "-n", help="Newest N posts in each feed; 0 = every post.")] = 100,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Public URL of the folder, for the feeds' self links.")
    ] = None,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for another agg run to finish.")] = 600.0,
    config: ConfigOption = None,
    db: DbOption = None,
    verbose: VerboseOption = False,
    quiet: QuietOption = False,
) -> None:
    """Fetch, then write atom.xml, rss.xml, feed.json, digest.md and index.html into a folder.

    Each file is written to a temporary name and renamed, so readers never see half a file. An
    overlapping run waits (--wait) for this one. Exit codes as for fetch: 0 all sources worked,
    1 some failed (the files are still written), 2 usage or config error, 3 another run held the lock.
    """
    from aggregator.pipeline import exit_code, select_sources
    from aggregator.publish import FILES, PublishOptions, publish_site

    out = Output(verbose, quiet)
    with handled_errors():
        if limit < 0:
            raise ConfigError("--limit must be 0 (every post) or more")
        if base_url is not None and not is_http_url(base_url):
            raise ConfigError(f"--base-url: {base_url!r} is not an absolute http:// or https:// URL")
        cfg = open_config(config)
        now = now_utc()
        options = PublishOptions(parse_since(since, now), now, limit, base_url, {s.name: s.url for s in cfg.sources})
        with exclusive(cfg.database_path(db), wait=wait, what="agg publish"):
            store = open_store(cfg, db)
            try:
                reports = [] if no_fetch else _run_with_progress(cfg, store, select_sources(cfg, []), out, now=now)
                _after_run(store, out, reports, now)
                publish_site(store, out_dir, options)
            finally:
                store.close()
        if reports:
            out.info(summary_line(reports))
        out.info(f"wrote {', '.join(FILES)} to {out_dir}")
        code = exit_code(reports)
    raise typer.Exit(code)


def _after_run(store: Store, out: Output, reports: list[SourceReport], now: datetime) -> None:
    """What follows a fetch: the stories regrouped, and the fetch log's runs older than LOG_DAYS dropped."""
    _regroup(store, out, reports)
    if reports:
        store.prune_log(now)


def _regroup(store: Store, out: Output, reports: list[SourceReport]) -> None:
    if reports and not any(r.new or r.updated for r in reports):
        return  # nothing new or changed: the stories are as they were (a warm run stays cheap)
    from aggregator.progress import working
    from aggregator.stories import regroup  # and the grouping code: 14 ms to import, for runs that stored something

    with working("grouping posts into stories", quiet=out.quiet):
        result = regroup(store)
    out.detail(
        f"stories: {result.posts} posts, {result.stories} with more than one home ({result.alternates} alternates)"
    )


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words to find in titles and text (Chinese, Japanese, Korean too).")],
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many results.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")] = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Full-text search over every stored post's title and text; title matches first, then newest."""
    with handled_errors():
        cfg = open_config(config)
        store = open_store(cfg, db)
        try:
            pending = store.pending_index()
            if pending > 1000 and sys.stderr.isatty():  # a first search after a big fetch takes a few seconds
                print(f"indexing {pending} new posts for search…", file=sys.stderr)
            found = store.search(query, limit=max(1, limit))
        finally:
            store.close()
    if as_json:
        rows = [{"title": p.title, "url": p.url, "source": p.source, "date": to_iso(p.date)} for p in found]
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for post in found:
        print(f"{post.date:%Y-%m-%d}  {post.title}  [{post.source}]\n    {post.url}")
    if not found:
        print(f"no post matches {query!r}")


@app.command()
def dupes(
    explain: Annotated[str | None, typer.Option("--explain", help="Say why the post at this URL is grouped.")] = None,
    split: Annotated[str | None, typer.Option("--split", help="Take the post at this URL out of its story.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")] = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """List stories with more than one home (cross-posts, republished notes) and their scores.

    --explain URL says why a post is grouped; --split URL separates it for good (remembered).
    """
    from aggregator.stories import explain_url, split_url

    with handled_errors():
        cfg = open_config(config)
        with exclusive(cfg.database_path(db), wait=30, what="agg dupes"):
            store = open_store(cfg, db)
            try:
                if explain:
                    print("\n".join(explain_url(store, explain)))
                    return
                if split:
                    count = split_url(store, split, now_utc())
                    print(f"split {split} from {count} other post(s); the split is remembered")
                    return
                stories = store.stories()
            finally:
                store.close()
    print(stories_text(stories, as_json))


sources_app = typer.Typer(
    help="List, add, import and export sources (feeds.toml).", rich_markup_mode=None, no_args_is_help=False
)
app.add_typer(sources_app, name="sources")
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@sources_app.callback(invoke_without_command=True)
def sources(ctx: typer.Context, as_json: JsonOption = False, config: ConfigOption = None, db: DbOption = None) -> None:
    """List each configured source with its kind, last fetch, outcome, error streak and post count."""
    if ctx.invoked_subcommand is None:
        _list_sources(as_json, config, db)


@sources_app.command("list")
def sources_list(as_json: JsonOption = False, config: ConfigOption = None, db: DbOption = None) -> None:
    """List each configured source (the same as `agg sources`)."""
    _list_sources(as_json, config, db)


@sources_app.command("add")
def sources_add(
    url: Annotated[str, typer.Argument(help="The blog, HackMD profile or feed URL.", show_default=False)],
    name: Annotated[str | None, typer.Option("--name", help="Source name (default: the site's title).")] = None,
    kind: Annotated[str, typer.Option("--kind", help="auto (detect), feed, hackmd, hexo, hugo or html.")] = "auto",
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Tag for its posts (repeatable).")] = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", help="IANA zone of the dates it writes with none (Asia/Shanghai).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Check that URL answers, detect its kind, and append it to feeds.toml (comments kept)."""
    import asyncio

    from aggregator.detect import default_name, detect_url
    from aggregator.sourcefile import add_sources

    with handled_errors():
        if kind not in KINDS:
            raise ConfigError(f"--kind: {kind!r} is not one of {', '.join(KINDS)}")
        if not is_http_url(url) or " " in url:
            raise ConfigError(f"{url!r} is not an absolute http:// or https:// URL")
        check_zone(timezone, "--timezone")
        path = find_config(config)
        settings = load_config(path).settings if path.exists() else Settings()
        detected = asyncio.run(detect_url(settings, url))
        chosen = detected.kind if kind == "auto" else kind
        source = SourceConfig(
            name=(name or default_name(detected)).strip(),
            url=url,
            kind=chosen,
            tags=tuple(tag or ()),
            timezone=timezone,
        )
        add_sources(path, [source])
    print(f"added {source.name!r} [{chosen}{', detected' if kind == 'auto' else ''}] {url} to {path}")


@sources_app.command("import")
def sources_import(
    file: Annotated[Path, typer.Argument(help="An OPML file (from a feed reader).", show_default=False)],
    config: ConfigOption = None,
) -> None:
    """Append every subscription of an OPML file to feeds.toml; ones already there are skipped."""
    from aggregator.opml import read_opml
    from aggregator.sourcefile import add_sources

    with handled_errors():
        found, warnings = read_opml(file)
        path = find_config(config)
        result = add_sources(path, found, skip_existing=True)
    for warning in warnings:
        print(f"agg: warning: {warning}", file=sys.stderr)
    for source, why in result.skipped:
        print(f"skipped {source.name!r}: {why}")
    print(f"imported {len(result.added)} sources into {path} ({len(result.skipped)} already there)")


@sources_app.command("export")
def sources_export(
    fmt: Annotated[str, typer.Option("--format", "-f", help="opml.")] = "opml",
    out_file: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")] = None,
    config: ConfigOption = None,
) -> None:
    """Write the configured sources as OPML, for a feed reader."""
    from aggregator.opml import write_opml

    with handled_errors():
        if fmt != "opml":
            raise ConfigError(f"--format: {fmt!r} is not one of opml")
        cfg = open_config(config)
        _write(write_opml(cfg.sources, now_utc()), out_file)


def _list_sources(as_json: bool, config: str | None, db: str | None) -> None:
    with handled_errors():
        cfg = open_config(config)
        store = open_store(cfg, db)
        try:
            rows = {row.name: row for row in store.sources()}
        finally:
            store.close()
    table = source_table(cfg.sources, rows)
    if as_json:
        print(json.dumps(table, ensure_ascii=False, indent=1))
    elif table:
        print(source_table_text(table))


def _write(text: str, out_file: Path | None) -> None:
    _write_streamed(out_file, lambda out: out.write(with_final_newline(text).encode()))


def _write_streamed(out_file: Path | None, write: Callable[[BinaryIO], object]) -> None:
    """Give `write` stdout, a device or pipe (/dev/null) as it is, or a temporary file beside `out_file`
    that then replaces it: readers never see half a file, and an export is never held whole in memory.
    What is written is UTF-8 whatever the locale, as the feeds declare."""
    if out_file is None:
        sys.stdout.flush()
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is None:  # a stdout that takes only text (redirect_stdout to a StringIO): written whole
            whole = io.BytesIO()
            write(whole)
            sys.stdout.write(whole.getvalue().decode())
            return
        write(buffer)
        buffer.flush()
        return
    if out_file.exists() and not out_file.is_file():
        with out_file.open("wb") as target:
            write(target)
        return
    with replacing(out_file) as target:
        write(target)


def main() -> None:
    """Entry point of the `agg` console script."""
    app()
