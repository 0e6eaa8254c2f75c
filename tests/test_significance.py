"""Bootstrap confidence intervals and the paired bootstrap (Koehn 2004), checked against sacrebleu."""

from __future__ import annotations

import os

import numpy as np
import pytest

from course_lib import metrics, significance

REFS = [["the cat sat on the mat"], ["a dog runs in the park", "the dog is running in the park"],
        ["i am hungry"], ["we will go home tomorrow"], ["she reads a book"],
        ["it is raining today"], ["tom likes green tea"], ["where is the station"]] * 5
GOOD = ["the cat sat on a mat", "the dog runs in the park", "i am hungry", "we go home tomorrow",
        "she reads a book", "it rains today", "tom likes tea", "where is the station"] * 5
WEAK = ["a cat on mat", "dog park", "i hungry", "home tomorrow", "she book", "raining",
        "tom tea", "where station"] * 5


def test_bootstrap_interval_contains_the_score_and_is_seeded():
    interval = significance.bootstrap_bleu(GOOD, REFS, samples=200, seed=3)
    assert interval.score == pytest.approx(metrics.corpus_bleu(GOOD, REFS))
    assert interval.low <= interval.score <= interval.high
    assert interval.high - interval.low > 0
    assert interval == significance.bootstrap_bleu(GOOD, REFS, samples=200, seed=3)
    assert "95% CI" in str(interval)


def test_counts_sum_to_the_corpus_statistics():
    counts = significance.sentence_counts(GOOD, REFS)
    assert counts.shape == (len(GOOD), 10)
    assert significance.bleu_of_counts(counts.sum(axis=0)) == pytest.approx(
        metrics.corpus_bleu(GOOD, REFS))


def test_paired_bootstrap_prefers_the_better_system():
    result = significance.paired_bootstrap(WEAK, GOOD, REFS, samples=300)
    assert result.difference.score == pytest.approx(result.system.score - result.baseline.score)
    assert result.difference.low > 0 and result.p_value < 0.01
    same = significance.paired_bootstrap(GOOD, GOOD, REFS, samples=100)
    assert same.difference.score == 0 and same.p_value == 1.0


def test_paired_bootstrap_matches_sacrebleu(monkeypatch):
    """Same seed, same resamples: our system mean and 95 % CI equal sacrebleu's paired-bs ones."""
    from sacrebleu.metrics import BLEU
    from sacrebleu.significance import PairedTest

    seed, samples = 12345, 400
    monkeypatch.setenv("SACREBLEU_SEED", str(seed))
    streams = metrics.to_sacrebleu_streams(REFS)
    test = PairedTest([("baseline", WEAK), ("system", GOOD)],
                      {"BLEU": BLEU(tokenize="none")}, streams, test_type="bs",
                      n_samples=samples)
    _, results = test()
    theirs = results["BLEU"][1]
    counts = significance.sentence_counts(GOOD, REFS)
    ours = np.array([significance.bleu_of_counts(counts[rows].sum(axis=0)) for rows in
                     significance.resample_indices(len(GOOD), samples, seed)])
    assert theirs.score == pytest.approx(metrics.corpus_bleu(GOOD, REFS), abs=1e-9)
    assert ours.mean() == pytest.approx(theirs.mean, abs=1e-6)
    ordered = np.sort(ours)
    half_width = 0.5 * (ordered[-(samples // 40) - 1] - ordered[samples // 40])
    assert half_width == pytest.approx(theirs.ci, abs=1e-6)
    assert os.environ["SACREBLEU_SEED"] == str(seed)


def test_seeded_sample_names_itself_and_is_not_the_head():
    items = list(range(1000))
    sample, rule = significance.seeded_sample(items, 50, seed=1)
    assert len(sample) == 50 and sample != items[:50]
    assert sample == significance.seeded_sample(items, 50, seed=1)[0]
    assert "random sample of 50 of 1,000" in rule and "seed 1" in rule
    everything, rule = significance.seeded_sample(items, None)
    assert everything == items and rule == "all 1,000 items"


def test_a_p_value_of_zero_is_reported_as_below_one_over_the_resamples():
    from course_lib.significance import Interval, PairedResult

    def result(p, samples=1000):
        interval = Interval(1.0, 0.5, 1.5, 0.95, samples)
        return PairedResult(interval, interval, interval, p)

    assert result(0.0).p_text == "< 0.001" and "p < 0.001" in str(result(0.0))
    assert result(0.0, samples=200).p_text == "< 0.005"
    assert result(0.015).p_text == "0.015" and "p = 0.015" in str(result(0.015))
