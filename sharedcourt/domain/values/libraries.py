"""The heavy parsing libraries, imported lazily on first use and cached (nothing heavy at import time).

jionlp takes ~0.3-0.6 s to import and prints a banner to stdout, which we swallow.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import threading
from decimal import Decimal, InvalidOperation
from typing import Any

_import_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def jionlp() -> Any:
    """Import jionlp once; it prints a banner on stdout at import time, which we swallow."""
    with _import_lock, contextlib.redirect_stdout(io.StringIO()):
        return importlib.import_module("jionlp")


@functools.lru_cache(maxsize=1)
def cn2an() -> Any:
    """Import cn2an once (Chinese numerals to numbers)."""
    return importlib.import_module("cn2an")


def to_decimal(core: str) -> Decimal | None:
    """A Chinese or mixed numeral ("两万三", "3.5万") as a number rounded to cents, integral when whole; else None."""
    try:
        raw = cn2an().cn2an(core, "smart")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    try:
        value = Decimal(repr(raw)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None
    return value.to_integral_value() if value == value.to_integral_value() else value
