"""`signals entities lookup|find`"""

from __future__ import annotations

import sys

import click

from signals.cli.options import output_options, output_stream, resolve_format, status, text_argument
from signals.errors import SignalsError


@click.group("entities")
def command() -> None:
    """Check instrument coverage: look up names, find entities in text."""


@command.command("lookup")
@click.argument("name", callback=text_argument)
@output_options
def lookup(name: str, fmt: str | None, output: str | None) -> None:
    """Instruments a NAME, alias or ticker resolves to; exit 1 if none."""
    from signals.api import lookup_entity, names_within
    from signals.output import render

    found = lookup_entity(name)
    with output_stream(output) as stream:
        render(found, resolve_format(fmt, stream), stream=stream, title=f"lookup {name}")
    if found.empty:
        inside = names_within(name)
        hint = f"; in text it reads as {', '.join(inside)} (`signals entities find`)" if inside else ""
        status(f"no instrument is named {name!r}{hint}")
        raise click.exceptions.Exit(1)


@command.command("find")
@click.argument("text", callback=text_argument)
@output_options
def find(text: str, fmt: str | None, output: str | None) -> None:
    """Entities mentioned in TEXT ('-' reads stdin), with tickers and confidence."""
    from signals.api import find_entities
    from signals.output import render

    if text == "-":
        data = sys.stdin.buffer.read()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            bad = data[exc.start:exc.start + 1]
            raise SignalsError(f"stdin is not UTF-8 text (byte {exc.start}: {bad!r})",
                               hint="convert it first, e.g. `iconv -f GB18030 -t UTF-8`") from None
    with output_stream(output) as stream:
        render(find_entities(text), resolve_format(fmt, stream), stream=stream, title="mentions")
