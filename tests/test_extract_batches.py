"""extract_feeds commits each batch of articles with its events: memory stays flat in DuckDB (a
transaction holds its rows in memory until it commits), a bad input keeps the whole batches read before
it, and running the command again finishes the job with the same result as one clean run."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from conftest import SAMPLE_FEED
from signals import api
from signals.errors import FeedError

BROKEN = "<rss><channel><item><title>美联储降息</title></channel></rss>"


def _stored(db: Path) -> tuple[set[str], set[tuple], int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        articles = {r[0] for r in con.execute("SELECT id FROM articles").fetchall()}
        events = set(con.execute("SELECT id, article_id, type, ticker, magnitude FROM events").fetchall())
        orphans = con.execute("SELECT count(*) FROM events WHERE article_id NOT IN "
                              "(SELECT id FROM articles)").fetchone()[0]
        return articles, events, orphans
    finally:
        con.close()


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(api, "BATCH_ARTICLES", 10)
    return 10


def test_bad_input_keeps_whole_batches_and_a_rerun_matches_one_clean_run(
        tmp_path: Path, small_batches: int) -> None:
    clean_db, db = tmp_path / "clean.duckdb", tmp_path / "partial.duckdb"
    clean = api.extract_feeds([str(SAMPLE_FEED)], db=clean_db, jobs=1)
    clean_articles, clean_events, _ = _stored(clean_db)
    assert clean.articles_read == 52 and len(clean_events) > 100

    bad = tmp_path / "broken.xml"
    bad.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(FeedError) as info:
        api.extract_feeds([str(SAMPLE_FEED), str(bad)], db=db, jobs=1)
    # 52 articles: five whole batches of 10 were read before the broken feed, the last 2 were not kept
    assert "first 50 articles read were stored" in info.value.hint
    assert "run the same command again" in info.value.hint
    articles, events, orphans = _stored(db)
    assert len(articles) == 50 and articles < clean_articles
    assert orphans == 0
    assert events == {e for e in clean_events if e[1] in articles}  # every kept article has its events

    again = api.extract_feeds([str(SAMPLE_FEED)], db=db, jobs=1)
    assert (again.articles_new, again.articles_unchanged) == (2, 50)
    assert _stored(db)[:2] == (clean_articles, clean_events)


def test_a_bad_input_inside_the_first_batch_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "broken.xml"
    bad.write_text(BROKEN, encoding="utf-8")
    db = tmp_path / "x.duckdb"
    with pytest.raises(FeedError) as info:
        api.extract_feeds([str(SAMPLE_FEED), str(bad)], db=db, jobs=1)
    assert "stored" not in (info.value.hint or "")
    assert _stored(db) == (set(), set(), 0)


def test_batches_commit_as_they_go(tmp_path: Path, small_batches: int,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # each batch is durable before the next one is written: seen from the transaction state
    from signals import store

    commits: list[int] = []
    real = store.insert_events

    def spy(con, events, pairs) -> None:
        real(con, events, pairs)
        commits.append(con.execute("SELECT count(*) FROM articles").fetchone()[0])

    monkeypatch.setattr(store, "insert_events", spy)
    result = api.extract_feeds([str(SAMPLE_FEED)], db=tmp_path / "x.duckdb", jobs=1)
    assert result.articles_committed == 52
    assert commits == [10, 20, 30, 40, 50, 52]


def _day0(db: Path) -> set[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        query = "SELECT event_id, ticker, day0, day0_reason FROM event_instruments"
        return set(con.execute(query).fetchall())
    finally:
        con.close()


def test_a_failed_extract_prints_and_finishes_what_it_kept(tmp_path: Path, small_batches: int,
                                                           capsys) -> None:
    import json

    from signals.cli import main

    clean_db, db = tmp_path / "clean.duckdb", tmp_path / "partial.duckdb"
    clean = api.extract_feeds([str(SAMPLE_FEED)], db=clean_db, jobs=1).events
    bad = tmp_path / "broken.xml"
    bad.write_text(BROKEN, encoding="utf-8")
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    code = main(["--db", str(db), "extract", str(SAMPLE_FEED), str(bad), "-j", "1", "-f", "json",
                 "-o", str(first)])
    assert code == 2
    assert "first 50 articles read were stored" in capsys.readouterr().err
    printed = json.loads(first.read_text(encoding="utf-8"))  # a closed, well-formed array
    _, kept_events, _ = _stored(db)
    assert {e["event_id"] for e in printed} == {e[0] for e in kept_events}
    assert len(printed) == len(kept_events) > 100
    # the kept events have their days 0, as in a clean run
    assert _day0(db) == {row for row in _day0(clean_db) if row[0] in {e[0] for e in kept_events}}

    code = main(["--db", str(db), "extract", str(SAMPLE_FEED), "-j", "1", "-f", "json", "-o", str(second)])
    assert code == 0
    rest = json.loads(second.read_text(encoding="utf-8"))
    assert sorted(e["event_id"] for e in printed + rest) == sorted(clean["event_id"])
    assert _day0(db) == _day0(clean_db)


def _novelty_feed(first_text: str) -> str:
    items = [("n-1", "Wed, 28 Jan 2026 08:00:00 +0800", first_text),
             ("n-2", "Thu, 29 Jan 2026 08:00:00 +0800", "美联储宣布降息25个基点。")]
    body = "".join(f"<item><guid>{guid}</guid><title>快讯</title><pubDate>{date}</pubDate>"
                   f"<description>{text}</description></item>" for guid, date, text in items)
    return f"<rss version='2.0'><channel><title>t</title>{body}</channel></rss>"


def test_an_edit_that_removes_an_event_updates_the_novelty_of_its_key(tmp_path: Path) -> None:
    # the later article's rate cut repeats the earlier one's (1 day since); once the earlier article
    # is edited and no longer reports a cut, the later one is news again (no previous event)
    db, feed = tmp_path / "s.duckdb", tmp_path / "f.xml"

    def gaps() -> list:
        with duckdb.connect(str(db), read_only=True) as con:
            return con.execute("SELECT e.type, e.days_since_previous FROM events e JOIN articles a "
                               "ON a.id = e.article_id WHERE a.guid = 'n-2'").fetchall()

    feed.write_text(_novelty_feed("美联储宣布降息25个基点。"), encoding="utf-8")
    api.extract_feeds([str(feed)], db=db, jobs=1)
    assert gaps() == [("rate_cut", 1.0)]
    feed.write_text(_novelty_feed("美联储宣布维持利率不变。"), encoding="utf-8")
    result = api.extract_feeds([str(feed)], db=db, jobs=1)
    assert (result.articles_updated, result.articles_unchanged) == (1, 1)
    assert gaps() == [("rate_cut", None)]


def test_a_dry_run_prints_what_a_stored_run_prints(tmp_path: Path, small_batches: int) -> None:
    # the same feed twice, in batches of 10: a stored run prints each event once, with the stored
    # columns; the dry run printed the second copy again (32 other columns, unordered)
    feeds = [str(SAMPLE_FEED), str(SAMPLE_FEED)]
    stored = api.extract_feeds(feeds, db=tmp_path / "s.duckdb", jobs=1)
    dry = api.extract_feeds(feeds, dry_run=True, jobs=1)
    assert list(dry.events.columns) == list(stored.events.columns) == api.DISPLAY_COLUMNS
    key = ["event_id"]
    assert sorted(dry.events["event_id"]) == sorted(stored.events["event_id"])  # once each
    same = dry.events.drop(columns=["days_since_previous"]).sort_values(key).reset_index(drop=True)
    want = stored.events.drop(columns=["days_since_previous"]).sort_values(key).reset_index(drop=True)
    assert same.astype(str).equals(want.astype(str))
    assert (dry.articles_read, dry.articles_new, dry.articles_unchanged) == (104, 52, 52)
