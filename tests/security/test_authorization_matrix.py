"""Authorization matrix: every route the app serves has a decision, and every protected route refuses strangers.

The decision table below is the contract. A route the app serves without a decision fails the suite (decide it
here when you add it); a decision whose route is gone fails too.
- `machine` routes (the action server's internal API) are tried anonymously, with a wrong, an empty and a
  non-bearer token, with the token in the query string and with a signed-in person's console session: each must be
  refused. With the right bearer token they must not be refused (and never answer 5xx).
- `console` routes (pages and JSON for people) are tried anonymously, with the right STAFF_TOKEN as bearer or in the
  query (the token signs no one in to the console), with made-up, empty, signed-out and deactivated-account session
  cookies: each must be refused. A live session (and, for a form POST, its CSRF token) must not be refused.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import update
from stand_ins.console_accounts import PASSWORD, add_account, csrf_of, login_form
from stand_ins.secure_app import STAFF_TOKEN, Stack, secure_app, secure_settings
from stand_ins.served_routes import sample_url, served

from sharedcourt.app import create_app
from sharedcourt.db.staff import StaffAccount
from sharedcourt.settings import Settings
from sharedcourt.web.auth import COOKIE

PUBLIC = "public"  # anyone; the route authenticates by its own means (named in the comment) or needs none
MACHINE = "machine"  # the STAFF_TOKEN bearer only: the action server's internal API
CONSOLE = "console"  # a signed-in account's session (any role for now); the staff token opens nothing here
LINK = "link"  # a signed link handed to staff in a card; nothing else opens it
SCRAPER = "scraper"  # loopback, or an address in METRICS_ALLOW; nobody else, whatever they send

DECISIONS: dict[tuple[str, str], str] = {
    ("GET", "/"): PUBLIC,  # the web chat page
    ("GET", "/healthz"): PUBLIC,  # reachability only, no data (the same answer as /readyz)
    ("GET", "/livez"): PUBLIC,  # "the process is up", nothing else
    ("GET", "/readyz"): PUBLIC,  # which dependency is down, by name and error type only
    ("GET", "/metrics"): SCRAPER,
    ("GET", "/webchat/messages"): PUBLIC,  # the resident's own conversation, chosen by the server's cookie
    ("POST", "/webchat/messages"): PUBLIC,  # idem
    ("GET", "/console/login"): PUBLIC,  # the sign-in form
    ("POST", "/console/login"): PUBLIC,  # the sign-in itself (throttled per address and per name)
    ("POST", "/dingtalk/callback"): PUBLIC,  # DingTalk's signature headers
    ("POST", "/dingtalk/card-callback"): PUBLIC,  # DingTalk's signature headers, like the robot callback
    ("GET", "/wechat/callback"): PUBLIC,  # WeChat's URL check signature
    ("POST", "/wechat/callback"): PUBLIC,  # WeChat's signature and safe-mode encryption
    ("GET", "/wechat/subscribe"): PUBLIC,  # a signed, expiring, resident-bound token in the query (403 without)
    ("GET", "/wecom/callback"): PUBLIC,  # WeCom's msg_signature
    ("POST", "/wecom/callback"): PUBLIC,  # idem
    ("GET", "/handoff/tickets/{number}/transcript"): LINK,
    ("GET", "/console"): CONSOLE,
    ("GET", "/console/api/dashboard"): CONSOLE,  # the dashboard's counts, within the caller's scope (any role)
    ("POST", "/console/logout"): CONSOLE,  # and the session's CSRF token
    ("GET", "/console/conversations"): CONSOLE,  # rows within the caller's scope (tests/web/test_role_matrix.py)
    ("GET", "/console/conversations/{conversation_id}"): CONSOLE,  # 404 outside the caller's scope
    ("POST", "/console/conversations/{conversation_id}/reveal"): CONSOLE,  # CSRF; not auditors; audited
    ("GET", "/console/conversations/{conversation_id}/evidence/{evidence_id:int}"): CONSOLE,  # scope-checked file
    ("GET", "/console/api/conversations"): CONSOLE,  # or the account's own API token (sc_…)
    ("GET", "/console/api/conversations/{conversation_id}"): CONSOLE,  # idem
    ("POST", "/console/api/conversations/{conversation_id}/reveal"): CONSOLE,  # session + CSRF, or API token
    ("GET", "/console/api/conversations/{conversation_id}/export"): CONSOLE,  # audited
    ("GET", "/console/api/export/conversations"): CONSOLE,  # audited
    ("GET", "/console/audit"): CONSOLE,  # admin and auditor only
    ("GET", "/console/api/audit"): CONSOLE,  # admin and auditor only
    ("GET", "/console/accounts"): CONSOLE,  # admin only, every form with CSRF
    ("POST", "/console/accounts"): CONSOLE,
    ("POST", "/console/accounts/{account_id:int}/grants"): CONSOLE,
    ("POST", "/console/accounts/{account_id:int}/deactivate"): CONSOLE,
    ("POST", "/console/accounts/{account_id:int}/tokens"): CONSOLE,
    # 普法 entries (issue 15): admin only, forms with CSRF, every change audited; the unanswered questions are
    # shown to admins and auditors, marked covered by admins (tests/web/test_faq_console.py refuses the others).
    ("GET", "/console/faq"): CONSOLE,
    ("POST", "/console/faq"): CONSOLE,
    ("GET", "/console/faq/edit"): CONSOLE,
    ("GET", "/console/faq/unanswered"): CONSOLE,
    ("POST", "/console/faq/unanswered/covered"): CONSOLE,
    # The workspace: a mediator, judge or dispatcher grant (or admin), and only tickets within their scope
    # (tests/web/workspace/test_pages.py refuses the other roles and other scopes); forms carry the CSRF token.
    # Analytics: a dispatcher, judge or admin, only the counties of their grants (tests/web/test_analytics.py).
    ("GET", "/console/analytics"): CONSOLE,
    ("GET", "/console/api/analytics"): CONSOLE,  # the same JSON as /console/api/stats
    ("GET", "/console/api/stats"): CONSOLE,  # or the account's own API token (sc_…); dispatcher, judge, admin
    ("GET", "/console/api/export/stats"): CONSOLE,  # one chart's CSV, session or API token; audited
    ("GET", "/console/static/echarts.min.js"): PUBLIC,  # the vendored chart library, no data
    ("GET", "/console/workspace"): CONSOLE,
    ("GET", "/console/workspace/tickets/{number}"): CONSOLE,
    ("GET", "/console/workspace/tickets/{number}/events"): CONSOLE,
    ("POST", "/console/workspace/tickets/{number}/{verb}"): CONSOLE,
    ("GET", "/console/workspace/evidence/{evidence_id:int}"): CONSOLE,
    # The case page: whoever may open its conversation, 404 outside the scope; the reveal is the transcript's
    # (CSRF, reason, not auditors, audited). The site calendar: admin, or a mediator, judge or dispatcher whose
    # grants cover the site (404 otherwise); forms with CSRF, audited. The county board: dispatcher or admin
    # (tests/web/workspace/test_case_page.py, test_calendar.py, test_board.py).
    ("GET", "/console/cases/{case_id:int}"): CONSOLE,
    ("POST", "/console/cases/{case_id:int}/reveal"): CONSOLE,
    ("GET", "/console/sites/{key}/calendar"): CONSOLE,
    ("POST", "/console/sites/{key}/calendar/{verb}"): CONSOLE,
    ("GET", "/console/board"): CONSOLE,
    ("POST", "/console/accounts/tokens/{token_id:int}/revoke"): CONSOLE,  # admin, CSRF, audited
    ("POST", "/console/api/tokens/{token_id:int}/revoke"): CONSOLE,  # admin: session + CSRF, or admin's API token
    ("POST", "/handoff/requests"): MACHINE,  # the action server calls these with the staff token
    ("POST", "/handoff/cancel"): MACHINE,
    ("POST", "/handoff/ratings"): MACHINE,
    ("POST", "/handoff/status"): MACHINE,
    ("POST", "/handoff/staff/command"): MACHINE,
    ("GET", "/handoff/staff/inbox"): MACHINE,
    ("GET", "/staff/bookings"): MACHINE,
    ("POST", "/staff/bookings"): MACHINE,
    ("GET", "/staff/reminders/failed"): MACHINE,
    ("POST", "/staff/closures"): MACHINE,
    ("POST", "/staff/bookings/{booking_id:int}/{verb:str}"): MACHINE,
}

CONSOLE_LOGIN = "/console/login"


def _all_channels() -> Settings:
    return secure_settings("sqlite:////nonexistent/never-opened.db", "http://dingtalk.test", "http://wechat.test")


def test_every_served_route_has_a_decision() -> None:
    routes = served(create_app(_all_channels(), background=False).routes)
    undecided = sorted(routes - DECISIONS.keys())
    assert undecided == [], f"routes without a decision in DECISIONS: {undecided}"


def test_every_decision_names_a_served_route() -> None:
    routes = served(create_app(_all_channels(), background=False).routes)
    gone = sorted(DECISIONS.keys() - routes)
    assert gone == [], f"decisions for routes the app no longer serves: {gone}"


def test_an_unconfigured_app_serves_only_decided_routes() -> None:
    bare = Settings.from_env({"DATABASE_URL": "sqlite:////nonexistent/never-opened.db", **_secrets_only()})
    routes = served(create_app(bare, background=False).routes)
    assert routes <= DECISIONS.keys()
    assert ("POST", "/wechat/callback") not in routes and ("POST", "/wecom/callback") not in routes


def _secrets_only() -> dict[str, str]:
    from stand_ins.secure_app import SECRETS

    channel_prefixes = ("WECHAT_", "WECOM_", "DINGTALK_")
    return {k: v for k, v in SECRETS.items() if not k.startswith(channel_prefixes)}


def refused(response: httpx.Response) -> bool:
    """401/403, or (for a console page a browser opens) a redirect to the sign-in form."""
    if response.status_code in (401, 403):
        return True
    location = response.headers.get("location", "")
    return response.status_code in (302, 303, 307) and httpx.URL(location).path == CONSOLE_LOGIN


def routes_of(decision: str) -> Iterator[tuple[str, str]]:
    """Every (method, path) with this decision, plus HEAD beside each GET."""
    for (method, path), decided in sorted(DECISIONS.items()):
        if decided == decision:
            yield method, path
            if method == "GET":
                yield "HEAD", path


async def _call(
    stack: Stack,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> httpx.Response:
    kind = "application/x-www-form-urlencoded" if form is not None else "application/json"
    sent = {"content-type": kind, **(headers or {})}
    if cookies:
        sent["cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    stack.client.cookies.clear()
    content = (str(httpx.QueryParams(form)).encode() if form is not None else b"{}") if method == "POST" else None
    request = stack.client.build_request(method, sample_url(path), content=content, headers=sent, params=params)
    return await stack.client.send(request, follow_redirects=False)


async def _signed_in(stack: Stack, username: str, role: str = "admin") -> tuple[dict[str, str], str]:
    """A live console session of a new account: its cookie and its CSRF token."""
    await add_account(stack.app.state.sessions, username, role)
    stack.client.cookies.clear()
    response = await stack.client.post(CONSOLE_LOGIN, data=login_form(username), follow_redirects=False)
    assert response.status_code == 303, response.text
    cookie = {COOKIE: response.cookies[COOKIE]}
    page = await _call(stack, "GET", "/console", cookies=cookie)
    return cookie, csrf_of(page.text)


async def _dead_sessions(stack: Stack) -> dict[str, dict[str, str]]:
    """Session cookies that must open nothing: signed out, and of an account deactivated since."""
    signed_out, csrf = await _signed_in(stack, "signedout", "auditor")
    assert (await _call(stack, "POST", "/console/logout", cookies=signed_out, form={"csrf": csrf})).status_code == 200
    deactivated, _ = await _signed_in(stack, "deactivated", "auditor")
    async with stack.app.state.sessions() as session, session.begin():
        await session.execute(update(StaffAccount).where(StaffAccount.username == "deactivated").values(active=False))
    return {"signed-out session": signed_out, "deactivated account's session": deactivated}


def _token_attempts() -> dict[str, dict[str, dict[str, str]]]:
    return {
        "anonymous": {},
        "wrong bearer": {"headers": {"Authorization": "Bearer not-the-staff-token"}},
        "empty bearer": {"headers": {"Authorization": "Bearer "}},
        "bare Bearer": {"headers": {"Authorization": "Bearer"}},
        "token without scheme": {"headers": {"Authorization": STAFF_TOKEN}},
        "basic scheme": {"headers": {"Authorization": f"Basic {STAFF_TOKEN}"}},
        "token prefix": {"headers": {"Authorization": f"Bearer {STAFF_TOKEN[:-1]}"}},
        "token in query": {"params": {"token": STAFF_TOKEN}},
    }


@pytest.mark.parametrize(("method", "path"), list(routes_of(MACHINE)))
async def test_machine_route_refuses_strangers_and_people_and_admits_the_token(
    database_url: str, sessions: object, method: str, path: str
) -> None:
    async with secure_app(database_url) as stack:
        cookie, csrf = await _signed_in(stack, "admin")
        attempts = _token_attempts()
        attempts["an admin's console session"] = {"cookies": cookie, "form": {"csrf": csrf}}
        for name, kwargs in attempts.items():
            response = await _call(stack, method, path, **kwargs)
            assert refused(response), f"{method} {path} ({name}) was answered {response.status_code}"
            assert response.status_code < 500
        allowed = await _call(stack, method, path, headers=stack.staff())
        assert not refused(allowed), f"{method} {path} refused the right token: {allowed.status_code}"
        assert allowed.status_code < 500, f"{method} {path} with the right token: {allowed.status_code}"


@pytest.mark.parametrize(("method", "path"), list(routes_of(CONSOLE)))
async def test_console_route_refuses_strangers_and_the_token_and_admits_a_session(
    database_url: str, sessions: object, method: str, path: str
) -> None:
    async with secure_app(database_url) as stack:
        attempts = _token_attempts()
        attempts["right bearer token"] = {"headers": stack.staff()}
        attempts["made-up session"] = {"cookies": {COOKIE: "x" * 43}}
        attempts["empty session"] = {"cookies": {COOKIE: ""}}
        attempts["password as session"] = {"cookies": {COOKIE: PASSWORD}}
        for name, cookie in (await _dead_sessions(stack)).items():
            attempts[name] = {"cookies": cookie}
        for name, kwargs in attempts.items():
            response = await _call(stack, method, path, **kwargs)
            assert refused(response), f"{method} {path} ({name}) was answered {response.status_code}"
            assert response.status_code < 500
        cookie, csrf = await _signed_in(stack, "admin")
        allowed = await _call(stack, method, path, cookies=cookie, form={"csrf": csrf} if method == "POST" else None)
        assert not refused(allowed), f"{method} {path} refused a live session: {allowed.status_code}"
        assert allowed.status_code < 500, f"{method} {path} with a live session: {allowed.status_code}"


async def test_console_login_sets_a_session_only_for_the_right_password(database_url: str, sessions: object) -> None:
    async with secure_app(database_url) as stack:
        await add_account(stack.app.state.sessions, "admin")
        wrong = await stack.client.post(CONSOLE_LOGIN, data=login_form("admin", "guess"), follow_redirects=False)
        assert wrong.status_code in (401, 403) and not wrong.cookies
        empty = await stack.client.post(CONSOLE_LOGIN, data={"username": "", "password": ""}, follow_redirects=False)
        assert empty.status_code in (400, 401, 403) and not empty.cookies
        token = await stack.client.post(CONSOLE_LOGIN, data={"token": STAFF_TOKEN}, follow_redirects=False)
        assert token.status_code in (401, 403) and not token.cookies, "the staff token signs no one in"
        good = await stack.client.post(CONSOLE_LOGIN, data=login_form("admin"), follow_redirects=False)
        assert good.status_code == 303
        set_cookie = good.headers.get("set-cookie", "")
        assert PASSWORD not in set_cookie and STAFF_TOKEN not in set_cookie
        stats = await stack.client.get("/console/api/stats")
        assert stats.status_code == 200


@pytest.mark.parametrize(
    ("method", "path"), sorted(route for route, decision in DECISIONS.items() if decision == SCRAPER)
)
async def test_scraper_route_refuses_other_addresses_whatever_they_send(
    database_url: str, sessions: object, method: str, path: str
) -> None:
    async with secure_app(database_url, METRICS_ALLOW="192.0.2.7") as stack:
        attempts = {
            "a stranger": ("203.0.113.9", {}),
            "a stranger with the staff token": ("203.0.113.9", stack.staff()),
            "a stranger claiming loopback": ("203.0.113.9", {"X-Forwarded-For": "127.0.0.1"}),
            "loopback forwarded by a proxy": ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}),
            "a neighbour of the allowed address": ("192.0.2.8", {}),
        }
        for name, (address, headers) in attempts.items():
            transport = httpx.ASGITransport(app=stack.app, client=(address, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                response = await client.request(method, path, headers=headers)
            assert response.status_code == 403, f"{method} {path} ({name}) was answered {response.status_code}"
        for address in ("127.0.0.1", "192.0.2.7"):
            transport = httpx.ASGITransport(app=stack.app, client=(address, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                response = await client.request(method, path)
            assert response.status_code == 200, f"{method} {path} from {address}: {response.status_code}"
