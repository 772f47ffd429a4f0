"""Shared Court front door: channels, router, cases, sites, booking and handoff."""

__version__ = "0.1.0"
