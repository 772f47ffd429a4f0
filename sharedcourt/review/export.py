"""Exports of the review list and of one transcript: CSV (UTF-8 with a BOM, so Excel reads Chinese) and XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")
# A cell starting with one of these is a formula to Excel: prefix it so exported text stays text.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else ""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _table(rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str]) -> list[list[str]]:
    return [list(columns.values())] + [[_cell(row.get(key)) for key in columns] for row in rows]


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str]) -> bytes:
    """The rows as CSV with Chinese headers."""
    out = io.StringIO()
    csv.writer(out).writerows(_table(rows, columns))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str], title: str) -> bytes:
    """The rows as one Excel sheet named ``title``, headers bold and columns widened to their content."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    for row in _table(rows, columns):
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, key in enumerate(columns, start=1):
        longest = max([len(columns[key]), *(len(_cell(r.get(key))) for r in rows)])
        sheet.column_dimensions[get_column_letter(index)].width = min(60, max(8, longest * 2))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
