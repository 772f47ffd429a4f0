"""Rasa's SQL tracker store with its own queries issued through SQLAlchemy Core (runs in the Rasa environment).

Rasa 3.6's `SQLTrackerStore` builds its ORM queries anew for every retrieval and save, loads every event row as an
ORM object, counts the stored events with `Query.count()` and inserts new events through the ORM's unit of work:
~21 % of the Rasa process's CPU under load (py-spy `--gil`, docs/BENCHMARKS.md). Here the same table is read and
written with the same SQL, built once: the latest session's events (those from the newest `session_started`
timestamp on, or all when there is none) ordered by id, their count, and one multi-row insert of the events the
database does not have yet, in one transaction as before. Trackers, rows and order are those Rasa's code gives
(tests/bot/test_boot.py compares both on SQLite and PostgreSQL).

`install()` replaces the methods for the running process only.
"""

from __future__ import annotations

import itertools
import json


def install() -> None:
    """Make `SQLTrackerStore` retrieve, count and insert with statements built once; idempotent."""
    import sqlalchemy as sa
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.events import SessionStarted
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.shared.nlu.constants import INTENT_NAME_KEY

    if getattr(SQLTrackerStore.save, "_core_statements", False):
        return
    events = SQLTrackerStore.SQLEvent.__table__
    c = events.c
    sender = sa.bindparam("sender_id")
    # As Rasa's `_event_query`: the newest session start as a one-row subquery joined to the sender's events.
    start = (
        sa.select(sa.func.max(c.timestamp).label("session_start"))
        .where(c.sender_id == sender, c.type_name == SessionStarted.type_name)
        .subquery()
    )
    in_session = sa.or_(c.timestamp >= start.c.session_start, start.c.session_start.is_(None))
    latest = sa.select(c.data).where(c.sender_id == sender, in_session).order_by(c.id)
    every = sa.select(c.data).where(c.sender_id == sender).order_by(c.id)
    stored = sa.select(sa.func.count()).select_from(sa.select(c.id).where(c.sender_id == sender, in_session).subquery())

    async def _retrieve(
        self: SQLTrackerStore, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        with self.session_scope() as session:
            query = every if fetch_events_from_all_sessions else latest
            rows = session.execute(query, {"sender_id": sender_id}).scalars().all()
            found = [json.loads(data) for data in rows]
            if self.domain and len(found) > 0:
                return DialogueStateTracker.from_dict(sender_id, found, self.domain.slots)
            return None

    async def save(self: SQLTrackerStore, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        with self.session_scope() as session:
            known = session.execute(stored, {"sender_id": tracker.sender_id}).scalar_one()
            rows = []
            for event in itertools.islice(tracker.events, known, len(tracker.events)):
                data = event.as_dict()
                rows.append(
                    {
                        "sender_id": tracker.sender_id,
                        "type_name": event.type_name,
                        "timestamp": data.get("timestamp"),
                        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                        "action_name": data.get("name"),
                        "data": json.dumps(data),
                    }
                )
            if rows:
                session.execute(events.insert(), rows)
            session.commit()

    save._core_statements = True  # type: ignore[attr-defined]
    SQLTrackerStore._retrieve = _retrieve  # type: ignore[method-assign]
    SQLTrackerStore.save = save  # type: ignore[method-assign]
