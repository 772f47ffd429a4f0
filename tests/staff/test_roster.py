"""The roster as data: hours parsed strictly, the sample YAML as rows, DingTalk/WeCom ids mapped to accounts."""

from __future__ import annotations

import json
from typing import Any

from sharedcourt.db.staff import RosterEntry
from sharedcourt.staff.accounts import create_account
from sharedcourt.staff.roster import COLUMNS, ROSTER_YAML, account_for_identity, parse_hours, rows_from_yaml


def test_hours_parse_and_every_bad_form_is_named() -> None:
    assert parse_hours('{"mon": ["08:30-12:00", "14:00-17:30"], "holiday": []}') == (
        {"mon": ["08:30-12:00", "14:00-17:30"], "holiday": []},
        "",
    )
    assert parse_hours("") == ({}, "")
    for text, why in [
        ("{", "JSON"),
        ("[]", "应为"),
        ('{"monday": []}', "不是星期"),
        ('{"mon": "08:30-12:00"}', "时段列表"),
        ('{"mon": ["8:30-12:00"]}', "HH:MM"),
        ('{"mon": ["12:00-08:30"]}', "开始早于结束"),
        ('{"mon": ["25:00-26:00"]}', "HH:MM"),
    ]:
        hours, problem = parse_hours(text)
        assert hours == {} and why in problem, text


def test_the_sample_yaml_becomes_rows_in_roster_order() -> None:
    rows = rows_from_yaml(ROSTER_YAML)
    keys = [r["key"] for r in rows]
    assert keys[0] == "baiyun-director" and keys[-2:] == ["kecheng-dispatch", "kaihua-dispatch"]
    assert len(keys) == len(set(keys)) == 15  # 7 at Baiyun, 2 at each of 3 special sites, 2 dispatch centres
    dispatch = rows[-1]
    assert dispatch["site_code"] == "" and dispatch["county"] == "330824" and dispatch["role"] == "dispatch"
    assert json.loads(dispatch["hours"])["sun"] == ["08:30-17:30"]
    assert json.loads(rows[0]["hours"])["mon"] == ["08:30-12:00", "14:00-17:30"]
    assert rows[0]["site_code"] == "GX330802009" and rows[0]["dingtalk"] == "demo-baiyun-director"


async def test_identities_map_to_accounts_directly_or_through_the_roster(sessions: Any) -> None:
    async with sessions() as session, session.begin():
        own = await create_account(session, "own", "Qz7!court-desk", dingtalk_user_id="ding-own")
        listed = await create_account(session, "listed", "Qz7!court-desk")
        session.add(
            RosterEntry(
                key="k1",
                site_code="GX330802009",
                county="330802",
                role="mediator",
                name="调解员",
                dingtalk_user_id="ding-listed",
                wecom_user_id="wecom-listed",
                account_id=listed.id,
            )
        )
        await session.flush()
        assert (await account_for_identity(session, dingtalk="ding-own")) is own
        assert (await account_for_identity(session, dingtalk="ding-listed")) is listed
        assert (await account_for_identity(session, wecom="wecom-listed")) is listed
        assert await account_for_identity(session, dingtalk="nobody") is None
        assert await account_for_identity(session) is None


def test_rows_carry_every_import_column() -> None:
    assert all(set(row) == set(COLUMNS) for row in rows_from_yaml())
