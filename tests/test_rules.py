"""Loader and linter: exact file:line:column messages on small broken rule files."""

from __future__ import annotations

from pathlib import Path

import pytest

from signals.entities import Linker
from signals.errors import RuleFileError
from signals.extract import extract_text
from signals.rules import TAXONOMY, Rule, Rulebook, catastrophic_reason, lint, repeat_size_reason, run_cases

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
REPO = Path(__file__).resolve().parents[1]


def _messages(path: Path) -> list[str]:
    return [str(issue).replace(str(FIXTURES) + "/", "") for issue in lint(path)]


def test_good_file_loads_and_keeps_metadata() -> None:
    book = Rulebook.load(FIXTURES / "good.yaml")
    (rule,) = book.rules
    assert (rule.id, rule.version, rule.status) == ("corporate.test_buyback", 2, "stable")
    assert rule.family == "corporate"
    assert rule.triggers == ("回购",)
    assert lint(FIXTURES / "good.yaml") == []
    assert len(book.version_hash) == 16


def test_version_hash_follows_file_content(tmp_path: Path) -> None:
    text = (FIXTURES / "good.yaml").read_text(encoding="utf-8")
    (tmp_path / "a.yaml").write_text(text, encoding="utf-8")
    first = Rulebook.load(tmp_path).version_hash
    (tmp_path / "a.yaml").write_text(text.replace("version: 2", "version: 3"), encoding="utf-8")
    assert Rulebook.load(tmp_path).version_hash != first


def test_version_hash_is_the_rules_content_not_their_comments_or_layout(tmp_path: Path) -> None:
    """A comment-only edit changed rulebook_hash (the hash was over the files' bytes), so every stored
    event was noted as made by other rules. The hash is over what the rules say."""
    text = (REPO / "rules" / "market.yaml").read_text(encoding="utf-8")
    (tmp_path / "market.yaml").write_text(text, encoding="utf-8")
    first = Rulebook.load(tmp_path).version_hash
    edits = [
        "# a note for the next reader\n" + text,
        text.replace("# trailing performance is context", "# trailing performance (context)"),
        text.replace("    version: 3\n", "    version: 3   # bumped for the 2026 wording\n", 1),
        text.replace("confidence: 0.8\n", "confidence: 0.80\n"),  # the same number
        text.replace("triggers: [暴跌, 大跌,", "triggers: ['暴跌', \"大跌\",", 1),  # the same strings
        text.replace("    title: 大涨 / 暴涨 / 飙升\n", "    title: 大涨、暴涨、飙升\n", 1),  # documentation
        text.replace("      no_match:\n", "      no_match:\n        - 一条新的反例。\n", 1),
    ]
    for edited in edits:
        assert edited != text
        (tmp_path / "market.yaml").write_text(edited, encoding="utf-8")
        assert Rulebook.load(tmp_path).version_hash == first, edited[:80]
    (tmp_path / "market.yaml").unlink()
    (tmp_path / "prices.yml").write_text(text, encoding="utf-8")  # a renamed file: the same rules
    assert Rulebook.load(tmp_path).version_hash == first
    changes = [
        text.replace("triggers: [暴跌, 大跌,", "triggers: [暴跌,", 1),
        text.replace("where: after, min: 3}", "where: after, min: 4}", 1),
        text.replace("      - '预测|目标价|目标位'\n", "", 1),
        # a field named like a documentation one inside a rule's spec is no documentation: the
        # subject's `title` decides whether body sentences take their subject from the title
        text.replace("index], title: false}", "index], title: true}", 1),
    ]
    for changed in changes:
        assert changed != text
        (tmp_path / "prices.yml").write_text(changed, encoding="utf-8")
        assert Rulebook.load(tmp_path).version_hash != first, changed[:80]


def test_invalid_yaml_reports_line_and_column() -> None:
    assert _messages(FIXTURES / "invalid_yaml.yaml") == [
        "invalid_yaml.yaml:5:9: invalid YAML: expected ',' or ']', but got ':'"]
    with pytest.raises(RuleFileError, match=r"invalid_yaml\.yaml:5:9: invalid YAML"):
        Rulebook.load(FIXTURES / "invalid_yaml.yaml")


