"""Site records: the JSON of a staff member in the CSV `staff` column, and the records read from the database."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.site import Site, SiteStaff
from sharedcourt.sites.records import StaffRecord, load_records


def test_staff_record_json() -> None:
    s = StaffRecord("王", "mediator", 3, "", None)
    assert s.to_json() == {"name": "王", "role": "mediator", "capacity": 3}


async def test_load_records_reads_sites_and_their_active_staff(sessions: async_sessionmaker[AsyncSession]) -> None:
    hours = {"mon": ["09:00-11:00"], "sat": ["08:00-12:00"]}
    async with sessions() as session:
        for code, active in (("T-LOAD-1", True), ("T-LOAD-2", True), ("T-LOAD-OFF", False)):
            session.add(
                Site(
                    code=code,
                    name=f"{code}共享法庭",
                    level="special",
                    place_code="330802",
                    latitude=28.97,
                    longitude=118.87,
                    opening_hours=hours,
                    dispute_types=["labor", "debt"],
                    phone="0570-1234567",
                    active=active,
                )
            )
        await session.flush()
        session.add_all(
            [
                SiteStaff(site_code="T-LOAD-1", name="甲", role="mediator", capacity=2, dingtalk_user_id="dt-1"),
                SiteStaff(site_code="T-LOAD-1", name="乙", role="judge", active=False),
                SiteStaff(site_code="T-LOAD-1", name="丙", role="director", phone="13800000000"),
            ]
        )
        await session.commit()

    async with sessions() as session:
        every = {r.code: r for r in await load_records(session)}
        active = {r.code for r in await load_records(session, active_only=True)}
    first, second = every["T-LOAD-1"], every["T-LOAD-2"]
    assert "T-LOAD-OFF" in every and not every["T-LOAD-OFF"].active and "T-LOAD-OFF" not in active
    assert {"T-LOAD-1", "T-LOAD-2"} <= active
    assert (first.name, first.level, first.place_code, first.lat, first.lon, first.phone) == (
        "T-LOAD-1共享法庭",
        "special",
        "330802",
        28.97,
        118.87,
        "0570-1234567",
    )
    assert first.opening_hours == hours and first.dispute_types == ("labor", "debt")
    assert first.staff == (
        StaffRecord("甲", "mediator", 2, "", "dt-1"),
        StaffRecord("丙", "director", 1, "13800000000", None),
    )
    assert second.staff == ()
    # Records parsed from the same text never share the lists of their opening hours.
    first.opening_hours["mon"].append("14:00-17:00")
    assert second.opening_hours == hours
