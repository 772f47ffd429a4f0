"""Shadow text: a same-length copy of a message with digits normalised, so that offsets into it stay valid."""

from __future__ import annotations

import re

_FULLWIDTH = {ord("０") + i: ord("0") + i for i in range(10)}
_FULLWIDTH.update(
    {
        ord("＋"): ord("+"),
        ord("－"): ord("-"),
        ord("—"): ord("-"),
        ord("–"): ord("-"),
        ord("‐"): ord("-"),
        ord("　"): ord(" "),
        ord("ｘ"): ord("x"),
        ord("Ｘ"): ord("X"),
        ord("（"): ord("("),
        ord("）"): ord(")"),
    }
)

# Digit-by-digit dictation ("幺三八…"); 两 is included because some people say it for 2.
DICTATION_DIGITS = {
    "零": "0", "〇": "0", "洞": "0", "幺": "1", "一": "1", "壹": "1", "二": "2", "两": "2", "贰": "2",
    "三": "3", "叁": "3", "四": "4", "肆": "4", "五": "5", "伍": "5", "六": "6", "陆": "6",
    "七": "7", "柒": "7", "八": "8", "捌": "8", "九": "9", "玖": "9",
}  # fmt: skip
_DICTATION_RUN = re.compile("[0-9" + "".join(DICTATION_DIGITS) + "](?:[ -]?[0-9" + "".join(DICTATION_DIGITS) + "])*")
_MIN_DICTATION_DIGITS = 7


def shadow_text(text: str) -> str:
    """Same-length copy of ``text`` with full-width forms folded and dictated digit runs made ASCII.

    A run of single-digit characters ("一三八一二三四五六七八", "138一二三四五六七八") with at least 7 digits
    is digit-by-digit dictation, never a quantity (quantities use 十百千万), so it is safe to convert.
    """
    folded = text.translate(_FULLWIDTH)

    def convert(match: re.Match[str]) -> str:
        run = match.group(0)
        if sum(1 for ch in run if ch.isdigit() or ch in DICTATION_DIGITS) < _MIN_DICTATION_DIGITS:
            return run
        return "".join(DICTATION_DIGITS.get(ch, ch) for ch in run)

    return _DICTATION_RUN.sub(convert, folded)
