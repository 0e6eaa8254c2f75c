"""Chapter 6 (heatmaps): an attention summary, a heatmap linter, [UNK] replacement, BPE merges."""

from __future__ import annotations

import numpy as np

from ..subwords import learn_merges
from .framework import Case, check

HEALTHY, FIXED_QUERY, PADDING = "looks ok", "same weights at every step", "attends to padding"


def _diagnosis(expected: str):
    def compare(got):
        if got not in (HEALTHY, FIXED_QUERY, PADDING):
            return f"return one of {HEALTHY!r}, {FIXED_QUERY!r}, {PADDING!r}"
        return got == expected or f"this heatmap {'is' if expected == HEALTHY else 'shows'} " \
                                  f"{expected!r}"
    return compare


def check_diagnose_heatmap(fn) -> None:
    """Chapter 6: ``fn(weights, is_padding) -> str``, which of two bugs a heatmap shows, if any.

    ``weights`` (T, S): one row per output word; ``is_padding`` (S,) True at padding columns.
    """
    rng = np.random.default_rng(6)

    def rows(t, s, padding=0):
        w = rng.random((t, s)) ** 4                  # uneven rows, like a trained model's
        w[:, s - padding:] = 0.0
        return w / w.sum(axis=1, keepdims=True)

    def mask(s, padding=0):
        return np.arange(s) >= s - padding

    healthy = rows(5, 7, padding=2)
    fixed = np.repeat(rows(1, 6), 4, axis=0)
    leaky = 0.9 * rows(4, 6, padding=2) + 0.1 / 6    # a softmax that forgot the mask
    two_alike = healthy.copy()
    two_alike[1] = two_alike[0]
    cases = [
        Case((fixed, mask(6)), compare=_diagnosis(FIXED_QUERY),
             description="4 output words, 6 source words, no padding",
             hint="compare the rows: if the query never changes, no row can differ from "
                  "another"),
        Case((healthy, mask(7, 2)), compare=_diagnosis(HEALTHY),
             description="5 output words, 5 real source words and 2 padding columns",
             hint="rows that differ and no weight on padding: nothing to report"),
        Case((leaky, mask(6, 2)), compare=_diagnosis(PADDING),
             description="4 output words, the last 2 of 6 columns are padding",
             hint="look at the total weight in the padding columns: with the mask it is 0"),
        Case((two_alike, mask(7, 2)), compare=_diagnosis(HEALTHY),
             description="the first two rows happen to be equal, the others differ",
             hint="the bug makes ALL rows equal, not just two of them"),
        Case((healthy[:1], mask(7, 2)), compare=_diagnosis(HEALTHY),
             description="one output word only",
             hint="a single row cannot show that the rows never change"),
    ]
    check("diagnose_heatmap", fn, cases)


def check_attention_summary(fn) -> None:
    """Chapter 6 exercise: ``fn(weights) -> dict(entropy=array, argmax=array, monotonicity=float)``."""
    from .. import alignment

    diagonal = np.eye(3)
    crossing = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.0, 0.2, 0.8]])

    def matches(weights):
        def compare(got):
            if not isinstance(got, dict):
                return "return a dict with keys 'entropy', 'argmax', 'monotonicity'"
            want = {"entropy": alignment.attention_entropy(weights),
                    "argmax": alignment.max_attention_positions(weights),
                    "monotonicity": alignment.monotonicity(weights)}
            for key, value in want.items():
                if key not in got:
                    return f"missing key {key!r}"
                if not np.allclose(np.asarray(got[key], dtype=float), value, atol=1e-6):
                    return f"{key}: got {got[key]}, expected {value}"
            return True
        return compare

    one_step = np.array([[0.25, 0.25, 0.25, 0.25]])
    cases = [
        Case((one_step,), compare=matches(one_step), description="one output step, uniform",
             hint="a uniform row has the largest entropy, log(S); a single step never moves back"),
        Case((diagonal,), compare=matches(diagonal), description="a 3×3 identity matrix",
             hint="entropy of a one-hot row is 0; monotonicity counts steps that do not move back"),
        Case((crossing,), compare=matches(crossing), description="a matrix that jumps back once",
             hint="entropy = -sum p log p over a row (natural log; skip zeros); "
                  "monotonicity = share of consecutive argmax moves that are >= 0"),
    ]
    check("attention_summary", fn, cases)


