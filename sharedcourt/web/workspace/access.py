"""Who a signed-in person is on the duty roster, and which tickets their grants let them see and act on.

A person's roster identities are the duty roster rows naming their account (`duty_roster.account_id`) and the
roster entry of their own DingTalk id (the sample roster file has no account column). Their scope is every scope
in which they hold mediator, judge or dispatcher (an admin: everywhere). A ticket is theirs to see when it is
offered to or held by one of their identities, or its site (or that site's county) is in their scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.staff import RosterEntry, StaffAccount
from sharedcourt.db.ticket import Ticket
from sharedcourt.handoff.staff_routing import Roster, Staffer
from sharedcourt.staff.roles import Caller

DESK_ROLES = ("mediator", "judge", "dispatcher")
NOT_ON_ROSTER = "您的账号没有关联值班名单，只能查看，不能接单或回复。请联系管理员在值班表中填写您的账号。"
OUT_OF_SCOPE = "这张工单不在您的负责范围内。"


async def roster_keys(session: AsyncSession, account_id: int, roster: Roster) -> tuple[str, ...]:
    """The roster ids of this account: rows naming it, then the entry of its own DingTalk id; only ids on duty."""
    keys = list(await session.scalars(select(RosterEntry.key).where(RosterEntry.account_id == account_id)))
    own = await session.scalar(select(StaffAccount.dingtalk_user_id).where(StaffAccount.id == account_id))
    person = roster.by_dingtalk.get(own) if own else None
    if person is not None:
        keys.append(person.id)
    return tuple(k for k in dict.fromkeys(keys) if k in roster.by_id)


@dataclass(frozen=True)
class Desk:
    """The signed-in person at the workspace: their roster identities and scopes."""

    caller: Caller
    keys: tuple[str, ...]
    scopes: frozenset[str]
    roster: Roster

    @classmethod
    async def of(cls, session: AsyncSession, caller: Caller, roster: Roster) -> Desk:
        """The desk of `caller` over the service's current roster."""
        scopes = frozenset(s for role in DESK_ROLES for s in caller.scopes_for(role))
        return cls(caller, await roster_keys(session, caller.account_id, roster), scopes, roster)

    @property
    def everywhere(self) -> bool:
        """An admin, or a grant without scope."""
        return "" in self.scopes

    def county_of(self, site_code: str | None) -> str:
        """The county of a ticket's site as the roster knows it."""
        return self.roster.site(site_code).county

    def in_scope(self, site_code: str | None) -> bool:
        """Whether a site is within this person's grants (the site's key or its county)."""
        return self.everywhere or bool({site_code or "", self.county_of(site_code)} & self.scopes)

    def may_see(self, ticket: Ticket) -> bool:
        """Offered to or held by one of their identities, or within their scope."""
        mine = {ticket.assignee, ticket.holder} & set(self.keys)
        return bool(mine) or self.in_scope(ticket.site_code)

    def acting_key(self, ticket: Ticket) -> str | None:
        """Which of their roster identities acts on this ticket: the holder or offeree, else one at its site."""
        for key in (ticket.holder, ticket.assignee):
            if key in self.keys:
                return key
        site = self.roster.site(ticket.site_code).code
        at_site = [k for k in self.keys if self.roster.by_id[k].site == site]
        chosen = at_site or list(self.keys)
        return chosen[0] if chosen else None

    def colleagues(self, ticket: Ticket, me: str | None) -> Sequence[Staffer]:
        """People a ticket may be transferred to by name: the site's roster, without the person acting."""
        return [p for p in self.roster.site(ticket.site_code).staff if p.id != me]
