"""Precision / recall / F1 of event extraction against a hand-made gold JSONL file.

The gold file (``data/gold/sample.jsonl``) holds one article per line with the events a careful
analyst reads in it. ``evaluate`` runs any extractor over the gold texts and matches its events to the
gold ones one-to-one; ``evaluate_extraction`` wires the real extractor for ``signals eval``.
See docs/quality.md for the metric definitions.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from signals.errors import SignalsError

# The event taxonomy the gold set is annotated in (docs/quality.md); types outside it are refused.
TAXONOMY: frozenset[str] = frozenset({
    "rate_cut", "rate_hike", "rate_hold", "rrr_cut", "rrr_hike", "fx_intervention", "tariff_increase",
    "tariff_decrease", "earnings_preannounce_up", "earnings_preannounce_down", "turnaround_profit",
    "loss_warning", "earnings_beat", "earnings_miss", "guidance_raise", "guidance_cut", "buyback",
    "dividend", "stake_increase", "stake_decrease", "acquisition", "divestment", "contract_win",
    "capex_increase", "production_halt", "production_cut", "capacity_expansion", "product_launch",
    "management_change", "layoffs", "regulatory_probe", "default", "target_price_raise", "target_price_cut",
    "rating_upgrade", "rating_downgrade", "rating_reiterate", "price_surge", "price_plunge", "record_high",
    "limit_up", "limit_down", "trading_halt", "supply_disruption",
})
_GOLD_MONEY = ("CNY", "USD", "HKD", "EUR", "JPY", "KRW")
# a dividend per share is CNY/share (a rule's `as: per_share`), as extraction writes it
UNITS: frozenset[str] = frozenset(
    {"pct", "bp", *_GOLD_MONEY, "price", "multiple", *(f"{c}/share" for c in _GOLD_MONEY)}
)
MODALITIES: frozenset[str] = frozenset({"fact", "expected", "negated"})


def _unit_order(unit: str) -> tuple[bool, str]:
    return "/" in unit, unit  # the per-share units after the others
DIRECTIONS: frozenset[int] = frozenset({-1, 0, 1})

# Two magnitudes agree when they differ by at most this share of the gold value: absorbs rounding
# such as 4.66亿 vs 465,990,000 without accepting a wrong scale (万 vs 亿).
MAGNITUDE_REL_TOLERANCE = 0.005
# Subjects written differently ("SK海力士" / "海力士") still agree when they share this many characters.
MIN_SHARED_CHARS = 2

DEFAULT_GOLD_PATH = Path(__file__).resolve().parents[2] / "data" / "gold" / "sample.jsonl"


@dataclass(frozen=True)
class GoldEvent:
    type: str
    entity: str
    ticker: str | None
    direction: int
    magnitude: float | None
    unit: str | None
    modality: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type, "entity": self.entity, "ticker": self.ticker,
            "direction": self.direction, "magnitude": self.magnitude, "unit": self.unit,
            "modality": self.modality,
        }


@dataclass(frozen=True)
class GoldRecord:
    id: str
    title: str
    text: str
    published: str | None
    events: tuple[GoldEvent, ...]


class ExtractedEvent(Protocol):
    """The fields of ``extract.Event`` the evaluator reads (any object carrying them will do)."""

    type: str
    subject: str | None
    ticker: str | None
    direction: int
    magnitude: float | None
    unit: str | None
    modality: str


Extractor = Callable[[str, str | None], Sequence[ExtractedEvent]]


# ---------------------------------------------------------------------------------------------
# Loading and validating the gold file


def load_gold(path: str | Path) -> list[GoldRecord]:
    """Read a gold JSONL file; any invalid line raises ``SignalsError`` naming ``file:line``."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise SignalsError(f"{path}: cannot read gold file ({err.strerror})",
                           hint="pass an existing JSONL file, e.g. data/gold/sample.jsonl") from err
    except UnicodeDecodeError as err:
        raise SignalsError(f"{path}: gold file is not UTF-8") from err
    records: list[GoldRecord] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = _parse_record(line)
        except ValueError as err:
            raise SignalsError(f"{path}:{number}: {err}",
                               hint="see data/gold/README.md for the record format") from None
        if record.id in seen:
            raise SignalsError(
                f"{path}:{number}: duplicate id {record.id!r} (first on line {seen[record.id]})")
        seen[record.id] = number
        records.append(record)
    if not records:  # it would score P/R/F1 0 and pass for a run
        raise SignalsError(f"{path}: the gold file holds no records",
                           hint="one JSON object per line; see data/gold/README.md for the record format")
    return records


