"""Settings are read once, typed, and fail loudly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sharedcourt.errors import ConfigError
from sharedcourt.settings import SECRET_KEYS, Settings, published_values


def test_defaults_without_environment(tmp_path: Path) -> None:
    settings = Settings.from_env({}, env_file=tmp_path / "absent.env")
    assert settings.port == 8000
    assert settings.database_url.startswith("sqlite:///")
    assert settings.rasa_url == "http://127.0.0.1:5005"


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=9001\nRASA_TOKEN=from-file\n")
    settings = Settings.from_env({"RASA_TOKEN": "from-env"}, env_file=env_file)
    assert settings.port == 9001
    assert settings.rasa_token == "from-env"


@pytest.mark.parametrize(("key", "value"), [("PORT", "eighty"), ("RASA_URL", "localhost"), ("RASA_TIMEOUT", "x")])
def test_bad_values_fail_loudly(tmp_path: Path, key: str, value: str) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env({key: value}, env_file=tmp_path / "absent.env")


def test_rasa_tracker_url_uses_the_driver_rasa_ships(tmp_path: Path) -> None:
    settings = Settings.from_env({"DATABASE_URL": "postgresql+psycopg://u@h/db"}, env_file=tmp_path / "x")
    assert settings.rasa_tracker_url == "postgresql://u@h/db"


def test_env_example_lists_every_setting(repo_root: Path) -> None:
    listed = {
        line.split("=", 1)[0]
        for line in (repo_root / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    fields = {name.upper() for name in Settings.__dataclass_fields__ if name != "extra"}
    assert fields <= listed, sorted(fields - listed)


def test_handoff_reminder_and_internal_url_settings_are_read(tmp_path: Path) -> None:
    environ = {
        "HANDOFF_TICK_SECONDS": "0.5",
        "HANDOFF_ROSTER": "/srv/roster.yml",
        "APP_INTERNAL_URL": "http://app.internal:9000/",
        "REMINDER_INTERVAL": "30",
    }
    settings = Settings.from_env(environ, env_file=tmp_path / "absent.env")
    assert settings.handoff_tick_seconds == 0.5
    assert settings.handoff_roster == "/srv/roster.yml"
    assert settings.app_internal_url == "http://app.internal:9000"
    assert settings.internal_url == "http://app.internal:9000"
    assert settings.reminder_interval == 30.0


@pytest.mark.parametrize("key", ["HANDOFF_TICK_SECONDS", "REMINDER_INTERVAL", "HANDOFF_ACCEPT_SECONDS", "PORT"])
def test_an_unparsable_number_names_its_key(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        Settings.from_env({key: "soon"}, env_file=tmp_path / "absent.env")


@pytest.mark.parametrize("key", ["PUBLIC_URL", "APP_INTERNAL_URL", "ACTION_SERVER_URL", "DINGTALK_API_BASE"])
def test_a_bad_url_fails_loudly(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        Settings.from_env({key: "127.0.0.1:8000"}, env_file=tmp_path / "absent.env")


def test_public_and_internal_urls_default_from_port(tmp_path: Path) -> None:
    settings = Settings.from_env({"PORT": "8123"}, env_file=tmp_path / "absent.env")
    assert settings.public_url == "http://127.0.0.1:8123"
    assert settings.app_internal_url == ""
    assert settings.internal_url == "http://127.0.0.1:8123"


def test_an_explicit_public_url_wins_over_port(tmp_path: Path) -> None:
    settings = Settings.from_env({"PORT": "8123", "PUBLIC_URL": "https://court.example/"}, env_file=tmp_path / "x")
    assert settings.public_url == "https://court.example"
    assert settings.internal_url == "http://127.0.0.1:8123"


# Reading the process environment for a setting, anywhere but sharedcourt/settings.py.
ENV_READ = re.compile(r"\bos\.environ\b|\bos\.getenv\b|\bgetenv\(|\.extra\s*\[|\.extra\.get\(")


def test_only_settings_reads_the_environment(repo_root: Path) -> None:
    readers = []
    for package in ("sharedcourt", "actions"):
        for path in sorted((repo_root / package).rglob("*.py")):
            if path == repo_root / "sharedcourt" / "settings.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if ENV_READ.search(line):
                    readers.append(f"{path.relative_to(repo_root)}:{number}: {line.strip()}")
    assert readers == []


# --- no default secrets (issue 11) -------------------------------------------------------------------------

SECRET_ENV = {name.upper(): f"test-{name}-0123456789abcdef" for name in SECRET_KEYS}


def test_secrets_have_no_default(tmp_path: Path) -> None:
    settings = Settings.from_env({}, env_file=tmp_path / "absent.env")
    assert [getattr(settings, name) for name in SECRET_KEYS] == ["", "", "", "", ""]


def test_env_example_publishes_no_secret(repo_root: Path) -> None:
    text = (repo_root / ".env.example").read_text()
    assert "=change-me" not in text
    assert published_values(repo_root / ".env.example") == set()


def test_every_secret_set_passes_the_check(tmp_path: Path) -> None:
    Settings.from_env(SECRET_ENV, env_file=tmp_path / "absent.env").check_secrets()


@pytest.mark.parametrize("key", [name.upper() for name in SECRET_KEYS])
def test_an_empty_secret_is_refused_by_name(tmp_path: Path, key: str) -> None:
    settings = Settings.from_env({**SECRET_ENV, key: ""}, env_file=tmp_path / "absent.env")
    with pytest.raises(ConfigError, match=f"^{key} is empty"):
        settings.check_secrets()


@pytest.mark.parametrize(
    ("key", "value"), [("STAFF_TOKEN", "change-me-staff-token"), ("RASA_TOKEN", "change-me-rasa-token")]
)
def test_a_published_default_is_refused_by_name(tmp_path: Path, key: str, value: str) -> None:
    settings = Settings.from_env({**SECRET_ENV, key: value}, env_file=tmp_path / "absent.env")
    with pytest.raises(ConfigError, match=f"^{key} is a published default"):
        settings.check_secrets()


def test_a_value_listed_in_env_example_is_refused(tmp_path: Path) -> None:
    example = tmp_path / ".env.example"
    example.write_text("# sample\nLINK_SECRET=sample-link-secret\nPORT=8000\n")
    settings = Settings.from_env({**SECRET_ENV, "LINK_SECRET": "sample-link-secret"}, env_file=tmp_path / "x")
    with pytest.raises(ConfigError, match=r"^LINK_SECRET is a published default"):
        settings.check_secrets(example)
    Settings.from_env({**SECRET_ENV, "PORT": "8000"}, env_file=tmp_path / "x").check_secrets(example)


@pytest.mark.parametrize(("key", "value"), [("STAFF_TOKEN", "change-me-staff-token"), ("RASA_TOKEN", "")])
def test_the_uvicorn_factory_refuses_to_start(monkeypatch: pytest.MonkeyPatch, key: str, value: str) -> None:
    from sharedcourt.app import asgi

    for name, secret in SECRET_ENV.items():
        monkeypatch.setenv(name, secret)
    monkeypatch.setenv(key, value)  # the environment wins over any .env in the checkout
    with pytest.raises(ConfigError, match=f"^{key} "):
        asgi()
    monkeypatch.setenv(key, SECRET_ENV[key])
    assert asgi().state.settings.staff_token == SECRET_ENV["STAFF_TOKEN"]
