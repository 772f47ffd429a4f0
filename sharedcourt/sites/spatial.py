"""Great-circle distance and nearest-point search over (latitude, longitude, item): a grid index and its baseline.

The registry uses `GridIndex` to find the nearest sites; `LinearIndex` and `linear_nearest` give the same answer by
scanning every point (the reference for tests and benchmarks).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
EARTH_KM = 6371.0088
KM_PER_DEG = math.pi * EARTH_KM / 180
# A prepared point: (latitude in radians, cos(latitude), longitude in radians, item).
_Prepared = tuple[float, float, float, T]


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


def _prepare(lat: float, lon: float, item: T) -> _Prepared[T]:
    phi = math.radians(lat)
    return phi, math.cos(phi), math.radians(lon), item


def _hav(qphi: float, qcos: float, qlam: float, p: _Prepared[T]) -> float:
    """The haversine term a (0..1) between the query and a prepared point; monotonic in the distance."""
    return math.sin((p[0] - qphi) / 2) ** 2 + qcos * p[1] * math.sin((p[2] - qlam) / 2) ** 2


def _km_from_hav(a: float) -> float:
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


class GridIndex(Generic[T]):
    """Points in square lat/lon cells; nearest-neighbour search rings outwards from the query's cell.

    Anything in ring r+1 or further is at least r cell widths away, so the search stops as soon as that bound
    exceeds the k-th best distance found: a few cells per query instead of a scan of every point. Distances are
    great-circle (haversine), the same as `distance_km`. The cell size defaults to about one point per cell."""

    def __init__(self, items: Iterable[tuple[float, float, T]], cell_deg: float | None = None) -> None:
        points = list(items)
        self.size = len(points)
        self.cell = cell_deg or _auto_cell(points)
        self.cells: dict[tuple[int, int], list[_Prepared[T]]] = {}
        for lat, lon, item in points:
            self.cells.setdefault(self._key(lat, lon), []).append(_prepare(lat, lon, item))
        if self.cells:
            rows = [k[0] for k in self.cells]
            cols = [k[1] for k in self.cells]
            self.bounds = (min(rows), max(rows), min(cols), max(cols))
        else:
            self.bounds = (0, -1, 0, -1)

    def _key(self, lat: float, lon: float) -> tuple[int, int]:
        return math.floor(lat / self.cell), math.floor(lon / self.cell)

    def __len__(self) -> int:
        return self.size

    def nearest(
        self, lat: float, lon: float, k: int = 1, accept: Callable[[T], bool] | None = None
    ) -> list[tuple[float, T]]:
        """The k nearest accepted items as (distance in km, item), nearest first."""
        if not self.cells or k <= 0:
            return []
        qphi, qcos, qlam, _ = _prepare(lat, lon, None)
        ci, cj = self._key(lat, lon)
        rmin, rmax, cmin, cmax = self.bounds
        max_ring = max(abs(ci - rmin), abs(ci - rmax), abs(cj - cmin), abs(cj - cmax))
        cells = self.cells
        found: list[tuple[float, T]] = []
        r = 0
        while r <= max_ring:
            for key in _ring(ci, cj, r):
                for p in cells.get(key, ()):
                    if accept is None or accept(p[3]):
                        found.append((_hav(qphi, qcos, qlam, p), p[3]))
            if len(found) >= k:
                found.sort(key=lambda x: x[0])
                del found[k:]
                # The ring's cells are narrowest (in km) at its far edge from the equator.
                far_lat = min(89.0, abs(lat) + (r + 1) * self.cell)
                bound_km = r * self.cell * KM_PER_DEG * math.cos(math.radians(far_lat))
                if _km_from_hav(found[-1][0]) <= bound_km:
                    break
            r += 1
        found.sort(key=lambda x: x[0])
        return [(_km_from_hav(a), item) for a, item in found[:k]]


def _auto_cell(points: Sequence[tuple[float, float, object]]) -> float:
    if len(points) < 2:
        return 0.05
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    area = max(1e-6, (max(lats) - min(lats)) * (max(lons) - min(lons)))
    return min(1.0, max(0.005, math.sqrt(area / len(points))))


def _ring(ci: int, cj: int, r: int) -> Iterator[tuple[int, int]]:
    if r == 0:
        yield ci, cj
        return
    for dj in range(-r, r + 1):
        yield ci - r, cj + dj
        yield ci + r, cj + dj
    for di in range(-r + 1, r):
        yield ci + di, cj - r
        yield ci + di, cj + r


class LinearIndex(Generic[T]):
    """The baseline: the same prepared points and distance as GridIndex, scanned in full for every query."""

    def __init__(self, items: Iterable[tuple[float, float, T]]) -> None:
        self.points = [_prepare(lat, lon, item) for lat, lon, item in items]

    def nearest(
        self, lat: float, lon: float, k: int = 1, accept: Callable[[T], bool] | None = None
    ) -> list[tuple[float, T]]:
        """The k nearest accepted items as (distance in km, item), nearest first, by scanning every point."""
        qphi, qcos, qlam, _ = _prepare(lat, lon, None)
        scored = [(_hav(qphi, qcos, qlam, p), p[3]) for p in self.points if accept is None or accept(p[3])]
        scored.sort(key=lambda x: x[0])
        return [(_km_from_hav(a), item) for a, item in scored[:k]]


def linear_nearest(
    points: Sequence[tuple[float, float, T]],
    lat: float,
    lon: float,
    k: int = 1,
    accept: Callable[[T], bool] | None = None,
) -> list[tuple[float, T]]:
    """The same answer as GridIndex.nearest by scanning every point (reference for tests)."""
    return LinearIndex(points).nearest(lat, lon, k, accept)