def _parse_record(line: str) -> GoldRecord:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"invalid JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    for key in ("id", "title", "text", "events"):
        if key not in obj:
            raise ValueError(f"missing field {key!r}")
    record_id = _require_str(obj, "id", allow_empty=False)
    published = obj.get("published")
    if published is not None:
        _check_timestamp(published)
    events = obj["events"]
    if not isinstance(events, list):
        raise ValueError("'events' must be a list")
    parsed = []
    for index, event in enumerate(events):
        try:
            parsed.append(_parse_event(event))
        except ValueError as err:
            raise ValueError(f"events[{index}]: {err}") from None
    return GoldRecord(id=record_id, title=_require_str(obj, "title"), text=_require_str(obj, "text"),
                      published=published, events=tuple(parsed))


def _parse_event(obj: Any) -> GoldEvent:
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    missing = [k for k in ("type", "entity", "ticker", "direction", "magnitude", "unit", "modality")
               if k not in obj]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(missing)}")
    # every membership test checks the type first: a list or object is unhashable (TypeError)
    if not isinstance(obj["type"], str) or obj["type"] not in TAXONOMY:
        raise ValueError(f"unknown event type {obj['type']!r} in 'type' (see docs/taxonomy.md)")
    ticker = obj["ticker"]
    if ticker is not None and (not isinstance(ticker, str) or not ticker):
        raise ValueError("'ticker' must be a non-empty string or null")
    direction = obj["direction"]
    # bool is an int subclass: reject true/false so a typo cannot pass as +1/0
    if not isinstance(direction, int) or isinstance(direction, bool) or direction not in DIRECTIONS:
        raise ValueError(f"'direction' must be -1, 0 or 1, not {_shown(direction)}")
    magnitude, unit = _magnitude(obj["magnitude"]), obj["unit"]
    if unit is not None and (not isinstance(unit, str) or unit not in UNITS):
        allowed = ", ".join(sorted(UNITS, key=_unit_order))
        raise ValueError(f"unknown unit {unit!r} in 'unit' (allowed: {allowed} or null)")
    if (magnitude is None) != (unit is None):
        raise ValueError("'magnitude' and 'unit' must both be set or both be null")
    if not isinstance(obj["modality"], str) or obj["modality"] not in MODALITIES:
        raise ValueError(f"'modality' must be one of {sorted(MODALITIES)}, not {obj['modality']!r}")
    return GoldEvent(type=obj["type"], entity=_require_str(obj, "entity", allow_empty=False), ticker=ticker,
                     direction=direction, magnitude=magnitude, unit=unit, modality=obj["modality"])


def _magnitude(value: Any) -> float | None:
    """A non-negative finite number as float. JSON integers have no size limit: a 400-digit one
    overflowed math.isfinite (OverflowError) instead of being refused."""
    from signals.rules import is_number  # the rulebook's test: true/false are no numbers

    if value is None:
        return None
    try:
        number = float(value) if is_number(value) else None
    except OverflowError:
        number = math.inf
    if number is None or not math.isfinite(number) or number < 0:
        raise ValueError(f"'magnitude' must be a non-negative number or null, not {_shown(value)}")
    return number


