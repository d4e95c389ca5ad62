"""Stateful invariants of the store: random sequences of ingests, re-ingests, edited items, rule
changes, re-extractions of the stored articles and backtests against one real DuckDB file, checked
after every step."""

from __future__ import annotations

import functools
import hashlib
import shutil
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

import duckdb
import pandas as pd
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from signals import api, store
from signals.entities import Linker
from signals.errors import StudyError
from signals.extract import extract_article
from signals.feeds import Article, read_feeds
from signals.rules import Rulebook

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_FEED = ROOT / "data" / "sample" / "wallstreetcn-2026-01-29.xml"
SAMPLE_PRICES = ROOT / "data" / "sample" / "prices"
RULES = ROOT / "rules"
POOL = list(read_feeds(SAMPLE_FEED))  # 52 real articles, most with events
EDIT = "另据消息，美联储宣布降息25个基点。"  # an edit that adds an event


@functools.cache
def rules_variant(name: str) -> Path:
    """The bundled rules, or a copy without one file: a rule change between ingests."""
    if name == "full":
        return RULES
    directory = Path(tempfile.mkdtemp(prefix="rules-")) / name
    shutil.copytree(RULES, directory, ignore=shutil.ignore_patterns(f"{name.removeprefix('no-')}.yaml"))
    return directory


@functools.cache
def priced_database() -> Path:
    """A database holding the sample prices, built once and copied for each example (loading takes s)."""
    path = Path(tempfile.mkdtemp(prefix="priced-")) / "template.duckdb"
    api.load_prices([str(SAMPLE_PRICES)], db=path)
    return path


@functools.cache
def rulebook(variant: str) -> Rulebook:
    return Rulebook.load(rules_variant(variant))


def feed_xml(items: list[tuple[Article, bool]]) -> str:
    entries = []
    for article, edited in items:
        body = article.body + ("\n\n" + EDIT if edited else "")
        date = article.published_utc.strftime("%a, %d %b %Y %H:%M:%S +0000")
        entries.append(f"<item><title>{escape(article.title)}</title><guid>{escape(article.guid)}</guid>"
                       f"<description>{escape(body)}</description><pubDate>{date}</pubDate></item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{POOL[0].source}'
            f"</title>{''.join(entries)}</channel></rss>")


def stored_articles(con: duckdb.DuckDBPyConnection) -> list[Article]:
    rows = con.execute("SELECT id, source, url, guid, title, body, published_utc, utc_offset_minutes, "
                       "content_hash, feed FROM articles ORDER BY id").fetchall()
    return [Article(*row) for row in rows]


