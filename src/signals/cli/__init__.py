"""The `signals` command line: thin commands over `signals.api`.

Each command parses options, calls one library function and renders the result. Errors from the
library (`SignalsError`) become one line plus a hint on stderr and a named exit code; `--debug`
shows the traceback instead.
"""

from __future__ import annotations

import atexit
import codecs
import contextlib
import contextvars
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any, NoReturn

import click

from signals import __version__
from signals.cli.options import ENCODING_SUPERSETS, holds_chinese, reset_stream_state, say
from signals.console import in_import_or_finalizer
from signals.errors import ExitCode, Interrupted, SignalsError, damaged_database, is_interrupt


def _db_path(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not value.strip():  # "" would open the working directory: "cannot open .: Is a directory"
        raise click.BadParameter("is empty: give the path of a DuckDB file", ctx=ctx, param=param)
    return value


class _Stopped(BaseException):
    """A Ctrl-C or SIGTERM (``interrupt``) carried through click's ``main``. Click turns a
    KeyboardInterrupt into ``Abort`` and first writes an empty line to stderr (for the terminal's
    ``^C`` echo): an empty line before `interrupted: …` in a pipe or a log, where no ``^C`` is, and
    after a progress bar, which has erased its own line. ``_interrupted`` starts the line itself."""

    def __init__(self, interrupt: KeyboardInterrupt) -> None:
        super().__init__()
        self.interrupt = interrupt


# Whether the group's ``main`` running now hands a KeyboardInterrupt back to its caller (not standalone)
_CARRY: contextvars.ContextVar[bool] = contextvars.ContextVar("signals_cli_carry", default=False)


class _Group(click.Group):
    """The command line's group: a KeyboardInterrupt passes click's ``main`` as ``_Stopped`` (no
    Exception: nothing in click catches it) and leaves ``main`` as itself again. Only when ``main``
    hands it back (``standalone_mode=False``, as ``_main`` calls it): standalone (``cli()``, click's
    CliRunner) click ends it as it ends any Ctrl-C, `Aborted!` and exit 1. Carried there too, it
    left ``cli()`` as a KeyboardInterrupt with a traceback, and a CliRunner's caller (a test run)
    was interrupted."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        standalone = kwargs.get("standalone_mode", args[3] if len(args) > 3 else True)
        token = _CARRY.set(not standalone)
        try:
            return super().main(*args, **kwargs)
        except _Stopped as stop:
            raise stop.interrupt from None
        finally:
            _CARRY.reset(token)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt as exc:
            if not _CARRY.get():
                raise
            raise _Stopped(exc) from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            if not _CARRY.get():
                raise
            raise _Stopped(exc) from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db", type=click.Path(dir_okay=False), envvar="SIGNALS_DB", default="signals.duckdb",
              show_default=True, callback=_db_path, help="DuckDB file to read and write (env SIGNALS_DB).")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(__version__, prog_name="signals")
@click.pass_context
def cli(ctx: click.Context, db: str, debug: bool) -> None:
    """Turn Chinese financial news into market events and test them against prices.

    \b
    Quick start:
      signals extract data/sample/wallstreetcn-2026-01-29.xml
      signals prices load data/sample/prices/
      signals backtest --window 5d --offline
    """
    ctx.obj = {"db": db, "debug": debug}


def _register() -> None:
    # imported here so each command module stays small and `signals --help` stays fast
    from signals.cli import backtest, entities, evaluate, extract, prices, rules

    for module in (extract, backtest, prices, rules, entities, evaluate):
        cli.add_command(module.command)


_register()


def run() -> NoReturn:
    """``main``, then leave without tearing the interpreter down. The console script is
    ``signals.console:run``, which does the same with a Ctrl-C handler around this module's import."""
    leave(main())


def leave(code: int) -> NoReturn:
    """Exit with ``code`` without tearing the interpreter down.

    Freeing what a command loaded (the linker's ~38,000 aliases, the compiled rulebook, pandas) took
    ~0.5 s of every command. By the time ``main`` returns, files and the database are closed (context
    managers); exit handlers still run and the standard streams are flushed here. While another
    thread is still running, the normal exit waits for it instead.

    A Ctrl-C while the exit handlers run is held back until they are done and then raised: raised in
    one, Python printed it as `Exception ignored in atexit callback` with a traceback and dropped it."""
    if any(t is not threading.main_thread() and not t.daemon for t in threading.enumerate()):
        sys.exit(code)
    held: list[int] = []
    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # a job started with `&`: stays so
    previous = None if ignored else signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        atexit._run_exitfuncs()
    finally:
        if not ignored:
            signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)
    if held:
        raise KeyboardInterrupt
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a reader that went away (| head) gets nothing more
            stream.flush()
    os._exit(code)