def _shown(value: Any) -> str:
    """repr for a message, cut short (a 400-digit number is not worth 400 characters)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _require_str(obj: dict[str, Any], key: str, *, allow_empty: bool = True) -> str:
    value = obj[key]
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise ValueError(f"{key!r} must be a {'' if allow_empty else 'non-empty '}string")
    return value


def _check_timestamp(value: Any) -> None:
    if not isinstance(value, str):
        raise ValueError("'published' must be an ISO 8601 string or null")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'published' is not ISO 8601: {value!r}") from None
    if parsed.tzinfo is None:
        # a naive time is ambiguous by 8 hours for Beijing news: refuse it
        raise ValueError(f"'published' has no UTC offset: {value!r}")


# ---------------------------------------------------------------------------------------------
# Matching


def _normalise(text: str | None) -> str:
    # NFKC folds full-width letters and digits (ＳＡＰ -> SAP); casefold makes Meta == META
    return "".join(unicodedata.normalize("NFKC", text or "").casefold().split())


def _shares_substring(a: str, b: str, length: int) -> bool:
    grams = {a[i:i + length] for i in range(len(a) - length + 1)}
    return any(b[i:i + length] in grams for i in range(len(b) - length + 1))


def subjects_agree(gold: GoldEvent, extracted: ExtractedEvent) -> bool:
    """Same ticker when gold has one; else the texts overlap (containment or 2+ shared chars)."""
    if gold.ticker is not None:
        return extracted.ticker == gold.ticker
    a, b = _normalise(gold.entity), _normalise(extracted.subject)
    if not a or not b:
        return False
    return a in b or b in a or _shares_substring(a, b, MIN_SHARED_CHARS)


def magnitudes_agree(gold: float | None, extracted: float | None) -> bool:
    if gold is None or extracted is None:
        return gold is None and extracted is None
    return abs(extracted - gold) <= MAGNITUDE_REL_TOLERANCE * abs(gold)


def extracted_magnitude(event: ExtractedEvent) -> float | None:
    """The point magnitude, or the midpoint of a range (gold records ranges by their midpoint)."""
    if event.magnitude is not None:
        return event.magnitude
    low, high = getattr(event, "magnitude_low", None), getattr(event, "magnitude_high", None)
    return (low + high) / 2 if low is not None and high is not None else None


def _pair_quality(gold: GoldEvent, extracted: ExtractedEvent) -> tuple[bool, ...]:
    # Prefer the pairing that agrees most, so two events of one type are not cross-matched.
    return (
        gold.ticker is not None and extracted.ticker == gold.ticker,
        extracted.direction == gold.direction,
        extracted.modality == gold.modality,
        magnitudes_agree(gold.magnitude, extracted_magnitude(extracted)),
    )


def match_events(gold: Sequence[GoldEvent],
                 extracted: Sequence[ExtractedEvent]) -> list[tuple[int, int]]:
    """One-to-one greedy matching: best-agreeing candidate pairs first, ties in text order.

    Returns (gold index, extracted index) pairs; every index appears at most once.
    """
    candidates = [
        (_pair_quality(g, e), gi, ei)
        for gi, g in enumerate(gold)
        for ei, e in enumerate(extracted)
        if e.type == g.type and subjects_agree(g, e)
    ]
    candidates.sort(key=lambda c: (tuple(not q for q in c[0]), c[1], c[2]))
    used_gold: set[int] = set()
    used_extracted: set[int] = set()
    pairs = []
    for _, gi, ei in candidates:
        if gi not in used_gold and ei not in used_extracted:
            used_gold.add(gi)
            used_extracted.add(ei)
            pairs.append((gi, ei))
    return sorted(pairs)


# ---------------------------------------------------------------------------------------------
# Scores and the report


@dataclass(frozen=True)
class Scores:
    gold: int
    extracted: int
    matched: int

    @property
    def precision(self) -> float:
        return _ratio(self.matched, self.extracted)

    @property
    def recall(self) -> float:
        return _ratio(self.matched, self.gold)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"gold": self.gold, "extracted": self.extracted, "matched": self.matched,
                "precision": self.precision, "recall": self.recall, "f1": self.f1}


def _ratio(numerator: int, denominator: int) -> float:
    # 0/0 counts as 0.0 (scikit-learn's zero_division=0): an extractor that finds nothing earns nothing
    return numerator / denominator if denominator else 0.0


def _accuracy(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def extracted_to_dict(event: ExtractedEvent) -> dict[str, Any]:
    return {"type": event.type, "subject": event.subject, "ticker": event.ticker,
            "direction": event.direction, "magnitude": extracted_magnitude(event), "unit": event.unit,
            "modality": event.modality}


@dataclass(frozen=True)
class MatchedPair:
    article_id: str
    gold: GoldEvent
    extracted: ExtractedEvent

    @property
    def disagreements(self) -> list[str]:
        fields = []
        if self.extracted.direction != self.gold.direction:
            fields.append("direction")
        if self.extracted.modality != self.gold.modality:
            fields.append("modality")
        if not magnitudes_agree(self.gold.magnitude, extracted_magnitude(self.extracted)):
            fields.append("magnitude")
        if self.extracted.unit != self.gold.unit:
            fields.append("unit")
        return fields


@dataclass(frozen=True)
class Report:
    overall: Scores
    per_type: dict[str, Scores]
    articles: int
    matched: tuple[MatchedPair, ...] = field(repr=False)
    false_positives: tuple[tuple[str, ExtractedEvent], ...] = field(repr=False)
    false_negatives: tuple[tuple[str, GoldEvent], ...] = field(repr=False)

    @property
    def precision(self) -> float:
        return self.overall.precision

    @property
    def recall(self) -> float:
        return self.overall.recall

    @property
    def f1(self) -> float:
        return self.overall.f1

    @property
    def direction_accuracy(self) -> float | None:
        return _accuracy([p.extracted.direction == p.gold.direction for p in self.matched])

    @property
    def modality_accuracy(self) -> float | None:
        return _accuracy([p.extracted.modality == p.gold.modality for p in self.matched])

    @property
    def magnitude_accuracy(self) -> float | None:
        return _accuracy([magnitudes_agree(p.gold.magnitude, extracted_magnitude(p.extracted))
                          for p in self.matched])

    @property
    def unit_accuracy(self) -> float | None:
        return _accuracy([p.extracted.unit == p.gold.unit for p in self.matched])

    def to_dict(self) -> dict[str, Any]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "counts": {"articles": self.articles, "gold": self.overall.gold,
                       "extracted": self.overall.extracted, "matched": self.overall.matched},
            "direction_accuracy": self.direction_accuracy,
            "modality_accuracy": self.modality_accuracy,
            "magnitude_accuracy": self.magnitude_accuracy,
            "unit_accuracy": self.unit_accuracy,
            "per_type": {t: s.to_dict() for t, s in sorted(self.per_type.items())},
            "false_positives": [{"article_id": a, "event": extracted_to_dict(e)}
                                for a, e in self.false_positives],
            "false_negatives": [{"article_id": a, "event": g.to_dict()} for a, g in self.false_negatives],
            "attribute_errors": [
                {"article_id": p.article_id, "fields": p.disagreements, "gold": p.gold.to_dict(),
                 "extracted": extracted_to_dict(p.extracted)}
                for p in self.matched if p.disagreements
            ],
        }


def evaluate(records: Iterable[GoldRecord], extractor: Extractor) -> Report:
    """Run ``extractor`` over every gold text and score its events against the gold events."""
    matched: list[MatchedPair] = []
    false_positives: list[tuple[str, ExtractedEvent]] = []
    false_negatives: list[tuple[str, GoldEvent]] = []
    counts: dict[str, list[int]] = {}  # type -> [gold, extracted, matched]
    articles = 0
    for record in records:
        articles += 1
        extracted = list(extractor(record.text, record.published))
        pairs = match_events(record.events, extracted)
        gold_hit = {gi for gi, _ in pairs}
        extracted_hit = {ei for _, ei in pairs}
        for event in record.events:
            counts.setdefault(event.type, [0, 0, 0])[0] += 1
        for event in extracted:
            counts.setdefault(event.type, [0, 0, 0])[1] += 1
        for gi, ei in pairs:
            counts[record.events[gi].type][2] += 1
            matched.append(MatchedPair(record.id, record.events[gi], extracted[ei]))
        false_negatives += [(record.id, g) for i, g in enumerate(record.events) if i not in gold_hit]
        false_positives += [(record.id, e) for i, e in enumerate(extracted) if i not in extracted_hit]
    per_type = {t: Scores(*c) for t, c in counts.items()}
    overall = Scores(*(sum(c[i] for c in counts.values()) for i in range(3)))
    return Report(overall=overall, per_type=per_type, articles=articles, matched=tuple(matched),
                  false_positives=tuple(false_positives), false_negatives=tuple(false_negatives))


def evaluate_extraction(gold_path: str | Path = DEFAULT_GOLD_PATH, *,
                        rules_dir: str | Path | None = None,
                        on_warning: Callable[[str], None] | None = None) -> Report:
    """Score the real extractor (bundled or given rulebook, bundled reference data) against a gold file."""
    # imported here: the rulebook and the alias matcher are heavy and only this path needs them
    from signals.entities import Linker
    from signals.extract import extract_text
    from signals.rules import Rulebook

    records = load_gold(gold_path)
    # regex timeouts, once per rule and pattern, as "rule ID: ..."
    rulebook = Rulebook.load(rules_dir, on_warning=(lambda w: on_warning(str(w))) if on_warning else None)
    linker = Linker.from_data()

    def extractor(text: str, published: str | None) -> Sequence[ExtractedEvent]:
        # gold text is title + "\n\n" + body, the layout extract_text's spans refer to
        title, _, body = text.partition("\n\n")
        return extract_text(body, title=title, rulebook=rulebook, linker=linker)

    return evaluate(records, extractor)
