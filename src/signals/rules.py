"""Load, lint and compile the YAML rulebook in ``rules/``; run the rules' own example cases.

A rule maps Chinese phrases to one taxonomy event type. Its literal ``triggers`` go into ONE
Aho-Corasick automaton for the whole rulebook; a rule's regex ``patterns`` only ever run on the
sentence around a trigger hit, so extraction costs one automaton pass plus a few small regex calls.
The file format is documented in docs/rules.md, the event types in docs/taxonomy.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ahocorasick_rs
import regex
import yaml

from signals.errors import RuleFileError
from signals.numbers import MONEY_UNITS
from signals.numbers import UNITS as NUMBER_UNITS
from signals.prefilter import required_literals

if TYPE_CHECKING:
    from signals.entities import Linker
    from signals.extract import Event

# --------------------------------------------------------------------------------------------
# Taxonomy: every event type, its family (the Event ``topic``) and its default price direction.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventType:
    name: str
    family: str
    direction: int  # default sign for the subject's price (monetary: broad equity market)
    description: str


def _types(family: str, *rows: tuple[str, int, str]) -> dict[str, EventType]:
    return {name: EventType(name, family, d, desc) for name, d, desc in rows}


TAXONOMY: dict[str, EventType] = {
    **_types(
        "monetary",
        ("rate_cut", 1, "central bank lowers a policy rate (降息, 下调LPR/政策利率)"),
        ("rate_hike", -1, "central bank raises a policy rate (加息)"),
        ("rate_hold", 0, "central bank keeps rates unchanged (维持利率不变, 按兵不动)"),
        ("rrr_cut", 1, "reserve requirement ratio cut (降准)"),
        ("rrr_hike", -1, "reserve requirement ratio hike (上调存款准备金率)"),
        ("fx_intervention", 0, "authorities intervene in the currency market (干预汇市)"),
    ),
    **_types(
        "trade",
        ("tariff_increase", -1, "new or higher tariffs (加征关税)"),
        ("tariff_decrease", 1, "tariffs cut, suspended or exempted (下调/暂停/豁免关税)"),
    ),
    **_types(
        "earnings",
        ("earnings_preannounce_up", 1, "profit pre-announced up (预增, 同比增长X%)"),
        ("earnings_preannounce_down", -1, "profit pre-announced down (预减, 同比下降X%)"),
        ("turnaround_profit", 1, "back to profit (扭亏为盈)"),
        ("loss_warning", -1, "loss expected (预亏, 由盈转亏)"),
        ("earnings_beat", 1, "results above expectations (超预期)"),
        ("earnings_miss", -1, "results below expectations (不及预期)"),
        ("guidance_raise", 1, "company raises its outlook (上调业绩指引)"),
        ("guidance_cut", -1, "company lowers its outlook (下调业绩指引)"),
    ),
    **_types(
        "corporate",
        ("buyback", 1, "share repurchase (回购)"),
        ("dividend", 1, "cash dividend or special dividend (分红, 派息)"),
        ("stake_increase", 1, "insider / major holder buys (增持)"),
        ("stake_decrease", -1, "insider / major holder sells (减持)"),
        ("acquisition", 1, "the subject acquires (收购, 并购)"),
        ("divestment", 0, "the subject sells a business or asset (出售资产, 剥离)"),
        ("contract_win", 1, "wins a bid or signs a major contract (中标, 签订合同)"),
        ("capex_increase", 1, "raises capital spending (加大资本开支)"),
        ("production_halt", -1, "stops production (停产)"),
        ("production_cut", -1, "cuts output (减产)"),
        ("capacity_expansion", 1, "expands capacity (扩产, 扩建)"),
        ("product_launch", 1, "launches a product (发布, 推出)"),
        ("management_change", 0, "chair / CEO resigns or is appointed (辞职, 换帅)"),
        ("layoffs", -1, "job cuts (裁员)"),
        ("regulatory_probe", -1, "investigation by a regulator (立案调查)"),
        ("default", -1, "debt default (违约, 未能按期兑付)"),
    ),
    **_types(
        "analyst",
        ("target_price_raise", 1, "broker raises its target price (上调目标价)"),
        ("target_price_cut", -1, "broker cuts its target price (下调目标价)"),
        ("rating_upgrade", 1, "broker upgrades its rating (上调评级)"),
        ("rating_downgrade", -1, "broker downgrades its rating (下调评级)"),
        ("rating_reiterate", 0, "broker keeps its rating (维持评级)"),
    ),
    **_types(
        "market",
        ("price_surge", 1, "a named instrument jumps (大涨, 暴涨, 涨超5%)"),
        ("price_plunge", -1, "a named instrument falls hard (暴跌, 跳水, 跌超5%)"),
        ("record_high", 1, "all-time high (创历史新高)"),
        ("limit_up", 1, "A-share daily limit up (涨停)"),
        ("limit_down", -1, "A-share daily limit down (跌停)"),
        ("trading_halt", 0, "trading suspended (停牌)"),
    ),
    **_types(
        "commodity",
        ("supply_disruption", 1, "supply of a commodity is disrupted (供应中断, 矿山停产, 减产)"),
    ),
}

FAMILIES = ("monetary", "trade", "earnings", "analyst", "corporate", "market", "commodity")
STATUSES = ("experimental", "test", "stable")

# Which instrument kinds may be a rule's subject when the rule does not say (docs/rules.md).
DEFAULT_SUBJECT_KINDS: dict[str, tuple[str, ...]] = {
    "monetary": ("policy_body",),
    "trade": ("policy_body", "equity", "index"),
    "earnings": ("equity",),
    "corporate": ("equity",),
    "analyst": ("equity", "index"),
    "market": ("equity", "index", "commodity", "fx", "rate"),
    "commodity": ("commodity",),
}

REGEX_TIMEOUT_S = 0.1
_DEFAULT_FLAGS = regex.compile("").flags

# --------------------------------------------------------------------------------------------
# Compiled rule records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubjectSpec:
    mode: str = "nearest"  # nearest | group | fixed
    kinds: tuple[str, ...] = ()
    group: str | None = None
    ticker: str | None = None  # fixed subject, or the fallback when `nearest` finds nothing
    name: str | None = None
    title: bool = True  # body sentences may take their subject from the title
    # how far the nearest search reaches: `clause` keeps the subject in the trigger's clause
    # (a price move belongs to what moved: 销量…创新高 has no instrument), `sentence`, or `article`
    scope: str = "article"
    after: bool = True  # may the subject follow the trigger (涨停的有五粮液)? False: only before
    unlinked: bool = False  # `from: group`: an unlinked name in the group is the subject (xAI)
    # `from: group`: a group that took part but names no entity falls back to `nearest`; False: no subject
    # (软银将买入OpenAI股份: the buyer before the verb is not what was bought)
    fallback: bool = True
    each: bool = False  # one event per entity of a list (五粮液、山西汾酒等涨停)
    tickers: tuple[str, ...] = ()  # allow-list: only these instruments (central banks for rate rules)


@dataclass(frozen=True)
class DirectionSpec:
    value: int = 0
    group: str | None = None
    mapping: tuple[tuple[str, int], ...] = ()  # longest key first


@dataclass(frozen=True)
class MagnitudeSpec:
    group: str | None = None
    units: tuple[str, ...] = ()
    where: str = "after"  # after | around (after the trigger, else before it, in the clause) | sentence
    pick: str = "first"  # first | last
    as_unit: str | None = None  # relabel: money -> price (target prices), pct points -> bp
    required: bool = False
    min: float | None = None


@dataclass(frozen=True)
class Example:
    kind: str  # match | no_match | todo
    index: int
    text: str
    title: str = ""
    events: tuple[dict[str, Any], ...] = ()
    line: int | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    version: int
    title: str
    status: str
    type: str
    family: str
    triggers: tuple[str, ...]
    patterns: tuple[Any, ...]  # compiled regex patterns
    exclude: tuple[Any, ...]
    subject: SubjectSpec
    direction: DirectionSpec
    magnitude: MagnitudeSpec | None
    modality: str | None  # None: from cues; "fact": ignore expectation cues (pre-announcements)
    exposures: dict[str, tuple[tuple[str, int], ...]]  # subject ticker or "*" -> (ticker, sign)
    confidence: float
    references: tuple[str, ...] = ()
    known_false_positives: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()
    path: str = ""
    line: int | None = None

    @cached_property
    def any_pattern(self) -> Any | None:
        """All patterns as one alternation: it matches a span exactly when one of the patterns does, so
        one search rules out a sentence (most trigger sentences match no pattern) instead of one per
        pattern. Group names may repeat across alternatives in `regex`."""
        if len(self.patterns) < 2:
            return None  # one pattern is its own filter
        if any(p.flags != _DEFAULT_FLAGS for p in self.patterns):
            return None  # a pattern's inline flag (?i) would spread to the others: search each alone
        return regex.compile("|".join(f"(?:{p.pattern})" for p in self.patterns))

    @cached_property
    def any_exclude(self) -> Any | None:
        """All exclusions as one alternation (as any_pattern): one search per hit instead of one each."""
        if len(self.exclude) < 2 or any(p.flags != _DEFAULT_FLAGS for p in self.exclude):
            return None
        return regex.compile("|".join(f"(?:{p.pattern})" for p in self.exclude))

    @cached_property
    def gates(self) -> tuple[tuple[frozenset[str], ...], ...] | None:
        """Per pattern, the literals it cannot match without (prefilter.required_literals): a sentence
        lacking them skips that pattern's regex. None when no pattern has any."""
        gates = tuple(required_literals(p.pattern, p.flags) for p in self.patterns)
        return gates if any(gates) else None

    def exposures_for(self, ticker: str | None) -> tuple[tuple[str, int], ...]:
        if ticker and ticker in self.exposures:
            return self.exposures[ticker]
        return self.exposures.get("*", ())


