"""One exception hierarchy for every user-facing failure.

Library code raises these; only the CLI edge turns them into a one-line message
and a named exit code (see ``ExitCode``). Anything else escaping is a bug.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1  # the command ran and found failures (failing rule cases, lint errors)
    USAGE = 2  # bad input, configuration, locked database, network
    INTERNAL = 3  # a bug: an exception signals did not foresee (run with --debug and report it)


class SignalsError(Exception):
    """Base class: ``str(err)`` is the one-line message, ``hint`` says what to do."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class FeedError(SignalsError):
    """A feed could not be read or parsed. ``source`` names the file or URL."""

    def __init__(self, message: str, *, source: str, line: int | None = None, hint: str | None = None):
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {message}", hint=hint)
        self.source = source
        self.line = line


class RuleFileError(SignalsError):
    """A rule file is invalid; carries path, line and column for ``file:line: message`` output."""

    def __init__(self, message: str, *, path: str, line: int | None = None, column: int | None = None,
                 hint: str | None = None):
        where = path + (f":{line}" if line else "") + (f":{column}" if line and column else "")
        super().__init__(f"{where}: {message}", hint=hint)
        self.path = path
        self.line = line
        self.column = column


class ReferenceDataError(SignalsError):
    """Instrument / alias reference data is missing or inconsistent."""


class StoreError(SignalsError):
    """The DuckDB file cannot be used (not a database, newer schema, read-only …)."""


# What DuckDB says when the file's blocks are not what it wrote: a failed checksum, or a file cut
# short (a copy taken half-way, a full disk, a crash of the file system)
_DAMAGED = ("Corrupt database file", "Could not read enough bytes from file")
DAMAGED_HINT = ("DuckDB cannot repair a damaged file: restore a copy of it, or start a new --db and "
                "extract the feeds again")


def damaged_database(exc: BaseException) -> StoreError | None:
    """A ``StoreError`` when ``exc`` says the database file is damaged, else None. Such errors reach
    any query: they were reported as a bug (``unexpected Error``, exit 3)."""
    text = str(exc)
    if not any(marker in text for marker in _DAMAGED):
        return None
    return StoreError(f"the database file is damaged: {text.strip().splitlines()[0]}", hint=DAMAGED_HINT)


class StoreLockedError(StoreError):
    """Another process holds the DuckDB file."""


class PriceError(SignalsError):
    """Prices could not be fetched or loaded."""


class CalendarRangeError(SignalsError):
    """A date lies outside what an exchange calendar (and the price data) can tell."""


class StudyError(SignalsError):
    """The event study cannot run with the given parameters or data."""


class NothingStudiedError(StudyError):
    """The study ran but no event-instrument pair could be studied; ``dropped`` counts the pairs
    per drop reason (empty when there was no pair at all)."""

    def __init__(self, message: str, *, hint: str | None = None, dropped: dict[str, int] | None = None):
        super().__init__(message, hint=hint)
        self.dropped = dropped or {}


class Interrupted(KeyboardInterrupt):
    """Ctrl-C after part of the work was committed; ``kept`` says what stays (for the CLI's message)."""

    def __init__(self, kept: str) -> None:
        super().__init__(kept)
        self.kept = kept


def is_interrupt(exc: BaseException) -> bool:
    """Ctrl-C, also when it arrived inside a DuckDB query, which raises RuntimeError('Query
    interrupted') instead of KeyboardInterrupt, or in code whose caller wraps what it raises: Python
    3.11 turns a KeyboardInterrupt raised in a ``__set_name__`` (a class body of a module being
    imported, such as ipaddress's) into `RuntimeError: Error calling __set_name__ …` caused by it."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:  # `raise e from e` makes the chain a loop
        seen.add(id(exc))
        if isinstance(exc, KeyboardInterrupt) or (
                isinstance(exc, RuntimeError) and str(exc).startswith("Query interrupted")):
            return True
        exc = exc.__cause__
    return False
