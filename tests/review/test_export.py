"""Exports: CSV with a BOM and Chinese headers, XLSX that reads back, formulas kept as text."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from sharedcourt.review.export import to_csv, to_xlsx

COLUMNS = {"id": "编号", "text": "内容", "urgent": "紧急"}
ROWS = [
    {"id": "a1", "text": "我是张*，电话138****5678", "urgent": True},
    {"id": "a2", "text": '=HYPERLINK("http://evil")', "urgent": False},
]


def test_csv_has_a_bom_chinese_headers_and_no_formulas() -> None:
    data = to_csv(ROWS, COLUMNS)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["编号", "内容", "紧急"]
    assert rows[1] == ["a1", "我是张*，电话138****5678", "是"]
    assert rows[2][1].startswith("'=")


def test_xlsx_reads_back_the_same_cells() -> None:
    sheet = load_workbook(io.BytesIO(to_xlsx(ROWS, COLUMNS, "会话"))).active
    assert sheet is not None and sheet.title == "会话"
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == ["编号", "内容", "紧急"]
    assert values[1][:2] == ["a1", "我是张*，电话138****5678"]
    assert str(values[2][1]).startswith("'=")
