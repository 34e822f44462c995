"""`kind = "hackmd"`: a HackMD user or team profile, `https://hackmd.io/@path`, read through its JSON API.

`GET {origin}/api/@{path}/overview` lists the notes (a conditional GET); `GET {origin}/{id}/download`
gives a note's Markdown. Only notes that are new, or whose last-change time moved, or whose last
download failed are downloaded, at most `settings.hackmd_concurrency` at a time; a 429 the client
could not wait out stops the remaining downloads for this run. `{origin}` is the configured URL's
scheme and host, so a mirror or a test server works like hackmd.io.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, unquote, urlsplit

from aggregator.dates import parse_date
from aggregator.dom import html_to_text
from aggregator.errors import FetchError, ParseError
from aggregator.http_client import Response
from aggregator.markdown import RenderedMarkdown, render_excerpt, render_markdown, split_tags
from aggregator.models import KnownPost, RawPost, SourceOutput
from aggregator.sources import PROFILE_PATH
from aggregator.sources.base import BudgetExceeded, SourceContext
from aggregator.urls import url_key

JSON_ACCEPT = "application/json, text/plain;q=0.5"
MARKDOWN_ACCEPT = "text/markdown, text/plain;q=0.9, */*;q=0.5"
_LAST_CHANGE_KEYS = ("lastchangeAt", "lastChangedAt", "lastChangeAt", "updatedAt")
_MORE_KEYS = ("hasMore", "nextPage", "nextCursor", "next")  # a paginated answer we cannot follow
_TOTAL_KEYS = ("total", "totalCount", "notesCount")
_PATH_SAFE = "-_.~!$&'()*+,;=:@"
_TITLE_CHARS = 80


@dataclass(frozen=True, slots=True)
class NoteRecord:
    """One note as the overview lists it, already checked: it has an id and a title or some content."""

    id: str
    url: str
    title: str  # may be empty: the Markdown's front matter or first heading then gives it
    excerpt: str  # the overview `content`: the first few hundred characters of the raw Markdown
    tags: tuple[str, ...]
    published: datetime | None
    last_change: datetime | None

    @property
    def label(self) -> str:
        """How warnings name the note."""
        return f"{self.title!r} ({self.url})" if self.title else self.url


@dataclass(frozen=True, slots=True)
class Profile:
    """A parsed overview: who owns the notes, the notes worth a post, and what was skipped."""

    origin: str
    path: str
    owner: str  # "user" or "team"
    name: str
    notes: tuple[NoteRecord, ...]
    warnings: tuple[str, ...] = ()


def profile_location(url: str) -> tuple[str, str]:
    """(origin, path) of a profile URL like `https://hackmd.io/@user/`; ParseError for anything else."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        parts = None
    match = PROFILE_PATH.match(parts.path) if parts is not None else None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc or match is None:
        raise ParseError(f"not a HackMD profile URL (expected https://hackmd.io/@user or /@team): {url}")
    return f"{parts.scheme.lower()}://{parts.netloc}", unquote(match.group(1))


def overview_url(origin: str, path: str) -> str:
    return f"{origin}/api/@{quote(path, safe=_PATH_SAFE)}/overview"


def download_url(origin: str, note_id: str) -> str:
    return f"{origin}/{quote(note_id, safe=_PATH_SAFE)}/download"


def note_url(origin: str, path: str, slug: str) -> str:
    """A note's page: `{origin}/@{path}/{permalink or shortId}`."""
    return f"{origin}/@{quote(path, safe=_PATH_SAFE)}/{quote(slug, safe=_PATH_SAFE)}"


def parse_overview(content: bytes, origin: str, path: str) -> Profile:
    """Read an overview answer leniently (a user or a team, ms or ISO dates, either last-change key).

    Notes without an id, or with neither a title nor content, are left out with a warning naming them.
    Raises ParseError, naming the profile, when the answer is not JSON or holds no note list.
    """
    where = f"HackMD profile @{path}"
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        reason = (str(e).splitlines() or [type(e).__name__])[0][:120]
        raise ParseError(f"{where}: the overview is not valid JSON ({reason}): {overview_url(origin, path)}") from None
    if not isinstance(data, dict):
        raise ParseError(f"{where}: the overview is not a JSON object: {overview_url(origin, path)}")
    owner_kind, owner = _owner(data)
    notes = data.get("notes")
    if notes is None and owner is not None:
        notes = owner.get("notes")  # some mirrors nest the list under the owner
    if not isinstance(notes, list):
        error = data.get("error") or data.get("message")
        cause = f"the server said {str(error)[:120]!r}" if isinstance(error, str) else "no list of notes"
        raise ParseError(f"{where}: not a profile overview ({cause}): {overview_url(origin, path)}")
    warnings: list[str] = []
    records = _note_records(notes, origin, path, warnings)
    truncated = _truncation_hint(data, len(notes))
    if truncated:
        warnings.append(f"{where}: {truncated}; only the {len(notes)} notes listed were read")
    name = _text((owner or {}).get("name")) or _text((owner or {}).get("userpath")) or path
    return Profile(origin, path, owner_kind, name, tuple(records), tuple(warnings))


