"""Faults that must never corrupt the DuckDB file or lose data (docs/reliability.md)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from signals import store
from signals.errors import StoreError

WRITER = textwrap.dedent("""
    import datetime as dt, sys
    import pandas as pd
    from signals import store
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
    proc.wait()
    assert _articles(db_path) == 0
    # and the file is still a working signals database
    with store.opened(db_path) as con:
        assert store.schema_version(con) == store.SCHEMA_VERSION


def test_read_only_file_is_a_clear_error(db_path: Path) -> None:
    store.connect(db_path).close()
    db_path.chmod(stat.S_IRUSR)
    try:
        if os.access(db_path, os.W_OK):  # root ignores permission bits
            pytest.skip("running as root: permission bits do not apply")
        with pytest.raises(StoreError, match="permission denied"):
            store.connect(db_path)
    finally:
        db_path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        store.connect(tmp_path / "nope" / "x.duckdb")
