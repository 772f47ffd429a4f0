"""DingTalk interactive offer cards (HTTP callback mode): the offer goes out through the card API with 接单 and the
signed transcript link; presses on /dingtalk/card-callback (signed like the robot callback) accept, hand back and
close with an outcome through HandoffService; every card of the ticket is rewritten after each action; forged,
replayed and strangers' presses change nothing."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from stand_ins.dingtalk_server import DeliveredCard, DingTalkStandIn
from stand_ins.workspace_world import rasa
from starlette.testclient import TestClient

from sharedcourt.app import create_app
from sharedcourt.db.ticket import Ticket
from sharedcourt.settings import Settings

STAFF_TOKEN = "staff-token-for-tests"
DIRECTOR = "demo-baiyun-director"  # DingTalk user id
DIRECTOR_KEY = "baiyun-director"  # the roster person it maps to
TEMPLATE = "tpl-offer.schema"
ROUTE_KEY = "sharedcourt-cards"


@pytest.fixture
def client(database_url: str, standin: DingTalkStandIn) -> Iterator[TestClient]:
    settings = Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "STAFF_TOKEN": STAFF_TOKEN,
            "LINK_SECRET": "link-secret-for-tests",
            "DINGTALK_CARD_TEMPLATE_ID": TEMPLATE,
            "DINGTALK_CARD_ROUTE_KEY": ROUTE_KEY,
            **standin.settings(),
        }
    )
    app = create_app(settings, rasa_transport=httpx.MockTransport(rasa), background=False)
    with TestClient(app) as test_client:
        yield test_client


def ask_for_a_person(client: TestClient, sender: str) -> str:
    """A resident on web chat asks for a person; the ticket number."""
    from sharedcourt.channels.webchat import CHANNEL
    from sharedcourt.db.conversation import Conversation, Resident
    from sharedcourt.messaging.router import Inbound

    async def say_and_find() -> str:
        state = client.app.state  # type: ignore[attr-defined]
        await state.router.handle(Inbound(CHANNEL, sender, "邻居把垃圾堆在我家门口"))
        async with state.sessions() as session:
            query = select(Conversation.id).join(Resident).where(Resident.channel_user_id == sender)
            found: str = (await session.scalars(query)).one()
            return found

    assert client.portal is not None
    conversation = client.portal.call(say_and_find)
    response = client.post(
        "/handoff/requests",
        json={"conversation_id": conversation, "dispute_code": "neighbor"},
        headers={"Authorization": f"Bearer {STAFF_TOKEN}"},
    )
    response.raise_for_status()
    number: str = response.json()["ticket"]
    return number


def ticket(client: TestClient, number: str) -> Ticket:
    async def load() -> Ticket:
        async with client.app.state.sessions() as session:  # type: ignore[attr-defined]
            return (await session.scalars(select(Ticket).where(Ticket.number == number))).one()

    assert client.portal is not None
    return client.portal.call(load)


def press(client: TestClient, standin: DingTalkStandIn, card: DeliveredCard, button: str) -> httpx.Response:
    """A person presses a button: DingTalk POSTs the press, signed, to the registered callback URL."""
    body = json.dumps(card.press_body(card.buttons()[button]), ensure_ascii=False).encode()
    return client.post("/dingtalk/card-callback", content=body, headers=standin.signed_headers())


def test_offer_card_accept_then_close_with_an_outcome(client: TestClient, standin: DingTalkStandIn) -> None:
    number = ask_for_a_person(client, "card-resident-1")
    card = standin.card_for(DIRECTOR, number)
    assert (card.callback_type, card.route_key) == ("HTTP", ROUTE_KEY)
    assert list(card.buttons()) == ["接单"] and card.params["tips"] == "等待接单"
    link = card.params["markdown"].split("[查看完整对话记录](")[1].split(")")[0]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
    assert query["staff"] == [DIRECTOR_KEY] and len(query["sig"][0]) == 64, "the link is signed for the card's person"
    assert client.get(urllib.parse.urlsplit(link)._replace(scheme="", netloc="").geturl()).status_code == 200

    assert press(client, standin, card, "接单").status_code == 200
    assert (ticket(client, number).state, ticket(client, number).holder) == ("accepted", DIRECTOR_KEY)
    assert card.params["tips"].startswith("已由") and card.params["tips"].endswith("接单")
    assert list(card.buttons()) == [
        "交还智能助手",
        "结束：调解成功",
        "结束：调解不成",
        "结束：转立案",
        "结束：已解答",
        "结束：其他",
    ]
    assert "已接单" in standin.wait_for(DIRECTOR, "已接单").text

    assert press(client, standin, card, "结束：转立案").status_code == 200
    closed = ticket(client, number)
    assert (closed.state, closed.outcome) == ("closed", "转立案")
    assert card.params["tips"].startswith("已结束：转立案") and card.buttons() == {}
    assert card.updates == 2


def test_hand_back_by_card(client: TestClient, standin: DingTalkStandIn) -> None:
    number = ask_for_a_person(client, "card-resident-2")
    card = standin.card_for(DIRECTOR, number)
    press(client, standin, card, "接单").raise_for_status()
    press(client, standin, card, "交还智能助手").raise_for_status()
    handed = ticket(client, number)
    assert (handed.state, handed.outcome, handed.note) == ("closed", None, "交还智能助手")
    assert card.params["tips"].startswith("已结束：交还智能助手")


def test_forged_replayed_and_strangers_presses_change_nothing(client: TestClient, standin: DingTalkStandIn) -> None:
    number = ask_for_a_person(client, "card-resident-3")
    card = standin.card_for(DIRECTOR, number)
    url = "/dingtalk/card-callback"
    body = json.dumps(card.press_body("accept"), ensure_ascii=False).encode()
    forged = standin.signed_headers(secret="not-the-app-secret")
    assert client.post(url, content=body, headers=forged).status_code == 403
    assert client.post(url, content=body, headers={"content-type": "application/json"}).status_code == 403
    stale = standin.signed_headers(timestamp=str(int(standin.signed_headers()["timestamp"]) - 6 * 60 * 1000))
    assert client.post(url, content=body, headers=stale).status_code == 403
    stranger = json.dumps(card.press_body("accept", user="not-on-roster"), ensure_ascii=False).encode()
    assert client.post(url, content=stranger, headers=standin.signed_headers()).status_code == 200
    unknown = json.dumps({**card.press_body("accept"), "outTrackId": "sc-forged"}, ensure_ascii=False).encode()
    assert client.post(url, content=unknown, headers=standin.signed_headers()).status_code == 200
    assert ticket(client, number).state == "offered" and card.updates == 0
    # A genuine press, then the same signed request replayed (with another action): refused.
    headers = standin.signed_headers()
    assert client.post(url, content=body, headers=headers).status_code == 200
    assert ticket(client, number).holder == DIRECTOR_KEY
    replay = json.dumps(card.press_body("close_1"), ensure_ascii=False).encode()
    assert client.post(url, content=replay, headers=headers).status_code == 403
    assert ticket(client, number).state == "accepted"


def test_an_action_on_another_channel_shows_on_the_card_at_once(client: TestClient, standin: DingTalkStandIn) -> None:
    # The web workspace and WeCom call the same service functions as a card press; the card must follow them.
    number = ask_for_a_person(client, "card-resident-4")
    card = standin.card_for(DIRECTOR, number)
    service = client.app.state.handoff.service  # type: ignore[attr-defined]
    assert client.portal is not None
    assert client.portal.call(service.accept, number, DIRECTOR_KEY).ok
    assert card.params["tips"].startswith("已由") and "结束：调解成功" in card.buttons()
    assert client.portal.call(service.close, number, DIRECTOR_KEY, "已解答").ok
    assert card.params["tips"].startswith("已结束：已解答") and card.buttons() == {}
    assert card.updates == 2
