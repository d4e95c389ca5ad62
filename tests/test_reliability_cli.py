"""Two `signals extract` processes on one file, and the one-line error contract of the CLI."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import random
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest

from signals import store
from signals.cli import main
from signals.errors import DAMAGED_HINT, SignalsError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_FEED = ROOT / "data" / "sample" / "wallstreetcn-2026-01-29.xml"
SMALL_FEED = ROOT / "tests" / "fixtures" / "feeds" / "rss2_dates.xml"  # 5 articles


@pytest.fixture(scope="module")
def sample_events(tmp_path_factory: pytest.TempPathFactory) -> int:
    """Events a clean in-process extract of the sample stores: what a subprocess run must match (the
    tests below are about nothing being lost, not about what the rulebook yields)."""
    db = tmp_path_factory.mktemp("ref") / "ref.duckdb"
    assert main(["--db", str(db), "extract", str(SAMPLE_FEED), "-f", "jsonl", "-j", "1"]) == 0
    with duckdb.connect(str(db), read_only=True) as con:
        count = con.execute("SELECT count(*) FROM events").fetchone()[0]
    assert count > 100
    return count

# `signals ...` in a child process; each failed attempt to open a busy database prints "busy" to
# stdout, so the parent knows the child is waiting without sleeping.
CHILD = textwrap.dedent("""
    import sys
    from signals import store
    from signals.cli import main
    real_open = store._open
    def noisy_open(path, read_only):
        try:
            return real_open(path, read_only)
        except store.StoreLockedError:
            print("busy", flush=True)
            raise
    store._open = noisy_open
    sys.exit(main(sys.argv[1:]))
""")


def signals_process(db: Path, *args: str, wait: float) -> subprocess.Popen[str]:
    env = {**os.environ, "SIGNALS_DB_WAIT": str(wait)}
    return subprocess.Popen([sys.executable, "-c", CHILD, "--db", str(db), *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def open_for_writing(fifo: Path, reader: subprocess.Popen[str]) -> int:
    """Open a FIFO for writing once ``reader`` opens it (fails if the reader exits instead)."""
    opened: list[int] = []
    thread = threading.Thread(target=lambda: opened.append(os.open(fifo, os.O_WRONLY)), daemon=True)
    thread.start()
    while not opened:
        thread.join(0.2)
        if not opened and reader.poll() is not None:
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # unblocks the thread
            pytest.fail(f"extract exited early: {reader.communicate()}")
    return opened[0]


def test_a_second_extract_fails_clearly_or_waits_and_nothing_is_corrupted(db_path: Path,
                                                                         tmp_path: Path) -> None:
    store.connect(db_path).close()
    fifo = tmp_path / "live.xml"
    os.mkfifo(fifo)
    # the first writer opens the database, then blocks reading its feed from the FIFO
    first = signals_process(db_path, "extract", str(fifo), "-j", "1", wait=0)
    fd = open_for_writing(fifo, first)  # from here on `first` holds the database
    try:
        impatient = signals_process(db_path, "extract", str(SAMPLE_FEED), "-j", "1", wait=0)
        _, err = impatient.communicate()
        assert impatient.returncode == 2
        assert err.splitlines()[0].startswith(f"error: database {db_path} is in use by process {first.pid}")
        assert "Traceback" not in err

        patient = signals_process(db_path, "extract", str(SAMPLE_FEED), "-j", "1", "-f", "jsonl", wait=120)
        assert patient.stdout.readline().strip() == "busy"  # it is waiting for `first`
    finally:
        with os.fdopen(fd, "wb") as feed:
            feed.write(SMALL_FEED.read_bytes())
    assert first.wait() == 0, first.communicate()
    _, err = patient.communicate()
    assert patient.returncode == 0, err
    assert "52 articles read (52 new" in err
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 57
        orphans = con.execute("SELECT count(*) FROM events WHERE article_id NOT IN (SELECT id FROM articles)")
        assert orphans.fetchone()[0] == 0
    finally:
        con.close()
    with store.opened(db_path) as con:  # still a working signals database
        assert store.schema_version(con) == store.SCHEMA_VERSION


# A SIGTERM to `signals extract` once its third batch of 20 articles is due: the first is committed
TERMINATED_CHILD = textwrap.dedent("""
    import os, signal, sys
    from signals import api, parallel
    from signals.cli import main
    api.BATCH_ARTICLES = 20
    real_submit, calls = parallel.BatchExtractor.submit, []
    def submit(self, articles):
        calls.append(len(articles))
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return real_submit(self, articles)
    parallel.BatchExtractor.submit = submit
    sys.exit(main(sys.argv[1:]))
