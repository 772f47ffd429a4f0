"""The migrations build exactly the schema the models declare, and go down and up again cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from sharedcourt.db import models  # noqa: F401 - registers every table on Base.metadata
from sharedcourt.db.base import Base
from sharedcourt.db.fulltext import SchemaFilter
from sharedcourt.db.migrate import alembic_config, upgrade
from sharedcourt.db.session import driver_url


def _drift(database_url: str) -> list[object]:
    engine = create_engine(driver_url(database_url, asynchronous=False))
    try:
        with engine.connect() as conn:
            hooks = SchemaFilter(conn.dialect.name)
            opts = {"compare_type": True, "include_name": hooks.include_name, "include_object": hooks.include_object}
            context = MigrationContext.configure(conn, opts=opts)
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_the_migrated_schema_is_the_models_schema(database_url: str) -> None:
    assert _drift(database_url) == []


def test_down_to_nothing_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    engine = create_engine(driver_url(url, asynchronous=False))
    with engine.connect() as conn:
        left = [name for name in conn.dialect.get_table_names(conn) if name != "alembic_version"]
    engine.dispose()
    assert left == []
    upgrade(url)
    assert _drift(url) == []


@pytest.mark.parametrize("table", ["seen_signatures", "tickets"])
def test_the_newest_revision_changed_what_it_says(database_url: str, table: str) -> None:
    engine = create_engine(driver_url(database_url, asynchronous=False))
    with engine.connect() as conn:
        columns = {c["name"] for c in conn.dialect.get_columns(conn, table)}
    engine.dispose()
    assert ("digest" in columns) == (table == "seen_signatures")
    assert "transcript_key" not in columns