@pytest.mark.parametrize(("data", "message"), [
    # PyYAML's message ran over two lines ('...\n  in "<unicode string>", position 16'): the CLI's
    # error was not one line
    (b"rules:\n  - id: a\x00b\n", "r.yaml:2:10: invalid YAML: character #x0000: special characters are not "
                                  "allowed"),
    (b"rules:\n  - id: a\n    title: \x07\n", "r.yaml:3:12: invalid YAML: character #x0007: special "
                                               "characters are not allowed"),
    # 'utf-8' codec can't decode byte 0xff in position 15: invalid start byte (no line)
    (b"rules:\n  - id: \xff\xfe\n", "r.yaml:2: not valid UTF-8 (byte 0xff at offset 15): save it as UTF-8"),
])
def test_characters_yaml_refuses_are_one_line_with_their_place(tmp_path: Path, data: bytes, message: str,
                                                                capsys: pytest.CaptureFixture) -> None:
    from signals.cli import main

    (tmp_path / "r.yaml").write_bytes(data)
    assert [str(issue).replace(f"{tmp_path}/", "") for issue in lint(tmp_path / "r.yaml")] == [message]
    with pytest.raises(RuleFileError) as err:
        Rulebook.load(tmp_path)
    assert str(err.value).replace(f"{tmp_path}/", "") == message
    assert main(["rules", "list", "--rules", str(tmp_path)]) == 2
    assert capsys.readouterr().err.replace(f"{tmp_path}/", "").splitlines() == [
        f"error: {message}", "hint: run `signals rules lint` to see every problem"]


def _tree(obj):
    """A parsed rule file as plain tuples, with every line/column mark the lint messages use."""
    from signals.rules import _Map, _Seq

    if isinstance(obj, _Map):
        return ("map", obj.line, obj.col, sorted(obj.marks.items()), sorted(obj.key_marks.items()),
                [(k, _tree(v)) for k, v in obj.items()])
    if isinstance(obj, _Seq):
        return ("seq", obj.line, obj.col, obj.marks, [_tree(v) for v in obj])
    return (type(obj).__name__, obj)


