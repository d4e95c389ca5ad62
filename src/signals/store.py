"""The DuckDB file: opening it safely, its schema and migrations, and bulk writes.

Why it looks like this:
- DuckDB lets only one process open a file while a writer holds it (even read-only opens fail),
  so connections live for one command, writes are one short transaction, and a busy file is
  retried briefly and then reported with the process that holds it.
- Schema objects are plain SQL files in ``signals/sql`` applied in name order; ``schema_meta``
  records the version so newer files are refused and older ones migrated forward.
- Rows go in as Arrow/pandas frames in one statement: ``executemany`` is ~100x slower.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd
import pyarrow as pa

from signals import __version__
from signals.errors import DAMAGED_HINT, StoreError, StoreLockedError, damaged_database

if TYPE_CHECKING:
    from signals.feeds import Article

SCHEMA_VERSION = 3
DEFAULT_DB = "signals.duckdb"
DB_ENV = "SIGNALS_DB"
DB_WAIT_ENV = "SIGNALS_DB_WAIT"
DB_MEMORY_ENV = "SIGNALS_DB_MEMORY"
# Share of physical memory DuckDB may use per connection before it spills to disk (its own
# default is 80 %); a big event study then slows down instead of taking the machine's RAM.
DEFAULT_MEMORY_SHARE = 0.5

# Forward migrations: MIGRATIONS[v] upgrades a file at version v to v + 1, before the schema files
# run (CREATE ... IF NOT EXISTS leaves existing tables as they are).
MIGRATIONS: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] = {
    # 2: events.extractor_hash (NULL for the events already stored: made by an unknown extractor)
    1: lambda con: con.execute("ALTER TABLE events ADD COLUMN IF NOT EXISTS extractor_hash VARCHAR"),
    # 3: study_pairs.est_events (NULL for the runs already stored); the schema files make the table
    # with it when a file has none yet
    2: lambda con: _add_column_if_table(con, "study_pairs", "est_events INTEGER"),
}


def _add_column_if_table(con: duckdb.DuckDBPyConnection, table: str, column: str) -> None:
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?",
                   [table]).fetchone()[0]:
        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column}")

_LOCK_PID = re.compile(r"PID (\d+)")
_NOT_WRITABLE = ("Permission denied", "Operation not permitted", "Read-only", "read-only")


def default_path() -> Path:
    """``$SIGNALS_DB`` or ``signals.duckdb`` in the working directory."""
    return Path(os.environ.get(DB_ENV) or DEFAULT_DB)


def schema_sql() -> list[tuple[str, str]]:
    """(file name, SQL text) of every schema file, in the order they are applied."""
    files = sorted(
        (f for f in resources.files("signals.sql").iterdir() if f.name.endswith(".sql")),
        key=lambda f: f.name,
    )
    return [(f.name, f.read_text(encoding="utf-8")) for f in files]


def _holder(message: str) -> str:
    m = _LOCK_PID.search(message)
    if not m:
        return "another process"
    pid = m.group(1)
    try:
        # one line whatever the arguments hold (a `python -c` script with newlines broke the message)
        cmd = " ".join(Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split())
    except OSError:
        cmd = ""
    if len(cmd) > 80:  # a cut command line says it was cut
        cmd = cmd[:79] + "…"
    return f"process {pid}" + (f" ({cmd})" if cmd else "")


def _open(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        msg = str(exc)
        if "lock" in msg.lower():
            raise StoreLockedError(
                f"database {path} is in use by {_holder(msg)}",
                hint="wait for it to finish, or use another --db; see docs/reliability.md",
            ) from None
        if "not a valid DuckDB database" in msg or "Not a DuckDB" in msg or "invalid" in msg.lower():
            raise StoreError(f"{path} is not a DuckDB database",
                             hint="pass another --db path; signals will create a new file") from None
        if "storage version" in msg or "database file with version number" in msg:
            # DuckDB's own words name the versions but not what to do; the file is not damaged
            raise StoreError(f"cannot open {path}: {msg.splitlines()[0]}",
                             hint=f"the file was written by another DuckDB version (this is DuckDB "
                                  f"{duckdb.__version__}): open it with that version and EXPORT DATABASE, "
                                  "or start a new --db and extract the feeds again") from None
        if any(word in msg for word in _NOT_WRITABLE):
            raise StoreError(f"cannot open {path} for writing: permission denied",
                             hint="check file and directory permissions (and `lsattr` for the immutable "
                                  "flag), or use another --db; reading commands still work") from None
        raise StoreError(f"cannot open {path}: {msg.splitlines()[0]}",
                         hint=DAMAGED_HINT if damaged_database(exc) else None) from None
    except duckdb.Error as exc:
        raise StoreError(f"cannot open {path}: {str(exc).splitlines()[0]}",
                         hint=DAMAGED_HINT if damaged_database(exc) else None) from None


def _wait_from_env() -> float:
    text = os.environ.get(DB_WAIT_ENV, "5")
    try:
        wait = float(text)
    except ValueError:
        wait = float("nan")
    if not wait >= 0:  # also NaN, and inf is a valid "wait for ever"
        raise StoreError(f"{DB_WAIT_ENV}={text!r} is not a number of seconds",
                         hint=f"e.g. {DB_WAIT_ENV}=30, or unset it for the default 5")
    return wait


def connect(path: str | os.PathLike | None = None, *, read_only: bool = False,
            wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open (creating and migrating as needed) the signals database.

    A file held by another process is retried for ``wait`` seconds (env ``SIGNALS_DB_WAIT``,
    default 5) before ``StoreLockedError``. Read-only opens never create or migrate. DuckDB's
    memory_limit is env ``SIGNALS_DB_MEMORY`` (e.g. ``8GB``) or half of physical memory.
    """
    path = Path(path) if path is not None else default_path()
    if wait is None:
        wait = _wait_from_env()
    _check_regular_file(path)
    if read_only and not path.exists():
        raise StoreError(f"database {path} does not exist", hint="run `signals extract FEED` first")
    if not read_only and not path.parent.exists():
        raise StoreError(f"directory {path.parent} does not exist")
    if not read_only:
        _check_writable_directory(path.parent)
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        try:
            con = _open(path, read_only)
            break
        except StoreLockedError:
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
    try:
        # DuckDB draws a progress bar on stdout for queries over 2 s: it would corrupt piped jsonl
        con.execute("SET enable_progress_bar = false")
        # TIMESTAMPTZ values come back in the session's zone, which DuckDB takes from the machine:
        # published_utc was printed in New York or Beijing time under its UTC name (the table drops
        # the offset), and a stored run's times differed from a dry run's
        con.execute("SET TimeZone = 'UTC'")
        _set_memory_limit(con)
        _ensure_schema(con, path, read_only)
    except BaseException:
        con.close()
        raise
    return con


