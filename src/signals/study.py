"""Event study in DuckDB SQL: abnormal returns, CAR/BHAR and test statistics per group.

Every step works on all event x instrument pairs at once (no Python loop over events); cost is
linear in price rows plus linear in pairs:
- returns are computed once per (ticker, benchmark) series: one sort by (series, date), then
  streaming window functions (``OVER ()``) for lags, a global row number g and running sums, so
  each pair's estimation-window OLS is two row look-ups (differences of running sums), not a scan;
- a pair's event-window days are the consecutive rows g0 + rel of its series: numpy gathers them
  by row number for chunks of pairs (a (pairs x days) array each), which costs a fraction of
  joining pairs x days against the series rows in SQL; the per-pair results go back to DuckDB;
- those per-series rows depend on prices only: they are kept in the series cache (study_series*,
  sql/030_study_cache.sql) with a fingerprint of the prices, so a later study over unchanged
  prices does only per-event work;
- only the rank and sign tests and the cross-correlation estimate need estimation-window rows per
  pair (pairs x estimation days): numpy over chunks of pairs, gathering each pair's consecutive
  rows by row number; ``rank_tests=False`` skips them.
Formulas and conventions: docs/method.md. Tables and views: sql/020_study.sql, docs/sql.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import uuid
import warnings
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from signals import store
from signals.errors import NothingStudiedError, StudyError, damaged_database

MODELS = ("market", "market-adjusted", "mean", "raw")
_NEEDS_BENCHMARK = {"market", "market-adjusted"}

# by= name -> column of the candidate pairs (events joined with event_instruments)
GROUP_COLUMNS = {
    "type": "type", "direction": "direction", "rule_id": "rule_id", "rule": "rule_id",
    "source": "source", "modality": "modality", "market": "market", "topic": "topic", "role": "role",
}

# Benchmarks often missing from free price sources, and what to use instead (in order).
BENCHMARK_FALLBACKS: dict[str, list[str]] = {
    "000300.SS": ["000001.SS"],
    "000905.SS": ["000001.SS"],
    "000688.SS": ["000001.SS"],
    "399001.SZ": ["000001.SS"],
    "399006.SZ": ["399001.SZ", "000001.SS"],
    "^HSCE": ["^HSI"],
    "^NDX": ["^IXIC", "^GSPC"],
    "^IXIC": ["^GSPC"],
    "^DJI": ["^GSPC"],
    "^SPX": ["^GSPC"],
    "^TWII": ["^GSPC"],
}

DROP_REASONS = (
    "no_day0", "duplicate", "no_prices", "missing_benchmark", "day0_after_last_price",
    "day0_shift_too_long", "short_estimation", "degenerate_estimation", "incomplete_event_window",
)

# What to do when no pair could be studied, by the reason that dropped most of them ("duplicate"
# never drops them all: one pair of each is kept).
_NOTHING_STUDIED_HINTS = {
    "no_day0": "the events have no day 0 (no publication time, or no market session): see "
               "event_instruments.day0_reason",
    "no_prices": "load prices for the tickers: `signals prices fetch`, or `signals prices load FILE`",
    "missing_benchmark": "load prices for the benchmarks too (`signals prices status` lists what is cached), "
                         "or use --model raw / mean",
    "day0_after_last_price": "the prices end before the events: fetch later prices",
    "day0_shift_too_long": "the first price rows come long after day 0 (suspended or not yet listed): raise "
                           "--max-day0-shift",
    "short_estimation": "too few returns before day 0: load a longer price history, or lower "
                        "--min-estimation / shorten --estimation",
    "degenerate_estimation": "the prices do not move in the estimation window (stale or constant quotes)",
    "incomplete_event_window": "the event window runs past the last price: fetch later prices, or use a "
                               "shorter --window",
}

_WINDOW_DAYS = re.compile(r"\s*(\d+)\s*d\s*")
_WINDOW_RANGE = re.compile(r"\s*([+-]?\d+)\s*:\s*([+-]?\d+)\s*")
_MAX_REL_DAY = 5000  # relative days are SMALLINT in event_returns
# --max-day0-shift in calendar days: 10 years. 10**17 overflowed the date arithmetic of the price
# fetch (`unexpected OverflowError`, exit 3)
MAX_DAY0_SHIFT = 3650


def parse_window(spec: str | tuple[int, int] | Sequence[int]) -> tuple[int, int]:
    """``"5d"`` -> (0, 4); ``"-1:+5"`` -> (-1, 5); a (start, end) pair is checked and returned.

    Both ends are inclusive relative trading days; day 0 is the first price row on/after day0.
    """
    if isinstance(spec, str):
        if m := _WINDOW_DAYS.fullmatch(spec):
            days = int(m.group(1))
            if days < 1:
                raise StudyError(f"window {spec!r} has no days", hint='use e.g. "5d" (days 0..+4)')
            start, end = 0, days - 1
        elif m := _WINDOW_RANGE.fullmatch(spec):
            start, end = int(m.group(1)), int(m.group(2))
        else:
            raise StudyError(f"cannot read window {spec!r}",
                             hint='write "5d" for days 0..+4 or "-1:+5" for days -1..+5')
    else:
        try:
            start, end = (int(x) for x in spec)
        except (TypeError, ValueError):
            raise StudyError(f"cannot read window {spec!r}", hint="give two integers (start, end)") from None
    if start > end:
        raise StudyError(f"window {spec!r} starts after it ends ({start} > {end})")
    if max(abs(start), abs(end)) > _MAX_REL_DAY:
        raise StudyError(f"window {spec!r} reaches beyond ±{_MAX_REL_DAY} trading days")
    return start, end


def _check_params(window: tuple[int, int], model: str, estimation: Sequence[int],
                  min_estimation: int) -> tuple[int, int]:
    if model not in MODELS:
        raise StudyError(f"unknown model {model!r}", hint=f"use one of {', '.join(MODELS)}")
    est = parse_window(tuple(estimation))
    if est[1] >= window[0]:
        raise StudyError(f"estimation window {est} must end before the event window {window} starts",
                         hint=_earlier_estimation_hint(window, est, min_estimation))
    if est[1] >= 0:
        # a window after the news (1:5) must not let day 0's own return into the fitted model
        raise StudyError(f"estimation window {est} must end before day 0",
                         hint="the event's own return would enter alpha, beta and sigma; "
                              "e.g. estimation (-250, -11)")
    if min_estimation < 5:
        raise StudyError(f"min_estimation={min_estimation} is too small",
                         hint="the Patell variance needs at least 5 estimation days")
    if min_estimation > est[1] - est[0] + 1:
        length = est[1] - est[0] + 1
        start = est[1] - min_estimation + 1
        if length < 5 and start < -_MAX_REL_DAY:
            # neither is possible: min_estimation is at least 5, and the window cannot reach back further
            hint = (f"ask for fewer days (5 at least) and widen the estimation window, e.g. "
                    f"`--estimation {-_MAX_REL_DAY}:{max(est[1], -_MAX_REL_DAY + 4)} --min-estimation 5`")
        elif length < 5:
            # --min-estimation below 5 is refused: the window must grow
            hint = f"widen the estimation window to {min_estimation} days: `--estimation {start}:{est[1]}`"
        else:
            hint = (f"widen the estimation window or ask for at most {length} days: "
                    f"`--min-estimation {length}`")
        raise StudyError(f"min_estimation={min_estimation} exceeds the estimation window length {length}",
                         hint=hint)
    return est


def _earlier_estimation_hint(window: tuple[int, int], est: tuple[int, int], min_estimation: int) -> str:
    """An estimation window that ends before ``window`` and day 0 and that the next checks accept: the
    same length (5 days at least), ending 10 sessions before the event window, the usual gap that keeps
    leaks out; near the -5000 limit the gap, then the length, shrink. A shorter window than
    ``min_estimation`` comes with the --min-estimation it needs (-20:-1 failed the next check)."""
    latest = min(window[0], 0) - 1  # the last day an estimation window may end on
    length = max(est[1] - est[0] + 1, 5)
    if latest - 4 < -_MAX_REL_DAY:
        return (f"the event window starts at {window[0]}, which leaves no 5 estimation days before it "
                f"(relative days reach back to {-_MAX_REL_DAY}): start the event window later")
    b = latest - 9
    a = b - length + 1
    if a < -_MAX_REL_DAY:
        a = -_MAX_REL_DAY
        b = min(latest, a + length - 1)
    fewer = (f" --min-estimation {b - a + 1}" if min_estimation > b - a + 1 else "")
    return f"move it earlier, e.g. estimation ({a}, {b}): `--estimation {a}:{b}{fewer}`"


def group_columns(by: str | Iterable[str]) -> list[str]:
    """Validate ``by`` (names or a comma list; ``rule`` means rule_id) -> pair column names."""
    names = [b.strip() for b in by.split(",")] if isinstance(by, str) else [str(b).strip() for b in by]
    cols: list[str] = []
    for name in filter(None, names):
        if name not in GROUP_COLUMNS:
            raise StudyError(f"cannot group by {name!r}", hint=f"use any of {', '.join(GROUP_COLUMNS)}")
        if GROUP_COLUMNS[name] not in cols:
            cols.append(GROUP_COLUMNS[name])
    return cols


@dataclass
class StudyResult:
    """Everything a run produced; ``pairs``/``daily``/``summary`` are keyed by event pair, not firm."""

    run_id: str
    params: dict
    summary: pd.DataFrame
    pairs: pd.DataFrame
    daily: pd.DataFrame
    dropped: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    #: "warm" (series read from the cache), "cold" (built and cached), "off" (built, not cached)
    series_cache: str = ""

    @property
    def by(self) -> list[str]:
        return list(self.params["by"])


# --- SQL steps ------------------------------------------------------------------------------------

@contextlib.contextmanager
def _setting(con: duckdb.DuckDBPyConnection, name: str, value: str) -> Iterator[None]:
    """Set a DuckDB option for the block and restore the caller's value afterwards."""
    old = con.execute("SELECT current_setting(?)", [name]).fetchone()[0]
    con.execute(f"SET {name} = {value}")
    restore = f"SET {name} = {old!r}" if isinstance(old, str) else f"SET {name} = {old}"
    try:
        yield
    except BaseException:
        # in a caller's transaction the error may have aborted it, and the SET would fail too:
        # never let that hide the error itself
        with contextlib.suppress(duckdb.Error):
            con.execute(restore)
        raise
    con.execute(restore)

_TEMP = ("_st_cand", "_st_fb", "_st_pxcount", "_st_have", "_st_bmap", "_st_live", "_st_dropped", "_st_need",
         "_st_series", "_st_px", "_st_bx", "_st_bdates", "_st_rows0", "_st_rows", "_st_bounds", "_st_loc0",
         "_st_loc", "_st_fit", "_st_res", "_st_acc_sign", "_st_acc_u", "_st_acc_kp",
         "_st_grp")


