"""`python -m benchmarks [--quick | --full] [--only extraction,study] [--markdown PATH]`

Each workload runs in its own process (its peak RSS is its own) and prints JSON; this driver turns
the results into the markdown tables of BENCHMARKS.md. Sizes:
  --quick   1,000 articles, 10k events                          (a minute or two)
  default   10,000 articles (~93 MB), 10k / 100k / 1M events     (~10 minutes on 2 cores)
  --full    default + extract_feeds over ~107,000 articles (~1 GB of text) with --jobs 2, streamed
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.common import machine, run_isolated, table

SIZES = {
    "quick": {"articles": 1000, "baseline": 50, "events": [10_000], "e2e": [1000]},
    "default": {"articles": 10_000, "baseline": 100, "events": [10_000, 100_000, 1_000_000], "e2e": [10_000]},
    "full": {"articles": 10_000, "baseline": 100, "events": [10_000, 100_000, 1_000_000],
             "e2e": [10_000, 107_000]},
}


def extraction_report(size: dict) -> tuple[str, dict]:
    r = run_isolated("extraction", "--articles", str(size["articles"]),
                     "--baseline-articles", str(size["baseline"]))
    sub = r["subsample"]
    prod = sub["mb"] / sub["product_seconds"]
    naive = sub["mb"] / sub["naive_seconds"]
    rows = [["product (extract + event records, 1 process)", prod,
             sub["articles"] / sub["product_seconds"], "1"],
            ["(a) naive: every rule regex + every alias str.find", naive,
             sub["articles"] / sub["naive_seconds"], f"{prod / naive:.2f}"]]
    for name, secs in sorted(sub["floors"].items(), key=lambda kv: kv[1]):
        rows.append([f"(b) floor: {name}", sub["mb"] / secs, sub["articles"] / secs,
                     f"{prod * secs / sub['mb']:.3f}"])
    out = [f"Same text for every row: the first {sub['articles']} corpus articles "
           f"({sub['mb']:.2f} MB UTF-8), "
           f"{sub['floor_patterns']:,} patterns (all triggers + all folded aliases) for the floors.", "",
           table(["implementation", "MB/s", "articles/s", "product speed / this speed"], rows), ""]
    j1, j2 = r["jobs"]["1"]["seconds"], r["jobs"]["2"]["seconds"]
    out += [f"Whole corpus: {r['articles']:,} articles, {r['mb']:.1f} MB, {r['events']:,} events. "
            f"Load rulebook + linker: {r['load_seconds']:.2f} s.", "",
            table(["step", "seconds", "MB/s", "articles/s"], [
                ["extract + event records, 1 process", r["product_seconds"], r["mb"] / r["product_seconds"],
                 r["articles"] / r["product_seconds"]],
                ["DuckDB writes (articles + events + pairs)", r["db_write_seconds"],
                 r["mb"] / r["db_write_seconds"], r["articles"] / r["db_write_seconds"]],
                ["--jobs 1 extractor", j1, r["mb"] / j1, r["articles"] / j1],
                ["--jobs 2 extractor (worker start-up included)", j2, r["mb"] / j2, r["articles"] / j2],
            ]), "", f"Speed-up from 1 to 2 cores: {j1 / j2:.2f}x. Peak RSS {r['peak_rss_mb']:,.0f} MB.", ""]
    return "\n".join(out), r


def e2e_report(counts: list[int]) -> tuple[str, list]:
    rows, raw = [], []
    for n in counts:
        for jobs in (1, 2) if n <= 10_000 else (2,):
            r = run_isolated("extraction", "--e2e", "--articles", str(n), "--jobs", str(jobs))
            raw.append(r | {"jobs": jobs})
            rows.append([r["articles"], f"{r['text_mb']:.0f}", jobs, r["seconds"],
                         r["text_mb"] / r["seconds"],
                         r["articles"] / r["seconds"], r["events"], r["peak_rss_mb"], r["peak_child_rss_mb"]])
    return table(["articles", "MB", "jobs", "seconds", "MB/s", "articles/s", "events", "peak RSS MB (parent)",
                  "peak RSS MB (largest worker)"], rows), raw


# (rank tests, store results) per size: the loop computes what run_study reports per pair without
# the rank tests and stores nothing, so (no, no) is the like-for-like row
STUDY_VARIANTS = ((False, True), (False, False), (True, True))
BASELINE_SAMPLE = 2000  # events timed in the loop: ~1-2 s, steadier than a few hundred


def study_report(events: list[int]) -> tuple[str, list]:
    """Each size in STUDY_VARIANTS; per size, run_study cold (builds the series cache) and warm
    (reads it), against the per-event loop measured once and extrapolated."""
    raw = []
    for n in events:
        for rank, stored in STUDY_VARIANTS:
            args = ["--events", str(n), "--baseline-sample", str(BASELINE_SAMPLE) if not raw else "0"]
            args += [] if rank else ["--no-rank-tests"]
            raw.append(run_isolated("study", *args, *([] if stored else ["--no-store"])))
    base = raw[0]
    rows = []
    for r in raw:
        est = base["baseline_load_seconds"] + base["baseline_per_event_seconds"] * r["events"]
        for run in r["runs"][:2]:
            rows.append([r["events"], r["pairs_studied"], "yes" if r["rank_tests"] else "no",
                         "yes" if r["store_results"] else "no", run["series_cache"], run["seconds"],
                         run["cpu_seconds"], run["peak_rss_mb"], est, f"{est / run['seconds']:.1f}"])
    note = (f"Baseline: per-event pandas/numpy loop measured on {base['baseline_sample']} events "
            f"({base['baseline_per_event_seconds'] * 1e3:.2f} ms/event) plus "
            f"{base['baseline_load_seconds']:.1f} s "
            "to load the panel once, extrapolated linearly to each size (it computes no rank tests).")
    return note + "\n\n" + table(["events", "pairs studied", "rank tests", "stores results", "series cache",
                                   "run_study s", "CPU s", "peak RSS MB", "baseline s (extrapolated)",
                                   "speed-up"],
                                  rows), raw


def prices_report(events: int) -> tuple[str, dict]:
    r = run_isolated("prices", "--events", str(events))
    rows = [[name, run["seconds"], run["price_seconds"], f"{run['price_share']:.1%}", run["source_calls"]]
            for name, run in (("first run (fills the cache)", r["first_run"]),
                              ("second run (cache hit)", r["cache_hit"]))]
    note = (f"`signals.api.backtest` twice over {r['events']:,} events on {r['tickers']:,} tickers "
            f"({r['price_rows']:,} price rows); the live source is an in-memory panel that counts calls.")
    return note + "\n\n" + table(["backtest", "seconds", "price loading s", "share", "source calls"], rows), r


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small sizes, a minute or two")
    mode.add_argument("--full", action="store_true", help="add the ~1 GB streamed extract_feeds run")
    parser.add_argument("--only", default="extraction,e2e,study,prices",
                        help="comma list: extraction,e2e,study,prices")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the report here")
    parser.add_argument("--json", type=Path, default=None, help="write the raw results here")
    args = parser.parse_args(argv)
    size = SIZES["quick" if args.quick else "full" if args.full else "default"]
    only = set(args.only.split(","))
    parts = ["## Machine", "", table(["", ""], [[k, v] for k, v in machine().items()]), ""]
    raw: dict = {}
    if "extraction" in only:
        text, raw["extraction"] = extraction_report(size)
        parts += ["## Extraction", "", text]
    if "e2e" in only:
        text, raw["e2e"] = e2e_report(size["e2e"])
        parts += ["## extract_feeds end to end (RSS files -> DuckDB)", "", text, ""]
    if "study" in only:
        text, raw["study"] = study_report(size["events"])
        title = "## Event study (2,000 tickers x 10 years, window -5..+5, estimation -250..-11)"
        parts += [title, "", text, ""]
    if "prices" in only:
        text, raw["prices"] = prices_report(size["events"][0])
        parts += ["## Prices: cache hit path", "", text, ""]
    report = "\n".join(parts)
    print(report)
    if args.markdown:
        args.markdown.write_text(report + "\n", encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(raw, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
