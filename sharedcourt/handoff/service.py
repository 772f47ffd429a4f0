"""Handoff to a person: tickets, dispatch and acceptance, escalation, live relay, hand-back and satisfaction.

A ticket's life (every change stamped on the ticket and written to ticket_events):

    requested ─► offered ─► accepted ─► closed
        │          │  ▲ (transfer)        ▲
        │          ▼  │                   │ (结束 / 交还 / 结束人工)
        │       escalated (dispatch centre)
        │          │
        │          ▼
        └─► callback (out of hours)   expired (nobody took it: a callback is owed)

- Acceptance is one conditional `UPDATE … RETURNING` (`holder IS NULL AND state IN open states`): of two people
  pressing 接单 at once exactly one gets the ticket's row back; the other is told who has it. Every other move
  (escalate, wake, transfer, close, cancel) decides the same way, on the returned row, never on a count.
- Escalation is driven by `tick(now)`, called by the app's background task and by tests with an injected time.
- While a person holds the ticket the conversation's mode is "human": the router hands every resident message to
  `relay_inbound`, and Rasa's tracker is paused. Hand-back appends `resume` + `action_listen` (tech brief §4/§0.8),
  sets the mode back to "bot" and asks for a 1-5 rating.
- The core never talks to DingTalk directly: people are reached through a `StaffNotifier`, so a web console can
  reuse everything here.

Where each step lives: `offers` (request, offer, accept, escalate, wake), `relay` (both ways, staff commands),
`finish` (transfer, close, hand back, cancel, rating, status), `core` (state and shared helpers), `notify` (how
people are reached), `runtime` (what the app builds).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sharedcourt.handoff.core import HandoffRequest, Outcome
from sharedcourt.handoff.relay import Relay

__all__ = ["HandoffRequest", "HandoffService", "Outcome"]


class HandoffService(Relay):
    """Every handoff transition behind one object: the app, the DingTalk channel and the web routes call it.

    `on_change(number)`, when set, runs after every accept, transfer, hand-back and close, whichever channel
    asked (web workspace, DingTalk, WeCom), so a view kept elsewhere (DingTalk's cards) shows the ticket at once.
    """

    on_change: Callable[[str], Awaitable[object]] | None = None

    async def _shown(self, outcome: Outcome) -> Outcome:
        if self.on_change is not None and outcome.number:
            await self.on_change(outcome.number)
        return outcome

    async def accept(self, number: str, staff_key: str) -> Outcome:
        """Exactly one person wins (see `Offers.accept`); then every view of the ticket follows."""
        return await self._shown(await super().accept(number, staff_key))

    async def transfer(self, number: str, staff_key: str, who: str) -> Outcome:
        """The holder passes the ticket on (see `Finish.transfer`); then every view of the ticket follows."""
        return await self._shown(await super().transfer(number, staff_key, who))

    async def close(self, number: str, staff_key: str, outcome: str, note: str = "") -> Outcome:
        """The holder ends the service (see `Finish.close`); then every view of the ticket follows."""
        return await self._shown(await super().close(number, staff_key, outcome, note))

    async def hand_back(self, number: str, staff_key: str) -> Outcome:
        """The holder gives the conversation back (see `Finish.hand_back`); then every view of the ticket follows."""
        return await self._shown(await super().hand_back(number, staff_key))
