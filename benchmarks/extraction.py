"""Extraction throughput: the product against (a) the straightforward implementation and (b) the
floor, a single multi-pattern pass over the same text doing nothing else; --jobs scaling; database
writes apart; and an end-to-end `extract_feeds` run over RSS files (streaming, peak RSS).

Run alone: ``python -m benchmarks.extraction --articles 2000`` prints one JSON object.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import tempfile
from pathlib import Path

import regex

from benchmarks import corpus
from benchmarks.common import best_of, peak_rss_mb, timed
from signals import api, parallel, store
from signals.entities import _FOLD_LOWER, Linker
from signals.extract import extract_article
from signals.rules import Rulebook

BATCH = api.BATCH_ARTICLES


def _texts(arts: list) -> list[str]:
    return [f"{a.title}\n\n{a.body}" if a.title else a.body for a in arts]


# --- the product ------------------------------------------------------------------------------------

def product(arts: list, rulebook: Rulebook, linker: Linker) -> tuple[float, list[list]]:
    """Seconds to extract events and build the store-ready event records, one process; the events."""
    batches: list[list] = []
    now = dt.datetime.now(dt.UTC)
    with timed() as t:
        for i in range(0, len(arts), BATCH):
            events = [e for a in arts[i:i + BATCH] for e in extract_article(a, rulebook, linker)]
            api.event_frames(events, linker, rulebook_hash=rulebook.version_hash, extracted_at=now)
            batches.append(events)
    return t.seconds, batches


def with_jobs(arts: list, rulebook: Rulebook, linker: Linker, jobs: int) -> tuple[float, int]:
    """Seconds for the --jobs extractor over ``arts`` (worker start-up included) and the event count."""
    extractor = parallel.BatchExtractor(rulebook, linker, jobs=jobs, rules_dir=None)
    try:
        with timed() as t:
            jobs_out = [extractor.submit(arts[i:i + BATCH]) for i in range(0, len(arts), BATCH)]
            n = sum(len(job()) for job in jobs_out)
    finally:
        extractor.close()
    return t.seconds, n


def db_writes(arts: list, batches: list[list], linker: Linker, rulebook: Rulebook) -> float:
    """Seconds to upsert the articles and insert their events into a fresh DuckDB file."""
    now = dt.datetime.now(dt.UTC)
    with (tempfile.TemporaryDirectory() as tmp, store.opened(Path(tmp) / "bench.duckdb") as con,
          store.transaction(con), timed() as t):
        for k, i in enumerate(range(0, len(arts), BATCH)):
            store.upsert_articles(con, api.articles_frame(arts[i:i + BATCH], now))
            events_df, pairs_df = api.event_frames(batches[k], linker, rulebook_hash=rulebook.version_hash,
                                                   extracted_at=now)
            store.insert_events(con, events_df, pairs_df)
    return t.seconds


# --- baseline (a): every rule's regex over every article, every alias with str.find -----------------

def naive(texts: list[str], rulebook: Rulebook, linker: Linker) -> tuple[float, int]:
    """Matching only (no subject, number or record work): a lower bound on the naive extractor's cost."""
    rule_res = [list(r.patterns) or [regex.compile("|".join(regex.escape(t) for t in r.triggers))]
                for r in rulebook.rules]
    aliases = list(linker._patterns)  # folded, lower-cased alias strings
    hits = 0
    with timed() as t:
        for text in texts:
            for patterns in rule_res:
                for p in patterns:
                    hits += sum(1 for _ in p.finditer(text))
            folded = text.translate(_FOLD_LOWER)
            for alias in aliases:
                i = folded.find(alias)
                while i >= 0:
                    hits += 1
                    i = folded.find(alias, i + 1)
    return t.seconds, hits


# --- floor (b): one multi-pattern pass, nothing else ----------------------------------------------

def floor_patterns(rulebook: Rulebook, linker: Linker) -> list[str]:
    return list(dict.fromkeys([t for r in rulebook.rules for t in r.triggers] + list(linker._patterns)))


def floors(texts: list[str], patterns: list[str], repeat: int) -> dict[str, float]:
    """Seconds per matcher for one pass over ``texts`` (best of ``repeat``); automaton builds excluded."""
    import ahocorasick
    import ahocorasick_rs
    import hyperscan

    out: dict[str, float] = {}
    rs = ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MATCHKIND_LEFTMOST_LONGEST)
    out["ahocorasick_rs (leftmost-longest)"] = best_of(
        lambda: [rs.find_matches_as_indexes(t) for t in texts], repeat)
    rs_std = ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.Standard)
    out["ahocorasick_rs (standard, overlapping)"] = best_of(
        lambda: [rs_std.find_matches_as_indexes(t, overlapping=True) for t in texts], repeat)
    py = ahocorasick.Automaton()
    for i, p in enumerate(patterns):
        py.add_word(p, i)
    py.make_automaton()
    out["pyahocorasick (overlapping)"] = best_of(
        lambda: [collections.deque(py.iter(t), maxlen=0) for t in texts], repeat)
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    encoded = [p.encode() for p in patterns]
    db.compile(expressions=encoded, ids=list(range(len(encoded))), elements=len(encoded),
               literal=True)
    scratch = hyperscan.Scratch(db)
    db.scratch = scratch

    def scan_all() -> None:
        for t in texts:
            db.scan(t.encode(), match_event_handler=None)
    out["hyperscan (literal, UTF-8 encode included)"] = best_of(scan_all, repeat)
    return out


