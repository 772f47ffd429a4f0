"""Typed settings, read once from the environment (and `.env` when present)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from starlette.config import Config

from sharedcourt.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{ROOT / 'var' / 'sharedcourt.db'}"


def _url(value: str) -> str:
    if "://" not in value:
        raise ConfigError(f"not a URL: {value!r}")
    return value.rstrip("/")


@dataclass(frozen=True)
class Settings:
    """Every setting the system reads; `.env.example` lists the same keys."""

    database_url: str = DEFAULT_DATABASE_URL
    port: int = 8000
    public_url: str = "http://127.0.0.1:8000"
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = "change-me-rasa-token"
    rasa_timeout: float = 10.0
    action_server_url: str = "http://127.0.0.1:5055"
    redis_url: str = ""
    rasa_lock_store: str = "in_memory"
    rasa_lock_host: str = "127.0.0.1"
    rasa_lock_port: int = 6379
    retry_interval: float = 5.0
    staff_token: str = "change-me-staff-token"
    max_body_bytes: int = 64 * 1024
    wechat_token: str = ""
    wechat_appid: str = ""
    wechat_secret: str = ""
    wechat_aes_key: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_reply_budget: float = 4.0
    wechat_template_id: str = ""
    evidence_dir: str = ""  # empty: var/evidence
    outbox_interval: float = 1.0
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
    handoff_accept_seconds: int = 180
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, env_file: Path | None = None) -> Settings:
        """Read settings; raise ConfigError naming the key on a bad value."""
        env = dict(os.environ if environ is None else environ)
        path = env_file if env_file is not None else ROOT / ".env"
        config = Config(path if path.is_file() else None, environ=env)
        try:
            return cls(
                database_url=config("DATABASE_URL", default=DEFAULT_DATABASE_URL),
                port=config("PORT", cast=int, default=8000),
                public_url=_url(config("PUBLIC_URL", default=f"http://127.0.0.1:{config('PORT', default='8000')}")),
                rasa_url=_url(config("RASA_URL", default="http://127.0.0.1:5005")),
                rasa_token=config("RASA_TOKEN", default="change-me-rasa-token"),
                rasa_timeout=config("RASA_TIMEOUT", cast=float, default=10.0),
                action_server_url=_url(config("ACTION_SERVER_URL", default="http://127.0.0.1:5055")),
                redis_url=config("REDIS_URL", default=""),
                rasa_lock_store=config("RASA_LOCK_STORE", default="in_memory"),
                rasa_lock_host=config("RASA_LOCK_HOST", default="127.0.0.1"),
                rasa_lock_port=config("RASA_LOCK_PORT", cast=int, default=6379),
                retry_interval=config("RETRY_INTERVAL", cast=float, default=5.0),
                staff_token=config("STAFF_TOKEN", default="change-me-staff-token"),
                max_body_bytes=config("MAX_BODY_BYTES", cast=int, default=64 * 1024),
                wechat_token=config("WECHAT_TOKEN", default=""),
                wechat_appid=config("WECHAT_APPID", default=""),
                wechat_secret=config("WECHAT_SECRET", default=""),
                wechat_aes_key=config("WECHAT_AES_KEY", default=""),
                wechat_api_base=_url(config("WECHAT_API_BASE", default="https://api.weixin.qq.com")),
                wechat_reply_budget=config("WECHAT_REPLY_BUDGET", cast=float, default=4.0),
                wechat_template_id=config("WECHAT_TEMPLATE_ID", default=""),
                evidence_dir=config("EVIDENCE_DIR", default=""),
                outbox_interval=config("OUTBOX_INTERVAL", cast=float, default=1.0),
                wecom_corp_id=config("WECOM_CORP_ID", default=""),
                wecom_secret=config("WECOM_SECRET", default=""),
                wecom_agent_id=config("WECOM_AGENT_ID", default=""),
                wecom_token=config("WECOM_TOKEN", default=""),
                wecom_aes_key=config("WECOM_AES_KEY", default=""),
                wecom_api_base=_url(config("WECOM_API_BASE", default="https://qyapi.weixin.qq.com")),
                dingtalk_app_key=config("DINGTALK_APP_KEY", default=""),
                dingtalk_app_secret=config("DINGTALK_APP_SECRET", default=""),
                dingtalk_robot_code=config("DINGTALK_ROBOT_CODE", default=""),
                dingtalk_api_base=_url(config("DINGTALK_API_BASE", default="https://api.dingtalk.com")),
                handoff_accept_seconds=config("HANDOFF_ACCEPT_SECONDS", cast=int, default=180),
                extra=env,
            )
        except (ValueError, KeyError) as exc:
            raise ConfigError(f"invalid setting: {exc}") from exc

    @property
    def rasa_tracker_url(self) -> str:
        """The same database for Rasa's tracker store, in the driver Rasa ships (psycopg2)."""
        return self.database_url.replace("postgresql+psycopg://", "postgresql://")
