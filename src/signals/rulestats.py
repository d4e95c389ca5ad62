"""Labelling-function statistics of the rulebook over a corpus, for rule authors.

Each rule is treated like a Snorkel labelling function: how much of the corpus it covers, how often
another rule labels the same thing (overlap) or labels it the other way (conflict), how well its
events are filled in (linked subject, magnitude, modality), and where its trigger fired but none of
its patterns matched (near misses: phrasings the rule may be missing). Nothing is stored.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from signals.extract import Event, extract_article, trigger_sentences
from signals.rules import Rulebook

# Event types that contradict each other whatever their directions say (a hold is neither a cut nor
# a hike, so direction alone cannot see rate_cut vs rate_hold). Direction conflicts come on top.
CONTRADICTING_TYPES: frozenset[frozenset[str]] = frozenset(frozenset(p) for p in (
    ("rate_cut", "rate_hike"), ("rate_cut", "rate_hold"), ("rate_hike", "rate_hold"),
    ("rrr_cut", "rrr_hike"), ("tariff_increase", "tariff_decrease"),
    ("earnings_preannounce_up", "earnings_preannounce_down"), ("turnaround_profit", "loss_warning"),
    ("earnings_beat", "earnings_miss"), ("guidance_raise", "guidance_cut"),
    ("stake_increase", "stake_decrease"), ("target_price_raise", "target_price_cut"),
    ("rating_upgrade", "rating_downgrade"), ("rating_upgrade", "rating_reiterate"),
    ("rating_downgrade", "rating_reiterate"), ("price_surge", "price_plunge"),
    ("limit_up", "limit_down"),
))

MODALITIES = ("fact", "expected", "negated")
STATS_COLUMNS = [
    "rule_id", "type", "status", "articles", "events", "overlaps", "conflicts", "unlinked_share",
    "magnitude_share", "fact", "expected", "negated", "trigger_sentences", "near_misses",
    "near_miss_example",
]
EXAMPLE_CHARS = 80  # near-miss sentences are shortened so a table row stays readable


@dataclass
class _RuleTally:
    articles: set[str] = field(default_factory=set)
    events: int = 0
    overlaps: int = 0
    conflicts: int = 0
    unlinked: int = 0
    with_magnitude: int = 0
    modality: Counter = field(default_factory=Counter)
    trigger_sentences: int = 0
    near_misses: int = 0
    near_miss_example: str | None = None


def conflicting(a: Event, b: Event) -> bool:
    """Two events on one subject that cannot both hold: opposite price directions, or a
    contradicting type pair stated as fact or expectation (a denied cut does not contradict a hold)."""
    if a.direction * b.direction < 0:
        return True
    if "negated" in (a.modality, b.modality):
        return False
    return frozenset((a.type, b.type)) in CONTRADICTING_TYPES


def _subject_key(ev: Event) -> str | None:
    return ev.ticker or ev.subject


def _tally_events(events: list[Event], tallies: dict[str, _RuleTally]) -> None:
    """Add one article's events: coverage, fill, and overlaps/conflicts across rules per subject."""
    by_subject: dict[str, list[Event]] = defaultdict(list)
    for ev in events:
        t = tallies[ev.rule_id]
        t.articles.add(ev.article_id)
        t.events += 1
        t.unlinked += ev.ticker is None
        t.with_magnitude += ev.magnitude is not None or ev.magnitude_low is not None
        t.modality[ev.modality] += 1
        key = _subject_key(ev)
        if key is not None:  # events without a subject cannot be said to label the same thing
            by_subject[key].append(ev)
    for group in by_subject.values():
        for ev in group:
            others = [o for o in group if o.rule_id != ev.rule_id]
            tallies[ev.rule_id].overlaps += bool(others)
            tallies[ev.rule_id].conflicts += any(conflicting(ev, o) for o in others)


def _tally_near_misses(article, rulebook: Rulebook, tallies: dict[str, _RuleTally]) -> None:
    full = f"{article.title}\n\n{article.body}" if article.title else article.body
    for ts in trigger_sentences(article.body, title=article.title, rulebook=rulebook, article_id=article.id):
        t = tallies[ts.rule_id]
        t.trigger_sentences += 1
        if not ts.matched:
            t.near_misses += 1
            if t.near_miss_example is None:
                sentence = full[ts.start:ts.end].strip()
                t.near_miss_example = (sentence if len(sentence) <= EXAMPLE_CHARS
                                       else sentence[:EXAMPLE_CHARS - 1] + "…")


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def rule_stats(articles: Iterable, rulebook: Rulebook, linker) -> pd.DataFrame:
    """One row per rule of ``rulebook`` (rules that never fire included, with zeros) over ``articles``.

    Columns: ``articles`` (with >= 1 event of the rule), ``events``, ``overlaps`` (events whose article
    and subject got an event of another rule too), ``conflicts`` (… one that contradicts it, see
    ``conflicting``), ``unlinked_share`` (events whose subject has no ticker), ``magnitude_share``,
    counts per modality, ``trigger_sentences`` (sentences a trigger opened), ``near_misses`` (those
    no pattern matched) and the first near-miss sentence. Events are counted after the extractor's
    per-article merge, as `signals extract` stores them."""
    tallies = {rule.id: _RuleTally() for rule in rulebook.rules}
    for article in articles:
        _tally_events(extract_article(article, rulebook, linker), tallies)
        _tally_near_misses(article, rulebook, tallies)
    rows = []
    for rule in rulebook.rules:
        t = tallies[rule.id]
        rows.append({
            "rule_id": rule.id, "type": rule.type, "status": rule.status, "articles": len(t.articles),
            "events": t.events, "overlaps": t.overlaps, "conflicts": t.conflicts,
            "unlinked_share": _share(t.unlinked, t.events),
            "magnitude_share": _share(t.with_magnitude, t.events),
            **{m: t.modality[m] for m in MODALITIES},
            "trigger_sentences": t.trigger_sentences, "near_misses": t.near_misses,
            "near_miss_example": t.near_miss_example,
        })
    return pd.DataFrame(rows, columns=STATS_COLUMNS)


__all__ = ["CONTRADICTING_TYPES", "STATS_COLUMNS", "conflicting", "rule_stats"]
