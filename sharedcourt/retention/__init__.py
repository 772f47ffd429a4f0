"""Retention: what the privacy notice promises to delete, deleted (or anonymised) when its period ends.

`purge.purge` runs every kind once (dry run: the same work rolled back); `schedule` runs it daily under a lease
shared by every front door; `periods` turns the settings into cut-offs and into the notice's Chinese words.
"""
