"""The event-study series cache (study_series*): reused while prices are unchanged, rebuilt after
any price write, grown for new series, never read stale; warm results equal cold ones."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from signals import store, study
from signals.study import prices_fingerprint, run_study

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "study"))
from panel import business_days, insert_events, insert_prices, reference_pair

EST = (-30, -6)
SMALL = {"estimation": EST, "min_estimation": 10, "window": "-1:+2"}


@pytest.fixture
def con(tmp_path):
    c = store.connect(tmp_path / "cache.duckdb")
    yield c
    c.close()


def _panel(con, rng, tickers=("A", "B"), days=80):
    dates = business_days(days)
    closes = {"BM": 100 * np.cumprod(1 + rng.normal(0.0005, 0.01, days))}
    for t in tickers:
        closes[t] = 50 * np.cumprod(1 + rng.normal(0.0005, 0.02, days))
    for t, c in closes.items():
        insert_prices(con, t, dates, c)
    return dates, {t: pd.Series(c, index=dates) for t, c in closes.items()}


def _state(con):
    return con.execute("SELECT prices_fingerprint, series, series_rows FROM study_series_state").fetchall()


def test_second_study_reads_the_cache_and_gives_identical_results(con):
    rng = np.random.default_rng(1)
    dates, _ = _panel(con, rng)
    insert_events(con, [{"event_id": f"e{t}{k}", "ticker": t, "day0": dates[k]}
                        for t in "AB" for k in (40, 60)])
    cold = run_study(con, **SMALL)
    assert cold.series_cache == "cold"
    assert _state(con) == [(prices_fingerprint(con), 2, 160)]  # series (A, BM) and (B, BM), 80 rows each
    warm = run_study(con, **SMALL)
    assert warm.series_cache == "warm"
    # same series rows and sums; only DuckDB's parallel summation order may move the last bits
    for got in ("pairs", "summary", "daily"):
        pd.testing.assert_frame_equal(getattr(cold, got), getattr(warm, got), check_exact=False, rtol=1e-12)
    off = run_study(con, cache_series=False, **SMALL)
    assert off.series_cache == "off"
    pd.testing.assert_frame_equal(cold.pairs, off.pairs, check_exact=False, rtol=1e-12)
    # a window or model change needs no new series either
    assert run_study(con, estimation=EST, min_estimation=10, window="0:0").series_cache == "warm"


def test_a_cache_built_by_another_series_method_is_rebuilt(con):
    # a cache saved by an older signals (fingerprint without the method) over the same prices:
    # its returns may have been computed otherwise, so it counts as stale
    rng = np.random.default_rng(7)
    dates, _ = _panel(con, rng, tickers=("A",))
    insert_events(con, [{"event_id": "e1", "ticker": "A", "day0": dates[60]}])
    assert run_study(con, **SMALL).series_cache == "cold"
    n, h, method = prices_fingerprint(con).split(":")
    assert method == f"s{study.SERIES_METHOD}"
    con.execute("UPDATE study_series_state SET prices_fingerprint = ?", [f"{n}:{h}"])
    assert run_study(con, **SMALL).series_cache == "cold"
    assert _state(con)[0][0] == prices_fingerprint(con)
    assert run_study(con, **SMALL).series_cache == "warm"


def test_a_price_edit_invalidates_the_cache_and_the_next_study_uses_new_prices(con):
    rng = np.random.default_rng(2)
    dates, closes = _panel(con, rng, tickers=("A",))
    insert_events(con, [{"event_id": "e1", "ticker": "A", "day0": dates[60]}])
    first = run_study(con, **SMALL)
    before = _state(con)
    # one price inside the event window doubles: day 0's return jumps
    con.execute("UPDATE prices SET close = close * 2 WHERE ticker = 'A' AND date = ?", [dates[60].date()])
    second = run_study(con, **SMALL)
    assert second.series_cache == "cold"
    assert _state(con) != before and _state(con)[0][0] == prices_fingerprint(con)
    edited = closes["A"].copy()
    edited.iloc[60] *= 2
    ref = reference_pair(edited, closes["BM"], dates[60], EST, (-1, 2))
    got = second.pairs.iloc[0]
    assert got["car"] == pytest.approx(ref["car"], rel=1e-9, abs=1e-12)
    assert got["car"] != pytest.approx(first.pairs.iloc[0]["car"], rel=1e-3)
    # a new price row (a later date) invalidates as well
    insert_prices(con, "A", business_days(1, start="2030-01-01"), [1.0])
    assert run_study(con, **SMALL).series_cache == "cold"


def test_new_series_rebuild_the_union_and_old_ones_stay_warm(con):
    rng = np.random.default_rng(3)
    dates, _ = _panel(con, rng, tickers=("A", "B"))
    insert_events(con, [{"event_id": "e1", "ticker": "A", "day0": dates[60]}])
    only_a = run_study(con, **SMALL)
    assert _state(con)[0][1] == 1
    insert_events(con, [{"event_id": "e2", "ticker": "B", "day0": dates[62]},
                        {"event_id": "e3", "ticker": "A", "day0": dates[50], "benchmark": None}])
    both = run_study(con, **SMALL)
    assert both.series_cache == "cold"
    assert _state(con)[0][1] == 3  # (A, BM), (A, no benchmark), (B, BM)
    assert sorted(both.pairs["event_id"]) == ["e1", "e2", "e3"]
    a1 = both.pairs.set_index("event_id").loc["e1"]
    assert a1["car"] == pytest.approx(only_a.pairs.iloc[0]["car"], rel=1e-12)
    con.execute("DELETE FROM event_instruments WHERE event_id IN ('e2', 'e3')")
    again = run_study(con, **SMALL)
    assert again.series_cache == "warm"
    assert again.pairs.iloc[0]["car"] == pytest.approx(only_a.pairs.iloc[0]["car"], rel=1e-12)


def test_picked_rows_reach_back_to_the_start_of_a_series_whose_neighbour_has_no_pair(con, monkeypatch):
    """The fit subtracts the running sums of the row before the estimation span; when the span is
    clamped to the start of its series, that row is the last of the previous series in the cache,
    which no pair of this study may need (its events are gone): it must be picked all the same."""
    rng = np.random.default_rng(5)
    dates, closes = _panel(con, rng, tickers=("A", "B"))
    insert_events(con, [{"event_id": "a", "ticker": "A", "day0": dates[60]},
                        {"event_id": "b", "ticker": "B", "day0": dates[20]}])
    run_study(con, **SMALL)
    con.execute("DELETE FROM event_instruments WHERE event_id = 'a'")
    [(g_first,)] = con.execute("SELECT g_first FROM study_series WHERE ticker = 'B'").fetchall()
    assert g_first > 1  # (A, BM) comes first in the cache
    monkeypatch.setattr(study, "_PICK_MAX_SHARE", float("inf"))  # always read the picked rows
    res = run_study(con, **SMALL)
    assert res.series_cache == "warm"
    ref = reference_pair(closes["B"], closes["BM"], dates[20], EST, (-1, 2))
    got = res.pairs.iloc[0]
    assert got["n_est"] == ref["n_est"] == 14  # the span starts at the series' first return
    for key in ("car", "alpha", "beta", "sigma"):
        assert got[key] == pytest.approx(ref[key], rel=1e-9, abs=1e-12), key


def test_read_only_connection_reads_a_current_cache_and_never_writes(tmp_path):
    path = tmp_path / "ro.duckdb"
    rng = np.random.default_rng(4)
    with store.opened(path) as con:
        dates, _ = _panel(con, rng, tickers=("A",))
        insert_events(con, [{"event_id": "e1", "ticker": "A", "day0": dates[60]}])
        cold = run_study(con, store_results=False, **SMALL)
    with store.opened(path, read_only=True) as con:
        warm = run_study(con, store_results=False, **SMALL)
        assert warm.series_cache == "warm"
        pd.testing.assert_frame_equal(cold.pairs, warm.pairs, check_exact=False, rtol=1e-12)
    with store.opened(path) as con:
        con.execute("UPDATE prices SET close = close * 1.5 WHERE ticker = 'A'")
        stale = _state(con)
    with store.opened(path, read_only=True) as con:
        res = run_study(con, store_results=False, **SMALL)
        assert res.series_cache == "cold" and _state(con) == stale  # built for the run, not saved
        assert res.pairs.iloc[0]["car"] == pytest.approx(cold.pairs.iloc[0]["car"], rel=1e-9)  # same returns


def test_connections_get_a_memory_limit_from_the_environment(tmp_path, monkeypatch):
    """store.connect caps DuckDB's memory (spill instead of taking all RAM); env overrides it."""
    monkeypatch.setenv(store.DB_MEMORY_ENV, "1GB")
    with store.opened(tmp_path / "m.duckdb") as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchall() == [("953.6 MiB",)]
    monkeypatch.delenv(store.DB_MEMORY_ENV)
    assert store.memory_limit().endswith("MB") and int(store.memory_limit()[:-2]) > 0


