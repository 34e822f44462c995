"""Text and HTML rendering of the digest through Jinja2 templates shipped in the package.

The only module that imports jinja2. HTML templates autoescape everything they print.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape

from aggregator.dates import to_iso
from aggregator.digest import Digest

if TYPE_CHECKING:  # publish imports this module; the page type is only needed for checking
    from aggregator.publish import IndexPage

DigestFormat = Literal["md", "html", "json"]
DIGEST_FORMATS: tuple[DigestFormat, ...] = ("md", "html", "json")

_ENV = Environment(
    loader=PackageLoader("aggregator", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_ENV.filters["day"] = lambda value: f"{value:%Y-%m-%d}"
_ENV.filters["md_text"] = lambda value: _markdown_escape(value or "")
_ENV.filters["md_link"] = lambda value: (value or "").replace(" ", "%20").replace(")", "%29")
_ENV.filters["hm"] = lambda value: f"{value:%H:%M}"
_ENV.filters["long_day"] = lambda value: f"{value:%A, %Y-%m-%d}"


def safe_url(url: str | None) -> str:
    """The URL if it is http(s), else "#": no `javascript:` or `data:` link can reach a page."""
    value = (url or "").strip()
    return value if urlsplit(value).scheme.lower() in ("http", "https") else "#"


_ENV.filters["safe_url"] = safe_url


def _markdown_escape(text: str) -> str:
    # brackets and emphasis markers in titles would turn into links or italics in Markdown
    for char in "\\[]*_`<>":
        text = text.replace(char, "\\" + char)
    return " ".join(text.split())


def render_digest(digest: Digest, fmt: DigestFormat) -> str:
    """The digest as Markdown, a self-contained HTML page, or JSON."""
    if fmt == "json":
        return digest_json(digest)
    template = _ENV.get_template("digest.md.j2" if fmt == "md" else "digest.html.j2")
    return template.render(digest=digest)


def render_index(page: IndexPage) -> str:
    """The static home page of `agg publish`: one self-contained HTML file, every value escaped."""
    return _ENV.get_template("index.html.j2").render(page=page, digest=page.digest, chart=page.chart)


def digest_json(digest: Digest) -> str:
    data = {
        "since": to_iso(digest.since),
        "until": to_iso(digest.until),
        "counts": {"posts": digest.total, "sources": digest.sources, "new": digest.new, "updated": digest.updated},
        "failures": [{"source": s, "error": e} for s, e in digest.failures],
        "groups": [
            {
                "name": group.name,
                "entries": [
                    {
                        "title": e.title,
                        "url": e.url,
                        "source": e.source,
                        "author": e.author,
                        "date": to_iso(e.date),
                        "status": e.status,
                        "excerpt": e.excerpt,
                        "tags": list(e.tags),
                        "papers": list(e.papers),
                        "other_homes": list(e.other_homes),
                    }
                    for e in group.entries
                ],
            }
            for group in digest.groups
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"
