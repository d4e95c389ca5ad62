"""`signals eval GOLD.jsonl`"""

from __future__ import annotations

import json

import click

from signals.cli.options import in_existing_directory, output_stream, refuse_to_overwrite_inputs, status


@click.command("eval")
@click.argument("gold", type=click.Path(exists=True, dir_okay=False))
@click.option("--rules", "rules_dir", type=click.Path(exists=True), default=None,
              help="Rule directory or one .yaml file (default: the bundled rules/, env SIGNALS_RULES_DIR).")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="table for people; json for one object with precision, recall, f1.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, callback=in_existing_directory,
              help="Write the report to this file instead of stdout.")
def command(gold: str, rules_dir: str | None, fmt: str, output: str | None) -> None:
    """Score extraction against a gold JSONL file: precision, recall, F1, per type.

    Nothing is written to the database.
    """
    from signals.api import evaluate_gold
    from signals.output import render

    refuse_to_overwrite_inputs(output, (gold,))
    report = evaluate_gold(gold, rules_dir=rules_dir, on_warning=lambda m: status(f"warning: {m}"))
    data = report.to_dict()
    with output_stream(output) as stream:
        if fmt == "json":
            stream.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
            return
        overall = {k: data.get(k) for k in ("precision", "recall", "f1", "direction_accuracy",
                                            "modality_accuracy", "magnitude_accuracy") if k in data}
        render([overall], "table", stream=stream, title="overall")
        per_type = data.get("per_type") or {}
        if isinstance(per_type, dict):
            per_type = [{"type": t, **v} for t, v in sorted(per_type.items())]
        rows = per_type
        render(rows, "table", stream=stream, title="per type")
