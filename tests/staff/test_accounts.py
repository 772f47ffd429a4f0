"""Accounts in the database: create, grant within checked scopes, sign in (wrong password, inactive), audit."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from sharedcourt.db.staff import AuditEvent, RoleGrant, StaffAccount
from sharedcourt.errors import AuthError, BadRequest, Conflict
from sharedcourt.staff import audit
from sharedcourt.staff.accounts import (
    INACTIVE,
    UNKNOWN,
    WRONG_PASSWORD,
    admin_exists,
    authenticate,
    caller_of,
    create_account,
    grant_role,
)
from sharedcourt.staff.passwords import hash_password
from sharedcourt.staff.roles import Grant

PASSWORD = "Qz7!court-desk"


async def test_create_grant_and_sign_in(sessions: Any) -> None:
    async with sessions() as session, session.begin():
        account = await create_account(session, " ZhangSan ", PASSWORD, display_name="张三", phone="13800000000")
        await grant_role(session, account, "mediator", "GX330802005")
        await grant_role(session, account, "dispatcher", "330802")
        await grant_role(session, account, "mediator", "GX330802005")  # twice is once
    async with sessions() as session:
        stored = await session.scalar(select(StaffAccount))
        assert stored is not None and stored.username == "zhangsan" and stored.active
        assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
        signed_in = await authenticate(session, "ZHANGSAN", PASSWORD)
        caller = caller_of(signed_in)
    assert caller.grants == (Grant("mediator", "GX330802005"), Grant("dispatcher", "330802"))
    assert caller.display_name == "张三"


async def _one(sessions: Any, *, active: bool = True) -> None:
    async with sessions() as session, session.begin():
        account = await create_account(session, "lisi", PASSWORD)
        account.active = active


@pytest.mark.parametrize(
    ("username", "password", "active", "reason"),
    [
        ("lisi", "Qz7!court-desK", True, WRONG_PASSWORD),
        ("lisi", "", True, WRONG_PASSWORD),
        ("wangwu", PASSWORD, True, UNKNOWN),
        ("lisi", PASSWORD, False, INACTIVE),
    ],
)
async def test_sign_in_refusals(sessions: Any, username: str, password: str, active: bool, reason: str) -> None:
    await _one(sessions, active=active)
    async with sessions() as session:
        with pytest.raises(AuthError, match=reason):
            await authenticate(session, username, password)


async def test_an_outdated_hash_is_replaced_at_sign_in(sessions: Any) -> None:
    from argon2 import PasswordHasher

    await _one(sessions)
    old = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=2).hash(PASSWORD)
    async with sessions() as session, session.begin():
        account = await session.scalar(select(StaffAccount))
        assert account is not None
        account.password_hash = old
    async with sessions() as session, session.begin():
        await authenticate(session, "lisi", PASSWORD)
    async with sessions() as session:
        account = await session.scalar(select(StaffAccount))
        assert account is not None and account.password_hash != old
        assert account.password_hash.split("$")[3] == hash_password("x").split("$")[3], "today's parameters"


async def test_a_taken_name_and_a_bad_name_are_refused(sessions: Any) -> None:
    await _one(sessions)
    async with sessions() as session:
        with pytest.raises(Conflict, match="已存在"):
            await create_account(session, "LiSi", PASSWORD)
        with pytest.raises(BadRequest, match="用户名"):
            await create_account(session, "李四", PASSWORD)
        with pytest.raises(BadRequest, match="太短"):
            await create_account(session, "wangwu", "short")


@pytest.mark.parametrize(
    ("role", "scope", "why"),
    [
        ("boss", "", "没有这个角色"),
        ("admin", "330802", "不限范围"),
        ("auditor", "FY330802", "不限范围"),
        ("mediator", "", "需要范围"),
        ("judge", "FY999999", "既不是"),
        ("dispatcher", "330899", "既不是"),
    ],
)
async def test_bad_grants_are_refused(sessions: Any, role: str, scope: str, why: str) -> None:
    async with sessions() as session:
        account = await create_account(session, "zhaoliu", PASSWORD)
        with pytest.raises(BadRequest, match=why):
            await grant_role(session, account, role, scope)
        assert (await session.scalars(select(RoleGrant))).all() == []


async def test_admin_exists_only_with_an_active_admin(sessions: Any) -> None:
    async with sessions() as session, session.begin():
        assert not await admin_exists(session)
        account = await create_account(session, "root", PASSWORD)
        await grant_role(session, account, "auditor")
        assert not await admin_exists(session)
        await grant_role(session, account, "admin")
        assert await admin_exists(session)
        account.active = False
        await session.flush()
        assert not await admin_exists(session)


async def test_audit_record_writes_a_row(sessions: Any) -> None:
    async with sessions() as session, session.begin():
        account = await create_account(session, "auditme", PASSWORD)
        caller = caller_of(account)
        await audit.record(
            session,
            "reveal",
            caller=caller,
            target_kind="conversation",
            target_id="c1",
            field="phone",
            reason="核实当事人身份",
            address="10.0.0.1",
        )
        await audit.record(session, "login_failed", actor="x" * 200, address="10.0.0.2")
    async with sessions() as session:
        rows = (await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
    assert [(r.action, r.account_id, r.actor, r.target_id, r.field) for r in rows] == [
        ("reveal", account.id, "auditme", "c1", "phone"),
        ("login_failed", None, "x" * 64, "", ""),
    ]
    assert rows[0].reason == "核实当事人身份" and rows[0].at is not None
