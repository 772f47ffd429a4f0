"""Settings are read once, typed, and fail loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

from sharedcourt.errors import ConfigError
from sharedcourt.settings import Settings


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
