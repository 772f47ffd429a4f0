"""Benchmark: the front door (web chat -> router -> Rasa) against Rasa's REST channel alone, side by side.

Both paths end in the same Rasa process (and its action server) on one PostgreSQL database made for the run
(the front door's tables and Rasa's tracker store). Every resident is a fresh sender who sends the same five texts
in order, one after the other, and waits for each answer: through the front door `POST /webchat/messages` (a
client holding the resident's cookie), and through Rasa alone `POST /webhooks/rest/webhook` with a fresh `sender`.
At each concurrency C, blocks of C residents run through one path, then C through the other, alternating which
goes first, `--rounds` times: the ratios come from one run on the same (shared, busy) machine. Reported per path
and concurrency: turn latency p50/p99, turns per second (turns of a block / its wall time), and front/REST ratios.

The web chat's per-address and per-sender rate limits are switched off for the run (every resident is 127.0.0.1).

Usage: .venv/app/bin/python bench/bench_frontdoor.py [--concurrency 1 10 50] [--rounds 3] [--model M]
    [--plot docs/plots/bench_frontdoor.png] [--json out.json]
    [--rasa-url URL --frontdoor-url URL [--compare NAME=URL]]   (a stack already running; --compare adds another
    front door on the same Rasa and database, e.g. an older version, to the same rounds)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sharedcourt.cli.procs import free_port, running  # noqa: E402
from sharedcourt.settings import Settings  # noqa: E402

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TEXTS = ("你好", "邻居装修把我家墙震裂了", "我住在衢州市柯城区白云街道", "调解要收费吗", "谢谢")


def pct(values: list[float], q: float) -> float:
    """The q-quantile by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def resident(path: str, urls: dict[str, str], latencies: list[float], answers: list[int]) -> None:
    """One fresh resident sends the five texts in order through `path` ("rest…" a Rasa, else a front door's name).

    The residents' client is aiohttp: an httpx client per resident spent ~12 ms of this machine's CPU per turn
    (mostly building its TLS context), a quarter of what the stack itself spends, on the same two cores.
    """
    sender = f"bench-{uuid.uuid4().hex[:12]}"
    # unsafe=True: keep the web chat's cookie from 127.0.0.1 (aiohttp's jar drops cookies of IP hosts by default).
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120), cookie_jar=jar) as client:
        for text in TEXTS:
            started = time.perf_counter()
            if path.startswith("rest"):
                url, body = f"{urls[path]}/webhooks/rest/webhook", {"sender": sender, "message": text}
            else:
                url, body = f"{urls[path]}/webchat/messages", {"text": text}
            async with client.post(url, json=body) as r:
                r.raise_for_status()
                data = await r.json()
            answers.append(len(data) if path.startswith("rest") else len(data["replies"]))
            latencies.append(time.perf_counter() - started)


async def block(path: str, urls: dict[str, str], concurrency: int, residents: int) -> dict[str, Any]:
    """`residents` residents through one path, `concurrency` at a time; latencies and turns per second."""
    latencies: list[float] = []
    answers: list[int] = []
    queue = list(range(residents))

    async def worker() -> None:
        while queue:
            queue.pop()
            await resident(path, urls, latencies, answers)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    return {"latencies": latencies, "wall": wall, "turns": len(latencies), "answers": answers}


