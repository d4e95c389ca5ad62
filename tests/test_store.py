"""The DuckDB store: schema, comments, idempotent upserts, migrations guard, locks, transactions."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from signals import store
from signals.errors import StoreError, StoreLockedError

NOW = dt.datetime(2026, 1, 29, 13, 52, tzinfo=dt.UTC)


def article(id_: str = "a1", content_hash: str = "h1", title: str = "美联储维持利率不变") -> dict:
    return dict(id=id_, source="华尔街见闻", url=f"https://example.com/{id_}", guid=id_, title=title,
                body="正文", published_utc=NOW, utc_offset_minutes=480, fetched_at=NOW,
                content_hash=content_hash, feed="feed.xml")


def event(id_: str = "e1", article_id: str = "a1", key: str = "rate_hold|@FED|0") -> dict:
    row = dict.fromkeys(store.EVENT_COLUMNS)
    row.update(id=id_, article_id=article_id, rule_id="monetary.rate_hold", rule_version=1, rulebook_hash="x",
               type="rate_hold", topic="monetary", subject="美联储", ticker="@FED", direction=0,
               modality="fact", evidence="美联储维持利率不变", span_start=0, span_end=4, in_title=True,
               confidence=0.9, relevance=100, event_key=key, extracted_at=NOW)
    return row


def pair(event_id: str = "e1", ticker: str = "^GSPC") -> dict:
    return dict(event_id=event_id, ticker=ticker, role="exposure", expected_sign=0, market="XNYS",
                benchmark=None, day0=None, day0_reason=None)


def test_new_file_has_schema_version_and_commented_columns_of_tables_and_views(db_path: Path) -> None:
    with store.opened(db_path) as con:
        assert store.schema_version(con) == store.SCHEMA_VERSION
        uncommented = con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE schema_name = 'main' AND NOT internal AND (comment IS NULL OR comment = '') "
            "AND table_name NOT IN (SELECT view_name FROM duckdb_views() WHERE internal)"
        ).fetchall()
        assert uncommented == []
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert {"articles", "events", "event_instruments", "schema_meta"} <= tables


def test_reingest_is_idempotent_and_edit_updates(db_path: Path) -> None:
    with store.opened(db_path) as con:
        with store.transaction(con):
            first = store.upsert_articles(con, pd.DataFrame([article()]))
            store.insert_events(con, pd.DataFrame([event()]), pd.DataFrame([pair()]))
        with store.transaction(con):
            again = store.upsert_articles(con, pd.DataFrame([article()]))
        assert (first.new, again.new, again.updated, again.unchanged) == (["a1"], [], [], 1)
        assert store.counts(con) == {"articles": 1, "events": 1, "event_instruments": 1}

        with store.transaction(con):
            edited = store.upsert_articles(con, pd.DataFrame([article(content_hash="h2", title="新标题")]))
        assert edited.updated == ["a1"]
        # the edited article's events are dropped for re-extraction
        assert store.counts(con) == {"articles": 1, "events": 0, "event_instruments": 0}
        assert con.execute("SELECT title FROM articles").fetchone()[0] == "新标题"


def test_a_corrected_publication_time_updates_the_article_and_a_missing_one_keeps_it(db_path: Path) -> None:
    """Re-reading a feed with another --tz (or a feed that corrected its pubDate) gave the same
    content hash, so the article counted as unchanged and kept its old time and day 0."""
    later = NOW + dt.timedelta(hours=13)  # 08:00 read in New York (-300) instead of Beijing (+480)
    with store.opened(db_path) as con:
        with store.transaction(con):
            store.upsert_articles(con, pd.DataFrame([article()]))
            store.insert_events(con, pd.DataFrame([event()]), pd.DataFrame([pair()]))
        with store.transaction(con):
            moved = store.upsert_articles(con, pd.DataFrame([
                article() | {"published_utc": later, "utc_offset_minutes": -300}]))
        assert (moved.updated, moved.unchanged) == (["a1"], 0)
        # its events go, to be extracted again with a day 0 of the new time
        assert store.counts(con) == {"articles": 1, "events": 0, "event_instruments": 0}
        with store.transaction(con):
            undated = store.upsert_articles(con, pd.DataFrame([article() | {"published_utc": None}]))
        assert (undated.updated, undated.unchanged) == ([], 1)
        stored = con.execute("SELECT published_utc FROM articles").fetchone()[0]
        assert stored == later
        undated_edit = article(content_hash="h2") | {"published_utc": None, "utc_offset_minutes": None}
        with store.transaction(con):  # an edited text without a time keeps the stored time too
            edited = store.upsert_articles(con, pd.DataFrame([undated_edit]))
        assert edited.updated == ["a1"]
        row = con.execute("SELECT published_utc, utc_offset_minutes FROM articles").fetchone()
        assert row == (later, -300)


def test_a_later_time_in_the_same_zone_is_no_edit_and_an_earlier_one_is(db_path: Path) -> None:
    """Feeds that stamp items when they are served would otherwise re-extract every item on every
    run; news is public from when it was first seen."""
    with store.opened(db_path) as con:
        with store.transaction(con):
            store.upsert_articles(con, pd.DataFrame([article()]))
        with store.transaction(con):
            restamped = store.upsert_articles(con, pd.DataFrame([
                article() | {"published_utc": NOW + dt.timedelta(minutes=5)}]))
        assert (restamped.updated, restamped.unchanged) == ([], 1)
        with store.transaction(con):
            corrected = store.upsert_articles(con, pd.DataFrame([
                article() | {"published_utc": NOW - dt.timedelta(hours=1)}]))
        assert corrected.updated == ["a1"]
        assert con.execute("SELECT published_utc FROM articles").fetchone()[0] == NOW - dt.timedelta(hours=1)


def test_duplicate_ids_in_one_batch_keep_the_last(db_path: Path) -> None:
    with store.opened(db_path) as con, store.transaction(con):
        res = store.upsert_articles(con, pd.DataFrame([article(title="旧"), article(title="新")]))
        assert res.new == ["a1"]
        assert con.execute("SELECT title FROM articles").fetchone()[0] == "新"


def test_novelty_counts_days_since_previous_event_with_same_key(db_path: Path) -> None:
    later = article("a2")
    later["published_utc"] = NOW + dt.timedelta(days=3)
    with store.opened(db_path) as con, store.transaction(con):
        store.upsert_articles(con, pd.DataFrame([article(), later]))
        store.insert_events(con, pd.DataFrame([event("e2", "a2")]), pd.DataFrame([pair("e2")]))
        store.insert_events(con, pd.DataFrame([event("e1", "a1")]), pd.DataFrame([pair("e1")]))
        gaps = dict(con.execute("SELECT id, days_since_previous FROM events").fetchall())
    assert gaps == {"e1": None, "e2": 3.0}


def test_failed_transaction_leaves_file_unchanged(db_path: Path) -> None:
    with store.opened(db_path) as con:
        with pytest.raises(RuntimeError), store.transaction(con):
            store.upsert_articles(con, pd.DataFrame([article()]))
            raise RuntimeError("crash mid-write")
        assert store.counts(con)["articles"] == 0


def test_newer_schema_is_refused(db_path: Path) -> None:
    with store.opened(db_path) as con:
        con.execute("UPDATE schema_meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer signals"):
        store.connect(db_path)


FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA1 = FIXTURES / "store" / "schema1.duckdb.gz"  # made by the last schema-1 version: see its README
SCHEMA1_FEEDS = [str(FIXTURES / "feeds" / "rss2_dates.xml"), str(FIXTURES / "feeds" / "atom.xml")]


def test_a_schema_1_file_is_migrated_and_its_events_are_noted_until_extracted_again(tmp_path: Path) -> None:
    import gzip

    from signals import api
    from signals.entities import Linker
    from signals.extract import extractor_hash

    db = tmp_path / "old.duckdb"
    db.write_bytes(gzip.decompress(SCHEMA1.read_bytes()))
    with store.opened(db, read_only=True) as con:  # read-only: read as it is, not migrated
        assert store.schema_version(con) == 1
        assert store.counts(con)["events"] == 8
        assert "extractor_hash" not in [r[0] for r in con.execute("DESCRIBE events").fetchall()]
    with store.opened(db) as con:
        assert store.schema_version(con) == store.SCHEMA_VERSION == 3
        assert con.execute("SELECT count(*), count(extractor_hash) FROM events").fetchone() == (8, 0)
        comment = con.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 'events' "
                              "AND column_name = 'extractor_hash'").fetchone()[0]
        assert comment.startswith("Hash of the extraction code")
    # the same feeds again: nothing new, but the 8 old events are noted (their extractor is unknown)
    again = api.extract_feeds(SCHEMA1_FEEDS, db=db, jobs=1)
    assert again.summary.startswith("7 articles read (0 new, 0 updated, 7 unchanged)")
    assert again.events_made_otherwise == 8 and again.notes
    api.extract_stored(db=db, jobs=1)
    with store.opened(db, read_only=True) as con:
        made_by = {r[0] for r in con.execute("SELECT DISTINCT extractor_hash FROM events").fetchall()}
    assert made_by == {extractor_hash(Linker.from_data())}
    assert api.extract_feeds(SCHEMA1_FEEDS, db=db, jobs=1).notes == []


SCHEMA2 = FIXTURES / "store" / "schema2.duckdb.gz"  # made by the last schema-2 version: see its README


def test_a_schema_2_file_keeps_its_stored_runs_and_new_runs_count_estimation_window_events(
        tmp_path: Path) -> None:
    import gzip

    from signals.study import run_study

    db = tmp_path / "old.duckdb"
    db.write_bytes(gzip.decompress(SCHEMA2.read_bytes()))
    with store.opened(db, read_only=True) as con:
        assert store.schema_version(con) == 2
        assert "est_events" not in [r[0] for r in con.execute("DESCRIBE study_pairs").fetchall()]
    with store.opened(db) as con:
        assert store.schema_version(con) == store.SCHEMA_VERSION == 3
        old_run = con.execute("SELECT run_id FROM study_runs").fetchall()
        assert con.execute("SELECT count(*), count(est_events) FROM study_pairs").fetchone() == (3, 0)
        result = run_study(con, window="5d", estimation=(-100, -11), min_estimation=50)
        stored = dict(con.execute("SELECT event_id, est_events FROM study_pairs WHERE run_id = ?",
                                  [result.run_id]).fetchall())
        # AAA's e1 (day 120) lies in the estimation window of e2 (day 160: days 60..149), not the
        # other way round; BBB has one event
        assert stored == {"e1": 0, "e2": 1, "e3": 0}
        assert dict(zip(result.pairs["event_id"], result.pairs["est_events"], strict=True)) == stored
        assert "1 pair has another event of the same ticker in their estimation window " \
               "(see est_events)" in result.notes
        assert len(old_run) == 1 and con.execute("SELECT count(*) FROM study_pairs WHERE run_id = ?",
                                                 [old_run[0][0]]).fetchone()[0] == 3


def test_the_extractor_hash_follows_the_code_and_the_reference_data(tmp_path: Path, monkeypatch) -> None:
    import shutil

    from signals import extract
    from signals.entities import Linker

    data = Path(__file__).parents[1] / "data" / "instruments"
    copy, edited = tmp_path / "copy", tmp_path / "edited"
    shutil.copytree(data, copy)
    shutil.copytree(data, edited)
    with (edited / "aliases.csv").open("a", encoding="utf-8") as f:
        f.write("英伟达公司,NVDA,curated,\n")
    bundled = extract.extractor_hash(Linker.from_data())
    assert extract.extractor_hash() == bundled  # from the files alone, without building a linker
    assert extract.extractor_hash(Linker.from_data(copy)) == bundled  # same bytes, same hash
    assert extract.extractor_hash(Linker.from_data(edited)) != bundled
    monkeypatch.setattr(extract, "_engine_code_hash", lambda: b"other code")
    assert extract.extractor_hash(Linker.from_data()) != bundled


def test_not_a_duckdb_file(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.duckdb"
    bogus.write_text("just some text, not a database\n" * 100)
    with pytest.raises(StoreError, match="not a DuckDB database"):
        store.connect(bogus)


# store.connect in a child: before the check, DuckDB waited for ever on a FIFO (for a writer, or with
# O_RDWR for data from itself); a child that hangs is killed at the timeout and the test fails
_CONNECT_CHILD = """
import sys
from signals import store
from signals.errors import StoreError
try:
    store.connect(sys.argv[1], read_only=sys.argv[2] == "ro", wait=0).close()