@dataclass(frozen=True)
class LintIssue:
    path: str
    line: int | None
    column: int | None
    rule_id: str | None
    message: str
    fatal: bool = True  # fatal issues stop Rulebook.load; the others only fail `rules lint`

    def __str__(self) -> str:
        where = self.path + (f":{self.line}" if self.line else "")
        where += f":{self.column}" if self.line and self.column else ""
        return f"{where}: {f'[{self.rule_id}] ' if self.rule_id else ''}{self.message}"


@dataclass(frozen=True)
class RuleWarning:
    rule_id: str
    message: str
    key: str = ""  # what it is about (a pattern): one warning per rule and key, not one per article

    def __str__(self) -> str:
        return f"rule {self.rule_id}: {self.message}"


@dataclass(frozen=True)
class CaseResult:
    rule_id: str
    index: int
    kind: str
    passed: bool
    message: str


# --------------------------------------------------------------------------------------------
# YAML with positions: mappings and sequences remember where each value starts.
# --------------------------------------------------------------------------------------------


class _Map(dict):
    line: int | None = None
    col: int | None = None
    marks: dict[str, tuple[int, int]]  # where each value starts
    key_marks: dict[str, tuple[int, int]]  # where each key starts (for unknown-field messages)


class _Seq(list):
    line: int | None = None
    col: int | None = None
    marks: list[tuple[int, int]]


class _MarkedLoader(yaml.SafeLoader):
    pass


def _construct_map(loader: _MarkedLoader, node: yaml.MappingNode) -> _Map:
    out = _Map()
    out.line, out.col = node.start_mark.line + 1, node.start_mark.column + 1
    out.marks, out.key_marks = {}, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, list | dict):  # `{[a]: 1}`: PyYAML's own maps refuse it too
            raise yaml.constructor.ConstructorError(None, None, "a mapping key must be a scalar, not a "
                                                    "list or mapping", key_node.start_mark)
        if key in out:  # YAML silently keeps the last duplicate key; an analyst would not expect that
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}",
                                                    key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.marks[str(key)] = (value_node.start_mark.line + 1, value_node.start_mark.column + 1)
        out.key_marks[str(key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    return out


def _construct_seq(loader: _MarkedLoader, node: yaml.SequenceNode) -> _Seq:
    out = _Seq(loader.construct_object(child, deep=True) for child in node.value)
    out.line, out.col = node.start_mark.line + 1, node.start_mark.column + 1
    out.marks = [(c.start_mark.line + 1, c.start_mark.column + 1) for c in node.value]
    return out


_MarkedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_MarkedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)

if getattr(yaml, "__with_libyaml__", False):
    class _FastMarkedLoader(yaml.CSafeLoader):
        """The same constructors over libyaml's parser: ~6x faster (the rulebook's YAML took ~0.9 s
        of every command's start), with the same line/column marks (tested on every rule file)."""

    _FastMarkedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
    _FastMarkedLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)
    _LOADERS: tuple[type, ...] = (_FastMarkedLoader, _MarkedLoader)
else:  # PyYAML built without libyaml
    _LOADERS = (_MarkedLoader,)


def _parse_yaml(text: str) -> Any:
    """Parse with the fastest loader; a document it rejects is parsed again by the pure-Python one,
    whose error messages say more (libyaml: "did not find expected ',' or ']'"; PyYAML: "expected
    ',' or ']', but got ':'"), so what the analyst reads does not depend on how PyYAML was built."""
    if len(_LOADERS) > 1:
        with contextlib.suppress(yaml.YAMLError):
            return yaml.load(text, Loader=_LOADERS[0])  # SafeLoader subclasses, both
    return yaml.load(text, Loader=_LOADERS[-1])


def _mark(obj: Any, key: str | int | None = None) -> tuple[int | None, int | None]:
    """Line and column of ``obj[key]`` (or of ``obj`` itself) when the loader recorded it."""
    if key is not None:
        if isinstance(obj, _Map) and str(key) in obj.marks:
            return obj.marks[str(key)]
        if isinstance(obj, _Seq) and isinstance(key, int) and key < len(obj.marks):
            return obj.marks[key]
    return getattr(obj, "line", None), getattr(obj, "col", None)