""")


def test_sigterm_ends_extract_like_ctrl_c_keeping_and_printing_the_committed_batches(
        tmp_path: Path, sample_events: int) -> None:
    # `kill`, `timeout` or a service manager stopping a scheduled extract: Python died at once (exit
    # -15, no message); the committed batches' events were never printed (a re-run skips their
    # articles) and their days 0 stayed unset
    db = tmp_path / "s.duckdb"
    argv = ["--db", str(db), "extract", str(SAMPLE_FEED), "-f", "jsonl", "-j", "1"]
    done = subprocess.run([sys.executable, "-c", TERMINATED_CHILD, *argv], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 143, done.stderr
    assert done.stderr.splitlines()[-1] == (
        "terminated (SIGTERM): the open transaction was rolled back; 20 new or edited articles were stored "
        "with their events (printed above); run the same command again to continue (stored articles are "
        "skipped)")
    assert "Traceback" not in done.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 20
        printed = con.execute("SELECT count(*) FROM events").fetchone()[0]
        unset = con.execute("SELECT count(*) FROM event_instruments WHERE day0_reason IS NULL").fetchone()[0]
    assert len(done.stdout.splitlines()) == printed > 0 and unset == 0
    again = subprocess.run([sys.executable, "-c", RUN, *argv], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "52 articles read (32 new, 0 updated, 20 unchanged)" in again.stderr
    clean = tmp_path / "clean.duckdb"
    assert main(["--db", str(clean), "extract", str(SAMPLE_FEED), "-f", "jsonl", "-j", "1"]) == 0
    query = "SELECT * EXCLUDE (extracted_at) FROM events ORDER BY id"
    with duckdb.connect(str(db), read_only=True) as con, duckdb.connect(str(clean), read_only=True) as ref:
        assert con.execute(query).fetchall() == ref.execute(query).fetchall()
    # every event printed once, by the interrupted run or the one after it
    assert len(done.stdout.splitlines()) + len(again.stdout.splitlines()) == sample_events


# A SIGTERM to the process group (a service manager stopping the job) while `extract -j 2` starts its
# workers: sent from inside the pool's start of its first worker, so it lands in that window every time
STARTUP_TERMINATED_CHILD = textwrap.dedent("""
    import os, signal, sys
    from concurrent.futures import process
    from signals import api, parallel
    from signals.cli import main
    api.BATCH_ARTICLES, parallel.PARALLEL_MIN_ARTICLES = 20, 10
    real_spawn, started = process.ProcessPoolExecutor._spawn_process, []
    def spawn(self):
        real_spawn(self)
        started.append(1)
        if len(started) == 1:  # a worker is starting (before its _init_worker), the second is due
            if os.environ["SEND_TO"] == "group":
                os.killpg(0, signal.SIGTERM)
            else:  # the starting worker alone: it must wait for _init_worker, which ignores it
                os.kill(max(self._processes), signal.SIGTERM)
            print("sent", file=sys.stderr, flush=True)
    process.ProcessPoolExecutor._spawn_process = spawn
    sys.exit(main(sys.argv[1:]))
""")


def test_a_sigterm_while_workers_start_ends_extract(tmp_path: Path) -> None:
    # SIGTERM and SIGINT were ignored while workers started (~15 ms): one that came then was lost
    # (1 in 40 tries) and the run went on to its end, exit 0
    db = tmp_path / "s.duckdb"
    argv = ["--db", str(db), "extract", str(SAMPLE_FEED), "-f", "jsonl", "-j", "2"]
    done = subprocess.run([sys.executable, "-c", STARTUP_TERMINATED_CHILD, *argv], capture_output=True,
                          text=True, timeout=300, start_new_session=True,
                          env={**os.environ, "SEND_TO": "group"})
    assert done.returncode == 143, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == "sent"
    assert lines[-1].startswith("terminated (SIGTERM): the open transaction was rolled back"), done.stderr
    assert "Traceback" not in done.stderr and "BrokenProcessPool" not in done.stderr
    assert done.stdout == ""
    with duckdb.connect(str(db), read_only=True) as con:  # stopped in its first batch: nothing stored
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 0


def test_a_sigterm_to_a_starting_worker_alone_leaves_the_run_alone(tmp_path: Path) -> None:
    # the worker inherits SIGTERM blocked from the parent and drops it in _init_worker: it neither dies
    # (BrokenProcessPool in the parent, exit 3) nor prints anything
    db = tmp_path / "s.duckdb"
    argv = ["--db", str(db), "extract", str(SAMPLE_FEED), "-f", "jsonl", "-j", "2"]
    done = subprocess.run([sys.executable, "-c", STARTUP_TERMINATED_CHILD, *argv], capture_output=True,
                          text=True, timeout=300, start_new_session=True,
                          env={**os.environ, "SEND_TO": "worker"})
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == "sent"
    assert "52 articles read (52 new, 0 updated, 0 unchanged)" in done.stderr
    assert "Traceback" not in done.stderr


MAIN_THEN_SIGTERM = textwrap.dedent("""
    import signal, sys
    from signals.cli import main

    code = main(sys.argv[1:])
    print("still ignored" if signal.getsignal(signal.SIGTERM) is signal.SIG_IGN else "changed", code)
