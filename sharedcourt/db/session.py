"""Engines and the unit of work: one session and one transaction per request."""

from __future__ import annotations

import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

from sharedcourt.db.wire_logs import quiet_wire_logs
from sharedcourt.errors import ConfigError

# A pooled connection back from use within this many seconds is handed out without a ping: under load the ping
# (one round trip per transaction) cost as much client CPU as a booking's statement; an older one is pinged first.
PING_IDLE_AFTER = 2.0


def driver_url(database_url: str, *, asynchronous: bool) -> URL:
    """Map a plain `sqlite:///` or `postgresql://` URL to the driver we use."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite" if asynchronous else "sqlite")
    if backend == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    raise ConfigError(f"unsupported database backend: {backend}")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Own the transaction boundaries so BEGIN IMMEDIATE serialises writers instead of deadlocking.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    """Build the async engine for our data (not at import: call from a factory)."""
    url = driver_url(database_url, asynchronous=True)
    # SQL parameters are residents' words: never in a log line, whatever the log level.
    kwargs.setdefault("hide_parameters", True)
    quiet_wire_logs()
    if url.get_backend_name() == "sqlite":
        if url.database:
            _ensure_parent(url.database)
        engine = create_async_engine(url, poolclass=NullPool, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_async_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine, PING_IDLE_AFTER)
    return engine


def _ping_when_idle(engine: AsyncEngine, after: float) -> None:
    """Ping a pooled connection on checkout only when it sat idle longer than `after` seconds (a restarted server
    or a dropped connection shows there); a failed ping replaces it, as SQLAlchemy's pre-ping does."""
    dialect = engine.dialect

    def checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since <= after:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise exc.DisconnectionError(str(error)) from error
            raise

    event.listen(engine.sync_engine, "checkin", checked_in)
    event.listen(engine.sync_engine, "checkout", checked_out)


def _ensure_parent(path: str) -> None:
    from pathlib import Path

    if path not in ("", ":memory:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The session factory every feature is given; objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction: commit on success, roll back on any error (and re-raise)."""
    async with sessions() as session, session.begin():
        yield session


# Per session factory, its engine's autocommit twin (same pool), built once: `execution_options` makes a new engine
# object each call. Keyed by the factory, which the twin does not reference, so both go when the factory goes.
_AUTOCOMMIT: weakref.WeakKeyDictionary[async_sessionmaker[AsyncSession], AsyncEngine] = weakref.WeakKeyDictionary()


def reader(sessions: async_sessionmaker[AsyncSession]) -> AsyncSession:
    """A session for a single read statement (a statement is its own consistent snapshot): on PostgreSQL its
    connection runs in autocommit, sparing the BEGIN and ROLLBACK round trips; elsewhere an ordinary session."""
    twin = _AUTOCOMMIT.get(sessions)
    if twin is None:
        bind = sessions.kw.get("bind")
        if not isinstance(bind, AsyncEngine) or bind.dialect.name != "postgresql":
            return sessions()
        twin = _AUTOCOMMIT[sessions] = bind.execution_options(isolation_level="AUTOCOMMIT")
    return sessions(bind=twin)