_FILE_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
               (stat.S_ISSOCK, "a socket"))


def _check_regular_file(path: Path) -> None:
    """The database and its ``.wal`` must be regular files when they exist. DuckDB opens whatever the
    path names: a FIFO made every command wait for ever for a writer (`--db pipe`), a directory
    failed with DuckDB's `IO Error: Could not read from file`, a device would be read as a database."""
    for name in (path, path.with_name(path.name + ".wal")):
        try:
            mode = os.stat(name).st_mode  # through symbolic links: where DuckDB would read
        except (OSError, ValueError):
            continue  # missing (created when writing), or unreadable: DuckDB says why
        if not stat.S_ISREG(mode):
            kind = next((what for is_kind, what in _FILE_KINDS if is_kind(mode)), "not a regular file")
            what = f"database {path}" if name == path else f"{name}, the write-ahead log of {path},"
            raise StoreError(f"{what} is {kind}, not a file",
                             hint="give --db (or SIGNALS_DB) the path of a DuckDB file; a new path "
                                  "creates one")


def memory_limit() -> str:
    """``$SIGNALS_DB_MEMORY`` or ``DEFAULT_MEMORY_SHARE`` of physical memory, as a DuckDB size."""
    if env := os.environ.get(DB_MEMORY_ENV, "").strip():
        return env
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "80%"  # DuckDB's own default
    return f"{max(1, int(total * DEFAULT_MEMORY_SHARE) // 2**20)}MB"


