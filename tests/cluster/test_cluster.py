"""The cluster with real processes: load through haproxy while members are SIGKILLed, WeChat retries, the outbox.

Load: CLUSTER_RESIDENTS residents (default 100) each send CLUSTER_MESSAGES messages (default 10) one after the
other through haproxy, all residents at once. Each message carries a `client_id`; a request that fails (a killed
front door, haproxy's 502/503) is sent again with the same `client_id`, and an answer that is only the holding
reply is waited for by polling. While the load runs, one Rasa replica, one action server and one front door are
killed with SIGKILL and started again. The proofs read the database, Rasa's tracker store and haproxy's log:
every message stored once and answered, in order, each turn run once by Rasa, and conversations spread across
both front doors and both Rasa replicas. The full 100 × 10 fits the CI budget on this 2-core machine: the whole
module took 7 min 45 s to 9 min 8 s while other jobs shared the machine (load average 5-12), the load itself
300-375 s (start-up about 2 min, the killed Rasa replica back after 3-4 min). Set CLUSTER_RESIDENTS /
CLUSTER_MESSAGES for a smaller or larger run; the figures of the last run go to results/cluster/report.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from sharedcourt.channels.webchat import COOKIE, new_token, resident_id
from sharedcourt.channels.wechat.quota import grant_quota
from sharedcourt.channels.wechat.render import text_item
from sharedcourt.db.session import make_engine, make_sessionmaker, unit_of_work
from sharedcourt.messaging.outbox import enqueue
from sharedcourt.settings import ROOT

from .conftest import ClusterSystem

pytestmark = pytest.mark.cluster
RESIDENTS = int(os.environ.get("CLUSTER_RESIDENTS", "100"))
MESSAGES = int(os.environ.get("CLUSTER_MESSAGES", "10"))
# Texts the bot answers in every state of these short conversations (never a request for a person).
TEXTS = ["你好", "楼上漏水好几个月了物业也不管", "谢谢", "邻居家的树挡住了我家的光线", "你好"]
ANSWER_WAIT = 600.0  # seconds one message may take, through kills and restarts, before the test gives up
KILLS = (("rasa2", 0.15), ("actions1", 0.3), ("frontdoor1", 0.45))  # member, share of messages answered first
REPORT = ROOT / "results" / "cluster" / "report.json"


@dataclass
class Tally:
    """What the residents saw."""

    sent: int = 0
    answered: int = 0
    retries: int = 0
    holding: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    frontdoors: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    message_ids: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    latencies: list[float] = field(default_factory=list)


async def _post(client: httpx.AsyncClient, tally: Tally, who: str, k: int, text: str) -> dict[str, Any]:
    """POST one message until a front door takes it (same client_id on every attempt)."""
    for attempt in range(1000):
        headers = {"X-Request-Id": f"{who[:8]}-{k}-{attempt}"}
        try:
            response = await client.post(
                "/webchat/messages", json={"text": text, "client_id": f"m{k}"}, headers=headers
            )
        except httpx.HTTPError as exc:
            tally.errors[type(exc).__name__] += 1
        else:
            if response.status_code == 200:
                tally.frontdoors[who].add(response.headers.get("X-Served-By", "?"))
                data: dict[str, Any] = response.json()
                return data
            tally.errors[f"HTTP {response.status_code}"] += 1
        tally.retries += 1
        await asyncio.sleep(1.0)
    raise AssertionError(f"message {k} of {who[:8]} never taken")


async def _answered(client: httpx.AsyncClient, message_id: int, replies: list[dict[str, Any]]) -> bool:
    """Whether a bot reply follows the message, polling until one does (the holding reply is not an answer)."""
    deadline = time.monotonic() + ANSWER_WAIT
    while not any(r.get("author") == "bot" for r in replies):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(1.0)
        try:
            response = await client.get("/webchat/messages", params={"after": message_id})
        except httpx.HTTPError:
            continue
        if response.status_code == 200:
            replies = response.json()["messages"]
    return True


async def _resident(base: str, tally: Tally, progress: asyncio.Event) -> None:
    token = new_token()
    who = resident_id(token)
    async with httpx.AsyncClient(base_url=base, timeout=120, cookies={COOKIE: token}) as client:
        for k in range(MESSAGES):
            started = time.monotonic()
            tally.sent += 1
            data = await _post(client, tally, who, k, TEXTS[k % len(TEXTS)])
            tally.message_ids[who].append(int(data["id"]))
            if any(r.get("author") == "system" for r in data["replies"]):
                tally.holding += 1
            if await _answered(client, int(data["id"]), data["replies"]):
                tally.answered += 1
                tally.latencies.append(time.monotonic() - started)
            progress.set()


async def _killer(system: ClusterSystem, tally: Tally, progress: asyncio.Event, log: list[dict[str, Any]]) -> None:
    """SIGKILL each member once its share of the load is answered, and start it again."""
    total = RESIDENTS * MESSAGES
    restarts = []
    for name, share in KILLS:
        while tally.answered < share * total:
            progress.clear()
            await progress.wait()
        at = time.monotonic()
        system.cluster.kill(name)
        entry: dict[str, Any] = {"member": name, "killed_at_answered": tally.answered}
        log.append(entry)

        async def restart(name: str = name, entry: dict[str, Any] = entry, at: float = at) -> None:
            await asyncio.to_thread(system.cluster.restart, name)
            entry["back_after_s"] = round(time.monotonic() - at, 1)
            entry["answered_when_back"] = tally.answered

        restarts.append(asyncio.create_task(restart()))
    await asyncio.gather(*restarts)


async def _load(system: ClusterSystem) -> tuple[Tally, list[dict[str, Any]], float]:
    tally, progress, kills = Tally(), asyncio.Event(), []
    started = time.monotonic()
    killer = asyncio.create_task(_killer(system, tally, progress, kills))
    await asyncio.gather(*(_resident(system.url, tally, progress) for _ in range(RESIDENTS)))
    elapsed = time.monotonic() - started
    await killer  # every killed member is back before the proofs read the logs
    return tally, kills, elapsed


def _transcripts(system: ClusterSystem, ids: list[int]) -> dict[int, list[tuple[int, str, str, str]]]:
    """Every message of the conversations holding these inbound ids, in id order (id, direction, author, text)."""
    rows = system.query(
        "SELECT m.conversation_id, m.id, m.direction, m.author, m.text FROM messages m WHERE m.conversation_id IN "
        "(SELECT conversation_id FROM messages WHERE id = ANY(%s)) ORDER BY m.id",
        ids,
    )
    by_first: dict[str, list[tuple[int, str, str, str]]] = defaultdict(list)
    for conversation, mid, direction, author, text in rows:
        by_first[str(conversation)].append((int(str(mid)), str(direction), str(author), str(text)))
    return {msgs[0][0]: msgs for msgs in by_first.values()}


def _in_order_once(transcript: list[tuple[int, str, str, str]], sent: list[str]) -> tuple[bool, int]:
    """The resident's messages in sending order, each followed by at least one bot reply; (ok, bot replies)."""
    inbound = [t for t in transcript if t[1] == "in"]
    if [t[3] for t in inbound] != sent:
        return False, 0
    bots = 0
    for i, (mid, *_rest) in enumerate(inbound):
        upper = inbound[i + 1][0] if i + 1 < len(inbound) else 1 << 62
        answers = [t for t in transcript if t[1] == "out" and t[2] == "bot" and mid < t[0] < upper]
        if not answers:
            return False, 0
        bots += len(answers)
    return True, bots


