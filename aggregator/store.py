"""The SQLite store. The only module that imports sqlite-utils, which builds and migrates the schema.

Tables: `sources` (one row per configured source, with its last outcome), `posts` (one row per
page: unique on the folded canonical URL, and one row per normalised title within a source),
`fetch_log` (one row per source per run, kept LOG_DAYS), `http_cache` (validators for conditional GET).
Schema changes are numbered migrations tracked in `PRAGMA user_version`. WAL mode; each
source's results are written in one transaction, so a crash never leaves half a source.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypedDict, Unpack

if TYPE_CHECKING:  # imported when a migration runs: reading and writing rows is plain SQL on the connection
    import sqlite_utils

from aggregator.dates import from_iso, to_iso
from aggregator.models import KnownPost, Post, Validator
from aggregator.text import xml_safe
from aggregator.urls import url_key

Change = Literal["new", "updated", "unchanged"]


def _migration_1(db: sqlite_utils.Database) -> None:
    db.table("sources").create(
        {
            "name": str,
            "url": str,
            "kind": str,
            "detected_kind": str,
            "last_fetch": str,
            "last_status": str,
            "last_error": str,
            "last_success": str,
            "error_streak": int,
            "next_try": str,
        },
        pk="name",
    )
    db.table("posts").create(
        {
            "id": int,
            "url_key": str,
            "canonical_url": str,
            "url": str,
            "source": str,
            "guid": str,
            "title": str,
            "title_key": str,
            "author": str,
            "published": str,
            "updated": str,
            "summary": str,
            "content_html": str,
            "content_text": str,
            "tags": str,
            "lang": str,
            "content_hash": str,
            "complete": int,
            "first_seen": str,
            "last_seen": str,
            "changed_at": str,
            "status": str,
        },
        pk="id",
        not_null={"url_key", "canonical_url", "url", "source", "title", "title_key", "first_seen", "last_seen"},
    )
    db.table("posts").create_index(["url_key"], unique=True)
    db.table("posts").create_index(["source", "title_key"])
    db.table("posts").create_index(["source", "guid"])
    db.table("posts").create_index(["published"])
    db.table("posts").create_index(["first_seen"])
    db.table("fetch_log").create(
        {
            "id": int,
            "source": str,
            "started": str,
            "finished": str,
            "status": str,
            "new": int,
            "updated": int,
            "unchanged": int,
            "requests": int,
            "error": str,
        },
        pk="id",
    )
    db.table("fetch_log").create_index(["source", "started"])
    db.table("http_cache").create(
        {"url": str, "source": str, "etag": str, "last_modified": str, "body_hash": str}, pk="url"
    )


def _migration_2(db: sqlite_utils.Database) -> None:
    # trigram FTS: finds Chinese, Japanese and Korean words, which unicode61 cannot split
    db.execute(
        "CREATE VIRTUAL TABLE posts_fts USING fts5(title, content_text, content='posts', content_rowid='id', "
        "tokenize='trigram')"
    )
    db.execute(
        "CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN "
        "INSERT INTO posts_fts(rowid, title, content_text) VALUES (new.id, new.title, new.content_text); END"
    )
    db.execute(
        "CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN "
        "INSERT INTO posts_fts(posts_fts, rowid, title, content_text) "
        "VALUES ('delete', old.id, old.title, old.content_text); END"
    )
    db.execute(
        "CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, content_text ON posts BEGIN "
        "INSERT INTO posts_fts(posts_fts, rowid, title, content_text) "
        "VALUES ('delete', old.id, old.title, old.content_text); "
        "INSERT INTO posts_fts(rowid, title, content_text) VALUES (new.id, new.title, new.content_text); END"
    )
    db.execute("INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')")


def _migration_3(db: sqlite_utils.Database) -> None:
    # one story per post: cited papers, the near-duplicate sketch, story groups and the user's splits
    posts = db.table("posts")
    posts.add_column("papers", str)
    posts.add_column("fp", bytes)
    posts.add_column("fp_size", int)
    posts.add_column("fp_version", str)
    db.table("story_members").create(
        {"post_id": int, "story_id": int, "is_primary": int, "score": float, "rule": str}, pk="post_id"
    )
    db.table("story_members").create_index(["story_id"])
    db.table("story_splits").create({"a": int, "b": int, "created": str}, pk=("a", "b"))


def _migration_4(db: sqlite_utils.Database) -> None:
    # trigram indexing costs about 0.5 ms of CPU per post: a fetch only queues new and changed posts, and
    # the index catches up when it is read (Store.search), as reader's update_search() does
    db.execute("CREATE TABLE fts_pending (post_id INTEGER PRIMARY KEY)")
    for name in ("posts_fts_insert", "posts_fts_delete", "posts_fts_update"):
        db.execute(f"DROP TRIGGER {name}")
    # a post still queued was never indexed: only an indexed one has old terms to delete
    indexed_old = (
        "INSERT INTO posts_fts(posts_fts, rowid, title, content_text) "
        "SELECT 'delete', old.id, old.title, old.content_text "
        "WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE post_id = old.id); "
    )
    db.execute(
        "CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN "
        "INSERT OR IGNORE INTO fts_pending(post_id) VALUES (new.id); END"
    )
    db.execute(
        f"CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN {indexed_old}"
        "DELETE FROM fts_pending WHERE post_id = old.id; END"
    )
    db.execute(
        f"CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, content_text ON posts BEGIN {indexed_old}"
        "INSERT OR IGNORE INTO fts_pending(post_id) VALUES (new.id); END"
    )


def _migration_5(db: sqlite_utils.Database) -> None:
    # the feed order, and what an export's header needs, without reading past a post's large text columns
    db.execute(
        "CREATE INDEX posts_by_date ON posts (coalesce(published, first_seen), id, source, changed_at, updated, lang)"
    )


def _migration_6(db: sqlite_utils.Database) -> None:
    # normalising now drops what XML 1.0 cannot carry; posts stored before lose it too, so that every export
    # can write stored text as it is (a lone surrogate could never be stored; tags are JSON, which escapes)
    columns = ("title", "author", "summary", "content_html", "content_text")
    changed = []
    for id_, *texts, tags in db.execute(f"SELECT id, {', '.join(columns)}, tags FROM posts"):
        safe = [xml_safe(text) if text else text for text in texts]
        # tags are JSON: a control character is escaped there (\u000c), U+FFFE/U+FFFF are not
        unsafe_tags = tags and ("\\u00" in tags or xml_safe(tags) != tags)
        safe_tags = (
            json.dumps([t for tag in json.loads(tags) if (t := xml_safe(tag))], ensure_ascii=False)
            if unsafe_tags
            else tags
        )
        if safe != texts or safe_tags != tags:
            changed.append([*safe, safe_tags, id_])
    assignments = ", ".join(f"{column} = ?" for column in (*columns, "tags"))
    db.conn.executemany(f"UPDATE posts SET {assignments} WHERE id = ?", changed)


def _migration_7(db: sqlite_utils.Database) -> None:
    # every date query reads posts_by_date (migration 5): these two only cost each insert (9% of saving)
    db.execute("DROP INDEX IF EXISTS idx_posts_published")
    db.execute("DROP INDEX IF EXISTS idx_posts_first_seen")


def _migration_8(db: sqlite_utils.Database) -> None:
    # each source reads its validators at the start of a fetch: without this, every source scanned the whole cache
    db.execute("CREATE INDEX IF NOT EXISTS http_cache_by_source ON http_cache (source)")


def _migration_9(db: sqlite_utils.Database) -> None:
    # sketches in a table of their own: in a post's row they came after its text, so reading them all for
    # grouping walked every post's overflow pages (3 s and the whole file at 100k posts). The old columns
    # keep what they held (rewriting every row to clear them would write the whole file once more).
    db.execute(
        "CREATE TABLE IF NOT EXISTS post_sketches "
        "(post_id INTEGER PRIMARY KEY, fp BLOB NOT NULL, fp_size INTEGER NOT NULL, fp_version TEXT NOT NULL)"
    )
    db.execute(
        "INSERT OR IGNORE INTO post_sketches SELECT id, fp, coalesce(fp_size, 0), fp_version FROM posts "
        "WHERE fp IS NOT NULL AND fp_version IS NOT NULL"
    )


def _migration_10(db: sqlite_utils.Database) -> None:
    # the date index also covers what an Atom or RSS entry reads past the post's text (its tags, when it was
    # first seen, its status), so an export takes them from the index and never walks the text's overflow
    # pages to reach them: a fifth of reading 100k posts' rows
    db.execute("DROP INDEX posts_by_date")
    db.execute(
        "CREATE INDEX posts_by_date ON posts "
        "(coalesce(published, first_seen), id, source, changed_at, updated, lang, first_seen, tags, status)"
    )


MIGRATIONS: Sequence[Callable[[sqlite_utils.Database], None]] = (
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
    _migration_7,
    _migration_8,
    _migration_9,
    _migration_10,
)
_DEFERRED_POSTS = 1_000  # posts that wait for a commit at most: their pages (9 KB a post) fit in the cache
_DEFERRED_CACHE_KB = 16_384
_MAP_BYTES = 1 << 34  # more than any store: SQLite lowers it to what it may map (2 GB by default)
LOG_DAYS = 90  # the fetch log keeps this many days of runs (each source's last outcome stays in its row)
_COLUMNS = (
    "id", "canonical_url", "url", "source", "title", "author", "published", "updated", "summary", "content_html",
    "content_text", "tags", "lang", "first_seen", "changed_at", "status", "papers",
)  # fmt: skip
_POST_COLUMNS = ", ".join(f"posts.{column}" for column in _COLUMNS)
# the other homes of a post's story (alternates, or the primary and the other alternates)
_OTHER_HOMES = (
    "(SELECT json_group_array(o.url) FROM story_members m JOIN story_members n "
    "ON n.story_id = m.story_id AND n.post_id != m.post_id JOIN posts o ON o.id = n.post_id "
    "WHERE m.post_id = posts.id) AS other_homes"
)
_FEED_ORDER = "coalesce(published, first_seen) DESC, id DESC"  # walks the posts_by_date index backwards
_NOT_ALTERNATE = "NOT EXISTS (SELECT 1 FROM story_members s WHERE s.post_id = posts.id AND s.is_primary = 0)"
_INSERT_COLUMNS = (
    "url_key", "canonical_url", "url", "source", "guid", "title", "title_key", "author", "published", "updated",
    "summary", "content_html", "content_text", "tags", "lang", "content_hash", "complete", "papers", "first_seen",
    "last_seen", "changed_at", "status",
)  # fmt: skip
# one prepared statement per post: sqlite-utils' insert() re-reads the schema and rebuilds its SQL on each call
_INSERT_POST = f"INSERT INTO posts ({', '.join(_INSERT_COLUMNS)}) VALUES ({', '.join('?' * len(_INSERT_COLUMNS))})"
_EXISTING_COLUMNS = "id, url_key, source, content_hash, updated, coalesce(length(content_text), 0)"


@dataclass(frozen=True, slots=True)
class _Existing:
    """What saving a post needs to know of the stored row it matches."""

    id: int
    url_key: str
    source: str
    content_hash: str | None
    updated: str | None
    text_length: int


class StoredPost(NamedTuple):
    """A post as read back from the store, for exports and the digest.

    A named tuple, not a frozen dataclass: as immutable, and built in 0.5 us instead of 1.3 us (a frozen
    dataclass sets each of its 18 fields through object.__setattr__): 0.1 s of exporting 100k posts.
    """

    id: int
    canonical_url: str
    url: str
    source: str
    title: str
    author: str | None
    published: datetime | None
    updated: datetime | None
    summary: str
    content_html: str
    content_text: str
    tags: tuple[str, ...]
    lang: str | None
    first_seen: datetime
    changed_at: datetime | None
    status: str
    papers: tuple[str, ...] | None = None  # None: stored before papers were recorded, or not read (for a feed)
    other_homes: tuple[str, ...] = ()  # URLs of the same story on other pages or sources

    @property
    def date(self) -> datetime:
        """The date a reader sorts by: published, else when agg first saw it."""
        return self.published or self.first_seen


@dataclass(frozen=True, slots=True)
class PostBody:
    """A post's HTML and text as the UTF-8 the store holds: an export copies them out without decoding."""

    html: bytes
    text: bytes = b""