def _drop_temp(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the run's temp tables and views (the series cache is read through views)."""
    with contextlib.suppress(duckdb.Error):  # never mask the error that ended the run
        kinds = dict(con.execute(
            "SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE temporary "
            "UNION ALL SELECT view_name, 'VIEW' FROM duckdb_views() WHERE temporary").fetchall())
        for name in _TEMP:
            if name in kinds:
                with contextlib.suppress(duckdb.Error):
                    con.execute(f"DROP {kinds[name]} IF EXISTS {name}")


def _candidates(con: duckdb.DuckDBPyConnection, cols: list[str]) -> None:
    qualified = {c: ("ei." if c in ("market", "role") else "e.") + c for c in cols}
    key = ("concat_ws(' | ', " + ", ".join(f"coalesce(CAST({qualified[c]} AS VARCHAR), '-')" for c in cols)
           + ")") if cols else "'all'"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _st_cand AS
        WITH c AS MATERIALIZED (
            SELECT row_number() OVER (ORDER BY ei.event_id, ei.ticker)::INTEGER AS pid,
                   ei.event_id, ei.ticker, ei.role, ei.expected_sign, ei.market, ei.benchmark, ei.day0,
                   ei.day0_reason, e.type, e.direction, e.rule_id, e.source, e.modality, e.topic,
                   e.relevance, {key} AS group_key, a.published_utc
            FROM event_instruments ei
            JOIN events e ON e.id = ei.event_id
            LEFT JOIN articles a ON a.id = e.article_id
        ), shared AS (
            -- the (group, ticker, day 0) that more than one pair has: only those need ranking (a
            -- window over every pair sorted them all, ~60 ms at 100 k pairs)
            SELECT group_key, ticker, day0 FROM c GROUP BY ALL HAVING count(*) > 1
        ), d AS (
            -- same news in several articles counts once per group: highest relevance, then
            -- earliest; other groups keep their own pair (an earnings beat stays in its group
            -- even when a price surge of the same ticker and day is reported too)
            SELECT c.pid, row_number() OVER dup AS dup_rank, first_value(c.event_id) OVER dup AS dup_keep
            FROM c SEMI JOIN shared k ON c.group_key IS NOT DISTINCT FROM k.group_key
                AND c.ticker IS NOT DISTINCT FROM k.ticker AND c.day0 IS NOT DISTINCT FROM k.day0
            WINDOW dup AS (PARTITION BY c.group_key, c.ticker, c.day0
                           ORDER BY c.relevance DESC, c.published_utc ASC NULLS LAST, c.event_id)
        )
        SELECT c.* EXCLUDE (published_utc), coalesce(d.dup_rank, 1) AS dup_rank,
               coalesce(d.dup_keep, c.event_id) AS dup_keep
        FROM c LEFT JOIN d USING (pid)
    """)
    con.execute("CREATE OR REPLACE TEMP TABLE _st_dropped (pid INTEGER, reason VARCHAR, detail VARCHAR)")
    con.execute("""
        INSERT INTO _st_dropped
        SELECT pid, 'no_day0', coalesce(day0_reason, 'day0 is NULL') FROM _st_cand WHERE day0 IS NULL
    """)


def _resolve_benchmarks(con: duckdb.DuckDBPyConnection, model: str, dedupe: bool,
                        prices_cached: bool = False) -> None:
    """Pick each pair's model and the benchmark whose prices exist (following BENCHMARK_FALLBACKS).
    ``prices_cached``: the series cache is current (_current_fingerprint), so the per-ticker price
    counts come from its study_series_prices, not from grouping every price row."""
    benchmarks = [r[0] for r in con.execute(
        "SELECT DISTINCT benchmark FROM _st_cand WHERE benchmark IS NOT NULL").fetchall()]
    chain = [(b, rank, cand) for b in benchmarks
             for rank, cand in enumerate([b, *BENCHMARK_FALLBACKS.get(b, [])])]
    fb = pd.DataFrame(chain, columns=["benchmark", "rank", "candidate"]).astype(
        {"benchmark": "string", "rank": "int64", "candidate": "string"})
    with store.registered(con, _st_fb_df=fb):
        con.execute("CREATE OR REPLACE TEMP TABLE _st_fb AS SELECT * FROM _st_fb_df")
    # which tickers have usable rows and the rows the series will leave out (price <= 0), for the
    # run's notes: saved with a current series cache; otherwise one scan of prices, which also
    # gives the parts of the prices fingerprint (_run_fingerprint)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _st_pxcount AS {_CACHED_PXCOUNT}" if prices_cached else f"""
        CREATE OR REPLACE TEMP TABLE _st_pxcount AS
        SELECT ticker, count(*) AS n, sum(hash(ticker, date, adj_close, close)) AS h, {_PXCOUNT_COLUMNS}
        FROM prices
        GROUP BY ticker
    """)
    con.execute("CREATE OR REPLACE TEMP TABLE _st_have AS SELECT ticker FROM _st_pxcount WHERE usable > 0")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _st_bmap AS
        SELECT f.benchmark, arg_min(f.candidate, f.rank) AS benchmark_used
        FROM _st_fb f JOIN _st_have h ON h.ticker = f.candidate
        GROUP BY f.benchmark
    """)
    needs = model in _NEEDS_BENCHMARK
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _st_live AS
        SELECT c.pid, c.ticker, c.day0, c.benchmark,
               CASE WHEN {needs} AND c.benchmark IS NULL THEN 'raw' ELSE '{model}' END AS model_used,
               CASE WHEN {needs} THEN m.benchmark_used END AS benchmark_used
        FROM _st_cand c LEFT JOIN _st_bmap m USING (benchmark)
        WHERE c.day0 IS NOT NULL
    """)
    if dedupe:
        _drop(con, "duplicate", "'same ticker and day0 as kept event ' || c.dup_keep",
              "c.dup_rank > 1")
    _drop(con, "no_prices",
          "coalesce('all ' || (SELECT skipped FROM _st_pxcount x WHERE x.ticker = l.ticker) || "
          "' price rows of ' || l.ticker || ' have a price <= 0', 'no price rows for ' || l.ticker)",
          "l.ticker NOT IN (SELECT ticker FROM _st_have)")
    _drop(con, "missing_benchmark",
          "'no prices for benchmark ' || l.benchmark || ' or its fallbacks'",
          f"{needs} AND l.benchmark IS NOT NULL AND l.benchmark_used IS NULL")


def _drop(con: duckdb.DuckDBPyConnection, reason: str, detail: str, where: str,
          table: str = "_st_live", alias: str = "l") -> None:
    """Move pairs matching ``where`` from ``table`` to the dropped list with ``reason``."""
    con.execute(f"""
        INSERT INTO _st_dropped
        SELECT {alias}.pid, '{reason}', {detail}
        FROM {table} {alias} JOIN _st_cand c USING (pid)
        WHERE {alias}.pid NOT IN (SELECT pid FROM _st_dropped) AND ({where})
    """)


_PXCOUNT_COLUMNS = """
    count(*) FILTER (WHERE coalesce(adj_close, close) > 0) AS usable,
    count(*) FILTER (WHERE NOT coalesce(adj_close, close) > 0) AS skipped,
    min(date) FILTER (WHERE NOT coalesce(adj_close, close) > 0) AS first_skipped
"""
_CACHED_PXCOUNT = "SELECT ticker, usable, skipped, first_skipped FROM study_series_prices"


# The series cache (sql/030_study_cache.sql): _st_series / _st_bounds / _st_rows become views of
# these persistent tables when they were built from the current prices and hold every series needed.
_ROW_COLUMNS = "g, sid, idx, date, r, m, gap, valid, cn, cr, cm, crr, cmm, crm"
_CACHE_VIEWS = {
    "_st_series": "SELECT sid, ticker, bench FROM study_series",
    "_st_bounds": "SELECT sid, g_first, g_last, true AS in_order, mu_r, mu_m, mu_rr, mu_mm, mu_rm "
                  "FROM study_series",
    "_st_rows": f"SELECT {_ROW_COLUMNS} FROM study_series_rows",
}
_CACHE_TABLES = ("study_series_state", "study_series", "study_series_rows", "study_series_prices",
                 "study_series_days", "study_series_spans")


# Bumped whenever _build_series makes other values from the same prices (2: a return never mixes
# adjusted and unadjusted closes; 3: rows stored in g order, so reads need no sort): a cache an
# older signals built is then stale like one of old prices; 4: study_series_prices saved with them,
# 5: study_series_days and study_series_spans, which a cache built before them lacks).
SERIES_METHOD = 5


def prices_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """What the series were built from: row count and an order-free sum of row hashes of prices
    (one parallel scan, ~0.1 s for 5 M rows), and how (SERIES_METHOD). Any insert, delete or edit
    of a price changes it."""
    [(n, h)] = con.execute("SELECT count(*), coalesce(sum(hash(ticker, date, adj_close, close)), 0) "
                           "FROM prices").fetchall()
    return f"{n}:{h}:s{SERIES_METHOD}"


def _run_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """prices_fingerprint from the per-ticker counts and hash sums of _st_pxcount (sums of exact
    integers: the same value)."""
    [(n, h)] = con.execute("SELECT coalesce(sum(n), 0), coalesce(sum(h), 0) FROM _st_pxcount").fetchall()
    return f"{n}:{h}:s{SERIES_METHOD}"


def _current_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    """The series cache's fingerprint when the prices still match it, else None: the row count
    first (DuckDB keeps it, no scan), then prices_fingerprint, one ungrouped scan of the four
    columns it hashes (the grouped scan of _resolve_benchmarks cost ~1.8x as much)."""
    state = con.execute("SELECT prices_fingerprint, price_rows FROM study_series_state").fetchall()
    if len(state) != 1 or con.execute("SELECT count(*) FROM prices").fetchone()[0] != state[0][1]:
        return None
    current = prices_fingerprint(con)
    return current if current == state[0][0] else None


def _cache_mode(con: duckdb.DuckDBPyConnection) -> tuple[bool, bool]:
    """(cache tables exist, file writable): a bare connection without the signals schema has no
    cache; a read-only one may read a current cache but not write one."""
    have = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND NOT temporary "
                       f"AND database_name = current_database() AND table_name IN {_CACHE_TABLES}"
                       ).fetchone()[0] == len(_CACHE_TABLES)
    read_only = con.execute("SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()"
                            ).fetchone()
    return have, not (read_only and read_only[0])


def _series(con: duckdb.DuckDBPyConnection, mode: tuple[bool, bool],
            fingerprint: str | None = None) -> tuple[str, bool]:
    """Make _st_series / _st_bounds / _st_rows hold every series the live pairs need.

    ``mode`` is _cache_mode's (cache tables exist, writable), (False, False) for no cache;
    ``fingerprint`` the current prices' when _current_fingerprint found it (else it comes from
    _st_pxcount). Returns ``"warm"`` (read from the cache), ``"cold"`` (built, and saved to the
    cache when the file is writable) or ``"off"`` (built for this run only: no cache tables or
    ``cache_series=False``), and whether the cache tables now hold these series (warm, or cold
    and saved: study_series_spans / study_series_days describe them).
    """
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _st_need AS
        SELECT DISTINCT ticker, benchmark_used AS bench FROM _st_live
        WHERE pid NOT IN (SELECT pid FROM _st_dropped)
    """)
    have, writable = mode
    if not have:
        _build_series(con)
        return "off", False
    fingerprint = fingerprint or _run_fingerprint(con)
    state = con.execute("SELECT prices_fingerprint FROM study_series_state").fetchall()
    if state == [(fingerprint,)]:
        missing = con.execute("""
            SELECT count(*) FROM _st_need n ANTI JOIN study_series s
                ON s.ticker = n.ticker AND s.bench IS NOT DISTINCT FROM n.bench
        """).fetchone()[0]
        if not missing:
            for name, sql in _CACHE_VIEWS.items():
                con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")
            return "warm", True
        # same prices, new series: rebuild for the union so earlier studies stay warm
        con.execute("INSERT INTO _st_need SELECT ticker, bench FROM study_series "
                    "EXCEPT SELECT ticker, bench FROM _st_need")
    if not writable:
        _build_series(con)
        return "cold", False
    # replace the cache with the series built from the current prices, recording which prices; the
    # rows go straight into the cache (a temp copy of 5 M rows first cost ~0.5 s) and are read from it
    with store.transaction(con, join=True):
        for table in _CACHE_TABLES:
            con.execute(f"DELETE FROM {table}")
        _build_series(con, rows_into="study_series_rows")
        con.execute("""
            INSERT INTO study_series
            SELECT s.sid, s.ticker, s.bench, b.g_first, b.g_last, b.mu_r, b.mu_m, b.mu_rr, b.mu_mm, b.mu_rm
            FROM _st_series s JOIN _st_bounds b USING (sid)
        """)
        con.execute("INSERT INTO study_series_prices "
                    "SELECT ticker, usable, skipped, first_skipped FROM _st_pxcount")
        # the benchmarks' trading days, and the series that have a row on each of them between
        # their first row and their last (consecutive benchmark rows, all on the series' dates)
        con.execute("INSERT INTO study_series_days SELECT ticker, date, bidx FROM _st_bx")
        con.execute("""
            INSERT INTO study_series_spans
            SELECT sid, min(bidx) FROM _st_px WHERE has_bench GROUP BY sid
            HAVING bool_and(coalesce(b_today, false)) AND max(bidx) - min(bidx) + 1 = count(*)
        """)
        con.execute("""
            INSERT INTO study_series_state
            SELECT ?, ?, now(), (SELECT count(*) FROM study_series), (SELECT count(*) FROM study_series_rows)
        """, [fingerprint, int(fingerprint.split(":")[0])])
    con.execute(f"CREATE OR REPLACE TEMP VIEW _st_rows AS {_CACHE_VIEWS['_st_rows']}")
    return "cold", True