def test_a_bad_memory_limit_is_a_store_error(tmp_path, monkeypatch):
    from signals.errors import StoreError

    monkeypatch.setenv(store.DB_MEMORY_ENV, "lots")
    with pytest.raises(StoreError, match="SIGNALS_DB_MEMORY"):
        store.connect(tmp_path / "bad.duckdb")


def test_the_cache_stores_series_rows_in_row_order(con):
    # the event window reads the cached rows by row number g and sorts them when they come back in
    # another order (0.3 s at 5 M rows): a parallel join had stored them interleaved
    rng = np.random.default_rng(11)
    dates, _ = _panel(con, rng, tickers=tuple(f"T{i:02d}" for i in range(40)), days=3000)
    insert_events(con, [{"event_id": f"e{i}", "ticker": f"T{i:02d}", "day0": dates[2000]} for i in range(40)])
    con.execute("SET threads = 4")
    assert run_study(con, **SMALL).series_cache == "cold"
    g = con.execute("SELECT g FROM study_series_rows").fetchnumpy()["g"]
    assert len(g) == 40 * 3000 and (np.diff(g) == 1).all()


def test_running_sums_out_of_step_with_their_rows_are_an_internal_error(con, monkeypatch):
    # the sums go back to the rows by position; the pass that writes them checks each row's g
    rng = np.random.default_rng(12)
    dates, _ = _panel(con, rng, tickers=("A",))
    insert_events(con, [{"event_id": "e1", "ticker": "A", "day0": dates[60]}])
    real = study.pa.table

    def shifted(data, *args, **kwargs):  # the sums table, one row out of step
        if isinstance(data, dict) and "crm" in data:
            data = {**data, "g": data["g"] + 1}
        return real(data, *args, **kwargs)

    monkeypatch.setattr(study.pa, "table", shifted)
    with pytest.raises(study.StudyError, match="internal error: price rows were not processed"):
        run_study(con, **SMALL)
    monkeypatch.undo()
    assert _state(con) == []  # nothing of the failed build was kept
    assert run_study(con, **SMALL).series_cache == "cold"


