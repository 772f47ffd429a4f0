"""NLU benchmark: model load time and parse latency (p50/p95) of the trained model, on this machine.

Usage: .venv/app/bin/python bench/bench_nlu.py [--n 300]
Training time is what `make train` prints ("model trained in N s"); this script times loading and parsing.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from dataclasses import replace
from pathlib import Path

import httpx

from sharedcourt.cli.procs import Stack, free_port, model_path, start_rasa
from sharedcourt.clients.rasa import bearer_token
from sharedcourt.settings import Settings

# Varied resident texts written for this benchmark (not evaluation data).
TEXTS = [
    "你好",
    "我要找调解员",
    "老板拖欠我三个月工资两万三一直不给",
    "楼上漏水好几个月了物业也不管",
    "我老公天天喝酒打人我想离婚孩子才三岁怎么办",
    "邻居家的树挡住了我家的光线说了也不听",
    "去年借给朋友五万块钱到现在都不还",
    "在超市买到过期食品商家不肯退款",
    "骑电动车被汽车撞了对方保险公司不赔",
    "装修公司拿了钱活干了一半就跑了",
    "村里征地补偿款一直没发到我手上",
    "判决都下来半年了对方就是不还钱",
    "离我最近的共享法庭在哪",
    "我的预约",
    "江山贺村",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    model = model_path()
    if not model.exists():
        raise SystemExit(f"no model {model.name}: run `make train` first")
    settings = replace(
        Settings.from_env(),
        rasa_url=f"http://127.0.0.1:{free_port()}",
        rasa_jwt_secret=uuid.uuid4().hex + uuid.uuid4().hex,
        action_server_token=uuid.uuid4().hex,
    )
    stack = Stack(settings, Path("var/log/bench"))
    started = time.monotonic()
    start_rasa(stack, model)
    try:
        load = stack.wait_healthy("rasa", f"{settings.rasa_url}/", 300)
        # One token for the whole run: the benchmark times parsing, and finishes well within an hour.
        auth = {"Authorization": f"Bearer {bearer_token(settings.rasa_jwt_secret, lifetime=3600)}"}
        with httpx.Client(base_url=settings.rasa_url, timeout=30, headers=auth) as client:
            for text in TEXTS:  # warm-up
                client.post("/model/parse", json={"text": text})
            latencies = []
            for i in range(args.n):
                t = time.perf_counter()
                r = client.post("/model/parse", json={"text": TEXTS[i % len(TEXTS)]})
                r.raise_for_status()
                latencies.append((time.perf_counter() - t) * 1000)
    finally:
        stack.stop()
    print(f"model: {model.name} ({model.stat().st_size / 1e6:.1f} MB)")
    print(f"model load (process start -> healthy): {load:.1f} s (wall since spawn {time.monotonic() - started:.1f} s)")
    print(
        f"parse latency over {args.n} requests: p50 {statistics.median(latencies):.1f} ms, "
        f"p95 {percentile(latencies, 0.95):.1f} ms, max {max(latencies):.1f} ms"
    )


if __name__ == "__main__":
    main()
