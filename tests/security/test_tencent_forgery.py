"""Forged, stale and replayed WeChat (safe mode and plain) and WeCom pushes are refused; nothing is stored or run.

Every case counts the rows of `messages` and the turns Rasa received before and after the push. A re-delivery of
the very same push (WeChat and WeCom retry) may be answered 200, but stores and runs nothing new.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from stand_ins.secure_app import WECHAT_TOKEN, WECOM_CORP, Stack, secure_app, wecom_push, wecom_text
from stand_ins.wechat_push import WeChatPusher
from wechatpy.crypto import WeChatCrypto

OPENID = "oSecurity000000000000000001"
NOW = int(time.time())


@pytest.fixture
async def stack(database_url: str, sessions: object) -> AsyncIterator[Stack]:
    async with secure_app(database_url) as running:
        yield running


@pytest.fixture
async def plain(database_url: str, sessions: object) -> AsyncIterator[Stack]:
    async with secure_app(database_url, WECHAT_AES_KEY="") as running:
        running.wechat = WeChatPusher(WECHAT_TOKEN, running.settings.wechat_appid)
        yield running


async def _unchanged(stack: Stack, response: httpx.Response, before: tuple[int, int]) -> None:
    assert response.status_code < 500, response.text
    if stack.app.state.wechat is not None:
        await stack.app.state.wechat.idle()
    assert (await stack.count(), len(stack.rasa.received)) == before, f"stored or ran something: {response.text}"


async def _state(stack: Stack) -> tuple[int, int]:
    return await stack.count(), len(stack.rasa.received)


async def _post_wechat(stack: Stack, params: dict[str, str], body: bytes) -> httpx.Response:
    return await stack.client.post("/wechat/callback", params=params, content=body)


WECHAT_ATTACKS = [
    "forged signature",
    "forged msg_signature",
    "stale",
    "future",
    "no signature",
    "no timestamp",
    "other appid",
    "plaintext in safe mode",
]


@pytest.mark.parametrize("attack", WECHAT_ATTACKS)
async def test_wechat_safe_mode_refuses(stack: Stack, attack: str) -> None:
    if attack == "other appid":
        stack.wechat.crypto = WeChatCrypto(WECHAT_TOKEN, stack.settings.wechat_aes_key, "wx_someone_else0")
    when = {"stale": NOW - 3600, "future": NOW + 3600}.get(attack)
    push = stack.wechat.push(
        stack.wechat.text(OPENID, "伪造的消息"), timestamp=when, encrypt=attack != "plaintext in safe mode"
    )
    if attack == "forged signature":
        push.params["signature"] = "f" * 40
    if attack == "forged msg_signature":
        push.params["msg_signature"] = "0" * 40
    if attack == "no signature":
        push.params.pop("signature")
        push.params.pop("msg_signature")
    if attack == "no timestamp":
        push.params.pop("timestamp")
    before = await _state(stack)
    response = await _post_wechat(stack, push.params, push.body)
    assert response.status_code == 403, (attack, response.status_code)
    await _unchanged(stack, response, before)


async def test_wechat_replayed_push_runs_once(stack: Stack) -> None:
    push = stack.wechat.push(stack.wechat.text(OPENID, "第一次"))
    first = await _post_wechat(stack, push.params, push.body)
    assert first.status_code == 200
    await stack.app.state.wechat.idle()
    before = await _state(stack)
    assert before[1] == 1
    await _unchanged(stack, await _post_wechat(stack, push.params, push.body), before)


async def test_wechat_safe_mode_signed_query_cannot_carry_another_body(stack: Stack) -> None:
    signed = stack.wechat.push(stack.wechat.text(OPENID, "真的"))
    assert (await _post_wechat(stack, signed.params, signed.body)).status_code == 200
    await stack.app.state.wechat.idle()
    other = stack.wechat.push(stack.wechat.text(OPENID, "替换的内容"))
    before = await _state(stack)
    response = await _post_wechat(stack, signed.params, other.body)
    assert response.status_code == 403
    await _unchanged(stack, response, before)


@pytest.mark.parametrize("attack", ["forged signature", "stale", "future", "other token"])
async def test_wechat_plain_mode_refuses(plain: Stack, attack: str) -> None:
    if attack == "other token":
        plain.wechat = WeChatPusher("not-our-token", plain.settings.wechat_appid)
    when = {"stale": NOW - 3600, "future": NOW + 3600}.get(attack)
    push = plain.wechat.push(plain.wechat.text(OPENID, "伪造的明文"), timestamp=when)
    if attack == "forged signature":
        push.params["signature"] = "e" * 40
    before = await _state(plain)
    response = await _post_wechat(plain, push.params, push.body)
    assert response.status_code == 403
    await _unchanged(plain, response, before)


async def test_wechat_plain_mode_replayed_signature_cannot_carry_another_message(plain: Stack) -> None:
    # In plain mode the signature covers only token, timestamp and nonce: a captured query must not be reusable
    # (within the timestamp window) for a different message.
    signed = plain.wechat.push(plain.wechat.text(OPENID, "居民真的说的话"))
    assert (await _post_wechat(plain, signed.params, signed.body)).status_code == 200
    await plain.app.state.wechat.idle()
    before = await _state(plain)
    forged = plain.wechat.text(OPENID, "取消我的预约").encode()
    await _unchanged(plain, await _post_wechat(plain, signed.params, forged), before)


async def _post_wecom(stack: Stack, params: dict[str, str], body: bytes) -> httpx.Response:
    return await stack.client.post("/wecom/callback", params=params, content=body)


@pytest.mark.parametrize("attack", ["forged", "stale", "future", "other corp", "no signature", "swapped body"])
async def test_wecom_refuses(stack: Stack, attack: str) -> None:
    when = {"stale": NOW - 3600, "future": NOW + 3600}.get(attack)
    corp = "ww_other_corp_000" if attack == "other corp" else WECOM_CORP
    params, body = wecom_push(wecom_text("lisi", "伪造的工作人员消息", 9_000_001), corp=corp, timestamp=when)
    if attack == "forged":
        params["msg_signature"] = "1" * 40
    if attack == "no signature":
        params.pop("msg_signature")
    if attack == "swapped body":
        body = wecom_push(wecom_text("lisi", "另一条", 9_000_002))[1]
    before = await _state(stack)
    response = await _post_wecom(stack, params, body)
    assert response.status_code == 403, (attack, response.status_code)
    await _unchanged(stack, response, before)


async def test_wecom_replayed_push_runs_once(stack: Stack) -> None:
    params, body = wecom_push(wecom_text("zhangsan", "今天的安排", 9_000_003))
    assert (await _post_wecom(stack, params, body)).status_code == 200
    before = await _state(stack)
    assert before[1] == 1
    await _unchanged(stack, await _post_wecom(stack, params, body), before)