def _set_memory_limit(con: duckdb.DuckDBPyConnection) -> None:
    limit = memory_limit()
    try:
        con.execute(f"SET memory_limit = '{limit}'")
    except duckdb.Error:
        raise StoreError(f"{DB_MEMORY_ENV}={limit!r} is not a memory size",
                         hint="write e.g. 8GB or 512MB") from None


def _check_writable_directory(directory: Path) -> None:
    """DuckDB commits through a ``.wal`` file beside the database: in a directory it cannot write,
    the file opens fine and the first COMMIT fails. Find out before any work is done."""
    try:
        tempfile.TemporaryFile(dir=directory, prefix=".signals-probe-").close()
    except OSError as err:
        raise StoreError(f"cannot write in directory {directory}: {err.strerror or err}",
                         hint="DuckDB needs to create a .wal file next to the database; "
                              "use a writable directory for --db") from None


@contextlib.contextmanager
def opened(path: str | os.PathLike | None = None, *, read_only: bool = False,
           wait: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """``with opened(db) as con:`` — the connection is closed (releasing the file lock) on exit."""
    con = connect(path, read_only=read_only, wait=wait)
    try:
        yield con
    finally:
        con.close()


def in_transaction(con: duckdb.DuckDBPyConnection) -> bool:
    """DuckDB has no flag for this, and a failed BEGIN aborts the open transaction; but inside an
    explicit transaction two statements share one transaction id, in autocommit they do not."""
    first = con.execute("SELECT txid_current()").fetchone()[0]
    return con.execute("SELECT txid_current()").fetchone()[0] == first


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection, *, join: bool = False
                ) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: any exception (including KeyboardInterrupt) rolls back.

    ``join=True`` joins a transaction the caller already opened (the caller commits or rolls back),
    so library functions can be used alone or inside a command's single transaction.
    """
    if join and in_transaction(con):
        yield con
        return
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    try:
        con.execute("COMMIT")
    except duckdb.Error as exc:  # the disk filled up, the directory became read-only ...
        raise StoreError(f"the write could not be committed, nothing was stored: {str(exc).splitlines()[0]}",
                         hint="check free space and permissions where the database lives") from None


def schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    has_meta = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_meta' AND schema_name = 'main'"
    ).fetchone()[0]
    if not has_meta:
        return None
    row = con.execute("SELECT value FROM schema_meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else None


def _ensure_schema(con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
    version = schema_version(con)
    if version is not None and version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer signals (schema {version}, this one knows {SCHEMA_VERSION})",
            hint="upgrade signals",
        )
    if read_only:
        if version is None:
            raise StoreError(f"{path} is not a signals database (no schema_meta table)")
        return
    if version is None and _user_objects(con):
        raise StoreError(f"{path} is a DuckDB file but not a signals database",
                         hint="pass another --db path")
    files = schema_sql()
    digest = hashlib.sha1("".join(sql for _, sql in files).encode("utf-8")).hexdigest()[:16]
    if version == SCHEMA_VERSION and _meta(con, "schema_hash") == digest:
        return  # the common case: nothing to write, so opening stays cheap
    try:
        with transaction(con):
            v = version or 0
            while 0 < v < SCHEMA_VERSION:
                MIGRATIONS[v](con)
                v += 1
            for _name, sql in files:
                con.execute(sql)
            con.execute(
                "INSERT OR REPLACE INTO schema_meta VALUES ('schema_version', ?), ('signals_version', ?), "
                "('schema_hash', ?)",
                [str(SCHEMA_VERSION), __version__, digest],
            )
    except duckdb.Error as exc:
        raise StoreError(
            f"cannot bring {path} to schema {SCHEMA_VERSION}: {str(exc).splitlines()[0]}",
            hint="the file may come from a development build of signals; start a new --db file",
        ) from None


def _user_objects(con: duckdb.DuckDBPyConnection) -> int:
    """Objects another program made in the file: tables in any schema, views, sequences, macros and
    schemas. Only tables in main were counted: a file holding views, or tables in its own schema,
    was taken over (its views named like ours replaced)."""
    return con.execute(
        """
        SELECT (SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database())
             + (SELECT count(*) FROM duckdb_views() WHERE database_name = current_database() AND NOT internal)
             + (SELECT count(*) FROM duckdb_sequences() WHERE database_name = current_database())
             + (SELECT count(*) FROM duckdb_functions() WHERE database_name = current_database()
                AND NOT internal AND function_type IN ('macro', 'table_macro'))
             + (SELECT count(*) FROM duckdb_schemas() WHERE database_name = current_database()
                AND NOT internal AND schema_name <> 'main')
        """
    ).fetchone()[0]


def _meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = con.execute("SELECT value FROM schema_meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


# --- articles and events -------------------------------------------------------------------

ARTICLE_COLUMNS = ["id", "source", "url", "guid", "title", "body", "published_utc", "utc_offset_minutes",
                   "fetched_at", "content_hash", "feed"]
EVENT_COLUMNS = ["id", "article_id", "rule_id", "rule_version", "rulebook_hash", "type", "topic", "subject",
                 "ticker", "entity_kind", "link_confidence", "direction", "magnitude", "magnitude_low",
                 "magnitude_high", "unit", "magnitude_bound", "modality", "source", "evidence", "span_start",
                 "span_end", "in_title", "confidence", "relevance", "event_key", "days_since_previous",
                 "extracted_at", "extractor_hash"]
PAIR_COLUMNS = ["event_id", "ticker", "role", "expected_sign", "market", "benchmark", "day0", "day0_reason"]


@dataclass(frozen=True)
class UpsertResult:
    new: list[str]
    updated: list[str]
    unchanged: int

    @property
    def changed(self) -> list[str]:
        """Articles whose events must be (re)extracted."""
        return self.new + self.updated


@contextlib.contextmanager
def registered(con: duckdb.DuckDBPyConnection, **frames: pd.DataFrame | pa.Table
               ) -> Iterator[duckdb.DuckDBPyConnection]:
    """``with registered(con, _incoming=df):`` — DataFrames or Arrow tables visible to SQL by name
    for the block.

    Unregistering never raises: in an aborted transaction it would mask the error that aborted it.
    A result still open on the connection (``fetchone`` leaves one) is read to its end first: DuckDB
    refuses to register or unregister while one is open.
    """
    con.complete()
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        yield con
    finally:
        for name in frames:
            with contextlib.suppress(duckdb.Error):
                con.complete()
                con.unregister(name)


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)


def frame(con: duckdb.DuckDBPyConnection, query: str, params: list | None = None) -> pd.DataFrame:
    """``con.execute(query).df()``, the same frame, with text columns passed through Arrow.

    DuckDB's own conversion makes one Python string per text value (~0.17 s per million values,
    2.2 s of the 3.6 s a 900,000-pair study spent building its pairs frame); Arrow hands pandas its
    buffers, and pandas keeps text as Arrow anyway (dtype ``str``). Other columns still go
    through ``.df()`` so dates, nullable integers and decimals convert exactly as before.
    """
    table = con.sql(query, params=params).to_arrow_table()
    if len(set(table.column_names)) < table.num_columns:  # columns picked by name below
        return con.execute(query, params or []).df()
    # .df() gives an empty or all-NULL text column dtype object, not str: those take its path
    text = [f.name for f in table.schema if _is_text(f.type) and table[f.name].null_count < table.num_rows]
    rest = [name for name in table.column_names if name not in text]
    parts = [table.select(text).to_pandas()] if text else []
    if rest:
        with registered(con, _frame_rest=table.select(rest)):
            parts.append(con.execute("SELECT * FROM _frame_rest").df())
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, axis=1)[table.column_names]


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows, columns=columns) if rows else pd.DataFrame(columns=columns)


def classify_articles(con: duckdb.DuckDBPyConnection, articles: pd.DataFrame) -> UpsertResult:
    """What ``upsert_articles`` would do with ``articles`` (new, edited, unchanged), writing nothing."""
    if articles.empty:
        return UpsertResult([], [], 0)
    batch = articles[["id", "content_hash", "published_utc", "utc_offset_minutes"]].drop_duplicates(
        "id", keep="last")
    with registered(con, _incoming_articles=batch):
        new, updated = _classify(con)
    return UpsertResult(new, updated, len(batch) - len(new) - len(updated))


def _classify(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[str]]:
    new, updated = con.execute(
        """
        SELECT list(i.id) FILTER (WHERE a.id IS NULL),
               list(i.id) FILTER (WHERE a.id IS NOT NULL AND (a.content_hash <> i.content_hash
                   -- a time read in another zone (the feed's, or another --tz for dates without one)
                   -- or an earlier one moves day 0. A later time in the same zone does not: feeds
                   -- that stamp items when served would re-extract every item on every run, and news
                   -- is public from when it was first seen. An item without a time keeps the stored one.
                   OR (i.published_utc IS NOT NULL AND (a.published_utc IS NULL
                       OR i.published_utc < a.published_utc
                       OR i.utc_offset_minutes IS DISTINCT FROM a.utc_offset_minutes))))
        FROM _incoming_articles i LEFT JOIN articles a USING (id)
        """
    ).fetchone()
    return list(new or []), list(updated or [])


def upsert_articles(con: duckdb.DuckDBPyConnection, articles: pd.DataFrame) -> UpsertResult:
    """Insert new articles and update edited ones (same id, other content_hash, or a publication time
    read in another zone or earlier: see ``_classify``), set-based.

    Within one batch the last row of an id wins (a feed that repeats a guid).
    """
    if articles.empty:
        return UpsertResult([], [], 0)
    batch = articles[ARTICLE_COLUMNS].drop_duplicates("id", keep="last")
    with registered(con, _incoming_articles=batch):
        new, updated = _classify(con)
        if updated:
            # events reference articles; drop them first, they are re-extracted by the caller
            delete_events(con, updated)
            con.execute(
                """
                UPDATE articles SET source = i.source, url = i.url, guid = i.guid, title = i.title,
                       body = i.body, published_utc = coalesce(i.published_utc, articles.published_utc),
                       -- an edit without a time keeps the stored time (and its offset)
                       utc_offset_minutes = CASE WHEN i.published_utc IS NULL THEN articles.utc_offset_minutes
                                                 ELSE i.utc_offset_minutes END,
                       fetched_at = i.fetched_at,
                       content_hash = i.content_hash, feed = i.feed
                FROM _incoming_articles i
                WHERE articles.id = i.id AND i.id IN (SELECT unnest(?::VARCHAR[]))
                """, [updated]
            )
        if new:
            con.execute(
                f"INSERT INTO articles SELECT {', '.join(ARTICLE_COLUMNS)} FROM _incoming_articles "
                "WHERE id IN (SELECT unnest(?::VARCHAR[]))",
                [new],
            )
    return UpsertResult(new, updated, len(batch) - len(new) - len(updated))


def stored_articles(con: duckdb.DuckDBPyConnection, batch: int) -> Iterator[Article]:
    """Every stored article, oldest first, fetched ``batch`` at a time: the ids are read up front (16
    characters an article), so the caller may write between batches on the same connection."""
    from signals.feeds import Article  # at call time: feeds (feedparser) is not needed to open a store

    ids = [row[0] for row in con.execute(
        "SELECT id FROM articles ORDER BY published_utc NULLS LAST, id").fetchall()]
    fields = [c for c in ARTICLE_COLUMNS if c != "fetched_at"]
    for start in range(0, len(ids), batch):
        rows = con.execute(
            f"SELECT {', '.join(fields)} FROM articles WHERE id IN (SELECT unnest(?::VARCHAR[])) "
            "ORDER BY published_utc NULLS LAST, id", [ids[start:start + batch]]).fetchall()
        for row in rows:
            article = dict(zip(fields, row, strict=True))
            if article["published_utc"] is not None:  # TIMESTAMPTZ comes in the session's zone
                article["published_utc"] = article["published_utc"].astimezone(dt.UTC)
            yield Article(**article)


def delete_events(con: duckdb.DuckDBPyConnection, article_ids: list[str]) -> None:
    if not article_ids:
        return
    con.execute(
        "DELETE FROM event_instruments WHERE event_id IN "
        "(SELECT id FROM events WHERE article_id IN (SELECT unnest(?::VARCHAR[])))",
        [article_ids],
    )
    con.execute("DELETE FROM events WHERE article_id IN (SELECT unnest(?::VARCHAR[]))", [article_ids])


def insert_events(con: duckdb.DuckDBPyConnection, events: pd.DataFrame, pairs: pd.DataFrame) -> None:
    """Bulk-insert events and their event-instrument pairs, then refresh novelty for their keys."""
    if events.empty:
        return
    incoming_pairs = pairs[PAIR_COLUMNS] if not pairs.empty else _frame([], PAIR_COLUMNS)
    with registered(con, _incoming_events=events[EVENT_COLUMNS], _incoming_pairs=incoming_pairs):
        con.execute(f"INSERT INTO events BY NAME SELECT {', '.join(EVENT_COLUMNS)} FROM _incoming_events")
        con.execute(
            f"INSERT INTO event_instruments SELECT {', '.join(PAIR_COLUMNS)} FROM _incoming_pairs"
        )
        refresh_novelty(con, "SELECT DISTINCT event_key FROM _incoming_events")


def event_keys(con: duckdb.DuckDBPyConnection, article_ids: list[str]) -> list[str]:
    """The distinct event keys of the stored events of ``article_ids``."""
    if not article_ids:
        return []
    rows = con.execute("SELECT DISTINCT event_key FROM events "
                       "WHERE article_id IN (SELECT unnest(?::VARCHAR[]))", [article_ids]).fetchall()
    return [key for (key,) in rows]


def refresh_novelty_of(con: duckdb.DuckDBPyConnection, keys: list[str]) -> None:
    """``refresh_novelty`` for the event keys ``keys``."""
    if keys:
        with registered(con, _novelty_keys=pd.DataFrame({"event_key": keys})):
            refresh_novelty(con, "SELECT event_key FROM _novelty_keys")


def refresh_novelty(con: duckdb.DuckDBPyConnection, keys_query: str = "SELECT DISTINCT event_key FROM events"
                    ) -> None:
    """Recompute ``days_since_previous`` for every event whose key is in ``keys_query``.

    Ordered by publication time across all stored articles, so re-reports of old news stand out.
    Ties (same instant) are broken by event id to stay deterministic.
    """
    con.execute(
        f"""
        UPDATE events SET days_since_previous = n.gap
        FROM (
            SELECT e.id,
                   date_diff('second',
                             lag(a.published_utc) OVER (PARTITION BY e.event_key
                                                        ORDER BY a.published_utc, e.id),
                             a.published_utc) / 86400.0 AS gap
            FROM events e JOIN articles a ON a.id = e.article_id
            WHERE e.event_key IN ({keys_query})
        ) n
        WHERE events.id = n.id
        """
    )


def events_made_otherwise(con: duckdb.DuckDBPyConnection, rulebook_hash: str, extractor_hash: str
                          ) -> tuple[int, int]:
    """(events, articles) whose events another rulebook or another extractor made (or one that did
    not record itself: schema 1)."""
    n_events, n_articles = con.execute(
        "SELECT count(*), count(DISTINCT article_id) FROM events "
        "WHERE rulebook_hash <> ? OR extractor_hash IS DISTINCT FROM ?", [rulebook_hash, extractor_hash]
    ).fetchone()
    return int(n_events), int(n_articles)


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts of the main tables (for summaries and tests)."""
    out = {}
    for table in ("articles", "events", "event_instruments"):
        out[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return out
