"""HackMD profiles: overview parsing, incremental downloads, gentle concurrency, and clear errors."""

from __future__ import annotations

import asyncio
import hashlib
import json
import pickle
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from aggregator.config import Settings, SourceConfig
from aggregator.errors import FetchError, ParseError
from aggregator.http_client import HttpClient, Validator
from aggregator.models import KnownPost, SourceOutput
from aggregator.normalize import normalize_post
from aggregator.sources import auto, hackmd
from aggregator.sources.base import SourceContext
from aggregator.urls import url_key

DATA = Path(__file__).parent / "data" / "hackmd"
NOW = datetime(2026, 11, 21, tzinfo=UTC)
USER_URL = "https://hackmd.io/@ada"
SETTINGS = Settings(retries=0)


def fixture_notes() -> dict[str, str]:
    return {path.stem: path.read_text(encoding="utf-8") for path in (DATA / "notes").glob("*.md")}


class FakeHackMD:
    """A MockTransport handler serving overviews (with ETags) and note downloads, counting what it serves."""

    def __init__(self, profiles: dict[str, bytes], notes: dict[str, str] | None = None, delay: float = 0.0) -> None:
        self.profiles = profiles
        self.notes = fixture_notes() if notes is None else notes
        self.delay = delay
        self.paths: list[str] = []
        self.downloads: list[str] = []
        self.failures: dict[str, httpx.Response] = {}  # note id -> canned answer
        self.overview_failure: httpx.Response | None = None
        self.in_flight = 0
        self.max_in_flight = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        overview = re.fullmatch(r"/api/@([^/]+)/overview", request.url.path)
        if overview:
            return self.overview(overview.group(1), request)
        download = re.fullmatch(r"/([^/]+)/download", request.url.path)
        if download:
            return await self.download(download.group(1))
        return httpx.Response(404, text="no such page")

    def overview(self, path: str, request: httpx.Request) -> httpx.Response:
        if self.overview_failure is not None:
            return self.overview_failure
        body = self.profiles.get(path)
        if body is None:
            return httpx.Response(404, json={"error": "not found"})
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers={"etag": etag})
        return httpx.Response(200, content=body, headers={"content-type": "application/json", "etag": etag})

    async def download(self, note_id: str) -> httpx.Response:
        self.downloads.append(note_id)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            if note_id in self.failures:
                return self.failures[note_id]
            if note_id not in self.notes:
                return httpx.Response(404, text="not found")
            markdown = self.notes[note_id].encode()
            return httpx.Response(200, content=markdown, headers={"content-type": "text/markdown; charset=UTF-8"})
        finally:
            self.in_flight -= 1


class Run:
    """One fetch of a source, and what the store would hold afterwards (for the next run)."""

    def __init__(
        self,
        handler: FakeHackMD,
        url: str = USER_URL,
        *,
        kind: str = "hackmd",
        known: dict[str, KnownPost] | None = None,
        validators: dict[str, Validator] | None = None,
        settings: Settings = SETTINGS,
    ) -> None:
        self.handler = handler
        self.url = url
        self.kind = kind
        self.known = dict(known or {})
        self.validators = dict(validators or {})
        self.settings = settings
        self.ctx: SourceContext | None = None

    def fetch(self) -> SourceOutput:
        return asyncio.run(self._fetch())

    async def _fetch(self) -> SourceOutput:
        async with HttpClient(self.settings, transport=httpx.MockTransport(self.handler)) as http:
            source = SourceConfig(name="test", url=self.url, kind=self.kind)  # type: ignore[arg-type]
            self.ctx = SourceContext(
                source, self.settings, http, NOW, known=dict(self.known), validators=dict(self.validators)
            )
            fetcher = auto.fetch if self.kind == "auto" else hackmd.fetch
            return await fetcher(self.ctx)

    def next_run(self, output: SourceOutput) -> Run:
        """The run after this one: the store holds this run's posts, the validators are kept."""
        assert self.ctx is not None
        known = dict(self.known)
        for raw in output.posts:
            post = normalize_post(raw, "test", NOW)
            known[url_key(post.canonical_url)] = KnownPost(
                post.url, post.canonical_url, post.updated, post.content_hash, has_content=post.complete
            )
        validators = {**self.validators, **self.ctx.new_validators}
        return Run(self.handler, self.url, kind=self.kind, known=known, validators=validators, settings=self.settings)

    @property
    def warnings(self) -> list[str]:
        assert self.ctx is not None
        return self.ctx.warnings