def test_a_study_joins_the_callers_transaction(con):
    rng = np.random.default_rng(13)
    dates, _ = _panel(con, rng, tickers=("A",))
    insert_events(con, [{"event_id": "e1", "ticker": "A", "day0": dates[60]}])
    with pytest.raises(KeyboardInterrupt), store.transaction(con):
        run_study(con, **SMALL)  # stores its results and the series cache in the caller's transaction
        raise KeyboardInterrupt
    assert con.execute("SELECT count(*) FROM study_runs").fetchone()[0] == 0 and _state(con) == []
    with store.transaction(con):
        res = run_study(con, **SMALL)
    assert con.execute("SELECT run_id FROM study_runs").fetchall() == [(res.run_id,)]
    assert _state(con)[0][0] == prices_fingerprint(con)


def test_an_error_in_a_callers_transaction_is_reported_as_itself(con, monkeypatch):
    # the error aborts the caller's transaction; restoring a setting then fails too and must not
    # replace the error the user needs to see
    rng = np.random.default_rng(14)
    dates, _ = _panel(con, rng, tickers=("A",))
    insert_events(con, [{"event_id": "e1", "ticker": "A", "day0": dates[60]}])

    def broken(con, rows_into=None):
        con.execute("SELECT 1 / 'x'")

    monkeypatch.setattr(study, "_build_series", broken)
    with pytest.raises(study.StudyError) as err, store.transaction(con):
        run_study(con, **SMALL)
    assert "Conversion Error" in str(err.value) and "aborted" not in str(err.value)


