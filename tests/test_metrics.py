"""Tests for course_lib.metrics: BLEU from scratch must equal sacrebleu exactly.

Three kinds of tests:
- the textbook examples of Papineni et al. (2002) with their published numbers,
- hand-computed unit tests and input validation,
- Hypothesis property tests comparing with sacrebleu (tokenize="none") on random corpora.
"""

import math
import re
import subprocess
import sys

import pytest
import sacrebleu
from hypothesis import given, settings
from hypothesis import strategies as st
from sacrebleu.metrics import BLEU

from course_lib.metrics import (
    BleuInputError,
    BleuStats,
    brevity_penalty,
    chrf,
    clipped_matches,
    closest_reference_length,
    corpus_bleu,
    ngrams,
    sacrebleu_corpus_bleu,
    sentence_bleu,
    to_sacrebleu_streams,
)

TOL = 1e-6


# ---------------------------------------------------------------------------
# Papineni et al. (2002), Section 2.1
# ---------------------------------------------------------------------------


def paper_tokens(text: str) -> list[str]:
    """Tokenise as the paper counts words: lowercased, punctuation dropped.

    Lowercasing matters for the "the the the ..." example, where the paper counts
    "The" and "the" as the same word (case-sensitively the answer would be 1/7).
    The Example 1 numbers come out the same with or without lowercasing.
    """
    return re.findall(r"[a-z]+", text.lower())


EXAMPLE1_REFERENCES = [
    "It is a guide to action that ensures that the military will forever heed Party commands.",
    (
        "It is the guiding principle which guarantees the military forces always being under "
        "the command of the Party."
    ),
    "It is the practical guide for the army always to heed the directions of the party.",
]
EXAMPLE1_CANDIDATE1 = (
    "It is a guide to action which ensures that the military always obeys the commands of the "
    "party."
)
EXAMPLE1_CANDIDATE2 = (
    "It is to insure the troops forever hearing the activity guidebook that party direct."
)


def test_paper_the_the_the_modified_unigram_precision_is_2_of_7():
    candidate = paper_tokens("the the the the the the the")
    references = [paper_tokens("The cat is on the mat"), paper_tokens("There is a cat on the mat")]
    # Plain unigram precision would be 7/7; clipping at 2 ("the" twice in reference 1).
    assert clipped_matches(candidate, references, 1) == (2, 7)


@pytest.mark.parametrize(
    ("candidate", "n", "expected"),
    [
        (EXAMPLE1_CANDIDATE1, 1, (17, 18)),
        (EXAMPLE1_CANDIDATE1, 2, (10, 17)),
        (EXAMPLE1_CANDIDATE2, 1, (8, 14)),
        (EXAMPLE1_CANDIDATE2, 2, (1, 13)),
    ],
)
def test_paper_example1_modified_precisions(candidate, n, expected):
    references = [paper_tokens(ref) for ref in EXAMPLE1_REFERENCES]
    assert clipped_matches(paper_tokens(candidate), references, n) == expected


def test_paper_example1_candidate1_beats_candidate2_in_corpus_bleu():
    references = [[" ".join(paper_tokens(ref)) for ref in EXAMPLE1_REFERENCES]]
    stats1 = corpus_bleu(
        [" ".join(paper_tokens(EXAMPLE1_CANDIDATE1))], references, return_stats=True
    )
    stats2 = corpus_bleu(
        [" ".join(paper_tokens(EXAMPLE1_CANDIDATE2))], references, return_stats=True
    )
    assert stats1.matches[:2] == (17, 10) and stats1.totals[:2] == (18, 17)
    assert stats2.matches[:2] == (8, 1) and stats2.totals[:2] == (14, 13)
    assert stats1.score > stats2.score


# ---------------------------------------------------------------------------
# Hand-computed unit tests
# ---------------------------------------------------------------------------


def test_ngrams_counts_repeated_ngrams_and_handles_short_input():
    tokens = ["a", "b", "a", "b"]
    assert ngrams(tokens, 1) == {("a",): 2, ("b",): 2}
    assert ngrams(tokens, 2) == {("a", "b"): 2, ("b", "a"): 1}
    assert ngrams(tokens, 4) == {("a", "b", "a", "b"): 1}
    assert ngrams(tokens, 5) == {}
    assert ngrams([], 1) == {}


