"""The Official Account menu: what `wechat-menu` creates and what each click key stands for."""

from __future__ import annotations

from typing import Any

# Menu keys -> the bot's own payloads (never taken from resident text).
MENU_PAYLOADS = {
    "MEDIATION": "/start_mediation",
    "MY_CASE": "/my_case",
    "FIND_SITE": "/find_site",
    "LEGAL_EDUCATION": "/legal_education",
    "HUMAN": "/request_human",
    "我要调解": "/start_mediation",
    "我的案件": "/my_case",
    "找法庭": "/find_site",
    "普法问答": "/legal_education",
    "人工服务": "/request_human",
}

# What a menu click is stored as (and what Rasa reads if the click has to wait out a Rasa outage).
MENU_NAMES = {
    "MEDIATION": "我要调解",
    "MY_CASE": "我的案件",
    "FIND_SITE": "找法庭",
    "LEGAL_EDUCATION": "普法问答",
    "HUMAN": "人工服务",
}


def menu(public_url: str) -> dict[str, Any]:
    """The Official Account menu `wechat-menu` creates (3 top buttons at most, 5 under each)."""
    return {
        "button": [
            {"type": "click", "name": "我要调解", "key": "MEDIATION"},
            {"type": "click", "name": "我的案件", "key": "MY_CASE"},
            {
                "name": "更多服务",
                "sub_button": [
                    {"type": "click", "name": "找法庭", "key": "FIND_SITE"},
                    {"type": "click", "name": "普法问答", "key": "LEGAL_EDUCATION"},
                    {"type": "click", "name": "人工服务", "key": "HUMAN"},
                    {"type": "view", "name": "网页咨询", "url": f"{public_url}/"},
                ],
            },
        ]
    }
