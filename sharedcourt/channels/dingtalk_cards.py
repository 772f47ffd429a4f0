"""Presses on DingTalk's interactive offer cards: 接单, 交还, 结束 with an outcome.

A press arrives on the Stream topic /v1.0/card/instances/callback (DINGTALK_MODE=stream) or at
`/dingtalk/card-callback` (cards created with callbackType HTTP and DINGTALK_CARD_ROUTE_KEY). The HTTP callback is
refused (403, nothing done) unless signed, fresh and new exactly as the robot callback (`dingtalk.authenticate`:
HmacSHA256 over timestamp + "\\n" + appSecret, five minutes, (timestamp, sign) pairs remembered in the database).
The presser's DingTalk userId is mapped to the roster person (and so to their staff account); someone not on the
roster, or a card this system never sent, changes nothing. The action goes to the same HandoffService functions
as typed commands and the web workspace; then every card of the ticket is rewritten (taken by X / closed with an
outcome) and the presser is told the outcome by the robot.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sharedcourt.channels.dingtalk import Inbox, authenticate
from sharedcourt.clients.dingtalk import Card
from sharedcourt.clients.dingtalk_cards import Press
from sharedcourt.errors import UpstreamError
from sharedcourt.handoff.core import Outcome
from sharedcourt.handoff.dingtalk_cards import ACCEPT, CLOSE_ACTIONS, HAND_BACK
from sharedcourt.handoff.service import HandoffService
from sharedcourt.web.payload import parse_object

log = logging.getLogger(__name__)


async def act(service: HandoffService, number: str, staff_key: str, action: str) -> Outcome:
    """One button's action by the roster person `staff_key` on ticket `number`."""
    if action == ACCEPT:
        return await service.accept(number, staff_key)
    if action == HAND_BACK:
        return await service.hand_back(number, staff_key)
    if action in CLOSE_ACTIONS:
        return await service.close(number, staff_key, CLOSE_ACTIONS[action])
    return Outcome(False, "无法识别的按钮，请在钉钉中发送“帮助”查看可用命令。", number)


async def press(inbox: Inbox, data: dict[str, Any]) -> Outcome | None:
    """Handle one press payload; None when it changes nothing (stranger, unknown card, cards not configured)."""
    pressed = Press.parse(data)
    person = inbox.service.roster.by_dingtalk.get(pressed.user_id)
    if person is None:
        log.warning("dingtalk: card press by %s, who is not on the roster, ignored", pressed.user_id[:64])
        return None
    if inbox.cards is None:
        log.warning("dingtalk: card press but no DINGTALK_CARD_TEMPLATE_ID; ignored")
        return None
    number = await inbox.cards.ticket_of(pressed.out_track_id)
    if number is None:
        log.warning("dingtalk: press on card %s this system never sent, ignored", pressed.out_track_id[:64])
        return None
    outcome = await act(inbox.service, number, person.id, pressed.action)  # the service refreshes the cards
    if outcome.text and inbox.client is not None:
        try:
            await inbox.client.send_to_users([pressed.user_id], Card(title="共享法庭", text=outcome.text))
        except UpstreamError as exc:
            log.warning("dingtalk: could not tell %s the outcome: %s", person.id, exc)
    return outcome


async def card_callback(request: Request) -> Response:
    """HTTP-mode card presses: authenticated like the robot callback, then `press`."""
    await authenticate(request)
    data = parse_object(await request.body())
    outcome = await press(Inbox.of(request.app.state), data)
    return JSONResponse({"ok": bool(outcome and outcome.ok)})


def routes() -> list[Route]:
    """The card press callback route."""
    return [Route("/dingtalk/card-callback", card_callback, methods=["POST"])]
