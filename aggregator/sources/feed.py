"""RSS, Atom and JSON-in-XML feeds through feedparser. The only module that imports feedparser.

feedparser gets the response bytes and headers, never a URL, and its own HTML sanitising and
relative-URL pass are off: agg does both once, after parsing, in one nh3 pass (sanitize).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aggregator.dates import parse_date
from aggregator.encoding import decode_bytes
from aggregator.errors import ParseError
from aggregator.models import Post, RawPost, SourceOutput
from aggregator.sources.base import SourceContext
from aggregator.urls import is_http_url, resolve

if TYPE_CHECKING:
    from aggregator.sources.feed_xml import FeedDocument

FEED_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
FEED_TYPES = frozenset(
    {
        "application/atom+xml",
        "application/rss+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "application/x-rss+xml",
        "application/feed+json",
    }
)
_PROLOG_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])[^"']*(["'])""")
# only a reference of 6+ hex or 7+ decimal digits can be past U+10FFFF: most feeds hold many short ones (&#39;)
_OUT_OF_RANGE_REFERENCE = re.compile(rb"&#([xX][0-9a-fA-F]{6,16}|[0-9]{7,20});?")
_NOT_FEED_TYPES = ("image/", "audio/", "video/", "application/pdf", "application/zip", "application/octet-stream")


