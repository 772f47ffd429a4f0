"""Probes (sharedcourt.web.probes): /livez answers while the process runs; /readyz names each dependency down."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.applications import Starlette

from sharedcourt.app import create_app
from sharedcourt.db.session import make_engine
from sharedcourt.settings import Settings

# Nothing listens on port 9 (discard): a connection there is refused at once.
DEAD_DATABASE = "postgresql://nobody@127.0.0.1:9/none"


@dataclass
class Dependencies:
    """Rasa and the action server as the probes see them; each can be taken down."""

    rasa_up: bool = True
    actions_up: bool = True
    actions_status: int = 200
    health_calls: int = 0

    def rasa(self, request: httpx.Request) -> httpx.Response:
        if not self.rasa_up:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, text="Hello from Rasa: 3.6.21")

    def actions(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/health"
        self.health_calls += 1
        if not self.actions_up:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(self.actions_status, json={"status": "ok"})


@dataclass
class Running:
    app: Starlette
    client: httpx.AsyncClient
    deps: Dependencies


@contextlib.asynccontextmanager
async def running(database_url: str) -> AsyncIterator[Running]:
    deps = Dependencies()
    env = {"DATABASE_URL": database_url, "RASA_URL": "http://rasa.test", "ACTION_SERVER_URL": "http://actions.test"}
    app = create_app(
        Settings.from_env(env),
        rasa_transport=httpx.MockTransport(deps.rasa),
        action_transport=httpx.MockTransport(deps.actions),
        background=False,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Running(app, client, deps)


@pytest.fixture
async def ops(database_url: str, sessions: object) -> AsyncIterator[Running]:
    async with running(database_url) as r:
        yield r


@pytest.mark.parametrize("path", ["/readyz", "/healthz"])
async def test_ready_when_every_dependency_answers(ops: Running, path: str) -> None:
    response = await ops.client.get(path)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True and body["down"] == []
    assert set(body["components"]) == {"database", "rasa", "action_server"}
    assert ops.deps.health_calls == 1, "the action server's /health was asked"


async def _probe_with(ops: Running, down: str) -> httpx.Response:
    if down == "rasa":
        ops.deps.rasa_up = False
    elif down == "action_server":
        ops.deps.actions_up = False
    return await ops.client.get("/readyz")


@pytest.mark.parametrize("down", ["rasa", "action_server"])
async def test_each_dependency_down_is_named_and_livez_stays_up(ops: Running, down: str) -> None:
    response = await _probe_with(ops, down)
    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False and body["down"] == [down]
    assert body["components"][down]["ok"] is False
    assert all(c["ok"] for name, c in body["components"].items() if name != down)
    assert (await ops.client.get("/healthz")).status_code == 503
    live = await ops.client.get("/livez")
    assert live.status_code == 200 and live.json() == {"ok": True}


async def test_an_action_server_answering_an_error_is_down(ops: Running) -> None:
    ops.deps.actions_status = 500
    body = (await ops.client.get("/readyz")).json()
    assert body["down"] == ["action_server"]
    assert body["components"]["action_server"] == {"ok": False, "status": 500}


async def test_database_down_is_named_by_error_type_only(ops: Running) -> None:
    dead = make_engine(DEAD_DATABASE)
    kept, ops.app.state.engine = ops.app.state.engine, dead
    try:
        response = await ops.client.get("/readyz")
        live = await ops.client.get("/livez")
    finally:
        ops.app.state.engine = kept
        await dead.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["database"]
    assert set(body["components"]["database"]) == {"ok", "error"}
    assert "nobody" not in response.text and "127.0.0.1:9" not in response.text, "no address or user in the answer"
    assert live.status_code == 200


async def test_everything_down_names_all_three(ops: Running) -> None:
    ops.deps.rasa_up = ops.deps.actions_up = False
    dead = make_engine(DEAD_DATABASE)
    kept, ops.app.state.engine = ops.app.state.engine, dead
    try:
        response = await ops.client.get("/readyz")
    finally:
        ops.app.state.engine = kept
        await dead.dispose()
    assert response.status_code == 503
    assert response.json()["down"] == ["database", "rasa", "action_server"]
    assert (await ops.client.get("/livez")).status_code == 200
