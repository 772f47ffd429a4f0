"""Brute force is throttled: console sign-in locks an address, and a login name, out after LOGIN_MAX_FAILURES wrong
passwords (429, even for the right password, no cookie), and web chat refuses messages over its per-resident and
per-address limits (429, nothing stored, no Rasa turn)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from stand_ins.console_accounts import PASSWORD, add_account
from stand_ins.secure_app import Stack, secure_app

MAX_FAILURES = 4
LOGIN = "/console/login"


@pytest.fixture
async def stack(database_url: str, sessions: object) -> AsyncIterator[Stack]:
    async with secure_app(
        database_url,
        LOGIN_MAX_FAILURES=str(MAX_FAILURES),
        LOGIN_LOCKOUT_SECONDS="900",
        WEBCHAT_PER_SENDER_PER_MINUTE="3",
        WEBCHAT_PER_ADDRESS_PER_MINUTE="5",
    ) as running:
        await add_account(running.app.state.sessions, "admin")
        yield running


def from_address(stack: Stack, host: str) -> httpx.AsyncClient:
    """A browser on another network address."""
    transport = httpx.ASGITransport(app=stack.app, client=(host, 40_000), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30)


async def _login(client: httpx.AsyncClient, password: str, username: str = "admin", **headers: str) -> httpx.Response:
    data = {"username": username, "password": password}
    return await client.post(LOGIN, data=data, headers=headers, follow_redirects=False)


async def test_login_locks_out_after_the_configured_failures(stack: Stack) -> None:
    statuses = [(await _login(stack.client, "guess", f"name-{i}")).status_code for i in range(MAX_FAILURES + 3)]
    assert statuses[: MAX_FAILURES - 1] == [403] * (MAX_FAILURES - 1), statuses
    assert statuses[MAX_FAILURES:] == [429] * 3, f"no more than {MAX_FAILURES} guesses are checked: {statuses}"
    locked = await _login(stack.client, PASSWORD)
    assert locked.status_code == 429, "the right password does not open a locked-out address"
    assert not locked.cookies
    assert int(locked.headers["retry-after"]) > 0
    assert (await stack.client.get("/console/api/stats")).status_code in (401, 403)


async def test_forwarded_for_does_not_reset_the_count(stack: Stack) -> None:
    for i in range(MAX_FAILURES):
        forwarded = {"x-forwarded-for": f"203.0.113.{i}", "x-real-ip": f"198.51.100.{i}"}
        await _login(stack.client, "guess", f"name-{i}", **forwarded)
    response = await _login(stack.client, "guess-again", "another-name", **{"x-forwarded-for": "203.0.113.200"})
    assert response.status_code == 429


async def test_a_lockout_does_not_lock_out_other_addresses(stack: Stack) -> None:
    for i in range(MAX_FAILURES + 1):
        await _login(stack.client, "guess", f"name-{i}")
    async with from_address(stack, "10.20.30.40") as colleague:
        response = await _login(colleague, PASSWORD)
        assert response.status_code == 303, "a guesser elsewhere cannot lock staff out of the console"


async def test_a_login_name_is_locked_out_whatever_the_address(stack: Stack) -> None:
    statuses = []
    for i in range(MAX_FAILURES):
        async with from_address(stack, f"198.18.0.{i}") as guesser:
            statuses.append((await _login(guesser, f"guess-{i}")).status_code)
    assert statuses == [403] * (MAX_FAILURES - 1) + [429], statuses
    async with from_address(stack, "198.18.1.1") as owner:
        locked = await _login(owner, PASSWORD)
        assert locked.status_code == 429 and not locked.cookies, "spreading guesses over addresses does not help"


async def _say(client: httpx.AsyncClient, text: str) -> int:
    return (await client.post("/webchat/messages", json={"text": text})).status_code


async def test_web_chat_per_resident_limit(stack: Stack) -> None:
    statuses = [await _say(stack.client, f"第{i}条") for i in range(5)]
    assert statuses == [200, 200, 200, 429, 429], statuses
    assert len(stack.rasa.received) == 3
    assert await stack.count() == 6, "three messages and three replies; the refused ones are not stored"


async def test_web_chat_per_address_limit_spans_new_cookies(stack: Stack) -> None:
    statuses = []
    for i in range(7):
        async with from_address(stack, "192.0.2.7") as fresh_browser:  # a new cookie every time
            statuses.append(await _say(fresh_browser, f"新会话{i}"))
    assert statuses == [200] * 5 + [429] * 2, statuses
    assert len(stack.rasa.received) == 5
    async with from_address(stack, "192.0.2.8") as neighbour:
        assert await _say(neighbour, "另一个地址") == 200
