"""`signals rules list|lint|test`"""

from __future__ import annotations

import click

from signals.cli.options import output_options, output_stream, resolve_format, status

rules_option = click.option("--rules", "rules_dir", type=click.Path(exists=True, file_okay=False),
                            default=None,
                            help="Rule directory (default: the bundled rules/, env SIGNALS_RULES_DIR).")


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
    for issue in issues:
        click.echo(str(issue))
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
    for r in results:
        if verbose or (not r.passed and r.kind != "todo"):
            mark = "ok  " if r.passed else ("todo" if r.kind == "todo" else "FAIL")
            click.echo(f"{mark} {r.rule_id}[case {r.index}] {r.message or ''}".rstrip())
    status(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise click.exceptions.Exit(1)
