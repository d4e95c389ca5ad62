"""Faults that must never corrupt the DuckDB file or lose data (docs/reliability.md)."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from signals import store
from signals.errors import StoreError

WRITER = textwrap.dedent("""
    import datetime as dt, signal, sys
    import pandas as pd
    from signals import store
    # Ctrl-C as at a terminal: a shell running us in the background (CI) hands down SIGINT ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    now = dt.datetime(2026, 1, 29, tzinfo=dt.UTC)
    rows = [dict(id=f"k{i}", source="s", url=None, guid=None, title="t", body="b", published_utc=now,
                 utc_offset_minutes=480, fetched_at=now, content_hash=str(i), feed="f")
            for i in range(int(sys.argv[2]))]
    con = store.connect(sys.argv[1])
    con.execute("BEGIN TRANSACTION")
    store.upsert_articles(con, pd.DataFrame(rows))
    print("written, not committed", flush=True)
    sys.stdin.read()  # the parent kills us here
    con.execute("COMMIT")
""")


def _articles(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        con.close()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM])
def test_killed_writer_leaves_the_state_before_the_transaction(db_path: Path, sig: int) -> None:
    store.connect(db_path).close()
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db_path), "5000"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "written, not committed"
    os.kill(proc.pid, sig)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"the writer outlived signal {sig}")
    assert proc.returncode != 0
    assert _articles(db_path) == 0
    # and the file is still a working signals database
    with store.opened(db_path) as con:
        assert store.schema_version(con) == store.SCHEMA_VERSION


@contextlib.contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """Make a file or directory unwritable, also for root (CI runs as root, where permission bits do
    not apply): the immutable flag when chattr can set it, else permission bits for other users."""
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0:
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        return
    mode = path.stat().st_mode
    path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        if os.access(path, os.W_OK):
            pytest.skip("root without CAP_LINUX_IMMUTABLE: neither chattr +i nor permission bits apply")
        yield
    finally:
        path.chmod(mode)


def test_read_only_file_is_a_clear_error(db_path: Path) -> None:
    store.connect(db_path).close()
    with unwritable(db_path):
        with pytest.raises(StoreError, match="permission denied"):
            store.connect(db_path)
        # reading commands open read-only and still work
        with store.opened(db_path, read_only=True) as con:
            assert store.schema_version(con) == store.SCHEMA_VERSION


def test_reading_commands_work_on_a_read_only_file(db_path: Path, capsys: pytest.CaptureFixture) -> None:
    """`prices fetch --offline` only reports what is missing, yet it opened the file for writing and
    failed with `cannot open ... for writing: permission denied`."""
    from signals.cli import main

    sample = Path(__file__).resolve().parents[1] / "data" / "sample" / "wallstreetcn-2026-01-29.xml"
    assert main(["--db", str(db_path), "extract", str(sample), "-j", "1", "-f", "jsonl"]) == 0
    capsys.readouterr()
    with unwritable(db_path):
        for argv, code in ((["prices", "status", "-f", "csv"], 0), (["prices", "fetch", "--offline"], 1),
                           (["prices", "fetch", "NVDA", "--offline"], 1)):
            got = main(["--db", str(db_path), *argv])
            err = capsys.readouterr().err
            assert got == code and "error:" not in err, (argv, err)
            if argv[1] == "fetch":  # exit 1: the sample's tickers have no prices; it says which
                assert "missing" in err, err


def test_read_only_directory_is_a_clear_error_before_any_write(db_path: Path) -> None:
    with store.opened(db_path) as con:  # an existing database in a directory that became read-only
        before = store.counts(con)
    with unwritable(db_path.parent):
        for target in (db_path, db_path.parent / "new.duckdb"):
            with pytest.raises(StoreError, match="cannot write in directory"):
                store.connect(target)
        with store.opened(db_path, read_only=True) as con:
            assert store.counts(con) == before
    assert not (db_path.parent / "new.duckdb").exists()


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        store.connect(tmp_path / "nope" / "x.duckdb")


def test_a_commit_that_cannot_be_written_is_a_store_error_and_stores_nothing(db_path: Path) -> None:
    store.connect(db_path).close()
    con = duckdb.connect(str(db_path))  # open before the directory became read-only (a disk gone bad)
    committed = pytest.raises(StoreError, match="could not be committed, nothing was stored")
    try:
        with unwritable(db_path.parent), committed, store.transaction(con):
            con.execute("INSERT INTO schema_meta VALUES ('probe', 'x')")
    finally:
        con.close()
    with store.opened(db_path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM schema_meta WHERE key = 'probe'").fetchone()[0] == 0


def test_catalogue_names_existing_tests() -> None:
    import re

    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "reliability.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", doc))
    assert len(named) > 40
    sources = {path: (root / path).read_text(encoding="utf-8") for path, _ in named}
    missing = [f"{path}::{name}" for path, name in sorted(named)
               if not re.search(rf"^(def {name}\(|{name} = )", sources[path], re.M)]
    assert missing == []


def test_an_error_that_is_its_own_cause_is_no_interrupt_and_ends():
    # `raise e from e` makes the cause chain a loop: is_interrupt followed it forever
    from signals.errors import is_interrupt

    err = ValueError("bad")
    err.__cause__ = err
    assert is_interrupt(err) is False
    wrapped = RuntimeError("Error calling __set_name__")
    wrapped.__cause__ = KeyboardInterrupt()
    assert is_interrupt(wrapped) is True
