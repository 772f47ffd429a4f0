"""Every analytics figure against the hand computation in tests/stand_ins/stats_seed.py, on both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.stats_seed import FROM, PHONE, TO, seed

from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.review.analytics import Window, figures
from sharedcourt.review.stats_tickets import guided_rules


def label(code: str) -> str:
    return BY_CODE[code].label


async def _figures(sessions: async_sessionmaker[AsyncSession], county: str = "") -> dict[str, Any]:
    await seed(sessions)
    async with sessions() as session:
        return await figures(session, Window(FROM, TO, county), 180)


def test_guided_rules_are_the_judges_modes_of_routing_yml() -> None:
    assert guided_rules() == {"complex", "litigation", "enforcement"}


async def test_every_figure_for_every_county(sessions: async_sessionmaker[AsyncSession]) -> None:
    data = await _figures(sessions)
    assert data["headline"] == {"online_filings": 1, "mediations": 3, "mediations_succeeded": 2, "guided_mediations": 2}
    assert data["disputes"] == [
        {"month": "2026-11", "county": "330802", "county_name": "柯城区", "dispute": label("neighbor"), "count": 2},
        {"month": "2026-12", "county": "", "county_name": "未知", "dispute": label("labor"), "count": 1},
        {"month": "2026-12", "county": "330802", "county_name": "柯城区", "dispute": label("debt"), "count": 1},
        {"month": "2026-12", "county": "330803", "county_name": "衢江区", "dispute": label("family"), "count": 1},
    ]
    acceptance = data["acceptance"]
    # Accepted after 20, 200, 45, 700, 100 s; T5 never: 3 of 6 within 180 s; p50 = 3rd of 5 = 100, p90 = 5th = 700.
    assert acceptance["overall"] == {"name": "全部", "requests": 6, "accepted": 5, "within_window": 3,
                                     "share_within": 0.5, "p50_seconds": 100.0, "p90_seconds": 700.0}  # fmt: skip
    assert [(b["bucket"], b["count"]) for b in acceptance["distribution"]] == [
        ("30秒内", 1), ("31秒-1分钟", 1), ("1-2分钟", 1), ("2-3分钟", 0), ("3-5分钟", 1), ("5-10分钟", 0),
        ("10分钟以上", 1), ("未接单", 1),
    ]  # fmt: skip
    assert acceptance["by_county"] == [
        {"name": "330802", "county_name": "柯城区", "requests": 4, "accepted": 3, "within_window": 2,
         "share_within": 0.5, "p50_seconds": 45.0, "p90_seconds": 200.0},
        {"name": "330803", "county_name": "衢江区", "requests": 2, "accepted": 2, "within_window": 1,
         "share_within": 0.5, "p50_seconds": 100.0, "p90_seconds": 700.0},
    ]  # fmt: skip
    assert [(r["name"], r["requests"], r["within_window"]) for r in acceptance["by_site"]] == [
        ("白云", 4, 2),
        ("衢江", 2, 1),
    ]
    assert data["escalation"] == {"requests": 6, "escalated": 2, "expired": 1, "callbacks": 0,
                                  "escalation_rate": 0.3333, "unanswered_rate": 0.1667}  # fmt: skip
    assert [(d["day"], d["requests"], d["escalated"], d["expired"]) for d in data["escalation_by_day"]] == [
        ("2026-11-29", 1, 1, 0), ("2026-11-30", 1, 1, 0), ("2026-12-01", 3, 0, 0), ("2026-12-02", 1, 1, 1),
    ]  # fmt: skip
    assert [(r["site"], r["offered"], r["booked"], r["utilisation"]) for r in data["bookings_by_site"]] == [
        ("GX330802009", 3, 3, 1.0), ("GX330803001", 2, 0, 0.0),
    ]  # fmt: skip
    expected = [(label("debt"), "转立案"), (label("family"), "调解成功"), (label("neighbor"), "调解不成"),
                (label("neighbor"), "调解成功"), (label("other_legal"), "已解答")]  # fmt: skip
    assert data["outcomes_by_type"] == [{"dispute": d, "outcome": o, "count": 1} for d, o in sorted(expected)]
    assert data["channels"] == [
        {"channel": "webchat", "label": "网页聊天", "count": 2},
        {"channel": "wechat", "label": "微信公众号", "count": 1},
        {"channel": "wecom", "label": "企业微信", "count": 1},
    ]


async def test_ratings_and_masked_comments(sessions: async_sessionmaker[AsyncSession]) -> None:
    ratings = (await _figures(sessions))["ratings"]
    assert (ratings["count"], ratings["average"]) == (3, 3.67)
    assert ratings["by_score"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}
    newest, older = ratings["comments"]
    assert (newest["day"], newest["score"], newest["site"], newest["comment"]) == ("2026-12-01", 4, "衢江", "很好")
    assert (older["day"], older["score"]) == ("2026-11-29", 5)
    assert PHONE not in older["comment"] and "138****5678" in older["comment"]
    assert "李四" not in older["comment"] and older["comment"].startswith("李*很满意")


async def test_one_county(sessions: async_sessionmaker[AsyncSession]) -> None:
    data = await _figures(sessions, "330802")
    assert data["headline"] == {"online_filings": 1, "mediations": 2, "mediations_succeeded": 1, "guided_mediations": 1}
    assert [(r["month"], r["dispute"], r["count"]) for r in data["disputes"]] == [
        ("2026-11", label("neighbor"), 2), ("2026-12", label("debt"), 1),
    ]  # fmt: skip
    assert data["acceptance"]["overall"]["requests"] == 4 and data["acceptance"]["overall"]["p90_seconds"] == 200.0
    assert [d["requests"] for d in data["escalation_by_day"]] == [1, 1, 1, 1]
    assert [r["site"] for r in data["bookings_by_site"]] == ["GX330802009"]
    assert data["ratings"]["count"] == 2 and data["ratings"]["average"] == 3.5
    assert data["channels"] == [{"channel": "webchat", "label": "网页聊天", "count": 2}]
    quijiang = await _county_only(sessions)
    assert quijiang["channels"] == [{"channel": "wechat", "label": "微信公众号", "count": 1}]


async def _county_only(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    async with sessions() as session:
        return await figures(session, Window(FROM, TO, "330803"), 180)
