"""Benchmark: `make cluster` with one replica of each role against two, in one run; memory of every process under load.

Each round starts a cluster as `make cluster` does (sharedcourt/cli/cluster.py: haproxy in front of
CLUSTER_REPLICAS front doors, Rasa replicas and action servers), on a PostgreSQL database of its own (front door
tables and Rasa's tracker store) and a Redis database of its own for Rasa's lock store (bot/endpoints.yml says db 1;
the bench hands Rasa a copy naming the round's db), and stops it and drops both afterwards. Rounds alternate
1, 2, 2, 1, … replicas (`--rounds` pairs), so a drift of the shared machine's load falls on both. In each round,
after a warm-up (two residents per replica), blocks of C residents start at once (for each C of `--concurrency`);
each resident is a fresh web chat cookie sending the five texts of bench_frontdoor.py's conversation through
haproxy (`POST /webchat/messages`), each after the previous answer. A turn ends at the first bot reply (a holding
reply is followed by polling). Reported per replica count and concurrency: turns/s (turns of the blocks / their wall
time), p50 and p99 of the turn latency over all rounds, and the ratios 2/1.

CPU: CPU seconds (/proc/<pid>/stat) of each member and haproxy, and of this bench (the residents' client), over the
measured blocks divided by their wall time: cores busy.

Memory: from the warm-up to the end of the last block, every 2 s RSS and every 10 s also PSS (/proc/<pid>/smaps_rollup,
costly to read) of each member (with its children), of haproxy, of PostgreSQL's server processes, of its backends
serving the round's database, and of redis-server (procmem.py); at the end each member's VmHWM (peak RSS since its
start, model load included). Reported: peak per process and the peak of their simultaneous sum, for the 1-replica
stack and the 2-replica cluster, against the 3 GB goal. PostgreSQL and Redis are the machine's, shared
with other work: their server processes' figures include what others use.

Usage: .venv/app/bin/python bench/bench_cluster.py [--concurrency 20 50] [--rounds 2] [--model M]
    [--plot docs/plots/bench_cluster.png] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import psycopg
import redis
from bench_frontdoor import TEXTS, pct
from cluster_report import combine, plot, report
from procmem import Mem, Sampler, servers_mem, tree_cpu_seconds, tree_mem
from yarl import URL

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sharedcourt.channels.webchat import COOKIE, new_token  # noqa: E402
from sharedcourt.cli.cluster import Cluster  # noqa: E402
from sharedcourt.cli.procs import free_port, free_port_base, model_path, rasa_env, rasa_run_cmd  # noqa: E402
from sharedcourt.errors import UpstreamError  # noqa: E402
from sharedcourt.settings import SECRET_KEYS, Settings  # noqa: E402

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = urlsplit(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379"))
RASA_LINE = re.compile(r"^rasa rasa/(\S+) 200 \S+ POST /webhooks/rest/webhook")
ANSWER_WAIT = 600.0  # seconds one turn may take before the bench gives up
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


class BenchCluster(Cluster):
    """The cluster, its Rasa replicas reading an endpoints file whose lock store is the round's Redis database."""

    endpoints: Path

    def start_member(self, name: str) -> None:
        """As Cluster does, with `--endpoints` replaced for Rasa."""
        m = self.by_name[name]
        if m.role != "rasa":
            super().start_member(name)
            return
        cmd = rasa_run_cmd(m.settings, self.model)
        cmd[cmd.index("bot/endpoints.yml")] = str(self.endpoints)
        self.stack.start(name, cmd, {**rasa_env(m.settings), "RASA_JWT_SECRET": m.settings.rasa_jwt_secret})


@dataclass
class Block:
    """What the residents of one block saw."""

    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    holding: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    doors: Counter[str] = field(default_factory=Counter)


