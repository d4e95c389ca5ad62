"""parse_date: every form Chinese feeds write, and round trips of random instants through each form."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signals.feeds import parse_date

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thu, 29 Jan 2026 21:52:24 +0800", (utc(2026, 1, 29, 13, 52, 24), 480)),
        ("29 Jan 2026 21:52 +0800", (utc(2026, 1, 29, 13, 52), 480)),
        ("Thu, 29 Jan 26 21:52:24 +0800", (utc(2026, 1, 29, 13, 52, 24), 480)),  # two-digit year
        ("Thu, 29 Jan 2026 13:52:24 GMT", (utc(2026, 1, 29, 13, 52, 24), 0)),
        ("Thu, 29 Jan 2026 08:52:24 EST", (utc(2026, 1, 29, 13, 52, 24), -300)),
        ("Thu, 29 Jan 2026 21:52:24 CST", (utc(2026, 1, 29, 13, 52, 24), 480)),
        ("Thu, 29 Jan 2026 21:52:24 GMT+8", (utc(2026, 1, 29, 13, 52, 24), 480)),
        ("Thu, 29 Jan 2026 21:52:24 GMT+08:00", (utc(2026, 1, 29, 13, 52, 24), 480)),
        ("Thu, 29 Jan 2026 21:52:24 UTC+8", (utc(2026, 1, 29, 13, 52, 24), 480)),
        ("2026-09-25T14:30:00+08:00", (utc(2026, 9, 25, 6, 30), 480)),
        ("2026-09-25T14:30:00+0800", (utc(2026, 9, 25, 6, 30), 480)),
        ("2026-09-25T06:30:00Z", (utc(2026, 9, 25, 6, 30), 0)),
        ("2026-09-25T06:30:00.250Z", (utc(2026, 9, 25, 6, 30, 0, 250_000), 0)),
        ("2026-09-25T14:30:00+05:45", (utc(2026, 9, 25, 8, 45), 345)),
        ("2026-09-25T14:30:00", (utc(2026, 9, 25, 6, 30), 480)),  # no zone: the source's zone
        ("2026-09-25 14:30:00", (utc(2026, 9, 25, 6, 30), 480)),
        ("2026/09/25 14:30", (utc(2026, 9, 25, 6, 30), 480)),
        ("2026年09月25日", (utc(2026, 9, 24, 16, 0), 480)),
        ("2026年9月25日 14:30", (utc(2026, 9, 25, 6, 30), 480)),
        ("2026年9月25日14:30:05", (utc(2026, 9, 25, 6, 30, 5), 480)),
        ("  2026-09-25 14:30 CST \n", (utc(2026, 9, 25, 6, 30), 480)),
        ("2016-12-31T23:59:60Z", (utc(2016, 12, 31, 23, 59, 59), 0)),  # leap second held at :59
    ],
)
def test_forms(text: str, expected: tuple[datetime, int]) -> None:
    assert parse_date(text, "Asia/Shanghai") == expected


def test_zone_less_dates_follow_the_default_zone_and_its_daylight_saving() -> None:
    assert parse_date("2026-07-01 10:00", "America/New_York") == (utc(2026, 7, 1, 14, 0), -240)
    assert parse_date("2026-01-05 10:00", "America/New_York") == (utc(2026, 1, 5, 15, 0), -300)


def test_cst_is_us_central_only_for_sources_outside_china() -> None:
    text = "Thu, 29 Jan 2026 21:52:24 CST"
    assert parse_date(text, "America/Chicago") == (utc(2026, 1, 30, 3, 52, 24), -360)
    assert parse_date(text, "Asia/Hong_Kong") == (utc(2026, 1, 29, 13, 52, 24), 480)


def test_result_is_utc_aware() -> None:
    parsed = parse_date("Thu, 29 Jan 2026 21:52:24 +0800")
    assert parsed is not None
    assert parsed[0].tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    ["", "昨天下午", "Thu, 29 Jan 2026 21:52:24 XYZ", "2026-02-30 10:00", "2026-13-01", "2026-09-25 25:00",
     "2026-09-25T14:30:00+15:00", "0000-01-01", "9999-12-31T23:00-05:00", "Thu, 29 Foo 2026 10:00 +0800",
     "1769694744", "2026-09-25T", "Fri, 01 Jan 2300 10:00:00 +0000", "1969-12-31T23:59:59Z",
     "0001-01-01 00:00"],
)
def test_untrustworthy_text_gives_none(text: str) -> None:
    assert parse_date(text, "Asia/Shanghai") is None


@given(st.text(max_size=60))
def test_arbitrary_text_never_raises(text: str) -> None:
    result = parse_date(text, "Asia/Shanghai")
    assert result is None or (result[0].tzinfo is UTC and -900 < result[1] < 900)


# ------------------------------------------------------------------- round trips through each form

instants = st.datetimes(min_value=datetime(1992, 1, 1), max_value=datetime(2099, 12, 31))
offsets = st.integers(min_value=-12 * 4, max_value=14 * 4).map(lambda quarter_hours: quarter_hours * 15)


def numeric_offset(minutes: int, colon: bool) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{':' if colon else ''}{mins:02d}"


ZONED_FORMS: dict[str, Callable[[datetime, int], str]] = {
    "rfc822": lambda local, off: local.strftime("%a, %d %b %Y %H:%M:%S ") + numeric_offset(off, colon=False),
    "iso": lambda local, off: local.isoformat() + numeric_offset(off, colon=True),
    "iso-compact-offset": lambda local, off: local.strftime("%Y-%m-%dT%H:%M:%S") + numeric_offset(off, False),
    "gmt-hours": lambda local, off: local.strftime("%a, %d %b %Y %H:%M:%S GMT") + numeric_offset(off, True),
    "utc-hours": lambda local, off: local.strftime("%Y-%m-%d %H:%M:%S UTC") + numeric_offset(off, True),
}


@given(local=instants, offset=offsets, form=st.sampled_from(sorted(ZONED_FORMS)))
def test_zoned_forms_round_trip(local: datetime, offset: int, form: str) -> None:
    if form != "iso":
        local = local.replace(microsecond=0)
    text = ZONED_FORMS[form](local, offset)
    expected = local.replace(tzinfo=timezone(timedelta(minutes=offset))).astimezone(UTC)
    assert parse_date(text, "Europe/Berlin") == (expected, offset)


@given(local=instants)
def test_z_suffix_round_trips(local: datetime) -> None:
    assert parse_date(local.isoformat() + "Z", "Asia/Shanghai") == (local.replace(tzinfo=UTC), 0)


@given(local=instants)
def test_cst_round_trips_as_china_time(local: datetime) -> None:
    local = local.replace(microsecond=0)
    text = local.strftime("%a, %d %b %Y %H:%M:%S CST")
    expected = local.replace(tzinfo=timezone(timedelta(hours=8))).astimezone(UTC)
    assert parse_date(text, "Asia/Shanghai") == (expected, 480)


ZONELESS_FORMS: dict[str, tuple[Callable[[datetime], str], Callable[[datetime], datetime]]] = {
    # form: (how the feed writes it, the part of the instant that survives the writing)
    "iso-naive": (lambda d: d.strftime("%Y-%m-%dT%H:%M:%S"), lambda d: d.replace(microsecond=0)),
    "dash-seconds": (lambda d: d.strftime("%Y-%m-%d %H:%M:%S"), lambda d: d.replace(microsecond=0)),
    "slash-minutes": (lambda d: d.strftime("%Y/%m/%d %H:%M"), lambda d: d.replace(second=0, microsecond=0)),
    "cn-padded-date": (lambda d: d.strftime("%Y年%m月%d日"), lambda d: datetime(d.year, d.month, d.day)),
    "cn-unpadded-time": (lambda d: f"{d.year}年{d.month}月{d.day}日 {d:%H:%M}",
                         lambda d: d.replace(second=0, microsecond=0)),
}


@given(local=instants, form=st.sampled_from(sorted(ZONELESS_FORMS)),
       zone=st.sampled_from(["Asia/Shanghai", "Asia/Tokyo", "UTC"]))
def test_zone_less_forms_round_trip_in_the_default_zone(local: datetime, form: str, zone: str) -> None:
    write, kept = ZONELESS_FORMS[form]
    expected_local = kept(local).replace(tzinfo=ZoneInfo(zone))
    offset = int(expected_local.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
    assert parse_date(write(local), zone) == (expected_local.astimezone(UTC), offset)


def test_an_empty_published_falls_back_to_updated_without_feedparsers_deprecation_warning(tmp_path) -> None:
    import warnings

    from signals.feeds import read_feeds

    feed = tmp_path / "atom.xml"
    feed.write_text(
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        "<entry><id>a</id><title>A</title><published></published>"
        "<updated>2026-01-29T10:00:00Z</updated><content>x</content></entry>"
        "<entry><id>b</id><title>B</title><published> </published><content>y</content></entry></feed>",
        encoding="utf-8")
    seen: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        articles = list(read_feeds([str(feed)], on_warning=seen.append))
    assert [a.published_utc for a in articles] == [datetime(2026, 1, 29, 10, tzinfo=UTC), None]
    assert seen == [f"{feed}: item 2 (B): no publication date"]
    assert [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)] == []