def check_replace_unknown(fn) -> None:
    """Chapter 6 exercise: ``fn(tokens, weights, source_words) -> words``.

    ``tokens`` are the generated German tokens (``[end]`` included), ``weights`` the
    attention matrix (one row per token), ``source_words`` the English words. Return the
    German words without ``[end]``, each ``[UNK]`` replaced by its most-attended source word.
    """
    source = ["tom", "visited", "wuppertal", "."]
    no_unknown = (["tom", "ist", "da", "[end]"], np.eye(4), source)
    one = (["tom", "besuchte", "[UNK]", ".", "[end]"],
           np.array([[.9, .05, .03, .02], [.1, .7, .1, .1], [.05, .15, .7, .1],
                     [0, 0, .2, .8], [.1, .1, .1, .7]]), source)
    two = (["[UNK]", "und", "[UNK]", "[end]"],
           np.array([[.2, .1, .6, .1], [.25, .25, .25, .25], [.7, .1, .1, .1], [0, 0, 0, 1]]),
           source)
    tie = (["[UNK]", "[end]"], np.array([[.4, .4, .1, .1], [0, 0, 0, 1]]), source)
    cases = [
        Case(no_unknown, expected=["tom", "ist", "da"],
             hint="without [UNK] the words stay as they are; [end] is not a word"),
        Case(one, expected=["tom", "besuchte", "wuppertal", "."],
             hint="use the attention row of the step that wrote [UNK]"),
        Case(two, expected=["wuppertal", "und", "tom"],
             hint="every [UNK] gets its own row's most-attended word"),
        Case(tie, expected=["tom"],
             hint="on a tie, take the first most-attended position (as numpy's argmax does)"),
    ]
    check("replace_unknown", fn, cases)


def _merges(expected: list[tuple[str, str]]):
    def compare(got):
        try:
            got = [tuple(pair) for pair in got]
        except TypeError:
            return "return a list of pairs, e.g. [('e', 's'), ('es', 't</w>')]"
        if got == expected:
            return True
        if len(got) != len(expected):
            return f"expected {len(expected)} merges, got {len(got)}"
        first = next(i for i, (g, e) in enumerate(zip(got, expected)) if g != e)
        return f"the first {first} merges are right; merge {first + 1} is not"
    return compare


def check_learn_merges(fn) -> None:
    """Chapter 6 exercise: ``fn(word_counts, merges) -> [(left, right), ...]``, byte-pair encoding.

    Each word starts as its characters, the last one marked with ``</w>``; each step merges
    the most frequent adjacent pair (counts weighted by word frequency; ties go to the
    smallest pair in Python's ordering), and learning stops early when no pair is left.
    """
    sennrich = {"low": 5, "lower": 2, "newest": 6, "widest": 3}
    cases = [
        Case((sennrich, 4), compare=_merges(learn_merges(sennrich, 4)),
             description="Sennrich et al.'s corpus {'low': 5, 'lower': 2, 'newest': 6, "
                         "'widest': 3}, 4 merges",
             hint="count each pair once per occurrence, times the word's count; after a "
                  "merge, count again on the merged symbols"),
        Case(({"aab": 1, "bb": 5}, 1), compare=_merges(learn_merges({"aab": 1, "bb": 5}, 1)),
             hint="a pair's count is weighted by how often its word occurs"),
        Case(({"ab": 1, "ba": 1}, 5), compare=_merges(learn_merges({"ab": 1, "ba": 1}, 5)),
             hint="two pairs tie here: take the smaller one (min over the pairs); stop when "
                  "every word is a single symbol, even if fewer merges than asked"),
        Case(({"hund": 3, "hunde": 2, "und": 4}, 0), expected=[],
             hint="zero merges: nothing to learn"),
        Case(({"sehen": 2, "gesehen": 3, "gehen": 4}, 6),
             compare=_merges(learn_merges({"sehen": 2, "gesehen": 3, "gehen": 4}, 6)),
             hint="several merges in a row: each new symbol can take part in the next "
                  "merge"),
        Case(({"aaaa": 2, "ab": 1}, 3), compare=_merges(learn_merges({"aaaa": 2, "ab": 1}, 3)),
             hint="a pair can overlap itself ('a a a'): count every adjacent position, and "
                  "merge from the left without reusing a symbol"),
    ]
    check("learn_merges", fn, cases)


__all__ = ["check_diagnose_heatmap", "check_attention_summary", "check_replace_unknown",
           "check_learn_merges"]
