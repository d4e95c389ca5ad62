"""End to end through the command line, on the bundled sample feed and prices."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from signals import api
from signals.cli import main
from signals.errors import StudyError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_FEED = ROOT / "data" / "sample" / "wallstreetcn-2026-01-29.xml"
SAMPLE_PRICES = ROOT / "data" / "sample" / "prices"


def run(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def table_counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("articles", "events", "event_instruments")}
    finally:
        con.close()


def test_help_lists_commands(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for name in ("extract", "backtest", "prices", "rules", "entities", "eval"):
        assert name in out


def test_extract_sample_stores_events_and_is_idempotent(capsys, db_path: Path) -> None:
    code, out, err = run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "--format", "jsonl")
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert len(events) >= 20
    assert "52 articles read (52 new, 0 updated, 0 unchanged)" in err
    counts = table_counts(db_path)
    assert counts["articles"] == 52 and counts["events"] == len(events)
    # the Fed's hold is in the sample's first headline; it must come out linked
    assert any(e["type"] == "rate_hold" and e["ticker"] == "@FED" for e in events)

    code, out, err = run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "--format", "jsonl")
    assert code == 0
    assert out == ""
    assert "52 articles read (0 new, 0 updated, 52 unchanged); 0 events stored" in err
    assert table_counts(db_path) == counts


def test_dry_run_stores_nothing(capsys, db_path: Path) -> None:
    code, out, err = run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "--dry-run", "-f", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and {"ticker", "type", "direction", "evidence"} <= set(rows[0])
    assert not db_path.exists()


def test_extract_csv_carries_the_columns_jsonl_does(capsys, db_path: Path) -> None:
    """csv printed only the table's columns: no event_id or article_id to join the rows back."""
    from signals.api import DISPLAY_COLUMNS

    code, out, err = run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "-f", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    code, out, err = run(capsys, "--db", str(db_path), "extract", "--stored", "--dry-run", "-f", "jsonl")
    assert code == 0, err
    assert list(rows[0]) == list(json.loads(out.splitlines()[0])) == DISPLAY_COLUMNS
    dry_ids = [json.loads(line)["event_id"] for line in out.splitlines()]
    assert sorted(r["event_id"] for r in rows) == sorted(dry_ids)


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Shanghai"])
def test_published_utc_is_printed_in_utc_whatever_the_machine_zone(capsys, db_path: Path, zone: str) -> None:
    """DuckDB hands TIMESTAMPTZ back in the machine's zone: a stored run printed New York or Beijing
    times under the published_utc header (the table drops the offset), unlike a dry run."""
    import os
    import time

    from signals import store

    before = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        printed = {}
        for dry in (True, False):
            code, out, err = run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED),
                                 *(["--dry-run"] if dry else []), "-f", "jsonl")
            assert code == 0, err
            events = [json.loads(line) for line in out.splitlines()]
            printed[dry] = sorted((e["event_id"], e["published_utc"]) for e in events)
        assert printed[True] == printed[False]
        assert all(stamp.endswith("+00:00") for _, stamp in printed[False])
        with store.opened(db_path, read_only=True) as con:
            [(first,)] = con.execute("SELECT min(published_utc) FROM articles").fetchall()
        assert first.utcoffset() == dt.timedelta(0)
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_malformed_feed_fails_cleanly_and_writes_nothing(capsys, db_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.xml"
    bad.write_text("<rss><channel><item><title>美联储降息</title></channel></rss>", encoding="utf-8")
    code, _, err = run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), str(bad))
    assert code == 2
    assert "broken.xml" in err and "Traceback" not in err
    assert table_counts(db_path) == {"articles": 0, "events": 0, "event_instruments": 0}


def test_locked_database_is_a_clear_error(capsys, db_path: Path, hold_lock) -> None:
    run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "--format", "jsonl")
    pid = hold_lock(db_path)
    code, _, err = run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED))
    assert code == 2
    assert f"is in use by process {pid}" in err
    assert "Traceback" not in err
    holder = err.split(f"process {pid} (", 1)[1].split("\n", 1)[0]
    assert holder.endswith("…)") and len(holder) == 81  # the holder's long command line, marked as cut


def test_missing_feed_file_is_a_usage_error(capsys, db_path: Path) -> None:
    code, _, err = run(capsys, "--db", str(db_path), "extract", "no/such/feed.xml")
    assert code == 2
    assert "no/such/feed.xml" in err


def test_backtest_offline_on_sample(capsys, db_path: Path, tmp_path: Path) -> None:
    assert run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "-f", "jsonl")[0] == 0
    code, _, err = run(capsys, "--db", str(db_path), "prices", "load", str(SAMPLE_PRICES))
    assert code == 0, err
    plot = tmp_path / "car.png"
    code, out, err = run(capsys, "--db", str(db_path), "backtest", "--window", "5d", "--offline",
                         "--min-estimation", "60", "--format", "json", "--plot", str(plot))
    assert code == 0, err
    summary = json.loads(out)
    assert summary, "no groups in the event study summary"
    assert sum(row["n"] for row in summary) >= 5
    assert plot.exists() and plot.stat().st_size > 10_000
    assert "another version of signals" not in err  # every event is this extractor's
    con = duckdb.connect(str(db_path))
    try:
        assert con.execute("SELECT count(*) FROM event_returns").fetchone()[0] > 0
        # as if 10 events had been stored by an older signals: the backtest says so
        con.execute("UPDATE events SET extractor_hash = 'older' WHERE id IN "
                    "(SELECT id FROM events ORDER BY id LIMIT 10)")
    finally:
        con.close()
    code, _, err = run(capsys, "--db", str(db_path), "backtest", "--offline", "--min-estimation", "60",
                       "--format", "json", "--no-rank-tests")
    assert code == 0, err
    assert ("note: 10 of the stored events were extracted by another version of signals "
            "(events.extractor_hash); `signals extract --stored` extracts them again with this one") in err
    # the steps after the fetch are named to the caller (the CLI's bar shows them)
    stages: list[str] = []
    api.backtest(db=db_path, offline=True, min_estimation=60, rank_tests=False, plot=str(plot),
                 stage=stages.append)
    assert stages == ["event study", "plotting"]