def _same_result(got, want):
    for name in ("pairs", "summary", "daily", "dropped"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), check_exact=False, rtol=1e-12)
    assert got.notes == want.notes


# price writes an analyst may make with SQL, by hand: each must make the next study rebuild the
# cache (and its per-ticker price summary) from the current prices
_PRICE_WRITES = {
    "insert": "INSERT INTO prices SELECT ticker, date + 1, open, high, low, close * 1.03, adj_close, volume, "
              "source, fetched_at FROM prices WHERE ticker = 'A' AND date = $friday",
    "update_one_close": "UPDATE prices SET close = close * 1.2 WHERE ticker = 'A' AND date = $d45",
    "update_benchmark": "UPDATE prices SET close = close * 0.9 WHERE ticker = 'BM' AND date = $d61",
    "swap_two_closes": "UPDATE prices SET close = CASE WHEN date = $d45 "
                       "THEN (SELECT close FROM prices WHERE ticker = 'A' AND date = $d46) "
                       "ELSE (SELECT close FROM prices WHERE ticker = 'A' AND date = $d45) END "
                       "WHERE ticker = 'A' AND date IN ($d45, $d46)",
    "delete": "DELETE FROM prices WHERE ticker = 'A' AND date = $d45",
    "close_to_zero": "UPDATE prices SET close = 0 WHERE ticker = 'B' AND date = $d40",
    "ticker_renamed": "UPDATE prices SET ticker = 'C' WHERE ticker = 'B'",
}


@pytest.mark.parametrize("write", sorted(_PRICE_WRITES))
def test_any_price_write_by_sql_makes_the_next_study_equal_a_fresh_cold_one(con, write):
    rng = np.random.default_rng(21)
    dates, _ = _panel(con, rng, tickers=("A", "B"))
    insert_events(con, [{"event_id": f"e{t}{k}", "ticker": t, "day0": dates[k]}
                        for t in "AB" for k in (50, 60)])
    assert run_study(con, **SMALL).series_cache == "cold"
    assert run_study(con, **SMALL).series_cache == "warm"
    friday = next(d for d in dates[40:50] if d.weekday() == 4)
    params = {"friday": friday.date(), "d40": dates[40].date(), "d45": dates[45].date(),
              "d46": dates[46].date(), "d61": dates[61].date()}
    before = prices_fingerprint(con)
    sql = _PRICE_WRITES[write]
    con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})
    assert prices_fingerprint(con) != before
    got = run_study(con, **SMALL)
    assert got.series_cache == "cold"
    off = run_study(con, cache_series=False, **SMALL)
    con.execute("DELETE FROM study_series_state")
    fresh = run_study(con, **SMALL)
    assert fresh.series_cache == "cold"
    warm = run_study(con, **SMALL)
    assert warm.series_cache == "warm"
    for other in (off, fresh, warm):
        _same_result(got, other)


