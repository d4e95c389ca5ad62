"""`signals entities lookup|find`"""

from __future__ import annotations

import click

from signals.cli.options import output_options, output_stream, resolve_format


@click.group("entities")
def command() -> None:
    """Check instrument coverage: look up names, find entities in text."""


@command.command("lookup")
@click.argument("name")
@output_options
def lookup(name: str, fmt: str | None, output: str | None) -> None:
    """Instruments a NAME, alias or ticker resolves to."""
    from signals.api import lookup_entity
    from signals.output import render

    with output_stream(output) as stream:
        render(lookup_entity(name), resolve_format(fmt, stream), stream=stream, title=f"lookup {name}")


@command.command("find")
@click.argument("text")
@output_options
def find(text: str, fmt: str | None, output: str | None) -> None:
    """Entities mentioned in TEXT ('-' reads stdin), with tickers and confidence."""
    from signals.api import find_entities
    from signals.output import render

    if text == "-":
        text = click.get_text_stream("stdin").read()
    with output_stream(output) as stream:
        render(find_entities(text), resolve_format(fmt, stream), stream=stream, title="mentions")