def _build_series(con: duckdb.DuckDBPyConnection, rows_into: str | None = None) -> None:
    """Daily returns per (ticker, benchmark) series of _st_need with running sums for the estimation OLS:
    temp tables _st_series, _st_bounds and _st_rows (or the rows inserted into ``rows_into``).

    Trading-day index = row number of the ticker's own price rows. A return is adj_close over the
    previous row's adj_close when both rows have one, else close over close. The benchmark return of
    a row is the benchmark price on the row's date over its price on (or before) the ticker's
    previous row date: after a suspension that is the benchmark return compounded over the same
    calendar span.

    Cost is a few linear passes over the series' price rows: one sort by (series, date), then
    streaming window functions (``OVER ()``: lag, row number, running sums) that DuckDB evaluates
    in one ordered scan. Partitioned window functions cost several times more per column here.
    """
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _st_series AS
        SELECT row_number() OVER (ORDER BY ticker, bench)::INTEGER AS sid, ticker, bench FROM _st_need
    """)
    # Both price bases are kept (positive values only): a return uses adj_close at both ends when
    # both rows have it, else close at both ends, so a series whose rows come from sources with and
    # without adjusted closes never divides an adjusted price by an unadjusted one.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _st_bx AS
        SELECT ticker, date, CASE WHEN adj_close > 0 THEN adj_close END AS pa,
               CASE WHEN close > 0 THEN close END AS pc,
               row_number() OVER (PARTITION BY ticker ORDER BY date) AS bidx
        FROM prices
        WHERE coalesce(adj_close, close) > 0 AND ticker IN (SELECT bench FROM _st_series)
    """)
    # every series row with the benchmark row on or before its date, read from a small table of
    # distinct (benchmark, date) so the as-of join never sees the whole panel
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _st_bdates AS
        SELECT d.bench, d.date, b.date AS bdate, b.pa AS bpa, b.pc AS bpc, b.bidx
        FROM (SELECT DISTINCT s.bench, p.date FROM prices p JOIN _st_series s ON s.ticker = p.ticker
              WHERE s.bench IS NOT NULL AND coalesce(p.adj_close, p.close) > 0) d
        ASOF LEFT JOIN _st_bx b ON b.ticker = d.bench AND d.date >= b.date
    """)
    # physical order (sid, date) is what the streaming windows below rely on
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _st_px AS
        SELECT s.sid, s.bench IS NOT NULL AS has_bench, p.date,
               CASE WHEN p.adj_close > 0 THEN p.adj_close END AS pa,
               CASE WHEN p.close > 0 THEN p.close END AS pc,
               b.bdate = p.date AS b_today, b.bpa, b.bpc, b.bidx
        FROM prices p
        JOIN _st_series s ON s.ticker = p.ticker
        LEFT JOIN _st_bdates b ON b.bench = s.bench AND b.date = p.date
        WHERE coalesce(p.adj_close, p.close) > 0
        ORDER BY s.sid, p.date
    """)
    # global row number g: a pair's window is the contiguous range of g around its day 0
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _st_rows0 AS
        WITH w AS (
            SELECT sid, has_bench, date, pa, pc, b_today, bpa, bpc, bidx,
                   row_number() OVER () AS g, lag(sid) OVER () AS prev_sid, lag(date) OVER () AS prev_date,
                   lag(pa) OVER () AS prev_pa, lag(pc) OVER () AS prev_pc, lag(bpa) OVER () AS prev_bpa,
                   lag(bpc) OVER () AS prev_bpc, lag(bidx) OVER () AS prev_bidx
            FROM _st_px
        ), x AS (
            SELECT g, sid, date, has_bench,
                   CASE WHEN prev_sid = sid THEN coalesce(pa / prev_pa, pc / prev_pc) - 1 END AS r,
                   CASE WHEN prev_sid = sid AND b_today THEN coalesce(bpa / prev_bpa, bpc / prev_bpc) - 1
                   END AS m,
                   CASE WHEN prev_sid = sid AND b_today THEN (bidx - prev_bidx - 1)::INTEGER END AS gap,
                   prev_sid IS NULL OR prev_sid < sid OR (prev_sid = sid AND prev_date < date) AS in_order
            FROM w
        )
        SELECT g, sid, date, r, m, gap, r IS NOT NULL AND (NOT has_bench OR m IS NOT NULL) AS valid,
               in_order
        FROM x
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _st_bounds AS
        SELECT sid, min(g) AS g_first, max(g) AS g_last, bool_and(in_order) AS in_order,
               coalesce(avg(r) FILTER (WHERE valid), 0) AS mu_r,
               avg(m) FILTER (WHERE valid) AS mu_m,
               coalesce(avg(r * r) FILTER (WHERE valid), 0) AS mu_rr,
               avg(m * m) FILTER (WHERE valid) AS mu_mm,
               avg(r * m) FILTER (WHERE valid) AS mu_rm
        FROM _st_rows0 GROUP BY sid
    """)
    if con.execute("SELECT count(*) FROM _st_bounds WHERE NOT in_order").fetchone()[0]:
        raise _row_order_error()
    _running_sums(con, rows_into)


def _arrays(con: duckdb.DuckDBPyConnection, query: str) -> dict[str, np.ndarray]:
    """A query's columns as numpy arrays, through Arrow: NULL becomes NaN in numeric columns (an
    integer column with NULLs comes back float), dates come back datetime64[D]. About twice as fast
    as ``fetchnumpy`` on the 5 M series rows, and no masked arrays."""
    con.complete()  # DuckDB refuses a new relation while a result is open
    table = con.sql(query).to_arrow_table()
    return {name: table.column(name).to_numpy() for name in table.column_names}


def _running_sums(con: duckdb.DuckDBPyConnection, into: str | None) -> None:
    """_st_rows (or the rows inserted into ``into``) = _st_rows0 plus running sums over the whole
    table in g order of values centred on their series mean: the sums return to ~0 at every series
    end, so the difference of two rows of one series is as accurate as a per-series running sum.
    The sum of x over rows lo..hi of a series is (c_x[hi] - c_x[lo-1]) + mu_x * (cn[hi] - cn[lo-1]).

    numpy's cumsum adds in row order like a streaming SQL window but runs ~10x faster than
    DuckDB's one-threaded streaming window over 5 M rows; the sums go back by position (both sides
    in g order, checked)."""
    rows = _arrays(con, "SELECT g, sid, r, m, valid FROM _st_rows0")
    consts = _arrays(con, "SELECT sid, g_first, mu_r, mu_m, mu_rr, mu_mm, mu_rm FROM _st_bounds")
    g = np.asarray(rows["g"], dtype=np.int64)
    if len(g) and not (np.diff(g) > 0).all():  # never seen: the windows number rows in scan order
        raise _row_order_error()
    sid, r, m, valid = np.asarray(rows["sid"]), rows["r"], rows["m"], np.asarray(rows["valid"], dtype=bool)
    by_sid = {}
    for name in ("g_first", "mu_r", "mu_m", "mu_rr", "mu_mm", "mu_rm"):
        table = np.full(int(consts["sid"].max()) + 1 if len(consts["sid"]) else 1, np.nan)
        table[np.asarray(consts["sid"])] = consts[name]
        by_sid[name] = table[sid]

    def running(x: np.ndarray) -> np.ndarray:
        # SQL: sum(CASE WHEN valid THEN x ELSE 0 END) OVER (rows up to here); NULL x adds nothing
        return np.cumsum(np.where(valid & ~np.isnan(x), x, 0.0))

    # an Arrow table, not a DataFrame: pandas would copy the columns into one block first
    sums = pa.table({
        # the row's trading-day index in its series (g_first is exact in a float64 up to 2^53)
        "g": g, "idx": (g - by_sid["g_first"] + 1).astype(np.int32), "cn": np.cumsum(valid, dtype=np.int64),
        "cr": running(r - by_sid["mu_r"]), "cm": running(m - by_sid["mu_m"]),
        "crr": running(r * r - by_sid["mu_rr"]), "cmm": running(m * m - by_sid["mu_mm"]),
        "crm": running(r * m - by_sid["mu_rm"]),
    })
    # the sums go back by position: the same pass that writes the rows proves the second scan of
    # _st_rows0 met them in the order the sums were computed in
    rows_with_sums = f"""
        SELECT r.g, r.sid, s.idx, r.date, r.r, r.m, r.gap, r.valid, s.cn, s.cr, s.cm, s.crr, s.cmm, s.crm
        FROM _st_rows0 r POSITIONAL JOIN _st_sums_df s
        WHERE CASE WHEN s.g IS DISTINCT FROM r.g THEN error('{_ROW_ORDER_MARK}') ELSE true END
    """
    with store.registered(con, _st_sums_df=sums):
        try:
            if into:
                con.execute(f"INSERT INTO {into} ({_ROW_COLUMNS}) {rows_with_sums}")
            else:
                con.execute(f"CREATE OR REPLACE TEMP TABLE _st_rows AS {rows_with_sums}")
        except duckdb.Error as exc:
            if _ROW_ORDER_MARK in str(exc):
                raise _row_order_error() from None
            raise


_ROW_ORDER_MARK = "signals: series rows and running sums out of step"


def _row_order_error() -> StudyError:
    """The streaming windows number rows in arrival order and the running sums go back by
    position: both must have seen (series, date) order."""
    return StudyError("internal error: price rows were not processed in (series, date) order",
                      hint="please report this with your DuckDB version")


def _locate_day0(con: duckdb.DuckDBPyConnection, max_shift: int, cached: bool = False) -> None:
    """Day 0 = the series' first row on or after day0. With the series cache (``cached``), a
    series whose rows are every day of its benchmark over its span (study_series_spans) has its
    day0 row at g_first + (day0's number among the benchmark's days - the first row's): a join of
    the pairs with two small tables. The other pairs (and all without the cache) take a hash join
    with the series rows when day0 is a price date (the common case), then an as-of join over
    only the series of the pairs still not found."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _st_loc0 AS
        SELECT l.pid, s.sid, l.ticker, l.model_used, l.benchmark_used, l.day0
        FROM _st_live l
        JOIN _st_series s ON s.ticker = l.ticker AND s.bench IS NOT DISTINCT FROM l.benchmark_used
        WHERE l.pid NOT IN (SELECT pid FROM _st_dropped)
    """)
    rest = "(SELECT * FROM _st_loc0 WHERE pid NOT IN (SELECT pid FROM _st_loc))"
    by_date = """
        SELECT l.pid, l.sid, l.ticker, l.model_used, l.benchmark_used, r.g AS g0, r.idx AS idx0,
               r.date AS day0_used, 0 AS shift
        FROM {pairs} l JOIN _st_rows r ON r.sid = l.sid AND r.date = l.day0
    """
    if cached:
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _st_loc AS
            SELECT l.pid, l.sid, l.ticker, l.model_used, l.benchmark_used,
                   b.g_first + (d.bidx - p.bidx_first) AS g0, (d.bidx - p.bidx_first + 1)::INTEGER AS idx0,
                   l.day0 AS day0_used, 0 AS shift
            FROM _st_loc0 l JOIN study_series_spans p USING (sid) JOIN _st_bounds b USING (sid)
            JOIN study_series_days d ON d.bench = l.benchmark_used AND d.date = l.day0
            WHERE d.bidx >= p.bidx_first AND d.bidx - p.bidx_first <= b.g_last - b.g_first
        """)
        # usually every pair is found: then neither join below has anything to do
        left = con.execute(f"SELECT count(*) FROM {rest}").fetchone()[0]
        if left:
            con.execute("INSERT INTO _st_loc " + by_date.format(pairs=rest))
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE _st_loc AS " + by_date.format(pairs="_st_loc0"))
        left = 1
    if left and con.execute(f"SELECT count(*) FROM {rest}").fetchone()[0]:
        con.execute(f"""
            INSERT INTO _st_loc
            WITH rest AS {rest}
            SELECT l.pid, l.sid, l.ticker, l.model_used, l.benchmark_used, r.g AS g0, r.idx AS idx0,
                   r.date AS day0_used, date_diff('day', l.day0, r.date)::INTEGER AS shift
            FROM rest l
            ASOF LEFT JOIN (SELECT sid, date, g, idx FROM _st_rows WHERE sid IN (SELECT sid FROM rest)) r
                ON r.sid = l.sid AND l.day0 <= r.date
        """)
    _drop(con, "day0_after_last_price", "'last price row is before day0 ' || strftime(c.day0, '%Y-%m-%d')",
          "l.g0 IS NULL", table="_st_loc")
    _drop(con, "day0_shift_too_long",
          f"'first price row is ' || l.shift || ' days after day0 (max {max_shift})'",
          f"l.shift > {max_shift}", table="_st_loc")