async def _post(client: aiohttp.ClientSession, base: str, k: int, text: str, out: Block) -> dict[str, Any]:
    """POST one message until a front door takes it (the same client_id each time: stored once)."""
    for _ in range(30):
        try:
            async with client.post(f"{base}/webchat/messages", json={"text": text, "client_id": f"m{k}"}) as r:
                if r.status == 200:
                    out.doors[r.headers.get("X-Served-By", "?")] += 1
                    data: dict[str, Any] = await r.json()
                    return data
                out.errors[f"HTTP {r.status}"] += 1
        except aiohttp.ClientError as exc:
            out.errors[type(exc).__name__] += 1
        await asyncio.sleep(1.0)
    raise RuntimeError(f"message {k} never taken: {dict(out.errors)}")


def _client() -> aiohttp.ClientSession:
    """A resident's client: aiohttp (an httpx client per resident cost ~12 ms CPU per turn on the cores under test)."""
    # unsafe=True: keep cookies of 127.0.0.1 (aiohttp's jar drops cookies of IP hosts by default).
    jar = aiohttp.CookieJar(unsafe=True)
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300), cookie_jar=jar)


async def _resident(base: str, out: Block) -> None:
    async with _client() as client:
        client.cookie_jar.update_cookies({COOKIE: new_token()}, URL(base))
        for k, text in enumerate(TEXTS):
            started = time.perf_counter()
            data = await _post(client, base, k, text, out)
            replies = data["replies"]
            if not any(r.get("author") == "bot" for r in replies):
                out.holding += 1  # Rasa did not answer within RASA_TIMEOUT: the front door answers later
            while not any(r.get("author") == "bot" for r in replies):
                if time.perf_counter() - started > ANSWER_WAIT:
                    raise RuntimeError(f"message {k} unanswered after {ANSWER_WAIT:.0f} s")
                await asyncio.sleep(0.5)
                async with client.get(f"{base}/webchat/messages", params={"after": data["id"]}) as r:
                    replies = (await r.json())["messages"] if r.status == 200 else []
            out.latencies.append(time.perf_counter() - started)


async def _rest_resident(base: str, out: Block) -> None:
    """A fresh sender through Rasa's REST channel behind haproxy (the turn itself, no front door)."""
    sender = f"bench-{uuid.uuid4().hex[:12]}"
    async with _client() as client:
        for text in TEXTS:
            started = time.perf_counter()
            async with client.post(f"{base}/webhooks/rest/webhook", json={"sender": sender, "message": text}) as r:
                if r.status != 200:
                    out.errors[f"HTTP {r.status}"] += 1
                await r.read()
            out.latencies.append(time.perf_counter() - started)


async def rasa_ready(base: str, timeout: float = 60.0) -> None:
    """Until haproxy routes a REST turn (it marks a Rasa replica up after two good checks, ~4 s after its start)."""
    deadline = time.monotonic() + timeout
    async with _client() as client:
        while True:
            hello = {"sender": "bench-ready", "message": "你好"}
            async with client.post(f"{base}/webhooks/rest/webhook", json=hello) as r:
                if r.status == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"Rasa behind haproxy still answers {r.status} after {timeout:.0f} s")
            await asyncio.sleep(0.5)


async def block(base: str, residents: int, rest: bool = False) -> Block:
    """`residents` residents at once, each through the whole conversation."""
    out = Block()
    started = time.perf_counter()
    one = _rest_resident if rest else _resident
    await asyncio.gather(*(one(base, out) for _ in range(residents)))
    out.wall = time.perf_counter() - started
    return out


@contextlib.contextmanager
def database() -> Iterator[tuple[str, str]]:
    """A PostgreSQL database of the round's own, dropped afterwards: (its name, its URL)."""
    name = f"bench_cl_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield name, PG_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def redis_db(taken: set[int]) -> Iterator[int]:
    """An empty Redis database not used by an earlier round (2-14: tests use 1 and 15), emptied afterwards."""
    host, port = REDIS.hostname or "127.0.0.1", REDIS.port or 6379
    for db in range(2, 15):
        if db not in taken and redis.Redis(host=host, port=port, db=db).dbsize() == 0:
            taken.add(db)
            break
    else:
        raise RuntimeError("no empty Redis database among 2-14")
    try:
        yield db
    finally:
        redis.Redis(host=host, port=port, db=db).flushdb()


