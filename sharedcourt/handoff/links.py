"""Signed, expiring links to a ticket's transcript, one per person, and the audited opening of one.

A link names the ticket, the roster id of the person it was sent to and its expiry (Unix seconds); `sig` is
hex(HMAC-SHA256(LINK_SECRET, "transcript\\n" + number + "\\n" + staff + "\\n" + expires)). Any change, an expiry in
the past, an empty secret or a person no longer on the roster refuses the link (AuthError). An opening shows every
message with personal data masked and writes a `link_openings` row (who, when, which ticket, masked).

Cards are built once per ticket with a placeholder (`placeholder(number)`); `personal(card, staff, now)` swaps in
the link signed for the one person the card is sent to, so a forwarded card names whose link it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import urllib.parse
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.clients.dingtalk import Card
from sharedcourt.db.audit import LinkOpening
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.ticket import Ticket
from sharedcourt.domain.values.masking import known_names, mask_text
from sharedcourt.errors import AuthError

PURPOSE = "transcript"
# Never a URL anyone could open: `personal` replaces it before a card leaves the service.
_PLACEHOLDER = "sharedcourt-transcript-link:"
_PLACEHOLDER_RE = re.compile(re.escape(_PLACEHOLDER) + r"(T\d{1,12})")


@dataclass(frozen=True)
class LinkQuery:
    """What a transcript link carries besides the ticket number."""

    staff: str
    expires: str
    sig: str


@dataclass(frozen=True)
class Opened:
    """A transcript as the link's holder may see it: the ticket and its messages, personal data masked."""

    ticket: Ticket
    messages: list[Message]
    texts: list[str]


@dataclass(frozen=True)
class TranscriptLinks:
    """Signs and checks transcript links with LINK_SECRET; they live `hours` hours."""

    secret: str
    hours: int
    public_url: str = ""

    def signature(self, number: str, staff: str, expires: str) -> str:
        """The hex HMAC over purpose, ticket number, staff key and expiry."""
        message = "\n".join((PURPOSE, number, staff, expires)).encode()
        return hmac.new(self.secret.encode(), message, hashlib.sha256).hexdigest()

    def url(self, number: str, staff: str, now: dt.datetime) -> str:
        """The link for `staff` to ticket `number`, valid `hours` hours from `now`."""
        expires = str(int((now + dt.timedelta(hours=self.hours)).timestamp()))
        query = urllib.parse.urlencode(
            {"staff": staff, "expires": expires, "sig": self.signature(number, staff, expires)}
        )
        return f"{self.public_url.rstrip('/')}/handoff/tickets/{number}/transcript?{query}"

    def check(self, number: str, link: LinkQuery, now: dt.datetime) -> None:
        """Raise AuthError unless the link was signed by us, unchanged, and has not expired."""
        if not self.secret:
            raise AuthError("transcript links are not configured (LINK_SECRET)")
        if not (link.staff and link.sig and link.expires.isdigit() and len(link.expires) <= 12):
            raise AuthError("transcript link incomplete")
        expected = self.signature(number.upper(), link.staff, link.expires)
        if not hmac.compare_digest(expected.encode(), link.sig.encode()):
            raise AuthError("transcript link signature does not match")
        if int(link.expires) <= now.timestamp():
            raise AuthError("transcript link expired")

    def personal(self, card: Card, staff: str, now: dt.datetime) -> Card:
        """The card with every transcript placeholder replaced by the link signed for `staff`."""
        if _PLACEHOLDER not in card.text:
            return card
        return replace(card, text=_PLACEHOLDER_RE.sub(lambda m: self.url(m.group(1), staff, now), card.text))


def placeholder(number: str) -> str:
    """Stands for ticket `number`'s transcript link in a card until it is sent to one person."""
    return f"{_PLACEHOLDER}{number}"


async def open_transcript(
    sessions: async_sessionmaker[AsyncSession],
    links: TranscriptLinks,
    number: str,
    link: LinkQuery,
    *,
    now: dt.datetime,
    on_roster: bool,
    address: str | None = None,
) -> Opened:
    """Check the link, log the opening and return the transcript masked; AuthError for any refused link."""
    links.check(number, link, now)
    if not on_roster:
        raise AuthError("transcript link for someone no longer on the roster")
    async with unit_of_work(sessions) as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number.upper()))
        if ticket is None:
            raise AuthError("transcript link for an unknown ticket")
        session.add(
            LinkOpening(ticket_id=ticket.id, staff=link.staff[:64], opened_at=now, masked=True, address=address)
        )
        messages = list(
            await session.scalars(
                select(Message).where(Message.conversation_id == ticket.conversation_id).order_by(Message.id)
            )
        )
        names = await conversation_names(session, ticket.conversation_id)
    return Opened(ticket, messages, [mask_text(m.text or "", names) for m in messages])


async def conversation_names(session: AsyncSession, conversation_id: str) -> list[str]:
    """The names masking must hide in a conversation: its cases' parties and the resident's own name."""
    cases = await session.scalars(select(Case).where(Case.conversation_id == conversation_id))
    names = [n for case in cases for n in known_names(case.facts)]
    resident = await session.scalar(
        select(Resident.name)
        .join(Conversation, Conversation.resident_id == Resident.id)
        .where(Conversation.id == conversation_id)
    )
    return [*names, *known_names({}, resident)]
