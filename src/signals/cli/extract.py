"""`signals extract FEED...`"""

from __future__ import annotations

import click

from signals.cli.options import output_options, output_stream, resolve_format, status
from signals.cli.progress import progress_bar

EVENT_COLUMNS = ["published_utc", "ticker", "subject", "type", "direction", "magnitude", "unit", "modality",
                 "source", "relevance", "evidence"]


@click.command("extract")
@click.argument("feeds", nargs=-1, required=True)
@click.option("--rules", "rules_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Rule directory (default: the bundled rules/, env SIGNALS_RULES_DIR).")
@click.option("--tz", "default_tz", default="Asia/Shanghai", show_default=True,
              help="Time zone for feed dates written without one.")
@click.option("--dry-run", is_flag=True, help="Extract and print, store nothing.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes for large inputs (default: all cores; 1 = no workers). "
                   "Events are identical whatever the number.")
@output_options
@click.pass_obj
def command(obj: dict, feeds: tuple[str, ...], rules_dir: str | None, default_tz: str, dry_run: bool,
            jobs: int | None, fmt: str | None, output: str | None) -> None:
    """Ingest FEEDS (files, globs, directories, URLs or - for stdin), extract and store events.

    Prints the events of new or edited articles, then one summary line on stderr.
    Re-ingesting the same feed stores nothing new.
    """
    from signals.api import extract_feeds
    from signals.output import render

    with progress_bar("extracting", unit="articles") as advance:
        result = extract_feeds(feeds, db=obj["db"], rules_dir=rules_dir, dry_run=dry_run,
                               default_tz=default_tz, progress=advance, jobs=jobs,
                               on_warning=lambda m: status(f"warning: {m}"))
    with output_stream(output) as stream:
        fmt = resolve_format(fmt, stream)
        columns = EVENT_COLUMNS if fmt in ("table", "csv") else None
        render(result.events, fmt, stream=stream, columns=columns, title="events")
    status(result.summary)
