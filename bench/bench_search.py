"""Benchmark: conversation search over 100,000 stored messages, trigram index vs a plain LIKE scan, as the console
searches: unrestricted (admin, auditor) and within a caller's scope (dispatcher, mediator, lawyer).

A fresh private schema on TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test) and a fresh SQLite
file are migrated (0010 builds the pg_trgm GIN index, and the FTS5 trigram table with its triggers), then loaded with
the corpus of bench/search_corpus.py: N messages, 10 per conversation, cases at sites of the real registry, tickets.

Each search is the console's: `sharedcourt.web.scope.Visibility.restrict(SearchQuery(q=…, limit=50))` handed to
`sharedcourt.review.search.search_conversations` (the first page of 50 newest conversations), for four callers:
- admin: everything (no scope clause);
- dispatcher: one county (330802, 柯城区): conversations with a case or ticket at a site whose place is in it;
- mediator: one site (the one with most cases): conversations with a case or ticket there;
- lawyer: the conversations with a ticket held by one of 50 staff.
Index and scan runs are interleaved, R times each after one warm-up each, alternating which goes first:
- index: as shipped (PostgreSQL: ILIKE served by the GIN trigram index; SQLite: FTS5 MATCH);
- scan: PostgreSQL with the trigram index dropped inside the search's own transaction and rolled back after it
  (same SQL, no trigram index); SQLite with the LIKE predicate the 1-2 character fallback uses (same outer query).
Queries of 1-2 characters always scan (trigram indexes need three); they are listed for completeness.

Usage: .venv/app/bin/python bench/bench_search.py [--messages 100000] [--repeat 15] [--plot docs/plots/bench_search.png]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.search_corpus import (  # noqa: E402
    HOLDERS,
    Corpus,
    corpus,
    load_postgres,
    load_sqlite,
    site_codes_postgres,
    site_codes_sqlite,
)
from sharedcourt.db.conversation import Conversation  # noqa: E402
from sharedcourt.db.migrate import upgrade  # noqa: E402
from sharedcourt.db.session import make_engine, make_sessionmaker  # noqa: E402
from sharedcourt.review import search  # noqa: E402
from sharedcourt.review.search import SearchQuery, scope_clause, search_conversations  # noqa: E402
from sharedcourt.web.scope import Visibility  # noqa: E402

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
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
ABSENT = ("王建国", "张家口", "区块链")  # in no message: the scan reads everything in scope
COUNTY = "330802"
Timings = dict[tuple[str, str], dict[str, list[float]]]


def scopes(data: Corpus) -> dict[str, Visibility]:
    """The four callers; the mediator's site is the one with most cases (the same on both databases)."""
    per_site: dict[str, int] = {}
    for case in data.cases:
        per_site[case[6]] = per_site.get(case[6], 0) + 1
    busiest = max(sorted(per_site), key=lambda code: per_site[code])
    return {
        "admin (everything)": Visibility(everything=True),
        f"dispatcher (county {COUNTY})": Visibility(counties=frozenset({COUNTY})),
        f"mediator (site {busiest})": Visibility(sites=frozenset({busiest})),
        f"lawyer (tickets held by {HOLDERS[0]})": Visibility(holders=frozenset({HOLDERS[0]})),
    }


def scan_predicate() -> Callable[[str, str], Any]:
    """The LIKE predicate of the short-query fallback, for every query (SQLite's scan)."""

    def like(_dialect: str, q: str) -> Any:
        held = search.Message.text.ilike(f"%{search.escape_like(q)}%", escape="\\")
        return search.exists().where(search.Message.conversation_id == Conversation.id, held)

    return like


async def once(sessions: Any, query: SearchQuery, scan: bool, dialect: str) -> tuple[float, int]:
    """Milliseconds for one first page, and how many conversations it holds."""
    original = search._text_match
    async with sessions() as session:
        try:
            if scan and dialect == "postgresql":
                await session.execute(text("DROP INDEX ix_messages_text_trgm"))
            if scan and dialect == "sqlite":
                search._text_match = scan_predicate()  # type: ignore[assignment]
            started = time.perf_counter()
            page = await search_conversations(session, query)
            elapsed = (time.perf_counter() - started) * 1000
        finally:
            search._text_match = original
            await session.rollback()
    return elapsed, len(page.items)


