"""How sure is a BLEU score? Bootstrap confidence intervals (Koehn 2004).

A test set is one sample of the sentences a system could be given. Another sample
of the same size would give another BLEU. The bootstrap estimates how much: draw
``n`` sentences *with replacement* from the ``n`` test sentences, compute corpus BLEU
on that resample, repeat ``samples`` times, and read the spread of the scores.

Corpus BLEU is not an average of sentence scores, so each resample must sum the
sentences' n-gram counts and lengths first (as :func:`course_lib.metrics.corpus_bleu`
does). We compute those counts once per sentence and then only re-add them, which
makes 1,000 resamples of a 6,000-sentence test set take a second or two.

Two uses:

* :func:`bootstrap_bleu` — a 95 % confidence interval for one system's BLEU;
* :func:`paired_bootstrap` — is system B better than system A on this test set?
  Both systems are scored on the *same* resamples ("paired"), so the interval of
  the difference B − A is much narrower than two separate intervals suggest.

Koehn, P. (2004). *Statistical Significance Tests for Machine Translation
Evaluation.* EMNLP. sacrebleu's ``--paired-bs`` draws the same resamples (with the
same seed), and our tests check that its system means and intervals equal ours. Its
p-value is a different statistic, though: two-sided, from the absolute differences
centred on their mean, with one added to the count —
``(#{|Δ_b| − mean|Δ| > |Δ|} + 1) / (samples + 1)`` — where ours is Koehn's one-sided
share of resamples in which B is not better than A. The two p-values differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import metrics, tokenization
from .config import SEED

DEFAULT_SAMPLES = 1000


@dataclass(frozen=True)
class Interval:
    """A score with its bootstrap confidence interval (BLEU points, 0–100)."""

    score: float
    low: float
    high: float
    confidence: float
    samples: int

    def __str__(self) -> str:
        half = (self.high - self.low) / 2
        return f"{self.score:.2f} ± {half:.2f} ({self.confidence:.0%} CI {self.low:.2f}–{self.high:.2f})"


@dataclass(frozen=True)
class PairedResult:
    """B − A in BLEU points, its confidence interval, and how often A ≥ B in the resamples."""

    baseline: Interval
    system: Interval
    difference: Interval
    p_value: float   # share of resamples in which the system was not better than the baseline

    @property
    def p_text(self) -> str:
        """The p-value as it may be reported: ``"< 0.001"`` when no resample of 1,000 had A ≥ B.

        With ``samples`` resamples the smallest share the test can see is 1/samples, so
        a share of 0 means "below that", not "zero".
        """
        if self.p_value == 0:
            return f"< {1 / self.difference.samples:.3g}"
        return f"{self.p_value:.3f}"

    def __str__(self) -> str:
        p = self.p_text if self.p_value == 0 else f"= {self.p_text}"
        return (f"Δ BLEU = {self.difference.score:+.2f} ({self.difference.confidence:.0%} CI "
                f"{self.difference.low:+.2f} to {self.difference.high:+.2f}), p {p}")


def sentence_counts(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> np.ndarray:
    """Per sentence: 4 n-gram matches, 4 n-gram totals, hypothesis and reference length.

    Returns an int array of shape (sentences, 10); summing rows gives corpus counts.
    """
    rows = []
    for hypothesis, refs in zip(hypotheses, references, strict=True):
        matches, totals, hyp_len, ref_len = metrics.sentence_statistics(
            tokenization.tokens(hypothesis), [tokenization.tokens(r) for r in refs])
        rows.append([*matches, *totals, hyp_len, ref_len])
    return np.asarray(rows, dtype=np.int64)


def bleu_of_counts(counts: np.ndarray) -> float:
    """Corpus BLEU of summed counts (a row of :func:`sentence_counts` summed over sentences)."""
    n = metrics.MAX_ORDER
    return metrics.bleu_from_statistics(list(counts[:n]), list(counts[n:2 * n]),
                                        int(counts[2 * n]), int(counts[2 * n + 1])).score


def resample_indices(sentences: int, samples: int, seed: int = SEED) -> np.ndarray:
    """``samples`` rows of ``sentences`` indices drawn with replacement (seeded).

    Drawn as sacrebleu draws them, so with the same seed both resample alike.
    """
    return np.random.default_rng(seed).choice(sentences, size=(samples, sentences), replace=True)


def _interval(score: float, resampled: np.ndarray, confidence: float) -> Interval:
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(resampled, [tail, 100 - tail])
    return Interval(score, float(low), float(high), confidence, len(resampled))


def bootstrap_bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str]],
                   samples: int = DEFAULT_SAMPLES, confidence: float = 0.95,
                   seed: int = SEED) -> Interval:
    """Corpus BLEU with a percentile bootstrap confidence interval."""
    metrics.check_corpus(hypotheses, references)
    return bootstrap_counts(sentence_counts(hypotheses, references), samples, confidence, seed)


def bootstrap_counts(counts: np.ndarray, samples: int = DEFAULT_SAMPLES,
                     confidence: float = 0.95, seed: int = SEED) -> Interval:
    """:func:`bootstrap_bleu` from per-sentence counts (rows of :func:`sentence_counts`).

    Lets a caller count once and bootstrap any subset of sentences, e.g. one length bucket.
    """
    resampled = np.array([bleu_of_counts(counts[rows].sum(axis=0))
                          for rows in resample_indices(len(counts), samples, seed)])
    return _interval(bleu_of_counts(counts.sum(axis=0)), resampled, confidence)


def paired_bootstrap(baseline: Sequence[str], system: Sequence[str],
                     references: Sequence[Sequence[str]], samples: int = DEFAULT_SAMPLES,
                     confidence: float = 0.95, seed: int = SEED) -> PairedResult:
    """Koehn's paired bootstrap: both systems scored on the same resampled test sets."""
    metrics.check_corpus(baseline, references)
    metrics.check_corpus(system, references)
    return paired_bootstrap_counts(sentence_counts(baseline, references),
                                   sentence_counts(system, references), samples, confidence,
                                   seed)


