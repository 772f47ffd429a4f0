"""Each analytics chart's data as a table (Chinese column headers) for its CSV download."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Table:
    """One chart's download: its Chinese title, columns (key -> header) and how to take its rows from the figures."""

    title: str
    columns: dict[str, str]
    rows: Callable[[dict[str, Any]], Rows]


_ACCEPT = {
    "requests": "请求数",
    "accepted": "接单数",
    "within_window": "时限内接单",
    "share_within": "时限内接单率",
    "p50_seconds": "用时中位数（秒）",
    "p90_seconds": "用时P90（秒）",
}


def _headline(data: dict[str, Any]) -> Rows:
    h = data["headline"]
    names = {"online_filings": "在线立案", "mediations": "调解", "mediations_succeeded": "其中调解成功",
             "guided_mediations": "指导调解"}  # fmt: skip
    return [{"figure": names[k], "count": h[k]} for k in names]


def _escalation(data: dict[str, Any]) -> Rows:
    return list(data["escalation_by_day"])


def _ratings(data: dict[str, Any]) -> Rows:
    return [{"score": s, "count": n} for s, n in data["ratings"]["by_score"].items()]


TABLES: dict[str, Table] = {
    "headline": Table("主要数据", {"figure": "指标", "count": "件数"}, _headline),
    "disputes": Table(
        "纠纷类型×县（市、区）×月份",
        {
            "month": "月份",
            "county": "县（市、区）代码",
            "county_name": "县（市、区）",
            "dispute": "纠纷类型",
            "count": "件数",
        },
        lambda d: list(d["disputes"]),
    ),
    "acceptance_distribution": Table(
        "接单用时分布", {"bucket": "接单用时", "count": "件数"}, lambda d: list(d["acceptance"]["distribution"])
    ),
    "acceptance_by_county": Table(
        "各县（市、区）接单用时",
        {"name": "县（市、区）代码", "county_name": "县（市、区）", **_ACCEPT},
        lambda d: list(d["acceptance"]["by_county"]),
    ),
    "acceptance_by_site": Table(
        "各站点接单用时", {"name": "站点", **_ACCEPT}, lambda d: list(d["acceptance"]["by_site"])
    ),
    "escalation": Table(
        "转派与有呼无应（按日）",
        {"day": "日期", "requests": "人工请求", "escalated": "超时转派", "expired": "有呼无应（无人接单）"},
        _escalation,
    ),
    "bookings": Table(
        "各站点预约利用率",
        {"site": "站点编号", "site_name": "站点", "offered": "可约席位", "booked": "已约席位", "utilisation": "利用率"},
        lambda d: list(d["bookings_by_site"]),
    ),
    "outcomes": Table(
        "各类纠纷的处理结果",
        {"dispute": "纠纷类型", "outcome": "结果", "count": "件数"},
        lambda d: list(d["outcomes_by_type"]),
    ),
    "ratings": Table("满意度评分", {"score": "评分", "count": "条数"}, _ratings),
    "comments": Table(
        "评价留言（已脱敏）",
        {"day": "日期", "score": "评分", "site": "站点", "comment": "留言"},
        lambda d: list(d["ratings"]["comments"]),
    ),
    "channels": Table(
        "渠道构成", {"label": "渠道", "channel": "渠道代码", "count": "会话数"}, lambda d: list(d["channels"])
    ),
}
