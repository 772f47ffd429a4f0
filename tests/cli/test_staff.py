"""`staff-add` on the command line: creates an account with its role (audited), refuses every bad input with a
clear message and writes nothing then; `make run` hints at the first admin; the Makefile target passes its values."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from sharedcourt.cli import main as cli
from sharedcourt.cli import procs
from sharedcourt.cli.staff import DIFFERENT, FIRST_ADMIN, NO_PASSWORD, first_admin_hint, staff_add
from sharedcourt.db.staff import AuditEvent, StaffAccount
from sharedcourt.errors import BadRequest
from sharedcourt.settings import Settings
from sharedcourt.staff.accounts import authenticate

PASSWORD = "Cli!staff-pass-2026"


def _argv(database_url: str, *extra: str) -> list[str]:
    return ["staff-add", "--database-url", database_url, *extra]


async def _cli(argv: list[str]) -> int:
    return await asyncio.to_thread(cli.main, argv)


async def _accounts(sessions: Any) -> list[str]:
    async with sessions() as session:
        return list(await session.scalars(select(StaffAccount.username)))


async def test_staff_add_creates_the_account_with_its_role_and_audits_it(
    database_url: str, sessions: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PASSWORD", PASSWORD)
    argv = _argv(database_url, "--username", "Zhang.San", "--role", "mediator", "--scope", "GX330802005")
    assert await _cli([*argv, "--display-name", "张三"]) == 0
    out = capsys.readouterr().out
    assert "已创建账号 zhang.san（庭务主任/调解员，范围 GX330802005）" in out and PASSWORD not in out
    async with sessions() as session:
        account = await authenticate(session, "zhang.san", PASSWORD)
        assert account.display_name == "张三"
        assert [(g.role, g.scope) for g in account.grants] == [("mediator", "GX330802005")]
        events = (await session.scalars(select(AuditEvent))).all()
    assert [(e.action, e.actor, e.target_id, e.field) for e in events] == [
        ("account_created", "cli", "zhang.san", "mediator:GX330802005")
    ]


@pytest.mark.parametrize(
    ("extra", "password", "message"),
    [
        (["--username", "a1", "--role", "boss"], PASSWORD, "没有这个角色：boss"),
        (["--username", "a1", "--role", "admin", "--scope", "330802"], PASSWORD, "不限范围"),
        (["--username", "a1", "--role", "auditor", "--scope", "FY330802"], PASSWORD, "不限范围"),
        (["--username", "a1", "--role", "mediator"], PASSWORD, "需要 SCOPE"),
        (["--username", "a1", "--role", "judge", "--scope", "GX000000000"], PASSWORD, "既不是登记的站点编号"),
        (["--username", "a1", "--role", "dispatcher", "--scope", "330899"], PASSWORD, "既不是登记的站点编号"),
        (["--username", "张三", "--role", "admin"], PASSWORD, "用户名须为"),
        (["--username", "a1", "--role", "admin"], "short1!", "密码太短"),
        (["--username", "a1", "--role", "admin"], "password123", "密码过于常见"),
        (["--username", "wangwu", "--role", "admin"], "wangwu-2026-desk", "不能包含用户名"),
        (["--username", "a1", "--role", "admin"], "", "没有密码"),
    ],
)
async def test_every_refusal_is_exit_2_with_a_message_and_writes_nothing(
    database_url: str,
    sessions: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    password: str,
    message: str,
) -> None:
    monkeypatch.setenv("PASSWORD", password)
    assert await _cli(_argv(database_url, *extra)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert password not in err or not password
    assert await _accounts(sessions) == []


async def test_a_taken_name_is_refused_and_the_first_account_kept(
    database_url: str, sessions: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PASSWORD", PASSWORD)
    assert await _cli(_argv(database_url, "--username", "lisi", "--role", "auditor")) == 0
    assert await _cli(_argv(database_url, "--username", "LISI", "--role", "admin")) == 2
    assert "用户名 lisi 已存在" in capsys.readouterr().err
    async with sessions() as session:
        account = await session.scalar(select(StaffAccount))
        assert account is not None and [g.role for g in account.grants] == ["auditor"]


def _settings(database_url: str) -> Settings:
    return replace(Settings(), database_url=database_url, password="")


async def test_without_password_a_terminal_prompts_twice(database_url: str, sessions: Any) -> None:
    typed = iter([PASSWORD, PASSWORD])
    settings = _settings(database_url)
    code = await asyncio.to_thread(
        staff_add, settings, "prompted", "admin", prompt=lambda _: next(typed), interactive=True
    )
    assert code == 0 and await _accounts(sessions) == ["prompted"]
    typed = iter([PASSWORD, PASSWORD + "x"])
    with pytest.raises(BadRequest, match=re.escape(DIFFERENT)):
        await asyncio.to_thread(staff_add, settings, "other", "admin", prompt=lambda _: next(typed), interactive=True)
    with pytest.raises(BadRequest, match=re.escape(NO_PASSWORD)):
        await asyncio.to_thread(staff_add, settings, "other", "admin", prompt=lambda _: PASSWORD, interactive=False)
    assert await _accounts(sessions) == ["prompted"]


async def test_run_says_how_to_create_the_first_admin_until_there_is_one(
    database_url: str, sessions: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(database_url)
    await asyncio.to_thread(procs._hint_first_admin, settings)
    out = capsys.readouterr().out
    assert out.count("make staff-add USERNAME=admin ROLE=admin") == 1 and out.strip() == FIRST_ADMIN
    monkeypatch.setenv("PASSWORD", PASSWORD)
    assert await _cli(_argv(database_url, "--username", "mediator", "--role", "mediator", "--scope", "330802")) == 0
    assert await asyncio.to_thread(first_admin_hint, settings) == FIRST_ADMIN, "a mediator is no admin"
    assert await _cli(_argv(database_url, "--username", "root", "--role", "admin")) == 0
    capsys.readouterr()
    await asyncio.to_thread(procs._hint_first_admin, settings)
    assert capsys.readouterr().out == ""


def test_the_makefile_target_passes_username_role_and_scope(repo_root: Path) -> None:
    makefile = (repo_root / "Makefile").read_text()
    target = re.search(r"^staff-add: \$\(APP_STAMP\).*\n((?:\t.*\n)+)", makefile, re.M)
    assert target, "Makefile has a staff-add target depending on the app environment"
    recipe = target.group(1)
    assert all(f"$({name})" in recipe for name in ("USERNAME", "ROLE", "SCOPE"))
    command = re.search(r"\$\(CLI\) (staff-add .*)$", recipe, re.M)
    assert command, "the recipe calls the staff-add subcommand"
    filled = command.group(1).replace("$(USERNAME)", "u1").replace("$(ROLE)", "admin")
    filled = filled.replace("$(SCOPE)", "").replace("$(NAME)", "名字").replace('"', "")
    args = cli.build_parser().parse_args(filled.split(" "))
    assert (args.username, args.role, args.scope, args.display_name) == ("u1", "admin", "", "名字")


class _Stopped(Exception):
    """Ends `run_forever`'s wait loop in the test."""


def test_make_run_on_a_fresh_database_prints_the_first_admin_hint(
    database_url: str, sessions: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    @contextmanager
    def started(settings: Settings, **_: Any) -> Iterator[Any]:
        yield SimpleNamespace(procs={})

    def stop(_seconds: float) -> None:
        raise _Stopped

    monkeypatch.setattr(procs, "train", lambda: Path("models/stand-in.tar.gz"))
    monkeypatch.setattr(procs, "running", started)
    monkeypatch.setattr(procs.signal, "signal", lambda *_: None)
    monkeypatch.setattr(procs, "time", SimpleNamespace(monotonic=time.monotonic, sleep=stop))
    with pytest.raises(_Stopped):
        procs.run_forever(_settings(database_url))
    out = capsys.readouterr().out
    assert out.index("ready in") < out.index(FIRST_ADMIN), "the hint comes with the ready lines"
