"""What a signed-in person may see in transcript review: their role grants turned into a search scope.

admin and auditor: everything. dispatcher, judge, mediator: the conversations with a case or ticket at the sites
(site keys) or in the counties (county codes) of their grants. lawyer: the conversations handed to them, i.e. with
a ticket held by them (their login name, or a duty roster entry linked to their account). Several grants add up.
Only the auditor's own grants never allow a reveal (`can_reveal`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.conversation import Conversation
from sharedcourt.db.staff import RosterEntry
from sharedcourt.review.search import SearchQuery, scope_clause
from sharedcourt.staff.roles import ADMIN, AUDITOR, Caller, Grant
from sharedcourt.staff.scopes import county_codes

PLACE_ROLES = ("dispatcher", "judge", "mediator")
LAWYER = "lawyer"


@dataclass(frozen=True)
class Visibility:
    """The conversations a set of grants opens: everything, or these sites, counties and ticket holders."""

    everything: bool = False
    sites: frozenset[str] = frozenset()
    counties: frozenset[str] = frozenset()
    holders: frozenset[str] = frozenset()

    def restrict(self, query: SearchQuery) -> SearchQuery:
        """``query`` limited to what this visibility opens."""
        if self.everything:
            return dataclasses.replace(query, scope_sites=None, scope_counties=None, scope_holders=None)
        return dataclasses.replace(
            query, scope_sites=self.sites, scope_counties=self.counties, scope_holders=self.holders
        )


async def _holder_keys(session: AsyncSession, caller: Caller) -> frozenset[str]:
    """How tickets name this person as holder: their login name and their duty roster keys."""
    keys = await session.scalars(select(RosterEntry.key).where(RosterEntry.account_id == caller.account_id))
    return frozenset({caller.username, *keys})


async def visibility_of(session: AsyncSession, caller: Caller, grants: Iterable[Grant] | None = None) -> Visibility:
    """What ``grants`` (by default all the caller's) open to the caller."""
    held = tuple(caller.grants if grants is None else grants)
    if any(g.role in (ADMIN, AUDITOR) for g in held):
        return Visibility(everything=True)
    counties = county_codes()
    places = [g.scope for g in held if g.role in PLACE_ROLES and g.scope]
    holders = await _holder_keys(session, caller) if any(g.role == LAWYER for g in held) else frozenset()
    return Visibility(
        sites=frozenset(p for p in places if p not in counties),
        counties=frozenset(p for p in places if p in counties),
        holders=holders,
    )


async def reveal_visibility(session: AsyncSession, caller: Caller) -> Visibility:
    """What the caller may reveal in: every grant but the auditor's (auditors read, they never reveal)."""
    return await visibility_of(session, caller, [g for g in caller.grants if g.role != AUDITOR])


async def can_see(session: AsyncSession, visibility: Visibility, conversation_id: str) -> bool:
    """Whether the conversation exists and ``visibility`` opens it."""
    where = [Conversation.id == conversation_id]
    clause = scope_clause(visibility.restrict(SearchQuery()))
    if clause is not None:
        where.append(clause)
    found = await session.scalar(select(Conversation.id).where(*where))
    return found is not None
