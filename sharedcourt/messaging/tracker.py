"""What Rasa's tracker says about one of our messages: did Rasa run its turn, and what did the bot answer?

The router sends our message id in the turn's metadata; Rasa's REST channel stores that metadata on the user
event. Rasa saves a turn's events together when the turn ends, so a user event carrying our id means the turn
ran; its answer is the bot events up to the next user event.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sharedcourt.messaging.replies import Reply

log = logging.getLogger(__name__)
# Every turn of the dialogue says something; a silent one lost an action's answer (see `answer_of`).
NO_ANSWER_REPLY = "抱歉，刚才没有处理好您的消息，请您再发一次。"


def shown(message: Mapping[str, Any]) -> bool:
    """Whether a bot message has anything the resident sees (text, image, buttons or custom data)."""
    return bool(message.get("text") or message.get("image") or message.get("buttons") or message.get("custom"))


def answer_of(raw: Sequence[dict[str, Any]]) -> list[Reply]:
    """What the resident sees of Rasa's answer; an apology when the turn said nothing.

    When a custom action fails (an action server killed mid-call answers 502 through the load balancer), Rasa
    drops the action's events and finishes the turn silently: the resident would wait for an answer forever.
    """
    return said_or_sorry([Reply.from_rasa(m) for m in raw if shown(m)])


def said_or_sorry(replies: list[Reply]) -> list[Reply]:
    """The turn's replies, or the apology when there are none (live answers and answers read from the tracker)."""
    if not replies:
        log.warning("rasa's turn said nothing (an action failed?): answered with an apology")
        return [Reply(NO_ANSWER_REPLY)]
    return replies


@dataclass(frozen=True)
class TrackedTurn:
    """Rasa's record of one of our messages: whether it ran, and the bot's replies if it did."""

    ran: bool
    replies: tuple[Reply, ...] = ()


def _bot_message(event: Mapping[str, Any]) -> dict[str, Any]:
    """A tracker `bot` event in the shape of a REST channel bot message."""
    data = event.get("data") or {}
    return {
        "text": event.get("text"),
        "buttons": data.get("buttons"),
        "image": data.get("image"),
        "custom": data.get("custom"),
    }


def find_turn(events: Sequence[Mapping[str, Any]], message_id: int) -> TrackedTurn:
    """The turn of our message `message_id` in a tracker's events (not ran if no user event carries the id)."""
    start = next(
        (
            index
            for index, event in enumerate(events)
            if event.get("event") == "user" and str((event.get("metadata") or {}).get("message_id")) == str(message_id)
        ),
        None,
    )
    if start is None:
        return TrackedTurn(ran=False)
    replies: list[Reply] = []
    for event in events[start + 1 :]:
        if event.get("event") == "user":
            break
        if event.get("event") == "bot":
            message = _bot_message(event)
            if shown(message):
                replies.append(Reply.from_rasa(message))
    return TrackedTurn(ran=True, replies=tuple(replies))
