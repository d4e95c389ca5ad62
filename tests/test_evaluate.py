"""Evaluator: hand-worked P/R/F1, subject matching, one-to-one pairing, gold-file validation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signals.errors import SignalsError
from signals.evaluate import (
    TAXONOMY,
    UNITS,
    GoldEvent,
    GoldRecord,
    evaluate,
    load_gold,
    magnitudes_agree,
    match_events,
    subjects_agree,
)

GOLD_SAMPLE = Path(__file__).resolve().parents[1] / "data" / "gold" / "sample.jsonl"


@dataclass(frozen=True)
class Ev:
    """The extractor's output as the evaluator sees it (the fields of extract.Event it reads)."""

    type: str
    subject: str | None
    ticker: str | None
    direction: int
    magnitude: float | None = None
    unit: str | None = None
    modality: str = "fact"


def gold(type_: str, entity: str, ticker: str | None, direction: int, magnitude: float | None = None,
         unit: str | None = None, modality: str = "fact") -> GoldEvent:
    return GoldEvent(type_, entity, ticker, direction, magnitude, unit, modality)


def record(article_id: str, *events: GoldEvent) -> GoldRecord:
    return GoldRecord(id=article_id, title=article_id, text=f"{article_id}\n\nbody",
                      published="2026-01-29T08:00:00+08:00", events=events)


def fixed_extractor(by_text: dict[str, list[Ev]]):
    def extractor(text: str, published: str | None) -> list[Ev]:
        return by_text[text.partition("\n\n")[0]]
    return extractor


# a1: three gold events; a2: two; a3: none.  Worked by hand:
#   matched g1<-e1 (ticker), g2<-e2 (ticker, 8.02 within 0.5% of 8), g3<-e3 (text 白银 in 白银期货),
#   e4 duplicate of g2 -> FP; e5 right text but no ticker while gold has one -> FP and g4 FN;
#   g5<-e6 (text overlap 印尼, wrong modality); e7 in an article without gold -> FP.
#   gold 5, extracted 7, matched 4: P = 4/7, R = 4/5, F1 = 2PR/(P+R) = 2/3.
RECORDS = [
    record("a1",
           gold("rate_hold", "美联储", "@FED", 0),
           gold("price_surge", "贵州茅台", "600519.SS", 1, 8, "pct"),
           gold("price_surge", "白银", None, 1)),
    record("a2",
           gold("earnings_preannounce_up", "中泰证券", "600918.SS", 1, 60, "pct", "expected"),
           gold("price_plunge", "印尼股市", None, -1, 15, "pct")),
    record("a3"),
]
EXTRACTED = {
    "a1": [Ev("rate_hold", "美联储", "@FED", 0),
           Ev("price_surge", "茅台", "600519.SS", 1, 8.02, "pct"),
           Ev("price_surge", "白银期货", "SI=F", 1, 5, "pct"),
           Ev("price_surge", "贵州茅台", "600519.SS", 1, 8, "pct")],
    "a2": [Ev("earnings_preannounce_up", "中泰证券", None, 1, 60, "pct", "expected"),
           Ev("price_plunge", "印尼", None, -1, 15, "pct", "expected")],
    "a3": [Ev("rate_cut", "美联储", "@FED", 1, 25, "bp")],
}


@pytest.fixture(scope="module")
def report():
    return evaluate(RECORDS, fixed_extractor(EXTRACTED))


def test_overall_precision_recall_f1(report):
    assert (report.overall.gold, report.overall.extracted, report.overall.matched) == (5, 7, 4)
    assert report.precision == pytest.approx(4 / 7)
    assert report.recall == pytest.approx(4 / 5)
    assert report.f1 == pytest.approx(2 / 3)
    assert report.articles == 3


def test_per_type_figures(report):
    figures = {t: (s.gold, s.extracted, s.matched) for t, s in report.per_type.items()}
    assert figures == {
        "rate_hold": (1, 1, 1),
        "price_surge": (2, 3, 2),
        "earnings_preannounce_up": (1, 1, 0),
        "price_plunge": (1, 1, 1),
        "rate_cut": (0, 1, 0),
    }
    surge = report.per_type["price_surge"]
    assert (surge.precision, surge.recall) == (pytest.approx(2 / 3), 1.0)
    assert surge.f1 == pytest.approx(0.8)
    missed = report.per_type["earnings_preannounce_up"]
    assert (missed.precision, missed.recall, missed.f1) == (0.0, 0.0, 0.0)
    assert report.per_type["rate_cut"].recall == 0.0  # 0/0 is reported as 0.0


