"""`make staff-add`: create a console account with one role (the first admin is made the same way)."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Callable

from sharedcourt.db.session import make_engine, make_sessionmaker, unit_of_work
from sharedcourt.errors import BadRequest
from sharedcourt.settings import Settings
from sharedcourt.staff import audit
from sharedcourt.staff.accounts import admin_exists, create_account, grant_role, normalize_username
from sharedcourt.staff.passwords import weakness
from sharedcourt.staff.roles import GLOBAL_ROLES, ROLE_ZH, ROLES

NO_PASSWORD = (
    "没有密码：请设置环境变量 PASSWORD，或在终端中运行以输入密码（no password: set PASSWORD or run in a terminal）"
)
DIFFERENT = "两次输入的密码不一致（the two passwords differ）"
FIRST_ADMIN = (
    "尚无管理员账号。创建第一个管理员（no admin account yet; create the first one）：\n"
    "  make staff-add USERNAME=admin ROLE=admin\n"
    "  （密码从环境变量 PASSWORD 读取，未设置时提示输入 / the password comes from PASSWORD or a prompt）"
)


def _precheck(role: str, scope: str) -> None:
    """What can be refused before asking for a password (the scope's existence is checked in the database)."""
    if role not in ROLES:
        raise BadRequest(f"没有这个角色：{role}（unknown role; one of {', '.join(ROLES)}）")
    if (role in GLOBAL_ROLES) == bool(scope):
        need = "不限范围，请不要填写 SCOPE（takes no SCOPE）" if scope else "需要 SCOPE：站点编号或县（市、区）代码"
        raise BadRequest(f"{role} 角色{need}")


def _ask(username: str, prompt: Callable[[str], str], interactive: bool) -> str:
    """The password typed twice at a prompt (never echoed)."""
    if not interactive:
        raise BadRequest(NO_PASSWORD)
    first = prompt(f"{username} 的密码（password）: ")
    problem = weakness(first, username)
    if problem:
        raise BadRequest(problem)
    if prompt("再输入一次（again）: ") != first:
        raise BadRequest(DIFFERENT)
    return first


async def _add(database_url: str, username: str, password: str, role: str, scope: str, display_name: str) -> None:
    engine = make_engine(database_url)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            account = await create_account(session, username, password, display_name=display_name)
            await grant_role(session, account, role, scope)
            await audit.record(
                session,
                "account_created",
                actor="cli",
                target_kind="staff_account",
                target_id=account.username,
                field=f"{role}:{scope}" if scope else role,
            )
    finally:
        await engine.dispose()


def staff_add(
    settings: Settings,
    username: str,
    role: str,
    scope: str = "",
    display_name: str = "",
    *,
    prompt: Callable[[str], str] = getpass.getpass,
    interactive: bool | None = None,
) -> int:
    """Create the account and grant the role in one transaction; BadRequest/Conflict name what is wrong."""
    name, scope = normalize_username(username), scope.strip()
    _precheck(role, scope)
    if settings.password:
        problem = weakness(settings.password, name)
        if problem:
            raise BadRequest(problem)
        password = settings.password
    else:
        password = _ask(name, prompt, sys.stdin.isatty() if interactive is None else interactive)
    asyncio.run(_add(settings.database_url, name, password, role, scope, display_name))
    where = f"，范围 {scope}" if scope else ""
    print(f"已创建账号 {name}（{ROLE_ZH[role]}{where}）/ account {name} created as {role}")
    return 0


async def _has_admin(database_url: str) -> bool:
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            return await admin_exists(session)
    finally:
        await engine.dispose()


def first_admin_hint(settings: Settings) -> str | None:
    """How to create the first admin, when the (migrated) database has none; None otherwise."""
    return None if asyncio.run(_has_admin(settings.database_url)) else FIRST_ADMIN
