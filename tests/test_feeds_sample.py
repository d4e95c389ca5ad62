"""The committed wallstreetcn sample: well-formed, complete, and faithful to the dump it was rebuilt from."""

from __future__ import annotations

import importlib.util
import os
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType

import pytest

from signals.feeds import Article, read_feeds

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "wallstreetcn-2026-01-29.xml"
# The tag-stripped dump the sample feed was rebuilt from is vendored in data/sample/seed/.
DUMP = Path(os.environ.get("SIGNALS_SEED_DUMP",
                           ROOT / "data" / "sample" / "seed" / "wallstreetcn-2026-01-29.txt"))
needs_dump = pytest.mark.skipif(not DUMP.is_file(), reason=f"seed dump not found at {DUMP}")
BEIJING = timezone(timedelta(hours=8))


def build_script() -> ModuleType:
    path = ROOT / "scripts" / "build_sample_feed.py"
    spec = importlib.util.spec_from_file_location("build_sample_feed", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    warnings: list[str] = []
    result = list(read_feeds(SAMPLE, on_warning=warnings.append))
    assert warnings == []
    return result


def test_sample_has_52_distinct_dated_articles(articles: list[Article]) -> None:
    assert len(articles) == 52
    assert len({a.url for a in articles}) == 52
    assert len({a.id for a in articles}) == 52
    assert {a.source for a in articles} == {"华尔街见闻"}
    assert all(a.guid == a.url and a.url.startswith("https://wallstreetcn.com/articles/") for a in articles)
    assert all(a.title and a.body for a in articles)
    assert {a.utc_offset_minutes for a in articles} == {480}
    first, last = articles[0], articles[-1]
    assert first.title == "美联储“鸽派暂停”意味着什么?大摩:未来降息路径将更多由通胀驱动"
    assert first.published_utc == datetime(2026, 1, 29, 13, 52, 24, tzinfo=UTC)
    assert last.published_utc == datetime(2026, 1, 29, 0, 14, 30, tzinfo=UTC)


def test_special_characters_survive(articles: list[Article]) -> None:
    bodies = "\n".join(a.body for a in articles)
    assert "S&P Capital IQ" in bodies
    assert "“1+1>2”" in bodies
    assert "PP&E" in bodies


@needs_dump
def test_titles_dates_and_text_round_trip_from_the_dump(articles: list[Article]) -> None:
    dump = build_script().extract_items(DUMP.read_text(encoding="utf-8"))
    assert (dump.title, dump.link, dump.language) == ("华尔街见闻", "https://wallstreetcn.com", "zh-hans")
    assert len(dump.items) == len(articles)
    for item, article in zip(dump.items, articles, strict=True):
        assert article.title == item.title
        assert article.url == item.link
        written = article.published_utc.astimezone(BEIJING).strftime("%a, %d %b %Y %H:%M:%S +0800")
        assert written == item.pub_date
        assert article.body == "\n\n".join(item.paragraphs)


@needs_dump
def test_rebuild_is_byte_identical(tmp_path: Path) -> None:
    out = tmp_path / "rebuilt.xml"
    build_script().build(DUMP, out)
    assert out.read_bytes() == SAMPLE.read_bytes()
