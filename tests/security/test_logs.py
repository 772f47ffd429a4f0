"""No secret and no resident's full phone or ID number in any log line after a full journey.

The journey runs in-process with every logger at DEBUG and one handler on the root logger (and on any logger that
does not propagate): a web chat resident gives her phone and ID number, asks for a person, the director accepts
and answers in DingTalk, opens the transcript link; a WeChat resident and a WeCom member say the same; a slow turn
goes out through WeChat's API; forged requests, a wrong sign-in and bad bodies are refused on the way. Then every
formatted record (message, arguments, traceback) is searched for each secret value and the personal numbers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import select
from stand_ins.console_accounts import PASSWORD, add_account, login_form
from stand_ins.dingtalk_server import DingTalkStandIn, dingtalk_sign, fresh_timestamp
from stand_ins.secure_app import DINGTALK_SECRET, SECRETS, STAFF_TOKEN, Stack, secure_app, wecom_push, wecom_text
from stand_ins.wechat_server import WeChatStandIn

from sharedcourt.db.conversation import Message
from sharedcourt.telemetry.logs import JsonFormatter

PHONE = "13812345678"
ID_NUMBER = "330802199001011234"
WORDS = f"我叫张三，电话{PHONE}，身份证{ID_NUMBER}"
DIRECTOR = "demo-baiyun-director"
WECHAT_USER = "oLogs000000000000000000001"
LINK = re.compile(r"https?://[^\s)\]]+/handoff/tickets/[^\s)\]]+/transcript[^\s)\]]*")


class Capture(logging.Handler):
    """Keeps every record, formatted with its traceback and stack."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.records.append(record)


