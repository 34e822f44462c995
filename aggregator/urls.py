"""Canonical URLs: one spelling per page, so the same post found twice is one row.

`canonical_url` is still a working link (scheme and trailing slash kept); `url_key` folds what only
matters for identity (http/https, `www.`, trailing slash, query order).
"""

from __future__ import annotations

import functools
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRACKING_PREFIXES = ("utm_", "mtm_", "pk_", "_hs")
_TRACKING_NAMES = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "mc_cid", "mc_eid", "igshid", "spm", "ref_src", "_ga"}
)
_INDEX_FILES = ("index.html", "index.htm", "index.php")
# characters left as they are when re-quoting a path: RFC 3986 pchar minus '%'
_SEGMENT_SAFE = ":@!$&'()*+,;=-._~"
_QUERY_SAFE = "/:@!$'()*,;-._~?"  # not "+": a literal plus must stay %2B, or it reads as a space
# what urljoin drops, moves or rejects in an absolute URL (empty query or fragment, params, tabs and newlines, IPv6)
_REASSEMBLED = ("?", "#", ";", "\t", "\r", "\n", "[", "]")


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_NAMES or lowered.startswith(_TRACKING_PREFIXES)


@functools.lru_cache(maxsize=1024)  # a post's URL is made canonical, then keyed (url_key): one computation
def canonical_url(url: str) -> str:
    """The clean form of an absolute URL; idempotent. Raises ValueError for a URL with no host."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise ValueError(f"not an absolute URL: {url!r}")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    path = "/".join(_requote(segment) for segment in parts.path.split("/")) or "/"
    for index in _INDEX_FILES:
        if path.endswith("/" + index):
            path = path[: -len(index)]
            break
    pairs = parse_qsl(parts.query, keep_blank_values=True, errors="surrogateescape")
    query_pairs = [(k, v) for k, v in pairs if not is_tracking_param(k)]
    query = urlencode(query_pairs, quote_via=quote, safe=_QUERY_SAFE, errors="surrogateescape")
    return urlunsplit((scheme, netloc, path, query, ""))


def _requote(segment: str) -> str:
    # one segment at a time, so an escaped "/" (%2F) stays escaped; surrogateescape keeps GBK escapes intact
    return quote(unquote(segment, errors="surrogateescape"), safe=_SEGMENT_SAFE, errors="surrogateescape")


def url_key(url: str) -> str:
    """The identity of a page: canonical URL with scheme, `www.`, trailing slash and query order folded."""
    parts = urlsplit(canonical_url(url))
    host = parts.netloc.removeprefix("www.")
    path = parts.path.rstrip("/") or "/"
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    return f"//{host}{path}" + (f"?{query}" if query else "")


def resolve(base: str | None, href: str) -> str:
    """`href` made absolute against `base` (unchanged when already absolute or base is None)."""
    href = href.strip()
    if base is None or joins_to_itself(href):
        return href
    try:
        return urljoin(base, href)
    except ValueError:
        return href


def joins_to_itself(href: str) -> bool:
    """True for an absolute http(s) URL that `urljoin` gives back as it is, whatever the base: most links in a
    feed are, and urljoin (pure Python, two parses and a reassembly) cost a fifth of reading a feed entry."""
    if not href.startswith(("http://", "https://")) or any(part in href for part in _REASSEMBLED):
        return False
    host = href.split("/", 3)[2]
    return bool(host) and host.isascii()  # urlsplit checks a non-ASCII host's NFKC form, and may reject it


def is_http_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def same_site(url: str, base: str) -> bool:
    """True when `url` is on the same host as `base` (ports included, `www.` folded)."""
    try:
        a, b = urlsplit(url), urlsplit(base)
        return (a.hostname or "").removeprefix("www.") == (b.hostname or "").removeprefix("www.") and a.port == b.port
    except ValueError:
        return False


def origin(url: str) -> str:
    """`scheme://host[:port]` of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