def _interrupted(exc: KeyboardInterrupt) -> int:
    # extract commits batch by batch: what it committed stays, the open batch is rolled back
    what = _start_of_line() + ("terminated (SIGTERM)" if _TERMINATED else "interrupted")
    if isinstance(exc, Interrupted):
        say(f"{what}: the open transaction was rolled back; {exc.kept}")
    else:
        say(f"{what}: the open transaction was rolled back; work already committed (extract's finished "
            "batches) stays, and running the command again finishes it")
    return int(128 + signal.SIGTERM) if _TERMINATED else 130


def _start_of_line() -> str:
    """What puts the interrupt's message at the start of its line: on a terminal a carriage return.
    The terminal echoed Ctrl-C (`^C`) where the cursor was: at the start of a line (every line
    signals writes is whole), or at the end of a progress bar, which has erased its line since and
    left the cursor at its start; the message is written over the `^C`. Elsewhere (a pipe, a log)
    nothing: no `^C` is there."""
    try:
        return "\r" if sys.stderr is not None and sys.stderr.isatty() else ""
    except (AttributeError, ValueError, OSError):  # a stream without isatty, or closed
        return ""


def _closed_streams_to_devnull() -> None:
    """Standard descriptors the command was started without (`signals ... >&-`, a daemon) become
    /dev/null, as they are for print(). Python left sys.stdout None (`unexpected AttributeError:
    'NoneType' object has no attribute 'write'`, exit 3, after the work), and the database file
    opened next could get descriptor 1 or 2, where a stray write would land in it."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            if os.open(os.devnull, os.O_RDWR) == fd:  # the lowest free descriptor: this one
                setattr(sys, name, open(fd, "r" if fd == 0 else "w", encoding="utf-8", closefd=False))  # noqa: SIM115 (for good)


def _payload_in_utf8() -> None:
    """Write stdout in UTF-8, as ``-o FILE`` does, under a locale whose encoding cannot hold Chinese
    (LC_ALL=C with PYTHONUTF8=0, a Latin-1 locale): the first Chinese character of any table, jsonl or
    csv failed with `unexpected UnicodeEncodeError`, exit 3. A locale that holds it (zh_CN.GBK, a
    Chinese Windows pipe) keeps its encoding: its terminal showed UTF-8 as `璐靛窞鑼呭彴`; GBK is
    written as GB 18030, the same bytes for every GBK character. Stderr needs nothing: Python writes
    what its encoding lacks there as backslash escapes."""
    encoding = getattr(sys.stdout, "encoding", None)
    with contextlib.suppress(LookupError, AttributeError, ValueError, OSError):
        if not encoding:
            return
        name = codecs.lookup(encoding).name
        target = ENCODING_SUPERSETS.get(name, name) if holds_chinese(name) else "utf-8"
        if target != name:
            sys.stdout.reconfigure(encoding=target)  # type: ignore[union-attr]


_TERMINATED: list[int] = []  # the SIGTERM main received, if any
_RESENDING: list[int] = []  # signals sent again, not yet handled


def _on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM (`kill`, `timeout`, a service manager stopping a job) ends a command as Ctrl-C does:
    the open transaction is rolled back and what extract committed is finished and printed. Without
    it Python died at once: exit -15, no message, and the events of committed batches were never
    printed (a re-run skips their articles) with their days 0 unset. Raised once: a second SIGTERM
    during that cleanup is ignored (SIGKILL still ends it). Not in a finalizer or an import: see
    ``_resent_later``."""
    if _TERMINATED or _resent_later(signum, frame):
        return
    _TERMINATED.append(signum)
    raise KeyboardInterrupt