def paired_bootstrap_counts(counts_a: np.ndarray, counts_b: np.ndarray,
                            samples: int = DEFAULT_SAMPLES, confidence: float = 0.95,
                            seed: int = SEED) -> PairedResult:
    """:func:`paired_bootstrap` from per-sentence counts (rows of :func:`sentence_counts`).

    Both systems are scored on the same resampled sentences, each resample's counts
    summed before BLEU is computed (corpus BLEU, not a mean of sentence scores).
    """
    scores_a, scores_b = [], []
    for rows in resample_indices(len(counts_a), samples, seed):
        scores_a.append(bleu_of_counts(counts_a[rows].sum(axis=0)))
        scores_b.append(bleu_of_counts(counts_b[rows].sum(axis=0)))
    scores_a, scores_b = np.array(scores_a), np.array(scores_b)
    bleu_a, bleu_b = bleu_of_counts(counts_a.sum(axis=0)), bleu_of_counts(counts_b.sum(axis=0))
    return PairedResult(
        baseline=_interval(bleu_a, scores_a, confidence),
        system=_interval(bleu_b, scores_b, confidence),
        difference=_interval(bleu_b - bleu_a, scores_b - scores_a, confidence),
        p_value=float(np.mean(scores_b - scores_a <= 0)),
    )


def seeded_sample(items: Sequence, size: int | None, seed: int = SEED) -> tuple[list, str]:
    """A seeded random sample of ``size`` items (all of them if ``size`` is None or larger).

    Returns the sample and a one-line description to print next to any number
    computed on it — never the first N of a split, which is sorted by length.
    """
    items = list(items)
    if size is None or size >= len(items):
        return items, f"all {len(items):,} items"
    chosen = np.sort(np.random.default_rng(seed).choice(len(items), size=size, replace=False))
    return [items[i] for i in chosen], (f"a random sample of {size:,} of {len(items):,} "
                                        f"(numpy default_rng seed {seed}, without replacement)")


__all__ = ["DEFAULT_SAMPLES", "Interval", "PairedResult", "bleu_of_counts", "bootstrap_bleu",
           "bootstrap_counts", "paired_bootstrap", "paired_bootstrap_counts", "resample_indices",
           "seeded_sample", "sentence_counts"]
