"""Masking of phone, resident ID and bank card numbers for transcript review."""

from __future__ import annotations

from sharedcourt.domain.values.contacts import LONG_NUMBER, id_spans, phone_spans
from sharedcourt.domain.values.text import shadow_text


def _mask_digits(original: str, keep_head: int, keep_tail: int) -> str:
    """Mask the digits of ``original`` except the first ``keep_head`` and last ``keep_tail`` digit positions.

    Separators (spaces, dashes) are kept; Chinese dictated digits count as digits.
    """
    positions = [i for i, ch in enumerate(original) if not ch.isspace() and ch not in "-+()（）"]
    hidden = set(positions[keep_head : len(positions) - keep_tail])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(original))


def mask_personal_data(text: str) -> str:
    """Mask phone numbers, resident ID numbers and bank card numbers for transcript review.

    Mobile "13812345678" -> "138****5678"; landline "0570-1234567" -> "0570-***4567"; ID
    "330802199001011234" -> "330802********1234"; any other 15-19 digit number (bank cards, IDs with a bad
    checksum) keeps its first 4 and last 4 digits. Separators and dictated Chinese digits stay in place, so
    the text keeps its length. "+86" prefixes are left as is.
    """
    shadow = shadow_text(text)
    spans: list[tuple[int, int, int, int]] = []  # start, end, keep_head, keep_tail
    for start, end, _ in id_spans(shadow):
        spans.append((start, end, 6, 4))
    for start, end, phone in phone_spans(shadow):
        raw = shadow[start:end]
        if raw.lstrip().startswith("+") or raw.lstrip("(").startswith("86"):
            # skip the country code so that the national number keeps 3 + 4 digits
            offset = raw.index("86") + 2
            start += offset
        spans.append((start, end, 3, 4) if not phone.startswith("0") else (start, end, 4, 4))
    for match in LONG_NUMBER.finditer(shadow):
        spans.append((match.start(), match.end(), 4, 4))
    # Earlier entries win on overlap (IDs before phones before generic long numbers).
    chosen: list[tuple[int, int, int, int]] = []
    for span in spans:
        if all(span[1] <= other[0] or span[0] >= other[1] for other in chosen):
            chosen.append(span)
    out = text
    for start, end, head, tail in sorted(chosen, reverse=True):
        out = out[:start] + _mask_digits(text[start:end], head, tail) + out[end:]
    return out