# --------------------------------------------------------------------------------------------
# Validation + compilation in one walk: every problem becomes a LintIssue, nothing raises.
# --------------------------------------------------------------------------------------------

FILE_FIELDS = {"family", "description", "definitions", "rules"}  # definitions: YAML anchors
RULE_FIELDS = {
    "id", "version", "title", "status", "type", "confidence", "triggers", "patterns", "exclude",
    "subject", "direction", "magnitude", "modality", "exposures", "references",
    "known_false_positives", "examples", "description", "notes",
}
REQUIRED_RULE_FIELDS = ("id", "version", "title", "status", "type", "triggers", "examples")
SUBJECT_FIELDS = {"from", "kinds", "group", "ticker", "name", "title", "each", "tickers", "scope", "after",
                  "unlinked", "fallback"}
SUBJECT_SCOPES = ("clause", "sentence", "article")
DIRECTION_FIELDS = {"group", "map", "default"}
MAGNITUDE_FIELDS = {"group", "units", "where", "pick", "as", "required", "min"}
# what `magnitude.units` may list: the unit codes numbers.py reads, and `money` for every currency
MAGNITUDE_UNITS = frozenset(NUMBER_UNITS | {"money"})
MAGNITUDE_AS = ("price", "bp", "pct", "per_share")  # relabellings extract._convert knows
SIGNS = (-1, 0, 1)
EXAMPLE_FIELDS = {"text", "title", "events", "reason"}
EXAMPLE_KINDS = ("match", "no_match", "todo")
EVENT_KEYS = {
    "type", "subject", "ticker", "entity_kind", "direction", "magnitude", "magnitude_low",
    "magnitude_high", "unit", "magnitude_bound", "modality", "source", "in_title", "relevance",
    "topic", "exposures", "rule_id",
}
KNOWN_KINDS = {"equity", "index", "commodity", "fx", "rate", "policy_body", "institution", "crypto", "etf"}

# Repeat counts. `regex` compiles a repeat by unrolling its count (a{10000000}: 8.5 s and 2.7 GB;
# nested counts multiply), so counts above this are refused before compiling.
MAX_REPEAT = 1000
# A repeated group whose own length varies can split a text in many ways, and a search that fails
# tries them all: (?:[^。]{0,20}){0,20} times out, (?:[^，]{0,6}，){0,2} does not. Above this many
# ways (inner variants ** outer count) lint calls it catastrophic.
MAX_NESTED_WAYS = 10_000
# An unbounded part (+, *, {n,}) inside a group repeated a fixed number of times varies with the
# text; a clause of this many characters stands in for it.
_CLAUSE_CHARS = 100
_QUANTIFIER = regex.compile(r"[*+?]|\{(\d*)(,?)(\d*)\}")
_GROUP_OPENING = regex.compile(r"\((?:\?(?:P?<\w+>|<[=!]|[:=!>|]|[-a-zA-Z]+:?))?")
_ESCAPE_WITH_BRACES = regex.compile(r"\\[pPNxuUg]\{[^}]*\}|\\.", regex.DOTALL)


@dataclass(frozen=True)
class _Repeat:
    """One quantifier: the atom it repeats (pattern[start:end] shows both), its counts, and the atom's
    own variability: ``ways`` its length can vary in (1: fixed), ``size`` its unrolled length."""

    start: int
    end: int
    low: int
    high: float  # math.inf when unbounded
    ways: float
    size: int


@dataclass(frozen=True)
class _Atom:
    start: int
    ways: float = 1.0  # ways its length can vary in
    size: int = 1  # its length unrolled (compile cost)
    char: str | None = None  # a plain literal character
    char_class: str | None = None  # the text of a [...] class


@dataclass
class _Group:
    """An open group while walking a pattern, and its current branch (alternative)."""

    start: int
    lookaround: bool = False  # zero-width: never varies what the group around it matches
    ways: float = 1.0  # the largest variability of its finished branches
    size: int = 1
    delimited: bool = True  # every finished branch opens or ends with a character its variable parts refuse
    branch_ways: float = 1.0
    branch_lead: str | None = None
    branch_last: str | None = None
    branch_atoms: int = 0
    branch_varying: list = field(default_factory=list)  # the classes (or None) of its varying parts

    def add(self, atom: _Atom, varies: bool) -> None:
        """Append an atom to the current branch; ``varies``: its length is not fixed."""
        if self.branch_atoms == 0:
            self.branch_lead = atom.char if not varies else None
        self.branch_atoms += 1
        self.branch_last = atom.char if not varies else None
        self.branch_ways *= atom.ways
        self.size = max(self.size, atom.size)
        if varies:
            self.branch_varying.append(atom.char_class)

    def end_branch(self) -> None:
        self.ways = max(self.ways, self.branch_ways)
        self.delimited &= any(all(_refuses(c, edge) for c in self.branch_varying)
                              for edge in (self.branch_lead, self.branch_last) if edge is not None)
        self.branch_ways, self.branch_lead, self.branch_last, self.branch_atoms = 1.0, None, None, 0
        self.branch_varying = []

    def as_atom(self) -> _Atom:
        """The closed group as one atom. A repetition that opens with a character its variable parts
        cannot match (、[^，。；、]{1,8}), or closes with one ([^、]{1,8}、), splits a text one way only."""
        self.end_branch()
        # an unbounded part stays suspect even so: (?:x+y)+ was always flagged, keep it that way
        fixed = self.lookaround or (self.delimited and self.ways != math.inf)
        return _Atom(self.start, 1.0 if fixed else self.ways, self.size)


def _refuses(char_class: str | None, char: str | None) -> bool:
    """Does the class ``[...]`` refuse ``char``? Asked of `regex` itself (ranges, \\p{Han} …)."""
    if char_class is None or char is None:
        return False
    try:
        return regex.fullmatch(char_class, char) is None
    except regex.error:
        return False


def _class_end(pattern: str, i: int) -> int:
    """Index after the character class opening at ``pattern[i] == "["`` (a leading ] is literal)."""
    j = i + 1
    if j < len(pattern) and pattern[j] == "^":
        j += 1
    if j < len(pattern) and pattern[j] == "]":
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        j += 2 if pattern[j] == "\\" else 1
    return j + 1


def _counts(quantifier: regex.Match) -> tuple[int, float] | None:
    text = quantifier.group()
    if text in ("*", "+", "?"):
        return {"*": (0, math.inf), "+": (1, math.inf), "?": (0, 1)}[text]
    low, comma, high = quantifier.groups()
    if not low and not high:
        return None  # `{}` or `{,}` is a literal brace in `regex`
    lo = int(low) if low else 0
    return lo, (int(high) if high else math.inf) if comma else lo


