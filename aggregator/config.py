"""Read and check feeds.toml: a [settings] table and one [[source]] table per source.

Every problem is a `ConfigError` whose message names the file, the key (or line) and what is wrong,
raised before anything is fetched or written.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from aggregator.dates import zone_named
from aggregator.errors import ConfigError
from aggregator.models import KINDS, Kind
from aggregator.proxy import ProxyRules
from aggregator.urls import is_http_url

DEFAULT_CONFIG_NAME = "feeds.toml"
DEFAULT_USER_AGENT = "agg/0.1 (+https://github.com/agg-feeds/agg; feed aggregator for study notes)"


@dataclass(frozen=True, slots=True)
class Settings:
    """Run-wide settings; each has a default, each can be set in [settings]."""

    database: str = "agg.db"
    user_agent: str = DEFAULT_USER_AGENT
    timeout: float = 15.0  # seconds for one read, and for connecting
    deadline: float = 30.0  # seconds for one request in all, however slowly bytes arrive
    source_deadline: float = 120.0  # seconds for one source in all (pages, retries and parsing)
    concurrency: int = 16  # requests in flight across all hosts
    per_host: int = 4  # requests in flight to one host
    max_bytes: int = 20_000_000  # largest body accepted, counted after decompression
    max_redirects: int = 10
    retries: int = 2  # extra tries on timeouts, connection errors, 5xx and 429
    max_retry_after: float = 30.0  # longest Retry-After agg waits for within a run
    max_pages: int = 1000  # pages a scraped source may request in one run
    hackmd_concurrency: int = 2  # note downloads in flight for one HackMD profile
    workers: int = 0  # processes for parsing; 0 = one per core
    timezone: str = "UTC"  # IANA zone a date written without one is read in (a source's own overrides it)
    proxy: str = ""  # an http:// proxy for every request, or "direct"; empty: the environment's (HTTPS_PROXY...)


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """One [[source]] table."""

    name: str
    url: str
    kind: Kind = "auto"
    tags: tuple[str, ...] = ()
    enabled: bool = True
    max_pages: int | None = None  # overrides settings.max_pages for this source
    robots: bool = True  # honour robots.txt when scraping pages
    timezone: str | None = None  # overrides settings.timezone: the zone this site's zoneless dates are in


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration, with the path it came from (None when built in code)."""

    settings: Settings = field(default_factory=Settings)
    sources: tuple[SourceConfig, ...] = ()
    path: Path | None = None

    def database_path(self, override: str | None = None) -> Path:
        """The database file: --db, else $AGG_DB, else [settings] database beside the config."""
        chosen = override or os.environ.get("AGG_DB") or self.settings.database
        path = Path(chosen).expanduser()
        if not path.is_absolute() and self.path is not None and not (override or os.environ.get("AGG_DB")):
            path = self.path.parent / path
        return path


_SETTING_TYPES: dict[str, type | tuple[type, ...]] = {
    f.name: (int, float) if f.type == "float" else {"int": int, "str": str}[str(f.type)] for f in fields(Settings)
}
_SOURCE_TYPES: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "url": str,
    "kind": str,
    "tags": list,
    "enabled": bool,
    "max_pages": int,
    "robots": bool,
    "timezone": str,
}


def find_config(explicit: str | None) -> Path:
    """The config path: --config, else $AGG_CONFIG, else ./feeds.toml."""
    chosen = explicit or os.environ.get("AGG_CONFIG") or DEFAULT_CONFIG_NAME
    return Path(chosen).expanduser()


