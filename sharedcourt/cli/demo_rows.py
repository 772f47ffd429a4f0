"""The rows of `make demo-data`: one synthetic resident's conversation, case, ticket, rating and booking.

Everything is drawn from one `random.Random`, so a seed and an end day give the same month every time. Demo rows
are marked: residents' channel ids and slots' seat keys start with `MARK`, ticket numbers with `TICKET_MARK`.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import random
from dataclasses import dataclass
from typing import Any

from sharedcourt.data import DATA_DIR
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.ticket import OUTCOMES, Rating, Ticket, TicketEvent
from sharedcourt.domain.clock import TZ
from sharedcourt.domain.disputes import BY_CODE

MARK = "demo-"
TICKET_MARK = "DEMO"
QUZHOU_COUNTIES = ("330802", "330803", "330822", "330824", "330825", "330881")
CHANNELS = (("wechat", 6), ("webchat", 3), ("wecom", 1))
COMMENTS = ("调解员很耐心，问题解决了", "回复很快，谢谢", "等了比较久才有人接", "希望下次能早点联系我", "", "")
ACCEPT_WINDOW = 180


@dataclass(frozen=True)
class DemoSite:
    """A Shared Court of the default registry (sharedcourt/data/sites.csv)."""

    code: str
    name: str
    county: str


def demo_sites(per_county: int = 2) -> list[DemoSite]:
    """The first `per_county` town-level Shared Courts of each of Quzhou's counties, by key."""
    with (DATA_DIR / "sites.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["level"] == "town"]
    chosen: list[DemoSite] = []
    for county in QUZHOU_COUNTIES:
        found = sorted((r for r in rows if r["code"][2:8] == county), key=lambda r: r["code"])[:per_county]
        chosen += [DemoSite(r["code"], r["name"], county) for r in found]
    return chosen


def local_at(day: dt.date, hour: int, minute: int) -> dt.datetime:
    """A China local time, as UTC."""
    return dt.datetime.combine(day, dt.time(hour, minute), TZ).astimezone(dt.timezone.utc)


def conversation_id(seed: int, n: int) -> str:
    """A deterministic 32-hex conversation id."""
    return hashlib.sha256(f"demo-{seed}-{n}".encode()).hexdigest()[:32]


def _channel(rng: random.Random) -> str:
    return rng.choices([c for c, _ in CHANNELS], weights=[w for _, w in CHANNELS])[0]


def _rule(rng: random.Random, code: str) -> str:
    if code == "enforcement":
        return "enforcement"
    return rng.choices(["general", "complex", "litigation"], weights=[75, 17, 8])[0]


def resident_rows(rng: random.Random, seed: int, n: int, day: dt.date, site: DemoSite, code: str) -> dict[str, Any]:
    """The resident, conversation, first message and case of demo resident `n`."""
    channel = _channel(rng)
    asked = local_at(day, rng.randint(8, 20), rng.randint(0, 59))
    resident = Resident(channel=channel, channel_user_id=f"{MARK}{seed}-{n}", site_code=site.code,
                        place_code=site.county, created_at=asked, last_seen_at=asked)  # fmt: skip
    conv = Conversation(id=conversation_id(seed, n), channel=channel, created_at=asked, updated_at=asked)
    label = BY_CODE[code].label
    return {"resident": resident, "conversation": conv, "asked": asked, "text": f"想咨询{label}的问题", "label": label}


def message(conv: Conversation, text: str, at: dt.datetime) -> Message:
    """The resident's first message."""
    return Message(conversation_id=conv.id, direction="in", channel=conv.channel, author="resident", text=text,
                   status="processed", created_at=at)  # fmt: skip


def case_row(resident: Resident, conv: Conversation, site: DemoSite, code: str, at: dt.datetime) -> Case:
    """The resident's case at the site."""
    summary = f"{BY_CODE[code].label}（演示数据）"
    return Case(resident_id=resident.id, conversation_id=conv.id, dispute_code=code, status="confirmed",
                site_code=site.code, summary=summary, created_at=at, updated_at=at)  # fmt: skip


def ticket_rows(rng: random.Random, n: int, case: Case, site: DemoSite, at: dt.datetime) -> Ticket:
    """A handoff: mostly taken within the window, some passed on, a few nobody took (有呼无应)."""
    fate = rng.choices(["quick", "escalated", "expired"], weights=[80, 14, 6])[0]
    ticket = Ticket(number=f"{TICKET_MARK}{n:06d}", conversation_id=case.conversation_id, resident_id=case.resident_id,
                    case_id=case.id, rule=_rule(rng, case.dispute_code or ""), site_code=site.code,
                    site_name=site.name, dispute_code=case.dispute_code, summary=case.summary, requested_at=at,
                    updated_at=at)  # fmt: skip
    second = dt.timedelta(seconds=1)
    if fate == "expired":
        ticket.state, ticket.escalated_at = "expired", at + ACCEPT_WINDOW * second
        ticket.expired_at = at + 2 * ACCEPT_WINDOW * second
        return ticket
    took = rng.randint(8, ACCEPT_WINDOW) if fate == "quick" else rng.randint(ACCEPT_WINDOW + 5, 3 * ACCEPT_WINDOW)
    if fate == "escalated":
        ticket.escalated_at = at + ACCEPT_WINDOW * second
    ticket.state, ticket.holder, ticket.accepted_at = "closed", "demo-mediator", at + took * second
    ticket.outcome = rng.choices(OUTCOMES, weights=[45, 15, 10, 25, 5])[0]
    ticket.closed_at = ticket.accepted_at + rng.randint(600, 5400) * second
    return ticket


def ticket_events(ticket: Ticket) -> list[TicketEvent]:
    """The ticket's history as the handoff core writes it."""
    events = [TicketEvent(ticket_id=ticket.id, kind="requested", actor="resident", at=ticket.requested_at)]
    if ticket.escalated_at is not None:
        events.append(TicketEvent(ticket_id=ticket.id, kind="escalated", at=ticket.escalated_at))
    if ticket.expired_at is not None:
        events.append(TicketEvent(ticket_id=ticket.id, kind="expired", at=ticket.expired_at))
    for kind, at in (("accepted", ticket.accepted_at), ("closed", ticket.closed_at)):
        if at is not None:
            events.append(TicketEvent(ticket_id=ticket.id, kind=kind, actor="staff:demo-mediator", at=at))
    return events


def rating_row(rng: random.Random, ticket: Ticket) -> Rating | None:
    """Most residents rate a closed handoff; a slow answer rates lower."""
    if ticket.closed_at is None or rng.random() > 0.65:
        return None
    slow = ticket.escalated_at is not None
    score = rng.choices([1, 2, 3, 4, 5], weights=[3, 4, 10, 30, 53] if not slow else [15, 20, 30, 20, 15])[0]
    comment = rng.choice(COMMENTS)
    return Rating(ticket_id=ticket.id, score=score, comment=comment, created_at=ticket.closed_at)
