"""What kind of source a URL is, for `agg sources add`: one GET, then the same rules `kind = "auto"` uses.

Order: a HackMD profile path, then a feed (XML sniff or a JSON Feed type), then an HTML page whose
`<meta name="generator">` (or footer credits) says Hexo or Hugo, else a generic site ("html").
The GET also proves the source answers before it is written to feeds.toml.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from aggregator.config import Settings
from aggregator.dom import Document, meta_content, parse_html
from aggregator.errors import ConfigError, ParseError
from aggregator.http_client import HttpClient, Response
from aggregator.models import Kind
from aggregator.sources.auto import PAGE_ACCEPT, looks_like_hackmd_profile
from aggregator.sources.feed import looks_like_feed, parse_feed
from aggregator.sources.site.detect import family_from_generator, family_from_hints

_HTML_TYPES = ("text/html", "application/xhtml+xml", "")
_JSON_FEED = "application/feed+json"


@dataclass(frozen=True, slots=True)
class Detected:
    """What one GET told us about a URL."""

    url: str
    kind: Kind
    title: str | None  # the feed's or page's own title, to name the source when --name is absent
    generator: str | None = None


async def detect_source(http: HttpClient, url: str) -> Detected:
    """GET `url` and tell its kind; FetchError when it does not answer, ConfigError when it is neither
    a feed nor a web page."""
    response = await http.get(url, accept=PAGE_ACCEPT)
    if looks_like_hackmd_profile(url):
        return Detected(url, "hackmd", _page_title(parse_html(response.text())) or _profile_name(url))
    if response.content_type == _JSON_FEED or looks_like_feed(response.content, response.content_type):
        return Detected(url, "feed", _feed_title(response))
    if response.content_type not in _HTML_TYPES:
        raise ConfigError(f"{url}: the server sent {response.content_type}, which is neither a feed nor a web page")
    html = response.text()
    doc = parse_html(html)
    generator = meta_content(doc, "generator")
    family = family_from_generator(generator) or family_from_hints(html)
    kind: Kind = "hexo" if family == "hexo" else "hugo" if family == "hugo" else "html"
    return Detected(url, kind, _page_title(doc), generator)


async def detect_url(settings: Settings, url: str) -> Detected:
    """`detect_source` with a client of its own (for the CLI)."""
    async with HttpClient(settings) as http:
        return await detect_source(http, url)


def default_name(detected: Detected) -> str:
    """A source name when none is given: the title, else the host."""
    return detected.title or urlsplit(detected.url).netloc or detected.url


def _feed_title(response: Response) -> str | None:
    if response.content_type == _JSON_FEED:
        return None
    with contextlib.suppress(ParseError):
        parsed = parse_feed(response.content, dict(response.headers), response.url)
        return _clean(parsed.title)
    return None


def _page_title(doc: Document) -> str | None:
    site_name = meta_content(doc, "og:site_name")
    if site_name:
        return _clean(site_name)
    node = doc.css_first("title")
    return _clean(node.text()) if node is not None else None


def _profile_name(url: str) -> str:
    return urlsplit(url).path.strip("/") or url


def _clean(text: str | None) -> str | None:
    value = " ".join((text or "").split())[:120]
    return value or None
