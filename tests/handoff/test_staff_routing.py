"""Routing rules (sharedcourt/data/routing.yml) over the sample duty roster (sharedcourt/data/roster.yml)."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from sharedcourt.domain.clock import TZ
from sharedcourt.domain.holidays import HolidayCalendar
from sharedcourt.errors import ConfigError
from sharedcourt.handoff.staff_routing import (
    ROSTER_FILE,
    ROUTING_FILE,
    Roster,
    RouteRequest,
    Routing,
    Schedule,
    load_default,
    when_zh,
)

MONDAY_10 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=TZ)  # a Monday, in office hours
MONDAY_13 = dt.datetime(2026, 11, 30, 13, 0, tzinfo=TZ)  # lunch break: only the dispatch centre is on duty
SATURDAY_22 = dt.datetime(2026, 12, 5, 22, 0, tzinfo=TZ)
GENERAL_CHAIN = ["baiyun-director", "baiyun-mediator-1", "baiyun-mediator-2", "kecheng-dispatch"]


@pytest.fixture(scope="module")
def routing() -> Routing:
    return load_default()


def roles(route: object) -> list[str]:
    return [p.role for p in route.chain]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("request_", "rule", "first_role", "site"),
    [
        (RouteRequest(dispute_code="neighbor"), "general", "director", "GX330802009"),
        (RouteRequest(dispute_code="family"), "family", "family_mediator", "GX330802009"),
        (RouteRequest(dispute_code="traffic"), "police", "police", "GX330802009"),
        (RouteRequest(dispute_code="criminal"), "police", "police", "GX330802009"),
        (RouteRequest(dispute_code="environment"), "environment", "mediator", "TS330824ENV"),
        (RouteRequest(dispute_code="finance"), "finance", "mediator", "TS3308FIN"),
        (RouteRequest(dispute_code="consumer"), "consumer", "mediator", "TS3308CON"),
        (RouteRequest(dispute_code="enforcement"), "enforcement", "judge", "GX330802009"),
        (RouteRequest(dispute_code="debt", text="我已经去法院起诉了"), "litigation", "judge", "GX330802009"),
        (RouteRequest(dispute_code="debt", litigation=True), "litigation", "judge", "GX330802009"),
        (RouteRequest(dispute_code="debt", amount=300000), "complex", "mediator", "GX330802009"),
        (RouteRequest(dispute_code="debt", amount=5000), "general", "director", "GX330802009"),
        (RouteRequest(legal_question=True), "legal_question", "lawyer", "GX330802009"),
        (RouteRequest(), "general", "director", "GX330802009"),
    ],
)
def test_rules_follow_the_shared_court_practice(
    routing: Routing, request_: RouteRequest, rule: str, first_role: str, site: str
) -> None:
    route = routing.route(request_, MONDAY_10)
    assert route.rule.name == rule
    assert route.site.code == site
    assert route.chain[0].role == first_role
    assert route.chain[-1].role == "dispatch", "every chain ends at the county dispatch centre"
    assert not route.callback


def test_litigation_outranks_the_type(routing: Routing) -> None:
    # A family case that is already in court goes to the paired judge, not to the family mediators.
    route = routing.route(RouteRequest(dispute_code="family", text="对方已经起诉离婚，下周开庭"), MONDAY_10)
    assert route.rule.name == "litigation"


def test_complex_case_names_the_guiding_judge(routing: Routing) -> None:
    route = routing.route(RouteRequest(dispute_code="contract", amount=100000), MONDAY_10)
    assert route.rule.mode == "指导调"
    assert [p.role for p in route.guidance] == ["judge"]


def test_general_chain_is_director_then_mediators_then_dispatch(routing: Routing) -> None:
    route = routing.route(RouteRequest(dispute_code="neighbor"), MONDAY_10)
    assert [p.id for p in route.chain] == GENERAL_CHAIN


def test_unknown_site_falls_back_to_the_default_roster(routing: Routing) -> None:
    route = routing.route(RouteRequest(site_code="GX999999999"), MONDAY_10)
    assert route.site.code == routing.roster.default_site


def test_lunch_break_leaves_only_the_dispatch_centre(routing: Routing) -> None:
    assert roles(routing.route(RouteRequest(dispute_code="neighbor"), MONDAY_13)) == ["dispatch"]


def test_out_of_hours_is_a_callback_with_a_time(routing: Routing) -> None:
    route = routing.route(RouteRequest(dispute_code="neighbor"), SATURDAY_22)
    assert route.callback
    assert route.callback_to is not None and route.callback_to.id == "baiyun-director"
    assert route.callback_after == dt.datetime(2026, 12, 7, 8, 30, tzinfo=TZ)
    assert when_zh(route.callback_after, SATURDAY_22) == "周一（12月7日）08:30"


def test_schedule_description_and_edges() -> None:
    office = Schedule.parse({d: ["08:30-12:00", "14:00-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")})
    assert office.describe() == "周一至周五 08:30-12:00、14:00-17:30"
    assert office.on_duty(dt.datetime(2026, 11, 30, 8, 30, tzinfo=TZ))
    assert not office.on_duty(dt.datetime(2026, 11, 30, 12, 0, tzinfo=TZ))
    assert office.next_start(dt.datetime(2026, 11, 30, 12, 0, tzinfo=TZ)) == dt.datetime(2026, 11, 30, 14, 0, tzinfo=TZ)


def test_bad_config_is_refused(tmp_path: object) -> None:
    with pytest.raises(ConfigError):
        Roster.from_dict(
            {"sites": {"A": {"name": "a", "staff": [{"id": "x", "name": "x", "role": "mediator", "hours": "nope"}]}}}
        )
    roster = Roster.load()
    with pytest.raises(ConfigError):
        Routing([], roster, complex_amount=1, litigation_keywords=[])


# Public holidays and 调休 from sharedcourt/data/holidays.yml: 国庆节 2026-10-01..07, 调休 Saturday 2026-10-10.
NATIONAL_DAY_MONDAY_10 = dt.datetime(2026, 10, 5, 10, 0, tzinfo=TZ)
MAKEUP_SATURDAY = dt.date(2026, 10, 10)
OFFICE = {d: ["08:30-12:00", "14:00-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")}


def test_the_calendar_file_has_the_dates_these_tests_use() -> None:
    calendar = HolidayCalendar.load()
    national_day = [dt.date(2026, 10, d) for d in range(1, 8)]
    assert all(calendar.holiday(day) == "国庆节" for day in national_day)
    assert calendar.holiday(dt.date(2026, 10, 8)) is None
    assert calendar.is_makeup_workday(MAKEUP_SATURDAY) and MAKEUP_SATURDAY.weekday() == 5


def test_nobody_with_office_hours_is_on_duty_on_a_public_holiday() -> None:
    office = Schedule.parse(OFFICE)
    for day in range(1, 8):
        assert not office.on_duty(dt.datetime(2026, 10, day, 10, 0, tzinfo=TZ)), day
    assert office.on_duty(dt.datetime(2026, 10, 8, 10, 0, tzinfo=TZ)), "the first working day after 国庆"
    # Before the holiday ends, the next start is the first working morning after it.
    assert office.next_start(dt.datetime(2026, 9, 30, 18, 0, tzinfo=TZ)) == dt.datetime(2026, 10, 8, 8, 30, tzinfo=TZ)


def test_a_makeup_saturday_runs_on_weekday_hours() -> None:
    office = Schedule.parse(OFFICE)
    assert office.on_duty(dt.datetime(2026, 10, 10, 10, 0, tzinfo=TZ))
    assert not office.on_duty(dt.datetime(2026, 10, 10, 13, 0, tzinfo=TZ)), "the lunch break still holds"
    assert not office.on_duty(dt.datetime(2026, 10, 17, 10, 0, tzinfo=TZ)), "an ordinary Saturday is off"
    # Friday evening after 国庆: the next start is the 调休 Saturday morning, not Monday.
    assert office.next_start(dt.datetime(2026, 10, 9, 18, 0, tzinfo=TZ)) == dt.datetime(2026, 10, 10, 8, 30, tzinfo=TZ)


def test_a_weekend_schedule_keeps_its_own_hours_on_a_makeup_day_and_rests_on_a_holiday() -> None:
    dispatch = Schedule.parse({**{d: ["08:00-20:00"] for d in OFFICE}, "sat": ["08:30-17:30"], "sun": ["08:30-17:30"]})
    assert dispatch.on_duty(dt.datetime(2026, 10, 10, 9, 0, tzinfo=TZ))
    assert not dispatch.on_duty(dt.datetime(2026, 10, 10, 8, 15, tzinfo=TZ)), "Saturday's own hours, as booking"
    assert not dispatch.on_duty(dt.datetime(2026, 10, 3, 10, 0, tzinfo=TZ)), "a Saturday inside 国庆"


def test_a_national_day_request_is_a_callback_after_the_holiday(routing: Routing) -> None:
    route = routing.route(RouteRequest(dispute_code="neighbor"), NATIONAL_DAY_MONDAY_10)
    assert route.callback and route.chain == ()
    assert route.callback_to is not None and route.callback_to.id == "baiyun-director"
    assert route.callback_after == dt.datetime(2026, 10, 8, 8, 30, tzinfo=TZ)


def test_a_makeup_saturday_request_goes_to_the_site_people(routing: Routing) -> None:
    saturday_10 = dt.datetime(2026, 10, 10, 10, 0, tzinfo=TZ)
    route = routing.route(RouteRequest(dispute_code="neighbor"), saturday_10)
    assert [p.id for p in route.chain] == GENERAL_CHAIN
    ordinary = routing.route(RouteRequest(dispute_code="neighbor"), saturday_10 + dt.timedelta(days=7))
    assert roles(ordinary) == ["dispatch"]


def test_holiday_hours_keep_a_post_on_duty_on_public_holidays_only() -> None:
    staffed = Schedule.parse({**OFFICE, "holiday": ["09:00-17:00"]})
    assert staffed.on_duty(dt.datetime(2026, 10, 5, 10, 0, tzinfo=TZ))
    assert not staffed.on_duty(dt.datetime(2026, 10, 5, 8, 45, tzinfo=TZ)), "holiday hours, not Monday's"
    assert not staffed.on_duty(dt.datetime(2026, 10, 17, 10, 0, tzinfo=TZ)), "an ordinary Saturday stays off"
    with pytest.raises(ConfigError):
        Schedule.parse({"holidays": ["09:00-17:00"]})


def _roster_with_xihu_dispatch() -> Roster:
    data = yaml.safe_load(ROSTER_FILE.read_text(encoding="utf-8"))
    data["dispatch_centres"]["330106"] = {
        "id": "xihu-dispatch",
        "name": "西湖区矛调中心指挥中心值班员",
        "role": "dispatch",
        "dingtalk": "demo-xihu-dispatch",
        "hours": "dispatch",
    }
    return Roster.from_dict(data)


def test_another_citys_resident_goes_to_their_own_county_dispatch_centre() -> None:
    routing = Routing.load(ROUTING_FILE, _roster_with_xihu_dispatch())
    # A 西湖区 village site (Hangzhou) with no roster: its county's dispatch centre, never a Quzhou site's people.
    for request in (
        RouteRequest(dispute_code="neighbor", site_code="GX330106001001"),
        RouteRequest(dispute_code="finance", site_code="GX330106001001"),
        RouteRequest(dispute_code="family", site_code="FY330106"),
    ):
        route = routing.route(request, MONDAY_10)
        assert route.site.county == "330106"
        assert [p.id for p in route.chain] == ["xihu-dispatch"]


def test_another_city_without_a_dispatch_centre_gets_a_callback_from_nobody_in_quzhou(routing: Routing) -> None:
    route = routing.route(RouteRequest(dispute_code="finance", site_code="GX330212001001"), MONDAY_10)
    assert route.site.county == "330212" and route.site.staff == ()
    assert route.chain == () and route.callback_to is None


def test_a_quzhou_site_without_a_roster_still_uses_the_default_site(routing: Routing) -> None:
    route = routing.route(RouteRequest(dispute_code="neighbor", site_code="GX330881100201"), MONDAY_10)
    assert route.site.code == routing.roster.default_site
