"""Cleaning and splitting the corpus: from raw pairs to data you can trust.

The steps, in order (``prepare_data`` runs them all):

1. **Normalise** every sentence (:func:`course_lib.tokenization.normalize`): Unicode
   NFC, one kind of quote and apostrophe, punctuation split off as its own token,
   lowercased.
2. **Deduplicate**: identical (English, German) pairs after normalisation are
   kept once (:func:`deduplicate`).
3. **Length filter**: pairs longer than a stated percentile of sentence length are
   dropped (:func:`length_filter`); the long tail costs memory and padding.
4. **Split by English source** (:func:`split_by_source`): every English sentence
   goes to exactly one of train / validation / test, together with *all* of its
   German translations. The test set therefore never shares a source sentence with
   the training set, and each test source keeps all its translations as references.

Reading the file itself (download, cache, checksums) lives in :mod:`course_lib.corpus`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import corpus
from .config import SEED, DataConfig
from .tokenization import normalize, tokens

Pair = tuple[str, str]

# --------------------------------------------------------------------------- vocabulary size


def types_for_coverage(texts: list[str], fraction: float) -> int:
    """How many of the most frequent word types cover ``fraction`` of all tokens?

    Sort word types by frequency; walk down the list adding up their counts; return
    how many types it takes until the running total reaches ``fraction`` of all tokens.
    This is how we choose a vocabulary size: 95 % coverage means 1 token in 20
    becomes ``[UNK]``.
    """
    from collections import Counter

    counts = sorted(Counter(w for t in texts for w in t.split()).values(), reverse=True)
    needed, running = fraction * sum(counts), 0
    for rank, count in enumerate(counts, start=1):
        running += count
        if running >= needed:
            return rank
    return len(counts)


# --------------------------------------------------------------------------- cleaning steps


def normalize_pairs(pairs: list[Pair], lowercase: bool = True) -> tuple[list[Pair], int]:
    """Normalise both sides of every pair; drop pairs that end up empty.

    Returns ``(pairs, dropped)``.
    """
    cleaned = []
    for english, german in pairs:
        en, de = normalize(english, lowercase), normalize(german, lowercase)
        if en and de:
            cleaned.append((en, de))
    return cleaned, len(pairs) - len(cleaned)


def deduplicate(pairs: list[Pair]) -> tuple[list[Pair], int]:
    """Keep the first occurrence of each identical pair. Returns ``(pairs, removed)``."""
    unique = list(dict.fromkeys(pairs))
    return unique, len(pairs) - len(unique)


@dataclass(frozen=True)
class LengthCut:
    """The token-length limits of :func:`length_filter` and what they removed."""

    percentile: float
    max_source_tokens: int
    max_target_tokens: int
    removed: int


def length_filter(pairs: list[Pair], percentile: float = 99.0) -> tuple[list[Pair], LengthCut]:
    """Drop pairs where either side is longer than the given percentile of its lengths.

    The limits are measured per language (German sentences run a little longer).
    """
    en_lengths = np.array([len(tokens(en)) for en, _ in pairs])
    de_lengths = np.array([len(tokens(de)) for _, de in pairs])
    max_en = int(np.ceil(np.percentile(en_lengths, percentile)))
    max_de = int(np.ceil(np.percentile(de_lengths, percentile)))
    keep = (en_lengths <= max_en) & (de_lengths <= max_de)
    kept = [pair for pair, ok in zip(pairs, keep) if ok]
    return kept, LengthCut(percentile, max_en, max_de, len(pairs) - len(kept))


# --------------------------------------------------------------------------- splitting


def group_by_source(pairs: list[Pair]) -> dict[str, list[str]]:
    """Map every English sentence to all its German translations, in corpus order."""
    groups: dict[str, list[str]] = defaultdict(list)
    for english, german in pairs:
        groups[english].append(german)
    return dict(groups)


@dataclass
class Splits:
    """Train / validation / test pairs. No English sentence is in two splits."""

    train: list[Pair]
    val: list[Pair]
    test: list[Pair]

    def sizes(self) -> dict[str, dict[str, int]]:
        return {
            name: {"pairs": len(part), "sources": len({en for en, _ in part})}
            for name, part in (("train", self.train), ("val", self.val), ("test", self.test))
        }


def split_by_source(
    pairs: list[Pair], val_fraction: float = 0.05, test_fraction: float = 0.05, seed: int = SEED
) -> Splits:
    """Split *English sentences* (not pairs) into train / validation / test.

    All translations of one English sentence go to the same split, so a model is never
    tested on a sentence it saw in training, and each test sentence keeps all of its
    German translations as references. The sources are sorted before shuffling, so
    the split depends only on the data and the seed.
    """
    groups = group_by_source(pairs)
    sources = sorted(groups)
    order = np.random.default_rng(seed).permutation(len(sources))
    n_test = round(len(sources) * test_fraction)
    n_val = round(len(sources) * val_fraction)
    test_src = {sources[i] for i in order[:n_test]}
    val_src = {sources[i] for i in order[n_test:n_test + n_val]}

    def pick(chosen: set[str]) -> list[Pair]:
        return [(en, de) for en, de in pairs if en in chosen]

    train_src = set(sources) - test_src - val_src
    return Splits(train=pick(train_src), val=pick(val_src), test=pick(test_src))


def pair_level_leakage(pairs: list[Pair], test_fraction: float = 0.05, seed: int = SEED) -> dict:
    """Measure the leak of the common *pair-level* random split.

    Shuffling pairs and cutting off a test slice puts different translations of the
    same English sentence on both sides. Returns how many test pairs (and distinct
    test sources) also have their English sentence in the training slice.
    """
    order = np.random.default_rng(seed).permutation(len(pairs))
    n_test = round(len(pairs) * test_fraction)
    test = [pairs[i] for i in order[:n_test]]
    train_sources = {pairs[i][0] for i in order[n_test:]}
    leaked = [en for en, _ in test if en in train_sources]
    test_sources = {en for en, _ in test}
    return {
        "test_pairs": len(test),
        "leaked_pairs": len(leaked),
        "leaked_pair_fraction": len(leaked) / max(len(test), 1),
        "test_sources": len(test_sources),
        "leaked_sources": len(set(leaked)),
    }


# --------------------------------------------------------------------------- all together


@dataclass
class PreparedData:
    """The cleaned, split corpus plus every count a learner should see."""

    splits: Splits
    length_cut: LengthCut
    stats: dict = field(default_factory=dict)

    @property
    def train(self) -> list[Pair]:
        return self.splits.train

    @property
    def val(self) -> list[Pair]:
        return self.splits.val

    @property
    def test(self) -> list[Pair]:
        return self.splits.test

    def summary(self) -> dict:
        """A JSON-friendly summary (used by ``python -m course_lib data``)."""
        return {**self.stats, "splits": self.splits.sizes()}


def prepare_data(
    source: str | Path | None = None,
    config: DataConfig | None = None,
    verbose: bool = True,
) -> PreparedData:
    """Locate, read, clean, filter and split the corpus; the one call the chapters use.

    The result depends only on the corpus file and ``config`` (never on quick mode),
    so every count printed from it is reproducible.
    """
    config = config or DataConfig()
    raw = corpus.load_corpus(source, verbose=verbose)
    normalized, empty = normalize_pairs(raw.pairs, config.lowercase)
    unique, duplicates = deduplicate(normalized)
    kept, cut = length_filter(unique, config.length_percentile)
    splits = split_by_source(kept, config.val_fraction, config.test_fraction, config.seed)
    stats = {
        "path": str(raw.path),
        "sha256": raw.sha256,
        "lines_read": raw.lines_read,
        "pairs_read": len(raw.pairs),
        "lines_skipped": raw.skipped,
        "empty_after_normalising": empty,
        "duplicates_removed": duplicates,
        "length_percentile": cut.percentile,
        "max_source_tokens": cut.max_source_tokens,
        "max_target_tokens": cut.max_target_tokens,
        "removed_as_too_long": cut.removed,
        "pairs": len(kept),
        "unique_sources": len({en for en, _ in kept}),
    }
    return PreparedData(splits=splits, length_cut=cut, stats=stats)
