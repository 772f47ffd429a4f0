"""Aho-Corasick string matching: every occurrence of many keys in one pass over a text (the gazetteer's index)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator


class Automaton:
    """A small Aho-Corasick automaton over strings; values are attached to the end node of each key."""

    def __init__(self) -> None:
        self.goto: list[dict[str, int]] = [{}]
        self.fail: list[int] = [0]
        self.out: list[list[str]] = [[]]

    def add(self, key: str) -> None:
        """Add one key (before `build`)."""
        node = 0
        for ch in key:
            nxt = self.goto[node].get(ch)
            if nxt is None:
                nxt = len(self.goto)
                self.goto[node][ch] = nxt
                self.goto.append({})
                self.fail.append(0)
                self.out.append([])
            node = nxt
        if key not in self.out[node]:
            self.out[node].append(key)

    def build(self) -> None:
        """Compute the failure links once every key is added."""
        queue: deque[int] = deque(self.goto[0].values())
        while queue:
            node = queue.popleft()
            for ch, nxt in self.goto[node].items():
                queue.append(nxt)
                f = self.fail[node]
                while f and ch not in self.goto[f]:
                    f = self.fail[f]
                target = self.goto[f].get(ch, 0)
                self.fail[nxt] = target if target != nxt else 0
                self.out[nxt] = self.out[nxt] + self.out[self.fail[nxt]]

    def find(self, text: str) -> Iterator[tuple[int, int, str]]:
        """Every occurrence of every key in the text as (start, end, key), in order of the end."""
        node = 0
        goto, fail, out = self.goto, self.fail, self.out
        for i, ch in enumerate(text):
            while node and ch not in goto[node]:
                node = fail[node]
            node = goto[node].get(ch, 0)
            for key in out[node]:
                yield i + 1 - len(key), i + 1, key


def outermost(spans: list[tuple[int, int, str]], splitters: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Drop a span that lies inside a longer one ("杜泽" inside "杜泽镇", "贺村" inside "贺村镇"), unless the longer
    one straddles one of `splitters`: in "永康西村" both 永康 + 西村 and 康西村 are readings, so 西村 stays."""
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))

    def straddled(k: tuple[int, int, str]) -> bool:
        return any(o[0] < k[0] < o[1] < k[1] or k[0] < o[0] < k[1] < o[1] for o in splitters)

    kept: list[tuple[int, int, str]] = []
    for s in spans:
        if any(k[0] <= s[0] and s[1] <= k[1] and (k[1] - k[0]) > (s[1] - s[0]) and not straddled(k) for k in spans):
            continue
        kept.append(s)
    return kept