async def measure(url: str, repeat: int, callers: dict[str, Visibility]) -> tuple[Timings, dict[str, int]]:
    """Per (caller, query): index and scan milliseconds, interleaved; and each caller's visible conversations."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    out: Timings = {}
    visible: dict[str, int] = {}
    try:
        async with sessions() as session:
            for name, visibility in callers.items():
                clause = scope_clause(visibility.restrict(SearchQuery()))
                count = select(func.count()).select_from(Conversation)
                visible[name] = await session.scalar(count.where(clause) if clause is not None else count) or 0
        for name, visibility in callers.items():
            for q in QUERIES:
                query = visibility.restrict(SearchQuery(q=q, limit=50))
                times: dict[str, list[float]] = {"index": [], "scan": [], "hits": []}
                for i in range(repeat + 1):
                    for scan in (False, True) if i % 2 == 0 else (True, False):
                        elapsed, hits = await once(sessions, query, scan, engine.dialect.name)
                        if i:
                            times["scan" if scan else "index"].append(elapsed)
                        times["hits"].append(float(hits))
                assert len(set(times["hits"])) == 1, f"{name} {q}: index and scan disagree"
                out[(name, q)] = times
    finally:
        await engine.dispose()
    return out, visible


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def pair(values: list[float]) -> str:
    return f"{pct(values, 50):.1f} / {pct(values, 95):.1f}"


def report(name: str, timings: Timings, visible: dict[str, int], matching: dict[str, int]) -> None:
    """Per caller: every query, then the 3+ character and the absent-text aggregates."""
    for caller, seen in visible.items():
        print(f"\n{name}, {caller}: {seen:,} conversations visible")
        print("query | messages holding it | conversations on page | index p50/p95 ms | scan p50/p95 ms | scan/index")
        for q in QUERIES:
            t = timings[(caller, q)]
            ratio = pct(t["scan"], 50) / pct(t["index"], 50)
            hits = int(t["hits"][0])
            print(f"{q} | {matching[q]:,} | {hits} | {pair(t['index'])} | {pair(t['scan'])} | ×{ratio:.1f}")
        for label, chosen in (
            ("all 3+ character queries", [q for q in QUERIES if len(q) >= search.TRIGRAM]),
            ("absent texts (王建国, 张家口, 区块链)", list(ABSENT)),
        ):
            index = [v for q in chosen for v in timings[(caller, q)]["index"]]
            scan = [v for q in chosen for v in timings[(caller, q)]["scan"]]
            print(f"{label} | | | {pair(index)} | {pair(scan)} | ×{pct(scan, 50) / pct(index, 50):.1f}")


def plot(path: Path, results: dict[str, Timings], matching: dict[str, int], total: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    queries = [q for q in QUERIES if len(q) >= search.TRIGRAM]
    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4), sharey=False)
    for ax, (name, timings) in zip(axes, results.items(), strict=True):
        caller = next(iter(k[0] for k in timings))
        xs = range(len(queries))
        ax.bar([x - 0.2 for x in xs], [pct(timings[(caller, q)]["index"], 50) for q in queries], 0.4, label="index")
        ax.bar([x + 0.2 for x in xs], [pct(timings[(caller, q)]["scan"], 50) for q in queries], 0.4, label="scan")
        ax.set_xticks(list(xs), [f"q{i + 1}" for i in xs])
        ax.set_yscale("log")
        ax.set_ylabel("ms per search (first page), log scale")
        ax.set_title(f"{name}, {caller}")
        ax.legend()
    title = ", ".join(f"q{i + 1}: {len(q)} chars, {matching[q]:,} msgs" for i, q in enumerate(queries))
    fig.suptitle(f"Search over {total:,} messages, newest-first page of 50 ({title})", fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


async def run_postgres(messages: int, repeat: int) -> tuple[Corpus, Timings, dict[str, int]]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        upgrade(url)
        data = corpus(messages, site_codes_postgres(url))
        loaded, indexed = load_postgres(url, data)
        print(f"PostgreSQL: {messages} messages, {len(data.cases)} cases, {len(data.tickets)} tickets loaded in "
              f"{loaded:.1f} s, GIN trigram index in {indexed:.1f} s")  # fmt: skip
        timings, visible = await measure(url, repeat, scopes(data))
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return data, timings, visible


async def main_async(args: argparse.Namespace) -> int:
    data, pg, pg_visible = await run_postgres(args.messages, args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "search.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        assert corpus(args.messages, site_codes_sqlite(path)).cases == data.cases, "the same registry on both"
        loaded = load_sqlite(path, data)
        print(f"SQLite: loaded (FTS5 kept by the triggers) in {loaded:.1f} s")
        lite, lite_visible = await measure(url, args.repeat, scopes(data))
    assert pg_visible == lite_visible, "both databases see the same conversations per caller"
    matching = {q: sum(q in m[5] for m in data.messages) for q in QUERIES}
    report("PostgreSQL", pg, pg_visible, matching)
    report("SQLite", lite, lite_visible, matching)
    if args.plot:
        plot(Path(args.plot), {"PostgreSQL": pg, "SQLite": lite}, matching, args.messages)
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