""")


def _ignore_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


@pytest.mark.parametrize("entry", ["console script", "main"])
def test_an_ignored_sigterm_stays_ignored(entry: str, tmp_path: Path) -> None:
    # A parent that ignores SIGTERM (`trap '' TERM` in a shell script, a supervisor) hands that on
    # and Python keeps it, as it keeps an ignored SIGINT; main put its own handler in place regardless,
    # and a SIGTERM meant to be ignored ended the run (exit 143, the open transaction rolled back).
    # The SIGTERM comes while extract waits for its feed on a FIFO: the command is running.
    db, fifo = tmp_path / "s.duckdb", tmp_path / "live.xml"
    os.mkfifo(fifo)
    args = ["--db", str(db), "extract", str(fifo), "-f", "jsonl", "-j", "1"]
    command = ([sys.executable, "-c", MAIN_THEN_SIGTERM, *args] if entry == "main"
               else [str(installed_console_script()), *args])
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_ignore_sigterm)
    fd = open_for_writing(fifo, proc)  # extract has opened its feed
    try:
        proc.send_signal(signal.SIGTERM)
    finally:
        with os.fdopen(fd, "wb") as feed:
            feed.write(SMALL_FEED.read_bytes())
    out, err = proc.communicate(timeout=120)
    assert "terminated" not in err, err
    assert proc.returncode == 0, err
    assert "5 articles read (5 new" in err, err
    if entry == "main":
        assert out.splitlines()[-1] == "still ignored 0"


def test_main_leaves_the_sigterm_handler_as_it_found_it(tmp_path: Path) -> None:
    import signal

    before = signal.getsignal(signal.SIGTERM)
    assert main(["--db", str(tmp_path / "s.duckdb"), "rules", "list", "-f", "csv", "-o",
                 str(tmp_path / "rules.csv")]) == 0
    assert signal.getsignal(signal.SIGTERM) is before



SIGNAL_IN_CHILD = textwrap.dedent("""
    import os, signal, sys, time
    from signals.cli import _interrupt_handlers

    sig, where = signal.Signals[sys.argv[1]], sys.argv[2]
    sys.path.insert(0, sys.argv[3])

    class Finalized:
        def __del__(self):
            os.kill(os.getpid(), sig)  # the handler runs in here, at the loop's next turn
            for _ in range(10_000):
                pass

    with _interrupt_handlers():
        try:
            if where == "import":
                import sends_itself_the_signal  # noqa: F401
            else:
                Finalized()  # dropped at once: its __del__ runs
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                pass
            print("went on")
        except KeyboardInterrupt:
            # whether the import ran to its end: a module whose import raised is not in sys.modules
            # (printed here, not after the import: the signal sent again could land inside that print)
            done = getattr(sys.modules.get("sends_itself_the_signal"), "DONE", False)
            print("interrupted", "after-the-import" if done else "")
