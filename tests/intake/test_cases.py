"""Case numbers: the prefix of the resident's city (衢州 QZ as before), then the year and the id."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.intake.cases import case_number, save_case
from sharedcourt.sites.served import ALL_CITIES, CASE_PREFIXES, case_prefix

TODAY = dt.date(2026, 12, 1)


def test_prefixes_are_distinct_and_quzhou_keeps_qz() -> None:
    assert CASE_PREFIXES["3308"] == "QZ"
    assert len(set(CASE_PREFIXES.values())) == len(ALL_CITIES)
    assert case_number(7, 2026) == "QZ2026-000007"
    assert case_number(7, 2026, "HZ") == "HZ2026-000007"


def test_prefix_from_the_first_known_city() -> None:
    assert case_prefix("330106001001", "GX330802009") == "HZ"
    assert case_prefix(None, "GX330212001") == "NB"
    assert case_prefix(None, None, cities=("3308",)) == "QZ"
    assert case_prefix(None, "GX999", cities=("3301",)) == "HZ"
    assert case_prefix(None, cities=("3301", "3308")) == "ZJ"


@pytest.mark.parametrize(("place", "prefix"), [("330106001001", "HZ"), ("330802009201", "QZ"), (None, "QZ")])
async def test_a_stored_case_is_numbered_by_the_residents_city(
    sessions: async_sessionmaker[AsyncSession], place: str | None, prefix: str
) -> None:
    slots = {"dispute_code": "debt", "place_code": place}
    number = await save_case(sessions, f"conv-{prefix}-{place}", slots, status="intake", today=TODAY)
    assert number is not None and number.startswith(f"{prefix}2026-")
