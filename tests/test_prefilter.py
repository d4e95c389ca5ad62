"""The literal prefilter: the clauses it derives, and that it never rules out a sentence a pattern
matches (on every rule example and on random regexes)."""

from __future__ import annotations

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from signals.entities import Linker
from signals.extract import extract_text
from signals.prefilter import required_literals
from signals.rules import Rulebook


def holds(clauses: tuple[frozenset[str], ...], text: str) -> bool:
    return all(any(s in text for s in clause) for clause in clauses)


def as_sets(clauses: tuple[frozenset[str], ...]) -> set[frozenset[str]]:
    return set(clauses)


def test_required_literals_of_a_guidance_pattern() -> None:
    clauses = required_literals(r"(?P<trigger>下调|削减)[^，。；]{0,12}?(?:指引|展望)")
    assert as_sets(clauses) == {frozenset({"下调", "削减"}), frozenset({"指引", "展望"})}


def test_adjacent_literals_multiply_out() -> None:
    assert required_literals(r"(?:指引|展望)(?P<trigger>上调|上修)") == (
        frozenset({"指引上调", "指引上修", "展望上调", "展望上修"}),)


def test_lookarounds_require_nothing_and_do_not_break_a_run() -> None:
    # the lookbehind's 风险 is no requirement; 营收 and 不及 either side of a lookahead stay one run
    assert required_literals(r"(?<!风险)营收(?!指引)不及预期") == (frozenset({"营收不及预期"}),)


def test_optional_and_repeated_parts() -> None:
    assert required_literals(r"(?:大幅)?下调") == (frozenset({"下调"}),)
    assert required_literals(r"(?:涨停)*") == ()
    # 涨停涨停板 matches too, so the repeat is no exact string: 涨停 and 板, each on its own
    assert required_literals(r"(?:涨停)+板") == (frozenset({"涨停"}), frozenset({"板"}))
    assert required_literals(r"第[一二三四1-4]季度") == (frozenset(
        {f"第{c}季度" for c in "一二三四1234"}),)


def test_an_alternative_without_requirement_cancels_the_alternation() -> None:
    assert required_literals(r"(?:降息|[^，。]{2})") == ()
    assert required_literals(r"(?:降息|)25个基点") == (frozenset({"降息25个基点", "25个基点"}),)


def test_what_the_analysis_does_not_read_gives_no_clauses() -> None:
    assert required_literals(r"(?i)eps beat") == ()
    assert required_literals(r"(?i:eps)") == ()
    assert required_literals(r"(a)降息\1") == ()  # backreference
    assert required_literals(r"[[:alpha:]]降息") == ()  # a POSIX class the standard parser misreads
    assert required_literals(r"(?P<x>降息") == ()  # does not parse


def test_hostile_patterns_give_no_clauses_rather_than_an_error() -> None:
    assert required_literals("(?:" * 3000 + "降息" + ")" * 3000) == ()  # deeper than any parser goes
    assert required_literals("(?:" * 200 + "降息" + ")" * 200) == (frozenset({"降息"}),)
    # thousands of alternatives: the exact set is not enumerated, the shared prefix still required
    assert required_literals("|".join(f"词{i}" for i in range(5000))) == (frozenset({"词"}),)


def test_regex_module_syntax_is_read() -> None:
    # \p{Han} is read as a class it cannot enumerate; a group name used twice is allowed in `regex`
    assert required_literals(r"入股\p{Han}{2,8}?") == (frozenset({"入股"}),)
    assert as_sets(required_literals(r"(?P<t>降息)[^，]{0,4}|(?P<t>加息)[^，]{0,4}")) == {
        frozenset({"降息", "加息"})}