def _owner(data: dict[str, object]) -> tuple[str, dict[str, object] | None]:
    for kind in ("user", "team"):
        value = data.get(kind)
        if isinstance(value, dict):
            return kind, value
    return "user", None


def _note_records(notes: list[object], origin: str, path: str, warnings: list[str]) -> list[NoteRecord]:
    records: list[NoteRecord] = []
    seen: set[str] = set()
    for index, raw in enumerate(notes, start=1):
        if not isinstance(raw, dict):
            warnings.append(f"note #{index} in the overview is not an object: skipped")
            continue
        record = _note_record(raw, index, origin, path, warnings)
        if record is None:
            continue
        key = url_key(record.url)
        if key in seen:
            warnings.append(f"note {record.label} is listed twice: kept the first")
            continue
        seen.add(key)
        records.append(record)
    return records


def _note_record(raw: dict[str, object], index: int, origin: str, path: str, warnings: list[str]) -> NoteRecord | None:
    note_id = _text(raw.get("id"))
    title = _text(raw.get("title"))
    excerpt = raw.get("content") if isinstance(raw.get("content"), str) else ""
    slug = _text(raw.get("permalink")) or _text(raw.get("shortId"))
    name = f"{title!r}" if title else f"#{index}" + (f" ({slug})" if slug else "")
    if not note_id:
        warnings.append(f"note {name} has no id (nothing to download): skipped")
        return None
    if not title and not str(excerpt).strip():
        warnings.append(f"note {note_id} has no title and no content: skipped")
        return None
    # without a permalink or shortId the note id is still a working address on HackMD
    url = note_url(origin, path, slug) if slug else f"{origin}/{quote(note_id, safe=_PATH_SAFE)}"
    published = parse_date(raw.get("publishedAt")) or parse_date(raw.get("createdAt"))
    last_change = next((d for d in (parse_date(raw.get(k)) for k in _LAST_CHANGE_KEYS) if d is not None), None)
    tags = tuple(dict.fromkeys(split_tags(raw.get("tags"))))
    return NoteRecord(note_id, url, title, str(excerpt), tags, published, last_change)


def _text(value: object) -> str:
    """A JSON string or number as stripped text; anything else (null, objects) as empty."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return " ".join(str(value).split())


def _truncation_hint(data: dict[str, object], listed: int) -> str | None:
    for key in _MORE_KEYS:
        if data.get(key):
            return f"the overview says there is more ({key})"
    for key in _TOTAL_KEYS:
        total = data.get(key)
        if isinstance(total, int) and not isinstance(total, bool) and total > listed:
            return f"the overview counts {total} notes but lists {listed}"
    return None


def note_post(note: NoteRecord, markdown: str, origin: str, author: str) -> RawPost:
    """The post for a downloaded note: its Markdown rendered, title and tags from the note, then the text."""
    rendered = render_markdown(markdown, origin, note.title or True)  # True: the note's own title
    return _raw_post(note, rendered, author, updated=note.last_change, content_html=rendered.html)


def excerpt_post(note: NoteRecord, origin: str, author: str) -> RawPost:
    """The post for a note whose download failed: the overview excerpt, marked incomplete.

    `updated` stays empty so the next run sees a change and downloads the note again.
    """
    rendered = render_excerpt(note.excerpt, origin, note.title or None)
    return _raw_post(note, rendered, author, summary_html=rendered.html, complete=False)


def _raw_post(
    note: NoteRecord,
    rendered: RenderedMarkdown,
    author: str,
    *,
    updated: datetime | None = None,
    content_html: str | None = None,
    summary_html: str | None = None,
    complete: bool = True,
) -> RawPost:
    return RawPost(
        url=note.url,
        title=note.title or rendered.title or _fallback_title(rendered.html, note),
        guid=note.id,
        author=author,
        published=note.published,
        tags=tuple(dict.fromkeys([*note.tags, *rendered.tags])),
        base_url=note.url,
        updated=updated,
        content_html=content_html,
        summary_html=summary_html,
        complete=complete,
    )


def _fallback_title(html: str, note: NoteRecord) -> str:
    first_line = html_to_text(html).split("\n", 1)[0].strip()
    if len(first_line) > _TITLE_CHARS:
        first_line = first_line[:_TITLE_CHARS].rsplit(" ", 1)[0] + "…"
    return first_line or note.url.rsplit("/", 1)[-1]


def is_unchanged(known: KnownPost | None, note: NoteRecord) -> bool:
    """True when the store holds this note's full content as of its current last-change time (to the second)."""
    if known is None or not known.has_content:
        return False
    if known.updated is None or note.last_change is None:
        return known.updated is None and note.last_change is None
    return int(known.updated.timestamp()) == int(note.last_change.timestamp())