def test_warm_studies_report_left_out_prices_and_priceless_tickers_as_cold_ones_do(con):
    # the per-ticker counts behind these notes and drops come from study_series_prices when warm
    rng = np.random.default_rng(22)
    dates, _ = _panel(con, rng, tickers=("A", "B"))
    insert_prices(con, "Z", dates, np.zeros(len(dates)))  # every price <= 0: no_prices
    con.execute("UPDATE prices SET close = -1 WHERE ticker = 'A' AND date IN (?, ?)",
                [dates[10].date(), dates[20].date()])
    insert_events(con, [{"event_id": f"e{t}", "ticker": t, "day0": dates[60]} for t in "ABZ"]
                  + [{"event_id": "eQ", "ticker": "Q", "day0": dates[60]}])  # no price rows at all
    cold = run_study(con, **SMALL)
    warm = run_study(con, **SMALL)
    assert (cold.series_cache, warm.series_cache) == ("cold", "warm")
    _same_result(warm, cold)
    left_out = "left out 82 price rows whose price is not positive: A 2 (first 2024-01-15), Z 80"
    assert any(n.startswith(left_out) for n in warm.notes)
    details = dict(zip(warm.dropped["ticker"], warm.dropped["detail"], strict=True))
    assert details == {"Z": f"all {len(dates)} price rows of Z have a price <= 0", "Q": "no price rows for Q"}
    saved = con.execute("SELECT ticker, usable, skipped FROM study_series_prices ORDER BY ticker").fetchall()
    n = len(dates)
    assert saved == [("A", n - 2, 2), ("B", n, 0), ("BM", n, 0), ("Z", 0, n)]


def test_day0_found_through_the_benchmark_days_equals_the_join_with_the_series_rows(con):
    """A warm study finds day 0 of a series whose rows are every benchmark day over its span by
    arithmetic on study_series_days / study_series_spans; the others (suspended, extra days, no
    benchmark) and day0s that are no price date take the joins. Both ways give the same rows."""
    rng = np.random.default_rng(23)
    days = 120
    dates = business_days(days)
    prices = {"BM": 100 * np.cumprod(1 + rng.normal(0.0005, 0.01, days))}
    for t in ("A", "LATE", "SUSP", "EXTRA", "BEFORE"):
        prices[t] = 50 * np.cumprod(1 + rng.normal(0.0005, 0.02, days))
    for t, c in prices.items():
        keep = np.ones(days, dtype=bool)
        if t == "LATE":
            keep[:30] = False  # listed after the benchmark's first day: still every day of its span
        if t == "SUSP":
            keep[[70, 71]] = False  # suspended: not every benchmark day
        if t == "BEFORE":
            keep[100:] = False  # its last row comes before the other series' last day
        insert_prices(con, t, dates[keep], c[keep])
    saturday = dates[80] + pd.Timedelta(days=(5 - dates[80].weekday()) % 7)
    insert_prices(con, "EXTRA", [saturday], [prices["EXTRA"][80] * 1.01])  # a day the benchmark is closed
    rows = [{"event_id": f"{t}{k}", "ticker": t, "day0": dates[k]}
            for t in ("A", "LATE", "SUSP", "EXTRA", "BEFORE") for k in (29, 30, 31, 60, 70, 72, 81, 99, 110)]
    rows += [{"event_id": "Asat", "ticker": "A", "day0": saturday},  # no price date: the next row
             {"event_id": "EXTRAsat", "ticker": "EXTRA", "day0": saturday},
             {"event_id": "Araw", "ticker": "A", "day0": dates[60], "benchmark": None}]
    insert_events(con, rows)
    params = {"estimation": EST, "min_estimation": 10, "window": "-2:+3", "dedupe": False}
    cold = run_study(con, **params)
    warm = run_study(con, **params)
    off = run_study(con, cache_series=False, **params)
    assert (cold.series_cache, warm.series_cache, off.series_cache) == ("cold", "warm", "off")
    spans = dict(con.execute("SELECT s.ticker, p.bidx_first FROM study_series_spans p JOIN study_series s "
                             "USING (sid)").fetchall())
    # SUSP lacks two days, EXTRA has one more, the series (A, no benchmark) has no benchmark days
    assert spans == {"A": 1, "LATE": 31, "BEFORE": 1}
    for got in (cold, warm):
        _same_result(got, off)
    pairs = warm.pairs.set_index("event_id")
    assert pairs.loc["Asat", "day0_shift_days"] == 2 and pairs.loc["SUSP70", "day0_shift_days"] == 2
    assert (pairs.loc["LATE60", "n_est"], pairs.loc["EXTRA99", "n_est"]) == (24, 24)
    reasons = dict(zip(warm.dropped["event_id"], warm.dropped["reason"], strict=True))
    assert reasons == {"BEFORE110": "day0_after_last_price", "BEFORE99": "incomplete_event_window",
                       "EXTRAsat": "incomplete_event_window", "LATE29": "short_estimation",
                       "LATE30": "short_estimation", "LATE31": "short_estimation"}