""")


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("where", ["import", "finalizer"])
def test_a_signal_in_an_import_or_a_finalizer_ends_the_command_once_it_is_out(
        sig: str, where: str, tmp_path: Path) -> None:
    # Raised inside an import, a KeyboardInterrupt aborted the process when the import was DuckDB's
    # extension module (`Critical nanobind error: nanobind::detail::enum_create(...)`, SIGABRT: a
    # Ctrl-C ~80 ms into `signals extract`, 2 runs in 300), became `RuntimeError: Error calling
    # __set_name__` in a class body, or was dropped in importlib's weakref callbacks; raised in a
    # __del__ it was dropped (SIGINT still was): `Exception ignored in: <function Group.__del__>`, from
    # the regex module while the rulebook compiles, for a `kill` ~0.6 s into `signals extract many/ -j 2`
    # (4 runs of 40), which then ran to the end, exit 0. It is sent again until the import or
    # finalizer is done.
    (tmp_path / "sends_itself_the_signal.py").write_text(textwrap.dedent(f"""
        import os, signal, time
        os.kill(os.getpid(), signal.{sig})
        deadline = time.monotonic() + 0.3  # the handler runs, and sends it again, in here
        while time.monotonic() < deadline:
            pass
        DONE = True
    """), encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", SIGNAL_IN_CHILD, sig, where, str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.stderr == ""
    expected = ["interrupted", "after-the-import"] if where == "import" else ["interrupted"]
    assert done.stdout.split() == expected


def test_main_leaves_the_sigint_handler_as_it_found_it(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGINT)
    assert main(["--db", str(tmp_path / "s.duckdb"), "rules", "list", "-f", "csv", "-o",
                 str(tmp_path / "rules.csv")]) == 0
    assert signal.getsignal(signal.SIGINT) is before


def test_a_fifo_as_the_database_is_refused_not_waited_on(tmp_path: Path) -> None:
    # `--db pipe` hung every command: DuckDB opened the FIFO and waited for a writer
    fifo = tmp_path / "pipe.duckdb"
    os.mkfifo(fifo)
    prices = tmp_path / "p.csv"
    prices.write_text("ticker,date,close\nNVDA,2026-01-29,192.3\n", encoding="utf-8")
    for args in (["prices", "status"], ["prices", "load", str(prices)],
                 ["extract", str(SMALL_FEED), "-j", "1"], ["backtest", "--offline"]):
        done = subprocess.run([sys.executable, "-c", RUN, "--db", str(fifo), *args], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.splitlines() == [
            f"error: database {fifo} is a FIFO (named pipe), not a file",
            "hint: give --db (or SIGNALS_DB) the path of a DuckDB file; a new path creates one"], args
        assert done.stdout == ""


# ------------------------------------------------------------------------------ one-line errors


@pytest.fixture
def stored_db(db_path: Path, capsys: pytest.CaptureFixture) -> Path:
    assert main(["--db", str(db_path), "extract", str(SAMPLE_FEED), "-j", "1", "-f", "jsonl"]) == 0
    capsys.readouterr()
    return db_path


def hostile_files(tmp: Path) -> None:
    rules = tmp / "rules"
    rules.mkdir()
    (rules / "bad.yaml").write_text("rules:\n  - id: x\n    triggers: [unclosed\n", encoding="utf-8")
    (tmp / "notes.duckdb").write_text("not a database\n" * 50, encoding="utf-8")
    (tmp / "cut.xml").write_text("<rss version='2.0'><channel><item><title>断", encoding="utf-8")


BAD_INVOCATIONS = {  # {db}: a database holding the sample; {tmp}: a directory with hostile_files
    "missing feed": "--db {db} extract {tmp}/nope.xml",
    "malformed feed": "--db {db} extract {tmp}/cut.xml",
    "ftp url": "--db {db} extract ftp://example.cn/feed.xml",
    "missing rules dir": f"--db {{db}} extract --rules {{tmp}}/no-rules {SAMPLE_FEED}",
    "broken rules": f"--db {{db}} extract --rules {{tmp}}/rules {SAMPLE_FEED}",
    "bad time zone": f"--db {{db}} extract --tz Mars/Olympus {SAMPLE_FEED}",
    "bad window": "--db {db} backtest --window five-days --offline",
    "bad estimation": "--db {db} backtest --estimation x:y --offline",
    "unknown model": "--db {db} backtest --model capm --offline",
    "unknown option": f"--db {{db}} extract --frobnicate {SAMPLE_FEED}",
    "missing db, read-only command": "--db {tmp}/absent.duckdb prices status",
    "not a duckdb file": "--db {tmp}/notes.duckdb prices status",
    "missing price file": "--db {db} prices load {tmp}/none.csv",
    "missing gold file": "eval {tmp}/gold.jsonl",
}


@pytest.mark.parametrize("case", list(BAD_INVOCATIONS))
def test_every_user_error_is_one_line_and_a_hint_with_exit_2(case: str, stored_db: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    hostile_files(tmp_path)
    code = main(BAD_INVOCATIONS[case].format(db=stored_db, tmp=tmp_path).split())
    lines = capsys.readouterr().err.splitlines()
    assert code == 2, lines
    assert lines and lines[0].startswith("error: ") and len(lines[0]) > len("error: "), lines
    assert all(line.startswith(("hint: ", "warning: ")) for line in lines[1:]), lines
    assert "unexpected" not in lines[0], lines  # a foreseen error, not the catch-all


@pytest.mark.parametrize("damage", ["truncated", "bit flips"])
def test_a_damaged_database_is_one_line_and_not_called_a_bug(damage: str, stored_db: Path,
                                                             capsys: pytest.CaptureFixture) -> None:
    """A file cut short (a copy taken half-way) failed every command with `unexpected IOException`
    and exit 3, as if signals had a bug; damaged blocks likewise (`unexpected Error`)."""
    data = stored_db.read_bytes()
    if damage == "truncated":
        stored_db.write_bytes(data[:len(data) // 2])
    else:  # every block after DuckDB's three 4 KB headers: their checksums no longer match
        stored_db.write_bytes(data[:12288] + bytes(b ^ 0xFF for b in data[12288:]))
    for argv in (["prices", "status"], ["extract", str(SMALL_FEED)], ["backtest", "--offline"]):
        code = main(["--db", str(stored_db), *argv])
        lines = capsys.readouterr().err.splitlines()
        assert code == 2, (argv, lines)
        assert lines[0].startswith("error: ") and "unexpected" not in lines[0], (argv, lines)
        assert "damaged" in lines[0] or "Corrupt database file" in lines[0], (argv, lines)
        assert lines[1:] == [f"hint: {DAMAGED_HINT}"], (argv, lines)


def test_a_locked_database_is_one_line_naming_the_holder(stored_db: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); sys.stdin.read()",
         str(stored_db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        for argv in (["extract", str(SMALL_FEED)], ["prices", "status"], ["backtest", "--offline"]):
            code = main(["--db", str(stored_db), *argv])
            err = capsys.readouterr().err.splitlines()
            assert code == 2
            assert err[0].startswith(f"error: database {stored_db} is in use by process {holder.pid}")
            assert err[1:] == ["hint: wait for it to finish, or use another --db; see docs/reliability.md"]
    finally:
        holder.communicate("")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    with pytest.raises(SignalsError, match="does not exist"):
        main(["--debug", "--db", str(tmp_path / "absent.duckdb"), "prices", "status"])
    proc = subprocess.run([sys.executable, "-c", "import sys; from signals.cli import main; sys.exit(main())",
                           "--debug", "--db", str(tmp_path / "absent.duckdb"), "prices", "status"],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "Traceback (most recent call last)" in proc.stderr and "StoreError" in proc.stderr


def test_an_unforeseen_failure_is_still_one_line(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture) -> None:
    import signals.api

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("division by zero\nsecond line")

    monkeypatch.setattr(signals.api, "lookup_entity", broken)
    assert main(["entities", "lookup", "茅台"]) == 3  # ExitCode.INTERNAL: a bug, not a user error
    assert capsys.readouterr().err.splitlines() == [
        "error: unexpected ZeroDivisionError: division by zero",
        "hint: run again with --debug for the traceback, and report it",
    ]


SLOW_FETCH_CHILD = textwrap.dedent("""
    import sys, time
    from signals import prices

    class Slow:  # a fetch that lasts: the progress bar is on the screen until Ctrl-C
        name = "yfinance"

        def fetch(self, tickers, start, end):
            time.sleep(120)
            return prices.FetchResult(prices.empty_frame(), {})

    prices.YFinanceSource = Slow
    from signals.console import run
    run()