async def measure(urls: dict[str, str], levels: list[int], rounds: int) -> list[dict[str, Any]]:
    """Every concurrency level: `rounds` blocks per path, rotating the order; one warm-up resident per path first."""
    paths = list(urls)
    for path in paths:
        await block(path, urls, 1, 1)
    results = []
    for c in levels:
        residents = max(c, 6)  # one at a time: six residents (30 turns) per block
        got: dict[str, dict[str, Any]] = {p: {"latencies": [], "wall": 0.0, "turns": 0, "answers": []} for p in paths}
        for i in range(rounds):
            for path in paths[i % len(paths) :] + paths[: i % len(paths)]:
                b = await block(path, urls, c, residents)
                for key in ("latencies", "answers"):
                    got[path][key] += b[key]
                got[path]["wall"] += b["wall"]
                got[path]["turns"] += b["turns"]
                print(
                    f"  c={c:3d} round {i + 1} {path:20s}: {b['turns']} turns in {b['wall']:.1f} s, p50 "
                    f"{statistics.median(b['latencies']) * 1000:.0f} ms (load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
        row: dict[str, Any] = {"concurrency": c}
        for path in paths:
            lat = got[path]["latencies"]
            row[path] = {
                "p50_ms": 1000 * statistics.median(lat),
                "p99_ms": 1000 * pct(lat, 0.99),
                "turns_per_s": got[path]["turns"] / got[path]["wall"],
                "turns": got[path]["turns"],
                "mean_replies": statistics.mean(got[path]["answers"]),
            }
        results.append(row)
    return results


def report(results: list[dict[str, Any]]) -> None:
    """One Markdown table per front door: it against Rasa alone, with the ratios."""
    doors = [k for k in results[0] if k not in ("concurrency", "rest")]
    for door in doors:
        print(
            f"\n{door}\n| concurrent | turns (each) | REST p50 | front door p50 | ratio p50 | REST p99 "
            "| front door p99 "
            "| ratio p99 | REST turns/s | front door turns/s | ratio turns/s |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in results:
            f, s = r[door], r["rest"]
            print(
                f"| {r['concurrency']} | {f['turns']} | {s['p50_ms']:.0f} ms | {f['p50_ms']:.0f} ms | "
                f"×{f['p50_ms'] / s['p50_ms']:.2f} | {s['p99_ms']:.0f} ms | {f['p99_ms']:.0f} ms | "
                f"×{f['p99_ms'] / s['p99_ms']:.2f} | {s['turns_per_s']:.1f} | {f['turns_per_s']:.1f} | "
                f"×{f['turns_per_s'] / s['turns_per_s']:.2f} |"
            )
    for r in results:
        each = ", ".join(f"{k} {v['mean_replies']:.2f}" for k, v in r.items() if k != "concurrency")
        print(f"replies per turn at c={r['concurrency']}: {each}")


def plot(path: Path, results: list[dict[str, Any]], title: str) -> None:
    """p50 and p99 latency and throughput of every path per concurrency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [k for k in results[0] if k != "concurrency"]
    width = 0.8 / len(names)
    xs = range(len(results))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    panels = (("p50_ms", "p50 latency (ms)"), ("p99_ms", "p99 latency (ms)"), ("turns_per_s", "turns per second"))
    for ax, (key, name) in zip(axes, panels, strict=True):
        for i, p in enumerate(names):
            offset = (i - (len(names) - 1) / 2) * width
            label = "Rasa REST alone" if p == "rest" else p
            ax.bar([x + offset for x in xs], [r[p][key] for r in results], width=width, label=label)
        ax.set_xticks(list(xs), [str(r["concurrency"]) for r in results])
        ax.set_xlabel("concurrent residents")
        ax.set_title(name)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


@contextlib.contextmanager
def database() -> Iterator[str]:
    """A PostgreSQL database of its own for the run, dropped afterwards."""
    name = f"bench_fd_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def bench_settings(database_url: str) -> Settings:
    """Free ports, fresh secrets, no web chat rate limits."""
    secrets = {k: uuid.uuid4().hex for k in ("RASA_TOKEN", "RASA_JWT_SECRET", "ACTION_SERVER_TOKEN", "STAFF_TOKEN")}
    return Settings.from_env(
        {
            **os.environ,
            "DATABASE_URL": database_url,
            "PORT": str(free_port()),
            "RASA_URL": f"http://127.0.0.1:{free_port()}",
            "ACTION_SERVER_URL": f"http://127.0.0.1:{free_port()}",
            **secrets,
            "LINK_SECRET": uuid.uuid4().hex,
            "WEBCHAT_PER_SENDER_PER_MINUTE": "0",
            "WEBCHAT_PER_ADDRESS_PER_MINUTE": "0",
        }
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--rasa-url", default="")
    parser.add_argument("--frontdoor-url", default="")
    parser.add_argument("--compare", default="", help="NAME=URL: another front door measured in the same rounds")
    parser.add_argument("--plot", default="docs/plots/bench_frontdoor.png")
    parser.add_argument("--title", default="Front door vs Rasa's REST channel alone, same run")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    print(f"load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    if args.rasa_url and args.frontdoor_url:
        urls = {"rest": args.rasa_url, "frontdoor": args.frontdoor_url}
        if args.compare:
            name, _, url = args.compare.partition("=")
            urls[name] = url
        results = asyncio.run(measure(urls, args.concurrency, args.rounds))
    else:
        model = args.model or sorted((ROOT / "models").glob("*.tar.gz"))[-1]
        with database() as url, tempfile.TemporaryDirectory() as tmp:
            settings = bench_settings(url)
            started = time.monotonic()
            with running(settings, model=model, log_dir=Path(tmp) / "logs"):
                print(f"stack up in {time.monotonic() - started:.0f} s", flush=True)
                urls = {"rest": settings.rasa_url, "frontdoor": f"http://127.0.0.1:{settings.port}"}
                results = asyncio.run(measure(urls, args.concurrency, args.rounds))
    print(f"load average after the run: {os.getloadavg()[0]:.1f}")
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if args.plot:
        plot(Path(args.plot), results, args.title)
        print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
