"""Mediator commands only as the whole message, after the "#" marker or from a card button; every other text a
person writes after 接单 reaches the resident as their words."""

from __future__ import annotations

import pytest
from stand_ins.handoff_world import World, requested

from sharedcourt.handoff.relay import Command, parse_command
from sharedcourt.handoff.texts import HELP, UNKNOWN_COMMAND


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("接单", Command("接单", None, "")),
        ("接单 T00012", Command("接单", "T00012", "")),
        ("接单t00012", Command("接单", "T00012", "")),
        ("  抢单！ ", Command("抢单", None, "！")),
        ("交还", Command("交还", None, "")),
        ("交还。", Command("交还", None, "。")),
        ("交还 T00003", Command("交还", "T00003", "")),
        ("帮助", Command("帮助", None, "")),
        ("转交 法官", Command("转交", None, "法官")),
        ("转交给法官。", Command("转交", None, "法官")),
        ("转交 法官 T00001", Command("转交", "T00001", "法官")),
        ("转交 baiyun-judge", Command("转交", None, "baiyun-judge")),
        ("结束", Command("结束", None, "")),
        ("结束 调解成功 双方同意分期还款", Command("结束", None, "调解成功 双方同意分期还款")),
        ("结束调解成功", Command("结束", None, "调解成功")),
        ("结束 搞定了", Command("结束", None, "搞定了")),
        # The marker makes anything after the verb its argument.
        ("#交还", Command("交还", None, "")),
        ("＃交还 押金的事之后再说", Command("交还", None, "押金的事之后再说")),
        ("# 转交 材料组", Command("转交", None, "材料组")),
        ("#帮助", Command("帮助", None, "")),
    ],
)
def test_commands(text: str, command: Command) -> None:
    assert parse_command(text) == command


@pytest.mark.parametrize(
    "text",
    [
        "交还押金的事我问了，下周给您答复",
        "交还 押金的事我问了",
        "结束了吗？我这边还在核实",
        "结束后我再打电话给您",
        "转交材料我已经收到了",
        "转交 材料我已经收到了",
        "帮助您的事情我记下了",
        "接单的同事是我，您好",
        "您好，我来交还您的材料",
        "",
    ],
)
def test_words_for_the_resident(text: str) -> None:
    assert parse_command(text) is None


async def test_words_that_start_like_a_command_reach_the_resident(world: World) -> None:
    conversation_id, number = await requested(world)
    assert (await world.service.staff_says("baiyun-director", f"接单 {number}")).ok
    for words in ("交还押金的事我问了，下周给您答复", "结束了吗？我这边还在核实", "转交材料我已经收到了"):
        said = await world.service.staff_says("baiyun-director", words)
        assert said.ok and said.text == ""
        assert (await world.told(conversation_id))[-1] == ("staff:baiyun-director", words)
    ticket = await world.ticket(number)
    assert (ticket.state, ticket.holder) == ("accepted", "baiyun-director")
    assert await world.mode(conversation_id) == "human"
    assert await world.events(ticket) == ["requested", "offered", "accepted"]


async def test_the_whole_message_and_the_marker_are_commands(world: World) -> None:
    conversation_id, number = await requested(world)
    assert (await world.service.staff_says("baiyun-director", f"接单 {number}")).ok
    told = len(await world.told(conversation_id))
    helped = await world.service.staff_says("baiyun-director", "帮助")
    assert helped.ok and helped.text == HELP
    unknown = await world.service.staff_says("baiyun-director", "#查一下")
    assert not unknown.ok and unknown.text == UNKNOWN_COMMAND + HELP
    assert len(await world.told(conversation_id)) == told, "neither reached the resident"
    back = await world.service.staff_says("baiyun-director", "#交还 押金的事之后再说")
    assert back.ok
    ticket = await world.ticket(number)
    assert (ticket.state, ticket.outcome) == ("closed", None)
    assert await world.events(ticket) == ["requested", "offered", "accepted", "handed_back"]
    assert await world.mode(conversation_id) == "bot"
    assert all("押金的事之后再说" not in text for _, text in await world.told(conversation_id))


async def test_card_buttons_are_commands(world: World) -> None:
    conversation_id, number = await requested(world)
    card = world.notifier.to("baiyun-director")[0]
    commands = dict(card.buttons)
    assert all(parse_command(c) is not None for c in commands.values()), commands
    assert (await world.service.staff_says("baiyun-director", commands["接单"])).ok
    assert (await world.ticket(number)).holder == "baiyun-director"
    assert (await world.service.staff_says("baiyun-director", commands["转交法官"])).ok
    ticket = await world.ticket(number)
    assert (ticket.state, ticket.holder, ticket.assignee) == ("offered", None, "baiyun-judge")
    assert "转交给" in (await world.told(conversation_id))[-1][1]


async def test_transfer_to_a_post_written_with_gei(world: World) -> None:
    _, number = await requested(world)
    assert (await world.service.staff_says("baiyun-director", f"接单 {number}")).ok
    assert (await world.service.staff_says("baiyun-director", "转交给法官")).ok
    assert (await world.ticket(number)).assignee == "baiyun-judge"


async def test_relayed_words_reach_the_holders_card_masked(world: World) -> None:
    _, number = await requested(world)
    assert (await world.service.staff_says("baiyun-director", f"接单 {number}")).ok
    await world.say("u1", "对方叫王建军，住人民路88号3幢201室，电话13812345678")
    card = world.notifier.to("baiyun-director")[-1]
    assert card.title == f"居民消息 {number}"
    assert "对方叫王**，住****，电话138****5678" in card.text
    assert all(secret not in card.text for secret in ("建军", "人民路", "13812345678"))