def test_pairs_stored_without_their_market_get_it_back(capsys, db_path: Path) -> None:
    # what `extract --jobs` stored before the linker's instruments answered .get: no market,
    # benchmark or day 0 for any pair; the next command that settles days 0 repairs them
    assert run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "-f", "jsonl")[0] == 0
    query = ("SELECT event_id, ticker, market, benchmark, day0, day0_reason FROM event_instruments "
             "ORDER BY 1, 2")
    with duckdb.connect(str(db_path)) as con:
        before = con.execute(query).fetchall()
        con.execute("UPDATE event_instruments SET market = NULL, benchmark = NULL, day0 = NULL, "
                    "day0_reason = 'no_market' WHERE ticker <> '@FED'")
        broken = con.execute("SELECT count(*) FROM event_instruments WHERE market IS NULL").fetchone()[0]
    code, _, err = run(capsys, "--db", str(db_path), "prices", "load", str(SAMPLE_PRICES))
    assert code == 0, err
    with duckdb.connect(str(db_path), read_only=True) as con:
        after = con.execute(query).fetchall()
    assert broken > 100 and after == before


def test_repairing_pair_markets_reads_the_instrument_table_without_building_a_linker(
        capsys, db_path: Path) -> None:
    """Policy bodies (@FED) have no market, so every command that settles days 0 looked them up: it
    built the whole linker (~0.25–0.5 s of aliases and matcher) for an instrument table read."""
    from signals import entities

    assert run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "-f", "jsonl")[0] == 0
    with duckdb.connect(str(db_path)) as con:
        con.execute("UPDATE event_instruments SET market = NULL, benchmark = NULL, day0 = NULL, "
                    "day0_reason = 'no_market' WHERE ticker = 'NVDA'")
    entities._cached_linker.cache_clear()
    code, _, err = run(capsys, "--db", str(db_path), "prices", "load", str(SAMPLE_PRICES))
    assert code == 0, err
    assert entities._cached_linker.cache_info().currsize == 0
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT DISTINCT market, benchmark FROM event_instruments WHERE ticker = 'NVDA'"
                           ).fetchall() == [("XNAS", "^GSPC")]


def test_a_publication_time_beyond_what_pandas_holds_is_no_time_not_a_crash(capsys, db_path: Path) -> None:
    # an article stored as published in 2300 (feeds now refuse such dates) made every later command
    # exit 3 with OutOfBoundsDatetime where days 0 are settled
    assert run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "-f", "jsonl")[0] == 0
    with duckdb.connect(str(db_path)) as con:
        [(article,)] = con.execute("SELECT article_id FROM events e JOIN event_instruments ei "
                                   "ON ei.event_id = e.id WHERE ei.ticker = 'NVDA' ORDER BY e.id LIMIT 1"
                                   ).fetchall()
        con.execute("UPDATE articles SET published_utc = TIMESTAMPTZ '2300-01-01 10:00:00+00' WHERE id = ?",
                    [article])
        con.execute("UPDATE event_instruments SET day0 = NULL, day0_reason = NULL")
    code, _, err = run(capsys, "--db", str(db_path), "prices", "load", str(SAMPLE_PRICES))
    assert code == 0, err
    with duckdb.connect(str(db_path), read_only=True) as con:
        reasons = con.execute("SELECT DISTINCT ei.day0 IS NULL, ei.day0_reason FROM event_instruments ei "
                              "JOIN events e ON e.id = ei.event_id WHERE e.article_id = ?", [article]
                              ).fetchall()
        settled = con.execute("SELECT count(*) FROM event_instruments WHERE day0 IS NOT NULL").fetchone()[0]
    assert reasons == [(True, "no_publication_time")] and settled > 100


def test_a_backtest_that_fails_for_want_of_prices_says_the_fetch_failed(
        capsys, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the network is down: yfinance fails every ticker, so no pair can be studied; the error must
    # say why, not only "load prices"
    from signals import prices

    def unreachable(*args, **kwargs):
        raise ConnectionError("Failed to resolve 'query2.finance.yahoo.com'")

    class Offline(prices.YFinanceSource):
        def __init__(self) -> None:
            super().__init__(download=unreachable, sleep=lambda seconds: None)

    monkeypatch.setattr(prices, "YFinanceSource", Offline)
    assert run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "-f", "jsonl")[0] == 0
    code, _, err = run(capsys, "--db", str(db_path), "backtest", "--window", "5d")
    assert code == 2
    assert err.startswith("error: no event-instrument pair could be studied")
    hint = err.split("hint: ", 1)[1]
    assert hint.startswith("prices could not be fetched for ")
    assert "ConnectionError: Failed to resolve" in hint and "check the network" in hint


