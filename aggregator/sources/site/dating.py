"""Dates printed in pages: machine attributes first, then date-looking text."""

from __future__ import annotations

import re
from datetime import datetime

from aggregator.dates import parse_date
from aggregator.dom import Node

_DATE_ATTRIBUTES = ("datetime", "content", "data-date", "data-time", "data-updated", "title")
_MACHINE_ATTRIBUTES = frozenset({"datetime", "content"})  # values made for machines: read them whole
_MONTHS = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_DATE_IN_TEXT = re.compile(
    r"(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}(?:\s*[日号])?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"
    rf"|{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{{2}}"
    rf"|\d{{1,2}}\s+{_MONTHS},?\s+(?:19|20)\d{{2}}"
    r"|(?:19|20)\d{2}\s*년\s*\d{1,2}\s*월\s*\d{1,2}\s*일",
    re.IGNORECASE,
)


def date_in_text(text: str) -> datetime | None:
    """The first date written in running text ("Date: July 4, 2026 | …", "2024年5月22日")."""
    for match in _DATE_IN_TEXT.finditer(text or ""):
        found = parse_date(match.group(0))
        if found is not None:
            return found
    return None


def date_from_node(node: Node, *, text_only: bool = False) -> datetime | None:
    """A node's date: a date attribute (datetime, title, data-date…), else a date written in its text."""
    if not text_only:
        for attribute in _DATE_ATTRIBUTES:
            value = (node.attributes.get(attribute) or "").strip()
            if not value or not any(ch.isdigit() for ch in value):
                continue
            found = parse_date(value) if attribute in _MACHINE_ATTRIBUTES else None
            found = found or date_in_text(value)
            if found is not None:
                return found
    for time_node in node.css("time[datetime]"):
        found = parse_date(time_node.attributes.get("datetime"))
        if found is not None:
            return found
    return date_in_text(node.text(deep=True) or "")
