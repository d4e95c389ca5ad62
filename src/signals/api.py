"""The plain-function API: one function per user task. The CLI is a thin layer over these.

Every function takes plain values, opens the database for the duration of the call only (DuckDB
locks the file while it is open) and returns data (dataclasses holding DataFrames) — nothing here
prints. Heavy imports (yfinance, calendars, matplotlib) happen inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from signals import parallel, store
from signals.errors import (
    Interrupted,
    NothingStudiedError,
    PriceError,
    SignalsError,
    StoreError,
    is_interrupt,
)
from signals.parallel import BatchExtractor

BATCH_ARTICLES = 2000  # articles per extraction batch: bounded memory on very large feeds

Progress = Callable[[int], None]  # called with the number of items just finished
Warn = Callable[[str], None]


# --- extract ------------------------------------------------------------------------------------


EventSink = Callable[[pd.DataFrame], None]  # called with each chunk of events, in display order
EVENT_CHUNK_VECTORS = 5  # stored events are read back in chunks of 5 DuckDB vectors (10,240 rows)


@dataclass
class ExtractResult:
    articles_read: int = 0
    articles_new: int = 0
    articles_updated: int = 0
    articles_unchanged: int = 0
    articles_reextracted: int = 0  # stored articles whose events were replaced (extract_stored)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    event_count: int = 0  # events of new or edited articles (found, in a dry run)
    articles_committed: int = 0  # articles read in batches already committed (with their events)
    # stored events (and their articles) made by other rules or another extractor: left as they were
    events_made_otherwise: int = 0
    articles_made_otherwise: int = 0
    # the chunks, kept only when extract_feeds had no ``on_events`` sink: a convenience for small inputs
    kept_chunks: list[pd.DataFrame] | None = field(default=None, repr=False)

    @property
    def events(self) -> pd.DataFrame:
        """Every event as one frame, ready to print. Only without ``on_events``: a streamed run keeps
        none of them, so that memory does not grow with the input."""
        if self.kept_chunks is None:
            raise ValueError("the events were streamed to on_events, not kept; count: event_count")
        if len(self.kept_chunks) == 1:
            return self.kept_chunks[0]
        return pd.concat(self.kept_chunks, ignore_index=True) if self.kept_chunks else pd.DataFrame()

    def emit(self, chunk: pd.DataFrame, sink: EventSink | None) -> None:
        self.event_count += len(chunk)
        if self.kept_chunks is not None:
            self.kept_chunks.append(chunk)
        if sink is not None and len(chunk):
            sink(chunk)

    @property
    def notes(self) -> list[str]:
        """What the user may want to act on after a run, besides its warnings."""
        if not self.events_made_otherwise:
            return []
        return [f"{self.events_made_otherwise:,} stored events of {self.articles_made_otherwise:,} articles "
                "were extracted by other rules or another version of signals (events.rulebook_hash, "
                "extractor_hash); `signals extract --stored` with these rules extracts those articles again"]

    @property
    def summary(self) -> str:
        stored = "found (dry run, nothing stored)" if self.dry_run else "stored"
        again = f", {self.articles_reextracted} re-extracted" if self.articles_reextracted else ""
        return (f"{self.articles_read} articles read ({self.articles_new} new, "
                f"{self.articles_updated} updated, {self.articles_unchanged} unchanged{again}); "
                f"{self.event_count} events {stored}")


def _batched(items: Iterable, n: int) -> Iterator[list]:
    it = iter(items)
    while batch := list(islice(it, n)):
        yield batch


def _event_id(ev) -> str:
    key = "\x00".join(str(x) for x in (ev.article_id, ev.rule_id, ev.ticker or ev.subject or "",
                                        ev.span_start, ev.span_end, ev.type))
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def _is_tradable(ticker: str | None, instrument) -> bool:
    if not ticker or ticker.startswith("@"):
        return False
    return instrument is None or getattr(instrument, "tradable", True)


def quote_sign(ticker: str, subject: str | None = None) -> int:
    """-1 where the quote runs against the subject: Yahoo's ``JPY=X`` is yen per dollar, so news
    good for the yen (the subject) moves the quote down. A subject that names the pair (美元兑日元,
    USD/JPY) is the quote itself: +1. Rule exposures are signed per quote already."""
    if not (len(ticker) == 5 and ticker.endswith("=X")):
        return 1
    return 1 if subject and ("美元" in subject or "USD" in subject.upper()) else -1


def event_frames(events: Sequence, linker, *, rulebook_hash: str, extracted_at: dt.datetime
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Events and their event-instrument pairs (subject + macro exposures) as store-ready frames."""
    from signals.extract import extractor_hash

    made_by = extractor_hash(linker)
    ev_rows, pair_rows = [], []
    for ev in events:
        event_id = _event_id(ev)
        row = {c: getattr(ev, c, None) for c in store.EVENT_COLUMNS}
        row.update(id=event_id, rulebook_hash=rulebook_hash, extracted_at=extracted_at,
                   days_since_previous=None, extractor_hash=made_by)
        for name in ("magnitude", "magnitude_low", "magnitude_high"):
            row[name] = None if row[name] is None else float(row[name])
        ev_rows.append(row)
        targets: dict[str, tuple[str, int]] = {}
        if ev.ticker and _is_tradable(ev.ticker, linker.instruments.get(ev.ticker)):
            targets[ev.ticker] = ("subject", int(ev.direction) * quote_sign(ev.ticker, ev.subject))
        # an exposure's sign is already the instrument's expected sign (the rule writes it for the
        # event as stated, extraction flips it for a negated event): multiplied by the direction it
        # came out reversed for every event with direction -1 (a rate hike lifted ^GSPC, a negated
        # cut flipped twice) and 0 for direction 0 (fx_intervention)
        for ticker, sign in getattr(ev, "exposures", ()) or ():
            targets.setdefault(ticker, ("exposure", int(sign)))
        for ticker, (role, sign) in targets.items():
            inst = linker.instruments.get(ticker)
            pair_rows.append({
                "event_id": event_id, "ticker": ticker, "role": role, "expected_sign": sign,
                "market": getattr(inst, "market", None), "benchmark": getattr(inst, "benchmark", None),
                "day0": None, "day0_reason": None,
            })
    events_df = pd.DataFrame.from_records(ev_rows, columns=store.EVENT_COLUMNS)
    events_df = events_df.drop_duplicates("id", keep="first")
    pairs_df = pd.DataFrame.from_records(pair_rows, columns=store.PAIR_COLUMNS)
    pairs_df = pairs_df.drop_duplicates(["event_id", "ticker"], keep="first")
    return events_df, pairs_df


