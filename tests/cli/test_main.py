"""`python -m sharedcourt.cli purge [--dry-run]` against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.retention_world import World

from sharedcourt.cli.main import main
from sharedcourt.db.base import utcnow
from sharedcourt.db.conversation import Message


async def _messages(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count(Message.id))) or 0)


async def test_purge_counts_first_then_deletes(
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The command purges at the time it runs: ages relative to the real clock.
    world = World(sessions, now=utcnow())
    await world.conversation(world.ago(400), messages=(400, 380))
    await world.conversation(world.ago(20), messages=(20,))
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert await asyncio.to_thread(main, ["purge", "--dry-run"]) == 0
    dry = capsys.readouterr().out.splitlines()
    assert dry[0] == "（仅统计，未删除）" and await _messages(sessions) == 3
    assert await asyncio.to_thread(main, ["purge"]) == 0
    real = capsys.readouterr().out.splitlines()
    assert json.loads(real[-1]) == json.loads(dry[-1])
    assert json.loads(real[-1])["enquiries"] == 2 and await _messages(sessions) == 1
