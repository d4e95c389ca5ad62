"""The event-window step (cells gathered by row number, in chunks of pairs) against a plain pandas
reference built from the prices table: each pair's window rows, returns, benchmark returns, gaps,
the incomplete-window drop, CAR / BHAR / SCAR, overlapping windows, the stored cells (SQL NULL where
there is no value) and the daily table, on random panels with suspensions, holes in the benchmark,
pairs without benchmark, one ticker in several series, adjusted and unadjusted closes mixed."""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from signals import store, study
from signals.errors import NothingStudiedError

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "study"))
from panel import insert_events

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _put_prices(con, ticker, dates, close, adj):
    frame = pd.DataFrame({"ticker": ticker, "date": pd.to_datetime(list(dates)).date,
                          "close": pd.array(close, dtype="Float64"),
                          "adj_close": pd.array(adj, dtype="Float64")})
    with store.registered(con, _prices_in=frame):
        con.execute("INSERT INTO prices SELECT ticker, date, NULL, NULL, NULL, close::DOUBLE, "
                    "adj_close::DOUBLE, NULL, 'test', ? FROM _prices_in", [EPOCH])


def _build(con, rng) -> None:
    days = int(rng.integers(45, 80))
    dates = pd.bdate_range("2024-01-01", periods=days)
    bm = 100 * np.cumprod(1 + rng.normal(0, 0.01, days))
    keep = rng.random(days) > rng.choice([0.0, 0.1])  # holes in the benchmark
    keep[0] = True
    _put_prices(con, "BM", dates[keep], bm[keep], [None] * int(keep.sum()))
    rows = []
    for i in range(int(rng.integers(1, 5))):
        idx = np.arange(int(rng.integers(0, 5)), days)
        idx = idx[rng.random(len(idx)) > rng.choice([0.0, 0.1])]  # suspensions
        close = 50 * np.cumprod(1 + rng.normal(0, 0.02, len(idx)))
        adj = [None if rng.random() < rng.choice([0.0, 0.3, 1.0]) else c * 0.9 for c in close]
        _put_prices(con, f"T{i}", dates[idx], close, adj)
        for k in range(int(rng.integers(1, 6))):
            day0 = dates[int(rng.integers(20, days))] + pd.Timedelta(days=int(rng.choice([0, 0, 1, 2])))
            rows.append({"event_id": f"e{i}{k}", "ticker": f"T{i}", "day0": day0,
                         "type": str(rng.choice(["a", "b"])),
                         "role": str(rng.choice(["subject", "exposure"])),
                         "expected_sign": int(rng.integers(-1, 2)),
                         # one ticker with and without a benchmark: two series of one ticker
                         "benchmark": None if rng.random() < 0.3 else "BM"})
    insert_events(con, rows)


def _series(prices: pd.DataFrame, ticker: str, bench: str | None) -> pd.DataFrame:
    """Returns of one (ticker, benchmark) series, row by row, as docs/method.md defines them."""
    def rows(t):
        p = prices[(prices["ticker"] == t) & (prices["adj_close"].fillna(prices["close"]) > 0)]
        p = p.sort_values("date").reset_index(drop=True)
        return p.assign(pa=p["adj_close"].where(p["adj_close"] > 0), pc=p["close"].where(p["close"] > 0))

    def ret(p, i, j):  # price i over price j: adjusted at both ends, else close at both ends
        r = p["pa"].iloc[i] / p["pa"].iloc[j]
        return (r if pd.notna(r) else p["pc"].iloc[i] / p["pc"].iloc[j]) - 1

    s = rows(ticker)
    s["r"] = [np.nan] + [ret(s, k, k - 1) for k in range(1, len(s))]
    s["m"], s["gap"] = np.nan, np.nan
    if bench is not None:
        b = rows(bench)
        for k in range(1, len(s)):
            today = np.flatnonzero(b["date"] == s["date"].iloc[k])
            before = np.flatnonzero(b["date"] <= s["date"].iloc[k - 1])
            if len(today) and len(before):
                s.loc[k, "m"] = ret(b, today[0], before[-1])
                s.loc[k, "gap"] = today[0] - before[-1] - 1
    s["valid"] = s["r"].notna() & (bench is None or s["m"].notna())
    return s


