"""Booking actions (issue 5): thin adapters from the Rasa tracker to the steps of sharedcourt.booking.

Each action reads the resident's latest turn, runs one step of `sharedcourt.booking.conversation` or
`sharedcourt.booking.manage`, says its replies and sets its slots (bot/domain/booking.yml).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.wiring import entity, latest_text, say, wiring
from sharedcourt.booking import conversation, manage, subscribe
from sharedcourt.booking.turns import Step
from sharedcourt.sites.finder import Heard


class _StepAction(Action, ABC):
    """An action that runs one booking step for the latest turn."""

    step: ClassVar[Callable[..., Awaitable[Step]]]

    @abstractmethod
    def name(self) -> str:
        """The action's name in bot/domain/booking.yml."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Run the step, say its replies, set its slots."""
        intent: Any = (tracker.latest_message.get("intent") or {}).get("name")
        heard = Heard(tracker.sender_id, latest_text(tracker), intent, entity(tracker, "booking_choice"), tracker.slots)
        done = await type(self).step(wiring.db(), heard, wiring.clock())
        say(dispatcher, *done.replies)
        if done.booked is not None:  # on WeChat: offer reminders by subscription notice
            extra = await subscribe.offer(wiring.db(), wiring.config(), done.booked, wiring.clock())
            if extra is not None:
                say(dispatcher, extra)
        return [SlotSet(name, value) for name, value in done.slots.items()]


class ActionChooseSite(_StepAction):
    """The resident picked a site (from "换一个共享法庭"): offer its slots."""

    step = staticmethod(conversation.choose_site)

    def name(self) -> str:
        """The action's name in bot/domain/booking.yml."""
        return "action_choose_site"


class ActionOtherSite(_StepAction):
    """ "换一个共享法庭": the alternatives of the nearest-site choice, then the way to name another place."""

    step = staticmethod(conversation.other_site)

    def name(self) -> str:
        """The action's name in bot/domain/booking.yml."""
        return "action_other_site"


class ActionBookSlot(_StepAction):
    """A slot was chosen: book it (or move the booking being rescheduled) and confirm."""

    step = staticmethod(conversation.book_slot)

    def name(self) -> str:
        """The action's name in bot/domain/booking.yml."""
        return "action_book_slot"


class ActionSlotPreference(_StepAction):
    """The resident said when they can come ("周三下午", "下周都行"): offer matching slots."""

    step = staticmethod(conversation.slot_preference)

    def name(self) -> str:
        """The action's name in bot/domain/booking.yml."""
        return "action_slot_preference"


class ActionRequestCallback(_StepAction):
    """None of the times fit: record a callback request (asking for a phone number when we have none)."""

    step = staticmethod(conversation.request_callback)

    def name(self) -> str:
        """The action's name in bot/domain/booking.yml."""
        return "action_request_callback"


class ActionMyBookings(_StepAction):
    """ "我的预约": the resident's upcoming bookings with reschedule and cancel buttons."""

    step = staticmethod(manage.my_bookings)

    def name(self) -> str:
        """The action's name in bot/domain/booking.yml."""
        return "action_my_bookings"


class ActionCancelBooking(_StepAction):
    """ "取消预约": which booking, then ask to confirm."""

    step = staticmethod(manage.cancel_booking)

    def name(self) -> str:
        """The action's name in bot/domain/booking.yml."""
        return "action_cancel_booking"


class ActionConfirmCancel(_StepAction):
    """The cancellation was confirmed: cancel the booking."""

    step = staticmethod(manage.confirm_cancel)

    def name(self) -> str:
        """The action's name in bot/domain/booking.yml."""
        return "action_confirm_cancel"


class ActionKeepBooking(_StepAction):
    """The resident kept the booking after all."""

    step = staticmethod(manage.keep_booking)

    def name(self) -> str:
        """The action's name in bot/domain/booking.yml."""
        return "action_keep_booking"


class ActionReschedule(_StepAction):
    """ "改时间": which booking, then the free slots at its site (or straight to the stated preference)."""

    step = staticmethod(manage.reschedule)

    def name(self) -> str:
        """The action's name in bot/domain/booking.yml."""
        return "action_reschedule"
