"""How the intake reads a resident's words: tidy punctuation, count Chinese characters, spot "don't know"."""

from __future__ import annotations

import re

_NOT_KNOWN = re.compile(
    r"^(?:我)?(?:也)?(?:不知道|不清楚|不记得|记不清|忘了|忘记了|说不清|不确定|不好说|不方便|不想说|不留)"
    r"(?:了|的|啊|呀|吧|呢)?$"
)
_NOTHING = re.compile(
    r"^(?:没有|没|无|不涉及|不用|没约定|没有约定|暂时没有|还没有|还没|没什么|没钱的事|跟钱没关系)(?:了|的|啊|呀|吧|呢)?$"
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_PUNCT = re.compile(r"[\s，。,.!！?？、~～…]+")
# "不是" / "不对": the resident says the bot got something wrong.
NEGATION = re.compile(r"不是|不对|错了|搞错|弄错")


def clean(text: str) -> str:
    """The text with runs of punctuation and spaces turned into single spaces."""
    return _PUNCT.sub(" ", text or "").strip()


def chinese_count(text: str) -> int:
    """How many Chinese characters the text holds (a real description has several)."""
    return len(_CJK.findall(text))


def says_nothing(text: str) -> bool:
    """ "没有", "不涉及": the answer is that there is none."""
    return bool(_NOTHING.match(_PUNCT.sub("", text or "")))


def not_known(text: str) -> bool:
    """ "不知道", "没有", "不涉及": an answer that gives no value."""
    bare = _PUNCT.sub("", text or "")
    return bool(_NOT_KNOWN.match(bare) or _NOTHING.match(bare))
