"""What decides whether the Rasa model must be retrained, and how the servers are started (bind, secrets)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from sharedcourt.cli.procs import (
    RASA_BOOT,
    TRAINING_INPUTS,
    Stack,
    app_env,
    fingerprint,
    free_port_base,
    start_actions,
    start_rasa,
)
from sharedcourt.errors import ConfigError
from sharedcourt.settings import ROOT, Settings


def make_tree(root: Path) -> None:
    for entry in TRAINING_INPUTS:
        path = root / entry
        if entry.endswith(".yml"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("recipe: default.v1\n", encoding="utf-8")
        else:
            path.mkdir(parents=True, exist_ok=True)
            (path / "a.yml").write_text(f"# {entry}\n", encoding="utf-8")


def test_custom_component_code_is_a_training_input(tmp_path: Path) -> None:
    make_tree(tmp_path)
    before = fingerprint(tmp_path)
    (tmp_path / "bot" / "components" / "ngram_classifier.py").write_text("C = 100\n", encoding="utf-8")
    assert fingerprint(tmp_path) != before


def test_bytecode_caches_do_not_force_a_retrain(tmp_path: Path) -> None:
    make_tree(tmp_path)
    before = fingerprint(tmp_path)
    cache = tmp_path / "bot" / "components" / "__pycache__"
    cache.mkdir()
    (cache / "ngram_classifier.cpython-310.pyc").write_bytes(b"\x00compiled")
    assert fingerprint(tmp_path) == before


class Recording(Stack):
    """A Stack that records what it would start instead of starting it."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        super().__init__(settings, log_dir)
        self.started: list[tuple[str, list[str], dict[str, str]]] = []

    def start(self, name: str, cmd: list[str], env: Mapping[str, str]) -> None:
        self.started.append((name, cmd, dict(env)))


