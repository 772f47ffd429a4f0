"""Benchmark: start-up time and memory of the real action server and app, the province (SERVED_CITIES=33) against
Quzhou alone (3308), side by side in one run; and one registry refresh at the province's size.

For each deployment, on a database of its own (SQLite in a temporary directory, or a PostgreSQL schema with
`--postgres URL`): migrate (Quzhou's 1,774 sites come with migration 0002), load the served cities' default registry
as `make sites-default` does (timed), then start the action server and the app exactly as `make run` does
(sharedcourt.cli.procs; no Rasa, which never reads the registry) and time each to its health endpoint answering
(action server `/health`, app `/livez`), and the action server to `/ready` (it loads the gazetteer and reads the
registry from the database as soon as it listens: sharedcourt.sites.live). Then a few requests:
- the action server gets Rasa's webhook call for `action_find_site` with the resident's place as text (what Rasa
  sends for "我在…"), three places of the served area (villages: each answer chooses a site), the first timed as
  "first site answer" (`--no-wait-ready` sends it right after `/health`, joining the load in flight);
- the app gets `/livez`, `/readyz` and three web chat messages (held while Rasa is down, as in an outage).
Memory is each process's peak resident size (VmHWM in /proc/<pid>/status) after those requests.

The registry refresh (`SiteRegistry.from_session`: the action server reads the active sites again in the
background when an import changed them, or every five minutes, sharedcourt.sites.live) is timed in this process,
best and median of `--refreshes` reads, with the gazetteer already loaded, as it is in the server.

Usage (PYTHONPATH: this checkout's package, not the one the venv was installed from):
  PYTHONPATH=. .venv/app/bin/python bench/bench_startup.py [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from sharedcourt.cli.procs import APP_PYTHON, Stack, app_env, free_port, start_actions, start_app
from sharedcourt.db.migrate import upgrade
from sharedcourt.db.session import make_engine, make_sessionmaker
from sharedcourt.settings import ROOT, SECRET_KEYS, Settings
from sharedcourt.sites.places import Gazetteer
from sharedcourt.sites.registry import SiteRegistry
from sharedcourt.sites.served import PROVINCE_SITES, parse_cities

# Villages of the served area, said as a resident says them: each answer needs the registry (the site is chosen).
DEPLOYMENTS = {
    "3308": ("柯城区白云街道白云社区", "江山市清湖街道七里社区", "衢州市柯城区白云街道新湖社区"),
    "33": ("温州市鹿城区五马街道鼓楼社区", "杭州市西湖区北山街道宝石社区", "宁波市海曙区南门街道澄浪社区"),
}


@dataclass
class Figures:
    """What one deployment measured."""

    cities: str
    sites: int = 0
    import_s: float = 0.0
    ready_s: dict[str, float] = field(default_factory=dict)  # actions (/health), loaded (/ready), app (/livez)
    first_answer_s: float = 0.0
    hwm_mib: dict[str, float] = field(default_factory=dict)
    refresh_s: list[float] = field(default_factory=list)


@contextlib.contextmanager
def database(postgres: str | None, directory: Path) -> Iterator[str]:
    """A migrated database of its own: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if postgres is None:
        url = f"sqlite:///{directory / 'bench.db'}"
        upgrade(url)
        yield url
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{postgres}?options=-csearch_path%3D{schema}"
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(postgres, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def settings_for(url: str, cities: str) -> Settings:
    """A deployment on free ports with fresh secrets (the app refuses empty ones)."""
    env = {
        "DATABASE_URL": url,
        "SERVED_CITIES": cities,
        "PORT": str(free_port()),
        "RASA_URL": f"http://127.0.0.1:{free_port()}",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{free_port()}",
        **{name.upper(): secrets.token_urlsafe(32) for name in SECRET_KEYS},
    }
    return Settings.from_env(env)


def load_registry(settings: Settings) -> float:
    """`make sites-default` for the served cities; seconds."""
    started = time.monotonic()
    cmd = [str(APP_PYTHON), "-m", "sharedcourt.cli", "sites-import", str(PROVINCE_SITES), "--served"]
    subprocess.run(cmd, cwd=ROOT, env=app_env(settings), check=True, capture_output=True, timeout=900)
    return time.monotonic() - started


def vm_hwm_mib(pid: int) -> float:
    """Peak resident set size of a process (VmHWM), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


def find_site_call(text: str, sender: str) -> dict[str, Any]:
    """The webhook body Rasa sends for `action_find_site` after the resident typed `text`."""
    latest = {"text": text, "intent": {"name": "find_site", "confidence": 1.0}, "entities": []}
    tracker = {
        "sender_id": sender,
        "slots": {},
        "latest_message": latest,
        "events": [{"event": "user", "text": text, "parse_data": latest}],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    return {"next_action": "action_find_site", "sender_id": sender, "tracker": tracker, "domain": {}, "version": "3.6"}


def requests(settings: Settings, places: tuple[str, ...]) -> float:
    """The few requests of the module docstring; returns the seconds of the first site answer."""
    token = {"Authorization": f"Bearer {settings.action_server_token}"}
    first = 0.0
    with httpx.Client(timeout=120) as client:
        for i, place in enumerate(places):
            started = time.monotonic()
            body = find_site_call(place, f"bench-{uuid.uuid4().hex[:8]}")
            response = client.post(f"{settings.action_server_url}/webhook", json=body, headers=token)
            response.raise_for_status()
            said = " ".join(str(r.get("text") or "") for r in response.json().get("responses", []))
            if "共享法庭" not in said:
                raise RuntimeError(f"unexpected answer for {place}: {said[:200]}")
            if i == 0:
                first = time.monotonic() - started
        app = f"http://127.0.0.1:{settings.port}"
        client.get(f"{app}/livez").raise_for_status()
        client.get(f"{app}/readyz")  # 503 while Rasa is down: still a request served
        for text in ("你好", "我想调解", places[0]):
            client.post(f"{app}/webchat/messages", json={"text": text}).raise_for_status()
    return first


async def refreshes(url: str, cities: str, n: int) -> tuple[int, list[float]]:
    """Sites in the registry and the seconds of `n` registry reads (the action server's refresh)."""
    gazetteer = Gazetteer.load(cities=parse_cities(cities))
    engine = make_engine(url)
    times = []
    try:
        sessions = make_sessionmaker(engine)
        size = 0
        for _ in range(n):
            async with sessions() as session:
                started = time.monotonic()
                size = len(await SiteRegistry.from_session(session, gazetteer))
                times.append(time.monotonic() - started)
        return size, times
    finally:
        await engine.dispose()


def measure(cities: str, postgres: str | None, refresh_count: int, wait_ready: bool = True) -> Figures:
    """One deployment: its database, its registry, its two servers, its requests."""
    figures = Figures(cities)
    with tempfile.TemporaryDirectory() as tmp, database(postgres, Path(tmp)) as url:
        settings = settings_for(url, cities)
        if cities != "3308":
            figures.import_s = load_registry(settings)
        stack = Stack(settings, Path(tmp) / "logs")
        try:
            started = time.monotonic()
            start_actions(stack)
            start_app(stack)
            stack.wait_healthy("actions", f"{settings.action_server_url}/health", 300)
            figures.ready_s["actions"] = time.monotonic() - started
            stack.wait_healthy("app", f"http://127.0.0.1:{settings.port}/livez", 300)
            figures.ready_s["app"] = time.monotonic() - started
            if wait_ready:
                stack.wait_healthy("actions", f"{settings.action_server_url}/ready", 300)
                figures.ready_s["loaded"] = time.monotonic() - started
            figures.first_answer_s = requests(settings, DEPLOYMENTS[cities])
            figures.hwm_mib = {name: vm_hwm_mib(proc.pid) for name, proc in stack.procs.items()}
        finally:
            stack.stop()
        figures.sites, figures.refresh_s = asyncio.run(refreshes(url, cities, refresh_count))
    return figures


def report(rows: list[Figures]) -> None:
    """A markdown table, one column per deployment."""
    lines: list[tuple[str, Any]] = [
        ("active sites in the database", lambda f: f"{f.sites:,}"),
        ("`make sites-default` (import)", lambda f: f"{f.import_s:.1f} s" if f.import_s else "(migration 0002)"),
        ("action server: start to /health", lambda f: f"{f.ready_s['actions']:.2f} s"),
        (
            "action server: start to /ready (places and sites loaded)",
            lambda f: f"{f.ready_s['loaded']:.2f} s" if "loaded" in f.ready_s else "(not waited)",
        ),
        ("app: start to /livez", lambda f: f"{f.ready_s['app']:.2f} s"),
        ("first site answer", lambda f: f"{f.first_answer_s:.2f} s"),
        ("action server VmHWM after the requests", lambda f: f"{f.hwm_mib['actions']:.0f} MiB"),
        ("app VmHWM after the requests", lambda f: f"{f.hwm_mib['app']:.0f} MiB"),
        (
            "registry refresh (`from_session`), best / median",
            lambda f: f"{min(f.refresh_s) * 1e3:.0f} ms / {statistics.median(f.refresh_s) * 1e3:.0f} ms",
        ),
    ]
    print("| figure | " + " | ".join(f"SERVED_CITIES={f.cities}" for f in rows) + " |")
    print("|---|" + "---|" * len(rows))
    for label, get in lines:
        print(f"| {label} | " + " | ".join(get(f) for f in rows) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a schema of its own per deployment)")
    parser.add_argument("--refreshes", type=int, default=5)
    parser.add_argument("--no-wait-ready", action="store_true", help="first request right after /health")
    args = parser.parse_args()
    rows = []
    for cities in DEPLOYMENTS:
        rows.append(measure(cities, args.postgres, args.refreshes, not args.no_wait_ready))
        print(f"measured SERVED_CITIES={cities}", flush=True)
    report(rows)


if __name__ == "__main__":
    main()
