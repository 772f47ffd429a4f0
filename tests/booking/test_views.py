"""What a resident reads about a booking."""

from __future__ import annotations

from sharedcourt.booking.views import what_to_bring


def test_what_to_bring() -> None:
    assert "身份证" in what_to_bring("labor") and "工资" in what_to_bring("labor")
    assert "身份证" in what_to_bring(None)
