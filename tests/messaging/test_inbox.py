"""The hot path that stores an inbound message (sharedcourt.messaging.inbox)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.base import table_of
from sharedcourt.db.conversation import Resident
from sharedcourt.db.session import unit_of_work
from sharedcourt.messaging import inbox


async def test_a_first_contact_that_loses_the_race_takes_the_winners_row(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with unit_of_work(sessions) as session:
        session.add(Resident(channel="webchat", channel_user_id="u-race"))
    async with sessions() as session:
        winner = await session.scalar(select(Resident.id).where(Resident.channel_user_id == "u-race"))
    real = inbox._touch
    calls: list[int] = []

    def touch_missing_the_first_time() -> Any:
        # The first look-up runs before the other first contact commits: it finds nobody.
        calls.append(1)
        if len(calls) == 1:
            residents = table_of(Resident).c
            return (
                update(table_of(Resident)).where(residents.id == -1).values(last_seen_at=None).returning(residents.id)
            )
        return real()

    monkeypatch.setattr(inbox, "_touch", touch_missing_the_first_time)
    async with unit_of_work(sessions) as session:
        found = await inbox.resident_id(session, "webchat", "u-race", is_staff=False)
    assert found == winner and len(calls) == 2
    async with sessions() as session:
        rows = list(await session.scalars(select(Resident).where(Resident.channel_user_id == "u-race")))
    assert [r.id for r in rows] == [winner]
