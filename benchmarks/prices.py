"""Price cache hit path: a second ``backtest`` over the same events must make no network call and
spend under 5 % of its time on price loading (issue 7).

The live source (yfinance) is replaced by an in-memory source serving the same 2,000-ticker x 10-year
panel as the event-study benchmark and counting its calls; everything else is the real
``signals.api.backtest``: cache look-up, price storage, day 0, the study. Run 1 fills the cache, run 2
is the measured cache hit. ``python -m benchmarks.prices --events 10000`` prints JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import study as panel
from benchmarks.common import peak_rss_mb
from signals import api, prices, store


class PanelSource:
    """A PriceSource over an in-memory long frame; counts calls like a network client would."""

    name = "bench-panel"

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.calls = 0

    def fetch(self, tickers, start: dt.date, end: dt.date) -> prices.FetchResult:
        self.calls += 1
        f = self.frame
        rows = f[f["ticker"].isin(list(tickers)) & f["date"].between(pd.Timestamp(start), pd.Timestamp(end))]
        return prices.FetchResult(rows.reset_index(drop=True), {})


def panel_frame(con) -> pd.DataFrame:
    """The panel as the source's long frame (built in SQL by the study benchmark, then moved out)."""
    frame = con.execute(
        "SELECT ticker, date::TIMESTAMP AS date, open, high, low, close, adj_close, volume FROM prices"
    ).df()
    con.execute("DELETE FROM prices")
    return frame


def add_articles(con) -> None:
    """One article per event, published at 14:00 UTC on its day 0 (backtest reads the date span)."""
    con.execute("""
        INSERT INTO articles
        SELECT e.article_id, 'bench', NULL, NULL, 't', 'b', (p.day0 + INTERVAL 14 HOUR)::TIMESTAMPTZ, 0,
               now(), 'h', 'bench'
        FROM events e JOIN event_instruments p ON p.event_id = e.id
    """)


def measure(n_events: int, n_tickers: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        with store.opened(db) as con:
            dates = panel.build_panel(con, n_tickers=n_tickers)
            source = PanelSource(panel_frame(con))
            panel.build_events(con, n_events, dates, n_tickers=n_tickers)
            add_articles(con)
        original_source, original_fetch = prices.YFinanceSource, api._fetch_prices
        fetch_seconds: list[float] = []

        def timed_fetch(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original_fetch(*args, **kwargs)
            finally:
                fetch_seconds.append(time.perf_counter() - start)

        prices.YFinanceSource = lambda: source  # the "network"
        api._fetch_prices = timed_fetch  # what backtest calls to fill the cache
        try:
            runs = []
            for _ in range(2):
                calls_before = source.calls
                start = time.perf_counter()
                api.backtest(db=db, window="-5:+5", rank_tests=False)
                total = time.perf_counter() - start
                runs.append({"seconds": total, "price_seconds": fetch_seconds[-1],
                             "price_share": fetch_seconds[-1] / total,
                             "source_calls": source.calls - calls_before})
        finally:
            prices.YFinanceSource, api._fetch_prices = original_source, original_fetch
    return {"events": n_events, "tickers": n_tickers, "price_rows": len(source.frame),
            "first_run": runs[0], "cache_hit": runs[1], **peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--tickers", type=int, default=panel.TICKERS)
    args = parser.parse_args()
    np.seterr(all="ignore")
    print(json.dumps(measure(args.events, args.tickers)))


if __name__ == "__main__":
    main()
