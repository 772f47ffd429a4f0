"""Residents of other cities than Quzhou, through the real system (issue 16), on SQLite and PostgreSQL.

The `system` fixture's action server and web chat app are restarted serving Hangzhou, Wenzhou and Quzhou
(SERVED_CITIES=3301,3303,3308) after those cities' default registry was loaded the way operators load it
(`make sites-default`: `sites-import sharedcourt/data/sites_zj.csv.gz --served`); a WeChat app in safe mode runs
next to it against the WeChat API stand-in. Rasa (the trained model) is the system's. Afterwards the two cities'
sites are deactivated and both servers restarted as they were, so later journeys see Quzhou alone again.

- a Wenzhou resident describes a wage dispute, gives their town (鹿城区五马街道) and books at that town's site;
- a WeChat location in Hangzhou: before any site has coordinates only the county is guessed (no site is claimed
  by distance); after coordinates are imported through `sites-export` / `sites-import`, the nearest Hangzhou site;
- scanning a site's QR code (scene = its registry key) chooses that site: finding a site and booking use it.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from stand_ins.wechat_push import WeChatPusher
from stand_ins.wechat_server import WeChatStandIn

from sharedcourt.cli.procs import APP_PYTHON, Stack, app_env, free_port, start_actions, start_app
from sharedcourt.db.booking import Booking
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.session import make_engine, make_sessionmaker, unit_of_work
from sharedcourt.db.site import Site
from sharedcourt.settings import ROOT, Settings
from sharedcourt.sites.served import PROVINCE_SITES, city_of, parse_cities

from .conftest import System, new_sender
from .test_booking_journey import buttons, number_of, texts
from .test_wechat_journey import AES_KEY, APPID, SECRET, TOKEN, WeChatSystem

pytestmark = pytest.mark.integration
CITIES = "3301,3303,3308"
NEW_CITIES = ("3301", "3303")
WUMA = "330302006"  # 温州市鹿城区五马街道
GULOU = "GX330302006044"  # 鹿城区五马街道鼓楼社区共享法庭
# Test values an operator might fill in for three Hangzhou sites (not surveyed positions).
HANGZHOU_COORDS = {
    "GX330106002": (30.2610, 120.1440),  # 西湖区北山街道
    "GX330106004": (30.2760, 120.1290),  # 西湖区西溪街道
    "GX330106012": (30.2420, 120.1180),  # 西湖区灵隐街道
}
NEAR_BEISHAN = (30.2631, 120.1452)  # a few hundred metres from the 北山街道 site
# The intake's questions for a wage complaint, answered by a word of the question, as a Wenzhou resident says them.
WENZHOU_ANSWERS = (
    ("哪家单位", "温州市某某鞋厂"),
    ("具体说说", "在厂里做了一年多 从八月开始就没发过工资 老板一直拖着"),
    ("什么时候发生", "八月份开始的"),
    ("怎么解决", "把工资结清"),
    ("发生在哪里", "温州市鹿城区五马街道"),
    ("拖欠了几个月", "三个月"),
    ("被拖欠", "两万三"),
    ("报警", "找过劳动监察 没用"),
    ("证据", "有考勤记录和微信聊天记录"),
    ("电话", "13812345678"),
)


@dataclass
class Province:
    system: System
    wechat: WeChatSystem
    settings: Settings  # the restarted servers' (SERVED_CITIES=CITIES)


def _db(database_url: str, work: Any) -> Any:
    async def run() -> Any:
        engine = make_engine(database_url)
        try:
            return await work(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """One command of the operators' CLI (`make sites-…`), in the environment the servers run with."""
    cmd = [str(APP_PYTHON), "-m", "sharedcourt.cli", *args]
    done = subprocess.run(cmd, cwd=ROOT, env=app_env(settings), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _restart(system: System, settings: Settings) -> float:
    """The action server and the web chat app with these settings; seconds until the action server is ready."""
    stack = system.stack
    stack.stop("app")
    stack.stop("actions")
    stack.settings = settings
    started = time.monotonic()
    start_actions(stack)
    start_app(stack)
    stack.wait_healthy("actions", f"{settings.action_server_url}/health", 120)
    # Places and sites are loaded at start-up, before any resident's turn (actions/server.py, /ready).
    stack.wait_healthy("actions", f"{settings.action_server_url}/ready", 300)
    ready = time.monotonic() - started
    stack.wait_healthy("app", f"http://127.0.0.1:{settings.port}/webchat/messages?after=0", 120)
    return ready


def _deactivate_new_cities(database_url: str) -> None:
    async def work(sessions: Any) -> None:
        async with unit_of_work(sessions) as session:
            city = func.substr(Site.place_code, 1, 4)
            await session.execute(update(Site).where(city.in_(NEW_CITIES)).values(active=False))

    _db(database_url, work)


@pytest.fixture(scope="module")
def province(system: System, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Province]:
    original = system.stack.settings
    settings = dataclasses.replace(original, extra={**original.extra, "SERVED_CITIES": CITIES})
    started = time.monotonic()
    cli(settings, "sites-import", str(PROVINCE_SITES), "--served")
    print(f"\nsites-default for {CITIES}: {time.monotonic() - started:.1f} s")
    evidence = tmp_path_factory.mktemp("evidence")
    try:
        print(f"action server ready (places and sites loaded) {_restart(system, settings):.1f} s after its start")
        with WeChatStandIn(appid=APPID, secret=SECRET) as api:
            env = dict(settings.extra)
            env.update(
                PORT=str(free_port()),
                WECHAT_TOKEN=TOKEN,
                WECHAT_APPID=APPID,
                WECHAT_SECRET=SECRET,
                WECHAT_AES_KEY=AES_KEY,
                WECHAT_API_BASE=api.base_url,
                WECHAT_REPLY_BUDGET="4",
                EVIDENCE_DIR=str(evidence),
                OUTBOX_INTERVAL="0.2",
            )
            wechat_settings = Settings.from_env(env)
            stack = Stack(wechat_settings, tmp_path_factory.mktemp("wechat-logs"))
            try:
                start_app(stack)
                stack.wait_healthy("app", f"http://127.0.0.1:{wechat_settings.port}/webchat/messages?after=0", 120)
                wechat = WeChatSystem(wechat_settings, api, WeChatPusher(TOKEN, APPID, AES_KEY), evidence)
                yield Province(system, wechat, settings)
            finally:
                stack.stop()
    finally:
        _deactivate_new_cities(original.database_url)
        _restart(system, original)


def _booking_of(database_url: str, channel: str, user_id: str) -> tuple[Booking, Case]:
    async def work(sessions: Any) -> tuple[Booking, Case]:
        async with sessions() as session:
            row = (
                await session.execute(
                    select(Booking, Case)
                    .join(Case, Case.id == Booking.case_id)
                    .join(Conversation, Conversation.id == Booking.conversation_id)
                    .join(Resident, Resident.id == Conversation.resident_id)
                    .where(Resident.channel == channel, Resident.channel_user_id == user_id)
                    .where(Booking.status == "confirmed")
                )
            ).one()
            return row[0], row[1]

    result: tuple[Booking, Case] = _db(database_url, work)
    return result


def _resident(database_url: str, openid: str) -> Resident:
    async def work(sessions: Any) -> Resident:
        async with sessions() as session:
            query = select(Resident).where(Resident.channel == "wechat", Resident.channel_user_id == openid)
            return (await session.scalars(query)).one()

    resident: Resident = _db(database_url, work)
    return resident


def said(w: WeChatSystem, xml: str, openid: str, wanted: str, timeout: float = 60) -> str:
    """The answer to one push that contains `wanted`: passive or sent later through customer service. A late copy
    of an earlier answer (WeChat retries, the outbox) may arrive meanwhile, so the last text alone is not enough;
    when none contains `wanted`, everything said since the push (for the failing assertion)."""
    before = len(w.api.sent_texts(openid))
    response, _ = w.post(xml)
    assert response.status_code == 200, response.text
    passive = [] if response.text == "success" else [str((w.pusher.open_reply(response.content) or {})["Content"])]
    deadline = time.monotonic() + timeout
    while True:
        answers = passive + w.api.sent_texts(openid)[before:]
        hit = next((t for t in answers if wanted in t), None)
        if hit is not None or time.monotonic() > deadline:
            return hit if hit is not None else "\n---\n".join(answers)
        time.sleep(0.2)


def test_a_wenzhou_resident_books_at_their_own_towns_site(province: Province) -> None:
    system = province.system
    assert "3303" in parse_cities(CITIES) and "3303" in province.settings.extra["SERVED_CITIES"]
    sender = new_sender()
    reply = system.say(sender, "老板拖欠我三个月工资两万三一直不给 我在温州市鹿城区五马街道上班")
    reply = system.say(sender, "对" if "对吗" in texts(reply) else number_of(reply, "劳动争议"))
    for _ in range(15):
        if "以上信息对吗" in texts(reply):
            break
        answer = next((a for word, a in WENZHOU_ANSWERS if word in texts(reply)), None)
        assert answer is not None, texts(reply)
        reply = system.say(sender, answer)
    assert "五马街道" in texts(reply), texts(reply)
    confirm = next(str(i) for i, b in enumerate(buttons(reply), 1) if b["payload"] == "/affirm")
    stored = system.say(sender, confirm)
    number = re.search(r"[A-Z]{2}\d{4}-\d{6}", texts(stored))
    assert number is not None and number.group().startswith("WZ"), texts(stored)  # 温州's case prefix

    # "预约调解": the resident's own town's site, why, address and phone, then its free slots.
    offer = system.say(sender, number_of(stored, "预约调解"))
    text = texts(offer)
    assert "鹿城区五马街道共享法庭" in text and "地址" in text and "近期可以预约的时间" in text, text
    booked = system.say(sender, "1")
    text = texts(booked)
    for part in ("预约成功", number.group(), "五马街道", "身份证", "劳动合同"):
        assert part in text, (part, text)

    booking, case = _booking_of(system.settings.database_url, "webchat", sender)
    assert case.number == number.group() and case.facts["place_code"] == WUMA
    assert booking.site_code == f"GX{WUMA}" and booking.site_code[2:8] == "330302"  # 鹿城区, a county of 温州
    assert city_of(booking.site_code) == "3303"


def _fill_coordinates(exported: Path, filled: Path) -> int:
    """What an operator does between `make sites-export` and `make sites-import`: the lat/lon of some sites."""
    with exported.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        fields, rows = list(reader.fieldnames or ()), list(reader)
    for row in rows:
        if row["code"] in HANGZHOU_COORDS:
            row["lat"], row["lon"] = (f"{v:.4f}" for v in HANGZHOU_COORDS[row["code"]])
    with filled.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def test_a_wechat_location_in_hangzhou_yields_a_hangzhou_site_once_coordinates_are_imported(
    province: Province, tmp_path: Path
) -> None:
    w = province.wechat
    lat, lon = NEAR_BEISHAN

    # Before the import no site has coordinates: the county is guessed, no site is claimed by distance.
    before = f"oProvince{uuid.uuid4().hex[:16]}"
    text = said(w, w.pusher.location(before, lat, lon, "西湖断桥附近"), before, "根据您发送的位置")
    assert "大约在西湖区" in text and "杭州市西湖区人民法院" in text, text
    assert "直线距离" not in text and "北山街道" not in text, text

    exported, filled = tmp_path / "sites.csv", tmp_path / "sites-with-coordinates.csv"
    cli(province.settings, "sites-export", str(exported))
    assert _fill_coordinates(exported, filled) > 1774  # Quzhou's and the two new cities' sites
    started = time.monotonic()
    cli(province.settings, "sites-import", str(filled))
    print(f"\ncoordinates import: {time.monotonic() - started:.1f} s")

    # The next location, with no restart: the nearest Hangzhou site, its distance, the next ones as alternatives.
    after = f"oProvince{uuid.uuid4().hex[:16]}"
    text = said(w, w.pusher.location(after, lat, lon, "西湖断桥附近"), after, "根据您发送的位置")
    assert "离您最近的共享法庭是西湖区北山街道共享法庭" in text and "直线距离约" in text, text
    assert "西溪街道" in text or "灵隐街道" in text, text  # the next nearest as alternatives
    resident = _resident(w.settings.database_url, after)
    assert resident.site_code == "GX330106002" and city_of(resident.site_code) == "3301"


def _confirmed_case(database_url: str, openid: str, place_code: str) -> str:
    """The case the intake stores once the resident confirmed the summary (as the booking journey sets it up)."""
    number = f"WZ2026-{uuid.uuid4().int % 900000 + 100000}"

    async def work(sessions: Any) -> None:
        async with unit_of_work(sessions) as session:
            query = select(Resident).where(Resident.channel == "wechat", Resident.channel_user_id == openid)
            resident = (await session.scalars(query)).one()
            conversation = await session.scalar(select(Conversation).where(Conversation.resident_id == resident.id))
            session.add(
                Case(
                    number=number,
                    resident_id=resident.id,
                    conversation_id=conversation.id,
                    dispute_code="debt",
                    status="confirmed",
                    facts={"place_code": place_code, "phone": "13812345678"},
                    summary="邻居借了两万三不还",
                )
            )

    _db(database_url, work)
    return number


def test_scanning_a_site_qr_code_chooses_that_site_for_finding_and_booking(province: Province) -> None:
    w = province.wechat
    openid = f"oProvince{uuid.uuid4().hex[:16]}"
    # The QR code on the wall of 鼓楼社区's Shared Court: its scene value is the site's registry key.
    how, text, _ = w.answer(w.pusher.event(openid, "subscribe", key=f"qrscene_{GULOU}"), openid)
    assert how == "passive" and "鹿城区五马街道鼓楼社区共享法庭" in text, text
    # The dispute happened elsewhere in the town: by the rules alone the town's site would be chosen.
    number = _confirmed_case(w.settings.database_url, openid, WUMA)

    # Events carry no MsgId: WeChat's retries are told apart by sender and CreateTime, so the click comes a second
    # after the follow (in the same second it would be taken for a retry of the follow and answered as the follow).
    click = w.pusher.event(openid, "CLICK", key="FIND_SITE", create_time=int(time.time()) + 1)
    text = said(w, click, openid, "近期可以预约的时间")
    assert "您选定的共享法庭是鹿城区五马街道鼓楼社区共享法庭" in text and "近期可以预约的时间" in text, text
    text = said(w, w.pusher.text(openid, "1"), openid, "预约成功")
    assert "预约成功" in text and number in text, text
    assert "鼓楼社区共享法庭" in text, text

    booking, case = _booking_of(w.settings.database_url, "wechat", openid)
    assert booking.site_code == GULOU and case.number == number
    assert httpx.get(f"http://127.0.0.1:{w.settings.port}/livez", timeout=10).status_code == 200
