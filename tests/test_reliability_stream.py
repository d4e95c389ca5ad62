"""`signals extract` streams the events it prints: memory stays flat as the input grows, and the
streamed output is byte for byte what rendering every event at once gives."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd
import pytest

from signals import api, output
from signals.cli import main
from signals.cli.extract import EVENT_COLUMNS, event_columns

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_FEED = ROOT / "data" / "sample" / "wallstreetcn-2026-01-29.xml"
FORMATS = ["table", "json", "jsonl", "csv"]


@pytest.fixture(scope="module")
def dense_items() -> list[tuple[str, str]]:
    """(title, body) per sample article that has events, the body cut down to its evidence sentences:
    ~5 events per ~170 characters, so large event counts are quick to extract."""
    events = api.extract_feeds([str(SAMPLE_FEED)], dry_run=True, jobs=1).events
    return [(title, "\n\n".join(dict.fromkeys(group["evidence"])))
            for (_, title), group in events.groupby(["article_id", "title"], sort=False)]


def write_dense_feeds(directory: Path, items: list[tuple[str, str]], n: int, per_file: int = 500) -> Path:
    """``n`` articles in RSS files of ``per_file`` items (each file is read whole, one at a time)."""
    directory.mkdir()
    for start in range(0, n, per_file):
        lines = ['<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>dense</title>']
        for i in range(start, min(n, start + per_file)):
            title, body = items[i % len(items)]
            lines.append(f"<item><title>{escape(title)}</title><guid>dense-{i}</guid>"
                         f"<pubDate>Thu, 29 Jan 2026 08:{i % 60:02d}:00 +0800</pubDate>"
                         f"<description>{escape(body)}</description></item>")
        lines.append("</channel></rss>")
        (directory / f"{start:07d}.xml").write_text("\n".join(lines), encoding="utf-8")
    return directory


def rendered(rows: pd.DataFrame, fmt: str) -> str:
    """What `extract` printed before streaming: every event rendered at once."""
    out = io.StringIO()
    columns = event_columns(fmt)
    output.render(rows, fmt, stream=out, columns=columns, title="events")
    return out.getvalue()


def streamed(chunks: list[pd.DataFrame], fmt: str) -> str:
    out = io.StringIO()
    columns = event_columns(fmt)
    writer = output.RowWriter(fmt, stream=out, columns=columns, title="events", table_rows=None)
    for chunk in chunks:
        writer.write(chunk)
    assert writer.close() == 0
    return out.getvalue()


# --------------------------------------------------------------------------- byte-identical output


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "stored"])
def test_streamed_chunks_render_byte_for_byte_like_all_events_at_once(
        dense_items, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dry_run: bool) -> None:
    monkeypatch.setattr(api, "BATCH_ARTICLES", 97)  # dry run: one chunk per batch, many of them
    monkeypatch.setattr(api, "EVENT_CHUNK_VECTORS", 1)  # stored: chunks of 2,048 rows
    feeds = write_dense_feeds(tmp_path / "feeds", dense_items, 600)
    chunks: list[pd.DataFrame] = []
    result = api.extract_feeds([str(feeds)], db=tmp_path / "s.duckdb", dry_run=dry_run, jobs=1,
                               on_events=chunks.append)
    assert result.event_count == sum(len(c) for c in chunks) > 2048  # more than one DuckDB chunk
    assert len(chunks) == (7 if dry_run else 2)
    assert all(len(c) <= api.EVENT_CHUNK_VECTORS * 2048 for c in chunks)
    with pytest.raises(ValueError, match="streamed"):
        result.events  # noqa: B018 - a streamed run keeps no events
    everything = pd.concat(chunks, ignore_index=True)
    for fmt in FORMATS:
        assert streamed(chunks, fmt) == rendered(everything, fmt), fmt


@pytest.mark.parametrize("fmt", FORMATS)
def test_extract_prints_what_rendering_every_stored_event_gives(capsys, tmp_path: Path, fmt: str) -> None:
    kept = api.extract_feeds([str(SAMPLE_FEED)], db=tmp_path / "kept.duckdb", jobs=1)
    assert kept.event_count == len(kept.events) > 100
    out_file = tmp_path / f"events.{fmt}"
    code = main(["--db", str(tmp_path / "cli.duckdb"), "extract", str(SAMPLE_FEED), "-j", "1",
                 "-f", fmt, "-o", str(out_file)])
    assert code == 0, capsys.readouterr().err
    assert out_file.read_text(encoding="utf-8") == rendered(kept.events, fmt)


def test_empty_results_render_like_before(tmp_path: Path) -> None:
    for fmt in FORMATS:
        assert streamed([], fmt) == rendered(pd.DataFrame(columns=EVENT_COLUMNS), fmt), fmt


def test_rows_of_any_shape_stream_like_render() -> None:
    import datetime as dt

    rows = [{"a": 1, "b": [1, 2, {"c": None}], "t": dt.datetime(2026, 1, 29, 8, tzinfo=dt.UTC)},
            {"a": float("nan"), "b": [], "t": None, "d": {"x": "中文\n行"}},
            {"a": 2.5, "b": {}, "t": dt.date(2026, 1, 30)}]
    for fmt in FORMATS:
        for columns in (None, ["t", "a"]):
            whole, parts = io.StringIO(), io.StringIO()
            output.render(rows, fmt, stream=whole, columns=columns)
            writer = output.RowWriter(fmt, stream=parts, columns=columns, table_rows=None)
            writer.write(rows[:1])
            writer.write([])
            writer.write(rows[1:])
            writer.close()
            assert parts.getvalue() == whole.getvalue(), (fmt, columns)


def test_a_long_table_shows_its_first_rows_and_says_how_to_get_the_rest(
        capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output, "TABLE_ROWS", 25)
    kept = api.extract_feeds([str(SAMPLE_FEED)], db=tmp_path / "kept.duckdb", jobs=1).events
    code = main(["--db", str(tmp_path / "s.duckdb"), "extract", str(SAMPLE_FEED), "-j", "1", "-f", "table"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out == rendered(kept.head(25), "table")
    assert (f"the table shows the first 25 of {len(kept):,} events; for all of them use --format jsonl "
            "or csv, or query the events table") in err


def test_a_run_that_fails_before_any_event_leaves_no_output_file(capsys, tmp_path: Path) -> None:
    bad = ROOT / "tests" / "fixtures" / "feeds" / "truncated.xml"
    out_file = tmp_path / "events.jsonl"
    code = main(["--db", str(tmp_path / "s.duckdb"), "extract", str(SAMPLE_FEED), str(bad), "-j", "1",
                 "-o", str(out_file)])
    assert code == 2
    assert not out_file.exists()


# ------------------------------------------------------------------------------------ flat memory

# The CLI in a child process. A dry run is measured by its whole peak RSS (VmHWM, not ru_maxrss:
# Linux carries the parent's high-water mark into children). A stored run is measured while it reads
# its events back after the last commit, by what Python allocates (tracemalloc, which numpy and
# pandas report to): DuckDB's sort of the events, which may hold them all or spill as its
# memory_limit says, is the store's business. RSS above the commit mixed the two and varied by
# +/-10 MB between machines.
MEASURE = textwrap.dedent("""
    import sys, tracemalloc
    from signals import api
    from signals.cli import main

    api.BATCH_ARTICLES = 250  # a dry run's chunk is a batch: both runs must span several
    api.EVENT_CHUNK_VECTORS = int(sys.argv[2])  # 1: 2,048 rows a chunk, the smallest DuckDB hands out
    read_back = api._stored_events

    def traced(*args):  # a stored run reads its events back after its last commit
        tracemalloc.start()
        try:
            return read_back(*args)
        finally:
            traced.peak_kb = tracemalloc.get_traced_memory()[1] // 1024
            tracemalloc.stop()

    api._stored_events = traced
    code = main(sys.argv[3:])
    if sys.argv[1] == "stored":
        peak_kb = traced.peak_kb
    else:
        status = open("/proc/self/status").read()
        peak_kb = int(status.split("VmHWM:")[1].split()[0])
    print(code, peak_kb // 1024)
""")


def peak_mb(feeds: Path, db: Path, *, dry_run: bool, chunk_vectors: int = 1) -> int:
    """Peak memory in MB of `signals extract --format jsonl`: the RSS of the whole run for a dry
    run, what Python allocated reading the events back for a stored run."""
    args = ["--db", str(db), "extract", str(feeds), "-j", "1", "-f", "jsonl", "-o", os.devnull]
    args += ["--dry-run"] if dry_run else []
    mode = "dry-run" if dry_run else "stored"
    out = subprocess.run([sys.executable, "-c", MEASURE, mode, str(chunk_vectors), *args], check=True,
                         capture_output=True, text=True)
    code, peak = out.stdout.split()[-2:]
    assert code == "0", out.stderr
    return int(peak)


@pytest.mark.parametrize(("dry_run", "n"), [(True, 1_000), (False, 800)], ids=["dry-run", "stored"])
def test_printing_the_events_takes_memory_that_does_not_grow_with_the_input(
        dense_items, tmp_path: Path, dry_run: bool, n: int) -> None:
    small = peak_mb(write_dense_feeds(tmp_path / "small", dense_items, n), tmp_path / "small.duckdb",
                    dry_run=dry_run)
    large = peak_mb(write_dense_feeds(tmp_path / "large", dense_items, 4 * n), tmp_path / "large.duckdb",
                    dry_run=dry_run)
    # 4x the articles, ~3 x 4.8 n more events. Keeping them all (the code before streaming) grew by
    # +59 to +68 MB (dry run, RSS) and +33 MB (stored, allocated by Python reading them back: 11 -> 44
    # MB with chunk_vectors=10**6, one chunk of every event); a chunk at a time measured +1 to +5 MB
    assert large - small < 12, (small, large)