def test_clipped_matches_clips_at_max_count_in_a_single_reference():
    hyp = ["a", "a", "a", "b"]
    refs = [["a", "b"], ["a", "a", "c"]]
    # "a": 3 in hyp, at most 2 in one reference -> 2; "b": 1 -> 1. Not 1 + 2 = 3 for "a".
    assert clipped_matches(hyp, refs, 1) == (3, 4)
    # bigrams: (a,a) x2 clipped to 1 by ref 2, (a,b) x1 matches ref 1 -> 2 of 3
    assert clipped_matches(hyp, refs, 2) == (2, 3)
    assert clipped_matches([], refs, 1) == (0, 0)
    assert clipped_matches(hyp, [[]], 1) == (0, 4)


def test_closest_reference_length_prefers_the_shorter_on_ties():
    assert closest_reference_length(5, [4, 6]) == 4
    assert closest_reference_length(5, [6, 4]) == 4
    assert closest_reference_length(5, [7, 3, 6]) == 6
    assert closest_reference_length(0, [0, 3]) == 0
    assert closest_reference_length(10, [2]) == 2


def test_closest_reference_length_requires_a_reference():
    with pytest.raises(ValueError, match="at least one"):
        closest_reference_length(3, [])


def test_brevity_penalty_hand_computed_values():
    assert brevity_penalty(10, 10) == 1.0
    assert brevity_penalty(12, 10) == 1.0
    assert brevity_penalty(5, 10) == pytest.approx(math.exp(-1))  # exp(1 - 10/5)
    assert brevity_penalty(8, 10) == pytest.approx(math.exp(-0.25))  # 0.7788...
    assert brevity_penalty(0, 3) == 0.0
    assert brevity_penalty(0, 0) == 1.0  # nothing to penalise (sacrebleu agrees)


def test_corpus_bleu_hand_computed_example():
    # hyp "a b c d" vs ref "a b c e": precisions 3/4, 2/3, 1/2, and 0/1 4-grams.
    hyps, refs = ["a b c d"], [["a b c e"]]
    exact_matches = corpus_bleu(hyps, refs, smooth="none", return_stats=True)
    assert exact_matches.score == 0.0  # one zero precision -> geometric mean 0
    smoothed = corpus_bleu(hyps, refs, return_stats=True)  # "exp": 4-gram p = 1/(2*1)
    assert smoothed.matches == (3, 2, 1, 0) and smoothed.totals == (4, 3, 2, 1)
    assert smoothed.precisions == pytest.approx((75.0, 200 / 3, 50.0, 50.0))
    expected = 100 * (0.75 * (2 / 3) * 0.5 * 0.5) ** 0.25
    assert smoothed.score == pytest.approx(expected)
    assert smoothed.bp == 1.0


def test_corpus_bleu_sums_statistics_before_taking_the_geometric_mean():
    hyps = ["a b c d", "x y"]
    refs = [["a b c d"], ["x z w v"]]
    stats = corpus_bleu(hyps, refs, return_stats=True)
    assert stats.matches == (5, 3, 2, 1)
    assert stats.totals == (6, 4, 2, 1)
    assert (stats.hyp_len, stats.ref_len) == (6, 8)
    assert stats.bp == pytest.approx(math.exp(1 - 8 / 6))
    assert isinstance(stats, BleuStats)
    assert corpus_bleu(hyps, refs) == stats.score


def test_perfect_translation_scores_100_and_empty_hypothesis_scores_0():
    perfect = "the cat sat on the mat"
    assert corpus_bleu([perfect], [[perfect]]) == pytest.approx(100.0)  # exp(mean(log 100))
    assert corpus_bleu([""], [["the cat"]]) == 0.0
    assert sentence_bleu("", ["the cat"]) == 0.0


def test_sentence_bleu_uses_effective_order_for_short_hypotheses():
    # Two words, both bigram-matched: no 3- or 4-grams exist, so only orders 1-2 count.
    assert sentence_bleu("the cat", ["the cat"]) == pytest.approx(100.0)
    assert sentence_bleu("the cat", ["the cat"], effective_order=False) == 0.0


def test_corpus_bleu_of_a_corpus_without_4grams_is_zero():
    # Corpus BLEU uses all four orders: no hypothesis 4-gram at all means BLEU = 0,
    # even for a perfect match (sentence BLEU's effective order avoids this).
    assert corpus_bleu(["the cat"], [["the cat"]]) == 0.0
    assert corpus_bleu(["the cat sat"], [["the cat sat"]], max_order=3) == pytest.approx(100.0)


def test_lowercase_option():
    hyps, refs = ["The Cat sat on the Mat"], [["the cat sat on the mat"]]
    # Case-sensitively only "sat on the" and its parts match.
    assert corpus_bleu(hyps, refs, return_stats=True).matches == (3, 2, 1, 0)
    assert corpus_bleu(hyps, refs, lowercase=True) == pytest.approx(100.0)


