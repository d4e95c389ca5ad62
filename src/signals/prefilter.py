"""Literals a regex cannot match without: a cheap test that rules a pattern out of a sentence.

Most sentences that contain a rule's trigger match none of its patterns, and a regex search with
lookbehinds costs microseconds where a substring test costs tens of nanoseconds. From a pattern's
syntax tree we derive *required literals* in conjunctive form: a tuple of clauses, each a set of
strings, such that every match of the pattern contains at least one string of every clause
(``(?P<trigger>下调|削减)[^，。；]{0,12}?(?:指引|展望)`` needs one of {下调, 削减} and one of {指引, 展望}).
A sentence that lacks a clause cannot match, so the pattern is not run there. The clauses are a
necessary condition only: a sentence that has them all still goes to the regex.

The analysis is conservative by construction: anything it does not understand (classes it cannot
enumerate, backreferences, case-insensitive parts, syntax of the ``regex`` module beyond the standard
library's parser) contributes no requirement, and a pattern it cannot parse gets no clauses (it always
runs). Lookarounds are zero-width: they neither require text nor break a run of literals. This is the
idea of RE2's prefilter and of hyperscan's literal decomposition, reduced to what our rules need.
"""

from __future__ import annotations

import re
import re._constants as C
import re._parser as P
from dataclasses import dataclass

# Cross products of alternatives stay exact up to this many strings; past it the run of literals is
# cut into a clause (an exact set is a stronger filter, but enumerating 下调|降低 x 全年|年度 x … grows fast).
_MAX_EXACT = 64
_MAX_CLASS = 10  # a character class of at most this many characters is enumerated ([一二三四1-4] is 8)
_MAX_CLAUSES = 3  # clauses kept per pattern: the most selective ones
_MAX_CLAUSE_SIZE = 24  # a clause of more strings costs more to test than the regex saves

# Syntax the standard parser reads differently from (or not at all like) the `regex` module (POSIX
# classes [:digit:] anywhere in a set, …), or that the group renaming below could misread (an escaped
# paren before ?): a pattern using it gets no clauses. \p{…} classes are rewritten to \S (a superset,
# so still conservative).
_UNSUPPORTED = re.compile(r"\[\[|\[:|\\\(\?|\\[NXGKmMLQE]|\(\?[|(]|\(\?[Vrfwbe]|\{e[<=]"
                          r"|\(\?&|\(\?P>|\(\?R\)|\(\?\d")
_UNICODE_CLASS = re.compile(r"\\[pP]\{[^}]*\}|\\[pP][A-Za-z]")
_NAMED_GROUP = re.compile(r"\(\?P?<([A-Za-z_]\w*)>")  # `regex` allows a name twice, `re` does not
_BACKREF = re.compile(r"\\[1-9]|\(\?P=|\\g<")


@dataclass(frozen=True)
class _Info:
    exact: frozenset[str] | None  # every string the node can match, when few; None: unknown
    clauses: tuple[frozenset[str], ...]  # each: one of these strings is in every match


_UNKNOWN = _Info(None, ())
_EMPTY = _Info(frozenset({""}), ())


def required_literals(source: str, flags: int = 0) -> tuple[frozenset[str], ...]:
    """Clauses of strings every match of ``source`` contains (one string of each clause). Empty: no
    usable requirement (the pattern must always run)."""
    if flags & re.IGNORECASE or _UNSUPPORTED.search(source) or _BACKREF.search(source):
        return ()
    source = _UNICODE_CLASS.sub(r"\\S", source)
    source = _NAMED_GROUP.sub("(?:", source)
    try:
        tree = P.parse(source, 0)
    except (re.error, RecursionError, OverflowError, ValueError):
        return ()
    if tree.state.flags & re.IGNORECASE:
        return ()
    try:
        info = _sequence(list(tree))
    except RecursionError:  # nesting deeper than the parser's: no clauses, the pattern always runs
        return ()
    clauses = list(info.clauses)
    if info.exact is not None and "" not in info.exact:
        clauses.append(info.exact)
    return _best(clauses)