# _pick_rows reads the rows of _st_rows that the fit and the event window need (the fit: two rows per
# pair, the window: its days) by a semi-join with their row numbers when they are at most this share of
# it, else the columns whole: the scan of the 5 M cached rows is the same either way, but a few
# thousand pairs then leave most of it behind.
_PICK_MAX_SHARE = 0.1
_FIT_SUMS = ("cn", "cr", "cm", "crr", "cmm", "crm")


@dataclass(frozen=True)
class _Picked:
    """What _pick_rows read: the event window's rows, and per pair (pid) the running sums of the rows
    the fit subtracts (``z_*``: row lo - 1, ``h_*``: row hi; NULL where _fit's joins found no row)."""

    window: _Rows
    ends: pa.Table


def _fetch_rows(con: duckdb.DuckDBPyConnection, columns: str, keys: np.ndarray | None,
                with_nulls: Sequence[str] = ()) -> _Rows:
    """``columns`` (g first) of the rows of _st_rows whose g is in ``keys`` (sorted; None: every
    row), as numpy arrays (NULL is NaN) found by g through _Rows, and the NULL masks of
    ``with_nulls``."""
    if keys is None:
        con.complete()
        table = con.sql(f"SELECT {columns} FROM _st_rows").to_arrow_table()
    else:
        with store.registered(con, _st_keys=pa.table({"g": keys})):
            query = f"SELECT {columns} FROM _st_rows WHERE g IN (SELECT g FROM _st_keys)"
            table = con.sql(query).to_arrow_table()
    cols = {name: table.column(name).to_numpy() for name in table.column_names}
    nulls = {name: table.column(name).is_null().to_numpy(zero_copy_only=False)
             for name in with_nulls if table.column(name).null_count}
    g = np.asarray(cols.pop("g"), dtype=np.int64)
    if keys is None and len(g) and g[-1] - g[0] == len(g) - 1 and (g[1:] > g[:-1]).all():
        at = _RowIndex(first=int(g[0]), count=len(g))  # the whole table in g order: g - first g
    elif keys is None:  # the whole table out of order (never seen): its own sorted g
        order = np.argsort(g, kind="stable")
        at = _RowIndex(keys=g[order], order=order)
    else:
        # the rows come in any order (a parallel scan): by the position of their g among the keys
        # (a whole table read out of order holds rows that are no key: left out)
        i = np.searchsorted(keys, g)
        mine = i < len(keys)
        mine[mine] = keys[i[mine]] == g[mine]
        order = np.full(len(keys), -1, dtype=np.int64)
        order[i[mine]] = np.flatnonzero(mine)
        at = _RowIndex(keys=keys, order=order)
    if not len(g):  # nothing to read: one invalid row keeps the gathers well-formed
        cols = {name: np.zeros(1, dtype=values.dtype) for name, values in cols.items()}
        if "valid" in cols:
            cols["valid"] = np.zeros(1, dtype=bool)
    return _Rows(cols=cols, at=at, nulls=nulls)


def _pick_rows(con: duckdb.DuckDBPyConnection, est: tuple[int, int], win: tuple[int, int],
               with_dates: bool) -> _Picked:
    """The rows of _st_rows that _fit and _event_window read, as arrays: each pair's running sums at
    lo - 1 and hi (the ends of its estimation span, clamped to its series) and its event-window
    rows g0 + rel. Only those rows are read, by row number (see _PICK_MAX_SHARE)."""
    p = _arrays(con, """
        SELECT l.pid, l.g0, b.g_first, b.g_last FROM _st_loc l JOIN _st_bounds b USING (sid)
        WHERE l.pid NOT IN (SELECT pid FROM _st_dropped)
    """)
    [(n_rows, top)] = con.execute("SELECT (SELECT count(*) FROM _st_rows), "
                                  "(SELECT coalesce(max(g_last), 0) FROM _st_bounds)").fetchall()
    pid, g0, g_first, g_last = (np.asarray(p[k], dtype=np.int64) for k in ("pid", "g0", "g_first", "g_last"))
    lo, hi = np.maximum(g0 + est[0], g_first), np.minimum(g0 + est[1], g_last)

    def wanted(*gs: np.ndarray) -> np.ndarray | None:
        """The distinct row numbers of 1..top among gs, sorted; None (read every row) when even
        their count with repeats is beyond _PICK_MAX_SHARE of the rows."""
        if sum(x.size for x in gs) > _PICK_MAX_SHARE * n_rows:
            return None
        mask = np.zeros(top + 1, dtype=bool)
        for x in gs:
            mask[x[(x >= 1) & (x <= top)]] = True
        return np.flatnonzero(mask)

    fit = _fetch_rows(con, "g, " + ", ".join(_FIT_SUMS), wanted(lo - 1, hi[hi >= lo]), with_nulls=_FIT_SUMS)
    ends: dict[str, Any] = {"pid": pid}
    # as _fit's joins had it: row hi only when hi >= lo, and NULL where there is no row (lo - 1 = 0)
    for end, want, ok in (("z", lo - 1, True), ("h", hi, hi >= lo)):
        pos, found = fit.positions(want)
        found &= ok
        for c in _FIT_SUMS:
            null = ~found | (fit.nulls[c][pos] if c in fit.nulls else False)
            ends[f"{end}_{c}"] = pa.array(fit.cols[c][pos], mask=null)
    rels = np.arange(win[0], win[1] + 1)
    date = ", date" if with_dates else ""
    few = len(g0) * len(rels) <= _PICK_MAX_SHARE * n_rows  # else wanted() reads every row anyway
    rows = _fetch_rows(con, f"g, r, m, gap::DOUBLE AS gap, valid{date}",
                       wanted((g0[:, None] + rels[None, :]).ravel()) if few else None)
    if with_dates:
        rows.cols["day"] = rows.cols.pop("date").astype("datetime64[D]").astype(np.int32)
    return _Picked(window=rows, ends=pa.table(ends))


def _fit(con: duckdb.DuckDBPyConnection, est: tuple[int, int], min_est: int, ends: pa.Table) -> None:
    """Per-pair estimation-window model from differences of the series' running sums (``ends``:
    _pick_rows' sums at rows lo - 1 and hi of each pair)."""
    with store.registered(con, _st_ends=ends):
        _fit_sql(con, est)
    con.execute("""
        INSERT INTO _st_dropped SELECT pid, 'short_estimation', 'no valid estimation days'
        FROM _st_loc WHERE pid NOT IN (SELECT pid FROM _st_dropped) AND pid NOT IN (SELECT pid FROM _st_fit)
    """)
    _drop(con, "short_estimation", f"'n_est=' || l.n || ' < {min_est}'", f"l.n < {min_est}", table="_st_fit")
    _drop(con, "degenerate_estimation", "'zero variance of returns or benchmark in the estimation window'",
          "NOT (l.s2 > 0) OR (l.model_used = 'market' AND l.kb IS NULL)", table="_st_fit")