def _check(con, res, win) -> None:
    length = win[1] - win[0] + 1
    prices = con.execute("SELECT ticker, date::TIMESTAMP AS date, close, adj_close FROM prices").df()
    cand = con.execute("SELECT event_id, ticker FROM event_instruments").df()
    incomplete = res.dropped[res.dropped["reason"] == "incomplete_event_window"]
    cells = con.execute("""
        SELECT *, bench_ret IS NULL AS bench_null, gap_sessions IS NULL AS gap_null, sar IS NULL AS sar_null
        FROM event_returns WHERE run_id = ? ORDER BY event_id, ticker, rel_day
    """, [res.run_id]).df()
    stored = con.execute("SELECT event_id, car, bhar, scar, gap_sessions IS NULL AS gap_null "
                         "FROM study_pairs WHERE run_id = ? ORDER BY event_id", [res.run_id]).df()
    pairs = res.pairs.set_index("event_id")
    assert stored["event_id"].tolist() == sorted(pairs.index)
    # the pairs that reached the window step: studied, or dropped there
    reached = [*pairs.index, *incomplete["event_id"]]
    day0_row = {}
    for event_id in reached:
        ticker = cand.loc[cand["event_id"] == event_id, "ticker"].iloc[0]
        event = con.execute("SELECT benchmark, day0 FROM event_instruments WHERE event_id = ?",
                            [event_id]).fetchone()
        # BM always has prices (no fallback here): a model that needs it uses it when the pair has one
        bench = event[0] if res.params["model"] in ("market", "market-adjusted") else None
        s = _series(prices, ticker, bench)
        if event_id not in pairs.index:
            i0 = int(np.searchsorted(s["date"].to_numpy(), np.datetime64(event[1])))
            days = sum(bool(s["valid"].get(i0 + t, False)) for t in range(win[0], win[1] + 1))
            detail = incomplete.loc[incomplete["event_id"] == event_id, "detail"].iloc[0]
            assert days < length and detail == f"only {days} of {length} event-window returns available"
            continue
        got = pairs.loc[event_id]
        assert got["benchmark_used"] == bench or (bench is None and pd.isna(got["benchmark_used"]))
        day0_used = got["day0_used"]
        i0 = int(np.flatnonzero(s["date"] == pd.Timestamp(day0_used))[0])
        day0_row[event_id] = (ticker, i0)
        ks = [i0 + t for t in range(win[0], win[1] + 1)]
        assert all(0 <= k < len(s) and s["valid"].iloc[k] for k in ks), event_id
        w = s.iloc[ks].reset_index(drop=True)
        alpha = 0.0 if pd.isna(got["alpha"]) else got["alpha"]
        beta = 0.0 if pd.isna(got["beta"]) else got["beta"]
        beta = 1.0 if got["model_used"] == "market-adjusted" else beta
        expected = alpha + beta * w["m"].fillna(0.0)
        ar = w["r"] - expected
        c = cells[cells["event_id"] == event_id].reset_index(drop=True)
        assert c["rel_day"].tolist() == list(range(win[0], win[1] + 1))
        assert (pd.to_datetime(c["date"]) == w["date"]).all()
        np.testing.assert_allclose(c["ret"], w["r"], rtol=1e-12)
        assert c["bench_null"].tolist() == w["m"].isna().tolist() == c["gap_null"].tolist()
        np.testing.assert_allclose(c["bench_ret"].astype(float), w["m"], rtol=1e-12)
        np.testing.assert_array_equal(c["gap_sessions"].astype(float), w["gap"])
        np.testing.assert_allclose(c["ar"], ar, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(c["car"], ar.cumsum(), rtol=1e-9, atol=1e-12)
        assert not c["sar_null"].any()
        if got["model_used"] in ("raw", "market-adjusted", "mean"):
            scale = got["sigma"] * (np.sqrt(1 + 1 / got["n_est"]) if got["model_used"] == "mean" else 1.0)
            np.testing.assert_allclose(c["sar"], ar / scale, rtol=1e-9)
        assert got["car"] == pytest.approx(ar.sum(), rel=1e-9, abs=1e-12)
        assert got["car"] == c["car"].iloc[-1]
        assert got["bhar"] == pytest.approx(np.prod(1 + w["r"]) - np.prod(1 + expected), rel=1e-9, abs=1e-12)
        assert got["scar"] == pytest.approx(c["sar"].sum() / np.sqrt(length), rel=1e-9, abs=1e-12)
        if w["gap"].isna().all():
            assert pd.isna(got["gap_sessions"])
        else:
            assert got["gap_sessions"] == w["gap"].sum()
        row = stored[stored["event_id"] == event_id].iloc[0]
        assert row["gap_null"] == pd.isna(got["gap_sessions"])
        assert (row["car"], row["bhar"]) == (got["car"], got["bhar"])
    for event_id, (ticker, i0) in day0_row.items():
        near = [e for e, (t, i) in day0_row.items() if t == ticker and e != event_id and abs(i - i0) < length]
        assert bool(pairs.loc[event_id, "overlapping"]) == bool(near), event_id
    # the daily table: what pandas computes from the stored cells
    joined = cells.merge(res.pairs[["event_id", "group_key"]], on="event_id")
    ref = joined.groupby(["group_key", "rel_day"]).agg(
        n=("ar", "size"), aar=("ar", "mean"), caar=("car", "mean"), sd=("car", "std")).reset_index()
    d = res.daily
    assert d.dtypes.to_dict() == {"group_key": d["group_key"].dtype, "rel_day": np.int16, "n": np.int64,
                                  "aar": np.float64, "caar": np.float64, "caar_low": np.float64,
                                  "caar_high": np.float64}
    assert d["group_key"].tolist() == ref["group_key"].tolist() and d["n"].tolist() == ref["n"].tolist()
    assert d["rel_day"].tolist() == ref["rel_day"].tolist()
    np.testing.assert_allclose(d["aar"], ref["aar"], rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(d["caar"], ref["caar"], rtol=1e-9, atol=1e-13)
    half = stats.t.ppf(0.975, ref["n"] - 1) * ref["sd"] / np.sqrt(ref["n"])
    np.testing.assert_allclose(d["caar_high"] - d["caar"], half, rtol=1e-7, atol=1e-13)


@settings(max_examples=12)
@given(seed=st.integers(0, 2**32 - 1), window=st.sampled_from(["0:0", "-1:+2", "5d", "1:3", "-2:+9"]),
       model=st.sampled_from(study.MODELS), chunk=st.sampled_from([1, 2, 3, 32_768]),
       pick=st.sampled_from([0.0, 0.25, float("inf")]), by=st.sampled_from(["type", "role,type", ""]),
       dedupe=st.booleans())
def test_event_window_matches_a_pandas_reference(seed, window, model, chunk, pick, by, dedupe):
    win = study.parse_window(window)
    with tempfile.TemporaryDirectory() as tmp:
        con = store.connect(Path(tmp) / "w.duckdb")
        try:
            _build(con, np.random.default_rng(seed))
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(study, "_WINDOW_CHUNK_PAIRS", chunk)
                mp.setattr(study, "_PICK_MAX_SHARE", pick)
                try:
                    res = study.run_study(con, window=window, model=model, by=by, dedupe=dedupe,
                                          estimation=(-15, min(-2, win[0] - 1)), min_estimation=8)
                except NothingStudiedError as err:
                    assert err.dropped and "studied" in str(err)
                    return
            _check(con, res, win)
        finally:
            con.close()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 400)), max_size=40),
       st.integers(-300, -1), st.integers(0, 250))
def test_estimation_window_events_are_counted_per_ticker(pairs, est_end, est_len):
    """study._estimation_events against a count over every pair of pairs."""
    est = (est_end - est_len, est_end)
    tid = np.array([t for t, _ in pairs], dtype=np.int64)
    idx0 = np.array([i for _, i in pairs], dtype=np.int64)
    want = [sum(1 for k, (t2, i2) in enumerate(pairs)
                if k != j and t2 == t and i + est[0] <= i2 <= i + est[1])
            for j, (t, i) in enumerate(pairs)]
    order = study._ticker_day_order(tid, idx0, np.arange(len(pairs)))
    assert study._estimation_events(tid, idx0, order, est).tolist() == want
