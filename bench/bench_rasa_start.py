"""Benchmark: a Rasa process's start as `make run` starts it, to its port and to its first answer, model A vs B.

Each round spawns Rasa exactly as sharedcourt.cli.procs does (bot/boot/rasa_run.py with its boot patches, the
endpoints of bot/endpoints.yml, a SQLite tracker store of the round's own, no action server: the first message
is a greeting, which needs none) and times, from the spawn: Rasa's port answering `GET /` (Rasa opens it only
once the model is loaded) and the first answer to a message on its REST channel. Models alternate A, B, B, A, …
(`--rounds` pairs) so a drift of the machine's load falls on both. Printed: each run, then the median per model.

Usage: .venv/app/bin/python bench/bench_rasa_start.py --model A.tar.gz --model B.tar.gz [--rounds 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sharedcourt.cli.procs import ROOT, free_port, rasa_env, rasa_run_cmd
from sharedcourt.settings import Settings

GREETING = "你好"


def start_once(model: Path) -> dict[str, float]:
    """Spawn one Rasa, time it to its port and its first answer, stop it."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {
            **os.environ,
            "RASA_URL": f"http://127.0.0.1:{port}",
            "ACTION_SERVER_URL": f"http://127.0.0.1:{free_port()}",
            "RASA_TRACKER_URL": f"sqlite:///{tmp}/tracker.db",
            "DATABASE_URL": f"sqlite:///{tmp}/app.db",
            "RASA_JWT_SECRET": uuid.uuid4().hex,
            "ACTION_SERVER_TOKEN": uuid.uuid4().hex,
        }
        settings = Settings.from_env(env, env_file=Path("/nonexistent"))
        log = (Path(tmp) / "rasa.log").open("wb")
        started = time.monotonic()
        proc = subprocess.Popen(
            rasa_run_cmd(settings, model),
            cwd=ROOT,
            env={**rasa_env(settings), "RASA_JWT_SECRET": settings.rasa_jwt_secret},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = settings.rasa_url
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"rasa exited with {proc.returncode}: {(Path(tmp) / 'rasa.log').read_text()[-2000:]}"
                    )
                try:
                    if httpx.get(f"{url}/", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
            port_open = time.monotonic() - started
            r = httpx.post(f"{url}/webhooks/rest/webhook", json={"sender": "bench", "message": GREETING}, timeout=120)
            r.raise_for_status()
            answered = time.monotonic() - started
            return {"port": port_open, "first_answer": answered, "replies": float(len(r.json()))}
        finally:
            proc.terminate()
            proc.wait(60)
            log.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, action="append", required=True, help="twice: A then B")
    parser.add_argument("--rounds", type=int, default=2, help="pairs: A, B, B, A, …")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if len(args.model) != 2:
        parser.error("give --model twice")
    order = [m for i in range(args.rounds) for m in (args.model if i % 2 == 0 else args.model[::-1])]
    runs: dict[str, list[dict[str, float]]] = {m.name: [] for m in args.model}
    for model in order:
        load = os.getloadavg()[0]
        got = start_once(model)
        runs[model.name].append({**got, "load": load})
        print(
            f"{model.name}: port {got['port']:.1f} s, first answer {got['first_answer']:.1f} s (load {load:.1f})",
            flush=True,
        )
    print("| model | port open (median) | first answer (median) | runs |")
    print("|---|---|---|---|")
    for name, rows in runs.items():
        port = statistics.median(r["port"] for r in rows)
        first = statistics.median(r["first_answer"] for r in rows)
        print(f"| {name} | {port:.1f} s | {first:.1f} s | {len(rows)} |")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
