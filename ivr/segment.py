"""Word boundaries of a normalised answer (jieba), so that a short grammar word counts only where it
is a word of what the caller said.

Matching is on characters (ivr/understanding.py); without boundaries 行 is found in 行人, 好 in 好像
and 不是 in 是不是.  The part-of-speech tags tell content words (nouns, verbs, adjectives: 下雨, 吵,
吃饭) from function words (我, 的, 了, 就), so an answer whose only evidence is a one-character word
(在, 好, 是) can be told from a sentence about something else that merely contains it
(外面在下雨, 我好难啊).  jieba's dictionary ships in its wheel: offline, ~1-2 s to load once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import lru_cache

import jieba
import jieba.posseg

# jieba (ICTCLAS) tags whose first letter marks a content word: nouns, verbs, adjectives, places,
# directions, times, idioms, set phrases, abbreviations, distinguishing words.
CONTENT_TAGS = frozenset("nvasftilbj")
_LOAD_LOCK = threading.Lock()


@dataclass(frozen=True)
class Words:
    spans: tuple[tuple[int, int], ...]  # (start, end) of each word, in order, covering the text
    content: tuple[bool, ...]  # per word: a content word

    @property
    def bounds(self) -> frozenset[int]:
        return frozenset(b for span in self.spans for b in span)

    def aligned(self, start: int, end: int | None = None) -> bool:
        """True when [start, end) starts (and, unless end is None, ends) on a word boundary."""
        b = self.bounds
        return start in b and (end is None or end in b)


def load() -> None:
    """Load the dictionary now (start-up), not during a caller's first answer."""
    with _LOAD_LOCK:
        if not jieba.dt.initialized:
            jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict…" lines on stderr
            jieba.initialize()


def is_word(text: str) -> bool:
    """A word of jieba's dictionary (used with a frequency): 那家 is, 房足 (an ASR slip for 房租) is not."""
    load()
    return bool(jieba.dt.FREQ.get(text))


@lru_cache(maxsize=8192)
def words(text: str) -> Words:
    """Dictionary-only segmentation (HMM=False: no guessed words, the same cut every time)."""
    load()
    spans, content, pos = [], [], 0
    for pair in jieba.posseg.lcut(text, HMM=False):
        spans.append((pos, pos + len(pair.word)))
        content.append(pair.flag[:1] in CONTENT_TAGS and pair.flag != "zg")  # zg: jieba's tag for 啊/行
        pos += len(pair.word)
    return Words(tuple(spans), tuple(content))