def _repeats(pattern: str) -> list[_Repeat]:
    """Every quantifier of ``pattern`` with what it repeats (a heuristic walk, not a parser: enough
    for counts and nesting; a pattern it misreads still goes to regex.compile)."""
    repeats: list[_Repeat] = []
    groups = [_Group(0)]
    atom: _Atom | None = None  # the last atom, until a quantifier or the next atom claims it
    i, n = 0, len(pattern)
    while i < n:
        m = _QUANTIFIER.match(pattern, i) if atom is not None else None
        counts = _counts(m) if m else None
        if atom is not None and m and counts:
            low, high = counts
            end = m.end() + (1 if m.end() < n and pattern[m.end()] in "?+" else 0)  # lazy, possessive
            repeats.append(_Repeat(atom.start, end, low, high, atom.ways, atom.size))
            inner = float(_CLAUSE_CHARS) if atom.ways == math.inf and high != math.inf else atom.ways
            ways = _power(inner, high) if inner > 1 else high - low + 1
            char_class = atom.char_class or (f"[{regex.escape(atom.char)}]" if atom.char else None)
            groups[-1].add(_Atom(atom.start, ways, max(low, 1) * atom.size, char_class=char_class),
                           varies=ways > 1)
            atom, i = None, end
            continue
        if atom is not None:
            groups[-1].add(atom, varies=atom.ways > 1)
            atom = None
        ch = pattern[i]
        if ch == "\\":
            esc = _ESCAPE_WITH_BRACES.match(pattern, i)
            atom, i = _Atom(i), (esc.end() if esc else n)
        elif ch == "[":
            j = _class_end(pattern, i)
            atom, i = _Atom(i, char_class=pattern[i:j]), j
        elif ch == "(":
            if pattern.startswith("(?#", i):  # a comment
                i = pattern.find(")", i) + 1 or n
                continue
            lookaround = pattern.startswith(("(?=", "(?!", "(?<=", "(?<!"), i)
            groups.append(_Group(i, lookaround=lookaround))
            i = _GROUP_OPENING.match(pattern, i).end()  # (?P<name> is no atom, its ? no quantifier
        elif ch == "|":
            groups[-1].end_branch()
            i += 1
        elif ch == ")" and len(groups) > 1:
            atom, i = groups.pop().as_atom(), i + 1
        else:
            atom, i = _Atom(i, char=None if ch in ".^$" else ch), i + 1
    return repeats


def _power(base: float, exponent: float) -> float:
    if exponent == math.inf or exponent * math.log10(base) > 18:
        return math.inf
    return base ** exponent


def repeat_size_reason(pattern: str) -> str | None:
    """A repeat count above MAX_REPEAT, or nested counts multiplying above it: regex.compile alone
    would take seconds and gigabytes (lint ran >60 s on a{1000000000}), so this runs before it."""
    for r in _repeats(pattern):
        shown = pattern[r.start:r.end]
        count = max(r.low, r.high if r.high != math.inf else 0)
        if count > MAX_REPEAT:
            return f"repeat count {count} in {shown!r} is above {MAX_REPEAT}"
        if r.low * r.size > MAX_REPEAT:
            return f"nested repeat counts in {shown!r} multiply to {r.low * r.size} (above {MAX_REPEAT})"
    return None


def catastrophic_reason(pattern: str) -> str | None:
    """Heuristic for catastrophic backtracking: a repeated group whose own length varies, with more
    than MAX_NESTED_WAYS ways to split a text between its repetitions: (a+)+, (?:\\w*x)*, and bounded
    ones such as (?:[^。]{0,20}){0,20} (21**20 ways), which the regex timeout then has to stop."""
    for r in _repeats(pattern):
        if r.ways <= 1 or r.high <= 1:
            continue  # a fixed-length group, or one that does not repeat
        inner = r.ways if r.ways != math.inf or r.high == math.inf else _CLAUSE_CHARS
        if _power(inner, r.high) > MAX_NESTED_WAYS:
            return f"nested quantifier {pattern[r.start:r.end]!r} can backtrack catastrophically"
    return None


class _Collector:
    """Accumulates issues for one file while compiling its rules."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.issues: list[LintIssue] = []

    def add(self, obj: Any, key: str | int | None, rule_id: str | None, message: str,
            *, fatal: bool = True, at_key: bool = False) -> None:
        if at_key and isinstance(obj, _Map) and str(key) in obj.key_marks:
            line, col = obj.key_marks[str(key)]
        else:
            line, col = _mark(obj, key)
        self.issues.append(LintIssue(self.path, line, col, rule_id, message, fatal))


def _as_str_list(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _is_sign(value: Any) -> bool:
    """-1, 0 or 1 as a YAML integer: true/false are ints in Python but no sign an author meant."""
    return isinstance(value, int) and not isinstance(value, bool) and value in SIGNS


def is_number(value: Any) -> bool:
    """A YAML or JSON number: an int or a float, not true/false (ints in Python, no number an author
    meant). Rule fields and gold magnitudes (signals.evaluate) are checked with it."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _flag(raw: dict, key: str, default: bool, what: str, rid: str, out: _Collector) -> bool:
    """A yes/no field: `title: "false"` would be truthy, so only true/false are accepted."""
    value = raw.get(key, default)
    if not isinstance(value, bool):
        out.add(raw, key, rid, f"`{what}.{key}` must be true or false, not {value!r}")
        return default
    return value


def _group(raw: dict, groups: set[str], what: str, rid: str, out: _Collector) -> str | None:
    """``raw["group"]`` when it names a group of the rule's patterns; a problem otherwise."""
    group = raw.get("group")
    if isinstance(group, str) and group in groups:
        return group
    named = ", ".join(sorted(groups)) if groups else "none: the patterns have no (?P<name>...) group"
    out.add(raw, "group", rid, f"`{what}.group` {group!r} is not a named group of any pattern "
                               f"(named groups: {named})")
    return None


def _compile_patterns(raw: Any, key: str, rule_id: str, out: _Collector, container: Any) -> list[Any]:
    items = _as_str_list(raw) if raw is not None else []
    if items is None:
        out.add(container, key, rule_id, f"`{key}` must be a list of regex strings")
        return []
    compiled = []
    for i, source in enumerate(items):
        too_large = repeat_size_reason(source)
        if too_large:  # before compiling: the compile itself is what takes seconds and gigabytes
            out.add(raw if isinstance(raw, _Seq) else container, i if isinstance(raw, _Seq) else key,
                    rule_id, f"{key}[{i}]: {too_large}")
            continue
        try:
            compiled.append(regex.compile(source))
        except regex.error as exc:
            out.add(raw if isinstance(raw, _Seq) else container, i if isinstance(raw, _Seq) else key,
                    rule_id, f"{key}[{i}] does not compile: {exc}")
            continue
        reason = catastrophic_reason(source)
        if reason:
            out.add(raw if isinstance(raw, _Seq) else container, i if isinstance(raw, _Seq) else key,
                    rule_id, f"{key}[{i}]: {reason}")
    return compiled


