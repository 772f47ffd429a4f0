"""The body limit on every route (before the body is read) and the refusal of control characters in targets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.testclient import TestClient
from starlette.types import Message as AsgiMessage
from starlette.types import Receive, Scope, Send

from sharedcourt.app import create_app
from sharedcourt.db.conversation import Message
from sharedcourt.settings import Settings
from sharedcourt.web.limits import BAD_TARGET, BodyLimit, too_large_message

LIMIT = 64 * 1024
TOO_LARGE = {"error": "请求内容过大，上限为 65536 字节（request body over 65536 bytes）"}
ROUTES = [
    "/webchat/messages",
    "/console/login",
    "/handoff/requests",
    "/handoff/staff/command",
    "/dingtalk/callback",
    "/wechat/callback",
    "/wecom/callback",
    "/no/such/route",
]


def _rasa(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=[{"text": "收到"}])


@pytest.fixture
def client(database_url: str, sessions: Any) -> Iterator[TestClient]:
    settings = Settings.from_env({"DATABASE_URL": database_url, "STAFF_TOKEN": "staff-token-for-limits"})
    app = create_app(settings, rasa_transport=httpx.MockTransport(_rasa), background=False)
    with TestClient(app) as c:
        yield c


async def _stored(sessions: Any) -> int:
    """Messages stored so far (tests compare before and after: other modules' tests may leave rows)."""
    async with sessions() as session:
        count: int = await session.scalar(select(func.count()).select_from(Message)) or 0
        return count


def test_the_figure_is_64_kib_by_default() -> None:
    assert Settings().max_body_bytes == LIMIT
    assert too_large_message(LIMIT) == TOO_LARGE["error"]


@pytest.mark.parametrize("path", ROUTES)
async def test_a_declared_oversize_body_gets_413_on_every_route(client: TestClient, sessions: Any, path: str) -> None:
    before = await _stored(sessions)
    response = client.post(path, content=b"x" * (LIMIT + 1), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert await _stored(sessions) == before


async def test_a_chunked_body_is_cut_off_at_the_limit(client: TestClient, sessions: Any) -> None:
    before = await _stored(sessions)
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        for i in range(20):
            sent.append(i)
            yield b'{"sender": "u1", "text": "' if i == 0 else b"a" * 8192

    response = client.post("/webchat/messages", content=chunks())
    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert await _stored(sessions) == before


async def test_a_body_at_the_limit_is_read(client: TestClient, sessions: Any) -> None:
    prefix, suffix = b'{"sender": "u1", "text": "a", "pad": "', b'"}'
    body = prefix + b"p" * (LIMIT - len(prefix) - len(suffix)) + suffix
    assert len(body) == LIMIT
    before = await _stored(sessions)
    response = client.post("/webchat/messages", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert await _stored(sessions) == before + 2  # the message and the bot's answer


@pytest.mark.parametrize("target", ["/console/conversations/%00", "/console/conversations/a%0Ab", "/?x=%00"])
def test_control_characters_in_the_target_get_400(client: TestClient, target: str) -> None:
    response = client.get(target)
    assert response.status_code == 400
    assert response.json() == {"error": BAD_TARGET}


# --- the middleware on its own, speaking ASGI -------------------------------------------------------------


async def _reader(scope: Scope, receive: Receive, send: Send) -> None:
    body = await Request(scope, receive).body()
    await JSONResponse({"read": len(body)})(scope, receive, send)


async def _call(app: Any, body_chunks: list[bytes], headers: list[tuple[bytes, bytes]]) -> tuple[list[int], int]:
    """Run one request; returns which chunks the app pulled and the response status."""
    pulled: list[int] = []
    queue = list(body_chunks)

    async def receive() -> AsgiMessage:
        pulled.append(len(pulled))
        chunk = queue.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(queue)}

    status: list[int] = []

    async def send(message: AsgiMessage) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"", "headers": headers}
    await app(scope, receive, send)
    return pulled, status[0]


async def test_a_declared_oversize_body_is_never_read() -> None:
    pulled, status = await _call(BodyLimit(_reader, 100), [b"x" * 200], [(b"content-length", b"200")])
    assert status == 413 and pulled == []


async def test_streaming_stops_at_the_chunk_that_passes_the_limit() -> None:
    pulled, status = await _call(BodyLimit(_reader, 100), [b"x" * 40] * 10, [])
    assert status == 413 and pulled == [0, 1, 2]


async def test_a_body_within_the_limit_passes_whole() -> None:
    pulled, status = await _call(BodyLimit(_reader, 100), [b"x" * 50, b"x" * 50], [(b"content-length", b"100")])
    assert status == 200 and pulled == [0, 1]


async def test_the_limit_does_not_touch_other_scopes() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    await BodyLimit(app, 1)({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
    assert seen == ["lifespan"]


def test_a_handler_may_answer_without_reading_the_body() -> None:
    async def ignore(request: Request) -> Response:
        return JSONResponse({"ok": True})

    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Route

    app = Starlette(routes=[Route("/", ignore, methods=["POST"])], middleware=[Middleware(BodyLimit, max_bytes=10)])
    with TestClient(app) as c:
        assert c.post("/", content=iter([b"x" * 50])).status_code == 200
        assert c.post("/", content=b"x" * 50).status_code == 413
