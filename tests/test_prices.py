"""Price sources and the DuckDB price cache (no network: yfinance is replaced by recorded frames)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import logging
import math
import os
import socket
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signals import store
from signals.errors import PriceError
from signals.prices import (
    FetchReport,
    FetchResult,
    FileSource,
    PriceSource,
    YFinanceSource,
    ensure_prices,
    load_files,
    missing_ranges,
    price_status,
    read_price_file,
    subtract_ranges,
    tickers_for_events,
    yahoo_unreachable,
    yfinance_frame_to_long,
)

FIXTURES = Path(__file__).parent / "fixtures" / "prices"
SAMPLE = Path(__file__).parents[1] / "data" / "sample" / "prices"
D = dt.date


@pytest.fixture
def con(tmp_path):
    c = store.connect(tmp_path / "prices.duckdb")
    yield c
    c.close()


# --- tickers (spelling rules themselves are tested with signals.entities) ---------------------------


def test_vendor_tickers_are_renamed_and_unreadable_ones_named_by_line(tmp_path):
    f = tmp_path / "odd.csv"
    f.write_text("symbol,date,close\nSH600519,2026-01-29,1437.72\n00700,2026-01-29,600.5\n"
                 "BRK/B,2026-01-29,480.1\nNVDA!,2026-01-29,192.3\n", encoding="utf-8")
    with pytest.raises(PriceError, match=r"odd.csv:line 5: cannot read ticker 'NVDA!'"):
        read_price_file(f)
    f.write_text(f.read_text(encoding="utf-8").replace("NVDA!", "NVDA"), encoding="utf-8")
    table = read_price_file(f)
    assert sorted(table.frame["ticker"]) == ["0700.HK", "600519.SS", "BRK-B", "NVDA"]
    assert table.warnings == [f"{f}: tickers renamed to Yahoo symbols: 00700 -> 0700.HK, BRK/B -> BRK-B, "
                              "SH600519 -> 600519.SS"]


def test_ric_suffixes_and_index_codes_become_the_yahoo_symbols(tmp_path):
    f = tmp_path / "wide.csv"
    f.write_text("date,AAPL.O,IBM.N,000300\n2026-01-29,258.28,309.1,4710.5\n", encoding="utf-8")
    table = read_price_file(f)
    assert sorted(table.frame["ticker"]) == ["000300.SS", "AAPL", "IBM"]  # AAPL-O, IBM-N, 000300.SZ before
    assert table.warnings == [f"{f}: tickers renamed to Yahoo symbols: 000300 -> 000300.SS, AAPL.O -> AAPL, "
                              "IBM.N -> IBM"]


# --- files -----------------------------------------------------------------------------------------


def test_long_file_with_vendor_headers_is_normalised_and_sorted():
    table = read_price_file(FIXTURES / "long_vendor.csv")
    f = table.frame
    assert list(f["ticker"]) == ["600519.SS"] * 3 + ["META"] + ["NVDA"] * 3
    moutai = f[f["ticker"] == "600519.SS"]
    assert [d.date() for d in moutai["date"]] == [D(2026, 1, 28), D(2026, 1, 29), D(2026, 1, 30)]
    assert list(moutai["close"]) == [1323.69, 1437.72, 1401.0]
    assert list(moutai["line"]) == [3, 2, 4]  # where each row was in the file
    meta = f[f["ticker"] == "META"].iloc[0]
    assert meta["close"] == 738.31 and math.isnan(meta["adj_close"]) and meta["volume"] == 59852903
    assert any("600519.SH -> 600519.SS" in w for w in table.warnings)


def test_wide_file_gives_closes_only_and_skips_blank_cells():
    f = read_price_file(FIXTURES / "wide_closes.csv").frame
    assert f.groupby("ticker").size().to_dict() == {"000001.SS": 3, "META": 8, "NVDA": 8}
    sse = f[f["ticker"] == "000001.SS"]
    assert [d.date() for d in sse["date"]] == [D(2026, 2, 12), D(2026, 2, 13), D(2026, 2, 24)]
    assert sse["close"].iloc[-1] == 4117.4091796875
    assert f[["open", "high", "low", "adj_close", "volume"]].isna().all().all()


@pytest.mark.parametrize(("name", "needle"), [
    ("bad_duplicate.csv", "bad_duplicate.csv:line 4: duplicate row for META on 2026-01-29 (first at line 3)"),
    ("bad_nonpositive.csv", "bad_nonpositive.csv:line 3: non-positive close 0.0 for META on 2026-01-29"),
    ("bad_date.csv", "bad_date.csv:line 3: unparseable date '29/01/2026'"),
])
def test_bad_files_name_file_line_ticker_and_date(name, needle):
    with pytest.raises(PriceError) as err:
        read_price_file(FIXTURES / name)
    assert needle in str(err.value)


def test_negative_futures_prices_are_kept_with_a_warning():
    table = read_price_file(FIXTURES / "futures_negative.csv")
    assert table.frame["close"].tolist() == [18.270000457763672, -37.630001068115234, 10.010000228881836]
    # the fields are named: on 2020-04-21 only the open and low were negative, the close was 10.01
    assert table.warnings == [f"{FIXTURES / 'futures_negative.csv'}: CL=F has 2 rows with a price <= 0, "
                              "kept (futures can settle below zero): 2020-04-20 low -40.32, close -37.63; "
                              "2020-04-21 open -14, low -16.74"]


def test_a_future_with_many_rows_below_zero_names_three_and_counts_the_rest(tmp_path):
    path = tmp_path / "cl.csv"
    path.write_text("ticker,date,close\n" + "".join(f"CL=F,2020-04-{d},-{d}.5\n" for d in range(20, 25)))
    assert read_price_file(path).warnings == [
        f"{path}: CL=F has 5 rows with a price <= 0, kept (futures can settle below zero): 2020-04-20 close "
        "-20.5; 2020-04-21 close -21.5; 2020-04-22 close -22.5; and 2 more"]


@pytest.mark.parametrize(("rows", "needle"), [
    ("NVDA,2026-01-30,100,inf\n", "p.csv:line 2: non-finite close inf for NVDA on 2026-01-30"),
    ("NVDA,2026-01-29,100,101\nMSFT,2025-06-02,1e309,400\n",  # overflows to inf
     "p.csv:line 3: non-finite open inf for MSFT on 2025-06-02"),
    ("CL=F,2020-04-20,-Infinity,-37.63\n",  # futures may go negative, not to -inf
     "p.csv:line 2: non-finite open -inf for CL=F on 2020-04-20"),
])
def test_infinite_prices_are_refused_with_file_line_ticker_and_date(tmp_path, rows, needle):
    f = tmp_path / "p.csv"
    f.write_text("ticker,date,open,close\n" + rows, encoding="utf-8")
    with pytest.raises(PriceError) as err:
        read_price_file(f)
    assert needle in str(err.value)


@pytest.mark.parametrize(("rows", "needle"), [
    ("NVDA,2026-01-29,192.3,171764400\nNVDA,2026-01-30,190.9,-1500\n",
     "p.csv:line 3: negative volume -1500 for NVDA on 2026-01-30"),
    ("CL=F,2020-04-20,-37.63,-5\nCL=F,2020-04-21,10.01,-7\n",  # futures prices may be negative, volumes not
     "p.csv:line 2: negative volume -5 for CL=F on 2020-04-20 (and 1 more row)"),
    ("NVDA,2026-01-28,192.3,-2.5\nNVDA,2026-01-29,192.3,-1\nNVDA,2026-01-30,190.9,-3\n",  # as written
     "p.csv:line 2: negative volume -2.5 for NVDA on 2026-01-28 (and 2 more rows)"),
])
def test_a_negative_volume_is_refused_with_file_line_ticker_and_date(tmp_path, rows, needle):
    # it was stored as it came, without a word
    f = tmp_path / "p.csv"
    f.write_text("ticker,date,close,volume\n" + rows, encoding="utf-8")
    with pytest.raises(PriceError) as err:
        read_price_file(f)
    assert needle in str(err.value)
    assert err.value.hint == "a volume is 0 or more; leave it blank when it is not known"


def test_prices_load_with_a_negative_volume_is_one_error_line_and_exit_2(tmp_path, db_path, capsys):
    from signals.cli import main

    f = tmp_path / "p.csv"
    f.write_text("ticker,date,close,volume\nNVDA,2026-01-29,192.3,-1\n", encoding="utf-8")
    assert main(["--db", str(db_path), "prices", "load", str(f)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {f}:line 2: negative volume -1 for NVDA on 2026-01-29",
        "hint: a volume is 0 or more; leave it blank when it is not known"]


@pytest.mark.parametrize(("cell", "shown"), [
    ("-1000000000000000", "-1000000000000000"),  # 1e15: it was shown as -1000000000000000.0
    ("-4503599627370497", "-4503599627370497"),
    ("-9007199254740992", "-9007199254740992"),  # 2**53: the last whole number a float holds exactly
    ("-1e20", "-1e+20"),  # beyond 2**53 a float's digits are not the file's: Python's spelling
    ("-2.5", "-2.5"),
])
def test_a_whole_negative_volume_up_to_2_53_is_named_without_a_decimal_point(tmp_path, db_path, capsys,
                                                                            cell, shown):
    from signals.cli import main

    f = tmp_path / "p.csv"
    f.write_text(f"ticker,date,close,volume\nNVDA,2026-01-29,192.3,{cell}\n", encoding="utf-8")
    assert main(["--db", str(db_path), "prices", "load", str(f)]) == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        f"error: {f}:line 2: negative volume {shown} for NVDA on 2026-01-29")


def test_a_negative_volume_in_a_parquet_file_is_refused_and_nothing_is_loaded(tmp_path, db_path):
    frame = pd.DataFrame({"ticker": ["NVDA", "NVDA"], "date": pd.to_datetime(["2026-01-29", "2026-01-30"]),
                          "close": [192.3, 190.9], "volume": [0.0, -3.0]})
    frame.to_parquet(tmp_path / "long.parquet")
    good = tmp_path / "good.csv"
    good.write_text("ticker,date,close,volume\nMETA,2026-01-29,738.3,0\n", encoding="utf-8")
    with store.opened(db_path) as con:
        with pytest.raises(PriceError) as err:
            load_files(con, [good, tmp_path / "long.parquet"])
        assert str(err.value) == (f"{tmp_path / 'long.parquet'}:row 2: negative volume -3 for NVDA on "
                                  "2026-01-30")
        assert con.execute("SELECT count(*) FROM prices").fetchone()[0] == 0
        load_files(con, [good])  # a volume of 0 (no trades that day) is a volume
        assert con.execute("SELECT volume FROM prices").fetchall() == [(0.0,)]


def test_infinite_prices_in_parquet_and_wide_files_are_refused(tmp_path):
    frame = pd.DataFrame({"ticker": ["NVDA", "NVDA"], "date": pd.to_datetime(["2026-01-29", "2026-01-30"]),
                          "close": [192.3, 190.9], "adj_close": [192.3, np.inf]})
    frame.to_parquet(tmp_path / "long.parquet")
    needle = "long.parquet:row 2: non-finite adj_close inf for NVDA on 2026-01-30"
    with pytest.raises(PriceError, match=needle):
        read_price_file(tmp_path / "long.parquet")
    (tmp_path / "wide.csv").write_text("date,NVDA,META\n2026-01-29,192.3,738.3\n2026-01-30,inf,\n",
                                       encoding="utf-8")
    with pytest.raises(PriceError, match=r"wide.csv:line 3: non-finite close inf for NVDA on 2026-01-30"):
        read_price_file(tmp_path / "wide.csv")


def test_blank_and_nan_cells_are_still_missing_values_not_infinite(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("ticker,date,open,close,volume\nNVDA,2026-01-29,,192.3,NaN\nNVDA,2026-01-30,nan,190.9,\n",
                 encoding="utf-8")
    frame = read_price_file(f).frame
    assert frame["close"].tolist() == [192.3, 190.9]
    assert frame[["open", "volume"]].isna().all().all()


def test_one_tickers_bars_without_a_ticker_column_are_not_read_as_wide_closes(tmp_path):
    # a Yahoo download: the headers are fields, not tickers OPEN, HIGH, ..., ADJCLOSE, VOLUME
    f = tmp_path / "NVDA.csv"
    f.write_text("Date,Open,High,Low,Close,Adj Close,Volume\n"
                 "2026-01-29,191.1,193.2,185.8,192.3,192.3,171764400\n", encoding="utf-8")
    with pytest.raises(PriceError) as err:
        read_price_file(f)
    assert str(err.value) == (f"{f}:line 1: columns Open, High, Low, Close, Adj Close, Volume are price "
                              "fields, not tickers: this looks like one ticker's prices without a ticker "
                              "column")
    assert "ticker,date,open,high,low,close,adj_close,volume" in err.value.hint
    f.write_text("date,close\n2026-01-29,192.3\n", encoding="utf-8")
    with pytest.raises(PriceError, match=r"line 1: columns close are price fields"):
        read_price_file(f)
    frame = pd.DataFrame({"date": pd.to_datetime(["2026-01-29"]), "close": [192.3], "volume": [1e8]})
    frame.to_parquet(tmp_path / "one.parquet")
    with pytest.raises(PriceError, match=r"one.parquet: columns close, volume are price fields"):
        read_price_file(tmp_path / "one.parquet")


def test_wide_columns_of_the_listed_tickers_open_and_low_are_tickers(tmp_path):
    f = tmp_path / "wide.csv"  # Opendoor and Lowe's, not the open and low fields
    f.write_text("date,OPEN,LOW\n2026-01-29,5.12,240.5\n", encoding="utf-8")
    frame = read_price_file(f).frame
    assert frame[["ticker", "close"]].values.tolist() == [["LOW", 240.5], ["OPEN", 5.12]]


@pytest.mark.parametrize(("header", "row", "needle"), [
    ("date,NVDA,NVDA", "2026-01-29,192.3,190.9", "column 'NVDA' appears twice (columns 2 and 3)"),
    ("date, NVDA, META, NVDA", "2026-01-29,192.3,738.3,190.9",  # padded: pandas' careful reader
     "column 'NVDA' appears twice (columns 2 and 4)"),
    ("date,NVDA,nvda", "2026-01-29,192.3,190.9",
     "columns 'NVDA' and 'nvda' both mean ticker NVDA (columns 2 and 3)"),
    ("Ticker,Date,Close,close", "NVDA,2026-01-29,192.3,190.9",
     "columns 'Close' and 'close' both mean close (columns 3 and 4)"),
    ("Symbol,Ticker,Date,Close", "NVDA,NVDA,2026-01-29,192.3",
     "columns 'Symbol' and 'Ticker' both mean ticker (columns 1 and 2)"),
])
def test_repeated_columns_are_refused_not_renamed(tmp_path, header, row, needle):
    f = tmp_path / "p.csv"
    f.write_text(f"{header}\n{row}\n", encoding="utf-8")
    with pytest.raises(PriceError) as err:
        read_price_file(f)
    assert str(err.value) == f"{f}:line 1: {needle}"


def test_repeated_columns_in_parquet_are_named(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table([pa.array(["2026-01-29"]), pa.array([192.3]), pa.array([190.9])],
                     names=["date", "NVDA", "NVDA"])
    pq.write_table(table, tmp_path / "w.parquet")
    with pytest.raises(PriceError) as err:
        read_price_file(tmp_path / "w.parquet")
    assert str(err.value) == f"{tmp_path / 'w.parquet'}: column 'NVDA' appears twice (columns 2 and 3)"


def test_ignored_and_unnamed_columns_of_a_long_file_may_repeat(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("ticker,date,close,note,note,,\nNVDA,2026-01-29,192.3,a,b,,\n", encoding="utf-8")
    table = read_price_file(f)
    assert table.frame[["ticker", "close"]].values.tolist() == [["NVDA", 192.3]]
    assert table.warnings == [f"{f}: ignored columns note, note.1, Unnamed: 5, Unnamed: 6"]


DATE_SPELLINGS = ["{y}-{mm}-{dd}", "{y}-{m}-{d}", "{y}/{m}/{d}", "{y}/{mm}/{dd}", "{y}{mm}{dd}",
                  " {y}-{mm}-{dd} "]
TIME_SPELLINGS = ["", " 00:00:00", "T09:30", " 00:00:00.000", "T00:00:00+08:00", " 00:00:00-05:00",
                  "T23:59:59.5-0500", "T14:30:00Z", " 00:00:00 UTC"]


def date_cell(spelling: str, day: dt.date, time: str = "") -> str:
    text = spelling.format(y=f"{day.year:04d}", m=day.month, mm=f"{day.month:02d}", d=day.day,
                           dd=f"{day.day:02d}")
    return text.rstrip() + time if time else text


def one_row_file(path: Path, cell: str) -> Path:
    path.write_text(f"ticker,date,close\nMSFT,2026-01-28,410.2\nNVDA,{cell},192.3\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("spelling", "time"), [(s, "") for s in DATE_SPELLINGS]
                         + [("{y}-{mm}-{dd}", t) for t in TIME_SPELLINGS[1:]])
def test_documented_date_spellings_give_the_local_date(tmp_path, spelling, time):
    f = one_row_file(tmp_path / "p.csv", date_cell(spelling, D(2026, 1, 29), time))
    frame = read_price_file(f).frame
    assert frame[frame["ticker"] == "NVDA"]["date"].tolist() == [pd.Timestamp("2026-01-29")]


@pytest.mark.parametrize("cell", ["202611", "2026129", "2026-01-29 garbage", "2026-01-29x", "2026-01/29",
                                  "2026-01-29T", "2026-01-29 UTC", "2026-01-290", "12026-01-29",
                                  "2026-02-30"])
def test_unclear_dates_are_refused_not_guessed(tmp_path, cell):
    f = one_row_file(tmp_path / "p.csv", cell)
    with pytest.raises(PriceError) as err:
        read_price_file(f)
    assert str(err.value) == f"{f}:line 3: unparseable date {cell!r}"
    assert err.value.hint == "write dates as YYYY-MM-DD"


DATE_ROWS = st.lists(st.tuples(st.dates(dt.date(1900, 1, 1), dt.date(2199, 12, 31)),
                               st.sampled_from(DATE_SPELLINGS), st.sampled_from(TIME_SPELLINGS)),
                     min_size=1, max_size=6)
TICKERS = ["NVDA", "MSFT", "AAPL", "META", "TSLA", "AMZN"]


@settings(max_examples=30, deadline=None)
@given(rows=DATE_ROWS, junk=st.tuples(st.sampled_from(["", " ", "T"]), st.text("abxyz!#%&*;?.", min_size=1,
                                                                                max_size=5)))
def test_a_date_cell_is_its_own_date_or_refused(tmp_path_factory, rows, junk):
    # every allowed spelling, with or without a time and zone, gives exactly its date; a cell with
    # anything more after it is refused, not read up to the junk
    path = tmp_path_factory.mktemp("dates") / "p.csv"
    cells = [date_cell(spelling, day, time) for day, spelling, time in rows]
    lines = [f"{t},{cell},1" for t, cell in zip(TICKERS, cells, strict=False)]
    path.write_text("ticker,date,close\n" + "\n".join(lines) + "\n", encoding="utf-8")
    frame = read_price_file(path).frame.sort_values("line")
    assert frame["date"].tolist() == [pd.Timestamp(day) for day, _, _ in rows]
    bad = cells[-1].rstrip() + "".join(junk)
    path.write_text("ticker,date,close\n" + "\n".join([*lines[:-1], f"AMZN,{bad},1"]) + "\n",
                    encoding="utf-8")
    with pytest.raises(PriceError) as err:
        read_price_file(path)
    assert str(err.value) == f"{path}:line {len(rows) + 1}: unparseable date {bad.lstrip()!r}"  # as read


@pytest.mark.parametrize("cell", ["NULL", "null", "nan", "NaN", "None", "N/A", "n/a", "#N/A", "-", "--", ".",
                                  "na"])
def test_words_for_no_value_in_the_ticker_column_are_missing_tickers(tmp_path, cell):
    f = tmp_path / "p.csv"
    f.write_text(f"ticker,date,close\nNVDA,2026-01-29,192.3\n{cell},2026-01-29,1.0\n", encoding="utf-8")
    with pytest.raises(PriceError) as err:
        read_price_file(f)
    assert str(err.value) == f"{f}:line 3: missing ticker {cell!r}"
    assert err.value.hint.startswith("every row needs a ticker")


def test_empty_tickers_in_csv_and_parquet_are_named_by_position(tmp_path):
    (tmp_path / "p.csv").write_text("ticker,date,close\nNVDA,2026-01-29,192.3\n  ,2026-01-29,1.0\n",
                                    encoding="utf-8")
    with pytest.raises(PriceError, match=r"p.csv:line 3: empty ticker$"):
        read_price_file(tmp_path / "p.csv")
    pd.DataFrame({"ticker": ["NVDA", None], "date": ["2026-01-29", "2026-01-30"],
                  "close": [192.3, 190.9]}).to_parquet(tmp_path / "p.parquet")
    with pytest.raises(PriceError, match=r"p.parquet:row 2: empty ticker$"):
        read_price_file(tmp_path / "p.parquet")


def test_nan_and_na_in_capitals_are_the_listed_tickers(tmp_path):
    f = tmp_path / "p.csv"  # NAN: Nuveen New York Quality Municipal Income Fund; NA: Nano Labs
    f.write_text("ticker,date,close\nNAN,2026-01-29,11.2\nNA,2026-01-29,1.3\n", encoding="utf-8")
    assert read_price_file(f).frame[["ticker", "close"]].values.tolist() == [["NA", 1.3], ["NAN", 11.2]]
    f.write_text("ticker,date,close\nnan,2026-01-29,11.2\n", encoding="utf-8")
    with pytest.raises(PriceError) as err:
        read_price_file(f)
    assert err.value.hint == "every row needs a ticker; NAN and NA in capitals are the listed tickers"


MISSING_VALUE_CELLS = ["NA", "na", "N/A", "n/a", "#N/A", "-", "--", ".", "NULL", "null", "None", "nan",
                       "NaN", "nil", "", " NA "]


@pytest.mark.parametrize("cell", MISSING_VALUE_CELLS)
def test_words_for_no_value_in_a_wide_file_are_missing_closes_and_na_heads_a_column(tmp_path, cell):
    # an R data frame written with write.csv: NA in the cells, and Nano Labs' column is headed NA
    f = tmp_path / "w.csv"
    f.write_text(f"date,NVDA,NA\n2026-01-29,192.3,1.3\n2026-01-30,{cell},{cell}\n2026-02-02,{cell},1.4\n",
                 encoding="utf-8")
    frame = read_price_file(f).frame
    assert frame[["ticker", "close"]].values.tolist() == [["NA", 1.3], ["NA", 1.4], ["NVDA", 192.3]]
    assert frame["date"].dt.strftime("%m-%d").tolist() == ["01-29", "02-02", "01-29"]


@pytest.mark.parametrize("cell", MISSING_VALUE_CELLS)
def test_words_for_no_value_in_a_long_file_are_missing_values_and_na_is_a_ticker(tmp_path, cell):
    f = tmp_path / "p.csv"
    f.write_text(f"ticker,date,open,close,volume\nNA,2026-01-29,{cell},1.3,{cell}\n"
                 f"NVDA,2026-01-29,190.1,192.3,1000\nNVDA,2026-01-30,191,{cell},1200\n", encoding="utf-8")
    table = read_price_file(f)
    rows = table.frame[["ticker", "open", "close", "volume"]].astype(object).values.tolist()
    assert [[t, None if o != o else o, c, None if v != v else v] for t, o, c, v in rows] == [
        ["NA", None, 1.3, None], ["NVDA", 190.1, 192.3, 1000.0]]
    assert table.warnings == [f"{f}: 1 rows without a close skipped (first at line 4)"]


def test_a_wide_column_headed_with_a_word_for_no_value_is_refused(tmp_path):
    f = tmp_path / "w.csv"
    f.write_text("date,NVDA,N/A\n2026-01-29,192.3,1.0\n", encoding="utf-8")
    with pytest.raises(PriceError) as err:
        read_price_file(f)
    assert str(err.value) == f"{f}:line 1: column 3 'N/A' names no ticker"
    assert err.value.hint == "every column besides the date needs a ticker"


# Cells the fast paths (pyarrow's CSV reader, Arrow's float cast, ISO dates in C) take, and cells that
# send a column or a file to the careful reading: padding, thousands separators, words for missing,
# other date spellings, bad values.
NUMBER_CELLS = st.sampled_from(["1.5", "2", "-3.25", "1e3", "+4", "", "NaN", "null", "None", " 7.5",
                                "1,234.5", "abc", "0", "inf", "1e309", "NA", "N/A", "#N/A", "-", "."])
DATE_CELLS = st.sampled_from(["2026-01-29", "2026/1/29", "20260129", "2026-01-29 00:00:00", " 2026-01-29",
                              "29.01.2026"])


@pytest.mark.parametrize("header", ["date,NVDA,,AAPL", "date,NVDA, ,AAPL"])
def test_a_wide_column_without_a_header_is_named_by_position(tmp_path, header):
    f = tmp_path / "w.csv"
    f.write_text(f"{header}\n2026-01-29,192.3,1.0,250.1\n", encoding="utf-8")
    with pytest.raises(PriceError) as err:
        read_price_file(f)
    assert str(err.value) == f"{f}:line 1: column 3 has no header"
    assert err.value.hint == "every column besides the date needs a ticker as its header"


def outcome_of(path: Path):
    try:
        table = read_price_file(path)
    except PriceError as err:
        return f"PriceError: {err}", None
    return table.frame, table.warnings


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["NVDA", "MSFT", " AAPL"]), st.integers(0, 40), DATE_CELLS,
                               NUMBER_CELLS, NUMBER_CELLS), min_size=1, max_size=8),
       pad_header=st.booleans())
def test_fast_readers_give_what_the_careful_ones_give(tmp_path_factory, rows, pad_header):
    import signals.prices as prices

    out = io.StringIO()
    out.write("ticker, date, open, close\n" if pad_header else "ticker,date,open,close\n")
    writer = csv.writer(out, lineterminator="\n")  # quotes 1,234.5
    for ticker, day, date, open_, close in rows:
        date = date.replace("29", f"{day % 28 + 1:02d}", 1) if "29" in date else date
        writer.writerow([ticker, date, open_, close])
    path = tmp_path_factory.mktemp("prices") / "p.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    fast = outcome_of(path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(prices, "_plain_floats", lambda raw: None)
        mp.setattr(prices, "_read_csv_text", prices._read_csv_careful)
        careful = outcome_of(path)
    if isinstance(careful[0], str):
        assert fast == careful
    else:
        pd.testing.assert_frame_equal(fast[0], careful[0])
        assert fast[1] == careful[1]


def test_parquet_long_file_reads_like_csv(tmp_path):
    csv = read_price_file(FIXTURES / "long_vendor.csv").frame
    raw = pd.read_csv(FIXTURES / "long_vendor.csv")
    raw["Date"] = pd.to_datetime(raw["Date"])
    raw.to_parquet(tmp_path / "long.parquet")
    pq = read_price_file(tmp_path / "long.parquet").frame
    pd.testing.assert_frame_equal(pq.drop(columns="line"), csv.drop(columns="line"))


WIDE_BY_DATE = pd.DataFrame({"NVDA": [192.27548217773438, 190.8971710205078], "AAPL": [258.28, 259.48]},
                            index=pd.DatetimeIndex(["2026-01-29", "2026-01-30"], name="Date"))


@pytest.mark.parametrize("index_name", ["Date", None])
def test_wide_parquet_with_the_dates_as_index_reads_them(tmp_path, index_name):
    # pandas / yfinance frames keep dates in a DatetimeIndex; pyarrow stores it as a column Date
    # (or __index_level_0__ when unnamed) and pandas reads it back as the index
    WIDE_BY_DATE.rename_axis(index_name).to_parquet(tmp_path / "w.parquet")
    frame = read_price_file(tmp_path / "w.parquet").frame
    assert frame[["ticker", "date", "close", "line"]].values.tolist() == [
        ["AAPL", pd.Timestamp("2026-01-29"), 258.28, 1], ["AAPL", pd.Timestamp("2026-01-30"), 259.48, 2],
        ["NVDA", pd.Timestamp("2026-01-29"), 192.27548217773438, 1],
        ["NVDA", pd.Timestamp("2026-01-30"), 190.8971710205078, 2]]


def test_parquet_index_dates_without_pandas_metadata_or_with_a_zone_are_read(tmp_path):
    import pyarrow.parquet as pq

    WIDE_BY_DATE.rename_axis(None).to_parquet(tmp_path / "w.parquet")
    table = pq.read_table(tmp_path / "w.parquet").replace_schema_metadata(None)  # written by another tool
    pq.write_table(table, tmp_path / "bare.parquet")
    assert "__index_level_0__" in pq.read_schema(tmp_path / "bare.parquet").names
    bare = read_price_file(tmp_path / "bare.parquet").frame
    assert bare.groupby("ticker")["date"].max().to_dict() == {"AAPL": pd.Timestamp("2026-01-30"),
                                                              "NVDA": pd.Timestamp("2026-01-30")}
    zoned = WIDE_BY_DATE.tz_localize("America/New_York")  # yfinance's index carries the exchange zone
    zoned.to_parquet(tmp_path / "z.parquet")
    assert read_price_file(tmp_path / "z.parquet").frame["date"].tolist() == [pd.Timestamp("2026-01-29"),
                                                                              pd.Timestamp("2026-01-30")] * 2


def test_index_dates_serve_long_parquet_and_one_tickers_bars_are_still_refused(tmp_path):
    long = pd.DataFrame({"Ticker": ["NVDA", "NVDA"], "Close": [192.3, 190.9]}, index=WIDE_BY_DATE.index)
    long.to_parquet(tmp_path / "long.parquet")
    assert read_price_file(tmp_path / "long.parquet").frame[["ticker", "close"]].values.tolist() == [
        ["NVDA", 192.3], ["NVDA", 190.9]]
    bars = pd.DataFrame({"Open": [191.1], "High": [193.2], "Low": [185.8], "Close": [192.3], "Volume": [1e8]},
                        index=WIDE_BY_DATE.index[:1])  # yf.download of one ticker
    bars.to_parquet(tmp_path / "NVDA.parquet")
    with pytest.raises(PriceError, match="columns Open, High, Low, Close, Volume are price fields"):
        read_price_file(tmp_path / "NVDA.parquet")


def test_unknown_file_type_and_missing_file_are_price_errors(tmp_path):
    (tmp_path / "p.xlsx").write_text("x")
    with pytest.raises(PriceError, match="unknown price file type"):
        read_price_file(tmp_path / "p.xlsx")
    with pytest.raises(PriceError, match="no such file"):
        read_price_file(tmp_path / "nope.csv")


def test_load_files_stores_rows_and_is_idempotent(con):
    paths = [FIXTURES / "long_vendor.csv", FIXTURES / "wide_closes.csv"]
    report = load_files(con, paths)
    assert report.rows == 7 + 19
    # 600519.SS, META, NVDA, 000001.SS: META and NVDA are in both files, on different dates
    assert str(report) == "26 price rows for 4 tickers loaded from 2 files"
    assert report.tickers[report.tickers["ticker"] == "NVDA"]["rows"].tolist() == [3, 8]  # per file
    assert not any("is in both" in w for w in report.warnings)  # no date in both: nothing overridden
    load_files(con, paths)
    status = price_status(con).set_index("ticker")
    assert status.loc["NVDA", "rows"] == 11
    assert status.loc["NVDA", "first"] == D(2026, 1, 28)
    assert status.loc["NVDA", "source"] == "file:long_vendor.csv, file:wide_closes.csv"
    close = con.execute("SELECT close, adj_close FROM prices WHERE ticker = '600519.SS' "
                        "AND date = DATE '2026-01-29'").fetchone()
    assert close == (1437.72, 1437.72)


def test_load_summary_counts_rows_stored_and_distinct_tickers_and_names_shared_dates(con, tmp_path):
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    a.write_text("ticker,date,close\nNVDA,2026-01-29,100\nNVDA,2026-01-30,101\n", encoding="utf-8")
    b.write_text("ticker,date,close\nNVDA,2026-01-29,200\n", encoding="utf-8")
    report = load_files(con, [a, b])
    assert str(report) == "2 price rows for 1 ticker loaded from 2 files"
    assert report.warnings == [f"NVDA is in both {a} and {b}; {b} wins on 1 shared date (2026-01-29)"]
    assert con.execute("SELECT date::VARCHAR, close FROM prices ORDER BY date").fetchall() == [
        ("2026-01-29", 200.0), ("2026-01-30", 101.0)]
    c.write_text("ticker,date,close\nNVDA,2026-01-30,300\nNVDA,2026-02-02,302\nMSFT,2026-01-30,410\n",
                 encoding="utf-8")
    report = load_files(con, [a, b, c])
    assert str(report) == "4 price rows for 2 tickers loaded from 3 files"
    assert report.warnings == [f"NVDA is in {a}, {b} and {c}; the later file wins on 2 shared dates "
                               "(2026-01-29, 2026-01-30)"]
    assert con.execute("SELECT count(*) FROM prices").fetchone()[0] == report.rows
    d = tmp_path / "d.csv"
    d.write_text("ticker,date,close\nNVDA,2026-02-03,303\n", encoding="utf-8")
    report = load_files(con, [a, d])  # one ticker in two files, no date in both
    assert (str(report), report.warnings) == ("3 price rows for 1 ticker loaded from 2 files", [])


def test_load_files_is_all_or_nothing(con):
    with pytest.raises(PriceError):
        load_files(con, [FIXTURES / "long_vendor.csv", FIXTURES / "bad_duplicate.csv"])
    assert con.execute("SELECT count(*) FROM prices").fetchone()[0] == 0


def test_sample_prices_load_and_match_their_sources_file():
    sources = (SAMPLE / "SOURCES.md").read_text(encoding="utf-8")
    files = sorted(SAMPLE.glob("*.csv"))
    assert len(files) == 35
    for f in files:
        assert f"| {f.name} |" in sources
    assert "000300.SS" in sources and "not available" in sources
    nvda = read_price_file(SAMPLE / "NVDA.csv").frame
    row = nvda[nvda["date"] == pd.Timestamp("2026-01-29")].iloc[0]
    assert row["close"] == 192.27548217773438


# --- the cache -------------------------------------------------------------------------------------


class CountingSource:
    """A FileSource that records every range it is asked for."""

    name = "fixture"

    def __init__(self, paths):
        self.inner = FileSource(paths)
        self.calls: list[tuple[tuple[str, ...], dt.date, dt.date]] = []

    def fetch(self, tickers, start, end):
        self.calls.append((tuple(sorted(tickers)), start, end))
        return self.inner.fetch(tickers, start, end)


def test_sources_satisfy_the_protocol():
    assert isinstance(FileSource([]), PriceSource)
    assert isinstance(YFinanceSource(download=lambda *a, **k: None), PriceSource)


def test_second_run_asks_only_for_missing_ranges(con):
    src = CountingSource([FIXTURES / "wide_closes.csv"])
    first = ensure_prices(con, ["NVDA", "META"], D(2026, 2, 12), D(2026, 2, 18), source=src)
    assert src.calls == [(("META", "NVDA"), D(2026, 2, 12), D(2026, 2, 18))]
    assert first.rows == 8 and first.failures == {}
    again = ensure_prices(con, ["NVDA", "META"], D(2026, 2, 12), D(2026, 2, 18), source=src)
    assert len(src.calls) == 1 and again.cached == ["NVDA", "META"] and again.requested == []
    ensure_prices(con, ["NVDA", "META"], D(2026, 2, 10), D(2026, 2, 24), source=src)
    assert src.calls[1:] == [(("META", "NVDA"), D(2026, 2, 10), D(2026, 2, 11)),
                             (("META", "NVDA"), D(2026, 2, 19), D(2026, 2, 24))]
    assert con.execute("SELECT count(*) FROM prices").fetchone()[0] == 16
    statuses = con.execute("SELECT status, count(*) FROM price_requests GROUP BY 1 ORDER BY 1").fetchall()
    assert statuses == [("empty", 2), ("ok", 4)]  # Feb 10-11 are not in the file: empty, not failed


def test_offline_reports_missing_without_asking(con):
    src = CountingSource([FIXTURES / "wide_closes.csv"])
    load_files(con, [FIXTURES / "long_vendor.csv"])
    report = ensure_prices(con, ["NVDA", "META"], D(2026, 1, 28), D(2026, 2, 3), source=src, offline=True)
    assert src.calls == []
    assert report.missing == {"NVDA": [(D(2026, 1, 31), D(2026, 2, 3))],
                              "META": [(D(2026, 1, 28), D(2026, 1, 28)), (D(2026, 1, 30), D(2026, 2, 3))]}
    assert str(report) == "offline: 0 tickers cached, 2 with missing ranges (not fetched)"
    assert report.warnings == ["offline: prices missing for 2 tickers (3 date ranges): META "
                               "2026-01-28..2026-01-28, 2026-01-30..2026-02-03; NVDA 2026-01-31..2026-02-03"]


def test_offline_missing_ranges_are_counted_as_ranges_and_tickers_as_tickers(con):
    # one item per range, then `… 6 more`: META's two ranges read like two tickers, and the ranges
    # past the tenth like more tickers ("prices missing for 13 tickers: …, … 6 more" of 16 ranges)
    load_files(con, [FIXTURES / "long_vendor.csv"])  # NVDA, META and 600519.SS, a few days each
    tickers = ["NVDA", "META", "600519.SS", *(f"T{i:02d}" for i in range(10))]
    report = ensure_prices(con, tickers, D(2026, 1, 1), D(2026, 3, 1), source=CountingSource([]),
                           offline=True)
    assert sum(len(gaps) for gaps in report.missing.values()) == 16
    [warning] = report.warnings
    head, listed = warning.split("): ", 1)
    assert head == "offline: prices missing for 13 tickers (16 date ranges"
    items = listed.split("; ")
    assert items[0] == "600519.SS 2026-01-01..2026-01-27, 2026-01-31..2026-03-01"
    assert items[1] == "META 2026-01-01..2026-01-28, 2026-01-30..2026-03-01"
    assert items[-1] == "… and 3 more tickers (3 date ranges)"  # T07..T09, one range each
    assert len(items) == 11
    one = ensure_prices(con, ["META"], D(2026, 1, 1), D(2026, 3, 1), source=CountingSource([]), offline=True)
    assert one.warnings == ["offline: prices missing for 1 ticker (2 date ranges): "
                            "META 2026-01-01..2026-01-28, 2026-01-30..2026-03-01"]
    assert str(one) == "offline: 0 tickers cached, 1 with missing ranges (not fetched)"


def test_failed_tickers_are_named_and_asked_again(con):
    src = CountingSource([FIXTURES / "wide_closes.csv"])
    progress: list[int] = []
    report = ensure_prices(con, ["NVDA", "NOPE"], D(2026, 2, 12), D(2026, 2, 13), source=src,
                           progress=progress.append)
    assert report.failures == {"NOPE": "2026-02-12..2026-02-13: not in wide_closes.csv"}
    assert report.missing == {"NOPE": [(D(2026, 2, 12), D(2026, 2, 13))]}
    assert report.rows == 2 and progress == [2]
    ensure_prices(con, ["NVDA", "NOPE"], D(2026, 2, 12), D(2026, 2, 13), source=src)
    assert src.calls[-1] == (("NOPE",), D(2026, 2, 12), D(2026, 2, 13))


def test_requests_only_cover_days_before_they_were_made(con):
    today = dt.date.today()
    con.execute("INSERT INTO price_requests VALUES ('NVDA', ?, ?, 'yfinance', now(), 'ok', '1 rows')",
                [today - dt.timedelta(days=5), today])
    gaps = missing_ranges(con, ["NVDA"], today - dt.timedelta(days=5), today)
    assert gaps == {"NVDA": [(today, today)]}  # today's bar was not final when asked


def test_stored_rows_without_a_request_cover_their_span_too(con, monkeypatch):
    con.execute("INSERT INTO price_requests VALUES ('NVDA', DATE '2026-02-01', DATE '2026-02-10', "
                "'yfinance', TIMESTAMPTZ '2026-03-01 00:00:00+00', 'ok', '6 rows')")
    # prices written by hand (no request): META 2026-02-03..06, and NVDA's after its request
    con.execute("""INSERT INTO prices (ticker, date, close, source, fetched_at)
                   SELECT t, d::DATE, 1.0, 'hand', now()
                   FROM (VALUES ('META'), ('NVDA')) v(t), range(DATE '2026-02-03', DATE '2026-02-07',
                                                               INTERVAL 1 DAY) r(d)
                   WHERE t = 'META' OR d >= DATE '2026-02-05'""")
    con.execute("INSERT INTO prices (ticker, date, close, source, fetched_at) "
                "VALUES ('NVDA', DATE '2026-02-12', 1.0, 'hand', now())")
    assert missing_ranges(con, ["NVDA", "META", "MSFT"], D(2026, 2, 1), D(2026, 2, 14)) == {
        "NVDA": [(D(2026, 2, 13), D(2026, 2, 14))],  # request to the 10th, stored rows to the 12th
        "META": [(D(2026, 2, 1), D(2026, 2, 2)), (D(2026, 2, 7), D(2026, 2, 14))],
        "MSFT": [(D(2026, 2, 1), D(2026, 2, 14))]}
    # the requests alone cover NVDA to the 10th: no scan of the stored rows is needed for that
    monkeypatch.setattr("signals.prices._stored_spans", lambda *a: pytest.fail("scanned prices"))
    assert missing_ranges(con, ["NVDA"], D(2026, 2, 2), D(2026, 2, 10)) == {}


def test_policy_bodies_are_never_fetched(con):
    src = CountingSource([FIXTURES / "wide_closes.csv"])
    ensure_prices(con, ["@FED", "NVDA"], D(2026, 2, 12), D(2026, 2, 12), source=src)
    assert src.calls == [(("NVDA",), D(2026, 2, 12), D(2026, 2, 12))]


def test_asked_tickers_are_spelled_as_stored(con):
    # `prices fetch nvda` asked for "nvda" and dropped the rows the source returned as NVDA
    src = CountingSource([FIXTURES / "wide_closes.csv"])
    report = ensure_prices(con, ["nvda", "NVDA", " meta "], D(2026, 2, 12), D(2026, 2, 13), source=src)
    assert src.calls == [(("META", "NVDA"), D(2026, 2, 12), D(2026, 2, 13))]
    assert report.rows == 4 and report.failures == {}
    assert con.execute("SELECT DISTINCT ticker FROM prices ORDER BY 1").fetchall() == [("META",), ("NVDA",)]
    with pytest.raises(PriceError, match="cannot fetch prices for '🚀': not a ticker"):
        ensure_prices(con, ["NVDA", "🚀"], D(2026, 2, 12), D(2026, 2, 13), source=src)


@pytest.mark.parametrize("ticker", ["../x", "..", "./NVDA", "NVDA/../x", "A..B", "-X", "X-", "A/B/C",
                                    "NV DA/", "^", "X^Y", "=F", "N" * 33])
def test_a_ticker_that_is_no_yahoo_symbol_is_refused_before_anything_is_asked(con, ticker):
    # `prices fetch ../x` asked Yahoo for '../X': normalize_ticker keeps '.' and '/' anywhere
    src = CountingSource([FIXTURES / "wide_closes.csv"])
    with pytest.raises(PriceError) as err:
        ensure_prices(con, ["NVDA", ticker], D(2026, 2, 12), D(2026, 2, 13), source=src)
    assert str(err.value) == f"cannot fetch prices for {ticker!r}: not a Yahoo symbol"
    assert err.value.hint.startswith("use Yahoo symbols: letters and digits, with '.', '-', '=' or '&'")
    assert src.calls == []


def test_a_stored_ticker_that_is_no_yahoo_symbol_is_reported_not_fatal(con):
    # tickers of stored events (a rule's `subject.ticker: EUR/USD`, custom instrument data) are checked
    # too: one of them stopped `prices fetch`, `--offline` and every backtest with `not a Yahoo symbol`
    src = CountingSource([FIXTURES / "wide_closes.csv"])
    report = ensure_prices(con, ["NVDA", "EUR/USD", "../x"], D(2026, 2, 12), D(2026, 2, 13), source=src,
                           stored=True)
    assert src.calls == [(("NVDA",), D(2026, 2, 12), D(2026, 2, 13))]  # only NVDA is asked
    assert report.rows == 2 and sorted(report.failures) == ["../x", "EUR/USD"]
    assert report.failures["EUR/USD"].startswith("2026-02-12..2026-02-13: not a Yahoo symbol, not asked")
    assert sorted(report.missing) == ["../x", "EUR/USD"] and not report.all_failed
    assert con.execute("SELECT ticker, status FROM price_requests WHERE status = 'failed' "
                       "ORDER BY ticker").fetchall() == [("../x", "failed"), ("EUR/USD", "failed")]
    # rows loaded from a file under that ticker count as cached, online and offline
    con.execute("INSERT INTO prices (ticker, date, close, source, fetched_at) VALUES "
                "('EUR/USD', '2026-02-12', 1.1, 'file:fx.csv', now()), "
                "('EUR/USD', '2026-02-13', 1.2, 'file:fx.csv', now())")
    again = ensure_prices(con, ["NVDA", "EUR/USD"], D(2026, 2, 12), D(2026, 2, 13), source=src, stored=True)
    assert again.cached == ["NVDA", "EUR/USD"] and again.failures == {} and len(src.calls) == 1
    offline = ensure_prices(con, ["NVDA", "EUR/USD", "../x"], D(2026, 2, 12), D(2026, 2, 13), source=src,
                            stored=True, offline=True)
    assert offline.cached == ["NVDA", "EUR/USD"] and list(offline.missing) == ["../x"]
    with pytest.raises(PriceError, match="not a Yahoo symbol"):  # named by the caller: refused
        ensure_prices(con, ["NVDA", "EUR/USD"], D(2026, 2, 12), D(2026, 2, 13), source=src)


def test_every_yahoo_symbol_of_the_reference_data_is_one():
    from signals.prices import check_tickers

    tickers = set()
    for name in ("instruments.csv", "curated_instruments.csv"):
        with open(Path(__file__).parents[1] / "data" / "instruments" / name, encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                tickers |= {row["ticker"], *filter(None, (row.get("alt_tickers") or "").split(";"))}
    assert len(tickers) > 5000
    check_tickers(sorted(tickers))  # none refused
    assert check_tickers(["M&M.NS", "DX-Y.NYB", "^gspc", "cl=f", "EURUSD=X", "BRK/B", "@FED", "700.HK"]) == [
        "M&M.NS", "DX-Y.NYB", "^GSPC", "CL=F", "EURUSD=X", "BRK-B", "@FED", "0700.HK"]


ranges = st.tuples(st.dates(D(2026, 1, 1), D(2026, 3, 1)), st.integers(0, 20)).map(
    lambda p: (p[0], p[0] + dt.timedelta(days=p[1])))


@given(want=ranges, have=st.lists(ranges, max_size=5))
def test_subtract_ranges_leaves_exactly_the_uncovered_days(want, have):
    gaps = subtract_ranges(want, have)
    days = {want[0] + dt.timedelta(days=i) for i in range((want[1] - want[0]).days + 1)}
    covered = {d for lo, hi in have for d in days if lo <= d <= hi}
    in_gaps = [lo + dt.timedelta(days=i) for lo, hi in gaps for i in range((hi - lo).days + 1)]
    assert sorted(in_gaps) == sorted(days - covered)
    assert all(a[1] < b[0] - dt.timedelta(days=1) for a, b in itertools.pairwise(gaps))


def test_tickers_for_events_lists_tickers_and_benchmarks(con):
    con.execute("""INSERT INTO event_instruments VALUES
        ('e1', 'NVDA', 'subject', 1, 'XNAS', '^GSPC', NULL, NULL),
        ('e1', '600519.SS', 'exposure', -1, 'XSHG', '000001.SS', NULL, NULL),
        ('e2', 'NVDA', 'subject', 1, 'XNAS', '^GSPC', NULL, NULL),
        ('e3', 'GC=F', 'exposure', 1, 'CMES', NULL, NULL, NULL),
        ('e4', '@FED', 'subject', 1, NULL, NULL, NULL, NULL)""")
    assert tickers_for_events(con) == ["000001.SS", "600519.SS", "GC=F", "NVDA", "^GSPC"]


# --- yfinance (recorded frames, no network) ---------------------------------------------------------

FIELDS = ["Open", "High", "Low", "Close", "Adj Close", "Volume"]


def yf_frame(data: dict[str, dict[str, list[float]]], dates: list[str]) -> pd.DataFrame:
    """The shape yf.download(group_by="ticker", auto_adjust=False) returns: columns (Ticker, Price),
    every ticker padded with NaN to the union of all dates; failed tickers all NaN."""
    index = pd.DatetimeIndex(pd.to_datetime(dates), name="Date")
    cols, values = [], []
    for ticker, fields in data.items():
        for f in FIELDS:
            cols.append((ticker, f))
            values.append(fields.get(f, [np.nan] * len(dates)))
    columns = pd.MultiIndex.from_tuples(cols, names=["Ticker", "Price"])
    return pd.DataFrame(np.array(values, dtype="float64").T, index=index, columns=columns)


NAN = float("nan")
TZ_MISSING = {"YFTzMissingError('possibly delisted; no timezone found')": ["BADTICKER"]}
RECORDED = yf_frame({
    # 2026-01-29/30 are sessions in both markets; 2026-02-16 is a US holiday and Shanghai's New Year
    "NVDA": {"Open": [191.11, 190.98], "High": [193.24, 194.25], "Low": [185.83, 189.24],
             "Close": [192.51, 191.13], "Adj Close": [192.28, 190.90], "Volume": [171764400, 179489500]},
    "600519.SS": {"Open": [1335.0, 1435.0], "High": [1445.0, 1435.0], "Low": [1329.06, 1401.0],
                  "Close": [1437.72, 1401.0], "Adj Close": [1437.72, 1401.0], "Volume": [18953440, 9447974]},
    "BADTICKER": {},
}, ["2026-01-29", "2026-01-30"])


class FakeDownload:
    """Replays a list of answers: a DataFrame (optionally with yfinance's per-ticker error log lines)
    or an exception to raise."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls: list[tuple[list[str], dict]] = []

    def __call__(self, tickers, **kwargs):
        self.calls.append((list(tickers), kwargs))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        frame, errors = answer if isinstance(answer, tuple) else (answer, {})
        log = logging.getLogger("yfinance")
        for reason, syms in errors.items():  # exactly how yf.download reports failures
            log.error(f"{syms}: {reason}")
        return frame


def test_yfinance_frame_to_long_drops_padding_and_failed_tickers():
    padded = yf_frame({"NVDA": {"Close": [192.51, NAN, 191.13], "Adj Close": [192.28, NAN, 190.90]},
                       "600519.SS": {"Close": [1437.72, 1401.0, NAN]}},
                      ["2026-01-29", "2026-01-30", "2026-02-02"])
    long = yfinance_frame_to_long(padded, ["NVDA", "600519.SS"])
    assert sorted(zip(long["ticker"], long["date"].dt.date, long["close"], strict=True)) == [
        ("600519.SS", D(2026, 1, 29), 1437.72), ("600519.SS", D(2026, 1, 30), 1401.0),
        ("NVDA", D(2026, 1, 29), 192.51), ("NVDA", D(2026, 2, 2), 191.13)]


def test_yfinance_source_keeps_close_and_adj_close_and_names_failures():
    fake = FakeDownload((RECORDED, TZ_MISSING))
    sleeps: list[float] = []
    result = YFinanceSource(download=fake, sleep=sleeps.append).fetch(
        ["NVDA", "600519.SS", "BADTICKER"], D(2026, 1, 29), D(2026, 1, 30))
    tickers, kwargs = fake.calls[0]
    assert tickers == ["NVDA", "600519.SS", "BADTICKER"]
    assert kwargs == {"start": "2026-01-29", "end": "2026-01-31", "auto_adjust": False, "actions": False,
                      "group_by": "ticker", "threads": True, "progress": False}
    nvda = result.frame[result.frame["ticker"] == "NVDA"].set_index("date")
    assert nvda.loc["2026-01-29", ["close", "adj_close"]].tolist() == [192.51, 192.28]
    assert len(result.frame) == 4
    assert result.failures == {"BADTICKER": "YFTzMissingError('possibly delisted; no timezone found')"}
    assert sleeps == []


def test_yfinance_deprecation_warnings_do_not_reach_the_user():
    class Noisy(FakeDownload):
        def __call__(self, tickers, **kwargs):
            warnings.warn("The inplace keyword in DataFrame.rename is deprecated", DeprecationWarning,
                          stacklevel=1)
            warnings.warn("a future change", FutureWarning, stacklevel=1)
            return super().__call__(tickers, **kwargs)

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        result = YFinanceSource(download=Noisy(RECORDED)).fetch(["NVDA"], D(2026, 1, 29), D(2026, 1, 30))
        warnings.warn("ours still shows", UserWarning, stacklevel=1)
    assert len(result.frame[result.frame["ticker"] == "NVDA"]) == 2
    assert [str(w.message) for w in seen] == ["ours still shows"]


def _failed(n: int, reason: str, start: int = 0) -> dict[str, str]:
    return {f"T{i:03d}": f"2024-12-25..2026-03-10: {reason}" for i in range(start, start + n)}


def test_a_few_failures_are_listed_one_per_ticker():
    report = FetchReport(source="yfinance", offline=False, failures=_failed(2, "possibly delisted"))
    assert report.failure_lines() == ["no prices for T000: 2024-12-25..2026-03-10: possibly delisted",
                                      "no prices for T001: 2024-12-25..2026-03-10: possibly delisted"]
    assert report.warnings == report.failure_lines()


def test_many_failures_are_summed_up_per_reason_with_the_first_names():
    failures = _failed(78, "possibly delisted; no timezone found") | _failed(3, "Timeout", start=100)
    lines = FetchReport(source="yfinance", offline=False, failures=failures).failure_lines()
    where = "each ticker and range: SELECT * FROM price_requests WHERE status = 'failed'"
    assert lines == [
        f"no prices for 78 tickers: possibly delisted; no timezone found "
        f"(T000, T001, T002, T003, T004 and 73 more; {where})",
        f"no prices for 3 tickers: Timeout (T100, T101, T102; {where})"]
    # and the summary line counts them (it named all 81)
    assert FetchReport(source="yfinance", offline=False, failures=failures).summary == (
        "0 price rows stored from yfinance (0 ranges asked, 0 tickers already cached); failed: 81 tickers "
        "(T000, T001, T002, T003, T004 and 76 more)")


def test_yfinance_no_rows_in_range_is_empty_not_failed():
    fake = FakeDownload((yf_frame({"NVDA": {}}, []),
                         {"YFPricesMissingError('possibly delisted; no price data found  "
                          "(1d 2026-02-16 -> 2026-02-17)')": ["NVDA"]}))
    source = YFinanceSource(download=fake, sleep=lambda s: None)
    result = source.fetch(["NVDA"], D(2026, 2, 16), D(2026, 2, 16))
    assert result.frame.empty and result.failures == {}


def test_yfinance_rate_limit_is_retried_with_exponential_backoff():
    from yfinance.exceptions import YFRateLimitError

    fake = FakeDownload(YFRateLimitError(), YFRateLimitError(), (RECORDED, {}))
    sleeps: list[float] = []
    result = YFinanceSource(download=fake, sleep=sleeps.append, backoff=2.0).fetch(
        ["NVDA", "600519.SS"], D(2026, 1, 29), D(2026, 1, 30))
    assert sleeps == [2.0, 4.0]
    assert len(fake.calls) == 3 and set(result.frame["ticker"]) == {"NVDA", "600519.SS"}
    assert result.failures == {}


def test_yfinance_retries_only_the_tickers_that_hit_a_transient_error():
    first = yf_frame({"NVDA": {"Close": [192.51], "Adj Close": [192.28]}, "600519.SS": {}}, ["2026-01-29"])
    second = yf_frame({"600519.SS": {"Close": [1437.72], "Adj Close": [1437.72]}}, ["2026-01-29"])
    fake = FakeDownload((first, {"YFRateLimitError('Too Many Requests. Rate limited. Try after a while.')":
                                 ["600519.SS"]}), (second, {}))
    result = YFinanceSource(download=fake, sleep=lambda s: None).fetch(
        ["NVDA", "600519.SS"], D(2026, 1, 29), D(2026, 1, 29))
    assert [c[0] for c in fake.calls] == [["NVDA", "600519.SS"], ["600519.SS"]]
    assert sorted(result.frame["ticker"]) == ["600519.SS", "NVDA"] and result.failures == {}


def test_yfinance_gives_up_after_the_last_retry_and_says_so():
    fake = FakeDownload(*[ConnectionError("Connection reset by peer")] * 3)
    sleeps: list[float] = []
    result = YFinanceSource(download=fake, sleep=sleeps.append, retries=2, backoff=1.0).fetch(
        ["NVDA"], D(2026, 1, 29), D(2026, 1, 29))
    assert sleeps == [1.0, 2.0]
    assert result.failures == {"NVDA": "ConnectionError: Connection reset by peer (after 3 attempts)"}


def test_ensure_prices_with_yfinance_stores_good_tickers_and_reports_bad(con):
    fake = FakeDownload((RECORDED, TZ_MISSING))
    report = ensure_prices(con, ["NVDA", "600519.SS", "BADTICKER"], D(2026, 1, 29), D(2026, 1, 30),
                           source=YFinanceSource(download=fake, sleep=lambda s: None))
    assert report.rows == 4
    assert str(report) == ("4 price rows stored from yfinance (3 ranges asked, 0 tickers already cached); "
                           "failed: BADTICKER")
    assert report.warnings == ["no prices for BADTICKER: 2026-01-29..2026-01-30: "
                               "YFTzMissingError('possibly delisted; no timezone found')"]
    rows = con.execute("SELECT ticker, source, count(*) FROM prices GROUP BY ALL ORDER BY 1").fetchall()
    assert rows == [("600519.SS", "yfinance", 2), ("NVDA", "yfinance", 2)]


def test_fetch_result_defaults_to_no_failures():
    assert FetchResult(pd.DataFrame()).failures == {}


@pytest.mark.live
@pytest.mark.skipif(os.environ.get("SIGNALS_LIVE_TESTS") != "1", reason="set SIGNALS_LIVE_TESTS=1")
def test_live_yfinance_download():
    result = YFinanceSource().fetch(["NVDA", "600519.SS"], D(2026, 1, 26), D(2026, 1, 30))
    got = result.frame.groupby("ticker").size().to_dict()
    assert got == {"600519.SS": 5, "NVDA": 5}
    assert (result.frame["adj_close"] > 0).all()


def test_all_failed_tells_a_dead_network_from_bad_tickers() -> None:
    day = D(2026, 1, 29)
    dead = FetchReport(source="yfinance", offline=False, requested=[("NVDA", day, day), ("MSFT", day, day)],
                       failures={"NVDA": "possibly delisted", "MSFT": "possibly delisted"})
    one_bad = FetchReport(source="yfinance", offline=False, rows=250,
                          requested=[("NVDA", day, day), ("XXXX", day, day)], failures={"XXXX": "delisted"})
    nothing_asked = FetchReport(source="yfinance", offline=False)
    assert dead.all_failed and not one_bad.all_failed and not nothing_asked.all_failed


# --- a dead network: one probe, no per-ticker wait -------------------------------------------------

PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy")

def test_an_unreachable_yahoo_fails_every_ticker_at_once_without_downloading():
    fake = FakeDownload((RECORDED, {}))
    probes: list[int] = []
    sleeps: list[float] = []

    def probe() -> str:
        probes.append(1)
        return "not fetched: cannot resolve query2.finance.yahoo.com (Name or service not known)"

    source = YFinanceSource(download=fake, sleep=sleeps.append, probe=probe)
    first = source.fetch(["NVDA", "600519.SS"], D(2026, 1, 29), D(2026, 1, 30))
    second = source.fetch(["MSFT"], D(2026, 1, 1), D(2026, 1, 30))
    assert fake.calls == [] and sleeps == [] and probes == [1]  # asked once per source
    assert first.frame.empty and second.frame.empty
    assert first.failures == {t: probe() for t in ("NVDA", "600519.SS")}
    assert list(second.failures) == ["MSFT"]


def test_a_reachable_yahoo_downloads_as_before():
    fake = FakeDownload((RECORDED, {}))
    result = YFinanceSource(download=fake, probe=lambda: None).fetch(["NVDA"], D(2026, 1, 29), D(2026, 1, 30))
    assert len(fake.calls) == 1 and len(result.frame[result.frame["ticker"] == "NVDA"]) == 2


def test_yahoo_unreachable_names_the_failed_step(monkeypatch):
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    seen: list[tuple] = []

    def refuse(address, timeout):
        seen.append((address, timeout))
        raise error

    monkeypatch.setattr(socket, "create_connection", refuse)
    error = socket.gaierror(-2, "Name or service not known")
    assert yahoo_unreachable() == ("not fetched: cannot resolve query2.finance.yahoo.com "
                                   "(Name or service not known)")
    error = TimeoutError("timed out")
    assert yahoo_unreachable(timeout=0.5) == ("not fetched: cannot connect to query2.finance.yahoo.com:443 "
                                              "(timed out)")
    error = ConnectionRefusedError(111, "Connection refused")
    assert yahoo_unreachable().endswith("(Connection refused)")
    assert seen[1] == (("query2.finance.yahoo.com", 443), 0.5)
    # behind a proxy a direct connection proves nothing: no verdict, no connection attempt
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert yahoo_unreachable() is None and len(seen) == 3


def test_the_live_source_probes_before_its_first_download(monkeypatch):
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)

    def no_dns(address, timeout):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "create_connection", no_dns)
    source = YFinanceSource()  # the real yfinance is never imported: the probe answers first
    result = source.fetch(["NVDA"], D(2026, 1, 29), D(2026, 1, 30))
    assert source._download is None
    assert result.failures == {"NVDA": "not fetched: cannot resolve query2.finance.yahoo.com "
                                       "(Name or service not known)"}


