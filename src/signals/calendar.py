"""Exchange calendars by ISO MIC, and day 0: the first session in which a news item could trade.

Why it looks like this:
- Sessions come from exchange_calendars (holidays from official notices), keyed by ISO MIC; a
  calendar object takes up to seconds to build (XKRX ~4 s: lunar holidays over 21 years), so each
  market's sessions are built once per process and kept on disk for the day
  (``SIGNALS_CACHE_DIR``, default ``~/.cache/signals``; empty: off). A cache that cannot be read or
  written is rebuilt or skipped, never an error.
- Day 0 is found with numpy ``searchsorted`` over each market's session open/close instants (UTC
  nanoseconds): one pass per market, so a million event-instrument pairs take seconds.
- Calendars end (XSHG's holiday data stops at 2026-12-31). Beyond the end we use the trading dates
  stored in ``prices`` for that ticker and say so (reason ``price_sessions``); with neither, day 0
  stays NULL with reason ``beyond_calendar_no_prices``. Trading days are never invented.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from warnings import catch_warnings, simplefilter

import duckdb
import numpy as np
import pandas as pd

from signals import store
from signals.errors import CalendarRangeError

IN_SESSION = "in_session"
BEFORE_OPEN = "before_open"
AFTER_CLOSE = "after_close"
NON_SESSION_DAY = "non_session_day"
PRICE_SESSIONS = "price_sessions"
BEYOND_CALENDAR = "beyond_calendar_no_prices"
BEFORE_CALENDAR = "before_calendar"
UNKNOWN_MARKET = "unknown_market"
NO_MARKET = "no_market"
NO_TIME = "no_publication_time"

_REASONS = np.array([IN_SESSION, BEFORE_OPEN, AFTER_CLOSE, NON_SESSION_DAY, BEYOND_CALENDAR, BEFORE_CALENDAR],
                    dtype=object)
_IN, _BEFORE, _AFTER, _NONSESSION, _BEYOND, _BEFORE_CAL = range(6)

# Markets that share another venue's sessions. FX trades round the clock on weekdays; "24/5" is
# exchange_calendars' UTC Monday-Friday calendar (real FX opens Sunday 17:00 New York: an item in
# those hours gets Monday rather than the late-Sunday session).
CALENDAR_FOR_MIC = {
    "XSHG": "XSHG", "XSHE": "XSHG", "XBSE": "XSHG",
    "XHKG": "XHKG",
    "XNYS": "XNYS", "XNAS": "XNYS", "XASE": "XNYS", "ARCX": "XNYS",
    "XTKS": "XTKS",
    "XKRX": "XKRX", "XKOS": "XKRX",
    "XTAI": "XTAI",
    "XLON": "XLON", "XETR": "XETR", "XPAR": "XPAR", "XAMS": "XAMS",
    "XNSE": "XBOM",  # NSE and BSE share trading hours and the holiday list; exchange_calendars has XBOM only
    "CMES": "CMES",
    "FX": "24/5",
}


@functools.cache
def _iso_calendars() -> frozenset[str]:
    """Other ISO MICs exchange_calendars knows (XASX, XSWX, XIDX, ...): used as they are."""
    import exchange_calendars as xcals

    return frozenset(n for n in xcals.get_calendar_names(include_aliases=False) if n.startswith("X"))


def has_calendar(mic: str) -> bool:
    mic = mic.upper()
    return mic in CALENDAR_FOR_MIC or mic in _iso_calendars()


def calendar_name(mic: str) -> str:
    key = mic.upper()
    if key in CALENDAR_FOR_MIC:
        return CALENDAR_FOR_MIC[key]
    if key in _iso_calendars():
        return key
    raise CalendarRangeError(
        f"no trading calendar for market {mic!r}",
        hint=f"known markets: {', '.join(sorted(CALENDAR_FOR_MIC))} and exchange_calendars' other ISO MICs",
    )


def get_calendar(mic: str):
    """The exchange_calendars object for ``mic`` (built once per process: construction is slow)."""
    return _calendar(calendar_name(mic))


@functools.cache
def _calendar(name: str):
    import exchange_calendars as xcals  # slow import: only when day 0 is computed

    with catch_warnings():
        # exchange_calendars 4.x still calls DatetimeIndex.weekday, deprecated in pandas 3: not ours to fix
        simplefilter("ignore", FutureWarning)
        simplefilter("ignore", DeprecationWarning)
        return xcals.get_calendar(name)


@dataclass(frozen=True)
class Sessions:
    """One market's sessions as arrays: labels (datetime64[D]) and open/close instants (UTC ns)."""

    tz: str
    labels: np.ndarray
    opens: np.ndarray
    closes: np.ndarray
    open_offset: pd.Timedelta  # open and close relative to local midnight of the session label,
    close_offset: pd.Timedelta  # the last year's usual hours (_usual_offset), for sessions from prices

    @property
    def last(self) -> dt.date:
        return pd.Timestamp(self.labels[-1]).date()

    @property
    def first(self) -> dt.date:
        return pd.Timestamp(self.labels[0]).date()

    def extended(self, dates: Sequence[dt.date] | np.ndarray) -> Sessions:
        """These sessions plus trading dates after the last one (from stored prices), with opens and
        closes at the calendar's usual local times (``open_offset``, ``close_offset``)."""
        extra = pd.DatetimeIndex(pd.to_datetime(np.asarray(dates, dtype="datetime64[D]")))
        extra = extra[extra > pd.Timestamp(self.labels[-1])].unique().sort_values()
        if extra.empty:
            return self
        opens = _local_to_utc_ns(extra + self.open_offset, self.tz)
        closes = _local_to_utc_ns(extra + self.close_offset, self.tz)
        return Sessions(self.tz, np.concatenate([self.labels, extra.values.astype("datetime64[D]")]),
                        np.concatenate([self.opens, opens]), np.concatenate([self.closes, closes]),
                        self.open_offset, self.close_offset)