def _on_sigint(signum: int, frame: Any) -> None:
    """Ctrl-C: Python's own handler (raise KeyboardInterrupt), but not in a finalizer or an import."""
    if not _resent_later(signum, frame):
        raise KeyboardInterrupt


def _resent_later(signum: int, frame: Any) -> bool:
    """Send the signal again 50 ms later, to be handled once the finalizer or import it landed in has
    returned (raised from the handler it would be handled at once, in there). Raised in a ``__del__``
    it was printed (`Exception ignored in: <function Group.__del__>`, the regex module's, while the
    rulebook compiles) and dropped, and the command ran to its end, deaf to a later SIGTERM; raised
    while DuckDB's extension module initialises (the first `import duckdb`, inside a command) it
    aborted the process (`Critical nanobind error`, SIGABRT). See
    ``signals.console.in_import_or_finalizer``."""
    if not in_import_or_finalizer(frame):
        return False
    if signum not in _RESENDING:  # one at a time: a second Ctrl-C meanwhile is the same request
        _RESENDING.append(signum)
        timer = threading.Timer(0.05, _resend, (signum,))
        timer.daemon = True
        timer.start()
    return True


def _resend(signum: int) -> None:
    with contextlib.suppress(ValueError):
        _RESENDING.remove(signum)  # before the signal: its handler may have to send it again
    os.kill(os.getpid(), signum)


@contextlib.contextmanager
def _interrupt_handlers() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return
    _TERMINATED.clear()
    _RESENDING.clear()
    previous = [(sig, signal.getsignal(sig)) for sig in (signal.SIGINT, signal.SIGTERM)]
    try:
        # an ignored signal stays ignored, as Python keeps it: SIGINT in a job a shell starts with `&`,
        # SIGTERM under a parent that ignores it (`trap '' TERM`, a supervisor), either by a caller's
        # choice. Installed regardless, a Ctrl-C meant for the foreground interrupted the job, and a
        # SIGTERM its parent meant to be ignored ended it (exit 143)
        for sig, handler in ((signal.SIGTERM, _on_sigterm), (signal.SIGINT, _on_sigint)):
            if signal.getsignal(sig) is not signal.SIG_IGN:
                signal.signal(sig, handler)
        yield
    finally:
        for sig, handler in previous:
            if handler is not None:  # None: set outside Python, left alone
                signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    """Console entry point (the script calls ``sys.exit(main())``): run, map errors to exit codes."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    _closed_streams_to_devnull()
    reset_stream_state()
    _payload_in_utf8()
    with _interrupt_handlers():
        return _main(argv, debug)


def _main(argv: list[str] | None, debug: bool) -> int:
    try:
        # standalone_mode=False: click returns the code of a command's `Exit(n)` instead of raising it
        code = cli.main(args=argv, prog_name="signals", standalone_mode=False)
    except SignalsError as exc:
        if debug:
            raise
        say(f"error: {exc}")
        if exc.hint:
            say(f"hint: {exc.hint}")
        return int(exc.exit_code)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:  # bad option or argument: one line, like every other error
        if debug:
            raise
        say(f"error: {exc.format_message()}")
        ctx = getattr(exc, "ctx", None)
        say(f"hint: see `{ctx.command_path if ctx else 'signals'} --help`")
        return int(ExitCode.USAGE)
    except click.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):  # click turns Ctrl-C in a command into Abort
            return _interrupted(exc.__context__)
        say("aborted")
        return int(ExitCode.FINDINGS)
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except Exception as exc:  # a bug, or a failure nobody foresaw: still one line without --debug
        if is_interrupt(exc):  # Ctrl-C inside a DuckDB query
            return _interrupted(KeyboardInterrupt())
        if debug:
            raise
        if (damaged := damaged_database(exc)) is not None:  # not a bug of signals: the file's
            say(f"error: {damaged}")
            say(f"hint: {damaged.hint}")
            return int(damaged.exit_code)
        first_line = (str(exc).strip().splitlines() or [""])[0]
        say(f"error: unexpected {type(exc).__name__}: {first_line}")
        say("hint: run again with --debug for the traceback, and report it")
        return int(ExitCode.INTERNAL)
    return code if isinstance(code, int) else int(ExitCode.OK)
