"""`signals extract FEED...`"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import click

from signals.cli.options import (
    output_options,
    output_stream,
    refuse_to_overwrite_inputs,
    resolve_format,
    status,
)
from signals.cli.progress import progress_bar

if TYPE_CHECKING:
    import pandas as pd

    from signals.output import RowWriter

EVENT_COLUMNS = ["published_utc", "ticker", "subject", "type", "direction", "magnitude", "unit", "modality",
                 "source", "relevance", "evidence"]


@click.command("extract")
@click.argument("feeds", nargs=-1)
@click.option("--stored", is_flag=True,
              help="Instead of FEEDS, extract the articles stored in the database again (after editing "
                   "rules or upgrading signals); their events are replaced.")
@click.option("--rules", "rules_dir", type=click.Path(exists=True), default=None,
              help="Rule directory or one .yaml file (default: the bundled rules/, env SIGNALS_RULES_DIR).")
@click.option("--tz", "default_tz", default="Asia/Shanghai", show_default=True,
              help="Time zone for feed dates written without one.")
@click.option("--dry-run", is_flag=True,
              help="Extract and print the events (the columns a stored run prints), store nothing; "
                   "the database is not read, so every article counts as new.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes for large inputs (default: all cores; at most twice that; 1 = no "
                   "workers). Events are identical whatever the number.")
@output_options
@click.pass_obj
def command(obj: dict, feeds: tuple[str, ...], stored: bool, rules_dir: str | None, default_tz: str,
            dry_run: bool, jobs: int | None, fmt: str | None, output: str | None) -> None:
    """Ingest FEEDS (files, globs, directories, URLs or - for stdin; gzipped too), extract and store events.

    Prints the events of new or edited articles, then one summary line on stderr. Re-ingesting the
    same feed stores nothing new (an item whose text changed, or whose time is earlier or read in
    another zone, e.g. with another --tz, is an edited article): after changing the rules, `--stored`
    extracts the stored articles again. Events are printed as they come, chunk by chunk; a table
    shows the first 1,000.
    """
    from signals.api import extract_feeds, extract_stored

    if bool(feeds) == stored:
        raise click.UsageError("give FEEDS to ingest, or --stored to extract the stored articles again"
                               if not feeds else "give either FEEDS or --stored, not both")
    refuse_to_overwrite_inputs(output, feeds)

    with contextlib.ExitStack() as stack:
        writer: RowWriter | None = None

        def opened() -> RowWriter:
            # opened at the first event: a run that fails before it leaves no output file behind
            nonlocal writer
            if writer is None:
                writer = _writer(stack.enter_context(output_stream(output)), fmt)
            return writer

        try:
            with progress_bar("extracting", unit="articles") as advance:

                def on_events(chunk: pd.DataFrame) -> None:
                    with advance.paused():
                        opened().write(chunk)

                def on_warning(message: str) -> None:
                    with advance.paused():
                        status(f"warning: {message}")

                common = {"db": obj["db"], "rules_dir": rules_dir, "dry_run": dry_run, "progress": advance,
                          "jobs": jobs, "on_warning": on_warning, "on_events": on_events}
                result = (extract_stored(**common) if stored
                          else extract_feeds(feeds, default_tz=default_tz, **common))
        except BaseException:
            # events handed out before a failure (kept batches, a dry run's earlier batches) stay
            # well-formed output: a json array closed, a table drawn
            if writer is not None:
                with contextlib.suppress(Exception):
                    writer.close()
            raise
        left_out = opened().close()
    status(result.summary)
    for note in result.notes:
        status(f"note: {note}")
    if left_out:
        where = "" if dry_run else ", or query the events table (see docs/schema.md)"
        status(f"the table shows the first {result.event_count - left_out:,} of {result.event_count:,} "
               f"events; for all of them use --format jsonl or csv{where}")


def _writer(stream, fmt: str | None) -> RowWriter:
    from signals import output

    fmt = resolve_format(fmt, stream)
    return output.RowWriter(fmt, stream=stream, columns=event_columns(fmt), title="events",
                            table_rows=output.TABLE_ROWS)


def event_columns(fmt: str) -> list[str] | None:
    """A table shows what fits a terminal; csv carries every column jsonl does (event_id and
    article_id join the rows back to the database), in a fixed order so an empty run has its header."""
    from signals import api

    return EVENT_COLUMNS if fmt == "table" else api.DISPLAY_COLUMNS if fmt == "csv" else None
