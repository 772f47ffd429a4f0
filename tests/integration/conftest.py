"""A real running system: action server, Rasa with the trained model, and the front door."""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sharedcourt.cli.procs import Stack, free_port, model_path, running
from sharedcourt.clients.rasa import bearer_token
from sharedcourt.settings import SECRET_KEYS, Settings


@dataclass
class System:
    settings: Settings
    stack: Stack
    model: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.port}"

    def say(self, sender: str, text: str) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/webchat/messages", json={"sender": sender, "text": text}, timeout=60)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def poll(self, sender: str, after: int) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/webchat/messages", params={"sender": sender, "after": after}, timeout=10)
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


def new_sender() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


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
            # Every secret generated for this run: the app refuses to start with an empty or published one.
            **{name.upper(): secrets.token_urlsafe(32) for name in SECRET_KEYS},
        }
    )
    log_dir = tmp_path_factory.mktemp("logs")
    started = time.monotonic()
    with running(settings, model=trained_model, log_dir=log_dir) as stack:
        print(f"system up in {time.monotonic() - started:.1f} s (logs in {log_dir})")
        yield System(settings, stack, trained_model)
