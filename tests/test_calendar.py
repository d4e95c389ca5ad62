"""Exchange calendars and day 0, with hand-worked cases checked against the real holiday lists."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signals import store
from signals.calendar import (
    CALENDAR_FOR_MIC,
    Day0,
    assign_day0,
    compute_day0,
    day0,
    get_calendar,
    has_calendar,
    sessions,
)
from signals.errors import CalendarRangeError

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
CHI = ZoneInfo("America/Chicago")
D = dt.date


def at(tz, *args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)


# The sample feed's items at 21:52 +0800 on 2026-01-29 are 08:52 in New York (before the open)
# and after the Shanghai close.
@pytest.mark.parametrize(("published", "mic", "expected"), [
    (at(SH, 2026, 1, 29, 21, 52, 24), "XNYS", Day0(D(2026, 1, 29), "before_open")),
    (at(SH, 2026, 1, 29, 21, 52, 24), "XNAS", Day0(D(2026, 1, 29), "before_open")),
    (at(SH, 2026, 1, 29, 21, 52, 24), "XSHG", Day0(D(2026, 1, 30), "after_close")),
    (at(SH, 2026, 1, 29, 10, 30), "XSHG", Day0(D(2026, 1, 29), "in_session")),
    (at(SH, 2026, 1, 29, 12, 0), "XSHG", Day0(D(2026, 1, 29), "in_session")),  # lunch break
    (at(SH, 2026, 1, 29, 9, 0), "XSHE", Day0(D(2026, 1, 29), "before_open")),
    (at(SH, 2026, 1, 29, 15, 0), "XSHG", Day0(D(2026, 1, 30), "after_close")),  # the close itself
    # Chinese New Year: Shanghai closed 2026-02-16 .. 2026-02-23
    (at(SH, 2026, 2, 13, 16, 0), "XSHG", Day0(D(2026, 2, 24), "after_close")),
    (at(SH, 2026, 2, 17, 10, 0), "XSHG", Day0(D(2026, 2, 24), "non_session_day")),
    (at(SH, 2026, 2, 23, 10, 0), "XSHG", Day0(D(2026, 2, 24), "non_session_day")),
    # US holidays: MLK day 2026-01-19, Independence Day observed on Friday 2026-07-03
    (at(NY, 2026, 1, 19, 11, 0), "XNYS", Day0(D(2026, 1, 20), "non_session_day")),
    (at(NY, 2026, 7, 2, 17, 0), "XNYS", Day0(D(2026, 7, 6), "after_close")),
    (at(NY, 2026, 7, 3, 10, 0), "XNYS", Day0(D(2026, 7, 6), "non_session_day")),
    (at(NY, 2026, 1, 29, 9, 30), "XNYS", Day0(D(2026, 1, 29), "in_session")),
    # Friday evening -> Monday
    (at(NY, 2026, 1, 30, 20, 0), "XNYS", Day0(D(2026, 2, 2), "after_close")),
    (at(SH, 2026, 1, 30, 20, 0), "XSHG", Day0(D(2026, 2, 2), "after_close")),
    (at(SH, 2026, 1, 31, 9, 0), "XHKG", Day0(D(2026, 2, 2), "non_session_day")),
    # CME futures: the Monday session opens Sunday 17:00 Chicago; Saturday news waits for it
    (at(NY, 2026, 1, 31, 20, 0), "CMES", Day0(D(2026, 2, 2), "non_session_day")),
    (at(NY, 2026, 1, 29, 20, 0), "CMES", Day0(D(2026, 1, 30), "in_session")),
    # Globex halts 16:00-17:00 Chicago: the day's bar has ended, news then waits for the next one
    (at(CHI, 2026, 1, 30, 15, 59), "CMES", Day0(D(2026, 1, 30), "in_session")),
    (at(CHI, 2026, 1, 30, 16, 30), "CMES", Day0(D(2026, 2, 2), "after_close")),
    (at(CHI, 2026, 1, 29, 16, 0), "CMES", Day0(D(2026, 1, 30), "after_close")),
    # FX, 24/5 in UTC: Friday 20:00 New York is Saturday 01:00 UTC
    (at(NY, 2026, 1, 30, 20, 0), "FX", Day0(D(2026, 2, 2), "non_session_day")),
    (at(SH, 2026, 1, 29, 21, 52), "FX", Day0(D(2026, 1, 29), "in_session")),
])
def test_day0_hand_worked_cases(published, mic, expected):
    assert day0(published, mic) == expected


def test_the_calendar_holiday_lists_the_cases_rely_on():
    shanghai = get_calendar("XSHG").sessions_in_range("2026-02-13", "2026-02-24")
    assert [d.date() for d in shanghai] == [D(2026, 2, 13), D(2026, 2, 24)]
    assert len(get_calendar("XSHG").sessions_in_range("2026-01-01", "2026-12-31")) == 242
    ny = get_calendar("XNYS")
    assert not ny.is_session("2026-01-19") and not ny.is_session("2026-07-03")


def test_markets_share_calendars_and_objects_are_cached():
    assert get_calendar("XSHE") is get_calendar("XSHG") is get_calendar("xbse")
    assert get_calendar("XNAS") is get_calendar("XNYS")
    assert sessions("XKOS") is sessions("XKRX")


def test_unknown_market_and_naive_time_are_refused():
    with pytest.raises(CalendarRangeError, match="no trading calendar for market 'XXXX'"):
        day0(at(SH, 2026, 1, 29, 10, 0), "XXXX")
    with pytest.raises(ValueError, match="timezone-aware"):
        day0(dt.datetime(2026, 1, 29, 10, 0), "XSHG")


def test_beyond_the_shanghai_calendar_needs_price_dates():
    assert get_calendar("XSHG").last_session == pd.Timestamp("2026-12-31")
    with pytest.raises(CalendarRangeError, match=r"after the last XSHG session .* \(2026-12-31\)"):
        day0(at(SH, 2027, 1, 5, 10, 0), "XSHG")
    dates = [D(2027, 1, 4), D(2027, 1, 5), D(2027, 1, 6)]
    assert day0(at(SH, 2027, 1, 1, 10, 0), "XSHG", price_dates=dates) == Day0(D(2027, 1, 4), "price_sessions")
    assert day0(at(SH, 2027, 1, 5, 16, 0), "XSHG", price_dates=dates) == Day0(D(2027, 1, 6), "price_sessions")
    # the last calendar session's evening: the next session is only known from prices
    evening = at(SH, 2026, 12, 31, 16, 0)
    assert day0(evening, "XSHG", price_dates=dates) == Day0(D(2027, 1, 4), "price_sessions")
    with pytest.raises(CalendarRangeError):
        day0(at(SH, 2027, 1, 6, 16, 0), "XSHG", price_dates=dates)  # prices end before the next session


# --- property: day 0 agrees with exchange_calendars' own minute lookup ------------------------------

MARKETS = ["XSHG", "XHKG", "XNYS", "XTKS", "XKRX", "XLON", "XETR", "CMES"]


def _in_cme_halt(cal, mic: str, ts: pd.Timestamp) -> bool:
    """16:00-17:00 Chicago before a regular 17:00 close: exchange_calendars counts it as trading,
    but CME Globex halts then and the daily bar has ended."""
    if mic != "CMES" or not cal.is_open_on_minute(ts, ignore_breaks=True):
        return False
    close = cal.session_close(cal.minute_to_session(ts)).tz_convert(cal.tz)
    return close.time() == dt.time(17, 0) and ts >= close - pd.Timedelta(hours=1)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # exchange_calendars' own pandas 3 deprecations
@settings(max_examples=300, deadline=None)
@given(mic=st.sampled_from(MARKETS),
       minute=st.integers(0, (dt.datetime(2026, 12, 1) - dt.datetime(2010, 1, 1)).days * 1440))
def test_day0_is_the_first_session_trading_at_or_after_publication(mic, minute):
    published = dt.datetime(2010, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=minute)
    got = day0(published, mic)
    cal = get_calendar(mic)
    ts = pd.Timestamp(published)
    assert cal.is_session(got.date)
    if _in_cme_halt(cal, mic, ts):
        oracle = cal.minute_to_future_session(ts, 1)  # the daily bar has ended: the next one
        assert got.reason == "after_close"
    elif cal.is_open_on_minute(ts, ignore_breaks=True):
        oracle = cal.minute_to_session(ts)  # trading (or lunch-break) minute: its own session
        assert got.reason == "in_session"
    else:
        oracle = cal.minute_to_future_session(ts, 1) if ts >= cal.opens.iloc[0] else cal.first_session
        assert got.reason in {"before_open", "after_close", "non_session_day"}
    assert got.date == oracle.date()
    local_day = ts.tz_convert(cal.tz).date()
    if got.reason == "before_open":
        assert got.date == local_day
    if got.reason == "after_close":
        assert cal.is_session(local_day) and got.date > local_day


def test_vectorised_day0_matches_the_scalar_function():
    rng = np.random.default_rng(7)
    start = pd.Timestamp("2025-06-01", tz="UTC").value
    t = start + rng.integers(0, 400 * 86_400, size=600) * 1_000_000_000
    mics = rng.choice(["XSHG", "XNAS", "XHKG", "FX", "CMES"], size=600)
    pairs = pd.DataFrame({"event_id": [f"e{i}" for i in range(600)], "ticker": "T", "market": mics,
                          "published_utc": pd.to_datetime(t, utc=True), "t": t})
    out, warnings = compute_day0(None, pairs)
    assert warnings == []
    for row, ts, mic in zip(out.itertuples(), pairs["published_utc"], mics, strict=True):
        expected = day0(ts.to_pydatetime(), mic)
        assert (pd.Timestamp(row.day0).date(), row.day0_reason) == (expected.date, expected.reason)


# --- the database ---------------------------------------------------------------------------------


@pytest.fixture
def con(tmp_path):
    c = store.connect(tmp_path / "cal.duckdb")
    yield c
    c.close()


def add_event(con, event_id: str, published: dt.datetime | None, pairs: list[tuple[str, str | None]]):
    article = f"a-{event_id}"
    con.execute("INSERT INTO articles (id, source, title, body, published_utc, fetched_at, content_hash) "
                "VALUES (?, '华尔街见闻', 't', 'b', ?, now(), 'h')", [article, published])
    con.execute("INSERT INTO events (id, article_id, rule_id, rule_version, rulebook_hash, type, topic, "
                "direction, modality, evidence, span_start, span_end, in_title, confidence, relevance, "
                "event_key, extracted_at) VALUES (?, ?, 'r', 1, 'h', 'x', 'market', 1, 'fact', 'e', 0, 1, "
                "true, 0.9, 80, 'k', now())", [event_id, article])
    for ticker, market in pairs:
        con.execute("INSERT INTO event_instruments VALUES (?, ?, 'subject', 1, ?, NULL, NULL, NULL)",
                    [event_id, ticker, market])


def stored(con) -> dict[tuple[str, str], tuple[dt.date | None, str | None]]:
    rows = con.execute("SELECT event_id, ticker, day0, day0_reason FROM event_instruments").fetchall()
    return {(e, t): (d, r) for e, t, d, r in rows}


def test_assign_day0_fills_pairs_per_market(con):
    add_event(con, "e1", at(SH, 2026, 1, 29, 21, 52, 24), [("NVDA", "XNAS"), ("600519.SS", "XSHG")])
    add_event(con, "e2", at(SH, 2026, 2, 17, 10, 0), [("600519.SS", "XSHG"), ("X", "XMOON")])
    add_event(con, "e3", None, [("NVDA", "XNAS")])
    add_event(con, "e4", at(SH, 2026, 1, 29, 10, 0), [("GC=F", None)])
    warnings = assign_day0(con)
    assert stored(con) == {
        ("e1", "NVDA"): (D(2026, 1, 29), "before_open"),
        ("e1", "600519.SS"): (D(2026, 1, 30), "after_close"),
        ("e2", "600519.SS"): (D(2026, 2, 24), "non_session_day"),
        ("e2", "X"): (None, "unknown_market"),
        ("e3", "NVDA"): (None, "no_publication_time"),
        ("e4", "GC=F"): (None, "no_market"),
    }
    assert warnings == ["1 event-instrument pair has market 'XMOON', which has no trading calendar; "
                        "day 0 left empty"]


def test_assign_day0_only_missing_keeps_settled_pairs(con):
    add_event(con, "e1", at(SH, 2026, 1, 29, 10, 30), [("600519.SS", "XSHG")])
    con.execute("UPDATE event_instruments SET day0 = DATE '2026-01-01', day0_reason = 'manual'")
    assign_day0(con)
    assert stored(con)[("e1", "600519.SS")] == (D(2026, 1, 1), "manual")
    assign_day0(con, only_missing=False)
    assert stored(con)[("e1", "600519.SS")] == (D(2026, 1, 29), "in_session")


def test_january_2027_event_waits_for_prices_then_uses_their_sessions(con):
    add_event(con, "e1", at(SH, 2027, 1, 4, 20, 0), [("600519.SS", "XSHG"), ("NVDA", "XNAS")])
    warnings = assign_day0(con)
    assert stored(con)[("e1", "600519.SS")] == (None, "beyond_calendar_no_prices")
    assert stored(con)[("e1", "NVDA")] == (D(2027, 1, 4), "before_open")  # XNYS knows 2027
    assert len(warnings) == 1 and "XSHG: 1 event-instrument pair lies after the calendar's last session " \
        "(2026-12-31)" in warnings[0] and "600519.SS" in warnings[0]
    con.execute("""INSERT INTO prices VALUES
        ('600519.SS', DATE '2027-01-04', 1400, 1410, 1390, 1405, 1405, 1, 'file:t.csv', now()),
        ('600519.SS', DATE '2027-01-05', 1405, 1415, 1395, 1410, 1410, 1, 'file:t.csv', now())""")
    warnings = assign_day0(con)
    assert stored(con)[("e1", "600519.SS")] == (D(2027, 1, 5), "price_sessions")
    assert warnings == ["XSHG: calendar ends 2026-12-31; day 0 after that taken from stored price dates "
                        "for 600519.SS"]


def test_assign_day0_joins_an_open_transaction(con):
    add_event(con, "e1", at(SH, 2026, 1, 29, 10, 30), [("600519.SS", "XSHG")])
    with pytest.raises(RuntimeError), store.transaction(con):
        assign_day0(con)
        assert stored(con)[("e1", "600519.SS")] == (D(2026, 1, 29), "in_session")
        raise RuntimeError("roll back")
    assert stored(con)[("e1", "600519.SS")] == (None, None)


def test_every_documented_market_has_a_calendar():
    for mic in ["XSHG", "XSHE", "XBSE", "XHKG", "XNYS", "XNAS", "XASE", "XTKS", "XKRX", "XKOS", "XTAI",
                "XLON", "XETR", "XPAR", "XAMS", "CMES", "FX"]:
        assert mic in CALENDAR_FOR_MIC
        assert sessions(mic).last >= D(2026, 12, 31)


def test_every_market_in_the_instrument_data_has_a_calendar():
    instruments = Path(__file__).parents[1] / "data" / "instruments" / "instruments.csv"
    markets = set(pd.read_csv(instruments)["market"].dropna())
    assert {m for m in markets if not has_calendar(m)} == set()
    # Jakarta, via exchange_calendars' own XIDX: 2026-01-29 10:00 WIB is in session
    jakarta = at(ZoneInfo("Asia/Jakarta"), 2026, 1, 29, 10, 0)
    assert day0(jakarta, "XIDX") == Day0(D(2026, 1, 29), "in_session")


# -- sessions cached on disk ------------------------------------------------------------------------


def _same_sessions(a, b) -> bool:
    return (a.tz == b.tz and np.array_equal(a.labels, b.labels) and np.array_equal(a.opens, b.opens)
            and np.array_equal(a.closes, b.closes) and a.open_offset == b.open_offset
            and a.close_offset == b.close_offset and a.labels.dtype == b.labels.dtype)


def test_sessions_come_back_from_the_disk_cache_as_built(tmp_path, monkeypatch):
    from signals import calendar

    monkeypatch.setenv("SIGNALS_CACHE_DIR", str(tmp_path))
    built = calendar._sessions.__wrapped__("XHKG")  # builds and writes today's file
    path = calendar._sessions_cache_path("XHKG")
    assert path.is_file() and path.parent == tmp_path / "calendars"

    def no_build(name):
        raise AssertionError("built again instead of read")

    monkeypatch.setattr(calendar, "_build_sessions", no_build)
    again = calendar._sessions.__wrapped__("XHKG")
    assert _same_sessions(again, built)
    # day 0 from the cached sessions is what the fresh ones give
    t = np.array([pd.Timestamp("2026-01-29 03:00", tz="UTC").value], dtype=np.int64)
    assert [x.tolist() for x in calendar.locate(again, t)] == [x.tolist() for x in calendar.locate(built, t)]


def test_a_broken_cache_file_is_rebuilt_and_replaced(tmp_path, monkeypatch):
    from signals import calendar

    monkeypatch.setenv("SIGNALS_CACHE_DIR", str(tmp_path))
    path = calendar._sessions_cache_path("XNYS")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 not a zip")
    stale = path.with_name("XNYS-xcals0.0-2000-01-01.npz")
    stale.write_bytes(b"old")
    built = calendar._sessions.__wrapped__("XNYS")
    assert _same_sessions(calendar._load_sessions(path), built)
    assert not stale.exists()  # the market's older files are dropped
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_an_unusable_cache_directory_only_costs_the_build(tmp_path, monkeypatch):
    from signals import calendar

    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory would go")
    monkeypatch.setenv("SIGNALS_CACHE_DIR", str(blocker))
    assert calendar._sessions.__wrapped__("XTKS").labels.size > 4000
    monkeypatch.setenv("SIGNALS_CACHE_DIR", "")
    assert calendar._sessions_cache_path("XTKS") is None


@pytest.mark.parametrize(("mic", "opens", "closes"), [
    ("XNYS", "09:30:00", "16:00:00"), ("XTKS", "09:00:00", "15:30:00"),
    ("CMES", "-1 days +17:00:00", "16:00:00")])
def test_sessions_beyond_the_calendar_get_the_usual_hours_not_the_last_sessions(mic, opens, closes):
    """The calendar ends a year from today, which can be a half day (the Friday after Thanksgiving,
    13:00 in New York): sessions made from later price dates used its close."""
    sess = sessions(mic)
    assert (sess.open_offset, sess.close_offset) == (pd.Timedelta(opens), pd.Timedelta(closes))


def test_one_pair_before_the_calendar_is_one_pair_in_the_warning(con):
    # the warnings said '1 event-instrument pairs were published' (the unknown-market one was fixed alone)
    add_event(con, "e1", at(SH, 1980, 1, 3, 10, 0), [("600519.SS", "XSHG")])
    warnings = assign_day0(con)
    assert stored(con)[("e1", "600519.SS")] == (None, "before_calendar")
    assert warnings == ["1 event-instrument pair was published before their calendar's first session; "
                        "day 0 left empty"]
