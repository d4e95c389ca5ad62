"""Option decorators shared by commands, defined once."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import click

from signals.errors import SignalsError
from signals.output import FORMATS, default_format

NETWORK_HINT = ("hint: no ticker could be fetched: check the network, or load prices with "
                "`signals prices load FILE` and run with --offline")


def in_existing_directory(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A file option's directory must exist and be writable, and the file must not be the database,
    before the command works: the file is written at the end (or at the first row), and failing
    there would waste the run. Returns the path with ``~`` expanded, the one that was checked and
    will be written."""
    if value is None or value == "-":
        return value
    path = Path(value).expanduser()
    if not path.parent.is_dir():
        raise click.BadParameter(f"directory {str(path.parent)!r} does not exist", ctx=ctx, param=param)
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise click.BadParameter(f"directory {str(path.parent)!r} is not writable", ctx=ctx, param=param)
    db = (ctx.find_root().obj or {}).get("db")  # the group's callback has run: --db is known
    if db and same_file(path, Path(db).expanduser()):
        raise click.BadParameter(f"{value!r} is the database (--db): writing rows there would destroy it",
                                 ctx=ctx, param=param)
    return str(path)


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (through links and relative spellings); False if either is missing."""
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def refuse_to_overwrite_inputs(output: str | None, inputs: tuple[str, ...]) -> None:
    """-o naming one of the command's input files would truncate it before it is read."""
    if output is None or output == "-":
        return
    for name in inputs:
        if same_file(Path(output), Path(name).expanduser()):
            raise click.UsageError(f"-o {output!r} is an input file: writing there would destroy it")


def output_options(func: Callable) -> Callable:
    """--format/-f and --output/-o for every command that prints rows."""
    func = click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
                        callback=in_existing_directory,
                        help="Write the rows to this file instead of stdout.")(func)
    func = click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default=None,
                        help="Output format (default: table on a terminal, jsonl when piped).")(func)
    return func


# What a locale's encoding must hold for its text to be kept as it is: GBK (zh_CN.GBK, Chinese Windows)
# does; ASCII (LC_ALL=C), Latin-1 and Big5 do not
_CHINESE_PROBE = "贵州茅台股价大涨，。"
# A GBK locale is kept, its output in GB 18030: the same bytes for every GBK character, and any other
# character (an emoji in a headline) written instead of failing
ENCODING_SUPERSETS = {"gbk": "gb18030", "gb2312": "gb18030"}


def holds_chinese(encoding: str | None) -> bool:
    try:
        _CHINESE_PROBE.encode(encoding or "ascii")
    except (LookupError, UnicodeError):
        return False
    return True


def text_argument(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A text argument as typed. Under a locale whose encoding cannot hold Chinese Python decodes argv
    as ASCII with surrogate escapes (`entities lookup 茅台` looked up '\\udce8\\udc8c…'): those bytes
    are read as UTF-8, and kept as Python read them when they are not UTF-8. Under a locale that holds
    Chinese (UTF-8, GBK) Python read them right: 茅台 typed in GBK is also valid UTF-8 (é and a
    combining mark), which the lookup did not find."""
    if holds_chinese(sys.getfilesystemencoding()):
        return value
    try:
        return os.fsencode(value).decode("utf-8")
    except UnicodeError:
        return value


class _Output:
    """Where payload rows go. A write that fails is one clean error (a full disk: "cannot write
    <stdout>: No space left on device", exit 2), not an unexpected OSError. On stdout, once its
    reader has gone (``| head``), writes are dropped instead: the command finishes its work (what
    extract stores, the study run) and still prints its summary on stderr."""

    def __init__(self, stream: IO[str], name: str) -> None:
        self._stream, self._name = stream, name
        self.reader_gone = False

    def write(self, text: str) -> int:
        if not self.reader_gone:
            with self._guard():
                return self._stream.write(text)
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            with self._guard():
                self._stream.flush()

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except BrokenPipeError:
            if self._stream is not sys.stdout:
                raise
            self.reader_gone = True
            with contextlib.suppress(OSError, ValueError):  # the interpreter's last flush goes nowhere too
                os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())
        except OSError as exc:
            raise SignalsError(f"cannot write {self._name}: {exc.strerror or exc}",
                               hint="free disk space or write elsewhere with -o; whatever the command "
                                    "stored before this is kept") from None

    def __getattr__(self, name: str):  # isatty, encoding, fileno, ...
        return getattr(self._stream, name)


@contextlib.contextmanager
def output_stream(path: str | None) -> Iterator[IO[str]]:
    if path is None:
        out = _Output(sys.stdout, "<stdout>")
        yield out  # type: ignore[misc]  # writes like a text stream
        out.flush()  # a full disk shows here at the latest, not in the interpreter's last flush
        return
    try:
        fh = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise SignalsError(f"cannot write {path}: {exc.strerror or exc}",
                           hint="give -o a file in a writable directory, or none for stdout") from None
    out = _Output(fh, path)
    try:
        yield out  # type: ignore[misc]
        out.flush()
    finally:
        with contextlib.suppress(OSError):  # flushed above, or already failing with a clean error
            fh.close()


def resolve_format(fmt: str | None, stream: IO[str]) -> str:
    return fmt or default_format(stream).value


def status(message: str) -> None:
    """Status lines go to stderr so piped payloads stay clean."""
    say(message)


_STDERR_GONE: list[bool] = []  # set once stderr could not be written; reset_stream_state clears it


def reset_stream_state() -> None:
    """Forget that stderr could not be written: each command (``main``) starts by trying it again, so
    one run in a process whose stderr failed (a test, an embedding program) does not silence the next."""
    _STDERR_GONE.clear()


def say(message: str) -> None:
    """One line on stderr. A stderr that cannot be written costs the message, not the command: with
    `signals extract feed 2>&1 | head -1` the reader has gone when the summary comes, and the
    BrokenPipeError ended the command with exit 1 and no word, its work stored but its exit code a
    lie (`2>/dev/full` likewise). Later messages go to /dev/null."""
    if _STDERR_GONE:
        return
    try:
        click.echo(message, err=True)
    except OSError:  # BrokenPipeError, a full disk
        _STDERR_GONE.append(True)
        with contextlib.suppress(OSError, ValueError, AttributeError):  # its buffer's last flush too
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stderr.fileno())
