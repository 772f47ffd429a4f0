"""Server-side sessions: idle and absolute expiry on an injected clock, logout, inactive accounts, CSRF tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from sharedcourt.db.staff import StaffAccount, StaffSession
from sharedcourt.staff.accounts import create_account
from sharedcourt.staff.sessions import (
    SessionPolicy,
    check_session,
    csrf_matches,
    csrf_token,
    end_session,
    hash_id,
    start_session,
)

POLICY = SessionPolicy(idle=dt.timedelta(minutes=30), absolute=dt.timedelta(hours=12))
T0 = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.timezone.utc)


async def _started(sessions: Any) -> str:
    async with sessions() as session, session.begin():
        account = await create_account(session, "zhangsan", "Qz7!court-desk")
        return await start_session(session, account, POLICY, T0, "10.0.0.1")


async def _check(sessions: Any, session_id: str, at: dt.datetime) -> str | None:
    async with sessions() as session, session.begin():
        caller = await check_session(session, session_id, POLICY, at)
        return caller.username if caller else None


async def test_only_the_hash_of_the_id_is_stored(sessions: Any) -> None:
    session_id = await _started(sessions)
    async with sessions() as session:
        row = await session.scalar(select(StaffSession))
    assert row is not None and row.id_hash == hash_id(session_id) and session_id not in row.id_hash
    assert row.expires_at == T0 + POLICY.absolute and row.address == "10.0.0.1"


async def test_idle_expiry_moves_with_activity(sessions: Any) -> None:
    session_id = await _started(sessions)
    assert await _check(sessions, session_id, T0 + dt.timedelta(minutes=29)) == "zhangsan"
    assert await _check(sessions, session_id, T0 + dt.timedelta(minutes=58)) == "zhangsan"
    assert await _check(sessions, session_id, T0 + dt.timedelta(minutes=88)) is None, "30 idle minutes end it"


async def test_absolute_expiry_ends_even_an_active_session(sessions: Any) -> None:
    session_id = await _started(sessions)
    for step in range(1, 36):  # a request every 20 minutes up to 11:40
        assert await _check(sessions, session_id, T0 + step * dt.timedelta(minutes=20)) == "zhangsan"
    assert await _check(sessions, session_id, T0 + POLICY.absolute) is None


async def test_logout_ends_the_session_server_side(sessions: Any) -> None:
    session_id = await _started(sessions)
    async with sessions() as session, session.begin():
        ended = await end_session(session, session_id, T0 + dt.timedelta(minutes=1))
        assert ended is not None and ended.ended_at is not None
    assert await _check(sessions, session_id, T0 + dt.timedelta(minutes=2)) is None
    async with sessions() as session, session.begin():
        assert await end_session(session, "never-issued", T0) is None


async def test_unknown_ids_and_inactive_accounts_open_nothing(sessions: Any) -> None:
    session_id = await _started(sessions)
    assert await _check(sessions, "", T0) is None
    assert await _check(sessions, session_id + "x", T0) is None
    async with sessions() as session, session.begin():
        account = await session.scalar(select(StaffAccount))
        assert account is not None
        account.active = False
    assert await _check(sessions, session_id, T0 + dt.timedelta(minutes=1)) is None


def test_the_csrf_token_belongs_to_its_session() -> None:
    token = csrf_token("session-a")
    assert csrf_matches("session-a", token)
    assert not csrf_matches("session-b", token)
    assert not csrf_matches("session-a", "")
    assert not csrf_matches("", csrf_token(""))
    assert "session-a" not in token