def articles_frame(articles: Sequence, fetched_at: dt.datetime) -> pd.DataFrame:
    rows = [{c: getattr(a, c, None) for c in store.ARTICLE_COLUMNS} | {"fetched_at": fetched_at}
            for a in articles]
    return pd.DataFrame.from_records(rows, columns=store.ARTICLE_COLUMNS)


# The columns extract prints, stored run and dry run alike, in this order; all from events but
# three from articles.
DISPLAY_COLUMNS = ["published_utc", "ticker", "subject", "type", "direction", "magnitude", "magnitude_low",
                   "magnitude_high", "unit", "magnitude_bound", "modality", "source", "relevance",
                   "confidence", "evidence", "rule_id", "event_id", "article_id", "title", "url",
                   "days_since_previous", "event_key", "span_start", "span_end"]
_ARTICLE_DISPLAY = ("published_utc", "title", "url")


def _display_column(name: str) -> str:
    if name == "event_id":
        return "e.id AS event_id"
    return f"a.{name}" if name in _ARTICLE_DISPLAY else f"e.{name}"


DISPLAY_SQL = f"""
SELECT {", ".join(map(_display_column, DISPLAY_COLUMNS))}
FROM events e JOIN articles a ON a.id = e.article_id
WHERE e.article_id IN (SELECT unnest(?::VARCHAR[]))
ORDER BY a.published_utc NULLS LAST, e.article_id, e.span_start, e.rule_id, e.id
"""


