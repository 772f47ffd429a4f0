"""Per-account API tokens for the console's JSON API: `sc_` + 43 random characters, stored as SHA-256 only.

An admin creates one for an account (the token is shown once); it opens the JSON API with that account's roles
and scopes while the account is active and the token not revoked. The STAFF_TOKEN is no such token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.staff import ApiToken, StaffAccount
from sharedcourt.staff.accounts import caller_of
from sharedcourt.staff.roles import Caller

PREFIX = "sc_"


def hash_token(token: str) -> str:
    """What the database stores for a token."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(session: AsyncSession, account: StaffAccount, label: str = "") -> tuple[ApiToken, str]:
    """A new token for ``account``: its row and the token itself (shown once, never stored)."""
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(account_id=account.id, token_hash=hash_token(token), label=label.strip()[:64])
    session.add(row)
    await session.flush()
    return row, token


async def check_token(session: AsyncSession, token: str, now: dt.datetime) -> Caller | None:
    """The caller a live token belongs to (its last use moved to ``now``); None otherwise."""
    if not token.startswith(PREFIX) or len(token) > 128:
        return None
    row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None:
        return None
    account = await session.get(StaffAccount, row.account_id)
    if account is None or not account.active:
        return None
    row.last_used_at = now
    return caller_of(account)


async def revoke_token(session: AsyncSession, token_id: int, now: dt.datetime) -> ApiToken | None:
    """Revoke a token by id; None when there is no such token."""
    row = await session.get(ApiToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
        await session.flush()
    return row
