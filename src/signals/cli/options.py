"""Option decorators shared by commands, defined once."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import IO

import click

from signals.output import FORMATS, default_format

NETWORK_HINT = ("hint: no ticker could be fetched: check the network, or load prices with "
                "`signals prices load FILE` and run with --offline")


def output_options(func: Callable) -> Callable:
    """--format/-f and --output/-o for every command that prints rows."""
    func = click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
                        help="Write the rows to this file instead of stdout.")(func)
    func = click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default=None,
                        help="Output format (default: table on a terminal, jsonl when piped).")(func)
    return func


@contextlib.contextmanager
def output_stream(path: str | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
        return
    with open(path, "w", encoding="utf-8", newline="") as fh:
        yield fh


def resolve_format(fmt: str | None, stream: IO[str]) -> str:
    return fmt or default_format(stream).value


def status(message: str) -> None:
    """Status lines go to stderr so piped payloads stay clean."""
    click.echo(message, err=True)