class _NegativeVolumeSource:
    """A yfinance stand-in: per ticker a good bar on the first day asked, a volume < 0 on the last."""

    name = "yfinance"

    def fetch(self, tickers, start, end):
        import pandas as pd

        from signals import prices

        if start == end:
            return prices.FetchResult(prices.empty_frame(), {})
        frame = pd.DataFrame({"ticker": tickers[0], "date": pd.to_datetime([start, end]), "open": 1.0,
                              "high": 1.0, "low": 1.0, "close": 1.0, "adj_close": 1.0, "volume": [5.0, -1.0]})
        return prices.FetchResult(frame[prices.PRICE_COLUMNS], {})


def test_a_backtest_names_the_fetched_rows_it_dropped(
        capsys, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a bar with a negative volume from the source was stored as it came; now it is dropped, and the
    # backtest says so as `prices fetch` does
    from signals import prices

    monkeypatch.setattr(prices, "YFinanceSource", _NegativeVolumeSource)
    assert run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "-f", "jsonl")[0] == 0
    assert run(capsys, "--db", str(db_path), "prices", "load", str(SAMPLE_PRICES))[0] == 0
    code, _, err = run(capsys, "--db", str(db_path), "backtest", "--window", "5d")
    assert code == 0, err
    dropped = [line for line in err.splitlines() if "rows dropped" in line]
    assert dropped, err
    assert all(line.startswith("warning: yfinance: ") and ": 1 of 2 rows dropped: 1 negative volume (" in line
               for line in dropped), dropped


def test_a_backtest_that_studies_nothing_still_names_the_fetched_rows_it_dropped(
        capsys, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # no price files: each ticker gets two bars from the source, one of them with a volume < 0, so
    # nothing can be studied; the error used to end the run before the dropped rows were named
    from signals import prices

    monkeypatch.setattr(prices, "YFinanceSource", _NegativeVolumeSource)
    assert run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "-f", "jsonl")[0] == 0
    code, _, err = run(capsys, "--db", str(db_path), "backtest", "--window", "5d")
    assert code == 2
    assert err.startswith("error: no event-instrument pair could be studied")
    hint = err.split("hint: ", 1)[1]
    assert "; yfinance: " in hint and ": 1 of 2 rows dropped: 1 negative volume (" in hint, hint


def test_a_backtest_fetches_the_range_its_estimation_and_window_need(
        capsys, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 500 sessions of estimation and 60 after day 0 need more than the 400 / 40 calendar days
    # fetched by default; those fixed ranges were logged as covered and never fetched again
    from signals import prices

    asked: list[tuple] = []

    class Recorder:
        name = "yfinance"

        def fetch(self, tickers, start, end):
            asked.append((start, end))
            return prices.FetchResult(prices.empty_frame(), {})

    monkeypatch.setattr(prices, "YFinanceSource", Recorder)
    assert run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "-f", "jsonl")[0] == 0
    code, _, _ = run(capsys, "--db", str(db_path), "backtest", "--window", "-1:+60", "--estimation",
                     "-500:-11", "--min-estimation", "400")
    assert code == 2  # nothing comes back from the recorder: no pair can be studied
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        first, last = con.execute("SELECT min(published_utc)::DATE, max(published_utc)::DATE FROM articles "
                                  "WHERE id IN (SELECT article_id FROM events)").fetchone()
    finally:
        con.close()
    assert {start for start, _ in asked} == {first - dt.timedelta(days=api.study_span_days(
        (-1, 60), (-500, -11), 7)[0])}
    assert asked[0][0] <= first - dt.timedelta(days=500 * 7 // 5)  # 500 sessions: 700+ calendar days
    assert asked[0][1] >= last + dt.timedelta(days=60 * 7 // 5)
    # the default study: 251 sessions x 1.6 + 10 days before, the 40-day floor after
    assert api.study_span_days((0, 4), (-250, -11), 7) == (412, 40)


def test_a_backtest_needs_an_existing_database_and_says_what_offline_left_out(
        capsys, db_path: Path, tmp_path: Path) -> None:
    missing = tmp_path / "none.duckdb"
    code, _, err = run(capsys, "--db", str(missing), "backtest")
    assert code == 2 and err.startswith(f"error: database {missing} does not exist")
    assert "run `signals extract FEED` first" in err and not missing.exists()
    assert run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "-f", "jsonl")[0] == 0
    code, _, err = run(capsys, "--db", str(db_path), "backtest", "--offline")
    assert code == 2 and "no_prices" in err
    assert err.split("hint: ", 1)[1].strip() == (
        "load prices for the tickers: `signals prices fetch`, or `signals prices load FILE`; "
        "--offline fetched nothing: run without it to fetch from Yahoo")


def test_rules_lint_and_test_pass_on_bundled_rulebook(capsys) -> None:
    code, out, err = run(capsys, "rules", "lint")
    assert code == 0, out + err
    code, out, err = run(capsys, "rules", "test")
    assert code == 0, out + err
    assert " 0 failed" in err


def test_an_empty_rules_directory_is_refused_everywhere_and_deletes_nothing(
        capsys, db_path: Path, tmp_path: Path) -> None:
    empty = tmp_path / "emptyrules"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a rule file", encoding="utf-8")
    code, _, err = run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "-f", "jsonl")
    assert code == 0, err
    stored = table_counts(db_path)
    assert stored["events"] > 0
    gold = ROOT / "data" / "gold" / "sample.jsonl"
    for args in (["rules", "lint"], ["rules", "test"], ["rules", "list", "-f", "csv"], ["eval", str(gold)],
                 ["--db", str(db_path), "extract", "--stored"]):
        code, out, err = run(capsys, *args, "--rules", str(empty))
        assert code == 2, (args, out, err)
        assert err.startswith(f"error: {empty}: no rule files (*.yaml, *.yml) in this directory\n"), err
        assert out == ""
    assert table_counts(db_path) == stored  # extract --stored used to replace every event with none