""")


def terminal_screen(output: bytes) -> list[str]:
    """The lines a terminal shows after ``output``: text, carriage return, line feed, cursor up
    (`ESC [ n A`) and erase in line (`ESC [ K`, `ESC [ 2 K`); colours and cursor visibility ignored."""
    lines, row, col = [""], 0, 0
    for token in re.findall(rb"\x1b\[[0-9;?]*[A-Za-z]|\r|\n|[^\x1b\r\n]+", output):
        if token == b"\r":
            col = 0
        elif token == b"\n":
            row += 1
            lines += [""] * (row + 1 - len(lines))
        elif token.startswith(b"\x1b["):
            arg, code = token[2:-1], token[-1:]
            if code == b"A":
                row = max(0, row - int(arg or 1))
            elif code == b"K":
                lines[row] = "" if arg == b"2" else lines[row][:col]
        else:
            text, line = token.decode(), lines[row].ljust(col)
            lines[row] = line[:col] + text + line[col + len(text):]
            col += len(text)
    while lines and not lines[-1].strip():
        lines.pop()
    return [line.rstrip() for line in lines]


def test_ctrl_c_at_a_terminal_puts_the_message_where_the_progress_bar_was(tmp_path: Path) -> None:
    # Click wrote an empty line before `interrupted: …` for the terminal's `^C` echo; the progress bar
    # erases its own line (and that `^C`) when it stops, so the line stayed empty above the message.
    # Ctrl-C is typed into a real terminal (a pseudo-terminal) once the bar is drawn.
    command = [sys.executable, "-c", SLOW_FETCH_CHILD, "--db", str(tmp_path / "s.duckdb"), "prices", "fetch",
               "NVDA", "--start", "2026-01-05", "--end", "2026-01-09"]
    fd, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))
    # its own session, the terminal its controlling one: a typed Ctrl-C is a SIGINT to the command
    proc = subprocess.Popen(command, stdin=terminal, stdout=terminal, stderr=terminal, start_new_session=True,
                            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
                            env={**os.environ, "TERM": "xterm"})
    os.close(terminal)
    output, typed = b"", False
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if not select.select([fd], [], [], 1)[0]:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the command has gone, and the terminal with it
                break
            if not chunk:
                break
            output += chunk
            if not typed and b"fetching" in output:  # the bar is on the screen
                os.write(fd, b"\x03")
                typed = True
    finally:
        os.close(fd)
        if proc.poll() is None and time.monotonic() >= deadline:
            proc.kill()
        code = proc.wait(timeout=60)
    assert typed, output
    assert code == 130, output
    assert terminal_screen(output) == [
        "interrupted: the open transaction was rolled back; work already committed (extract's finished "
        "batches) stays, and running the command again finishes it"], output


MAIN_IGNORING_SIGINT = textwrap.dedent("""
    import os, signal, sys, threading, time
    from signals.cli import main

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the caller's choice: Ctrl-C does not stop it
    stop = threading.Event()

    def ctrl_c():
        while not stop.wait(0.02):
            os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=ctrl_c, daemon=True).start()
    code = main(sys.argv[1:])
    stop.set()
    print("still ignored" if signal.getsignal(signal.SIGINT) is signal.SIG_IGN else "changed", code)
