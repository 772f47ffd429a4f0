"""Channels: each authenticates, parses, and hands an `Inbound` to the router."""
