"""Whether a message asks what the law says (answer it) rather than describes the resident's own dispute.

The intent classifier learned dispute types from thousands of consultation questions, so it names the topic
of "工伤赔偿标准是多少" (labour) but not that it is a question about the rule. This rule adds the speech act:
a short message in question form that does not speak about the writer ("我", "俺", "咱") asks about the law;
"老板拖欠我三个月工资" or "我借给邻居两万块钱他一直拖着不还" still start the intake.

Pure `re`, no other import: the Rasa NLU component (bot/components/law_question.py) runs it too.
"""

from __future__ import annotations

import re

MAX_CHARS = 40  # longer messages tell a story: the intake listens to it
_FIRST_PERSON = re.compile(r"我|俺|咱|本人")
_QUESTION = re.compile(
    r"[?？]|吗|呢|么$|多少|多久|多长|(?<!好)几[年个倍级天岁种次]|怎么|怎样|咋|如何|什么时候|是什么|"
    r"什么(?:意思|条件|材料|手续|责任|区别|费用|标准)|区别|哪些|哪里|哪个|谁|标准|规定|合法|违法|有效|"
    r"能不能|可不可以|能否|是否|会不会|要不要|有没有|够不够"
)
_SPACE = re.compile(r"\s+")


def is_law_question(text: str) -> bool:
    """A short question about the rule, not about the writer's own case."""
    compact = _SPACE.sub("", text or "")
    return 0 < len(compact) <= MAX_CHARS and not _FIRST_PERSON.search(compact) and bool(_QUESTION.search(compact))
