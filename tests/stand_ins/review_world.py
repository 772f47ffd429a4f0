"""Two counties, two sites, one conversation at each, and one account per role, for the review tests.

柯城区 (330802) holds site KECHENG with conversation "kecheng"; 衢江区 (330803) holds site QUJIANG with
conversation "qujiang". The lawyer holds the kecheng conversation's ticket. Each conversation carries a phone,
an ID number, a bank card, names and a street address in its messages and facts, and one evidence file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import update

from sharedcourt.db.case import Case, Evidence
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.ticket import Rating, Ticket, TicketEvent
from stand_ins.console_accounts import add_account

KECHENG_COUNTY, QUJIANG_COUNTY = "330802", "330803"
KECHENG, QUJIANG = "GX330802005", "GX330803001"
T0 = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.timezone.utc)

# What must never show without a reveal (per conversation), and what masking leaves.
SECRETS = {
    "kecheng": ("13812345678", "330802199001011232", "6222021234567890123", "赵六", "王建军", "人民路88号"),
    "qujiang": ("13998765432", "330803198502023331", "6217001234567890555", "钱七", "孙丽华", "解放路12号"),
}
SAID = {
    "kecheng": "我是赵六，电话13812345678，身份证330802199001011232，王建军拖欠工资，他住人民路88号3幢201室，"
    "工资打到卡6222021234567890123",
    "qujiang": "我叫钱七，手机13998765432，身份证330803198502023331，孙丽华家漏水，住解放路12号5幢101室，"
    "卡号6217001234567890555",
}
# One account per role: (username, role, scope).
ROLE_ACCOUNTS = {
    "admin": ("admin1", "admin", ""),
    "dispatcher": ("dispatch1", "dispatcher", KECHENG_COUNTY),
    "judge": ("judge1", "judge", QUJIANG),
    "mediator": ("mediator1", "mediator", KECHENG),
    "lawyer": ("lawyer1", "lawyer", KECHENG),
    "auditor": ("auditor1", "auditor", ""),
}
# The conversations each role may see.
SEES = {
    "admin": {"kecheng", "qujiang"},
    "auditor": {"kecheng", "qujiang"},
    "dispatcher": {"kecheng"},
    "judge": {"qujiang"},
    "mediator": {"kecheng"},
    "lawyer": {"kecheng"},
}


@dataclass
class World:
    """The ids of what was made."""

    conversations: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, int] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)
    accounts: dict[str, int] = field(default_factory=dict)


async def _conversation(
    sessions: Any, key: str, site: str, holder: str, name: str, party: str, hours: int, evidence_dir: Path
) -> tuple[str, int, int]:
    async with sessions() as session, session.begin():
        resident = Resident(channel="webchat", channel_user_id=f"u-{key}", name=name)
        session.add(resident)
        await session.flush()
        conv = Conversation(resident_id=resident.id, channel="webchat")
        session.add(conv)
        await session.flush()
        said = Message(conversation_id=conv.id, direction="in", channel="webchat", author="resident", text=SAID[key])
        session.add(said)
        session.add(Message(conversation_id=conv.id, direction="out", channel="webchat", author="bot", text="收到"))
        case = Case(
            resident_id=resident.id,
            conversation_id=conv.id,
            dispute_code="labor" if key == "kecheng" else "neighbor",
            site_code=site,
            urgent=key == "kecheng",
            facts={"party": party, "phone": SECRETS[key][0], "what_happened": SAID[key]},
        )
        session.add(case)
        await session.flush()
        ticket = Ticket(
            conversation_id=conv.id,
            resident_id=resident.id,
            case_id=case.id,
            rule="site",
            site_code=site,
            holder=holder,
            state="closed",
            outcome="调解成功",
        )
        session.add(ticket)
        await session.flush()
        session.add_all(
            [
                TicketEvent(ticket_id=ticket.id, kind="accepted", actor=holder),
                TicketEvent(ticket_id=ticket.id, kind="closed", actor=holder),
                Rating(ticket_id=ticket.id, score=5, comment="很好"),
                Message(
                    conversation_id=conv.id, direction="out", channel="webchat", author=f"staff:{holder}", text="您好"
                ),
            ]
        )
        path = evidence_dir / f"{key}.jpg"
        path.write_bytes(f"photo of {key}".encode())
        evidence = Evidence(case_id=case.id, message_id=said.id, kind="image", path=str(path), sha256="0" * 64)
        session.add(evidence)
        await session.flush()
        at = T0 + dt.timedelta(hours=hours)
        await session.execute(update(Conversation).where(Conversation.id == conv.id).values(updated_at=at))
        return conv.id, evidence.id, case.id


async def build(sessions: Any, evidence_dir: Path) -> World:
    """Both conversations and one account per role."""
    world = World()
    for key, site, holder, name, party, hours in (
        ("kecheng", KECHENG, "lawyer1", "赵六", "王建军", 1),
        ("qujiang", QUJIANG, "qj-mediator", "钱七", "孙丽华", 2),
    ):
        world.conversations[key], world.evidence[key], world.cases[key] = await _conversation(
            sessions, key, site, holder, name, party, hours, evidence_dir
        )
    for role, (username, granted, scope) in ROLE_ACCOUNTS.items():
        world.accounts[role] = await add_account(sessions, username, granted, scope)
    return world