def test_bad_rule_fields_are_lint_messages_and_a_load_error(capsys, db_path: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    text = (ROOT / "rules" / "market.yaml").read_text(encoding="utf-8")
    subject = "    subject: {from: nearest, each: true, scope: sentence, after: false}\n"
    assert text.index(subject) < text.index("examples:")  # the first rule's, market.price_surge
    line = text[:text.index(subject)].count("\n") + 1  # where the two bad lines will be
    text = text.replace(subject,
                        "    subject: {from: fixed, name: x, ticker: [a]}\n"
                        "    direction: {group: v, map: {大涨: 1}, default: abc}\n", 1)
    (rules / "market.yaml").write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "rules", "lint", "--rules", str(rules))
    assert code == 1
    where = f"{rules}/market.yaml"
    assert out.splitlines() == [
        f"{where}:{line}:45: [market.price_surge] `subject.ticker` must be a non-empty string, not ['a']",
        f"{where}:{line + 1}:24: [market.price_surge] `direction.group` 'v' is not a named group of any "
        "pattern (named groups: none: the patterns have no (?P<name>...) group)",
        f"{where}:{line + 1}:50: [market.price_surge] `direction.default` must be -1, 0 or 1, not 'abc'"]
    code, out, err = run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "--rules", str(rules))
    assert code == 2 and out == ""
    assert err.startswith(f"error: {where}:{line}:45: [market.price_surge] `subject.ticker` must be"), err
    assert not db_path.exists()


def test_regex_timeouts_are_printed_once_by_extract_stats_and_eval(
        capsys, db_path: Path, tmp_path: Path, slow_rules_and_feed: tuple[Path, Path]) -> None:
    rules, feed = slow_rules_and_feed
    gold = tmp_path / "gold.jsonl"
    text = f"t\n\n贵州茅台{'这' * 60}大涨5%。"
    gold.write_text("".join(json.dumps({"id": f"a{i}", "title": "t", "text": text, "events": []},
                                       ensure_ascii=False) + "\n" for i in range(3)), encoding="utf-8")
    warning = ("warning: rule market.slow: pattern '(?:[^。]|[^。]{2})+(?P<trigger>大涨)\\\\d{7}' "
               "timed out in article ")
    for args in (["--db", str(db_path), "extract", str(feed)], ["rules", "stats", str(feed)],
                 ["eval", str(gold)]):
        code, _, err = run(capsys, *args, "--rules", str(rules))
        assert code == 0, err
        assert [line for line in err.splitlines() if line.startswith("warning:")] == [
            line for line in err.splitlines() if line.startswith(warning)], err
        assert err.count(warning) == 1, (args, err)  # 12 (or 3) articles time out: said once


def test_bad_backtest_parameters_are_reported_before_any_price_is_fetched(
        capsys, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from signals import prices

    class NoFetching(prices.YFinanceSource):
        def __init__(self) -> None:
            raise AssertionError("prices fetched before the parameters were checked")

    assert run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "-f", "jsonl")[0] == 0
    monkeypatch.setattr(prices, "YFinanceSource", NoFetching)
    for args, message, hint in [
            (("--window", "bad"), "cannot read window 'bad'", 'write "5d"'),
            (("--estimation", "-20:-1", "--window", "-3:+1"), "must end before the event window",
             # 20 days < the default min_estimation 100: -32:-13 alone failed the next check
             "move it earlier, e.g. estimation (-32, -13): `--estimation -32:-13 --min-estimation 20`"),
            (("--estimation", "-100:-20"), "min_estimation=100 exceeds the estimation window length 81",
             "widen the estimation window or ask for at most 81 days: `--min-estimation 81`"),
            (("--estimation", "-250:0", "--window", "1:5"),
             "estimation window (-250, 0) must end before day 0",
             "the event's own return would enter alpha, beta and sigma")]:
        code, _, err = run(capsys, "--db", str(db_path), "backtest", *args)
        assert code == 2 and err.startswith("error: ") and message in err, err
        assert "prices could not be fetched" not in err
        if hint:
            assert f"hint: {hint}" in err
    # a day-0 shift of 10**17 days overflowed the fetch's date arithmetic: `unexpected OverflowError`, exit 3
    code, _, err = run(capsys, "--db", str(db_path), "backtest", "--max-day0-shift", "99999999999999999")
    assert code == 2 and err.startswith("error: Invalid value for '--max-day0-shift': 99999999999999999 is "
                                        "not in the range 0<=x<=3650."), err
    with pytest.raises(StudyError, match=r"max_day0_shift=100000000000000000 is outside 0\.\.3650"):
        api.backtest(db=db_path, max_day0_shift=10**17)  # the library checks it too, before fetching