def test_attribute_accuracies_over_matched_pairs(report):
    # 4 matched pairs: all directions right; e6 modality wrong; e3 has a magnitude where gold has none
    assert report.direction_accuracy == 1.0
    assert report.modality_accuracy == 0.75
    assert report.magnitude_accuracy == 0.75
    assert report.unit_accuracy == 0.75


def test_false_positives_and_negatives_name_the_article(report):
    fps = [(a, e.type, e.subject) for a, e in report.false_positives]
    assert fps == [("a1", "price_surge", "贵州茅台"), ("a2", "earnings_preannounce_up", "中泰证券"),
                   ("a3", "rate_cut", "美联储")]
    assert [(a, g.entity) for a, g in report.false_negatives] == [("a2", "中泰证券")]


def test_to_dict_is_one_json_object(report):
    data = json.loads(json.dumps(report.to_dict(), ensure_ascii=False))
    assert data["precision"] == pytest.approx(4 / 7)
    assert data["recall"] == pytest.approx(0.8)
    assert data["f1"] == pytest.approx(2 / 3)
    assert data["counts"] == {"articles": 3, "gold": 5, "extracted": 7, "matched": 4}
    assert data["per_type"]["price_surge"]["matched"] == 2
    assert data["modality_accuracy"] == 0.75
    assert data["false_negatives"][0] == {
        "article_id": "a2",
        "event": {"type": "earnings_preannounce_up", "entity": "中泰证券", "ticker": "600918.SS",
                  "direction": 1, "magnitude": 60, "unit": "pct", "modality": "expected"},
    }
    assert len(data["false_positives"]) == 3
    errors = {(e["article_id"], tuple(e["fields"])) for e in data["attribute_errors"]}
    assert errors == {("a1", ("magnitude", "unit")), ("a2", ("modality",))}


def test_gold_ticker_must_match_when_set():
    g = gold("price_surge", "贵州茅台", "600519.SS", 1)
    assert subjects_agree(g, Ev("price_surge", "茅台酒", "600519.SS", 1))
    assert not subjects_agree(g, Ev("price_surge", "贵州茅台", "0700.HK", 1))
    assert not subjects_agree(g, Ev("price_surge", "贵州茅台", None, 1))


@pytest.mark.parametrize(("gold_entity", "subject", "agree"), [
    ("SK海力士", "海力士", True),        # containment
    ("三星电子", "三星", True),
    ("印尼股市", "印尼综合指数", True),   # shares 印尼
    ("金", "黄金", True),                # containment of a single character
    ("黄金", "金价", False),             # only one shared character
    ("美联储", "欧洲央行", False),
    ("ＳＡＰ", "sap", True),             # NFKC + casefold
    ("白银", None, False),
])
def test_subject_text_overlap(gold_entity, subject, agree):
    extracted = Ev("price_surge", subject, None, 1)
    assert subjects_agree(gold("price_surge", gold_entity, None, 1), extracted) is agree


@pytest.mark.parametrize(("g", "e", "agree"), [
    (100.0, 100.5, True), (100.0, 100.6, False), (100.0, 99.5, True), (None, None, True),
    (None, 0.0, False), (4.66e8, None, False), (0.0, 0.0, True), (4.66e8, 4.66e4, False),
])
def test_magnitude_tolerance_is_half_a_percent_of_gold(g, e, agree):
    assert magnitudes_agree(g, e) is agree


@dataclass(frozen=True)
class RangeEv(Ev):
    magnitude_low: float | None = None
    magnitude_high: float | None = None


def test_a_range_is_compared_by_its_midpoint():
    # gold writes 四川黄金's 69.23%-93.40% as 81.315; an extractor keeping the range still agrees
    g = [gold("earnings_preannounce_up", "四川黄金", "001337.SZ", 1, 81.315, "pct")]
    as_range = RangeEv("earnings_preannounce_up", "四川黄金", "001337.SZ", 1, None, "pct",
                       magnitude_low=69.23, magnitude_high=93.40)
    upper_only = RangeEv("earnings_preannounce_up", "四川黄金", "001337.SZ", 1, 93.40, "pct",
                         magnitude_low=69.23, magnitude_high=93.40)
    assert evaluate([record("a", *g)], lambda t, p: [as_range]).magnitude_accuracy == 1.0
    assert evaluate([record("a", *g)], lambda t, p: [upper_only]).magnitude_accuracy == 0.0


def test_matching_is_one_to_one():
    golds = [gold("price_surge", "白银", None, 1), gold("price_surge", "白银", None, 1)]
    assert len(match_events(golds, [Ev("price_surge", "白银", None, 1)])) == 1
    assert len(match_events(golds[:1], [Ev("price_surge", "白银", None, 1)] * 3)) == 1


