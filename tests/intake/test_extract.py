"""Facts found anywhere in a free-text message."""

from __future__ import annotations

import datetime as dt

from sharedcourt.intake.extract import extract

TODAY = dt.date(2026, 11, 29)  # a Sunday


def test_extract_finds_money_date_phone_place_and_type_facts() -> None:
    facts = extract("去年十月在江山贺村镇借给他3.5万 没有借条 电话13812345678", TODAY)
    assert facts["amount_yuan"] == 35000
    assert facts["incident_date"] == "2025-10-01"
    assert facts["phone"] == "13812345678"
    assert facts["place_code"] == "330881121" and facts["place_name"] == "江山市贺村镇"
    assert facts["iou"] == "没有"


def test_extract_months_unpaid_is_not_a_date_or_money() -> None:
    facts = extract("老板拖欠我三个月工资两万三一直不给", TODAY)
    assert facts == {"amount_yuan": 23000, "months_unpaid": 3}


def test_extract_judgment_details_and_estate() -> None:
    facts = extract("柯城区人民法院判了（2024）浙0802民初123号 他就是不给钱", TODAY)
    assert facts["judgment_case_number"] == "（2024）浙0802民初123号"
    assert facts["judgment_court"].endswith("人民法院")
    assert extract("我住阳光花园小区 物业乱收费 二十多户都有意见", TODAY)["households"] == 20


def test_a_case_number_is_not_money() -> None:
    facts = extract("法院判了他还钱 可他就是不给 案号（2024）浙0802民初123号", TODAY)
    assert "amount_yuan" not in facts and "incident_date" not in facts
    assert facts["judgment_case_number"] == "（2024）浙0802民初123号"