@dataclass(frozen=True, slots=True)
class ChangeSummary:
    """What the head of a feed says about its posts, as the store computes it."""

    newest: dict[str, datetime]  # each source's newest change: the later of the date and changed_at/updated
    languages: frozenset[str | None]


@dataclass(frozen=True, slots=True)
class PostDates:
    """A post's source and dates, without its text (the published site's weekly chart counts them)."""

    source: str
    date: datetime  # published, else first seen (StoredPost.date)
    changed_at: datetime | None
    updated: datetime | None
    lang: str | None


@dataclass(frozen=True, slots=True)
class SourceRow:
    name: str
    url: str
    kind: str
    detected_kind: str | None
    last_fetch: datetime | None
    last_status: str | None
    last_error: str | None
    error_streak: int
    next_try: datetime | None
    posts: int


@dataclass(frozen=True, slots=True)
class SourceState:
    """A source's earlier runs, as the next run needs them."""

    detected_kind: str | None
    last_error: str | None
    error_streak: int
    next_try: datetime | None


@dataclass(frozen=True, slots=True)
class FetchRecord:
    """One source's outcome in one run, as written to the fetch log."""

    source: str
    started: datetime
    finished: datetime
    status: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    requests: int = 0
    error: str | None = None


class Store:
    """One SQLite database; open with `Store.open(path)` (creates and migrates it)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._defer = False  # inside deferred_commits()
        self._deferred_posts = 0  # posts written since the last commit, inside deferred_commits()

    @classmethod
    def open(cls, path: Path | str) -> Store:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        if str(path) != ":memory:":
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a crash loses at most the last commit
        conn.execute("PRAGMA busy_timeout=30000")
        store = cls(conn)
        store.migrate()
        return store

    @cached_property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils on the same connection, imported on first use: it costs every command 50 ms to start."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    def close(self) -> None:
        self.commit_deferred()
        self.conn.close()

    def map_for_reading(self) -> None:
        """Read the file through a memory map, for a command that reads much of it and writes nothing (an
        export): copying every page out of the kernel's cache took a fifth of an export's time. The mapped
        pages are the kernel's page cache, which reading fills anyway, but RSS counts them. Not for writers:
        through a map, a failing disk is a crash (SIGBUS), not an error."""
        self.conn.execute(f"PRAGMA mmap_size = {_MAP_BYTES}")

    @contextlib.contextmanager
    def deferred_commits(self) -> Iterator[None]:
        """Within, a source's run is not committed on its own, but with the next write that must be (a failure),
        at `commit_deferred()`, once _DEFERRED_POSTS posts wait, or on leaving. A commit per source was an
        eighth of a run of 1,000 feeds that all answered 304; in a first run, it wrote every index's last
        pages again each time (65k pages into the log, against 34k). A crash loses the runs since the last
        commit whole, posts and validators together: the next run fetches them again, and nothing else."""
        self._defer = True
        before = [(name, self.conn.execute(f"PRAGMA {name}").fetchone()[0]) for name in ("temp_store", "cache_size")]
        # a long transaction's statement journals stay in memory (on disk, a first run wrote 117k pages
        # into them), and its pages in the cache until the commit (SQLite's default cache is 2 MB)
        self.conn.execute("PRAGMA temp_store = MEMORY")
        self.conn.execute(f"PRAGMA cache_size = {-_DEFERRED_CACHE_KB}")
        try:
            yield
        finally:
            self._defer = False
            self.commit_deferred()
            for name, value in before:
                self.conn.execute(f"PRAGMA {name} = {int(value)}")

    def commit_deferred(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")

    @property
    def version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        """Apply every migration newer than the database, each in its own transaction."""
        current = self.version  # read once: a store at the latest version (every run) runs nothing more
        for number, migration in enumerate(MIGRATIONS[current:], start=current + 1):
            with self._transaction():
                if self.version >= number:
                    continue  # another agg process applied it while this one waited for the transaction
                migration(self.db)
                self.conn.execute(f"PRAGMA user_version = {number}")

    def _transaction(self) -> _Transaction:
        if not self.conn.in_transaction:
            self._deferred_posts = 0  # whatever waited has been committed
        return _Transaction(self.conn, may_defer=self._defer)

    # -- writing ---------------------------------------------------------------------------------

    def save_source(
        self,
        source: str,
        url: str,
        kind: str,
        posts: Sequence[Post],
        seen_urls: Sequence[str],
        validators: dict[str, Validator],
        record: FetchRecord,
        detected_kind: str | None = None,
    ) -> FetchRecord:
        """Store one source's whole run in one transaction; return the record with its counts."""
        now = record.started  # every row written by one run carries the run's time
        counts = {"new": 0, "updated": 0, "unchanged": 0}
        with self._transaction() as transaction:
            self._upsert_source_row(source, url, kind, detected_kind)
            batch = unique_posts(posts)
            # a GUID that a feed gives to several links names none of them: never match on it
            guid_counts = Counter(p.guid for p in batch if p.guid)
            for post in batch:
                counts[self._upsert_post(post, now, use_guid=guid_counts[post.guid or ""] == 1)] += 1
            self._touch(seen_urls, now)
            self.conn.executemany(
                "INSERT INTO http_cache (url, source, etag, last_modified, body_hash) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (url) DO UPDATE SET source = excluded.source, etag = excluded.etag, "
                "last_modified = excluded.last_modified, body_hash = excluded.body_hash",
                [(u, source, v.etag, v.last_modified, v.body_hash) for u, v in validators.items()],
            )
            counts["unchanged"] += len(seen_urls)
            final = replace(record, new=counts["new"], updated=counts["updated"], unchanged=counts["unchanged"])
            self._log(final)
            self._deferred_posts += len(batch)
            transaction.deferrable = self._deferred_posts < _DEFERRED_POSTS
        return final

    def record_failure(self, source: str, url: str, kind: str, record: FetchRecord, retry_at: datetime | None) -> None:
        """Log a failed run of a source; its stored posts stay as they are."""
        with self._transaction():
            self._upsert_source_row(source, url, kind, None)
            self.conn.execute(
                "UPDATE sources SET last_fetch = ?, last_status = 'error', last_error = ?, "
                "error_streak = coalesce(error_streak, 0) + 1, next_try = ? WHERE name = ?",
                (to_iso(record.finished), record.error, to_iso(retry_at), source),
            )
            self._log(record)

    def _upsert_source_row(self, name: str, url: str, kind: str, detected_kind: str | None) -> None:
        # coalesce: a run that detected nothing keeps what an earlier run detected
        self.conn.execute(
            "INSERT INTO sources (name, url, kind, detected_kind) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE "
            "SET url = excluded.url, kind = excluded.kind, detected_kind = coalesce(excluded.detected_kind, "
            "detected_kind)",
            (name, url, kind, detected_kind or None),
        )

    def _log(self, record: FetchRecord) -> None:
        entry = _record_dict(record)
        self.conn.execute(
            f"INSERT INTO fetch_log ({', '.join(entry)}) VALUES ({', '.join('?' * len(entry))})", list(entry.values())
        )
        if record.status != "error":
            finished = to_iso(record.finished)
            self.conn.execute(
                "UPDATE sources SET last_fetch = ?, last_status = ?, last_error = NULL, last_success = ?, "
                "error_streak = 0, next_try = NULL WHERE name = ?",
                (finished, record.status, finished, record.source),
            )

    def _find_existing(self, post: Post, *, use_guid: bool) -> _Existing | None:
        """The stored row that is this post: same page, else same GUID in the source, else same title."""
        rows = self.conn.execute(
            f"SELECT {_EXISTING_COLUMNS} FROM posts WHERE url_key IN (?, ?)", (post.canonical_key, post.url_key)
        ).fetchall()
        for key in (post.canonical_key, post.url_key):
            for row in rows:
                if row[1] == key:
                    return _Existing(*row)
        lookups: list[tuple[str, tuple[Any, ...]]] = []
        if use_guid and post.guid:
            # LIMIT 2: a GUID held by two stored rows identifies neither
            lookups.append(("source = ? AND guid = ? LIMIT 2", (post.source, post.guid)))
        lookups.append(("source = ? AND title_key = ? LIMIT 1", (post.source, post.title_key)))
        for where, params in lookups:
            found = self.conn.execute(f"SELECT {_EXISTING_COLUMNS} FROM posts WHERE {where}", params).fetchall()
            if len(found) == 1:
                return _Existing(*found[0])
        return None

    def _upsert_post(self, post: Post, now: datetime, *, use_guid: bool = True) -> Change:
        existing = self._find_existing(post, use_guid=use_guid)
        values = _post_values(post)
        stamp = to_iso(now)
        if existing is None:
            values.update(first_seen=stamp, last_seen=stamp, changed_at=None, status="new")
            cursor = self.conn.execute(_INSERT_POST, [values[column] for column in _INSERT_COLUMNS])
            self._save_sketch(cursor.lastrowid, post)
            return "new"
        if existing.content_hash == post.content_hash and existing.url_key == post.canonical_key:
            # the source's own last-change time is kept even when the text did not change
            self._update_post(existing.id, {"last_seen": stamp, "updated": values["updated"] or existing.updated})
            return "unchanged"
        if existing.source != post.source and len(post.content_text) <= existing.text_length:
            # another source's copy of a page we already have in full: keep the richer one
            self._update_post(existing.id, {"last_seen": stamp})
            return "unchanged"
        # no other row holds post.canonical_key (_find_existing would have matched it): the row may take it
        values.update(source=existing.source, last_seen=stamp, changed_at=stamp, status="updated")
        self._update_post(existing.id, values)
        self._save_sketch(existing.id, post)
        return "updated"

    def _save_sketch(self, post_id: int | None, post: Post) -> None:
        if post.fingerprint is None or post.fingerprint_version is None:
            self.conn.execute("DELETE FROM post_sketches WHERE post_id = ?", [post_id])
        else:
            self.conn.execute(
                "INSERT OR REPLACE INTO post_sketches (post_id, fp, fp_size, fp_version) VALUES (?, ?, ?, ?)",
                [post_id, post.fingerprint, post.fingerprint_size, post.fingerprint_version],
            )

    def _update_post(self, post_id: int, values: dict[str, Any]) -> None:
        assignments = ", ".join(f"{column} = ?" for column in values)  # column names are ours, never input
        self.conn.execute(f"UPDATE posts SET {assignments} WHERE id = ?", [*values.values(), post_id])

    def _touch(self, urls: Sequence[str], now: datetime) -> None:
        stamp = to_iso(now)
        keys = []
        for url in urls:
            with contextlib.suppress(ValueError):  # a URL that does not parse names no stored row
                keys.append(url_key(url))
        self.conn.executemany("UPDATE posts SET last_seen = ? WHERE url_key = ?", [(stamp, key) for key in keys])

    # -- reading ---------------------------------------------------------------------------------

    def known_posts(self, source: str) -> dict[str, KnownPost]:
        """What is stored for a source, by url_key (of both the canonical URL and the URL as found)."""
        known: dict[str, KnownPost] = {}
        rows = self.conn.execute(
            "SELECT url, canonical_url, url_key, updated, content_hash, complete, length(content_text) "
            "FROM posts WHERE source = ?",
            [source],
        )
        for url, canonical, key, updated, digest, complete, text_length in rows:
            post = KnownPost(url, canonical, from_iso(updated), digest, bool(complete) and bool(text_length))
            known[key] = post
            with contextlib.suppress(ValueError):  # a stored URL that no longer parses keeps only its key
                known.setdefault(url_key(url), post)
        return known

    def validators(self, source: str) -> dict[str, Validator]:
        sql = "SELECT url, etag, last_modified, body_hash FROM http_cache WHERE source = ?"
        rows = self.conn.execute(sql, [source])
        return {url: Validator(etag, modified, digest) for url, etag, modified, digest in rows}

    def sources(self) -> list[SourceRow]:
        """Every source's row, with its post count."""
        rows = self.conn.execute(
            "SELECT s.name, s.url, s.kind, s.detected_kind, s.last_fetch, s.last_status, s.last_error, "
            "coalesce(s.error_streak, 0), s.next_try, (SELECT count(*) FROM posts p WHERE p.source = s.name) "
            "FROM sources s ORDER BY s.name"
        )
        return [
            SourceRow(n, u, k, d, from_iso(lf), ls, le, int(es), from_iso(nt), int(c))
            for n, u, k, d, lf, ls, le, es, nt, c in rows
        ]

    def source_states(self) -> dict[str, SourceState]:
        """What a run needs of each source's earlier runs, by name: the sources fetched at least once."""
        rows = self.conn.execute(
            "SELECT name, detected_kind, last_error, coalesce(error_streak, 0), next_try FROM sources"
        )
        return {name: SourceState(kind, error, int(streak), from_iso(at)) for name, kind, error, streak, at in rows}

    def posts(self, **query: Unpack[PostQuery]) -> Iterator[StoredPost]:
        """Posts newest first (by published date, else first seen), filtered; `limit` None or 0 = all.

        With `stories` (the default), a story's alternate homes are left out (they come with its primary
        as other_homes). Rows are read one at a time, so a caller never has to hold every post.
        """
        for row in self.conn.execute(*_select(f"{_POST_COLUMNS}, {_OTHER_HOMES}", query)):
            yield _stored_post(row)

    def posts_with_body(
        self, *, with_text: bool = True, **query: Unpack[PostQuery]
    ) -> Iterator[tuple[StoredPost, PostBody]]:
        """`posts()`, each with its HTML and text as UTF-8 bytes in a PostBody (the StoredPost's are empty).
        Without `with_text`, for a feed, the text is empty and the papers are None (not read).

        Decoding a gigabyte of CJK text to str and encoding it back cost a whole-store export a third of its time.
        """
        text = "CAST(posts.content_text AS BLOB)" if with_text else "x''"
        columns = _POST_COLUMNS.replace("posts.content_html", "''").replace("posts.content_text", "''")
        if not with_text:
            # every other column it reads past the text is in posts_by_date (migration 10), read from there
            columns = columns.replace("posts.papers", "NULL")
        sql, params = _select(f"{columns}, {_OTHER_HOMES}, CAST(posts.content_html AS BLOB), {text}", query)
        for *row, html, body_text in self.conn.execute(sql, params):
            yield _stored_post(row), PostBody(html or b"", body_text or b"")

    def post_dates(self, **query: Unpack[PostQuery]) -> list[PostDates]:
        """What `posts()` with the same query would give, as dates only (the published site's weekly chart):
        read from the posts_by_date index, never from the posts' text."""
        columns = "source, coalesce(published, first_seen), changed_at, updated, lang"
        return [
            PostDates(source, from_iso(date) or datetime.min.replace(tzinfo=UTC), from_iso(changed), from_iso(upd), lg)
            for source, date, changed, upd, lg in self.conn.execute(*_select(columns, query))
        ]

    def change_summary(self, **query: Unpack[PostQuery]) -> ChangeSummary:
        """Each source's newest change and the languages of what `posts()` with the same query gives.

        Computed in SQL from the posts_by_date index: reading 100k posts' dates into Python took 0.2 s.
        Stamps are compared on a fixed-width key, to the microsecond: to_iso writes no fraction for a whole
        second, so as text "…00Z" sorts after "…00.5Z", and julianday() keeps only milliseconds.
        """
        columns = "source, coalesce(published, first_seen) AS date, coalesce(changed_at, updated) AS changed, lang"
        posts, params = _select(columns, query)
        # most posts never changed: the NULL test spares them the two keys (a third of the query's time)
        later = (
            f"CASE WHEN changed IS NOT NULL AND {_time_key('changed')} > {_time_key('date')} THEN changed ELSE date END"
        )
        stamps = f"SELECT source, {later} AS stamp FROM ({posts})"
        rows = self.conn.execute(
            f"SELECT source, stamp, max({_time_key('stamp')}) FROM ({stamps}) GROUP BY source", params
        )
        newest = {source: stamp for source, text, _ in rows if (stamp := from_iso(text)) is not None}
        languages = frozenset(lang for (lang,) in self.conn.execute(f"SELECT DISTINCT lang FROM ({posts})", params))
        return ChangeSummary(newest, languages)

    def pending_index(self) -> int:
        """How many new or changed posts the full-text index has yet to take in."""
        return int(self.conn.execute("SELECT count(*) FROM fts_pending").fetchone()[0])

    def update_index(self) -> int:
        """Bring the full-text index up to date with the posts stored since it was last read; return how many."""
        with self._transaction():
            count = self.pending_index()
            if count:
                self.conn.execute(
                    "INSERT INTO posts_fts(rowid, title, content_text) "
                    "SELECT p.id, p.title, p.content_text FROM fts_pending f JOIN posts p ON p.id = f.post_id"
                )
                self.conn.execute("DELETE FROM fts_pending")
        return count

    def search(self, query: str, *, limit: int = 20) -> list[StoredPost]:
        """Posts whose title or text holds every term of `query`, best match first.

        Terms of three or more characters use the trigram index; shorter ones (a two-character Chinese
        word, "RL") fall back to a substring scan, which the trigram index cannot answer.
        """
        terms = [t for t in query.split() if t]
        if not terms:
            return []
        self.update_index()
        long_terms = [t for t in terms if len(t) >= 3]
        short_terms = [t for t in terms if len(t) < 3]
        where, params = [], []
        if long_terms:
            match = " AND ".join('"' + t.replace('"', '""') + '"' for t in long_terms)
            where.append("posts.id IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)")
            params.append(match)
        for term in short_terms:
            where.append("(instr(lower(posts.title), lower(?)) > 0 OR instr(lower(posts.content_text), lower(?)) > 0)")
            params += [term, term]
        # a title hit ranks above a body hit; then newest first
        order = "(CASE WHEN instr(lower(posts.title), lower(?)) > 0 THEN 0 ELSE 1 END), "
        params.append(terms[0])
        sql = (
            f"SELECT {_POST_COLUMNS}, {_OTHER_HOMES} FROM posts WHERE "
            + " AND ".join(where)
            + f" ORDER BY {order} coalesce(posts.published, posts.first_seen) DESC LIMIT {int(limit)}"
        )
        return [_stored_post(row) for row in self.conn.execute(sql, params)]

    # -- stories ----------------------------------------------------------------------------------

    def dedup_rows(self, post_id: int | None = None) -> Iterator[tuple[Any, ...]]:
        """(id, url, source, title, author, published, source kind, fp, fp_size, fp_version, title_key) of every
        post, or of one, read as they are used: 100k rows at once held 150 MB more at the peak of grouping."""
        where, params = ("WHERE p.id = ?", [post_id]) if post_id is not None else ("", [])
        return iter(
            self.conn.execute(
                "SELECT p.id, p.url, p.source, p.title, p.author, p.published, "
                "coalesce(s.detected_kind, s.kind, 'feed'), k.fp, k.fp_size, k.fp_version, p.title_key "
                "FROM posts p LEFT JOIN sources s ON s.name = p.source LEFT JOIN post_sketches k ON k.post_id = p.id "
                f"{where} ORDER BY p.id",
                params,
            )
        )

    def post_text(self, post_id: int) -> str:
        row = self.conn.execute("SELECT content_text FROM posts WHERE id = ?", [post_id]).fetchone()
        return str(row[0] or "") if row else ""

    def save_fingerprints(self, rows: Sequence[tuple[int, bytes, int, str]]) -> None:
        """Store recomputed sketches: (id, fp, size, version)."""
        with self._transaction():
            self.conn.executemany(
                "INSERT OR REPLACE INTO post_sketches (post_id, fp, fp_size, fp_version) VALUES (?, ?, ?, ?)",
                [(id_, fp, size, version) for id_, fp, size, version in rows],
            )

    def replace_stories(self, members: Sequence[tuple[int, int, bool, float, str]]) -> None:
        """The whole grouping at once: (post id, story id = primary id, is primary, score, rule)."""
        with self._transaction():
            self.conn.execute("DELETE FROM story_members")
            self.conn.executemany(
                "INSERT INTO story_members (post_id, story_id, is_primary, score, rule) VALUES (?, ?, ?, ?, ?)",
                [(p, s, int(primary), score, rule) for p, s, primary, score, rule in members],
            )

    def stories(self) -> list[list[tuple[int, str, str, str, bool, float, str]]]:
        """Each story's members (id, url, source, title, is primary, score, rule), primary first."""
        rows = self.conn.execute(
            "SELECT m.story_id, p.id, p.url, p.source, p.title, m.is_primary, m.score, m.rule "
            "FROM story_members m JOIN posts p ON p.id = m.post_id ORDER BY m.story_id, m.is_primary DESC, p.id"
        )
        grouped: dict[int, list[tuple[int, str, str, str, bool, float, str]]] = {}
        for story, *member in rows:
            id_, url, source, title, primary, score, rule = member
            grouped.setdefault(story, []).append((id_, url, source, title, bool(primary), score or 0.0, rule or ""))
        return list(grouped.values())

    def post_id_for_url(self, url: str) -> int | None:
        """The id of the stored post at `url` (any spelling of it)."""
        try:
            key = url_key(url)
        except ValueError:
            return None
        row = self.conn.execute("SELECT id FROM posts WHERE url_key = ? OR url = ?", [key, url]).fetchone()
        return int(row[0]) if row else None

    def story_of(self, post_id: int) -> list[int]:
        """The ids in the post's story (just the post when it stands alone)."""
        rows = self.conn.execute(
            "SELECT n.post_id FROM story_members m JOIN story_members n ON n.story_id = m.story_id "
            "WHERE m.post_id = ? ORDER BY n.post_id",
            [post_id],
        ).fetchall()
        return [int(r[0]) for r in rows] or [post_id]

    def add_split(self, a: int, b: int, now: datetime) -> None:
        """Remember that two posts are not one story; grouping never joins them again."""
        low, high = sorted((a, b))
        with self._transaction():
            self.conn.execute(
                "INSERT OR IGNORE INTO story_splits (a, b, created) VALUES (?, ?, ?)", [low, high, to_iso(now)]
            )

    def splits(self) -> list[frozenset[int]]:
        return [frozenset(row) for row in self.conn.execute("SELECT a, b FROM story_splits")]

    def count_posts(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM posts").fetchone()[0])

    def failures_since(self, since: datetime) -> list[tuple[str, str]]:
        """(source, last error) for sources whose latest run in the window failed.

        Read from each source's row, which the run that logs the outcome updates in the same transaction:
        the fetch log holds a row per source per run, and scanning it made a digest slower every day.
        """
        rows = self.conn.execute(
            "SELECT name, last_error FROM sources WHERE last_status = 'error' AND last_fetch >= ? ORDER BY name",
            [to_iso(since)],
        )
        return [(source, error or "") for source, error in rows]

    def prune_log(self, now: datetime) -> int:
        """Drop the fetch-log rows of runs that started more than LOG_DAYS before `now`; return how many.

        Rows are written in time order, so the old ones have the lowest ids: finding the first row to keep
        reads only the rows to drop, and a run from cron prunes the few hours that just aged out.
        """
        first_kept = (
            "coalesce((SELECT id FROM fetch_log WHERE started >= ? ORDER BY id LIMIT 1), "
            "(SELECT 1 + max(id) FROM fetch_log))"  # no run to keep: drop them all
        )
        cutoff = to_iso(now - timedelta(days=LOG_DAYS))
        return self.conn.execute(f"DELETE FROM fetch_log WHERE id < ({first_kept})", [cutoff]).rowcount


class PostQuery(TypedDict, total=False):
    """Which posts `Store.posts()`, `posts_with_body()`, `post_dates()` and `change_summary()` give."""

    since: datetime | None  # published, changed or updated since then
    limit: int | None  # None or 0: all
    sources: Sequence[str]
    tags: Sequence[str]
    lang: str | None
    stories: bool  # False: alternate homes of a story too


def _time_key(column: str) -> str:
    """SQL for a stored UTC stamp (to_iso's "2024-05-22T08:00:00[.123456]Z") as text that sorts as the time
    does: the fraction written out to six digits (NULL stays NULL)."""
    fraction = f"CASE WHEN substr({column}, 20, 1) = '.' THEN substr({column}, 20, 7) ELSE '.000000' END"
    return f"(substr({column}, 1, 19) || {fraction})"


def _select(columns: str, query: PostQuery) -> tuple[str, list[Any]]:
    """The SQL and parameters of a posts query, newest first."""
    where, params = [_NOT_ALTERNATE if query.get("stories", True) else "1 = 1"], []
    since = query.get("since")
    if since is not None:
        where.append("(coalesce(published, first_seen) >= ? OR changed_at >= ? OR updated >= ?)")
        params += [to_iso(since)] * 3
    sources = query.get("sources") or ()
    if sources:
        where.append(f"source IN ({', '.join('?' * len(sources))})")
        params += list(sources)
    if query.get("lang"):
        where.append("lang = ?")
        params.append(query.get("lang"))
    for tag in query.get("tags") or ():
        where.append("EXISTS (SELECT 1 FROM json_each(posts.tags) WHERE lower(json_each.value) = lower(?))")
        params.append(tag)
    sql = f"SELECT {columns} FROM posts WHERE {' AND '.join(where)} ORDER BY {_FEED_ORDER}"
    limit = query.get("limit")
    return (sql + f" LIMIT {int(limit)}" if limit else sql), params


def unique_posts(posts: Sequence[Post]) -> list[Post]:
    """One post per address and per title within a batch: the first wins (a feed listing a post twice)."""
    seen: set[str] = set()
    unique: list[Post] = []
    for post in posts:
        keys = {"u" + post.canonical_key, "u" + post.url_key, "t" + post.title_key}
        if keys & seen:
            continue
        seen |= keys
        unique.append(post)
    return unique


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception (the connection is in autocommit mode).

    Inside a transaction left open by a deferred commit, a savepoint: a failure undoes only its own writes.
    Set `deferrable` inside to leave the commit to Store.commit_deferred() (within Store.deferred_commits()).
    """

    def __init__(self, conn: sqlite3.Connection, *, may_defer: bool = False) -> None:
        self.conn = conn
        self.may_defer = may_defer
        self.deferrable = False
        self.nested = False

    def __enter__(self) -> _Transaction:
        self.nested = self.conn.in_transaction
        self.conn.execute("SAVEPOINT one_write" if self.nested else "BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        failed = exc_type is not None
        if self.nested:
            if failed:
                self.conn.execute("ROLLBACK TO one_write")  # this write only: the deferred ones before it stay
            self.conn.execute("RELEASE one_write")
        elif failed:
            self.conn.execute("ROLLBACK")
        if not failed and not (self.may_defer and self.deferrable):
            self.conn.execute("COMMIT")  # a nested write that must not wait commits the deferred ones with it


def _record_dict(record: FetchRecord) -> dict[str, Any]:
    return {
        "source": record.source,
        "started": to_iso(record.started),
        "finished": to_iso(record.finished),
        "status": record.status,
        "new": record.new,
        "updated": record.updated,
        "unchanged": record.unchanged,
        "requests": record.requests,
        "error": record.error,
    }


def _post_values(post: Post) -> dict[str, Any]:
    return {
        "url_key": post.canonical_key,
        "canonical_url": post.canonical_url,
        "url": post.url,
        "source": post.source,
        "guid": post.guid,
        "title": post.title,
        "title_key": post.title_key,
        "author": post.author,
        "published": to_iso(post.published),
        "updated": to_iso(post.updated),
        "summary": post.summary,
        "content_html": post.content_html,
        "content_text": post.content_text,
        "tags": json.dumps(list(post.tags), ensure_ascii=False),
        "lang": post.lang,
        "content_hash": post.content_hash,
        "complete": int(post.complete),
        "papers": json.dumps(list(post.papers)),
    }


def _stored_post(row: Sequence[Any]) -> StoredPost:
    (
        id_,
        canonical,
        url,
        source,
        title,
        author,
        published,
        updated,
        summary,
        content,
        text,
        tags,
        lang,
        first_seen,
        changed_at,
        status,
        papers,
        other_homes,
    ) = row
    return StoredPost(
        id=id_,
        canonical_url=canonical,
        url=url,
        source=source,
        title=title,
        author=author,
        published=from_iso(published),
        updated=from_iso(updated),
        summary=summary or "",
        content_html=content or "",
        content_text=text or "",
        tags=_json_tuple(tags),
        lang=lang,
        first_seen=from_iso(first_seen) or datetime.min,
        changed_at=from_iso(changed_at),
        status=status or "new",
        papers=_json_tuple(papers) if papers is not None else None,
        other_homes=_json_tuple(other_homes),
    )


def _json_tuple(value: str | None) -> tuple[str, ...]:
    # most posts have no tags and no other homes: json.loads("[]") would cost a third of reading a row
    return tuple(json.loads(value)) if value and value != "[]" else ()