def user_profile(**changes: Any) -> bytes:
    """The user fixture, with some notes' fields changed: {note id: {field: value}}."""
    data = json.loads((DATA / "user.json").read_text(encoding="utf-8"))
    for note in data["notes"]:
        if isinstance(note, dict) and note.get("id") in changes:
            note.update(changes[note["id"]])
    return json.dumps(data).encode()


def user_site() -> FakeHackMD:
    return FakeHackMD({"ada": user_profile()})


def by_url(output: SourceOutput) -> dict[str, Any]:
    return {post.url or "": post for post in output.posts}


# --- parsing the overview -----------------------------------------------------------------------


def test_parse_user_profile_with_ms_timestamps() -> None:
    profile = hackmd.parse_overview((DATA / "user.json").read_bytes(), "https://hackmd.io", "ada")
    assert profile.owner == "user"
    assert profile.name == "Ada Example"
    assert [n.url for n in profile.notes] == [
        "https://hackmd.io/@ada/diffusion",
        "https://hackmd.io/@ada/Bshort123",  # permalink null: the shortId
        "https://hackmd.io/@ada/tmux",
    ]
    first, second, _ = profile.notes
    assert first.published == datetime(2023, 11, 14, 23, 13, 20, tzinfo=UTC)  # publishedAt
    assert first.last_change == datetime.fromtimestamp(1700090000, UTC)
    assert second.published == datetime.fromtimestamp(1710000000, UTC)  # publishedAt null: createdAt
    assert first.tags == ("Paper Notes", "Diffusion")


def test_parse_warns_about_each_skipped_note_by_name() -> None:
    profile = hackmd.parse_overview((DATA / "user.json").read_bytes(), "https://hackmd.io", "ada")
    joined = "\n".join(profile.warnings)
    assert len(profile.warnings) == 3
    assert "'A note without an id'" in joined and "no id" in joined
    assert "noteEmptyDDDDDDDDDDDDD has no title and no content" in joined
    assert "note #6" in joined


def test_parse_team_profile_with_iso_timestamps_and_last_changed_at() -> None:
    profile = hackmd.parse_overview((DATA / "team.json").read_bytes(), "http://127.0.0.1:8000", "ml-group")
    assert profile.owner == "team"
    assert profile.name == "ML Reading Group"
    one, two = profile.notes
    assert one.url == "http://127.0.0.1:8000/@ml-group/Eshort123"
    assert one.published == datetime(2025, 3, 1, 4, 0, tzinfo=UTC)
    assert one.last_change == datetime(2025, 3, 2, 9, 30, 15, 123000, tzinfo=UTC)
    assert one.tags == ("Reading Group", "Transformers")  # a comma-separated string
    assert two.published == datetime(2025, 3, 8, 10, 0, tzinfo=UTC)
    assert profile.warnings == ()


def test_parse_malformed_json_is_a_parse_error_naming_the_profile() -> None:
    with pytest.raises(ParseError, match=r"HackMD profile @broken: the overview is not valid JSON"):
        hackmd.parse_overview((DATA / "malformed.json").read_bytes(), "https://hackmd.io", "broken")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[1, 2]", "not a JSON object"),
        (b'{"error": "not found"}', "the server said 'not found'"),
        (b'{"user": {"name": "x"}, "notes": "nope"}', "no list of notes"),
        (b"<!doctype html><html></html>", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
    ],
)
def test_parse_rejects_what_is_not_an_overview(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)):
        hackmd.parse_overview(body, "https://hackmd.io", "x")


def test_parse_warns_when_the_overview_looks_truncated() -> None:
    body = json.dumps({"user": {"name": "A"}, "notes": [], "hasMore": True}).encode()
    profile = hackmd.parse_overview(body, "https://hackmd.io", "a")
    assert any("there is more" in w for w in profile.warnings)