def _fit_sql(con: duckdb.DuckDBPyConnection, est: tuple[int, int]) -> None:
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _st_fit AS
        WITH w AS (
            SELECT l.*, b.g_first, b.mu_r, b.mu_m, b.mu_rr, b.mu_mm, b.mu_rm,
                   greatest(l.g0 + ({est[0]}), b.g_first) AS lo,
                   least(l.g0 + ({est[1]}), b.g_last) AS hi,
                   e.* EXCLUDE (pid)
            FROM _st_loc l JOIN _st_bounds b USING (sid) JOIN _st_ends e USING (pid)
            WHERE l.pid NOT IN (SELECT pid FROM _st_dropped)
        ), s AS (
            -- sums over rows lo..hi of the series (see _series for the centred running sums): h_* is
            -- row hi (NULL when hi < lo), z_* row lo - 1 (NULL before the first row)
            SELECT w.*, CASE WHEN w.hi >= w.lo THEN h_cn - coalesce(z_cn, 0) ELSE 0 END AS n,
                   h_cr - coalesce(z_cr, 0) + w.mu_r * (h_cn - coalesce(z_cn, 0)) AS sy,
                   h_cm - coalesce(z_cm, 0) + w.mu_m * (h_cn - coalesce(z_cn, 0)) AS sx,
                   h_crr - coalesce(z_crr, 0) + w.mu_rr * (h_cn - coalesce(z_cn, 0)) AS syy,
                   h_cmm - coalesce(z_cmm, 0) + w.mu_mm * (h_cn - coalesce(z_cn, 0)) AS sxx,
                   h_crm - coalesce(z_crm, 0) + w.mu_rm * (h_cn - coalesce(z_cn, 0)) AS sxy
            FROM w
        ), c AS (
            -- centred sums; d = r - m for the market-adjusted model
            SELECT *, sxx - sx * sx / n AS cxx, sxy - sx * sy / n AS cxy, syy - sy * sy / n AS cyy,
                   (syy + sxx - 2 * sxy) - (sy - sx) * (sy - sx) / n AS cdd
            FROM s WHERE n > 0
        ), m AS (
            SELECT *, CASE WHEN model_used = 'market' AND cxx > 0 THEN cxy / cxx END AS b_ols FROM c
        )
        SELECT pid, sid, ticker, model_used, benchmark_used, g0, idx0, day0_used, shift, n, mu_r, mu_m,
               sx / n AS mx, cxx,
               CASE model_used WHEN 'market' THEN sy / n - b_ols * sx / n WHEN 'mean' THEN sy / n
                    ELSE 0 END AS ka,
               CASE model_used WHEN 'market' THEN b_ols WHEN 'market-adjusted' THEN 1 ELSE 0 END AS kb,
               -- mean estimation AR: 0 for OLS fits, not for raw / market-adjusted
               CASE model_used WHEN 'raw' THEN sy / n WHEN 'market-adjusted' THEN (sy - sx) / n
                    ELSE 0 END AS abar,
               CASE model_used WHEN 'market' THEN n - 2 ELSE n - 1 END AS df,
               CASE model_used WHEN 'market' THEN (cyy - b_ols * cxy) / (n - 2)
                               WHEN 'market-adjusted' THEN cdd / (n - 1)
                               ELSE cyy / (n - 1) END AS s2
        FROM m
    """)


# Size of a chunk of the event-window step: ~360 k (pair, day) cells keep numpy's temporaries in
# cache and reused (one pass over all pairs at once ran ~6x slower, in page faults of fresh arrays).
# The bound is in cells, not pairs: a chunk is a dozen (pairs x days) arrays and every thread works
# on one, so 32,768 pairs of a 250-day window would hold ~1 GB per thread.
_WINDOW_CHUNK_CELLS = 32_768 * 11
_WINDOW_CHUNK_PAIRS = 32_768  # and never more pairs than this


@dataclass
class _Window:
    """What the event-window step leaves for the daily table and for storing: per (gid, relative
    day) cell count, sum of AR, mean and sum of squared deviations of the running CAR; and, when
    storing, the cells themselves (one Arrow batch per chunk of pairs)."""

    rels: np.ndarray
    labels: np.ndarray          # group_key by gid
    n: np.ndarray
    sum_ar: np.ndarray
    mean_car: np.ndarray
    m2_car: np.ndarray
    cells: list[pa.RecordBatch] = field(default_factory=list)


@dataclass(frozen=True)
class _Rows:
    """Rows of _st_rows read by row number g, in any order: ``at[g]`` is the row's position in the
    column arrays (-1: not read); ``nulls`` the NULL mask of the columns that have NULLs (their
    arrays hold NaN there)."""

    cols: dict[str, np.ndarray]
    at: _RowIndex
    nulls: dict[str, np.ndarray] = field(default_factory=dict)

    def positions(self, want: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position of each wanted g, 0 where it was not read; whether it was read)."""
        at = self.at
        if at.keys is None:  # g - first g
            pos = want - at.first
            found = (pos >= 0) & (pos < at.count)
        else:
            i = np.clip(np.searchsorted(at.keys, want), 0, max(len(at.keys) - 1, 0))
            pos = at.order[i] if len(at.keys) else np.full(want.shape, -1)
            found = (at.keys[i] == want if len(at.keys) else False) & (pos >= 0)
        return np.where(found, pos, 0), found


@dataclass(frozen=True)
class _RowIndex:
    """Where a row of g is among rows read: the whole table in g order (``first`` g, ``count``
    rows), or the sorted ``keys`` asked for and ``order``, each key's row position (-1: no row)."""

    first: int = 0
    count: int = 0
    keys: np.ndarray | None = None
    order: np.ndarray | None = None


def _window_pairs(con: duckdb.DuckDBPyConnection) -> dict[str, np.ndarray]:
    """Fitted, not dropped pairs in pid order with what their window cells need, their group id
    and a number per ticker (for overlapping windows)."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _st_grp AS
        -- group ids from the few distinct keys (not a sort of every pair's key)
        SELECT group_key, row_number() OVER (ORDER BY group_key)::INTEGER AS gid
        FROM (SELECT DISTINCT group_key FROM _st_cand)
    """)
    f = _arrays(con, """
        SELECT f.pid, f.sid, f.g0, f.idx0, b.g_first, b.g_last, f.ka::DOUBLE AS ka, f.kb::DOUBLE AS kb,
               f.s2, f.n::DOUBLE AS n, f.mx, f.cxx, grp.gid, c.expected_sign::DOUBLE AS expected_sign,
               f.model_used = 'market' AS is_market, f.model_used IN ('market', 'mean') AS fitted_mean
        FROM _st_fit f JOIN _st_bounds b USING (sid) JOIN _st_cand c USING (pid)
        JOIN _st_grp grp USING (group_key)
        WHERE f.pid NOT IN (SELECT pid FROM _st_dropped)
        ORDER BY f.pid
    """)
    series = _arrays(con, "SELECT sid, ticker FROM _st_series")
    tid = np.zeros(int(series["sid"].max()) + 1 if len(series["sid"]) else 1, dtype=np.int64)
    tid[series["sid"]] = np.unique(series["ticker"].astype(str), return_inverse=True)[1]
    floats = ("ka", "kb", "s2", "n", "mx", "cxx", "expected_sign")
    out = {k: np.asarray(f[k], dtype=np.float64) for k in floats}
    out |= {k: np.asarray(f[k], dtype=np.int64) for k in ("pid", "g0", "idx0", "g_first", "g_last", "gid")}
    out |= {k: np.asarray(f[k], dtype=bool) for k in ("is_market", "fitted_mean")}
    out["tid"] = tid[np.asarray(f["sid"], dtype=np.int64)]
    return out


def _ticker_day_order(tid: np.ndarray, idx0: np.ndarray, pid: np.ndarray) -> np.ndarray:
    """The pairs in (ticker, day-0 index, pid) order, which both checks below read."""
    return np.lexsort((pid, idx0, tid))


def _overlapping(tid: np.ndarray, idx0: np.ndarray, order: np.ndarray, length: int) -> np.ndarray:
    """Whether another studied pair of the same ticker has day 0 within length - 1 rows."""
    t, i = tid[order], idx0[order]
    near = (t[1:] == t[:-1]) & (i[1:] - i[:-1] <= length - 1)  # sorted neighbours
    flag = np.zeros(len(order), dtype=bool)
    flag[1:] |= near
    flag[:-1] |= near
    out = np.empty(len(order), dtype=bool)
    out[order] = flag
    return out


def _estimation_events(tid: np.ndarray, idx0: np.ndarray, order: np.ndarray,
                       est: tuple[int, int]) -> np.ndarray:
    """Per pair, how many other studied pairs of the same ticker have day 0 within its estimation
    window: their news moves the fitted alpha, beta and sigma. Two binary searches over the sorted
    (ticker, day-0 index) keys, with sorted queries (~3x faster than unsorted ones at 1M pairs);
    the window ends before day 0, so a pair never counts itself."""
    span = int(idx0.max()) - min(est[0], 0) + 2 if len(idx0) else 1  # keys of two tickers never meet
    keys = tid[order].astype(np.int64) * span + idx0[order].astype(np.int64)
    counts = (np.searchsorted(keys, keys + est[1], side="right")
              - np.searchsorted(keys, keys + est[0], side="left"))
    out = np.empty(len(order), dtype=np.int32)
    out[order] = counts
    return out


def _window_chunk(p: dict[str, np.ndarray], rows: _Rows, rels: np.ndarray,
                  with_cells: bool) -> dict[str, Any]:
    """One chunk of pairs: window days found, then for the complete pairs their cells as
    (pairs x days) arrays gathered by row number and the per-pair CAR, BHAR, SCAR, gap sessions."""
    length = len(rels)
    want = p["g0"][:, None] + rels[None, :]
    idx, found = rows.positions(want)
    a = rows.cols
    # a day counts when its row is valid and belongs to the pair's own series
    ok = found & a["valid"][idx] & (want >= p["g_first"][:, None]) & (want <= p["g_last"][:, None])
    days = ok.sum(axis=1)
    keep = days == length
    idx = idx[keep]
    k = {name: p[name][keep][:, None] for name in ("ka", "kb", "s2", "n", "mx", "cxx", "is_market",
                                                  "fitted_mean")}
    ret, bench, gap = a["r"][idx], a["m"][idx], a["gap"][idx]
    expected = k["ka"] + k["kb"] * np.nan_to_num(bench, nan=0.0)
    ar = ret - expected
    with np.errstate(divide="ignore", invalid="ignore"):
        # Patell forecast-error variance: s2 (1 + 1/n + (Rm - mean Rm)^2 / Sxx) for OLS
        factor = (1 + np.where(k["fitted_mean"], 1.0 / k["n"], 0.0)
                  + np.where(k["is_market"], (bench - k["mx"]) ** 2 / k["cxx"], 0.0))
        sar = ar / np.sqrt(k["s2"] * factor)
    car = np.cumsum(ar, axis=1)
    pid = p["pid"][keep]
    out = {
        "short_pid": p["pid"][~keep], "short_days": days[~keep], "gid": p["gid"][keep], "ar": ar, "car": car,
        "agg": {
            "pid": pid, "gid": p["gid"][keep], "expected_sign": p["expected_sign"][keep],
            "tid": p["tid"][keep], "idx0": p["idx0"][keep], "car": car[:, -1],
            "bhar": np.prod(1 + ret, axis=1) - np.prod(1 + expected, axis=1),
            "scar": sar.sum(axis=1) / np.sqrt(length),
            # NULL without benchmark (every day's gap is then NULL), as SQL's sum would give
            "gap_sessions": np.where(np.isnan(gap).all(axis=1), np.nan, np.nansum(gap, axis=1))},
    }
    if with_cells:
        nulls = {"from_pandas": True}  # NaN -> NULL
        out["cells"] = pa.RecordBatch.from_pydict({
            "pid": np.repeat(pid, length), "rel": np.tile(rels.astype(np.int16), len(pid)),
            "day": a["day"][idx].ravel(), "ret": ret.ravel(),
            "bench_ret": pa.array(bench.ravel(), **nulls), "expected_ret": expected.ravel(),
            "ar": ar.ravel(), "car": car.ravel(), "sar": pa.array(sar.ravel(), **nulls),
            "gap": pa.array(gap.ravel(), **nulls)})
    return out


