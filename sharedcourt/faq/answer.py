"""What the assistant says to a legal question: the entry's answer with its sources and an offer, or a
decline (not sure, or a question about one case's outcome) that offers the 共享律师 or a person."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sharedcourt.faq.entries import Entry, shipped
from sharedcourt.faq.retrieval import Hit, Index
from sharedcourt.messaging.replies import Button, Reply

# Chosen on the dev split (held-out paraphrases + data/faq_dev.yml declines; `sharedcourt.cli faq-threshold`).
THRESHOLD = 0.45
MEDIATION = Button("申请调解", "/start_mediation")
BOOKING = Button("预约共享法庭", "/find_site")
LAWYER = Button("问共享律师", "联系共享律师")
PERSON = Button("转人工", "/request_human")
OFFER = (MEDIATION, BOOKING, LAWYER, PERSON)
NOT_ADVICE = "以上是法律的一般规定，不是对具体案件的判断。需要的话，我可以帮您："
NOT_SURE = "这个问题我没有把握答准确，不想误导您。建议问问共享律师，或者转给工作人员："
ONE_CASE = (
    "具体案件能不能赢、能赔多少，要看证据和事实，我不能替您下结论。"
    "可以请共享律师帮您看看，或者到共享法庭申请调解："
)
# Asking for the outcome of one's own case (not the rule): never answered from the knowledge base.
_ONE_CASE = re.compile(
    r"能(?:不能)?(?:打)?赢|会不会赢|赢的(?:几率|概率|把握)|胜诉率|(?:法院|法官)(?:会|能)(?:判|支持)|"
    r"会(?:被)?判(?:几年|多少|多久|我)|我(?:这|这个|这种)(?:情况|案子|案件).{0,8}(?:能|会|可以)(?:赔|判|拿|要)"
)


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
    return bool(_ONE_CASE.search(text))


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
        if not hits or hits[0].score < self.threshold:
            return Answer((Reply(NOT_SURE, (LAWYER, PERSON)),), None, hits)
        return Answer(render(hits[0].entry), hits[0].entry, hits)


@functools.lru_cache(maxsize=1)
def knowledge_base() -> KnowledgeBase:
    """The shipped knowledge base (built once per process)."""
    return KnowledgeBase(shipped())


def answer(text: str) -> Answer:
    """Answer a legal question from the shipped knowledge base."""
    return knowledge_base().answer(text)
