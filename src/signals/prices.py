"""Price sources behind one interface, and the DuckDB price cache.

Why it looks like this:
- Every source (Yahoo via yfinance, CSV/Parquet files) returns the same long frame
  (ticker, date, open, high, low, close, adj_close, volume), so tests and offline runs use files
  and nothing downstream knows where prices came from.
- ``price_requests`` logs what was asked of a source; ``ensure_prices`` asks only for the ranges
  nobody asked for yet, so a second run touches the network for new days only.
- yfinance reports a failed ticker as NaN columns plus a log line instead of raising, and does not
  retry rate limits: ``YFinanceSource`` reads those log lines, names failed tickers and retries
  the transient ones with exponential backoff.
- On a dead network yfinance spends ~0.25 s per ticker before calling each one "possibly
  delisted": ``YFinanceSource`` first checks once that Yahoo's host resolves and accepts a
  connection, and fails every ticker at once with the reason when it does not.
- Files and fetched prices are judged by one set of row rules (``check_price_rows``): a file is
  refused at its first bad row (its author can fix it), a fetch drops each bad row and counts them
  per ticker (nobody can fix Yahoo's data, and the other tickers' rows must not be lost with it).
"""

from __future__ import annotations

import ast
import contextlib
import csv
import datetime as dt
import gc
import logging
import os
import re
import socket
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from signals import store
from signals.entities import normalize_ticker  # the project's one ticker spelling
from signals.errors import PriceError, ReferenceDataError

PRICE_COLUMNS = ["ticker", "date", "open", "high", "low", "close", "adj_close", "volume"]
_VALUE_COLUMNS = ["open", "high", "low", "close", "adj_close", "volume"]
_PRICE_FIELDS = ["open", "high", "low", "close", "adj_close"]

Progress = Callable[[int], None]  # called with the number of tickers just finished


# --- the source interface ------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchResult:
    """Rows a source returned (long format, PRICE_COLUMNS) and the tickers it failed on, with why.

    A ticker in neither is *empty*: the source answered but had no rows in the range (holidays,
    not listed yet).
    """

    frame: pd.DataFrame
    failures: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class PriceSource(Protocol):
    name: str

    def fetch(self, tickers: Sequence[str], start: dt.date, end: dt.date) -> FetchResult:
        """Daily bars for ``tickers`` from ``start`` to ``end``, both inclusive."""
        ...


def empty_frame() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in PRICE_COLUMNS})
    frame["ticker"] = frame["ticker"].astype("object")
    frame["date"] = pd.Series(dtype="datetime64[s]")
    return frame


# --- yfinance ------------------------------------------------------------------------------------

# Error texts worth another try: rate limits and network trouble, not unknown tickers.
_TRANSIENT = ("ratelimit", "rate limit", "too many requests", "timed out", "timeout", "connection",
              "temporarily", "502", "503", "504", "curl: (")
# yfinance's answer for a real ticker with no bars in the range (holidays, before listing).
_NO_ROWS = "no price data found"
_RANGE_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}\.\.\d{4}-\d{2}-\d{2}: ")  # FetchReport.failures values
_YF_FAILED_LINE = re.compile(r"^(\[.*?\]): (.*)$", re.S)
_YF_COLUMNS = {"open": "open", "high": "high", "low": "low", "close": "close", "adj close": "adj_close",
               "adj_close": "adj_close", "volume": "volume"}


def _is_transient(message: str) -> bool:
    text = message.lower()
    return any(k in text for k in _TRANSIENT)


class _YFErrorLog(logging.Handler):
    """Collects the per-ticker failures yfinance logs (``['AAA', 'BBB']: reason``) during a download."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.errors: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        m = _YF_FAILED_LINE.match(record.getMessage())
        if not m:
            return
        with contextlib.suppress(ValueError, SyntaxError):
            for ticker in ast.literal_eval(m.group(1)):
                self.errors[str(ticker).upper()] = m.group(2).strip()


@contextlib.contextmanager
def _capture_yf_errors() -> Iterator[_YFErrorLog]:
    logger = logging.getLogger("yfinance")
    handler = _YFErrorLog()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def yfinance_frame_to_long(data: pd.DataFrame | None, tickers: Sequence[str]) -> pd.DataFrame:
    """yf.download(group_by="ticker") output (columns Ticker x Price) to the long PRICE_COLUMNS frame.

    Rows without any price are dropped: yfinance pads every ticker to the union of all tickers'
    dates, so a Shanghai stock gets NaN rows on US-only trading days, and failed tickers are all NaN.
    A row with a price but no close is kept, for ``check_price_rows`` to count when it drops it.
    """
    if data is None or data.empty:
        return empty_frame()
    if not isinstance(data.columns, pd.MultiIndex):
        if len(tickers) != 1:
            raise PriceError("yfinance returned single-level columns for several tickers")
        data = pd.concat({tickers[0]: data}, axis=1)
    names = list(data.columns.names)
    level = names.index("Ticker") if "Ticker" in names else 0
    parts = []
    for ticker in data.columns.get_level_values(level).unique():
        sub = data.xs(ticker, axis=1, level=level)
        sub = sub.rename(columns=lambda c: _YF_COLUMNS.get(str(c).strip().lower(), str(c)))
        sub = sub.reindex(columns=_VALUE_COLUMNS)
        sub = sub[sub[_PRICE_FIELDS].notna().any(axis=1)]
        if sub.empty:
            continue
        index = pd.DatetimeIndex(sub.index)
        if index.tz is not None:
            index = index.tz_localize(None)  # the exchange's wall-clock date is the trading date
        parts.append(sub.assign(ticker=str(ticker).upper(), date=index.normalize()).reset_index(drop=True))
    if not parts:
        return empty_frame()
    frame = pd.concat(parts, ignore_index=True)[PRICE_COLUMNS]
    frame[_VALUE_COLUMNS] = frame[_VALUE_COLUMNS].astype("float64")
    return frame


YAHOO_HOST = ("query2.finance.yahoo.com", 443)  # where yfinance asks for bars and time zones
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy")


def yahoo_unreachable(timeout: float = 5.0) -> str | None:
    """Why Yahoo cannot be reached from here (its name does not resolve, or it refuses or times out
    a TCP connection), or None. Behind a proxy a direct connection proves nothing: None."""
    if any(os.environ.get(name) for name in _PROXY_VARS):
        return None
    host, port = YAHOO_HOST
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except socket.gaierror as exc:
        return f"not fetched: cannot resolve {host} ({exc.strerror or exc})"
    except OSError as exc:
        why = exc.strerror or str(exc) or type(exc).__name__
        return f"not fetched: cannot connect to {host}:{port} ({why})"
    return None


class YFinanceSource:
    """Yahoo Finance daily bars via ``yf.download``, close and adjusted close both kept.

    ``download`` and ``sleep`` are injectable so tests replay recorded frames without the network.
    ``probe`` says why Yahoo is unreachable (or None); it runs once per source, before the first
    download. Default: ``yahoo_unreachable`` with the real yfinance, none with an injected ``download``.
    """

    name = "yfinance"

    def __init__(self, *, download: Callable[..., pd.DataFrame] | None = None,
                 sleep: Callable[[float], None] = time.sleep, retries: int = 4, backoff: float = 2.0,
                 chunk_size: int = 100, probe: Callable[[], str | None] | None = None) -> None:
        self._download = download
        self._sleep = sleep
        self.retries = retries
        self.backoff = backoff
        self.chunk_size = chunk_size
        self._probe = probe if probe is not None or download is not None else yahoo_unreachable
        self._unreachable: str | None = None
        self._probed = False

    def unreachable(self) -> str | None:
        """The probe's answer, asked once: a command fetching many ranges pays for one check."""
        if not self._probed and self._probe is not None:
            self._unreachable = self._probe()
        self._probed = True
        return self._unreachable

    def _downloader(self) -> Callable[..., pd.DataFrame]:
        if self._download is None:
            import yfinance as yf  # slow import: only when prices are really fetched

            self._download = yf.download
        return self._download

    def _download_once(self, tickers: list[str], start: dt.date, end: dt.date
                       ) -> tuple[pd.DataFrame, dict[str, str]]:
        download = self._downloader()
        # yfinance's own use of pandas raises deprecation warnings (DataFrame.rename(inplace=...) under
        # pandas 3): not the user's business, and one per chunk flooded stderr
        with _capture_yf_errors() as log, warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            try:
                data = download(tickers, start=start.isoformat(),
                                end=(end + dt.timedelta(days=1)).isoformat(),  # yfinance's end is exclusive
                                auto_adjust=False, actions=False, group_by="ticker", threads=True,
                                progress=False)
            except Exception as exc:  # yfinance raises many types; the message decides retry or not
                reason = f"{type(exc).__name__}: {exc}"
                return empty_frame(), {t: reason for t in tickers}
        return yfinance_frame_to_long(data, tickers), log.errors

    def fetch(self, tickers: Sequence[str], start: dt.date, end: dt.date) -> FetchResult:
        frames: list[pd.DataFrame] = []
        failures: dict[str, str] = {}
        wanted = list(dict.fromkeys(t.upper() for t in tickers))
        if wanted and (reason := self.unreachable()):
            return FetchResult(empty_frame(), {t: reason for t in wanted})
        for i in range(0, len(wanted), self.chunk_size):
            frame, failed = self._fetch_chunk(wanted[i:i + self.chunk_size], start, end)
            frames.append(frame)
            failures.update(failed)
        frame = pd.concat(frames, ignore_index=True) if frames else empty_frame()
        return FetchResult(frame, failures)

    def _fetch_chunk(self, tickers: list[str], start: dt.date, end: dt.date
                     ) -> tuple[pd.DataFrame, dict[str, str]]:
        frames: list[pd.DataFrame] = []
        failures: dict[str, str] = {}
        pending = tickers
        for attempt in range(self.retries + 1):
            frame, errors = self._download_once(pending, start, end)
            frames.append(frame)
            got = set(frame["ticker"])
            retry = []
            for t in pending:
                reason = errors.get(t)
                if t in got or reason is None or _NO_ROWS in reason.lower():
                    continue  # rows, or an honest "nothing in this range"
                if _is_transient(reason) and attempt < self.retries:
                    retry.append(t)
                else:
                    failures[t] = reason if attempt == 0 else f"{reason} (after {attempt + 1} attempts)"
            if not retry:
                break
            self._sleep(self.backoff * 2 ** attempt)
            pending = retry
        return pd.concat(frames, ignore_index=True), failures


