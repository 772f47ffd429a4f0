"""`python -m sharedcourt.cli purge [--dry-run]` against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.retention_world import World

from sharedcourt.cli.main import main
from sharedcourt.db.base import utcnow
from sharedcourt.db.conversation import Message


async def _messages(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count(Message.id))) or 0)


async def test_purge_counts_first_then_deletes(
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The command purges at the time it runs: ages relative to the real clock.
    world = World(sessions, now=utcnow())
    await world.conversation(world.ago(400), messages=(400, 380))
    await world.conversation(world.ago(20), messages=(20,))
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert await asyncio.to_thread(main, ["purge", "--dry-run"]) == 0
    dry = capsys.readouterr().out.splitlines()
    assert dry[0] == "（仅统计，未删除）" and await _messages(sessions) == 3
    assert await asyncio.to_thread(main, ["purge"]) == 0
    real = capsys.readouterr().out.splitlines()
    assert json.loads(real[-1]) == json.loads(dry[-1])
    assert json.loads(real[-1])["enquiries"] == 2 and await _messages(sessions) == 1


def test_a_command_starts_its_own_rasa_with_one_run_secrets_when_none_are_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # `make eval-lawbench` on a fresh clone (CI) has no .env: its temporary Rasa must still start, and write nothing.
    from sharedcourt.cli import main as cli_main
    from sharedcourt.cli import procs
    from sharedcourt.settings import Settings

    started: list[Settings] = []

    class FakeStack:
        def __init__(self, settings: Settings) -> None:
            self.settings = settings

        def wait_healthy(self, name: str, url: str, timeout: float) -> None:
            pass

        def stop(self) -> None:
            pass

    def start(stack: FakeStack, model: Path) -> None:
        procs.require_secrets(stack.settings, "rasa_jwt_secret", "action_server_token")  # what start_rasa refuses
        started.append(stack.settings)

    monkeypatch.setattr(procs, "Stack", FakeStack)
    monkeypatch.setattr(procs, "start_rasa", start)
    monkeypatch.setattr(procs, "train", lambda: tmp_path / "model.tar.gz")
    unset = Settings.from_env({"RASA_URL": "http://127.0.0.1:9"}, env_file=tmp_path / "absent.env")
    seen: list[Settings] = []
    assert cli_main._with_rasa(unset, lambda s: seen.append(s) or 0) == 0
    assert len(started) == 1 and seen == started
    assert len(seen[0].rasa_jwt_secret) >= 32 and len(seen[0].action_server_token) >= 32
    assert not (tmp_path / "absent.env").exists()
    configured = Settings.from_env(
        {"RASA_URL": "http://127.0.0.1:9", "RASA_JWT_SECRET": "j" * 40, "ACTION_SERVER_TOKEN": "a" * 40},
        env_file=tmp_path / "absent.env",
    )
    assert cli_main._with_rasa(configured, lambda s: seen.append(s) or 0) == 0
    assert (seen[-1].rasa_jwt_secret, seen[-1].action_server_token) == ("j" * 40, "a" * 40)
