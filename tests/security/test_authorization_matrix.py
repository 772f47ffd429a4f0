"""Authorization matrix: every route the app serves has a decision, and every staff route refuses strangers.

The decision table below is the contract. A route the app serves without a decision fails the suite (decide it
here when you add it); a decision whose route is gone fails too. `staff` routes are tried anonymously, with a
wrong, an empty and a non-bearer token, with the token in the query string and with a console cookie signed by
another secret: each must be refused. With the right token they must not be refused (and never answer 5xx).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from stand_ins.secure_app import STAFF_TOKEN, Stack, secure_app, secure_settings
from stand_ins.served_routes import sample_url, served

from sharedcourt.app import create_app
from sharedcourt.settings import Settings

PUBLIC = "public"  # anyone; the route authenticates by its own means (named in the comment) or needs none
STAFF = "staff"  # staff bearer token or the console's login cookie
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
    ("POST", "/console/login"): PUBLIC,  # the sign-in itself (throttled)
    ("POST", "/dingtalk/callback"): PUBLIC,  # DingTalk's signature headers
    ("GET", "/wechat/callback"): PUBLIC,  # WeChat's URL check signature
    ("POST", "/wechat/callback"): PUBLIC,  # WeChat's signature and safe-mode encryption
    ("GET", "/wecom/callback"): PUBLIC,  # WeCom's msg_signature
    ("POST", "/wecom/callback"): PUBLIC,  # idem
    ("GET", "/handoff/tickets/{number}/transcript"): LINK,
    ("GET", "/console"): STAFF,
    ("GET", "/console/conversations/{conversation_id}"): STAFF,
    ("GET", "/console/api/stats"): STAFF,
    ("POST", "/handoff/requests"): STAFF,  # the action server calls these with the staff token
    ("POST", "/handoff/cancel"): STAFF,
    ("POST", "/handoff/ratings"): STAFF,
    ("POST", "/handoff/status"): STAFF,
    ("POST", "/handoff/staff/command"): STAFF,
    ("GET", "/handoff/staff/inbox"): STAFF,
    ("GET", "/staff/bookings"): STAFF,
    ("POST", "/staff/closures"): STAFF,
    ("POST", "/staff/bookings/{booking_id:int}/{verb:str}"): STAFF,
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


def staff_routes() -> Iterator[tuple[str, str]]:
    """Every (method, path) decided `staff`, plus HEAD beside each GET."""
    for (method, path), decision in sorted(DECISIONS.items()):
        if decision == STAFF:
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
) -> httpx.Response:
    sent = {"content-type": "application/json", **(headers or {})}
    if cookies:
        sent["cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    stack.client.cookies.clear()
    content = b"{}" if method == "POST" else None
    request = stack.client.build_request(method, sample_url(path), content=content, headers=sent, params=params)
    return await stack.client.send(request, follow_redirects=False)


async def _foreign_cookie(database_url: str) -> dict[str, str]:
    """The console cookie a successful login gives on an app with another staff secret."""
    async with secure_app(database_url, STAFF_TOKEN="another-deployments-staff-token") as other:
        response = await other.client.post(
            CONSOLE_LOGIN, data={"token": "another-deployments-staff-token"}, follow_redirects=False
        )
        assert response.status_code == 303, response.text
        cookies = dict(response.cookies)
        assert cookies, "a successful login sets a cookie"
        return cookies


@pytest.mark.parametrize(("method", "path"), list(staff_routes()))
async def test_staff_route_refuses_strangers_and_admits_staff(
    database_url: str, sessions: object, method: str, path: str
) -> None:
    foreign = await _foreign_cookie(database_url)
    async with secure_app(database_url) as stack:
        attempts: dict[str, dict[str, dict[str, str]]] = {
            "anonymous": {},
            "wrong bearer": {"headers": {"Authorization": "Bearer not-the-staff-token"}},
            "empty bearer": {"headers": {"Authorization": "Bearer "}},
            "bare Bearer": {"headers": {"Authorization": "Bearer"}},
            "token without scheme": {"headers": {"Authorization": STAFF_TOKEN}},
            "basic scheme": {"headers": {"Authorization": f"Basic {STAFF_TOKEN}"}},
            "token prefix": {"headers": {"Authorization": f"Bearer {STAFF_TOKEN[:-1]}"}},
            "token in query": {"params": {"token": STAFF_TOKEN}},
            "cookie of another secret": {"cookies": foreign},
            "empty cookie": {"cookies": dict.fromkeys(foreign, "")},
        }
        for name, kwargs in attempts.items():
            response = await _call(stack, method, path, **kwargs)
            assert refused(response), f"{method} {path} ({name}) was answered {response.status_code}"
            assert response.status_code < 500
        allowed = await _call(stack, method, path, headers=stack.staff())
        assert not refused(allowed), f"{method} {path} refused the right token: {allowed.status_code}"
        assert allowed.status_code < 500, f"{method} {path} with the right token: {allowed.status_code}"


async def test_console_cookie_of_this_deployment_admits_and_wrong_login_sets_none(
    database_url: str, sessions: object
) -> None:
    async with secure_app(database_url) as stack:
        wrong = await stack.client.post(CONSOLE_LOGIN, data={"token": "guess"}, follow_redirects=False)
        assert wrong.status_code in (401, 403) and not wrong.cookies
        empty = await stack.client.post(CONSOLE_LOGIN, data={"token": ""}, follow_redirects=False)
        assert empty.status_code in (400, 401, 403) and not empty.cookies
        good = await stack.client.post(CONSOLE_LOGIN, data={"token": STAFF_TOKEN}, follow_redirects=False)
        assert good.status_code == 303
        assert STAFF_TOKEN not in good.headers.get("set-cookie", ""), "the cookie never carries the token"
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
