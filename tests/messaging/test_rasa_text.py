"""Text for Rasa: numbered choices, button titles, escaped commands."""

from __future__ import annotations

import pytest

from sharedcourt.messaging.rasa_text import choice_number, escape_command, rasa_text
from sharedcourt.messaging.replies import Button


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2", 2), ("２", 2), ("第二个", 2), ("第3项", 3), (" 1 ", 1), ("12345", None), ("我选2", None)],
)
def test_choice_number(text: str, expected: int | None) -> None:
    assert choice_number(text) == expected


@pytest.mark.parametrize("text", ["/greet", "/restart", '/inform{"x":1}', "  /request_human"])
def test_leading_slash_is_never_a_command(text: str) -> None:
    escaped = escape_command(text)
    assert not escaped.startswith("/")
    assert escaped.startswith("／")


def test_button_number_maps_to_the_bots_own_payload() -> None:
    offered = (Button("我要调解", "/start_mediation"), Button("人工服务", "/request_human"))
    assert rasa_text("2", offered) == "/request_human"
    assert rasa_text("我要调解", offered) == "/start_mediation"
    assert rasa_text("3", offered) == "3"  # out of range: plain text
