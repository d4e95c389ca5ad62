"""Docs generated from code stay in step with it; every command documents itself; documented SQL runs."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import click
import duckdb
import pytest

from signals.cli import cli

ROOT = Path(__file__).resolve().parents[1]


def _gen_docs():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_docs_are_current() -> None:
    gen = _gen_docs()
    for rel, make in gen.GENERATED.items():
        assert (ROOT / rel).read_text(encoding="utf-8") == make(), f"{rel} is stale: run scripts/gen_docs.py"


def test_every_command_has_help() -> None:
    gen = _gen_docs()
    for path, cmd in gen._walk(cli, ["signals"]):
        assert (cmd.help or "").strip(), f"{' '.join(path)} has no help text"
        if not isinstance(cmd, click.Group):
            for param in cmd.params:
                if isinstance(param, click.Option):
                    assert param.help, f"{' '.join(path)} {param.opts[0]} has no help"


def test_readme_quick_start_is_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci


def test_docs_named_in_readme_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("architecture", "schema", "rules", "taxonomy", "numbers", "entities", "prices", "method",
                 "sql", "quality", "reliability", "cli"):
        assert f"{name}.md" in readme
        assert (ROOT / "docs" / f"{name}.md").exists(), f"docs/{name}.md is named in README but missing"


def test_the_schema_lists_every_drop_reason() -> None:
    from signals.study import DROP_REASONS

    schema = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    line = next(ln for ln in schema.splitlines() if ln.startswith("| `reason` |") and "no_day0" in ln)
    assert [r for r in DROP_REASONS if r not in line] == []


def _sql_statements(path: Path) -> list[str]:
    """Every statement of the ```sql blocks of a markdown file."""
    blocks = re.findall(r"```sql\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)
    return [st.strip() for block in blocks for st in block.split(";") if st.strip().strip("-")
            and any(not ln.lstrip().startswith("--") for ln in st.strip().splitlines())]


@pytest.fixture(scope="module")
def studied_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample feed extracted, its prices loaded and studied: what `make demo` leaves."""
    from signals import api

    db = tmp_path_factory.mktemp("docs") / "demo.duckdb"
    api.extract_feeds([str(ROOT / "data" / "sample" / "wallstreetcn-2026-01-29.xml")], db=db)
    api.load_prices([str(ROOT / "data" / "sample" / "prices")], db=db)
    api.backtest(db=db, offline=True, rank_tests=False)
    return db


@pytest.mark.parametrize("doc", ["README.md", "docs/sql.md"])
def test_every_documented_query_runs_and_returns_rows(doc: str, studied_sample: Path) -> None:
    statements = _sql_statements(ROOT / doc)
    assert statements, f"no SQL in {doc}"
    with duckdb.connect(str(studied_sample), read_only=True) as con:
        empty = [st for st in statements if not con.execute(st).fetchall()]
    assert empty == [], f"queries in {doc} that return nothing on the sample"


def test_the_unresolved_subjects_counted_in_quality_md_are_the_sample_s() -> None:
    """docs/quality.md counted 14 unresolved events "of 192" after the sample gave 189."""
    from signals import api

    sample = ROOT / "data" / "sample" / "wallstreetcn-2026-01-29.xml"
    events = api.extract_feeds([str(sample)], dry_run=True, jobs=1).events
    text = " ".join((ROOT / "docs" / "quality.md").read_text(encoding="utf-8").split())
    match = re.search(r"events whose `ticker` is null\): (\d+) of (\d+) events.*?A further (\d+) events are "
                      r"linked to policy bodies", text)
    assert match, "the paragraph on unresolved subjects moved: update this test"
    tickers = events["ticker"]
    assert [int(g) for g in match.groups()] == [int(tickers.isna().sum()), len(events),
                                                int(tickers.str.startswith("@", na=False).sum())]
