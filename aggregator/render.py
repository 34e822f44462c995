"""Text and HTML rendering of the digest through Jinja2 templates shipped in the package.

The only module that imports jinja2. HTML templates autoescape everything they print.
"""

from __future__ import annotations

import json
from typing import Literal

from jinja2 import Environment, PackageLoader, select_autoescape

from aggregator.dates import to_iso
from aggregator.digest import Digest

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
                    }
                    for e in group.entries
                ],
            }
            for group in digest.groups
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"