# --- what a usable price row is: one set of rules for files and fetched prices -------------------

# Price dates are taken within these years, as feed dates are: a close dated 2300 is a typo, and
# settling days 0 in nanoseconds (which end in 2262) failed on it for every later command.
_DATE_RANGE = (pd.Timestamp("1900-01-01"), pd.Timestamp("2199-12-31"))


@dataclass(frozen=True)
class RowCheck:
    """Which rows of a long price frame break which rule: boolean Series over the frame's index.

    A file refuses the first bad row with its file:line; a fetch drops every bad row and counts them
    per ticker (``_drop_bad_rows``): nobody can correct Yahoo's data, and one ticker's bad bar must
    not cost the others their rows.
    """

    no_close: pd.Series  # a row with some price but no close
    repeated: pd.Series  # a (ticker, date) seen before in the frame
    conflicting: pd.Series  # every row of a (ticker, date) whose repeats differ in some value
    outside_dates: pd.Series  # a date outside 1900..2199
    future: pd.Series  # a date after ``latest`` (only when it is given)
    infinite: pd.Series  # inf or -inf in a price or the volume (NaN is a missing value, allowed)
    not_positive: pd.Series  # a price <= 0, not a future's
    futures_not_positive: pd.Series  # a future's price <= 0: WTI (CL=F) settled at -37.63 on 2020-04-20
    negative_volume: pd.Series  # a volume < 0, futures' too (0 is a day without trades)

    def reasons(self) -> pd.Series:
        """Per row, the first rule it breaks in the order a file is checked (None: a usable row)."""
        reason = pd.Series(None, index=self.no_close.index, dtype="object")
        for mask, why in ((self.negative_volume, "negative volume"),
                          (self.not_positive, "non-positive price"), (self.infinite, "non-finite value"),
                          (self.future, "date after today"),
                          (self.outside_dates, "date outside 1900..2199"),
                          (self.repeated | self.conflicting, "repeated date"),
                          (self.no_close, "without a close")):
            reason = reason.mask(mask, why)  # the last written is the first rule broken
        return reason


def check_price_rows(frame: pd.DataFrame, *, latest: pd.Timestamp | None = None) -> RowCheck:
    """Judge every row of a long PRICE_COLUMNS frame (``date`` as datetimes) by the rules both
    ``prices load`` and a fetch apply. ``latest``: the last date a row may have (a live source cannot
    know tomorrow's close; files may hold any date in 1900..2199)."""
    dates = pd.to_datetime(frame["date"])
    values = frame[_VALUE_COLUMNS].astype("float64")
    prices = values[_PRICE_FIELDS]
    infinite = pd.Series(np.isinf(values.to_numpy()).any(axis=1), index=frame.index)
    not_positive = (prices <= 0).any(axis=1)
    futures = frame["ticker"].astype(str).str.endswith("=F")
    keys = ["ticker", "date"]
    # rows without a date (a fetch's NaT; a file's are refused before) share no date: not repeats
    dated = dates.notna()
    twice = frame.duplicated(keys, keep=False) & dated
    conflicting = pd.Series(False, index=frame.index)
    if twice.any():
        variants = frame[twice].drop_duplicates([*keys, *_VALUE_COLUMNS]).groupby(keys).size()
        differ = variants[variants > 1].index
        conflicting = pd.Series(pd.MultiIndex.from_frame(frame[keys]).isin(differ), index=frame.index)
    return RowCheck(
        no_close=frame["close"].isna() & prices.notna().any(axis=1),
        repeated=frame.duplicated(keys, keep="first") & dated,
        conflicting=conflicting,
        outside_dates=(dates < _DATE_RANGE[0]) | (dates > _DATE_RANGE[1]),
        future=dates > latest if latest is not None else pd.Series(False, index=frame.index),
        infinite=infinite,
        not_positive=not_positive & ~futures,
        futures_not_positive=not_positive & futures,
        negative_volume=values["volume"] < 0,
    )


def _drop_bad_rows(frame: pd.DataFrame, where: str, latest: pd.Timestamp,
                   asked: tuple[dt.date, dt.date] | None = None
                   ) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """The usable rows of a fetched frame; per ticker that lost rows, what was dropped and why
    (``3 of 5 rows dropped: 1 non-positive price (2026-01-27), …``); and the warnings for futures
    prices <= 0, which are kept as a file keeps them.

    ``asked``: the dates asked for. A row the source sent outside them is dropped too and counted
    first (`1 outside 2026-01-26..2026-01-30, the dates asked (2026-01-31)`), whatever else it breaks:
    it was dropped without a word, and `N of M rows` counted only the rows inside."""
    check = check_price_rows(frame, latest=latest)
    reasons = check.reasons()
    if asked is not None:
        dates = pd.to_datetime(frame["date"])
        inside = dates.between(pd.Timestamp(asked[0]), pd.Timestamp(asked[1]))
        reasons = reasons.mask(~inside & dates.notna(), f"outside {asked[0]}..{asked[1]}, the dates asked")
        reasons = reasons.mask(dates.isna() & reasons.isna(), "no date")  # not "outside" anything
    bad = reasons.notna()
    dropped: dict[str, str] = {}
    for ticker, rows in frame[bad].assign(reason=reasons[bad]).groupby("ticker", sort=True):
        total = int((frame["ticker"] == ticker).sum())
        parts = []
        for why, group in rows.groupby("reason", sort=False):
            # the first dates as examples; a row without one has none to show (it showed `(NaT)`)
            dates = sorted(group["date"].dropna())
            days = ", ".join(str(pd.Timestamp(d).date()) for d in dates[:3])
            days += ", …" if len(dates) > 3 else ""
            parts.append(f"{len(group)} {why}" + (f" ({days})" if days else ""))
        dropped[str(ticker)] = f"{len(rows)} of {total} rows dropped: {', '.join(parts)}"
    kept = frame[~bad]
    futures = _futures_warnings(kept, check.futures_not_positive[~bad], where)
    return kept, dropped, futures


