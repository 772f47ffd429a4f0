"""'不用提醒了' for 普法 streams: the button on a subscription's confirmation (tapped, or its title typed right after)
cancels that stream's reminder and nothing is sent; the intent's call cancels every pending one of the resident;
another resident's reminders are untouched; subscribing again renews a cancelled reminder."""

from __future__ import annotations

import datetime as dt
from typing import Any

from faq.test_stream_reminders import NOW, STREAMS, _conversation, _subscribe
from sqlalchemy import select

from sharedcourt.db.faq import PufaStreamReminder
from sharedcourt.faq.stream_optout import (
    BUTTON_TITLE,
    CANCELLED_BY_RESIDENT,
    NONE_PENDING,
    NOT_PENDING_ONE,
    Unsubscribe,
    stop_for_conversation,
    stop_request,
)
from sharedcourt.faq.stream_reminders import LEAD, StreamReminders, stream_key
from sharedcourt.messaging.rasa_text import rasa_text
from sharedcourt.messaging.router import Router


def _remind(n: int) -> str:
    return f'/pufa_remind{{"stream":"{stream_key(STREAMS[n])}"}}'


async def _rows(sessions: Any) -> dict[tuple[int, str], tuple[str, str | None]]:
    async with sessions() as session:
        rows = await session.scalars(select(PufaStreamReminder))
        return {(r.resident_id, r.title): (r.status, r.last_error) for r in rows}


def test_only_the_payload_is_a_request_to_stop() -> None:
    assert stop_request('/stop_pufa_reminders{"stream":"abc123"}') == (True, "abc123")
    assert stop_request("/stop_pufa_reminders") == (True, None)
    assert stop_request('/stop_pufa_reminders{"stream":"x; drop"}') == (False, None)
    assert stop_request("/stop_pufa_reminders{bad}") == (False, None)
    assert stop_request("不用提醒了") == (False, None)  # the words are Rasa's (or the offered button's), not ours
    assert stop_request("/stop_reminders") == (False, None)  # the booking opt-out's payload


async def test_the_confirmation_button_cancels_that_reminder_and_nothing_is_sent(sessions: Any) -> None:
    conversation_id = await _conversation(sessions)
    subscribe = _subscribe(sessions)
    (confirmed,) = await subscribe(conversation_id, _remind(0)) or []
    await subscribe(conversation_id, _remind(1))
    (button,) = confirmed.buttons
    assert button.title == BUTTON_TITLE and "不用提醒了" in confirmed.text
    # Typing the button's title right after the confirmation chooses it (the router's rasa_text).
    typed = rasa_text("不用提醒了", confirmed.buttons)
    assert typed == button.payload
    unsubscribe = Unsubscribe(sessions)
    assert await unsubscribe(conversation_id, "你好") is None
    (said,) = await unsubscribe(conversation_id, typed) or []
    assert "农村土地承包那些事" in said.text and "已取消" in said.text
    statuses = {title: status for (_, title), (status, _) in (await _rows(sessions)).items()}
    assert statuses == {"农村土地承包那些事": "cancelled", "防范电信诈骗": "pending"}
    reminders = StreamReminders(sessions, Router(sessions, rasa=None))  # type: ignore[arg-type]
    assert await reminders.run_due(STREAMS[0].start - LEAD) == 0
    (again,) = await unsubscribe(conversation_id, typed) or []
    assert again.text == NOT_PENDING_ONE


async def test_the_intent_cancels_every_pending_reminder_of_the_resident_only(sessions: Any) -> None:
    mine, theirs = await _conversation(sessions), await _conversation(sessions)
    subscribe = _subscribe(sessions)
    for n in (0, 1):
        await subscribe(mine, _remind(n))
    await subscribe(theirs, _remind(0))
    said = await stop_for_conversation(sessions, mine)
    assert "《农村土地承包那些事》、《防范电信诈骗》" in said.text
    rows = await _rows(sessions)
    assert sorted(rows.values()) == [
        ("cancelled", CANCELLED_BY_RESIDENT),
        ("cancelled", CANCELLED_BY_RESIDENT),
        ("pending", None),
    ]
    assert (await stop_for_conversation(sessions, mine)).text == NONE_PENDING
    assert (await stop_for_conversation(sessions, "no-such-conversation")).text == NONE_PENDING


async def test_subscribing_again_renews_a_cancelled_reminder(sessions: Any) -> None:
    conversation_id = await _conversation(sessions)
    later = NOW + dt.timedelta(days=1)
    await _subscribe(sessions)(conversation_id, _remind(0))
    await stop_for_conversation(sessions, conversation_id)
    (renewed,) = await _subscribe(sessions, now=later)(conversation_id, _remind(0)) or []
    assert "开播前半小时我会提醒您" in renewed.text
    async with sessions() as session:
        (row,) = list(await session.scalars(select(PufaStreamReminder)))
    assert (row.status, row.last_error, row.attempts) == ("pending", None, 0)
    assert row.due_at == STREAMS[0].start - LEAD
    (already,) = await _subscribe(sessions, now=later)(conversation_id, _remind(0)) or []
    assert "已经订阅" in already.text and already.buttons[0].title == BUTTON_TITLE


async def test_the_typed_booking_opt_out_words_cancel_stream_reminders_too(sessions: Any) -> None:
    # "不用提醒了" typed later reaches the booking opt-out shortcut first; the app hands it this feature's stop.
    from sharedcourt.booking.optout import STOPPED_ALL, OptOut
    from sharedcourt.faq.stream_optout import stop_with_booking_words

    conversation_id = await _conversation(sessions)
    other_id = await _conversation(sessions)
    subscribe = _subscribe(sessions)
    for conversation in (conversation_id, other_id):
        await subscribe(conversation, _remind(0))
        await subscribe(conversation, _remind(1))
    assert await OptOut(sessions)(conversation_id, "不用提醒了")  # without the hook: booking reminders only
    assert {v[0] for v in (await _rows(sessions)).values()} == {"pending"}

    (said,) = await OptOut(sessions, also_stop=(stop_with_booking_words,))(conversation_id, "不用提醒了") or []
    assert said.text.startswith(STOPPED_ALL)
    assert "《农村土地承包那些事》" in said.text and "《防范电信诈骗》" in said.text
    other = await _resident(sessions, other_id)
    rows = await _rows(sessions)
    assert {status for (resident, _), (status, _) in rows.items() if resident != other} == {"cancelled"}
    assert [status for (resident, _), (status, _) in rows.items() if resident == other] == ["pending", "pending"]
    # Nothing pending any more: the typed words say the booking part only.
    (again,) = await OptOut(sessions, also_stop=(stop_with_booking_words,))(conversation_id, "不用提醒了") or []
    assert again.text == STOPPED_ALL


async def _resident(sessions: Any, conversation_id: str) -> int:
    from sharedcourt.db.conversation import Conversation

    async with sessions() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        return conversation.resident_id
