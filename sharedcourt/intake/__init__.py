"""Intake: classify a complaint, collect and confirm the facts its type needs, store the case."""
