"""Server-side console sessions: the browser holds a random id, the database only its SHA-256.

A session ends at logout, after `idle` without a request, or `absolute` after it started, whichever comes first.
The CSRF token of a session is derived from its id (HMAC), so it is tied to the session and needs no storage.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.staff import StaffAccount, StaffSession
from sharedcourt.settings import Settings
from sharedcourt.staff.accounts import caller_of
from sharedcourt.staff.roles import Caller


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives without activity, and at the most."""

    idle: dt.timedelta
    absolute: dt.timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        """STAFF_SESSION_IDLE_MINUTES and STAFF_SESSION_HOURS."""
        return cls(
            dt.timedelta(minutes=settings.staff_session_idle_minutes), dt.timedelta(hours=settings.staff_session_hours)
        )


def hash_id(session_id: str) -> str:
    """What the database stores for a session id."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def csrf_token(session_id: str) -> str:
    """The synchronizer token of the session's forms (only someone holding the session id can compute it)."""
    return hmac.new(session_id.encode(), b"sharedcourt-console-csrf", hashlib.sha256).hexdigest()


def csrf_matches(session_id: str, sent: str) -> bool:
    """Whether a form's token belongs to this session; constant-time."""
    return bool(session_id) and hmac.compare_digest(csrf_token(session_id).encode(), sent.encode())


async def start_session(
    session: AsyncSession, account: StaffAccount, policy: SessionPolicy, now: dt.datetime, address: str = ""
) -> str:
    """A new session for `account`; returns its id (for the cookie), storing only its hash."""
    session_id = secrets.token_urlsafe(32)
    row = StaffSession(
        id_hash=hash_id(session_id),
        account_id=account.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.absolute,
        address=address[:64],
    )
    session.add(row)
    await session.flush()
    return session_id


def _alive(row: StaffSession, policy: SessionPolicy, now: dt.datetime) -> bool:
    return row.ended_at is None and now < row.expires_at and now < row.last_seen_at + policy.idle


async def check_session(
    session: AsyncSession, session_id: str, policy: SessionPolicy, now: dt.datetime
) -> Caller | None:
    """The caller of a live session (its last activity moved to `now`); None if unknown, ended or expired."""
    if not session_id:
        return None
    row = await session.get(StaffSession, hash_id(session_id))
    if row is None or not _alive(row, policy, now):
        return None
    account = await session.get(StaffAccount, row.account_id)
    if account is None or not account.active:
        return None
    row.last_seen_at = now
    return caller_of(account)


async def end_session(session: AsyncSession, session_id: str, now: dt.datetime) -> StaffSession | None:
    """Logout: the session ends server-side, so its cookie opens nothing any more; None if it was unknown."""
    row = await session.get(StaffSession, hash_id(session_id)) if session_id else None
    if row is not None and row.ended_at is None:
        row.ended_at = now
        await session.flush()
    return row
