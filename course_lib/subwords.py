"""Subword units by byte-pair encoding (Sennrich, Haddow & Birch 2016).

A word-level model can only write the words of its vocabulary; every other word
becomes ``[UNK]``. German makes this worse: compounds and inflections give a long
tail of rare words (*Fahrradschlüssel*, *verschlafen*, *gegessen*). Byte-pair
encoding (BPE) splits rare words into frequent pieces, so that a vocabulary of a
few thousand units spells out every word made of known characters::

    "fahrradschlüssel"  →  "fahrrad@@ schlüssel"
    "verschlafen"       →  "ver@@ schla@@ fen"

``@@`` marks a piece that continues into the next one;
:func:`course_lib.tokenization.join_subwords` removes the markers to give the words back.

**Learning** (:func:`learn_merges`). Start from single characters, the last one
marked as a word end (``</w>``). Count every pair of adjacent symbols over the
training words, weighted by word frequency; merge the most frequent pair into one
new symbol; repeat ``merges`` times. The list of merges, in order, *is* the model.

**Applying** (:meth:`BytePairEncoding.segment_word`). Split a word into characters
and apply the learned merges in the order they were learned, as long as any
applies. Frequent words end up as one unit, rare words as several.

Ties are broken by the pair itself (alphabetically), so the merges are the same on
every machine.
"""

from __future__ import annotations

import heapq
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from .files import write_text_atomically

#: Marks the last symbol of a word while learning (never written to text).
WORD_END = "</w>"
#: Marks a piece that continues into the next one in segmented text.
CONTINUES = "@@"

Pair = tuple[str, str]


def _symbols(word: str) -> tuple[str, ...]:
    """``'hund'`` → ``('h', 'u', 'n', 'd</w>')``."""
    return (*word[:-1], word[-1] + WORD_END)


def _pairs(symbols: tuple[str, ...]) -> Counter:
    return Counter(zip(symbols, symbols[1:]))


def learn_merges(word_counts: dict[str, int], merges: int) -> list[Pair]:
    """The first ``merges`` merges of BPE on ``{word: count}`` (fewer if nothing is left to merge).

    Each step merges the most frequent adjacent pair of symbols. Only the words that
    contain that pair are updated, and a heap finds the next most frequent pair, so
    learning thousands of merges over the corpus takes seconds.
    """
    words = [_symbols(w) for w in word_counts if w]                 # symbols of each word type
    counts = [word_counts[w] for w in word_counts if w]
    pair_counts: Counter = Counter()                               # pair → weighted count
    where: defaultdict[Pair, set[int]] = defaultdict(set)          # pair → words holding it
    for index, symbols in enumerate(words):
        for pair, n in _pairs(symbols).items():
            pair_counts[pair] += n * counts[index]
            where[pair].add(index)
    heap = [(-count, pair) for pair, count in pair_counts.items()]
    heapq.heapify(heap)
    learned: list[Pair] = []
    while heap and len(learned) < merges:
        negative, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -negative or -negative <= 0:
            continue                                               # a stale heap entry
        learned.append(pair)
        changed: set[Pair] = set()
        for index in list(where[pair]):
            old = words[index]
            new = _merge(old, pair)
            for p, n in _pairs(old).items():
                pair_counts[p] -= n * counts[index]
                changed.add(p)
            for p, n in _pairs(new).items():
                pair_counts[p] += n * counts[index]
                where[p].add(index)
                changed.add(p)
            words[index] = new
        del pair_counts[pair], where[pair]
        for p in changed - {pair}:
            if pair_counts[p] > 0:
                heapq.heappush(heap, (-pair_counts[p], p))
    return learned


def _merge(symbols: tuple[str, ...], pair: Pair) -> tuple[str, ...]:
    """Replace every adjacent ``pair`` in ``symbols`` by the joined symbol."""
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            out.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return tuple(out)


class BytePairEncoding:
    """Learned merges, applied to words and sentences (:meth:`segment`).

    :func:`course_lib.tokenization.join_subwords` undoes the segmentation.
    """

    def __init__(self, merges: Iterable[Pair]):
        self.merges = [tuple(pair) for pair in merges]
        self.rank = {pair: i for i, pair in enumerate(self.merges)}
        self.segment_word = lru_cache(maxsize=200_000)(self._segment_word)

    @classmethod
    def learn(cls, sentences: Iterable[str], merges: int) -> BytePairEncoding:
        """Learn ``merges`` merges from space-tokenised ``sentences`` (the training split only)."""
        return cls(learn_merges(Counter(w for s in sentences for w in s.split()), merges))

    def _segment_word(self, word: str) -> tuple[str, ...]:
        """``'verschlafen'`` → ``('ver@@', 'schla@@', 'fen')``: the earliest-learned merge first."""
        symbols = _symbols(word)
        while len(symbols) > 1:
            ranked = [(self.rank[p], p) for p in zip(symbols, symbols[1:]) if p in self.rank]
            if not ranked:
                break
            symbols = _merge(symbols, min(ranked)[1])
        pieces = [s + CONTINUES for s in symbols[:-1]]
        return (*pieces, symbols[-1][: -len(WORD_END)])

    def segment(self, sentence: str) -> str:
        """A space-tokenised sentence → its pieces, space-separated, with ``@@`` markers."""
        return " ".join(piece for word in sentence.split() for piece in self.segment_word(word))

    def save(self, path: str | Path) -> None:
        write_text_atomically(path, json.dumps(self.merges, ensure_ascii=False))

    @classmethod
    def load(cls, path: str | Path) -> BytePairEncoding:
        """Read merges saved by :meth:`save`; ``ValueError`` if the file is damaged."""
        try:
            merges = json.loads(Path(path).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError(f"{path} is not valid JSON ({error}); it is damaged") from None
        if not isinstance(merges, list) or not all(
                isinstance(m, list) and len(m) == 2 and all(isinstance(x, str) for x in m)
                for m in merges):
            raise ValueError(f"{path} does not hold byte-pair merges (a list of symbol pairs)")
        return cls(merges)


__all__ = ["CONTINUES", "WORD_END", "BytePairEncoding", "learn_merges"]
