"""The one reply type every feature, channel and action speaks: text, numbered buttons, an image, custom data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Button:
    """A choice offered with a reply; the resident taps it or types its number."""

    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    """One outbound message, channel-neutral."""

    text: str
    buttons: tuple[Button, ...] = ()
    image: str | None = None
    custom: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The reply as stored and sent to web chat: text, buttons, and image/custom when present."""
        data: dict[str, Any] = {"text": self.text, "buttons": [b.__dict__ for b in self.buttons]}
        if self.image:
            data["image"] = self.image
        if self.custom:
            data["custom"] = self.custom
        return data

    @classmethod
    def from_payload(cls, text: str, payload: dict[str, Any]) -> Reply:
        """A stored transcript row back into a reply (its text and payload)."""
        buttons = tuple(Button(b["title"], b["payload"]) for b in payload.get("buttons", []))
        return cls(text=text, buttons=buttons, image=payload.get("image"), custom=payload.get("custom"))

    @classmethod
    def from_rasa(cls, message: dict[str, Any]) -> Reply:
        """One bot message of Rasa's REST channel."""
        buttons = tuple(
            Button(str(b.get("title", "")), str(b.get("payload", ""))) for b in message.get("buttons") or []
        )
        return cls(
            text=str(message.get("text") or ""),
            buttons=buttons,
            image=message.get("image"),
            custom=message.get("custom"),
        )
