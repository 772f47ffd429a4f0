"""People's names in colloquial Chinese: where they are, so that review can show "张*" instead of "张三".

No NER model: a name is a known surname (single or compound) with one or two given characters, and it counts
only in a context that says "person" — an introduction before it ("我叫", "对方是", "邻居", "借给") or a verb
after it ("欠", "借", "打", "告" …). Candidates that are ordinary words (jionlp's IDF table: "高兴", "马上",
"周末" are frequent, names are not) or place names (jionlp's gazetteer of China: "张家口") are dropped.
Known names (the parties the intake collected) are found anywhere, context or not.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from typing import Any

from sharedcourt.domain.values.libraries import jionlp

COMPOUND_SURNAMES = (
    "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 令狐 端木 独孤 南宫 西门 轩辕 澹台 "
    "钟离 闻人 申屠 万俟 呼延 百里 东郭 赫连 拓跋 太史 单于 公羊 第五"
).split()
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温"
    "康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂"
    "成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党"
    "宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
# Words that say "a person's name follows".
_BEFORE = (
    "我叫|名叫|叫做|他叫|她叫|对方叫|对方是|姓名是|姓名|名字叫|名字是|就是|我是|叫|邻居|对方|老板|老公|老婆|丈夫|妻子|"
    "前夫|前妻|同事|朋友|房东|租客|工头|包工头|被告|原告|借给|还给|找|告|起诉|报警抓|跟|和|与|被|给|欠|向|让"
)
_INTRO = re.compile(rf"(?:{_BEFORE})[：:，, ]?$")
# Words that say "the word before was a person" (what people do to each other in a dispute).
_AFTER = re.compile(
    r"^(?:欠|借|打|告|骂|说|偷|砸|撞|占|抢|骗|拿|拖欠|不还|不给|没还|没给|一直|还|把|跟|和|给|让|要|找|家|是|他|她|这个人|这人|"
    r"那个人|老是|总是|也|就|都|又)"
)
# A given name never holds these: particles, pronouns, the dispute verbs above, punctuation.
_NOT_GIVEN = frozenset(
    "的了在不没也都就又他她我你们这那吗呢吧啊呀嘛欠借打告骂说偷砸撞占抢骗拿还把跟和给让是要找者被上钱块元"
)
# One-character words that introduce a name and are surnames too ("和马云", "向张三借"): the name starts after.
_INTRO_CHARS = frozenset("和向与给跟被让找告欠叫")
# Numerals before a surname character make it a unit ("五万块钱"): no name starts there.
_NUMBER_BEFORE = re.compile(r"[0-9一二三四五六七八九十百千零〇两几块]$")
# Surnames that are everyday words in a dispute ("钱一直不还"): a name only after an introduction.
_INTRO_ONLY = frozenset("钱")
# After a surname these are a title, not a given name ("张师傅", "王大妈", "李某"): the surname stands alone.
_TITLES = re.compile(
    r"^(?:某|师傅|阿姨|大妈|大爷|大叔|大姐|大哥|大娘|老板|总|经理|叔|姨|姐|哥|嫂|先生|女士|小姐|老师|医生|律师|书记|主任|"
    r"村长|队长|会计|家)"
)
_NUMERALS = frozenset("一二三四五六七八九十零〇两")
# An administrative or street suffix inside or right after a candidate makes it a place ("我是白云街道的").
_PLACE_SUFFIX = re.compile(r"^(?:街道|社区|镇|乡|县|市|区)")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# Below this IDF a word is too frequent to be a person's name ("高兴" 6.0, "周末" 7.6; "张三" 9.4, "李明" 10.2).
_COMMON_IDF = 8.0
_INTRO_WINDOW = 6


@functools.lru_cache(maxsize=1)
def _idf() -> dict[str, float]:
    table: dict[str, float] = jionlp().idf_loader()
    return table


def _walk_places(node: dict[str, Any], out: set[str]) -> None:
    for key, value in node.items():
        if key == "_full_name" and isinstance(value, str):
            out.add(value)
            out.add(re.sub(r"(?:市|县|区|省|自治州|地区|盟)$", "", value))
        elif key == "_alias" and isinstance(value, str):
            out.add(value)
        elif isinstance(value, dict):
            _walk_places(value, out)


@functools.lru_cache(maxsize=1)
def _places() -> frozenset[str]:
    out: set[str] = set()
    _walk_places(jionlp().china_location_loader(), out)
    return frozenset(p for p in out if len(p) >= 2)


def _surname_at(text: str, i: int) -> str | None:
    if text[i : i + 2] in COMPOUND_SURNAMES:
        return text[i : i + 2]
    return text[i] if text[i] in SURNAMES else None


def _given_options(text: str, start: int) -> list[str]:
    """The one- and two-character given names that may follow a surname ending at ``start``, longest first."""
    if _TITLES.match(text[start:]):
        return []
    given = ""
    for ch in text[start : start + 2]:
        if not _CJK.match(ch) or ch in _NOT_GIVEN or (given and ch in _NUMERALS):
            break
        given += ch
    return [given[:n] for n in range(len(given), 0, -1)]


def _common(word: str) -> bool:
    idf = _idf().get(word)
    return idf is not None and idf < _COMMON_IDF


def _plausible(name: str, surname: str) -> bool:
    """Not an ordinary word ("高兴", nor one that starts with one: "黄金被"), not a place name."""
    if name in _places() or _common(name):
        return False
    return len(name) <= len(surname) + 1 or not _common(name[: len(surname) + 1])


def _followed_by_place(text: str, start: int, name: str) -> bool:
    """ "张家口" inside "张家口市", "白云街" inside "白云街道": the name is the head of a longer place name."""
    if any(text[start : start + n] in _places() for n in range(len(name) + 1, len(name) + 4)):
        return True
    return any(_PLACE_SUFFIX.match(text[start + n :]) for n in range(2, len(name) + 1))


def _name_at(text: str, i: int) -> tuple[int, int, int] | None:
    """The name starting at ``i`` when its context says it is one."""
    surname = _surname_at(text, i)
    if surname is None or _NUMBER_BEFORE.search(text[:i]):
        return None
    intro = bool(_INTRO.search(text[max(0, i - _INTRO_WINDOW) : i]))
    if surname in _INTRO_ONLY and not intro:
        return None
    for given in _given_options(text, i + len(surname)):
        name = surname + given
        end = i + len(name)
        if (intro or _AFTER.match(text[end:])) and _plausible(name, surname) and not _followed_by_place(text, i, name):
            return (i, end, len(surname))
    return None


def name_spans(text: str) -> list[tuple[int, int, int]]:
    """(start, end, surname length) of every person's name recognised in context in ``text``."""
    spans: list[tuple[int, int, int]] = []
    i = 0
    while i < len(text):
        found = None
        if text[i] in _INTRO_CHARS:
            found = _name_at(text, i + 1)
        found = found or _name_at(text, i)
        if found is not None:
            spans.append(found)
            i = found[1]
        else:
            i += 1
    return spans