except StoreError as err:
    print(err)
    print(err.hint)
"""


def _connect_in_a_child(path: Path, read_only: bool) -> list[str]:
    done = subprocess.run([sys.executable, "-c", _CONNECT_CHILD, str(path), "ro" if read_only else "rw"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout.splitlines()


def test_a_database_path_that_is_no_regular_file_is_refused(tmp_path: Path) -> None:
    # a FIFO made DuckDB wait for ever; a directory was DuckDB's `IO Error: Could not read from file`
    hint = "give --db (or SIGNALS_DB) the path of a DuckDB file; a new path creates one"
    fifo = tmp_path / "pipe.duckdb"
    os.mkfifo(fifo)
    link = tmp_path / "link.duckdb"
    link.symlink_to(fifo)
    for path in (fifo, link):
        for read_only in (True, False):
            assert _connect_in_a_child(path, read_only) == [
                f"database {path} is a FIFO (named pipe), not a file", hint]
    directory = tmp_path / "dir.duckdb"
    directory.mkdir()
    for path, kind in ((directory, "a directory"), (Path("/dev/null"), "a character device")):
        for read_only in (True, False):
            with pytest.raises(StoreError) as err:
                store.connect(path, read_only=read_only, wait=0)
            assert (str(err.value), err.value.hint) == (f"database {path} is {kind}, not a file", hint)
    db = tmp_path / "s.duckdb"  # its write-ahead log, which DuckDB reads when it opens the file
    store.connect(db).close()
    os.mkfifo(tmp_path / "s.duckdb.wal")
    assert _connect_in_a_child(db, read_only=False) == [
        f"{db}.wal, the write-ahead log of {db}, is a FIFO (named pipe), not a file", hint]


def test_a_file_of_another_duckdb_version_says_so(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # one line, but no hint: the analyst was not told what to do with it
    import gzip

    from signals.cli import main

    old = tmp_path / "old.duckdb"  # written by DuckDB 0.8.1 (storage version 51): see the README there
    old.write_bytes(gzip.decompress((FIXTURES / "store" / "duckdb-0.8.1.duckdb.gz").read_bytes()))
    before = old.read_bytes()
    for read_only in (True, False):
        with pytest.raises(StoreError) as err:
            store.connect(old, read_only=read_only)
        assert str(err.value).startswith(f"cannot open {old}: IO Error: Trying to read a database file with "
                                         "storage version number 51, but we can only read")
        assert err.value.hint == (f"the file was written by another DuckDB version (this is DuckDB "
                                  f"{duckdb.__version__}): open it with that version and EXPORT DATABASE, or "
                                  "start a new --db and extract the feeds again")
    assert main(["--db", str(old), "extract", str(FIXTURES / "feeds" / "atom.xml")]) == 2
    assert [line[:6] for line in capsys.readouterr().err.splitlines()] == ["error:", "hint: "]
    assert old.read_bytes() == before  # never touched


def test_foreign_duckdb_file_is_not_taken_over(tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE trades (x INTEGER)")
    con.close()
    with pytest.raises(StoreError, match="not a signals database"):
        store.connect(other)


@pytest.mark.parametrize("ddl", [
    "CREATE VIEW event_windows AS SELECT 42 AS answer",
    "CREATE SCHEMA desk; CREATE TABLE desk.trades (x INTEGER)",
    "CREATE SCHEMA desk",
    "CREATE SEQUENCE trade_ids",
    "CREATE MACRO twice(x) AS x * 2",
])
def test_a_duckdb_file_with_only_views_schemas_or_macros_is_not_taken_over(tmp_path: Path, ddl: str) -> None:
    """Only tables in main were counted: such a file got the signals schema, its view replaced."""
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute(ddl)
    con.close()
    with pytest.raises(StoreError, match="not a signals database"):
        store.connect(other)
    con = duckdb.connect(str(other), read_only=True)
    try:
        tables = con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        assert ("articles",) not in tables
    finally:
        con.close()


def test_an_empty_duckdb_file_becomes_a_signals_database(tmp_path: Path) -> None:
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    store.connect(empty).close()
    with store.opened(empty, read_only=True) as con:
        assert store.schema_version(con) == store.SCHEMA_VERSION


def test_read_only_open_of_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        store.connect(tmp_path / "missing.duckdb", read_only=True)


def test_locked_file_names_the_holder(db_path: Path, hold_lock) -> None:
    store.connect(db_path).close()
    pid = hold_lock(db_path)
    with pytest.raises(StoreLockedError, match=rf"in use by process {pid}"):
        store.connect(db_path, wait=0)


def test_the_holder_is_named_on_one_line(db_path: Path) -> None:
    """A holder whose arguments hold newlines (a notebook's or a `python -c` script) split the
    one-line error over several lines."""
    import subprocess
    import sys

    store.connect(db_path).close()
    script = ("import duckdb, sys\nc = duckdb.connect(sys.argv[1])\n"
              "print('ready', flush=True)\nsys.stdin.read()")
    holder = subprocess.Popen([sys.executable, "-c", script, str(db_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreLockedError) as caught:
            store.connect(db_path, wait=0)
        message = str(caught.value)
        assert "\n" not in message and f"in use by process {holder.pid} (" in message
        assert "import duckdb, sys c = duckdb" in message
    finally:
        holder.communicate("")


def test_reopening_a_current_file_writes_nothing(db_path: Path) -> None:
    store.connect(db_path).close()
    before = db_path.stat().st_mtime_ns, db_path.stat().st_size
    with store.opened(db_path) as con:
        assert con.execute("SELECT value FROM schema_meta WHERE key = 'schema_hash'").fetchone()[0]
    assert (db_path.stat().st_mtime_ns, db_path.stat().st_size) == before


def test_schema_that_cannot_be_applied_is_one_clear_error(db_path: Path) -> None:
    with store.opened(db_path) as con:
        # a development build left a table in another shape; the views cannot be rebuilt on it
        con.execute("DROP VIEW IF EXISTS event_windows")
        con.execute("DROP VIEW IF EXISTS event_study_summary")
        con.execute("DROP TABLE study_pairs")
        con.execute("CREATE TABLE study_pairs (run_id VARCHAR)")
        con.execute("UPDATE schema_meta SET value = 'stale' WHERE key = 'schema_hash'")
    with pytest.raises(StoreError, match=r"cannot bring .* to schema"):
        store.connect(db_path)


def test_connections_draw_no_progress_bar_on_stdout(db_path: Path) -> None:
    # a slow query would otherwise print DuckDB's bar into the jsonl a user pipes from stdout
    with store.opened(db_path) as con:
        assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0] is False


FRAME_SQL = """
SELECT 'E' || i AS event_id, CASE WHEN i % 3 = 0 THEN NULL ELSE '中文' || i END AS maybe_text,
       DATE '2026-01-29' + i::INTEGER AS day,
       CASE WHEN i % 2 = 0 THEN NULL ELSE DATE '2026-01-29' END AS maybe_day,
       (i % 3 - 1)::TINYINT AS sign, CASE WHEN i % 2 = 0 THEN NULL ELSE i::INTEGER END AS maybe_int,
       i::BIGINT AS n, i * 1.5 AS dec, CASE WHEN i % 4 = 0 THEN NULL ELSE i / 7 END AS maybe_float,
       i % 2 = 0 AS flag, TIMESTAMPTZ '2026-01-29 08:00:00+00' AS at, ['a', 'b'] AS tags
FROM range(?) t(i) ORDER BY i
"""


@pytest.mark.parametrize("rows", [0, 1, 5, 3000])
def test_frame_is_the_frame_df_gives(rows: int) -> None:
    con = duckdb.connect()
    expected = con.execute(FRAME_SQL, [rows]).df()
    got = store.frame(con, FRAME_SQL, [rows])
    pd.testing.assert_frame_equal(got, expected)
    assert list(got.dtypes) == list(expected.dtypes)


def test_frame_with_repeated_column_names_is_the_frame_df_gives() -> None:
    con = duckdb.connect()
    query = "SELECT 'x' AS a, 1 AS a, 'y' AS b"
    pd.testing.assert_frame_equal(store.frame(con, query), con.execute(query).df())


@pytest.mark.parametrize("text", ["abc", "-1", "nan", ""])
def test_a_bad_lock_wait_is_a_store_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    # SIGNALS_DB_WAIT=abc ended as 'unexpected ValueError' (exit 3): a setting is a user's input
    from signals.errors import StoreError

    monkeypatch.setenv(store.DB_WAIT_ENV, text)
    with pytest.raises(StoreError, match=f"SIGNALS_DB_WAIT='{text}' is not a number of seconds"):
        store.connect(tmp_path / "w.duckdb")
    monkeypatch.setenv(store.DB_WAIT_ENV, "0.5")
    store.connect(tmp_path / "w.duckdb").close()
