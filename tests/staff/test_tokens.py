"""Per-account API tokens: stored hashed, open only while the account is active and the token not revoked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from stand_ins.console_accounts import add_account

from sharedcourt.db.base import utcnow
from sharedcourt.db.staff import StaffAccount
from sharedcourt.staff.tokens import PREFIX, check_token, create_token, revoke_token


async def test_a_token_is_stored_hashed_and_can_be_revoked(sessions: Any) -> None:
    await add_account(sessions, "tok", "mediator", "GX330802005")
    async with sessions() as session, session.begin():
        account = await session.scalar(select(StaffAccount).where(StaffAccount.username == "tok"))
        assert account is not None
        row, token = await create_token(session, account, "对接系统")
    assert token.startswith(PREFIX) and token not in row.token_hash and len(row.token_hash) == 64
    async with sessions() as session, session.begin():
        caller = await check_token(session, token, utcnow())
        assert caller is not None and caller.username == "tok" and caller.can("mediator", "GX330802005")
        assert await check_token(session, token[:-1], utcnow()) is None
        assert await check_token(session, "not-a-token", utcnow()) is None
        await revoke_token(session, row.id, utcnow())
    async with sessions() as session:
        assert await check_token(session, token, utcnow()) is None