def test_load_through_haproxy_survives_sigkill_of_rasa_actions_and_frontdoor(cluster_system: ClusterSystem) -> None:
    tally, kills, elapsed = asyncio.run(_load(cluster_system))
    all_ids = [mid for ids in tally.message_ids.values() for mid in ids]
    sent_texts = [TEXTS[k % len(TEXTS)] for k in range(MESSAGES)]

    stored = cluster_system.query(
        "SELECT status, count(*) FROM messages WHERE direction = 'in' AND id = ANY(%s) GROUP BY 1", all_ids
    )
    statuses = {str(s): int(str(c)) for s, c in stored}
    transcripts = _transcripts(cluster_system, all_ids)
    ordered = [_in_order_once(t, sent_texts)[0] for t in transcripts.values()]
    turns = cluster_system.turns_in_rasa()
    rasa = cluster_system.rasa_servers()
    twice = [mid for mid in all_ids if turns.get(mid, 0) > 1]
    never = [mid for mid in all_ids if turns.get(mid, 0) == 0]
    spread = 0
    for who, ids in tally.message_ids.items():
        replicas = set().union(*(rasa.get(mid, set()) for mid in ids))
        if len(tally.frontdoors[who]) >= 2 and len(replicas) >= 2:
            spread += 1
    latencies = sorted(tally.latencies)
    report = {
        "residents": RESIDENTS,
        "messages_each": MESSAGES,
        "sent": tally.sent,
        "stored": sum(statuses.values()),
        "statuses": statuses,
        "answered": tally.answered,
        "lost": tally.sent - tally.answered,
        "rasa_turns_run_twice": len(twice),
        "rasa_turns_never_run": len(never),
        "conversations_in_order": sum(ordered),
        "conversations_on_both_frontdoors_and_replicas": spread,
        "holding_replies": tally.holding,
        "client_retries": tally.retries,
        "client_errors": dict(tally.errors),
        "killed": kills,
        "load_seconds": round(elapsed, 1),
        "turns_per_second": round(tally.answered / elapsed, 2),
        "p50_s": round(latencies[len(latencies) // 2], 2) if latencies else None,
        "p99_s": round(latencies[int(len(latencies) * 0.99) - 1], 2) if latencies else None,
        "max_s": round(latencies[-1], 2) if latencies else None,
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print("\n" + json.dumps(report, ensure_ascii=False), flush=True)

    total = RESIDENTS * MESSAGES
    assert tally.sent == total and len(all_ids) == total and len(set(all_ids)) == total
    assert statuses == {"processed": total}, "every message stored once and processed"
    assert tally.answered == total, "every message answered"
    assert sum(ordered) == RESIDENTS, "each conversation in sending order, every message answered"
    assert not twice, f"Rasa ran these turns twice: {twice[:10]}"
    assert not never, f"Rasa never ran these turns: {never[:10]}"
    assert [k["member"] for k in kills] == [name for name, _ in KILLS]
    # Round-robin spreads one conversation's messages; a resident on one member only is possible, not usual.
    assert spread >= RESIDENTS // 2, f"only {spread} conversations reached both front doors and both replicas"


def test_wechat_retries_at_different_frontdoors_are_processed_once(cluster_system: ClusterSystem) -> None:
    openid = f"o-cluster-{secrets.token_hex(6)}"
    msg_id = 7_100_000_000_000_000_000 + secrets.randbelow(10**9)
    push = cluster_system.pusher.push(cluster_system.pusher.text(openid, "你好", msg_id=msg_id))

    async def deliver(index: int, delay: float) -> httpx.Response:
        await asyncio.sleep(delay)
        url = f"{cluster_system.frontdoor_url(index)}/wechat/callback"
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.post(url, params=push.params, content=push.body)

    async def three() -> list[httpx.Response]:
        # WeChat's first push and its two retries, each to another front door than the one before.
        return await asyncio.gather(deliver(1, 0.0), deliver(2, 0.3), deliver(1, 0.6))

    responses = asyncio.run(three())
    assert [r.status_code for r in responses] == [200, 200, 200]
    rows = cluster_system.query(
        "SELECT id, status FROM messages WHERE channel = 'wechat' AND external_id = %s", f"msg:{msg_id}"
    )
    assert len(rows) == 1 and rows[0][1] == "processed"
    (message_id, _status) = rows[0]
    assert cluster_system.turns_in_rasa().get(int(str(message_id))) == 1
    # WeChat keeps only the response on the connection it still waits on, so every copy may carry the
    # same stored answer (rendered at its own CreateTime); what must not happen is two different answers
    # or a passive answer and an outbox message both.
    opened = [cluster_system.pusher.open_reply(r.content) for r in responses]
    passive = {str(reply["Content"]) for reply in opened if reply is not None}
    deadline = time.monotonic() + 30
    while not passive and not cluster_system.api.sent_texts(openid) and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(3)  # a second delivery, if there were one, would come through the outbox within this
    assert len(passive) + len(cluster_system.api.sent_texts(openid)) == 1, "one answer for three copies"


async def _enqueue(database_url: str, items: list[tuple[str, str]]) -> None:
    """Open each user's customer-service window and queue the items, as the app's own code does."""
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        for openid in {o for o, _ in items}:
            await grant_quota(sessions, openid, "message")
        async with unit_of_work(sessions) as session:
            for openid, text in items:
                await enqueue(session, "wechat", openid, text_item(text))
    finally:
        await engine.dispose()


def test_outbox_items_are_sent_once_by_two_senders(cluster_system: ClusterSystem) -> None:
    openids = [f"o-outbox-{secrets.token_hex(4)}-{i}" for i in range(20)]
    texts = {(o, f"第{n}条通知 {o[-6:]}") for o in openids for n in range(5)}
    asyncio.run(_enqueue(cluster_system.cluster.settings.database_url, sorted(texts)))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        left = cluster_system.query(
            "SELECT count(*) FROM outbox WHERE recipient = ANY(%s) AND status IN ('queued', 'sending')", openids
        )
        if left[0][0] == 0:
            break
        time.sleep(0.5)
    sent = Counter(
        (str(r.body.get("touser")), str(r.body.get("text", {}).get("content")))
        for r in cluster_system.api.calls("message/custom/send")
        if str((r.body or {}).get("touser")) in openids
    )
    statuses = cluster_system.query("SELECT status, count(*) FROM outbox WHERE recipient = ANY(%s) GROUP BY 1", openids)
    assert dict((str(s), int(str(c))) for s, c in statuses) == {"sent": len(texts)}
    assert set(sent) == texts and set(sent.values()) == {1}, "each item reached WeChat exactly once"
