"""The pipeline's error reports: one line per failed source, whatever the exception's text holds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from agg_cli import write_feeds_toml

from aggregator import pipeline
from aggregator.config import load_config
from aggregator.errors import ParseError
from aggregator.models import SourceOutput
from aggregator.report import report_line
from aggregator.sources.base import SourceContext
from aggregator.store import Store

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


async def _raises_several_lines(ctx: SourceContext) -> SourceOutput:
    if ctx.source.name == "bug":
        raise RuntimeError("\n        An attempt has been made to start a new process\n\n        before ...\n")
    raise ParseError(f"{ctx.source.url}: the server said:\r\n<h1>Bad\tgateway</h1>\n")


def test_an_error_with_several_lines_is_reported_and_stored_on_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "fetcher_for", lambda kind: _raises_several_lines)
    urls = {"bug": "http://127.0.0.1:9/a.xml", "bad": "http://127.0.0.1:9/b.xml"}
    config = load_config(write_feeds_toml(tmp_path, urls, {"workers": 1}))
    store = Store.open(tmp_path / "agg.db")
    try:
        reports = asyncio.run(pipeline.run_fetch(config, store, config.sources, now=NOW))
        assert [r.error for r in reports] == [
            "internal error: RuntimeError: An attempt has been made to start a new process before ...",
            "http://127.0.0.1:9/b.xml: the server said: <h1>Bad gateway</h1>",
        ]
        assert all("\n" not in report_line(r) for r in reports)
        assert "Traceback" in (reports[0].detail or "")  # the whole story is kept for -v
        assert {row.name: row.last_error for row in store.sources()} == {r.name: r.error for r in reports}
        # the next run, inside the backoff, quotes the stored error on the same line
        later = asyncio.run(pipeline.run_fetch(config, store, config.sources, now=NOW + timedelta(minutes=1)))
        assert all("not retried until" in (r.error or "") and "\n" not in (r.error or "") for r in later)
    finally:
        store.close()
