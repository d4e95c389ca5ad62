"""`signals rules stats`: per-rule coverage, overlaps, conflicts, fill and near misses.

A three-article fixture feed with a four-rule fixture rulebook pins every count by hand; the real
sample feed checks the figures agree with what extraction itself produces.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from signals.api import rules_stats
from signals.cli import main
from signals.entities import Linker
from signals.extract import Event, extract_article, trigger_sentences
from signals.feeds import read_feeds
from signals.rules import Rulebook
from signals.rulestats import STATS_COLUMNS, conflicting

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
STATS_RULES = FIXTURES / "stats_rules"
STATS_FEED = FIXTURES / "stats_feed.xml"
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "wallstreetcn-2026-01-29.xml"


@pytest.fixture(scope="module")
def fixture_stats():
    return rules_stats([str(STATS_FEED)], STATS_RULES).set_index("rule_id")


@pytest.fixture(scope="module")
def sample_stats():
    return rules_stats([str(SAMPLE)]).set_index("rule_id")


def test_every_rule_has_a_row_in_rulebook_order(fixture_stats) -> None:
    assert list(fixture_stats.index) == [r.id for r in Rulebook.load(STATS_RULES).rules]
    assert list(fixture_stats.reset_index().columns) == STATS_COLUMNS


def test_coverage_overlap_and_conflict_by_hand(fixture_stats) -> None:
    # item 1: 贵州茅台 surges (title), plunges (跌超5%) and makes a record: three rules on one subject,
    # each contradicting the plunge; item 2: 五粮液大涨 alone.
    surge = fixture_stats.loc["market.stats_surge"]
    assert (surge.articles, surge.events, surge.overlaps, surge.conflicts) == (2, 2, 1, 1)
    plunge = fixture_stats.loc["market.stats_plunge"]
    assert (plunge.articles, plunge.events, plunge.overlaps, plunge.conflicts) == (1, 1, 1, 1)
    assert plunge.magnitude_share == 1.0
    record = fixture_stats.loc["market.stats_record"]
    assert (record.events, record.overlaps, record.conflicts, record.magnitude_share) == (1, 1, 1, 0.0)


def test_unlinked_share_and_modality(fixture_stats) -> None:
    invest = fixture_stats.loc["corporate.stats_invest"]
    assert (invest.events, invest.unlinked_share, invest.overlaps) == (1, 1.0, 0)
    assert fixture_stats[["fact", "expected", "negated"]].sum().tolist() == [5, 0, 0]


def test_near_misses_are_trigger_sentences_no_pattern_matched(fixture_stats) -> None:
    # 跌 fires in three sentences; only 跌超5% is the rule's phrasing (五粮液小幅下跌, 跌幅有限 are not)
    plunge = fixture_stats.loc["market.stats_plunge"]
    assert (plunge.trigger_sentences, plunge.near_misses) == (3, 2)
    assert plunge.near_miss_example == "五粮液小幅下跌。"
    surge = fixture_stats.loc["market.stats_surge"]  # no patterns: a trigger is an event, never a miss
    assert (surge.trigger_sentences, surge.near_misses) == (2, 0)
    assert pd.isna(surge.near_miss_example)


def test_shares_are_empty_for_rules_without_events(tmp_path: Path) -> None:
    feed = tmp_path / "quiet.xml"
    feed.write_text(STATS_FEED.read_text(encoding="utf-8").replace("大涨", "走平").replace("跌超5%", "走弱")
                    .replace("新高", "高位").replace("投资", "合作"), encoding="utf-8")
    stats = rules_stats([str(feed)], STATS_RULES).set_index("rule_id")
    assert stats["events"].sum() == 0
    assert stats["unlinked_share"].isna().all() and stats["magnitude_share"].isna().all()


def _event(**kw) -> Event:
    base = dict(article_id="a", rule_id="r", rule_version=1, type="price_surge", topic="market",
                subject="茅台", ticker="600519.SS", entity_kind="equity", link_confidence=1.0, direction=1,
                magnitude=None, magnitude_low=None, magnitude_high=None, unit=None, magnitude_bound=None,
                modality="fact", source=None, evidence="", span_start=0, span_end=1, in_title=False,
                confidence=1.0, relevance=100, event_key="", exposures=())
    return Event(**{**base, **kw})


def test_conflicts_are_opposite_directions_or_contradicting_types() -> None:
    surge, plunge = _event(), _event(type="price_plunge", direction=-1)
    assert conflicting(surge, plunge)
    assert not conflicting(surge, _event(type="record_high"))
    cut, hold = _event(type="rate_cut", direction=1), _event(type="rate_hold", direction=0)
    assert conflicting(cut, hold)  # directions alone cannot see it: a hold has direction 0
    # a denied cut (不会降息: negated, direction -1) agrees with a hold
    assert not conflicting(_event(type="rate_cut", direction=-1, modality="negated"), hold)


def test_sample_feed_counts_agree_with_extraction(sample_stats) -> None:
    rulebook, linker = Rulebook.load(), Linker.from_data()
    articles = list(read_feeds([str(SAMPLE)]))
    events = [e for a in articles for e in extract_article(a, rulebook, linker)]
    per_rule = Counter(e.rule_id for e in events)
    assert sample_stats["events"].to_dict() == {r.id: per_rule.get(r.id, 0) for r in rulebook.rules}
    misses = Counter(t.rule_id for a in articles
                     for t in trigger_sentences(a.body, title=a.title, rulebook=rulebook) if not t.matched)
    assert sample_stats["near_misses"].to_dict() == {r.id: misses.get(r.id, 0) for r in rulebook.rules}


def test_sample_feed_known_rule(sample_stats) -> None:
    # the market close (3764424) lists 16 limit-up stocks in one article: 五粮液、山西汾酒…涨停 (a 17th
    # event, 沪指 from the headline for 白酒基金LOF涨停, was wrong: an index has no limit)
    limit_up = sample_stats.loc["market.limit_up"]
    assert (limit_up.articles, limit_up.events, limit_up.unlinked_share) == (1, 16, 0.0)
    # broad triggers show up as near misses: 预期 opens many sentences no beat/miss pattern matches
    assert sample_stats.loc["earnings.beat", "near_misses"] > sample_stats.loc["earnings.beat", "events"]


def test_cli_writes_rows_and_summary(tmp_path: Path, capsys) -> None:
    out = tmp_path / "stats.json"
    code = main(["rules", "stats", str(STATS_FEED), "--rules", str(STATS_RULES), "-f", "json",
                 "-o", str(out)])
    assert code == 0
    rows = {r["rule_id"]: r for r in json.loads(out.read_text(encoding="utf-8"))}
    assert rows["market.stats_plunge"]["near_misses"] == 2
    assert "4 rules, 4 with events, 5 events" in capsys.readouterr().err


def test_cli_missing_feed_is_one_line(capsys) -> None:
    assert main(["rules", "stats", "no/such/feed.xml"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
