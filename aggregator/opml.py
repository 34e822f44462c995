"""OPML 2.0 in and out: the subscription lists every feed reader can import and export.

Read with the standard library's xml.etree. A document with a DOCTYPE or an entity declaration is
refused before parsing (defusedxml is not a dependency), so no entity expansion ("billion laughs")
or external entity can happen. Categories become tags; nested outlines pass their titles down as tags.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path

from aggregator.config import SourceConfig
from aggregator.errors import ConfigError
from aggregator.models import Kind
from aggregator.urls import is_http_url

_UNSAFE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_MAX_BYTES = 10_000_000


def read_opml(path: Path) -> tuple[list[SourceConfig], list[str]]:
    """The subscriptions in an OPML file, and one warning per outline that was skipped.

    Raises ConfigError naming the file when it cannot be read or is not OPML.
    """
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from None
    return parse_opml(data, str(path))


def parse_opml(data: bytes, where: str = "<opml>") -> tuple[list[SourceConfig], list[str]]:
    """Parse OPML bytes; see `read_opml`."""
    if len(data) > _MAX_BYTES:
        raise ConfigError(f"{where}: too large for an OPML file ({len(data):,} bytes)")
    if _UNSAFE.search(data):
        raise ConfigError(f"{where}: refusing an OPML file with a DOCTYPE or entity declaration")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise ConfigError(f"{where}: not valid XML: {e}") from None
    if root.tag != "opml" or root.find("body") is None:
        raise ConfigError(f"{where}: not an OPML file (no <opml><body>)")
    sources: list[SourceConfig] = []
    warnings: list[str] = []
    body = root.find("body")
    assert body is not None  # checked above; keeps mypy aware
    for outline, folders in _walk(body, ()):
        item = _source(outline, folders)
        if isinstance(item, str):
            warnings.append(f"{where}: {item}")
        elif item is not None:
            sources.append(item)
    return sources, warnings


def _walk(parent: ET.Element, folders: tuple[str, ...]) -> Iterator[tuple[ET.Element, tuple[str, ...]]]:
    for outline in parent.findall("outline"):
        children = outline.findall("outline")
        if children and not outline.get("xmlUrl"):
            title = (outline.get("title") or outline.get("text") or "").strip()
            yield from _walk(outline, (*folders, title) if title else folders)
        else:
            yield outline, folders


def _source(outline: ET.Element, folders: tuple[str, ...]) -> SourceConfig | str | None:
    url = (outline.get("xmlUrl") or outline.get("htmlUrl") or outline.get("url") or "").strip()
    name = (outline.get("title") or outline.get("text") or "").strip()
    if not url:
        return None if not name else f"outline {name!r} has no xmlUrl or htmlUrl; skipped"
    if not is_http_url(url) or " " in url:
        return f"outline {name or url!r}: {url!r} is not an http(s) URL; skipped"
    categories = [c.strip().strip("/") for c in (outline.get("category") or "").split(",")]
    tags = tuple(dict.fromkeys(t for t in (*folders, *categories) if t))
    kind: Kind = "feed" if outline.get("xmlUrl") else "auto"
    return SourceConfig(name=name or url, url=url, kind=kind, tags=tags)


def write_opml(sources: Sequence[SourceConfig], now: datetime, title: str = "agg sources") -> str:
    """An OPML 2.0 document listing `sources`: feeds as `xmlUrl`, sites agg scrapes as `htmlUrl`."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now, usegmt=True)
    body = ET.SubElement(root, "body")
    for source in sources:
        attributes = {"text": source.name, "title": source.name}
        if source.kind == "feed":
            attributes |= {"type": "rss", "xmlUrl": source.url}
        else:
            attributes |= {"type": "link", "htmlUrl": source.url}
        if source.tags:
            attributes["category"] = ",".join(source.tags)
        ET.SubElement(body, "outline", attributes)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
