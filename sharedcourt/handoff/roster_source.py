"""Where the roster the handoff routes over comes from: the database's `duty_roster` once it has rows, else the
sample file (data/roster.yml or HANDOFF_ROSTER). `make roster-import` changes who is offered work within one
refresh interval (ROSTER_REFRESH_SECONDS), on every front door, without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.staff import RosterEntry
from sharedcourt.errors import ConfigError
from sharedcourt.handoff.staff_routing import Roster, Routing

log = logging.getLogger(__name__)


class RoutesOverARoster(Protocol):
    """What a roster swap changes: the service's own roster and its routing's."""

    routing: Routing
    roster: Roster


def _person(entry: RosterEntry) -> dict[str, Any]:
    return {
        "id": entry.key,
        "name": entry.name,
        "role": entry.role,
        "dingtalk": entry.dingtalk_user_id or entry.key,
        "hours": dict(entry.hours or {}),
    }


def roster_data(entries: Sequence[RosterEntry], default_site: str) -> dict[str, Any]:
    """The roster file's shape built from active rows in roster order (what Roster.from_dict reads)."""
    sites: dict[str, dict[str, Any]] = {}
    dispatch: dict[str, dict[str, Any]] = {}
    for entry in sorted((e for e in entries if e.active), key=lambda e: (e.position, e.key)):
        if not entry.site_code:
            dispatch.setdefault(entry.county, _person(entry))  # one post per county: the first in roster order
            continue
        site = sites.setdefault(entry.site_code, {"name": entry.site_name, "county": entry.county, "staff": []})
        site["staff"].append(_person(entry))
    chosen = default_site if default_site in sites else next(iter(sites), "")
    return {"sites": sites, "dispatch_centres": dispatch, "default_site": chosen}


async def roster_from_db(sessions: async_sessionmaker[AsyncSession], default_site: str) -> Roster | None:
    """The database's roster, or None while `duty_roster` has no active row (the file stays in use)."""
    async with sessions() as session:
        entries = list(await session.scalars(select(RosterEntry)))
    data = roster_data(entries, default_site)
    if not data["sites"]:
        return None
    return Roster.from_dict(data)


def swap(service: RoutesOverARoster, roster: Roster) -> None:
    """Route over `roster` from now on; refused (ConfigError, nothing changed) if a rule names a site it lacks."""
    missing = sorted({r.site for r in service.routing.rules if r.site != "resident" and r.site not in roster.sites})
    if missing:
        raise ConfigError(f"the roster lacks sites the routing rules name: {', '.join(missing)}")
    service.routing.roster = roster
    service.roster = roster


async def refresh(service: RoutesOverARoster, sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Load the database's roster into the service; False when the table is empty (the file stays in use)."""
    roster = await roster_from_db(sessions, service.roster.default_site)
    if roster is None:
        return False
    swap(service, roster)
    return True


async def refresh_loop(service: RoutesOverARoster, sessions: async_sessionmaker[AsyncSession], interval: float) -> None:
    """Refresh at once, then every `interval` seconds; a bad roster is logged and the previous one kept."""
    while True:
        try:
            await refresh(service, sessions)
        except ConfigError as exc:
            log.error("duty roster in the database not used, the previous one stays: %s", exc)
        except Exception:
            log.exception("duty roster refresh failed")
        await asyncio.sleep(interval)
