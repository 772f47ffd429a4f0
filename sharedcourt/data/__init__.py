"""Reference data files (registry, gazetteer, holidays, routing, roster) shipped with the package."""

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
