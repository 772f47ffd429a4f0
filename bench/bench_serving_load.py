"""Benchmark: Rasa's own model load vs the serving load (bot/boot/serving_load.py), side by side in one run.

Runs `bench/bench_model_load.py` in fresh interpreters, alternating the two modes (ROUNDS each, the order
rotated every round), and prints per mode the median of each step, their ratio, and whether every parse
(intent ranking to 4 decimals, entities) and every dialogue prediction of the fixed texts was identical
between the modes. JSON last line.

Usage: .venv/app/bin/python bench/bench_serving_load.py [--rounds 2] [--model models/x.tar.gz]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"
STEPS = (
    "all imports",
    "load_agent (unpack + domain + every component)",
    "first parse",
    "parse, median of 20",
    "dialogue prediction (policies), median of 20",
    "total",
)


def run_once(serving: bool, model: Path | None) -> dict[str, Any]:
    """One fresh interpreter loading the model in one mode; its figures."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [str(RASA_PYTHON), str(ROOT / "bench" / "bench_model_load.py"), "--json", out.name]
        command += ["--serving"] if serving else []
        command += ["--model", str(model)] if model else []
        subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        figures: dict[str, Any] = json.loads(Path(out.name).read_text())
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {"rasa": [], "serving": []}
    load = [os.getloadavg()[0]]
    for round_number in range(args.rounds):
        order = ("rasa", "serving") if round_number % 2 == 0 else ("serving", "rasa")
        for mode in order:
            runs[mode].append(run_once(mode == "serving", args.model))
            load.append(os.getloadavg()[0])
            print(f"round {round_number + 1}: {mode} total {runs[mode][-1]['total']:.1f} s", file=sys.stderr)
    # The fixed steps, then each component load over half a second (the graph node names vary by config).
    slow_loads = [k for k, v in runs["rasa"][0].items() if k.startswith("load ") and isinstance(v, float) and v > 0.5]
    steps = [s for s in (*STEPS, *slow_loads) if all(s in r for rs in runs.values() for r in rs)]
    medians = {mode: {s: statistics.median(r[s] for r in rs) for s in steps} for mode, rs in runs.items()}
    identical_parses = all(r["parses"] == runs["rasa"][0]["parses"] for rs in runs.values() for r in rs)
    identical_predictions = all(r["predictions"] == runs["rasa"][0]["predictions"] for rs in runs.values() for r in rs)
    reference = runs["rasa"][0]["predictions"]
    for mode, rs in runs.items():
        for number, r in enumerate(rs):
            for text, prediction in r["predictions"].items():
                if prediction != reference[text]:
                    print(f"differs: {mode} {number + 1} {text}: {prediction} vs {reference[text]}", file=sys.stderr)
    print(f"| step | Rasa's load | serving load | ratio |  (medians of {args.rounds} runs each)")
    print("|---|---|---|---|")
    for step in steps:
        before, after = medians["rasa"][step], medians["serving"][step]
        print(f"| {step} | {before:.2f} s | {after:.2f} s | ×{after / before:.2f} |")
    report = {
        "rounds": args.rounds,
        "medians": medians,
        "identical_parses": identical_parses,
        "identical_predictions": identical_predictions,
        "load_average": [round(x, 1) for x in load],
    }
    print(json.dumps(report, ensure_ascii=False))
    return 0 if identical_parses and identical_predictions else 1


if __name__ == "__main__":
    raise SystemExit(main())