def extract_feeds(inputs: Sequence[str], *, db: str | os.PathLike | None = None,
                  rules_dir: str | os.PathLike | None = None, dry_run: bool = False,
                  default_tz: str = "Asia/Shanghai", progress: Progress | None = None,
                  on_warning: Warn | None = None, jobs: int | None = None,
                  on_events: EventSink | None = None) -> ExtractResult:
    """Ingest feeds, extract events from new or edited articles, store both: each batch of
    ``BATCH_ARTICLES`` articles is committed with its events (see ``_extract_store``).

    The events of new or edited articles go to ``on_events`` in chunks, in display order (stored: by
    publication time, after the commit, read back from the database while it is still open, at most
    10,240 rows a chunk; dry run: the events of each batch of ``BATCH_ARTICLES`` articles, in input
    order, as they are extracted), so memory stays flat however large the input. Without
    ``on_events`` the chunks are kept and ``result.events`` joins them: fine for small inputs and tests.

    ``jobs`` worker processes (default: all cores) extract batches of more than
    ``signals.parallel.PARALLEL_MIN_ARTICLES`` articles; the events are the same, in the same order,
    as with one job.
    A feed that cannot be parsed stops the command: an input of up to ``BATCH_ARTICLES`` articles
    writes nothing; in a larger one the whole batches read before the bad feed stay stored, their
    events go to ``on_events`` before the error is raised, and its hint says how many articles were
    kept (running the same command again continues). A dry run may have handed out the events of
    earlier batches by then.
    """
    from signals.feeds import local_input_bytes, read_feeds

    return _extract(lambda con, warn: read_feeds(list(inputs), default_tz=default_tz, on_warning=warn),
                    large=lambda con: local_input_bytes(inputs) >= parallel.PARALLEL_MIN_BYTES,
                    db=db, rules_dir=rules_dir, dry_run=dry_run, progress=progress, on_warning=on_warning,
                    jobs=jobs, on_events=on_events, stored=False)


def extract_stored(*, db: str | os.PathLike | None = None, rules_dir: str | os.PathLike | None = None,
                   dry_run: bool = False, progress: Progress | None = None, on_warning: Warn | None = None,
                   jobs: int | None = None, on_events: EventSink | None = None) -> ExtractResult:
    """Extract every article stored in ``db`` again with the current rulebook (after editing rules or
    upgrading signals) and replace its events; the articles themselves stay as they are.

    Works like ``extract_feeds`` on the stored articles, oldest first: batches of ``BATCH_ARTICLES``
    committed one by one (an interrupted run leaves each article with either its old or its new
    events; running it again finishes), days 0 set, every new event handed to ``on_events``. Every
    event that survives is inserted again, which recomputes the novelty of its key over the whole
    store (``store.insert_events``). A dry run opens the database read-only and hands out what the
    rules would give.
    """
    _require_database(db, "--stored extracts the articles of an existing database again; "
                          "run `signals extract FEED` first")
    return _extract(lambda con, warn: store.stored_articles(con, BATCH_ARTICLES),
                    large=lambda con: store.counts(con)["articles"] > parallel.PARALLEL_MIN_ARTICLES,
                    db=db, rules_dir=rules_dir, dry_run=dry_run, progress=progress, on_warning=on_warning,
                    jobs=jobs, on_events=on_events, stored=True)


def _require_database(db: str | os.PathLike | None, hint: str) -> None:
    """A command that reads what earlier ones stored fails on a missing file instead of creating it."""
    path = Path(db) if db is not None else store.default_path()
    if not path.exists():
        raise StoreError(f"database {path} does not exist", hint=hint)