def cluster_settings(database_url: str, replicas: int) -> Settings:
    """The round's cluster: free ports, fresh secrets, no web chat rate limits, turns allowed to queue."""
    env = {
        **{k: os.environ[k] for k in PASSED_ENV if k in os.environ},
        "DATABASE_URL": database_url,
        "PORT": str(free_port()),
        "RASA_URL": f"http://127.0.0.1:{free_port()}",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{free_port()}",
        "CLUSTER_PORT_BASE": str(free_port_base()),
        "CLUSTER_REPLICAS": str(replicas),
        "RASA_LOCK_STORE": "redis",
        "RASA_LOCK_HOST": REDIS.hostname or "127.0.0.1",
        "RASA_LOCK_PORT": str(REDIS.port or 6379),
        # At 50 residents on 2 cores a turn queues for tens of seconds: wait for it rather than hold the message.
        "RASA_TIMEOUT": "120",
        "RECOVER_AFTER_SECONDS": "180",
        # Every resident is 127.0.0.1 behind haproxy: address limits are for real networks.
        "WEBCHAT_PER_ADDRESS_PER_MINUTE": "0",
        "WEBCHAT_PER_SENDER_PER_MINUTE": "0",
        # Rasa's per-process pool (default 50 + 100) on a PostgreSQL shared with other work.
        "SQL_POOL_SIZE": "5",
        "SQL_MAX_OVERFLOW": "5",
        **{name.upper(): secrets.token_urlsafe(32) for name in SECRET_KEYS},
    }
    return Settings.from_env(env, env_file=Path("/nonexistent"))


def rasa_spread(haproxy_log: Path) -> dict[str, int]:
    """Turns each Rasa replica answered (haproxy's log of the rasa frontend)."""
    served: Counter[str] = Counter()
    for line in haproxy_log.read_text(encoding="utf-8", errors="replace").splitlines():
        found = RASA_LINE.match(line)
        if found:
            served[found.group(1)] += 1
    return dict(served)


def sampler_for(cluster: Cluster, database: str) -> Sampler:
    """Every member and haproxy (each with its children), PostgreSQL's processes for this round, redis-server."""
    pids = {name: proc.pid for name, proc in cluster.stack.procs.items()}

    def sample(pss: bool) -> Mapping[str, Mem]:
        out = {name: mem for name, pid in pids.items() if (mem := tree_mem(pid, pss=pss)) is not None}
        return {**out, **servers_mem(database, pss=pss)}

    return Sampler(sample)


def cpu_now(cluster: Cluster) -> dict[str, float]:
    """CPU seconds used so far by each member and haproxy, and by this bench (the residents' client)."""
    out = {name: tree_cpu_seconds(proc.pid) for name, proc in cluster.stack.procs.items()}
    return {**out, "bench client": sum(os.times()[:2])}


def start_cluster(settings: Settings, model: Path, work: Path) -> tuple[BenchCluster, float]:
    """Start the cluster and wait for every member; again on other ports when one was taken meanwhile."""
    for attempt in range(1, 4):
        cluster = BenchCluster(settings, model, work / f"logs{attempt}", work / "run")
        cluster.endpoints = work / "endpoints.yml"
        started = time.monotonic()
        try:
            cluster.start()
            return cluster, time.monotonic() - started
        except UpstreamError as exc:
            cluster.stop()
            logs = " ".join(f.read_text(errors="replace") for f in cluster.log_dir.glob("*.log"))
            if attempt == 3 or "address already in use" not in logs:
                raise
            print(f"  {exc}: its port was taken meanwhile (other work's free ports); again on others", flush=True)
            settings = cluster_settings(settings.database_url, settings.cluster_replicas)
    raise AssertionError("unreachable")


