"""Chapter 1 (data): the normaliser, vocabulary coverage, a leak-free split."""

from __future__ import annotations

from collections.abc import Callable

from .framework import Case, check


def check_normalize(fn: Callable[[str], str]) -> None:
    """Chapter 1 exercise: ``fn(text) -> normalised text`` (lowercased, punctuation split)."""
    cases = [
        Case(("Hello!",), expected="hello !", hint="lowercase and split punctuation off"),
        Case(("Grüß Gott.",), expected="grüß gott .",
             hint="keep umlauts and ß: German letters are not noise"),
        Case(("Die Straße ist „lang“.",), expected='die straße ist " lang " .',
             hint="map „ and “ to one plain double quote and make each quote a token"),
        Case(("Ich müde.",), expected="ich müde .",
             hint="u + combining diaeresis must become the single character ü (NFC)"),
        Case(("Don’t  go ,  Tom?",), expected="don't go , tom ?",
             hint="’ becomes ', apostrophes inside words stay, runs of spaces collapse"),
        Case(("It costs 3.50 euros.",), expected="it costs 3.50 euros .",
             hint="a dot between digits is part of the number"),
    ]
    check("normalize", fn, cases)


def check_types_for_coverage(fn: Callable[[list[str], float], int]) -> None:
    """Chapter 1 exercise: smallest number of frequent types covering a share of tokens."""
    texts = ["a a a a b b c", "a b d"]  # counts: a 5, b 3, c 1, d 1 (10 tokens)
    cases = [
        Case((texts, 0.5), expected=1, hint="'a' alone covers 5 of 10 tokens: reaching counts"),
        Case((texts, 0.8), expected=2, hint="a + b = 8 of 10 tokens"),
        Case((texts, 0.85), expected=3, hint="keep adding types until the share is reached"),
        Case((texts, 1.0), expected=4, hint="every type is needed for 100 %"),
        Case((["x y z"], 0.34), expected=2, hint="1 type covers only 1/3 < 0.34"),
    ]
    check("types_for_coverage", fn, cases)


def _split_property(pairs, test_fraction):
    def compare(result):
        if not (isinstance(result, tuple) and len(result) == 2):
            return "return a tuple (train_pairs, test_pairs)"
        train, test = (list(part) for part in result)
        if sorted(train + test) != sorted(pairs):
            return "train + test must contain exactly the input pairs, each once"
        shared = {en for en, _ in train} & {en for en, _ in test}
        if shared:
            return f"English sentences in both splits (leak!): {sorted(shared)[:3]}"
        sources = {en for en, _ in pairs}
        n_test = len({en for en, _ in test})
        if abs(n_test - round(test_fraction * len(sources))) > 1:
            return (f"{n_test} test sources, expected about {test_fraction:.0%} of "
                    f"{len(sources)} distinct English sentences (count sources, not pairs)")
        return True
    return compare


def check_leak_free_split(fn) -> None:
    """Chapter 1 exercise: ``fn(pairs, test_fraction, seed) -> (train, test)`` split by source."""
    pairs = [(f"sentence {i % 12}", f"satz {i}") for i in range(40)]  # 12 sources, ~3 each
    pairs += [("hello .", "hallo ."), ("hello .", "servus ."), ("hi .", "hallo .")]
    cases = [
        Case((pairs, 0.25, 1), compare=_split_property(pairs, 0.25),
             description="split 43 pairs with 14 English sentences, test_fraction=0.25",
             hint="choose *English sentences* for the test set, then take all their pairs"),
        Case((pairs, 0.5, 7), compare=_split_property(pairs, 0.5),
             description="the same pairs, test_fraction=0.5",
             hint="group translations by their English sentence before splitting"),
    ]

    def deterministic(result_a):
        result_b = fn(list(pairs), 0.25, 1)
        return (sorted(result_a[1]) == sorted(result_b[1])
                or "the same seed must give the same split (use a seeded generator)")

    cases.append(Case((pairs, 0.25, 1), compare=deterministic,
                      description="the same call twice", hint="seed your random generator"))
    check("leak_free_split", fn, cases)


__all__ = ["check_normalize", "check_types_for_coverage", "check_leak_free_split"]
