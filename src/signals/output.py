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
        names = list(columns or (data[0].keys() if data else []))
        writer = csv.DictWriter(stream, fieldnames=names, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(data)
    else:
        _render_table(data, stream, columns, title, max_width)


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