def _extract(articles_of: Callable[[Any, Warn], Iterable], *, large: Callable[[Any], bool],
             db: str | os.PathLike | None, rules_dir: str | os.PathLike | None, dry_run: bool,
             progress: Progress | None, on_warning: Warn | None, jobs: int | None,
             on_events: EventSink | None, stored: bool) -> ExtractResult:
    """``extract_feeds`` and ``extract_stored``: ``articles_of(con, warn)`` gives the articles (``con``
    is None in a dry run over feeds), ``large(con)`` whether to start the workers before the first
    batch; with ``stored`` every article read has its events replaced."""
    from signals.entities import Linker
    from signals.extract import extractor_hash
    from signals.rules import Rulebook

    warnings: list[str] = []

    def warn(msg: str) -> None:
        warnings.append(msg)
        if on_warning:
            on_warning(msg)

    # regex timeouts while extracting (workers' included) reach the caller's warnings
    rulebook = Rulebook.load(rules_dir or None, on_warning=lambda w: warn(str(w)))
    linker = Linker.from_data()
    now = dt.datetime.now(dt.UTC)
    result = ExtractResult(warnings=warnings, dry_run=dry_run,
                           kept_chunks=[] if on_events is None else None)
    cores = os.cpu_count() or 1
    if jobs and jobs > 2 * cores:  # `-j 1000` started 1,000 workers of ~130 MB each: out of memory
        warn(f"--jobs {jobs} is more than twice the {cores} cores: using {2 * cores} (each worker holds the "
             "rulebook and the linker, ~130 MB; extraction cannot use more cores than there are)")
        jobs = 2 * cores
    extractor = BatchExtractor(rulebook, linker, jobs=jobs or cores,
                               rules_dir=str(rules_dir) if rules_dir else None)
    try:
        if dry_run:
            with store.opened(db, read_only=True) if stored else contextlib.nullcontext() as con:
                if large(con):
                    extractor.warm_up()
                _extract_dry(articles_of(con, warn), extractor, result, now, progress, on_events,
                             stored=stored)
            return result
        with store.opened(db) as con:
            if large(con):
                extractor.warm_up()
            changed: list[str] = []
            try:
                _extract_store(con, articles_of(con, warn), extractor, result, now, progress, changed,
                               replace=stored)
            except SignalsError as err:
                if result.articles_committed:
                    err.hint = _partial_hint(result, err.hint)
                    # what was kept is finished like a clean run's: days 0 set, events printed
                    with contextlib.suppress(SignalsError, duckdb.Error):
                        _finish_stored(con, changed, result, on_events, warn)
                raise
            except BaseException as exc:
                if not is_interrupt(exc):
                    raise
                # counted in the database: a Ctrl-C right after a COMMIT lands before any counter moves
                [(stored,)] = con.execute("SELECT count(*) FROM articles WHERE fetched_at = ?",
                                          [now]).fetchall()
                if not stored:
                    raise
                # a re-run skips the stored articles: their events are printed now or never
                with contextlib.suppress(SignalsError, duckdb.Error):
                    _finish_stored(con, changed, result, on_events, warn)
                raise Interrupted(f"{stored:,} new or edited articles were stored with their events (printed "
                                  "above); run the same command again to continue (stored articles are "
                                  "skipped)") from None
            try:
                _finish_stored(con, changed, result, on_events, warn)
            except BaseException as exc:
                if not is_interrupt(exc):
                    raise
                raise Interrupted(f"all {result.articles_committed:,} articles read were stored with their "
                                  "events; printing the events was cut short: query the events table (a "
                                  "re-run skips stored articles)") from None
            result.events_made_otherwise, result.articles_made_otherwise = store.events_made_otherwise(
                con, rulebook.version_hash, extractor_hash(linker))
    finally:
        extractor.close()
    return result


def _finish_stored(con, changed: list[str], result: ExtractResult, sink: EventSink | None,
                   warn: Warn) -> None:
    with store.transaction(con):
        for msg in _assign_day0(con):
            warn(msg)
    _stored_events(con, changed, result, sink)


def _stored_events(con, article_ids: list[str], result: ExtractResult, sink: EventSink | None) -> None:
    """Read the stored events of ``article_ids`` back in chunks: DuckDB sorts them (spilling to disk
    if it must) and Python holds one chunk at a time. The ids stay a Python list: 16 characters per
    article, ~7 MB for the 1 GB run, and they do not grow with the number of events."""
    cursor = con.execute(DISPLAY_SQL, [article_ids])
    chunk = cursor.fetch_df_chunk(EVENT_CHUNK_VECTORS)
    result.emit(chunk, sink)  # even when empty: `result.events` keeps its columns
    while len(chunk):
        chunk = cursor.fetch_df_chunk(EVENT_CHUNK_VECTORS)
        if len(chunk):
            result.emit(chunk, sink)


def _extract_dry(articles: Iterable, extractor: BatchExtractor, result: ExtractResult, now: dt.datetime,
                 progress: Progress | None, sink: EventSink | None, *, stored: bool = False) -> None:
    """A dry run counts feed articles as new (nothing is compared) and stored ones as re-extracted.
    An article id read again in a later batch is skipped, as a stored run would find it stored."""
    seen: set[str] = set()
    for batch in _batched(articles, BATCH_ARTICLES):
        unique = list({a.id: a for a in batch}.values())
        batch = [a for a in unique if a.id not in seen]
        seen.update(a.id for a in batch)
        result.articles_read += len(unique)
        result.articles_unchanged += len(unique) - len(batch)
        if not batch:
            if progress:
                progress(len(unique))
            continue
        if stored:
            result.articles_unchanged += len(batch)
            result.articles_reextracted += len(batch)
        else:
            result.articles_new += len(batch)
        events_df, _ = event_frames(extractor.submit(batch)(), extractor.linker,
                                    rulebook_hash=extractor.rulebook.version_hash, extracted_at=now)
        meta = pd.DataFrame({"article_id": [a.id for a in batch], "title": [a.title for a in batch],
                             "url": [a.url for a in batch],
                             "published_utc": [a.published_utc for a in batch]})
        events_df = events_df.merge(meta, on="article_id", how="left").rename(columns={"id": "event_id"})
        result.emit(events_df[DISPLAY_COLUMNS], sink)
        if progress:
            progress(len(unique))