""")


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("entry", ["console script", "main"])
def test_an_ignored_sigint_stays_ignored(entry: str, tmp_path: Path) -> None:
    # A job a shell starts with `&` has SIGINT ignored, and so has one under a wrapper that ignores it;
    # Python keeps it ignored, so a Ctrl-C meant for the foreground does not stop the job. The console
    # script and main put their own SIGINT handler in place regardless: such a job was interrupted
    # (exit 130, the open transaction rolled back, the rest of the feed never read).
    db = tmp_path / "s.duckdb"
    args = ["--db", str(db), "extract", str(SAMPLE_FEED), "-f", "jsonl", "-j", "1"]
    if entry == "main":
        command = [sys.executable, "-c", MAIN_IGNORING_SIGINT, *args]
    else:
        command = [str(installed_console_script()), *args]
    with open(tmp_path / "out", "w") as out_file, open(tmp_path / "err", "w") as err_file:
        proc = subprocess.Popen(command, stdout=out_file, stderr=err_file, preexec_fn=_ignore_sigint)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:  # Ctrl-C after Ctrl-C, start to end
            proc.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):  # the next one 20 ms on, unless it ended
                proc.wait(timeout=0.02)
        proc.wait(timeout=5)
    out, err = (tmp_path / "out").read_text(), (tmp_path / "err").read_text()
    assert "interrupted" not in err, err
    assert proc.returncode == 0, err
    assert "52 articles read (52 new" in err
    if entry == "main":
        assert out.splitlines()[-1] == "still ignored 0"


# The console script (`signals.console:run`) leaves through os._exit after main: what it wrote must all
# be there, the database closed cleanly (no write-ahead log left), and the exit code main's.
RUN = "import sys; from signals.console import run; sys.argv[0] = 'signals'; run()"


def test_the_console_script_exits_fast_without_losing_output(tmp_path: Path) -> None:
    db, out = tmp_path / "s.duckdb", tmp_path / "events.jsonl"
    done = subprocess.run([sys.executable, "-c", RUN, "--db", str(db), "extract", str(SAMPLE_FEED),
                           "-f", "jsonl", "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "52 articles read" in done.stderr
    assert not Path(f"{db}.wal").exists()
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.execute("SELECT count(*) FROM events").fetchone()[0]
    assert len(out.read_text(encoding="utf-8").splitlines()) == stored > 100
    printed = subprocess.run([sys.executable, "-c", RUN, "--db", str(db), "extract", str(SAMPLE_FEED),
                              "--dry-run", "-f", "jsonl"], capture_output=True, text=True, timeout=300)
    assert printed.returncode == 0 and len(printed.stdout.splitlines()) == stored  # through a pipe


def test_the_console_script_keeps_main_exit_codes(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", RUN, "--db", str(tmp_path / "s.duckdb"), "extract",
                           str(tmp_path / "missing.xml")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "no such file" in done.stderr


def test_a_reader_that_goes_away_does_not_cost_the_work_or_the_summary(tmp_path: Path) -> None:
    # `signals extract feed | head -1`: the pipe closes after one line; extract still stores every
    # event and prints its summary on stderr, and exits 0 (it exited 1 in silence)
    db = tmp_path / "s.duckdb"
    proc = subprocess.Popen([sys.executable, "-c", RUN, "--db", str(db), "extract", str(SAMPLE_FEED),
                             "-f", "jsonl"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()  # what head does after its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0, err
    assert first.startswith(b'{"published_utc"')
    assert "BrokenPipe" not in err and "events stored" in err
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] > 100


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_under_the_output_is_a_clean_error(tmp_path: Path) -> None:
    # the rows cannot be written: one line and exit 2 (it was 'unexpected OSError', exit 3), and
    # what extract stored stays
    db = tmp_path / "s.duckdb"
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-c", RUN, "--db", str(db), "extract", str(SAMPLE_FEED),
                               "-f", "jsonl"], stdout=full, stderr=subprocess.PIPE, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: cannot write <stdout>: No space left on device")
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] > 100
    done = subprocess.run([sys.executable, "-c", RUN, "rules", "list", "-f", "csv", "-o", "/dev/full"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "error: cannot write /dev/full: No space left on device" in done.stderr
    with open("/dev/full", "w") as full:  # rules test prints its lines through the same guard
        done = subprocess.run([sys.executable, "-c", RUN, "rules", "test", "-v"], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=300)
    assert done.returncode == 2 and "error: cannot write <stdout>: No space left on device" in done.stderr


def test_a_locale_that_is_not_utf8_still_prints_chinese(tmp_path: Path) -> None:
    # LC_ALL=C with UTF-8 mode off (or a Latin-1 locale): every table, jsonl or csv with a Chinese
    # character failed with `unexpected UnicodeEncodeError`, exit 3, and `entities lookup 茅台` looked
    # up the surrogate escapes Python had read argv as
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "PYTHONIOENCODING"))}
    env.update(LC_ALL="C", PYTHONUTF8="0")
    probe = subprocess.run([sys.executable, "-c", "import sys; print(sys.stdout.encoding)"], env=env,
                           capture_output=True, text=True)
    if probe.stdout.strip().lower() in ("utf-8", "utf8"):
        pytest.skip("this Python writes UTF-8 under LC_ALL=C whatever PYTHONUTF8 says")
    db = tmp_path / "s.duckdb"
    for argv, needle in [
            (["extract", str(SAMPLE_FEED), "-f", "jsonl"], '"subject": "美联储"'),
            (["--db", str(db), "extract", str(SMALL_FEED), "--dry-run", "-f", "table"], "┃"),
            (["rules", "list", "-f", "csv"], "降息"),
            (["entities", "lookup", "茅台", "-f", "csv"], "600519.SS,贵州茅台,equity"),
            (["entities", "find", "贵州茅台大涨", "-f", "jsonl"], '"name": "贵州茅台"')]:
        argv = argv if argv[0] == "--db" else ["--db", str(db), *argv]
        done = subprocess.run([sys.executable, "-c", RUN, *argv], env=env, capture_output=True, timeout=300)
        assert done.returncode == 0, (argv, done.stderr.decode(errors="replace"))
        assert needle in done.stdout.decode("utf-8"), argv



def test_a_chinese_locale_keeps_its_encoding(tmp_path: Path) -> None:
    # 527bbae wrote stdout in UTF-8 under every locale that is not UTF-8, and read text arguments as
    # UTF-8 bytes. Under zh_CN.GBK (or PYTHONIOENCODING=gbk), which printed Chinese as it should, the
    # terminal then showed `璐靛窞鑼呭彴` for 贵州茅台, and `entities lookup 茅台` typed in GBK
    # (bytes c3 a9 cc a8, valid UTF-8 too) answered `no instrument is named 'é\u0328'`
    db = tmp_path / "s.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "PYTHONIOENCODING"))}
    env.update(LC_ALL="C.UTF-8", PYTHONIOENCODING="gbk")
    done = subprocess.run([sys.executable, "-c", RUN, "--db", str(db), "entities", "lookup", "茅台", "-f",
                           "csv"], env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "600519.SS,贵州茅台,equity" in done.stdout.decode("gbk")
    locales = tmp_path / "locales"
    locales.mkdir()
    made = subprocess.run(["localedef", "-i", "zh_CN", "-f", "GBK", str(locales / "zh_CN.GBK")],
                          capture_output=True) if shutil.which("localedef") else None
    if made is None or made.returncode != 0:
        pytest.skip("no localedef, or no zh_CN / GBK definitions, to make a GBK locale")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "PYTHONIOENCODING"))}
    env.update(LOCPATH=str(locales), LC_ALL="zh_CN.GBK", PYTHONUTF8="0")
    for argv, needle in [
            (["entities", "lookup", "茅台".encode("gbk"), "-f", "csv"], "600519.SS,贵州茅台,equity"),
            (["entities", "find", "贵州茅台大涨".encode("gbk"), "-f", "jsonl"], '"name": "贵州茅台"'),
            (["rules", "list", "-f", "csv"], "降息")]:
        done = subprocess.run([sys.executable, "-c", RUN, "--db", str(db), *argv], env=env,
                              capture_output=True, timeout=300)
        assert done.returncode == 0, (argv, done.stderr.decode("gbk", errors="replace"))
        assert needle in done.stdout.decode("gbk"), argv


def test_a_stderr_that_cannot_be_written_costs_the_messages_not_the_command(tmp_path: Path,
                                                                            sample_events: int) -> None:
    # `signals extract feed 2>&1 | head -1`: the summary met a closed pipe and the BrokenPipeError
    # ended the command with exit 1 (as if it had findings) and no word; `2>/dev/full` likewise
    db = tmp_path / "s.duckdb"
    proc = subprocess.Popen([sys.executable, "-c", RUN, "--db", str(db), "extract", str(SAMPLE_FEED),
                             "-f", "jsonl"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    first = proc.stdout.readline()
    proc.stdout.close()  # what head does after its line
    assert proc.wait(timeout=300) == 0
    assert first.startswith(b'{"published_utc"')
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-c", RUN, "--db", str(tmp_path / "t.duckdb"), "extract",
                               str(SAMPLE_FEED), "-f", "jsonl"], stdout=subprocess.PIPE, stderr=full,
                              timeout=300)
    assert done.returncode == 0 and len(done.stdout.splitlines()) == sample_events
    with open("/dev/full", "w") as full:  # an error still exits 2, unheard
        done = subprocess.run([sys.executable, "-c", RUN, "extract", str(tmp_path / "missing.xml")],
                              stderr=full, timeout=300)
    assert done.returncode == 2
    for name in ("s.duckdb", "t.duckdb"):
        with duckdb.connect(str(tmp_path / name), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM events").fetchone()[0] == sample_events


class _GoneStderr:
    """A stderr whose reader has gone: every write fails."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_each_command_tries_stderr_again(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
                                         tmp_path: Path) -> None:
    # a stderr that failed once silences the rest of the process (say() gives up on it) until
    # reset_stream_state(), the options module's public call, which main makes for every command
    from signals.cli.options import reset_stream_state, say

    real = sys.stderr
    monkeypatch.setattr(sys, "stderr", _GoneStderr())
    say("lost")  # gives stderr up
    monkeypatch.setattr(sys, "stderr", real)
    say("also lost")
    assert capsys.readouterr().err == ""
    reset_stream_state()
    say("heard")
    assert capsys.readouterr().err == "heard\n"
    monkeypatch.setattr(sys, "stderr", _GoneStderr())
    say("lost")
    monkeypatch.setattr(sys, "stderr", real)
    assert main(["--db", str(tmp_path / "absent.duckdb"), "prices", "status"]) == 2
    assert capsys.readouterr().err.startswith(f"error: database {tmp_path / 'absent.duckdb'} does not exist")