def test_unknown_smoothing_is_rejected():
    with pytest.raises(ValueError, match="unknown smoothing"):
        sentence_bleu("a b", ["a b"], smooth="laplace")


# ---------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hypotheses", "references", "message"),
    [
        (["a", "b"], [["a"]], "2 hypotheses but 1 reference lists"),
        ([], [], "empty"),
        (["a"], [[]], "has no references"),
        (["a"], ["a"], "references\\[0\\] is a string"),
        (["a", 3], [["a"], ["b"]], "hypotheses\\[1\\] is int"),
        (["a"], [["a", None]], "references\\[0\\]\\[1\\] is NoneType"),
        ("a b", [["a b"]], "not a single string"),
    ],
)
def test_corpus_bleu_rejects_malformed_input(hypotheses, references, message):
    with pytest.raises(BleuInputError, match=message):
        corpus_bleu(hypotheses, references)


def test_corpus_format_error_is_a_value_error():
    with pytest.raises(ValueError, match="has no references"):
        corpus_bleu(["a"], [[]])
    with pytest.raises(ValueError, match="has no references"):
        to_sacrebleu_streams([["a"], []])


def test_sentence_bleu_rejects_malformed_input():
    with pytest.raises(ValueError, match="hypothesis is list"):
        sentence_bleu(["a"], ["a"])
    with pytest.raises(ValueError, match="has no references"):
        sentence_bleu("a", [])
    with pytest.raises(ValueError, match="is a string"):
        sentence_bleu("a", "a")


# ---------------------------------------------------------------------------
# sacrebleu interop: reference streams and uneven reference counts
# ---------------------------------------------------------------------------


def test_to_sacrebleu_streams_transposes_and_pads_with_none():
    refs = [["a b", "a c", "a d"], ["e"], ["f", "g"]]
    assert to_sacrebleu_streams(refs) == [
        ["a b", "e", "f"],
        ["a c", None, "g"],
        ["a d", None, None],
    ]


def test_padding_with_empty_string_would_change_sacrebleu_score():
    # Sentence 2 has one 3-word reference. Padded with "", sacrebleu sees a second,
    # empty reference of length 0, which is closer to the 1-word hypothesis than 3.
    hyps = ["a b c d", "a"]
    refs = [["a b c d", "a b c e"], ["a b c"]]
    padded_with_empty = [["a b c d", "a b c"], ["a b c e", ""]]
    wrong = sacrebleu.corpus_bleu(hyps, padded_with_empty, tokenize="none").score
    right = sacrebleu.corpus_bleu(hyps, to_sacrebleu_streams(refs), tokenize="none").score
    ours = corpus_bleu(hyps, refs, return_stats=True)
    assert ours.ref_len == 4 + 3
    assert abs(ours.score - right) < TOL
    assert abs(wrong - right) > 1.0


def test_sacrebleu_corpus_bleu_wrapper_matches_corpus_bleu():
    hyps = ["the cat sat on a mat", "He reads"]
    refs = [["the cat sat on the mat", "a cat sat on the mat"], ["he is reading a book"]]
    for lowercase in (False, True):
        expected = sacrebleu_corpus_bleu(hyps, refs, lowercase=lowercase)
        assert 0.0 < expected < 100.0
        assert abs(corpus_bleu(hyps, refs, lowercase=lowercase) - expected) < TOL


def test_chrf_wrapper_matches_sacrebleu_and_uses_every_reference():
    hyps = ["the cat sat on the mat", "a dog barked"]
    single = [["the cat sat on a mat"], ["the dog barks"]]
    expected = sacrebleu.corpus_chrf(hyps, [[refs[0] for refs in single]]).score
    assert chrf(hyps, single) == pytest.approx(expected)
    assert 0.0 < chrf(hyps, single) < 100.0
    assert chrf(hyps, [["xyz", hyps[0]], [hyps[1]]]) == pytest.approx(100.0)


def test_metrics_module_does_not_import_tensorflow():
    code = "import sys, course_lib.metrics; assert 'tensorflow' not in sys.modules"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------------
# Property tests: equal to sacrebleu on random corpora
# ---------------------------------------------------------------------------

# Tokens are single letters from a tiny vocabulary, so n-grams of every order match often.
# A sentence is drawn as a string of letters (cheap for Hypothesis), then spaced out.
VOCAB = "abcd"
MIXED_CASE_VOCAB = "aAbBc"
SEPARATORS = [" ", " ", " ", "  ", "\t", " \n "]


