"""Render rows as a terminal table or a machine format (json, jsonl, csv).

Payload goes to the given stream (stdout by default); status and progress belong on stderr and
are not handled here, so machine formats stay clean when piped.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import sys
import textwrap
from collections.abc import Iterable, Sequence
from decimal import Decimal
from enum import StrEnum
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported by whoever made the rows; `signals --help` must not pay for it
    import pandas as pd



class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    JSONL = "jsonl"
    CSV = "csv"


FORMATS = [f.value for f in Format]


def default_format(stream: IO[str] | None = None) -> Format:
    """A table for people at a terminal, JSON lines when piped into another program."""
    stream = stream or sys.stdout
    return Format.TABLE if getattr(stream, "isatty", lambda: False)() else Format.JSONL


def _plain(value: Any) -> Any:
    """JSON-safe scalar: NaN/NaT become null, times ISO 8601, Decimals numbers."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    pd = sys.modules.get("pandas")
    if pd is not None and value is pd.NaT:
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        return _plain(value.item())
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _is_frame(rows: object) -> bool:
    pd = sys.modules.get("pandas")  # a DataFrame can only exist once pandas is loaded
    return pd is not None and isinstance(rows, pd.DataFrame)


def records(rows: pd.DataFrame | Iterable[dict]) -> list[dict]:
    if _is_frame(rows):
        rows = rows.to_dict("records")
    return [{k: _plain(v) for k, v in row.items()} for row in rows]


def _cell(value: Any, width: int) -> str:
    if value is None:
        return ""
    text = f"{value:.3g}" if isinstance(value, float) else str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def render(rows: pd.DataFrame | Iterable[dict], fmt: Format | str, *, stream: IO[str] | None = None,
           columns: Sequence[str] | None = None, title: str | None = None, max_width: int = 40) -> None:
    """Write ``rows`` to ``stream`` in ``fmt``. ``columns`` picks and orders columns (table and csv)."""
    stream = stream or sys.stdout
    fmt = Format(fmt)
    if fmt is Format.TABLE and _is_frame(rows):
        rows = _short_times(rows)
    data = records(rows)
    if columns is not None and fmt in (Format.TABLE, Format.CSV):
        data = [{c: row.get(c) for c in columns} for row in data]
    if fmt is Format.JSON:
        json.dump(data, stream, ensure_ascii=False, indent=2)
        stream.write("\n")
    elif fmt is Format.JSONL:
        for row in data:
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif fmt is Format.CSV:
        # an empty frame still has its columns: the header stays, so readers see a table with no rows
        names = list(columns or (data[0].keys() if data else rows.columns if _is_frame(rows) else []))
        writer = csv.DictWriter(stream, fieldnames=names, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(data)
    else:
        _render_table(data, stream, columns, title, max_width)


TABLE_ROWS = 1000  # a streamed table shows this many rows: its column widths need the rows first


class RowWriter:
    """Write rows that arrive in chunks, byte for byte as ``render`` writes them all at once.

    jsonl and csv go out chunk by chunk (the csv header once), json as one array written element by
    element. A table needs every row it shows to size its columns, so it keeps the first
    ``table_rows`` (None: all) and ``close`` prints them and returns how many more there were.
    """

    def __init__(self, fmt: Format | str, *, stream: IO[str] | None = None,
                 columns: Sequence[str] | None = None, title: str | None = None, max_width: int = 40,
                 table_rows: int | None = TABLE_ROWS) -> None:
        self.fmt = Format(fmt)
        self.stream = stream or sys.stdout
        self.columns, self.title, self.max_width, self.table_rows = columns, title, max_width, table_rows
        self.rows = 0  # rows written (or, for a table, received)
        self.shown: list[dict] = []  # the table's rows
        self._csv: csv.DictWriter | None = None

    def write(self, rows: pd.DataFrame | Iterable[dict]) -> None:
        if self.fmt is Format.TABLE:
            self._keep_for_table(rows)
            return
        data = self._pick(records(rows))
        if not data:
            return
        if self.fmt is Format.JSON:
            for row in data:
                self.stream.write("[\n" if self.rows == 0 else ",\n")
                self.stream.write(textwrap.indent(json.dumps(row, ensure_ascii=False, indent=2), "  "))
                self.rows += 1
        elif self.fmt is Format.JSONL:
            for row in data:
                self.stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            self.rows += len(data)
        else:
            self._csv_writer(data).writerows(data)
            self.rows += len(data)

    def close(self) -> int:
        """Finish the output; the number of rows a table left out."""
        if self.fmt is Format.JSON:
            self.stream.write("[]\n" if self.rows == 0 else "\n]\n")
        elif self.fmt is Format.CSV:
            self._csv_writer([])
        elif self.fmt is Format.TABLE:
            _render_table(self.shown, self.stream, self.columns, self.title, self.max_width)
            return self.rows - len(self.shown)
        return 0

    def _pick(self, data: list[dict]) -> list[dict]:
        if self.columns is not None and self.fmt in (Format.TABLE, Format.CSV):
            return [{c: row.get(c) for c in self.columns} for row in data]
        return data

    def _csv_writer(self, first_rows: list[dict]) -> csv.DictWriter:
        if self._csv is None:  # the header once, named by the first chunk unless columns are given
            names = list(self.columns or (first_rows[0].keys() if first_rows else []))
            self._csv = csv.DictWriter(self.stream, fieldnames=names, extrasaction="ignore",
                                       lineterminator="\n")
            self._csv.writeheader()
        return self._csv

    def _keep_for_table(self, rows: pd.DataFrame | Iterable[dict]) -> None:
        room = None if self.table_rows is None else self.table_rows - len(self.shown)
        if _is_frame(rows):
            count = len(rows)
            if room is not None:
                rows = rows.iloc[:room]
            rows = _short_times(rows)
        else:
            rows = list(rows)
            count = len(rows)
            rows = rows if room is None else rows[:room]
        self.shown += self._pick(records(rows))
        self.rows += count


def _display_width(text: str) -> int:
    from rich.cells import cell_len  # CJK characters take two terminal cells

    return cell_len(text)


def _short_times(frame: pd.DataFrame) -> pd.DataFrame:
    """Minutes are enough on screen; machine formats keep full ISO 8601 with the zone."""
    out = frame.copy()
    for col in out.columns:
        if sys.modules["pandas"].api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d %H:%M").where(out[col].notna(), None)
    return out


def _render_table(data: list[dict], stream: IO[str], columns: Sequence[str] | None, title: str | None,
                  max_width: int) -> None:
    from rich.console import Console  # lazy: keeps `signals --help` fast
    from rich.table import Table

    names = list(columns or (data[0].keys() if data else []))
    table = Table(title=title, show_lines=False, header_style="bold")
    cells = [[_cell(row.get(n), max_width) for n in names] for row in data]
    for i, name in enumerate(names):
        # one line per row: scanning beats reading; the last column takes what width is left
        if i == len(names) - 1:
            table.add_column(name, overflow="ellipsis", no_wrap=True, ratio=1)
        else:
            widest = max((_display_width(r[i]) for r in cells), default=0)
            table.add_column(name, overflow="ellipsis", no_wrap=True,
                             min_width=min(max(widest, len(name)), 16))
    for row in cells:
        table.add_row(*row)
    console = Console(file=stream, width=max(160, Console(file=stream).width))
    if not data:
        console.print(f"{title + ': ' if title else ''}(no rows)")
        return
    console.print(table)