def test_parse_keeps_a_note_listed_twice_once() -> None:
    note = {"id": "n1", "shortId": "s1", "title": "T", "content": "c", "permalink": "p"}
    body = json.dumps({"user": {"name": "A"}, "notes": [note, note]}).encode()
    profile = hackmd.parse_overview(body, "https://hackmd.io", "a")
    assert len(profile.notes) == 1
    assert any("listed twice" in w for w in profile.warnings)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://hackmd.io/@tsen159", ("https://hackmd.io", "tsen159")),
        ("https://hackmd.io/@tsen159/", ("https://hackmd.io", "tsen159")),
        ("http://127.0.0.1:18100/@my-team?nav=overview", ("http://127.0.0.1:18100", "my-team")),
    ],
)
def test_profile_location(url: str, expected: tuple[str, str]) -> None:
    assert hackmd.profile_location(url) == expected


@pytest.mark.parametrize("url", ["https://hackmd.io/", "https://hackmd.io/@a/note", "ftp://hackmd.io/@a"])
def test_profile_location_rejects_other_urls(url: str) -> None:
    with pytest.raises(ParseError, match="not a HackMD profile URL"):
        hackmd.profile_location(url)


def test_records_and_posts_are_picklable_for_the_worker_pool() -> None:
    profile = hackmd.parse_overview((DATA / "user.json").read_bytes(), "https://hackmd.io", "ada")
    assert pickle.loads(pickle.dumps(profile)) == profile
    post = hackmd.note_post(profile.notes[0], "# x\n\n$x_0$", "https://hackmd.io", "A")
    assert pickle.loads(pickle.dumps(post)) == post


# --- a full fetch ---------------------------------------------------------------------------------


def test_fetch_user_profile_builds_complete_posts() -> None:
    site = user_site()
    run = Run(site)
    output = run.fetch()
    assert output.detected_kind == "hackmd"
    assert sorted(site.downloads) == sorted(
        ["noteMathAAAAAAAAAAAAAA", "noteNoPermalinkBBBBBBB", "noteFrontMatterCCCCCCC"]
    )
    posts = by_url(output)
    assert set(posts) == {
        "https://hackmd.io/@ada/diffusion",
        "https://hackmd.io/@ada/Bshort123",
        "https://hackmd.io/@ada/tmux",
    }
    math = posts["https://hackmd.io/@ada/diffusion"]
    assert math.title == "Diffusion notes: $x_0$ and friends"
    assert math.author == "Ada Example"
    assert math.guid == "noteMathAAAAAAAAAAAAAA"
    assert math.published == datetime.fromtimestamp(1700003600, UTC)
    assert math.updated == datetime.fromtimestamp(1700090000, UTC)
    assert math.complete
    assert '<span class="math inline">$x_0$</span>' in math.content_html
    assert '<span class="math display">$$\\sum_i \\epsilon_i$$</span>' in math.content_html
    assert 'width="450"' in math.content_html
    tmux = posts["https://hackmd.io/@ada/tmux"]
    assert tmux.title == "Tmux cheat sheet"  # empty note title: the front matter's
    assert tmux.tags == ("Tools", "Linux")
    assert "TOC" not in tmux.content_html
    assert any("no id" in w for w in run.warnings)


def test_normalised_posts_have_tex_intact_and_no_markdown_in_summaries() -> None:
    output = Run(user_site()).fetch()
    for raw in output.posts:
        post = normalize_post(raw, "test", NOW)
        for leftover in ("**", "![", "](", "# ", "==", ":::", "[TOC]"):
            assert leftover not in post.summary, (post.url, post.summary)
    math = normalize_post(by_url(output)["https://hackmd.io/@ada/diffusion"], "test", NOW)
    for tex in ("$x_0$", "$x_t$", "$a<b$", "$$\\sum_i \\epsilon_i$$"):
        assert tex in math.content_text
    assert math.summary.startswith("We predict $x_0$ from $x_t$")  # the heading repeating the title is gone
    metrics = normalize_post(by_url(output)["https://hackmd.io/@ada/Bshort123"], "test", NOW)
    assert "$\\frac{TP}{TP+FP}$" in metrics.content_text
    assert "☑ read the paper" in metrics.content_text


