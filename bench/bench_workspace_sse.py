"""Time from a resident's message to its appearance in the workspace's event stream (issue 13).

A real uvicorn serves the app on a loopback port over a fresh SQLite database; a mediator accepts a ticket and
holds the ticket's SSE stream open; the resident sends N messages one after another and each is timed from the
router's hand-over to the event's arrival at the client. Prints the median and p95.

Usage: .venv/app/bin/python bench/bench_workspace_sse.py [--messages 40]
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

from sqlalchemy import func, select  # noqa: E402
from stand_ins.workspace_world import DIRECTOR_DINGTALK, served_world  # noqa: E402
from web.workspace.test_live import events  # noqa: E402

from sharedcourt.db.conversation import Message  # noqa: E402
from sharedcourt.db.migrate import upgrade  # noqa: E402


async def measure(database_url: str, count: int) -> list[float]:
    async with served_world(database_url) as world:
        director = await world.person("zhuren", "mediator", dingtalk=DIRECTOR_DINGTALK)
        _, number = await world.resident_asks("bench-resident")
        await world.act(director, number, "accept")
        world.client.cookies.clear()
        async with world.app.state.sessions() as session:
            last = await session.scalar(select(func.max(Message.id)))
        url = f"/console/workspace/tickets/{number}/events?after={last}"
        seconds: list[float] = []
        async with world.client.stream("GET", url, headers=director.headers) as response:
            stream = events(response)
            await anext(stream)  # the first state event: the stream is open
            for i in range(count):
                await asyncio.sleep(random.uniform(0, 1))  # residents write at any moment of the poll cycle
                sent = time.perf_counter()
                await world.resident_says("bench-resident", f"第 {i} 条消息")
                while (await asyncio.wait_for(anext(stream), 30))["event"] != "message":
                    pass
                seconds.append(time.perf_counter() - sent)
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        upgrade(url)
        seconds = asyncio.run(measure(url, args.messages))
    ordered = sorted(seconds)
    p95 = ordered[max(1, math.ceil(0.95 * len(ordered))) - 1]
    print(f"messages {len(seconds)}: median {statistics.median(seconds) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")


if __name__ == "__main__":
    main()
