"""The text Rasa gets for a resident's words: a chosen button becomes the bot's own payload, a typed command never
reaches Rasa as one."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sharedcourt.messaging.replies import Button

FULLWIDTH_SLASH = "／"
_CHOICE = re.compile(r"^\s*(?:第)?([0-9０-９一二三四五六七八九十]{1,2})(?:个|项|号)?[.。、\s]*$")
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def choice_number(text: str) -> int | None:
    """'2', '２', '第二个' -> 2; anything else -> None."""
    match = _CHOICE.match(text)
    if not match:
        return None
    raw = match.group(1).translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if raw.isdigit():
        return int(raw)
    if raw in _CN_DIGITS:
        return _CN_DIGITS[raw]
    return None


def escape_command(text: str) -> str:
    """Rasa reads a leading '/' as an injected intent; residents must not be able to do that."""
    stripped = text.lstrip()
    if stripped.startswith("/"):
        return FULLWIDTH_SLASH + stripped[1:]
    return text


def rasa_text(text: str, offered: Sequence[Button]) -> str:
    """The text sent to Rasa: a chosen button's payload (ours), else the escaped text."""
    number = choice_number(text)
    if number is not None and 1 <= number <= len(offered):
        return offered[number - 1].payload
    for button in offered:
        if text.strip() == button.title.strip():
            return button.payload
    return escape_command(text)
