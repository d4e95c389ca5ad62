"""`signals extract --stored` (api.extract_stored): after the rules change, the stored articles are
extracted again and the database ends up as a fresh extraction with the new rules would leave it."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import SAMPLE_FEED
from signals import api
from signals.cli import main
from signals.errors import StoreError

ROOT = Path(__file__).resolve().parents[1]


def rules_without(tmp_path: Path, *names: str) -> Path:
    """A copy of the bundled rules/ without the files ``names``."""
    directory = tmp_path / f"rules-without-{'-'.join(names)}"
    shutil.copytree(ROOT / "rules", directory)
    for name in names:
        (directory / name).unlink()
    return directory


def stored(db: Path) -> dict[str, list[tuple]]:
    """Every row that extraction writes, in a fixed order (extracted_at and rulebook_hash aside)."""
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            "articles": con.execute("SELECT * EXCLUDE (fetched_at) FROM articles ORDER BY id").fetchall(),
            "events": con.execute("SELECT * EXCLUDE (extracted_at, rulebook_hash) FROM events "
                                  "ORDER BY id").fetchall(),
            "pairs": con.execute("SELECT * FROM event_instruments ORDER BY event_id, ticker").fetchall(),
        }


def rulebook_hashes(db: Path) -> set[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {row[0] for row in con.execute("SELECT DISTINCT rulebook_hash FROM events").fetchall()}


@pytest.mark.parametrize(("before", "after"), [
    (("analyst.yaml", "market.yaml"), ()),  # rules added: their events appear
    ((), ("analyst.yaml", "market.yaml")),  # rules removed: their events go, novelty is recomputed
])
def test_the_stored_articles_end_up_as_a_fresh_extraction_with_the_new_rules(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: tuple[str, ...],
        after: tuple[str, ...]) -> None:
    monkeypatch.setattr(api, "BATCH_ARTICLES", 7)  # several batches, each committed on its own
    old_rules = rules_without(tmp_path, *before) if before else None
    new_rules = rules_without(tmp_path, *after) if after else None
    db, fresh = tmp_path / "s.duckdb", tmp_path / "fresh.duckdb"
    first = api.extract_feeds([str(SAMPLE_FEED)], db=db, rules_dir=old_rules, jobs=1)
    again = api.extract_stored(db=db, rules_dir=new_rules, jobs=1)
    clean = api.extract_feeds([str(SAMPLE_FEED)], db=fresh, rules_dir=new_rules, jobs=1)

    assert again.summary.startswith("52 articles read (0 new, 0 updated, 52 unchanged, 52 re-extracted)")
    assert stored(db) == stored(fresh)
    assert first.event_count != again.event_count == clean.event_count
    assert again.events.drop(columns=["days_since_previous"]).equals(
        clean.events.drop(columns=["days_since_previous"]))
    assert rulebook_hashes(db) == rulebook_hashes(fresh)  # the events say which rules made them


def test_a_dry_run_shows_what_the_new_rules_give_and_stores_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    api.extract_feeds([str(SAMPLE_FEED)], db=db, rules_dir=rules_without(tmp_path, "market.yaml"), jobs=1)
    before = stored(db)
    dry = api.extract_stored(db=db, dry_run=True, jobs=1)
    assert stored(db) == before
    assert "market" in set(dry.events["rule_id"].str.split(".").str[0])
    assert dry.event_count == api.extract_feeds([str(SAMPLE_FEED)], dry_run=True, jobs=1).event_count


def test_two_jobs_replace_the_events_as_one_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from signals import parallel

    monkeypatch.setattr(parallel, "PARALLEL_MIN_ARTICLES", 10)
    old_rules = rules_without(tmp_path, "earnings.yaml")
    one, two = tmp_path / "one.duckdb", tmp_path / "two.duckdb"
    for db, jobs in ((one, 1), (two, 2)):
        api.extract_feeds([str(SAMPLE_FEED)], db=db, rules_dir=old_rules, jobs=1)
        api.extract_stored(db=db, jobs=jobs)
    assert stored(one) == stored(two)


def test_a_missing_database_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        api.extract_stored(db=tmp_path / "none.duckdb")
    assert not (tmp_path / "none.duckdb").exists()


def test_cli_takes_feeds_or_stored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "s.duckdb")
    assert main(["--db", db, "extract"]) == 2
    assert "give FEEDS to ingest, or --stored" in capsys.readouterr().err
    assert main(["--db", db, "extract", "--stored", str(SAMPLE_FEED)]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["--db", db, "extract", "--stored"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["--db", db, "extract", str(SAMPLE_FEED), "-f", "jsonl"]) == 0
    first = capsys.readouterr().out
    assert main(["--db", db, "extract", "--stored", "-f", "jsonl"]) == 0
    captured = capsys.readouterr()
    assert captured.out == first  # the same rules give the same events, printed the same way
    assert "52 re-extracted" in captured.err


def test_an_interrupted_run_leaves_old_or_new_events_per_article_and_a_rerun_finishes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from signals import store

    monkeypatch.setattr(api, "BATCH_ARTICLES", 20)
    db, fresh = tmp_path / "s.duckdb", tmp_path / "fresh.duckdb"
    old_rules = rules_without(tmp_path, "market.yaml")
    api.extract_feeds([str(SAMPLE_FEED)], db=db, rules_dir=old_rules, jobs=1)
    old = stored(db)["events"]
    real_insert, calls = store.insert_events, []

    def failing_insert(con, events, pairs):  # the second batch's write fails half-way
        calls.append(len(events))
        if len(calls) == 2:
            raise RuntimeError("disk gone")
        return real_insert(con, events, pairs)

    monkeypatch.setattr(store, "insert_events", failing_insert)
    with pytest.raises(RuntimeError, match="disk gone"):
        api.extract_stored(db=db, jobs=1)
    monkeypatch.setattr(store, "insert_events", real_insert)
    api.extract_feeds([str(SAMPLE_FEED)], db=fresh, jobs=1)
    new = stored(fresh)["events"]
    with duckdb.connect(str(db), read_only=True) as con:
        first_batch = [r[0] for r in con.execute(
            "SELECT id FROM articles ORDER BY published_utc NULLS LAST, id LIMIT 20").fetchall()]
    now = stored(db)["events"]
    article_of = 1  # events rows: id, article_id, ...
    for article in {e[article_of] for e in old + new}:
        mine = [e for e in now if e[article_of] == article]
        expected = new if article in first_batch else old
        assert sorted(e[0] for e in mine) == sorted(e[0] for e in expected if e[article_of] == article)
    api.extract_stored(db=db, jobs=1)
    assert stored(db) == stored(fresh)


def test_ingesting_with_other_rules_notes_the_events_the_old_rules_made(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.duckdb"
    old_rules = rules_without(tmp_path, "market.yaml")
    old = api.extract_feeds([str(SAMPLE_FEED)], db=db, rules_dir=old_rules, jobs=1)
    assert old.notes == []  # every stored event is this run's
    with duckdb.connect(str(db), read_only=True) as con:
        articles = con.execute("SELECT count(DISTINCT article_id) FROM events").fetchone()[0]
    # the same feed with the bundled rules: nothing new to store, the old rules' events stay
    assert main(["--db", str(db), "extract", str(SAMPLE_FEED), "-f", "jsonl"]) == 0
    err = capsys.readouterr().err
    assert (f"note: {old.event_count:,} stored events of {articles:,} articles were extracted by other rules "
            "or another version of signals (events.rulebook_hash, extractor_hash); "
            "`signals extract --stored` with these rules extracts those articles again") in err
    api.extract_stored(db=db, jobs=1)
    again = api.extract_feeds([str(SAMPLE_FEED)], db=db, jobs=1)
    assert again.notes == [] and (again.events_made_otherwise, again.articles_made_otherwise) == (0, 0)


def test_a_comment_edited_in_the_rules_flags_no_stored_event(tmp_path: Path) -> None:
    db, rules = tmp_path / "s.duckdb", rules_without(tmp_path)
    first = api.extract_feeds([str(SAMPLE_FEED)], db=db, rules_dir=rules, jobs=1)
    assert first.event_count > 0 and first.notes == []
    market = rules / "market.yaml"
    market.write_text("# reviewed 2026-11\n" + market.read_text(encoding="utf-8"), encoding="utf-8")
    again = api.extract_feeds([str(SAMPLE_FEED)], db=db, rules_dir=rules, jobs=1)
    assert again.notes == [] and (again.events_made_otherwise, again.articles_made_otherwise) == (0, 0)


def test_reading_a_feed_again_with_another_tz_leaves_what_a_fresh_run_with_it_leaves(tmp_path: Path) -> None:
    """Dates without a zone are read in --tz. Ingesting again with a corrected --tz kept the old times
    and days 0: the content hash covers title and body only, so the articles counted as unchanged."""
    feed = str(ROOT / "tests" / "fixtures" / "feeds" / "rss2_dates.xml")
    db, fresh = tmp_path / "again.duckdb", tmp_path / "fresh.duckdb"
    api.extract_feeds([feed], db=db)
    again = api.extract_feeds([feed], db=db, default_tz="America/New_York")
    api.extract_feeds([feed], db=fresh, default_tz="America/New_York")
    assert again.articles_updated > 0
    assert stored(db) == stored(fresh)
