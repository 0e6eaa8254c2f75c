"""Byte-pair encoding (Sennrich et al. 2016) and subword runs end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import tiny_model, tiny_pairs
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import runs
from course_lib.decoding import Translator
from course_lib.subwords import CONTINUES, BytePairEncoding, learn_merges
from course_lib.text import UNK, Vectorizers
from course_lib.tokenization import join_subwords


def test_first_merges_match_a_hand_count():
    # A dictionary in the style of Sennrich et al. (2016), section 3.2, counted by hand:
    #   (e,s) = 6 + 3 = 9 and (s,t</w>) = 9 tie → alphabetical: e·s first, then es·t</w>;
    #   then (l,o) = 5 + 2 = 7; then (e,w) = (n,e) = (w,es) = 6 tie → e·w.
    counts = {"low": 5, "lower": 2, "newest": 6, "widest": 3}
    merges = learn_merges(counts, 4)
    assert merges == [("e", "s"), ("es", "t</w>"), ("l", "o"), ("e", "w")]


def test_learning_stops_when_nothing_is_left_to_merge():
    merges = learn_merges({"ab": 3, "b": 1}, 10)
    assert merges == [("a", "b</w>")]
    assert learn_merges({}, 5) == []


def test_merges_are_deterministic_on_ties_and_independent_of_input_order():
    words = {"ab": 2, "cd": 2, "ef": 2}
    reordered = dict(reversed(list(words.items())))
    assert learn_merges(words, 3) == learn_merges(reordered, 3) == [
        ("a", "b</w>"), ("c", "d</w>"), ("e", "f</w>")]


def test_segmenting_applies_merges_in_learned_order_and_marks_continuations():
    bpe = BytePairEncoding([("e", "s"), ("es", "t</w>"), ("l", "o"), ("lo", "w")])
    assert bpe.segment_word("lowest") == ("low" + CONTINUES, "est")
    assert bpe.segment_word("low") == ("lo" + CONTINUES, "w")  # 'w</w>' was never merged
    assert bpe.segment_word("x") == ("x",)
    assert bpe.segment("lowest x") == "low@@ est x"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="abcdeäöüß", min_size=1, max_size=9), min_size=1, max_size=8),
       st.integers(min_value=0, max_value=30))
def test_join_undoes_segment_for_any_words(words, merges):
    corpus = [" ".join(words), "abc abd äöü"]
    bpe = BytePairEncoding.learn(corpus, merges)
    sentence = " ".join(words)
    assert join_subwords(bpe.segment(sentence)) == sentence


def test_frequent_words_become_single_units_and_rare_words_split():
    sentences = ["der hund ist da"] * 50 + ["der fahrradschlüssel ist weg"]
    bpe = BytePairEncoding.learn(sentences, 40)
    assert bpe.segment("der hund ist da") == "der hund ist da"
    pieces = bpe.segment("hundeschlüssel").split()
    assert len(pieces) > 1 and join_subwords(" ".join(pieces)) == "hundeschlüssel"


def test_save_and_load_round_trip(tmp_path):
    bpe = BytePairEncoding.learn(["ich habe hunger", "ich habe durst"], 12)
    bpe.save(tmp_path / "bpe.json")
    again = BytePairEncoding.load(tmp_path / "bpe.json")
    assert again.merges == bpe.merges
    assert again.segment("ich habe hunger") == bpe.segment("ich habe hunger")
    assert json.loads((tmp_path / "bpe.json").read_text(encoding="utf-8"))[0] == list(bpe.merges[0])


def test_subword_vectorizers_spell_unseen_words_without_unk(tmp_path):
    pairs = tiny_pairs()
    words = Vectorizers.from_pairs(pairs, 60, 60)
    pieces = Vectorizers.from_pairs(pairs, 200, 200, subword_merges=30)
    unseen = "die tür ist schön ."   # every word seen, but not together; 'schön' only once
    new_word = "das brötchen ist groß ."  # 'brötchen' never seen in training
    assert UNK in words.target_text(words.target_ids([new_word])[0].numpy(), strip_special=False)
    ids = pieces.target_ids([unseen, new_word])
    assert pieces.target_text(ids[0].numpy()) == unseen
    spelled = [pieces.target_vocab[i] for i in ids[1].numpy()]
    assert UNK not in spelled and len(spelled) > len(new_word.split()) + 2  # split into pieces
    assert pieces.target_text(ids[1].numpy()) == new_word
    pieces.save(tmp_path)
    again = Vectorizers.load(tmp_path)
    assert again.target_bpe.merges == pieces.target_bpe.merges
    np.testing.assert_array_equal(again.target_ids([unseen]).to_tensor().numpy(),
                                  pieces.target_ids([unseen]).to_tensor().numpy())
    words.save(tmp_path)  # a word-level save removes stale merges
    assert Vectorizers.load(tmp_path).target_bpe is None


def test_translator_with_subwords_gives_whole_words_and_aligned_weights():
    pairs = tiny_pairs()
    vectorizers = Vectorizers.from_pairs(pairs, 200, 200, subword_merges=25)
    model = tiny_model("attention", vectorizers)
    translation = Translator(model, vectorizers).translate(["The door is open."])[0]
    source_pieces = vectorizers.source_pieces("the door is open .").split()
    assert translation.source_tokens == source_pieces
    assert translation.weights.shape == (len(translation.tokens), len(source_pieces))
    assert CONTINUES + " " not in translation.hypothesis
    assert translation.hypothesis == join_subwords(" ".join(t for t in translation.tokens if t != "[end]"))


@pytest.mark.parametrize("kind", ["baseline", "attention"])
def test_a_subword_run_trains_saves_and_reloads(tmp_path, tiny_corpus, kind):
    from course_lib.data import prepare_data

    data = prepare_data(tiny_corpus, verbose=False)
    settings_ = runs.RunSettings(kind=kind, source_vocab=120, target_vocab=120, embedding_dim=8,
                                 units=16, subword_merges=40, epochs=1, batch_size=16,
                                 profile="quick")
    run = runs.train_run(data, settings_, tmp_path / kind, verbose=0)
    assert (tmp_path / kind / "target_bpe.json").exists()
    again = runs.load_run(tmp_path / kind)
    assert again.vectorizers.source_bpe.merges == run.vectorizers.source_bpe.merges
    assert again.translator(["Tom is happy."]) == run.translator(["Tom is happy."])
    assert runs.load_or_train(kind, data, tmp_path / kind, settings_).model is not None


def test_runs_from_before_subwords_still_match_their_settings(tmp_path):
    """run.json files written before ``subword_merges`` existed mean whole words."""
    old = runs.RunSettings(kind="baseline").__dict__ | {}
    old.pop("subword_merges")
    assert runs._settings_of({"settings": old}) == runs.RunSettings(kind="baseline")
    assert runs._settings_of({"settings": {**old, "from_the_future": 1}}) is None
