"""Every example in rules/*.yaml is its own test: `rule_id[case N]`.

`match` cases must produce the listed events, `no_match` cases no event of the rule's type, and
`todo` cases are known misses (xfail, not strict: a todo that starts passing should become a match).
"""

from __future__ import annotations

import pytest

from signals.entities import Linker
from signals.rules import Rulebook, check_case, iter_cases

RULEBOOK = Rulebook.load()
CASES = list(iter_cases(RULEBOOK))


@pytest.fixture(scope="module")
def linker() -> Linker:
    return Linker.from_data()


def _param(rule, example):
    marks = [pytest.mark.xfail(reason="todo: known miss", strict=False)] if example.kind == "todo" else []
    return pytest.param(rule, example, id=f"{rule.id}[case {example.index}]", marks=marks)


def test_rulebook_has_cases() -> None:
    assert len(RULEBOOK.rules) >= 60
    assert all(sum(e.kind != "todo" for e in r.examples) >= 3 for r in RULEBOOK.rules)


@pytest.mark.parametrize(("rule", "example"), [_param(r, e) for r, e in CASES])
def test_case(rule, example, linker: Linker) -> None:
    result = check_case(rule, example, RULEBOOK, linker)
    assert result.passed, f"{example.text!r}: {result.message}"
