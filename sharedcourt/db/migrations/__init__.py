"""Alembic environment and the schema revisions of every feature."""
