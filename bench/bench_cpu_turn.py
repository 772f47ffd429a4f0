"""Benchmark: CPU per turn of each process (Rasa, action server, front door, PostgreSQL, the residents' client).

Starts the stack as `make run` does (sharedcourt.cli.procs.running) on a PostgreSQL database of its own, warms up,
then runs blocks of `--residents` fresh residents, `--concurrency` at a time, each sending the five texts of
bench_frontdoor.py, through Rasa's REST channel and through the front door's web chat, alternating (REST, front
door, front door, REST). Around each block it reads the CPU time (utime + stime, /proc/<pid>/stat) of Rasa, the
action server, the front door, every PostgreSQL process (the machine's server: others' work on it counts too) and
this process (the client), and prints milliseconds of CPU per turn for each. CPU per turn, unlike throughput,
hardly depends on what else the machine runs.

Usage: .venv/app/bin/python bench/bench_cpu_turn.py [--model M] [--concurrency 10] [--residents 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_frontdoor import bench_settings, block, database  # noqa: E402

from sharedcourt.cli.procs import Stack, model_path, running  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def postgres_pids() -> list[int]:
    """Every process named postgres (server and backends)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def snapshot(stack: Stack) -> dict[str, float]:
    """CPU seconds so far of each member, PostgreSQL and this client."""
    now = {name: cpu_seconds(proc.pid) for name, proc in stack.procs.items()}
    now["postgres"] = sum(cpu_seconds(pid) for pid in postgres_pids())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    now["client"] = usage.ru_utime + usage.ru_stime
    return now


async def run(stack: Stack, urls: dict[str, str], concurrency: int, residents: int) -> list[dict[str, Any]]:
    """Blocks REST, front door, front door, REST; CPU ms per turn of each process in each."""
    for path in urls:
        await block(path, urls, 1, 1)
    rows = []
    for path in ["rest", "frontdoor", "frontdoor", "rest"]:
        before, started = snapshot(stack), time.perf_counter()
        done = await block(path, urls, concurrency, residents)
        wall, after = time.perf_counter() - started, snapshot(stack)
        per_turn = {k: 1000 * (after[k] - before[k]) / done["turns"] for k in before}
        rows.append({"path": path, "turns": done["turns"], "turns_per_s": done["turns"] / wall, "cpu_ms": per_turn})
        shares = " ".join(f"{k}={v:.1f}" for k, v in per_turn.items())
        print(
            f"{path:9s} c={concurrency} {done['turns']} turns {done['turns'] / wall:5.1f}/s  CPU ms/turn: {shares}  "
            f"total={sum(per_turn.values()):.1f}",
            flush=True,
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--residents", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    model = args.model or model_path(ROOT)
    with database() as url, tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(url)
        with running(settings, model=model, log_dir=Path(tmp) / "logs") as stack:
            urls = {"rest": settings.rasa_url, "frontdoor": f"http://127.0.0.1:{settings.port}"}
            rows = asyncio.run(run(stack, urls, args.concurrency, args.residents))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
