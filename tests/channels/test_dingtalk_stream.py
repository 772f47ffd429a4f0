"""DingTalk Stream mode through the dingtalk-stream SDK, against a local stand-in of DingTalk's gateway speaking
its protocol: the front door opens the connection and the socket, answers pings, handles robot messages and card
presses (each acknowledged), handles a message delivered twice (to one front door or two) once, and reconnects
after the gateway drops the socket."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select
from stand_ins.dingtalk_gateway import CARD_TOPIC, ROBOT_TOPIC, Gateway
from stand_ins.dingtalk_server import DingTalkStandIn
from stand_ins.workspace_world import rasa
from starlette.testclient import TestClient

from sharedcourt.app import create_app
from sharedcourt.db.ticket import Ticket, TicketEvent
from sharedcourt.settings import Settings

from .test_dingtalk_cards import DIRECTOR, DIRECTOR_KEY, STAFF_TOKEN, TEMPLATE, ask_for_a_person, ticket

FAST = {"first_delay": 0.05, "max_delay": 0.2}


@pytest.fixture
def standin() -> Iterator[DingTalkStandIn]:
    """tests/channels/conftest.py's stand-in, with the Stream-mode gateway."""
    with DingTalkStandIn() as server, Gateway(server.app_key, server.app_secret) as gateway:
        server.gateway = gateway
        yield server


def _app(database_url: str, standin: DingTalkStandIn) -> TestClient:
    settings = Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "STAFF_TOKEN": STAFF_TOKEN,
            "DINGTALK_MODE": "stream",
            "DINGTALK_CARD_TEMPLATE_ID": TEMPLATE,
            **standin.settings(),
        }
    )
    app = create_app(settings, rasa_transport=httpx.MockTransport(rasa), background=False, stream_options=FAST)
    return TestClient(app)


@pytest.fixture
def client(database_url: str, standin: DingTalkStandIn) -> Iterator[TestClient]:
    with _app(database_url, standin) as test_client:
        standin.gateway.wait_connections(1)
        yield test_client


def _robot(standin: DingTalkStandIn, text: str, msg_id: str | None = None) -> dict[str, object]:
    body = standin.callback_body(DIRECTOR, text)
    if msg_id:
        body["msgId"] = msg_id
    return body


def _events(client: TestClient, number: str, kind: str) -> int:
    async def count() -> int:
        async with client.app.state.sessions() as session:  # type: ignore[attr-defined]
            query = (
                select(func.count())
                .select_from(TicketEvent)
                .join(Ticket, Ticket.id == TicketEvent.ticket_id)
                .where(TicketEvent.kind == kind, Ticket.number == number)
            )
            return int((await session.scalar(query)) or 0)

    assert client.portal is not None
    return client.portal.call(count)


def test_the_connection_speaks_the_gateways_protocol(client: TestClient, standin: DingTalkStandIn) -> None:
    gateway = standin.gateway
    topics = {s["topic"] for s in gateway.subscriptions[-1]}
    assert topics == {ROBOT_TOPIC, CARD_TOPIC} and {s["type"] for s in gateway.subscriptions[-1]} == {"CALLBACK"}
    message_id, opaque = gateway.ping()
    ack = gateway.wait_ack(message_id)[0]
    assert ack["code"] == 200 and ack["headers"]["messageId"] == message_id
    assert json.loads(ack["data"]) == {"opaque": opaque}


def test_a_typed_command_and_card_presses_over_the_stream(client: TestClient, standin: DingTalkStandIn) -> None:
    gateway = standin.gateway
    number = ask_for_a_person(client, "stream-resident-1")
    card = standin.card_for(DIRECTOR, number)
    assert card.callback_type == "STREAM" and card.route_key == ""
    frame = gateway.frame("CALLBACK", CARD_TOPIC, card.press_body("accept"))
    gateway.send(frame)
    ack = gateway.wait_ack(frame["headers"]["messageId"])[0]
    assert ack["code"] == 200 and json.loads(ack["data"]) == {"response": {}}
    assert ticket(client, number).holder == DIRECTOR_KEY
    assert card.params["tips"].endswith("接单")
    frame = gateway.frame("CALLBACK", CARD_TOPIC, card.press_body("close_4"))
    gateway.send(frame)
    gateway.wait_ack(frame["headers"]["messageId"])
    closed = ticket(client, number)
    assert (closed.state, closed.outcome) == ("closed", "已解答")
    assert card.params["tips"].startswith("已结束：已解答") and card.buttons() == {}


def test_a_message_delivered_twice_is_handled_once_across_front_doors(
    database_url: str, standin: DingTalkStandIn
) -> None:
    gateway = standin.gateway
    with _app(database_url, standin) as first, _app(database_url, standin) as second:
        gateway.wait_connections(2)
        assert gateway.connected() == 2
        number = ask_for_a_person(first, "stream-resident-2")
        msg_id = f"msg{uuid.uuid4().hex}"
        for socket in (0, 1, 1):  # to each front door, and again to the second
            frame = gateway.frame("CALLBACK", ROBOT_TOPIC, _robot(standin, f"接单 {number}", msg_id))
            gateway.send(frame, socket=socket - 2)  # -2: the first front door's socket, -1: the second's
            assert gateway.wait_ack(frame["headers"]["messageId"])[0]["code"] == 200
        deadline = time.monotonic() + 5
        while ticket(second, number).holder is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ticket(second, number).holder == DIRECTOR_KEY
        time.sleep(0.3)
        assert _events(second, number, "accepted") == 1
        answers = [s for s in standin.messages_for(DIRECTOR) if "接单" in s.text and number in s.text]
        assert len([a for a in answers if "已接单" in a.text]) == 1, [a.text[:40] for a in answers]
        # The same card press delivered twice (one frame messageId) closes once.
        card = standin.card_for(DIRECTOR, number)
        frame = gateway.frame("CALLBACK", CARD_TOPIC, card.press_body("hand_back"))
        gateway.send(frame, socket=-1)
        gateway.send(frame, socket=-2)
        gateway.wait_ack(frame["headers"]["messageId"], count=2)
        assert _events(second, number, "handed_back") == 1


def test_reconnects_after_the_gateway_drops_the_socket(client: TestClient, standin: DingTalkStandIn) -> None:
    gateway = standin.gateway
    gateway.drop()
    gateway.wait_connections(2)
    assert gateway.refused == 0, "each reconnection asked connections/open for a new ticket"
    assert len(gateway.subscriptions) == 2
    number = ask_for_a_person(client, "stream-resident-3")
    frame = gateway.frame("CALLBACK", ROBOT_TOPIC, _robot(standin, f"接单 {number}"))
    gateway.send(frame)
    assert gateway.wait_ack(frame["headers"]["messageId"])[0]["code"] == 200
    assert ticket(client, number).holder == DIRECTOR_KEY
    assert client.app.state.dingtalk_stream.connections == 2  # type: ignore[attr-defined]