@dataclass
class _Pending:
    """A batch classified and handed to the extractor, not yet written."""
    articles: pd.DataFrame
    job: Callable[[], list]
    changed: set[str]
    n_read: int
    replaced: list[str]  # stored articles whose events this batch replaces (extract_stored)


def _extract_store(con, articles: Iterable, extractor: BatchExtractor, result: ExtractResult,
                   now: dt.datetime, progress: Progress | None, changed_all: list[str], *,
                   replace: bool = False) -> None:
    """Classify each batch (new / edited / unchanged, read only), extract its changed articles, and
    write the batch before while the workers run: database writes overlap extraction.

    Each batch is committed with its events in one transaction: never articles without their events
    (a re-run would take them as unchanged), and DuckDB keeps a transaction's rows in memory until it
    commits, so one transaction for the whole input would grow with it (~23 KB per article).
    ``changed_all`` receives the ids of new and edited articles as their batches are classified.
    With ``replace`` unchanged articles are extracted too, their stored events replaced."""
    pending: _Pending | None = None

    def write(p: _Pending) -> None:
        events_df, pairs_df = event_frames(p.job(), extractor.linker,
                                           rulebook_hash=extractor.rulebook.version_hash, extracted_at=now)
        with store.transaction(con):
            lost = store.event_keys(con, list(p.changed))  # of events about to be replaced
            store.upsert_articles(con, p.articles)
            store.delete_events(con, p.replaced)
            store.insert_events(con, events_df, pairs_df)
            # a key that lost an event (and got none back, which insert_events refreshed): later ones
            # may be news again
            store.refresh_novelty_of(con, sorted(set(lost) - set(events_df["event_key"])))
        result.articles_reextracted += len(p.replaced)
        result.articles_committed += p.n_read
        if progress:
            progress(p.n_read)

    batches = _batched(articles, BATCH_ARTICLES)
    while True:
        try:
            batch = next(batches, None)
        except SignalsError:
            if pending:
                write(pending)  # the batches read before a bad input are whole: keep them
            raise
        if batch is None:
            break
        batch = list({a.id: a for a in batch}.values())  # a repeated guid: the last one wins
        if pending and not pending.changed.isdisjoint(a.id for a in batch):
            write(pending)  # this batch edits an article of the pending one: classify against it
            pending = None
        result.articles_read += len(batch)
        frame = articles_frame(batch, now)
        up = store.classify_articles(con, frame)
        result.articles_new += len(up.new)
        result.articles_updated += len(up.updated)
        result.articles_unchanged += up.unchanged
        changed = set(up.changed)
        replaced = [a.id for a in batch if a.id not in changed] if replace else []
        changed.update(replaced)
        job = extractor.submit([a for a in batch if a.id in changed])
        changed_all.extend([*up.changed, *replaced])
        if pending:
            write(pending)
        pending = _Pending(frame, job, changed, len(batch), replaced)
    if pending:
        write(pending)


def _partial_hint(result: ExtractResult, hint: str | None) -> str:
    """What a failure after some committed batches left behind, and how to finish."""
    kept = (f"the first {result.articles_committed:,} articles read were stored with their events; "
            "run the same command again to continue (stored articles are skipped)")
    return f"{hint}; {kept}" if hint else kept


def _assign_day0(con) -> list[str]:
    from signals.calendar import assign_day0

    return _repair_pair_markets(con) + (assign_day0(con) or [])


def _repair_pair_markets(con) -> list[str]:
    """Pairs stored without the market and benchmark their instrument has get them, so day 0 can be
    set. Extraction with --jobs workers stored every pair so until 2026-11-27 (the parent's linker
    read its instruments through dict.get, which missed the lazily built ones); nothing else
    leaves a known instrument's market empty."""
    tickers = [t for (t,) in con.execute(
        "SELECT DISTINCT ticker FROM event_instruments WHERE market IS NULL AND day0 IS NULL").fetchall()]
    if not tickers:
        return []
    from signals.entities import instruments as reference_instruments

    instruments = reference_instruments()  # the table alone: a linker's matcher takes ~0.5 s to build
    known = [(t, i.market, i.benchmark) for t in tickers
             if (i := instruments.get(t)) is not None and i.market]
    if not known:
        return []
    fixes = pd.DataFrame(known, columns=["ticker", "market", "benchmark"])
    with store.registered(con, _market_fixes=fixes), store.transaction(con, join=True):
        [(n,)] = con.execute("""
            UPDATE event_instruments SET market = f.market, benchmark = f.benchmark
            FROM _market_fixes f
            WHERE event_instruments.ticker = f.ticker AND event_instruments.market IS NULL
              AND event_instruments.day0 IS NULL
        """).fetchall()
    return [f"{n:,} event-instrument pairs had been stored without their market and benchmark (by "
            "`extract --jobs` before 2026-11-27); they now have them, and their days 0"]