def load_config(path: Path) -> Config:
    """Read and check a config file; raise ConfigError naming the file and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file (pass --config or create {DEFAULT_CONFIG_NAME})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: TOML syntax error: {e}") from None
    return replace(parse_config(data, str(path)), path=path)


def parse_config(data: dict[str, Any], where: str = "<config>") -> Config:
    """Check a parsed TOML document and build a Config."""
    unknown = set(data) - {"settings", "source"}
    if unknown:
        raise ConfigError(f"{where}: unknown top-level key {sorted(unknown)[0]!r} (expected [settings] or [[source]])")
    settings = _parse_settings(data.get("settings", {}), where)
    raw_sources = data.get("source", [])
    if not isinstance(raw_sources, list):
        raise ConfigError(f"{where}: 'source' must be an array of tables ([[source]])")
    sources: list[SourceConfig] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_sources, start=1):
        source = _parse_source(raw, f"{where}: source #{index}")
        if source.name in seen:
            raise ConfigError(f"{where}: source #{index}: duplicate name {source.name!r}")
        seen.add(source.name)
        sources.append(source)
    return Config(settings=settings, sources=tuple(sources))


def _check_type(value: Any, expected: type | tuple[type, ...], where: str, key: str) -> None:
    # bool is an int in Python, but `timeout = true` is a mistake worth naming
    ok = not (isinstance(value, bool) and expected is not bool) and isinstance(value, expected)
    if not ok:
        names = expected.__name__ if isinstance(expected, type) else " or ".join(t.__name__ for t in expected)
        raise ConfigError(f"{where}: key {key!r} must be {names}, not {type(value).__name__} ({value!r})")


def _parse_settings(raw: Any, where: str) -> Settings:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [settings] must be a table")
    for key, value in raw.items():
        if key not in _SETTING_TYPES:
            raise ConfigError(f"{where}: [settings]: unknown key {key!r}")
        _check_type(value, _SETTING_TYPES[key], f"{where}: [settings]", key)
        if isinstance(value, int | float) and not isinstance(value, bool) and not value >= 0:  # also NaN
            raise ConfigError(f"{where}: [settings]: key {key!r} must not be negative ({value})")
    values: dict[str, Any] = {k: float(v) if _SETTING_TYPES[k] == (int, float) else v for k, v in raw.items()}
    check_zone(values.get("timezone"), f"{where}: [settings]")
    # a proxy agg cannot use is refused now, naming the file; the environment's are read by each run
    ProxyRules.configured(values.get("proxy", ""), {}, f"{where}: [settings] proxy")
    return Settings(**values)


def check_zone(name: str | None, where: str) -> None:
    """Refuse a time zone name that names no IANA zone, saying `where` it was given."""
    if name is not None and zone_named(name) is None:
        raise ConfigError(f"{where}: unknown time zone {name!r} (expected an IANA name such as Asia/Shanghai or UTC)")


def _parse_source(raw: Any, where: str) -> SourceConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table")
    for key, value in raw.items():
        if key not in _SOURCE_TYPES:
            raise ConfigError(f"{where}: unknown key {key!r}")
        _check_type(value, _SOURCE_TYPES[key], where, key)
    for key in ("name", "url"):
        if not str(raw.get(key, "")).strip():
            raise ConfigError(f"{where}: missing required key {key!r}")
    name = raw["name"].strip()
    where = f"{where} ({name!r})"
    url = raw["url"].strip()
    if not is_http_url(url) or " " in url:
        raise ConfigError(f"{where}: invalid URL {url!r} (need an absolute http:// or https:// URL)")
    kind = raw.get("kind", "auto")
    if kind not in KINDS:
        raise ConfigError(f"{where}: unknown kind {kind!r} (expected one of {', '.join(KINDS)})")
    if raw.get("max_pages") is not None and raw["max_pages"] < 1:
        raise ConfigError(f"{where}: key 'max_pages' must be 1 or more ({raw['max_pages']})")
    tags = raw.get("tags", [])
    if not all(isinstance(t, str) for t in tags):
        raise ConfigError(f"{where}: key 'tags' must be a list of strings")
    check_zone(raw.get("timezone"), where)
    return SourceConfig(
        name=name,
        url=url,
        kind=kind,
        tags=tuple(tags),
        enabled=raw.get("enabled", True),
        max_pages=raw.get("max_pages"),
        robots=raw.get("robots", True),
        timezone=raw.get("timezone"),
    )
