"""The `signals` console script (``[project.scripts]`` in pyproject.toml points here).

Python turns Ctrl-C into ``KeyboardInterrupt`` from the moment it starts, but ``signals.cli.main``
handles it only once click runs a command. The script used to be ``signals.cli:run``, whose import
(click, the command modules: ~50 ms) ran at the script's top level, outside any handler: a Ctrl-C
in that time printed Python's own ``KeyboardInterrupt`` traceback and died by SIGINT. This module
imports nothing at its top level but what the interpreter has loaded before it runs a script, so its
handler is in place before anything slow is imported; it also covers ``main``'s first steps and the
exit after it: one line on stderr and exit 130, as ``main`` does.

What it cannot cover is the interpreter's own start-up (~5 ms: ``io``, ``site``) before the script's
first line: a Ctrl-C there is Python's (see docs/reliability.md).
"""

import _signal  # builtin and loaded at start-up; `signal` wraps it in enums (importing enum: unguarded)
import os
import sys

_NOT_STARTED = "interrupted before the command started: nothing was read or written"
_FINISHED = "interrupted while signals was exiting: the command had finished (exit {code})"

_RECEIVED: list[int] = []  # a SIGINT received while the command line was imported


def in_import_or_finalizer(frame) -> bool:
    """Whether a signal handler called with ``frame`` runs inside an import or a finalizer, where a
    KeyboardInterrupt it raised would not end the command cleanly: DuckDB's extension module aborts
    the process when one interrupts its initialisation (`Critical nanobind error: …
    enum_create("FunctionNullHandling")`, SIGABRT); Python 3.11 turns one raised in a class body's
    ``__set_name__`` into a RuntimeError; and one raised in a ``__del__`` or a weakref callback
    (importlib's module locks) is printed with a traceback (`Exception ignored in: …`) and dropped,
    and the command ran on to its end."""
    while frame is not None:
        code = frame.f_code
        if code.co_name == "__del__" or code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _on_sigint(signum, frame):
    """Python's own handler (raise KeyboardInterrupt), except inside an import, where it is only
    noted: ``run`` raises it as soon as the command line's import is done."""
    _RECEIVED.append(signum)
    if not in_import_or_finalizer(frame):
        raise KeyboardInterrupt


def run():  # never returns; no annotation: `typing` is no start-up module (~4 ms unguarded)
    code = None
    try:
        if _signal.getsignal(_signal.SIGINT) is not _signal.SIG_IGN:  # ignored (`cmd &`): stays so
            _signal.signal(_signal.SIGINT, _on_sigint)  # main puts its own in place while it runs
        from signals.cli import leave, main  # click and the command modules

        if _RECEIVED:
            raise KeyboardInterrupt
        code = main()
        leave(code)
    except KeyboardInterrupt:
        pass
    _interrupted(code)


def _interrupted(code):
    """Only a Ctrl-C that ``main``'s own handling did not see gets here: before the command ran (no
    database was opened) or after it returned (everything it wrote is committed)."""
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)  # a second Ctrl-C no longer prints a traceback
    line = _NOT_STARTED if code is None else _FINISHED.format(code=code)
    for stream in (sys.stdout, sys.stderr):  # what the command printed before it goes out first
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # a closed pipe, a stream never set up: the line still goes to descriptor 2
            pass
    start = "\r" if os.isatty(2) else ""  # on a terminal over its `^C` echo, as main's message
    try:  # noqa: SIM105 (contextlib may not be imported yet)
        os.write(2, f"{start}{line}\n".encode())
    except OSError:  # no stderr (`2>&-`) or a reader that went away: the exit code still says it
        pass
    os._exit(130)
