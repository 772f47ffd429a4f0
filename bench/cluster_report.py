"""Tables and the plot of bench_cluster.py: one replica of each role against two, and memory per process."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench_frontdoor import pct
from procmem import Mem, Peaks

GOAL_MIB = 3e9 / 2**20  # 3 GB = 2,861 MiB


def combine(rounds: list[dict[str, Any]], replicas: int, levels: list[int]) -> dict[str, Any]:
    """Every round of one replica count: latencies pooled, walls and turns summed, memory peaks over all."""
    mine = [r for r in rounds if r["replicas"] == replicas]
    peaks = Peaks()
    for r in mine:
        peaks.merge(r["peaks"])
    load: dict[int, dict[str, float]] = {}
    for c in levels:
        lat = [x for r in mine for x in r["blocks"][c].latencies]
        wall = sum(r["blocks"][c].wall for r in mine)
        load[c] = {
            "turns": len(lat),
            "turns_per_s": len(lat) / wall,
            "p50_s": pct(lat, 0.5),
            "p99_s": pct(lat, 0.99),
            "holding": sum(r["blocks"][c].holding for r in mine),
            "errors": sum(sum(r["blocks"][c].errors.values()) for r in mine),
        }
    hwm: dict[str, int] = {}
    for r in mine:
        for name, kb in r["hwm"].items():
            hwm[name] = max(hwm.get(name, 0), kb)
    cpu = {n: sum(r["cpu"][n] for r in mine) / len(mine) for n in mine[0]["cpu"]}
    ups = [r["up_s"] for r in mine]
    return {"load": load, "peaks": peaks, "hwm": hwm, "cpu": cpu, "up_s": ups, "idle": [r["idle"] for r in mine]}


def _mib(kb: int | None) -> str:
    return "—" if kb is None else f"{kb / 1024:,.0f}"


def _idle_total(idle: list[Mapping[str, Mem]], pss: bool) -> str:
    totals = [sum((m.pss or 0) if pss else m.rss for m in s.values()) for s in idle]
    return "—" if not totals else f"{max(totals) / 1024:,.0f}"


def report(one: dict[str, Any], two: dict[str, Any], levels: list[int]) -> None:
    """Markdown tables: throughput and latency with the 2/1 ratios; peak memory per process and in all."""
    print(
        "\n| concurrent | turns (each) | 1 replica turns/s | 2 replicas turns/s | ratio turns/s | 1 replica p50 "
        "| 2 replicas p50 | ratio p50 | 1 replica p99 | 2 replicas p99 | ratio p99 | holding / errors (1, 2) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for c in levels:
        a, b = one["load"][c], two["load"][c]
        print(
            f"| {c} | {a['turns']} / {b['turns']} | {a['turns_per_s']:.2f} | {b['turns_per_s']:.2f} | "
            f"**×{b['turns_per_s'] / a['turns_per_s']:.2f}** | {a['p50_s']:.2f} s | {b['p50_s']:.2f} s | "
            f"×{b['p50_s'] / a['p50_s']:.2f} | {a['p99_s']:.2f} s | {b['p99_s']:.2f} s | "
            f"×{b['p99_s'] / a['p99_s']:.2f} | {a['holding']}/{a['errors']}, {b['holding']}/{b['errors']} |"
        )
    print(f"start-up (s): 1 replica {[round(x) for x in one['up_s']]}, 2 replicas {[round(x) for x in two['up_s']]}")
    p1, p2 = one["peaks"], two["peaks"]
    names = sorted(set(p1.rss) | set(p2.rss), key=_order)
    h1, h2 = one["hwm"], two["hwm"]
    print("\n| process | 1 replica: peak RSS | VmHWM | peak PSS | 2 replicas: peak RSS | VmHWM | peak PSS |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        print(
            f"| {name} | {_mib(p1.rss.get(name))} | {_mib(h1.get(name))} | {_mib(p1.pss.get(name))} | "
            f"{_mib(p2.rss.get(name))} | {_mib(h2.get(name))} | {_mib(p2.pss.get(name))} |"
        )
    print(
        f"| **all at once (peak of the sum)** | {_mib(p1.total_rss)} | {_mib(sum(h1.values()))} | "
        f"**{_mib(p1.total_pss)}** | {_mib(p2.total_rss)} | {_mib(sum(h2.values()))} | **{_mib(p2.total_pss)}** |"
    )
    print(
        f"| idle after start (sum) | {_idle_total(one['idle'], False)} | | {_idle_total(one['idle'], True)} | "
        f"{_idle_total(two['idle'], False)} | | {_idle_total(two['idle'], True)} |"
    )
    print("\n| process | 1 replica: cores busy | 2 replicas: cores busy |\n|---|---|---|")
    for name in sorted(set(one["cpu"]) | set(two["cpu"]), key=_order):
        c1, c2 = one["cpu"].get(name), two["cpu"].get(name)
        print(f"| {name} | {'—' if c1 is None else f'{c1:.2f}'} | {'—' if c2 is None else f'{c2:.2f}'} |")
    print(f"| all of the above | {sum(one['cpu'].values()):.2f} | {sum(two['cpu'].values()):.2f} |")
    print(f"MiB; goal 3 GB = {GOAL_MIB:,.0f} MiB; samples {p1.samples} / {p2.samples}")


def _order(name: str) -> tuple[int, str]:
    roles = ("rasa", "actions", "frontdoor", "haproxy", "postgres server", "postgres backends", "redis")
    return next((i for i, r in enumerate(roles) if name.startswith(r)), len(roles)), name


def plot(path: Path, one: dict[str, Any], two: dict[str, Any], levels: list[int], title: str) -> None:
    """Turns/s and p50/p99 per concurrency for 1 and 2 replicas; peak PSS per process stacked, with the goal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    xs = list(range(len(levels)))
    for j, (label, res) in enumerate((("1 replica", one), ("2 replicas", two))):
        off = (j - 0.5) * 0.38
        axes[0].bar([x + off for x in xs], [res["load"][c]["turns_per_s"] for c in levels], 0.38, label=label)
        axes[1].bar([x + off for x in xs], [res["load"][c]["p50_s"] for c in levels], 0.38, label=f"{label} p50")
        axes[1].scatter(
            [x + off for x in xs],
            [res["load"][c]["p99_s"] for c in levels],
            marker="_",
            s=400,
            color="black",
            label="p99" if j else None,
        )
    for ax, name in zip(axes[:2], ("turns per second", "turn latency (s)"), strict=True):
        ax.set_xticks(xs, [str(c) for c in levels])
        ax.set_xlabel("concurrent residents")
        ax.set_title(name)
        ax.legend(fontsize=8)
    ax = axes[2]
    for j, res in enumerate((one, two)):
        bottom = 0.0
        peaks = res["peaks"]
        for name in sorted(peaks.rss, key=_order):
            value = (peaks.pss.get(name) or peaks.rss[name]) / 1024
            ax.bar(j, value, 0.6, bottom=bottom, color=f"C{_order(name)[0]}", edgecolor="white")
            if value > 60:
                ax.text(j, bottom + value / 2, name, ha="center", va="center", fontsize=7)
            bottom += value
    ax.axhline(GOAL_MIB, color="red", linestyle="--", label="goal 3 GB")
    ax.set_xticks([0, 1], ["1 replica (single machine)", "2 replicas"])
    ax.set_title("peak PSS of each process, stacked (MiB)")
    ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
