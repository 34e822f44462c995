"""Edit feeds.toml in place: append [[source]] tables, keeping the file's comments and layout.

The only module that imports tomlkit. The edited document is checked with `config.parse_config`
before anything is written, and written to a temporary file and renamed, so a mistake never
leaves a half-written or invalid config behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import tomlkit
from tomlkit.exceptions import ParseError as TomlParseError

from aggregator.atomic import write_whole
from aggregator.config import SourceConfig, parse_config
from aggregator.errors import ConfigError


@dataclass(frozen=True, slots=True)
class AddResult:
    added: tuple[SourceConfig, ...]
    skipped: tuple[tuple[SourceConfig, str], ...]  # (source, why) for names or URLs already in the file


def add_sources(path: Path, sources: Sequence[SourceConfig], *, skip_existing: bool = False) -> AddResult:
    """Append `sources` to the config at `path` (created if missing) and return what was added.

    A name or URL already in the file is an error, or, with `skip_existing`, skipped and reported.
    The existing text is kept byte for byte; new tables go at the end, after one blank line.
    """
    text = _read(path)
    document = _parse(text, path)
    parse_config(document.unwrap(), str(path))  # refuse to edit a file that is already wrong
    tables = document.get("source") or []
    names = {str(t.get("name", "")).strip() for t in tables}
    urls = {str(t.get("url", "")).strip().rstrip("/") for t in tables}
    added: list[SourceConfig] = []
    skipped: list[tuple[SourceConfig, str]] = []
    for source in sources:
        why = _conflict(source, names, urls)
        if why is not None:
            if not skip_existing:
                raise ConfigError(f"{path}: {why}")
            skipped.append((source, why))
            continue
        names.add(source.name)
        urls.add(source.url.rstrip("/"))
        text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + render_source(source)
        added.append(source)
    if added:
        parse_config(_parse(text, path).unwrap(), str(path))  # never write a file agg itself would refuse
        _write(path, text)
    return AddResult(tuple(added), tuple(skipped))


def render_source(source: SourceConfig) -> str:
    """One `[[source]]` table as TOML text (tomlkit quotes and escapes the values)."""
    table = tomlkit.table()
    table.add("name", source.name)
    table.add("url", source.url)
    if source.kind != "auto":
        table.add("kind", source.kind)
    if source.tags:
        table.add("tags", list(source.tags))
    if source.timezone:
        table.add("timezone", source.timezone)
    document = tomlkit.document()
    tables = tomlkit.aot()
    tables.append(table)
    document.add("source", tables)
    return tomlkit.dumps(document)


def _conflict(source: SourceConfig, names: set[str], urls: set[str]) -> str | None:
    if source.name in names:
        return f"a source named {source.name!r} already exists"
    if source.url.rstrip("/") in urls:
        return f"{source.url} is already a source"
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None


def _parse(text: str, path: Path) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(text)
    except TomlParseError as e:
        raise ConfigError(f"{path}: TOML syntax error: {e}") from None


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_whole(path, text)  # a reader of the config never sees half a file
    except OSError as e:
        raise ConfigError(f"{path}: cannot write: {e.strerror or e}") from None
