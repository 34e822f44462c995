"""Plain-text and JSON renderings of what a run did and what the sources are: the CLI's words, no I/O."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aggregator.config import SourceConfig
from aggregator.dates import to_iso
from aggregator.store import SourceRow

if TYPE_CHECKING:  # only for annotations: reading sources or stories must not load the fetch engine
    from aggregator.pipeline import SourceReport


def report_line(report: SourceReport) -> str:
    """One line for one source: `name: status (counts; requests, seconds)` or `name: error: cause`."""
    if report.status == "error":
        return f"{report.name}: error: {report.error}"
    if report.status == "skipped":
        return f"{report.name}: skipped: {report.error}"
    counts = f"{report.new} new, {report.updated} updated, {report.unchanged} unchanged"
    return f"{report.name}: {report.status} ({counts}; {report.requests} requests, {report.seconds:.1f} s)"


def summary_line(reports: Sequence[SourceReport]) -> str:
    """The last line of a run."""
    failed = sum(1 for r in reports if r.status == "error")
    skipped = sum(1 for r in reports if r.status == "skipped")
    new = sum(r.new for r in reports)
    updated = sum(r.updated for r in reports)
    line = f"{len(reports)} sources: {new} new posts, {updated} updated, {failed} failed"
    return line + (f", {skipped} skipped" if skipped else "")


def report_json(reports: Sequence[SourceReport]) -> str:
    """The machine-readable summary of `agg fetch --json`."""
    rows = [
        {
            "source": r.name,
            "kind": r.kind,
            "status": r.status,
            "new": r.new,
            "updated": r.updated,
            "unchanged": r.unchanged,
            "requests": r.requests,
            "seconds": round(r.seconds, 3),
            "error": r.error,
            "warnings": r.warnings,
        }
        for r in reports
    ]
    totals = {
        "new": sum(r.new for r in reports),
        "updated": sum(r.updated for r in reports),
        "unchanged": sum(r.unchanged for r in reports),
        "failed": sum(1 for r in reports if r.status == "error"),
    }
    return json.dumps({"sources": rows, "totals": totals}, ensure_ascii=False, indent=1)


def stories_text(stories: Sequence[Sequence[tuple[int, str, str, str, bool, float, str]]], as_json: bool) -> str:
    """The stories with more than one home: the primary, then each alternate with its score and rule."""
    if as_json:
        rows = [
            [
                {"url": u, "source": s, "title": t, "primary": p, "score": sc, "rule": r}
                for _, u, s, t, p, sc, r in story
            ]
            for story in stories
        ]
        return json.dumps(rows, ensure_ascii=False, indent=1)
    if not stories:
        return "no post has another home: every story is stored once"
    lines = [f"{len(stories)} stories with more than one home"]
    for story in stories:
        for _, url, source, title, primary, score, rule in story:
            if primary:
                lines.append(f"\n* {title}  [{source}]\n  {url}")
            else:
                lines.append(f"  = {title}  [{source}]  score {score:.2f} ({rule})\n    {url}")
    return "\n".join(lines)


def source_table(configured: Sequence[SourceConfig], rows: Mapping[str, SourceRow]) -> list[dict[str, Any]]:
    """Each configured source with what the store knows of it."""
    table: list[dict[str, Any]] = []
    for src in configured:
        row = rows.get(src.name)
        kind = src.kind if src.kind != "auto" or row is None or not row.detected_kind else f"auto→{row.detected_kind}"
        table.append(
            {
                "name": src.name,
                "kind": kind,
                "url": src.url,
                "enabled": src.enabled,
                "last_fetch": to_iso(row.last_fetch) if row else None,
                "status": (row.last_status if row else None) or "never fetched",
                "error": row.last_error if row else None,
                "error_streak": row.error_streak if row else 0,
                "next_try": to_iso(row.next_try) if row else None,
                "posts": row.posts if row else 0,
            }
        )
    return table


def source_table_text(table: Sequence[Mapping[str, Any]]) -> str:
    """The table as lines: name, kind, posts, last fetch, status; an indented line for an error streak."""
    lines = []
    for item in table:
        when = (item["last_fetch"] or "-")[:16].replace("T", " ")
        state = item["status"] + ("" if item["enabled"] else ", disabled")
        lines.append(f"{item['name']}  [{item['kind']}]  {item['posts']} posts  last fetch {when}  {state}")
        if item["error"]:
            retry = f"; next try {str(item['next_try'])[:16].replace('T', ' ')}" if item["next_try"] else ""
            lines.append(f"    error ({item['error_streak']} in a row{retry}): {item['error']}")
    return "\n".join(lines)
