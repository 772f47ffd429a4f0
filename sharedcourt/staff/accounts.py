"""Staff accounts: create, grant roles, check a sign-in (argon2, constant-time, rehash when outdated)."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.staff import RoleGrant, StaffAccount
from sharedcourt.errors import AuthError, BadRequest, Conflict
from sharedcourt.staff.passwords import hash_password, spend_like_a_check, verify_password, weakness
from sharedcourt.staff.roles import ADMIN, Caller, Grant
from sharedcourt.staff.scopes import check_grant

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}")
# Why a sign-in failed: written to the audit log and the server log, never shown to the person signing in.
UNKNOWN, WRONG_PASSWORD, INACTIVE = "unknown account", "wrong password", "inactive account"


def normalize_username(username: str) -> str:
    """Login names compare without case and surrounding blanks."""
    return username.strip().lower()


async def find_account(session: AsyncSession, username: str) -> StaffAccount | None:
    """The account with this login name, if any."""
    query = select(StaffAccount).where(StaffAccount.username == normalize_username(username))
    account: StaffAccount | None = await session.scalar(query)
    return account


async def create_account(
    session: AsyncSession,
    username: str,
    password: str,
    *,
    display_name: str = "",
    phone: str = "",
    dingtalk_user_id: str | None = None,
    wecom_user_id: str | None = None,
) -> StaffAccount:
    """A new active account; BadRequest for a bad login name or a weak password, Conflict when the name is taken."""
    name = normalize_username(username)
    if not USERNAME.fullmatch(name):
        raise BadRequest("用户名须为 2–64 位字母、数字或 _ . @ -（user name: 2-64 letters, digits, _ . @ -）")
    problem = weakness(password, name)
    if problem:
        raise BadRequest(problem)
    if await find_account(session, name) is not None:
        raise Conflict(f"用户名 {name} 已存在（user name already taken）")
    account = StaffAccount(
        username=name,
        display_name=display_name.strip()[:64],
        password_hash=hash_password(password),
        phone=phone,
        dingtalk_user_id=dingtalk_user_id or None,
        wecom_user_id=wecom_user_id or None,
        grants=[],  # loaded, so granting right after creation needs no lazy load
    )
    session.add(account)
    await session.flush()
    return account


async def grant_role(session: AsyncSession, account: StaffAccount, role: str, scope: str = "") -> RoleGrant:
    """Give `account` a role within a scope (checked against the registry); an existing grant is returned as is."""
    scope = scope.strip()
    await check_grant(session, role, scope)
    for grant in account.grants:
        if grant.role == role and grant.scope == scope:
            return grant
    grant = RoleGrant(role=role, scope=scope)
    account.grants.append(grant)
    await session.flush()
    return grant


async def authenticate(session: AsyncSession, username: str, password: str) -> StaffAccount:
    """The account these credentials open; AuthError(UNKNOWN | WRONG_PASSWORD | INACTIVE) otherwise."""
    account = await find_account(session, username)
    if account is None:
        spend_like_a_check(password)
        raise AuthError(UNKNOWN)
    ok, rehashed = verify_password(account.password_hash, password)
    if not ok:
        raise AuthError(WRONG_PASSWORD)
    if not account.active:
        raise AuthError(INACTIVE)
    if rehashed is not None:
        account.password_hash = rehashed
    return account


def caller_of(account: StaffAccount) -> Caller:
    """The account as a request sees it: id, names and grants."""
    grants = tuple(Grant(g.role, g.scope) for g in account.grants)
    return Caller(account.id, account.username, account.display_name, grants)


async def admin_exists(session: AsyncSession) -> bool:
    """Whether any active account holds the admin role."""
    query = (
        select(func.count())
        .select_from(RoleGrant)
        .join(StaffAccount, StaffAccount.id == RoleGrant.account_id)
        .where(RoleGrant.role == ADMIN, StaffAccount.active.is_(True))
    )
    return bool(await session.scalar(query))
