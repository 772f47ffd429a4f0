"""The handoff routes over the database's duty roster once it has rows: seeded from the sample, changed by an
import, refused (the previous roster kept) when a routing rule's site is missing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, update

from sharedcourt.db.staff import RosterEntry
from sharedcourt.errors import ConfigError
from sharedcourt.handoff import roster_source
from sharedcourt.handoff.staff_routing import Roster, RouteRequest, Routing, load_default
from sharedcourt.staff.roster_csv import seed

MONDAY_10 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@dataclass
class Service:
    routing: Routing
    roster: Roster


def _service() -> Service:
    routing = load_default()
    return Service(routing, routing.roster)


def _chain(service: Service) -> list[str]:
    return [p.id for p in service.routing.route(RouteRequest(dispute_code="neighbor"), MONDAY_10).chain]


async def _seeded(sessions: Any) -> None:
    async with sessions() as session, session.begin():
        assert await seed(session) is not None


async def test_an_empty_table_keeps_the_file(sessions: Any) -> None:
    service = _service()
    before = service.roster
    assert await roster_source.refresh(service, sessions) is False
    assert service.roster is before and service.routing.roster is before


async def test_the_seeded_table_routes_like_the_file(sessions: Any) -> None:
    service = _service()
    from_file = _chain(service)
    await _seeded(sessions)
    assert await roster_source.refresh(service, sessions) is True
    assert service.roster is service.routing.roster
    assert _chain(service) == from_file
    assert service.roster.default_site == "GX330802009"
    assert service.roster.find("demo-baiyun-director") is not None  # DingTalk ids still find people


async def test_a_deactivated_person_is_no_longer_offered_work(sessions: Any) -> None:
    service = _service()
    await _seeded(sessions)
    async with sessions() as session, session.begin():
        await session.execute(update(RosterEntry).where(RosterEntry.key == "baiyun-director").values(active=False))
    await roster_source.refresh(service, sessions)
    chain = _chain(service)
    assert "baiyun-director" not in chain and chain, chain


async def test_a_roster_without_a_rules_site_is_refused_and_the_old_one_kept(sessions: Any) -> None:
    service = _service()
    await _seeded(sessions)
    await roster_source.refresh(service, sessions)
    kept = service.roster
    ruled = sorted({r.site for r in service.routing.rules if r.site != "resident"})
    assert ruled, "the sample rules name at least one fixed site"
    async with sessions() as session, session.begin():
        await session.execute(delete(RosterEntry).where(RosterEntry.site_code == ruled[0]))
    with pytest.raises(ConfigError, match=ruled[0]):
        await roster_source.refresh(service, sessions)
    assert service.roster is kept and service.routing.roster is kept


def test_roster_data_orders_by_position_and_takes_one_dispatch_post_per_county() -> None:
    rows = [
        RosterEntry(key="b", site_code="S1", site_name="一", county="330802", role="mediator", name="乙", position=2),
        RosterEntry(key="a", site_code="S1", site_name="一", county="330802", role="director", name="甲", position=1),
        RosterEntry(key="d1", site_code="", county="330802", role="dispatch", name="中心", position=3),
        RosterEntry(key="d2", site_code="", county="330802", role="dispatch", name="中心二", position=4),
        RosterEntry(key="x", site_code="S2", site_name="二", county="330803", role="mediator", name="丙", active=False),
    ]
    for row in rows:
        row.active = row.active is not False
    data = roster_source.roster_data(rows, default_site="S9")
    assert [p["id"] for p in data["sites"]["S1"]["staff"]] == ["a", "b"]
    assert list(data["sites"]) == ["S1"] and data["default_site"] == "S1"
    assert data["dispatch_centres"]["330802"]["id"] == "d1"
