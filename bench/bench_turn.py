"""Benchmark: a Rasa turn with Rasa's own action-answer validation against the one-validator boot, side by side.

py-spy on the Rasa process under load (docs/BENCHMARKS.md, "Where a turn's time goes") found 63 % of its CPU in
`jsonschema.validate` re-checking the action-answer schema on every action server call. bot/boot/action_results.py
checks it once. Two Rasa processes serve the same model, the same action server and one PostgreSQL database made
for the run: "rest_rasa_own" boots with the serving load only (as before), "rest_patched_boot" boots as
`make run` does (bot/boot/rasa_run.py). Fresh senders send the five texts of bench/bench_frontdoor.py through each
REST channel; blocks alternate which goes first (`measure` of bench_frontdoor), so ratios come from one run.

Usage: .venv/app/bin/python bench/bench_turn.py [--concurrency 1 10 50] [--rounds 3] [--model M]
    [--plot docs/plots/bench_turn.png] [--json out.json] [--before serving_load action_results …]
    (--before: the bot/boot patches "rest_rasa_own" boots with, to measure one patch against the rest)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_frontdoor import bench_settings, database, measure, plot  # noqa: E402

from sharedcourt.cli.procs import RASA_PYTHON, Stack, free_port, rasa_env, rasa_run_cmd, start_actions  # noqa: E402
from sharedcourt.db.migrate import upgrade  # noqa: E402


def own_boot(patches: list[str]) -> str:
    """Rasa booted with only the given bot/boot patches (default: the serving load, as before this bench)."""
    installs = "".join(f"import {p}; {p}.install(); " for p in patches)
    return (
        f"import sys; sys.path.insert(0, 'bot/boot'); {installs}"
        "from rasa.__main__ import main; sys.argv = ['rasa', *sys.argv[1:]]; sys.exit(main())"
    )


def start_both(stack: Stack, model: Path, before: list[str]) -> dict[str, str]:
    """Both Rasa processes on free ports; returns their URLs by path name."""
    settings = stack.settings
    env = {**rasa_env(settings), "RASA_JWT_SECRET": settings.rasa_jwt_secret}
    urls = {}
    for name in ("rest_rasa_own", "rest_patched_boot"):
        port = free_port()
        cmd = rasa_run_cmd(settings, model)
        cmd[cmd.index("-p") + 1] = str(port)
        if name == "rest_rasa_own":
            cmd = [str(RASA_PYTHON), "-c", own_boot(before), *cmd[2:], f"--jwt-secret={settings.rasa_jwt_secret}"]
        stack.start(name, cmd, env)
        urls[name] = f"http://127.0.0.1:{port}"
    for name, url in urls.items():
        stack.wait_healthy(name, f"{url}/", 900)
    return urls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--plot", default="docs/plots/bench_turn.png")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--before", nargs="+", default=["serving_load"], help="bot/boot patches of 'Rasa's own'")
    args = parser.parse_args()
    model = args.model or sorted((ROOT / "models").glob("*.tar.gz"))[-1]
    print(f"load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
    with database() as url, tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(url)
        upgrade(settings.database_url)
        stack = Stack(settings, Path(tmp) / "logs")
        try:
            started = time.monotonic()
            start_actions(stack)
            stack.wait_healthy("actions", f"{settings.action_server_url}/health", 60)
            urls = start_both(stack, model, args.before)
            print(f"stack up in {time.monotonic() - started:.0f} s", flush=True)
            results = asyncio.run(measure(urls, args.concurrency, args.rounds))
        finally:
            stack.stop()
    print(f"load average after the run: {os.getloadavg()[0]:.1f}")
    for row in results:
        own, one = row["rest_rasa_own"], row["rest_patched_boot"]
        print(
            f"c={row['concurrency']:3d}  p50 {own['p50_ms']:.0f} -> {one['p50_ms']:.0f} ms "
            f"(x{one['p50_ms'] / own['p50_ms']:.2f})  p99 {own['p99_ms']:.0f} -> {one['p99_ms']:.0f} ms "
            f"(x{one['p99_ms'] / own['p99_ms']:.2f})  turns/s {own['turns_per_s']:.1f} -> {one['turns_per_s']:.1f} "
            f"(x{one['turns_per_s'] / own['turns_per_s']:.2f})"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if args.plot:
        plot(Path(args.plot), results, "A Rasa turn: Rasa's own boot vs bot/boot's patches, same run")
        print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
