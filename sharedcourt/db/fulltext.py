"""Full-text search over messages.text: what exists outside the models, and the schema filter that hides it.

SQLite: an FTS5 virtual table `messages_fts` (trigram tokenizer, external content = messages) kept in sync by
triggers; FTS5 adds shadow tables (`messages_fts_data`, `_idx`, `_docsize`, `_config`). PostgreSQL: pg_trgm and a
GIN trigram index on messages.text, declared in the model (`TRIGRAM_INDEX`) for PostgreSQL only. Both are built by
migration 0010; `SchemaFilter` keeps them out of Alembic's model-vs-database comparison (env.py and the drift test).
A migration that rebuilds `messages` in SQLite batch mode drops the sync triggers and must recreate them (0010's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FTS_TABLE = "messages_fts"
TRIGRAM_INDEX = "ix_messages_text_trgm"
# Where pg_trgm lives: named, so that the operator class is found whatever a connection's search_path is.
TRGM_SCHEMA = "public"


def is_fts_table(name: str | None) -> bool:
    """The FTS5 table or one of its shadow tables."""
    return bool(name) and (name == FTS_TABLE or str(name).startswith(FTS_TABLE + "_"))


@dataclass(frozen=True)
class SchemaFilter:
    """Alembic's include_name/include_object hooks for one dialect."""

    dialect: str

    def include_name(self, name: str | None, type_: str, parent_names: Any) -> bool:
        """Skip the FTS5 tables reflected from SQLite (they are not models)."""
        return not (type_ == "table" and is_fts_table(name))

    def include_object(self, obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        """Skip the FTS5 tables, and the PostgreSQL-only trigram index on other databases."""
        if type_ == "table" and is_fts_table(name):
            return False
        return not (type_ == "index" and name == TRIGRAM_INDEX and self.dialect != "postgresql")