@pytest.mark.parametrize("day", ["2300-01-02", "1850-01-02"])
def test_price_dates_outside_1900_to_2199_are_refused(con, tmp_path: Path, day: str) -> None:
    # a close dated 2300 loaded (exit 3 after commit, as settling days 0 in nanoseconds failed) and
    # made every later prices load, extract and backtest on the database fail the same way
    path = tmp_path / "far.csv"
    path.write_text(f"ticker,date,close\nNVDA,2026-01-02,100\nNVDA,{day},101\n")
    with pytest.raises(PriceError, match=rf"far\.csv:line 3: date {day} is outside 1900\.\.2199"):
        load_files(con, [path])
    assert con.execute("SELECT count(*) FROM prices").fetchone()[0] == 0


@pytest.mark.parametrize(("text", "needle"), [
    # pandas made the first cells of a row longer than the header the index and shifted the rest:
    # `p.csv:line nan: unparseable date '2'`
    ("ticker,date,close\nNVDA,2026-01-10,1,2,3\n", "p.csv:line 2: 5 fields, the header has 3"),
    ("date,NVDA,AAPL\n2026-01-10,1,2,3\n", "p.csv:line 2: 4 fields, the header has 3"),
    ("ticker,date,close\nNVDA,2026-01-09,1\nNVDA,2026-01-10,1,2\n",
     "p.csv:line 3: 4 fields, the header has 3"),
    ("ticker, date, close\nNVDA, 2026-01-09, 1\nNVDA, 2026-01-10, 1, 2\n",  # padded: pandas' own reader
     "p.csv:line 3: 4 fields, the header has 3"),
])
def test_a_row_longer_than_the_header_is_named(tmp_path, text, needle):
    f = tmp_path / "p.csv"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(PriceError) as err:
        read_price_file(f)
    assert str(err.value).endswith(needle) and "nan" not in str(err.value)
    assert err.value.hint == "a value with a comma needs quotes; the header names every column"



