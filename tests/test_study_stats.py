"""Each test statistic against its formula, computed independently with numpy on a small panel."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from signals import store
from signals.study import _finish_summary, run_study, two_sided_p

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "study"))
from panel import business_days, insert_events, insert_prices, reference_pair

EST, WIN = (-15, -3), (0, 1)


@pytest.fixture
def con(tmp_path):
    c = store.connect(tmp_path / "stats.duckdb")
    yield c
    c.close()


def _panel(con, rng, n_tickers, days=60, plant=0.0, common=0.0):
    """Stocks = 1.1 x benchmark + a shared shock (cross-correlation) + noise; events on day 40+i."""
    dates = business_days(days)
    m = rng.normal(0.0005, 0.01, days)
    shock = rng.normal(0, 0.01, days)
    bm = pd.Series(100 * np.cumprod(1 + m), index=dates)
    insert_prices(con, "BM", dates, bm)
    stocks, rows = {}, []
    for i in range(n_tickers):
        day0 = 40 + i % 8
        r = 0.0002 + 1.1 * m + common * shock + rng.normal(0, 0.01, days)
        r[day0] += plant
        stocks[f"S{i}"] = pd.Series(50 * np.cumprod(1 + r), index=dates)
        insert_prices(con, f"S{i}", dates, stocks[f"S{i}"])
        rows.append({"event_id": f"e{i:02d}", "ticker": f"S{i}", "day0": dates[day0],
                     "expected_sign": 1 if i % 3 else -1})
    insert_events(con, rows)
    return bm, stocks, rows


def test_statistics_match_their_formulas(con):
    rng = np.random.default_rng(2024)
    bm, stocks, rows = _panel(con, rng, n_tickers=6, common=0.8)
    res = run_study(con, window="0:1", estimation=EST, min_estimation=10, store_results=False)
    refs = [reference_pair(stocks[r["ticker"]], bm, r["day0"], EST, WIN) for r in rows]
    got = res.summary.iloc[0]
    n, length = len(refs), WIN[1] - WIN[0] + 1
    car = np.array([x["car"] for x in refs])
    sign = np.array([r["expected_sign"] for r in rows])

    # cross-sectional t = CAAR / (sd(CAR) / sqrt(N)), df N-1
    t_cs = car.mean() / (car.std(ddof=1) / np.sqrt(n))
    assert got["caar"] == pytest.approx(car.mean(), rel=1e-9)
    assert got["median_car"] == pytest.approx(np.median(car), rel=1e-9)
    assert got["t_cs"] == pytest.approx(t_cs, rel=1e-9)
    assert got["p_t"] == pytest.approx(2 * stats.t.sf(abs(t_cs), n - 1), rel=1e-7)
    assert got["mean_signed_car"] == pytest.approx((car * sign).mean(), rel=1e-9)
    assert got["hit_rate"] == pytest.approx((np.sign(car) == sign).mean())

    # Patell: SAR = AR / (s sqrt(1 + 1/n + (Rm - mean Rm)^2 / Sxx)); SCAR = sum SAR / sqrt(L);
    # Z = sum SCAR / sqrt(sum (n-2)/(n-4))
    scar = np.array([x["sar"].sum() / np.sqrt(length) for x in refs])
    patell = scar.sum() / np.sqrt(sum(x["df"] / (x["df"] - 2) for x in refs))
    assert got["patell_z"] == pytest.approx(patell, rel=1e-9)
    assert got["p_patell"] == pytest.approx(2 * stats.norm.sf(abs(patell)), rel=1e-7)

    # BMP: mean SCAR / (sd(SCAR) / sqrt(N)), df N-1
    bmp = scar.mean() / (scar.std(ddof=1) / np.sqrt(n))
    assert got["bmp_t"] == pytest.approx(bmp, rel=1e-9)

    # Kolari-Pynnönen: pooled correlation of standardised estimation residuals on shared dates ...
    z = pd.concat([pd.DataFrame({"date": x["est_dates"], "z": x["est_ar"] / x["sigma"]}) for x in refs])
    by_date = z.groupby("date")["z"].agg(s="sum", q=lambda v: (v**2).sum(), m="count")
    cross = (by_date["s"] ** 2 - by_date["q"]).sum() / (by_date["m"] * (by_date["m"] - 1)).sum()
    rho = cross / (by_date["q"].sum() / by_date["m"].sum())
    assert rho > 0.1  # the shared shock makes the residuals correlated
    # ... times the share of the N(N-1) ordered pairs' event-window days that fall on a common date:
    # mean over all pairs of rho x (shared window days / L), the r_bar of KP's 1 + (N-1) r_bar
    window_dates = [d for r in rows for d in pd.bdate_range(r["day0"], periods=length)]
    e = pd.Series(window_dates).value_counts()
    r_bar = rho * (e * (e - 1)).sum() / (length * n * (n - 1))
    assert 0.01 < r_bar < rho  # events on 8 days 0..7 apart: windows of 2 days partly overlap
    assert got["kp_r_bar"] == pytest.approx(r_bar, rel=1e-9)
    assert got["kp_t"] == pytest.approx(bmp * np.sqrt((1 - r_bar) / (1 + (n - 1) * r_bar)), rel=1e-9)

    # Corrado-Zivney rank: U = rank / (T + 1) - 1/2 over estimation + event days of each pair,
    # Ubar_t averaged by relative day, z = sum_{t in W} Ubar_t / (sqrt(L) sqrt(mean_t Ubar_t^2))
    u = []
    for x in refs:
        ars = np.r_[x["est_ar"], x["ar"]]
        ranks = stats.rankdata(ars)
        u.append(pd.Series(ranks / (len(ars) + 1) - 0.5, index=x["est_rel"] + x["win_rel"]))
    ubar = pd.concat(u, axis=1).mean(axis=1)
    s_u = np.sqrt((ubar**2).mean())
    corrado = ubar.loc[WIN[0]:WIN[1]].sum() / (np.sqrt(length) * s_u)
    assert got["corrado_z"] == pytest.approx(corrado, rel=1e-9)

    # generalised sign (Cowan 1992): p = mean share of positive estimation ARs; Z = (w - Np)/sqrt(Np(1-p))
    p_hat = np.mean([(x["est_ar"] > 0).mean() for x in refs])
    w = (car > 0).sum()
    assert got["p_hat"] == pytest.approx(p_hat, rel=1e-12)
    assert got["gsign_z"] == pytest.approx((w - n * p_hat) / np.sqrt(n * p_hat * (1 - p_hat)), rel=1e-9)


def test_hand_worked_finish_summary():
    """Group aggregates written out by hand -> statistics by hand."""
    raw = pd.DataFrame({
        "gid": [1], "group_key": ["g"], "n": [4], "caar": [0.02], "median_car": [0.015],
        "sd_car": [0.01], "mean_bhar": [0.02], "share_positive": [0.75], "mean_signed_car": [0.02],
        "hit_rate": [0.75], "n_signed": [4], "n_overlapping": [0], "sum_scar": [6.0], "mean_scar": [1.5],
        "sd_scar": [1.0], "patell_var": [4.0], "n_positive": [3], "p_hat": [0.5], "corrado_z": [2.0],
        "r_bar": [0.1],
    })
    s = _finish_summary(raw, pd.DataFrame({"gid": [1], "type": ["t"]})).iloc[0]
    assert s["t_cs"] == pytest.approx(0.02 / (0.01 / 2))          # = 4
    assert s["patell_z"] == pytest.approx(6.0 / 2.0)              # = 3
    assert s["bmp_t"] == pytest.approx(1.5 / (1.0 / 2))           # = 3
    assert s["kp_t"] == pytest.approx(3.0 * np.sqrt(0.9 / 1.3))   # 3 sqrt((1-r)/(1+(N-1)r))
    assert s["gsign_z"] == pytest.approx((3 - 2) / 1.0)           # (w - Np)/sqrt(Np(1-p)) = 1
    assert s["p_t"] == pytest.approx(2 * stats.t.sf(4, 3))
    assert s["p_corrado"] == pytest.approx(2 * stats.norm.sf(2))
    assert s["type"] == "t"


_STAT = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-40, 40))


@given(stat=st.lists(_STAT, min_size=1, max_size=20),
       dof=st.one_of(st.none(), st.integers(1, 10**7), st.just(float("nan"))))
def test_two_sided_p_is_what_scipy_stats_gives(stat, dof):
    """two_sided_p calls scipy.special to spare the scipy.stats import: the same numbers."""
    x = np.array(stat)
    got = two_sided_p(pd.Series(x), dof)
    want = 2 * (stats.norm.sf(np.abs(x)) if dof is None else stats.t.sf(np.abs(x), dof))
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=1e-12, atol=0)


def test_daily_confidence_band_uses_the_t_quantile(con):
    rng = np.random.default_rng(21)
    _panel(con, rng, 6)
    res = run_study(con, window=WIN, estimation=EST, min_estimation=8)
    n = len(res.pairs)
    assert n == 6 and (res.daily["n"] == n).all()
    sd = con.execute("SELECT stddev_samp(car) FROM event_returns GROUP BY rel_day ORDER BY rel_day")
    half = stats.t.ppf(0.975, n - 1) * np.array([v for (v,) in sd.fetchall()]) / np.sqrt(n)
    np.testing.assert_allclose(res.daily["caar_high"] - res.daily["caar"], half, rtol=1e-9)
    np.testing.assert_allclose(res.daily["caar"] - res.daily["caar_low"], half, rtol=1e-9)


def test_negative_cross_correlation_does_not_inflate_kp():
    raw = pd.DataFrame({"gid": [1], "group_key": ["g"], "n": [3], "caar": [0.0], "median_car": [0.0],
                        "sd_car": [0.01], "mean_bhar": [0.0], "share_positive": [0.5],
                        "mean_signed_car": [0.0], "hit_rate": [0.5], "n_signed": [3], "n_overlapping": [0],
                        "sum_scar": [3.0], "mean_scar": [1.0], "sd_scar": [0.5], "patell_var": [3.3],
                        "n_positive": [2], "p_hat": [0.5], "corrado_z": [0.0], "r_bar": [-0.2]})
    s = _finish_summary(raw, pd.DataFrame({"gid": [1]})).iloc[0]
    assert s["kp_r_bar"] == 0 and s["kp_t"] == pytest.approx(s["bmp_t"])


@pytest.mark.parametrize("model", ["market", "mean"])
def test_planted_abnormal_return_is_recovered(con, model):
    rng = np.random.default_rng(99)
    _panel(con, rng, n_tickers=30, plant=0.05)
    res = run_study(con, window="0:0", model=model, estimation=(-35, -3), min_estimation=10)
    s = res.summary.iloc[0]
    assert s["n"] == 30
    assert s["caar"] == pytest.approx(0.05, abs=0.01)
    for p in ("p_t", "p_patell", "p_bmp", "p_corrado", "p_gsign"):
        assert s[p] < 0.01, p
    if model == "market":
        assert s["p_kp"] < 0.01
    else:
        # the mean model leaves the shared market factor in the residuals of clustered events:
        # Kolari-Pynnönen sees the cross-correlation and is the more cautious test. The events fall
        # on 8 days with a one-day window: only the ~1/8 of pairs on a common day are correlated
        assert 0.01 < s["kp_r_bar"] < 0.1 and s["p_kp"] > s["p_bmp"]
    day0 = res.daily.set_index("rel_day").loc[0]
    assert day0["aar"] == pytest.approx(0.05, abs=0.01) and day0["caar_low"] > 0


def test_no_planted_return_is_not_significant(con):
    rng = np.random.default_rng(7)
    _panel(con, rng, n_tickers=30)
    s = run_study(con, window="-1:+1", estimation=EST, min_estimation=10).summary.iloc[0]
    assert abs(s["caar"]) < 0.005
    for p in ("p_t", "p_patell", "p_bmp", "p_kp", "p_corrado", "p_gsign"):
        assert s[p] > 0.05, p


def test_rank_statistics_in_chunks_equal_one_pass(con, monkeypatch):
    """The rank / sign / KP step sums partial results over chunks of pairs: one pair per chunk
    must give the statistics of a single pass over all pairs (groups spread over the chunks)."""
    import signals.study as study

    rng = np.random.default_rng(77)
    _panel(con, rng, n_tickers=9, common=0.5, plant=0.01)
    con.execute("UPDATE events SET type = CASE WHEN id IN ('e01', 'e04', 'e07') THEN 'b' ELSE 'a' END")
    kwargs = {"window": "0:1", "estimation": EST, "min_estimation": 10, "store_results": False}
    whole = run_study(con, **kwargs).summary
    monkeypatch.setattr(study, "_RANK_CHUNK_ROWS", 1)  # one pair per chunk
    chunked = run_study(con, **kwargs).summary
    assert whole["n"].tolist() == [6, 3]
    for col in ("corrado_z", "p_hat", "gsign_z", "kp_r_bar", "kp_t"):
        assert whole[col].notna().all(), col
        np.testing.assert_allclose(chunked[col], whole[col], rtol=1e-12, err_msg=col)
    assert whole["kp_r_bar"].gt(0).any()  # the common shock is seen across pairs of one group


def test_event_window_in_chunks_equals_one_pass(con, monkeypatch):
    """The event-window step works over chunks of pairs and folds each chunk's daily counts, AR
    sums and CAR moments into running totals: two pairs per chunk must give the pairs, daily table
    and stored cells of a single pass, and the daily table must be what SQL computes from the
    stored cells (groups spread over the chunks)."""
    import signals.study as study

    rng = np.random.default_rng(78)
    _panel(con, rng, n_tickers=9, common=0.5, plant=0.01)
    con.execute("UPDATE events SET type = CASE WHEN id IN ('e01', 'e04', 'e07') THEN 'b' ELSE 'a' END")
    kwargs = {"window": "-1:2", "estimation": EST, "min_estimation": 10}
    whole = run_study(con, **kwargs)
    monkeypatch.setattr(study, "_WINDOW_CHUNK_PAIRS", 2)
    chunked = run_study(con, **kwargs)
    assert whole.daily["n"].tolist() == [6] * 4 + [3] * 4
    pd.testing.assert_frame_equal(chunked.pairs, whole.pairs, rtol=1e-12)
    pd.testing.assert_frame_equal(chunked.daily, whole.daily, rtol=1e-12)
    cells = ("SELECT event_id, rel_day, ret, bench_ret, ar, car, sar FROM event_returns WHERE run_id = ? "
             "ORDER BY 1, 2")
    pd.testing.assert_frame_equal(con.execute(cells, [chunked.run_id]).df(),
                                  con.execute(cells, [whole.run_id]).df())
    sql = con.execute("""
        SELECT p.group_key, r.rel_day, count(*) AS n, avg(r.ar) AS aar, avg(r.car) AS caar,
               stddev_samp(r.car) AS sd
        FROM event_returns r JOIN study_pairs p USING (run_id, event_id, ticker)
        WHERE run_id = ? GROUP BY ALL ORDER BY 1, 2
    """, [chunked.run_id]).df()
    got = chunked.daily
    assert got["group_key"].tolist() == sql["group_key"].tolist()
    assert got["rel_day"].tolist() == sql["rel_day"].tolist() and got["n"].tolist() == sql["n"].tolist()
    for col in ("aar", "caar"):
        np.testing.assert_allclose(got[col], sql[col], rtol=1e-12, err_msg=col)
    half = stats.t.ppf(0.975, sql["n"] - 1) * sql["sd"] / np.sqrt(sql["n"])
    np.testing.assert_allclose(got["caar_high"] - got["caar"], half, rtol=1e-9)


def test_event_window_chunks_are_bounded_in_cells_not_pairs(con, monkeypatch):
    """A chunk of the event-window step holds (pairs x window days) cells in a dozen numpy arrays,
    one chunk per thread at a time: its size must be bounded in cells, so a long window (0:+249,
    a year of drift) does not make every thread hold 32,768 x 250 cells per array (~1 GB). A
    window longer than the budget still gets one pair per chunk, and the results do not change."""
    import signals.study as study

    rng = np.random.default_rng(79)
    _panel(con, rng, n_tickers=9, plant=0.01)
    sizes = []
    chunk = study._window_chunk

    def spy(p, rows, rels, with_cells):
        sizes.append((len(p["pid"]), len(rels)))
        return chunk(p, rows, rels, with_cells)

    for window, pairs_per_chunk in (("0:9", 2), ("0:12", 1)):
        kwargs = {"window": window, "estimation": EST, "min_estimation": 10}
        monkeypatch.setattr(study, "_window_chunk", chunk)
        whole = run_study(con, **kwargs)
        monkeypatch.setattr(study, "_window_chunk", spy)
        monkeypatch.setattr(study, "_WINDOW_CHUNK_CELLS", 20, raising=False)
        sizes.clear()
        chunked = run_study(con, **kwargs)
        monkeypatch.undo()
        assert len(chunked.pairs) == 9
        assert max(n for n, _ in sizes) == pairs_per_chunk, (window, sizes)
        assert sum(n for n, _ in sizes) == 9
        pd.testing.assert_frame_equal(chunked.pairs, whole.pairs, rtol=1e-12)
        pd.testing.assert_frame_equal(chunked.daily, whole.daily, rtol=1e-12)
        cells = ("SELECT event_id, rel_day, date, ret, bench_ret, ar, car, sar, gap_sessions "
                 "FROM event_returns WHERE run_id = ? ORDER BY 1, 2")
        pd.testing.assert_frame_equal(con.execute(cells, [chunked.run_id]).df(),
                                      con.execute(cells, [whole.run_id]).df())
    # the default budget: what 32,768 pairs of an 11-day window hold, whatever the window
    assert study._WINDOW_CHUNK_CELLS <= 32_768 * 11


def test_average_ranks_match_scipy_with_ties_and_invalid_cells():
    """Corrado ranks per pair: ties share their mean rank; invalid cells (+inf) never shift them."""
    from signals.study import _average_ranks

    rng = np.random.default_rng(3)
    key = np.round(rng.normal(0, 1, (50, 40)), 1)  # many ties
    key[:, 5] = key[:, 6]
    key[rng.random(key.shape) < 0.1] = np.inf
    key[0] = np.arange(40.0)  # a row without ties
    got = _average_ranks(key)
    finite = np.isfinite(key)
    for row in range(len(key)):
        want = stats.rankdata(key[row][finite[row]])
        np.testing.assert_array_equal(got[row][finite[row]], want)
    assert got[0].tolist() == [float(k) for k in range(1, 41)]


def test_kp_r_bar_is_a_mean_over_all_pairs_not_over_the_few_that_share_dates(con):
    """Ten events a year or more apart and one more event of the first ticker 20 sessions after its
    first: only that pair shares estimation dates (identical residuals), and no two event windows
    meet, so the CARs are uncorrelated and KP's 1 + (N-1) r_bar is 1. r_bar taken from that one
    pair alone (~0.98) and multiplied by N-1 = 10 took a t of 5.4 to 0.2 (p 0.84)."""
    rng = np.random.default_rng(5)
    days = 12 * 260
    dates = business_days(days, start="2010-01-01")
    m = rng.normal(0.0003, 0.01, days)
    insert_prices(con, "BM", dates, 100 * np.cumprod(1 + m))
    rows = []
    for i in range(10):
        r = m + rng.normal(0, 0.015, days)
        k0 = 300 + i * 280
        r[k0:k0 + 5] += 0.01
        insert_prices(con, f"S{i}", dates, 50 * np.cumprod(1 + r))
        rows.append({"event_id": f"e{i}", "ticker": f"S{i}", "day0": dates[k0]})
    insert_events(con, rows)
    before = run_study(con, window="5d", store_results=False).summary.iloc[0]
    insert_events(con, [{"event_id": "e0b", "ticker": "S0", "day0": dates[320]}])
    s = run_study(con, window="5d", store_results=False).summary.iloc[0]
    assert (before["n"], s["n"]) == (10, 11)
    assert before["kp_r_bar"] == 0 and s["kp_r_bar"] == 0
    assert s["kp_t"] == pytest.approx(s["bmp_t"], rel=1e-12) and s["p_kp"] < 0.001
    # the same pair with overlapping windows (2 sessions apart: 3 of 5 days shared) does count
    con.execute("UPDATE event_instruments SET day0 = ? WHERE event_id = 'e0b'", [dates[302].date()])
    s = run_study(con, window="5d", store_results=False).summary.iloc[0]
    assert s["kp_r_bar"] == pytest.approx(2 * 3 / (5 * 11 * 10), rel=0.05)  # rho ~ 1 for one pair
