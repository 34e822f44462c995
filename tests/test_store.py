"""The store: migrations, dedup on URL and title, updates, one transaction per source, CJK search."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator import store as store_module
from aggregator.dates import to_iso
from aggregator.export import FeedSummary
from aggregator.models import Post
from aggregator.store import LOG_DAYS, MIGRATIONS, FetchRecord, Store
from aggregator.text import content_hash, title_key

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def post(url: str, title: str, text: str = "body", source: str = "blog", **extra: object) -> Post:
    values: dict[str, object] = {
        "canonical_url": url,
        "url": url,
        "source": source,
        "title": title,
        "title_key": title_key(title),
        "guid": None,
        "author": "Ada",
        "published": NOW - timedelta(days=1),
        "updated": None,
        "content_html": f"<p>{text}</p>",
        "content_text": text,
        "summary": text[:50],
        "tags": ("ml",),
        "content_hash": content_hash(title, text, "ml"),
    }
    values.update(extra)
    return Post(**values)  # type: ignore[arg-type]


def save(store: Store, posts: list[Post], source: str = "blog", when: datetime = NOW) -> FetchRecord:
    record = FetchRecord(source, when, when, "ok")
    return store.save_source(source, "https://blog.test/", "feed", posts, [], {}, record)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "agg.db")


def test_migrations_are_versioned_and_idempotent(tmp_path: Path) -> None:
    first = Store.open(tmp_path / "agg.db")
    assert first.version == len(MIGRATIONS) == 10
    assert first.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    first.close()
    again = Store.open(tmp_path / "agg.db")  # opening an up-to-date database changes nothing
    assert again.version == len(MIGRATIONS)
    assert set(again.db.table_names()) >= {
        "fts_pending",
        "posts",
        "sources",
        "fetch_log",
        "http_cache",
        "story_members",
        "story_splits",
    }


def test_one_row_per_canonical_url_in_any_spelling(store: Store) -> None:
    record = save(store, [post("https://blog.test/a/", "A"), post("https://blog.test/b/", "B")])
    assert (record.new, record.updated, record.unchanged) == (2, 0, 0)
    again = save(store, [post("http://www.blog.test/a", "A")], when=NOW + timedelta(hours=1))
    assert (again.new, again.updated, again.unchanged) == (0, 0, 1)
    assert store.count_posts() == 2


def test_same_title_in_one_source_is_one_post_but_not_across_sources(store: Store) -> None:
    save(store, [post("https://blog.test/2024/notes/", "CLIP：Learning Transferable Models")])
    moved = save(store, [post("https://blog.test/notes.html", "clip learning transferable models", text="new")])
    assert moved.updated == 1 and store.count_posts() == 1
    save(
        store, [post("https://other.test/clip/", "CLIP: Learning Transferable Models", source="other")], source="other"
    )
    assert store.count_posts() == 2


def test_a_batch_listing_a_post_twice_stores_it_once(store: Store) -> None:
    record = save(store, [post("https://blog.test/a/", "A"), post("https://blog.test/a/#comments", "A")])
    assert record.new == 1 and store.count_posts() == 1


def test_changed_content_is_marked_updated_with_its_time(store: Store) -> None:
    save(store, [post("https://blog.test/a/", "A", text="first")])
    later = NOW + timedelta(days=2)
    record = save(store, [post("https://blog.test/a/", "A", text="second")], when=later)
    assert record.updated == 1
    [stored] = list(store.posts())
    assert stored.status == "updated" and stored.changed_at == later and stored.content_text == "second"
    assert stored.first_seen == NOW


def test_source_update_time_is_kept_when_text_is_the_same(store: Store) -> None:
    save(store, [post("https://blog.test/a/", "A")])
    edited = NOW + timedelta(hours=3)
    record = save(store, [post("https://blog.test/a/", "A", updated=edited)], when=NOW + timedelta(hours=4))
    assert record.unchanged == 1
    assert store.known_posts("blog")["//blog.test/a"].updated == edited


def test_incomplete_posts_are_known_without_content(store: Store) -> None:
    save(store, [post("https://blog.test/a/", "A", complete=False), post("https://blog.test/b/", "B")])
    known = store.known_posts("blog")
    assert known["//blog.test/a"].has_content is False
    assert known["//blog.test/b"].has_content is True


def test_a_failure_inside_a_source_rolls_back_the_whole_source(store: Store) -> None:
    good = post("https://blog.test/a/", "A")
    broken = dataclasses.replace(post("https://blog.test/b/", "B"), tags=(object(),))  # not JSON-serialisable
    with pytest.raises(TypeError):
        save(store, [good, broken])
    assert store.count_posts() == 0
    assert store.db.execute("SELECT count(*) FROM fetch_log").fetchone()[0] == 0


def _committed_sources(path: Path) -> set[str]:
    """The sources another connection sees: what has been committed."""
    with sqlite3.connect(path) as other:
        return {name for (name,) in other.execute("SELECT name FROM sources")}


def test_deferred_runs_wait_for_a_commit_a_failure_or_a_full_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "_DEFERRED_POSTS", 3)
    store = Store.open(tmp_path / "agg.db")
    save(store, [post("https://quiet.test/a/", "A", source="quiet")], source="quiet")
    with store.deferred_commits():
        save(store, [post("https://quiet.test/a/", "A", source="quiet")], source="quiet", when=NOW + timedelta(1))
        save(store, [], source="empty")
        save(store, [post("https://busy.test/a/", "A", source="busy")], source="busy")  # a new post waits too
        assert _committed_sources(tmp_path / "agg.db") == {"quiet"}  # all three waiting: nothing of theirs stored
        store.commit_deferred()
        assert _committed_sources(tmp_path / "agg.db") == {"quiet", "empty", "busy"}
        save(store, [post(f"https://full.test/{n}/", f"F{n}", source="full") for n in range(2)], source="full")
        assert "full" not in _committed_sources(tmp_path / "agg.db")  # 2 posts of 3 wait
        save(store, [post("https://more.test/a/", "M", source="more")], source="more")  # the third commits all
        assert {"full", "more"} <= _committed_sources(tmp_path / "agg.db")
        save(store, [post("https://next.test/a/", "N", source="next")], source="next")
        assert "next" not in _committed_sources(tmp_path / "agg.db")  # the count started again
        when = NOW + timedelta(hours=1)
        store.record_failure("dead", "https://dead.test/", "feed", FetchRecord("dead", when, when, "error"), None)
        assert {"next", "dead"} <= _committed_sources(tmp_path / "agg.db")  # a failure is stored at once
        save(store, [], source="last")
    assert "last" in _committed_sources(tmp_path / "agg.db")  # leaving commits
    save(store, [], source="after")
    assert "after" in _committed_sources(tmp_path / "agg.db")  # and ends the deferring
    assert store.conn.execute("PRAGMA cache_size").fetchone()[0] == -2000  # SQLite's default, as before
    assert store.conn.execute("PRAGMA temp_store").fetchone()[0] == 0
    store.close()


def test_a_failure_after_a_deferred_commit_undoes_only_its_own_source(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "agg.db")
    broken = dataclasses.replace(post("https://b.test/b/", "B", source="b"), tags=(object(),))
    with store.deferred_commits():
        save(store, [], source="a")
        with pytest.raises(TypeError):
            save(store, [post("https://b.test/a/", "A", source="b"), broken], source="b")
        when = NOW + timedelta(hours=1)
        store.record_failure("c", "https://c.test/", "feed", FetchRecord("c", when, when, "error", error="x"), None)
    assert _committed_sources(tmp_path / "agg.db") == {"a", "c"}
    assert store.count_posts() == 0
    assert [r[0] for r in store.db.execute("SELECT source FROM fetch_log ORDER BY id")] == ["a", "c"]
    store.close()


def test_failures_are_logged_with_a_growing_streak(store: Store) -> None:
    for attempt in range(3):
        when = NOW + timedelta(hours=attempt)
        record = FetchRecord("dead", when, when, "error", error="HTTP 500")
        store.record_failure("dead", "https://dead.test/", "feed", record, when + timedelta(hours=1))
    [row] = store.sources()
    assert row.error_streak == 3 and row.last_error == "HTTP 500" and row.next_try == NOW + timedelta(hours=3)
    assert store.failures_since(NOW) == [("dead", "HTTP 500")]
    save(store, [post("https://dead.test/a/", "A", source="dead")], source="dead", when=NOW + timedelta(hours=5))
    assert store.sources()[0].error_streak == 0


def test_search_finds_cjk_words_of_any_length(store: Store) -> None:
    save(
        store,
        [
            post("https://blog.test/attn/", "注意力機制論文閱讀", text="這篇筆記整理 Transformer 的自注意力與位置編碼"),
            post("https://blog.test/rl/", "強化學習筆記", text="策略梯度 policy gradient 與 REINFORCE"),
            post("https://blog.test/ko/", "머신러닝 공부 노트", text="어텐션 논문 읽기"),
        ],
    )
    assert [p.title for p in store.search("注意力")] == ["注意力機制論文閱讀"]
    assert [p.title for p in store.search("筆記")] == ["強化學習筆記", "注意力機制論文閱讀"]  # 2 chars: title hit first
    assert [p.title for p in store.search("policy gradient")] == ["強化學習筆記"]
    assert [p.title for p in store.search("어텐션")] == ["머신러닝 공부 노트"]
    assert store.search("transformer 位置編碼")[0].title == "注意力機制論文閱讀"
    assert store.search("diffusion") == []


def test_search_follows_updates(store: Store) -> None:
    save(store, [post("https://blog.test/a/", "Notes", text="about diffusion")])
    save(store, [post("https://blog.test/a/", "Notes", text="about flow matching")], when=NOW + timedelta(days=1))
    assert store.search("diffusion") == []
    assert [p.title for p in store.search("flow matching")] == ["Notes"]


def _index_is_consistent(store: Store) -> bool:
    # FTS5 compares an external-content index with its table when given rank 1, and raises on a mismatch
    store.db.execute("INSERT INTO posts_fts(posts_fts, rank) VALUES ('integrity-check', 1)")
    return True


def test_fetch_only_queues_posts_and_search_indexes_them(store: Store) -> None:
    save(store, [post("https://blog.test/a/", "Notes", text="about diffusion")])
    assert store.pending_index() == 1
    assert store.db.execute("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH 'diffusion'").fetchone()[0] == 0
    assert [p.title for p in store.search("diffusion")] == ["Notes"]
    assert store.pending_index() == 0 and _index_is_consistent(store)
    # an indexed post that changes has its old terms taken out at once and its new ones queued
    save(store, [post("https://blog.test/a/", "Notes", text="about flow matching")], when=NOW + timedelta(days=1))
    assert store.pending_index() == 1
    assert store.db.execute("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH 'diffusion'").fetchone()[0] == 0
    # a queued post that changes again, and one deleted before it was ever indexed, leave no trace
    save(store, [post("https://blog.test/a/", "Notes", text="about rectified flow")], when=NOW + timedelta(days=2))
    save(store, [post("https://blog.test/gone/", "Gone", text="transient words")])
    store.db.execute("DELETE FROM posts WHERE title = 'Gone'")
    assert store.update_index() == 1
    assert store.search("flow matching") == [] and store.search("transient") == []
    assert [p.title for p in store.search("rectified")] == ["Notes"]
    assert _index_is_consistent(store)


def test_a_version_8_database_keeps_its_sketches_in_their_own_table(tmp_path: Path) -> None:
    import sqlite3

    import sqlite_utils

    from aggregator.dedup import FINGERPRINT_VERSION, fingerprint

    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    for migration in MIGRATIONS[:8]:
        migration(sqlite_utils.Database(conn))
    conn.execute("PRAGMA user_version = 8")
    sketch = fingerprint("注意力机制 " * 40 + "attention is all you need")
    conn.execute(
        "INSERT INTO posts (url_key, canonical_url, url, source, title, title_key, content_text, first_seen, "
        "last_seen, fp, fp_size, fp_version) VALUES ('//blog.test/a', 'https://blog.test/a', 'https://blog.test/a', "
        "'blog', 'Old notes', 'old notes', 'x', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', ?, ?, ?)",
        [sketch.to_bytes(), sketch.size, FINGERPRINT_VERSION],
    )
    conn.close()
    store = Store.open(tmp_path / "old.db")
    (row,) = store.dedup_rows()
    assert row[7:10] == (sketch.to_bytes(), sketch.size, FINGERPRINT_VERSION)

    # a post saved now keeps its sketch there too, and a changed post's sketch replaces it
    def sketched(url: str, title: str, text: str) -> Post:
        fp = fingerprint(text)
        return post(url, title, text, fingerprint=fp.to_bytes(), fingerprint_size=fp.size,
                    fingerprint_version=FINGERPRINT_VERSION)  # fmt: skip

    save(store, [sketched("https://blog.test/b", "New notes", "flow matching and rectified flows " * 30)])
    save(store, [sketched("https://blog.test/a", "Old notes", "diffusion models, score matching " * 30)])
    rows = {r[1]: r for r in store.dedup_rows()}
    assert rows["https://blog.test/b"][7] == fingerprint("flow matching and rectified flows " * 30).to_bytes()
    assert rows["https://blog.test/a"][7] == fingerprint("diffusion models, score matching " * 30).to_bytes()
    assert store.conn.execute("SELECT count(*) FROM post_sketches").fetchone()[0] == 2
    save(store, [post("https://blog.test/a", "Old notes", text="")])  # now without text, so without a sketch
    assert {r[1]: r[7] for r in store.dedup_rows()}["https://blog.test/a"] is None


def test_a_version_3_database_keeps_its_index(tmp_path: Path) -> None:
    import sqlite3

    import sqlite_utils

    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    for migration in MIGRATIONS[:3]:
        migration(sqlite_utils.Database(conn))
    conn.execute("PRAGMA user_version = 3")
    conn.execute(
        "INSERT INTO posts (url_key, canonical_url, url, source, title, title_key, content_text, first_seen, "
        "last_seen) VALUES ('//blog.test/a', 'https://blog.test/a', 'https://blog.test/a', 'blog', 'Old notes', "
        "'old notes', 'about diffusion', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
    )
    conn.close()
    store = Store.open(tmp_path / "old.db")
    assert store.version == len(MIGRATIONS) and store.pending_index() == 0
    assert [p.title for p in store.search("diffusion")] == ["Old notes"]
    save(store, [post("https://blog.test/a", "Old notes", text="about flow matching")])
    assert store.search("diffusion") == [] and [p.title for p in store.search("matching")] == ["Old notes"]
    assert _index_is_consistent(store)


def test_same_guid_with_a_new_link_is_an_update(store: Store) -> None:
    save(store, [post("https://blog.test/old-slug/", "Old title", guid="post-17")])
    record = save(store, [post("https://blog.test/new-slug/", "New title", guid="post-17")], when=NOW + timedelta(1))
    assert (record.new, record.updated) == (0, 1)
    [stored] = list(store.posts())
    assert stored.url == "https://blog.test/new-slug/" and stored.title == "New title"


def test_changed_guid_with_the_same_link_is_the_same_post(store: Store) -> None:
    save(store, [post("https://blog.test/a/", "A", guid="v1")])
    record = save(store, [post("https://blog.test/a/", "A", guid="v2")], when=NOW + timedelta(1))
    assert record.unchanged == 1 and store.count_posts() == 1


def test_a_guid_shared_by_different_links_keeps_them_apart(store: Store) -> None:
    record = save(
        store,
        [post("https://blog.test/w2/", "Week 2", guid="dup"), post("https://blog.test/w3/", "Week 3", guid="dup")],
    )
    assert record.new == 2
    again = save(store, [post("https://blog.test/w4/", "Week 4", guid="dup")], when=NOW + timedelta(1))
    assert again.new == 1 and store.count_posts() == 3  # two stored rows hold the GUID: it identifies neither


def test_post_dates_are_the_posts_dates_read_from_the_index(store: Store) -> None:
    save(store, [post(f"https://a.test/{n}/", f"A{n}", published=NOW - timedelta(days=n), lang="en") for n in range(4)])
    save(store, [post("https://b.test/x/", "B", source="other", published=None, lang="zh")], source="other")
    for filters in ({}, {"sources": ["blog"]}, {"lang": "zh"}, {"since": NOW - timedelta(days=2)}, {"limit": 2}):
        posts = list(store.posts(**filters))  # type: ignore[arg-type]
        dates = store.post_dates(**filters)  # type: ignore[arg-type]
        assert [(d.source, d.date, d.lang) for d in dates] == [(p.source, p.date, p.lang) for p in posts]
    plan = " ".join(
        str(row)
        for row in store.db.execute(
            "EXPLAIN QUERY PLAN SELECT source, coalesce(published, first_seen), changed_at, updated, lang FROM posts "
            "ORDER BY coalesce(published, first_seen) DESC, id DESC"
        )
    )
    assert (
        "USING INDEX posts_by_date" in plan or "COVERING INDEX posts_by_date" in plan
    )  # the header of a 100k-post export never reads the texts


def test_what_a_fetch_reads_of_one_source_never_scans_the_others(store: Store) -> None:
    # a run reads these once per source (the sources' states, once per run): a scan would cost N squared
    save(store, [post("https://blog.test/a", "A")])
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    store.validators("blog")
    store.known_posts("blog")
    store.db.conn.set_trace_callback(None)
    assert len(statements) == 2
    for sql in statements:
        plan = " ".join(row[3] for row in store.db.execute("EXPLAIN QUERY PLAN " + sql))
        assert "SCAN" not in plan.replace("COVERING INDEX", ""), (sql, plan)


def fail(store: Store, source: str, when: datetime, error: str = "HTTP 500") -> None:
    record = FetchRecord(source, when, when, "error", error=error)
    store.record_failure(source, f"https://{source}.test/", "feed", record, None)


def test_failures_are_the_sources_whose_latest_run_in_the_window_failed(store: Store) -> None:
    fail(store, "down", NOW - timedelta(days=1))  # failed in the window, and since
    fail(store, "back", NOW - timedelta(days=2))
    save(store, [post("https://back.test/a", "A", source="back")], source="back", when=NOW - timedelta(hours=1))
    fail(store, "old", NOW - timedelta(days=30))  # its last run failed, before the window
    assert store.failures_since(NOW - timedelta(days=7)) == [("down", "HTTP 500")]
    assert store.failures_since(NOW - timedelta(days=60)) == [("down", "HTTP 500"), ("old", "HTTP 500")]


def test_the_fetch_log_keeps_log_days_of_runs(store: Store) -> None:
    ages = (200, 120, LOG_DAYS + 1, LOG_DAYS - 1, 10, 0)
    for days in ages:
        when = NOW - timedelta(days=days)
        save(store, [post(f"https://blog.test/{days}", f"T{days}")], when=when)
        fail(store, "other", when)
    assert store.prune_log(NOW) == 2 * 3 and store.prune_log(NOW) == 0
    kept = [row[0] for row in store.db.execute("SELECT started FROM fetch_log ORDER BY id")]
    assert kept == [to_iso(NOW - timedelta(days=d)) for d in ages[3:] for _ in range(2)]
    assert store.count_posts() == len(ages)  # the posts are not the log's
    assert store.failures_since(NOW - timedelta(days=1)) == [("other", "HTTP 500")]
    # no run left inside the window: every row goes, and each source's last outcome stays in its row
    assert store.prune_log(NOW + timedelta(days=LOG_DAYS + 1)) == 2 * 3
    assert store.db.execute("SELECT count(*) FROM fetch_log").fetchone()[0] == 0
    assert store.failures_since(NOW - timedelta(days=1)) == [("other", "HTTP 500")]


def test_change_summary_is_what_the_posts_dates_give(store: Store) -> None:
    half = timedelta(microseconds=500_000)
    save(
        store,
        [
            post(
                "https://a.test/1/", "A1", published=NOW - timedelta(days=3), updated=NOW - timedelta(days=1), lang="en"
            ),
            post(
                "https://a.test/2/", "A2", published=NOW - timedelta(days=2), updated=NOW - timedelta(days=5), lang="en"
            ),
            post("https://a.test/3/", "A3", published=NOW - timedelta(days=1) + half, lang="en"),  # a fraction: later
        ],
    )
    save(store, [post("https://b.test/x/", "B", source="other", published=None, lang="zh")], source="other")
    for filters in ({}, {"sources": ["blog"]}, {"lang": "zh"}, {"since": NOW - timedelta(days=2)}, {"limit": 2}):
        expected = FeedSummary.of(store.post_dates(**filters), NOW)  # type: ignore[arg-type]
        assert FeedSummary.of_changes(store.change_summary(**filters), NOW) == expected  # type: ignore[arg-type]
    summary = store.change_summary()
    assert summary.newest["blog"] == NOW - timedelta(days=1) + half and summary.newest["other"] == NOW
    # 300 microseconds later than its date: julianday() would call the two equal
    tiny = NOW + timedelta(days=3)
    save(
        store,
        [post("https://c.test/1/", "C", source="third", published=tiny, updated=tiny + timedelta(microseconds=300))],
        source="third",
    )
    assert store.change_summary().newest["third"] == tiny + timedelta(microseconds=300)
    assert FeedSummary.of(store.post_dates(), NOW).source_updated["third"] == tiny + timedelta(microseconds=300)
    assert summary.languages == {"en", "zh"} and store.change_summary(lang="zh").languages == {"zh"}


def test_posts_with_body_are_the_posts_with_their_html_and_text_as_utf8(store: Store) -> None:
    save(store, [post("https://blog.test/a", "Attention", "注意力 softmax", papers=("arxiv:1706.03762",))])
    save(store, [post("https://blog.test/b", "Untagged", tags=())])
    store.db.execute("UPDATE posts SET content_html = NULL WHERE title = 'Untagged'")  # as old rows may hold
    for query in ({}, {"limit": 1}, {"tags": ["ml"]}, {"sources": ["nowhere"]}):
        full = list(store.posts(**query))  # type: ignore[arg-type]
        with_body = list(store.posts_with_body(**query))  # type: ignore[arg-type]
        assert [p for p, _ in with_body] == [p._replace(content_html="", content_text="") for p in full]
        assert [(b.html.decode(), b.text.decode()) for _, b in with_body] == [
            (p.content_html, p.content_text) for p in full
        ]
    for_feed = list(store.posts_with_body(with_text=False))
    assert [b.text for _, b in for_feed] == [b"", b""]
    # a feed's entries carry no papers: they are left unread, and every other field is the same
    everything = list(store.posts())
    assert [p for p, _ in for_feed] == [p._replace(content_html="", content_text="", papers=None) for p in everything]
    assert {p.title: (p.tags, p.papers) for p, _ in store.posts_with_body()} == {
        "Attention": (("ml",), ("arxiv:1706.03762",)),
        "Untagged": ((), ()),
    }


def test_indexes_no_query_uses_are_gone_and_date_queries_keep_theirs(store: Store) -> None:
    indexes = {row[0] for row in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"idx_posts_published", "idx_posts_first_seen"}.isdisjoint(indexes) and "posts_by_date" in indexes
    since = "(coalesce(published, first_seen) >= ? OR changed_at >= ? OR updated >= ?)"
    plan = " ".join(
        str(row)
        for row in store.db.execute(
            f"EXPLAIN QUERY PLAN SELECT id FROM posts WHERE {since} ORDER BY coalesce(published, first_seen) DESC",
            ["2026-11-01"] * 3,
        )
    )
    assert "posts_by_date" in plan and "TEMP B-TREE" not in plan  # a digest's window: no sort, no table scan order


def test_regroup_makes_again_the_sketches_of_another_version_and_stores_them(store: Store) -> None:
    from aggregator.dedup import FINGERPRINT_VERSION, fingerprint
    from aggregator.stories import regroup

    text = "注意力机制把每个词和其他所有词联系起来，" * 20 + " scaled dot-product attention"
    old = fingerprint("something else entirely " * 40)  # what another interpreter would have hashed
    posts = [
        post("https://blog.test/a", "Attention", text, fingerprint=old.to_bytes(), fingerprint_size=old.size,
             fingerprint_version="0-another-python"),
        post("https://mirror.test/a", "Attention", text, source="mirror"),  # stored without a sketch
    ]  # fmt: skip
    save(store, posts[:1])
    save(store, posts[1:], source="mirror")
    result = regroup(store)
    assert (result.stories, result.alternates) == (1, 1)  # the stale sketch was not used: it would not match
    stored = store.conn.execute("SELECT fp, fp_version FROM post_sketches ORDER BY post_id").fetchall()
    assert stored == [(fingerprint(text).to_bytes(), FINGERPRINT_VERSION)] * 2