def test_findings_exit_1(capsys, tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """lint problems, failing rule examples and tickers without prices exit 1 (click hands a
    command's Exit(1) back as a return value when not standalone: it used to end as 0)."""
    import shutil

    from signals import prices

    broken = tmp_path / "broken"
    shutil.copytree(ROOT / "rules", broken)
    with (broken / "market.yaml").open("a", encoding="utf-8") as f:
        f.write("rules:\n  - id: bad\n")
    code, out, _ = run(capsys, "rules", "lint", "--rules", str(broken))
    assert code == 1 and "duplicate key 'rules'" in out

    failing = tmp_path / "failing"
    shutil.copytree(ROOT / "rules", failing)
    market = failing / "market.yaml"
    text = market.read_text(encoding="utf-8")
    wrong = text.replace("events: [{subject: 特斯拉, magnitude: 5, unit: pct}]",
                         "events: [{subject: 特斯拉, magnitude: 6, unit: pct}]", 1)
    assert wrong != text
    market.write_text(wrong, encoding="utf-8")
    code, _, err = run(capsys, "rules", "test", "--rules", str(failing))
    assert code == 1 and " 1 failed" in err

    class Unreachable(prices.YFinanceSource):
        def __init__(self) -> None:
            super().__init__(download=lambda *a, **k: None, probe=lambda: "not fetched: no network here")

    monkeypatch.setattr(prices, "YFinanceSource", Unreachable)
    code, _, err = run(capsys, "--db", str(db_path), "prices", "fetch", "NVDA", "--start", "2026-01-05",
                       "--end", "2026-01-09")
    assert code == 1 and "no prices for NVDA: 2026-01-05..2026-01-09: not fetched: no network here" in err
    # --offline reports what is missing: a finding too; nothing missing is 0
    code, _, err = run(capsys, "--db", str(db_path), "prices", "fetch", "NVDA", "--start", "2026-01-05",
                       "--end", "2026-01-09", "--offline")
    assert code == 1 and "NVDA 2026-01-05..2026-01-09" in err
    assert run(capsys, "--db", str(db_path), "prices", "load", str(SAMPLE_PRICES))[0] == 0
    code, _, err = run(capsys, "--db", str(db_path), "prices", "fetch", "NVDA", "--start", "2026-01-05",
                       "--end", "2026-01-09", "--offline")
    assert code == 0 and "1 ticker cached" in err, err
    code, out, _ = run(capsys, "--db", str(db_path), "prices", "status", "-f", "jsonl")
    nvda = next(json.loads(line) for line in out.splitlines() if '"NVDA"' in line)
    assert (nvda["first"], nvda["last"]) == ("2025-01-22", "2026-06-25")  # dates, not timestamps


def test_prices_fetch_offline_names_the_missing_ranges_once(capsys, db_path: Path) -> None:
    # the warning listed every missing ticker and range, and the summary line after it again
    assert run(capsys, "--db", str(db_path), "prices", "load", str(SAMPLE_PRICES))[0] == 0
    code, out, err = run(capsys, "--db", str(db_path), "prices", "fetch", "NVDA", "ZZZZ", "QQQQ", "--start",
                         "2026-01-05", "--end", "2026-01-09", "--offline")
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "warning: offline: prices missing for 2 tickers (2 date ranges): QQQQ 2026-01-05..2026-01-09; "
        "ZZZZ 2026-01-05..2026-01-09",
        "offline: 1 ticker cached, 2 with missing ranges (not fetched)"]


def test_prices_fetch_refuses_a_ticker_that_is_no_yahoo_symbol(capsys, tmp_path: Path) -> None:
    # `prices fetch ../x` was taken for a ticker (and the database created to fetch it)
    db = tmp_path / "s.duckdb"
    for argv in (["../x"], ["NVDA", "a/b/c", "--offline"]):
        code, out, err = run(capsys, "--db", str(db), "prices", "fetch", *argv)
        bad = argv[-1] if argv[-1] != "--offline" else argv[1]
        assert code == 2 and out == ""
        assert err.splitlines() == [
            f"error: cannot fetch prices for {bad!r}: not a Yahoo symbol",
            "hint: use Yahoo symbols: letters and digits, with '.', '-', '=' or '&' between them and '^' "
            "before an index (NVDA, 0700.HK, 600519.SS, BRK-B, CL=F, ^GSPC)"]
    assert not db.exists()


EUR_RULE = """\
family: fx
description: a rule whose fixed subject is no Yahoo symbol
rules:
  - id: fx.euro
    version: 1
    title: euro
    status: test
    type: fx_intervention
    confidence: 0.7
    triggers: [欧元]
    patterns:
      - '(?P<trigger>欧元)'
    direction: 0
    subject: {from: fixed, ticker: EUR/USD, name: 欧元}
    examples:
      match:
        - text: 欧元走强。
          events: [{ticker: EUR/USD}]
      no_match:
        - 美元走强。
"""


