"""One registry CSV row: every bad column is reported, in column order; absent columns are not read."""

from __future__ import annotations

from sharedcourt.sites.csv_rows import parse_row


def test_every_reason_in_column_order() -> None:
    row = {"code": "a b", "name": "站", "level": "special", "lat": "29.0", "opening_hours": "[]", "staff": "{}"}
    values, errors = parse_row(row, set(row) | {"lon", "dispute_types"}, None)
    assert errors == [
        "编码（code）必填，只能用字母、数字、-、_，最长32位",
        "纬度（lat）和经度（lon）要么都填，要么都不填",
        "开放时间（opening_hours）应为按星期的JSON对象",
        "专门共享法庭（special）必须填写受理的纠纷类型",
        "人员（staff）应为JSON列表",
    ]
    assert values["latitude"] is None and values["dispute_types"] == [] and "active" not in values


def test_a_good_row_with_only_the_required_columns() -> None:
    values, errors = parse_row({"code": "S1", "name": "站", "level": "town"}, {"code", "name", "level"}, None)
    assert errors == [] and values == {"code": "S1", "name": "站", "level": "town"}