def _parse_subject(raw: Any, family: str, groups: set[str], rid: str, out: _Collector,
                   rule: _Map) -> SubjectSpec:
    default_kinds = DEFAULT_SUBJECT_KINDS.get(family, ())
    if raw is None or raw == "nearest":
        return SubjectSpec(kinds=default_kinds)
    if not isinstance(raw, dict):
        out.add(rule, "subject", rid, "`subject` must be `nearest` or a mapping")
        return SubjectSpec(kinds=default_kinds)
    for k in raw:
        if k not in SUBJECT_FIELDS:
            allowed = ", ".join(sorted(SUBJECT_FIELDS))
            out.add(raw, k, rid, f"unknown field `subject.{k}` (allowed: {allowed})", at_key=True)
    mode = raw.get("from", "fixed" if raw.get("ticker") and "kinds" not in raw else "nearest")
    if mode not in ("nearest", "group", "fixed"):
        out.add(raw, "from", rid, f"`subject.from` must be nearest, group or fixed, not {mode!r}")
    kinds = _as_str_list(raw.get("kinds")) if "kinds" in raw else list(default_kinds)
    if kinds is None or any(k not in KNOWN_KINDS for k in kinds):
        out.add(raw, "kinds", rid, f"`subject.kinds` must list kinds from {sorted(KNOWN_KINDS)}")
        kinds = list(default_kinds)
    group = _group(raw, groups, "subject", rid, out) if mode == "group" else None
    ticker, name = (_subject_text(raw, key, rid, out) for key in ("ticker", "name"))
    if mode == "fixed" and not name:
        out.add(raw, "from", rid, "a fixed subject needs `name` (and usually `ticker`)")
    tickers = _as_str_list(raw.get("tickers", []))
    if tickers is None:
        out.add(raw, "tickers", rid, "`subject.tickers` must be a list of tickers")
    scope = raw.get("scope", "article")
    if scope not in SUBJECT_SCOPES:
        out.add(raw, "scope", rid, f"`subject.scope` must be one of {', '.join(SUBJECT_SCOPES)}, "
                                   f"not {scope!r}")
        scope = "article"
    unlinked = _flag(raw, "unlinked", False, "subject", rid, out)
    if unlinked and mode != "group":
        out.add(raw, "unlinked", rid, "`subject.unlinked` needs `from: group`")
    fallback = _flag(raw, "fallback", True, "subject", rid, out)
    if not fallback and mode != "group":
        out.add(raw, "fallback", rid, "`subject.fallback` needs `from: group`")
    return SubjectSpec(mode=mode, kinds=tuple(kinds), group=group, ticker=ticker, name=name,
                       title=_flag(raw, "title", True, "subject", rid, out),
                       each=_flag(raw, "each", False, "subject", rid, out), tickers=tuple(tickers or ()),
                       scope=scope, after=_flag(raw, "after", True, "subject", rid, out), unlinked=unlinked,
                       fallback=fallback)


def _subject_text(raw: dict, key: str, rid: str, out: _Collector) -> str | None:
    """`subject.ticker` / `subject.name`: one string (a list passed lint and crashed extraction)."""
    value = raw.get(key)
    if value is None or (isinstance(value, str) and value):
        return value
    out.add(raw, key, rid, f"`subject.{key}` must be a non-empty string, not {value!r}")
    return None


def _parse_direction(raw: Any, default: int, groups: set[str], rid: str, out: _Collector,
                     rule: _Map) -> DirectionSpec:
    if raw is None:
        return DirectionSpec(value=default)
    if isinstance(raw, int) and not isinstance(raw, bool) and raw in (-1, 0, 1):
        return DirectionSpec(value=raw)
    if not isinstance(raw, dict):
        out.add(rule, "direction", rid, "`direction` must be -1, 0, 1 or {group, map}")
        return DirectionSpec(value=default)
    for k in raw:
        if k not in DIRECTION_FIELDS:
            allowed = ", ".join(sorted(DIRECTION_FIELDS))
            out.add(raw, k, rid, f"unknown field `direction.{k}` (allowed: {allowed})", at_key=True)
    group, mapping = _group(raw, groups, "direction", rid, out), raw.get("map")
    if not isinstance(mapping, dict) or not all(_is_sign(v) for v in mapping.values()):
        out.add(raw, "map", rid, "`direction.map` must map group text to -1, 0 or 1")
        mapping = {}
    value = raw.get("default", default)
    if not _is_sign(value):
        out.add(raw, "default", rid, f"`direction.default` must be -1, 0 or 1, not {value!r}")
        value = default
    pairs = sorted(((str(k), v) for k, v in mapping.items()), key=lambda kv: -len(kv[0]))
    return DirectionSpec(value=value, group=group, mapping=tuple(pairs))


def _parse_magnitude(raw: Any, groups: set[str], rid: str, out: _Collector,
                     rule: _Map) -> MagnitudeSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        out.add(rule, "magnitude", rid, "`magnitude` must be a mapping")
        return None
    for k in raw:
        if k not in MAGNITUDE_FIELDS:
            allowed = ", ".join(sorted(MAGNITUDE_FIELDS))
            out.add(raw, k, rid, f"unknown field `magnitude.{k}` (allowed: {allowed})", at_key=True)
    group = _group(raw, groups, "magnitude", rid, out) if raw.get("group") is not None else None
    where, pick = raw.get("where", "after"), raw.get("pick", "first")
    if where not in ("after", "around", "sentence"):
        out.add(raw, "where", rid, "`magnitude.where` must be after, around or sentence")
    if pick not in ("first", "last"):
        out.add(raw, "pick", rid, "`magnitude.pick` must be first or last")
    as_unit = raw.get("as")
    if as_unit is not None and as_unit not in MAGNITUDE_AS:
        choices = f"{', '.join(MAGNITUDE_AS[:-1])} or {MAGNITUDE_AS[-1]}"
        out.add(raw, "as", rid, f"`magnitude.as` must be {choices}, not {as_unit!r}")
        as_unit = None
    minimum = raw.get("min")
    if minimum is not None and not (is_number(minimum) and math.isfinite(minimum)):
        out.add(raw, "min", rid, f"`magnitude.min` must be a number, not {minimum!r}")
        minimum = None
    return MagnitudeSpec(group=group, units=_magnitude_units(raw, rid, out), where=where, pick=pick,
                         as_unit=as_unit, required=_flag(raw, "required", minimum is not None, "magnitude",
                                                         rid, out),
                         min=float(minimum) if minimum is not None else None)


def _magnitude_units(raw: dict, rid: str, out: _Collector) -> tuple[str, ...]:
    """`magnitude.units` with `money` spelled out as every currency; an unknown unit never matches."""
    units = _as_str_list(raw.get("units", []))
    unknown = [u for u in units or [] if u not in MAGNITUDE_UNITS]
    if units is None or unknown:
        what = f"unknown unit(s) {', '.join(map(repr, unknown))}" if unknown else "not a list of units"
        allowed = ", ".join(sorted(MAGNITUDE_UNITS, key=lambda u: (u.isupper(), u)))  # words, then currencies
        out.add(raw, "units", rid, f"`magnitude.units`: {what} (allowed: {allowed})")
        return ()
    expanded: list[str] = []
    for u in units:
        expanded.extend(MONEY_UNITS if u == "money" else (u,))
    return tuple(expanded)