@pytest.mark.parametrize("path", sorted((REPO / "rules").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_libyaml_and_pure_python_loaders_read_rule_files_alike(path: Path) -> None:
    import yaml

    from signals import rules

    if len(rules._LOADERS) < 2:
        pytest.skip("PyYAML without libyaml: only the pure-Python loader is used")
    text = path.read_text(encoding="utf-8")
    fast, slow = (_tree(yaml.load(text, Loader=loader)) for loader in rules._LOADERS)
    assert fast == slow


def test_a_duplicate_key_is_reported_whichever_loader_parses() -> None:
    import yaml

    from signals.rules import _parse_yaml

    with pytest.raises(yaml.YAMLError, match="duplicate key 'id'") as err:
        _parse_yaml("rules:\n  - id: a\n    id: b\n")
    assert err.value.problem_mark.line + 1 == 3


def test_unknown_type() -> None:
    assert _messages(FIXTURES / "unknown_type.yaml") == [
        "unknown_type.yaml:7:11: [corporate.odd] unknown type 'share_split' (see docs/taxonomy.md)"]


def test_bad_regex() -> None:
    assert _messages(FIXTURES / "bad_regex.yaml") == [
        "bad_regex.yaml:10:9: [analyst.broken_regex] patterns[0] does not compile: missing ) at position 17"]


def test_duplicate_ids_across_files() -> None:
    assert _messages(FIXTURES / "duplicate_ids") == [
        "duplicate_ids/b.yaml:3:9: [market.dupe] duplicate rule id 'market.dupe' "
        "(first defined in duplicate_ids/a.yaml:3)"]
    with pytest.raises(RuleFileError, match=r"b\.yaml:3:9: \[market\.dupe\] duplicate rule id"):
        Rulebook.load(FIXTURES / "duplicate_ids")


def test_catastrophic_pattern() -> None:
    assert _messages(FIXTURES / "catastrophic.yaml") == [
        "catastrophic.yaml:10:9: [market.slow] patterns[0]: nested quantifier '(?:[^，。]+)+' "
        "can backtrack catastrophically"]


@pytest.mark.parametrize("pattern", [r"(a+)+", r"(?:\w*x)*", r"((ab)*c)+", r"(a|b+){2,}", r"(?:x{1,}y)+",
                                     # bounded nested repeats: 21**20 ways to split a text
                                     r"(?:[^。]{0,20}){0,20}(?P<trigger>大涨)\d{7}", r"(?:[^，]{0,2}){0,20}",
                                     r"(?:a?)+", r"(?P<x>(?:[^。]{1,9}){3,9})"])
def test_catastrophic_heuristic_flags_nested_quantifiers(pattern: str) -> None:
    assert catastrophic_reason(pattern) is not None


@pytest.mark.parametrize("pattern", [r"(?:上调|下调)[^，。]{0,12}?目标价", r"(a+)?b", r"\(a+\)+", r"[(a+)]+",
                                     r"(?:ab){2,5}", r"(a)+",
                                     # few ways, or repetitions a delimiter separates: one way to split
                                     r"(?:[^，]{0,6}，){0,2}", r"(?:预计|计划|或将|将)+",
                                     r"(?:、[^，。；、]{1,8})*", r"(?:[^、]{1,8}、)*",
                                     r"(?:、[\p{Han}A-Za-z0-9]{2,10})*", r"(?:(?!将|拟)\w){2,10}"])
def test_catastrophic_heuristic_passes_bounded_patterns(pattern: str) -> None:
    assert catastrophic_reason(pattern) is None


@pytest.mark.parametrize(("pattern", "reason"), [
    ("大涨a{1000000000}", "repeat count 1000000000 in 'a{1000000000}' is above 1000"),
    ("a{5,1001}", "repeat count 1001 in 'a{5,1001}' is above 1000"),
    ("a{,5000}", "repeat count 5000 in 'a{,5000}' is above 1000"),
    ("(?:(?:a{1000}){1000}){1000}",
     "nested repeat counts in '(?:a{1000}){1000}' multiply to 1000000 (above 1000)"),
])
def test_huge_repeat_counts_are_refused_before_compiling(tmp_path: Path, pattern: str, reason: str) -> None:
    # regex unrolls counts when it compiles: a{10000000} took 8.5 s and 2.7 GB, and lint ran >60 s on
    # 大涨a{1000000000} (rules test was OOM-killed); now the pattern is never compiled
    import time

    (tmp_path / "r.yaml").write_text(
        PROBE_RULE.format(field="exclude: ['x']").replace("['(?P<v>大涨)(?P<n>\\d+%)']", repr(pattern)),
        encoding="utf-8")
    started = time.monotonic()
    expected = f"{tmp_path}/r.yaml:9:15: [market.probe] patterns[0]: {reason}"
    assert [str(i) for i in lint(tmp_path)] == [expected]
    with pytest.raises(RuleFileError, match=r"r\.yaml:9:15: \[market\.probe\] patterns\[0\]: "):
        Rulebook.load(tmp_path)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("pattern", ["a{1000}", "(?:a{10}){100}", r"\p{Han}{2,5}", "x{}", "a{,1000}"])
def test_repeat_counts_up_to_the_limit_are_accepted(pattern: str) -> None:
    assert repeat_size_reason(pattern) is None


def test_lint_collects_every_problem_in_one_pass() -> None:
    assert _messages(FIXTURES / "many_problems") == [
        "many_problems/rules.yaml:6:13: [market.first] `status` must be one of experimental, test, stable, "
        "not 'shiny'",
        "many_problems/rules.yaml:8:20: [market.first] duplicate trigger '涨停'",
        "many_problems/rules.yaml:9:5: [market.first] unknown field `colour` (allowed: confidence, "
        "description, direction, examples, exclude, exposures, id, known_false_positives, magnitude, "
        "modality, notes, patterns, references, status, subject, title, triggers, type, version)",
        "many_problems/rules.yaml:11:7: [market.first] rule has no positive example (examples.match)",
        "many_problems/rules.yaml:16:11: [market.second] unknown type 'price_boom' (see docs/taxonomy.md)",
        "many_problems/rules.yaml:18:16: [market.second] patterns[0] does not compile: "
        "missing ) at position 3",
    ]


PROBE_RULE = """family: market
rules:
  - id: market.probe
    version: 1
    title: t
    status: test
    type: price_surge
    triggers: [大涨]
    patterns: ['(?P<v>大涨)(?P<n>\\d+%)']
    {field}
    examples:
      match: [贵州茅台大涨5%。]
"""
UNITS_ALLOWED = ("barrels, bp, count, money, multiple, ounces, pct, points, price, shares, tonnes, "
                 "AUD, CAD, CHF, CNY, EUR, GBP, HKD, IDR, INR, JPY, KRW, RUB, SGD, TWD, USD")
NOT_A_GROUP = "is not a named group of any pattern (named groups: n, v)"


@pytest.mark.parametrize(("field", "problem"), [
    # these crashed lint and load (ValueError, TypeError: unhashable type: '_Seq')
    ("direction: {group: v, map: {大涨: 1}, default: abc}",
     "50: `direction.default` must be -1, 0 or 1, not 'abc'"),
    ("direction: {group: [v], map: {大涨: 1}}", f"24: `direction.group` ['v'] {NOT_A_GROUP}"),
    ("subject: {from: group, group: [v]}", f"35: `subject.group` ['v'] {NOT_A_GROUP}"),
    ("magnitude: {group: [v]}", f"24: `magnitude.group` ['v'] {NOT_A_GROUP}"),
    ("magnitude: {units: [pct], min: abc}", "36: `magnitude.min` must be a number, not 'abc'"),
    # passed lint, then crashed `rules test` and extract
    ("subject: {from: fixed, name: x, ticker: [a]}",
     "45: `subject.ticker` must be a non-empty string, not ['a']"),
    # accepted and wrong
    ("direction: {group: v, map: {大涨: 1}, default: 5}",
     "50: `direction.default` must be -1, 0 or 1, not 5"),
    ("direction: {group: v, map: {大涨: true}}", "32: `direction.map` must map group text to -1, 0 or 1"),
    ("magnitude: {units: [furlongs]}",
     f"24: `magnitude.units`: unknown unit(s) 'furlongs' (allowed: {UNITS_ALLOWED})"),
    ("magnitude: {as: 7}", "21: `magnitude.as` must be price, bp, pct or per_share, not 7"),
    ("magnitude: {units: [pct], required: 'no'}", "41: `magnitude.required` must be true or false, not 'no'"),
    ('exposures: {"^GSPC": true}', "26: `exposures`: the sign of '^GSPC' must be -1, 0 or 1, not True"),
    ('exposures: {"@FED": {"^GSPC": 2}}', "35: `exposures`: the sign of '^GSPC' must be -1, 0 or 1, not 2"),
    ("subject: {title: 'false'}", "22: `subject.title` must be true or false, not 'false'"),
    ("subject: {fallback: false}", "25: `subject.fallback` needs `from: group`"),
    ("confidence: true", "17: `confidence` must be a number in (0, 1]"),
])
def test_a_bad_rule_field_is_a_lint_problem_and_a_rule_file_error(tmp_path: Path, field: str,
                                                                   problem: str) -> None:
    (tmp_path / "r.yaml").write_text(PROBE_RULE.format(field=field), encoding="utf-8")
    column, message = problem.split(": ", 1)
    expected = f"{tmp_path}/r.yaml:10:{column}: [market.probe] {message}"
    assert [str(i) for i in lint(tmp_path)] == [expected]
    with pytest.raises(RuleFileError) as err:
        Rulebook.load(tmp_path)
    assert str(err.value) == expected


def test_a_list_as_a_mapping_key_is_invalid_yaml(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(PROBE_RULE.format(field="direction: {group: v, map: {[a]: 1}}"),
                                     encoding="utf-8")
    expected = f"{tmp_path}/r.yaml:10:33: invalid YAML: a mapping key must be a scalar, not a list or mapping"
    assert [str(i) for i in lint(tmp_path)] == [expected]  # was TypeError: unhashable type: '_Seq'


def test_valid_rule_fields_still_compile(tmp_path: Path) -> None:
    field = "\n    ".join([
        "direction: {group: v, map: {大涨: 1}, default: -1}",
        "magnitude: {group: n, units: [money, pct], as: bp, min: 3}",
        'subject: {from: fixed, name: 标普, ticker: "^GSPC"}'])
    (tmp_path / "r.yaml").write_text(PROBE_RULE.format(field=field), encoding="utf-8")
    assert lint(tmp_path) == []
    (rule,) = Rulebook.load(tmp_path).rules
    assert (rule.direction.value, rule.direction.group, rule.direction.mapping) == (-1, "v", (("大涨", 1),))
    assert (rule.magnitude.group, rule.magnitude.as_unit, rule.magnitude.min, rule.magnitude.required) == (
        "n", "bp", 3.0, True)
    assert rule.magnitude.units[-1] == "pct" and "USD" in rule.magnitude.units
    assert (rule.subject.mode, rule.subject.ticker, rule.subject.name) == ("fixed", "^GSPC", "标普")


def test_exposures_compile_with_a_fixed_direction_only(tmp_path: Path) -> None:
    """An exposure's sign is final (api.event_frames no longer multiplies it by the direction): with a
    direction read from the text the signs would fit one reading only."""
    (tmp_path / "r.yaml").write_text(PROBE_RULE.format(field='direction: -1\n    exposures: {"^GSPC": 1}'),
                                     encoding="utf-8")
    assert lint(tmp_path) == []
    assert Rulebook.load(tmp_path).rules[0].exposures == {"*": (("^GSPC", 1),)}
    field = 'direction: {group: v, map: {大涨: 1}}\n    exposures: {"^GSPC": 1}'
    (tmp_path / "r.yaml").write_text(PROBE_RULE.format(field=field), encoding="utf-8")
    assert [i.message for i in lint(tmp_path)] == [
        "`exposures` need a fixed `direction`: their signs cannot follow a direction read from the text "
        "(`direction: {group, map}`); split the rule"]


def test_load_raises_on_first_fatal_problem_only() -> None:
    with pytest.raises(RuleFileError) as err:
        Rulebook.load(FIXTURES / "many_problems")
    assert str(err.value).endswith("rules.yaml:6:13: [market.first] `status` must be one of experimental, "
                                   "test, stable, not 'shiny'")


def test_missing_path_is_a_rule_file_error(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="no such rule file"):
        Rulebook.load(tmp_path / "nope")


@pytest.mark.parametrize("files", [[], ["README.md", "rules.yaml.bak"]], ids=["empty", "other-files"])
def test_a_directory_without_rule_files_is_a_rule_file_error(tmp_path: Path, files: list[str]) -> None:
    # an empty rulebook finds nothing: `extract --stored` with it deleted every stored event
    for name in files:
        (tmp_path / name).write_text("x", encoding="utf-8")
    for load in (Rulebook.load, lint):
        with pytest.raises(RuleFileError) as err:
            load(tmp_path)
        assert str(err.value) == f"{tmp_path}: no rule files (*.yaml, *.yml) in this directory"


@pytest.mark.parametrize("name", ["rules.YAML", "rules.Yml"])
def test_rule_file_suffixes_are_case_insensitive(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text((FIXTURES / "good.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    assert [r.id for r in Rulebook.load(tmp_path).rules] == ["corporate.test_buyback"]
    assert lint(tmp_path) == []


def test_a_rulebook_without_rules_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("family: market\nrules: []\n", encoding="utf-8")
    assert [str(i) for i in lint(tmp_path)] == [f"{tmp_path}: the rulebook defines no rules"]
    with pytest.raises(RuleFileError, match="the rulebook defines no rules"):
        Rulebook.load(tmp_path)


def test_env_overrides_default_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "x.yaml").write_text((FIXTURES / "good.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("SIGNALS_RULES_DIR", str(tmp_path))
    assert [r.id for r in Rulebook.load().rules] == ["corporate.test_buyback"]


def test_repo_rulebook_is_lint_clean_and_covers_the_taxonomy() -> None:
    assert [str(i) for i in lint(REPO / "rules")] == []
    book = Rulebook.load(REPO / "rules")
    assert {r.type for r in book.rules} == set(TAXONOMY)
    assert all(r.id.split(".")[0] == Path(r.path).stem for r in book.rules)


def test_taxonomy_doc_lists_every_type() -> None:
    doc = (REPO / "docs" / "taxonomy.md").read_text(encoding="utf-8")
    assert [t for t in TAXONOMY if f"`{t}`" not in doc] == []


def test_run_cases_reports_failures_with_rule_and_index(tmp_path: Path) -> None:
    text = (FIXTURES / "good.yaml").read_text(encoding="utf-8")
    text = text.replace("magnitude: 6000000000", "magnitude: 7")
    (tmp_path / "r.yaml").write_text(text, encoding="utf-8")
    results = run_cases(Rulebook.load(tmp_path), Linker.from_data())
    assert [(r.rule_id, r.index, r.kind, r.passed) for r in results] == [
        ("corporate.test_buyback", 0, "match", False), ("corporate.test_buyback", 1, "no_match", True)]
    assert "missing" in results[0].message and "magnitude=6000000000.0" in results[0].message


def test_regex_timeout_is_reported_and_other_rules_still_run(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        (FIXTURES / "good.yaml").read_text(encoding="utf-8")
        + "  - id: corporate.slow\n    version: 1\n    title: slow\n    status: test\n    type: layoffs\n"
          "    triggers: [回购]\n    patterns: ['(?:[^y]{0,9}?x){1,3}y']\n    examples:\n      match: [x]\n",
        encoding="utf-8")
    seen = []
    book = Rulebook.load(tmp_path, on_warning=seen.append, regex_timeout=1e-7)
    # the sentence holds the x and the y the slow pattern requires (else the literal prefilter rules it
    # out before any regex runs), but no x before the y: every x starts a catastrophic backtrack
    text = "贵州茅台回购股份y" + "x" * 300
    events = extract_text(text, rulebook=book, linker=Linker.from_data(), article_id="a1")
    assert [e.rule_id for e in events] == ["corporate.test_buyback"]
    assert [w.rule_id for w in book.warnings] == ["corporate.slow"] and seen == book.warnings
    assert "timed out in article a1" in book.warnings[0].message


def test_rules_are_frozen_records() -> None:
    rule = Rulebook.load(FIXTURES / "good.yaml").rules[0]
    assert isinstance(rule, Rule)
    with pytest.raises(AttributeError):
        rule.id = "x"  # type: ignore[misc]


def _every_clause(text: str) -> list[str]:
    import regex

    return [c for c in regex.split(r"[。！？；!?;\n，,]", text) if c] + [text]


@pytest.mark.parametrize(("parts", "union"), [("patterns", "any_pattern"), ("exclude", "any_exclude")])
def test_the_union_matches_exactly_when_one_of_its_parts_does(parts: str, union: str) -> None:
    # the combined pattern may only skip sentences where no pattern matches, and the combined exclusion
    # (_excluded) must exclude exactly the clauses one exclusion would: checked on every rule's example
    # texts, whole and clause by clause, against every rule with several of them
    book = Rulebook.load()
    multi = [r for r in book.rules if len(getattr(r, parts)) > 1]
    assert multi and all(getattr(r, union) is not None for r in multi)
    texts = {c for r in book.rules for ex in r.examples for c in _every_clause(ex.text)}
    agree = hits = 0
    for rule in multi:
        for text in texts:
            combined = getattr(rule, union).search(text) is not None
            one_by_one = any(p.search(text) is not None for p in getattr(rule, parts))
            agree += combined == one_by_one
            hits += one_by_one
    assert agree == len(multi) * len(texts)
    assert hits > 100  # the texts do exercise them


def test_any_pattern_is_none_when_a_pattern_sets_a_global_flag(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "rules:\n  - id: corporate.flagged\n    version: 1\n    title: t\n    status: test\n"
        "    type: buyback\n    triggers: [回购]\n    patterns: ['(?i)buyback', '回购']\n"
        "    examples:\n      match: [公司回购股份]\n", encoding="utf-8")
    rule = Rulebook.load(tmp_path).rules[0]
    assert rule.any_pattern is None  # (?i) would apply to 回购 too: each pattern is searched alone


def test_a_group_that_only_some_patterns_name_falls_back_where_it_is_missing(tmp_path: Path) -> None:
    # subject, direction and magnitude read a group that the second pattern lacks: a hit of that pattern
    # takes the fallbacks (nearest subject, the fixed direction, the first figure after the trigger);
    # it raised IndexError: no such group
    (tmp_path / "g.yaml").write_text("""family: corporate
rules:
  - id: corporate.test_group
    version: 1
    title: t
    status: test
    type: buyback
    confidence: 0.8
    triggers: [回购]
    patterns:
      - '(?P<who>[^，。；]{2,6})(?P<trigger>回购)(?P<amt>\\d+亿元)(?P<dir>股份)'
      - '斥资\\d+亿元(?P<trigger>回购)'
    subject: {from: group, group: who}
    direction: {group: dir, map: {股份: 1}}
    magnitude: {group: amt, units: [money]}
    examples:
      match:
        - text: 贵州茅台今日斥资30亿元回购。
          events: [{ticker: 600519.SS, direction: 1, magnitude: null}]
""", encoding="utf-8")
    book = Rulebook.load(tmp_path)
    (event,) = extract_text("贵州茅台今日斥资30亿元回购", rulebook=book, linker=Linker.from_data())
    assert (event.ticker, event.direction, event.magnitude) == ("600519.SS", 1, None)