def test_matching_prefers_the_pair_that_agrees():
    # the extracted negated cut must pair with the negated gold cut, not the first one listed
    golds = [gold("rate_cut", "美联储", "@FED", 1, 25, "bp", "expected"),
             gold("rate_cut", "美联储", "@FED", -1, None, None, "negated")]
    extracted = [Ev("rate_cut", "美联储", "@FED", -1, None, None, "negated")]
    assert match_events(golds, extracted) == [(1, 0)]


def test_type_must_be_equal():
    assert match_events([gold("rate_cut", "美联储", "@FED", 1)], [Ev("rate_hold", "美联储", "@FED", 0)]) == []


gold_events = st.builds(
    GoldEvent,
    type=st.sampled_from(sorted(TAXONOMY)),
    entity=st.sampled_from(["美联储", "贵州茅台", "黄金", "SK海力士", "英伟达"]),
    ticker=st.one_of(st.none(), st.sampled_from(["@FED", "600519.SS", "GC=F"])),
    direction=st.sampled_from([-1, 0, 1]),
    magnitude=st.one_of(st.none(), st.floats(min_value=0.01, max_value=1e12)),
    unit=st.none(),
    modality=st.sampled_from(["fact", "expected", "negated"]),
)


@given(st.lists(st.lists(gold_events, max_size=5), min_size=1, max_size=4))
def test_echoing_the_gold_scores_perfectly_and_nothing_scores_zero(articles):
    records = [record(f"a{i}", *events) for i, events in enumerate(articles)]
    echo = {r.id: [Ev(g.type, g.entity, g.ticker, g.direction, g.magnitude, g.unit, g.modality)
                   for g in r.events] for r in records}
    perfect = evaluate(records, fixed_extractor(echo))
    total = sum(len(events) for events in articles)
    assert perfect.overall.matched == total
    assert not perfect.false_positives and not perfect.false_negatives
    if total:
        assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)
        assert perfect.direction_accuracy == perfect.modality_accuracy == perfect.magnitude_accuracy == 1.0
    silent = evaluate(records, lambda text, published: [])
    assert (silent.precision, silent.recall, silent.f1) == (0.0, 0.0, 0.0)
    assert len(silent.false_negatives) == total


# ---------------------------------------------------------------------------------------------
# The gold file

GOOD_EVENT = {"type": "rate_hold", "entity": "美联储", "ticker": "@FED", "direction": 0,
              "magnitude": None, "unit": None, "modality": "fact"}


def gold_line(article_id: str = "https://x/1", **event_overrides) -> str:
    event = {**GOOD_EVENT, **event_overrides}
    return json.dumps({"id": article_id, "title": "t", "text": "t\n\nb",
                       "published": "2026-01-29T08:00:00+08:00", "events": [event]}, ensure_ascii=False)


@pytest.mark.parametrize(("bad_line", "message"), [
    ("{not json", "invalid JSON"),
    ("[1, 2]", "expected a JSON object"),
    (gold_line(type="rate_cutt"), "unknown event type 'rate_cutt'"),
    (gold_line(direction=2), "'direction' must be -1, 0 or 1"),
    (gold_line(direction=True), "'direction' must be -1, 0 or 1"),
    (gold_line(magnitude=25), "'magnitude' and 'unit' must both be set"),
    (gold_line(magnitude=-3, unit="pct"), "'magnitude' must be a non-negative number"),
    (gold_line(unit="percent", magnitude=3), "unknown unit 'percent'"),
    (gold_line(modality="rumour"), "'modality' must be one of"),
    (gold_line(entity=""), "'entity' must be a non-empty string"),
    (json.dumps({"id": "https://x/2", "title": "t", "text": "t", "published": "2026-01-29T08:00:00",
                 "events": []}), "has no UTC offset"),
    (json.dumps({"id": "https://x/2", "title": "t", "text": "t", "events": {}}), "'events' must be a list"),
    (json.dumps({"id": "https://x/2", "title": "t", "events": []}), "missing field 'text'"),
    (gold_line("https://x/1"), "duplicate id 'https://x/1' (first on line 1)"),
    # fields of the wrong JSON type: TypeError (unhashable) or OverflowError, exit 3, before
    (gold_line(type=["rate_cut"]), "events[0]: unknown event type ['rate_cut'] in 'type'"),
    (gold_line(direction=[1]), "events[0]: 'direction' must be -1, 0 or 1, not [1]"),
    (gold_line(unit=["bp"], magnitude=25), "events[0]: unknown unit ['bp'] in 'unit' (allowed: CNY, EUR"),
    (gold_line(modality={"a": 1}), "events[0]: 'modality' must be one of ['expected', 'fact', 'negated'], "
                                   "not {'a': 1}"),
    (gold_line(magnitude=10**400, unit="bp"), "events[0]: 'magnitude' must be a non-negative number or null, "
                                              "not 1000000000000000000000000000000000000..."),
    (gold_line(magnitude="25", unit="bp"), "'magnitude' must be a non-negative number or null, not '25'"),
    (gold_line(magnitude=True, unit="bp"), "'magnitude' must be a non-negative number or null, not True"),
])
def test_malformed_gold_line_names_file_and_line(tmp_path, bad_line, message):
    path = tmp_path / "gold.jsonl"
    path.write_text(gold_line() + "\n\n" + bad_line + "\n", encoding="utf-8")
    with pytest.raises(SignalsError) as info:
        load_gold(path)
    assert str(info.value).startswith(f"{path}:3: ")
    assert message in str(info.value)