def _local_to_utc_ns(local: pd.DatetimeIndex, tz: str) -> np.ndarray:
    aware = local.tz_localize(tz, ambiguous=False, nonexistent="shift_forward")
    return aware.tz_convert("UTC").as_unit("ns").asi8


def sessions(mic: str) -> Sessions:
    """``mic``'s sessions as arrays, built once per calendar."""
    return _sessions(calendar_name(mic))


@functools.cache
def _sessions(name: str) -> Sessions:
    path = _sessions_cache_path(name)
    cached = _load_sessions(path) if path is not None else None
    if cached is not None:
        return cached
    built = _build_sessions(name)
    if path is not None:
        _save_sessions(path, built)
    return built


# Bumped when _build_sessions makes other sessions from the same calendar (2: CMES bar ends).
_SESSIONS_METHOD = 2


def _sessions_cache_path(name: str) -> Path | None:
    """Today's file for ``name``: exchange_calendars' default range runs from 20 years before today
    to a year after, so a file is good for the day and the library version that wrote it."""
    setting = os.environ.get("SIGNALS_CACHE_DIR")
    if setting == "":
        return None
    root = Path(setting) if setting else (
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "signals")
    today = pd.Timestamp.now().floor("D").date()  # what exchange_calendars counts its range from
    safe = name.replace("/", "_")  # 24/5
    return root / "calendars" / f"{safe}-xcals{version('exchange_calendars')}-m{_SESSIONS_METHOD}-{today}.npz"


def _load_sessions(path: Path) -> Sessions | None:
    try:
        with np.load(path, allow_pickle=False) as f:
            return Sessions(str(f["tz"]), f["labels"].astype("datetime64[D]"), f["opens"].astype(np.int64),
                            f["closes"].astype(np.int64), pd.Timedelta(int(f["open_offset"]), "ns"),
                            pd.Timedelta(int(f["close_offset"]), "ns"))
    except Exception:  # missing, partial or foreign file: build instead
        return None


