"""`faq-export`: the knowledge base with the console's edits, written as the reviewed `<code>.yml` files, loads
back through the same checks as the shipped files."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from pathlib import Path
from typing import Any

from sharedcourt.cli.faq import faq_export
from sharedcourt.db.session import unit_of_work
from sharedcourt.faq import entries
from sharedcourt.faq.edits import save
from sharedcourt.faq.entries import shipped
from sharedcourt.faq.export import write


def test_the_shipped_entries_export_and_load_back_unchanged(tmp_path: Path) -> None:
    write(shipped(), tmp_path)
    loaded = entries.load(tmp_path)
    assert {e.id: dataclasses.replace(e, file="") for e in loaded} == {
        e.id: dataclasses.replace(e, file="") for e in shipped()
    }
    family = (tmp_path / "family.yml").read_text(encoding="utf-8")
    assert family.startswith("#") and "answer: |" in family


async def test_the_cli_exports_console_edits(database_url: str, sessions: Any, tmp_path: Path) -> None:
    first = shipped()[0]
    edited = dataclasses.replace(first, paragraphs=("管理员改写的答复。",))
    async with unit_of_work(sessions) as session:
        await save(session, edited, "admin1")
    out = tmp_path / "faq"
    args = argparse.Namespace(database_url=database_url, out=str(out))
    assert await asyncio.to_thread(faq_export, args) == 0  # the CLI runs its own event loop
    loaded = {e.id: e for e in entries.load(out)}
    assert len(loaded) == len(shipped())
    assert loaded[first.id].paragraphs == ("管理员改写的答复。",)
