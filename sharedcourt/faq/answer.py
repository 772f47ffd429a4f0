"""What the assistant says to a legal question: the entry's answer with its sources and an offer, or a
decline (not sure, or a question about one case's outcome) that offers the 共享律师 or a person."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sharedcourt.faq.entries import Entry, shipped
from sharedcourt.faq.retrieval import Hit, Index, content
from sharedcourt.messaging.replies import Button, Reply

# Lowest threshold whose lower bound on declining data/faq_dev.yml reaches 90 % (`sharedcourt.cli faq-threshold`).
THRESHOLD = 0.31
# "在吗", "有人吗", "我想咨询一下": under 3 characters of content leave nothing to match an entry on.
MIN_CONTENT = 3
MEDIATION = Button("申请调解", "/start_mediation")
BOOKING = Button("预约共享法庭", "/find_site")
LAWYER = Button("问共享律师", "联系共享律师")
PERSON = Button("转人工", "/request_human")
OFFER = (MEDIATION, BOOKING, LAWYER, PERSON)
NOT_ADVICE = "以上是法律的一般规定，不是对具体案件的判断。需要的话，我可以帮您："
NOT_SURE = (
    "这个问题我没有把握答准确，不想误导您。建议问问共享律师，或者转给工作人员；如果是您自己遇到的纠纷，也可以申请调解："
)
ONE_CASE = (
    "具体案件能不能赢、能赔多少，要看证据和事实，我不能替您下结论。可以请共享律师帮您看看，或者到共享法庭申请调解："
)
# Asking for the outcome of a case (win, what the court will award), not the rule: never answered from the entries.
_OUTCOME = re.compile(
    r"能(?:不能)?(?:打)?赢|会不会赢|赢的(?:几率|概率|把握)|胜诉率|败诉|(?:法院|法官)(?:会|能)(?:判|支持)|会(?:被)?判几年"
)
_OWN_CASE = re.compile(r"我(?:的|这|这个|这种|们的|们这个)?.{0,6}(?:案子|案件|官司|情况)")
_OWN_OUTCOME = re.compile(r"赢|输|判|能赔多少|能拿多少|能要多少|会赔多少")


@dataclass(frozen=True)
class Answer:
    """The replies for one question, the entry answered (None: declined) and the retrieval's best hits."""

    replies: tuple[Reply, ...]
    entry: Entry | None
    hits: tuple[Hit, ...] = ()

    @property
    def score(self) -> float:
        """The best hit's score (0 when nothing matched)."""
        return self.hits[0].score if self.hits else 0.0


def sources_line(entry: Entry) -> str:
    """来源：《…》第…条；《…》 as the entry publishes them."""
    return "来源：" + "；".join(entry.sources)


def render(entry: Entry) -> tuple[Reply, ...]:
    """At most two messages: the answer's paragraphs, the last one ending with the figure, sources and offer."""
    *first, last = entry.paragraphs
    tail = [last]
    if entry.figures:
        tail.append(f"要点：{entry.figures}")
    tail += [sources_line(entry), NOT_ADVICE]
    return (*(Reply(p) for p in first), Reply("\n".join(tail), OFFER))


def asks_about_one_case(text: str) -> bool:
    """The resident asks how their own case will end (win, how much the court will award)."""
    return bool(_OUTCOME.search(text)) or bool(_OWN_CASE.search(text) and _OWN_OUTCOME.search(text))


class KnowledgeBase:
    """The entries, their index and the decline threshold."""

    def __init__(self, entries: Sequence[Entry], threshold: float = THRESHOLD) -> None:
        self.entries = list(entries)
        self.index = Index(self.entries)
        self.threshold = threshold
        self.by_id = {e.id: e for e in self.entries}

    def answer(self, text: str) -> Answer:
        """The answer to one question, or a decline offering the 共享律师 or a person."""
        hits = tuple(self.index.search(text))
        if asks_about_one_case(text):
            return Answer((Reply(ONE_CASE, (LAWYER, MEDIATION, PERSON)),), None, hits)
        if not hits or hits[0].score < self.threshold or len(content(text)) < MIN_CONTENT:
            return Answer((Reply(NOT_SURE, (LAWYER, PERSON, MEDIATION)),), None, hits)
        return Answer(render(hits[0].entry), hits[0].entry, hits)


@functools.lru_cache(maxsize=1)
def knowledge_base() -> KnowledgeBase:
    """The shipped knowledge base (built once per process)."""
    return KnowledgeBase(shipped())


def answer(text: str) -> Answer:
    """Answer a legal question from the shipped knowledge base."""
    return knowledge_base().answer(text)