def test_the_cache_stores_its_double_columns_uncompressed(con):
    # a warm study reads scattered rows of study_series_rows; ALPRD decompresses whole vectors for them
    rng = np.random.default_rng(12)
    dates, _ = _panel(con, rng, tickers=tuple(f"T{i:02d}" for i in range(10)), days=3000)
    insert_events(con, [{"event_id": f"e{i}", "ticker": f"T{i:02d}", "day0": dates[2000]} for i in range(10)])
    run_study(con, **SMALL)
    con.execute("CHECKPOINT")
    kinds = dict(con.execute("""
        SELECT column_name, list(DISTINCT compression) FROM pragma_storage_info('study_series_rows')
        WHERE segment_type = 'DOUBLE' GROUP BY column_name
    """).fetchall())
    assert kinds == {c: ["Uncompressed"] for c in ("r", "m", "cr", "cm", "crr", "cmm", "crm")}


# _fit before the picked rows were read into arrays: two joins of the pairs with the series rows
_FIT_BY_JOINS = """
    CREATE OR REPLACE TEMP TABLE _old_fit AS
    WITH w AS (
        SELECT l.*, b.g_first, b.mu_r, b.mu_m, b.mu_rr, b.mu_mm, b.mu_rm,
               greatest(l.g0 + ({lo}), b.g_first) AS lo, least(l.g0 + ({hi}), b.g_last) AS hi
        FROM _st_loc l JOIN _st_bounds b USING (sid) WHERE l.pid NOT IN (SELECT pid FROM _st_dropped)
    ), s AS (
        SELECT w.*, CASE WHEN w.hi >= w.lo THEN h.cn - coalesce(z.cn, 0) ELSE 0 END AS n,
               h.cr - coalesce(z.cr, 0) + w.mu_r * (h.cn - coalesce(z.cn, 0)) AS sy,
               h.cm - coalesce(z.cm, 0) + w.mu_m * (h.cn - coalesce(z.cn, 0)) AS sx,
               h.crr - coalesce(z.crr, 0) + w.mu_rr * (h.cn - coalesce(z.cn, 0)) AS syy,
               h.cmm - coalesce(z.cmm, 0) + w.mu_mm * (h.cn - coalesce(z.cn, 0)) AS sxx,
               h.crm - coalesce(z.crm, 0) + w.mu_rm * (h.cn - coalesce(z.cn, 0)) AS sxy
        FROM w LEFT JOIN _st_rows h ON h.g = w.hi AND w.hi >= w.lo LEFT JOIN _st_rows z ON z.g = w.lo - 1
    ), c AS (
        SELECT *, sxx - sx * sx / n AS cxx, sxy - sx * sy / n AS cxy, syy - sy * sy / n AS cyy,
               (syy + sxx - 2 * sxy) - (sy - sx) * (sy - sx) / n AS cdd
        FROM s WHERE n > 0
    ), m AS (SELECT *, CASE WHEN model_used = 'market' AND cxx > 0 THEN cxy / cxx END AS b_ols FROM c)
    SELECT pid, sid, ticker, model_used, benchmark_used, g0, idx0, day0_used, shift, n, mu_r, mu_m,
           sx / n AS mx, cxx,
           CASE model_used WHEN 'market' THEN sy / n - b_ols * sx / n WHEN 'mean' THEN sy / n
                ELSE 0 END AS ka,
           CASE model_used WHEN 'market' THEN b_ols WHEN 'market-adjusted' THEN 1 ELSE 0 END AS kb,
           CASE model_used WHEN 'raw' THEN sy / n WHEN 'market-adjusted' THEN (sy - sx) / n
                ELSE 0 END AS abar,
           CASE model_used WHEN 'market' THEN n - 2 ELSE n - 1 END AS df,
           CASE model_used WHEN 'market' THEN (cyy - b_ols * cxy) / (n - 2)
                           WHEN 'market-adjusted' THEN cdd / (n - 1) ELSE cyy / (n - 1) END AS s2
    FROM m
"""