@pytest.mark.parametrize("text", [
    "date;AAPL;MSFT\n2026-01-09;1,5;2,5\n2026-01-12;1,6;2,6\n",  # a European spreadsheet's export
    "ticker;date;close\nAAPL;2026-01-09;1,5\n",
    "date;AAPL;MSFT\n2026-01-09;1.5;2.5\n",
    "ticker\tdate\tclose\nAAPL\t2026-01-09\t1,5\n"])
def test_a_file_separated_by_semicolons_or_tabs_says_so(tmp_path, text):
    # c998ac3 blamed a semicolon-separated file with decimal commas on unquoted commas: `line 2: 3
    # fields, the header has 1` / `a value with a comma needs quotes` (before it: `no date column`)
    f = tmp_path / "p.csv"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(PriceError) as err:
        read_price_file(f)
    sep = "';'" if ";" in text else "tabs"
    assert str(err.value) == f"{f}:line 1: the fields are separated by {sep}, not commas"
    assert err.value.hint == "save it as comma-separated CSV, with decimal points (1.5, not 1,5)"


def test_commas_are_read_only_as_thousands_separators(tmp_path):
    # every comma was dropped: a decimal comma "1,5" loaded as a close of 15.0, silently ten times too high
    f = tmp_path / "p.csv"
    f.write_text('ticker,date,close,volume\nNVDA,2026-01-09,"1,234.5","12,345,678"\nNVDA,2026-01-12,"1,5",7\n',
                 encoding="utf-8")
    with pytest.raises(PriceError) as err:
        read_price_file(f)
    assert str(err.value) == f"{f}:line 3: close '1,5' is not a number"
    f.write_text('ticker,date,close,volume\nNVDA,2026-01-09,"1,234.5","12,345,678"\n', encoding="utf-8")
    frame = read_price_file(f).frame
    assert frame["close"].tolist() == [1234.5] and frame["volume"].tolist() == [12345678.0]