@pytest.mark.parametrize("closed", [0, 1, 2])
def test_a_command_started_without_a_standard_descriptor_runs(tmp_path: Path, closed: int,
                                                              sample_events: int) -> None:
    # `signals extract feed >&-` (or 2>&-, <&-): Python sets sys.stdout to None, and the command failed
    # after its work with `unexpected AttributeError: 'NoneType' object has no attribute 'write'`
    # (exit 3); the database file could have been given the free descriptor
    db = tmp_path / "s.duckdb"
    pipes = {0: {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}, 1: {"stderr": subprocess.PIPE},
             2: {"stdout": subprocess.PIPE}}[closed]
    done = subprocess.run([sys.executable, "-c", RUN, "--db", str(db), "extract", str(SAMPLE_FEED), "-f",
                           "jsonl"], preexec_fn=lambda: os.close(closed), timeout=300, **pipes)
    assert done.returncode == 0, done.stderr
    if closed != 1:
        assert len(done.stdout.splitlines()) == sample_events
    if closed != 2:
        assert f"{sample_events} events stored".encode() in done.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] == sample_events


def installed_console_script() -> Path:
    script = Path(sys.executable).parent / "signals"
    assert script.is_file(), f"{script}: the console script is not installed (pip install -e .)"
    return script


def test_the_console_script_is_the_entry_module_that_guards_the_imports() -> None:
    # the installed script is what pyproject.toml declares, not a stale signals.cli:run
    assert "from signals.console import run" in installed_console_script().read_text(encoding="utf-8")


