"""The Rasa client: a short-lived HS256 bearer token on every API call, no secret in any URL or log line."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import subprocess
import time
from typing import Any

import httpx
import pytest

from sharedcourt.clients.rasa import API_USER, TOKEN_SECONDS, RasaClient, bearer_token
from sharedcourt.errors import RasaUnavailable
from sharedcourt.settings import ROOT

SECRET = "rasa-jwt-secret-5c1e9a7f3b2d40688e1f"
RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_hs256(token: str, secret: str) -> dict[str, Any]:
    """An independent reading of RFC 7515/7519: check the signature and return the claims."""
    header, payload, signature = token.split(".")
    expected = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(_unb64(signature), expected), "bad signature"
    assert json.loads(_unb64(header)) == {"alg": "HS256", "typ": "JWT"}
    claims: dict[str, Any] = json.loads(_unb64(payload))
    return claims


class Recorder:
    """A Rasa stand-in that records every request and answers like Rasa's API."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[httpx.Request] = []
        self.status = status

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.status != 200:
            return httpx.Response(self.status, json={"message": "User is not authenticated."})
        if request.url.path == "/webhooks/rest/webhook":
            return httpx.Response(200, json=[{"recipient_id": "s", "text": "你好"}])
        if request.url.path.endswith("/trigger_intent"):
            return httpx.Response(200, json={"messages": []})
        return httpx.Response(200, json={"ok": True})

    def client(self) -> RasaClient:
        return RasaClient("http://rasa.test", SECRET, transport=httpx.MockTransport(self.handler))


async def every_call(client: RasaClient) -> None:
    await client.send("s-1", "你好")
    await client.parse("工资")
    await client.tracker("s-1")
    await client.append_events("s-1", [{"event": "pause"}])
    await client.trigger_intent("s-1", "remind", {"when": "明天"})


def test_the_token_is_hs256_with_the_admin_user_and_a_short_expiry() -> None:
    now = 1_800_000_000
    claims = verify_hs256(bearer_token(SECRET, now=now), SECRET)
    assert claims == {"user": {"username": "sharedcourt", "role": "admin"}, "iat": now, "exp": now + 60}
    assert TOKEN_SECONDS == 60
    with pytest.raises(AssertionError, match="bad signature"):
        verify_hs256(bearer_token(SECRET, now=now), SECRET + "x")


def test_rasas_own_jwt_library_accepts_the_token() -> None:
    # sanic-jwt in Rasa's venv decodes with PyJWT: the same check `rasa run --jwt-secret` makes.
    if not RASA_PYTHON.exists():
        pytest.skip("Rasa's venv is not installed")
    script = "import jwt, sys, json; print(json.dumps(jwt.decode(sys.argv[1], sys.argv[2], algorithms=['HS256'])))"
    token = bearer_token(SECRET)
    done = subprocess.run(
        [str(RASA_PYTHON), "-c", script, token, SECRET], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout)["user"] == API_USER
    wrong = subprocess.run([str(RASA_PYTHON), "-c", script, token, "other"], capture_output=True, timeout=60)
    assert wrong.returncode != 0


async def test_api_calls_carry_a_valid_bearer_token_and_no_token_in_the_url() -> None:
    rasa = Recorder()
    client = rasa.client()
    before = int(time.time())
    try:
        await every_call(client)
    finally:
        await client.aclose()
    by_path = {r.url.path: r for r in rasa.requests}
    assert set(by_path) == {
        "/webhooks/rest/webhook",
        "/model/parse",
        "/conversations/s-1/tracker",
        "/conversations/s-1/tracker/events",
        "/conversations/s-1/trigger_intent",
    }
    for request in rasa.requests:
        assert "token" not in request.url.params
        assert SECRET not in str(request.url)
    # The REST channel is not an API route: Rasa reads no token there, so none is sent.
    assert "authorization" not in by_path.pop("/webhooks/rest/webhook").headers
    for path, request in by_path.items():
        scheme, _, token = request.headers["authorization"].partition(" ")
        assert scheme == "Bearer", path
        claims = verify_hs256(token, SECRET)
        assert claims["user"] == API_USER
        assert before <= claims["iat"] <= claims["exp"] - TOKEN_SECONDS + 1
        assert token not in str(request.url)
    assert dict(by_path["/conversations/s-1/tracker/events"].url.params) == {"include_events": "NONE"}
    assert dict(by_path["/conversations/s-1/trigger_intent"].url.params) == {"output_channel": "collector"}


async def test_no_log_line_or_error_carries_the_secret_or_the_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    refused = Recorder(status=401)
    client = refused.client()
    errors: list[str] = []
    try:
        for call in (client.parse("工资"), client.tracker("s-1")):
            with pytest.raises(RasaUnavailable) as caught:
                await call
            errors.append(str(caught.value))
    finally:
        await client.aclose()
    tokens = [r.headers["authorization"].removeprefix("Bearer ") for r in refused.requests]
    assert len(tokens) == 2
    assert caplog.records, "httpx logs each request at INFO; nothing captured means the test proves nothing"
    logged = "\n".join(record.getMessage() for record in caplog.records) + "\n" + "\n".join(errors)
    assert "/model/parse" in logged
    for secret in (SECRET, *tokens, "token="):
        assert secret not in logged
