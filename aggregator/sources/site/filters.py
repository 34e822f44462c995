"""Post or not: decisions on URLs before anything is fetched.

Two tools. `is_non_post_url` knows the pages every generator makes that are never posts (tags,
categories, archives, `page/N`, about, search, 404, feeds, assets). `UrlShapes` learns what this
site's post URLs look like from the posts a feed or a list page vouched for, so that sitemap URLs
of the same shape are posts and unlike ones are not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from aggregator.urls import same_site

_NON_POST_SEGMENTS = frozenset(
    {
        "tag",
        "tags",
        "categories",
        "category",
        "archive",
        "archives",
        "series",
        "search",
        "about",
        "about-me",
        "links",
        "link",
        "friends",
        "404",
        "page-not-found",
        "contact",
        "privacy",
        "projects",
        "project",
        "resume",
        "cv",
        "schedule",
        "guestbook",
        "comments",
        "authors",
        "author",
        "feed",
        "rss",
        "atom",
        "sitemap",
        "topics",
        "taxonomy",
    }
)
_PAGINATION = re.compile(r"/page/\d+/?$")
_ASSET = re.compile(r"\.(?:xml|json|txt|css|js|png|jpe?g|gif|svg|webp|ico|pdf|zip|gz|mp4|woff2?)$", re.IGNORECASE)
_INDEX_FILE = re.compile(r"/index\.html?$", re.IGNORECASE)
_DATE_LIKE = (
    ("Y", re.compile(r"^(19|20)\d{2}$")),
    ("YM", re.compile(r"^(19|20)\d{2}-\d{1,2}$")),
    ("YMD", re.compile(r"^(19|20)\d{2}-\d{1,2}-\d{1,2}$")),
    ("N", re.compile(r"^\d{1,2}$")),
)


def path_segments(url: str) -> list[str]:
    """The decoded, non-empty path segments of a URL, `index.html` dropped."""
    path = _INDEX_FILE.sub("/", unquote(urlsplit(url).path))
    return [segment for segment in path.split("/") if segment]


def is_non_post_url(url: str, home: str) -> bool:
    """True for pages that are never posts: home, taxonomy, pagination, about, search, feeds, assets."""
    if not same_site(url, home):
        return True
    path = urlsplit(url).path
    segments = [s.lower() for s in path_segments(url)]
    home_segments = [s.lower() for s in path_segments(home)]
    if segments[: len(home_segments)] == home_segments:
        segments = segments[len(home_segments) :]  # a site under /blog/: judge the part below it
    if not segments or _PAGINATION.search(path) or _ASSET.search(path.rstrip("/")):
        return True
    if any(segment in _NON_POST_SEGMENTS for segment in segments[:-1]):
        return True
    return segments[-1].removesuffix(".html") in _NON_POST_SEGMENTS or segments[-1] == "page"


def segment_class(segment: str, last: bool) -> str:
    """One path segment as a shape token: a date part, a slug (the last one) or itself."""
    for name, pattern in _DATE_LIKE:
        if pattern.match(segment):
            return name
    if last:
        return "SLUG.html" if segment.lower().endswith((".html", ".htm")) else "SLUG"
    return "=" + segment.lower()


def url_shape(url: str, home: str) -> tuple[str, ...]:
    """The shape of a URL below the site root, e.g. ("Y", "N", "N", "SLUG") or ("=posts", "SLUG")."""
    segments = path_segments(url)
    base = path_segments(home)
    if segments[: len(base)] == base:
        segments = segments[len(base) :]
    return tuple(segment_class(s, i == len(segments) - 1) for i, s in enumerate(segments))


def shapes_match(shape: tuple[str, ...], known: tuple[str, ...]) -> bool:
    """Same tokens; section names may differ when the shape has a date part (/ai/2022-04/x vs /algo/2022-03/y)."""
    if len(shape) != len(known):
        return False
    dated = any(token in ("Y", "YM", "YMD") for token in known)
    for mine, theirs in zip(shape, known, strict=True):
        if mine == theirs:
            continue
        if dated and mine.startswith("=") and theirs.startswith("="):
            continue
        return False
    return True


@dataclass(slots=True)
class UrlShapes:
    """Post URL shapes learned from URLs known to be posts."""

    home: str
    shapes: dict[tuple[str, ...], int] = field(default_factory=dict)

    def learn(self, urls: Iterable[str]) -> None:
        for url in urls:
            shape = url_shape(url, self.home)
            if shape:
                self.shapes[shape] = self.shapes.get(shape, 0) + 1

    @property
    def confident(self) -> bool:
        """Enough examples to judge other URLs by."""
        return sum(self.shapes.values()) >= 3

    def matches(self, url: str) -> bool:
        shape = url_shape(url, self.home)
        return any(shapes_match(shape, known) for known in self.shapes)

    def plausible(self, url: str) -> bool:
        """Worth a look when it matches no shape: deeper than one segment, like most blogs' posts."""
        return len(url_shape(url, self.home)) >= 2


def section_roots(urls: Iterable[str]) -> set[str]:
    """Paths that are a prefix of another URL's path: section and list pages, not posts."""
    paths = sorted({urlsplit(u).path.rstrip("/") + "/" for u in urls})
    roots: set[str] = set()
    for index, path in enumerate(paths[:-1]):
        if paths[index + 1].startswith(path) and not path.endswith(".html/"):
            roots.add(path)
    return roots