# --- prices -------------------------------------------------------------------------------------


def _same_file_key(path: str) -> object:
    """One key for every name of a file: its device and inode (a hard link is another path to the
    same file, which realpath does not see), else its real path (a file that cannot be read is
    reported by the load)."""
    try:
        info = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    # a file system without inode numbers (st_ino 0) would make every file one
    return (info.st_dev, info.st_ino) if info.st_ino else os.path.realpath(path)


def load_prices(paths: Sequence[str], *, db: str | os.PathLike | None = None):
    """Load CSV/Parquet price files (long or wide) into the price cache."""
    from signals.prices import load_files

    expanded: list[str] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files = [str(f) for f in sorted(path.iterdir())
                     if f.suffix.lower() in (".csv", ".parquet", ".pq")]
            if not files:  # a mistyped directory is a mistake to report, not "0 rows loaded"
                raise PriceError(f"{path}: no .csv or .parquet files in this directory",
                                 hint="give the price files, or the directory that holds them")
            expanded.extend(files)
        else:
            expanded.append(p)
    # a file named twice (`prices load dir/ dir/AAPL.csv`, a link) is read once: it was read twice
    # and warned that it wins over itself on every date
    expanded = list({_same_file_key(f): f for f in reversed(expanded)}.values())[::-1]
    with store.opened(db) as con:
        report = load_files(con, expanded)
        _assign_day0(con)  # sessions from price data can now settle days 0 beyond a calendar horizon
    return report


def fetch_prices(tickers: Sequence[str] = (), *, db: str | os.PathLike | None = None,
                 start: dt.date | None = None, end: dt.date | None = None, offline: bool = False,
                 progress: Progress | None = None):
    """Fill the price cache for ``tickers`` (default: every ticker and benchmark of stored events).
    ``offline`` only reports what is missing: it opens the database read-only, so it works on a file
    it may not write and never creates one. A ticker that is no Yahoo symbol (``../x``) is a
    ``PriceError`` before the database is opened."""
    from signals.prices import check_tickers

    check_tickers(tickers)
    with store.opened(db, read_only=offline) as con:
        return _fetch_prices(con, tickers, start, end, offline=offline, progress=progress)


def _fetch_prices(con, tickers: Sequence[str], start: dt.date | None, end: dt.date | None, *,
                  offline: bool = False, progress: Progress | None = None,
                  span_days: tuple[int, int] = (400, 40)):
    """``span_days``: calendar days before the first and after the last event to fetch when
    ``start`` / ``end`` are not given."""
    from signals.prices import YFinanceSource, ensure_prices, tickers_for_events

    wanted = list(tickers) or tickers_for_events(con)
    if start is None or end is None:
        lo, hi = _event_date_range(con, before_days=span_days[0], after_days=span_days[1])
        start = start or lo
        end = end or hi
    return ensure_prices(con, wanted, start, end, source=YFinanceSource(), offline=offline,
                         progress=progress, stored=not tickers)


# Calendar days per trading session, with room for long holidays (Shanghai has ~242 sessions a year:
# 1.51) and a margin for suspensions; used to turn a study's session offsets into a date range.
_DAYS_PER_SESSION = 1.6
_SPAN_MARGIN_DAYS = 10


def study_span_days(window: tuple[int, int], estimation: Sequence[int],
                    max_day0_shift: int) -> tuple[int, int]:
    """Calendar days of prices a study needs before its first and after its last event: the
    estimation window (and the window, if it starts earlier) before, the window and the day-0
    shift after; never less than the fetch defaults (400, 40)."""
    sessions_before = max(-min(estimation[0], window[0]), 0) + 1  # + the row before the first return
    sessions_after = max(window[1], 0)
    before = math.ceil(sessions_before * _DAYS_PER_SESSION) + _SPAN_MARGIN_DAYS
    after = math.ceil(sessions_after * _DAYS_PER_SESSION) + max_day0_shift + _SPAN_MARGIN_DAYS
    return max(before, 400), max(after, 40)