def _parse_exposures(raw: Any, rid: str, out: _Collector,
                     rule: _Map) -> dict[str, tuple[tuple[str, int], ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        out.add(rule, "exposures", rid,
                "`exposures` must map ticker -> sign, or subject ticker -> {ticker: sign}")
        return {}
    if not any(isinstance(v, dict) for v in raw.values()):  # a flat map applies to any subject
        return _exposure_table(raw, rule, "exposures", "*", rid, out)
    result: dict[str, tuple[tuple[str, int], ...]] = {}
    for subject, table in raw.items():
        if not isinstance(table, dict):
            out.add(raw, subject, rid, f"`exposures`: {subject!r} must map ticker -> -1, 0 or 1, "
                                       f"not {table!r}")
            continue
        result.update(_exposure_table(table, raw, subject, str(subject), rid, out))
    return result


def _exposure_table(table: dict, parent: Any, key: Any, subject: str, rid: str,
                    out: _Collector) -> dict[str, tuple[tuple[str, int], ...]]:
    bad = [t for t, v in table.items() if not _is_sign(v)]
    for t in bad:
        out.add(table, t, rid, f"`exposures`: the sign of {t!r} must be -1, 0 or 1, not {table[t]!r}")
    return {} if bad else {subject: tuple((str(t), v) for t, v in table.items())}


def _parse_examples(raw: Any, rid: str, out: _Collector, rule: _Map) -> list[Example]:
    if not isinstance(raw, dict):
        out.add(rule, "examples", rid, "`examples` must be a mapping with match / no_match / todo lists")
        return []
    examples: list[Example] = []
    index = 0
    for k in raw:
        if k not in EXAMPLE_KINDS:
            out.add(raw, k, rid, f"unknown example kind `{k}` (allowed: match, no_match, todo)", at_key=True)
    for kind in EXAMPLE_KINDS:
        items = raw.get(kind) or []
        if not isinstance(items, list):
            out.add(raw, kind, rid, f"`examples.{kind}` must be a list")
            continue
        for i, item in enumerate(items):
            line, _ = _mark(items, i)
            if isinstance(item, str):
                item = {"text": item}
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                out.add(items, i, rid, f"examples.{kind}[{i}] needs a `text`")
                continue
            for k in item:
                if k not in EXAMPLE_FIELDS:
                    out.add(item, k, rid, f"unknown field `{k}` in examples.{kind}[{i}]", at_key=True)
            events = item.get("events")
            if events is None:
                events = [{}] if kind != "no_match" else []
            if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
                out.add(item, "events", rid, f"examples.{kind}[{i}].events must be a list of mappings")
                events = []
            for e in events:
                for key in e:
                    if key not in EVENT_KEYS:
                        out.add(e, key, rid, f"examples.{kind}[{i}]: unknown event key `{key}`", at_key=True)
            examples.append(Example(kind, index, item["text"], str(item.get("title", "")),
                                    tuple(dict(e) for e in events), line))
            index += 1
    if not any(e.kind == "match" for e in examples):
        out.add(rule, "examples", rid, "rule has no positive example (examples.match)", fatal=False)
    return examples


def _compile_rule(raw: Any, path: str, out: _Collector) -> Rule | None:
    if not isinstance(raw, dict):
        out.add(raw, None, None, "each rule must be a mapping")
        return None
    rid = raw.get("id") if isinstance(raw.get("id"), str) else None
    n_before = sum(i.fatal for i in out.issues)
    for k in raw:
        if k not in RULE_FIELDS:
            allowed = ", ".join(sorted(RULE_FIELDS))
            out.add(raw, k, rid, f"unknown field `{k}` (allowed: {allowed})", at_key=True)
    for k in REQUIRED_RULE_FIELDS:
        if k not in raw:
            out.add(raw, None, rid, f"missing required field `{k}`")
    if rid is not None and not regex.fullmatch(r"[a-z]+\.[a-z0-9_]+", rid):
        out.add(raw, "id", rid, "`id` must look like family.snake_case_name")
    version = raw.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        out.add(raw, "version", rid, "`version` must be a positive integer")
        version = 1
    status = raw.get("status", "experimental")
    if status not in STATUSES:
        out.add(raw, "status", rid, f"`status` must be one of {', '.join(STATUSES)}, not {status!r}")
    etype = raw.get("type")
    info = TAXONOMY.get(etype) if isinstance(etype, str) else None
    if "type" in raw and info is None:
        out.add(raw, "type", rid, f"unknown type {etype!r} (see docs/taxonomy.md)")
    confidence = raw.get("confidence", 0.8)
    if not is_number(confidence) or not 0 < confidence <= 1:
        out.add(raw, "confidence", rid, "`confidence` must be a number in (0, 1]")
        confidence = 0.8

    triggers = _as_str_list(raw.get("triggers")) if "triggers" in raw else []
    if triggers is None or ("triggers" in raw and not triggers) or any(not t for t in triggers or []):
        out.add(raw, "triggers", rid, "`triggers` must be a non-empty list of non-empty strings")
        triggers = []
    seen: set[str] = set()
    for i, t in enumerate(triggers):
        if t in seen:
            out.add(raw["triggers"], i, rid, f"duplicate trigger {t!r}", fatal=False)
        seen.add(t)

    patterns = _compile_patterns(raw.get("patterns"), "patterns", rid or "?", out, raw)
    exclude = _compile_patterns(raw.get("exclude"), "exclude", rid or "?", out, raw)
    groups = {g for p in patterns for g in p.groupindex}
    family = info.family if info else "market"
    subject = _parse_subject(raw.get("subject"), family, groups, rid or "?", out, raw)
    default_direction = info.direction if info else 0
    direction = _parse_direction(raw.get("direction"), default_direction, groups, rid or "?", out, raw)
    magnitude = _parse_magnitude(raw.get("magnitude"), groups, rid or "?", out, raw)
    modality = raw.get("modality")
    if modality not in (None, "fact"):
        out.add(raw, "modality", rid, "`modality` may only be `fact` (ignore expectation cues)")
    exposures = _parse_exposures(raw.get("exposures"), rid or "?", out, raw)
    if exposures and direction.group is not None:
        # an exposure's sign is the instrument's expected move for the event as the rule states it;
        # a direction read from the text (上调/下调) would leave the signs fitting only one reading
        out.add(raw, "exposures", rid or "?", "`exposures` need a fixed `direction`: their signs cannot "
                "follow a direction read from the text (`direction: {group, map}`); split the rule")
    examples = _parse_examples(raw.get("examples", {}), rid or "?", out, raw) if "examples" in raw else []
    refs = _as_str_list(raw.get("references", [])) or []
    fps = _as_str_list(raw.get("known_false_positives", [])) or []

    if sum(i.fatal for i in out.issues) > n_before or rid is None or info is None:
        return None
    return Rule(
        id=rid, version=version, title=str(raw.get("title", "")), status=status, type=etype,
        family=info.family, triggers=tuple(dict.fromkeys(triggers)), patterns=tuple(patterns),
        exclude=tuple(exclude), subject=subject, direction=direction, magnitude=magnitude,
        modality=modality, exposures=exposures, confidence=float(confidence), references=tuple(refs),
        known_false_positives=tuple(fps), examples=tuple(examples), path=path, line=raw.line
        if isinstance(raw, _Map) else None,
    )


# Fields that document a rule or a file and change no event: left out of the rulebook's hash, with
# comments and layout, so editing them does not flag stored events (definitions: anchors, used where
# their aliases stand). Only a file's and a rule's own fields: inside a rule's specs the same names
# can decide events (`subject: {title: false}` keeps body sentences from the title's subject).
_FILE_DOC_FIELDS = frozenset({"description", "definitions"})
_RULE_DOC_FIELDS = frozenset({"title", "description", "notes", "references", "known_false_positives",
                              "examples"})


def _content(doc: dict) -> Any:
    """A rule file's parsed YAML as plain JSON data without the file's and its rules' documentation
    fields."""
    out = _plain(doc, _FILE_DOC_FIELDS)
    rules = doc.get("rules")
    if isinstance(rules, list):
        out["rules"] = [_plain(r, _RULE_DOC_FIELDS) for r in rules]
    return out


def _plain(value: Any, skip: frozenset[str] = frozenset()) -> Any:
    """Plain JSON data; keys as text, typed (1 vs '1'); a mapping's ``skip`` keys left out (not nested)."""
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else f"{type(k).__name__}:{k}"): _plain(v)
                for k, v in value.items() if k not in skip}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return f"{type(value).__name__}:{value}"  # a YAML date or binary: never in a valid rule


