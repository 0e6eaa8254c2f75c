"""Chapter 4 (BLEU): clipped n-gram matches, corpus BLEU, the paired bootstrap."""

from __future__ import annotations

import numpy as np

from .framework import Case, check


def check_clipped_matches(fn) -> None:
    """Chapter 4 exercise: ``fn(hyp_tokens, refs_tokens, n) -> (clipped matches, total)``."""
    the7 = "the the the the the the the".split()
    refs = ["the cat is on the mat".split(), "there is a cat on the mat".split()]
    cases = [
        Case((the7, refs, 1), expected=(2, 7),
             hint="clip each n-gram's count at its largest count in any ONE reference"),
        Case(("the cat sat on the mat".split(), refs, 1), expected=(5, 6),
             hint="count every hypothesis unigram that a reference can account for"),
        Case(("the cat sat on the mat".split(), refs, 2), expected=(3, 5),
             hint="bigrams: 'the cat', 'on the', 'the mat' appear in a reference"),
        Case((["hello"], [["hello", "there"]], 2), expected=(0, 0),
             hint="a one-word hypothesis has no bigrams: total 0"),
    ]
    check("clipped_matches", fn, cases)


def _toy_systems(sentences: int, seed: int):
    """Per-sentence BLEU counts of two toy systems on the same references: B errs less."""
    from ..significance import sentence_counts

    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(30)]
    references, system_a, system_b = [], [], []
    for _ in range(sentences):
        reference = list(rng.choice(words, size=rng.integers(3, 11)))
        references.append([" ".join(reference)])
        for hypotheses, error in ((system_a, 0.45), (system_b, 0.3)):
            hypotheses.append(" ".join(w if rng.random() > error else rng.choice(words)
                                       for w in reference))
    return sentence_counts(system_a, references), sentence_counts(system_b, references)


def check_paired_bootstrap(fn) -> None:
    """Chapter 4: ``fn(counts_a, counts_b, samples, seed) -> (difference, low, high)``.

    ``counts_*`` are per-sentence BLEU counts (rows of ``significance.sentence_counts``);
    the result is BLEU(B) − BLEU(A) and the 95 % percentile interval of that difference
    over ``samples`` paired resamples drawn by ``significance.resample_indices``.
    """
    from ..significance import paired_bootstrap_counts

    def expected(counts_a, counts_b, samples, seed):
        result = paired_bootstrap_counts(counts_a, counts_b, samples, seed=seed).difference
        return (result.score, result.low, result.high)

    counts_a, counts_b = _toy_systems(60, seed=4)
    small_a, small_b = _toy_systems(12, seed=5)
    cases = [
        Case((counts_a, counts_b, 300, 1), expected=expected(counts_a, counts_b, 300, 1),
             atol=1e-6, description="60 toy sentences, B makes fewer errors, 300 resamples",
             hint="for each resample, sum each system's counts over the drawn sentences and "
                  "compute BLEU from the sums (bleu_of_counts): corpus BLEU is not a mean of "
                  "sentence scores"),
        Case((counts_a, counts_a, 200, 2), expected=(0.0, 0.0, 0.0), atol=1e-9,
             description="the same system twice",
             hint="paired: both systems are scored on the SAME resampled sentences, so a "
                  "system compared with itself differs by exactly 0 in every resample"),
        Case((small_a, small_b, 500, 3), expected=expected(small_a, small_b, 500, 3),
             atol=1e-6, description="12 toy sentences, 500 resamples, seed 3",
             hint="draw the resamples with resample_indices(len(counts_a), samples, seed), "
                  "and take the 2.5th and 97.5th percentiles of the differences B − A"),
    ]
    check("paired_bootstrap", fn, cases)


def check_corpus_bleu(fn) -> None:
    """Chapter 4 exercise: corpus BLEU from summed statistics, 0–100 scale."""
    from .. import metrics

    hyps = ["the cat sat on the mat", "a dog runs in the park today",
            "it is raining again today"]
    refs = [["the cat sat on the mat"], ["the dog runs in the park", "a dog is running in a park"],
            ["it is raining again", "today it rains again"]]
    short = ["the cat sat on a mat"]
    short_refs = [["the cat sat on the red mat", "the cat was sitting on a mat"]]
    cases = [
        Case((hyps, refs), expected=metrics.corpus_bleu(hyps, refs), atol=1e-4,
             hint="sum matches and totals over ALL sentences first, then take precisions"),
        Case((short, short_refs), expected=metrics.corpus_bleu(short, short_refs), atol=1e-4,
             hint="brevity penalty with the reference length closest to each hypothesis"),
        Case((hyps[:1], refs[:1]), expected=100.0, atol=1e-4,
             hint="a perfect match scores 100"),
    ]
    check("corpus_bleu", fn, cases)


__all__ = ["check_clipped_matches", "check_paired_bootstrap", "check_corpus_bleu"]
