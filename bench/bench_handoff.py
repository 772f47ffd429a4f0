"""Benchmark: handoff latency through the whole system (web chat -> Rasa -> action server -> app -> DingTalk).

Starts the real system (action server, Rasa, the app) on free ports with a fresh SQLite database and the local
DingTalk stand-in (tests/stand_ins/dingtalk_server.py) as DINGTALK_API_BASE, then for each of N residents:

1. the resident describes a dispute in web chat, then asks for a person ("我要找调解员");
   measured: request -> the person's DingTalk card arrives at the stand-in (the stand-in records arrival time);
2. the person presses 接单 on the card (a signed robot callback);
   measured: acceptance -> the resident's web chat holds the "已接单" notice (GET /webchat/messages, 10 ms polls);
3. the person types a first reply in DingTalk;
   measured: the person's reply -> the resident's web chat holds it (10 ms polls);
4. the person hands back (交还), so the next resident starts clean.

The web page itself polls every 2 s, which adds 0-2 s (1 s on average) to what a resident on the page perceives;
WeChat residents get the reply pushed (customer-service message) without that delay.

Usage: .venv/app/bin/python bench/bench_handoff.py [--n 30] [--model path/to/model.tar.gz]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from stand_ins.dingtalk_server import DingTalkStandIn  # noqa: E402

from sharedcourt.cli.procs import free_port, model_path, running  # noqa: E402
from sharedcourt.handoff.staff_routing import ROSTER_FILE  # noqa: E402
from sharedcourt.settings import Settings  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def always_on_duty(tmp: Path) -> Path:
    """The sample roster on duty round the clock, so the figures do not depend on the hour the bench runs."""
    data = yaml.safe_load(ROSTER_FILE.read_text(encoding="utf-8"))
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    data["schedules"] = {name: {d: ["00:00-24:00"] for d in days} for name in data["schedules"]}
    path = tmp / "roster.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def wait_seen(url: str, sender: str, after: int, contains: str, timeout: float = 30) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = httpx.get(f"{url}/webchat/messages", params={"sender": sender, "after": after}, timeout=10).json()
        if any(contains in m["text"] for m in data["messages"]):
            return time.monotonic()
        time.sleep(0.01)
    raise TimeoutError(f"{sender} never saw {contains!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    model = args.model or model_path()
    if not model.exists():
        print(f"no model {model}; run `make train` or pass --model", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp, DingTalkStandIn() as dingtalk:
        settings = Settings.from_env(
            {
                "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
                "PORT": str(free_port()),
                "RASA_URL": f"http://127.0.0.1:{free_port()}",
                "ACTION_SERVER_URL": f"http://127.0.0.1:{free_port()}",
                "RASA_TOKEN": uuid.uuid4().hex,
                **dingtalk.settings(),
                "HANDOFF_ROSTER": str(always_on_duty(Path(tmp))),
            }
        )
        url = f"http://127.0.0.1:{settings.port}"
        to_card: list[float] = []
        to_notice: list[float] = []
        to_reply: list[float] = []
        with running(settings, model=model, log_dir=Path(tmp) / "logs"):
            for i in range(args.n + 1):  # the first round warms every process up and is not counted
                sender = f"bench-{uuid.uuid4().hex[:10]}"
                httpx.post(
                    f"{url}/webchat/messages", json={"sender": sender, "text": "邻居装修把我家墙震裂了"}, timeout=60
                )
                before = len(dingtalk.sent)
                asked = time.monotonic()
                httpx.post(f"{url}/webchat/messages", json={"sender": sender, "text": "我要找调解员"}, timeout=60)
                card = dingtalk.wait_for(None, "居民请求人工服务", after=before, timeout=30)
                person = card.users[0]
                cursor = httpx.get(f"{url}/webchat/messages", params={"sender": sender}, timeout=10).json()["cursor"]
                pressed = time.monotonic()
                dingtalk.say(url, person, card.buttons()["接单"]).raise_for_status()
                notice = wait_seen(url, sender, cursor, "已接单")
                typed = time.monotonic()
                dingtalk.say(url, person, f"您好，我是调解员，第{i}位居民").raise_for_status()
                reply = wait_seen(url, sender, cursor, f"第{i}位居民")
                dingtalk.say(url, person, "交还").raise_for_status()
                if i:
                    to_card.append(card.at - asked)
                    to_notice.append(notice - pressed)
                    to_reply.append(reply - typed)
    rows = [
        ("request -> person's DingTalk card", to_card),
        ("acceptance -> resident sees the 已接单 notice", to_notice),
        ("person's first reply -> resident sees it", to_reply),
    ]
    print(f"handoff latency over {args.n} residents (SQLite, 2 vCPU, DingTalk stand-in on localhost)")
    print(f"{'measure':48} {'median ms':>10} {'p95 ms':>10} {'max ms':>10}")
    for name, values in rows:
        print(
            f"{name:48} {statistics.median(values) * 1000:10.0f} {pct(values, 0.95) * 1000:10.0f} "
            f"{max(values) * 1000:10.0f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
