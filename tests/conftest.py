"""Shared fixtures. Tests never touch the network; live tests run only with SIGNALS_LIVE_TESTS=1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_FEED = ROOT / "data" / "sample" / "wallstreetcn-2026-01-29.xml"
SAMPLE_PRICES = ROOT / "data" / "sample" / "prices"

# Deterministic, bounded property tests: no wall-clock deadlines on a shared 2-core CI machine.
settings.register_profile("default", deadline=None, max_examples=100,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, max_examples=100, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "default")

# Calendar sessions cached on disk go to a directory of this test run, not the user's ~/.cache
# (set here, before any test, so the CLI subprocesses inherit it too).
os.environ["SIGNALS_CACHE_DIR"] = _CACHE_DIR = tempfile.mkdtemp(prefix="signals-test-cache-")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_CACHE_DIR, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("SIGNALS_LIVE_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="live network test: set SIGNALS_LIVE_TESTS=1 to run")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the user's database or waits long on a locked file."""
    monkeypatch.delenv("SIGNALS_DB", raising=False)
    monkeypatch.setenv("SIGNALS_DB_WAIT", "0")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "test.duckdb"


HOLDER = "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); sys.stdin.read()"


@pytest.fixture
def hold_lock() -> Iterator[Callable[[Path], int]]:
    """``pid = hold_lock(path)``: another process opens the DuckDB file and keeps it until the test ends."""
    holders: list[subprocess.Popen] = []

    def hold(path: Path) -> int:
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        holders.append(proc)
        assert proc.stdout.readline().strip() == "ready"  # synchronise on the open, no sleeping
        return proc.pid

    yield hold
    for proc in holders:
        proc.communicate("")


SLOW_RULE = """family: market
rules:
  - id: market.slow
    version: 1
    title: slow
    status: test
    type: price_surge
    triggers: [大涨]
    # lint cannot see this one: its alternatives of 1 and 2 characters split a text Fibonacci ways
    patterns: ['(?:[^。]|[^。]{2})+(?P<trigger>大涨)\\d{7}']
    examples:
      match: [贵州茅台大涨1234567]
"""


@pytest.fixture
def slow_rules_and_feed(tmp_path: Path) -> tuple[Path, Path]:
    """A rule directory whose one pattern times out (0.1 s) on every article of a 12-article feed."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "market.yaml").write_text(SLOW_RULE, encoding="utf-8")
    items = "".join(f"<item><guid>g{i}</guid><title>t{i}</title><link>https://example.com/{i}</link>"
                    f"<pubDate>Thu, 29 Jan 2026 08:00:00 +0800</pubDate>"
                    f"<description>贵州茅台{'这' * 60}大涨5%。</description></item>" for i in range(12))
    feed = tmp_path / "feed.xml"
    feed.write_text(f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>f</title>'
                    f"{items}</channel></rss>", encoding="utf-8")
    return rules, feed