_RuleIds = list[tuple[str, int | None, int | None]]


def _load_file(path: Path) -> tuple[list[Rule], list[LintIssue], _RuleIds, str]:
    """Rules of one file, its issues, (id, line, col) of every rule id for duplicate checks, and the
    file's content as canonical JSON (for the rulebook's hash: comments and layout aside)."""
    out = _Collector(str(path))
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except OSError as exc:
        out.issues.append(LintIssue(str(path), None, None, None, f"cannot read rule file: {exc}"))
        return [], out.issues, [], ""
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = f"not valid UTF-8 (byte {data[exc.start]:#04x} at offset {exc.start}): save it as UTF-8"
        out.issues.append(LintIssue(str(path), line, None, None, message))
        return [], out.issues, [], ""
    try:
        doc = _parse_yaml(text)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, control codes)
        # str(exc) runs over two lines ('...\n  in "<unicode string>", position 16'): the error was
        # not one line
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        out.issues.append(LintIssue(str(path), line, column, None,
                                    f"invalid YAML: character #x{code:04x}: {exc.reason}"))
        return [], out.issues, [], ""
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        out.issues.append(LintIssue(str(path), mark.line + 1 if mark else None,
                                    mark.column + 1 if mark else None, None, f"invalid YAML: {problem}"))
        return [], out.issues, [], ""
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        out.add(doc, None, None, "a rule file is a mapping with a `rules:` list")
        return [], out.issues, [], ""
    content = json.dumps(_content(doc), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for k in doc:
        if k not in FILE_FIELDS:
            allowed = ", ".join(sorted(FILE_FIELDS))
            out.add(doc, k, None, f"unknown top-level field `{k}` (allowed: {allowed})", at_key=True)
    rules, ids = [], []
    for raw in doc["rules"]:
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            ids.append((raw["id"], *_mark(raw, "id")))
        rule = _compile_rule(raw, str(path), out)
        if rule:
            rules.append(rule)
    return rules, out.issues, ids, content


RULE_SUFFIXES = (".yaml", ".yml")


def _rule_files(path: Path) -> list[Path]:
    """The rule files at ``path``. A directory without any is an error, not an empty rulebook: an
    empty rulebook finds nothing, and `extract --stored` would replace every stored event with none."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise RuleFileError("no such rule file or directory", path=str(path),
                            hint="pass the rules/ directory or a .yaml file, or set SIGNALS_RULES_DIR")
    # case-insensitive like feed suffixes: rules.YAML is a rule file too
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in RULE_SUFFIXES)
    if not files:
        raise RuleFileError("no rule files (*.yaml, *.yml) in this directory", path=str(path),
                            hint="pass the rules/ directory or a .yaml file, or set SIGNALS_RULES_DIR")
    return files


def default_rules_dir() -> Path:
    env = os.environ.get("SIGNALS_RULES_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "rules"


def _load_all(path: str | os.PathLike[str] | None) -> tuple[list[str], list[Rule], list[LintIssue]]:
    """(the files' contents as canonical JSON in load order, rules, issues)."""
    root = Path(path) if path is not None else default_rules_dir()
    files = _rule_files(root)
    contents: list[str] = []
    rules: list[Rule] = []
    issues: list[LintIssue] = []
    first_seen: dict[str, str] = {}
    for f in files:
        file_rules, file_issues, ids, content = _load_file(f)
        contents.append(content)
        issues.extend(sorted(file_issues, key=lambda i: (i.line or 0, i.column or 0)))
        for rid, line, col in ids:
            if rid in first_seen:
                message = f"duplicate rule id {rid!r} (first defined in {first_seen[rid]})"
                issues.append(LintIssue(str(f), line, col, rid, message))
            else:
                first_seen[rid] = f"{f}:{line}"
        known = {r.id for r in rules}
        rules.extend(r for r in file_rules if r.id not in known)
    if not rules and not any(i.fatal for i in issues):
        # every `rules:` list empty: as useless (and as destructive for --stored) as no file at all
        issues.append(LintIssue(str(root), None, None, None, "the rulebook defines no rules"))
    return contents, rules, issues


def lint(path: str | os.PathLike[str] | None = None) -> list[LintIssue]:
    """Every problem of the rulebook at ``path`` in one pass (fatal and non-fatal)."""
    return _load_all(path)[2]


# --------------------------------------------------------------------------------------------
# The rulebook: compiled rules + one automaton over every trigger.
# --------------------------------------------------------------------------------------------


class Rulebook:
    """Compiled rules; ``find_triggers`` is the single Aho-Corasick pass extraction starts from."""

    def __init__(self, rules: list[Rule], *, version_hash: str = "",
                 on_warning: Callable[[RuleWarning], None] | None = None,
                 regex_timeout: float = REGEX_TIMEOUT_S) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.regex_timeout = regex_timeout  # seconds per regex call; a timeout is a warning, not a crash
        self.by_id = {r.id: r for r in self.rules}
        self.version_hash = version_hash
        self.warnings: list[RuleWarning] = []
        self.on_warning = on_warning
        self._warned: set[tuple[str, str]] = set()
        trigger_rules: dict[str, list[int]] = {}
        for i, rule in enumerate(self.rules):
            for t in rule.triggers:
                trigger_rules.setdefault(t, []).append(i)
        self._triggers = list(trigger_rules)
        self._trigger_rules = [tuple(trigger_rules[t]) for t in self._triggers]
        # Standard match kind: overlapping hits, so 降息 and 降息25个基点 both reach their rules
        self._automaton = (ahocorasick_rs.AhoCorasick(self._triggers,
                                                      matchkind=ahocorasick_rs.MatchKind.Standard)
                           if self._triggers else None)
        self._init_gates()

    def _init_gates(self) -> None:
        """The prefilter (Rule.gates) as bits: each distinct clause is one bit, each literal the mask of
        the clauses it satisfies, each pattern the mask of its clauses. A sentence's mask is the OR of
        its literals' (one automaton pass), and a pattern may match only where it covers the pattern's."""
        bits: dict[frozenset[str], int] = {}
        for rule in self.rules:
            for clause in (c for g in (rule.gates or ()) for c in g):
                bits.setdefault(clause, 1 << len(bits))
        literal_mask: dict[str, int] = {}
        for clause, bit in bits.items():
            for lit in clause:
                literal_mask[lit] = literal_mask.get(lit, 0) | bit
        self._gate_literals = list(literal_mask)
        self._gate_masks = list(literal_mask.values())
        self._gate_automaton = (ahocorasick_rs.AhoCorasick(self._gate_literals,
                                                           matchkind=ahocorasick_rs.MatchKind.Standard)
                                if self._gate_literals else None)
        self._pattern_masks: list[tuple[tuple[Any, int], ...] | None] = [
            None if rule.gates is None else tuple(
                (p, sum(bits[c] for c in set(g))) for p, g in zip(rule.patterns, rule.gates, strict=True))
            for rule in self.rules]

    def gate_mask(self, text: str, start: int, end: int) -> int:
        """The prefilter clauses that ``text[start:end]`` satisfies, as bits (see _init_gates)."""
        if self._gate_automaton is None:
            return 0
        masks, mask = self._gate_masks, 0
        for i in {i for i, _, _ in self._gate_automaton.find_matches_as_indexes(text[start:end],
                                                                                  overlapping=True)}:
            mask |= masks[i]
        return mask

    def admitted(self, rule_index: int, mask: int) -> list[Any]:
        """The patterns of rule ``rule_index`` whose required literals a sentence with ``mask``
        (gate_mask) holds: the others cannot match there."""
        pattern_masks = self._pattern_masks[rule_index]
        if pattern_masks is None:
            return list(self.rules[rule_index].patterns)
        return [p for p, need in pattern_masks if mask & need == need]

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, *,
             on_warning: Callable[[RuleWarning], None] | None = None,
             regex_timeout: float = REGEX_TIMEOUT_S) -> Rulebook:
        """Load and compile; raise RuleFileError (file:line:col) for the first fatal problem."""
        contents, rules, issues = _load_all(path)
        for issue in issues:
            if issue.fatal:
                msg = f"[{issue.rule_id}] {issue.message}" if issue.rule_id else issue.message
                raise RuleFileError(msg, path=issue.path, line=issue.line, column=issue.column,
                                    hint="run `signals rules lint` to see every problem")
        # what the rules say, in load order: comments, layout, file names and documentation fields
        # (examples, notes …) change no event, so editing them flags no stored event
        digest = hashlib.sha256()
        for content in contents:
            digest.update(content.encode() + b"\0")
        return cls(rules, version_hash=digest.hexdigest()[:16], on_warning=on_warning,
                   regex_timeout=regex_timeout)

    def find_triggers(self, text: str) -> Iterator[tuple[int, int, tuple[int, ...]]]:
        """(start, end, rule indices) for every trigger occurrence, overlapping ones included."""
        if self._automaton is None:
            return
        for idx, start, end in self._automaton.find_matches_as_indexes(text, overlapping=True):
            yield start, end, self._trigger_rules[idx]

    def warn(self, rule_id: str, message: str, *, key: str = "") -> None:
        """Record a warning and pass it to ``on_warning``, once per rule and ``key``: a slow pattern
        times out in article after article, and the user needs to hear it once."""
        if key and (rule_id, key) in self._warned:
            return
        self._warned.add((rule_id, key))
        w = RuleWarning(rule_id, message, key)
        self.warnings.append(w)
        if self.on_warning:
            self.on_warning(w)

    def __len__(self) -> int:
        return len(self.rules)


# --------------------------------------------------------------------------------------------
# Rule example cases (`signals rules test` and tests/test_rule_cases.py share this)
# --------------------------------------------------------------------------------------------


def iter_cases(rulebook: Rulebook) -> Iterator[tuple[Rule, Example]]:
    for rule in rulebook.rules:
        for ex in rule.examples:
            yield rule, ex


def _same(expected: Any, actual: Any) -> bool:
    numeric = is_number(expected)
    if numeric and isinstance(actual, int | float):
        return abs(float(expected) - float(actual)) <= 1e-9 * max(1.0, abs(float(expected)))
    if isinstance(expected, list) and isinstance(actual, tuple):
        return [tuple(x) if isinstance(x, list) else x for x in expected] == list(actual)
    return expected == actual


def _describe(ev: Event) -> str:
    return (f"{ev.type}(subject={ev.subject!r}, ticker={ev.ticker!r}, direction={ev.direction}, "
            f"magnitude={ev.magnitude}, unit={ev.unit!r}, modality={ev.modality!r})")


def check_case(rule: Rule, example: Example, rulebook: Rulebook, linker: Linker) -> CaseResult:
    """Run one example through the whole rulebook and compare with what the rule file expects."""
    from signals.extract import extract_text

    events = extract_text(example.text, title=example.title, rulebook=rulebook, linker=linker)
    problems: list[str] = []
    if example.kind == "no_match":
        bad = [e for e in events if e.type == rule.type or e.rule_id == rule.id]
        if bad:
            problems.append("expected no event, got " + "; ".join(_describe(e) for e in bad))
    else:
        for want in example.events:
            want = {"type": rule.type, **want}
            if not any(all(_same(v, getattr(e, k, None)) for k, v in want.items()) for e in events):
                got = "; ".join(_describe(e) for e in events) or "no events"
                problems.append(f"missing {want} — got {got}")
    return CaseResult(rule.id, example.index, example.kind, not problems, "; ".join(problems) or "ok")


def run_cases(rulebook: Rulebook, linker: Linker) -> list[CaseResult]:
    """Every example of every rule. ``todo`` cases are known misses: a failure there is expected."""
    return [check_case(rule, ex, rulebook, linker) for rule, ex in iter_cases(rulebook)]


__all__ = [
    "DEFAULT_SUBJECT_KINDS", "FAMILIES", "TAXONOMY", "CaseResult", "EventType", "Example", "LintIssue",
    "Rule", "RuleWarning", "Rulebook", "catastrophic_reason", "check_case", "default_rules_dir", "iter_cases",
    "lint", "run_cases",
]