def names_in(text: str) -> list[str]:
    """The names recognised in ``text``, in order ("我叫张三，李四欠我钱" -> ["张三", "李四"])."""
    return [text[s:e] for s, e, _ in name_spans(text)]


def as_known_names(values: Iterable[str]) -> list[str]:
    """Names held in known values: a whole value that looks like a name ("张三"), or names in it ("邻居张三")."""
    found: list[str] = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        surname = _surname_at(value, 0)
        if surname is not None and 2 <= len(value) <= len(surname) + 2 and _CJK.fullmatch(value[-1]):
            if all(_CJK.match(ch) for ch in value) and not _TITLES.match(value[len(surname) :]):
                found.append(value)
                continue
        found += names_in(value)
    return sorted(set(found), key=len, reverse=True)


def _known_spans(text: str, known: Iterable[str]) -> Iterator[tuple[int, int, int]]:
    for name in known:
        surname = _surname_at(name, 0)
        if surname is None:
            continue
        for match in re.finditer(re.escape(name), text):
            yield match.start(), match.end(), len(surname)


def mask_names(text: str, known_names: Iterable[str] = ()) -> str:
    """``text`` with each person's given name starred, surname kept.

    "张三欠我钱" -> "张*欠我钱", "欧阳娜娜打我" -> "欧阳**打我"; ``known_names`` are masked wherever they appear.
    """
    chars = list(text)
    for start, end, keep in [*_known_spans(text, as_known_names(known_names)), *name_spans(text)]:
        for k in range(start + keep, end):
            chars[k] = "*"
    return "".join(chars)
