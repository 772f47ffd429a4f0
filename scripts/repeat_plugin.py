"""pytest plugin for scripts/repeat_outage_tests.sh: repeat every selected test, optionally beside a foreign worker.

REPEAT_COUNT=N runs each selected test N times. FOREIGN_RETRY_LOOP=1 also runs, on the test database, what the
integration system's app ran there before it had a database of its own: the retry loop (every second:
`recover`, then `drain` against a Rasa that is up and answers in 0.3 s).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import threading

import httpx
import pytest

from sharedcourt.clients.rasa import RasaClient
from sharedcourt.db.session import make_engine, make_sessionmaker
from sharedcourt.messaging.router import Router

_FOREIGN: dict[str, threading.Thread] = {}


def _count() -> int:
    return int(os.environ.get("REPEAT_COUNT", "1"))


@pytest.fixture
def _repeat_step(request: pytest.FixtureRequest) -> int:
    """Which repetition this is (only in the test id)."""
    step: int = request.param
    return step


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize every test with the repetition number."""
    count = _count()
    if count > 1:
        metafunc.fixturenames.append("_repeat_step")
        metafunc.parametrize("_repeat_step", range(count), indirect=True, ids=lambda n: f"r{n}")


async def _rasa(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/":
        return httpx.Response(200, text="Hello from Rasa")
    if request.url.path.endswith("/tracker"):
        return httpx.Response(200, json={"events": []})
    await asyncio.sleep(0.3)
    return httpx.Response(200, json=[{"text": "另一个进程的回答"}])


async def _retry_loop(database_url: str) -> None:
    router = Router(
        make_sessionmaker(make_engine(database_url)),
        RasaClient("http://rasa", "s", transport=httpx.MockTransport(_rasa)),
    )
    while True:
        await asyncio.sleep(1.0)
        try:
            await router.recover(dt.timedelta(minutes=5))
            if await router.rasa.healthy():
                await router.drain()
        except Exception:  # noqa: BLE001 - a foreign worker keeps going, as the app's loop does
            pass


@pytest.fixture(autouse=True)
def _foreign_retry_loop(request: pytest.FixtureRequest) -> None:
    """Start (once per database) the foreign retry loop when FOREIGN_RETRY_LOOP=1 and the test uses a database."""
    if os.environ.get("FOREIGN_RETRY_LOOP") != "1" or "database_url" not in request.fixturenames:
        return
    url: str = request.getfixturevalue("database_url")
    if url not in _FOREIGN:
        thread = threading.Thread(target=asyncio.run, args=(_retry_loop(url),), daemon=True)
        thread.start()
        _FOREIGN[url] = thread