def test_no_rule_example_is_ruled_out_by_any_pattern() -> None:
    """Every pattern of the rulebook against every example text (not only its own rule's): where it
    matches, its clauses hold."""
    rulebook = Rulebook.load()
    texts = [f"{ex.title}\n\n{ex.text}" for rule in rulebook.rules for ex in rule.examples]
    checked = 0
    for rule in rulebook.rules:
        for pattern, clauses in zip(rule.patterns, rule.gates or [()] * len(rule.patterns), strict=True):
            for text in texts:
                for m in pattern.finditer(text):
                    assert holds(clauses, m.group()), (rule.id, pattern.pattern, text)
                    checked += 1
    assert checked > 700  # matches checked (777 when written)
    # nearly every pattern has clauses (158 of 160 when written: the futures rules require their move
    # only inside a lookahead)
    gates = [g for r in rulebook.rules for g in (r.gates or [()] * len(r.patterns))]
    assert sum(1 for g in gates if g) >= 0.9 * len(gates)


def test_admitted_runs_only_patterns_whose_literals_are_present(tmp_path) -> None:
    (tmp_path / "guidance.yaml").write_text("""family: earnings
rules:
  - id: earnings.test_guidance
    version: 1
    title: 下调指引
    status: test
    type: guidance_cut
    triggers: [指引]
    patterns:
      - '(?P<trigger>下调)[^，。；]{0,6}指引'
      - '指引[^，。；]{0,6}(?P<trigger>低于预期)'
    examples:
      match:
        - text: 英伟达下调全年营收指引。
""", encoding="utf-8")
    rulebook = Rulebook.load(tmp_path)
    rule = rulebook.rules[0]
    assert rule.gates == ((frozenset({"下调"}), frozenset({"指引"})),
                          (frozenset({"低于预期"}), frozenset({"指引"})))
    text = "英伟达下调全年营收指引。"
    assert rulebook.admitted(0, rulebook.gate_mask(text, 0, len(text))) == [rule.patterns[0]]
    assert rulebook.admitted(0, rulebook.gate_mask("指引低于预期。", 0, 7)) == [rule.patterns[1]]
    assert rulebook.admitted(0, rulebook.gate_mask("下调指引低于预期。", 0, 9)) == list(rule.patterns)
    assert rulebook.admitted(0, rulebook.gate_mask("指引不变。", 0, 5)) == []
    events = extract_text(text, rulebook=rulebook, linker=Linker.from_data())
    assert [(e.type, e.ticker, e.direction) for e in events] == [("guidance_cut", "NVDA", -1)]


# Random regexes over a small alphabet, so that random strings often match them.
_CHARS = "ab下调"
_atom = st.one_of(
    st.sampled_from(list(_CHARS)),
    st.sampled_from(["[ab]", "[^a]", ".", "[下调a]", r"\p{Han}"]),
)


def _compose(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.lists(children, min_size=2, max_size=4).map("".join),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: "(?:" + "|".join(xs) + ")"),
        st.tuples(children, st.sampled_from(["?", "*", "+", "{2}", "{1,3}", "{0,2}?", "+?"])).map(
            lambda t: f"(?:{t[0]}){t[1]}"),
        children.map(lambda x: f"(?=a|{x})"),
        children.map(lambda x: f"(?!{x})"),
        children.map(lambda x: f"(?<!{x[:1] if x[:1] in _CHARS else 'a'})"),
        children.map(lambda x: f"(?P<g>{x})"),
    )


_patterns = st.recursive(_atom, _compose, max_leaves=8)


@settings(max_examples=400, deadline=None)
@given(_patterns, st.lists(st.text(alphabet=_CHARS + "，", max_size=12), min_size=1, max_size=5))
def test_clauses_hold_in_every_match_of_a_random_pattern(source: str, texts: list[str]) -> None:
    try:
        pattern = regex.compile(source)
    except regex.error:
        return
    clauses = required_literals(source, pattern.flags)
    for text in texts:
        for m in pattern.finditer(text):
            assert holds(clauses, m.group()), (source, text, clauses)


def test_syntax_the_renaming_or_the_parser_would_misread_gives_no_clauses() -> None:
    # a POSIX class after other items of a set: `regex` reads [:digit:], re._parser a literal "]"
    assert required_literals(r"[0-9[:digit:]]个基点") == ()
    # an escaped paren before ?P<x>: renaming groups would invent a required ":"
    assert required_literals(r"\(?P<x>降息\)") == ()
    assert regex.search(r"\(?P<x>降息\)", "P<x>降息)")
    assert regex.search(r"[0-9[:digit:]]个基点", "5个基点")
