"""The live conversation (sharedcourt.web.workspace.live): server-sent events from a real uvicorn deliver a
resident's new message to the workspace, a reconnect with Last-Event-ID misses nothing and repeats nothing, and
evidence files are served only within scope and only from the evidence folder."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from stand_ins.workspace_world import DIRECTOR_DINGTALK, Desk, WorkspaceWorld, served_world, workspace_world

from sharedcourt.db.case import Evidence
from sharedcourt.db.conversation import Message
from sharedcourt.web.workspace.live import last_event_id, sse

BOUND = 20.0  # seconds a test waits at most for an event (a bound against hanging, not a timing assertion)


async def events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """Parse a text/event-stream into {"id", "event", "data"} dicts."""
    event: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if not line:
            if "event" in event:
                yield event
            event = {}
        elif line.startswith("id: "):
            event["id"] = int(line[4:])
        elif line.startswith("event: "):
            event["event"] = line[7:]
        elif line.startswith("data: "):
            event["data"] = json.loads(line[6:])


async def first_message(
    world: WorkspaceWorld, desk: Desk, number: str, headers: dict[str, str], text: str
) -> dict[str, Any]:
    """Open the stream, let the resident say `text`, and return the first message event that arrives."""
    url = f"/console/workspace/tickets/{number}/events"
    world.client.cookies.clear()
    async with world.client.stream("GET", url, headers={**desk.headers, **headers}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        said = False
        async for event in events(response):
            if event["event"] == "state" and not said:
                said = True  # the stream is open: the first state event comes before any wait
                await world.resident_says("ws-live", text)
            if event["event"] == "message":
                return event
    raise AssertionError("the stream ended without a message")


async def test_a_new_message_arrives_by_sse_and_a_reconnect_resumes_after_the_last_event_id(
    database_url: str, sessions: object
) -> None:
    async with served_world(database_url) as world:
        director = await world.person("zhuren", "mediator", dingtalk=DIRECTOR_DINGTALK)
        conversation, number = await world.resident_asks("ws-live")
        assert (await world.act(director, number, "accept")).status_code == 303
        async with world.app.state.sessions() as session:
            last = await session.scalar(select(Message.id).order_by(Message.id.desc()).limit(1))
        first = await asyncio.wait_for(
            first_message(world, director, number, {"Last-Event-ID": str(last)}, "我把照片发来了"), BOUND
        )
        assert first["data"]["text"] == "我把照片发来了" and first["data"]["who"] == "居民" and first["id"] > last
        # Reconnect as EventSource does: the header names the last event seen; only newer messages come.
        second = await asyncio.wait_for(
            first_message(world, director, number, {"Last-Event-ID": str(first["id"])}, "还有一段录音"), BOUND
        )
        assert second["data"]["text"] == "还有一段录音" and second["id"] > first["id"]
        assert conversation


def test_last_event_id_header_wins_and_bad_values_start_over() -> None:
    from starlette.requests import Request

    def request(headers: dict[str, str], query: str = "") -> Request:
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        return Request({"type": "http", "headers": raw, "query_string": query.encode()})

    assert last_event_id(request({"Last-Event-ID": "42"}, "after=7")) == 42
    assert last_event_id(request({}, "after=7")) == 7
    assert last_event_id(request({"Last-Event-ID": "-1"})) == 0
    assert last_event_id(request({"Last-Event-ID": "9" * 30})) == 0
    assert sse("message", {"t": "你好"}, 5) == 'id: 5\nevent: message\ndata: {"t": "你好"}\n\n'


async def test_evidence_is_served_within_scope_and_only_from_the_evidence_folder(
    database_url: str, sessions: object, tmp_path: Path
) -> None:
    folder = tmp_path / "evidence"
    folder.mkdir()
    photo = folder / "abc.png"
    photo.write_bytes(b"\x89PNG-evidence")
    outside = tmp_path / "secret.txt"
    outside.write_text("not evidence")
    async with workspace_world(database_url, EVIDENCE_DIR=str(folder)) as world:
        director = await world.person("zhuren", "mediator", dingtalk=DIRECTOR_DINGTALK)
        elsewhere = await world.person("qujiang", "mediator", scope="330803")
        conversation, number = await world.resident_asks("ws-evidence")
        async with world.app.state.sessions() as session, session.begin():
            message = await session.scalar(select(Message).where(Message.conversation_id == conversation).limit(1))
            assert message is not None
            kept = Evidence(message_id=message.id, kind="image", path=str(photo))
            escaped = Evidence(message_id=message.id, kind="file", path=str(outside))
            session.add_all([kept, escaped])
        got = await world.get(director, f"/console/workspace/evidence/{kept.id}")
        assert got.status_code == 200 and got.content == b"\x89PNG-evidence"
        assert got.headers["cache-control"] == "no-store"
        assert (await world.get(elsewhere, f"/console/workspace/evidence/{kept.id}")).status_code == 403
        assert (await world.get(director, f"/console/workspace/evidence/{escaped.id}")).status_code == 404
        assert (await world.get(director, "/console/workspace/evidence/999999")).status_code == 404
        page = await world.get(director, f"/console/workspace/tickets/{number}")
        assert f'<img src="/console/workspace/evidence/{kept.id}"' in page.text
