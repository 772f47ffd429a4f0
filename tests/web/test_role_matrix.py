"""Role × route matrix: each role against every staff page and API, inside and outside its scope (two counties,
two sites). Outside the scope a conversation answers 404, a role without the right 403; never data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stand_ins.console_accounts import csrf_of, login_form
from stand_ins.review_world import KECHENG, QUJIANG, ROLE_ACCOUNTS, SECRETS, SEES, World, build
from starlette.testclient import TestClient

from sharedcourt.app import create_app
from sharedcourt.settings import Settings
from sharedcourt.staff.accounts import find_account
from sharedcourt.staff.tokens import create_token

KEYS = ("kecheng", "qujiang")
REASON = {"field": "phone", "reason": "核实当事人联系方式"}


@pytest.fixture
def evidence_dir(tmp_path: Path) -> Path:
    path = tmp_path / "evidence"
    path.mkdir()
    return path


@pytest.fixture
def app_client(database_url: str, sessions: Any, evidence_dir: Path) -> Iterator[TestClient]:
    settings = Settings.from_env(
        {"DATABASE_URL": database_url, "STAFF_TOKEN": "matrix-staff-token", "EVIDENCE_DIR": str(evidence_dir)}
    )
    with TestClient(create_app(settings, background=False)) as client:
        yield client


def sign_in(client: TestClient, role: str) -> str:
    """Sign the role's account in; returns the session's CSRF token."""
    client.cookies.clear()
    username = ROLE_ACCOUNTS[role][0]
    assert client.post("/console/login", data=login_form(username), follow_redirects=False).status_code == 303
    return csrf_of(client.get("/console").text)


def _listed(client: TestClient, world: World) -> dict[str, set[str]]:
    """Which world conversations each list (page, API, export) shows."""
    ids = {cid: key for key, cid in world.conversations.items()}
    page = client.get("/console/conversations").text
    api = client.get("/console/api/conversations").json()["items"]
    export = client.get("/console/api/export/conversations?format=csv").text
    return {
        "page": {key for cid, key in ids.items() if cid in page},
        "api": {ids[row["id"]] for row in api if row["id"] in ids},
        "export": {key for cid, key in ids.items() if cid in export},
    }


def _conversation_routes(client: TestClient, world: World, key: str, csrf: str) -> dict[str, int]:
    cid = world.conversations[key]
    base = f"/console/conversations/{cid}"
    api = f"/console/api/conversations/{cid}"
    return {
        "page": client.get(base).status_code,
        "evidence": client.get(f"{base}/evidence/{world.evidence[key]}").status_code,
        "api": client.get(api).status_code,
        "export csv": client.get(f"{api}/export?format=csv").status_code,
        "export xlsx": client.get(f"{api}/export?format=xlsx").status_code,
        "reveal form": client.post(f"{base}/reveal", data={"csrf": csrf, **REASON}).status_code,
        "reveal api": client.post(f"{api}/reveal", json={"csrf": csrf, **REASON}).status_code,
        "case page": client.get(f"/console/cases/{world.cases[key]}").status_code,
        "case reveal": client.post(
            f"/console/cases/{world.cases[key]}/reveal", data={"csrf": csrf, **REASON}
        ).status_code,
    }


async def _tokens_of(sessions: Any, username: str) -> tuple[int, int]:
    """Two API tokens of the account: one to revoke on the accounts page, one through the API."""
    async with sessions() as session, session.begin():
        account = await find_account(session, username)
        assert account is not None
        return (await create_token(session, account))[0].id, (await create_token(session, account))[0].id


@pytest.mark.parametrize("role", list(ROLE_ACCOUNTS))
async def test_each_role_sees_and_does_only_what_its_scope_allows(
    app_client: TestClient, sessions: Any, evidence_dir: Path, role: str
) -> None:
    world = await build(sessions, evidence_dir)
    csrf = sign_in(app_client, role)
    listed = _listed(app_client, world)
    assert listed == {"page": SEES[role], "api": SEES[role], "export": SEES[role]}, role
    for key in KEYS:
        codes = _conversation_routes(app_client, world, key, csrf)
        if key not in SEES[role]:
            assert set(codes.values()) == {404}, (role, key, codes)
            continue
        reveal = 403 if role == "auditor" else 200
        assert codes == {
            "page": 200,
            "evidence": 200,
            "api": 200,
            "export csv": 200,
            "export xlsx": 200,
            "reveal form": reveal,
            "reveal api": reveal,
            "case page": 200,
            "case reveal": reveal,
        }, (role, key)
    # The site calendar: admin, or a mediator, judge or dispatcher whose grants cover the site; the county board:
    # a dispatcher or admin. Lawyers and auditors hold neither.
    for key, site in (("kecheng", KECHENG), ("qujiang", QUJIANG)):
        calendar = app_client.get(f"/console/sites/{site}/calendar").status_code
        expected = 403 if role in ("lawyer", "auditor") else 200 if key in SEES[role] else 404
        assert calendar == expected, (role, key, calendar)
    assert app_client.get("/console/board").status_code == (200 if role in ("admin", "dispatcher") else 403)
    audit_code = 200 if role in ("admin", "auditor") else 403
    assert app_client.get("/console/audit").status_code == audit_code
    assert app_client.get("/console/api/audit").status_code == audit_code
    admin_code = 200 if role == "admin" else 403
    assert app_client.get("/console/accounts").status_code == admin_code
    victim = world.accounts["auditor" if role == "admin" else "admin"]
    form_token, api_token = await _tokens_of(sessions, "auditor1" if role == "admin" else "admin1")
    posts = {
        "/console/accounts": {"username": f"new-{role}", "password": "Another!pass-99x", "role": "auditor"},
        f"/console/accounts/{victim}/grants": {"role": "auditor"},
        f"/console/accounts/{victim}/tokens": {},
        f"/console/accounts/tokens/{form_token}/revoke": {},
        f"/console/api/tokens/{api_token}/revoke": {},
        f"/console/accounts/{victim}/deactivate": {},
    }
    for path, form in posts.items():
        response = app_client.post(path, data={"csrf": csrf, **form})
        assert response.status_code == admin_code, (role, path, response.status_code)
        assert app_client.post(path, data=form).status_code == 403, "without the CSRF token"


@pytest.mark.parametrize("role", ["dispatcher", "judge", "lawyer"])
async def test_out_of_scope_pages_hold_no_personal_data(
    app_client: TestClient, sessions: Any, evidence_dir: Path, role: str
) -> None:
    world = await build(sessions, evidence_dir)
    csrf = sign_in(app_client, role)
    hidden = next(k for k in KEYS if k not in SEES[role])
    cid = world.conversations[hidden]
    answers = [
        app_client.get(f"/console/conversations/{cid}").text,
        app_client.get(f"/console/api/conversations/{cid}").text,
        app_client.get(f"/console/conversations/{cid}/evidence/{world.evidence[hidden]}").text,
        app_client.post(f"/console/api/conversations/{cid}/reveal", json={"csrf": csrf, **REASON}).text,
        app_client.get(f"/console/cases/{world.cases[hidden]}").text,
        app_client.post(f"/console/cases/{world.cases[hidden]}/reveal", data={"csrf": csrf, **REASON}).text,
        app_client.get("/console").text,
        app_client.get("/console/conversations?q=" + SECRETS[hidden][4][:2]).text,
    ]
    for answer in answers:
        assert cid not in answer
        for secret in SECRETS[hidden]:
            assert secret not in answer and secret[:3] + "****" + secret[-4:] not in answer


async def test_a_person_with_two_grants_sees_both_scopes(
    app_client: TestClient, sessions: Any, evidence_dir: Path
) -> None:
    from stand_ins.console_accounts import add_account

    from sharedcourt.staff.accounts import grant_role

    world = await build(sessions, evidence_dir)
    await add_account(sessions, "both", "mediator", ROLE_ACCOUNTS["mediator"][2])
    async with sessions() as session, session.begin():
        account = await find_account(session, "both")
        assert account is not None
        await grant_role(session, account, "judge", ROLE_ACCOUNTS["judge"][2])
    app_client.cookies.clear()
    assert app_client.post("/console/login", data=login_form("both"), follow_redirects=False).status_code == 303
    assert _listed(app_client, world)["api"] == {"kecheng", "qujiang"}