@pytest.mark.parametrize("cell, hint", [
    ("1,5", "a decimal comma? write 1.5 for 1,5: a comma is read only between thousands (1,234.5)"),
    ("1.234,56",
     "a decimal comma? write 1234.56 for 1.234,56: a comma is read only between thousands (1,234.5)"),
    ("-0,75", "a decimal comma? write -0.75 for -0,75: a comma is read only between thousands (1,234.5)"),
    ("abc", None), ("1,2,3", None)])
def test_a_decimal_comma_is_named_in_the_hint(tmp_path, cell, hint):
    # 17439b7 refused "1,5" with `close '1,5' is not a number` and no hint: a European export's every
    # price fails alike, and the message does not say why a number is not one
    f = tmp_path / "p.csv"
    f.write_text(f'ticker,date,close\nNVDA,2026-01-09,"{cell}"\n', encoding="utf-8")
    with pytest.raises(PriceError) as err:
        read_price_file(f)
    assert str(err.value) == f"{f}:line 2: close {cell!r} is not a number"
    assert err.value.hint == hint


# --- bad rows from yfinance: the files' rules, a bad row dropped with a count per ticker -------------


def _yf_rows(**tickers: list[tuple[str, float, float]]) -> pd.DataFrame:
    """A recorded-shape yf.download frame from (date, close, volume) rows per ticker (open = high =
    low = close, adj_close = close), padded with NaN to the union of the dates like yfinance."""
    dates = sorted({d for rows in tickers.values() for d, _, _ in rows})
    data = {}
    for ticker, rows in tickers.items():
        by_date = {d: (c, v) for d, c, v in rows}
        closes = [by_date.get(d, (NAN, NAN))[0] for d in dates]
        volumes = [by_date.get(d, (NAN, NAN))[1] for d in dates]
        data[ticker.replace("_", "=")] = {"Open": closes, "High": closes, "Low": closes, "Close": closes,
                                          "Adj Close": closes, "Volume": volumes}
    return yf_frame(data, dates)


