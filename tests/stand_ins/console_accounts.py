"""Console accounts for tests: add one straight into the database, sign in through the form, read the CSRF token."""

from __future__ import annotations

import re
from typing import Any

from sharedcourt.staff.accounts import create_account, grant_role

PASSWORD = "Sec!console-pass-7f3a"
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


async def add_account(
    sessions: Any, username: str = "admin", role: str | None = "admin", scope: str = "", *, active: bool = True
) -> int:
    """An account with PASSWORD and (unless role is None) one role; returns its id."""
    async with sessions() as session, session.begin():
        account = await create_account(session, username, PASSWORD, display_name=f"{username}的名字")
        if role is not None:
            await grant_role(session, account, role, scope)
        account.active = active
        return account.id


def login_form(username: str = "admin", password: str = PASSWORD) -> dict[str, str]:
    """The sign-in form's fields."""
    return {"username": username, "password": password}


def csrf_of(page_text: str) -> str:
    """The CSRF token a console page carries in its sign-out form."""
    found = _CSRF.search(page_text)
    assert found, "the page carries a CSRF token"
    return found.group(1)
