"""Tests for course_lib.data: normalising pairs, deduplicating, length filtering, splitting.

Handmade pairs carry the characters that break naive cleaners; the real corpus
snapshot (if present) is prepared once per module to check the real split.
"""

from collections import Counter

import pytest
from helpers import RAW_PAIRS, corpus_snapshot, tiny_pairs

from course_lib.config import DataConfig
from course_lib.data import (
    deduplicate,
    group_by_source,
    length_filter,
    normalize_pairs,
    pair_level_leakage,
    prepare_data,
    split_by_source,
)

# --------------------------------------------------------------------------- cleaning steps


def test_normalize_pairs_drops_pairs_with_an_empty_side():
    pairs = [("Hi.", "Hallo."), ("   ", "Hallo."), ("Yes.", "\t")]
    cleaned, dropped = normalize_pairs(pairs)
    assert cleaned == [("hi .", "hallo .")]
    assert dropped == 2


def test_deduplicate_counts_and_keeps_first_occurrence_order():
    a, b, c = ("i am hungry .", "ich habe hunger ."), ("hi .", "hallo ."), ("hi .", "grüß dich .")
    unique, removed = deduplicate([a, b, a, c, b, a])
    assert unique == [a, b, c]  # c shares b's source but is a different pair: kept
    assert removed == 3


def test_deduplicate_after_normalising_merges_typographic_variants():
    normalized, _ = normalize_pairs(RAW_PAIRS)
    unique, removed = deduplicate(normalized)
    assert removed == 1  # the exact duplicate of "I am hungry." / "Ich habe Hunger."
    assert len(unique) == len(RAW_PAIRS) - 1
    assert unique == tiny_pairs()


def _pair(n_source: int, n_target: int) -> tuple[str, str]:
    return " ".join(["a"] * n_source), " ".join(["b"] * n_target)


def test_length_filter_cut_and_removed_counts():
    # English lengths 1..10, German lengths 10..1: the 80th percentile of 1..10 is 8.2 -> 9.
    pairs = [_pair(n, 11 - n) for n in range(1, 11)]
    kept, cut = length_filter(pairs, percentile=80)
    assert (cut.max_source_tokens, cut.max_target_tokens) == (9, 9)
    assert cut.removed == 2  # (10 English tokens) and (10 German tokens)
    assert cut.percentile == 80
    assert kept == [p for p in pairs if len(p[0].split()) <= 9 and len(p[1].split()) <= 9]
    assert len(kept) + cut.removed == len(pairs)


def test_length_filter_at_100_percent_keeps_everything():
    pairs = [_pair(n, 2 * n) for n in range(1, 8)]
    kept, cut = length_filter(pairs, percentile=100)
    assert kept == pairs
    assert (cut.max_source_tokens, cut.max_target_tokens, cut.removed) == (7, 14, 0)


def test_length_filter_removes_a_long_outlier():
    pairs = [_pair(3, 4)] * 99 + [_pair(40, 45)]
    kept, cut = length_filter(pairs, percentile=99)
    assert cut.removed == 1
    assert _pair(40, 45) not in kept


# --------------------------------------------------------------------------- splitting


def _synthetic_corpus(n_sources: int = 200) -> list[tuple[str, str]]:
    """Source i has 1 + i % 3 translations; pairs are interleaved, not grouped."""
    pairs = []
    for k in range(3):
        for i in range(n_sources):
            if k < 1 + i % 3:
                pairs.append((f"sentence {i} .", f"satz {i} variante {k} ."))
    return pairs


def _sources(pairs):
    return {en for en, _ in pairs}


def test_split_by_source_has_disjoint_sources_and_loses_nothing():
    pairs = _synthetic_corpus()
    splits = split_by_source(pairs, val_fraction=0.1, test_fraction=0.1, seed=7)
    train, val, test = _sources(splits.train), _sources(splits.val), _sources(splits.test)
    assert not train & val and not train & test and not val & test
    assert train | val | test == _sources(pairs)
    assert Counter(splits.train + splits.val + splits.test) == Counter(pairs)


def test_split_by_source_keeps_all_translations_together():
    pairs = _synthetic_corpus()
    groups = group_by_source(pairs)
    splits = split_by_source(pairs, val_fraction=0.1, test_fraction=0.1, seed=7)
    for part in (splits.train, splits.val, splits.test):
        part_groups = group_by_source(part)
        for source, translations in part_groups.items():
            assert translations == groups[source]  # all of them, in corpus order


def test_split_by_source_fractions_count_sources_not_pairs():
    pairs = _synthetic_corpus(200)
    splits = split_by_source(pairs, val_fraction=0.1, test_fraction=0.05, seed=7)
    sizes = splits.sizes()
    assert sizes["val"]["sources"] == 20
    assert sizes["test"]["sources"] == 10
    assert sizes["train"]["sources"] == 170
    # Pairs follow roughly (sources have 1-3 translations, 2 on average).
    assert 10 <= sizes["test"]["pairs"] <= 30
    assert sum(s["pairs"] for s in sizes.values()) == len(pairs)


