"""The transcript search benchmark's corpus: generated colloquial Chinese conversations, their cases and tickets.

N messages (seed 5), 10 per conversation, conversations spread over a year; residents describe disputes with names,
Quzhou places, amounts and dates, the assistant asks its questions. For the scoped (console) searches, nine in ten
conversations have a case at a site of the real registry the migrations load (seed 6, so the messages stay the
same as before cases existed), and one in five of those a ticket at the same site held by one of 50 staff.
Loaded with plain INSERTs (PostgreSQL with the trigram index dropped while loading, as a bulk import would).
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

START = dt.datetime(2025, 12, 1, tzinfo=dt.timezone.utc)
PER_CONVERSATION = 10

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


HOLDERS = tuple(f"staff-{i:02d}" for i in range(50))
CASE_SQL = (
    "INSERT INTO cases (resident_id, conversation_id, dispute_code, urgent, status, facts, site_code, summary, "
    "created_at, updated_at) VALUES ({})"
)
TICKET_SQL = (
    "INSERT INTO tickets (conversation_id, resident_id, case_id, state, rule, rule_label, reason, site_code, "
    "site_name, urgent, summary, evidence, chain, level, holder, note, requested_at, updated_at) VALUES ({})"
)


@dataclass
class Corpus:
    """What the two databases are loaded with (the same rows for both)."""

    residents: list[tuple[Any, ...]]
    conversations: list[tuple[Any, ...]]
    messages: list[tuple[Any, ...]]
    cases: list[tuple[Any, ...]]
    tickets: list[tuple[Any, ...]]

    def tables(self) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """(INSERT statement, rows) in foreign-key order."""
        return [
            (RESIDENT_SQL, self.residents),
            (CONV_SQL, self.conversations),
            (MESSAGE_SQL, self.messages),
            (CASE_SQL, self.cases),
            (TICKET_SQL, self.tickets),
        ]


def corpus(n: int, site_codes: list[str]) -> Corpus:
    """The messages of `rows`, plus cases at ``site_codes`` and tickets (ids are 1.. in insertion order)."""
    residents, convs, messages = rows(n)
    rng = random.Random(6)
    cases: list[tuple[Any, ...]] = []
    tickets: list[tuple[Any, ...]] = []
    for conv_id, resident_id, _, _, at, _ in convs:
        if rng.random() >= 0.9:
            continue  # an enquiry without a case
        site = rng.choice(site_codes)
        cases.append((resident_id, conv_id, "labor", False, "open", "{}", site, "", at, at))
        if rng.random() < 0.2:
            case_id = len(cases)
            holder = rng.choice(HOLDERS)
            tickets.append(
                (
                    conv_id,
                    resident_id,
                    case_id,
                    "accepted",
                    "site",
                    "",
                    "",
                    site,
                    "",
                    False,
                    "",
                    "[]",
                    "[]",
                    0,
                    holder,
                    "",
                    at,
                    at,
                )
            )
    return Corpus(residents, convs, messages, cases, tickets)


def site_codes_sqlite(path: Path) -> list[str]:
    """The site registry's codes (loaded by the migrations), in order."""
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT code FROM sites ORDER BY code")]


def site_codes_postgres(url: str) -> list[str]:
    """Idem on PostgreSQL (the same registry)."""
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("SELECT code FROM sites ORDER BY code")]


def load_sqlite(path: Path, data: Corpus) -> float:
    """Insert every row; seconds taken (FTS5 filled by the triggers)."""
    started = time.perf_counter()
    with sqlite3.connect(path) as conn:
        for sql, values in data.tables():
            conn.executemany(sql.format(", ".join("?" * len(values[0]))), values)
        conn.execute("ANALYZE")
    return time.perf_counter() - started


def load_postgres(url: str, data: Corpus) -> tuple[float, float]:
    """Load the rows (index dropped while loading, as a bulk import would), then build the index: both timed."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP INDEX ix_messages_text_trgm")
        started = time.perf_counter()
        with conn.cursor() as cur:
            for sql, values in data.tables():
                cur.executemany(sql.format(", ".join(["%s"] * len(values[0]))), values)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute("CREATE INDEX ix_messages_text_trgm ON messages USING gin (text public.gin_trgm_ops)")
        conn.execute("ANALYZE")
        return loaded, time.perf_counter() - started
