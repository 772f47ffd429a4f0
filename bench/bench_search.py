"""Benchmark: conversation search over 100,000 stored messages, trigram index vs a plain LIKE scan.

A fresh private schema on TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test) and a fresh SQLite
file are migrated (0010 builds the pg_trgm GIN index, and the FTS5 trigram table with its triggers), then loaded with
N messages of generated colloquial Chinese (seed 5): residents describing disputes with names, Quzhou places,
amounts and dates, and the assistant's questions, 10 messages per conversation, conversations spread over a year.

Each query goes through `sharedcourt.review.search.search_conversations` (first page, 50 newest conversations), R
times after one warm-up, in two phases in the same run on the same data:
- index: as shipped (PostgreSQL: ILIKE served by the GIN trigram index; SQLite: FTS5 MATCH);
- scan: PostgreSQL with the trigram index dropped (same SQL); SQLite with the LIKE predicate the 1-2 character
  fallback uses (same outer query), i.e. what a table scan costs.
Queries of 1-2 characters always scan (trigram indexes need three); they are listed for completeness.

Usage: .venv/app/bin/python bench/bench_search.py [--messages 100000] [--repeat 15] [--plot docs/plots/bench_search.png]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sharedcourt.db.migrate import upgrade  # noqa: E402
from sharedcourt.db.session import make_engine, make_sessionmaker  # noqa: E402
from sharedcourt.review import search  # noqa: E402
from sharedcourt.review.search import SearchQuery, search_conversations  # noqa: E402

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
START = dt.datetime(2025, 12, 1, tzinfo=dt.timezone.utc)
PER_CONVERSATION = 10
QUERIES = (
    "拖欠工资",
    "装修噪音",
    "白云街道",
    "交通事故认定书",
    "王建国",
    "借条",
    "物业费",
    "离婚协议",
    "张家口",
    "区块链",
    "欧阳",
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文辉鹏飞玲红梅兰海波宇浩"
PLACES = (
    "柯城区白云街道", "柯城区府山街道", "衢江区樟潭街道", "衢江区浮石街道", "龙游县东华街道", "江山市贺村镇",
    "常山县天马街道", "开化县华埠镇", "柯城区石室乡", "衢江区廿里镇", "龙游县湖镇镇", "江山市虎山街道",
)  # fmt: skip
RESIDENT = (
    "{name}欠我{amount}块钱一直不还，{when}借的，有借条",
    "老板拖欠工资{months}个月了，工地在{place}，一共{amount}",
    "楼上邻居半夜装修噪音很大，说了好几次也不听，我住{place}",
    "我在{place}被电动车撞了，交警出了交通事故认定书，对方是{name}",
    "物业费每年涨，小区里电梯坏了{months}个月也不修，物业说没钱",
    "我和老公想离婚，离婚协议写好了，孩子{months}岁跟我，财产怎么分",
    "{name}家的狗咬了我儿子，医药费花了{amount}，他不肯赔",
    "村里分宅基地不公平，{name}占了我家的地，村委会调解过没用",
    "租的房子到期了房东{name}不退押金{amount}元，合同写得清清楚楚",
    "网上买的东西有质量问题，商家不给退，花了{amount}",
    "{when}在{place}的饭店吃饭食物中毒，饭店老板不认账",
    "我想问一下共享法庭在哪里，{place}有没有，周末开门吗",
)
BOT = (
    "请问对方是谁？是个人还是单位，和您是什么关系？",
    "能具体说说事情经过吗？发生了什么，现在是什么情况？",
    "这件事大概是什么时候发生的？",
    "涉及的金额大概是多少？",
    "您希望怎么解决？",
    "好的，已为您登记，调解员会尽快联系您。",
)
WHEN = ("去年十月", "上个月", "前年", "三月份", "上周三", "今年春节前")


def sentence(rng: random.Random, outbound: bool) -> str:
    if outbound:
        return rng.choice(BOT)
    template = rng.choice(RESIDENT)
    return template.format(
        name=rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2))),
        amount=rng.choice(("两万", "三千多", "5000", "1.2万", "八百", "十来万")),
        when=rng.choice(WHEN),
        months=rng.randint(2, 11),
        place=rng.choice(PLACES),
    )


def rows(n: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Residents, conversations and messages as plain tuples (seeded, the same for both databases)."""
    rng = random.Random(5)
    conversations = max(1, n // PER_CONVERSATION)
    residents, convs, messages = [], [], []
    for c in range(conversations):
        at = START + dt.timedelta(minutes=rng.randint(0, 365 * 24 * 60))
        residents.append((c + 1, "bench", f"u{c}", False, True, at, at))
        convs.append((uuid.UUID(int=rng.getrandbits(128)).hex, c + 1, "bench", "bot", at, at))
    for i in range(n):
        conv_id, _, _, _, created, _ = convs[i % conversations]
        outbound = i % 2 == 1
        messages.append(
            (
                conv_id,
                "out" if outbound else "in",
                "bench",
                "text",
                "bot" if outbound else "resident",
                sentence(rng, outbound),
                "{}",
                "processed",
                False,
                created,
            )
        )
    return residents, convs, messages


RESIDENT_SQL = (
    "INSERT INTO residents (id, channel, channel_user_id, is_staff, subscribed, created_at, last_seen_at) VALUES ({})"
)
CONV_SQL = "INSERT INTO conversations (id, resident_id, channel, mode, created_at, updated_at) VALUES ({})"
MESSAGE_SQL = (
    "INSERT INTO messages (conversation_id, direction, channel, kind, author, text, payload, status, turn_unsure, "
    "created_at) VALUES ({})"
)


def load_sqlite(path: Path, data: tuple[list[Any], ...]) -> float:
    started = time.perf_counter()
    with sqlite3.connect(path) as conn:
        for sql, values in zip((RESIDENT_SQL, CONV_SQL, MESSAGE_SQL), data, strict=True):
            conn.executemany(sql.format(", ".join("?" * len(values[0]))), values)
        conn.execute("ANALYZE")
    return time.perf_counter() - started


def load_postgres(url: str, data: tuple[list[Any], ...]) -> tuple[float, float]:
    """Load the rows (index dropped while loading, as a bulk import would), then build the index: both timed."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP INDEX ix_messages_text_trgm")
        started = time.perf_counter()
        with conn.cursor() as cur:
            for sql, values in zip((RESIDENT_SQL, CONV_SQL, MESSAGE_SQL), data, strict=True):
                cur.executemany(sql.format(", ".join(["%s"] * len(values[0]))), values)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute("CREATE INDEX ix_messages_text_trgm ON messages USING gin (text public.gin_trgm_ops)")
        conn.execute("ANALYZE")
        return loaded, time.perf_counter() - started


async def measure(url: str, repeat: int) -> dict[str, list[float]]:
    """Milliseconds per query (first page), warm-up excluded, and the number of conversations found."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    out: dict[str, list[float]] = {}
    try:
        for q in QUERIES:
            times = []
            for i in range(repeat + 1):
                async with sessions() as session:
                    started = time.perf_counter()
                    page = await search_conversations(session, SearchQuery(q=q, limit=50))
                    elapsed = (time.perf_counter() - started) * 1000
                if i:
                    times.append(elapsed)
            out[q] = times
            out[q + "#hits"] = [float(len(page.items))]
    finally:
        await engine.dispose()
    return out


def scan_predicate() -> Callable[[str, str], Any]:
    """The LIKE predicate of the short-query fallback, for every query (SQLite's scan phase)."""

    def like(_dialect: str, q: str) -> Any:
        return search.Message.text.ilike(f"%{search.escape_like(q)}%", escape="\\")

    return like


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(
    name: str, index: dict[str, list[float]], scan: dict[str, list[float]], matching: dict[str, int]
) -> list[tuple[str, ...]]:
    lines = []
    print(f"\n{name}: query | messages holding it | index p50/p95 ms | scan p50/p95 ms | scan/index p50")
    for q in QUERIES:
        i50, i95, s50, s95 = pct(index[q], 50), pct(index[q], 95), pct(scan[q], 50), pct(scan[q], 95)
        assert index[q + "#hits"] == scan[q + "#hits"], f"{q}: index and scan disagree"
        row = (q, f"{matching[q]:,}", f"{i50:.1f} / {i95:.1f}", f"{s50:.1f} / {s95:.1f}", f"×{s50 / i50:.1f}")
        print(" | ".join(row))
        lines.append(row)
    every_i = [t for q in QUERIES if len(q) >= search.TRIGRAM for t in index[q]]
    every_s = [t for q in QUERIES if len(q) >= search.TRIGRAM for t in scan[q]]
    summary = (
        "all 3+ character queries",
        "",
        f"{pct(every_i, 50):.1f} / {pct(every_i, 95):.1f}",
        f"{pct(every_s, 50):.1f} / {pct(every_s, 95):.1f}",
        f"×{pct(every_s, 50) / pct(every_i, 50):.1f}",
    )
    print(" | ".join(summary))
    return [*lines, summary]


def plot(
    path: Path,
    results: dict[str, tuple[dict[str, list[float]], dict[str, list[float]]]],
    matching: dict[str, int],
    total: int,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    queries = [q for q in QUERIES if len(q) >= search.TRIGRAM]
    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4), sharey=False)
    for ax, (name, (index, scan)) in zip(axes, results.items(), strict=True):
        xs = range(len(queries))
        ax.bar([x - 0.2 for x in xs], [pct(index[q], 50) for q in queries], 0.4, label="trigram index p50")
        ax.bar([x + 0.2 for x in xs], [pct(scan[q], 50) for q in queries], 0.4, label="LIKE scan p50")
        ax.set_xticks(list(xs), [f"q{i + 1}" for i in xs])
        ax.set_yscale("log")
        ax.set_ylabel("ms per search (first page), log scale")
        ax.set_title(name)
        ax.legend()
    title = ", ".join(f"q{i + 1}: {len(q)} chars, {matching[q]:,} msgs" for i, q in enumerate(queries))
    fig.suptitle(f"Search over {total:,} messages, newest-first page of 50 ({title})", fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


async def main_async(args: argparse.Namespace) -> int:
    data = rows(args.messages)
    results: dict[str, tuple[dict[str, list[float]], dict[str, list[float]]]] = {}
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        upgrade(url)
        loaded, indexed = load_postgres(url, data)
        print(f"PostgreSQL: {args.messages} messages loaded in {loaded:.1f} s, GIN trigram index in {indexed:.1f} s")
        index = await measure(url, args.repeat)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP INDEX ix_messages_text_trgm")
        scan = await measure(url, args.repeat)
        results["PostgreSQL"] = (index, scan)
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "search.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        loaded = load_sqlite(path, data)
        print(f"SQLite: {args.messages} messages loaded (FTS5 kept by the triggers) in {loaded:.1f} s")
        index = await measure(url, args.repeat)
        original = search._text_match
        search._text_match = scan_predicate()  # type: ignore[assignment]
        try:
            scan = await measure(url, args.repeat)
        finally:
            search._text_match = original
        results["SQLite"] = (index, scan)
    matching = {q: sum(q in m[5] for m in data[2]) for q in QUERIES}
    for name, (index, scan) in results.items():
        report(name, index, scan, matching)
    if args.plot:
        plot(Path(args.plot), results, matching, args.messages)
        print(f"\nplot: {args.plot}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--plot", default="docs/plots/bench_search.png")
    args = parser.parse_args()
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