def _add_daily(w: _Window, gid: np.ndarray, ar: np.ndarray, car: np.ndarray) -> None:
    """Fold one chunk's cells into the per (gid, day) count, AR sum and CAR mean / M2 (Chan et
    al.'s pairwise update: no cancellation, whatever the chunking)."""
    length = len(w.rels)
    cell = (gid[:, None] * length + np.arange(length)[None, :]).ravel()
    size = len(w.n)
    n_c = np.bincount(cell, minlength=size)
    w.sum_ar += np.bincount(cell, weights=ar.ravel(), minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_c = np.where(n_c > 0, np.bincount(cell, weights=car.ravel(), minlength=size) / n_c, 0.0)
        dev = car.ravel() - mean_c[cell]
        m2_c = np.bincount(cell, weights=dev * dev, minlength=size)
        total = w.n + n_c
        delta = mean_c - w.mean_car
        share = np.where(total > 0, n_c / total, 0.0)
        w.mean_car += delta * share
        w.m2_car += m2_c + delta * delta * w.n * share
    w.n += n_c


def _event_window(con: duckdb.DuckDBPyConnection, win: tuple[int, int], est: tuple[int, int],
                  series_rows: _Rows, with_cells: bool = True) -> _Window:
    """Each pair's window days are the consecutive rows g0 + rel of its series, so its cells are a
    (pairs x days) gather by row number (numpy, in chunks of pairs), not a join of pairs x days
    against every series row. Pairs missing a valid day are dropped; the others' CAR, BHAR, SCAR
    and fit go to _st_res."""
    length = win[1] - win[0] + 1
    rels = np.arange(win[0], win[1] + 1)
    p = _window_pairs(con)
    labels = con.execute("SELECT gid, group_key FROM _st_grp ORDER BY gid").fetchnumpy()
    size = (int(labels["gid"].max()) + 1 if len(labels["gid"]) else 1) * length
    names = np.empty(size // length, dtype=object)
    names[np.asarray(labels["gid"], dtype=np.int64)] = np.asarray(labels["group_key"], dtype=object)
    w = _Window(rels=rels, labels=names, n=np.zeros(size, dtype=np.int64), sum_ar=np.zeros(size),
                mean_car=np.zeros(size), m2_car=np.zeros(size))
    step = max(1, min(_WINDOW_CHUNK_PAIRS, _WINDOW_CHUNK_CELLS // length))
    chunks = ({key: v[lo:lo + step] for key, v in p.items()} for lo in range(0, len(p["pid"]), step))
    threads = int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
    short_pid, short_days, aggs = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], []
    # numpy releases the GIL in gathers and arithmetic: chunks run on DuckDB's thread count and
    # are folded in chunk order, so the result does not depend on the timing
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for part in pool.map(lambda c: _window_chunk(c, series_rows, rels, with_cells), chunks):
            short_pid.append(part["short_pid"])
            short_days.append(part["short_days"])
            aggs.append(part["agg"])
            _add_daily(w, part["gid"], part["ar"], part["car"])
            if with_cells:
                w.cells.append(part["cells"])
    names_agg = ("pid", "gid", "expected_sign", "tid", "idx0", "car", "bhar", "scar", "gap_sessions")
    agg = {k: np.concatenate([x[k] for x in aggs]) if aggs else np.zeros(0) for k in names_agg}
    tid, idx0 = agg.pop("tid"), agg.pop("idx0")
    order = _ticker_day_order(tid, idx0, agg["pid"])
    agg["overlapping"] = _overlapping(tid, idx0, order, length)
    agg["est_events"] = _estimation_events(tid, idx0, order, est)
    res = pa.table({k: pa.array(v, from_pandas=True) for k, v in agg.items()})  # NaN -> NULL
    short = pa.table({"pid": np.concatenate(short_pid), "days": np.concatenate(short_days)})
    with store.registered(con, _st_short=short, _st_agg=res):
        con.execute(f"""
            INSERT INTO _st_dropped
            SELECT pid::INTEGER, 'incomplete_event_window',
                   'only ' || days || ' of {length} event-window returns available'
            FROM _st_short
        """)
        con.execute("""
            CREATE OR REPLACE TEMP TABLE _st_res AS
            SELECT f.*, a.car, a.bhar, a.scar, a.gap_sessions::INTEGER AS gap_sessions,
                   a.expected_sign::TINYINT AS expected_sign, grp.group_key, a.gid::INTEGER AS gid,
                   a.overlapping, a.est_events
            FROM _st_fit f JOIN _st_agg a ON a.pid = f.pid JOIN _st_grp grp ON grp.gid = a.gid
        """)
    return w


# Pairs per chunk of the rank / sign / KP step are chosen so a chunk has about this many
# (pair, day) cells: memory stays bounded (a few hundred MB) whatever the number of events.
_RANK_CHUNK_ROWS = 4_000_000


@dataclass
class _SeriesArrays:
    """_st_rows as arrays indexed by g (position 0 unused): what the rank step reads per cell."""

    r: np.ndarray       # return (0 where NULL: such rows are not valid)
    m0: np.ndarray      # benchmark return, 0 where NULL (what the expected return uses)
    valid: np.ndarray   # bool
    day: np.ndarray     # index of the row's date among the distinct dates (for KP sums per date)
    dates: np.ndarray   # the distinct dates, datetime64[D]


def _series_arrays(con: duckdb.DuckDBPyConnection) -> _SeriesArrays:
    cols = _arrays(con, "SELECT g, coalesce(r, 0) AS r, coalesce(m, 0) AS m0, valid, date FROM _st_rows")
    g = np.asarray(cols["g"], dtype=np.int64)
    size = int(g.max()) + 1 if len(g) else 1
    days = np.asarray(cols["date"]).astype("datetime64[D]").astype(np.int64)
    # each row's index among the distinct dates through a table over the calendar span (a few
    # thousand days): cheaper than a sort or a binary search per row
    first = int(days.min()) if len(days) else 0
    seen = np.zeros(int(days.max()) - first + 1 if len(days) else 0, dtype=bool)
    seen[days - first] = True
    day_of_row = (np.cumsum(seen) - 1)[days - first]
    dense = bool(len(g)) and int(g[-1] - g[0]) == len(g) - 1 and bool((np.diff(g) > 0).all())

    def by_g(values: np.ndarray, dtype: type, fill: object) -> np.ndarray:
        out = np.full(size, fill, dtype=dtype)
        if dense:  # the cache and a fresh build: g is one run, a copy not a scatter
            out[g[0]:] = values
        else:
            out[g] = values
        return out

    return _SeriesArrays(r=by_g(np.asarray(cols["r"]), np.float64, 0.0),
                         m0=by_g(np.asarray(cols["m0"]), np.float64, 0.0),
                         valid=by_g(np.asarray(cols["valid"]), np.bool_, False),
                         day=by_g(day_of_row, np.int32, 0),
                         dates=(np.flatnonzero(seen) + first).astype("datetime64[D]"))


def _average_ranks(key: np.ndarray) -> np.ndarray:
    """Row-wise 1-based average ranks of a 2-D array (ties share the mean of their ranks); +inf
    cells (not valid) sort last and so never change the ranks of the others."""
    order = np.argsort(key, axis=1)
    ranked = np.take_along_axis(key, order, axis=1)
    pos = np.broadcast_to(np.arange(key.shape[1], dtype=np.float64), key.shape)
    ranks = np.empty(key.shape, dtype=np.float64)
    np.put_along_axis(ranks, order, pos + 1.0, axis=1)
    # ties between finite values are rare (a flat price and benchmark day): redo only those rows
    tied = ((ranked[:, 1:] == ranked[:, :-1]) & np.isfinite(ranked[:, 1:])).any(axis=1)
    if tied.any():
        ranks[tied] = _tied_ranks(ranked[tied], order[tied])
    return ranks


def _tied_ranks(ranked: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Average ranks of rows given sorted (``ranked``) and the sorting permutation (``order``)."""
    width = ranked.shape[1]
    pos = np.broadcast_to(np.arange(width), ranked.shape)
    starts = np.ones(ranked.shape, dtype=bool)
    starts[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
    ends = np.ones(ranked.shape, dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, pos, 0), axis=1)
    last = np.flip(np.minimum.accumulate(np.flip(np.where(ends, pos, width - 1), axis=1), axis=1), axis=1)
    ranks = np.empty(ranked.shape, dtype=np.float64)
    np.put_along_axis(ranks, order, (first + last) / 2.0 + 1.0, axis=1)
    return ranks


def _rank_sign_tables(con: duckdb.DuckDBPyConnection, est: tuple[int, int], win: tuple[int, int],
                      enabled: bool = True) -> None:
    """Per-group sums for the rank, sign and KP estimates, from estimation + event-window ARs.

    This is the one step that scales with pairs x estimation days (251 M cells at 1 M pairs).
    A pair's days are consecutive rows g0 + rel of one series, so the ARs of a chunk of pairs are
    a (pairs x days) numpy array gathered by row number — no join — and each pair's ranks are a
    sort of its own row. Every quantity kept is a sum over pairs or cells, so the chunks' partial
    sums added up give the statistics of the whole set:
    _st_acc_sign (gid: sum of per-pair shares of positive estimation ARs, pairs),
    _st_acc_u (gid, rel: sum and count of Corrado U), _st_acc_kp (gid, date: S, Q, m of the
    estimation residuals, e event-window days).
    ``enabled=False`` leaves them empty so those three statistics come out NaN.
    """
    if not enabled:  # empty, typed as the sums would be (no DataFrames to build and register)
        con.execute("CREATE OR REPLACE TEMP TABLE _st_acc_sign (gid INTEGER, pos DOUBLE, pairs BIGINT)")
        con.execute("CREATE OR REPLACE TEMP TABLE _st_acc_u (gid INTEGER, rel SMALLINT, u DOUBLE, k BIGINT)")
        con.execute("CREATE OR REPLACE TEMP TABLE _st_acc_kp "
                    "(gid INTEGER, date DATE, s DOUBLE, q DOUBLE, m BIGINT, e BIGINT)")
        return
    sign, u_acc, kp = _rank_sign_sums(con, est, win)
    with store.registered(con, _st_sign_df=sign, _st_u_df=u_acc, _st_kp_df=kp):
        con.execute("CREATE OR REPLACE TEMP TABLE _st_acc_sign AS "
                    "SELECT gid::INTEGER AS gid, pos, pairs FROM _st_sign_df")
        con.execute("CREATE OR REPLACE TEMP TABLE _st_acc_u AS "
                    "SELECT gid::INTEGER AS gid, rel::SMALLINT AS rel, u, k FROM _st_u_df")
        con.execute("CREATE OR REPLACE TEMP TABLE _st_acc_kp AS "
                    "SELECT gid::INTEGER AS gid, date::DATE AS date, s, q, m, e FROM _st_kp_df")


@dataclass(frozen=True)
class _ChunkShape:
    rels: np.ndarray  # relative days of a pair's cells: estimation days, then event-window days
    n_est: int
    length: int
    n_groups: int
    n_days: int


def _chunk_sums(c: dict[str, np.ndarray], rows: _SeriesArrays, shape: _ChunkShape) -> list[np.ndarray]:
    """Partial sums of one chunk of pairs: [ΣU, count] per (gid, rel), [Σpos, pairs] per gid,
    [S, Q, m, e] per (gid, date), flattened."""
    width, n_est, n_groups, n_days = len(shape.rels), shape.n_est, shape.n_groups, shape.n_days
    gid = c["gid"].astype(np.int64)
    want = c["g0"].astype(np.int64)[:, None] + shape.rels[None, :]
    idx = np.clip(want, 0, len(rows.r) - 1)
    # a cell counts when its row is valid and belongs to the pair's own series
    ok = rows.valid[idx] & (want >= c["g_first"][:, None]) & (want <= c["g_last"][:, None])
    ar = rows.r[idx] - (c["ka"][:, None] + c["kb"][:, None] * rows.m0[idx])
    # Corrado-Zivney: average rank over the pair's estimation + event days, scaled to (0, 1)
    tn = (c["n"] + shape.length).astype(np.float64)
    u = _average_ranks(np.where(ok, ar, np.inf)) / (tn + 1)[:, None] - 0.5
    key = (gid[:, None] * width + np.arange(width)[None, :])[ok]
    # generalised sign: share of positive estimation-window ARs per pair
    ok_est, ar_est = ok[:, :n_est], ar[:, :n_est]
    pos = (ok_est & (ar_est > 0)).sum(axis=1) / ok_est.sum(axis=1)
    # Kolari-Pynnönen: standardised, demeaned estimation residuals summed per calendar date
    z = ((ar_est - c["abar"][:, None]) / np.sqrt(c["s2"])[:, None])[ok_est]
    dkey = (gid[:, None] * n_days + rows.day[idx[:, :n_est]])[ok_est]
    # ... and the pairs' event-window days per calendar date: how much their windows overlap
    wkey = (gid[:, None] * n_days + rows.day[idx[:, n_est:]])[ok[:, n_est:]]
    return [np.bincount(key, weights=u[ok], minlength=n_groups * width),
            np.bincount(key, minlength=n_groups * width).astype(np.float64),
            np.bincount(gid, weights=pos, minlength=n_groups),
            np.bincount(gid, minlength=n_groups).astype(np.float64),
            np.bincount(dkey, weights=z, minlength=n_groups * n_days),
            np.bincount(dkey, weights=z * z, minlength=n_groups * n_days),
            np.bincount(dkey, minlength=n_groups * n_days).astype(np.float64),
            np.bincount(wkey, minlength=n_groups * n_days).astype(np.float64)]


def _rank_sign_sums(con: duckdb.DuckDBPyConnection, est: tuple[int, int], win: tuple[int, int]
                    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rels = np.r_[np.arange(est[0], est[1] + 1), np.arange(win[0], win[1] + 1)]
    pairs = con.execute("SELECT r.gid, r.g0, b.g_first, b.g_last, r.ka, r.kb, r.n, r.abar, r.s2 "
                        "FROM _st_res r JOIN _st_bounds b USING (sid)").fetchnumpy()
    threads = int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
    rows = _series_arrays(con)
    n_groups = int(pairs["gid"].max()) + 1 if len(pairs["gid"]) else 1
    n_days, width = len(rows.dates), len(rels)
    shape = _ChunkShape(rels, est[1] - est[0] + 1, win[1] - win[0] + 1, n_groups, n_days)
    step = max(1, _RANK_CHUNK_ROWS // width)
    chunks = ({k: np.asarray(v[lo:lo + step]) for k, v in pairs.items()}
              for lo in range(0, len(pairs["gid"]), step))
    # numpy releases the GIL in sorts and gathers: chunks run on DuckDB's thread count; the
    # partial sums are added in chunk order, so the result does not depend on the timing
    total: list[np.ndarray] | None = None
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for part in pool.map(lambda c: _chunk_sums(c, rows, shape), chunks):
            total = part if total is None else [a + b for a, b in zip(total, part, strict=True)]
    if total is None:
        total = [np.zeros(n) for n in (n_groups * width,) * 2 + (n_groups,) * 2 + (n_groups * n_days,) * 4]
    u_sum, u_cnt, pos_sum, pair_cnt, s_sum, q_sum, m_cnt, e_cnt = total
    keep = pair_cnt > 0
    sign = pd.DataFrame({"gid": np.arange(n_groups)[keep], "pos": pos_sum[keep],
                         "pairs": pair_cnt[keep].astype(np.int64)})
    cells = np.flatnonzero(u_cnt)
    u_acc = pd.DataFrame({"gid": cells // width, "rel": rels[cells % width], "u": u_sum[cells],
                          "k": u_cnt[cells].astype(np.int64)})
    cells = np.flatnonzero(m_cnt + e_cnt)
    kp = pd.DataFrame({"gid": cells // n_days, "date": rows.dates[cells % n_days], "s": s_sum[cells],
                       "q": q_sum[cells], "m": m_cnt[cells].astype(np.int64),
                       "e": e_cnt[cells].astype(np.int64)})
    return sign, u_acc, kp


_SUMMARY_SQL = """
WITH p AS (SELECT * FROM _st_res),
base AS (
    SELECT gid, any_value(group_key) AS group_key, count(*) AS n,
           avg(car) AS caar, median(car) AS median_car, stddev_samp(car) AS sd_car,
           avg(bhar) AS mean_bhar,
           avg(CASE WHEN car > 0 THEN 1.0 ELSE 0.0 END) AS share_positive,
           avg(car * expected_sign) FILTER (WHERE expected_sign <> 0) AS mean_signed_car,
           avg(CASE WHEN sign(car) = expected_sign THEN 1.0 ELSE 0.0 END)
               FILTER (WHERE expected_sign <> 0) AS hit_rate,
           count(*) FILTER (WHERE expected_sign <> 0) AS n_signed,
           sum(scar) AS sum_scar, avg(scar) AS mean_scar, stddev_samp(scar) AS sd_scar,
           sum(df / (df - 2.0)) AS patell_var,
           count(*) FILTER (WHERE car > 0) AS n_positive,
           count(*) FILTER (WHERE overlapping) AS n_overlapping
    FROM p GROUP BY gid
),
sign AS (SELECT gid, sum(pos) / sum(pairs) AS p_hat FROM _st_acc_sign GROUP BY gid),
ubar AS (SELECT gid, rel, sum(u) / sum(k) AS ubar FROM _st_acc_u GROUP BY gid, rel),
corrado AS (
    SELECT gid, sum(ubar) FILTER (WHERE rel >= {win_lo}) / (sqrt({length}) * sqrt(avg(ubar * ubar)))
               AS corrado_z
    FROM ubar GROUP BY gid
),
resid AS (SELECT gid, date, sum(s) AS s, sum(q) AS q, sum(m) AS m, sum(e) AS e FROM _st_acc_kp
          GROUP BY gid, date),
kp AS (
    -- KP's 1 + (N-1) r_bar needs the mean over all N(N-1) ordered pairs of corr(SCAR_i, SCAR_j) =
    -- rho_ij x (shared event-window days / L): the pooled residual correlation of the pairs that
    -- share estimation dates, times the event-window overlap sum_d e_d (e_d - 1) / (L N (N - 1));
    -- the overlap is 1 when all events share day 0, 0 when no two windows meet
    SELECT r.gid,
           CASE WHEN sum(r.m * (r.m - 1)) > 0 AND n.pairs > 1
                THEN (sum(r.s * r.s - r.q) / sum(r.m * (r.m - 1))) / (sum(r.q) / sum(r.m))
                     * sum(r.e * (r.e - 1)) / ({length} * n.pairs * (n.pairs - 1)) END AS r_bar
    FROM resid r JOIN (SELECT gid, sum(pairs) AS pairs FROM _st_acc_sign GROUP BY gid) n USING (gid)
    GROUP BY r.gid, n.pairs
)
SELECT base.*, sign.p_hat, corrado.corrado_z, kp.r_bar
FROM base LEFT JOIN sign USING (gid) LEFT JOIN corrado USING (gid) LEFT JOIN kp USING (gid)
ORDER BY group_key
"""


def _summary(con: duckdb.DuckDBPyConnection, est: tuple[int, int], win: tuple[int, int],
             cols: list[str]) -> pd.DataFrame:
    length = win[1] - win[0] + 1
    raw = con.execute(_SUMMARY_SQL.format(win_lo=win[0], length=length)).df()
    return _finish_summary(raw, _group_values(con, cols))


def _group_values(con: duckdb.DuckDBPyConnection, cols: list[str]) -> pd.DataFrame:
    select = ", ".join(f"any_value(c.{col}) AS {col}" for col in cols)
    return con.execute(
        f"SELECT r.gid{', ' + select if select else ''} FROM _st_res r JOIN _st_cand c USING (pid) "
        "GROUP BY r.gid").df()


def two_sided_p(stat: Any, dof: Any = None) -> Any:
    """Two-sided p-value of ``stat`` under t(``dof``), or N(0, 1) when ``dof`` is None: what
    scipy.stats' t.sf / norm.sf compute (they call these scipy.special functions), without importing
    scipy.stats, which costs ~1.2 s, a third of a small backtest. NaN in, NaN out."""
    from scipy import special

    tail = -np.abs(stat)
    return 2 * (special.ndtr(tail) if dof is None else special.stdtr(dof, tail))


def _finish_summary(raw: pd.DataFrame, groups: pd.DataFrame) -> pd.DataFrame:
    """Test statistics and two-sided p-values from the per-group aggregates."""
    s = raw.merge(groups, on="gid", how="left")
    n = s["n"].astype(float)
    dof = (n - 1).where(n > 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s["t_cs"] = s["caar"] / (s["sd_car"] / np.sqrt(n))
        s["patell_z"] = s["sum_scar"] / np.sqrt(s["patell_var"])
        s["bmp_t"] = s["mean_scar"] / (s["sd_scar"] / np.sqrt(n))
        r_bar = s["r_bar"].fillna(0.0).clip(lower=0.0)  # never let the adjustment inflate the test
        s["kp_r_bar"] = r_bar
        s["kp_t"] = s["bmp_t"] * np.sqrt((1 - r_bar) / (1 + (n - 1) * r_bar))
        p = s["p_hat"]
        s["gsign_z"] = (s["n_positive"] - n * p) / np.sqrt(n * p * (1 - p))
    # two-sided p-values: t(N-1) for the cross-sectional tests, N(0,1) for the others
    for stat, p_col, dist in (("t_cs", "p_t", "t"), ("bmp_t", "p_bmp", "t"), ("kp_t", "p_kp", "t"),
                              ("patell_z", "p_patell", "z"), ("corrado_z", "p_corrado", "z"),
                              ("gsign_z", "p_gsign", "z")):
        s[stat] = s[stat].replace([np.inf, -np.inf], np.nan)
        s[p_col] = two_sided_p(s[stat], dof if dist == "t" else None)
    group_cols = [c for c in groups.columns if c != "gid"]
    order = [*group_cols, "group_key", "n", "caar", "median_car", "share_positive", "mean_bhar",
             "mean_signed_car", "hit_rate", "n_signed", "n_overlapping",
             "t_cs", "p_t", "patell_z", "p_patell", "bmp_t", "p_bmp", "kp_r_bar", "kp_t", "p_kp",
             "corrado_z", "p_corrado", "p_hat", "gsign_z", "p_gsign"]
    return s[order].reset_index(drop=True)


def _daily(w: _Window) -> pd.DataFrame:
    """Per group and relative day: n, AAR, CAAR and its 95 % band, from the event-window step."""
    from scipy import special  # stdtrit = scipy.stats.t.ppf, without importing scipy.stats

    length = len(w.rels)
    at = np.flatnonzero(w.n)  # in gid order, which is group_key order (_st_grp)
    n = w.n[at]
    d = pd.DataFrame({"group_key": w.labels[at // length], "rel_day": w.rels[at % length].astype(np.int16),
                      "n": n, "aar": w.sum_ar[at] / n, "caar": w.mean_car[at]})
    nf = d["n"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd_car = pd.Series(np.sqrt(w.m2_car[at] / (n - 1))).where(nf > 1)
    half = special.stdtrit((nf - 1).where(nf > 1), 0.975) * sd_car / np.sqrt(nf)
    d["caar_low"] = d["caar"] - half
    d["caar_high"] = d["caar"] + half
    return d


_PAIR_COLUMNS = """
    c.event_id, c.ticker, c.type, c.direction, c.rule_id, c.source, c.modality, c.market, c.topic,
    c.role, c.expected_sign, c.group_key, c.day0, r.day0_used, r.shift AS day0_shift_days,
    r.model_used, c.benchmark, r.benchmark_used,
    CASE WHEN r.model_used IN ('market', 'mean') THEN r.ka END AS alpha,
    CASE WHEN r.model_used = 'market' THEN r.kb END AS beta,
    sqrt(r.s2) AS sigma, r.n::INTEGER AS n_est, r.car, r.bhar, r.scar,
    CASE WHEN c.expected_sign <> 0 THEN r.car * c.expected_sign END AS signed_car,
    r.gap_sessions, r.overlapping, r.est_events
"""


def _pairs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    # pid numbers the pairs in (event_id, ticker) order (_candidates): an integer sort
    return store.frame(con, f"SELECT {_PAIR_COLUMNS} FROM _st_res r JOIN _st_cand c USING (pid) ORDER BY pid")


def _dropped(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return store.frame(con, """
        SELECT c.event_id, c.ticker, c.day0, d.reason, d.detail
        FROM _st_dropped d JOIN _st_cand c USING (pid) ORDER BY pid
    """)


def _pairs_n(n: int, verb: str = "", more: str = "") -> str:
    """`1 pair has`, `3 pairs have` (``verb`` in its plural: have / had): the notes said `1 pairs have`."""
    singular = {"have": "has", "had": "had"}.get(verb, verb)
    words = f"{n:,} {more}{'pair' if n == 1 else 'pairs'}"
    return f"{words} {singular if n == 1 else verb}" if verb else words


def _notes(con: duckdb.DuckDBPyConnection, pairs: pd.DataFrame, dropped: pd.DataFrame,
           n_candidates: int) -> list[str]:
    notes = [f"{len(pairs)} of {n_candidates} event-instrument pairs studied"]
    fb = pairs[pairs["benchmark_used"].notna() & (pairs["benchmark_used"] != pairs["benchmark"])]
    for (asked, used), g in fb.groupby(["benchmark", "benchmark_used"]):
        notes.append(f"benchmark {asked} has no prices: used {used} for {_pairs_n(len(g))}")
    raw = pairs[(pairs["model_used"] == "raw") & pairs["benchmark"].isna()]
    if len(raw) and (pairs["model_used"] != "raw").any():
        notes.append(f"{_pairs_n(len(raw), 'have')} no benchmark (commodity, FX, index): raw returns used")
    shifted = int((pairs["day0_shift_days"] > 0).sum())
    if shifted:
        notes.append(f"day 0 moved to the next price row for {_pairs_n(shifted)} (see day0_shift_days)")
    gaps = int((pairs["gap_sessions"].fillna(0) > 0).sum())
    if gaps:
        notes.append(f"{_pairs_n(gaps, 'had')} suspended sessions in the event window (benchmark compounded)")
    overlaps = int(pairs["overlapping"].sum())
    if overlaps:
        notes.append(f"{_pairs_n(overlaps, 'have')} overlapping event windows of the same ticker")
    contaminated = int((pairs["est_events"] > 0).sum())
    if contaminated:
        notes.append(f"{_pairs_n(contaminated, 'have')} another event of the same ticker in their estimation "
                     "window (see est_events)")
    notes.extend(_skipped_prices_notes(con))
    for reason, k in dropped["reason"].value_counts().sort_index().items():
        notes.append(f"dropped {_pairs_n(k)}: {reason}")
    return notes


def _skipped_prices_notes(con: duckdb.DuckDBPyConnection, limit: int = 3) -> list[str]:
    """The series leave out price rows whose price (adj_close, else close) is not positive: a futures
    settlement below zero (CL=F on 2020-04-20, kept by `prices load`), a 0 from a source. Said here:
    they were left out without a word, and a ticker with no other rows was `no_prices`."""
    rows = con.execute("""
        SELECT ticker, skipped, first_skipped FROM _st_pxcount
        WHERE skipped > 0
          AND ticker IN (SELECT ticker FROM _st_live UNION SELECT benchmark_used FROM _st_live)
        ORDER BY ticker
    """).fetchall()
    if not rows:
        return []
    listed = ", ".join(f"{t} {n} (first {d})" for t, n, d in rows[:limit])
    extra = len(rows) - limit
    more = f" and {extra} more ticker{'s' if extra > 1 else ''}" if extra > 0 else ""
    total = sum(n for _, n, _ in rows)
    rows_word = "rows" if total > 1 else "row"
    return [f"left out {total} price {rows_word} whose price is not positive: {listed}{more}; "
            "returns span them like a suspension"]


def _store(con: duckdb.DuckDBPyConnection, run_id: str, params: dict, counts: dict,
           notes: list[str], w: _Window) -> None:
    with store.transaction(con, join=True):  # a caller's open transaction holds the run too
        con.execute("INSERT INTO study_runs VALUES (?, ?, ?, ?, ?)",
                    [run_id, dt.datetime.now(dt.UTC), json.dumps(params), json.dumps(counts), notes])
        con.execute(f"INSERT INTO study_pairs SELECT ?, {_PAIR_COLUMNS} FROM _st_res r JOIN _st_cand c "
                    "USING (pid)", [run_id])
        if w.cells:
            with store.registered(con, _st_cells=pa.Table.from_batches(w.cells)):
                con.execute("""
                    INSERT INTO event_returns
                    SELECT ?, c.event_id, c.ticker, e.rel, DATE '1970-01-01' + e.day, e.ret, e.bench_ret,
                           e.expected_ret, e.ar, e.car, e.sar, e.gap::INTEGER
                    FROM _st_cells e JOIN _st_cand c USING (pid)
                """, [run_id])
        con.execute("""
            INSERT INTO study_dropped
            SELECT ?, c.event_id, c.ticker, c.day0, d.reason, d.detail
            FROM _st_dropped d JOIN _st_cand c USING (pid)
        """, [run_id])


def _new_run_id() -> str:
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def _nothing_studied_hint(reasons: dict[str, int]) -> str:
    """What to do when no pair was studied: answer the commonest reason among the pairs that had
    prices (most runs have some tickers without any, which says nothing of why the rest failed),
    then mention the pairs without prices."""
    priced = {r: n for r, n in reasons.items() if r not in ("duplicate", "no_prices", "no_day0")}
    if not priced:  # no pair got as far as its prices: say why, in the order the study checks
        return _NOTHING_STUDIED_HINTS["no_prices" if "no_prices" in reasons or "no_day0" not in reasons
                                      else "no_day0"]
    hint = _NOTHING_STUDIED_HINTS[max(priced, key=priced.get)]
    if "no_prices" in reasons:
        hint += (f"; {_pairs_n(reasons['no_prices'], 'have', 'more ')} no prices at all "
                 f"({_NOTHING_STUDIED_HINTS['no_prices']})")
    return hint


def check_parameters(*, window: str | tuple[int, int] = "5d", model: str = "market",
                     by: str | Iterable[str] = ("type",), estimation: Sequence[int] = (-250, -11),
                     min_estimation: int = 100,
                     max_day0_shift: int = 7) -> tuple[tuple[int, int], tuple[int, int], list[str]]:
    """(window, estimation window, group columns) as run_study reads them; ``StudyError`` for a bad
    one. Callers that fetch prices first check here, before any network work."""
    if not 0 <= max_day0_shift <= MAX_DAY0_SHIFT:
        raise StudyError(f"max_day0_shift={max_day0_shift} is outside 0..{MAX_DAY0_SHIFT} calendar days",
                         hint="a pair whose first price is years after its news has no day 0 to study")
    win = parse_window(window)
    return win, _check_params(win, model, estimation, min_estimation), group_columns(by)


def run_study(con: duckdb.DuckDBPyConnection, *, window: str | tuple[int, int] = "5d",
              model: str = "market", by: str | Iterable[str] = ("type",),
              estimation: Sequence[int] = (-250, -11), min_estimation: int = 100, dedupe: bool = True,
              store_results: bool = True, max_day0_shift: int = 7, rank_tests: bool = True,
              cache_series: bool = True) -> StudyResult:
    """Run an event study over every event-instrument pair with a day 0 in ``con``.

    Raises ``StudyError`` for bad parameters or when no pair can be studied (the dropped list
    says why). ``rank_tests=False`` skips the Corrado, generalised sign and Kolari-Pynnönen
    estimates (NaN), which need every estimation day of every pair. With ``store_results`` the
    run is written to study_runs / study_pairs / event_returns / study_dropped in one transaction.
    The per-series returns and running sums are kept in the series cache (study_series*) and
    reused by later studies until the prices change (``cache_series=False``: build them for this
    run only, write nothing there); a read-only connection reads a current cache, never writes one.
    """
    win, est, cols = check_parameters(window=window, model=model, by=by, estimation=estimation,
                                      min_estimation=min_estimation, max_day0_shift=max_day0_shift)
    params = {"window": list(win), "model": model, "by": cols, "estimation": list(est),
              "min_estimation": min_estimation, "dedupe": dedupe, "max_day0_shift": max_day0_shift,
              "rank_tests": rank_tests}
    series_cache = ""
    try:
        _candidates(con, cols)
        mode = _cache_mode(con) if cache_series else (False, False)
        fingerprint = _current_fingerprint(con) if mode[0] else None
        _resolve_benchmarks(con, model, dedupe, prices_cached=fingerprint is not None)
        with _setting(con, "preserve_insertion_order", "true"):  # _series relies on table order
            series_cache, cached = _series(con, mode, fingerprint)
        _locate_day0(con, max_day0_shift, cached)
        picked = _pick_rows(con, est, win, with_dates=store_results)
        _fit(con, est, min_estimation, picked.ends)
        window = _event_window(con, win, est, picked.window, with_cells=store_results)
        pairs, dropped = _pairs(con), _dropped(con)
        n_candidates = con.execute("SELECT count(*) FROM _st_cand").fetchone()[0]
        if not n_candidates:
            raise NothingStudiedError("nothing to study: no stored event is linked to an instrument",
                                      hint="extract events first: `signals extract FEED`")
        if pairs.empty:
            reasons = dropped["reason"].value_counts().to_dict()
            raise NothingStudiedError(
                f"no event-instrument pair could be studied ({n_candidates} candidates, dropped: {reasons})",
                hint=_nothing_studied_hint(reasons), dropped=reasons)
        # pairs x estimation days rows: no order to keep, which lets DuckDB buffer less
        with _setting(con, "preserve_insertion_order", "false"):
            _rank_sign_tables(con, est, win, rank_tests)
            summary = _summary(con, est, win, cols)
        daily = _daily(window)
        notes = _notes(con, pairs, dropped, n_candidates)
        counts = {"candidates": int(n_candidates), "studied": len(pairs), "dropped": len(dropped),
                  "dropped_by_reason": {str(k): int(v) for k, v in dropped["reason"].value_counts().items()}}
        run_id = _new_run_id()
        if store_results:
            _store(con, run_id, params, counts, notes, window)
    except duckdb.Error as exc:
        raise (damaged_database(exc)
               or StudyError(f"event study query failed: {str(exc).splitlines()[0]}")) from exc
    finally:
        _drop_temp(con)
    return StudyResult(run_id=run_id, params=params, summary=summary, pairs=pairs, daily=daily,
                       dropped=dropped, notes=notes, series_cache=series_cache)


# --- plotting ---------------------------------------------------------------------------------------

def plot_caar(result: StudyResult, path: str | Path) -> Path:
    """CAAR by relative day per group with its 95% band, saved to ``path`` (PNG/SVG/PDF by suffix)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    from matplotlib import font_manager
    from matplotlib.ticker import MaxNLocator

    # group keys may be Chinese (--by source: 高盛, 大摩): use a CJK font when one is installed, and
    # without one do not let matplotlib warn once per missing glyph (dozens of lines on stderr)
    installed = {f.name for f in font_manager.fontManager.ttflist}
    cjk = [f for f in _CJK_FONTS if f in installed]
    with warnings.catch_warnings(), plt.rc_context(
            {"font.sans-serif": [*cjk, *plt.rcParams["font.sans-serif"]]}):
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning)
        return _draw_caar(plt, MaxNLocator, result, path)


_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
              "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC",
              "Arial Unicode MS")


def _draw_caar(plt, MaxNLocator, result: StudyResult, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=120)
    try:
        for key, g in result.daily.groupby("group_key", sort=True):
            n = int(g["n"].max())
            (line,) = ax.plot(g["rel_day"], g["caar"] * 100, marker="o", ms=3, label=f"{key} (N={n})")
            ax.fill_between(g["rel_day"], g["caar_low"] * 100, g["caar_high"] * 100,
                            color=line.get_color(), alpha=0.15, linewidth=0)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.axvline(0, color="grey", linewidth=0.6, linestyle=":")
        start, end = result.params["window"]
        ax.set_title(f"CAAR, days {start:+d}..{end:+d}, {result.params['model']} model "
                     f"(95% band), run {result.run_id}", fontsize=10)
        ax.set_xlabel("trading day relative to day 0")
        ax.set_ylabel("CAAR (%)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # relative days are whole sessions
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path
