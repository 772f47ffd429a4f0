"""Reference data files (registry, gazetteer, holidays, routing, roster) shipped with the package."""

from pathlib import Path
from typing import Any

import yaml

from sharedcourt.errors import ConfigError

DATA_DIR = Path(__file__).resolve().parent


def read_mapping(path: Path) -> dict[str, Any]:
    """A YAML file whose top is a mapping; an unreadable file, bad YAML or another shape is a ConfigError."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top")
    return data
