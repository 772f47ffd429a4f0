"""The Official Account menu and the `wechat-menu` command."""

from __future__ import annotations

import pytest
from stand_ins.wechat_harness import APPID, SECRET
from stand_ins.wechat_server import WeChatStandIn


async def test_menu_is_created_through_the_api(api: WeChatStandIn) -> None:
    from sharedcourt.channels.wechat.menu import menu
    from sharedcourt.clients.wechat import WeChatAPI

    await WeChatAPI(APPID, SECRET, api.base_url).create_menu(menu("https://court.example"))
    assert api.menu is not None
    names = [b["name"] for b in api.menu["button"]]
    assert names == ["我要调解", "我的案件", "更多服务"]
    keys = {s.get("key") for b in api.menu["button"] for s in [b, *b.get("sub_button", [])]}
    assert {"MEDIATION", "MY_CASE", "FIND_SITE", "LEGAL_EDUCATION", "HUMAN"} <= keys


def test_wechat_menu_command(
    api: WeChatStandIn, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sharedcourt.cli import main as cli

    for key, value in {"WECHAT_APPID": APPID, "WECHAT_SECRET": SECRET, "WECHAT_API_BASE": api.base_url}.items():
        monkeypatch.setenv(key, value)
    assert cli.main(["wechat-menu"]) == 0
    assert '"errcode": 0' in capsys.readouterr().out
    assert api.menu is not None and api.menu["button"][0]["key"] == "MEDIATION"
    api.fail_next("menu/create", 40016)
    assert cli.main(["wechat-menu"]) == 2
    assert "40016" in capsys.readouterr().err
