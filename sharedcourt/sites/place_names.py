"""How residents write place names: text normalisation and the short forms that are also ordinary words."""

from __future__ import annotations

import re
import unicodedata

# Short forms that are ordinary words: "weak" forms, which count only next to their parent ("龙游龙洲北门" is
# 北门村 of 龙洲街道, "我很幸福" is no place); the full names always count.
COMMON_WORDS = frozenset(
    """
    大街 湖南 保安 花园 新新 中心 幸福 阳光 朝阳 和平 友好 团结 光明 东方 前进 胜利 红旗 同心 新华 人民 文化
    民主 联合 新民 建设 新建 大桥 东门 北门 南门 西门 书院 府前 新村 江东 城东 城南 城西 城北 滨江 望江 长安
    永安 平安 和谐 丰收 先锋 五星 红星 新星 明星 友爱 富强 振兴 群力 联盟 中山 解放 新生 新兴 兴旺 新风 时代
    锦绣 美丽 希望 东山 西山 南山 北山 王家 陈家 杨家 江山 常山 开化 龙游 柯城 衢江 共享 法庭
    """.split()
)
# Words residents add around a place; removed before matching so they cannot join two forms.
_COMMITTEE = (
    (re.compile(r"(社区)?(居民委员会|居委会)"), "社区"),
    (re.compile(r"村*(村民委员会|村委会|村委)"), "村"),
)
_DROP = re.compile(r"[\s\u3000,，。.、;；:：!！?？\"'“”‘’（）()\[\]【】<>《》\-—_/\\|~·]+")


def normalize(text: str, drop: tuple[str, ...] = ("衢州市", "衢州")) -> str:
    """NFKC, no spaces or punctuation, committee suffixes reduced to 村 / 社区, the province and `drop` (the city
    of a one-city deployment, longest first) removed."""
    text = unicodedata.normalize("NFKC", text)
    text = _DROP.sub("", text)
    for pattern, repl in _COMMITTEE:
        text = pattern.sub(repl, text)
    for prefix in ("浙江省", "浙江", *drop):
        text = text.replace(prefix, "")
    return text


def strip_suffix(name: str, suffixes: tuple[str, ...]) -> str:
    """The name without the first of `suffixes` it ends with, unless fewer than two characters would be left."""
    for s in suffixes:
        if name.endswith(s) and len(name) - len(s) >= 2:
            return name[: -len(s)]
    return name