def test_fetch_team_profile() -> None:
    site = FakeHackMD({"ml-group": (DATA / "team.json").read_bytes()})
    output = Run(site, "http://127.0.0.1:18400/@ml-group/").fetch()
    posts = by_url(output)
    assert set(posts) == {"http://127.0.0.1:18400/@ml-group/Eshort123", "http://127.0.0.1:18400/@ml-group/Fshort123"}
    week1 = posts["http://127.0.0.1:18400/@ml-group/Eshort123"]
    assert week1.author == "ML Reading Group"
    assert week1.updated == datetime(2025, 3, 2, 9, 30, 15, 123000, tzinfo=UTC)
    assert '<a href="https://www.youtube.com/watch?v=dQw4w9WgXcQ">' in week1.content_html
    week2 = posts["http://127.0.0.1:18400/@ml-group/Fshort123"]
    assert "<details><summary>Show the derivation</summary>" in week2.content_html
    assert '<a href="http://127.0.0.1:18400/@ml-group/week1">' in week2.content_html  # the configured origin


def test_auto_kind_recognises_a_profile_path_on_any_host() -> None:
    site = FakeHackMD({"ml-group": (DATA / "team.json").read_bytes()})
    output = Run(site, "http://127.0.0.1:18400/@ml-group", kind="auto").fetch()
    assert output.detected_kind == "hackmd"
    assert len(output.posts) == 2


# --- incremental ----------------------------------------------------------------------------------


def test_second_run_with_unchanged_overview_is_not_modified() -> None:
    site = user_site()
    first = Run(site)
    second = first.next_run(first.fetch())
    site.downloads.clear()
    output = second.fetch()
    assert output.not_modified
    assert site.downloads == []
    assert second.ctx is not None and second.ctx.requests == 1


def test_second_run_without_validators_downloads_nothing() -> None:
    site = user_site()
    first = Run(site)
    second = first.next_run(first.fetch())
    second.validators = {}  # the overview answers 200: each note is compared to the store
    site.downloads.clear()
    output = second.fetch()
    assert site.downloads == []
    assert output.posts == []
    assert len(output.unchanged_urls) == 3


def test_a_changed_last_change_time_downloads_exactly_that_note() -> None:
    site = user_site()
    first = Run(site)
    second = first.next_run(first.fetch())
    site.profiles["ada"] = user_profile(noteNoPermalinkBBBBBBB={"lastchangeAt": 1790000000000})
    site.downloads.clear()
    output = second.fetch()
    assert site.downloads == ["noteNoPermalinkBBBBBBB"]
    assert [p.url for p in output.posts] == ["https://hackmd.io/@ada/Bshort123"]
    assert output.posts[0].updated == datetime.fromtimestamp(1790000000, UTC)
    assert sorted(output.unchanged_urls) == ["https://hackmd.io/@ada/diffusion", "https://hackmd.io/@ada/tmux"]


def test_a_new_note_is_downloaded() -> None:
    site = user_site()
    first = Run(site)
    second = first.next_run(first.fetch())
    data = json.loads(site.profiles["ada"])
    data["notes"].append({"id": "newNote", "shortId": "newShort", "title": "New", "content": "new", "lastchangeAt": 1})
    site.profiles["ada"] = json.dumps(data).encode()
    site.notes["newNote"] = "brand new"
    site.downloads.clear()
    output = second.fetch()
    assert site.downloads == ["newNote"]
    assert [p.title for p in output.posts] == ["New"]


def test_sub_second_differences_do_not_count_as_changes() -> None:
    assert hackmd.is_unchanged(
        KnownPost("u", "u", datetime(2025, 3, 2, 9, 30, 15, tzinfo=UTC), "h", True),
        replace(_a_note(), last_change=datetime(2025, 3, 2, 9, 30, 15, 123000, tzinfo=UTC)),
    )
    assert not hackmd.is_unchanged(
        KnownPost("u", "u", datetime(2025, 3, 2, 9, 30, 15, tzinfo=UTC), "h", has_content=False),
        replace(_a_note(), last_change=datetime(2025, 3, 2, 9, 30, 15, tzinfo=UTC)),
    )


def _a_note() -> hackmd.NoteRecord:
    return hackmd.NoteRecord("id", "https://hackmd.io/@a/n", "T", "x", (), None, None)


# --- failures -----------------------------------------------------------------------------------


def test_failed_download_keeps_an_incomplete_post_with_the_overview_excerpt() -> None:
    site = user_site()
    site.failures["noteMathAAAAAAAAAAAAAA"] = httpx.Response(500, text="boom")
    run = Run(site)
    output = run.fetch()
    post = by_url(output)["https://hackmd.io/@ada/diffusion"]
    assert not post.complete
    assert post.content_html is None
    assert post.updated is None  # so the next run sees a change
    assert post.title == "Diffusion notes: $x_0$ and friends"
    normalised = normalize_post(post, "test", NOW)
    assert normalised.summary == "We predict $x_0$ from $x_t$ with care."  # the cut image and $$ are dropped
    assert any("download failed" in w and "HTTP 500" in w for w in run.warnings)
    assert sum(p.complete for p in output.posts) == 2