@pytest.mark.parametrize("share", [0.0, 0.25, float("inf")])
@pytest.mark.parametrize("cache", [True, False])
def test_picked_rows_are_exactly_the_rows_the_joins_read(con, monkeypatch, share, cache):
    """_pick_rows reads the fit's two rows per pair and the event window's rows by row number into
    arrays (whole columns or a semi-join): the fit gives bit for bit what joining the pairs with every
    series row gave, and every window cell is the series row of that g (NULLs included). Tickers with
    suspensions, a series starting after its neighbour's end, pairs of several models (no benchmark:
    NULL benchmark returns and sums), spans clamped to the series start, windows past the last row."""
    rng = np.random.default_rng(31)
    days = 160
    dates = business_days(days)
    closes = {"BM": 100 * np.cumprod(1 + rng.normal(0.0005, 0.01, days))}
    for i, t in enumerate(("A", "B", "C", "D")):
        c = 50 * np.cumprod(1 + rng.normal(0.0005, 0.02, days))
        keep = np.ones(days, dtype=bool)
        keep[[40 + i, 41 + i, 90]] = False  # suspensions
        if t == "C":
            keep[:50] = False  # listed late
        closes[t] = c
        insert_prices(con, t, dates[keep], c[keep])
    insert_prices(con, "BM", dates, closes["BM"])
    rows = [{"event_id": f"{t}{k}", "ticker": t, "day0": dates[k]}
            for t in "ABCD" for k in (3, 8, 25, 60, 100, 157, 159)]
    rows += [{"event_id": f"raw{t}", "ticker": t, "day0": dates[70], "benchmark": None} for t in "AB"]
    insert_events(con, rows)
    monkeypatch.setattr(study, "_PICK_MAX_SHARE", share)
    seen = {}
    real = study._event_window

    real_fit = study._fit_sql

    def check_fit(c, est):
        real_fit(c, est)
        c.execute(_FIT_BY_JOINS.format(lo=est[0], hi=est[1]))
        seen["fit"] = c.execute("SELECT count(*) FROM _st_fit").fetchone()[0]
        for a, b in (("_st_fit", "_old_fit"), ("_old_fit", "_st_fit")):
            diff = c.execute(f"FROM {a} EXCEPT ALL FROM {b}").df()
            assert diff.empty, diff.to_string()

    def check(c, win, est, series_rows, with_cells=True):
        g0 = c.execute("SELECT g0 FROM _st_fit WHERE pid NOT IN (SELECT pid FROM _st_dropped)"
                       ).fetchnumpy()["g0"]
        full = c.execute("SELECT g, r, m, gap::DOUBLE AS gap, valid FROM _st_rows ORDER BY g").fetchnumpy()
        want = (np.asarray(g0)[:, None] + np.arange(win[0], win[1] + 1)[None, :]).ravel()
        pos, found = series_rows.positions(want)
        g = np.asarray(full["g"])
        exists = np.isin(want, g)
        assert (found == exists).all()
        at = np.searchsorted(g, want[found])
        for name in ("r", "m", "gap", "valid"):
            old = np.ma.filled(full[name].astype(float), np.nan)[at]
            np.testing.assert_array_equal(series_rows.cols[name][pos[found]].astype(float), old)
        return real(c, win, est, series_rows, with_cells)

    monkeypatch.setattr(study, "_event_window", check)
    monkeypatch.setattr(study, "_fit_sql", check_fit)
    res = run_study(con, cache_series=cache, dedupe=False, **SMALL)
    run_study(con, model="mean", dedupe=False, cache_series=cache, **SMALL)
    assert seen["fit"] > 20 and len(res.pairs) > 10


