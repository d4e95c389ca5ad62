"""Event study engine: SQL results against a plain numpy reference, and the bookkeeping around it."""

from __future__ import annotations

import math
import re
import sys
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from signals import store, study
from signals.errors import StudyError
from signals.study import check_parameters, parse_window, plot_caar, run_study

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "study"))
from panel import business_days, insert_events, insert_prices, reference_pair

EST = (-30, -6)
SMALL = {"estimation": EST, "min_estimation": 10}


@pytest.fixture
def con(tmp_path):
    c = store.connect(tmp_path / "study.duckdb")
    yield c
    c.close()


def _walk(rng, n, start=100.0, vol=0.01):
    return start * np.cumprod(1 + rng.normal(0.0005, vol, n))


def _market_panel(con, rng, days=80, tickers=("A", "B"), beta=1.0):
    dates = business_days(days)
    bm = _walk(rng, days)
    insert_prices(con, "BM", dates, bm)
    m = np.r_[0, bm[1:] / bm[:-1] - 1]
    for t in tickers:
        r = 0.0003 + beta * m + rng.normal(0, 0.01, days)
        insert_prices(con, t, dates, 50 * np.cumprod(1 + r))
    return dates


# --- windows ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "expected"), [
    ("5d", (0, 4)), ("1d", (0, 0)), ("-1:+5", (-1, 5)), ("-3:-1", (-3, -1)), (" 0 : 2 ", (0, 2)),
    ((-2, 3), (-2, 3)),
])
def test_parse_window(spec, expected):
    assert parse_window(spec) == expected


@pytest.mark.parametrize("spec", ["0d", "5", "+5:-1", "abc", "1:2:3", (1,), "-9000:1"])
def test_parse_window_rejects(spec):
    with pytest.raises(StudyError):
        parse_window(spec)


def test_bad_parameters_raise_study_error(con):
    with pytest.raises(StudyError, match="model"):
        run_study(con, model="capm")
    with pytest.raises(StudyError, match="group by"):
        run_study(con, by=("colour",))
    with pytest.raises(StudyError, match="end before"):
        run_study(con, window="-20:+1")
    with pytest.raises(StudyError, match="too small"):
        run_study(con, min_estimation=2)


@pytest.mark.parametrize(("window", "estimation"), [("-20:+1", (-250, -11)), ("-300:+300", (-250, -11)),
                                                    ("3:5", (-30, 4)), ("-1:+5", (-5, -1))])
def test_an_estimation_window_that_overlaps_gets_a_hint_that_works(window, estimation):
    with pytest.raises(StudyError, match="must end before the event window") as err:
        check_parameters(window=window, estimation=estimation, min_estimation=5)
    suggested = tuple(int(x) for x in err.value.hint.split("`--estimation ")[1].rstrip("`").split(":"))
    assert suggested[1] - suggested[0] == estimation[1] - estimation[0]  # the same length, earlier
    check_parameters(window=window, estimation=suggested, min_estimation=5)  # and it is accepted


def _apply_hint(hint: str, estimation: tuple[int, int], min_estimation: int) -> tuple[tuple[int, int], int]:
    """The --estimation / --min-estimation a hint suggests, over the ones given."""
    command = hint.split("`")[1]
    if m := re.search(r"--estimation (-?\d+):(-?\d+)", command):
        estimation = (int(m.group(1)), int(m.group(2)))
    if m := re.search(r"--min-estimation (\d+)", command):
        min_estimation = int(m.group(1))
    return estimation, min_estimation


@settings(max_examples=300, deadline=None)
@given(st.integers(-5000, 5000), st.integers(0, 40), st.integers(-5000, 5000), st.integers(0, 6000),
       st.integers(5, 6000))
@example(-4995, 10, -250, 239, 100)  # the hint said -5244:-5005, beyond the -5000 parse_window allows
@example(-20, 21, -5000, 4989, 100)  # -5019:-30
@example(-1, 6, -3, 1, 100)  # min_estimation 100 > 2 days: the overlap hint's window failed the next check
@example(-1, 6, -3, 2, 100)  # `--min-estimation 2`, which is refused (5 at least)
def test_a_hint_for_a_bad_estimation_window_suggests_values_that_are_accepted(start, span, est_start,
                                                                              est_span, min_estimation):
    window, estimation = (start, min(start + span, 5000)), (est_start, min(est_start + est_span, 5000))
    try:
        check_parameters(window=window, estimation=estimation, min_estimation=min_estimation)
        return
    except StudyError as err:
        if "must end before day 0" in str(err) or not err.hint or "`" not in err.hint:
            return  # a fixed example, or no room at all (the event window starts at -5000)
        hint = err.hint
    estimation, min_estimation = _apply_hint(hint, estimation, min_estimation)
    check_parameters(window=window, estimation=estimation, min_estimation=min_estimation)


