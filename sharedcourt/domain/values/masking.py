"""Masking for transcript review: phone, resident ID and bank card numbers, people's names, street addresses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sharedcourt.domain.values.addresses import mask_addresses
from sharedcourt.domain.values.contacts import LONG_NUMBER, id_spans, phone_spans
from sharedcourt.domain.values.names import mask_names
from sharedcourt.domain.values.text import shadow_text

# Case facts that name the other party (intake's `party` slot; a resident's own name comes from `residents.name`).
NAME_FACTS = ("party",)


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


def mask_text(text: str, known_names: Iterable[str] = ()) -> str:
    """Everything staff must not read unmasked: numbers (`mask_personal_data`), names ("张三" -> "张*", and
    every ``known_names`` value wherever it appears) and street-level addresses ("人民路88号3幢201室" -> "****")."""
    return mask_addresses(mask_names(mask_personal_data(text), known_names))


def known_names(facts: Mapping[str, Any], *others: str | None) -> list[str]:
    """The names a case's facts hold (its parties), plus ``others`` (the resident's own name), for `mask_text`."""
    values = [str(facts[key]) for key in NAME_FACTS if facts.get(key)]
    return [*values, *(o for o in others if o)]


def mask_facts(facts: Mapping[str, Any], names: Iterable[str] = ()) -> dict[str, str]:
    """A case's facts as staff may read them: every value masked, the case's own parties among the names."""
    known = [*known_names(facts), *names]
    return {key: mask_text(str(value), known) for key, value in facts.items()}
