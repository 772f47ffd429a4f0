"""Benchmark: the nearest site among 27,000 sites with coordinates, grid index versus a linear scan.

27,000 is about the size of Zhejiang's whole Shared Court network. The coordinates are SYNTHETIC (uniform over
Zhejiang's bounding box, fixed seed) and exist only for this benchmark: the project's registry carries no invented
coordinates. About 1% of the sites are special sites serving one dispute type, and half the queries carry a dispute
type, so the search also filters (as `SiteRegistry.nearest` does).

Reported, in the same run and on the same queries:
- `GridIndex.nearest` (k=3): p50/p99 per query;
- `SiteRegistry.nearest((lat, lon), dispute)` end to end (rules, reason text): p50/p99 per query;
- a linear scan (`LinearIndex`: the same prepared points and haversine, over every site): p50/p99 per query;
- the ratio linear / grid, and that both return the same sites.

Usage: .venv/app/bin/python bench/bench_nearest.py [--sites 27000] [--queries 1000] [--seed 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from sharedcourt.sites.records import SiteRecord
from sharedcourt.sites.registry import SiteRegistry
from sharedcourt.sites.spatial import GridIndex, LinearIndex

# Zhejiang's bounding box (approximate): latitude 27.02-31.18 N, longitude 118.02-123.10 E (incl. Zhoushan).
LAT = (27.02, 31.18)
LON = (118.02, 123.10)
SPECIAL_TYPES = ("environment", "finance", "consumer", "labor", "traffic")
QUERY_TYPES = ("family", "neighbor", "debt", "environment", "finance")


def make_sites(n: int, rng: random.Random) -> list[SiteRecord]:
    sites = []
    for i in range(n):
        special = rng.random() < 0.01
        sites.append(
            SiteRecord(
                code=f"B{i:05d}",
                name=f"合成站点{i}",
                level="special" if special else "village",
                place_code=None,
                lat=rng.uniform(*LAT),
                lon=rng.uniform(*LON),
                dispute_types=(rng.choice(SPECIAL_TYPES),) if special else (),
            )
        )
    return sites


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.1f} µs"


def pct(sorted_times: list[float], q: float) -> float:
    return sorted_times[min(len(sorted_times) - 1, int(len(sorted_times) * q))]


def measure(fn, q):  # type: ignore[no-untyped-def]
    """(CPU seconds of this thread, wall seconds, result). CPU time is what the work costs; wall time also counts
    the time this process waited for a CPU on a shared machine."""
    c0, w0 = time.thread_time(), time.perf_counter()
    result = fn(q)
    return time.thread_time() - c0, time.perf_counter() - w0, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, default=27000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--cell", type=float, default=None, help="grid cell size in degrees (default: automatic)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    sites = make_sites(args.sites, rng)
    points = [(s.lat, s.lon, s) for s in sites if s.lat is not None and s.lon is not None]

    t0 = time.perf_counter()
    grid = GridIndex(points, cell_deg=args.cell)
    build_grid_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    registry = SiteRegistry(sites, cell_deg=args.cell)
    build_registry_ms = (time.perf_counter() - t0) * 1000
    linear = LinearIndex(points)

    queries = [
        (rng.uniform(*LAT), rng.uniform(*LON), rng.choice(QUERY_TYPES) if rng.random() < 0.5 else None)
        for _ in range(args.queries)
    ]

    def general(dispute: str | None):  # type: ignore[no-untyped-def]
        return lambda s: s.level != "special" and s.serves(dispute)

    for q in queries[:20]:  # warm up
        grid.nearest(q[0], q[1], k=3, accept=general(q[2]))

    fns = {
        "grid": lambda q: grid.nearest(q[0], q[1], k=3, accept=general(q[2])),
        "registry": lambda q: registry.nearest((q[0], q[1]), q[2]),
        "linear": lambda q: linear.nearest(q[0], q[1], k=3, accept=general(q[2])),
    }
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    wall: dict[str, list[float]] = {k: [] for k in fns}
    out: dict[str, list[object]] = {k: [] for k in fns}
    # Interleaved per query, so that the three methods see the same machine load.
    for q in queries:
        for name, fn in fns.items():
            c, w, r = measure(fn, q)
            cpu[name].append(c)
            wall[name].append(w)
            out[name].append(r)
    for d in (cpu, wall):
        for v in d.values():
            v.sort()
    grid_r, lin_r, reg_r = out["grid"], out["linear"], out["registry"]

    same = sum(
        [s.code for _d, s in a] == [s.code for _d, s in b]  # type: ignore[attr-defined]
        for a, b in zip(grid_r, lin_r, strict=True)
    )
    specials = sum(1 for c in reg_r if getattr(c, "rule", "") == "special")
    print(
        f"nearest site: {len(sites)} sites with synthetic coordinates over Zhejiang's bounding box "
        f"({sum(s.level == 'special' for s in sites)} special), {len(queries)} queries (seed {args.seed}), "
        f"grid cell {grid.cell:.3f}°"
    )
    print(f"index build: grid {build_grid_ms:.0f} ms, registry (grid + lookups) {build_registry_ms:.0f} ms")
    labels = {"grid": "grid index, k=3", "registry": "registry.nearest (rules + reason)", "linear": "linear scan, k=3"}
    for kind, d in (("CPU time", cpu), ("wall time", wall)):
        print(f"per query, {kind}:")
        for name, label in labels.items():
            t = d[name]
            print(f"  {label}: p50 {fmt(pct(t, 0.5))}, p99 {fmt(pct(t, 0.99))}, mean {fmt(statistics.fmean(t))}")
        g, lin = d["grid"], d["linear"]
        print(
            f"  linear / grid: p50 ×{pct(lin, 0.5) / pct(g, 0.5):.0f}, p99 ×{pct(lin, 0.99) / pct(g, 0.99):.0f}, "
            f"mean ×{statistics.fmean(lin) / statistics.fmean(g):.0f}"
        )
    print(f"same 3 nearest as the linear scan: {same}/{len(queries)}; special site chosen: {specials} queries")
    return 0 if same == len(queries) else 1


if __name__ == "__main__":
    raise SystemExit(main())