def secured(**overrides: str) -> Settings:
    values = {
        "rasa_url": "http://127.0.0.1:5105",
        "action_server_url": "http://127.0.0.1:5155",
        "rasa_jwt_secret": "jwt-secret-6b0c2f",
        "action_server_token": "action-token-93ad1e",
        "bind_host": "127.0.0.1",
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


def flag(cmd: list[str], name: str) -> str:
    return cmd[cmd.index(name) + 1]


def test_rasa_binds_the_bind_host_and_takes_only_jwts(tmp_path: Path) -> None:
    stack = Recording(secured(bind_host="10.1.2.3"), tmp_path)
    start_rasa(stack, tmp_path / "model.tar.gz")
    [(name, cmd, env)] = stack.started
    assert name == "rasa"
    assert flag(cmd, "-i") == "10.1.2.3"
    assert flag(cmd, "-p") == "5105"
    assert flag(cmd, "--jwt-method") == "HS256"
    assert "--auth-token" not in cmd  # Rasa reads that one from ?token=, which lands in access logs
    # The secret travels in the environment (owner-only), never in the command line anyone can list with ps.
    assert not any("jwt-secret-6b0c2f" in arg for arg in cmd)
    assert env["RASA_JWT_SECRET"] == "jwt-secret-6b0c2f"
    assert cmd[1] == str(RASA_BOOT)
    assert env["ACTION_SERVER_TOKEN"] == "action-token-93ad1e"
    assert env["ACTION_ENDPOINT_URL"] == "http://127.0.0.1:5155/webhook"


@pytest.mark.parametrize("secret", ["plain-secret", "-starts-with-a-dash"])
def test_the_boot_script_appends_the_secret_from_the_environment(tmp_path: Path, secret: str) -> None:
    # A stand-in `rasa.__main__` that prints the argv it was given: the real one would start a server.
    # With it, stand-ins of the modules the serving load (bot/boot/serving_load.py) patches before Rasa starts.
    files = {
        "rasa/__init__.py": "",
        "rasa/__main__.py": "import json, os, sys\n"
        "from rasa.utils.tensorflow.models import RasaModel\n"
        "from rasa.core.actions.action import RemoteAction\n"
        "from rasa.shared.core.events import Event\n"
        "from rasa.shared.core.slots import Slot\n"
        "from rasa.utils.endpoints import EndpointConfig\n"
        "from rasa.core.tracker_store import SQLTrackerStore\n"
        "def main():\n"
        "    served = getattr(RasaModel.load, '_serving_load', False)\n"
        "    checked = getattr(RemoteAction._validate_action_result, '_one_validator', False)\n"
        "    table = getattr(Event.resolve_by_type, '_table', False)\n"
        "    later = [getattr(Slot, '_plain_copy', False), getattr(EndpointConfig.session, '_kept_alive', False),\n"
        "             getattr(SQLTrackerStore.save, '_core_statements', False)]\n"
        "    print(json.dumps([sys.argv, 'RASA_JWT_SECRET' in os.environ, served, checked, table, later]))\n",
        "tensorflow/__init__.py": "",
        "rasa/utils/__init__.py": "",
        "rasa/utils/tensorflow/__init__.py": "",
        "rasa/utils/tensorflow/constants.py": "LEARNING_RATE = 'learning_rate'\nRUN_EAGERLY = 'run_eagerly'\n",
        "rasa/utils/tensorflow/data_generator.py": "class RasaBatchDataGenerator:\n    pass\n",
        "rasa/utils/tensorflow/models.py": "class RasaModel:\n    @classmethod\n    def load(cls):\n        pass\n",
        "rasa/core/__init__.py": "",
        "rasa/core/actions/__init__.py": "",
        "rasa/core/actions/action.py": "class RemoteAction:\n    @staticmethod\n"
        "    def action_response_format_spec():\n        return {}\n"
        "    def _validate_action_result(self, result):\n        pass\n",
        "rasa/shared/__init__.py": "",
        "rasa/shared/constants.py": "DOCS_BASE_URL = 'https://rasa.com/docs/rasa'\n",
        "rasa/shared/core/__init__.py": "",
        "rasa/shared/core/events.py": "class Event:\n    @staticmethod\n"
        "    def resolve_by_type(type_name, default=None):\n        pass\n"
        "class SessionStarted(Event):\n    type_name = 'session_started'\n",
        "rasa/shared/core/slots.py": "class Slot:\n    pass\n",
        "rasa/shared/core/trackers.py": "class DialogueStateTracker:\n    pass\n",
        "rasa/shared/nlu/__init__.py": "",
        "rasa/shared/nlu/constants.py": "INTENT_NAME_KEY = 'name'\n",
        "rasa/core/constants.py": "DEFAULT_REQUEST_TIMEOUT = 300\n",
        "rasa/core/run.py": "async def close_resources(app, loop):\n    pass\n",
        "rasa/utils/endpoints.py": "class EndpointConfig:\n    def session(self):\n        pass\n",
        "rasa/core/tracker_store.py": "import sqlalchemy as sa\n"
        "class SQLTrackerStore:\n    class SQLEvent:\n"
        "        __table__ = sa.Table('events', sa.MetaData(), sa.Column('id', sa.Integer, primary_key=True),\n"
        "            *(sa.Column(n, sa.String) for n in ('sender_id', 'type_name', 'intent_name', 'action_name')),\n"
        "            sa.Column('timestamp', sa.Float), sa.Column('data', sa.Text))\n"
        "    async def _retrieve(self, sender_id, fetch_all):\n        pass\n"
        "    async def save(self, tracker):\n        pass\n",
        "rasa/shared/utils/__init__.py": "",
        "rasa/shared/utils/common.py": "def all_subclasses(cls):\n    return []\n",
        "jsonschema/__init__.py": "from jsonschema import exceptions\n",
        "jsonschema/exceptions.py": "def best_match(errors):\n    return next(iter(errors), None)\n",
        "jsonschema/validators.py": "class V:\n    @classmethod\n    def check_schema(cls, schema):\n        pass\n"
        "    def __init__(self, schema):\n        pass\n    def iter_errors(self, instance):\n        return []\n"
        "def validator_for(schema):\n    return V\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(tmp_path), "RASA_JWT_SECRET": secret}
    out = subprocess.run(
        [sys.executable, str(RASA_BOOT), "run", "-p", "1"], env=env, capture_output=True, text=True, check=True
    )
    argv, leaked, served, checked, table, later = json.loads(out.stdout)
    assert argv == ["rasa", "run", "-p", "1", f"--jwt-secret={secret}"]
    assert leaked is False  # popped: Rasa's own children never see it
    assert served is True  # DIET loads without tracing its training step (docs/BENCHMARKS.md, "Serving load")
    assert checked is True  # action answers validated without re-checking the schema (bot/boot/action_results.py)
    assert table is True  # event classes found by name in a table (bot/boot/event_types.py)
    assert later == [True, True, True]  # slot_copy, keepalive, tracker_sql installed too


def test_the_boot_script_refuses_an_empty_secret(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(tmp_path), "RASA_JWT_SECRET": ""}
    out = subprocess.run([sys.executable, str(RASA_BOOT), "run"], env=env, capture_output=True, text=True)
    assert out.returncode == 1
    assert "RASA_JWT_SECRET is empty" in out.stderr


def test_the_action_server_gets_its_token_and_bind_host(tmp_path: Path) -> None:
    stack = Recording(secured(bind_host="10.1.2.3"), tmp_path)
    start_actions(stack)
    [(name, cmd, env)] = stack.started
    assert name == "actions"
    assert cmd[1:3] == ["-m", "actions.server"]  # our launcher with the caller check, not bare `rasa_sdk`
    assert flag(cmd, "--port") == "5155"
    assert env["ACTION_SERVER_TOKEN"] == "action-token-93ad1e"
    assert env["BIND_HOST"] == "10.1.2.3"


def test_the_app_signs_with_the_jwt_secret(tmp_path: Path) -> None:
    env = app_env(secured())
    assert env["RASA_JWT_SECRET"] == "jwt-secret-6b0c2f"


@pytest.mark.parametrize(
    ("missing", "start"),
    [
        ("rasa_jwt_secret", "rasa"),
        ("action_server_token", "rasa"),
        ("action_server_token", "actions"),
    ],
)
def test_an_empty_secret_fails_loudly_and_starts_nothing(tmp_path: Path, missing: str, start: str) -> None:
    stack = Recording(secured(**{missing: ""}), tmp_path)
    with pytest.raises(ConfigError, match=missing.upper()):
        if start == "rasa":
            start_rasa(stack, tmp_path / "model.tar.gz")
        else:
            start_actions(stack)
    assert stack.started == []


def test_endpoints_send_the_token_as_a_header_never_in_the_url() -> None:
    endpoints = yaml.safe_load((ROOT / "bot" / "endpoints.yml").read_text(encoding="utf-8"))
    action = endpoints["action_endpoint"]
    assert action["headers"] == {"Authorization": "Bearer ${ACTION_SERVER_TOKEN}"}
    assert "token" not in action and "params" not in action


def test_endpoints_are_not_a_training_input() -> None:
    # Changing how Rasa reaches the action server must not force a retrain.
    assert not any(entry.startswith("bot/endpoints") for entry in TRAINING_INPUTS)


def test_a_free_port_base_leaves_the_ephemeral_range_and_a_taken_port_alone() -> None:
    import socket

    base = free_port_base()
    assert 20000 <= base and base + 29 < 32768  # free_port() hands out ephemeral ports: no clash with members
    with socket.socket() as held:
        held.bind(("127.0.0.1", base + 5))
        for _ in range(20):
            other = free_port_base()
            assert not other + 1 <= base + 5 <= other + 29  # never a range with a port in use
