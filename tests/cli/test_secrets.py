"""First start generates the missing secrets into .env (mode 600), prints the staff token once, and `run` refuses
published defaults with exit code 2."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from sharedcourt.cli import main as cli
from sharedcourt.cli import procs
from sharedcourt.cli import secrets as cli_secrets
from sharedcourt.cli.secrets import ensure_secrets
from sharedcourt.settings import SECRET_KEYS, Settings

KEYS = [name.upper() for name in SECRET_KEYS]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _values(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_first_start_creates_env_with_every_secret_and_mode_600(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    generated = ensure_secrets(Settings.from_env({}, env_file=env_file), env_file)
    assert generated.keys == tuple(KEYS)
    assert _mode(env_file) == 0o600
    values = _values(env_file)
    assert sorted(values) == sorted(KEYS)
    assert len(set(values.values())) == 5 and all(len(v) >= 40 for v in values.values())
    settings = Settings.from_env({}, env_file=env_file)
    settings.check_secrets()  # nothing empty, nothing published
    assert settings.staff_token == values["STAFF_TOKEN"] == generated.staff_token


def test_existing_lines_are_kept_and_never_overwritten(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    original = "# mine\nPORT=9001\nSTAFF_TOKEN=my-own-staff-token\nRASA_TOKEN=\n"
    env_file.write_text(original)
    env_file.chmod(0o644)
    generated = ensure_secrets(Settings.from_env({}, env_file=env_file), env_file)
    assert "STAFF_TOKEN" not in generated.keys and generated.staff_token is None
    assert generated.keys == ("RASA_TOKEN", "RASA_JWT_SECRET", "ACTION_SERVER_TOKEN", "LINK_SECRET")
    text = env_file.read_text()
    assert text.startswith(original)
    assert _mode(env_file) == 0o600  # it holds secrets now
    settings = Settings.from_env({}, env_file=env_file)
    assert settings.staff_token == "my-own-staff-token" and settings.port == 9001
    assert settings.rasa_token  # the generated line after the empty one wins
    again = ensure_secrets(settings, env_file)
    assert again.keys == () and env_file.read_text() == text


def test_a_secret_set_in_the_environment_is_not_generated(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    generated = ensure_secrets(Settings.from_env({"LINK_SECRET": "from-the-env-123"}, env_file=env_file), env_file)
    assert "LINK_SECRET" not in generated.keys
    assert "LINK_SECRET" not in _values(env_file)


def test_the_announcement_names_every_key_and_shows_only_the_staff_token(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    generated = ensure_secrets(Settings.from_env({}, env_file=env_file), env_file)
    text = generated.announcement()
    values = _values(env_file)
    assert all(key in text for key in KEYS) and str(env_file) in text
    assert text.count(values["STAFF_TOKEN"]) == 1
    assert not any(values[key] in text for key in KEYS if key != "STAFF_TOKEN")


@pytest.fixture
def run_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[Settings]]:
    """`cli run` with .env in tmp_path and the processes replaced by a recorder."""
    env_file = tmp_path / ".env"
    monkeypatch.setattr(cli_secrets, "ENV_FILE", env_file)
    started: list[Settings] = []

    def fake_run_forever(settings: Settings) -> int:
        started.append(settings)
        return 0

    monkeypatch.setattr(procs, "run_forever", fake_run_forever)
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)
    return env_file, started


def test_run_generates_once_and_prints_the_staff_token_once(
    run_env: tuple[Path, list[Settings]], capsys: pytest.CaptureFixture[str]
) -> None:
    env_file, started = run_env
    assert cli.main(["run"]) == 0
    first = capsys.readouterr().out
    values = _values(env_file)
    assert first.count(values["STAFF_TOKEN"]) == 1
    assert not any(values[key] in first for key in KEYS if key != "STAFF_TOKEN")
    assert started[0].staff_token == values["STAFF_TOKEN"] and started[0].link_secret == values["LINK_SECRET"]
    assert cli.main(["run"]) == 0
    second = capsys.readouterr().out
    assert "generated" not in second and values["STAFF_TOKEN"] not in second
    assert _values(env_file) == values and len(started) == 2


def test_run_refuses_a_published_default_with_exit_code_2(
    run_env: tuple[Path, list[Settings]], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, started = run_env
    monkeypatch.setenv("STAFF_TOKEN", "change-me-staff-token")
    assert cli.main(["run"]) == 2
    assert "STAFF_TOKEN is a published default" in capsys.readouterr().err
    assert started == []