def _save_sessions(path: Path, sess: Sessions) -> None:
    """Write atomically (a reader never sees half a file); drop the same market's older files."""
    tmp_name = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz.tmp", delete=False) as tmp:
            tmp_name = tmp.name
            np.savez(tmp, tz=np.array(sess.tz), labels=sess.labels, opens=sess.opens, closes=sess.closes,
                     open_offset=np.int64(sess.open_offset.value),
                     close_offset=np.int64(sess.close_offset.value))
        os.replace(tmp_name, path)
        prefix = path.name.split("-xcals")[0] + "-xcals"
        for old in path.parent.glob(f"{prefix}*.npz"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:  # a read-only or full disk: no cache, same sessions
        if tmp_name:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


# Calendars whose regular close is later than the end of the daily price bar. exchange_calendars'
# CMES runs 17:00-17:00 Chicago, but CME Globex halts at 16:00 and the daily bar ends there: news at
# 16:30 must get the next session, whose bar is still to come. Early closes (holidays) stay as they are.
_BAR_ENDS = {"CMES": (pd.Timedelta(hours=17), pd.Timedelta(hours=16))}


def _build_sessions(name: str) -> Sessions:
    cal = _calendar(name)
    tz = str(cal.tz)
    labels = cal.sessions.values.astype("datetime64[D]")
    opens = pd.DatetimeIndex(cal.opens).as_unit("ns")
    closes = pd.DatetimeIndex(cal.closes).as_unit("ns")
    if name in _BAR_ENDS:
        regular, bar_end = _BAR_ENDS[name]
        local = closes.tz_convert(tz)
        closes = closes.where(local - local.normalize() != regular, closes - (regular - bar_end))
    return Sessions(tz, labels, opens.asi8, closes.asi8, _usual_offset(opens, labels, tz),
                    _usual_offset(closes, labels, tz))


def _usual_offset(instants: pd.DatetimeIndex, labels: np.ndarray, tz: str) -> pd.Timedelta:
    """The most common local time of the last year's ``instants`` relative to their session's
    midnight: what a session made from a price date beyond the calendar gets. The last session alone
    may be an early close (the calendar ends a year from today: on 2026-11-27, at the half day after
    Thanksgiving)."""
    recent = slice(-250, None)  # the hours now: exchanges change them (Tokyo closes at 15:30 since 2024)
    local = instants[recent].tz_convert(tz).tz_localize(None)
    return pd.Series(local - pd.DatetimeIndex(labels[recent])).mode().iloc[0]


def _local_days(utc_ns: np.ndarray, tz: str) -> np.ndarray:
    local = pd.DatetimeIndex(utc_ns.astype("datetime64[ns]")).tz_localize("UTC").tz_convert(tz)
    return local.tz_localize(None).values.astype("datetime64[D]")


def locate(sess: Sessions, utc_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised day 0: (index of the day-0 session or -1, reason code) for each UTC instant.

    A session is [open, close): news at the very close trades in the next session. Lunch breaks
    are inside [open, close) on purpose: news at 12:00 Shanghai trades at the 13:00 re-open.
    """
    n = len(sess.closes)
    i = np.searchsorted(sess.closes, utc_ns, side="right")  # first session closing after t
    beyond = i >= n
    j = np.minimum(i, n - 1)
    days = _local_days(utc_ns, sess.tz)
    prev = sess.labels[np.maximum(i - 1, 0)]
    code = np.select(
        [utc_ns >= sess.opens[j], days == sess.labels[j], (i > 0) & (prev == days)],
        [_IN, _BEFORE, _AFTER],
        default=_NONSESSION,
    )
    # before the first session we cannot tell whether the market traded in between
    code = np.where((i == 0) & (utc_ns < sess.opens[0]) & (days < sess.labels[0]), _BEFORE_CAL, code)
    code = np.where(beyond, _BEYOND, code)
    index = np.where((code == _BEYOND) | (code == _BEFORE_CAL), -1, j)
    return index, code


@dataclass(frozen=True)
class Day0:
    date: dt.date | None
    reason: str


def _utc_ns(published_utc: dt.datetime) -> int:
    if published_utc.tzinfo is None:
        raise ValueError("published_utc must be timezone-aware")
    return pd.Timestamp(published_utc).tz_convert("UTC").value


def day0(published_utc: dt.datetime, mic: str, *,
         price_dates: Sequence[dt.date] | None = None) -> Day0:
    """The first session of ``mic`` in which news published at ``published_utc`` could trade.

    Compared in the exchange's own time zone. ``price_dates`` (trading dates seen in stored prices)
    settle instants beyond the calendar's last session (reason ``price_sessions``).
    Raises CalendarRangeError when neither the calendar nor ``price_dates`` can tell.
    """
    base = sessions(mic)
    t = np.array([_utc_ns(published_utc)], dtype=np.int64)
    index, code = locate(base, t)
    sess = base
    if code[0] == _BEYOND and price_dates:
        sess = base.extended(price_dates)
        index, code = locate(sess, t)
        if code[0] != _BEYOND:
            return Day0(pd.Timestamp(sess.labels[index[0]]).date(), PRICE_SESSIONS)
    if code[0] == _BEYOND:
        raise CalendarRangeError(
            f"{published_utc.isoformat()} is after the last {mic} session the calendar knows "
            f"({base.last}) and no stored prices say which days traded",
            hint="load prices covering that period (signals prices load/fetch), or wait for a newer "
                 "exchange_calendars release",
        )
    if code[0] == _BEFORE_CAL:
        raise CalendarRangeError(f"{published_utc.isoformat()} is before the first {mic} session the "
                                 f"calendar knows ({base.first})")
    return Day0(pd.Timestamp(sess.labels[index[0]]).date(), str(_REASONS[code[0]]))


# --- the database ----------------------------------------------------------------------------------

_PAIRS_SQL = """
SELECT ei.event_id, ei.ticker, ei.market, a.published_utc
FROM event_instruments ei
JOIN events e ON e.id = ei.event_id
JOIN articles a ON a.id = e.article_id
{where}
"""


def _pairs(con: duckdb.DuckDBPyConnection, only_missing: bool) -> pd.DataFrame:
    where = "WHERE ei.day0 IS NULL" if only_missing else ""
    frame = con.execute(_PAIRS_SQL.format(where=where)).df()
    ts = pd.to_datetime(frame["published_utc"], utc=True)
    # a time nanoseconds cannot hold (year 2300, stored before feeds refused such dates) counts as none
    ts = ts.where(ts.between(pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")))
    frame["published_utc"] = ts = ts.dt.as_unit("ns")
    frame["t"] = ts.fillna(pd.Timestamp(0, tz="UTC")).astype("int64")  # NULL times are set aside later
    return frame


def _price_dates(con: duckdb.DuckDBPyConnection, tickers: list[str], after: dt.date) -> dict[str, np.ndarray]:
    rows = con.execute(
        "SELECT ticker, list(date ORDER BY date) FROM prices "
        "WHERE ticker IN (SELECT unnest(?::VARCHAR[])) AND date > ? GROUP BY ticker",
        [tickers, after],
    ).fetchall()
    return {t: np.array(dates, dtype="datetime64[D]") for t, dates in rows}


def _assign_market(con: duckdb.DuckDBPyConnection, mic: str, group: pd.DataFrame,
                   day: np.ndarray, reason: np.ndarray, warnings: list[str]) -> None:
    """Fill ``day``/``reason`` at the rows of ``group`` (one market), falling back to price dates."""
    base = sessions(mic)
    rows = group.index.to_numpy()
    t = group["t"].to_numpy(dtype=np.int64)
    index, code = locate(base, t)
    ok = index >= 0
    day[rows[ok]] = base.labels[index[ok]]
    reason[rows] = _REASONS[code]
    beyond = code == _BEYOND
    if not beyond.any():
        return
    tickers = group["ticker"].to_numpy()
    late = sorted(set(tickers[beyond]))
    dates = _price_dates(con, late, base.last)
    settled, unsettled = [], []
    for ticker in late:
        sel = beyond & (tickers == ticker)
        if ticker in dates:
            ext = base.extended(dates[ticker])
            idx, c = locate(ext, t[sel])
            found = c != _BEYOND
            day[rows[sel][found]] = ext.labels[idx[found]]
            reason[rows[sel][found]] = PRICE_SESSIONS
            if found.any():
                settled.append(ticker)
            if not found.all():
                unsettled.append(ticker)
        else:
            unsettled.append(ticker)
    if settled:
        warnings.append(f"{mic}: calendar ends {base.last}; day 0 after that taken from stored price dates "
                        f"for {', '.join(settled)}")
    if unsettled:
        count = int(sum(reason[rows] == BEYOND_CALENDAR))
        warnings.append(f"{mic}: {_n_pairs(count, 'lies', 'lie')} after the calendar's last session "
                        f"({base.last}) with no stored prices to tell the trading days "
                        f"({', '.join(unsettled)}); day 0 left empty, load prices and rerun")


def _n_pairs(n: int, singular: str, plural: str) -> str:
    """`1 event-instrument pair lies`, `3 event-instrument pairs lie`: the warnings said `1 … pairs lie`."""
    return f"{n} event-instrument pair {singular}" if n == 1 else f"{n} event-instrument pairs {plural}"


def compute_day0(con: duckdb.DuckDBPyConnection, pairs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """day0/day0_reason for a frame of (event_id, ticker, market, t: UTC ns, published_utc)."""
    n = len(pairs)
    day = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    reason = np.full(n, None, dtype=object)
    warnings: list[str] = []
    pairs = pairs.reset_index(drop=True)
    no_time = pairs["published_utc"].isna().to_numpy()
    reason[no_time] = NO_TIME
    market = pairs["market"].fillna("").astype(str).str.upper()
    reason[(market == "").to_numpy() & ~no_time] = NO_MARKET
    todo = pairs[~no_time & (market != "").to_numpy()]
    for mic, group in todo.groupby(market[todo.index], sort=True):
        if not has_calendar(mic):
            reason[group.index.to_numpy()] = UNKNOWN_MARKET
            warnings.append(f"{_n_pairs(len(group), 'has', 'have')} market {mic!r}, which has no "
                            f"trading calendar; day 0 left empty")
            continue
        _assign_market(con, mic, group, day, reason, warnings)
    before = int((reason == BEFORE_CALENDAR).sum())
    if before:
        warnings.append(f"{_n_pairs(before, 'was', 'were')} published before their calendar's first "
                        f"session; day 0 left empty")
    out = pairs[["event_id", "ticker"]].copy()
    out["day0"] = day
    out["day0_reason"] = reason
    return out, warnings


def assign_day0(con: duckdb.DuckDBPyConnection, *, only_missing: bool = True) -> list[str]:
    """Fill event_instruments.day0/day0_reason in one bulk UPDATE; returns warnings to show the user.

    ``only_missing`` recomputes pairs whose day 0 is still NULL (new pairs, and pairs past a calendar's
    end that stored prices may now settle).
    """
    pairs = _pairs(con, only_missing)
    if pairs.empty:
        return []
    updates, warnings = compute_day0(con, pairs)
    with store.registered(con, _day0_updates=updates), store.transaction(con, join=True):
        con.execute(
            """
            UPDATE event_instruments SET day0 = u.day0::DATE, day0_reason = u.day0_reason
            FROM _day0_updates u
            WHERE event_instruments.event_id = u.event_id AND event_instruments.ticker = u.ticker
            """
        )
    return warnings
