"""Revoking API tokens: an admin revokes on the accounts page (CSRF) or through the JSON API; audited; a revoked
token opens nothing; nobody else can revoke."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from stand_ins.console_accounts import csrf_of, login_form
from stand_ins.review_world import World, build
from starlette.testclient import TestClient

from sharedcourt.app import create_app
from sharedcourt.db.staff import ApiToken, AuditEvent, StaffAccount
from sharedcourt.settings import Settings
from sharedcourt.staff.tokens import create_token

LIST = "/console/api/conversations"


@pytest.fixture
def client(database_url: str, sessions: Any, tmp_path: Path) -> Iterator[TestClient]:
    (tmp_path / "ev").mkdir(exist_ok=True)
    env = {"DATABASE_URL": database_url, "STAFF_TOKEN": "tokens-staff-token", "EVIDENCE_DIR": str(tmp_path / "ev")}
    with TestClient(create_app(Settings.from_env(env), background=False)) as c:
        yield c


@pytest.fixture
async def world(sessions: Any, tmp_path: Path) -> World:
    (tmp_path / "ev").mkdir(exist_ok=True)
    return await build(sessions, tmp_path / "ev")


def _sign_in(client: TestClient, username: str) -> str:
    client.cookies.clear()
    assert client.post("/console/login", data=login_form(username), follow_redirects=False).status_code == 303
    return csrf_of(client.get("/console").text)


async def _token(sessions: Any, username: str, label: str = "对接系统") -> tuple[int, dict[str, str]]:
    async with sessions() as session, session.begin():
        account = await session.scalar(select(StaffAccount).where(StaffAccount.username == username))
        assert account is not None
        row, token = await create_token(session, account, label)
        return row.id, {"Authorization": f"Bearer {token}"}


async def _audit(sessions: Any) -> list[tuple[str, str, str]]:
    async with sessions() as session:
        rows = await session.scalars(select(AuditEvent).where(AuditEvent.action == "token_revoked"))
        return [(r.actor, r.target_id, r.field) for r in rows]


async def test_an_admin_revokes_on_the_accounts_page_and_the_token_opens_nothing(
    client: TestClient, sessions: Any, world: World
) -> None:
    token_id, bearer = await _token(sessions, "lawyer1")
    cid = world.conversations["kecheng"]
    assert client.get(LIST, headers=bearer).status_code == 200
    csrf = _sign_in(client, "admin1")
    page = client.get("/console/accounts").text
    assert f'action="/console/accounts/tokens/{token_id}/revoke"' in page and "对接系统" in page
    assert client.post(f"/console/accounts/tokens/{token_id}/revoke", data={}).status_code == 403, "no CSRF"
    done = client.post(f"/console/accounts/tokens/{token_id}/revoke", data={"csrf": csrf})
    assert done.status_code == 200 and f"已撤销 lawyer1 的接口令牌 #{token_id}" in done.text
    assert f"/console/accounts/tokens/{token_id}/revoke" not in done.text, "a revoked token has no button"
    client.cookies.clear()
    assert client.get(LIST, headers=bearer).status_code == 403
    assert client.get(f"{LIST}/{cid}", headers=bearer).status_code == 403
    reveal = client.post(f"{LIST}/{cid}/reveal", headers=bearer, json={"field": "phone", "reason": "核实"})
    assert reveal.status_code == 403 and "13812345678" not in reveal.text
    assert client.get(f"{LIST}/{cid}/export?format=csv", headers=bearer).status_code == 403
    assert await _audit(sessions) == [("admin1", "lawyer1", f"token:{token_id}")]
    async with sessions() as session:
        row = await session.get(ApiToken, token_id)
        assert row is not None and row.revoked_at is not None


async def test_the_revoke_api_takes_an_admin_session_with_csrf_or_an_admin_token(
    client: TestClient, sessions: Any, world: World
) -> None:
    first, first_bearer = await _token(sessions, "mediator1")
    second, second_bearer = await _token(sessions, "mediator1")
    _, admin_bearer = await _token(sessions, "admin1")
    csrf = _sign_in(client, "admin1")
    assert client.post(f"/console/api/tokens/{first}/revoke", json={}).status_code == 403, "a session needs CSRF"
    revoked = client.post(f"/console/api/tokens/{first}/revoke", headers={"X-CSRF-Token": csrf})
    assert revoked.status_code == 200
    assert revoked.json()["account"] == "mediator1" and revoked.json()["already_revoked"] is False
    again = client.post(f"/console/api/tokens/{first}/revoke", headers={"X-CSRF-Token": csrf})
    assert again.status_code == 200 and again.json()["already_revoked"] is True
    missing = client.post("/console/api/tokens/999999/revoke", headers={"X-CSRF-Token": csrf})
    assert missing.status_code == 404
    client.cookies.clear()
    assert client.get(LIST, headers=first_bearer).status_code == 403
    assert client.get(LIST, headers=second_bearer).status_code == 200, "only the revoked token stops"
    assert client.post(f"/console/api/tokens/{second}/revoke", headers=admin_bearer).status_code == 200
    assert client.get(LIST, headers=second_bearer).status_code == 403
    assert await _audit(sessions) == [
        ("admin1", "mediator1", f"token:{first}"),
        ("admin1", "mediator1", f"token:{second}"),
    ], "one audit row per revoke, none for a repeat"


@pytest.mark.parametrize("role", ["dispatcher", "judge", "mediator", "lawyer", "auditor"])
async def test_nobody_but_an_admin_revokes(client: TestClient, sessions: Any, world: World, role: str) -> None:
    username = {"dispatcher": "dispatch1", "judge": "judge1", "mediator": "mediator1", "lawyer": "lawyer1"}
    name = username.get(role, "auditor1")
    victim, victim_bearer = await _token(sessions, "admin1")
    own, own_bearer = await _token(sessions, name)
    csrf = _sign_in(client, name)
    assert client.post(f"/console/accounts/tokens/{victim}/revoke", data={"csrf": csrf}).status_code == 403
    assert client.post(f"/console/api/tokens/{victim}/revoke", headers={"X-CSRF-Token": csrf}).status_code == 403
    client.cookies.clear()
    assert client.post(f"/console/api/tokens/{own}/revoke", headers=own_bearer).status_code == 403
    assert client.get(LIST, headers=victim_bearer).status_code == 200 and await _audit(sessions) == []