def test_bad_yfinance_rows_are_dropped_and_counted_per_ticker_and_good_rows_kept(con):
    # a close of 0, a negative volume and an infinite price were stored as Yahoo sent them
    frame = _yf_rows(
        NVDA=[("2026-01-26", 186.47, 1.5e8), ("2026-01-27", 0.0, 1.6e8), ("2026-01-28", 191.5, -1500.0),
              ("2026-01-29", math.inf, 1.7e8), ("2026-01-30", 191.13, 1.8e8)],
        MSFT=[("2026-01-29", 433.5, 1.2e8), ("2026-01-30", 430.29, 0.0)],  # 0 traded: a volume
        CL_F=[("2026-01-29", 65.42, 3.0e5), ("2026-01-30", -1.5, 2.0e5)])  # futures may go negative
    fake = FakeDownload((frame, {}))
    report = ensure_prices(con, ["NVDA", "MSFT", "CL=F"], D(2026, 1, 26), D(2026, 1, 30),
                           source=YFinanceSource(download=fake, sleep=lambda s: None))
    stored = con.execute("SELECT ticker, date::VARCHAR, close, volume FROM prices ORDER BY 1, 2").fetchall()
    assert stored == [("CL=F", "2026-01-29", 65.42, 3.0e5), ("CL=F", "2026-01-30", -1.5, 2.0e5),
                      ("MSFT", "2026-01-29", 433.5, 1.2e8), ("MSFT", "2026-01-30", 430.29, 0.0),
                      ("NVDA", "2026-01-26", 186.47, 1.5e8), ("NVDA", "2026-01-30", 191.13, 1.8e8)]
    assert report.rows == 6 and report.failures == {}
    assert report.warnings == [
        "yfinance: CL=F has 1 row with a price <= 0, kept (futures can settle below zero): 2026-01-30 "
        "open -1.5, high -1.5, low -1.5, close -1.5, adj_close -1.5",
        "yfinance: NVDA: 3 of 5 rows dropped: 1 non-positive price (2026-01-27), 1 negative volume "
        "(2026-01-28), 1 non-finite value (2026-01-29)"]
    messages = dict(con.execute("SELECT ticker, message FROM price_requests").fetchall())
    assert messages["NVDA"] == ("2 rows; 3 of 5 rows dropped: 1 non-positive price (2026-01-27), "
                                "1 negative volume (2026-01-28), 1 non-finite value (2026-01-29)")
    assert messages["MSFT"] == "2 rows"


