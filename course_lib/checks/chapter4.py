"""Chapter 4 (BLEU): clipped n-gram matches, the brevity penalty, corpus BLEU."""

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


def check_brevity_penalty(fn) -> None:
    """Chapter 4 exercise: ``fn(hyp_len, ref_len) -> float``."""
    cases = [
        Case((10, 8), expected=1.0, hint="no penalty when the hypothesis is longer"),
        Case((10, 10), expected=1.0, hint="no penalty at equal length"),
        Case((8, 10), expected=float(np.exp(1 - 10 / 8)), hint="exp(1 - r/c) when c < r"),
        Case((0, 5), expected=0.0, hint="an empty hypothesis gets 0 (avoid dividing by 0)"),
    ]
    check("brevity_penalty", fn, cases)


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


__all__ = ["check_clipped_matches", "check_brevity_penalty", "check_corpus_bleu"]