@pytest.mark.parametrize("content", ["", "\n  \n"], ids=["empty", "blank-lines"])
def test_a_gold_file_without_records_is_an_error(tmp_path, content):
    # it scored P/R/F1 0 with exit 0
    path = tmp_path / "gold.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SignalsError) as info:
        load_gold(path)
    assert str(info.value) == f"{path}: the gold file holds no records"


def test_bad_gold_files_are_clean_cli_errors(tmp_path, capsys):
    from signals.cli import main

    ok = {"type": "rate_cut", "entity": "美联储", "ticker": "@FED", "direction": 1, "magnitude": 25,
          "unit": "bp", "modality": "fact"}
    for name, field in [("type", ["rate_cut"]), ("magnitude", 10**400), ("direction", [1]), ("unit", ["bp"]),
                        ("modality", {"a": 1})]:
        path = tmp_path / f"{name}.jsonl"
        path.write_text(json.dumps({"id": "a", "title": "t", "text": "美联储宣布降息25个基点",
                                    "events": [{**ok, name: field}]}, ensure_ascii=False), encoding="utf-8")
        assert main(["eval", str(path)]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.startswith(f"error: {path}:1: events[0]: ") and f"'{name}'" in err, err
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    empty = tmp_path / "empty.jsonl"
    assert main(["eval", str(empty)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {empty}: the gold file holds no records")


def test_missing_gold_file_is_a_signals_error(tmp_path):
    with pytest.raises(SignalsError, match="cannot read gold file"):
        load_gold(tmp_path / "absent.jsonl")


def test_valid_gold_line_round_trips(tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_text(gold_line(type="rrr_cut", entity="中国人民银行", ticker="@PBOC", direction=1,
                              magnitude=50, unit="bp") + "\n", encoding="utf-8")
    [loaded] = load_gold(path)
    assert loaded.events == (gold("rrr_cut", "中国人民银行", "@PBOC", 1, 50.0, "bp"),)
    assert loaded.published == "2026-01-29T08:00:00+08:00"


def test_sample_gold_file_is_complete_and_valid():
    records = load_gold(GOLD_SAMPLE)
    assert len(records) == 52
    assert len({r.id for r in records}) == 52
    assert all(r.id.startswith("https://wallstreetcn.com/articles/") for r in records)
    assert all(r.text.startswith(r.title + "\n\n") for r in records)
    assert all(r.published and r.published.endswith("+08:00") for r in records)
    events = [e for r in records for e in r.events]
    assert {e.type for e in events} <= TAXONOMY
    assert {e.unit for e in events if e.unit} <= UNITS
    assert len(events) >= 52  # a day of market news carries events; an empty gold set would score nothing


def test_gold_taxonomy_is_the_rulebook_taxonomy():
    # the gold file is validated against evaluate.TAXONOMY; a type added to the rules must be added here too
    from signals.rules import TAXONOMY as RULE_TAXONOMY

    assert set(RULE_TAXONOMY) == TAXONOMY


def test_gold_records_a_dividend_per_share_as_extraction_writes_it(tmp_path):
    # the dividend rule's as: per_share writes unit CNY/share; the gold format refused that unit
    # ("unknown unit 'CNY/share'"), and CNY scored the extractor's unit as wrong
    from signals.evaluate import evaluate_extraction

    record = {"id": "x1", "title": "贵州茅台分红",
              "text": "贵州茅台分红\n\n贵州茅台每10股派发现金红利238.82元。",
              "events": [{"type": "dividend", "entity": "贵州茅台", "ticker": "600519.SS", "direction": 1,
                          "magnitude": 23.882, "unit": "CNY/share", "modality": "fact"}]}
    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    report = evaluate_extraction(path)
    assert (report.f1, report.unit_accuracy, report.magnitude_accuracy) == (1.0, 1.0, 1.0)
