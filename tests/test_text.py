"""Tests for course_lib.text: vocabularies, vectorizers, the tf.data pipeline, padding."""

import json

import numpy as np
import pytest
import tensorflow as tf
from helpers import tiny_pairs, tiny_vectorizers

from course_lib.text import (
    END,
    PAD,
    START,
    UNK,
    Vectorizers,
    build_vocabulary,
    make_dataset,
    make_vectorizer,
    padding_fraction,
    shift_for_teacher_forcing,
    wrap_target,
)

# --------------------------------------------------------------------------- vocabulary


def test_vocabulary_orders_by_frequency_then_alphabetically():
    texts = ["b a c", "a b", "a", "z y", "y z"]
    # a: 3; b, y, z: 2 (alphabetical among equals); c: 1
    assert build_vocabulary(texts, max_size=100) == [PAD, UNK, "a", "b", "y", "z", "c"]


def test_vocabulary_puts_reserved_tokens_first_and_does_not_count_them():
    texts = ["[start] ich bin da [end]", "[start] ich [end]", "[end] [end] [end]"]
    vocab = build_vocabulary(texts, max_size=100, reserved=(START, END))
    assert vocab == [PAD, UNK, START, END, "ich", "bin", "da"]
    assert vocab.count(END) == 1


def test_vocabulary_cap_is_honoured():
    texts = ["a a a a b b b c c d"]
    vocab = build_vocabulary(texts, max_size=5, reserved=(START, END))
    assert vocab == [PAD, UNK, START, END, "a"]
    assert build_vocabulary(texts, max_size=4) == [PAD, UNK, "a", "b"]


def test_vocabulary_is_independent_of_input_order():
    pairs = tiny_pairs()
    forward = build_vocabulary([de for _, de in pairs], 60)
    backward = build_vocabulary([de for _, de in reversed(pairs)], 60)
    assert forward == backward


def test_from_pairs_builds_source_and_target_vocabularies():
    v = tiny_vectorizers()
    assert v.source_vocab[:2] == [PAD, UNK]
    assert v.target_vocab[:4] == [PAD, UNK, START, END]
    assert (v.start_id, v.end_id) == (2, 3)
    assert "straße" in v.target_vocab and "bürgermeister" in v.target_vocab
    assert "straße" not in v.source_vocab and "street" in v.source_vocab
    assert v.source_vocab[2] == "."  # the most frequent English token


def test_make_vectorizer_requires_padding_and_unknown_first():
    with pytest.raises(ValueError, match="padding"):
        make_vectorizer(["[UNK]", "", "a"])
    with pytest.raises(ValueError):
        make_vectorizer(["a", "b"])


# --------------------------------------------------------------------------- ids <-> text


def test_ids_follow_vocabulary_positions_and_unknown_is_one():
    v = tiny_vectorizers()
    ids = v.source_ids(["i am zebra ."]).to_list()[0]
    assert ids == [v.source_vocab.index("i"), v.source_vocab.index("am"), 1,
                   v.source_vocab.index(".")]
    assert v.source_tokens(ids) == ["i", "am", UNK, "."]


def test_target_ids_are_wrapped_in_start_and_end():
    v = tiny_vectorizers()
    assert wrap_target("ich bin da .") == "[start] ich bin da . [end]"
    ids = v.target_ids(["wo ist die straße ?"]).to_list()[0]
    assert ids[0] == v.start_id and ids[-1] == v.end_id
    assert [v.target_vocab[i] for i in ids[1:-1]] == ["wo", "ist", "die", "straße", "?"]


def test_target_text_round_trip_for_every_fixture_sentence():
    v = tiny_vectorizers()
    germans = [de for _, de in tiny_pairs()]
    padded = v.target_ids(germans).to_tensor().numpy()  # right-padded with 0
    assert (padded == 0).any()
    for row, german in zip(padded, germans, strict=True):
        assert v.target_text(row) == german


def test_target_text_stops_at_end_and_strips_start_and_padding():
    v = tiny_vectorizers()
    ich, bin_, da = (v.target_vocab.index(w) for w in ("ich", "bin", "hungrig"))
    row = [v.start_id, ich, 0, bin_, v.end_id, da, da, 0, 0]
    assert v.target_text(row) == "ich bin"
    assert v.target_text(np.array(row)) == "ich bin"
    assert v.target_text(row, strip_special=False).split() == [
        START, "ich", "bin", END, "hungrig", "hungrig"]


def test_source_tokens_drop_padding():
    v = tiny_vectorizers()
    row = v.source_ids(["the door is open .", "hi"]).to_tensor().numpy()[0]
    assert v.source_tokens(row) == ["the", "door", "is", "open", "."]
    row = v.source_ids(["the door is open .", "good morning !"]).to_tensor().numpy()[1]
    assert 0 in row and v.source_tokens(row) == ["good", "morning", "!"]


