"""A real running system: action server, Rasa with the trained model, and the front door."""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url
from stand_ins.rosters import always_on_duty_file

from sharedcourt.channels.webchat import COOKIE, new_token, resident_id
from sharedcourt.cli.procs import Stack, free_port, model_path, running
from sharedcourt.clients.rasa import bearer_token
from sharedcourt.db.migrate import upgrade
from sharedcourt.settings import SECRET_KEYS, Settings


@dataclass
class System:
    settings: Settings
    stack: Stack
    model: Path
    # One simulated browser per resident name, each with its own cookie jar (web chat's only identity).
    browsers: dict[str, httpx.Client] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.port}"

    def browser(self, sender: str) -> httpx.Client:
        """The browser of one resident name; a name from new_sender() already holds its web chat cookie."""
        if sender not in self.browsers:
            client = httpx.Client(timeout=60)
            if sender in _TOKENS:
                client.cookies.set(COOKIE, _TOKENS[sender], domain="127.0.0.1", path="/")
            self.browsers[sender] = client
        return self.browsers[sender]

    def resident(self, sender: str) -> str:
        """The resident id stored for a browser (Resident.channel_user_id): the hash of its cookie."""
        return resident_id(self.browser(sender).cookies[COOKIE])

    def say(self, sender: str, text: str) -> dict[str, Any]:
        response = self.browser(sender).post(f"{self.url}/webchat/messages", json={"text": text})
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def poll(self, sender: str, after: int) -> dict[str, Any]:
        response = self.browser(sender).get(f"{self.url}/webchat/messages", params={"after": after}, timeout=10)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def tracker(self, sender_conversation: str) -> dict[str, Any]:
        # Rasa's API takes a bearer JWT only (never ?token=), signed as the front door's RasaClient signs it.
        response = httpx.get(
            f"{self.settings.rasa_url}/conversations/{sender_conversation}/tracker",
            headers={"Authorization": f"Bearer {bearer_token(self.settings.rasa_jwt_secret)}"},
            timeout=10,
        )
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data


# Cookies of the residents new_sender() made, by resident id: the tests look residents up by that id.
_TOKENS: dict[str, str] = {}


def new_sender() -> str:
    """A new resident whose browser already holds a web chat cookie; returns the resident id stored for it."""
    token = new_token()
    sender = resident_id(token)
    _TOKENS[sender] = token
    return sender


@pytest.fixture(scope="session")
def database_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The running system's own database (same backend), never the unit tests' one.

    The system's loops (retry of kept messages every second, outbox, handoff tick, reminders) run until the end
    of the session; on a shared database they claimed the unit tests' rows (a kept message left `processing`
    by the system's retry loop while a router test asserted on it).
    """
    if make_url(database_url).get_backend_name() == "sqlite":
        own = f"sqlite:///{tmp_path_factory.mktemp('system-db') / 'system.db'}"
        upgrade(own)
        yield own
        return
    server = database_url.split("?", 1)[0]
    schema = f"s_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    own = f"{server}?options=-csearch_path%3D{schema}"
    try:
        upgrade(own)
        yield own
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="session")
def trained_model() -> Path:
    override = os.environ.get("SHAREDCOURT_MODEL")  # a developer's quick model; CI uses the trained one
    model = Path(override) if override else model_path()
    if not model.exists():
        pytest.fail(f"no trained model for the current training data ({model.name}); run `make train` first")
    return model


@pytest.fixture(scope="session")
def system(database_url: str, trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """The whole system on free ports, on each database backend."""
    settings = Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "PORT": str(free_port()),
            "RASA_URL": f"http://127.0.0.1:{free_port()}",
            "ACTION_SERVER_URL": f"http://127.0.0.1:{free_port()}",
            "RETRY_INTERVAL": "1",
            # Every simulated resident comes from 127.0.0.1: the per-address web chat limit is for real networks.
            "WEBCHAT_PER_ADDRESS_PER_MINUTE": "100000",
            # Someone is on duty whatever the hour CI runs at (the handoff journeys restart with their own roster).
            "HANDOFF_ROSTER": always_on_duty_file(),
            # Every secret generated for this run: the app refuses to start with an empty or published one.
            **{name.upper(): secrets.token_urlsafe(32) for name in SECRET_KEYS},
        }
    )
    log_dir = tmp_path_factory.mktemp("logs")
    started = time.monotonic()
    with running(settings, model=trained_model, log_dir=log_dir) as stack:
        print(f"system up in {time.monotonic() - started:.1f} s (logs in {log_dir})")
        system = System(settings, stack, trained_model)
        try:
            yield system
        finally:
            for browser in system.browsers.values():
                browser.close()