def test_failed_download_is_retried_next_run_even_when_the_overview_is_unchanged() -> None:
    site = user_site()
    site.failures["noteMathAAAAAAAAAAAAAA"] = httpx.Response(503, text="busy")
    first = Run(site)
    second = first.next_run(first.fetch())
    site.failures.clear()
    site.downloads.clear()
    output = second.fetch()  # the overview answers 304, but a stored note is incomplete
    assert not output.not_modified
    assert site.downloads == ["noteMathAAAAAAAAAAAAAA"]
    assert [p.complete for p in output.posts] == [True]
    third = second.next_run(output)
    site.downloads.clear()
    assert third.fetch().not_modified
    assert site.downloads == []


def test_a_download_answering_an_html_page_is_a_failure() -> None:
    site = user_site()
    page = b"<!DOCTYPE html><html><body>Sign in</body></html>"
    site.failures["noteMathAAAAAAAAAAAAAA"] = httpx.Response(200, content=page, headers={"content-type": "text/html"})
    run = Run(site)
    post = by_url(run.fetch())["https://hackmd.io/@ada/diffusion"]
    assert not post.complete
    assert any("HTML page" in w for w in run.warnings)


def test_429_on_a_download_stops_the_other_downloads() -> None:
    site = user_site()
    for note_id in fixture_notes():
        site.failures[note_id] = httpx.Response(429, headers={"retry-after": "3600"})
    run = Run(site, settings=Settings(retries=0, hackmd_concurrency=1))
    output = run.fetch()
    assert len(site.downloads) == 1  # the first 429 ends this run's downloads
    assert len(output.posts) == 3
    assert not any(p.complete for p in output.posts)
    assert sum("stopped downloading" in w for w in run.warnings) == 1
    assert "rate limited" in run.warnings[-1]


def test_429_on_the_overview_is_a_clear_error() -> None:
    site = user_site()
    site.overview_failure = httpx.Response(429, headers={"retry-after": "3600"})
    with pytest.raises(FetchError) as caught:
        Run(site).fetch()
    message = str(caught.value)
    assert message.startswith("HackMD profile @ada: rate limited (HTTP 429, retry after 3600 s)")
    assert "\n" not in message
    assert site.paths == ["/api/@ada/overview"]  # no hammering, no hour-long sleep


def test_unknown_profile_is_a_clear_error() -> None:
    with pytest.raises(FetchError) as caught:
        Run(user_site(), "https://hackmd.io/@nobody").fetch()
    assert str(caught.value) == (
        "HackMD profile @nobody not found (HTTP 404 Not Found): https://hackmd.io/api/@nobody/overview"
    )


def test_malformed_overview_through_fetch_is_a_parse_error() -> None:
    site = FakeHackMD({"broken": (DATA / "malformed.json").read_bytes()})
    with pytest.raises(ParseError, match="HackMD profile @broken"):
        Run(site, "https://hackmd.io/@broken").fetch()


# --- gentleness -----------------------------------------------------------------------------------


def many_notes(count: int) -> FakeHackMD:
    notes = [
        {
            "id": f"note{i:02d}",
            "shortId": f"s{i:02d}",
            "title": f"Note {i}",
            "content": "x",
            "lastchangeAt": 1700000000000,
        }
        for i in range(count)
    ]
    body = json.dumps({"user": {"name": "Many"}, "notes": notes}).encode()
    return FakeHackMD({"many": body}, {f"note{i:02d}": f"Body {i} with $x_{i}$" for i in range(count)}, delay=0.02)


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_at_most_n_downloads_in_flight(limit: int) -> None:
    site = many_notes(10)
    output = Run(site, "https://hackmd.io/@many", settings=Settings(retries=0, hackmd_concurrency=limit)).fetch()
    assert len(output.posts) == 10
    assert site.max_in_flight == limit


def test_default_concurrency_is_two() -> None:
    site = many_notes(8)
    Run(site, "https://hackmd.io/@many").fetch()
    assert site.max_in_flight == 2