async def fetch(ctx: SourceContext) -> SourceOutput:
    """Fetch a HackMD profile: list its notes, download the new and changed ones, render them."""
    origin, path = profile_location(ctx.source.url)
    output = SourceOutput(detected_kind="hackmd")
    url = overview_url(origin, path)
    response = await _get_overview(ctx, url, path, conditional=True)
    if response.unchanged:
        if not _has_incomplete_posts(ctx, origin, path):
            output.not_modified = True
            return output
        if response.not_modified:  # a 304 has no body, and failed downloads are due for a retry
            response = await _get_overview(ctx, url, path, conditional=False)
    profile = await ctx.run_cpu(parse_overview, response.content, origin, path)
    for warning in profile.warnings:
        ctx.warn(warning)
    pending: list[NoteRecord] = []
    for note in profile.notes:
        if is_unchanged(ctx.known_post(note.url), note):
            output.unchanged_urls.append(note.url)
        else:
            pending.append(note)
    downloads = _Downloads(ctx, origin, path)
    output.posts.extend(await asyncio.gather(*(downloads.post_for(note, profile.name) for note in pending)))
    return output


async def _get_overview(ctx: SourceContext, url: str, path: str, *, conditional: bool) -> Response:
    try:
        return await ctx.get(url, conditional=conditional, accept=JSON_ACCEPT)
    except BudgetExceeded:
        raise
    except FetchError as e:
        raise _profile_error(e, path) from None


def _profile_error(error: FetchError, path: str) -> FetchError:
    """The client's error reworded to name the profile; an unknown profile says so."""
    if error.status in (404, 410):
        cause = f"HackMD profile @{path} not found ({error.cause})"
    else:
        cause = f"HackMD profile @{path}: {error.cause}"
    return FetchError(error.url, cause, retry_after=error.retry_after, retryable=error.retryable, status=error.status)


def _has_incomplete_posts(ctx: SourceContext, origin: str, path: str) -> bool:
    """True when a note of this profile is stored without its full content (its download failed)."""
    prefix = url_key(note_url(origin, path, "x"))[:-1]
    return any(key.startswith(prefix) and not known.has_content for key, known in ctx.known.items())


class _Downloads:
    """Note downloads for one run: at most `hackmd_concurrency` in flight, and none after a 429."""

    def __init__(self, ctx: SourceContext, origin: str, path: str) -> None:
        self.ctx = ctx
        self.origin = origin
        self.path = path
        self.semaphore = asyncio.Semaphore(max(1, ctx.settings.hackmd_concurrency))
        self.stopped: FetchError | None = None

    async def post_for(self, note: NoteRecord, author: str) -> RawPost:
        """The note's full post, or its excerpt post when the download failed or was not tried."""
        markdown = await self.download(note)
        if markdown is None:
            return await self.ctx.run_cpu(excerpt_post, note, self.origin, author)
        return await self.ctx.run_cpu(note_post, note, markdown, self.origin, author)

    async def download(self, note: NoteRecord) -> str | None:
        """The note's Markdown, or None (with a warning) when it could not be had this run."""
        async with self.semaphore:
            if self.stopped is not None:
                return None
            try:
                response = await self.ctx.get(download_url(self.origin, note.id), accept=MARKDOWN_ACCEPT)
            except FetchError as e:
                self._failed(note, e)
                return None
        if _looks_like_html(response):
            self.ctx.warn(f"note {note.label}: the download answered an HTML page, not Markdown; kept the excerpt")
            return None
        return response.text()

    def _failed(self, note: NoteRecord, error: FetchError) -> None:
        if isinstance(error, BudgetExceeded) or _is_rate_limit(error):
            # be gentle: the server (or our budget) said stop, so the other notes wait for the next run
            self.stopped = error
            self.ctx.warn(
                f"HackMD profile @{self.path}: stopped downloading notes ({error}); "
                "the rest keep their overview excerpt and are downloaded next run"
            )
            return
        self.ctx.warn(f"note {note.label}: download failed ({error}); kept the overview excerpt, retried next run")


def _is_rate_limit(error: FetchError) -> bool:
    return error.status == 429


def _looks_like_html(response: Response) -> bool:
    """A login or error page served with 200 instead of the Markdown (a private note, a proxy)."""
    if response.content_type not in ("text/html", "application/xhtml+xml"):
        return False
    head = response.content[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))
