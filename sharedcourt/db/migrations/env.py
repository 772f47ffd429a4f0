"""Alembic environment: runs with the sync driver of DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from sharedcourt.db.fulltext import SchemaFilter
from sharedcourt.db.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    hooks = SchemaFilter(connection.dialect.name)
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        include_name=hooks.include_name,
        include_object=hooks.include_object,
    )


def run_migrations_online() -> None:
    """Run the migrations on the connection the caller passed, else on a new engine for the configured URL."""
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _configure(connectable)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