def _event_date_range(con, *, before_days: int = 400, after_days: int = 40) -> tuple[dt.date, dt.date]:
    """Price range the event study needs: a year-plus of estimation before, the window after."""
    lo, hi = con.execute(
        "SELECT min(a.published_utc)::DATE, max(a.published_utc)::DATE "
        "FROM events e JOIN articles a ON a.id = e.article_id"
    ).fetchone()
    today = dt.date.today()
    lo = lo or today
    hi = hi or today
    return lo - dt.timedelta(days=before_days), min(hi + dt.timedelta(days=after_days), today)


def price_status(*, db: str | os.PathLike | None = None) -> pd.DataFrame:
    from signals.prices import price_status as status

    with store.opened(db, read_only=True) as con:
        return status(con)


# --- backtest -----------------------------------------------------------------------------------


@dataclass
class BacktestResult:
    study: object  # signals.study.StudyResult
    fetch_report: object | None
    warnings: list[str]
    plot_path: str | None = None


def backtest(*, db: str | os.PathLike | None = None, window: str = "5d", model: str = "market",
             by: Sequence[str] = ("type",), estimation: tuple[int, int] = (-250, -11),
             min_estimation: int = 100, dedupe: bool = True, offline: bool = False,
             rank_tests: bool = True, max_day0_shift: int = 7,
             plot: str | None = None, progress: Progress | None = None,
             stage: Callable[[str], None] | None = None) -> BacktestResult:
    """Make sure prices are cached (unless offline), settle days 0, run the event study.

    ``progress`` counts the tickers fetched; ``stage`` is told of each later step by name."""
    from signals.study import check_parameters, plot_caar, run_study

    win, est, _ = check_parameters(window=window, model=model, by=by, estimation=estimation,
                                   min_estimation=min_estimation, max_day0_shift=max_day0_shift)
    _require_database(db, "backtest studies the events of an existing database: run `signals extract FEED` "
                          "first (--db or SIGNALS_DB names the file)")
    warnings: list[str] = []
    report = None
    with store.opened(db) as con:  # one open for prices and study: a cache hit costs one query or two
        if not offline:
            report = _fetch_prices(con, (), None, None, progress=progress,
                                   span_days=study_span_days(win, est, max_day0_shift))
        warnings.extend(_assign_day0(con))
        warnings.extend(_older_extractor_note(con))
        if stage:
            stage("event study")
        try:
            result = run_study(con, window=window, model=model, by=tuple(by), estimation=estimation,
                               min_estimation=min_estimation, dedupe=dedupe, rank_tests=rank_tests,
                               max_day0_shift=max_day0_shift)
        except NothingStudiedError as err:  # the report is lost with the result: its failures may be why
            if report is not None and report.failures:
                err.hint = _with_fetch_failures(err.hint, report)
            elif offline and "no_prices" in err.dropped:
                err.hint = f"{err.hint}; --offline fetched nothing: run without it to fetch from Yahoo"
            if report is not None and report.notes:  # fetched rows a price rule dropped may be why too
                more = f" (and {len(report.notes) - 1} more tickers)" if len(report.notes) > 1 else ""
                err.hint = f"{err.hint}; {report.notes[0]}{more}"
            raise
    if plot:
        if stage:
            stage("plotting")
        try:
            plot_caar(result, plot)
        except OSError as exc:  # the run is stored: say so, the study need not be run again for it
            raise SignalsError(f"cannot write the plot {plot}: {exc.strerror or exc}",
                               hint=f"the study is stored as run {result.run_id}; run again with "
                                    "another --plot path") from None
    return BacktestResult(study=result, fetch_report=report, warnings=warnings, plot_path=plot)


def _older_extractor_note(con) -> list[str]:
    """The events another version of signals made (after an upgrade): the study uses them as they are."""
    from signals.extract import extractor_hash

    n = con.execute("SELECT count(*) FROM events WHERE extractor_hash IS DISTINCT FROM ?",
                    [extractor_hash()]).fetchone()[0]
    if not n:
        return []
    return [f"{n:,} of the stored events were extracted by another version of signals "
            "(events.extractor_hash); `signals extract --stored` extracts them again with this one"]


