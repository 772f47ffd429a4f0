"""Time from a resident's web chat message to its appearance in the workspace's event stream (issue 13).

A real uvicorn serves the app on a loopback port over a fresh SQLite database (or the PostgreSQL database given);
a mediator accepts the resident's ticket and holds the ticket's SSE stream open, as the ticket page does; the
resident posts N messages to `POST /webchat/messages` with their web chat cookie, one after another at a random
moment of the stream's poll cycle, and each is timed from the moment the POST is sent to the event's arrival at
the mediator's client. Prints the median and p95.

Usage: .venv/app/bin/python bench/bench_workspace_sse.py [--messages 60] [--database-url postgresql://…]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from stand_ins.workspace_world import DIRECTOR_DINGTALK, served_world  # noqa: E402
from web.workspace.test_live import events  # noqa: E402

from sharedcourt.db.conversation import Conversation, Message  # noqa: E402
from sharedcourt.db.migrate import upgrade  # noqa: E402
from sharedcourt.handoff.core import HandoffRequest  # noqa: E402


async def measure(database_url: str, count: int) -> list[float]:
    limits = {"WEBCHAT_PER_SENDER_PER_MINUTE": "10000", "WEBCHAT_PER_ADDRESS_PER_MINUTE": "10000"}
    async with served_world(database_url, **limits) as world:
        director = await world.person("zhuren", "mediator", dingtalk=DIRECTOR_DINGTALK)
        async with httpx.AsyncClient(base_url=world.client.base_url, timeout=30) as resident:
            await resident.get("/webchat/messages")  # the page's first poll: the resident's cookie
            said = await resident.post("/webchat/messages", json={"text": "邻居把垃圾堆在我家门口"})
            assert said.status_code == 200, said.text
            async with world.app.state.sessions() as session:
                conversation = await session.scalar(
                    select(Conversation.id).order_by(Conversation.created_at.desc()).limit(1)
                )
                last = await session.scalar(select(func.max(Message.id)))
            assert conversation is not None
            asked = await world.service.request(HandoffRequest(conversation_id=conversation, dispute_code="neighbor"))
            assert asked.ok and asked.number
            await world.act(director, asked.number, "accept")
            world.client.cookies.clear()
            url = f"/console/workspace/tickets/{asked.number}/events?after={last}"
            seconds: list[float] = []
            async with world.client.stream("GET", url, headers=director.headers) as response:
                stream = events(response)
                while (await anext(stream))["event"] != "state":
                    pass  # the stream is open
                for i in range(count):
                    await asyncio.sleep(random.uniform(0, 1))  # residents write at any moment of the poll cycle
                    text = f"第 {i} 条消息"
                    sent = time.perf_counter()
                    posted = await resident.post("/webchat/messages", json={"text": text})
                    assert posted.status_code == 200, posted.text
                    while True:
                        event = await asyncio.wait_for(anext(stream), 30)
                        if event["event"] == "message" and event["data"]["text"] == text:
                            break
                    seconds.append(time.perf_counter() - sent)
            return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=60)
    parser.add_argument(
        "--database-url", default="", help="a PostgreSQL URL (its tables are upgraded); SQLite if absent"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.db"
        upgrade(url)
        seconds = asyncio.run(measure(url, args.messages))
    ordered = sorted(seconds)
    p95 = ordered[max(1, math.ceil(0.95 * len(ordered))) - 1]
    kind = url.split(":", 1)[0]
    print(
        f"{kind}: messages {len(seconds)}: median {statistics.median(seconds) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
