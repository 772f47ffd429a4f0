"""Phone numbers (mainland mobiles, Quzhou 0570 landlines) and resident ID numbers (GB 11643-1999) in text."""

from __future__ import annotations

import re
from datetime import date

from sharedcourt.domain.values.text import shadow_text

# Any other 15-19 digit number (bank cards, IDs with a bad checksum): never an amount or a date, always masked.
LONG_NUMBER = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){14,18}(?:[ -]?[Xx])?(?![0-9])")

# A run of digits with single spaces/dashes between them, optionally led by "+86" / "(0570)".
_DIGIT_RUN = re.compile(r"(?<![0-9A-Za-z])(?:\+\s?)?(?:\(0570\)\s?)?[0-9](?:[ -]?[0-9])*(?![0-9])")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_QUZHOU_AREA = "0570"


def _classify_phone(run: str) -> str | None:
    digits = re.sub(r"[^0-9]", "", run)
    if run.lstrip().startswith("+") or (len(digits) == 13 and digits.startswith("86")):
        if not digits.startswith("86"):
            return None
        digits = digits[2:]
    if len(digits) == 11 and _MOBILE.fullmatch(digits):
        return digits
    if digits.startswith(_QUZHOU_AREA):
        local = digits[len(_QUZHOU_AREA) :]
        if len(local) in (7, 8) and local[0] != "0":
            return f"{_QUZHOU_AREA}-{local}"
    return None


def phone_spans(shadow: str) -> list[tuple[int, int, str]]:
    """(start, end, normalised phone) of every phone number in a shadow text."""
    spans = []
    for match in _DIGIT_RUN.finditer(shadow):
        phone = _classify_phone(match.group(0))
        if phone is not None:
            spans.append((match.start(), match.end(), phone))
            continue
        # "13812345678 330802…": neighbouring numbers glued by a space; try space-separated windows.
        groups = [(g.start() + match.start(), g.end() + match.start()) for g in re.finditer(r"\S+", match.group(0))]
        i = 0
        while i < len(groups):
            for j in range(len(groups) - 1, i - 1, -1):
                start, end = groups[i][0], groups[j][1]
                phone = _classify_phone(shadow[start:end])
                if phone is not None:
                    spans.append((start, end, phone))
                    i = j
                    break
            i += 1
    return spans


def parse_phone(text: str) -> str | None:
    """First mainland mobile or Quzhou (0570) landline in ``text``, normalised.

    Accepts spaces/dashes ("138 1234 5678", "138-1234-5678"), "+86"/"86" prefixes, "(0570)", full-width
    digits and digit-by-digit dictation ("幺三八一二三四五六七八"). Returns "13812345678" or
    "0570-1234567"; None for wrong lengths or other area codes.
    """
    spans = phone_spans(shadow_text(text))
    return spans[0][2] if spans else None


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_ID_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 "
    "71 81 82 83 91".split()
)
_ID_IN_TEXT = re.compile(r"(?<![0-9])([0-9]{6}) ?([0-9]{8}) ?([0-9]{3}[0-9Xx])(?![0-9A-Za-z])")


def id_number_valid(s: str) -> bool:
    """True for an 18-character resident ID: province code, real birth date (1900+), ISO 7064 MOD 11-2."""
    s = s.strip().upper()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", s) or s[:2] not in _ID_PROVINCES:
        return False
    try:
        birth = date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    if birth.year < 1900:
        return False
    total = sum(int(ch) * w for ch, w in zip(s[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11] == s[17]


def id_spans(shadow: str) -> list[tuple[int, int, str]]:
    """(start, end, ID number) of every valid resident ID number in a shadow text."""
    spans = []
    for match in _ID_IN_TEXT.finditer(shadow):
        candidate = "".join(match.groups()).upper()
        if id_number_valid(candidate):
            spans.append((match.start(), match.end(), candidate))
    return spans


def parse_id_number(text: str) -> str | None:
    """First valid 18-character resident ID in ``text`` (spaces after the 6th/14th digit allowed), uppercase."""
    spans = id_spans(shadow_text(text))
    return spans[0][2] if spans else None
