"""The PostgreSQL pool pings a connection on checkout only when it sat idle: a dead idle one is replaced unseen; one
back from use a moment ago is handed out without the round trip (if the server dropped it just then, that one
unit of work fails and the pool starts over)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db import session as db_session
from sharedcourt.db.session import make_engine, make_sessionmaker, unit_of_work

# SQLite has no pool (NullPool): only the PostgreSQL database of the shared fixture.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def postgres_url(database_url: str) -> str:
    assert database_url.startswith("postgresql")
    return database_url


async def backend_pid(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with unit_of_work(sessions) as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def terminate(url: str, pid: int) -> None:
    """The server drops the connection (as a restart or an idle timeout would)."""
    with psycopg.connect(url.split("?")[0], autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        for _ in range(50):
            if conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone() is None:
                return
            await asyncio.sleep(0.05)
    raise AssertionError(f"backend {pid} still running")


async def test_an_idle_dead_connection_is_replaced(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db_session, "PING_IDLE_AFTER", 0.05)
    engine = make_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        sessions = make_sessionmaker(engine)
        first = await backend_pid(sessions)
        await terminate(postgres_url, first)
        await asyncio.sleep(0.1)
        assert await backend_pid(sessions) != first
    finally:
        await engine.dispose()


async def test_a_connection_used_a_moment_ago_is_not_pinged(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db_session, "PING_IDLE_AFTER", 60.0)
    engine = make_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        sessions = make_sessionmaker(engine)
        first = await backend_pid(sessions)
        await terminate(postgres_url, first)
        with pytest.raises(DBAPIError):
            await backend_pid(sessions)
        assert await backend_pid(sessions) != first
    finally:
        await engine.dispose()