def test_split_by_source_is_deterministic_and_seed_dependent():
    pairs = _synthetic_corpus()
    first = split_by_source(pairs, 0.1, 0.1, seed=3)
    second = split_by_source(pairs, 0.1, 0.1, seed=3)
    assert (first.train, first.val, first.test) == (second.train, second.val, second.test)
    other = split_by_source(pairs, 0.1, 0.1, seed=4)
    assert _sources(other.test) != _sources(first.test)


def test_split_by_source_does_not_depend_on_pair_order():
    pairs = _synthetic_corpus()
    reordered = list(reversed(pairs))
    a = split_by_source(pairs, 0.1, 0.1, seed=3)
    b = split_by_source(reordered, 0.1, 0.1, seed=3)
    assert _sources(a.test) == _sources(b.test)
    assert _sources(a.val) == _sources(b.val)


def test_pair_level_leakage_on_repeated_sources():
    # 10 sources x 5 translations; a test slice of 4 pairs can never hold all 5
    # translations of a source, so every test pair leaks, whatever the seed.
    pairs = [(f"source {i} .", f"übersetzung {i} nr {k} .") for i in range(10) for k in range(5)]
    for seed in (0, 1, 2):
        leak = pair_level_leakage(pairs, test_fraction=0.08, seed=seed)
        assert leak["test_pairs"] == 4
        assert leak["leaked_pairs"] == 4
        assert leak["leaked_pair_fraction"] == 1.0
        assert leak["leaked_sources"] == leak["test_sources"] >= 1
    # The source-level split of the same corpus leaks nothing.
    splits = split_by_source(pairs, val_fraction=0.0, test_fraction=0.2, seed=0)
    assert splits.test and not _sources(splits.test) & _sources(splits.train)


def test_pair_level_leakage_is_zero_without_repeated_sources():
    pairs = [(f"source {i} .", f"quelle {i} .") for i in range(100)]
    leak = pair_level_leakage(pairs, test_fraction=0.1)
    assert leak["test_pairs"] == 10
    assert leak["leaked_pairs"] == 0 and leak["leaked_sources"] == 0


def test_tiny_fixture_split_keeps_both_translations_of_i_am_hungry_together():
    pairs = tiny_pairs()
    for seed in range(5):
        splits = split_by_source(pairs, val_fraction=0.25, test_fraction=0.25, seed=seed)
        holders = [name for name, part in (("train", splits.train), ("val", splits.val),
                                           ("test", splits.test))
                   if any(en == "i am hungry ." for en, _ in part)]
        assert len(holders) == 1
        part = getattr(splits, holders[0])
        assert [de for en, de in part if en == "i am hungry ."] == ["ich habe hunger .",
                                                                    "ich bin hungrig ."]


# --------------------------------------------------------------------------- the real corpus


@pytest.fixture(scope="module")
def real():
    path = corpus_snapshot()
    if path is None:
        pytest.skip("corpus snapshot absent: set COURSE_DATA or provide ../shared/data/deu-eng.zip")
    return prepare_data(path, DataConfig(), verbose=False)


def test_real_counts_add_up(real):
    s = real.stats
    assert s["pairs_read"] > 100_000
    assert s["duplicates_removed"] > 0 and s["removed_as_too_long"] > 0
    assert (s["pairs_read"] - s["empty_after_normalising"] - s["duplicates_removed"]
            - s["removed_as_too_long"]) == s["pairs"]
    all_pairs = real.train + real.val + real.test
    assert len(all_pairs) == s["pairs"]
    assert len(set(all_pairs)) == len(all_pairs)  # deduplicated
    sizes = real.splits.sizes()
    assert sum(part["sources"] for part in sizes.values()) == s["unique_sources"]
    config = DataConfig()
    assert sizes["test"]["sources"] == round(s["unique_sources"] * config.test_fraction)
    assert sizes["val"]["sources"] == round(s["unique_sources"] * config.val_fraction)
    for en, de in all_pairs:
        assert len(en.split()) <= s["max_source_tokens"]
        assert len(de.split()) <= s["max_target_tokens"]


def test_real_split_has_no_source_in_two_splits(real):
    train, val, test = _sources(real.train), _sources(real.val), _sources(real.test)
    assert not train & test and not train & val and not val & test


def test_real_test_sources_keep_all_their_translations(real):
    everything = group_by_source(real.train + real.val + real.test)
    test_groups = group_by_source(real.test)
    assert any(len(t) > 1 for t in test_groups.values())  # some test sources have several
    for source, translations in test_groups.items():
        assert sorted(translations) == sorted(everything[source])


def test_real_split_is_deterministic_for_the_seed(real):
    config = DataConfig()
    all_pairs = real.train + real.val + real.test
    again = split_by_source(all_pairs, config.val_fraction, config.test_fraction, config.seed)
    assert _sources(again.test) == _sources(real.test)
    assert _sources(again.val) == _sources(real.val)
    assert Counter(again.test) == Counter(real.test)
    other = split_by_source(all_pairs, config.val_fraction, config.test_fraction, config.seed + 1)
    assert _sources(other.test) != _sources(real.test)


def test_real_pair_level_split_leaks(real):
    leak = pair_level_leakage(real.train + real.val + real.test, test_fraction=0.05)
    assert leak["leaked_pairs"] > 0
    assert 0 < leak["leaked_pair_fraction"] < 1
    assert leak["leaked_sources"] <= leak["test_sources"]
