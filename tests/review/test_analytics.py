"""Analytics figures (sharedcourt.review.analytics) against hand-computed values on seeded data, both databases."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.analytics_seed import FROM, TO, seed

from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.review.analytics import Window, county_of, figures, percentile


def test_nearest_rank_percentiles_and_counties() -> None:
    assert percentile([150, 30, 90], 0.5) == 90 and percentile([150, 30, 90], 0.9) == 150
    assert percentile(list(range(1, 11)), 0.9) == 9 and percentile([], 0.5) is None
    assert county_of("GX330802009") == "330802" and county_of("TS330824ENV") == "330824" and county_of("x") == ""


async def test_figures_of_one_county_for_one_week(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed(sessions)
    async with sessions() as session:
        data = await figures(session, Window(FROM, TO, "330802"))
    # T1-T5 asked, T1-T3 accepted after 30, 90, 150 s: all three within the 180 s window, 3 of 5 = 0.6.
    row = {
        "requests": 5,
        "accepted": 3,
        "within_window": 3,
        "share_within": 0.6,
        "p50_seconds": 90.0,
        "p90_seconds": 150.0,
    }
    assert data["acceptance"]["overall"] == {"name": "全部", **row}
    assert data["acceptance"]["by_site"] == [{"name": "白云", **row}]
    assert data["escalation"] == {
        "requests": 5,
        "escalated": 2,
        "expired": 1,
        "callbacks": 1,
        "escalation_rate": 0.4,
        "unanswered_rate": 0.2,
    }
    scores = {"1": 0, "2": 0, "3": 1, "4": 1, "5": 1}
    assert data["ratings"] == {"count": 3, "average": 4.0, "by_score": scores, "comments": []}
    # Three open slots of 2 seats on days 2-4; two bookings hold a seat (the cancelled one does not).
    assert data["bookings_by_site"] == [
        {"site": "GX330802009", "site_name": "柯城区白云街道共享法庭", "offered": 6, "booked": 2, "utilisation": 0.3333}
    ]
    neighbor, debt = BY_CODE["neighbor"].label, BY_CODE["debt"].label
    expected = [(neighbor, "调解成功"), (neighbor, "调解不成"), (debt, "转立案")]
    assert data["outcomes_by_type"] == [{"dispute": d, "outcome": o, "count": 1} for d, o in sorted(expected)]


async def test_every_county_and_a_shorter_range(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed(sessions)
    async with sessions() as session:
        everywhere = await figures(session, Window(FROM, TO))
        first_two_days = await figures(session, Window(FROM, FROM.replace(day=2)))
    overall = everywhere["acceptance"]["overall"]
    assert (overall["accepted"], overall["p50_seconds"], overall["p90_seconds"]) == (4, 30.0, 150.0)
    assert [r["name"] for r in everywhere["acceptance"]["by_county"]] == ["330802", "330803"]
    assert everywhere["ratings"]["average"] == 3.25 and everywhere["escalation"]["requests"] == 6
    assert (
        first_two_days["escalation"]["requests"] == 3 and first_two_days["acceptance"]["overall"]["p90_seconds"] == 90.0
    )
