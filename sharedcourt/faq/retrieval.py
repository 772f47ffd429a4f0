"""BM25 over character n-grams (1-2) of the entries' paraphrases: pure Python, built once per process.

An entry's paraphrases together are its document (on the dev questions of data/faq_dev.yml this ranked the
right entry first 0.79 against 0.71 for the best single paraphrase). Scores are normalised by the query's own
weight (the sum of its n-grams' idf, unseen n-grams counting as the rarest), so that words the knowledge base
has never seen pull the score down, and scaled down for questions with under FULL_LENGTH characters of content:
"律师收费" or "快递到" match a few n-grams of some entry fully, which says little (docs/FAQ.md has the figures).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sharedcourt.faq.entries import Entry

K1 = 1.2
B = 0.75
NGRAMS = (1, 2)  # trigrams ranked worse on the dev questions (0.77 against 0.81 right first)
# Content shorter than this is too little to be sure of an entry (chosen on the dev set: 12 of 0, 5, 6, 8, 10, 12, 14).
FULL_LENGTH = 12
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
# Politeness, question words and particles carry no topic; they would only make every question a little alike.
_FILLER = re.compile(
    r"请问|你好|您好|想问一下|问一下|问下|咨询一下|咨询|请教|谢谢|麻烦|一下|呢|吗|吧|啊|呀|嘛|哦|"
    r"怎么办|怎么样|怎么|怎样|咋办|咋|如何|什么|啥|哪里|哪儿|哪个|哪些|多少|多久|多长|可以|可不可以|能不能|"
    r"能否|是否|是不是|有没有|会不会|要不要|应该|一般|到底|的|了|我|俺|咱"
)
# Colloquial words residents use for the entries' words: matched as the same n-grams.
_VARIANTS = (
    ("工钱", "工资"),
    ("薪水", "工资"),
    ("欠薪", "欠工资"),
    ("老公", "丈夫"),
    ("老婆", "妻子"),
    ("车祸", "交通事故"),
)


def content(text: str) -> str:
    """The text without punctuation, spaces and filler words: what retrieval matches on."""
    text = text.lower()
    for variant, word in _VARIANTS:
        text = text.replace(variant, word)
    return _NOISE.sub("", _FILLER.sub("", text))


def grams(text: str) -> list[str]:
    """The character 1-, 2- and 3-grams of a text's content."""
    clean = content(text)
    return [clean[i : i + n] for n in NGRAMS for i in range(len(clean) - n + 1)]


@dataclass(frozen=True)
class Hit:
    """An entry and how well the question matches its paraphrases (normalised BM25)."""

    entry: Entry
    score: float


class Index:
    """BM25 index of every paraphrase of the given entries."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.entries = list(entries)
        self._docs: list[tuple[Counter[str], int]] = []
        for entry in self.entries:
            counts = Counter(g for question in entry.questions for g in grams(question))
            self._docs.append((counts, sum(counts.values())))
        self._n = len(self._docs)
        self._avg = (sum(d[1] for d in self._docs) / self._n) if self._n else 1.0
        df: Counter[str] = Counter()
        for counts, _ in self._docs:
            df.update(counts.keys())
        self._idf = {g: self._idf_of(f) for g, f in df.items()}
        self._unseen = self._idf_of(0)

    def _idf_of(self, df: int) -> float:
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))

    def _score(self, query: Iterable[str], counts: Counter[str], length: int) -> float:
        norm = K1 * (1 - B + B * length / self._avg)
        total = 0.0
        for g in query:
            tf = counts.get(g, 0)
            if tf:
                total += self._idf[g] * tf * (K1 + 1) / (tf + norm)
        return total

    def search(self, text: str, limit: int = 3) -> list[Hit]:
        """The best entries for a question, best first, at most `limit`, with normalised scores."""
        query = set(grams(text))
        weight = sum(self._idf.get(g, self._unseen) for g in query)
        if not query or not self._docs or weight <= 0:
            return []
        weight /= min(1.0, len(content(text)) / FULL_LENGTH)
        scores = [self._score(query, counts, length) / weight for counts, length in self._docs]
        ranked = sorted(range(self._n), key=lambda n: (-scores[n], self.entries[n].id))
        return [Hit(self.entries[n], round(scores[n], 4)) for n in ranked[:limit] if scores[n] > 0]
