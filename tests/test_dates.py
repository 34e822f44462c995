"""aggregator.dates: parse_date, clamp_future, parse_since, to_iso/from_iso."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.dates import call_in_zone, clamp_future, from_iso, parse_date, parse_since, to_iso, zone_named
from aggregator.errors import ConfigError

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def assert_aware_utc(value: datetime | None) -> None:
    assert value is not None
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # CJK blog dates
        ("2024年5月22日", utc(2024, 5, 22)),
        ("2024 年 5 月 22 日", utc(2024, 5, 22)),
        ("2024年5月22日 15时07分", utc(2024, 5, 22, 15, 7)),
        ("2024/6/29 15:07:41", utc(2024, 6, 29, 15, 7, 41)),
        ("2022년 4월 28일", utc(2022, 4, 28)),
        # day-first when the first number cannot be a month
        ("22/05/2024", utc(2024, 5, 22)),
        # weekday names in any language are ignored
        ("Mo, 25 Jun 2018", utc(2018, 6, 25)),
        ("Thursday, April 28, 2022", utc(2022, 4, 28)),
        # ISO 8601 with offsets and Z
        ("2024-05-22T10:00:00+08:00", utc(2024, 5, 22, 2)),
        ("2024-05-22T10:00:00-05:00", utc(2024, 5, 22, 15)),
        ("2024-05-22T10:00:00Z", utc(2024, 5, 22, 10)),
        ("2024-05-22T10:00:00.123Z", datetime(2024, 5, 22, 10, 0, 0, 123000, tzinfo=UTC)),
        ("2024-05-22", utc(2024, 5, 22)),
        # RFC 822 with named zones and offsets
        ("Wed, 22 May 2024 10:00:00 GMT", utc(2024, 5, 22, 10)),
        ("Wed, 22 May 2024 10:00:00 +0800", utc(2024, 5, 22, 2)),
        ("Sat, 22 Jun 2024 10:00:00 CST", utc(2024, 6, 22, 2)),  # China Standard Time in these blogs
        # Go's time.String() with a non-zero offset
        ("2024-05-22 00:00:00 -0700 MST", utc(2024, 5, 22, 7)),
    ],
)
def test_parse_date_text(value: str, expected: datetime) -> None:
    result = parse_date(value)
    assert result == expected
    assert_aware_utc(result)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-22 00:00:00 +0000 UTC", utc(2024, 5, 22)),  # Go time.String() as Hugo prints it
        ("Wed, 22 May 2024 10:00:00 +0000", utc(2024, 5, 22, 10)),  # the most common RFC 822 form
        ("2024-05-22T00:00:00.000+0000", utc(2024, 5, 22)),
        ("2024-05-22T10:00:00-0000", utc(2024, 5, 22, 10)),
    ],
)
def test_parse_date_utc_numeric_offset(value: str, expected: datetime) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    "value",
    [1716336000, 1716336000000, "1716336000", "1716336000000", 1716336000.0, " 1716336000 "],
)
def test_parse_date_unix_seconds_and_milliseconds(value: object) -> None:
    result = parse_date(value)
    assert result == utc(2024, 5, 22)
    assert_aware_utc(result)


def test_parse_date_unix_fractional_seconds() -> None:
    assert parse_date(1716336000.5) == datetime(2024, 5, 22, 0, 0, 0, 500000, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01",
        "0001-01-01T00:00:00Z",
        "Mon, 01 Jan 0001 00:00:00 +0000",  # dateutil alone would read this as 2001
        "1900-01-01",
        "garbage",
        "",
        "   ",
        "hello, 12 world",
        "2024-13-45",
        "not a date at all 2024",
        "x" * 300,
        None,
        True,
        False,
        0,
        -1,
        float("nan"),
        float("inf"),
        10**30,
        [],
        {"date": "2024-05-22"},
        b"2024-05-22",
    ],
)
def test_parse_date_unreadable_is_none(value: object) -> None:
    assert parse_date(value) is None


def test_parse_date_naive_uses_default_tz() -> None:
    tokyo = timezone(timedelta(hours=9))
    assert parse_date("2024-05-22 09:00", default_tz=tokyo) == utc(2024, 5, 22, 0)
    assert parse_date("2024年5月22日 09:00", default_tz=tokyo) == utc(2024, 5, 22, 0)
    # an explicit offset wins over the default
    assert parse_date("2024-05-22T09:00:00Z", default_tz=tokyo) == utc(2024, 5, 22, 9)


def test_parse_date_datetime_input() -> None:
    aware = datetime(2024, 5, 22, 10, tzinfo=timezone(timedelta(hours=8)))
    assert parse_date(aware) == utc(2024, 5, 22, 2)
    assert parse_date(datetime(2024, 5, 22, 10)) == utc(2024, 5, 22, 10)
    assert_aware_utc(parse_date(datetime(2024, 5, 22, 10)))


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:00:00-05:00",
        "9999-12-31 23:00:00 PST",
        datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),
        "2024-05-22 10:00 -3000",
        "Wed, 22 May 2024 10:00:00 +9900",
        "1;1;0 00-\u0969000",
    ],
)
def test_parse_date_out_of_range_result_is_none(value: object) -> None:
    assert parse_date(value) is None


# --- property tests -----------------------------------------------------------------------------

_date_like = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="0123456789-/:.+ TZ年月日년월일,", max_size=40),
    st.from_regex(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}( \d{1,2}:\d{2}(:\d{2})?)?( [+-]\d{4})?", fullmatch=True),
    st.from_regex(r"[A-Za-z]{2,9}, \d{1,2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}", fullmatch=True),
)


def _check_parse_date(value: object) -> None:
    result = parse_date(value)
    if result is not None:
        assert isinstance(result, datetime)
        assert_aware_utc(result)
        assert result.year >= 1971


@settings(deadline=None)
@given(_date_like)
def test_parse_date_never_raises_on_text(value: str) -> None:
    _check_parse_date(value)


_SAFE_EPOCH = 6e16  # beyond about 1e17 the platform's localtime() fails with OSError: see the xfail below


@settings(deadline=None)
@given(
    st.one_of(
        st.integers(min_value=-int(_SAFE_EPOCH), max_value=int(_SAFE_EPOCH)),
        st.floats(min_value=-_SAFE_EPOCH, max_value=_SAFE_EPOCH),
        st.sampled_from([float("nan"), float("inf"), float("-inf")]),
    )
)
def test_parse_date_never_raises_on_numbers(value: float) -> None:
    _check_parse_date(value)


@pytest.mark.parametrize("value", [-67_768_040_609_740_805, -1e17, -(10**18), 10**20])
def test_parse_date_huge_epoch_is_none(value: object) -> None:
    assert parse_date(value) is None


@settings(deadline=None)
@given(st.datetimes(timezones=st.one_of(st.none(), st.timezones())))
def test_parse_date_datetimes_become_utc_or_none(value: datetime) -> None:
    _check_parse_date(value)


# --- clamp_future -------------------------------------------------------------------------------


def test_clamp_future() -> None:
    past = NOW - timedelta(days=1)
    future = NOW + timedelta(seconds=1)
    assert clamp_future(past, NOW) == (past, False)
    assert clamp_future(NOW, NOW) == (NOW, False)
    assert clamp_future(future, NOW) == (NOW, True)
    assert clamp_future(None, NOW) == (None, False)


# --- parse_since --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12h", NOW - timedelta(hours=12)),
        ("7d", NOW - timedelta(days=7)),
        ("2w", NOW - timedelta(weeks=2)),
        ("30m", NOW - timedelta(minutes=30)),
        (" 7D ", NOW - timedelta(days=7)),
        ("0h", NOW),
        ("2026-11-01", utc(2026, 11, 1)),
        ("2026-11-01T10:00:00", utc(2026, 11, 1, 10)),
        ("2026-11-01T10:00:00+08:00", utc(2026, 11, 1, 2)),
        ("2026-11-01T10:00:00Z", utc(2026, 11, 1, 10)),
    ],
)
def test_parse_since(value: str, expected: datetime) -> None:
    result = parse_since(value, NOW)
    assert result == expected
    assert_aware_utc(result)


@pytest.mark.parametrize("value", ["", "abc", "7x", "-7d", "1.5h", "7 days", "yesterday", "2026-13-01", "12hh"])
def test_parse_since_bad_values(value: str) -> None:
    with pytest.raises(ConfigError, match="--since"):
        parse_since(value, NOW)


@pytest.mark.parametrize("value", ["99999999999d", "100000000w", "0001-01-01T00:00:00+01:00"])
def test_parse_since_out_of_range_is_config_error(value: str) -> None:
    with pytest.raises(ConfigError):
        parse_since(value, NOW)


@settings(deadline=None)
@given(st.one_of(st.text(max_size=30), st.from_regex(r"\s*\d{1,5}\s*[mhdwMHDW]\s*", fullmatch=True)))
def test_parse_since_raises_only_config_error(value: str) -> None:
    # amounts up to 5 digits stay inside datetime's range; larger ones hit the xfail above
    try:
        result = parse_since(value, NOW)
    except ConfigError:
        return
    assert_aware_utc(result)
    if re.fullmatch(r"\s*\d+\s*[mhdw]\s*", value, re.IGNORECASE):
        assert result <= NOW


# --- to_iso / from_iso --------------------------------------------------------------------------


def test_iso_round_trip() -> None:
    value = datetime(2024, 5, 22, 10, 30, tzinfo=timezone(timedelta(hours=8)))
    text = to_iso(value)
    assert text == "2024-05-22T02:30:00Z"
    assert from_iso(text) == value
    assert to_iso(None) is None
    assert from_iso(None) is None
    assert from_iso("") is None


@pytest.mark.parametrize(
    "value",
    [
        "Mon, 02 Nov 2026 10:00:00 +0800",
        "Tue, 3 Feb 2026 23:59:59 -0330",
        "02 Nov 2026 10:00 GMT",
        "Sun, 01 Mar 2026 00:00:00 UTC",
        "Fri, 29 Feb 2024 12:30:00 +0000",
    ],
)
def test_rfc822_dates_read_without_dateutil_match_dateutil(value: str) -> None:
    from dateutil import parser as dateutil_parser

    assert parse_date(value) == dateutil_parser.parse(value.rsplit(", ", maxsplit=1)[-1]).astimezone(UTC)


def test_zoneless_dates_are_read_in_the_zone_of_the_work() -> None:
    local = "2024-05-22 01:00"
    assert parse_date(local) == datetime(2024, 5, 22, 1, 0, tzinfo=UTC)  # no zone known: UTC
    assert call_in_zone("Asia/Shanghai", parse_date, local) == datetime(2024, 5, 21, 17, 0, tzinfo=UTC)
    assert call_in_zone("America/New_York", parse_date, "2024-01-15 12:00") == datetime(2024, 1, 15, 17, tzinfo=UTC)
    # a date that says its zone keeps it; an explicit default still wins over the work's zone
    assert call_in_zone("Asia/Shanghai", parse_date, "2024-05-22T01:00:00Z") == datetime(2024, 5, 22, 1, tzinfo=UTC)
    tokyo = timezone(timedelta(hours=9))
    assert call_in_zone("Asia/Shanghai", lambda: parse_date(local, default_tz=tokyo)) == datetime(
        2024, 5, 21, 16, 0, tzinfo=UTC
    )
    assert parse_date(local) == datetime(2024, 5, 22, 1, 0, tzinfo=UTC)  # the zone ends with the work
    assert call_in_zone(None, parse_date, local) == datetime(2024, 5, 22, 1, 0, tzinfo=UTC)


# POSIX zone strings are refused: in them "Beijing+8" means UTC-8
@pytest.mark.parametrize(
    "name", ["Asia/Shangai", "/etc/passwd", "../zoneinfo/UTC", "", "Asia/Shanghai; rm", "UTC+8", "Beijing+8", "China8"]
)
def test_unknown_or_path_like_zone_names_are_none(name: str) -> None:
    assert zone_named(name) is None


def test_known_zone_names() -> None:
    assert zone_named("UTC") is UTC
    moment = datetime(2024, 5, 22, tzinfo=UTC)
    assert moment.astimezone(zone_named("Asia/Seoul")).utcoffset() == timedelta(hours=9)
