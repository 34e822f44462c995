"""Dates in, timezone-aware UTC datetimes out. The only module that imports dateutil.

`parse_date` never raises: what it cannot read is None. `parse_since` reads `--since` values.
A date written with no zone (Fluid prints local time as "2024-05-22 01:00") is read in the zone of
the source being read: `call_in_zone` sets it for a piece of work, from the source's `timezone`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, TypeVar

from aggregator.errors import ConfigError

_CJK_DATE = re.compile(
    r"(?P<y>\d{4})\s*[年./-]\s*(?P<m>\d{1,2})\s*[月./-]\s*(?P<d>\d{1,2})\s*[日号號]?"
    r"(?:\s*(?P<H>\d{1,2})\s*[:时時点點]\s*(?P<M>\d{1,2})(?:\s*[:分]\s*(?P<S>\d{1,2}))?)?"
)
_KOREAN_DATE = re.compile(r"(?P<y>\d{4})\s*년\s*(?P<m>\d{1,2})\s*월\s*(?P<d>\d{1,2})\s*일")
_ZERO_YEAR = re.compile(r"(?<![\d.:+-])000\d(?!\d)")  # Go's zero time, 0001-01-01: an undated page
_EPOCH = re.compile(r"^\d{9,13}(\.\d+)?$")
# Go's time.String() as Hugo themes print it: "2024-05-22 00:00:00 +0000 UTC"
_GO_ZONE_SUFFIX = re.compile(r"(\s[+-]\d{4})\s+[A-Z]{2,5}$")
# weekday names in any language ("Mo,", "Mon,", "周一") carry no information and confuse parsers
_WEEKDAY_PREFIX = re.compile(r"^\s*[^\W\d_]{1,10}\.?,\s*(?=\d)")
_ZONES: dict[str, tzinfo] = {
    "UTC": UTC,
    "GMT": UTC,
    "Z": UTC,
    "CST": timezone(timedelta(hours=8), "CST"),  # in these blogs CST is China Standard Time
    "JST": timezone(timedelta(hours=9), "JST"),
    "KST": timezone(timedelta(hours=9), "KST"),
    "EST": timezone(timedelta(hours=-5), "EST"),
    "EDT": timezone(timedelta(hours=-4), "EDT"),
    "PST": timezone(timedelta(hours=-8), "PST"),
    "PDT": timezone(timedelta(hours=-7), "PDT"),
}
# RSS's RFC 822 dates with a numeric or UTC zone, read without dateutil (ten times slower on these)
_RFC822 = re.compile(
    r"^(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2})(?::(\d{2}))? "
    r"(?:([+-])(\d{2})(\d{2})|GMT|UTC|UT|Z)$"
)
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
_EARLIEST_YEAR = 1971  # Hugo prints 0001-01-01 for undated pages; nothing real predates this


T = TypeVar("T")
# the zone a date with none is read in: UTC unless the work runs under call_in_zone
_LOCAL_ZONE: ContextVar[tzinfo] = ContextVar("agg_local_zone", default=UTC)
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*$")  # "Asia/Shanghai", never a path


def zone_named(name: str) -> tzinfo | None:
    """The IANA time zone `name` ("Asia/Shanghai", "Etc/GMT-8", "UTC"), or None when there is none."""
    if name.strip().upper() in ("UTC", "Z", "ETC/UTC"):
        return UTC
    if not _ZONE_NAME.match(name.strip()):
        return None
    from dateutil import tz as dateutil_tz  # imported only to name a zone: a run of 304s parses no dates

    found = dateutil_tz.gettz(name.strip())  # the system's zone data, else dateutil's copy
    # a named zone only: gettz also reads POSIX strings, where "Beijing+8" means UTC-8
    return None if found is None or isinstance(found, dateutil_tz.tzstr) else found


def call_in_zone(zone: str | None, function: Callable[..., T], *args: Any) -> T:
    """`function(*args)`, with dates that carry no zone read in the zone named `zone` (None: UTC).

    A top-level function, so the worker pool can run it: the zone travels by name to the worker.
    """
    found = zone_named(zone) if zone else None
    if found is None:
        return function(*args)
    token = _LOCAL_ZONE.set(found)
    try:
        return function(*args)
    finally:
        _LOCAL_ZONE.reset(token)


def parse_date(value: object, *, default_tz: tzinfo | None = None) -> datetime | None:
    """Read a date from text, a number (Unix seconds or milliseconds) or a datetime; None if unsure.

    A date with no time zone is read in `default_tz`, else in the zone of the work (`call_in_zone`).
    Dates before 1971 (Hugo's `0001-01-01` for undated pages) are None.
    """
    try:
        result = _parse(value, default_tz or _LOCAL_ZONE.get())
        if result is None or result.year < _EARLIEST_YEAR:
            return None
        return result.astimezone(UTC)  # an offset of 24 h or more fails here, not later
    except (ValueError, OverflowError, TypeError, ArithmeticError, OSError):  # OSError: absurd timestamps
        return None


def _parse(value: object, default_tz: tzinfo) -> datetime | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=default_tz)
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 200:
        return None
    if _ZERO_YEAR.search(text):
        return None
    if _EPOCH.match(text):
        return _from_epoch(float(text))
    if "年" in text or re.match(r"^\d{4}/\d{1,2}/\d{1,2}", text):
        match = _CJK_DATE.search(text)
        if match:
            return _from_parts(match.groupdict(), default_tz)
    if "년" in text:
        match = _KOREAN_DATE.search(text)
        if match:
            return _from_parts(match.groupdict(), default_tz)
    return _parse_text(text, default_tz)


def _from_epoch(number: float) -> datetime | None:
    if number > 1e11:  # milliseconds (HackMD, JavaScript)
        number /= 1000
    return datetime.fromtimestamp(number, UTC)


def _from_parts(parts: dict[str, str | None], default_tz: tzinfo) -> datetime:
    def num(key: str) -> int:
        value = parts.get(key)
        return int(value) if value else 0

    return datetime(num("y"), num("m"), num("d"), num("H"), num("M"), num("S"), tzinfo=default_tz)


def _parse_text(text: str, default_tz: tzinfo) -> datetime | None:
    text = _GO_ZONE_SUFFIX.sub(r"\1", text)
    text = _WEEKDAY_PREFIX.sub("", text)
    rfc822 = _RFC822.match(text)
    if rfc822:
        day, month, year, hour, minute, second, sign, zone_h, zone_m = rfc822.groups()
        offset = timedelta(hours=int(zone_h or 0), minutes=int(zone_m or 0)) * (-1 if sign == "-" else 1)
        return datetime(
            int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second or 0), tzinfo=timezone(offset)
        )
    if text.endswith("Z") and "T" in text:
        text = text[:-1] + "+00:00"
    try:
        result = datetime.fromisoformat(text)
    except ValueError:
        from dateutil import parser as dateutil_parser  # 12 ms to import: only for the long tail of formats

        # "22/05/2024" is day-first; "2024/06/29" is year-first; dateutil sorts out the rest
        dayfirst = bool(re.match(r"^(1[3-9]|2\d|3[01])[/.-]\d{1,2}[/.-]\d{4}", text))
        result = dateutil_parser.parse(text, dayfirst=dayfirst, tzinfos=_ZONES, fuzzy=False)
    return result if result.tzinfo else result.replace(tzinfo=default_tz)


def clamp_future(value: datetime | None, now: datetime) -> tuple[datetime | None, bool]:
    """A date after `now` becomes `now`; the flag says it was clamped."""
    if value is not None and value > now:
        return now, True
    return value, False


_SINCE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str, now: datetime) -> datetime:
    """`12h`, `7d`, `2w`, `30m`, or an ISO date/datetime, as the UTC start of a window ending at `now`."""
    match = _SINCE.match(value)
    try:
        if match:
            amount, unit = int(match.group(1)), _UNITS[match.group(2).lower()]
            return now - timedelta(**{unit: amount})
        start = datetime.fromisoformat(value.strip())
        return (start if start.tzinfo else start.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise ConfigError(f"--since: cannot read {value!r} (use 12h, 7d, 2w or an ISO date like 2026-11-01)") from None


def to_iso(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a Z, as stored and exported."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def from_iso(value: str | None) -> datetime | None:
    """Read back what `to_iso` wrote."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
