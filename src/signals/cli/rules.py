"""`signals rules list|lint|test|stats`"""

from __future__ import annotations

import click

from signals.cli.options import (
    output_options,
    output_stream,
    refuse_to_overwrite_inputs,
    resolve_format,
    status,
)

rules_option = click.option("--rules", "rules_dir", type=click.Path(exists=True), default=None,
                            help="Rule directory or one .yaml file (default: the bundled rules/, "
                                 "env SIGNALS_RULES_DIR).")


@click.group("rules")
def command() -> None:
    """Inspect, lint and test the rulebook."""


@command.command("list")
@rules_option
@output_options
def list_cmd(rules_dir: str | None, fmt: str | None, output: str | None) -> None:
    """Show every rule: id, type, status, version, triggers, number of examples."""
    from signals.api import list_rules
    from signals.output import render

    with output_stream(output) as stream:
        render(list_rules(rules_dir), resolve_format(fmt, stream), stream=stream, title="rules")


@command.command("lint")
@rules_option
def lint_cmd(rules_dir: str | None) -> None:
    """Check every rule file at once; print file:line: message per problem; exit 1 if any."""
    from signals.api import lint_rules

    issues = lint_rules(rules_dir)
    with output_stream(None) as out:  # guarded: | head or a full disk end cleanly
        for issue in issues:
            out.write(f"{issue}\n")
    status(f"{len(issues)} problem(s)" if issues else "rulebook ok")
    if issues:
        raise click.exceptions.Exit(1)


@command.command("test")
@rules_option
@click.option("-v", "--verbose", is_flag=True, help="List passing cases too.")
def test_cmd(rules_dir: str | None, verbose: bool) -> None:
    """Run every rule's examples; exit 1 if any fails."""
    from signals.api import test_rules

    results = test_rules(rules_dir)
    failed = [r for r in results if not r.passed and r.kind != "todo"]
    with output_stream(None) as out:  # guarded: | head or a full disk end cleanly
        for r in results:
            if verbose or (not r.passed and r.kind != "todo"):
                mark = "ok  " if r.passed else ("todo" if r.kind == "todo" else "FAIL")
                out.write(f"{mark} {r.rule_id}[case {r.index}] {r.message or ''}".rstrip() + "\n")
    status(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise click.exceptions.Exit(1)


# A terminal has room for the counts only under short headers (`--help` says what each one is).
STATS_TABLE_HEADERS = {
    "rule_id": "rule", "articles": "articles", "events": "events", "overlaps": "overlap",
    "conflicts": "conflict", "unlinked_share": "unlinked", "magnitude_share": "magn", "fact": "fact",
    "expected": "expect",
    "negated": "neg", "trigger_sentences": "triggered", "near_misses": "misses",
    "near_miss_example": "first near miss",
}


@command.command("stats")
@click.argument("feeds", nargs=-1, required=True)
@rules_option
@click.option("--tz", "default_tz", default="Asia/Shanghai", show_default=True,
              help="Time zone for feed dates written without one.")
@output_options
def stats_cmd(feeds: tuple[str, ...], rules_dir: str | None, default_tz: str, fmt: str | None,
              output: str | None) -> None:
    """Per-rule statistics over the articles of FEEDS, for rule authors; nothing is stored.

    \b
    articles, events         coverage: articles with >= 1 event of the rule, and its events
    overlaps (overlap)       events whose article and subject also got an event of another rule
    conflicts (conflict)     ... of another rule, opposite direction or a contradicting type
    unlinked_share           share of events whose subject has no ticker
    magnitude_share (magn)   share of events with a magnitude
    fact, expected, negated  events per modality
    trigger_sentences        sentences in which a trigger of the rule fired (triggered)
    near_misses (misses)     ... in which none of its patterns matched; the first is shown
    """
    from signals.api import rules_stats
    from signals.output import render

    refuse_to_overwrite_inputs(output, feeds)
    df = rules_stats(feeds, rules_dir, default_tz=default_tz, on_warning=lambda m: status(f"warning: {m}"))
    with output_stream(output) as stream:
        fmt = resolve_format(fmt, stream)
        if fmt == "table":  # type and status are in `signals rules list`
            df = df[list(STATS_TABLE_HEADERS)].rename(columns=STATS_TABLE_HEADERS)
        render(df, fmt, stream=stream, title="rule stats")
    fired = int((df["events"] > 0).sum()) if len(df) else 0
    status(f"{len(df)} rules, {fired} with events, {int(df['events'].sum()) if len(df) else 0} events")