def run_round(i: int, replicas: int, args: argparse.Namespace, model: Path, taken: set[int]) -> dict[str, Any]:
    """One cluster started, warmed up, loaded at each concurrency while sampled, stopped and dropped."""
    work = Path(tempfile.mkdtemp(prefix=f"bench_cluster-r{i}-x{replicas}-"))
    with database() as (db_name, db_url), redis_db(taken) as rdb:
        endpoints = (ROOT / "bot" / "endpoints.yml").read_text(encoding="utf-8")
        (work / "endpoints.yml").write_text(endpoints.replace("  db: 1\n", f"  db: {rdb}\n"), encoding="utf-8")
        cluster, up = start_cluster(cluster_settings(db_url, replicas), model, work)
        try:
            print(f"round {i}: {replicas} replica(s) up in {up:.0f} s (logs {cluster.log_dir})", flush=True)
            sampler = sampler_for(cluster, db_name)
            idle = sampler.sample(True)
            sampler.start()
            rest = args.through == "rest"
            base = cluster.settings.rasa_url if rest else cluster.settings.public_url
            if rest:
                asyncio.run(rasa_ready(base))
            asyncio.run(block(base, 2 * replicas, rest))
            blocks, cpu0, t0 = {}, cpu_now(cluster), time.monotonic()
            for c in args.concurrency:
                b = blocks[c] = asyncio.run(block(base, c, rest))
                print(
                    f"  c={c:3d}: {len(b.latencies)} turns in {b.wall:.1f} s = {len(b.latencies) / b.wall:.2f}/s, "
                    f"p50 {pct(b.latencies, 0.5):.2f} s, p99 {pct(b.latencies, 0.99):.2f} s, holding {b.holding}, "
                    f"errors {dict(b.errors)}, doors {dict(b.doors)} (load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
            cpu = {n: (v - cpu0[n]) / (time.monotonic() - t0) for n, v in cpu_now(cluster).items()}
            lock_keys = redis.Redis(host=REDIS.hostname or "127.0.0.1", port=REDIS.port or 6379, db=rdb).dbsize()
            peaks = sampler.stop()
            # The true peak RSS of each member since its start (its model load included), not only when sampled.
            hwm = {n: m.rss for n, p in cluster.stack.procs.items() if (m := tree_mem(p.pid, pss=False, key="VmHWM"))}
        finally:
            cluster.stop()
    spread = rasa_spread(cluster.log_dir / "haproxy.log")
    print(f"  Rasa turns per replica {spread}, lock keys left in Redis db {rdb}: {lock_keys}", flush=True)
    return {
        "replicas": replicas,
        "up_s": up,
        "blocks": blocks,
        "peaks": peaks,
        "idle": idle,
        "spread": spread,
        "hwm": hwm,
        "cpu": cpu,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[20, 50])
    parser.add_argument("--rounds", type=int, default=2, help="pairs of rounds: 1, 2, 2, 1, … replicas")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--through", choices=["webchat", "rest"], default="webchat", help="front doors or Rasa's REST")
    parser.add_argument("--plot", default="docs/plots/bench_cluster.png")
    parser.add_argument("--title", default="Cluster: one replica of each role vs two, same run (2 vCPUs)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    model = args.model or model_path(ROOT)
    if not model.exists():
        model = sorted((ROOT / "models").glob("*.tar.gz"))[-1]
    order = [n for i in range(args.rounds) for n in ((1, 2) if i % 2 == 0 else (2, 1))]
    print(f"model {model.name}; rounds {order}; load average {os.getloadavg()} on {os.cpu_count()} CPUs", flush=True)
    started, taken = time.monotonic(), set[int]()
    rounds = [run_round(i + 1, n, args, model, taken) for i, n in enumerate(order)]
    print(f"load average after the run: {os.getloadavg()}; whole run {time.monotonic() - started:.0f} s")
    one, two = (combine(rounds, n, args.concurrency) for n in (1, 2))
    report(one, two, args.concurrency)
    if args.json:
        keep = {
            n: {
                "load": r["load"],
                "up_s": r["up_s"],
                "peak_rss_kb": r["peaks"].rss,
                "peak_pss_kb": r["peaks"].pss,
                "total_rss_kb": r["peaks"].total_rss,
                "total_pss_kb": r["peaks"].total_pss,
                "vmhwm_kb": r["hwm"],
                "cores_busy": r["cpu"],
            }
            for n, r in ((1, one), (2, two))
        }
        args.json.write_text(json.dumps(keep, indent=1))
    if args.plot:
        plot(Path(args.plot), one, two, args.concurrency, args.title)
        print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