def test_rows_a_source_sends_outside_the_dates_asked_are_dropped_and_counted_per_ticker(con):
    # they were dropped without a word (never stored, rightly) and `3 of 5 rows dropped` counted only
    # the rows inside the range: a user comparing the source's rows with the stored ones was misled
    frame = _yf_rows(
        NVDA=[("2026-01-23", 187.0, 1.4e8), ("2026-01-26", 186.47, 1.5e8), ("2026-01-27", 0.0, 1.6e8),
              ("2026-01-28", 191.5, 1.6e8), ("2026-01-29", 192.51, 1.7e8), ("2026-01-30", 191.13, 1.8e8),
              ("2026-02-02", 190.0, 1.8e8)],
        META=[("2026-01-23", 658.76, 1e7)],  # nothing inside: empty, not failed
        MSFT=[("2026-01-29", 433.5, 1.2e8), ("2026-01-30", 430.29, 1.1e8)])
    fake = FakeDownload((frame, {}))
    report = ensure_prices(con, ["NVDA", "META", "MSFT"], D(2026, 1, 26), D(2026, 1, 30),
                           source=YFinanceSource(download=fake, sleep=lambda s: None))
    stored = con.execute("SELECT ticker, count(*), min(date)::VARCHAR, max(date)::VARCHAR FROM prices "
                         "GROUP BY 1 ORDER BY 1").fetchall()
    assert stored == [("MSFT", 2, "2026-01-29", "2026-01-30"), ("NVDA", 4, "2026-01-26", "2026-01-30")]
    assert report.rows == 6 and report.failures == {} and report.empty == ["META"]
    assert report.warnings == [
        "yfinance: NVDA: 3 of 7 rows dropped: 2 outside 2026-01-26..2026-01-30, the dates asked "
        "(2026-01-23, 2026-02-02), 1 non-positive price (2026-01-27)",
        "yfinance: META: 1 of 1 rows dropped: 1 outside 2026-01-26..2026-01-30, the dates asked (2026-01-23)"]
    requests = {t: (status, message) for t, status, message in
                con.execute("SELECT ticker, status, message FROM price_requests").fetchall()}
    assert requests["NVDA"] == ("ok", "4 rows; " + report.warnings[0].removeprefix("yfinance: NVDA: "))
    assert requests["META"] == ("empty", "no rows in range; 1 of 1 rows dropped: 1 outside "
                                         "2026-01-26..2026-01-30, the dates asked (2026-01-23)")
    assert requests["MSFT"] == ("ok", "2 rows")