def _best(clauses: list[frozenset[str]]) -> tuple[frozenset[str], ...]:
    """The most selective clauses: longest shortest string, then fewest strings; none too large."""
    usable = {c for c in clauses if c and "" not in c and len(c) <= _MAX_CLAUSE_SIZE}
    ranked = sorted(usable, key=lambda c: (-min(map(len, c)), len(c), sorted(c)))
    return tuple(ranked[:_MAX_CLAUSES])


def _sequence(items: list) -> _Info:
    """A concatenation: adjacent exact sets multiply out while small, otherwise each run of literals
    becomes a clause and the parts' own clauses carry over."""
    clauses: list[frozenset[str]] = []
    run: frozenset[str] | None = frozenset({""})  # the exact strings of the current run, or None
    for op, av in items:
        part = _node(op, av)
        if part.exact is not None and run is not None and len(run) * len(part.exact) <= _MAX_EXACT:
            run = frozenset(a + b for a in run for b in part.exact)
            continue
        if run is not None and "" not in run:
            clauses.append(run)
        clauses.extend(part.clauses)
        run = part.exact
    if run is None:
        return _Info(None, tuple(clauses))
    if clauses:  # a sequence whose exact run is cut: the run is one more clause, the whole not exact
        if "" not in run:
            clauses.append(run)
        return _Info(None, tuple(clauses))
    return _Info(run, ())


def _node(op, av) -> _Info:
    if op is C.LITERAL:
        return _Info(frozenset({chr(av)}), ())
    if op is C.IN:
        return _class(av)
    if op in (C.AT, C.ASSERT, C.ASSERT_NOT):
        return _EMPTY  # zero-width: the literals either side stay one run
    if op is C.SUBPATTERN:
        _group, add_flags, _del_flags, sub = av
        if add_flags & re.IGNORECASE:
            return _UNKNOWN
        return _sequence(list(sub))
    if op is C.ATOMIC_GROUP:
        return _sequence(list(av))
    if op is C.BRANCH:
        return _branch([_sequence(list(alt)) for alt in av[1]])
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
        low, high, sub = av
        inner = _sequence(list(sub))
        if low == 0:
            return _UNKNOWN
        if low == high == 1:
            return inner
        # at least one repetition: the inner requirement holds, but the exact strings do not
        clauses = list(inner.clauses)
        if inner.exact is not None and "" not in inner.exact:
            clauses.append(inner.exact)
        return _Info(None, tuple(clauses))
    return _UNKNOWN  # ANY, NOT_LITERAL, CATEGORY, GROUPREF, GROUPREF_EXISTS, …


def _class(items: list) -> _Info:
    chars: set[str] = set()
    for op, av in items:
        if op is C.LITERAL:
            chars.add(chr(av))
        elif op is C.RANGE and av[1] - av[0] < _MAX_CLASS:
            chars.update(chr(c) for c in range(av[0], av[1] + 1))
        else:  # NEGATE, CATEGORY, a wide range
            return _UNKNOWN
        if len(chars) > _MAX_CLASS:
            return _UNKNOWN
    return _Info(frozenset(chars), ()) if chars else _UNKNOWN


def _branch(alternatives: list[_Info]) -> _Info:
    """An alternation: exact when every alternative is and the union is small; otherwise one clause,
    the union of each alternative's most selective clause (no clause when one alternative has none)."""
    if all(a.exact is not None for a in alternatives):
        union = frozenset().union(*(a.exact for a in alternatives))  # type: ignore[arg-type]
        if len(union) <= _MAX_EXACT:
            return _Info(union, ())
    picked: set[str] = set()
    for a in alternatives:
        own = list(a.clauses) + ([a.exact] if a.exact is not None else [])
        best = _best(own)
        if not best:
            return _UNKNOWN
        picked |= best[0]
    return _Info(None, (frozenset(picked),))

