"""`signals prices load|fetch|status`"""

from __future__ import annotations

import datetime as dt

import click

from signals.cli.options import NETWORK_HINT, output_options, output_stream, resolve_format, status
from signals.cli.progress import progress_bar


@click.group("prices")
def command() -> None:
    """Fill and inspect the price cache (yfinance or local CSV/Parquet files)."""


@command.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.pass_obj
def load(obj: dict, paths: tuple[str, ...]) -> None:
    """Load CSV/Parquet price files or directories (long: ticker,date,open,...; or wide: date + a
    close column per ticker) into the cache."""
    from signals.api import load_prices

    report = load_prices(paths, db=obj["db"])
    for warning in getattr(report, "warnings", []) or []:
        status(f"warning: {warning}")
    status(str(report))


@command.command("fetch")
@click.argument("tickers", nargs=-1)
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First date (YYYY-MM-DD).")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last date, inclusive.")
@click.option("--offline", is_flag=True, help="Only report what is missing; never touch the network.")
@click.pass_obj
def fetch(obj: dict, tickers: tuple[str, ...], start: dt.datetime | None, end: dt.datetime | None,
          offline: bool) -> None:
    """Fetch daily prices with yfinance for TICKERS (default: every ticker and benchmark of stored
    events), asking only for ranges not already cached. Exit 1 if a ticker could not be fetched
    (with --offline: if any range is missing)."""
    from signals.api import fetch_prices

    with progress_bar("fetching", unit="tickers") as advance:
        report = fetch_prices(tickers, db=obj["db"], start=start.date() if start else None,
                              end=end.date() if end else None, offline=offline, progress=advance)
    for warning in report.warnings:  # failed tickers by name, and what offline left missing
        status(f"warning: {warning}")
    if report.all_failed:
        status(NETWORK_HINT)
    status(str(report))
    if report.failures or (offline and report.missing):  # findings: tickers left without prices
        raise click.exceptions.Exit(1)


@command.command("status")
@output_options
@click.pass_obj
def status_cmd(obj: dict, fmt: str | None, output: str | None) -> None:
    """Show cached price coverage per ticker."""
    from signals.api import price_status
    from signals.output import render

    with output_stream(output) as stream:
        render(price_status(db=obj["db"]), resolve_format(fmt, stream), stream=stream, title="prices")
