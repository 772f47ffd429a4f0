"""message search: FTS5 trigram table on SQLite, pg_trgm GIN index on PostgreSQL, conversations by update

Revision ID: 0010
Revises: 0001
Create Date: 2026-12-03 09:00:00

Staff search transcripts for Chinese substrings (issue 12). Word tokenizers do not split Chinese, trigrams do:
SQLite gets an external-content FTS5 table over messages.text with the trigram tokenizer, kept in sync by
triggers and filled from the existing rows; PostgreSQL gets pg_trgm (a trusted extension since 13, so the
database owner may create it) and a GIN trigram index that serves `ILIKE '%…%'`.

A later revision that rebuilds `messages` in SQLite batch mode drops the triggers: it must create them again.
"""

from alembic import op


revision = '0010'
down_revision = '0001'
branch_labels = None
# After every revision that rebuilds `messages` in SQLite batch mode (a rebuild drops the table's triggers).
depends_on = '0007'

_SQLITE_UP = (
    "CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER messages_fts_au AFTER UPDATE OF text ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
)
_SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS messages_fts_au",
    "DROP TRIGGER IF EXISTS messages_fts_ad",
    "DROP TRIGGER IF EXISTS messages_fts_ai",
    "DROP TABLE IF EXISTS messages_fts",
)


def upgrade() -> None:
    # Review lists conversations newest first and pages on (updated_at, id).
    op.create_index('ix_conversations_updated_at_id', 'conversations', ['updated_at', 'id'])
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        for statement in _SQLITE_UP:
            op.execute(statement)
    elif dialect == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public')
        op.create_index(
            'ix_messages_text_trgm',
            'messages',
            ['text'],
            postgresql_using='gin',
            postgresql_ops={'text': 'public.gin_trgm_ops'},
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        for statement in _SQLITE_DOWN:
            op.execute(statement)
    elif dialect == 'postgresql':
        # The extension stays: other schemas of the database may use it.
        op.drop_index('ix_messages_text_trgm', table_name='messages')
    op.drop_index('ix_conversations_updated_at_id', table_name='conversations')
