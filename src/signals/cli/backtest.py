"""`signals backtest`"""

from __future__ import annotations

from pathlib import Path

import click

from signals.cli.options import (
    NETWORK_HINT,
    in_existing_directory,
    output_options,
    output_stream,
    resolve_format,
    status,
)
from signals.cli.progress import progress_bar

PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def plot_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Checked before the study runs: an unknown suffix or a missing directory failed only after it."""
    if value is not None and Path(value).suffix.lower() not in PLOT_SUFFIXES:
        raise click.BadParameter(f"{value!r}: give a file ending in {', '.join(PLOT_SUFFIXES)}",
                                 ctx=ctx, param=param)
    return in_existing_directory(ctx, param, value)


# what fits a terminal; --format json/csv carries every column of the summary
SUMMARY_COLUMNS = ["n", "caar", "median_car", "share_positive", "mean_signed_car", "hit_rate", "t_cs", "p_t",
                   "p_patell", "p_bmp", "p_kp", "p_corrado", "p_gsign"]
BY_CHOICES = ["type", "direction", "rule", "rule_id", "source", "modality", "market", "topic", "role"]


@click.command("backtest")
@click.option("--window", default="5d", show_default=True,
              help="Event window: Nd = days 0..N-1, or -A:+B relative trading days.")
@click.option("--model", type=click.Choice(["market", "market-adjusted", "mean", "raw"]), default="market",
              show_default=True, help="Normal-return model.")
@click.option("--by", "by", multiple=True, type=click.Choice(BY_CHOICES), default=("type",),
              show_default=True, help="Group results by these fields (repeatable).")
@click.option("--estimation", default="-250:-11", show_default=True,
              help="Estimation window in relative trading days.")
@click.option("--min-estimation", type=click.IntRange(min=5), default=100, show_default=True,
              help="Fewest valid estimation-window returns for a pair to be kept.")
@click.option("--no-dedupe", is_flag=True,
              help="Keep every event, even the same ticker on the same day 0 in one group (default: once).")
@click.option("--offline", is_flag=True, help="Use cached prices only; never touch the network.")
@click.option("--rank-tests/--no-rank-tests", default=True, show_default=True,
              help="Corrado rank, generalised sign and Kolari-Pynnönen statistics (costly for 1M events).")
@click.option("--max-day0-shift", type=click.IntRange(min=0, max=3650), default=7, show_default=True,
              help="Drop a pair whose first price row is more than this many days after day 0.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None, callback=plot_file,
              help="Draw CAAR by day to this file (.png, .svg or .pdf).")
@output_options
@click.pass_obj
def command(obj: dict, window: str, model: str, by: tuple[str, ...], estimation: str, min_estimation: int,
            no_dedupe: bool, offline: bool, rank_tests: bool, max_day0_shift: int, plot: str | None,
            fmt: str | None, output: str | None) -> None:
    """Run an event study of stored events against their prices.

    Fetches and caches missing prices with yfinance (unless --offline), then prints CAAR and test
    statistics per group and stores per-pair results in the event_returns table.
    """
    from signals.api import backtest
    from signals.output import render
    from signals.study import parse_window

    est = parse_window(estimation)
    by = tuple("rule_id" if b == "rule" else b for b in by)
    with progress_bar("fetching prices", unit="tickers") as advance:
        result = backtest(db=obj["db"], window=window, model=model, by=by, estimation=est,
                          min_estimation=min_estimation, dedupe=not no_dedupe, offline=offline,
                          rank_tests=rank_tests, max_day0_shift=max_day0_shift, plot=plot, progress=advance,
                          stage=advance.stage)
    study = result.study
    with output_stream(output) as stream:
        fmt = resolve_format(fmt, stream)
        summary = study.summary
        columns = [*by, *(c for c in SUMMARY_COLUMNS if c in summary.columns)]
        render(summary, fmt, stream=stream, columns=columns if fmt == "table" else None,
               title=f"event study: window {window}, model {model}")
    for note in [*result.warnings, *study.notes]:
        status(f"note: {note}")
    report = result.fetch_report
    for note in report.notes if report is not None else []:  # fetched rows dropped for a price rule
        status(f"warning: {note}")
    if report is not None and report.failures:
        for line in report.failure_lines():
            status(f"warning: {line}")
        if report.all_failed:
            status(NETWORK_HINT)
    if len(study.dropped):
        reasons = study.dropped["reason"].value_counts().to_dict()
        status("dropped pairs: " + ", ".join(f"{k} {v}" for k, v in reasons.items())
               + f" (each with its reason: SELECT * FROM study_dropped WHERE run_id = '{study.run_id}')")
    status(f"{len(study.pairs)} event-ticker pairs studied; run {study.run_id} stored in event_returns"
           + (f"; plot written to {plot}" if plot else ""))
