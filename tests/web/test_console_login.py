"""Console sign-in with accounts: cookie flags, refusals, lockout per address and per name, sign-out, CSRF, expiry,
and an audit row for every sign-in, failure and sign-out (never the password)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update
from stand_ins.console_accounts import PASSWORD, add_account, csrf_of, login_form
from starlette.testclient import TestClient

from sharedcourt.app import create_app
from sharedcourt.db.staff import AuditEvent, StaffSession
from sharedcourt.settings import Settings
from sharedcourt.staff.sessions import hash_id
from sharedcourt.web.auth import COOKIE

LOGIN = "/console/login"


def _app(database_url: str, **env: str) -> TestClient:
    settings = Settings.from_env({"DATABASE_URL": database_url, "STAFF_TOKEN": "staff-secret", **env})
    return TestClient(create_app(settings, background=False))


@pytest.fixture
def client(database_url: str, sessions: Any) -> Iterator[TestClient]:
    with _app(database_url, LOGIN_MAX_FAILURES="3", LOGIN_LOCKOUT_SECONDS="600") as c:
        yield c


def _from(client: TestClient, host: str) -> TestClient:
    """A browser at another address on the same running app (no second lifespan)."""
    return TestClient(client.app, client=(host, 4000))


async def _audit(sessions: Any) -> list[tuple[str, str, str]]:
    async with sessions() as session:
        rows = (await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
    return [(r.action, r.actor, r.reason) for r in rows]


@pytest.mark.parametrize(("public_url", "secure"), [("http://127.0.0.1:8000", False), ("https://court.example", True)])
async def test_the_session_cookie_is_http_only_lax_and_secure_on_https(
    database_url: str, sessions: Any, public_url: str, secure: bool
) -> None:
    await add_account(sessions)
    with _app(database_url, PUBLIC_URL=public_url, STAFF_SESSION_HOURS="8") as c:
        response = c.post(LOGIN, data=login_form(), follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console"
    cookie = response.headers["set-cookie"]
    assert "Max-Age=28800" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert ("Secure" in cookie) is secure
    session_id = response.cookies[COOKIE]
    async with sessions() as session:
        stored = (await session.scalars(select(StaffSession.id_hash))).all()
    assert stored == [hash_id(session_id)], "the database keeps only the hash of the id"


async def test_refusals_are_403_with_no_cookie_and_each_is_audited(
    client: TestClient, sessions: Any, caplog: pytest.LogCaptureFixture
) -> None:
    await add_account(sessions, "admin")
    await add_account(sessions, "retired", "auditor", active=False)
    caplog.set_level(logging.DEBUG)
    attempts = [login_form("admin", "Wrong!password-1"), login_form("nobody"), login_form("retired"), {}]
    for i, data in enumerate(attempts):
        response = _from(client, f"10.0.0.{i + 10}").post(LOGIN, data=data, follow_redirects=False)
        assert response.status_code == 403 and "用户名或密码不正确" in response.text
        assert COOKIE not in response.cookies
    assert await _audit(sessions) == [
        ("login_failed", "admin", "wrong password"),
        ("login_failed", "nobody", "unknown account"),
        ("login_failed", "retired", "inactive account"),
        ("login_failed", "", "empty username or password"),
    ]
    assert PASSWORD not in caplog.text and "Wrong!password-1" not in caplog.text
    assert "console sign-in refused for 'admin'" in caplog.text


async def test_the_address_is_locked_out_even_for_the_right_password(client: TestClient, sessions: Any) -> None:
    await add_account(sessions)
    statuses = [client.post(LOGIN, data=login_form(f"guess{i}")).status_code for i in range(3)]
    assert statuses == [403, 403, 429]
    right = client.post(LOGIN, data=login_form(), follow_redirects=False)
    assert right.status_code == 429 and COOKIE not in right.cookies
    assert "尝试次数过多，请 10 分钟后再试" in right.text and 590 <= int(right.headers["retry-after"]) <= 600
    colleague = _from(client, "10.9.9.9")
    assert colleague.post(LOGIN, data=login_form(), follow_redirects=False).status_code == 303


async def test_the_name_is_locked_out_from_every_address(client: TestClient, sessions: Any) -> None:
    await add_account(sessions, "admin")
    await add_account(sessions, "colleague", "auditor")
    statuses = []
    for i in range(3):
        guesser = _from(client, f"192.0.2.{i}")
        statuses.append(guesser.post(LOGIN, data=login_form("admin", f"Guess!number-{i}")).status_code)
    assert statuses == [403, 403, 429]
    fresh = _from(client, "192.0.2.99")
    locked = fresh.post(LOGIN, data=login_form("ADMIN"), follow_redirects=False)
    assert locked.status_code == 429 and COOKIE not in locked.cookies
    assert fresh.post(LOGIN, data=login_form("colleague"), follow_redirects=False).status_code == 303


async def test_a_successful_sign_in_resets_the_failures(client: TestClient, sessions: Any) -> None:
    await add_account(sessions)
    assert [client.post(LOGIN, data=login_form("admin", "x")).status_code for _ in range(2)] == [403, 403]
    assert client.post(LOGIN, data=login_form(), follow_redirects=False).status_code == 303
    statuses = [client.post(LOGIN, data=login_form("admin", "x")).status_code for _ in range(3)]
    assert statuses == [403, 403, 429]


async def test_logout_ends_the_session_server_side(client: TestClient, sessions: Any) -> None:
    await add_account(sessions)
    client.post(LOGIN, data=login_form(), follow_redirects=False)
    old_cookie = client.cookies[COOKIE]
    csrf = csrf_of(client.get("/console").text)
    out = client.post("/console/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 200 and "您已安全退出" in out.text
    assert f"{COOKIE}=" in out.headers["set-cookie"] and "Max-Age=0" in out.headers["set-cookie"]
    client.cookies.set(COOKIE, old_cookie)  # a copy of the cookie kept from before
    assert client.get("/console", follow_redirects=False).status_code == 303
    assert client.get("/console/api/stats").status_code == 403
    assert [a for a, _, _ in await _audit(sessions)] == ["login", "logout"]


async def test_logout_without_the_sessions_csrf_token_is_refused(client: TestClient, sessions: Any) -> None:
    await add_account(sessions)
    await add_account(sessions, "other", "auditor")
    other = _from(client, "10.1.1.1")
    other.post(LOGIN, data=login_form("other"), follow_redirects=False)
    foreign = csrf_of(other.get("/console").text)
    client.post(LOGIN, data=login_form(), follow_redirects=False)
    for data in ({}, {"csrf": ""}, {"csrf": foreign}, {"csrf": "0" * 64}):
        refused = client.post("/console/logout", data=data, follow_redirects=False)
        assert refused.status_code == 403 and "页面已过期或来源不明" in refused.text
    assert client.get("/console/api/stats").status_code == 200, "the session lives on"
    assert "logout" not in [a for a, _, _ in await _audit(sessions)]


@pytest.mark.parametrize("column", ["last_seen_at", "expires_at"])
async def test_an_idle_or_expired_session_opens_nothing(client: TestClient, sessions: Any, column: str) -> None:
    await add_account(sessions)
    client.post(LOGIN, data=login_form(), follow_redirects=False)
    assert client.get("/console/api/stats").status_code == 200
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=31 if column == "last_seen_at" else 1)
    async with sessions() as session, session.begin():
        await session.execute(update(StaffSession).values({column: past}))
    assert client.get("/console/api/stats").status_code == 403
    assert client.get("/console", follow_redirects=False).status_code == 303
