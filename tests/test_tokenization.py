"""Tests for course_lib.tokenization: raw sentence → tokens → readable sentence.

Handmade strings carry the characters that break naive cleaners (decomposed umlauts,
German and English quotes, apostrophes, numbers with a decimal point).
"""

import pytest
from helpers import RAW_PAIRS

from course_lib.subwords import BytePairEncoding
from course_lib.tokenization import (
    ascii_only_clean,
    detokenize,
    join_subwords,
    normalize,
    tokens,
)

# --------------------------------------------------------------------------- normalize


def test_nfc_merges_decomposed_umlaut():
    decomposed = "Tu\u0308r"  # "u" + COMBINING DIAERESIS
    assert len(decomposed) == 4
    assert normalize(decomposed) == "tür"
    assert len(normalize(decomposed)) == 3
    assert normalize(decomposed) == normalize("Tür")  # the same word is the same string


def test_german_letters_survive():
    assert normalize("Größe, Äpfel, Öl, Übung, Straße") == "größe , äpfel , öl , übung , straße"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("„Schön!“, sagte er.", '" schön ! " , sagte er .'),
        ("He said “yes”.", 'he said " yes " .'),
        ("»Ja«", '" ja "'),
        ("I don’t know.", "i don't know ."),
        ("Wie geht’s?", "wie geht's ?"),
        ("I don`t", "i don't"),
    ],
)
def test_quotes_and_apostrophes_are_unified(raw, expected):
    assert normalize(raw) == expected


def test_curly_and_straight_apostrophes_give_the_same_word():
    assert normalize("don’t") == normalize("don't") == "don't"


def test_punctuation_becomes_separate_tokens():
    assert normalize("Hallo, Welt! Wie geht's? (Gut.)") == "hallo , welt ! wie geht's ? ( gut . )"
    assert tokens(normalize("Ich bin hungrig.")) == ["ich", "bin", "hungrig", "."]


def test_numbers_keep_their_decimal_point_and_thousands_comma():
    assert normalize("Das kostet 3.5 Euro, nicht 1,000.") == "das kostet 3.5 euro , nicht 1,000 ."
    assert normalize("Ich habe 3.") == "ich habe 3 ."  # a full stop after a number still splits


def test_whitespace_is_collapsed_and_stripped():
    assert normalize("  Ich \t bin\n da .  ") == "ich bin da ."
    assert normalize("   ") == ""


def test_lowercase_off_keeps_case():
    assert normalize("Das Essen ist gut.", lowercase=False) == "Das Essen ist gut ."
    assert normalize("Das Essen ist gut.") == "das essen ist gut ."


def test_normalize_is_idempotent():
    for english, german in RAW_PAIRS:
        for text in (english, german):
            once = normalize(text)
            assert normalize(once) == once


def test_ascii_only_clean_destroys_german_while_normalize_keeps_it():
    destroyed = ascii_only_clean("Straße")
    assert "ß" not in destroyed
    assert destroyed.replace(" ", "") == "strae"  # the ß is gone, the word torn apart
    assert normalize("Straße") == "straße"
    assert ascii_only_clean("Grüß Gott!") == "gru gott !"
    # "schön" (beautiful) and "schon" (already) become the same word; normalize keeps them apart.
    assert ascii_only_clean("schön") == ascii_only_clean("schon") == "schon"
    assert normalize("schön") != normalize("schon")
    # Curly quotes vanish altogether instead of being unified.
    assert ascii_only_clean("„Nein“") == "nein"

# --------------------------------------------------------------------------- tokens


def test_tokens_split_on_whitespace_and_lowercase_on_request():
    assert tokens("Ich  bin\tda .") == ["Ich", "bin", "da", "."]
    assert tokens("Ich bin da .", lowercase=True) == ["ich", "bin", "da", "."]
    assert tokens("   ") == []


# --------------------------------------------------------------------------- back to text


@pytest.mark.parametrize(
    ("tokens", "text"),
    [
        (["ich", "bin", "da", "."], "ich bin da."),
        (["ja", ",", "nein", "!"], "ja, nein!"),
        (["wie", "geht's", "?"], "wie geht's?"),
        (["er", "sagte", ":", "nein", ";", "gut"], "er sagte: nein; gut"),
        ([], ""),
    ],
)
def test_detokenize_reattaches_punctuation(tokens, text):
    assert detokenize(tokens) == text


def test_join_subwords_undoes_segmentation_and_leaves_words_alone():
    assert join_subwords("fahr@@ rad ist da") == "fahrrad ist da"
    assert join_subwords("ver@@ schla@@ fen") == "verschlafen"
    assert join_subwords("ich bin da") == "ich bin da"  # never segmented
    assert join_subwords("halb@@") == "halb"  # a dangling marker at the very end


def test_detokenize_joins_subwords_before_reattaching_punctuation():
    bpe = BytePairEncoding([("f", "a"), ("fa", "h"), ("r", "a"), ("ra", "d</w>")])
    pieces = bpe.segment("fahrrad .").split()
    assert len(pieces) > 2  # the word was split into pieces
    assert detokenize(pieces) == "fahrrad."
