"""Event study at scale: run_study over 10k / 100k / 1M events on a 2,000-ticker x 10-year panel,
against a per-event pandas/numpy loop (run on a subsample and extrapolated linearly).

The database is built with DuckDB SQL and numpy directly (events, event_instruments with day 0,
prices), not through feeds. Run alone: ``python -m benchmarks.study --events 10000`` prints JSON;
``--no-rank-tests`` times run_study(rank_tests=False) (Corrado, generalised sign and KP skipped),
``--no-store`` run_study(store_results=False) (the loop stores nothing either).
run_study runs ``--runs`` times (default 2) over the same database: the first run is **cold**
(it builds the series cache from the prices: returns and running sums per ticker, saved in
study_series*), later runs are **warm** (they read it; only per-event work remains). Each run has
its ``seconds``, ``cpu_seconds`` (process CPU time, less disturbed by other load) and
``peak_rss_mb`` (peak RSS during that run alone: VmHWM reset before it); ``peak_rss_mb`` at the
top level is the whole process. The baseline runs on ``--baseline-sample`` events after the
study, with the panel loaded into pandas once, and is extrapolated linearly to ``--events``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import peak_rss_mb, timed
from signals import store

TICKERS = 2000
YEARS = 10
BENCH = "BENCH"
ESTIMATION = (-250, -11)
WINDOW = (-5, 5)


def build_panel(con, n_tickers: int = TICKERS, years: int = YEARS, seed: int = 7) -> pd.DatetimeIndex:
    """Daily prices of ``n_tickers`` market-model stocks and their benchmark on weekdays."""
    dates = pd.bdate_range("2016-01-04", periods=252 * years)
    rng = np.random.default_rng(seed)
    m = rng.normal(0.0003, 0.01, len(dates))
    beta = rng.uniform(0.5, 1.5, n_tickers)
    r = beta[:, None] * m[None, :] + rng.normal(0, 0.02, (n_tickers, len(dates)))
    prices = 100 * np.exp(np.cumsum(np.log1p(np.vstack([m, r])), axis=1))
    tickers = [BENCH] + [f"T{i:04d}" for i in range(n_tickers)]
    frame = pd.DataFrame({"ticker": np.repeat(tickers, len(dates)),
                          "date": np.tile(dates.values.astype("datetime64[D]"), len(tickers)),
                          "close": prices.ravel()})
    con.register("_panel", frame)
    con.execute("INSERT INTO prices SELECT ticker, date, NULL, NULL, NULL, close, close, NULL, 'bench', "
                "now() FROM _panel")
    con.unregister("_panel")
    return dates


def build_events(con, n_events: int, dates: pd.DatetimeIndex, n_tickers: int = TICKERS) -> None:
    """``n_events`` events, one subject pair each, day 0 on a trading day with a full estimation window."""
    first, span = 260, len(dates) - 260 - 10
    day = dates.values.astype("datetime64[D]")
    con.register("_dates", pd.DataFrame({"i": np.arange(len(dates)), "d": day}))
    con.execute(f"""
        CREATE TEMP TABLE _ev AS
        SELECT i, 'E' || lpad(i::VARCHAR, 8, '0') AS id,
               'T' || lpad((hash(i) % {n_tickers})::VARCHAR, 4, '0') AS ticker,
               {first} + hash(i * 7 + 1) % {span} AS di,
               CASE WHEN hash(i * 3) % 2 = 0 THEN 1 ELSE -1 END AS direction
        FROM range({n_events}) t(i)
    """)
    con.execute("""
        INSERT INTO events (id, article_id, rule_id, rule_version, rulebook_hash, type, topic, subject,
                            ticker, entity_kind, direction, modality, evidence, span_start, span_end,
                            in_title, confidence, relevance, event_key, extracted_at)
        SELECT id, 'A' || i, 'bench.rule', 1, 'bench',
               CASE WHEN direction > 0 THEN 'buyback' ELSE 'layoffs' END,
               'corporate', ticker, ticker, 'equity', direction, 'fact', '', 0, 1, false, 0.9, 80,
               'k' || i, now()
        FROM _ev
    """)
    con.execute("""
        INSERT INTO event_instruments
        SELECT e.id, e.ticker, 'subject', e.direction, 'XNYS', 'BENCH', d.d, 'in_session'
        FROM _ev e JOIN _dates d ON d.i = e.di
    """)
    con.unregister("_dates")


# --- baseline: one event at a time with pandas/numpy --------------------------------------------------

def baseline(con, n_sample: int) -> tuple[float, float, int]:
    """(seconds to load the panel into pandas, seconds per event, events done) for a per-event loop:
    slice the ticker's returns, OLS on the estimation window, then what run_study reports per pair
    without rank tests: AR, CAR, BHAR and the Patell SCAR (per-day forecast-error variance)."""
    with timed() as t_load:
        px = con.execute("SELECT ticker, date, close FROM prices").df()
        wide = px.pivot(index="date", columns="ticker", values="close").sort_index()
        rets = wide.pct_change()
    pairs = con.execute(f"SELECT ticker, day0 FROM event_instruments ORDER BY event_id LIMIT {n_sample}").df()
    cars = []
    with timed() as t_loop:
        for ticker, day0 in pairs.itertuples(index=False):
            r = rets[ticker]
            m = rets[BENCH]
            i0 = r.index.get_loc(pd.Timestamp(day0))
            est = slice(i0 + ESTIMATION[0], i0 + ESTIMATION[1] + 1)
            x, y = m.iloc[est].to_numpy(), r.iloc[est].to_numpy()
            beta, alpha = np.polyfit(x, y, 1)
            sigma = np.std(y - (alpha + beta * x), ddof=2)
            win = slice(i0 + WINDOW[0], i0 + WINDOW[1] + 1)
            rw, mw = r.iloc[win].to_numpy(), m.iloc[win].to_numpy()
            expected = alpha + beta * mw
            ar = rw - expected
            fe = sigma**2 * (1 + 1 / len(x) + (mw - x.mean()) ** 2 / ((x - x.mean()) @ (x - x.mean())))
            bhar = np.prod(1 + rw) - np.prod(1 + expected)
            cars.append((ar.sum(), bhar, (ar / np.sqrt(fe)).sum() / np.sqrt(len(ar))))
    return t_load.seconds, t_loop.seconds / max(1, len(pairs)), len(pairs)


def _reset_peak_rss() -> bool:
    """Linux: writing 5 to clear_refs resets VmHWM, so the next reading covers what follows."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _vm_hwm_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def measure(n_events: int, baseline_sample: int, rank_tests: bool = True, store_results: bool = True,
            memory_limit: str | None = None, runs: int = 2) -> dict:
    from signals.study import run_study

    with tempfile.TemporaryDirectory() as tmp, store.opened(Path(tmp) / "study.duckdb") as con:
        with timed() as t_build:
            dates = build_panel(con)
            build_events(con, n_events, dates)
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
        study_runs = []
        for _ in range(runs):
            reset = _reset_peak_rss()
            cpu = time.process_time()
            with timed() as t_study:
                result = run_study(con, window=WINDOW, estimation=ESTIMATION, rank_tests=rank_tests,
                                   store_results=store_results)
            # getattr: the same harness times older library versions (no cache) for before/after
            study_runs.append({"series_cache": getattr(result, "series_cache", "n/a"),
                               "seconds": round(t_study.seconds, 2),
                               "cpu_seconds": round(time.process_time() - cpu, 2),
                               "peak_rss_mb": _vm_hwm_mb() if reset else None})
        out = {"events": n_events, "rank_tests": rank_tests, "store_results": store_results,
               "build_seconds": t_build.seconds, "runs": study_runs,
               "pairs_studied": len(result.pairs), "dropped": len(result.dropped),
               "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
               "memory_limit": con.execute("SELECT current_setting('memory_limit')").fetchone()[0]}
        if baseline_sample:
            load, per_event, done = baseline(con, baseline_sample)
            extrapolated = load + per_event * n_events
            out.update(baseline_load_seconds=load, baseline_per_event_seconds=per_event,
                       baseline_sample=done, baseline_extrapolated_seconds=extrapolated,
                       speedup=[round(extrapolated / r["seconds"], 2) for r in study_runs])
    return out | peak_rss_mb()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--baseline-sample", type=int, default=0,
                        help="events for the per-event loop (0: no baseline)")
    parser.add_argument("--no-rank-tests", dest="rank_tests", action="store_false",
                        help="run_study(rank_tests=False): skip Corrado, generalised sign and KP")
    parser.add_argument("--no-store", dest="store_results", action="store_false",
                        help="run_study(store_results=False): nothing written to event_returns etc.")
    parser.add_argument("--runs", type=int, default=2,
                        help="run_study this many times on one database: the first cold, the rest warm")
    parser.add_argument("--memory-limit", help="DuckDB memory_limit for run_study, e.g. 8GB (default: "
                        "DuckDB's, 80%% of RAM); beyond it DuckDB spills to disk")
    args = parser.parse_args()
    print(json.dumps(measure(args.events, args.baseline_sample, args.rank_tests, args.store_results,
                             args.memory_limit, args.runs)))


if __name__ == "__main__":
    main()