def test_a_stored_ticker_that_is_no_yahoo_symbol_stops_no_fetch_or_backtest(
        capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A rule's fixed subject `EUR/USD` is stored with its events: `prices fetch` (all stored tickers),
    # `prices fetch --offline` and every backtest failed with `cannot fetch prices for 'EUR/USD': not a
    # Yahoo symbol`, exit 2, for the sake of one ticker nobody typed
    from signals import prices

    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    (rules / "fx.yaml").write_text(EUR_RULE, encoding="utf-8")
    asked: list[str] = []

    class Recorder:
        name = "yfinance"

        def fetch(self, tickers, start, end):
            asked.extend(tickers)
            return prices.FetchResult(prices.empty_frame(), {})

    monkeypatch.setattr(prices, "YFinanceSource", Recorder)
    db = tmp_path / "s.duckdb"
    assert run(capsys, "--db", str(db), "extract", str(SAMPLE_FEED), "--rules", str(rules), "-j", "1",
               "-f", "jsonl")[0] == 0
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM event_instruments WHERE ticker = 'EUR/USD'").fetchone()[0]
    assert run(capsys, "--db", str(db), "prices", "load", str(SAMPLE_PRICES))[0] == 0
    code, _, err = run(capsys, "--db", str(db), "prices", "fetch", "--offline")
    assert code == 1 and "error:" not in err and "tickers cached" in err, err  # missing, like others
    code, _, err = run(capsys, "--db", str(db), "prices", "fetch")
    assert code == 1 and "error:" not in err, err
    assert "no prices for EUR/USD: " in err and ": not a Yahoo symbol, not asked" in err
    assert asked and "EUR/USD" not in asked and "NVDA" in asked
    code, _, err = run(capsys, "--db", str(db), "backtest")
    assert code == 0 and "pairs studied" in err, err


def test_entities_lookup(capsys) -> None:
    code, out, _ = run(capsys, "entities", "lookup", "茅台", "-f", "json")
    assert code == 0
    assert json.loads(out)[0]["ticker"] == "600519.SS"


def test_entities_lookup_of_an_unknown_name_says_so_and_exits_1(capsys) -> None:
    code, out, err = run(capsys, "entities", "lookup", "贵州茅台股份有限公司", "-f", "csv")
    assert code == 1
    assert out == "ticker,name,kind,market,currency,benchmark,alt_tickers\n"  # same columns as a hit
    assert ("no instrument is named '贵州茅台股份有限公司'; in text it reads as 贵州茅台 -> 600519.SS "
            "(`signals entities find`)") in err
    code, out, err = run(capsys, "entities", "lookup", "xyzzy", "-f", "jsonl")
    assert (code, out) == (1, "") and err.strip() == "no instrument is named 'xyzzy'"
    code, _, err = run(capsys, "entities", "lookup", "600519.SZ")  # a suffix the code does not trade on
    assert code == 1 and "in text it reads as 600519.SZ -> 600519.SS" in err


def test_entities_find_reads_utf8_stdin_and_refuses_other_bytes(capsys, monkeypatch) -> None:
    class Stdin:
        def __init__(self, data: bytes) -> None:
            self.buffer = io.BytesIO(data)

    monkeypatch.setattr(sys, "stdin", Stdin("\ufeff英伟达大涨".encode()))
    code, out, _ = run(capsys, "entities", "find", "-", "-f", "csv")
    assert code == 0 and out.splitlines()[1].startswith("0,3,英伟达,")  # the BOM is not text
    monkeypatch.setattr(sys, "stdin", Stdin(b"\xff\xfe\x00bad"))
    code, _, err = run(capsys, "entities", "find", "-")
    assert code == 2 and "error: stdin is not UTF-8 text (byte 0: b'\\xff')" in err and "Traceback" not in err
    code, out, _ = run(capsys, "entities", "find", "no names here", "-f", "csv")
    assert code == 0 and out.startswith("start,end,text,confidence,role_hint,ticker,")  # header, no rows


def test_help_does_not_import_the_heavy_libraries() -> None:
    # `signals --help` must stay instant: pandas, duckdb, yfinance, calendars and plotting load lazily
    code = ("import sys, signals.cli; heavy = {'pandas', 'duckdb', 'yfinance', 'exchange_calendars', "
            "'matplotlib', 'feedparser'} & set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_an_empty_result_in_csv_keeps_its_header(capsys, db_path: Path) -> None:
    assert run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "-f", "jsonl")[0] == 0
    code, out, _ = run(capsys, "--db", str(db_path), "prices", "status", "-f", "csv")
    assert code == 0 and out == "ticker,first,last,rows,source\n"  # no prices yet: a header, no rows


def test_output_and_plot_files_are_checked_before_the_work(capsys, db_path: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    code, _, err = run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "-o",
                       str(missing / "x.csv"))
    assert code == 2 and f"directory '{missing}' does not exist" in err
    assert not db_path.exists()  # refused before the database was even opened
    assert run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "-f", "jsonl")[0] == 0
    for args, message in [(("--plot", str(tmp_path / "car.txt")), "give a file ending in .png, .svg, .pdf"),
                          (("--plot", str(missing / "car.png")), "does not exist"),
                          (("-o", str(missing / "summary.csv")), "does not exist")]:
        code, _, err = run(capsys, "--db", str(db_path), "backtest", "--offline", *args)
        assert code == 2 and message in err and "unexpected" not in err, err
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM study_runs").fetchone()[0] == 0  # no study ran


def test_a_tilde_in_output_and_plot_paths_is_the_home_directory(capsys, db_path: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # the options checked ~/ expanded but wrote to a literal "~" directory: exit 3 after the study
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    assert run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "-f", "jsonl")[0] == 0
    assert run(capsys, "--db", str(db_path), "prices", "load", str(SAMPLE_PRICES))[0] == 0
    code, _, err = run(capsys, "--db", str(db_path), "backtest", "--offline", "--no-rank-tests",
                       "--min-estimation", "60", "-f", "csv", "-o", "~/summary.csv", "--plot", "~/car.png")
    assert code == 0, err
    assert (home / "summary.csv").read_text().startswith("type,") and (home / "car.png").stat().st_size > 0


