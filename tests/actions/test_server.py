"""The action server (actions/server.py), really started: it obeys only Rasa's shared secret and listens on loopback."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from actions.server import OPEN_PATHS, authorized, build_app
from sharedcourt.cli.procs import Stack, actions_cmd, actions_env, free_port, start_actions
from sharedcourt.db.migrate import upgrade
from sharedcourt.errors import ConfigError
from sharedcourt.settings import Settings
from sharedcourt.sites.csv_format import read_csv_records
from sharedcourt.sites.registry import DEFAULT_SITES_CSV

TOKEN = "act-srv-token-3f9a1c7e5b2d4068"
FORGED_SENDER = "victim-resident-0042"


@dataclass
class Running:
    settings: Settings
    stack: Stack
    log: Path

    @property
    def url(self) -> str:
        return self.settings.action_server_url

    def call(self, action: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.post(f"{self.url}/webhook", json=action_call(action), headers=headers, timeout=30)


def action_call(action: str) -> dict[str, Any]:
    """What Rasa posts to run one action: the whole tracker of a conversation."""
    tracker = {
        "sender_id": FORGED_SENDER,
        "slots": {"booking_id": "1", "phone": "13800138000"},
        "latest_message": {"text": "改到明天", "intent": {"name": "reschedule", "confidence": 1.0}, "entities": []},
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    return {"next_action": action, "sender_id": FORGED_SENDER, "tracker": tracker, "domain": {}, "version": "3.6.2"}


def other_local_address() -> str | None:
    """A non-loopback IPv4 address of this machine, if it has one."""
    candidates: set[str] = set()
    with contextlib.suppress(OSError):
        candidates.update(str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET))
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # UDP connect sends nothing; it only picks the outgoing interface
        candidates.add(probe.getsockname()[0])
    return next((a for a in sorted(candidates) if not a.startswith("127.") and a != "0.0.0.0"), None)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("action-server")
    settings = Settings.from_env(
        {
            "DATABASE_URL": f"sqlite:///{tmp / 'actions.db'}",
            "ACTION_SERVER_URL": f"http://127.0.0.1:{free_port()}",
            "ACTION_SERVER_TOKEN": TOKEN,
            "BIND_HOST": "127.0.0.1",
        },
        env_file=tmp / "no.env",
    )
    upgrade(settings.database_url)  # Quzhou's default registry, loaded by the server at start-up
    stack = Stack(settings, tmp / "logs")
    try:
        start_actions(stack)
        stack.wait_healthy("actions", f"{settings.action_server_url}/health", 90)
        yield Running(settings, stack, tmp / "logs" / "actions.log")
    finally:
        stack.stop()


def test_authorized_needs_the_exact_bearer_token() -> None:
    assert authorized(f"Bearer {TOKEN}", TOKEN)
    assert not authorized(None, TOKEN)
    assert not authorized(TOKEN, TOKEN)  # no scheme
    assert not authorized(f"Basic {TOKEN}", TOKEN)
    assert not authorized(f"Bearer {TOKEN}x", TOKEN)
    assert not authorized(f"Bearer {TOKEN[:-1]}", TOKEN)
    assert not authorized("Bearer ", "")  # an empty secret never matches, not even an empty header value
    assert not authorized("Bearer 密钥", TOKEN)  # non-ASCII compares without raising


def test_an_empty_token_refuses_to_build_the_server() -> None:
    with pytest.raises(ConfigError, match="ACTION_SERVER_TOKEN"):
        build_app("")


def test_the_launcher_is_our_checked_server_on_the_bind_host() -> None:
    settings = Settings(action_server_url="http://127.0.0.1:5999", action_server_token=TOKEN, bind_host="10.0.0.7")
    cmd = actions_cmd(settings)
    assert cmd[1:] == ["-m", "actions.server", "--actions", "actions", "--port", "5999"]
    env = actions_env(settings)
    assert env["BIND_HOST"] == "10.0.0.7"
    assert env["ACTION_SERVER_TOKEN"] == TOKEN


def test_health_stays_open_for_probes(server: Running) -> None:
    assert OPEN_PATHS == {"/health", "/ready"}
    response = httpx.get(f"{server.url}/health", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_places_and_sites_load_at_start_up(server: Running) -> None:
    """Ready (200, no token needed) once the registry is in memory, before any resident's turn asked for it."""
    deadline = time.monotonic() + 60
    answer = httpx.get(f"{server.url}/ready", timeout=10)
    while answer.status_code == 503 and time.monotonic() < deadline:
        assert answer.json() == {"status": "loading"}
        time.sleep(0.2)
        answer = httpx.get(f"{server.url}/ready", timeout=10)
    assert answer.status_code == 200 and answer.json() == {"status": "ready"}
    sites = len(read_csv_records(DEFAULT_SITES_CSV))
    assert f"site registry loaded: {sites} active sites" in server.log.read_text(encoding="utf-8", errors="replace")


def test_a_forged_tracker_without_the_header_is_refused(server: Running) -> None:
    response = server.call("action_reschedule")
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized"}
    assert FORGED_SENDER not in response.text
    assert "13800138000" not in response.text


@pytest.mark.parametrize(
    "header",
    [
        "Bearer wrong-token",
        TOKEN,  # the right secret without the scheme
        f"Bearer {TOKEN}0",
        f"Bearer {TOKEN.upper()}",
        f"Basic {TOKEN}",
    ],
)
def test_a_wrong_header_is_refused(server: Running, header: str) -> None:
    response = server.call("action_session_start", {"Authorization": header})
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized"}


def test_listing_the_actions_needs_the_token_too(server: Running) -> None:
    assert httpx.get(f"{server.url}/actions", timeout=10).status_code == 401
    listed = httpx.get(f"{server.url}/actions", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert listed.status_code == 200
    assert {"name": "action_reschedule"} in listed.json()


def test_the_right_token_runs_the_action(server: Running) -> None:
    response = server.call("action_session_start", {"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    events = response.json()["events"]
    assert events[0]["event"] == "session_started"
    assert {"event": "slot", "name": "booking_id", "value": "1"}.items() <= events[1].items()
    assert events[-1]["event"] == "action" and events[-1]["name"] == "action_listen"


def test_the_log_names_refusals_without_the_secret_or_the_body(server: Running) -> None:
    server.call("action_reschedule", {"Authorization": "Bearer wrong-token"})
    server.call("action_session_start", {"Authorization": f"Bearer {TOKEN}"})
    log = server.log.read_text(encoding="utf-8", errors="replace")
    assert "refused POST /webhook" in log
    assert TOKEN not in log
    assert "wrong-token" not in log
    assert "13800138000" not in log


def test_it_listens_on_loopback_only(server: Running) -> None:
    port = httpx.URL(server.url).port
    assert port is not None
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    other = other_local_address()
    if other is None:
        pytest.skip("this machine has no other local IPv4 address to try (the bind argument is tested above)")
    with pytest.raises(OSError), socket.create_connection((other, port), timeout=5):
        pass