def test_a_ticker_whose_every_yfinance_row_is_bad_fails_and_is_asked_again(con):
    fake = FakeDownload((_yf_rows(META=[("2026-01-29", 0.0, 1e7), ("2026-01-30", -2.0, 1e7)],
                                  NVDA=[("2026-01-29", 192.51, 1.7e8)]), {}),
                        (_yf_rows(META=[("2026-01-29", 738.31, 1e7)]), {}))
    source = YFinanceSource(download=fake, sleep=lambda s: None)
    report = ensure_prices(con, ["META", "NVDA"], D(2026, 1, 29), D(2026, 1, 30), source=source)
    assert report.failures == {"META": "2026-01-29..2026-01-30: yfinance: 2 of 2 rows dropped: "
                                       "2 non-positive price (2026-01-29, 2026-01-30)"}
    assert report.warnings == [f"no prices for META: {report.failures['META']}"]  # said once
    assert con.execute("SELECT ticker, status FROM price_requests ORDER BY 1").fetchall() == [
        ("META", "failed"), ("NVDA", "ok")]
    again = ensure_prices(con, ["META", "NVDA"], D(2026, 1, 29), D(2026, 1, 30), source=source)
    assert [c[0] for c in fake.calls] == [["META", "NVDA"], ["META"]]  # NVDA's row is kept and covered
    assert again.rows == 1 and again.failures == {}


def test_repeated_and_future_dates_from_yfinance_are_dropped_with_a_warning(con):
    today = dt.datetime.now(dt.UTC).date()
    later = (today + dt.timedelta(days=9)).isoformat()
    index = pd.DatetimeIndex(pd.to_datetime(["2026-01-29", "2026-01-29", "2026-01-30", "2026-01-30", later]),
                             name="Date")
    columns = pd.MultiIndex.from_tuples([(t, f) for t in ("NVDA", "META") for f in FIELDS],
                                        names=["Ticker", "Price"])
    nvda = [[192.51] * 5 + [1.7e8], [192.51] * 5 + [1.7e8],  # the same bar twice: one kept
            [191.13] * 5 + [1.8e8], [190.0] * 5 + [1.8e8],  # two bars that disagree: neither kept
            [200.0] * 5 + [1.0e8]]  # a bar dated after today
    meta = [[738.31] * 5 + [1e7], [NAN] * 6, [716.5] * 5 + [1e7], [NAN] * 6, [NAN] * 6]
    frame = pd.DataFrame([a + b for a, b in zip(nvda, meta, strict=True)], index=index, columns=columns)
    report = ensure_prices(con, ["NVDA", "META"], D(2026, 1, 29), today + dt.timedelta(days=30),
                           source=YFinanceSource(download=FakeDownload((frame, {})), sleep=lambda s: None))
    stored = con.execute("SELECT ticker, date::VARCHAR, close FROM prices ORDER BY 1, 2").fetchall()
    assert stored == [("META", "2026-01-29", 738.31), ("META", "2026-01-30", 716.5),
                      ("NVDA", "2026-01-29", 192.51)]
    assert report.warnings == [f"yfinance: NVDA: 4 of 5 rows dropped: 3 repeated date (2026-01-29, "
                               f"2026-01-30, 2026-01-30), 1 date after today ({later})"]