def test_nothing_to_study_is_a_study_error_with_reasons(con):
    insert_events(con, [{"event_id": "e1", "ticker": "NOPE", "day0": "2024-03-01"}])
    with pytest.raises(StudyError, match="no_prices") as err:
        run_study(con)
    assert err.value.hint == ("load prices for the tickers: `signals prices fetch`, or "
                              "`signals prices load FILE`")


def test_no_events_at_all_says_to_extract_first(con):
    with pytest.raises(StudyError, match="nothing to study: no stored event is linked") as err:
        run_study(con)
    assert "signals extract FEED" in err.value.hint


def test_the_hint_answers_the_reason_that_dropped_most_pairs(con):
    rng = np.random.default_rng(11)
    dates = _market_panel(con, rng, days=40)
    # day 0 at row 20 of 40: 19 estimation returns at most, fewer than min_estimation=100
    insert_events(con, [{"event_id": f"e{t}", "ticker": t, "day0": dates[20]} for t in ("A", "B")]
                  + [{"event_id": "late", "ticker": "A", "day0": dates[-1] + pd.Timedelta(days=30)}])
    with pytest.raises(StudyError, match="short_estimation") as err:
        run_study(con)
    assert err.value.hint.startswith("too few returns before day 0")


def test_the_hint_looks_past_pairs_without_prices(con):
    # 3 pairs without any price outnumber the 2 whose window runs past the prices: the hint is
    # about the window (what the priced pairs need), then mentions the unpriced ones
    rng = np.random.default_rng(12)
    dates = _market_panel(con, rng, days=80)
    insert_events(con, [{"event_id": f"e{t}", "ticker": t, "day0": dates[70]} for t in ("A", "B")]
                  + [{"event_id": f"n{k}", "ticker": f"NOPE{k}", "day0": dates[70]} for k in range(3)])
    with pytest.raises(StudyError) as err:
        run_study(con, window="0:+20", **SMALL)
    assert err.value.dropped == {"no_prices": 3, "incomplete_event_window": 2}
    assert err.value.hint == (
        "the event window runs past the last price: fetch later prices, or use a shorter --window; "
        "3 more pairs have no prices at all (load prices for the tickers: `signals prices fetch`, or "
        "`signals prices load FILE`)")


def test_every_drop_reason_but_duplicate_has_a_hint():
    assert set(study._NOTHING_STUDIED_HINTS) == set(study.DROP_REASONS) - {"duplicate"}


# --- the SQL against the numpy reference --------------------------------------------------------------