@dataclass(slots=True)
class ParsedFeed:
    """What one feed document held."""

    title: str | None = None
    link: str | None = None
    posts: list[RawPost] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def looks_like_feed(content: bytes, content_type: str = "") -> bool:
    """A cheap sniff: an XML document whose root is rss, feed or RDF."""
    if content_type.startswith(_NOT_FEED_TYPES):
        return False
    head = content[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<?xml"):
        head = head[head.find(b"?>") + 2 :].lstrip()
    while head.startswith((b"<!--", b"<?xml-stylesheet", b"<!doctype rss")):
        end = head.find(b">")
        if end < 0:
            return False  # an unclosed comment or declaration: no root element follows
        head = head[end + 1 :].lstrip()
    return head.startswith((b"<rss", b"<feed", b"<rdf:rdf", b"<rdf"))


def parse_feed(content: bytes, headers: dict[str, str], url: str) -> ParsedFeed:
    """Parse feed bytes into raw posts. Pure and picklable, so it runs in the worker pool."""
    content_type = headers.get("content-type", "")
    mime = content_type.split(";")[0].strip().lower()
    if mime.startswith(_NOT_FEED_TYPES):
        raise ParseError(f"not a feed: the server sent {mime}")
    if not content.strip():
        raise ParseError("not a feed: the response is empty")
    # the readers are imported here, as feedparser is: a run where every feed answers 304 parses none
    from aggregator.sources.feed_xml import read_simple_feed

    content, headers = as_utf8(content, headers)
    content = _OUT_OF_RANGE_REFERENCE.sub(_replace_reference, content)
    document = read_simple_feed(content, url) or _read_with_feedparser(content, headers, url)
    version, entries = document.version, document.entries
    if not version and not entries and _looks_like_html(content):
        raise ParseError("not a feed: the server sent an HTML page")
    if not version and not entries:
        raise ParseError(f"not a feed ({document.error or 'no RSS or Atom root element'})")
    result = ParsedFeed(title=_plain(document.feed.get("title")), link=document.feed.get("link"))
    if document.error and entries:
        result.warnings.append(f"feed is malformed, kept the {len(entries)} entries read: {document.error}")
    elif document.error and not entries and version:
        raise ParseError(f"malformed feed with no readable entry: {document.error}")
    feed_link = document.feed.get("link") or ""
    base = feed_link if is_http_url(feed_link) else url
    feed_author = _author(document.feed)
    for index, entry in enumerate(entries, start=1):
        post = _entry_to_post(entry, url, base, feed_author, result.warnings, index)
        if post is not None:
            result.posts.append(post)
    return result


def _read_with_feedparser(content: bytes, headers: dict[str, str], url: str) -> FeedDocument:
    """Any feed, malformed ones too; feedparser gets the bytes and headers, never the URL to fetch."""
    import feedparser  # here, not at the top: a run where every feed answers 304 never parses one

    from aggregator.sources.feed_xml import FeedDocument

    headers["content-location"] = url  # the base for relative links
    try:
        parsed = feedparser.parse(content, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    except (ValueError, RecursionError) as e:  # feedparser's own failures on hostile markup
        raise ParseError(f"not a readable feed ({type(e).__name__}: {str(e)[:120]})") from None
    error = _bozo_text(parsed) if parsed.get("bozo") else None
    if error and _harmless_bozo(parsed) and (parsed.get("version") or parsed.get("entries")):
        error = None  # served as text/plain, or relabelled: still a well-formed feed
    return FeedDocument(parsed.get("version") or "", parsed.feed, parsed.get("entries") or [], error)


def _replace_reference(match: re.Match[bytes]) -> bytes:
    # a character reference past U+10FFFF makes feedparser call chr() and raise: make it U+FFFD
    number = match.group(1)
    value = int(number[1:], 16) if number[:1] in b"xX" else int(number)
    return match.group(0) if value <= 0x10FFFF else b"&#xFFFD;"


def _looks_like_html(content: bytes) -> bool:
    head = content[:1024].lower()
    return b"<html" in head or b"<!doctype html" in head or b"<body" in head


def as_utf8(content: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """The feed re-encoded as UTF-8 with a prolog that says so.

    feedparser trusts labels and falls back to windows-1252; agg's own decoding (encoding.py) checks
    labels against the bytes and detects undeclared GBK, Big5, Shift_JIS and EUC-KR.
    """
    text = decode_bytes(content, headers.get("content-type"))
    text = _PROLOG_ENCODING.sub(r"\1utf-8\2", text, count=1)
    mime = (headers.get("content-type") or "application/xml").split(";")[0].strip() or "application/xml"
    return text.encode("utf-8"), {**headers, "content-type": f"{mime}; charset=utf-8"}


def _harmless_bozo(parsed: Any) -> bool:
    import feedparser

    # a feed served as text/plain or with a relabelled charset is still well-formed XML
    return isinstance(
        parsed.get("bozo_exception"), (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)
    )


def _bozo_text(parsed: Any) -> str:
    error = parsed.get("bozo_exception")
    text = str(error) if error is not None else "unknown error"
    return (text.splitlines() or ["unknown error"])[0][:200]


def _plain(value: str | None) -> str | None:
    """Titles may carry markup or entities: keep only their text."""
    if value is None:
        return None
    if "<" not in value and "&" not in value:
        return " ".join(value.split()) or None
    from aggregator.dom import html_to_text  # markup is rare in a title: selectolax stays out of most runs

    return html_to_text(value) or None


def _author(data: Any) -> str | None:
    name = data.get("author") or (data.get("author_detail") or {}).get("name")
    if not name and data.get("authors"):
        name = ", ".join(a.get("name", "") for a in data["authors"] if a.get("name"))
    return _plain(name) if name else None


def _entry_date(entry: Any, key: str) -> datetime | None:
    # plain dict access: FeedParserDict would answer "updated" with the published date (and warn)
    parsed = parse_date(dict.get(entry, key))
    struct = dict.get(entry, f"{key}_parsed")
    if parsed is None and struct:
        # feedparser's own reading, through parse_date so Hugo's 0001-01-01 stays "no date"
        parsed = parse_date(datetime.fromtimestamp(calendar.timegm(struct), UTC))
    return parsed


def _entry_to_post(
    entry: Any, feed_url: str, base: str, feed_author: str | None, warnings: list[str], index: int
) -> RawPost | None:
    title = _plain(entry.get("title"))
    link = _entry_link(entry, base)
    guid = entry.get("id") or None
    if link is None and guid and is_http_url(guid) and entry.get("guidislink", True) is not False:
        link = guid  # only a GUID that is itself a web address is a link; never one made up from "xss-3"
    if link is None:
        warnings.append(f"entry #{index} ({title or guid or 'untitled'!r}) has no link: skipped")
        return None
    content, summary = _entry_bodies(entry)
    if not title:
        from aggregator.dom import html_to_text

        text = html_to_text(content or summary or "")
        title = text[:80].split("\n")[0] if text else link
        warnings.append(f"entry #{index} ({link}) has no title: used {title!r}")
    published = _entry_date(entry, "published") or _entry_date(entry, "created")
    updated = _entry_date(entry, "updated")
    tags = tuple(
        dict.fromkeys(t.get("term") or t.get("label") for t in entry.get("tags", []) if t.get("term") or t.get("label"))
    )
    return RawPost(
        url=link,
        title=title,
        guid=guid,
        author=_author(entry) or feed_author,
        published=published or updated,
        updated=updated,
        content_html=content,
        summary_html=summary,
        tags=tags,
        base_url=_content_base(entry, base, feed_url),
    )


def _content_base(entry: Any, base: str, feed_url: str) -> str:
    """What relative links in the entry's HTML resolve against: an explicit xml:base, else its own link."""
    for detail in [*entry.get("content", []), entry.get("summary_detail") or {}]:
        declared = detail.get("base") or ""
        if is_http_url(declared) and declared != feed_url:  # the feed's own URL is feedparser's default base
            return str(declared)
    return resolve(base, entry["link"]) if entry.get("link") else base


def _entry_link(entry: Any, base: str) -> str | None:
    candidates = [entry.get("link")] + [
        link.get("href") for link in entry.get("links", []) if link.get("rel", "alternate") == "alternate"
    ]
    for href in candidates:
        if href and is_http_url(absolute := resolve(base, href)):
            return absolute
    return None


def _entry_bodies(entry: Any) -> tuple[str | None, str | None]:
    """(full content, summary): content:encoded / atom content, then description / summary."""
    contents = [c.get("value") for c in entry.get("content", []) if c.get("value")]
    content = max(contents, key=len) if contents else None
    summary = entry.get("summary") or None
    if content is not None and summary is not None and content.strip() == summary.strip():
        summary = None
    return content, summary


async def fetch(ctx: SourceContext) -> SourceOutput:
    """Fetch the configured feed URL (conditional GET) and return its entries."""
    response = await ctx.get(ctx.source.url, conditional=True, accept=FEED_ACCEPT)
    return await posts_from_response(ctx, response)


async def posts_from_response(ctx: SourceContext, response: Any) -> SourceOutput:
    """Turn a fetched feed response into the source's output (shared with kind detection)."""
    output = SourceOutput(detected_kind="feed")
    if response.unchanged:
        output.not_modified = True
        return output
    posts, warnings = await ctx.run_cpu(
        read_posts, response.content, dict(response.headers), response.url, ctx.source.name, ctx.now
    )
    output.normalized = posts
    output.warnings.extend(warnings)
    return output


def read_posts(
    content: bytes, headers: dict[str, str], url: str, source: str, now: datetime
) -> tuple[list[Post], list[str]]:
    """Parse and normalise in one worker call: the raw posts never travel back to the main process."""
    from aggregator.normalize import normalize_posts  # worker-side: the forkserver preloads it

    parsed = parse_feed(content, headers, url)
    posts, skipped = normalize_posts(parsed.posts, source, now)
    return posts, [*parsed.warnings, *skipped]
