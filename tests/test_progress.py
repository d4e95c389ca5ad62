"""The CLI's progress bar: drawn on stderr when stderr is a terminal, never on stdout (which may be
a pipe of jsonl), and cleared while events or warnings are printed."""

from __future__ import annotations

import io
import sys

import pytest

from signals.cli.progress import progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_draws_on_a_terminal_stderr_and_never_on_stdout(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys) -> None:
    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    with progress_bar("extracting", unit="articles", total=10) as advance:
        advance(4)
        with advance.paused():
            drawn_before = err.getvalue()
            print('{"event": 1}')  # what extract writes to stdout between two refreshes
            assert err.getvalue() == drawn_before  # nothing drawn while paused
        advance(6)
    assert capsys.readouterr().out == '{"event": 1}\n'
    assert "extracting" in err.getvalue() and "articles" in err.getvalue()
    assert "\x1b[2K" in drawn_before  # the bar's lines were erased when it paused (transient)


def test_without_a_terminal_there_is_no_bar(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    with progress_bar("extracting") as advance:
        advance(3)
        with advance.paused():
            print("line")
    assert err.getvalue() == ""
    assert capsys.readouterr().out == "line\n"


def test_a_stage_replaces_the_count_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    with progress_bar("fetching prices", unit="tickers", total=3) as advance:
        advance(3)
        advance._bar.refresh()
        fetched = err.getvalue()
        advance.stage("event study")
        advance._bar.refresh()
        studying = err.getvalue()[len(fetched):]
    assert "fetching prices" in fetched and "3/3 tickers" in fetched
    assert "event study" in studying and "tickers" not in studying and "fetching" not in studying
