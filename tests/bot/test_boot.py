"""Boot patches of bot/boot in the Rasa interpreter: the same results as Rasa's own methods."""

from __future__ import annotations

import json
import subprocess

import pytest

from sharedcourt.cli.procs import RASA_BIN, ROOT

RASA_PYTHON = RASA_BIN.parent / "python"

# Each answer through Rasa's own method, then through the installed one, counting schema checks per call.
SCRIPT = r"""
import json, sys
sys.path.insert(0, "bot/boot")
import jsonschema.validators
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
import action_results

answers = json.loads(sys.argv[1])
action = RemoteAction("action_x", None)

def verdicts():
    out = []
    for answer in answers:
        try:
            out.append(["ok", action._validate_action_result(answer)])
        except ValidationError as e:
            out.append(["error", e.message])
    return out

before = verdicts()
action_results.install()
action_results.install()
checks = []
for cls in {jsonschema.validators.validator_for(RemoteAction.action_response_format_spec())}:
    original = cls.check_schema.__func__
    cls.check_schema = classmethod(lambda c, s, *a, **k: (checks.append(1), original(c, s, *a, **k))[1])
after = verdicts()
print(json.dumps({"before": before, "after": after, "checks": len(checks)}, ensure_ascii=False))
"""

ANSWERS = [
    {"events": [{"event": "slot", "name": "dispute_type", "value": "labor"}], "responses": [{"text": "好的"}]},
    {"events": [], "responses": []},
    {"events": [{"event": "slot"}], "responses": []},  # a slot event without its name
    {"events": [{"event": "no_such_event"}], "responses": []},
    {"events": "not a list", "responses": []},
]


def test_same_verdicts_and_messages_as_rasa_and_no_schema_check_per_call() -> None:
    if not RASA_PYTHON.exists():
        pytest.fail(f"{RASA_PYTHON} missing: run `make install` first")
    done = subprocess.run(
        [str(RASA_PYTHON), "-c", SCRIPT, json.dumps(ANSWERS)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["after"] == out["before"]
    assert [v[0] for v in out["after"]] == ["ok", "ok", "error", "error", "error"]
    assert all("Failed to validate Action server response" in v[1] for v in out["after"][2:])
    assert out["checks"] == 0  # checked once at install, never per answer


EVENTS_SCRIPT = r"""
import json, sys
sys.path.insert(0, "bot/boot")
from rasa.shared.core.events import Event, UserUttered
from rasa.shared.utils.common import all_subclasses
import event_types

names = sorted({c.type_name for c in all_subclasses(Event)}) + ["topic", "no_such_event"]

def resolve(default):
    out = {}
    for name in names:
        try:
            found = Event.resolve_by_type(name, default)
            out[name] = None if found is None else found.__name__
        except ValueError as e:
            out[name] = "ValueError: " + str(e)
    return out

before = [resolve(None), resolve(UserUttered)]
event_types.install()
event_types.install()
after = [resolve(None), resolve(UserUttered)]
print(json.dumps({"before": before, "after": after, "names": len(names)}))
"""


def test_event_classes_found_by_name_as_rasa_finds_them() -> None:
    if not RASA_PYTHON.exists():
        pytest.fail(f"{RASA_PYTHON} missing: run `make install` first")
    args = [str(RASA_PYTHON), "-c", EVENTS_SCRIPT]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["names"] > 20
    assert out["after"] == out["before"]
    assert out["after"][0]["user"] == "UserUttered"
    assert out["after"][0]["no_such_event"].startswith("ValueError")
    assert out["after"][1]["no_such_event"] == "UserUttered"
