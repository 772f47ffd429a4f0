"""Shared fixtures: every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.migrate import upgrade
from sharedcourt.db.models import Base
from sharedcourt.db.session import make_engine, make_sessionmaker

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_reachable() -> bool:
    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database of each backend, private to this test session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        upgrade(url)
        yield url
        return
    if not _postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and is not reachable at {PG_URL}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A session factory on a clean database (reference data kept, test rows removed)."""
    engine = make_engine(database_url)
    reference = [t for t in Base.metadata.sorted_tables if t.info.get("reference_data")]
    # Reference rows from migrations stay; rows a test adds to those tables are removed again.
    async with engine.connect() as conn:
        kept = {t.name: set((await conn.execute(select(*t.primary_key.columns))).tuples().all()) for t in reference}
    try:
        yield make_sessionmaker(engine)
    finally:
        async with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                if not table.info.get("reference_data"):
                    await conn.execute(delete(table))
            for table in reversed(reference):
                columns = list(table.primary_key.columns)
                rows = (await conn.execute(select(*columns))).tuples().all()
                for row in set(rows) - kept[table.name]:
                    await conn.execute(delete(table).where(*(c == v for c, v in zip(columns, row, strict=True))))
        await engine.dispose()


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="session")
def quick_password_hashes() -> Iterator[None]:
    """Argon2 at a test cost: the production parameters (64 MiB per hash) would make every sign-in test slow.

    tests/staff/test_passwords.py checks the production parameters themselves.
    """
    from argon2 import PasswordHasher

    from sharedcourt.staff import passwords

    quick = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "hasher", lambda: quick)
        yield


@pytest.fixture(autouse=True)
def someone_is_always_on_duty(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps built in tests route over a round-the-clock roster: CI runs at any hour, on any day. Duty hours
    themselves are tested with explicit rosters and clocks (tests/handoff/test_staff_routing.py, handoff_world)."""
    from stand_ins.rosters import always_on_duty_file

    from sharedcourt.handoff import runtime

    monkeypatch.setattr(runtime, "ROSTER_FILE", Path(always_on_duty_file()))
