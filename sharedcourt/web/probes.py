"""Probes for a supervisor or load balancer: /livez (the process is up), /readyz (its dependencies answer).

An orchestrator restarts a process whose liveness fails, and stops sending it traffic while readiness fails. The
front door keeps messages through a Rasa outage, so a Rasa outage must fail readiness only, never liveness.
`/healthz` answers like /readyz, for the deployments and scripts that already call it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

COMPONENTS = ("database", "rasa", "action_server")


async def livez(request: Request) -> Response:
    """200 while the process serves requests; it checks nothing else on purpose."""
    return JSONResponse({"ok": True})


async def _database(state: Any) -> dict[str, Any]:
    async with state.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return {"ok": True}


async def _rasa(state: Any) -> dict[str, Any]:
    return {"ok": bool(await state.rasa.healthy())}


async def _action_server(state: Any) -> dict[str, Any]:
    # rasa-sdk answers GET /health without the caller's token (actions/server.py lets probes through).
    transport = getattr(state, "action_transport", None)
    async with httpx.AsyncClient(transport=transport, timeout=state.settings.probe_timeout) as client:
        response = await client.get(f"{state.settings.action_server_url}/health")
    ok = response.status_code == 200
    return {"ok": True} if ok else {"ok": False, "status": response.status_code}


async def _check(name: str, state: Any) -> dict[str, Any]:
    """One dependency's state; a failure is reported by its type, never raised (and never with its message)."""
    probe = {"database": _database, "rasa": _rasa, "action_server": _action_server}[name]
    try:
        return await asyncio.wait_for(probe(state), timeout=state.settings.probe_timeout)
    except asyncio.TimeoutError:
        return {"ok": False, "error": "timeout"}
    except Exception as exc:  # noqa: BLE001 - a probe reports every failure of its dependency, it never raises
        return {"ok": False, "error": type(exc).__name__}


async def readyz(request: Request) -> Response:
    """200 when the database, Rasa and the action server answer; 503 naming each one that does not."""
    state = request.app.state
    results = await asyncio.gather(*(_check(name, state) for name in COMPONENTS))
    components = dict(zip(COMPONENTS, results, strict=True))
    down = [name for name, result in components.items() if not result["ok"]]
    body = {"ok": not down, "down": down, "components": components}
    return JSONResponse(body, status_code=503 if down else 200)


def routes() -> list[BaseRoute]:
    """The probes: liveness, readiness and the older /healthz (readiness)."""
    return [Route("/livez", livez), Route("/readyz", readyz), Route("/healthz", readyz)]