def sentences(vocab=VOCAB, max_len=10):
    """Whitespace-joined sentences, often 0-3 tokens, with odd spacing now and then."""
    letters = st.one_of(
        st.text(alphabet=vocab, max_size=3),
        st.text(alphabet=vocab, max_size=max_len),
    )
    return st.builds(
        lambda words, separator, padding: padding + separator.join(words) + padding,
        letters,
        st.sampled_from(SEPARATORS),
        st.sampled_from(["", "", " ", "\n"]),
    )


@st.composite
def corpora(draw, vocab=VOCAB):
    """(hypotheses, references): 1-8 sentences, each with 1-4 references."""
    size = draw(st.integers(1, 8))
    hypotheses = draw(st.lists(sentences(vocab), min_size=size, max_size=size))
    references = draw(
        st.lists(st.lists(sentences(vocab), min_size=1, max_size=4), min_size=size, max_size=size)
    )
    return hypotheses, references


def assert_same_as_sacrebleu(ours: BleuStats, theirs) -> None:
    assert abs(ours.score - theirs.score) < TOL
    assert list(ours.matches) == list(theirs.counts)
    assert list(ours.totals) == list(theirs.totals)
    assert (ours.hyp_len, ours.ref_len) == (theirs.sys_len, theirs.ref_len)
    assert ours.bp == pytest.approx(theirs.bp, abs=1e-12)
    assert ours.precisions == pytest.approx(theirs.precisions, abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(corpora())
def test_corpus_bleu_equals_sacrebleu(corpus):
    hypotheses, references = corpus
    theirs = sacrebleu.corpus_bleu(hypotheses, to_sacrebleu_streams(references), tokenize="none")
    assert_same_as_sacrebleu(corpus_bleu(hypotheses, references, return_stats=True), theirs)


@settings(max_examples=150, deadline=None)
@given(corpora(MIXED_CASE_VOCAB))
def test_lowercased_corpus_bleu_equals_sacrebleu(corpus):
    hypotheses, references = corpus
    theirs = sacrebleu.corpus_bleu(
        hypotheses, to_sacrebleu_streams(references), tokenize="none", lowercase=True
    )
    ours = corpus_bleu(hypotheses, references, lowercase=True, return_stats=True)
    assert_same_as_sacrebleu(ours, theirs)
    assert abs(sacrebleu_corpus_bleu(hypotheses, references, lowercase=True) - ours.score) < TOL


@settings(max_examples=150, deadline=None)
@given(
    corpora(),
    st.sampled_from(["exp", "floor", "add-k", "none"]),
    st.sampled_from([None, 0.5, 2]),
    st.integers(1, 4),
)
def test_corpus_bleu_smoothing_and_max_order_equal_sacrebleu(corpus, smooth, value, max_order):
    hypotheses, references = corpus
    metric = BLEU(
        tokenize="none", smooth_method=smooth, smooth_value=value, max_ngram_order=max_order
    )
    theirs = metric.corpus_score(hypotheses, to_sacrebleu_streams(references))
    ours = corpus_bleu(
        hypotheses,
        references,
        smooth=smooth,
        smooth_value=value,
        max_order=max_order,
        return_stats=True,
    )
    assert abs(ours.score - theirs.score) < TOL
    assert ours.precisions == pytest.approx(theirs.precisions, abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(sentences(), st.lists(sentences(), min_size=1, max_size=4))
def test_sentence_bleu_equals_sacrebleu(hypothesis, references):
    theirs = sacrebleu.sentence_bleu(hypothesis, references, tokenize="none")
    assert_same_as_sacrebleu(sentence_bleu(hypothesis, references, return_stats=True), theirs)


@settings(max_examples=200, deadline=None)
@given(
    sentences(MIXED_CASE_VOCAB),
    st.lists(sentences(MIXED_CASE_VOCAB), min_size=1, max_size=4),
    st.sampled_from(["exp", "floor", "add-k", "none"]),
    st.sampled_from([None, 0.5, 2]),
    st.booleans(),
    st.booleans(),
)
def test_sentence_bleu_options_equal_sacrebleu(
    hypothesis, references, smooth, value, effective_order, lowercase
):
    theirs = sacrebleu.sentence_bleu(
        hypothesis,
        references,
        smooth_method=smooth,
        smooth_value=value,
        lowercase=lowercase,
        tokenize="none",
        use_effective_order=effective_order,
    )
    ours = sentence_bleu(
        hypothesis,
        references,
        smooth=smooth,
        smooth_value=value,
        effective_order=effective_order,
        lowercase=lowercase,
    )
    assert abs(ours - theirs.score) < TOL
