"""Nearest-point search: the grid index gives the same answer as a scan of every point."""

from __future__ import annotations

import random

from sharedcourt.sites.spatial import GridIndex, linear_nearest


def test_grid_index_agrees_with_a_linear_scan() -> None:
    rng = random.Random(5)
    points = [(rng.uniform(27.0, 31.2), rng.uniform(118.0, 123.2), i) for i in range(3000)]
    grid = GridIndex(points, cell_deg=0.05)
    for _ in range(300):
        lat, lon = rng.uniform(26.5, 31.7), rng.uniform(117.5, 123.7)
        accept = (lambda i: i % 7 == 0) if rng.random() < 0.3 else None
        got = grid.nearest(lat, lon, k=3, accept=accept)
        want = linear_nearest(points, lat, lon, k=3, accept=accept)
        assert [round(d, 9) for d, _ in got] == [round(d, 9) for d, _ in want]
    assert GridIndex([], 0.05).nearest(29.0, 119.0) == []
