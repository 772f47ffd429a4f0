"""Rasa custom actions: thin adapters over the `sharedcourt` core."""