@pytest.fixture
def every_logger_at_debug() -> Iterator[Capture]:
    capture = Capture()
    loggers = [
        logging.getLogger(),
        *(lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)),
    ]
    saved = [(lg, lg.level, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
        if not lg.propagate:
            lg.addHandler(capture)
    logging.getLogger().addHandler(capture)
    try:
        yield capture
    finally:
        logging.getLogger().removeHandler(capture)
        for lg, level, disabled in saved:
            lg.setLevel(level)
            lg.disabled = disabled
            if capture in lg.handlers:
                lg.removeHandler(capture)


@pytest.fixture
async def stack(
    database_url: str, sessions: object, apis: tuple[DingTalkStandIn, WeChatStandIn], every_logger_at_debug: Capture
) -> AsyncIterator[Stack]:
    async with secure_app(
        database_url,
        dingtalk=apis[0],
        wechat_api=apis[1],
        WECHAT_REPLY_BUDGET="0.3",
    ) as running:
        yield running


def _signed() -> dict[str, str]:
    ts = fresh_timestamp()  # a replayed (timestamp, sign) is refused: never reuse one
    return {"timestamp": ts, "sign": dingtalk_sign(DINGTALK_SECRET, ts), "content-type": "application/json"}


async def _sent_late(stack: Stack, timeout: float = 10.0) -> None:
    """Run the outbox (the app's loops are off) until WeChat's API got the late reply."""
    assert stack.wechat_api is not None
    deadline = time.monotonic() + timeout
    while not stack.wechat_api.sent_texts(WECHAT_USER):
        assert time.monotonic() < deadline, "the late reply never went out"
        await stack.app.state.outbox.run_once()
        await asyncio.sleep(0.05)


async def _web_chat_to_dingtalk(stack: Stack) -> None:
    dt = stack.dingtalk
    assert dt is not None
    assert (await stack.client.post("/webchat/messages", json={"text": WORDS})).status_code == 200
    async with stack.app.state.sessions() as session:
        conversation_id = (await session.scalars(select(Message.conversation_id).where(Message.text == WORDS))).one()
    seen = len(dt.messages_for(DIRECTOR))
    body = {"conversation_id": conversation_id, "dispute_code": "neighbor", "summary": WORDS}
    asked = await stack.client.post("/handoff/requests", json=body, headers=stack.staff())
    assert asked.status_code == 200, asked.text
    number = asked.json()["ticket"]
    card = dt.wait_for(DIRECTOR, number, after=seen)
    assert (await stack.dingtalk_post(dt.callback_body(DIRECTOR, f"接单 {number}"), _signed())).status_code == 200
    relay = dt.callback_body(DIRECTOR, f"张三您好，我记下了您的电话{PHONE}")
    assert (await stack.dingtalk_post(relay, _signed())).status_code == 200
    assert (await stack.client.post("/webchat/messages", json={"text": f"我的身份证是{ID_NUMBER}"})).status_code == 200
    dt.wait_for(DIRECTOR, "我的身份证是", after=seen)
    found = LINK.search(card.text)
    assert found, card.text
    assert (await stack.client.get(httpx.URL(found.group(0)).raw_path.decode())).status_code == 200


async def _wechat_and_wecom(stack: Stack) -> None:
    assert stack.wechat_api is not None
    push = stack.wechat.push(stack.wechat.text(WECHAT_USER, WORDS))
    assert (await stack.client.post("/wechat/callback", params=push.params, content=push.body)).status_code == 200
    stack.rasa.delay = 0.6  # over the reply budget: the answer goes out later through WeChat's API
    push = stack.wechat.push(stack.wechat.text(WECHAT_USER, f"再说一遍，{PHONE}"))
    assert (await stack.client.post("/wechat/callback", params=push.params, content=push.body)).status_code == 200
    await _sent_late(stack)
    stack.rasa.delay = 0.0
    params, body = wecom_push(wecom_text("zhangsan", WORDS, 8_000_001))
    assert (await stack.client.post("/wecom/callback", params=params, content=body)).status_code == 200


async def _refused_on_the_way(stack: Stack) -> None:
    push = stack.wechat.push(stack.wechat.text(WECHAT_USER, WORDS))
    push.params["msg_signature"] = "0" * 40
    assert (await stack.client.post("/wechat/callback", params=push.params, content=push.body)).status_code == 403
    forged = {**_signed(), "sign": "x"}
    assert stack.dingtalk is not None
    assert (await stack.dingtalk_post(stack.dingtalk.callback_body(DIRECTOR, WORDS), forged)).status_code == 403
    await add_account(stack.app.state.sessions, "admin")
    assert (await stack.client.post("/console/login", data=login_form("admin", PASSWORD[:-1]))).status_code == 403
    assert (await stack.client.post("/console/login", data=login_form("admin", STAFF_TOKEN))).status_code == 403
    assert (await stack.client.get("/console/api/stats", params={"token": STAFF_TOKEN})).status_code in (401, 403)
    assert (
        await stack.client.post("/console/login", data=login_form("admin"), follow_redirects=False)
    ).status_code == 303
    bad = f'{{"text": "{WORDS}\\ud800"}}'.encode()
    assert (await stack.client.post("/webchat/messages", content=bad)).status_code == 400
    nul = f'{{"text": "{WORDS}\\u0000"}}'.encode()
    assert (await stack.client.post("/webchat/messages", content=nul)).status_code in (200, 400)


# Wire-level loggers of the database drivers and of wechatpy's HTTP library: at DEBUG they print SQL parameters
# and request lines verbatim. They are judged apart (below), so the app's own logging is judged on its own.
DRIVERS = ("sqlalchemy.engine", "sqlalchemy.pool", "aiosqlite", "psycopg", "urllib3", "httpcore", "asyncio")


@pytest.fixture
async def journey(stack: Stack, every_logger_at_debug: Capture) -> tuple[Stack, list[str]]:
    await _web_chat_to_dingtalk(stack)
    await _wechat_and_wecom(stack)
    await _refused_on_the_way(stack)
    # The suite's own client logs its requests through httpx too; those lines are the attacker's, not the app's.
    lines = [
        line
        for line in every_logger_at_debug.lines
        if not line.startswith("httpx INFO HTTP Request: ") or "//testserver/" not in line
    ]
    assert len(lines) > 20, "control: the journey was logged"
    return stack, lines


def _leaks(stack: Stack, lines: list[str]) -> list[str]:
    credentials = {
        f"Rasa bearer #{i}": r.headers.get("authorization", "")[7:] for i, r in enumerate(stack.rasa.requests)
    }
    # The console password, and the wrong one typed (its prefix): neither may reach a log line.
    watched = {**SECRETS, **credentials, "phone": PHONE, "ID number": ID_NUMBER, "console password": PASSWORD[:-1]}
    return [
        f"{name} in: {line[:300]}"
        for name, value in watched.items()
        for line in lines
        if len(value) >= 8 and value in line
    ]


async def test_no_secret_or_personal_number_in_the_apps_log_lines(journey: tuple[Stack, list[str]]) -> None:
    stack, lines = journey
    ours = [line for line in lines if not line.startswith(DRIVERS)]
    leaks = _leaks(stack, ours)
    assert leaks == [], "\n".join(leaks[:20])


async def test_no_secret_or_personal_number_even_in_driver_debug_lines(journey: tuple[Stack, list[str]]) -> None:
    stack, lines = journey
    leaks = _leaks(stack, [line for line in lines if line.startswith(DRIVERS)])
    assert leaks == [], "\n".join(leaks[:20])


async def test_no_secret_or_personal_number_in_the_json_lines_either(
    journey: tuple[Stack, list[str]], every_logger_at_debug: Capture
) -> None:
    stack, _ = journey
    formatter = JsonFormatter()
    records = [
        r for r in every_logger_at_debug.records if not (r.name == "httpx" and "//testserver/" in r.getMessage())
    ]
    lines = [formatter.format(r) for r in records]
    assert len(lines) > 20, "control: the journey was logged"
    assert all("\n" not in line and isinstance(json.loads(line), dict) for line in lines), "one object per line"
    leaks = _leaks(stack, lines)
    assert leaks == [], "\n".join(leaks[:20])