def test_a_plot_that_cannot_be_written_is_a_clean_error_naming_the_stored_run(
        capsys, db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from signals import study

    def denied(result, path):
        raise PermissionError(13, "Permission denied", str(path))

    assert run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "-f", "jsonl")[0] == 0
    assert run(capsys, "--db", str(db_path), "prices", "load", str(SAMPLE_PRICES))[0] == 0
    monkeypatch.setattr(study, "plot_caar", denied)
    code, _, err = run(capsys, "--db", str(db_path), "backtest", "--offline", "--no-rank-tests",
                       "--min-estimation", "60", "-f", "csv", "--plot", str(tmp_path / "car.png"))
    with duckdb.connect(str(db_path), read_only=True) as con:
        [(run_id,)] = con.execute("SELECT run_id FROM study_runs").fetchall()
    assert code == 2 and "unexpected" not in err
    assert f"error: cannot write the plot {tmp_path / 'car.png'}: Permission denied" in err
    assert f"the study is stored as run {run_id}" in err


def test_output_never_overwrites_the_database_or_an_input(capsys, db_path: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # -o naming the --db file replaced the whole database with json lines, exit 0
    assert run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "-f", "jsonl")[0] == 0
    before = db_path.read_bytes()
    monkeypatch.chdir(db_path.parent)
    code, _, err = run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "-o", f"./{db_path.name}")
    assert code == 2 and "is the database (--db): writing rows there would destroy it" in err
    feed = tmp_path / "in.xml"
    feed.write_bytes(SAMPLE_FEED.read_bytes())
    gold = ROOT / "data" / "gold" / "sample.jsonl"
    for args in (("--db", str(db_path), "extract", str(feed), "--dry-run", "-o", str(feed)),
                 ("rules", "stats", str(feed), "-o", str(feed)), ("eval", str(gold), "-o", str(gold))):
        code, _, err = run(capsys, *args)
        assert code == 2 and "is an input file: writing there would destroy it" in err, args
    assert feed.read_bytes() == SAMPLE_FEED.read_bytes() and db_path.read_bytes() == before
    code, _, err = run(capsys, "eval", str(gold), "-o", str(tmp_path / "missing" / "x"))
    assert code == 2 and "does not exist" in err  # checked before the scoring, like every -o


def test_an_output_file_that_cannot_be_opened_is_a_clean_error(tmp_path: Path) -> None:
    from signals.cli.options import output_stream
    from signals.errors import SignalsError

    not_a_dir = tmp_path / "file.txt"
    not_a_dir.write_text("x")
    with pytest.raises(SignalsError, match=r"cannot write .*file\.txt/out\.csv"), \
            output_stream(str(not_a_dir / "out.csv")):
        pass


def test_loading_prices_from_a_directory_without_price_files_is_an_error(capsys, db_path: Path,
                                                                         tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not prices")
    code, _, err = run(capsys, "--db", str(db_path), "prices", "load", str(tmp_path))
    assert code == 2 and f"error: {tmp_path}: no .csv or .parquet files in this directory" in err


def test_an_interrupt_exits_130_and_says_what_stays(capsys, db_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from signals import api

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "extract_feeds", stopped)
    code, _, err = run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED))
    assert code == 130
    assert "work already committed (extract's finished batches) stays" in err  # not "unchanged"
    # one line: click wrote an empty line before it (for a terminal's `^C`, which a pipe never has)
    assert err.splitlines() == [
        "interrupted: the open transaction was rolled back; work already committed (extract's finished "
        "batches) stays, and running the command again finishes it"]


@pytest.mark.parametrize("where", ["command", "argument parsing"])
def test_the_group_called_standalone_ends_a_ctrl_c_as_click_does(where: str, capsys, db_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # The group carries a Ctrl-C past click only for main (standalone_mode=False). Called standalone
    # (`cli()`, click's CliRunner) it let the KeyboardInterrupt out, a traceback instead of click's
    # `Aborted!` and exit 1, and a CliRunner's caller was interrupted with it
    from signals.cli import cli

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    if where == "command":
        monkeypatch.setattr(api, "extract_feeds", stopped)
    else:
        monkeypatch.setattr(cli.params[0], "callback", stopped)  # --db
    ended = None
    try:
        cli.main(["--db", str(db_path), "extract", str(SAMPLE_FEED)], prog_name="signals")
    except BaseException as exc:  # a KeyboardInterrupt here must fail the test, not end the test run
        ended = exc
    assert isinstance(ended, SystemExit) and ended.code == 1, repr(ended)
    assert capsys.readouterr().err.splitlines()[-1] == "Aborted!"
    # main still carries it to its own message, once
    code, _, err = run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED))
    assert code == 130 and len(err.splitlines()) == 1 and err.startswith("interrupted: ")



def test_the_group_outside_main_lets_a_ctrl_c_out_as_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    # scripts/gen_docs.py builds contexts with cli.make_context: a Ctrl-C there came out as the
    # group's private _Stopped, a BaseException no caller knows, not as a KeyboardInterrupt
    from signals.cli import cli

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.params[0], "callback", stopped)  # --db
    ended = None
    try:
        cli.make_context("signals", ["--db", "x.duckdb", "rules", "list"])
    except BaseException as exc:  # whatever it is must fail the test, not end the test run
        ended = exc
    assert type(ended) is KeyboardInterrupt, repr(ended)

