"""Boot patches of bot/boot in the Rasa interpreter: the same results as Rasa's own methods."""

from __future__ import annotations

import json

from rasa_python import answer, in_rasa, run_in_rasa

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
import jsonschema.exceptions
fulls = []
best_match = jsonschema.exceptions.best_match
jsonschema.exceptions.best_match = lambda errors, *a, **k: (fulls.append(1), best_match(errors, *a, **k))[1]
after = verdicts()
print(json.dumps({"before": before, "after": after, "checks": len(checks), "fulls": len(fulls)}, ensure_ascii=False))
"""

ANSWERS = [
    {"events": [{"event": "slot", "name": "dispute_type", "value": "labor"}], "responses": [{"text": "好的"}]},
    {"events": [], "responses": []},
    {"events": [{"event": "slot"}], "responses": []},  # a slot event without its name
    {"events": [{"event": "no_such_event"}], "responses": []},
    {"events": "not a list", "responses": []},
    # What our actions answer: several events of several kinds, null values, a loop, a follow-up.
    {
        "events": [
            {"event": "slot", "timestamp": None, "name": "party", "value": None},
            {"event": "active_loop", "name": "intake_form"},
            {"event": "active_loop", "name": None},
            {"event": "followup", "name": "action_listen"},
            {"event": "reset_slots"},
            {"event": "bot", "text": "好的", "data": {}, "metadata": {}},
            {"event": "action", "name": "action_listen", "policy": None, "confidence": None},
        ],
        "responses": [{"text": "好的", "buttons": [{"title": "是", "payload": "/affirm"}]}],
    },
    {"events": [{"event": "slot", "name": "x"}], "responses": []},  # no value
    {"events": [{"event": "slot", "name": 3, "value": 1}], "responses": []},  # name not a string
    {"events": [{"event": ["slot"], "name": "x", "value": 1}], "responses": []},  # event name not a string
    {"events": [{"name": "x", "value": 1}], "responses": []},  # no event name
    {"events": ["slot"], "responses": []},  # an event that is not an object
    {"events": [{"event": "slot", "name": "x", "value": 1, "timestamp": "now"}], "responses": []},
    {"events": [{"event": "user", "text": "你好", "parse_data": {"intent": {"name": 3}}}], "responses": []},
    {"events": [{"event": "entities", "entities": [{"entity": "party"}]}], "responses": []},  # entity, no value
    {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": ["not an object"]},
    {"responses": [{"text": "只有回复"}]},
    "not an object",
]
VERDICTS = ["ok", "ok", "error", "error", "error", "ok", *["error"] * 9, "ok", "error"]


def test_same_verdicts_and_messages_as_rasa_and_no_schema_check_per_call() -> None:
    out = in_rasa(SCRIPT, json.dumps(ANSWERS))
    assert out["after"] == out["before"]
    assert [v[0] for v in out["after"]] == VERDICTS
    assert all("Failed to validate Action server response" in v[1] for v in out["after"] if v[0] == "error")
    assert out["checks"] == 0  # checked once at install, never per answer
    assert out["fulls"] == VERDICTS.count("error")  # the full schema only for answers the fast path does not accept


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
    out = in_rasa(EVENTS_SCRIPT)
    assert out["names"] > 20
    assert out["after"] == out["before"]
    assert out["after"][0]["user"] == "UserUttered"
    assert out["after"][0]["no_such_event"].startswith("ValueError")
    assert out["after"][1]["no_such_event"] == "UserUttered"


SLOTS_SCRIPT = r"""
import copy, json, sys
sys.path.insert(0, "bot/boot")
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
import slot_copy

domain = Domain.load("bot/domain")
slots = domain.slots

def copies():
    out = []
    for slot in slots:
        twin = copy.copy(slot)
        same = {k: v is getattr(slot, k) for k, v in vars(twin).items()}
        out.append([type(twin).__name__, twin is slot, sorted(vars(twin)) == sorted(vars(slot)), all(same.values())])
    tracker = DialogueStateTracker("s", slots)
    tracker.slots[slots[0].name].value = "changed"
    out.append([slots[0].value == "changed", len(tracker.slots)])
    return out

before = copies()
slot_copy.install()
slot_copy.install()
after = copies()
from rasa.shared.core.slots import Slot
patched = "__copy__" in vars(Slot) and all(isinstance(s, Slot) for s in slots)
print(json.dumps({"before": before, "after": after, "slots": len(slots), "patched": patched}))
"""


def test_slots_copied_as_copy_copy_copies_them() -> None:
    out = in_rasa(SLOTS_SCRIPT)
    assert out["slots"] > 30
    assert out["patched"]
    assert out["after"] == out["before"]
    assert all(not row[1] and row[2] and row[3] for row in out["after"][:-1])  # a new object, same attributes
    assert out["after"][-1] == [False, out["slots"]]  # a tracker's slot is its own


KEEPALIVE_SCRIPT = r"""
import asyncio, json, sys
sys.path.insert(0, "bot/boot")
from aiohttp import web
from rasa.utils.endpoints import EndpointConfig, ClientResponseError
import keepalive

async def main():
    peers = []
    async def ok(request):
        peers.append(request.transport.get_extra_info("peername")[1])
        return web.json_response({"echo": await request.json(), "token": request.query.get("token")})
    async def bad(request):
        return web.Response(status=500, text="boom")
    app = web.Application(); app.router.add_post("/ok", ok); app.router.add_post("/bad", bad)
    runner = web.AppRunner(app); await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0); await site.start()
    port = site._server.sockets[0].getsockname()[1]
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}", token="t0k")
    async def calls():
        out = [await endpoint.request(json={"n": i}, subpath="ok") for i in range(5)]
        try:
            await endpoint.request(json={}, subpath="bad"); out.append("no error")
        except ClientResponseError as e:
            out.append([e.status, e.message, e.text.decode() if isinstance(e.text, bytes) else e.text])
        return out
    before = await calls(); conns_before = len(set(peers)); peers.clear()
    keepalive.install(); keepalive.install()
    after = await calls(); conns_after = len(set(peers)); peers.clear()
    # The server restarts: the kept connection is gone; the next call opens a new one.
    await runner.cleanup()
    runner = web.AppRunner(app); await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    again = await endpoint.request(json={"n": "again"}, subpath="ok")
    await runner.cleanup()
    import rasa.core.run
    from types import SimpleNamespace
    await rasa.core.run.close_resources(SimpleNamespace(ctx=SimpleNamespace()), None)
    kept = endpoint.__dict__["_kept_session"][1]
    conns = [conns_before, conns_after]
    print(json.dumps({"before": before, "after": after, "conns": conns, "again": again, "closed": kept.closed}))

asyncio.run(main())
"""


def test_endpoint_calls_share_one_connection_with_rasas_answers_and_errors() -> None:
    done = run_in_rasa(KEEPALIVE_SCRIPT)
    assert "Unclosed" not in done.stderr
    out = answer(done)
    assert out["after"] == out["before"]  # same answers, token and error (status, reason, body)
    assert out["before"][-1] == [500, "Internal Server Error", "boom"]
    assert out["conns"] == [5, 1]  # a connection per call before, one kept after
    assert out["again"] == {"echo": {"n": "again"}, "token": "t0k"}  # a restarted server is reached again
    assert out["closed"]  # Rasa's shutdown closes the lent session