# --- files ---------------------------------------------------------------------------------------

_HEADER_ALIASES = {"symbol": "ticker", "ticker": "ticker", "date": "date", "open": "open", "high": "high",
                   "low": "low", "close": "close", "adj_close": "adj_close", "adjclose": "adj_close",
                   "adjusted_close": "adj_close", "volume": "volume"}
# A whole date cell: 2026-01-29, 2026/1/29 (one separator throughout), 20260129 (exactly eight
# digits: 202611 is not 2026-01-01), optionally an ISO time and zone after it. Anything else in the
# cell is refused rather than guessed around.
_DATE_CELL = re.compile(
    r"^\s*(?P<y>\d{4})(?:(?P<sep>[-/])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})|(?P<m8>\d{2})(?P<d8>\d{2}))"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s?(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?))?)?\s*$")


def _header_key(name: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


@dataclass(frozen=True)
class _Table:
    frame: pd.DataFrame  # PRICE_COLUMNS plus "line": source line (CSV) or row number (Parquet)
    warnings: list[str]


def _read_table(path: Path) -> tuple[pd.DataFrame, str]:
    """Raw table and what a row position is called in messages (CSV line or Parquet row)."""
    if not path.exists():
        raise PriceError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            _check_unique_columns(pq.read_schema(path).names, path, "row")  # pandas cannot read them
            return _dates_from_index(pd.read_parquet(path)), "row"
        if suffix in (".csv", ".txt"):
            frame = _read_csv_text(path)
            _check_unique_columns(_csv_header(path), path, "line")  # pandas renamed a repeat NVDA.1
            return frame, "line"
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise PriceError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from None
    raise PriceError(f"{path}: unknown price file type {suffix!r}", hint="use .csv or .parquet")


def _is_date_name(name: object) -> bool:
    return _HEADER_ALIASES.get(_header_key(name)) == "date"


def _dates_from_index(frame: pd.DataFrame) -> pd.DataFrame:
    """The date column of a frame saved with its dates as the index (pandas and yfinance: a
    DatetimeIndex named Date). pyarrow stores the index as a column (Date, or __index_level_0__ when
    unnamed) that pandas reads back as the index; without pandas' metadata it stays that column."""
    if any(_is_date_name(c) for c in frame.columns):
        return frame
    index_column = frame.get("__index_level_0__")
    if index_column is not None and pd.api.types.is_datetime64_any_dtype(index_column):
        return frame.rename(columns={"__index_level_0__": "date"})
    if isinstance(frame.index, pd.DatetimeIndex) or _is_date_name(frame.index.name or ""):
        return frame.rename_axis("date").reset_index()
    return frame


def _csv_header(path: Path) -> list[str]:
    """The header's names as written: pandas' readers rename a repeated name (NVDA, NVDA.1)."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        return next(csv.reader(handle), [])


def _check_unique_columns(names: Sequence[str], path: Path, unit: str) -> None:
    """A repeated column is an error: a second NVDA became a made-up ticker NVDA.1. Names count as
    the same when they only differ in case or padding (Close, close) or are aliases (Adj Close,
    adjclose). A long file's columns it ignores anyway, and unnamed ones, may repeat."""
    keys = [_HEADER_ALIASES.get(k, k) for k in map(_header_key, names)]
    long = "ticker" in keys
    first: dict[str, int] = {}
    for i, (name, key) in enumerate(zip(names, keys, strict=True), start=1):
        if not key or (long and key not in _HEADER_ALIASES.values()):
            continue
        if key in first:
            j = first[key]
            a, b = str(names[j - 1]).strip(), str(name).strip()
            meaning = key if key in _HEADER_ALIASES.values() else f"ticker {b.upper()}"
            what = f"column {b!r} appears twice" if a == b else f"columns {a!r} and {b!r} both mean {meaning}"
            raise PriceError(f"{_header_where(path, unit)}: {what} (columns {j} and {i})",
                             hint="give each ticker or field one column")
        first[key] = i


def _read_csv_text(path: Path) -> pd.DataFrame:
    """Every cell as text. pyarrow's reader is ~8x faster than pandas' own (500,000 rows: 2.3 -> 0.3 s)
    but cannot skip spaces after a delimiter: a file with them in its first 64 KB (header names
    included), or one pyarrow cannot read, goes to pandas' reader, whose errors the messages quote.
    Padding further down is harmless: numbers, dates and tickers are stripped when parsed."""
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    if not re.search(rb",[ \t]", head):
        with contextlib.suppress(Exception):  # any trouble: the reader whose messages we know
            return pd.read_csv(path, dtype=str, keep_default_na=False, engine="pyarrow")
    return _read_csv_careful(path)


def _read_csv_careful(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.ParserError:
        _refuse_long_rows(path)
        raise
    if not isinstance(frame.index, pd.RangeIndex):
        # a first row longer than the header: pandas silently made its first cells the index and
        # shifted the rest (`line nan: unparseable date '2'`)
        _refuse_long_rows(path)
    return frame


def _refuse_long_rows(path: Path) -> None:
    """``PriceError`` naming the first row with more fields than the header, if there is one."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle, skipinitialspace=True)
        header = next(reader, [])
        _refuse_other_separators(header, path)  # its decimal commas are no reason to quote
        for row in reader:
            if len(row) > len(header):
                raise PriceError(f"{path}:line {reader.line_num}: {len(row)} fields, the header has "
                                 f"{len(header)}", hint="a value with a comma needs quotes; the header names "
                                                        "every column")


def _refuse_other_separators(names: Sequence[object], path: Path) -> None:
    """``PriceError`` for a header that is one name holding ';' or tabs: a file whose fields are
    separated so (a European spreadsheet's CSV, with decimal commas) was blamed on unquoted commas
    (`line 2: 3 fields, the header has 1`) or lacked a date column."""
    if len(names) == 1:
        for sep, what in ((";", "';'"), ("\t", "tabs")):
            if sep in str(names[0]):
                raise PriceError(f"{path}:line 1: the fields are separated by {what}, not commas",
                                 hint="save it as comma-separated CSV, with decimal points (1.5, not 1,5)")


def _parse_dates(values: pd.Series, path: Path, lines: pd.Series, unit: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_localize(None)
        parsed = values.dt.normalize()
    else:
        # ISO dates, nearly every file, parse in C; the regex reads the other spellings it allows
        # (2025/1/2, 20250102, a time after the date) for the cells left over (500k rows: 2.6 -> 0.2 s)
        parsed = pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
        rest = parsed.isna()
        if rest.any():
            text = values[rest].astype("string").fillna("")
            parts = text.str.extract(_DATE_CELL)
            month, day = parts["m"].fillna(parts["m8"]), parts["d"].fillna(parts["d8"])
            iso = parts["y"] + "-" + month.str.zfill(2) + "-" + day.str.zfill(2)
            parsed[rest] = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce")
    bad = parsed.isna()
    if bad.any():
        i = bad.to_numpy().nonzero()[0][0]
        raise PriceError(f"{path}:{unit} {lines.iloc[i]}: unparseable date {values.iloc[i]!r}",
                         hint="write dates as YYYY-MM-DD")
    return parsed.astype("datetime64[s]")


def _parse_numbers(frame: pd.DataFrame, columns: list[str], path: Path, unit: str) -> pd.DataFrame:
    for col in columns:
        raw = frame[col]
        if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
            frame[col] = raw.astype("float64")  # Parquet: already typed
            continue
        plain = _plain_floats(raw)
        if plain is not None:
            frame[col] = plain
            continue
        text = raw.astype("string").str.strip()
        text = text.mask(text.str.lower().isin(_MISSING_WORDS))
        # commas only as thousands separators (1,234.5): a decimal comma ("1,5") read as 15
        grouped = text.str.fullmatch(_THOUSANDS, na=False)
        nums = pd.to_numeric(text.where(~grouped, text.str.replace(",", "", regex=False)), errors="coerce")
        bad = nums.isna() & text.notna()
        if bad.any():
            i = bad.to_numpy().nonzero()[0][0]
            raise PriceError(f"{path}:{unit} {frame['line'].iloc[i]}: {col} {raw.iloc[i]!r} is not a number",
                             hint=_decimal_comma_hint(str(text.iloc[i])))
        frame[col] = nums.astype("float64")
    return frame


def _plain_floats(raw: pd.Series) -> pd.Series | None:
    """``raw`` as float64 when every cell is a plain number or empty, parsed by Arrow's cast in C++
    (~6x faster than pd.to_numeric: 500,000 rows of six columns 2 s -> 0.4 s); None when a cell
    needs the careful reading above (padding, thousands separators, words for missing)."""
    try:
        cells = pa.array(raw, from_pandas=True)
        if not pa.types.is_string(cells.type) and not pa.types.is_large_string(cells.type):
            return None
        cells = pc.if_else(pc.equal(cells, ""), pa.scalar(None, cells.type), cells)
        values = pc.cast(cells, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    return pd.Series(values, index=raw.index, dtype="float64")


# Value cells that say "no value", in any case: what R (NA), Excel (#N/A), databases (NULL), pandas
# (nan) and FRED (.) write for one. Only value cells: a ticker cell or a wide header NA is Nano Labs.
_MISSING_WORDS = ("", "na", "n/a", "#n/a", "nan", "null", "none", "nil", "-", "--", ".")
_THOUSANDS = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?(?:[eE][+-]?\d+)?"
_DECIMAL_COMMA = re.compile(r"([+-]?)(\d+(?:\.\d{3})*),(\d+)")  # 1,5 and 1.234,56: European numbers


def _decimal_comma_hint(cell: str) -> str | None:
    """What a number written with a decimal comma should read, for the error that refuses it."""
    match = _DECIMAL_COMMA.fullmatch(cell)
    if match is None:
        return None
    sign, whole, fraction = match.groups()
    number = f"{sign}{whole.replace('.', '')}.{fraction}"
    return f"a decimal comma? write {number} for {cell}: a comma is read only between thousands (1,234.5)"


def _long_from_wide(raw: pd.DataFrame, columns: dict[str, str], path: Path, unit: str) -> pd.DataFrame:
    """date + one column of closes per ticker -> long rows; blank cells are days that ticker did not trade."""
    date_col = next(orig for orig, key in columns.items() if key == "date")
    value_cols = [c for c in raw.columns if c != date_col]
    if not value_cols:
        raise PriceError(f"{path}: no price columns besides {date_col!r}")
    _check_not_fields(value_cols, path, unit)
    _check_ticker_headers(raw, value_cols, path, unit)
    frame = raw[[date_col, *value_cols]].copy()
    frame["line"] = _positions(len(frame), unit)
    frame = _parse_numbers(frame, value_cols, path, unit)
    frame = frame.rename(columns={date_col: "date"})
    long = frame.melt(id_vars=["date", "line"], var_name="ticker", value_name="close")
    long = long.dropna(subset=["close"])
    long["ticker"] = long["ticker"].astype(str)
    for col in ("open", "high", "low", "adj_close", "volume"):
        long[col] = float("nan")
    return long.reset_index(drop=True)


# Wide-file headers that name a price field, never a ticker. OPEN (Opendoor) and LOW (Lowe's) are
# listed tickers, so open and low alone do not make a file one ticker's fields.
_FIELDS_NOT_TICKERS = {"high", "close", "adj_close", "volume"}


def _header_where(path: Path, unit: str) -> str:
    return f"{path}:line 1" if unit == "line" else str(path)


def _check_not_fields(value_cols: list, path: Path, unit: str) -> None:
    """A file without a ticker column whose headers are Open, High, Low, Close, Adj Close, Volume (a
    Yahoo download) is one ticker's bars, not closes of tickers named CLOSE and VOLUME."""
    keys = {c: _HEADER_ALIASES.get(_header_key(c), "") for c in value_cols}
    if not _FIELDS_NOT_TICKERS & set(keys.values()):
        return
    fields = ", ".join(str(c) for c, k in keys.items() if k in _VALUE_COLUMNS)
    raise PriceError(f"{_header_where(path, unit)}: columns {fields} are price fields, not tickers: this "
                     "looks like one ticker's prices without a ticker column",
                     hint="add a ticker (or symbol) column with the ticker on every row: "
                     "ticker,date,open,high,low,close,adj_close,volume")


# pandas names a column with an empty header "Unnamed: <position>"
_EMPTY_HEADER = re.compile(r"(?:Unnamed: \d+)?")


def _check_ticker_headers(raw: pd.DataFrame, value_cols: list, path: Path, unit: str) -> None:
    """A wide column headed NULL or N/A, or with no header, has no ticker to file its closes under."""
    names = pd.Series([str(c).strip() for c in value_cols], dtype="string")
    blank = names.str.fullmatch(_EMPTY_HEADER.pattern).fillna(False).to_numpy()
    if blank.any():
        column = raw.columns.get_loc(value_cols[int(blank.nonzero()[0][0])]) + 1
        raise PriceError(f"{_header_where(path, unit)}: column {column} has no header",
                         hint="every column besides the date needs a ticker as its header")
    missing = _no_ticker(names)
    if missing.any():
        name = names[missing].iloc[0]
        column = raw.columns.get_loc(value_cols[int(missing.to_numpy().nonzero()[0][0])]) + 1
        raise PriceError(f"{_header_where(path, unit)}: column {column} {name!r} names no ticker",
                         hint=_no_ticker_hint(name, "every column besides the date"))
    for i, name in enumerate(names):
        try:
            symbol = normalize_ticker(name)
        except ReferenceDataError:
            continue  # named with its first row when the tickers are normalised, as in a long file
        if not is_yahoo_symbol(name, symbol):
            column = raw.columns.get_loc(value_cols[i]) + 1
            raise PriceError(f"{_header_where(path, unit)}: column {column} {name!r} is not a Yahoo symbol",
                             hint=_symbol_hint(symbol))


def _positions(n: int, unit: str) -> pd.Series:
    # CSV line numbers count the header line; Parquet rows are 1-based
    return pd.Series(range(2, n + 2) if unit == "line" else range(1, n + 1))


def read_price_file(path: str | Path) -> _Table:
    """One CSV/Parquet price file, long or wide, validated and normalised to PRICE_COLUMNS + line."""
    path = Path(path)
    raw, unit = _read_table(path)
    columns = {c: _HEADER_ALIASES.get(_header_key(c), "") for c in raw.columns}
    keys = set(columns.values())
    warnings: list[str] = []
    if "date" not in keys:
        if unit == "line":
            _refuse_other_separators(list(raw.columns), path)
        raise PriceError(f"{path}: no date column", hint="long format: ticker,date,open,high,low,close,"
                         "adj_close,volume; wide format: date plus one column of closes per ticker")
    if "ticker" in keys:
        if "close" not in keys:
            raise PriceError(f"{path}: no close column")
        ignored = [c for c, k in columns.items() if not k]
        if ignored:
            warnings.append(f"{path}: ignored columns {', '.join(map(str, ignored))}")
        frame = raw[[c for c, k in columns.items() if k]].rename(columns=columns).copy()
        for col in _VALUE_COLUMNS:
            if col not in frame:
                frame[col] = None
        frame["line"] = _positions(len(frame), unit)
        frame = _parse_numbers(frame, _VALUE_COLUMNS, path, unit)
        frame["ticker"] = frame["ticker"].astype("string").fillna("").str.strip()
        _check_tickers_present(frame, path, unit)
        no_close = frame["close"].isna()
        if no_close.any():
            warnings.append(f"{path}: {int(no_close.sum())} rows without a close skipped "
                            f"(first at {unit} {frame['line'][no_close].iloc[0]})")
            frame = frame[~no_close]
    else:
        frame = _long_from_wide(raw, columns, path, unit)
    frame["date"] = _parse_dates(frame["date"], path, frame["line"], unit)
    frame = _normalize_tickers(frame, path, unit, warnings)
    check = check_price_rows(frame)  # the rules fetched rows are judged by too; a file refuses a bad row
    _check_duplicates(frame, check, path, unit)
    _check_date_range(frame, check, path, unit)
    _check_finite(frame, check, path, unit)
    _check_positive(frame, check, path, unit, warnings)
    _check_volume(frame, check, path, unit)
    frame = frame.sort_values(["ticker", "date"], kind="stable").reset_index(drop=True)
    return _Table(frame[[*PRICE_COLUMNS, "line"]], warnings)


# Ticker cells that mean "no value" (what pandas, Excel and databases write for one), in any case;
# nan and na only when not in capitals: NAN (a Nuveen fund) and NA (Nano Labs) are listed tickers.
_NO_TICKER = {"", "null", "none", "nil", "n/a", "#n/a", "-", "--", "."}
_NO_TICKER_UNLESS_CAPITALS = {"nan", "na"}


def _no_ticker(text: pd.Series) -> pd.Series:
    # judged once per distinct cell: a long file repeats a few tickers many times
    missing = [t for t in text.unique() if isinstance(t, str) and (
        t.lower() in _NO_TICKER or (t.lower() in _NO_TICKER_UNLESS_CAPITALS and t != t.upper()))]
    return text.isin(missing)


def _no_ticker_hint(cell: str, needs: str = "every row") -> str:
    hint = f"{needs} needs a ticker"
    return hint + ("; NAN and NA in capitals are the listed tickers" if cell.lower() in
                   _NO_TICKER_UNLESS_CAPITALS else "")


def _check_tickers_present(frame: pd.DataFrame, path: Path, unit: str) -> None:
    """A missing ticker is an error, not a ticker: NULL, nan and N/A were loaded as NULL, NAN, N-A."""
    missing = _no_ticker(frame["ticker"])
    if not missing.any():
        return
    cell = frame["ticker"][missing].iloc[0]
    what = "empty ticker" if cell == "" else f"missing ticker {cell!r}"
    raise PriceError(f"{path}:{unit} {frame['line'][missing].iloc[0]}: {what}", hint=_no_ticker_hint(cell))


def _normalize_tickers(frame: pd.DataFrame, path: Path, unit: str, warnings: list[str]) -> pd.DataFrame:
    originals = frame["ticker"].astype(str)
    mapping = {}
    for t in originals.unique():
        try:
            mapping[t] = normalize_ticker(t)
        except ReferenceDataError as exc:
            line = frame["line"][originals == t].iloc[0]
            raise PriceError(f"{path}:{unit} {line}: {exc}", hint=exc.hint) from None
        if not is_yahoo_symbol(t, mapping[t]):  # `prices fetch`'s rule: '../x' and 'EUR/USD' were stored
            line = frame["line"][originals == t].iloc[0]
            raise PriceError(f"{path}:{unit} {line}: ticker {t!r} is not a Yahoo symbol",
                             hint=_symbol_hint(mapping[t]))
    renamed = sorted(f"{a} -> {b}" for a, b in mapping.items() if a != b and a.upper() != b)
    if renamed:
        warnings.append(f"{path}: tickers renamed to Yahoo symbols: {', '.join(renamed)}")
    frame["ticker"] = originals.map(mapping)
    return frame


def _check_duplicates(frame: pd.DataFrame, check: RowCheck, path: Path, unit: str) -> None:
    dup = check.repeated
    if dup.any():
        row = frame[dup].iloc[0]
        first = frame[(frame["ticker"] == row["ticker"]) & (frame["date"] == row["date"])]["line"].iloc[0]
        raise PriceError(f"{path}:{unit} {row['line']}: duplicate row for {row['ticker']} on "
                         f"{row['date'].date()} (first at {unit} {first})")


def _check_date_range(frame: pd.DataFrame, check: RowCheck, path: Path, unit: str) -> None:
    bad = check.outside_dates
    if bad.any():
        row = frame[bad].iloc[0]
        raise PriceError(f"{path}:{unit} {row['line']}: date {pd.Timestamp(row['date']).date()} is outside "
                         "1900..2199", hint="check the date column; prices are daily closes of real sessions")


def _check_finite(frame: pd.DataFrame, check: RowCheck, path: Path, unit: str) -> None:
    bad = check.infinite
    if not bad.any():
        return
    row = frame[bad].iloc[0]
    field_name = next(c for c in _VALUE_COLUMNS if abs(row[c]) == float("inf"))
    raise PriceError(f"{path}:{unit} {row['line']}: non-finite {field_name} {row[field_name]} for "
                     f"{row['ticker']} on {row['date'].date()}", hint="a price must be a finite number; "
                     "leave a missing value blank")


def _check_positive(frame: pd.DataFrame, check: RowCheck, path: Path, unit: str, warnings: list[str]) -> None:
    warnings.extend(_futures_warnings(frame, check.futures_not_positive, str(path)))
    wrong = frame[check.not_positive]
    if not wrong.empty:
        row = wrong.iloc[0]
        field_name = next(c for c in _PRICE_FIELDS if row[c] <= 0)
        raise PriceError(f"{path}:{unit} {row['line']}: non-positive {field_name} {row[field_name]} for "
                         f"{row['ticker']} on {row['date'].date()}")


def _check_volume(frame: pd.DataFrame, check: RowCheck, path: Path, unit: str) -> None:
    bad = check.negative_volume
    if not bad.any():
        return
    row = frame[bad].iloc[0]
    more = int(bad.sum()) - 1
    raise PriceError(f"{path}:{unit} {row['line']}: negative volume {_as_written(row['volume'])} for "
                     f"{row['ticker']} on {row['date'].date()}"
                     + (f" (and {more} more {'row' if more == 1 else 'rows'})" if more else ""),
                     hint="a volume is 0 or more; leave it blank when it is not known")


_EXACT_INTEGERS = 2 ** 53  # every whole number up to this is a float exactly; beyond it, not each one


def _as_written(value: float) -> str:
    """A whole number as the file wrote it: volumes are read as floats (a blank is NaN), and `-5` in a
    file was reported as `negative volume -5.0`. Others as Python writes them (`-2.5`, `-1e+20`).
    Whole numbers up to 2**53, where a float still holds each one exactly: the limit was 1e15, and
    Python writes 1e15 up to 1e16 with a `.0` (`-1000000000000000.0`)."""
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) <= _EXACT_INTEGERS else repr(number)


def _futures_warnings(frame: pd.DataFrame, kept: pd.Series, where: str) -> list[str]:
    """One warning per future with prices <= 0 (kept: oil settled at -37.63 on 2020-04-20), naming
    the fields: a negative open or low leaves the close, which the study reads, positive."""
    out = []
    for ticker, rows in frame[kept].groupby("ticker"):
        days = "; ".join(f"{d.date()} " + ", ".join(f"{c} {row[c]:.6g}" for c in _PRICE_FIELDS
                                                     if row[c] <= 0)
                         for d, (_, row) in zip(rows["date"][:3], rows.iloc[:3].iterrows(), strict=True))
        more = f"; and {len(rows) - 3} more" if len(rows) > 3 else ""
        noun = "row" if len(rows) == 1 else "rows"
        out.append(f"{where}: {ticker} has {len(rows)} {noun} with a price <= 0, kept (futures can "
                   f"settle below zero): {days}{more}")
    return out


class FileSource:
    """Prices from CSV/Parquet files (long or wide format); files are read once, on first use."""

    name = "file"

    def __init__(self, paths: Iterable[str | Path]) -> None:
        self.paths = [Path(p) for p in paths]
        self._tables: list[tuple[Path, _Table]] | None = None

    def tables(self) -> list[tuple[Path, _Table]]:
        if self._tables is None:
            self._tables = [(p, read_price_file(p)) for p in self.paths]
        return self._tables

    def fetch(self, tickers: Sequence[str], start: dt.date, end: dt.date) -> FetchResult:
        frames = [t.frame for _, t in self.tables()]
        all_rows = pd.concat(frames, ignore_index=True) if frames else empty_frame()
        # a later file wins for a (ticker, date) that two files hold, like load_files
        all_rows = all_rows.drop_duplicates(["ticker", "date"], keep="last")
        wanted = list(tickers)  # callers pass Yahoo symbols; file tickers were normalised on reading
        known = set(all_rows["ticker"])
        names = ", ".join(p.name for p in self.paths) or "no files"
        failures = {t: f"not in {names}" for t in wanted if t not in known}
        lo, hi = pd.Timestamp(start), pd.Timestamp(end)
        rows = all_rows[all_rows["ticker"].isin(wanted) & all_rows["date"].between(lo, hi)]
        return FetchResult(rows[PRICE_COLUMNS].reset_index(drop=True), failures)


# --- the cache -----------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def store_prices(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, source: str,
                 fetched_at: dt.datetime | None = None) -> int:
    """INSERT OR REPLACE the long frame in one statement; returns rows written."""
    if frame.empty:
        return 0
    rows = frame[PRICE_COLUMNS].copy()
    rows["source"] = source
    rows["fetched_at"] = fetched_at or _now()
    with store.registered(con, _incoming_prices=rows):
        con.execute(
            "INSERT OR REPLACE INTO prices SELECT ticker, date::DATE, open, high, low, close, adj_close, "
            "volume, source, fetched_at FROM _incoming_prices"
        )
    return len(rows)


def _log_requests(con: duckdb.DuckDBPyConnection, requests: list[dict]) -> None:
    if not requests:
        return
    frame = pd.DataFrame.from_records(requests, columns=["ticker", "start_date", "end_date", "source",
                                                         "requested_at", "status", "message"])
    with store.registered(con, _incoming_requests=frame):
        con.execute("INSERT INTO price_requests SELECT ticker, start_date::DATE, end_date::DATE, source, "
                    "requested_at, status, message FROM _incoming_requests")


@dataclass
class LoadReport:
    files: list[str]
    tickers: pd.DataFrame  # ticker, rows, first, last, file: one row per ticker and file
    rows: int  # (ticker, date) rows stored: a date two files hold is stored once, the later file's
    warnings: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        tickers = self.tickers["ticker"].nunique() if not self.tickers.empty else 0
        return (f"{_count(self.rows, 'price row')} for {_count(tickers, 'ticker')} loaded from "
                f"{_count(len(self.files), 'file')}")

    def __str__(self) -> str:
        return self.summary


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def load_files(con: duckdb.DuckDBPyConnection, paths: Sequence[str | Path]) -> LoadReport:
    """Validate every file first, then store all of them in one transaction (all or nothing)."""
    tables = FileSource(paths).tables()
    warnings = [w for _, t in tables for w in t.warnings]
    summaries = []
    now = _now()
    requests = []
    for path, table in tables:
        for ticker, rows in table.frame.groupby("ticker", sort=True):
            first, last = rows["date"].min().date(), rows["date"].max().date()
            summaries.append({"ticker": ticker, "rows": len(rows), "first": first, "last": last,
                              "file": str(path)})
            requests.append({"ticker": ticker, "start_date": first, "end_date": last,
                             "source": f"file:{path.name}", "requested_at": now, "status": "ok",
                             "message": f"{len(rows)} rows from {path}"})
    keys = pd.concat([t.frame[["ticker", "date"]].assign(file=i) for i, (_, t) in enumerate(tables)],
                     ignore_index=True) if tables else pd.DataFrame(columns=["ticker", "date", "file"])
    warnings += _shared_date_warnings(keys, [p for p, _ in tables])
    with store.transaction(con, join=True):  # alone, or inside the caller's transaction
        for path, table in tables:
            store_prices(con, table.frame, f"file:{path.name}", now)
        _log_requests(con, requests)
    report = pd.DataFrame.from_records(summaries, columns=["ticker", "rows", "first", "last", "file"])
    stored = len(keys) - int(keys.duplicated(["ticker", "date"]).sum())
    return LoadReport([str(p) for p, _ in tables], report, stored, warnings)


def _shared_date_warnings(keys: pd.DataFrame, paths: list[Path]) -> list[str]:
    """One warning per ticker whose dates overlap between files (ticker, date, file: index into
    paths); a ticker split over files without common dates is no conflict."""
    shared = keys[keys.duplicated(["ticker", "date"], keep=False)]
    out = []
    for ticker, rows in shared.groupby("ticker", sort=True):
        files = [str(paths[i]) for i in sorted(rows["file"].unique())]
        dates = sorted(rows["date"].unique())
        days = ", ".join(str(pd.Timestamp(d).date()) for d in dates[:3]) + (", …" if len(dates) > 3 else "")
        if len(files) == 2:
            where, winner = f"both {files[0]} and {files[1]}", files[1]
        else:
            where, winner = ", ".join(files[:-1]) + f" and {files[-1]}", "the later file"
        out.append(f"{ticker} is in {where}; {winner} wins on {_count(len(dates), 'shared date')} ({days})")
    return out


Range = tuple[dt.date, dt.date]


def _requested(con: duckdb.DuckDBPyConnection, tickers: list[str]) -> dict[str, list[Range]]:
    """Date ranges answered per ticker by ok/empty requests, each only up to the day before it was
    asked (later days did not exist yet)."""
    rows = con.execute(
        """
        SELECT ticker, start_date, least(end_date, (requested_at AT TIME ZONE 'UTC')::DATE - 1)
        FROM price_requests
        WHERE status IN ('ok', 'empty') AND ticker IN (SELECT unnest(?::VARCHAR[]))
        """,
        [tickers],
    ).fetchall() if tickers else []
    return _ranges(rows)


def _stored_spans(con: duckdb.DuckDBPyConnection, tickers: list[str]) -> dict[str, list[Range]]:
    """First to last stored price date per ticker: rows inserted without a request count too."""
    # every ticker's span, filtered here: a semi-join on the ticker list makes the 5 M-row
    # aggregate twice as slow (0.07 s against 0.03 s)
    wanted = set(tickers)
    spans = con.execute("SELECT ticker, min(date), max(date) FROM prices GROUP BY ticker").fetchall()
    return _ranges([row for row in spans if row[0] in wanted])


def _ranges(rows: Iterable[tuple[str, dt.date, dt.date]]) -> dict[str, list[Range]]:
    out: dict[str, list[Range]] = {}
    for ticker, lo, hi in rows:
        if lo <= hi:
            out.setdefault(ticker, []).append((lo, hi))
    return out


def subtract_ranges(want: Range, have: Iterable[Range]) -> list[Range]:
    """Parts of ``want`` (inclusive dates) not inside any of ``have``."""
    gaps = []
    cursor, end = want
    for lo, hi in sorted(have):
        if hi < cursor:
            continue
        if lo > end:
            break
        if lo > cursor:
            gaps.append((cursor, lo - dt.timedelta(days=1)))
        cursor = max(cursor, hi + dt.timedelta(days=1))
        if cursor > end:
            break
    if cursor <= end:
        gaps.append((cursor, end))
    return gaps


def missing_ranges(con: duckdb.DuckDBPyConnection, tickers: Sequence[str], start: dt.date,
                   end: dt.date) -> dict[str, list[Range]]:
    """Per ticker, the ranges within [start, end] the cache cannot answer (tickers fully covered omitted)."""
    tickers = list(dict.fromkeys(tickers))
    covered = _requested(con, tickers)
    short = [t for t in tickers if subtract_ranges((start, end), covered.get(t, []))]
    # the requests usually cover everything (every fetch and file load logs one): the scan of all
    # stored rows for their spans (rows inserted by hand count too) only when they leave gaps
    if short:
        for t, spans in _stored_spans(con, short).items():
            covered.setdefault(t, []).extend(spans)
    return {t: gaps for t in short if (gaps := subtract_ranges((start, end), covered.get(t, [])))}


@dataclass
class FetchReport:
    source: str
    offline: bool
    requested: list[tuple[str, dt.date, dt.date]] = field(default_factory=list)
    rows: int = 0
    cached: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    missing: dict[str, list[Range]] = field(default_factory=dict)
    # rows a source sent that broke a price rule: dropped and counted per ticker, or futures prices
    # <= 0 kept (`yfinance: NVDA: 1 of 5 rows dropped: 1 negative volume (2026-01-28)`)
    notes: list[str] = field(default_factory=list)

    @property
    def all_failed(self) -> bool:
        """Every ticker asked of the source failed: more likely the network than the tickers
        (yfinance reports an unreachable server as 'possibly delisted' per ticker)."""
        asked = {t for t, _, _ in self.requested}
        return bool(asked) and asked <= set(self.failures) and not self.rows

    def failure_lines(self, limit: int = 10) -> list[str]:
        """One line per failed ticker; beyond ``limit`` failures one line per distinct reason (its
        range left out) with a count and the first names: a dead network fails every ticker with one
        yfinance message, and eighty such lines hid the hint below them. Each failure and its range
        stays in price_requests (status 'failed')."""
        if len(self.failures) <= limit:
            return [f"no prices for {t}: {reason}" for t, reason in sorted(self.failures.items())]
        by_reason: dict[str, list[str]] = {}
        for t, reason in sorted(self.failures.items()):
            by_reason.setdefault(_RANGE_PREFIX.sub("", reason), []).append(t)
        lines = []
        for reason, tickers in sorted(by_reason.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            names = ", ".join(tickers[:5]) + (f" and {len(tickers) - 5} more" if len(tickers) > 5 else "")
            lines.append(f"no prices for {len(tickers)} tickers: {reason} ({names}; each ticker and "
                         "range: SELECT * FROM price_requests WHERE status = 'failed')")
        return lines

    @property
    def warnings(self) -> list[str]:
        out = [*self.notes, *self.failure_lines()]
        if self.offline and self.missing:
            ranges = sum(len(gaps) for gaps in self.missing.values())
            out.append(f"offline: prices missing for {_count(len(self.missing), 'ticker')} "
                       f"({_count(ranges, 'date range')}): {_describe_missing(self.missing)}")
        return out

    @property
    def summary(self) -> str:
        if self.offline:
            return (f"offline: {_count(len(self.cached), 'ticker')} cached, {len(self.missing)} with missing "
                    "ranges (not fetched)")
        text = (f"{self.rows} price rows stored from {self.source} ({len(self.requested)} ranges asked, "
                f"{len(self.cached)} tickers already cached)")
        if self.failures:
            # all the names up to the limit the warnings use, beyond it a count: one line per ticker
            # for a dead network's 500 tickers is what failure_lines sums up
            names = sorted(self.failures)
            text += (f"; failed: {', '.join(names)}" if len(names) <= 10 else
                     f"; failed: {len(names):,} tickers ({', '.join(names[:5])} and {len(names) - 5:,} more)")
        return text

    def __str__(self) -> str:
        # the missing ranges are named once, in ``warnings``: `prices fetch --offline` prints both,
        # and listing them here too printed every missing ticker and range twice
        return self.summary


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _describe_missing(missing: dict[str, list[Range]], limit: int = 10, ranges_shown: int = 3) -> str:
    """``limit`` tickers, each with its first ``ranges_shown`` missing ranges: `META
    2026-01-01..2026-01-28, 2026-01-30..2026-03-01; NVDA …; … and 3 more tickers (5 date ranges)`.
    It listed one item per range and then `… 4 more`, so two ranges of one ticker read like two
    tickers, and the ranges beyond the tenth like more tickers."""
    items = []
    for t, ranges in sorted(missing.items())[:limit]:
        shown = ", ".join(f"{lo}..{hi}" for lo, hi in ranges[:ranges_shown])
        extra = len(ranges) - ranges_shown
        items.append(f"{t} {shown}" + (f" and {_count(extra, 'more date range')}" if extra > 0 else ""))
    rest = sorted(missing)[limit:]
    if rest:
        ranges = sum(len(missing[t]) for t in rest)
        items.append(f"… and {_count(len(rest), 'more ticker')} ({_count(ranges, 'date range')})")
    return "; ".join(items)


def ensure_prices(con: duckdb.DuckDBPyConnection, tickers: Sequence[str], start: dt.date, end: dt.date,
                  *, source: PriceSource, offline: bool = False,
                  progress: Progress | None = None, stored: bool = False) -> FetchReport:
    """Fill the cache for ``tickers`` over [start, end], asking ``source`` only for uncovered ranges.

    Tickers sharing a gap are fetched in one batch. Each batch is committed on its own, so a network
    failure halfway keeps what arrived. ``offline=True`` asks nothing and reports what is missing.
    A ticker that is no Yahoo symbol is a ``PriceError`` before anything is asked; with ``stored``
    (the tickers of stored events, which nobody typed) it is only never asked of the source: its
    cached rows count, and a missing range is one of ``failures`` (and a failed request).
    """
    if start > end:
        raise PriceError(f"price range starts after it ends: {start} > {end}")
    # one spelling, as `prices load` stores them: nvda, 700.HK, 600519.SH -> NVDA, 0700.HK, 600519.SS
    # (the source returns its own spelling, and rows under another one were dropped as not asked for)
    unfetchable: set[str] = set()
    tickers = _spelled_stored(tickers, unfetchable) if stored else check_tickers(tickers)
    tickers = [t for t in tickers if not t.startswith("@")]  # @FED: not tradable
    missing = missing_ranges(con, tickers, start, end)
    report = FetchReport(source=source.name, offline=offline,
                         cached=[t for t in tickers if t not in missing])
    if offline:
        report.missing = missing
        return report
    batches: dict[Range, list[str]] = {}
    unasked = []
    for ticker, gaps in missing.items():
        if ticker in unfetchable:  # one stored ticker stopped every fetch and backtest (an error)
            report.failures[ticker] = f"{gaps[0][0]}..{gaps[-1][1]}: {_NOT_ASKED}"
            unasked += [{"ticker": ticker, "start_date": lo, "end_date": hi, "source": source.name,
                         "requested_at": _now(), "status": "failed", "message": _NOT_ASKED}
                        for lo, hi in gaps]
            continue
        for gap in gaps:
            batches.setdefault(gap, []).append(ticker)
    if unasked:
        with store.transaction(con, join=True):
            _log_requests(con, unasked)
    for (lo, hi), batch in sorted(batches.items()):
        _fetch_batch(con, source, batch, lo, hi, report)
        if progress:
            progress(len(batch))
    if batches:
        # checking a fetched frame leaves pandas temporaries in reference cycles; without a full
        # collection here the next one fell in whatever ran next in the process (the cache-hit
        # backtest after a fill: its price lookup took 0.045 s instead of 0.02 s)
        gc.collect()
    still = missing_ranges(con, list(report.failures), start, end)
    report.missing = still
    return report


# What a Yahoo symbol is made of (data/instruments: 600519.SS, ^GSPC, CL=F, EURUSD=X, DX-Y.NYB, BRK-B;
# Yahoo's M&M.NS): letters, digits and &, with '.', '-' or '=' between them and '^' before an index;
# '@' starts a policy body's pseudo-id (@FED), which is never fetched. `prices fetch ../x` asked Yahoo
# for '../X' (normalize_ticker keeps '.' and '/' wherever they are: they separate share classes).
_YAHOO_SYMBOL = re.compile(r"[\^@]?[A-Z0-9&]+(?:[.=-][A-Z0-9&]+)*")
_MAX_SYMBOL_CHARS = 32  # the longest in data/instruments has 12
_SYMBOL_HINT = ("use Yahoo symbols: letters and digits, with '.', '-', '=' or '&' between them and '^' "
                "before an index (NVDA, 0700.HK, 600519.SS, BRK-B, CL=F, ^GSPC)")


def check_tickers(tickers: Iterable[str]) -> list[str]:
    """The tickers in Yahoo's spelling (nvda, 700.HK, 600519.SH -> NVDA, 0700.HK, 600519.SS), in order,
    once each; ``PriceError`` naming the first that is no Yahoo symbol."""
    return list(dict.fromkeys(_asked_ticker(t) for t in tickers))


_NOT_ASKED = ("not a Yahoo symbol, not asked (load its prices with `signals prices load FILE`, or fix the "
              "ticker in the rule or the instrument data that gave it)")


def _spelled_stored(tickers: Iterable[str], unfetchable: set[str]) -> list[str]:
    """Stored tickers in Yahoo's spelling, once each; one that is no Yahoo symbol is kept as stored
    and added to ``unfetchable``."""
    out = []
    for ticker in tickers:
        try:
            out.append(_asked_ticker(ticker))
        except PriceError:
            out.append(ticker)
            unfetchable.add(ticker)
    return list(dict.fromkeys(out))


def _asked_ticker(ticker: str) -> str:
    try:
        symbol = normalize_ticker(ticker)
    except ReferenceDataError as exc:
        raise PriceError(f"cannot fetch prices for {ticker!r}: not a ticker", hint=_SYMBOL_HINT) from exc
    if not is_yahoo_symbol(ticker, symbol):
        raise PriceError(f"cannot fetch prices for {ticker!r}: not a Yahoo symbol", hint=_symbol_hint(symbol))
    return symbol


def is_yahoo_symbol(text: str, symbol: str) -> bool:
    """Whether ``symbol``, the ``normalize_ticker`` spelling of ``text``, is one Yahoo could answer:
    the one rule for tickers asked of a source and tickers in price files. A space inside ``text`` is
    refused: normalize_ticker drops it, and BRK B became BRKB (another company)."""
    return (len(symbol) <= _MAX_SYMBOL_CHARS and _YAHOO_SYMBOL.fullmatch(symbol) is not None
            and not re.search(r"\s", str(text).strip()))


def _symbol_hint(symbol: str) -> str:
    pair = re.fullmatch(r"([A-Z]{3})/([A-Z]{3})", symbol)
    if pair:  # EUR/USD: Yahoo's currency pairs end in =X
        return f"Yahoo spells the pair {symbol} {pair[1]}{pair[2]}=X; {_SYMBOL_HINT}"
    return _SYMBOL_HINT


def _fetch_batch(con: duckdb.DuckDBPyConnection, source: PriceSource, batch: list[str], lo: dt.date,
                 hi: dt.date, report: FetchReport) -> None:
    asked_at = _now()
    result = source.fetch(batch, lo, hi)
    frame = result.frame[result.frame["ticker"].isin(batch)]
    frame = frame.sort_values(["ticker", "date"], kind="stable")
    # the rules `prices load` applies, but a bad row is dropped and counted, not an error: nobody can
    # correct the source's data, and the other tickers' rows must not be lost with it. No bar can be
    # dated after today anywhere (the exchanges furthest east are a day ahead of UTC at most). Rows
    # outside the dates asked are dropped and counted with them (they are no answer to this request).
    latest = pd.Timestamp(asked_at.date() + dt.timedelta(days=1))
    in_range = frame["date"].between(pd.Timestamp(lo), pd.Timestamp(hi))
    with_rows_inside = set(frame.loc[in_range, "ticker"])
    frame, dropped, futures = _drop_bad_rows(frame, source.name, latest, asked=(lo, hi))
    report.notes.extend(futures)
    counts = frame.groupby("ticker").size().to_dict()
    requests = []
    for t in batch:
        report.requested.append((t, lo, hi))
        if t in result.failures and not counts.get(t):
            status, message = "failed", result.failures[t]
            report.failures[t] = f"{lo}..{hi}: {message}"
        elif t in with_rows_inside and not counts.get(t):  # every row was bad: a failure, asked again
            status, message = "failed", f"{source.name}: {dropped[t]}"
            report.failures[t] = f"{lo}..{hi}: {message}"
        elif counts.get(t):
            status, message = "ok", f"{counts[t]} rows"
            if t in dropped:
                message += f"; {dropped[t]}"
                report.notes.append(f"{source.name}: {t}: {dropped[t]}")
        else:  # nothing in range (rows only outside it are said, as the source's answer is odd)
            status, message = "empty", "no rows in range"
            report.empty.append(t)
            if t in dropped:
                message += f"; {dropped[t]}"
                report.notes.append(f"{source.name}: {t}: {dropped[t]}")
        requests.append({"ticker": t, "start_date": lo, "end_date": hi, "source": source.name,
                         "requested_at": asked_at, "status": status, "message": message})
    with store.transaction(con, join=True):  # alone, or inside the caller's transaction
        report.rows += store_prices(con, frame, source.name, asked_at)
        _log_requests(con, requests)


# --- queries ---------------------------------------------------------------------------------------


def price_status(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per cached ticker: first and last date, row count and the sources it came from."""
    frame = con.execute(
        """
        SELECT ticker, min(date) AS "first", max(date) AS "last", count(*) AS "rows",
               string_agg(DISTINCT source, ', ' ORDER BY source) AS source
        FROM prices GROUP BY ticker ORDER BY ticker
        """
    ).df()
    for col in ("first", "last"):  # dates, not midnight timestamps (2025-09-08, not 2025-09-08T00:00:00)
        frame[col] = frame[col].dt.date
    return frame


def tickers_for_events(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every tradable ticker and benchmark the stored event-instrument pairs need prices for."""
    rows = con.execute(
        """
        SELECT DISTINCT t FROM (
            SELECT ticker AS t FROM event_instruments
            UNION SELECT benchmark FROM event_instruments
        ) WHERE t IS NOT NULL AND t NOT LIKE '@%' ORDER BY t
        """
    ).fetchall()
    return [r[0] for r in rows]
