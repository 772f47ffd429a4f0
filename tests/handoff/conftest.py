"""Fixtures of the handoff tests: the handoff world on each database."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.handoff_world import World, make_world


@pytest.fixture
def world(sessions: async_sessionmaker[AsyncSession]) -> World:
    """A handoff service at Monday 10:00 on a clean database."""
    return make_world(sessions)
