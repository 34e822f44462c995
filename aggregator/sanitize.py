"""Allow-list HTML sanitising of third-party content. The only module that imports nh3.

Runs once, when a post is normalised, so nothing untrusted reaches the store or any output:
scripts, styles, event handlers, iframes, forms and `javascript:` URLs go; `data:` URLs stay only
on images (and never SVG, which can carry script); math spans and code classes stay so readers
can style them. Relative links are made absolute in the same pass, against the page the HTML came from.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass

import nh3

from aggregator.dom import html_to_text, read_back, round_trips
from aggregator.urls import resolve

_TAGS = (
    nh3.ALLOWED_TAGS
    | {"section", "tfoot", "picture", "source", "figure", "figcaption", "mark", "details", "summary", "video", "audio"}
) - {"area", "map"}
_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"lang", "dir", "title"},
    "a": {"href", "hreflang", "title"},
    "img": {"src", "alt", "title", "width", "height", "srcset", "loading"},
    "source": {"src", "srcset", "type", "media"},
    "video": {"src", "poster", "controls", "width", "height"},
    "audio": {"src", "controls"},
    "span": {"class"},
    "div": {"class"},
    "code": {"class"},
    "pre": {"class"},
    "p": {"class"},
    "ol": {"start", "type"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "details": {"open"},
}
_DROP_WITH_CONTENT = {
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "form",
    "noscript",
    "template",
    "textarea",
    "select",
    "button",
    "frameset",
    "frame",
    "applet",
    "svg",
    "math",
}
_SCHEMES = {"http", "https", "mailto", "data"}
_PRE_NEWLINE = re.compile(r"(<pre\b[^>]*>)\n")
_SCRIPT_SCHEMES = ("javascript:", "vbscript:")
_IGNORED_IN_SCHEMES = re.compile(r"[\x00-\x20]")  # browsers skip these inside a URL scheme ("java\tscript:")
_SAFE_DATA_IMAGES = ("data:image/png", "data:image/jpeg", "data:image/gif", "data:image/webp", "data:image/avif")


def _safe_image_data(value: str) -> bool:
    return value.lstrip().lower().startswith(_SAFE_DATA_IMAGES)


_LINKS = frozenset(
    {("a", "href"), ("img", "src"), ("source", "src"), ("video", "src"), ("audio", "src"), ("video", "poster")}
)
_LEFT_AS_WRITTEN = ("#", "data:", "mailto:", "https://", "http://")


@dataclass(slots=True)
class _Page:
    """The page a fragment came from, while it is cleaned, and whether a link was made absolute."""

    base: str
    resolved: bool = False


# nh3 calls the attribute filter with no room for the page: it is set here for one call
_PAGE: ContextVar[_Page | None] = ContextVar("page", default=None)


def _clean_resolving(html: str, base_url: str | None) -> str:
    """nh3's pass, with link attributes made absolute against `base_url` when given (then, if a link changed,
    a second pass)."""
    if not base_url:
        return _clean_once(html)
    page = _Page(base_url)
    token = _PAGE.set(page)
    try:
        cleaned = _clean_once(html)
    finally:
        _PAGE.reset(token)
    # nh3 judged those links while they were relative: a second pass judges what they became
    # ("//<a" is a relative link; "https://<a" is no address at all, and nh3 drops it)
    return _clean_once(cleaned) if page.resolved else cleaned


def _absolute(base: str, attribute: str, value: str) -> str:
    """A link attribute's value resolved against the page's address (each candidate, in a srcset)."""
    if attribute == "srcset":
        candidates = [c.strip().split(None, 1) for c in value.split(",") if c.strip()]
        return ", ".join(" ".join([resolve(base, c[0]), *c[1:]]) for c in candidates)
    # an absolute address is left as written (urljoin would only re-assemble it)
    return resolve(base, value) if value and not value.startswith(_LEFT_AS_WRITTEN) else value


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    page = _PAGE.get()
    if page is not None and (attribute == "srcset" or (tag, attribute) in _LINKS):
        absolute = _absolute(page.base, attribute, value)  # before the checks below, which see the final value
        if absolute != value:
            page.resolved, value = True, absolute
    if ":" not in value and attribute != "srcset":
        return value  # no scheme, so neither data: nor a script URL (most values: classes, relative links)
    if attribute == "srcset":
        # nh3 checks no URL inside srcset: keep only http(s) candidates
        kept = [c.strip() for c in value.split(",") if _srcset_candidate_ok(c)]
        return ", ".join(kept) or None
    # data: is allowed as a scheme only so that inline raster images survive; nowhere else
    if value.lstrip().lower().startswith("data:"):
        return value if tag == "img" and attribute == "src" and _safe_image_data(value) else None
    # nh3 checks schemes on URL attributes only: a script URL in a class or title is dropped too
    if _IGNORED_IN_SCHEMES.sub("", value[:32]).lower().startswith(_SCRIPT_SCHEMES):
        return None
    return value


def _srcset_candidate_ok(candidate: str) -> bool:
    url = candidate.strip().split(None, 1)[0].lower() if candidate.strip() else ""
    return url.startswith(("http://", "https://"))


def sanitize_html(html: str, base_url: str | None = None) -> str:
    """The allow-listed form of an HTML fragment, its links made absolute against `base_url` (when given);
    sanitising the result again changes nothing."""
    if not html:
        return ""
    cleaned = _clean_resolving(html, base_url)
    # an HTML parser reads it back as it is, so a second pass could change nothing
    return cleaned if round_trips(cleaned) else _settled(cleaned)


def sanitize_with_text(html: str, base_url: str | None = None) -> tuple[str, str]:
    """`sanitize_html(html, base_url)` and its plain text: the parse that checks the result also gives its text."""
    if not html:
        return "", ""
    cleaned = _clean_resolving(html, base_url)
    same, text = read_back(cleaned)
    if same:
        return cleaned, text
    cleaned = _settled(cleaned)  # every link is absolute by now: the passes that settle it need no base
    return cleaned, html_to_text(cleaned)


def _settled(cleaned: str) -> str:
    # a few malformed nestings only settle on the second pass: clean until nothing changes (at most 3)
    for _ in range(2):
        again = _clean_once(cleaned)
        if again == cleaned:
            break
        cleaned = again
    return cleaned


def _clean_once(html: str) -> str:
    # a parser drops one leading byte-order mark a pass: drop them all, so that the result settles at once
    cleaned = _CLEANER.clean(html).lstrip("\ufeff")
    # the HTML parser drops the first newline after <pre>: put it back so a second pass is a no-op
    return _PRE_NEWLINE.sub(r"\1\n\n", cleaned)


# built once: nh3.clean() rebuilds its configuration on every call (a quarter of its time)
_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    clean_content_tags=_DROP_WITH_CONTENT,
    attributes=_ATTRIBUTES,
    attribute_filter=_filter_attribute,
    url_schemes=_SCHEMES,
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)


def escape_text(text: str) -> str:
    """Plain text made safe to put inside HTML."""
    return nh3.clean_text(text)