class StoreMachine(RuleBasedStateMachine):
    """The model: for each article id, its content hash and the rulebook it was extracted with."""

    @initialize()
    def open_database(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="invariants-"))
        self.db = self.dir / "signals.duckdb"
        shutil.copy(priced_database(), self.db)
        self.content: dict[str, str] = {}
        self.extracted_with: dict[str, str] = {}
        self.last_feed: Path | None = None
        self.step = 0
        self.last_backtest: tuple[str, tuple, pd.DataFrame] | None = None

    def teardown(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def _extract(self, path: Path, variant: str) -> None:
        expected = {a.id: a.content_hash for a in read_feeds(path)}
        result = api.extract_feeds([str(path)], db=self.db, rules_dir=rules_variant(variant), jobs=1)
        changed = {i for i, h in expected.items() if self.content.get(i) != h}
        assert (result.articles_new + result.articles_updated) == len(changed)
        assert result.articles_unchanged == len(expected) - len(changed)
        for article_id in changed:
            self.content[article_id] = expected[article_id]
            self.extracted_with[article_id] = variant

    @rule(picks=st.lists(st.tuples(st.integers(0, len(POOL) - 1), st.booleans()), min_size=1, max_size=12),
          variant=st.sampled_from(["full", "no-monetary", "no-earnings"]))
    def ingest(self, picks: list[tuple[int, bool]], variant: str) -> None:
        """A feed of some pool articles, some of them edited (same guid, new text)."""
        self.step += 1
        path = self.dir / f"feed-{self.step}.xml"
        path.write_text(feed_xml([(POOL[i], edited) for i, edited in picks]), encoding="utf-8")
        self._extract(path, variant)
        self.last_feed = path

    @precondition(lambda self: self.last_feed is not None)
    @rule(variant=st.sampled_from(["full", "no-monetary"]))
    def reingest(self, variant: str) -> None:
        """The same feed again, even under other rules, changes nothing."""
        before = self._snapshot()
        self._extract(self.last_feed, variant)
        assert self._snapshot() == before

    @rule(variant=st.sampled_from(["full", "no-monetary", "no-earnings"]))
    def reextract(self, variant: str) -> None:
        """`extract --stored`: every stored article is extracted again with these rules."""
        result = api.extract_stored(db=self.db, rules_dir=rules_variant(variant), jobs=1)
        assert result.articles_reextracted == result.articles_read == len(self.content)
        assert result.articles_new == result.articles_updated == 0
        self.extracted_with = dict.fromkeys(self.content, variant)

    @rule(window=st.sampled_from(["3d", "-1:+1"]), model=st.sampled_from(["market", "mean"]))
    def backtest(self, window: str, model: str) -> None:
        """Results depend only on the stored data and the parameters."""
        try:
            result = api.backtest(db=self.db, window=window, model=model, offline=True, min_estimation=30)
            summary = result.study.summary.reset_index(drop=True)
        except StudyError as err:  # e.g. no event with prices yet: the same data must fail the same way
            summary = pd.DataFrame({"error": [str(err)]})
        data = self._snapshot()
        if self.last_backtest and self.last_backtest[:2] == (data, (window, model)):
            pd.testing.assert_frame_equal(summary, self.last_backtest[2])
        self.last_backtest = (data, (window, model), summary)

    def _snapshot(self) -> str:
        with store.opened(self.db, read_only=True) as con:
            rows = con.execute("SELECT a.id, a.content_hash, list(e.id ORDER BY e.id) FROM articles a "
                               "LEFT JOIN events e ON e.article_id = a.id GROUP BY ALL ORDER BY a.id"
                               ).fetchall()
        return hashlib.sha1(repr(rows).encode()).hexdigest()

    @invariant()
    def database_is_consistent(self) -> None:
        if not hasattr(self, "db"):
            return
        known_rules = {r.id for r in rulebook("full").rules}
        with store.opened(self.db, read_only=True) as con:
            one = con.execute
            assert one("SELECT count(*) - count(DISTINCT id) FROM articles").fetchone()[0] == 0
            assert one("SELECT count(*) - count(DISTINCT (source, guid)) FROM articles").fetchone()[0] == 0
            assert one("SELECT count(*) - count(DISTINCT id) FROM events").fetchone()[0] == 0
            assert one("SELECT count(*) FROM events WHERE article_id NOT IN (SELECT id FROM articles)"
                       ).fetchone()[0] == 0
            assert one("SELECT count(*) FROM event_instruments WHERE event_id NOT IN (SELECT id FROM events)"
                       ).fetchone()[0] == 0
            assert {r[0] for r in one("SELECT DISTINCT rule_id FROM events").fetchall()} <= known_rules
            assert dict(one("SELECT id, content_hash FROM articles").fetchall()) == self.content
            # novelty is what recomputing it over every stored event gives
            assert one("""
                SELECT count(*) FROM (
                    SELECT e.days_since_previous AS stored,
                           date_diff('second', lag(a.published_utc) OVER w, a.published_utc) / 86400 AS fresh
                    FROM events e JOIN articles a ON a.id = e.article_id
                    WINDOW w AS (PARTITION BY e.event_key ORDER BY a.published_utc, e.id))
                WHERE stored IS DISTINCT FROM fresh""").fetchone()[0] == 0
            stored = one("SELECT article_id, list(id ORDER BY id) FROM events GROUP BY ALL").fetchall()
            articles = stored_articles(con)
        # re-extracting each stored article with the rules it was extracted with gives its events again
        stored_events = dict(stored)
        linker = Linker.from_data()
        for article in articles:
            events = extract_article(article, rulebook(self.extracted_with[article.id]), linker)
            ids = sorted({api._event_id(ev) for ev in events})
            assert ids == sorted(stored_events.get(article.id, [])), article.title


StoreMachine.TestCase.settings = settings(max_examples=4, stateful_step_count=6, deadline=None)
test_store_invariants = StoreMachine.TestCase
