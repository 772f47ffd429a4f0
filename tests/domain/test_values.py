"""The values package: its public names, light import, and the jionlp banner kept off stdout."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal

from sharedcourt.domain.values import parse_amount, warm_up

TODAY = date(2026, 11, 29)  # a Sunday


def test_warm_up_runs() -> None:
    warm_up()
    assert parse_amount("两万三", TODAY) == Decimal(23000)


def test_import_is_light() -> None:
    code = (
        "import sys, sharedcourt.domain.values as v\n"
        "assert 'jionlp' not in sys.modules and 'cn2an' not in sys.modules, 'heavy import at import time'\n"
        "print(v.parse_phone('13812345678'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "13812345678\n"


def test_jionlp_banner_does_not_reach_stdout() -> None:
    code = "import datetime, sharedcourt.domain.values as v\nprint(v.parse_date('前天', datetime.date(2026, 11, 29)))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "2026-11-27\n"


def test_every_public_name_is_reexported() -> None:
    import sharedcourt.domain.values as v

    assert all(hasattr(v, name) for name in v.__all__)
    assert {"parse_phone", "parse_date_range", "mask_personal_data", "extract_facts", "AmountMatch"} <= set(v.__all__)
