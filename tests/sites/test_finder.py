"""Site finding without a database: which place the resident means, the next question."""

from __future__ import annotations

import pytest

from sharedcourt.db.conversation import Resident
from sharedcourt.sites import finder, places
from sharedcourt.sites.finder import Heard, PlaceQuestion
from sharedcourt.sites.registry import Location
from sharedcourt.sites.served import ALL_CITIES

VILLAGE = "330802005001"  # 柯城区新新街道金桂社区
TOWN = "330802005"


def test_no_place_known_asks_the_county() -> None:
    asked = finder.where(Heard("c1", "共享法庭在哪", intent="find_site"), None, None)
    assert isinstance(asked, PlaceQuestion) and "哪个县" in asked.question
    assert len(asked.places) == 6 and asked.accept is None and asked.within is None


def test_a_town_asks_the_village_and_can_be_accepted() -> None:
    asked = finder.where(Heard("c1", "柯城区新新街道", intent="find_site"), None, None)
    assert isinstance(asked, PlaceQuestion) and "哪个村" in asked.question
    assert asked.accept is not None and asked.accept.code == TOWN and asked.within == TOWN
    accepted = finder.where(
        Heard("c1", "/choose_place", intent="choose_place", choice=TOWN + finder.ACCEPT), None, None
    )
    assert accepted == Location(place_code=TOWN)


def test_a_village_is_remembered_as_the_residents_place() -> None:
    resident = Resident(channel="webchat", channel_user_id="u1")
    found = finder.where(Heard("c1", "/choose_place", intent="choose_place", choice=VILLAGE), None, resident)
    assert found == Location(place_code=VILLAGE) and resident.place_code == VILLAGE
    # Next time the place is known; "按地址找其他共享法庭" asks again.
    assert finder.where(Heard("c1", "共享法庭在哪", intent="find_site"), None, resident) == Location(VILLAGE)
    again = finder.where(Heard("c1", "/find_site_elsewhere", intent="find_site_elsewhere"), None, resident)
    assert isinstance(again, PlaceQuestion)


def test_the_site_the_resident_chose_comes_with_where_they_are() -> None:
    scanned = Resident(channel="wechat", channel_user_id="u1", site_code="FY330802", place_code=VILLAGE)
    found = finder.where(Heard("c1", "共享法庭在哪", intent="find_site"), None, scanned)
    assert found == Location(place_code=VILLAGE, site_code="FY330802")
    # Only a QR code scanned (no place known yet) is enough to answer without asking.
    only = Resident(channel="wechat", channel_user_id="u2", site_code="GX330802005")
    assert finder.where(Heard("c1", "共享法庭在哪", intent="find_site"), None, only) == Location(
        site_code="GX330802005"
    )
    # Naming a place, or "按地址找其他共享法庭", looks beyond the chosen site.
    named = finder.where(Heard("c1", "/choose_place", intent="choose_place", choice=VILLAGE), None, only)
    assert named == Location(place_code=VILLAGE)
    again = finder.where(Heard("c1", "/find_site_elsewhere", intent="find_site_elsewhere"), None, only)
    assert isinstance(again, PlaceQuestion)


def test_an_unknown_answer_within_a_town_asks_its_villages_again() -> None:
    heard = Heard("c1", "不太清楚", slots={finder.PLACE: TOWN, finder.STAGE: "place"})
    asked = finder.where(heard, None, None)
    assert isinstance(asked, PlaceQuestion) and "哪个村" in asked.question and asked.within == TOWN


@pytest.fixture
def province(monkeypatch: pytest.MonkeyPatch) -> None:
    # A deployment serving the whole province (SERVED_CITIES=33).
    monkeypatch.setattr(places, "served_cities", lambda: ALL_CITIES)


@pytest.mark.usefixtures("province")
def test_province_deployment_asks_the_city_then_the_county() -> None:
    asked = finder.where(Heard("c1", "共享法庭在哪", intent="find_site"), None, None)
    assert isinstance(asked, PlaceQuestion) and asked.question == "请问您在哪个市？" and len(asked.places) == 11
    city = finder.where(Heard("c1", "/choose_place", intent="choose_place", choice="3301"), None, None)
    assert isinstance(city, PlaceQuestion) and city.question == "您在杭州市的哪个县（市、区）？"
    assert {p.level for p in city.places} == {"county"} and city.within == "3301"


@pytest.mark.usefixtures("province")
def test_same_name_villages_put_the_residents_city_first() -> None:
    resident = Resident(channel="webchat", channel_user_id="u1", place_code="330602")  # 越城区, 绍兴
    asked = finder.where(Heard("c1", "新村", intent="find_site"), None, resident)
    assert isinstance(asked, PlaceQuestion) and asked.places[0].name == "绍兴市"
    # Known only by a WeChat location near 义乌 (no place code): 金华 first.
    located = Resident(channel="wechat", channel_user_id="u2", latitude=29.31, longitude=120.08)
    asked = finder.where(Heard("c1", "新村", intent="find_site"), None, located)
    assert isinstance(asked, PlaceQuestion) and asked.places[0].name == "金华市"
