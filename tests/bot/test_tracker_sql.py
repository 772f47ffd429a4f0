"""bot/boot/tracker_sql.py: Rasa's SQL tracker store through Core statements gives Rasa's own rows and trackers."""

from __future__ import annotations

import pytest
from rasa_python import in_rasa

# Two sessions saved in steps (a save with nothing new among them), retrieved, read back in full; the same
# scenario with Rasa's methods, then with the installed ones, each on its own fresh database.
SCRIPT = r"""
import asyncio, json, sys, tempfile, uuid
sys.path.insert(0, "bot/boot")
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
import tracker_sql

domain = Domain.load("bot/domain")
tmp = tempfile.mkdtemp()
kind = sys.argv[1]

def make(name):
    if kind == "sqlite":
        return SQLTrackerStore(domain, dialect="sqlite", db=f"{tmp}/{name}.db")
    return SQLTrackerStore(
        domain, dialect="postgresql", host="127.0.0.1", port=5432, username="postgres", db=name, login_db="test"
    )

def said(text, intent, ts):
    return UserUttered(text, {"name": intent, "confidence": 0.9}, timestamp=ts)

async def scenario(store):
    t = DialogueStateTracker("s1", domain.slots)
    first = [
        ActionExecuted("action_session_start", timestamp=1.0), SessionStarted(timestamp=1.0),
        ActionExecuted("action_listen", timestamp=1.1), said("你好", "greet", 2.0),
        SlotSet("party", "老板", timestamp=2.1), BotUttered("您好", timestamp=2.2),
    ]
    for e in first[:3]:
        t.update(e)
    await store.save(t)
    for e in first[3:]:
        t.update(e)
    await store.save(t)
    await store.save(t)  # nothing new
    r1 = await store.retrieve("s1")
    second = [
        ActionExecuted("action_session_start", timestamp=10.0), SessionStarted(timestamp=10.0),
        ActionExecuted("action_listen", timestamp=10.1), said("谢谢", "thank", 11.0),
    ]
    for e in second:
        r1.update(e)
    await store.save(r1)
    r2 = await store.retrieve("s1")
    r2.update(BotUttered("不客气", timestamp=11.5))
    await store.save(r2)
    latest = await store.retrieve("s1")
    full = await store.retrieve_full_tracker("s1")
    with store.session_scope() as session:
        columns = "id, sender_id, type_name, timestamp, intent_name, action_name, data"
        rows = [list(r) for r in session.execute(sa.text(f"select {columns} from events order by id"))]
    state = lambda tr: tr.current_state(EventVerbosity.ALL)
    nobody = await store.retrieve("nobody")
    return {"r1": state(r1), "latest": state(latest), "full": state(full), "nobody": nobody, "rows": rows}

async def main():
    names = [f"rasa_boot_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    before = await scenario(make(names[0]))
    tracker_sql.install()
    tracker_sql.install()
    after = await scenario(make(names[1]))
    if kind == "postgresql":
        engine = sa.create_engine("postgresql://postgres@127.0.0.1:5432/test", isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for name in names:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    patched = getattr(SQLTrackerStore.save, "_core_statements", False)
    print(json.dumps({"before": before, "after": after, "patched": patched}, ensure_ascii=False, default=str))

asyncio.run(main())
"""


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_same_rows_and_trackers_as_rasas_tracker_store(kind: str) -> None:
    out = in_rasa(SCRIPT, kind)
    assert out["patched"]
    assert out["after"] == out["before"]
    assert len(out["after"]["rows"]) == 11  # every event once, in order
    assert [e["event"] for e in out["after"]["latest"]["events"]] == [
        "action",
        "session_started",
        "action",
        "user",
        "bot",
    ]  # the second session only
    assert len(out["after"]["full"]["events"]) == 11
    assert out["after"]["nobody"] is None