def test_without_rank_tests_only_the_rank_statistics_are_missing(con):
    rng = np.random.default_rng(41)
    dates, _ = _panel(con, rng, tickers=("A", "B", "C"))
    insert_events(con, [{"event_id": f"e{t}{k}", "ticker": t, "day0": dates[k], "type": f"t{k % 2}"}
                        for t in "ABC" for k in (40, 47, 60, 71)])
    full = run_study(con, **SMALL)
    bare = run_study(con, rank_tests=False, **SMALL)
    rank = ["kp_r_bar", "kp_t", "p_kp", "corrado_z", "p_corrado", "p_hat", "gsign_z", "p_gsign"]
    assert full.summary[rank].notna().all().all()
    # no r_bar estimate: KP falls back to BMP; the Corrado and sign statistics are NaN
    assert bare.summary[rank[3:]].isna().all().all() and (bare.summary["kp_r_bar"] == 0).all()
    assert bare.summary["kp_t"].equals(bare.summary["bmp_t"])
    pd.testing.assert_frame_equal(full.summary.drop(columns=rank), bare.summary.drop(columns=rank))
    for got in ("pairs", "daily", "dropped"):
        pd.testing.assert_frame_equal(getattr(full, got), getattr(bare, got))


_CANDIDATES_BY_ONE_WINDOW = """
    CREATE OR REPLACE TEMP TABLE _old_cand AS
    WITH c AS (
        SELECT row_number() OVER (ORDER BY ei.event_id, ei.ticker)::INTEGER AS pid,
               ei.event_id, ei.ticker, ei.role, ei.expected_sign, ei.market, ei.benchmark, ei.day0,
               ei.day0_reason, e.type, e.direction, e.rule_id, e.source, e.modality, e.topic,
               e.relevance, {key} AS group_key, a.published_utc
        FROM event_instruments ei JOIN events e ON e.id = ei.event_id
        LEFT JOIN articles a ON a.id = e.article_id
    )
    SELECT * EXCLUDE (published_utc), row_number() OVER dup AS dup_rank,
           first_value(event_id) OVER dup AS dup_keep
    FROM c
    WINDOW dup AS (PARTITION BY group_key, ticker, day0 ORDER BY relevance DESC, published_utc ASC NULLS LAST,
                   event_id)
"""


@pytest.mark.parametrize("by", ["type", "", "role,type"])
def test_candidates_rank_only_shared_days_as_one_window_over_all_did(con, monkeypatch, by):
    """_candidates ranks the pairs of a (group, ticker, day 0) shared by several; the rest keep rank 1
    and themselves: the same table as one window over every pair. Ties of relevance, NULL
    publication times, NULL day 0s (several of one ticker), other groups on the same day."""
    rng = np.random.default_rng(3)
    dates, _ = _panel(con, rng, tickers=("A", "B"))
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    rows = []
    for i in range(60):
        rows.append({"event_id": f"e{i:02d}", "ticker": "AB"[i % 2], "day0": None if i % 11 == 0 else
                     dates[40 + i % 7], "relevance": [40, 90, 90][i % 3], "type": ["x", "y"][i % 5 == 0],
                     "published": t0 + pd.Timedelta(hours=i % 4), "day0_reason": "no_session"})
    rows.append({"event_id": "solo", "ticker": "A", "day0": dates[70]})
    insert_events(con, rows)
    con.execute("UPDATE articles SET published_utc = NULL WHERE id IN ('a-e03', 'a-e17', 'a-e24')")
    cols = study.group_columns(by)
    real = study._resolve_benchmarks

    def check(c, *args, **kwargs):
        qualified = {k: ("ei." if k in ("market", "role") else "e.") + k for k in cols}
        parts = ", ".join(f"coalesce(CAST({qualified[k]} AS VARCHAR), '-')" for k in cols)
        key = f"concat_ws(' | ', {parts})" if cols else "'all'"
        c.execute(_CANDIDATES_BY_ONE_WINDOW.format(key=key))
        for a, b in (("_st_cand", "_old_cand"), ("_old_cand", "_st_cand")):
            diff = c.execute(f"FROM {a} EXCEPT ALL FROM {b}").df()
            assert diff.empty, diff.to_string()
        assert c.execute("SELECT count(*) FROM _st_cand WHERE dup_rank > 1").fetchone()[0] > 5
        return real(c, *args, **kwargs)

    monkeypatch.setattr(study, "_resolve_benchmarks", check)
    run_study(con, by=by, **SMALL)