def test_ctrl_c_inside_a_duckdb_query_is_an_interrupt_too(capsys, db_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # DuckDB raises RuntimeError('Query interrupted') for a SIGINT during a query: it ended as
    # 'unexpected RuntimeError', exit 3
    from signals import api

    assert run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "-f", "jsonl")[0] == 0

    def interrupted_query(*args, **kwargs):
        raise RuntimeError("Query interrupted")

    monkeypatch.setattr(api, "backtest", interrupted_query)
    code, _, err = run(capsys, "--db", str(db_path), "backtest", "--offline")
    assert code == 130 and err.startswith("interrupted: ") and "unexpected" not in err
    monkeypatch.setattr(api, "_finish_stored", interrupted_query)  # Ctrl-C while the events print
    db2 = db_path.parent / "second.duckdb"
    code, _, err = run(capsys, "--db", str(db2), "extract", str(SAMPLE_FEED), "-f", "jsonl")
    assert code == 130
    assert "all 52 articles read were stored with their events; printing the events was cut short" in err


def test_an_interrupt_after_committed_batches_prints_their_events(capsys, db_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # a re-run skips stored articles, so the events of the batches committed before Ctrl-C were
    # never printed, and their days 0 waited for another command
    from signals import api, parallel

    monkeypatch.setattr(api, "BATCH_ARTICLES", 20)  # the sample's 52 articles: 3 batches
    real_submit, calls = parallel.BatchExtractor.submit, []

    def submit(self, articles):
        calls.append(len(articles))
        if len(calls) == 3:  # batches 1 and 2 are written before the third is extracted
            raise KeyboardInterrupt
        return real_submit(self, articles)

    monkeypatch.setattr(parallel.BatchExtractor, "submit", submit)
    code, out, err = run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "-f", "jsonl", "-j", "1")
    assert code == 130
    assert ("interrupted: the open transaction was rolled back; 20 new or edited articles were stored "
            "with their events (printed above); run the same command again to continue") in err
    with duckdb.connect(str(db_path), read_only=True) as con:
        stored = con.execute("SELECT count(*) FROM events").fetchone()[0]
        unset = con.execute("SELECT count(*) FROM event_instruments WHERE day0_reason IS NULL").fetchone()[0]
    assert len(out.splitlines()) == stored > 0 and unset == 0


def test_rules_takes_one_rule_file_as_the_environment_does(capsys, db_path: Path) -> None:
    """--rules refused a .yaml file ('is a file') that SIGNALS_RULES_DIR and the hints accept."""
    one = ROOT / "rules" / "monetary.yaml"
    code, out, err = run(capsys, "--db", str(db_path), "extract", str(SAMPLE_FEED), "--dry-run",
                         "--rules", str(one), "-f", "jsonl")
    assert code == 0, err
    assert {json.loads(line)["rule_id"].split(".")[0] for line in out.splitlines()} == {"monetary"}
    assert run(capsys, "rules", "lint", "--rules", str(one))[0] == 0


def test_an_empty_db_path_is_a_usage_error(capsys) -> None:
    """--db "" opened the working directory: 'cannot open .: Is a directory'."""
    code, _, err = run(capsys, "--db", "", "prices", "status")
    assert code == 2 and "Invalid value for '--db': is empty: give the path of a DuckDB file" in err



def test_a_price_file_named_twice_through_a_hard_link_is_read_once(capsys, tmp_path: Path,
                                                                   db_path: Path) -> None:
    # 5336743 read a file named twice once when the names resolve to one path (a symlink), but a hard
    # link (another path, the same file) was read twice: `AAPL is in both …/AAPL.csv and …/hard.csv;
    # …/hard.csv wins on 358 shared dates`, `loaded from 2 files`; a directory holding both names too
    folder = tmp_path / "prices"
    folder.mkdir()
    (folder / "AAPL.csv").write_bytes((SAMPLE_PRICES / "AAPL.csv").read_bytes())
    try:
        os.link(folder / "AAPL.csv", folder / "hard.csv")
    except OSError as err:
        pytest.skip(f"no hard links here: {err}")
    for args in ([str(folder / "AAPL.csv"), str(folder / "hard.csv")], [str(folder)]):
        code, _, err = run(capsys, "--db", str(db_path), "prices", "load", *args)
        assert code == 0 and err.splitlines() == ["358 price rows for 1 ticker loaded from 1 file"], args


def test_a_price_file_named_twice_is_read_once(capsys, tmp_path: Path, db_path: Path) -> None:
    # `prices load AAPL.csv prices/` read AAPL.csv twice and warned that it won over itself on its
    # 358 dates; the summary counted 2 files. The last naming keeps its place: a later file still wins
    prices = SAMPLE_PRICES
    link = tmp_path / "aapl.csv"
    link.symlink_to(prices / "AAPL.csv")
    code, _, err = run(capsys, "--db", str(db_path), "prices", "load", str(prices / "AAPL.csv"), str(link),
                       str(prices / "AAPL.csv"))
    assert code == 0 and err.splitlines() == ["358 price rows for 1 ticker loaded from 1 file"]
    other = tmp_path / "aapl_close.csv"
    other.write_text("ticker,date,close\nAAPL,2025-01-22,1.5\n", encoding="utf-8")
    code, _, err = run(capsys, "--db", str(db_path), "prices", "load", str(prices / "AAPL.csv"), str(other),
                       str(link))
    aapl = SAMPLE_PRICES / "AAPL.csv"  # read last (as the link), so it wins
    assert code == 0
    wins = f"{aapl} wins on 1 shared date (2025-01-22)"
    assert err.splitlines()[0] == f"warning: AAPL is in both {other} and {aapl}; {wins}"
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT close FROM prices WHERE ticker = 'AAPL' AND date = '2025-01-22'"
                           ).fetchone()[0] != 1.5
