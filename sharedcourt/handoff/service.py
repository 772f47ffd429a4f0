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

from sharedcourt.handoff.core import HandoffRequest, Outcome
from sharedcourt.handoff.relay import Relay

__all__ = ["HandoffRequest", "HandoffService", "Outcome"]


class HandoffService(Relay):
    """Every handoff transition behind one object: the app, the DingTalk channel and the web routes call it."""