def imported_modules(args: list[str]) -> list[tuple[str, float]]:
    """The modules ``signals ARGS`` imports, in the order Python's `-X importtime` lists them (each
    once its own import is done), with the seconds each took by itself."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run([str(installed_console_script()), *args], env=env, capture_output=True, text=True,
                          timeout=300)
    return [(line.split("|")[-1].strip(), int(line.split("|")[0].split(":")[1]) / 1e6)
            for line in done.stderr.splitlines() if line.startswith("import time:") and "self" not in line]


@pytest.mark.parametrize("phase", ["cli", "duckdb"])
def test_a_ctrl_c_while_the_cli_is_imported_is_one_line_and_exit_130(phase: str, tmp_path: Path) -> None:
    # A Ctrl-C in the first ~50 ms (while `signals.cli` and click were imported, at the script's top
    # level) printed Python's KeyboardInterrupt traceback and died by SIGINT; one while the command
    # first imported DuckDB (its extension module, `_duckdb`, ~10 ms) aborted the process (`Critical
    # nanobind error`, SIGABRT) when it landed in the last quarter or so of that import, or ended as
    # `unexpected RuntimeError` (exit 3) or was dropped (exit 0). The real console script is interrupted
    # 0-12 ms after it has imported click, the first thing the command line imports (~30 ms before that
    # import ends), or while `_duckdb` is imported: after the module imported just before it, within
    # 1.2 times what `_duckdb` took by itself (before the fix each of 3 runs failed). Python's own `-X
    # importtime` (PYTHONPROFILEIMPORTTIME) says on stderr when each import is done, so the signal is
    # never sent during the interpreter's own start-up, before any line of signals runs (see
    # docs/reliability.md).
    command = ["extract", str(SAMPLE_FEED), "-f", "jsonl", "-j", "1"]
    if phase == "cli":
        after, delay = "click", 0.012
        expected = "interrupted before the command started: nothing was read or written"
    else:
        order = imported_modules(["--db", str(tmp_path / "order.duckdb"), *command])
        at = [name for name, _ in order].index("_duckdb")
        after, delay = order[at - 1][0], 1.2 * order[at][1]
        expected = "interrupted: the open transaction was rolled back; work already committed"
    script, rng = installed_console_script(), random.Random(20260129)
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    # on a busy machine this process may read the import line late and the Ctrl-C then lands once
    # the command has started: that too must be one line and 130, but most attempts must hit the window
    started = "interrupted: the open transaction was rolled back; work already committed"
    in_window = 0
    for attempt in range(20):
        db = tmp_path / f"s{attempt}.duckdb"
        proc = subprocess.Popen([str(script), "--db", str(db), *command],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if line.split("|")[-1].strip() == after:
                break
        else:
            pytest.fail(f"{after} was never imported: {''.join(lines)}")
        time.sleep(rng.uniform(0, delay) if attempt else 0)
        proc.send_signal(signal.SIGINT)
        out, rest = proc.communicate(timeout=120)
        err = [line for line in "".join(lines).splitlines() + rest.splitlines()
               if line.strip() and not line.startswith("import time:")]  # a progress line ends first
        assert "Traceback" not in rest and "Fatal" not in rest and "Critical" not in rest, rest
        assert proc.returncode == 130 and len(err) == 1 and err[0].startswith((expected, started)), rest
        assert out == ""
        if err[0].startswith(expected):
            in_window += 1
            if phase == "cli":
                assert not db.exists()
    assert in_window >= 10
