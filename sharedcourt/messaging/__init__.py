"""Messaging: the one reply type, the router (store first, then bot or person), the outbox."""