def test_yfinance_rows_with_prices_but_no_close_are_counted_and_padding_is_not(con):
    frame = yf_frame({"NVDA": {"Open": [191.11, 190.98, NAN], "Close": [192.51, NAN, NAN],
                               "Volume": [1.7e8, 1.8e8, NAN]},
                      "600519.SS": {"Close": [NAN, 1401.0, 1410.0]}},  # 01-29: padding
                     ["2026-01-29", "2026-01-30", "2026-02-02"])
    report = ensure_prices(con, ["NVDA", "600519.SS"], D(2026, 1, 29), D(2026, 2, 2),
                           source=YFinanceSource(download=FakeDownload((frame, {})), sleep=lambda s: None))
    assert report.rows == 3
    assert report.warnings == ["yfinance: NVDA: 1 of 2 rows dropped: 1 without a close (2026-01-30)"]


def test_prices_fetch_names_dropped_rows_and_keeps_the_other_tickers(capsys, db_path, monkeypatch):
    from signals import prices
    from signals.cli import main

    frame = _yf_rows(NVDA=[("2026-01-29", 192.51, -3.0), ("2026-01-30", 191.13, 1.8e8)],
                     META=[("2026-01-29", 738.31, 1e7), ("2026-01-30", 716.5, 1e7)])

    class Recorded(prices.YFinanceSource):
        def __init__(self) -> None:
            super().__init__(download=FakeDownload((frame, {})), sleep=lambda s: None)

    monkeypatch.setattr(prices, "YFinanceSource", Recorded)
    code = main(["--db", str(db_path), "prices", "fetch", "NVDA", "META", "--start", "2026-01-29",
                 "--end", "2026-01-30"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert ("warning: yfinance: NVDA: 1 of 2 rows dropped: 1 negative volume (2026-01-29)"
            in err.splitlines())
    assert "3 price rows stored from yfinance" in err


@pytest.mark.parametrize(("closes", "start", "warning"), [
    ([192.51, 191.0, 191.13], "2026-01-29", "1 of 3 rows dropped: 1 no date"),
    ([192.51, NAN, 191.13], "2026-01-29", "1 of 3 rows dropped: 1 without a close"),
    ([192.51, 191.0, 191.13], "2026-01-30",
     "2 of 3 rows dropped: 1 outside 2026-01-30..2026-01-30, the dates asked (2026-01-29), 1 no date"),
])
def test_prices_fetch_names_no_nat_date_for_a_row_without_one(capsys, db_path, monkeypatch, closes, start,
                                                              warning):
    # a fetched row without a date was reported with `(NaT)` as its example date
    from signals import prices
    from signals.cli import main

    frame = yf_frame({"NVDA": {**{f: [192.51, 191.0, 191.13] for f in FIELDS}, "Close": closes}},
                     ["2026-01-29", None, "2026-01-30"])

    class Recorded(prices.YFinanceSource):
        def __init__(self) -> None:
            super().__init__(download=FakeDownload((frame, {})), sleep=lambda s: None)

    monkeypatch.setattr(prices, "YFinanceSource", Recorded)
    code = main(["--db", str(db_path), "prices", "fetch", "NVDA", "--start", start, "--end", "2026-01-30"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert err.splitlines()[0] == f"warning: yfinance: NVDA: {warning}"
    assert "NaT" not in err


def test_two_fetched_rows_without_a_date_are_no_repeated_date(con):
    # the second of two rows without a date was dropped as a `repeated date`: NaT equals NaT there
    frame = yf_frame({"NVDA": {f: [192.51, 191.0, 190.5, 191.13] for f in FIELDS}},
                     ["2026-01-29", None, None, "2026-01-30"])
    report = ensure_prices(con, ["NVDA"], D(2026, 1, 29), D(2026, 1, 30),
                           source=YFinanceSource(download=FakeDownload((frame, {})), sleep=lambda s: None))
    assert report.rows == 2
    assert report.warnings == ["yfinance: NVDA: 2 of 4 rows dropped: 2 no date"]


def test_the_files_and_yfinance_judge_rows_by_one_function(tmp_path, con, monkeypatch):
    from signals import prices

    seen: list[int] = []
    real = prices.check_price_rows

    def spy(frame, **kwargs):
        seen.append(len(frame))
        return real(frame, **kwargs)

    monkeypatch.setattr(prices, "check_price_rows", spy)
    f = tmp_path / "p.csv"
    f.write_text("ticker,date,close\nNVDA,2026-01-29,192.3\n", encoding="utf-8")
    read_price_file(f)
    ensure_prices(con, ["NVDA"], D(2026, 1, 29), D(2026, 1, 30),
                  source=YFinanceSource(download=FakeDownload((RECORDED, {})), sleep=lambda s: None))
    assert seen == [1, 2]


# --- tickers in price files: the Yahoo symbol rule of `prices fetch` ----------------------------------


@pytest.mark.parametrize("ticker", ["EUR/USD", "../x", "a/b/c", "A..B", "BRK B", "AAPL US", "N" * 33, "^",
                                    "=F"])
def test_a_file_ticker_that_is_no_yahoo_symbol_is_refused_with_file_and_line(tmp_path, ticker):
    # they were stored as tickers ('EUR/USD', '../X', 'BRKB': the space was dropped) no fetch could ask for
    f = tmp_path / "p.csv"
    f.write_text(f'ticker,date,close\nNVDA,2026-01-29,192.3\n"{ticker}",2026-01-29,1.1\n', encoding="utf-8")
    with pytest.raises(PriceError) as err:
        read_price_file(f)
    assert str(err.value) == f"{f}:line 3: ticker {ticker!r} is not a Yahoo symbol"
    assert "use Yahoo symbols: letters and digits" in err.value.hint


def test_a_currency_pair_with_a_slash_is_told_its_yahoo_spelling(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("ticker,date,close\nEUR/USD,2026-01-29,1.19\n", encoding="utf-8")
    with pytest.raises(PriceError) as err:
        read_price_file(f)
    assert err.value.hint.startswith("Yahoo spells the pair EUR/USD EURUSD=X; ")


def test_wide_and_parquet_tickers_that_are_no_yahoo_symbols_are_named_by_column_and_row(tmp_path):
    wide = tmp_path / "w.csv"
    wide.write_text("date,NVDA,../x\n2026-01-29,192.3,1.0\n", encoding="utf-8")
    with pytest.raises(PriceError, match=r"w\.csv:line 1: column 3 '\.\./x' is not a Yahoo symbol$"):
        read_price_file(wide)
    pd.DataFrame({"date": pd.to_datetime(["2026-01-29"]), "NVDA": [192.3], "EUR/USD": [1.19]}).to_parquet(
        tmp_path / "w.parquet")
    with pytest.raises(PriceError, match=r"w\.parquet: column 3 'EUR/USD' is not a Yahoo symbol$"):
        read_price_file(tmp_path / "w.parquet")
    pd.DataFrame({"ticker": ["NVDA", "A B"], "date": pd.to_datetime(["2026-01-29"] * 2),
                  "close": [192.3, 1.0]}).to_parquet(tmp_path / "l.parquet")
    with pytest.raises(PriceError, match=r"l\.parquet:row 2: ticker 'A B' is not a Yahoo symbol$"):
        read_price_file(tmp_path / "l.parquet")


def test_yahoo_symbols_of_every_kind_load_from_files(con, tmp_path):
    tickers = ["GC=F", "^GSPC", "0700.HK", "600519.SS", "BRK-B", "@FED", "EURUSD=X", "DX-Y.NYB", "M&M.NS",
               "000001.SZ", "005930.KS", "7203.T"]
    long = tmp_path / "long.csv"
    rows = "".join(f"{t},2026-01-29,{i + 1}\n" for i, t in enumerate(tickers))
    long.write_text("ticker,date,close\n" + rows, encoding="utf-8")
    wide = tmp_path / "wide.csv"
    wide.write_text("date," + ",".join(tickers) + "\n2026-01-30," + ",".join("1" * len(tickers)) + "\n",
                    encoding="utf-8")
    report = load_files(con, [long, wide])
    assert report.rows == 2 * len(tickers)
    stored = con.execute("SELECT DISTINCT ticker FROM prices").fetchall()
    assert sorted(stored) == sorted((t,) for t in tickers)


def test_prices_load_with_a_ticker_that_is_no_yahoo_symbol_is_one_error_and_loads_nothing(
        tmp_path, db_path, capsys):
    from signals.cli import main

    good = tmp_path / "a.csv"
    good.write_text("ticker,date,close\nNVDA,2026-01-29,192.3\n", encoding="utf-8")
    bad = tmp_path / "b.csv"
    bad.write_text("ticker,date,close\n../x,2026-01-29,1.0\n", encoding="utf-8")
    assert main(["--db", str(db_path), "prices", "load", str(good), str(bad)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"error: {bad}:line 2: ticker '../x' is not a Yahoo symbol"
    assert lines[1].startswith("hint: use Yahoo symbols") and len(lines) == 2
    with store.opened(db_path) as c:
        assert c.execute("SELECT count(*) FROM prices").fetchone()[0] == 0


@pytest.mark.parametrize("ticker", ["BRK B", "NV DA"])
def test_a_ticker_with_a_space_inside_is_no_yahoo_symbol_for_fetch_either(con, ticker):
    # normalize_ticker drops spaces: `prices fetch "BRK B"` asked Yahoo for BRKB, another company
    src = CountingSource([FIXTURES / "wide_closes.csv"])
    with pytest.raises(PriceError, match="not a Yahoo symbol"):
        ensure_prices(con, [ticker], D(2026, 2, 12), D(2026, 2, 13), source=src)
    assert src.calls == []


def test_a_fetched_row_without_a_date_is_dropped_as_such_not_as_outside_the_dates_asked() -> None:
    from signals.prices import _drop_bad_rows

    frame = pd.DataFrame({"ticker": ["A"] * 3, "date": pd.to_datetime(["2026-01-27", None, "2026-02-05"]),
                          "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "adj_close": 1.0,
                          "volume": 1.0})
    kept, dropped, _ = _drop_bad_rows(frame, "test", pd.Timestamp("2026-03-01"),
                                      asked=(dt.date(2026, 1, 26), dt.date(2026, 1, 30)))
    assert kept["date"].tolist() == [pd.Timestamp("2026-01-27")]
    assert dropped["A"].startswith("2 of 3 rows dropped: 1 no date")
    assert "1 outside 2026-01-26..2026-01-30, the dates asked (2026-02-05)" in dropped["A"]
