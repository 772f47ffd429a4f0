"""Typed settings, read once from the environment (and `.env` when present).

`Settings` is the only reader of the environment: every key has one field, and its default is written once,
in the field. The environment name of a field is its name in upper case.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.config import Config

from sharedcourt.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{ROOT / 'var' / 'sharedcourt.db'}"


def _url(value: str) -> str:
    # ValueError, like the number casts: `from_env` turns it into a ConfigError that names the key.
    if "://" not in value:
        raise ValueError("not a URL")
    return value.rstrip("/")


def _url_or_empty(value: str) -> str:
    return _url(value) if value else ""


def _days(value: str) -> int:
    # A retention period of zero or less would purge today's records: refused, like a bad URL.
    days = int(value)
    if days < 1:
        raise ValueError("a period of at least one day")
    return days


def _hour(value: str) -> int:
    hour = int(value)
    if not 0 <= hour <= 23:
        raise ValueError("an hour from 0 to 23")
    return hour


def _log_level(value: str) -> str:
    level = value.strip().upper()
    if not isinstance(logging.getLevelName(level), int):
        raise ValueError("one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return level


def _log_format(value: str) -> str:
    if value not in ("text", "json"):
        raise ValueError("text or json")
    return value


def _share(value: str) -> float:
    share = float(value)
    if not 0.0 <= share <= 1.0:
        raise ValueError("a number from 0 to 1")
    return share


def _choices(value: str) -> int:
    count = int(value)
    if count not in (2, 3):
        raise ValueError("2 or 3")
    return count


def _networks(value: str) -> str:
    # Comma-separated addresses or CIDR networks; each is parsed here so a typo fails at start, not at scrape.
    for part in filter(None, (p.strip() for p in value.split(","))):
        ipaddress.ip_network(part, strict=False)
    return value


def _dingtalk_mode(value: str) -> str:
    # callback: DingTalk POSTs to /dingtalk/callback (a public URL); stream: the front door dials out (no public URL).
    if value not in ("callback", "stream"):
        raise ValueError("callback or stream")
    return value


def _cities(value: str) -> str:
    # Zhejiang's city codes 3301-3311, comma-separated, or 33 for the whole province.
    codes = [c.strip() for c in value.split(",") if c.strip()]
    if not codes or any(c != "33" and not (len(c) == 4 and c[:2] == "33" and "01" <= c[2:] <= "11") for c in codes):
        raise ValueError("Zhejiang city codes 3301-3311, comma-separated, or 33 for the whole province")
    return ",".join(codes)


# Fields read through a check beyond their type.
_CHECKS: dict[str, Callable[[str], Any]] = {
    **{f"retention_{kind}_days": _days for kind in ("enquiry", "case", "evidence", "audit", "outbox", "replay")},
    "purge_hour": _hour,
    "served_cities": _cities,
    "public_url": _url,
    "rasa_url": _url,
    "action_server_url": _url,
    "wechat_api_base": _url,
    "wecom_api_base": _url,
    "dingtalk_api_base": _url,
    "dingtalk_mode": _dingtalk_mode,
    "app_internal_url": _url_or_empty,
    "wechat_notice_url": _url_or_empty,
    "log_level": _log_level,
    "log_format": _log_format,
    "metrics_allow": _networks,
    "classify_confident": _share,
    "classify_margin": _share,
    "classify_choices": _choices,
}
_CASTS: dict[str, Callable[[str], Any]] = {"int": int, "float": float, "str": str}

# The secrets the system cannot run without; `make run` generates the missing ones into .env.
SECRET_KEYS = ("staff_token", "rasa_token", "rasa_jwt_secret", "action_server_token", "link_secret")
# Values once published as defaults; a secret starting with this prefix is refused like an empty one.
PUBLISHED_PREFIX = "change-me"
ENV_EXAMPLE = ROOT / ".env.example"


def published_values(example: Path = ENV_EXAMPLE) -> set[str]:
    """The non-empty values `.env.example` shows for the secret keys: known to everyone, so never secret."""
    if not example.is_file():
        return set()
    keys = {key.upper() for key in SECRET_KEYS}
    values = set()
    for line in example.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() in keys and value.strip():
            values.add(value.strip())
    return values


@dataclass(frozen=True)
class Settings:
    """Every setting the system reads; `.env.example` lists the same keys."""

    database_url: str = DEFAULT_DATABASE_URL
    port: int = 8000
    public_url: str = ""  # empty: http://127.0.0.1:$PORT
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = ""  # a secret: generated into .env by the first `make run`
    rasa_timeout: float = 10.0
    action_server_url: str = "http://127.0.0.1:5055"
    redis_url: str = ""
    rasa_lock_store: str = "in_memory"
    rasa_lock_host: str = "127.0.0.1"
    rasa_lock_port: int = 6379
    retry_interval: float = 5.0
    # A message `received`/`processing` this long was left by a crashed front door: kept for another turn.
    # It must exceed RASA_TIMEOUT (a live turn never lasts longer).
    recover_after_seconds: float = 300.0
    staff_token: str = ""  # a secret: generated into .env by the first `make run`
    max_body_bytes: int = 64 * 1024
    wechat_token: str = ""
    wechat_appid: str = ""
    wechat_secret: str = ""
    wechat_aes_key: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_reply_budget: float = 4.0
    # WeChat category templates (issue 17): one id per notice purpose, and its keywords mapped to notice values
    # (sharedcourt.channels.wechat.templates); start-up refuses a value its keyword cannot hold.
    wechat_template_booking_confirmed: str = ""
    wechat_template_booking_confirmed_fields: str = (
        "thing1=title,time2=when,thing3=site_name,thing4=address,character_string5=case_number"
    )
    wechat_template_reminder: str = ""
    wechat_template_reminder_fields: str = (
        "thing1=title,time2=when,thing3=site_name,thing4=address,character_string5=case_number"
    )
    wechat_template_booking_changed: str = ""
    wechat_template_booking_changed_fields: str = (
        "thing1=title,time2=when,thing3=site_name,phrase4=status,thing5=reason"
    )
    wechat_template_handoff_callback: str = ""
    wechat_template_handoff_callback_fields: str = "thing1=title,thing2=summary,time3=sent_at"
    wechat_template_case_status: str = ""
    wechat_template_case_status_fields: str = (
        "character_string1=case_number,phrase2=status,thing3=summary,time4=sent_at"
    )
    # Subscription notice (订阅通知) templates: used instead when the resident accepted one (one notice per accept).
    wechat_subscribe_reminder: str = ""
    wechat_subscribe_reminder_fields: str = "thing1=title,time2=when,thing3=site_name,character_string4=case_number"
    wechat_subscribe_booking_changed: str = ""
    wechat_subscribe_booking_changed_fields: str = "thing1=title,time2=when,phrase3=status,thing4=reason"
    # Where a tap on a WeChat notice opens (template `url`, subscription `page`): empty: PUBLIC_URL + "/" (web chat);
    # or the Official Account's article/menu page that leads back to the conversation.
    wechat_notice_url: str = ""
    evidence_dir: str = ""  # empty: var/evidence
    outbox_interval: float = 1.0
    reminder_interval: float = 10.0
    wecom_corp_id: str = ""
    wecom_secret: str = ""
    wecom_agent_id: str = ""
    wecom_token: str = ""
    wecom_aes_key: str = ""
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    dingtalk_app_key: str = ""
    dingtalk_app_secret: str = ""
    dingtalk_robot_code: str = ""
    dingtalk_api_base: str = "https://api.dingtalk.com"
    # How mediators' messages and card presses arrive: "callback" (HTTP, needs a public URL) or "stream" (the
    # dingtalk-stream SDK's outbound WebSocket, for a court intranet without one). See docs/DINGTALK.md.
    dingtalk_mode: str = "callback"
    # An interactive card template (DingTalk card platform) for offers with buttons; empty: robot action cards.
    dingtalk_card_template_id: str = ""
    # callback mode: the callbackRouteKey registered (POST /v1.0/card/callbacks/register) for /dingtalk/card-callback.
    dingtalk_card_route_key: str = ""
    handoff_accept_seconds: int = 180
    handoff_tick_seconds: float = 5.0
    # How often the handoff reloads the duty roster from the database (`make roster-import` takes effect then).
    roster_refresh_seconds: float = 60.0
    # How often each process checks the console's 普法 entry edits (an admin's edit is answered within this).
    faq_refresh_seconds: float = 30.0
    handoff_roster: str = ""  # empty: the sample sharedcourt/data/roster.yml
    app_internal_url: str = ""  # empty: http://127.0.0.1:$PORT
    # Trust (issue 11). Secrets are generated into .env by the first `make run`; see .env.example.
    bind_host: str = "127.0.0.1"  # where Rasa and the action server listen; a cluster sets its private address
    rasa_jwt_secret: str = ""  # signs the front door's bearer tokens for Rasa's HTTP API (never in a URL)
    action_server_token: str = ""  # Rasa sends it to the action server in a header; the action server checks it
    link_secret: str = ""  # signs expiring links to transcripts and evidence
    transcript_link_hours: int = 24
    webchat_per_sender_per_minute: int = 20
    webchat_per_address_per_minute: int = 60
    login_max_failures: int = 5
    login_lockout_seconds: int = 900
    # Retention (issue 12): the privacy notice renders these periods; the daily purge applies them.
    retention_enquiry_days: int = 365  # the notice: enquiries that never became a case are kept one year
    retention_case_days: int = 1095  # the notice: case material is kept three years after the case ends
    retention_evidence_days: int = 1095  # photos and files are case material: the same three years unless shorter
    retention_audit_days: int = 1095  # who saw or revealed what stays checkable as long as the case it concerns
    retention_outbox_days: int = 30  # sent messages' queue rows, reminders, per-turn and quota bookkeeping
    retention_replay_days: int = 7  # signatures and DingTalk msgIds: their freshness windows are minutes
    purge_hour: int = 3  # China's clock: the daily purge runs in the quiet hour at or after this
    # Staff accounts (issue 12): console sessions end after this much inactivity, and at the latest after this long.
    staff_session_idle_minutes: int = 30
    staff_session_hours: int = 12
    # Only `make staff-add` reads it (the new account's password); empty means ask at a prompt. Never in .env.
    password: str = field(default="", repr=False)
    # Operating it (issue 14): logs, probes, metrics (README, "Operating").
    log_level: str = "INFO"
    log_format: str = "text"  # text, or json: one object per line
    log_file: str = ""  # empty: stdout (a supervisor collects it); `make run` sets var/log/frontdoor.log
    log_max_bytes: int = 10 * 1024 * 1024  # a log file is rotated at this size ...
    log_backup_count: int = 5  # ... keeping this many old files
    probe_timeout: float = 2.0  # seconds /readyz waits for each dependency
    metrics_allow: str = ""  # addresses or networks allowed to scrape /metrics besides loopback (comma-separated)
    # Set in the process environment before start (prometheus_client decides at import), wiped by the launcher.
    prometheus_multiproc_dir: str = ""
    served_cities: str = "3308"  # the cities whose places and sites load: 3308 (Quzhou), "3301,3308", or 33 (all)
    # Cluster (issue 14, `make cluster`): replicas of each role behind haproxy on PORT, RASA_URL, ACTION_SERVER_URL;
    # member i of each role listens on CLUSTER_PORT_BASE + i (front doors), + 10 + i (Rasa), + 20 + i (actions).
    cluster_replicas: int = 2
    cluster_port_base: int = 8100
    # Knowing when it is unsure (issue 15): below these the intake offers the top types as numbered choices
    # instead of reading one back; chosen on the held-out dev data (`make tune-unsure`), figures in docs/NLU.md.
    classify_confident: float = 0.5  # the best type's confidence must reach this ...
    classify_margin: float = 0.45  # ... and lead the second type by at least this
    classify_choices: int = 3  # the number of types offered when unsure (2 or 3)
    # The whole environment as read, handed to the processes `make run` starts; never read for a setting.
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.public_url:
            object.__setattr__(self, "public_url", f"http://127.0.0.1:{self.port}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, env_file: Path | None = None) -> Settings:
        """Read settings; raise ConfigError naming the key on a bad value."""
        env = dict(os.environ if environ is None else environ)
        path = env_file if env_file is not None else ROOT / ".env"
        config = Config(path if path.is_file() else None, environ=env)
        values: dict[str, Any] = {}
        for spec in dataclasses.fields(cls):
            if spec.name == "extra":
                continue
            key = spec.name.upper()
            raw = config(key, default=None)
            if raw is None:
                continue
            cast = _CHECKS.get(spec.name) or _CASTS[str(spec.type)]
            try:
                values[spec.name] = cast(raw)
            except ValueError as exc:
                raise ConfigError(f"invalid setting {key}={raw!r}: {exc}") from exc
        return cls(**values, extra=env)

    def check_secrets(self, example: Path = ENV_EXAMPLE) -> None:
        """Refuse to start with an empty or published secret: ConfigError naming the first such key."""
        published = published_values(example)
        for name in SECRET_KEYS:
            value = getattr(self, name)
            if not value:
                raise ConfigError(f"{name.upper()} is empty; `make run` generates it into .env")
            if value.startswith(PUBLISHED_PREFIX) or value in published:
                raise ConfigError(f"{name.upper()} is a published default; set a secret of your own in .env")

    @property
    def rasa_tracker_url(self) -> str:
        """The same database for Rasa's tracker store, in the driver Rasa ships (psycopg2)."""
        return self.database_url.replace("postgresql+psycopg://", "postgresql://")

    @property
    def internal_url(self) -> str:
        """Where the action server reaches the front door's internal API."""
        return self.app_internal_url or f"http://127.0.0.1:{self.port}"