# --- CPU time of the extraction parts, for A/B runs on a loaded machine --------------------------

def cpu_rates(n: int, repeat: int) -> dict:
    """MB/s by CPU time (``time.process_time``, best of ``repeat``) of ``extract_article``,
    ``Linker.find`` and ``find_magnitudes`` over the first ``n`` articles: CPU time is what other
    processes on the machine disturb least, so two trees can be compared in alternating runs."""
    import time

    from signals.numbers import find_magnitudes

    rulebook, linker = Rulebook.load(), Linker.from_data()
    arts = list(corpus.articles(n))
    texts = _texts(arts)
    mb = sum(corpus.text_bytes(a) for a in arts) / 1e6
    events = sum(len(extract_article(a, rulebook, linker)) for a in arts)  # also warms lazy records

    def best(work) -> float:
        return best_of(work, repeat, clock=time.process_time)

    seconds = {
        "extract_article": best(lambda: [extract_article(a, rulebook, linker) for a in arts]),
        "Linker.find": best(lambda: [linker.find(t) for t in texts]),
        "find_magnitudes": best(lambda: [find_magnitudes(t) for t in texts]),
    }
    return {"articles": n, "mb": mb, "events": events, "cpu_seconds": seconds,
            "mb_per_cpu_second": {k: mb / v for k, v in seconds.items()}}


# --- end to end: extract_feeds over RSS files -----------------------------------------------------

def end_to_end(n: int, jobs: int, feed_dir: Path | None = None) -> dict:
    """``extract_feeds`` (feed parsing, extraction, DuckDB writes, day 0) over ``n`` articles in RSS
    files of 1,000 items, streamed."""
    with tempfile.TemporaryDirectory() as tmp:
        feeds = feed_dir or Path(tmp) / "feeds"
        text_bytes = corpus.write_feeds(feeds, n) if feed_dir is None else None
        with timed() as t:
            # the events are read back and dropped chunk by chunk, as `signals extract -o` writes them
            result = api.extract_feeds([str(feeds)], db=Path(tmp) / "e2e.duckdb", jobs=jobs,
                                       on_events=lambda chunk: None)
        return {"articles": result.articles_read, "events": result.event_count, "seconds": t.seconds,
                "text_mb": (text_bytes or 0) / 1e6, **peak_rss_mb()}


def measure(n: int, baseline_n: int, repeat: int) -> dict:
    with timed() as t_load:
        rulebook, linker = Rulebook.load(), Linker.from_data()
    arts = list(corpus.articles(n))
    mb = sum(corpus.text_bytes(a) for a in arts) / 1e6
    sub = arts[:baseline_n]
    sub_texts = _texts(sub)
    sub_mb = sum(corpus.text_bytes(a) for a in sub) / 1e6
    product(sub, rulebook, linker)  # warm caches (lazy instrument records) before timing
    secs, batches = product(arts, rulebook, linker)
    sub_secs = min(product(sub, rulebook, linker)[0] for _ in range(repeat))
    naive_secs, naive_hits = naive(sub_texts, rulebook, linker)
    floor_secs = floors(sub_texts, floor_patterns(rulebook, linker), repeat)
    writes = db_writes(arts, batches, linker, rulebook)
    jobs = {j: with_jobs(arts, rulebook, linker, j) for j in (1, 2)}
    return {
        "articles": n, "mb": mb, "events": sum(len(b) for b in batches), "load_seconds": t_load.seconds,
        "product_seconds": secs, "db_write_seconds": writes,
        "subsample": {"articles": baseline_n, "mb": sub_mb, "product_seconds": sub_secs,
                      "naive_seconds": naive_secs, "naive_hits": naive_hits, "floors": floor_secs,
                      "floor_patterns": len(floor_patterns(rulebook, linker))},
        "jobs": {str(j): {"seconds": s, "events": e} for j, (s, e) in jobs.items()},
        "cores": os.cpu_count(), **peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--baseline-articles", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--e2e", action="store_true", help="extract_feeds over RSS files instead")
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--cpu", action="store_true",
                        help="CPU-time MB/s of extract_article, Linker.find, find_magnitudes only")
    args = parser.parse_args()
    if args.cpu:
        out = cpu_rates(args.articles, max(args.repeat, 5))
    elif args.e2e:
        out = end_to_end(args.articles, args.jobs or os.cpu_count() or 1)
    else:
        out = measure(args.articles, args.baseline_articles, args.repeat)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
