"""What every action module shares: one database pool for the action server, the clock, the reply helper.

Tests replace the process wiring (`wiring.sessions = ...`, `wiring.clock = ...`); nothing is built at import.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.messaging.replies import Reply
from sharedcourt.settings import Settings


@functools.lru_cache(maxsize=1)
def settings() -> Settings:
    """The action server's settings, read once."""
    return Settings.from_env()


@functools.lru_cache(maxsize=1)
def _env_sessions() -> async_sessionmaker[AsyncSession]:
    from sharedcourt.db.session import make_engine, make_sessionmaker

    return make_sessionmaker(make_engine(settings().database_url))


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class Wiring:
    """What the actions use from the process: one engine and pool, and a clock."""

    sessions: async_sessionmaker[AsyncSession] | None = None
    clock: Callable[[], dt.datetime] = _utcnow
    conf: Settings | None = None

    def config(self) -> Settings:
        """The settings the actions read (tests set their own)."""
        return self.conf or settings()

    def db(self) -> async_sessionmaker[AsyncSession]:
        """The one session factory of this action server (tests set their own)."""
        return self.sessions or _env_sessions()

    def reset(self) -> None:
        """Back to the process defaults (tests call this after replacing the wiring)."""
        self.sessions = None
        self.clock = _utcnow
        self.conf = None


wiring = Wiring()


def say(dispatcher: CollectingDispatcher, *replies: Reply) -> None:
    """Utter each reply with its numbered buttons."""
    for reply in replies:
        buttons = [{"title": b.title, "payload": b.payload} for b in reply.buttons]
        dispatcher.utter_message(text=reply.text, buttons=buttons or None)


def latest_text(tracker: Tracker) -> str:
    """What the resident typed last."""
    return str(tracker.latest_message.get("text") or "")


def entity(tracker: Tracker, name: str) -> str | None:
    """The value of one entity in the latest message, if present."""
    value: Any = next(tracker.get_latest_entity_values(name), None)
    return None if value is None else str(value)
