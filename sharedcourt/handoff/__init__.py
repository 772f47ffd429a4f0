"""Handoff: tickets to a person, staff routing, offers, escalation, relay."""