def test_vectorizers_save_load_round_trip(tmp_path):
    v = tiny_vectorizers()
    v.save(tmp_path / "vocab")
    raw = (tmp_path / "vocab" / "target_vocab.json").read_text(encoding="utf-8")
    assert "straße" in raw  # stored readable, not \u-escaped
    assert json.loads(raw) == v.target_vocab
    w = Vectorizers.load(tmp_path / "vocab")
    assert w.source_vocab == v.source_vocab
    assert w.target_vocab == v.target_vocab
    assert (w.start_id, w.end_id) == (v.start_id, v.end_id)
    english = [en for en, _ in tiny_pairs()] + ["i am zebra ."]
    german = [de for _, de in tiny_pairs()] + ["ich bin ein zebra ."]
    assert w.source_ids(english).to_list() == v.source_ids(english).to_list()
    assert w.target_ids(german).to_list() == v.target_ids(german).to_list()


def test_load_from_a_folder_without_vocabulary_fails_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved vocabulary"):
        Vectorizers.load(tmp_path)


# --------------------------------------------------------------------------- tf.data


def test_shift_for_teacher_forcing():
    source = tf.constant([[5, 6]])
    target = tf.constant([[2, 10, 11, 3]])
    (s, decoder_input), labels = shift_for_teacher_forcing(source, target)
    assert s.numpy().tolist() == [[5, 6]]
    assert decoder_input.numpy().tolist() == [[2, 10, 11]]
    assert labels.numpy().tolist() == [[10, 11, 3]]


def test_make_dataset_structure_shapes_and_exact_shift():
    v = tiny_vectorizers()
    pairs = tiny_pairs()
    ds = make_dataset(pairs, v, batch_size=4, shuffle=False, bucketing=False)
    spec = ds.element_spec
    assert isinstance(spec, tuple) and len(spec) == 2 and len(spec[0]) == 2
    (source_spec, input_spec), label_spec = spec
    assert source_spec.shape.as_list() == [None, None]
    assert input_spec.shape.as_list() == [None, None] == label_spec.shape.as_list()
    batches = list(ds)
    assert [int(b[1].shape[0]) for b in batches] == [4, 4, 4, 1]
    offset = 0
    for (source, decoder_input), labels in batches:
        chunk = pairs[offset:offset + int(source.shape[0])]
        offset += len(chunk)
        expected_source = v.source_ids([en for en, _ in chunk]).to_tensor().numpy()
        target = v.target_ids([de for _, de in chunk]).to_tensor().numpy()
        np.testing.assert_array_equal(source.numpy(), expected_source)
        np.testing.assert_array_equal(decoder_input.numpy(), target[:, :-1])
        np.testing.assert_array_equal(labels.numpy(), target[:, 1:])
        assert decoder_input.shape == labels.shape
        assert (decoder_input.numpy()[:, 0] == v.start_id).all()
    assert offset == len(pairs)


def _is_right_padded(rows: np.ndarray) -> bool:
    """Every row is some non-zero ids followed only by zeros."""
    for row in rows:
        nonzero = np.flatnonzero(row)
        length = nonzero[-1] + 1 if nonzero.size else 0
        if (row[:length] == 0).any() or (row[length:] != 0).any():
            return False
    return True


@pytest.mark.parametrize("bucketing", [False, True])
def test_make_dataset_pads_on_the_right_with_zero_and_keeps_every_pair(bucketing):
    v = tiny_vectorizers()
    pairs = tiny_pairs()
    ds = make_dataset(pairs, v, batch_size=4, shuffle=True, bucketing=bucketing, seed=1)
    seen_sources = []
    saw_padding = False
    for (source, decoder_input), labels in ds:
        for tensor in (source, decoder_input, labels):
            assert tensor.dtype == tf.int64
            assert _is_right_padded(tensor.numpy())
        saw_padding |= bool((source.numpy() == 0).any())
        # Each label row ends in [end] right where its decoder input stops being real.
        for row_in, row_out in zip(decoder_input.numpy(), labels.numpy(), strict=True):
            real = int((row_out != 0).sum())
            assert row_out[real - 1] == v.end_id
            assert (row_in[1:real] == row_out[:real - 1]).all()
        seen_sources += [tuple(r[r != 0]) for r in source.numpy()]
    expected = [tuple(r) for r in v.source_ids([en for en, _ in pairs]).to_list()]
    assert sorted(seen_sources) == sorted(expected)
    assert saw_padding


def test_padding_fraction_counts_source_and_decoder_input():
    source = tf.constant([[1, 2, 0], [1, 0, 0]])        # 3 zeros of 6
    decoder_input = tf.constant([[2, 3], [2, 0]])        # 1 zero of 4
    labels = tf.constant([[3, 0], [0, 0]])               # ignored
    ds = tf.data.Dataset.from_tensors(((source, decoder_input), labels))
    assert padding_fraction(ds) == pytest.approx(4 / 10)


def test_bucketing_wastes_less_padding_than_plain_batching():
    # Mixed lengths from 1 to 24 tokens, in an order that mixes short and long.
    rng = np.random.default_rng(0)
    lengths = rng.permutation(np.repeat(np.arange(1, 25), 4))
    pairs = [(" ".join(f"w{i}" for i in range(n)), " ".join(f"v{i}" for i in range(n)))
             for n in lengths]
    v = Vectorizers.from_pairs(pairs, source_size=40, target_size=40)
    plain = padding_fraction(make_dataset(pairs, v, batch_size=8, shuffle=False,
                                          bucketing=False))
    bucketed = padding_fraction(make_dataset(pairs, v, batch_size=8, shuffle=False,
                                             bucketing=True))
    assert 0 <= bucketed < plain
    assert plain > 0.25 and bucketed < plain / 2