@st.composite
def panels(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    n_tickers = draw(st.integers(1, 3))
    days = draw(st.integers(60, 90))
    gaps = [draw(st.lists(st.integers(1, days - 1), max_size=4, unique=True)) for _ in range(n_tickers)]
    events = [draw(st.lists(st.integers(25, days - 1), min_size=1, max_size=3, unique=True))
              for _ in range(n_tickers)]
    window = draw(st.sampled_from(["-1:+2", "3d", "0:0", "-2:+1"]))
    model = draw(st.sampled_from(["market", "market", "mean", "raw"]))
    return seed, days, gaps, events, window, model


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(panels())
# the event on the last day, which the stock does not trade: no row from day 0 on (the reference
# raised StopIteration)
@example(panel=(0, 75, [[74]], [[74]], "-1:+2", "market"))
def test_sql_matches_numpy_reference(panel):
    seed, days, gaps, events, window, model = panel
    rng = np.random.default_rng(seed)
    win = parse_window(window)
    with tempfile.TemporaryDirectory() as tmp:
        con = store.connect(Path(tmp) / "p.duckdb")
        dates = business_days(days)
        bm = pd.Series(_walk(rng, days), index=dates)
        insert_prices(con, "BM", dates, bm)
        stocks, rows = {}, []
        for i, (gap, evs) in enumerate(zip(gaps, events, strict=True)):
            keep = np.ones(days, bool)
            keep[gap] = False  # suspended days: no row for the stock
            s = pd.Series(_walk(rng, days, vol=0.02), index=dates)[keep]
            stocks[f"S{i}"] = s
            insert_prices(con, f"S{i}", s.index, s.to_numpy())
            rows += [{"event_id": f"e{i}-{k}", "ticker": f"S{i}", "day0": dates[k]} for k in evs]
        insert_events(con, rows)
        # both ways of reading the series rows: joins on the whole table, and on the rows picked
        results = []
        for pick_share in (0.0, math.inf):
            with mock.patch.object(study, "_PICK_MAX_SHARE", pick_share):
                try:
                    results.append(run_study(con, window=window, model=model, store_results=False,
                                             dedupe=False, **SMALL))
                except StudyError as err:  # no pair complete: then the reference must find none either
                    assert "no event-instrument pair could be studied" in str(err)
                    results.append(None)
        con.close()
    res = results[0]
    if res is not None:
        pd.testing.assert_frame_equal(res.pairs, results[1].pairs)
        pd.testing.assert_frame_equal(res.daily, results[1].daily)
    else:
        assert results[1] is None

    refs = {row["event_id"]: reference_pair(stocks[row["ticker"]], bm if model == "market" else None,
                                            row["day0"], EST, win, model) for row in rows}
    length = win[1] - win[0] + 1
    complete = {e: ref["n_est"] >= 10 and ref["window_days"] == length for e, ref in refs.items()}
    if res is None:
        assert not any(complete.values()), refs
        return
    studied = res.pairs.set_index("event_id")
    assert len(studied) + len(res.dropped) == len(rows)
    for row in rows:
        ref = refs[row["event_id"]]
        assert (row["event_id"] in studied.index) == complete[row["event_id"]], (row, ref["n_est"],
                                                                                 ref["window_days"])
        if not complete[row["event_id"]]:
            continue
        got = studied.loc[row["event_id"]]
        assert got["n_est"] == ref["n_est"]
        assert pd.Timestamp(got["day0_used"]) == ref["day0_used"]
        for key in ("car", "bhar", "sigma"):
            assert got[key] == pytest.approx(ref[key], rel=1e-9, abs=1e-12), key
        if model == "market":
            assert got["alpha"] == pytest.approx(ref["alpha"], rel=1e-9, abs=1e-12)
            assert got["beta"] == pytest.approx(ref["beta"], rel=1e-9, abs=1e-12)
            assert got["gap_sessions"] == ref["gap"].sum()
        assert got["scar"] == pytest.approx(ref["sar"].sum() / np.sqrt(len(ref["sar"])), rel=1e-9)
    if len(studied):
        caar = res.daily.groupby("rel_day")["caar"].last()
        assert caar.index.tolist() == list(range(win[0], win[1] + 1))
        assert caar.iloc[-1] == pytest.approx(studied["car"].mean(), rel=1e-9, abs=1e-12)


def test_daily_ar_rows_match_reference(con):
    rng = np.random.default_rng(7)
    dates = _market_panel(con, rng, tickers=("A",))
    insert_events(con, [{"event_id": "e1", "ticker": "A", "day0": dates[60]}])
    res = run_study(con, window="-1:+3", **SMALL)
    got = con.execute("SELECT rel_day, ar, car, date FROM event_returns WHERE run_id = ? ORDER BY rel_day",
                      [res.run_id]).df()
    a = con.execute("SELECT date, close FROM prices WHERE ticker='A' ORDER BY date").df()
    b = con.execute("SELECT date, close FROM prices WHERE ticker='BM' ORDER BY date").df()
    ref = reference_pair(pd.Series(a["close"].to_numpy(), index=pd.to_datetime(a["date"])),
                         pd.Series(b["close"].to_numpy(), index=pd.to_datetime(b["date"])),
                         dates[60], EST, (-1, 3))
    assert got["rel_day"].tolist() == [-1, 0, 1, 2, 3]
    np.testing.assert_allclose(got["ar"], ref["ar"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got["car"], np.cumsum(ref["ar"]), rtol=1e-9, atol=1e-12)
    assert pd.Timestamp(got["date"].iloc[1]) == dates[60]


# --- conventions: adj_close, day 0 shift, gaps, benchmarks -----------------------------------------------

def test_adj_close_is_used_when_present(con):
    rng = np.random.default_rng(3)
    dates = business_days(60)
    insert_prices(con, "BM", dates, _walk(rng, 60))
    close = _walk(rng, 60)
    adj = close * np.linspace(0.9, 1.0, 60)  # a dividend adjustment changes every return
    insert_prices(con, "A", dates, close, adj_close=adj)
    insert_events(con, [{"event_id": "e1", "ticker": "A", "day0": dates[50], "benchmark": None}])
    res = run_study(con, window="0:0", **SMALL)
    assert res.pairs.loc[0, "car"] == pytest.approx(adj[50] / adj[49] - 1, rel=1e-12)


def test_a_return_never_mixes_adjusted_and_unadjusted_prices(con):
    # history from a source with adj_close, recent rows from a close-only file: the first return
    # after the switch is close / close, not close / adj_close (a 10 % jump that never happened)
    rng = np.random.default_rng(31)
    dates = business_days(60)
    bm_close = _walk(rng, 60)
    bm_adj = np.where(np.arange(60) < 40, bm_close * 0.8, np.nan)
    insert_prices(con, "BM", dates, bm_close, adj_close=bm_adj)
    close = _walk(rng, 60)
    adj = np.where(np.arange(60) < 50, close * 0.9, np.nan)
    insert_prices(con, "A", dates, close, adj_close=adj)
    insert_events(con, [{"event_id": "e1", "ticker": "A", "day0": dates[50], "benchmark": "BM"},
                        {"event_id": "e2", "ticker": "A", "day0": dates[40], "benchmark": None}])
    res = run_study(con, window="-1:+1", model="market-adjusted", store_results=True, **SMALL)
    got = con.execute("SELECT event_id, rel_day, ret, bench_ret FROM event_returns ORDER BY event_id, rel_day"
                      ).df()
    assert len(res.pairs) == 2 and len(got) == 6
    a = got[got.event_id == "e1"]
    # day 49 -> 50 is the switch for A: close / close; the benchmark switched at 40 (e2's day 0)
    assert a["ret"].tolist() == pytest.approx([adj[49] / adj[48] - 1, close[50] / close[49] - 1,
                                               close[51] / close[50] - 1], rel=1e-12)
    assert a["bench_ret"].tolist() == pytest.approx(list(bm_close[49:52] / bm_close[48:51] - 1), rel=1e-12)
    b = got[got.event_id == "e2"]
    assert b["ret"].tolist() == pytest.approx(list(adj[39:42] / adj[38:41] - 1), rel=1e-12)
    assert b["bench_ret"].isna().all()  # no benchmark asked for e2


def test_day0_on_a_non_trading_day_moves_to_next_row_and_is_reported(con):
    rng = np.random.default_rng(4)
    dates = _market_panel(con, rng, tickers=("A",))
    saturday = dates[50] + pd.Timedelta(days=(5 - dates[50].weekday()) % 7)
    insert_events(con, [{"event_id": "e1", "ticker": "A", "day0": saturday}])
    res = run_study(con, window="1d", **SMALL)
    row = res.pairs.iloc[0]
    assert pd.Timestamp(row["day0_used"]) == saturday + pd.Timedelta(days=2)
    assert row["day0_shift_days"] == 2
    assert any("day 0 moved" in n for n in res.notes)


def test_suspension_return_is_compared_with_compounded_benchmark(con):
    dates = business_days(60)
    bm = 100 * np.cumprod(1 + np.r_[0, np.tile([0.01, -0.005, 0.002], 20)[:59]])
    insert_prices(con, "BM", dates, bm)
    rng = np.random.default_rng(5)
    keep = np.ones(60, bool)
    keep[[48, 49]] = False  # suspended two sessions before day 0 (index 50)
    stock = _walk(rng, 60)
    insert_prices(con, "A", dates[keep], stock[keep])
    insert_events(con, [{"event_id": "e1", "ticker": "A", "day0": dates[50]}])
    res = run_study(con, window="0:1", **SMALL)
    day0 = con.execute("SELECT bench_ret, gap_sessions, ret FROM event_returns WHERE rel_day = 0").fetchone()
    assert day0[0] == pytest.approx(bm[50] / bm[47] - 1, rel=1e-12)
    assert day0[0] == pytest.approx(np.prod(1 + (bm[48:51] / bm[47:50] - 1)) - 1, rel=1e-12)
    assert day0[1] == 2
    assert day0[2] == pytest.approx(stock[50] / stock[47] - 1, rel=1e-12)
    assert res.pairs.loc[0, "gap_sessions"] == 2
    assert any("suspended" in n for n in res.notes)


def test_missing_benchmark_falls_back_and_is_reported(con):
    rng = np.random.default_rng(6)
    dates = business_days(70)
    insert_prices(con, "000001.SS", dates, _walk(rng, 70))
    insert_prices(con, "600519.SS", dates, _walk(rng, 70))
    insert_events(con, [{"event_id": "e1", "ticker": "600519.SS", "day0": dates[60], "market": "XSHG",
                         "benchmark": "000300.SS"}])
    res = run_study(con, window="1d", **SMALL)
    row = res.pairs.iloc[0]
    assert (row["benchmark"], row["benchmark_used"], row["model_used"]) == (
        "000300.SS", "000001.SS", "market")
    assert "benchmark 000300.SS has no prices: used 000001.SS for 1 pair" in res.notes


def test_null_benchmark_uses_raw_returns(con):
    rng = np.random.default_rng(8)
    dates = _market_panel(con, rng, tickers=("A",))
    insert_prices(con, "GC=F", dates, _walk(rng, len(dates)))
    insert_events(con, [{"event_id": "e1", "ticker": "A", "day0": dates[60]},
                        {"event_id": "e2", "ticker": "GC=F", "day0": dates[60], "benchmark": None,
                         "market": "CMES"}])
    res = run_study(con, window="0:1", **SMALL)
    used = dict(zip(res.pairs["ticker"], res.pairs["model_used"], strict=True))
    assert used == {"A": "market", "GC=F": "raw"}
    r = con.execute("SELECT ret, ar, expected_ret, bench_ret FROM event_returns WHERE ticker = 'GC=F'").df()
    assert (r["ar"] == r["ret"]).all() and (r["expected_ret"] == 0).all() and r["bench_ret"].isna().all()
    # SQL NULL, not NaN (NaN IS NULL is false): no benchmark, so no benchmark return and no gap count
    nulls = con.execute("SELECT count(*) FILTER (WHERE bench_ret IS NULL AND gap_sessions IS NULL), count(*) "
                        "FROM event_returns WHERE ticker = 'GC=F'").fetchone()
    assert nulls == (2, 2)
    raw_gap = con.execute("SELECT gap_sessions IS NULL FROM study_pairs WHERE ticker = 'GC=F'").fetchone()
    assert raw_gap == (True,)
    assert con.execute("SELECT gap_sessions FROM study_pairs WHERE ticker = 'A'").fetchone() == (0,)
    assert any("raw returns used" in n for n in res.notes)


def test_price_rows_that_are_not_positive_are_left_out_and_said_so(con):
    # the series skip rows whose price (adj_close, else close) is not positive; they were left out
    # without a word in the run's notes
    rng = np.random.default_rng(9)
    dates = _market_panel(con, rng, tickers=("A",))
    oil = _walk(rng, len(dates))
    oil[40] = -37.63  # kept by `prices load` for futures, with a warning
    insert_prices(con, "CL=F", dates, oil)
    insert_prices(con, "Z", dates[:3], [0.0, 0.0, -1.0])  # nothing positive: no_prices
    con.execute("UPDATE prices SET close = 0 WHERE ticker = 'BM' AND date = ?", [dates[30].date()])
    con.execute("UPDATE prices SET adj_close = -2 WHERE ticker = 'A' AND date = ?", [dates[31].date()])
    insert_prices(con, "UNUSED", dates[:2], [0.0, 1.0])  # a ticker of no pair is not counted
    insert_events(con, [{"event_id": "e1", "ticker": "A", "day0": dates[60]},
                        {"event_id": "e2", "ticker": "CL=F", "day0": dates[60], "benchmark": None,
                         "market": "CMES"},
                        {"event_id": "e3", "ticker": "Z", "day0": dates[2]}])
    res = run_study(con, window="0:1", **SMALL)
    assert len(res.pairs) == 2
    assert (f"left out 6 price rows whose price is not positive: A 1 (first {dates[31].date()}), BM 1 "
            f"(first {dates[30].date()}), CL=F 1 (first {dates[40].date()}) and 1 more ticker; returns "
            "span them like a suspension") in res.notes
    assert "dropped 1 pair: no_prices" in res.notes
    detail = res.dropped.set_index("ticker").loc["Z", "detail"]
    assert detail == "all 3 price rows of Z have a price <= 0"  # not "no price rows": it has three


# --- dedupe, overlaps, dropped ------------------------------------------------------------------------

def test_dedupe_keeps_highest_relevance_then_earliest(con):
    rng = np.random.default_rng(9)
    dates = _market_panel(con, rng, tickers=("A",))
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    insert_events(con, [
        {"event_id": "e-low", "ticker": "A", "day0": dates[60], "relevance": 40, "published": t0},
        {"event_id": "e-late", "ticker": "A", "day0": dates[60], "relevance": 90,
         "published": t0 + pd.Timedelta(hours=1)},
        {"event_id": "e-keep", "ticker": "A", "day0": dates[60], "relevance": 90, "published": t0},
    ])
    res = run_study(con, window="1d", **SMALL)
    assert res.pairs["event_id"].tolist() == ["e-keep"]
    assert sorted(res.dropped["event_id"]) == ["e-late", "e-low"]
    assert set(res.dropped["reason"]) == {"duplicate"}
    assert res.dropped["detail"].str.contains("e-keep").all()
    assert not res.pairs.loc[0, "overlapping"]

    all_kept = run_study(con, window="1d", dedupe=False, **SMALL)
    assert len(all_kept.pairs) == 3 and all_kept.pairs["overlapping"].all()


def test_dedupe_stays_within_a_group(con):
    """An earnings beat is not dropped from its type's group because a price surge of the same
    ticker and day 0 has the higher relevance; pooled (by=()), one of them counts."""
    rng = np.random.default_rng(12)
    dates = _market_panel(con, rng, tickers=("A",))
    insert_events(con, [
        {"event_id": "surge", "ticker": "A", "day0": dates[60], "type": "price_surge", "relevance": 90},
        {"event_id": "beat", "ticker": "A", "day0": dates[60], "type": "earnings_beat", "relevance": 60},
        {"event_id": "beat-again", "ticker": "A", "day0": dates[60], "type": "earnings_beat",
         "relevance": 50},
    ])
    by_type = run_study(con, window="1d", **SMALL)
    assert dict(zip(by_type.pairs["event_id"], by_type.pairs["type"], strict=True)) == {
        "surge": "price_surge", "beat": "earnings_beat"}
    assert by_type.pairs["overlapping"].all()  # the two kept windows are the same days
    assert by_type.dropped[["event_id", "reason"]].values.tolist() == [["beat-again", "duplicate"]]
    assert by_type.dropped["detail"].str.contains("beat").all()
    assert sorted(by_type.summary["type"]) == ["earnings_beat", "price_surge"]
    assert (by_type.summary["n"] == 1).all()
    # both groups measure the same days: the same CAR
    assert by_type.pairs["car"].nunique() == 1

    pooled = run_study(con, window="1d", by=(), **SMALL)
    assert pooled.pairs["event_id"].tolist() == ["surge"]
    assert sorted(pooled.dropped["event_id"]) == ["beat", "beat-again"]


def test_overlapping_windows_of_a_ticker_are_flagged(con):
    rng = np.random.default_rng(10)
    dates = _market_panel(con, rng, days=90, tickers=("A", "B"))
    insert_events(con, [{"event_id": "a1", "ticker": "A", "day0": dates[60]},
                        {"event_id": "a2", "ticker": "A", "day0": dates[64]},   # inside a1's days 0..+4
                        {"event_id": "a3", "ticker": "A", "day0": dates[80]},   # clear of a2
                        {"event_id": "b1", "ticker": "B", "day0": dates[62]}])  # other ticker
    res = run_study(con, window="5d", **SMALL)
    flags = dict(zip(res.pairs["event_id"], res.pairs["overlapping"], strict=True))
    assert flags == {"a1": True, "a2": True, "a3": False, "b1": False}


def test_every_dropped_pair_has_its_reason(con):
    rng = np.random.default_rng(11)
    dates = _market_panel(con, rng, days=80, tickers=("A",))
    late = business_days(30, start="2024-03-01")
    insert_prices(con, "NEW", late, _walk(rng, 30))           # too little history
    insert_prices(con, "HOLE", dates[:40], _walk(rng, 40))     # prices stop, resume much later
    insert_prices(con, "HOLE", business_days(20, start="2025-01-01"), _walk(rng, 20))
    insert_events(con, [
        {"event_id": "ok", "ticker": "A", "day0": dates[60]},
        {"event_id": "no-day0", "ticker": "A", "day0": None, "day0_reason": "published_utc missing"},
        {"event_id": "no-prices", "ticker": "ZZZ", "day0": dates[60]},
        {"event_id": "no-bench", "ticker": "A", "day0": dates[61], "benchmark": "^NOPE"},
        {"event_id": "too-late", "ticker": "A", "day0": dates[-1] + pd.Timedelta(days=30)},
        {"event_id": "short", "ticker": "NEW", "day0": late[15]},
        {"event_id": "edge", "ticker": "A", "day0": dates[-2]},  # window 0..+4 runs past the data
        {"event_id": "shift", "ticker": "HOLE", "day0": dates[45]},
    ])
    res = run_study(con, window="5d", **SMALL)
    reasons = dict(zip(res.dropped["event_id"], res.dropped["reason"], strict=True))
    assert reasons == {
        "no-day0": "no_day0", "no-prices": "no_prices", "no-bench": "missing_benchmark",
        "too-late": "day0_after_last_price", "short": "short_estimation",
        "edge": "incomplete_event_window", "shift": "day0_shift_too_long",
    }
    assert res.pairs["event_id"].tolist() == ["ok"]
    detail = res.dropped.set_index("event_id")["detail"]
    assert detail["no-day0"] == "published_utc missing"
    assert detail["no-prices"] == "no price rows for ZZZ"
    assert "n_est=" in detail["short"]
    assert "only 2 of 5" in detail["edge"]
    stored = con.execute("SELECT count(*), count(DISTINCT reason) FROM study_dropped WHERE run_id = ?",
                         [res.run_id]).fetchone()
    assert stored == (7, 7)


# --- storage, views, plot -------------------------------------------------------------------------------

def test_results_are_stored_with_views(con):
    rng = np.random.default_rng(12)
    dates = _market_panel(con, rng, tickers=("A", "B"))
    insert_events(con, [{"event_id": "e1", "ticker": "A", "day0": dates[60], "type": "rate_cut"},
                        {"event_id": "e2", "ticker": "B", "day0": dates[61], "type": "rate_cut"}])
    first = run_study(con, window="-1:+1", **SMALL)
    second = run_study(con, window="0:0", **SMALL)
    runs = con.execute("SELECT run_id, params->>'model', counts->>'studied' FROM study_runs "
                       "ORDER BY created_at").fetchall()
    assert [r[0] for r in runs] == [first.run_id, second.run_id]
    assert runs[0][1:] == ("market", "2")
    latest = con.execute("SELECT DISTINCT run_id, count(*) OVER () FROM event_windows WHERE latest"
                         ).fetchall()
    assert latest == [(second.run_id, 2)]
    summary = con.execute("SELECT n, caar FROM event_study_summary WHERE run_id = ?",
                          [first.run_id]).fetchone()
    assert summary[0] == 2 and summary[1] == pytest.approx(first.summary.loc[0, "caar"], rel=1e-12)
    assert con.execute("SELECT count(*) FROM duckdb_temporary_files()").fetchone()[0] == 0
    # neither run leaves a temp table or view behind: the first built the series cache (cold) and
    # read its rows through a view, the second read the cache (warm)
    assert (first.series_cache, second.series_cache) == ("cold", "warm")
    assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()[0]
    assert not con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE temporary AND NOT internal").fetchone()[0]


def test_the_summary_view_follows_the_runs_groups(con):
    # one ticker-day reported by two sources: a run grouped by source studies it in both groups;
    # the view grouped by type alone counted it twice in one row (n 2, a t from a duplicate)
    rng = np.random.default_rng(13)
    dates = _market_panel(con, rng, tickers=("A",))
    insert_events(con, [{"event_id": f"e{k}", "ticker": "A", "day0": dates[60], "type": "rate_cut",
                         "source": src} for k, src in enumerate(("花旗", "大摩"))])
    res = run_study(con, window="-1:+1", by=("source",), **SMALL)
    rows = con.execute("SELECT type, group_key, n, caar FROM event_study_summary WHERE run_id = ? "
                       "ORDER BY group_key", [res.run_id]).fetchall()
    assert [(t, g, n) for t, g, n, _ in rows] == [("rate_cut", "大摩", 1), ("rate_cut", "花旗", 1)]
    by_source = res.summary.set_index("source")["caar"]
    assert [c for *_, c in rows] == pytest.approx([by_source["大摩"], by_source["花旗"]], rel=1e-12)


def test_store_results_false_writes_nothing(con):
    rng = np.random.default_rng(13)
    dates = _market_panel(con, rng, tickers=("A",))
    insert_events(con, [{"event_id": "e1", "ticker": "A", "day0": dates[60]}])
    run_study(con, window="1d", store_results=False, **SMALL)
    assert con.execute("SELECT (SELECT count(*) FROM study_runs) + (SELECT count(*) FROM study_pairs)"
                       ).fetchone()[0] == 0


def test_group_by_several_columns(con):
    rng = np.random.default_rng(14)
    dates = _market_panel(con, rng, tickers=("A", "B"))
    insert_events(con, [
        {"event_id": "e1", "ticker": "A", "day0": dates[60], "type": "t1", "source": "大摩"},
        {"event_id": "e2", "ticker": "B", "day0": dates[60], "type": "t1", "source": None},
        {"event_id": "e3", "ticker": "B", "day0": dates[70], "type": "t2", "source": "大摩"},
    ])
    res = run_study(con, window="1d", by="type, rule", **SMALL)
    assert res.summary["group_key"].tolist() == ["t1 | R1", "t2 | R1"]
    assert res.summary["n"].tolist() == [2, 1]
    res = run_study(con, window="1d", by=("source",), **SMALL)
    assert res.summary["group_key"].tolist() == ["-", "大摩"]
    assert res.summary["source"].tolist()[1] == "大摩"


def test_plot_caar_writes_a_png(con, tmp_path):
    rng = np.random.default_rng(15)
    dates = _market_panel(con, rng, tickers=("A", "B"))
    insert_events(con, [{"event_id": "e1", "ticker": "A", "day0": dates[60]},
                        {"event_id": "e2", "ticker": "B", "day0": dates[62]}])
    res = run_study(con, window="-2:+3", **SMALL)
    out = plot_caar(res, tmp_path / "caar.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_running_sums_stay_exact_across_series_of_different_scale(con):
    """Series are summed in one running total (centred per series): a wild series before a calm
    one, and one ticker under two benchmarks (two series), must still match the reference."""
    rng = np.random.default_rng(11)
    days = 90
    dates = business_days(days)
    bm = pd.Series(_walk(rng, days), index=dates)
    bm2 = pd.Series(_walk(rng, days, vol=0.03), index=dates)
    insert_prices(con, "BM", dates, bm)
    insert_prices(con, "BM2", dates, bm2)
    wild = pd.Series(_walk(rng, days, start=1e4, vol=0.4), index=dates)
    calm = pd.Series(_walk(rng, days, start=1.0, vol=1e-4), index=dates)
    insert_prices(con, "A_WILD", dates, wild)
    insert_prices(con, "B_CALM", dates, calm)
    insert_events(con, [
        {"event_id": "w1", "ticker": "A_WILD", "day0": dates[70]},
        {"event_id": "c1", "ticker": "B_CALM", "day0": dates[50]},
        {"event_id": "c2", "ticker": "B_CALM", "day0": dates[80], "benchmark": "BM2"},
    ])
    res = run_study(con, window="-2:+3", **SMALL)
    got = res.pairs.set_index("event_id")
    assert sorted(got.index) == ["c1", "c2", "w1"]
    for eid, stock, bench, k in (("w1", wild, bm, 70), ("c1", calm, bm, 50), ("c2", calm, bm2, 80)):
        ref = reference_pair(stock, bench, dates[k], EST, (-2, 3))
        for key in ("alpha", "beta", "sigma", "car", "bhar"):
            assert got.loc[eid, key] == pytest.approx(ref[key], rel=1e-9, abs=1e-15), (eid, key)
        daily = con.execute("SELECT car FROM event_returns WHERE run_id = ? AND event_id = ? "
                            "ORDER BY rel_day", [res.run_id, eid]).df()["car"]
        np.testing.assert_allclose(daily, np.cumsum(ref["ar"]), rtol=1e-9, atol=1e-15)


def test_connection_settings_do_not_change_results_and_are_restored(con):
    """_series needs DuckDB's insertion order; a caller who turned it off gets the same study and
    gets their setting back."""
    rng = np.random.default_rng(5)
    dates = _market_panel(con, rng, tickers=("A", "B", "C"))
    insert_events(con, [{"event_id": f"e{t}{k}", "ticker": t, "day0": dates[k]}
                        for t in "ABC" for k in (40, 62)])
    before = run_study(con, window="-1:+2", store_results=False, **SMALL)
    con.execute("SET preserve_insertion_order = false")
    after = run_study(con, window="-1:+2", store_results=False, **SMALL)
    assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0] is False
    pd.testing.assert_frame_equal(before.pairs, after.pairs)
    pd.testing.assert_frame_equal(before.summary, after.summary, check_exact=False, rtol=1e-12)


def test_plot_caar_with_chinese_group_keys_does_not_flood_warnings(con, tmp_path):
    """--by source puts 高盛/大摩 in the legend: a font without CJK glyphs made matplotlib warn once per
    glyph, dozens of UserWarning lines with source paths on stderr; a CJK font is used when installed."""
    import warnings

    rng = np.random.default_rng(15)
    dates = _market_panel(con, rng, tickers=("A", "B"))
    insert_events(con, [{"event_id": "e1", "ticker": "A", "day0": dates[60]},
                        {"event_id": "e2", "ticker": "B", "day0": dates[62]}])
    res = run_study(con, window="-2:+3", **SMALL)
    res.daily["group_key"] = "高盛 | 大摩"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = plot_caar(res, tmp_path / "caar.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [w for w in caught if "missing from font" in str(w.message)]
