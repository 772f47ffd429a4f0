"""Every fact of one message at once, and the warm-up."""

from __future__ import annotations

from datetime import date

from sharedcourt.domain.values.facts import extract_facts

TODAY = date(2026, 11, 29)  # a Sunday

# Valid IDs (checksums computed by hand with ISO 7064 MOD 11-2).
ID_QUZHOU = "330802199001011232"
ID_QUZHOU_2 = "330802198503150027"


def test_extract_facts_date_is_not_amount() -> None:
    assert extract_facts("5月6号借了他两万", TODAY) == {"amount_yuan": 20000, "incident_date": "2026-05-06"}


def test_extract_facts_everything() -> None:
    text = f"我叫张三电话13812345678身份证{ID_QUZHOU}去年十月借给李四3万块钱到现在没还"
    assert extract_facts(text, TODAY) == {
        "amount_yuan": 30000,
        "incident_date": "2025-10-01",
        "phone": "13812345678",
        "id_number": ID_QUZHOU,
    }


def test_extract_facts_approximate_and_fraction() -> None:
    assert extract_facts("他上周三打了我，医药费花了两千多", TODAY) == {
        "amount_yuan": 2000,
        "amount_approximate": True,
        "incident_date": "2026-11-18",
    }
    assert extract_facts("两块五", TODAY) == {"amount_yuan": "2.50"}


def test_extract_facts_compact_dates_are_not_amounts() -> None:
    assert extract_facts("借款日期20230506，金额两万", TODAY) == {"amount_yuan": 20000, "incident_date": "2023-05-06"}
    assert extract_facts("欠款时间2023.5.6，两万", TODAY) == {"amount_yuan": 20000, "incident_date": "2023-05-06"}


def test_extract_facts_future_date_dropped() -> None:
    assert extract_facts("下周一还我五千", TODAY) == {"amount_yuan": 5000}


def test_extract_facts_phone_and_id_are_not_amounts_or_dates() -> None:
    assert extract_facts(f"13812345678 {ID_QUZHOU_2}", TODAY) == {"phone": "13812345678", "id_number": ID_QUZHOU_2}
    assert extract_facts("0570-8123456", TODAY) == {"phone": "0570-8123456"}


def test_extract_facts_nothing() -> None:
    assert extract_facts("我想咨询离婚的事", TODAY) == {}