def _with_fetch_failures(hint: str | None, report) -> str:
    """A study error's hint, led by the price fetch failures that may have caused it."""
    asked = len({ticker for ticker, _, _ in report.requested})
    lines = report.failure_lines(limit=1)
    what = (f"prices could not be fetched for {len(report.failures)} of {asked} tickers "
            f"({lines[0]}{'; ...' if len(lines) > 1 else ''})")
    if report.all_failed:
        return (f"{what}: check the network, or load prices with `signals prices load FILE` and run "
                "with --offline")
    return f"{what}; {hint}" if hint else what


# --- rules, entities, evaluation ---------------------------------------------------------------


def _rulebook(rules_dir: str | os.PathLike | None, on_warning: Warn | None = None):
    from signals.rules import Rulebook

    return Rulebook.load(rules_dir or None, on_warning=(lambda w: on_warning(str(w))) if on_warning else None)


def list_rules(rules_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """The rulebook as a table: one row per rule."""
    rows = []
    for rule in _rulebook(rules_dir).rules:
        rows.append({
            "id": rule.id, "type": rule.type, "status": rule.status, "version": rule.version,
            "triggers": " ".join(rule.triggers), "examples": len(rule.examples), "title": rule.title,
        })
    return pd.DataFrame(rows)


def lint_rules(rules_dir: str | os.PathLike | None = None) -> list:
    from signals.rules import default_rules_dir, lint

    return lint(rules_dir or default_rules_dir())


def test_rules(rules_dir: str | os.PathLike | None = None) -> list:
    from signals.entities import Linker
    from signals.rules import run_cases

    return run_cases(_rulebook(rules_dir), Linker.from_data())


_INSTRUMENT_COLUMNS = ["ticker", "name", "kind", "market", "currency", "benchmark", "alt_tickers"]


def lookup_entity(name: str) -> pd.DataFrame:
    """Instruments ``name`` resolves to as an exact alias or ticker, best first (may be empty)."""
    from signals.entities import Linker

    rows = [_instrument_row(i) for i in Linker.from_data().lookup(name)]
    return pd.DataFrame(rows, columns=_INSTRUMENT_COLUMNS)


def names_within(text: str) -> list[str]:
    """What the linker finds inside ``text``, as "name -> ticker" (for a lookup that matched nothing
    exactly: 贵州茅台股份有限公司 holds 贵州茅台, 600519.SZ reads as 600519.SS)."""
    from signals.entities import Linker

    return list(dict.fromkeys(f"{m.text} -> {m.instrument.ticker}" for m in Linker.from_data().find(text)))


_MENTION_COLUMNS = ["start", "end", "text", "confidence", "role_hint", *_INSTRUMENT_COLUMNS]


def find_entities(text: str) -> pd.DataFrame:
    """Mentions in ``text`` with their instruments (may be empty, with its columns)."""
    from signals.entities import Linker

    rows = []
    for m in Linker.from_data().find(text):
        rows.append({"start": m.start, "end": m.end, "text": m.text, "confidence": m.confidence,
                     "role_hint": m.role_hint, **_instrument_row(m.instrument)})
    return pd.DataFrame(rows, columns=_MENTION_COLUMNS)


def _instrument_row(inst) -> dict:
    return {"ticker": inst.ticker, "name": inst.name, "kind": inst.kind, "market": inst.market,
            "currency": inst.currency, "benchmark": inst.benchmark,
            "alt_tickers": " ".join(getattr(inst, "alt_tickers", ()) or ())}


def evaluate_gold(gold_path: str | os.PathLike, *, rules_dir: str | os.PathLike | None = None,
                  on_warning: Warn | None = None):
    """Extraction quality against a gold JSONL file (no database writes)."""
    from signals.evaluate import evaluate_extraction

    return evaluate_extraction(gold_path, rules_dir=rules_dir or None, on_warning=on_warning)


def rules_stats(feeds: Sequence[str], rules_dir: str | os.PathLike | None = None, *,
                default_tz: str = "Asia/Shanghai", on_warning: Warn | None = None) -> pd.DataFrame:
    """Per-rule labelling statistics over the articles of ``feeds`` (no database writes):
    coverage, overlaps, conflicts, unlinked and magnitude shares, modalities, near misses."""
    from signals.entities import Linker
    from signals.feeds import read_feeds
    from signals.rulestats import rule_stats

    articles = read_feeds(list(feeds), default_tz=default_tz, on_warning=on_warning)
    return rule_stats(articles, _rulebook(rules_dir, on_warning), Linker.from_data())
