"""BLEU from scratch, plus thin wrappers around sacrebleu.

BLEU (Papineni, Roukos, Ward and Zhu, 2002, "BLEU: a Method for Automatic Evaluation
of Machine Translation", ACL) scores a translation by how many of its word n-grams
also appear in one or more human reference translations:

1. **Modified (clipped) n-gram precision.** For n = 1..4, count the hypothesis
   n-grams that also occur in a reference, but credit each n-gram at most as many
   times as it occurs in any *single* reference. Without clipping, "the the the the"
   would get full marks against "the cat is on the mat".
2. **Geometric mean** of the four precisions, so a translation must do well at every
   order: good word choice (unigrams) *and* fluent word order (longer n-grams).
3. **Brevity penalty.** Precision alone rewards saying little, so a hypothesis that
   is shorter than its reference is penalised by ``exp(1 - r / c)``.

BLEU is a *corpus* metric: the counts of step 1 and the lengths of step 3 are summed
over all sentences first, and only then turned into precisions and a penalty.

The code below reproduces ``sacrebleu`` (``tokenize="none"``) exactly, including its
smoothing of zero precisions, so that numbers in the course agree with the numbers
that papers report. Tokenisation is a plain whitespace split
(:func:`course_lib.tokenization.tokens`): tokenise your text (or not) *before*
calling these functions.

This module is pure Python (``collections`` and ``math``); ``sacrebleu`` is only
imported by the wrapper functions at the bottom, which serve as the reference.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from . import tokenization

MAX_ORDER = 4
"""BLEU-4: the standard maximum n-gram order."""


class BleuInputError(ValueError):
    """Raised when hypotheses or references are not laid out as BLEU expects.

    It is a ``ValueError``, so ``except ValueError`` catches it too.
    """


SMOOTHING_DEFAULTS: dict[str, float | None] = {
    "none": None,
    "floor": 0.1,
    "add-k": 1,
    "exp": None,
}
"""The smoothing methods of sacrebleu and their default ``smooth_value``."""


# ---------------------------------------------------------------------------
# Step 1: clipped n-gram matches
# ---------------------------------------------------------------------------


def ngrams(tokens: list[str], n: int) -> Counter:
    """Count the n-grams of a token list.

    >>> ngrams(["the", "cat", "the", "cat"], 2)
    Counter({('the', 'cat'): 2, ('cat', 'the'): 1})

    A sentence with fewer than ``n`` tokens has no n-grams (an empty Counter).
    """
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def max_reference_counts(refs_tokens: list[list[str]], n: int) -> Counter:
    """For every n-gram, its largest count in any *single* reference.

    This is the clipping ceiling of Papineni et al.: "the" may be credited twice if
    one reference contains it twice, but not four times because two references
    contain it twice each.
    """
    ceiling: Counter = Counter()
    for ref_tokens in refs_tokens:
        ceiling |= ngrams(ref_tokens, n)  # `|` keeps the maximum of the two counts
    return ceiling


def clipped_matches(hyp_tokens: list[str], refs_tokens: list[list[str]], n: int) -> tuple[int, int]:
    """Return ``(clipped matches, total hypothesis n-grams)`` for one sentence.

    Each hypothesis n-gram is credited ``min(count in hypothesis, max count in any one
    reference)`` times. ``matches / total`` is the paper's *modified n-gram precision*:

    >>> clipped_matches("the the the".split(), ["the cat".split(), "a the the".split()], 1)
    (2, 3)
    """
    hyp_counts = ngrams(hyp_tokens, n)
    ceiling = max_reference_counts(refs_tokens, n)
    matches = sum(min(count, ceiling[gram]) for gram, count in hyp_counts.items())
    return matches, sum(hyp_counts.values())


# ---------------------------------------------------------------------------
# Step 3: brevity penalty
# ---------------------------------------------------------------------------


def closest_reference_length(hyp_len: int, ref_lens: Sequence[int]) -> int:
    """The reference length closest to the hypothesis length ("best match length").

    Ties go to the *shorter* reference, as in sacrebleu and mteval-v13a:
    a 5-token hypothesis with references of 4 and 6 tokens gets 4.
    """
    if not ref_lens:
        raise ValueError("need at least one reference length")
    return min(ref_lens, key=lambda ref_len: (abs(ref_len - hyp_len), ref_len))


def brevity_penalty(hyp_len: int, ref_len: int) -> float:
    """Papineni et al.'s penalty for hypotheses shorter than the reference.

    ``BP = 1`` if ``c >= r``, else ``exp(1 - r / c)``, with ``c`` the hypothesis length
    and ``r`` the reference length (both summed over the corpus in corpus BLEU).
    An empty hypothesis (``c = 0 < r``) gets ``BP = 0``, the limit of the formula.
    Longer hypotheses are not penalised here: they already lose precision.
    """
    if hyp_len >= ref_len:
        return 1.0
    if hyp_len == 0:
        return 0.0
    return math.exp(1 - ref_len / hyp_len)


# ---------------------------------------------------------------------------
# Step 2: precisions, smoothing and the geometric mean
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BleuStats:
    """Everything BLEU is computed from, and the result.

    ``matches[k]`` and ``totals[k]`` are the clipped matches and the hypothesis
    n-gram counts for order ``n = k + 1``; ``precisions`` are in percent (after
    smoothing); ``score`` is on the 0-100 scale. Same fields as sacrebleu's
    ``BLEUScore`` (``counts``, ``totals``, ``sys_len``, ``ref_len``, ``precisions``,
    ``bp``, ``score``).
    """

    matches: tuple[int, ...]
    totals: tuple[int, ...]
    hyp_len: int
    ref_len: int
    precisions: tuple[float, ...]
    bp: float
    score: float


def smoothed_precisions(
    matches: Sequence[int],
    totals: Sequence[int],
    smooth: str = "exp",
    smooth_value: float | None = None,
) -> list[float]:
    """Modified n-gram precisions in percent, with sacrebleu's smoothing.

    One zero precision makes the geometric mean, and so BLEU, zero. That is rare for a
    large corpus but common for one short sentence, so sacrebleu offers the smoothing
    methods of Chen and Cherry (2014, "A Systematic Comparison of Smoothing Techniques
    for Sentence-Level BLEU"). Only orders with *zero matches* are changed:

    - ``"none"``: keep 0 (the original BLEU of Papineni et al.).
    - ``"floor"``: use ``smooth_value / total`` (default 0.1 matches).
    - ``"add-k"``: add ``k`` (default 1) to matches *and* totals of every order n >= 2.
    - ``"exp"``: the NIST mteval-v13a method and sacrebleu's **default, also for corpus
      BLEU**: the first order with no match gets ``1 / (2 * total)``, the second
      ``1 / (4 * total)``, and so on.

    The list stops before the first order for which the hypothesis has no n-grams at
    all (``total == 0``, e.g. 4-grams of a 3-word sentence): there is no precision to
    speak of, and :func:`bleu_from_statistics` decides what that means.
    """
    if smooth not in SMOOTHING_DEFAULTS:
        raise ValueError(f"unknown smoothing {smooth!r}; choose from {list(SMOOTHING_DEFAULTS)}")
    if smooth_value is None:
        smooth_value = SMOOTHING_DEFAULTS[smooth]

    precisions = []
    zero_match_orders = 0
    for n, (matched, total) in enumerate(zip(matches, totals, strict=True), start=1):
        if smooth == "add-k" and n > 1:
            matched, total = matched + smooth_value, total + smooth_value
        if total == 0:
            break
        if matched > 0:
            precision = 100.0 * matched / total
        elif smooth == "exp":
            zero_match_orders += 1
            precision = 100.0 / (2.0**zero_match_orders * total)
        elif smooth == "floor":
            precision = 100.0 * smooth_value / total
        else:
            precision = 0.0
        precisions.append(precision)
    return precisions


def geometric_mean(values: Sequence[float]) -> float:
    """``exp(mean(log v))``; zero as soon as one value is zero (log 0 = -infinity)."""
    if min(values) == 0.0:
        return 0.0
    return math.exp(sum(math.log(v) for v in values) / len(values))


def bleu_from_statistics(
    matches: Sequence[int],
    totals: Sequence[int],
    hyp_len: int,
    ref_len: int,
    *,
    smooth: str = "exp",
    smooth_value: float | None = None,
    effective_order: bool = False,
) -> BleuStats:
    """Turn summed counts and lengths into a BLEU score (sacrebleu's ``compute_bleu``).

    ``BLEU = BP * geometric mean of the precisions of orders 1..max_order``.

    Two corner cases, decided as sacrebleu decides them:

    - No match at any order: BLEU is 0, whatever the smoothing.
    - An order for which the hypothesis has no n-grams (see
      :func:`smoothed_precisions`) counts as precision 0, so BLEU is 0, unless
      ``effective_order=True``: then the geometric mean is taken over the orders that
      exist only (a 2-word hypothesis is scored on unigrams and bigrams). sacrebleu
      uses this for sentence BLEU, not for corpus BLEU.
    """
    max_order = len(matches)
    bp = brevity_penalty(hyp_len, ref_len)
    precisions = [0.0] * max_order
    score = 0.0
    if any(matches):
        computed = smoothed_precisions(matches, totals, smooth, smooth_value)
        precisions[: len(computed)] = computed
        used_orders = len(computed) if effective_order else max_order
        score = bp * geometric_mean(precisions[:used_orders])
    return BleuStats(
        matches=tuple(matches),
        totals=tuple(totals),
        hyp_len=hyp_len,
        ref_len=ref_len,
        precisions=tuple(precisions),
        bp=bp,
        score=score,
    )


# ---------------------------------------------------------------------------
# Putting it together: corpus and sentence BLEU
# ---------------------------------------------------------------------------


def _check_references(references: Sequence[Sequence[str]]) -> None:
    """Raise BleuInputError unless ``references[i]`` is a non-empty list of strings."""
    if isinstance(references, str):
        raise BleuInputError("references must be a list of reference lists, not a string")
    for i, refs in enumerate(references):
        if isinstance(refs, str):
            raise BleuInputError(
                f"references[{i}] is a string; it must be a list of reference strings "
                f"(wrap a single reference: [{refs!r}])"
            )
        if len(refs) == 0:
            raise BleuInputError(
                f"hypothesis {i} has no references; every hypothesis needs >= 1"
            )
        for j, ref in enumerate(refs):
            if not isinstance(ref, str):
                raise BleuInputError(
                    f"references[{i}][{j}] is {type(ref).__name__}, expected str"
                )


def check_corpus(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> None:
    """Raise BleuInputError with a clear message if the corpus is malformed."""
    if isinstance(hypotheses, str):
        raise BleuInputError("hypotheses must be a list of strings, not a single string")
    if len(hypotheses) != len(references):
        raise BleuInputError(
            f"got {len(hypotheses)} hypotheses but {len(references)} reference lists; "
            "references[i] must hold the references of hypotheses[i]"
        )
    if len(hypotheses) == 0:
        raise BleuInputError("the corpus is empty: BLEU needs at least one hypothesis")
    for i, hyp in enumerate(hypotheses):
        if not isinstance(hyp, str):
            raise BleuInputError(f"hypotheses[{i}] is {type(hyp).__name__}, expected str")
    _check_references(references)


def sentence_statistics(
    hyp_tokens: list[str], refs_tokens: list[list[str]], max_order: int = MAX_ORDER
) -> tuple[list[int], list[int], int, int]:
    """``(matches per order, totals per order, hyp length, closest reference length)``."""
    counts = [clipped_matches(hyp_tokens, refs_tokens, n) for n in range(1, max_order + 1)]
    matches = [matched for matched, _ in counts]
    totals = [total for _, total in counts]
    ref_len = closest_reference_length(len(hyp_tokens), [len(ref) for ref in refs_tokens])
    return matches, totals, len(hyp_tokens), ref_len


def corpus_bleu(
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    *,
    max_order: int = MAX_ORDER,
    lowercase: bool = False,
    return_stats: bool = False,
    smooth: str = "exp",
    smooth_value: float | None = None,
) -> float | BleuStats:
    """Corpus BLEU on the 0-100 scale, equal to ``sacrebleu.corpus_bleu(..., tokenize="none")``.

    ``references[i]`` is the list of reference strings for ``hypotheses[i]`` (one or
    more; the number may differ from sentence to sentence).

    Matches, n-gram totals, hypothesis lengths and closest reference lengths are
    **summed over the corpus first**; precisions, their geometric mean and the brevity
    penalty are computed once, from the sums. This is *not* the average of sentence
    BLEU scores. ``smooth`` defaults to sacrebleu's ``"exp"`` (see
    :func:`smoothed_precisions`); ``smooth="none"`` gives the unsmoothed BLEU of
    Papineni et al. The two differ only when some order has no match in the whole
    corpus. With ``return_stats=True`` a :class:`BleuStats` is returned instead.
    """
    check_corpus(hypotheses, references)
    matches = [0] * max_order
    totals = [0] * max_order
    hyp_len = ref_len = 0
    for hyp, refs in zip(hypotheses, references, strict=True):
        hyp_tokens = tokenization.tokens(hyp, lowercase)
        refs_tokens = [tokenization.tokens(ref, lowercase) for ref in refs]
        sent_matches, sent_totals, sent_hyp_len, sent_ref_len = sentence_statistics(
            hyp_tokens, refs_tokens, max_order
        )
        matches = [a + b for a, b in zip(matches, sent_matches, strict=True)]
        totals = [a + b for a, b in zip(totals, sent_totals, strict=True)]
        hyp_len += sent_hyp_len
        ref_len += sent_ref_len
    stats = bleu_from_statistics(
        matches, totals, hyp_len, ref_len, smooth=smooth, smooth_value=smooth_value
    )
    return stats if return_stats else stats.score


def sentence_bleu(
    hypothesis: str,
    references: Sequence[str],
    *,
    smooth: str = "exp",
    smooth_value: float | None = None,
    effective_order: bool = True,
    max_order: int = MAX_ORDER,
    lowercase: bool = False,
    return_stats: bool = False,
) -> float | BleuStats:
    """Smoothed BLEU of one sentence, equal to ``sacrebleu.sentence_bleu(..., tokenize="none")``.

    Defaults follow sacrebleu: ``smooth="exp"`` and ``effective_order=True`` (a
    hypothesis shorter than ``max_order`` words is scored on the orders it has).
    Sentence BLEU is noisy; use it to inspect single examples, and
    :func:`corpus_bleu` to compare systems.
    """
    if not isinstance(hypothesis, str):
        raise BleuInputError(f"hypothesis is {type(hypothesis).__name__}, expected str")
    _check_references([references])
    hyp_tokens = tokenization.tokens(hypothesis, lowercase)
    refs_tokens = [tokenization.tokens(ref, lowercase) for ref in references]
    matches, totals, hyp_len, ref_len = sentence_statistics(hyp_tokens, refs_tokens, max_order)
    stats = bleu_from_statistics(
        matches,
        totals,
        hyp_len,
        ref_len,
        smooth=smooth,
        smooth_value=smooth_value,
        effective_order=effective_order,
    )
    return stats if return_stats else stats.score


# ---------------------------------------------------------------------------
# sacrebleu: the reference implementation
# ---------------------------------------------------------------------------


def to_sacrebleu_streams(references: Sequence[Sequence[str]]) -> list[list[str | None]]:
    """Convert per-sentence reference lists into sacrebleu's reference *streams*.

    This course stores ``references[i]`` = all references of sentence ``i``. sacrebleu
    wants the transpose: ``streams[k][i]`` = the k-th reference of sentence ``i``, every
    stream as long as the corpus. When sentences have different numbers of references,
    the short ones are padded with ``None``:

    >>> to_sacrebleu_streams([["a b", "a c"], ["d"]])
    [['a b', 'd'], ['a c', None]]

    Two pitfalls this avoids (checked against sacrebleu 2.x's source and in the tests):

    - Pad with ``None``, never ``""``: sacrebleu drops ``None`` entries, but keeps
      ``""`` as a real, empty reference whose length 0 then competes in the
      closest-reference-length choice and changes the brevity penalty.
    - Every stream must have one entry per hypothesis: sacrebleu ``zip``s hypotheses
      and streams, so a short stream silently drops sentences instead of failing.
    """
    _check_references(references)
    n_streams = max((len(refs) for refs in references), default=0)
    return [[refs[k] if k < len(refs) else None for refs in references] for k in range(n_streams)]


def sacrebleu_corpus_bleu(
    hypotheses: Sequence[str], references: Sequence[Sequence[str]], lowercase: bool = False
) -> float:
    """sacrebleu's corpus BLEU (``tokenize="none"``) for our references layout."""
    import sacrebleu

    check_corpus(hypotheses, references)
    # force=True only silences sacrebleu's "looks tokenised" warning; scores are unchanged.
    result = sacrebleu.corpus_bleu(
        list(hypotheses),
        to_sacrebleu_streams(references),
        tokenize="none",
        lowercase=lowercase,
        force=True,
    )
    return result.score


def chrf(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Corpus chrF (Popovic, 2015) from sacrebleu, 0-100, for our references layout.

    chrF compares character n-grams (F-score, recall weighted twice as much as
    precision), so it gives partial credit for morphological variants that BLEU's
    exact word matches miss. With several references, each sentence is scored against
    its best-matching reference.
    """
    from sacrebleu.metrics import CHRF

    check_corpus(hypotheses, references)
    return CHRF().corpus_score(list(hypotheses), to_sacrebleu_streams(references)).score
