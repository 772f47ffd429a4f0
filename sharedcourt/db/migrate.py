"""Run Alembic migrations programmatically (CLI, start-up, tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from sharedcourt.db.session import driver_url


def alembic_config(database_url: str) -> Config:
    """Alembic's configuration for our migrations against `database_url` (sync driver)."""
    config = Config()
    config.set_main_option("script_location", "sharedcourt.db:migrations")
    url = driver_url(database_url, asynchronous=False).render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Bring the schema to the newest revision of every feature branch."""
    from sqlalchemy.engine import make_url

    from sharedcourt.db.session import _ensure_parent

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        _ensure_parent(url.database)
    command.upgrade(alembic_config(database_url), revision)


def revision(database_url: str, message: str, rev_id: str, head: str = "0001@head") -> None:
    """Autogenerate a revision (developer tool)."""
    command.revision(alembic_config(database_url), message=message, autogenerate=True, rev_id=rev_id, head=head)
