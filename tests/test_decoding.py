"""Tests for course_lib.decoding: greedy search, beam search and the Translator.

A scripted fake model pins down exactly when greedy search stops; tiny real models
overfitted to the handmade pairs (a few seconds) check the searches against each
other and the Translator's documented behaviour on awkward input.
"""

import numpy as np
import pytest
import tensorflow as tf
from helpers import overfit, padded_arrays, tiny_model, tiny_pairs, tiny_vectorizers, trainer

from course_lib.decoding import (
    Translation,
    TranslationInputError,
    Translator,
    beam_search,
    greedy_decode,
)

MAX_LENGTH = 12


@pytest.fixture(scope="module")
def vec():
    return tiny_vectorizers()


@pytest.fixture(scope="module")
def source(vec):
    return padded_arrays(vec, tiny_pairs())[0]


@pytest.fixture(scope="module")
def trained_and_half(vec):
    """Baseline and attention models that reproduce the tiny training pairs, plus a
    copy of the attention model taken early in training: unsure, so beam search and
    greedy search can disagree."""
    models = {"baseline": tiny_model("baseline", vec, seed=0)}
    overfit(models["baseline"], vec, tiny_pairs())
    models["attention"] = tiny_model("attention", vec, seed=0)
    run = trainer(models["attention"], vec, tiny_pairs())
    run(10)
    half = tiny_model("attention", vec, seed=1)
    half.set_weights(models["attention"].get_weights())
    run(40)
    return models, half


@pytest.fixture(scope="module")
def trained(trained_and_half):
    return trained_and_half[0]


@pytest.fixture(scope="module")
def half_trained(trained_and_half):
    return trained_and_half[1]


# --------------------------------------------------------------------------- greedy


class ScriptedModel:
    """Emits 4, 5, 6, ... and then [end] (id 3) after n tokens, n = source length.

    Implements the encode / decode_step interface with TensorFlow ops, so it runs
    inside the compiled greedy loop like a real model.
    """

    has_attention = False
    vocab = 16

    def encode(self, source_ids):
        n = tf.reduce_sum(tf.cast(source_ids != 0, tf.int32), axis=1)
        return {"t": tf.zeros_like(n), "n": n}

    def decode_step(self, prev_token, carry):
        t, n = carry["t"], carry["n"]
        token = tf.where(t < n, 4 + t, 3)
        return tf.one_hot(token, self.vocab) * 10.0, {"t": t + 1, "n": n}, None


def test_greedy_stops_at_end_per_sentence_and_pads_afterwards():
    source = np.array([[5, 6, 7, 0], [8, 0, 0, 0], [1, 1, 1, 1]], np.int32)
    decoded = greedy_decode(ScriptedModel(), source, start_id=2, end_id=3, max_length=10)
    np.testing.assert_array_equal(decoded.lengths, [4, 2, 5])  # [end] counts
    expected = np.array([[4, 5, 6, 3, 0, 0, 0, 0, 0, 0],
                         [4, 3, 0, 0, 0, 0, 0, 0, 0, 0],
                         [4, 5, 6, 7, 3, 0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(decoded.ids[:, :expected.shape[1]], expected)
    assert (decoded.ids[:, expected.shape[1]:] == 0).all()
    assert decoded.weights is None


def test_greedy_stops_at_max_length_without_end():
    source = np.array([[5, 6, 7, 8, 9, 9, 9], [5, 0, 0, 0, 0, 0, 0]], np.int32)
    decoded = greedy_decode(ScriptedModel(), source, start_id=2, end_id=3, max_length=4)
    np.testing.assert_array_equal(decoded.lengths, [4, 2])
    np.testing.assert_array_equal(decoded.ids, [[4, 5, 6, 7], [4, 3, 0, 0]])


def test_beam_search_stops_at_end_like_greedy_on_a_scripted_model():
    source = np.array([[5, 6, 7, 0], [8, 0, 0, 0], [1, 1, 1, 1]], np.int32)
    decoded = beam_search(ScriptedModel(), source, 2, 3, max_length=10, beam_width=3)
    np.testing.assert_array_equal(decoded.lengths, [4, 2, 5])
    np.testing.assert_array_equal(decoded.ids, [[4, 5, 6, 3, 0], [4, 3, 0, 0, 0],
                                                [4, 5, 6, 7, 3]])


def test_greedy_is_deterministic(trained, vec, source):
    model = trained["attention"]
    first = greedy_decode(model, source, vec.start_id, vec.end_id, MAX_LENGTH)
    second = greedy_decode(model, source, vec.start_id, vec.end_id, MAX_LENGTH)
    np.testing.assert_array_equal(first.ids, second.ids)
    np.testing.assert_array_equal(first.lengths, second.lengths)
    np.testing.assert_array_equal(first.weights, second.weights)


@pytest.mark.parametrize("kind", ["baseline", "attention"])
def test_greedy_on_a_trained_model_ends_each_sentence_once(trained, vec, source, kind):
    decoded = greedy_decode(trained[kind], source, vec.start_id, vec.end_id, MAX_LENGTH)
    assert len(set(decoded.lengths.tolist())) > 1  # sentences end at different steps
    for row, length in zip(decoded.ids, decoded.lengths, strict=True):
        assert 1 <= length < MAX_LENGTH
        assert row[length - 1] == vec.end_id
        assert vec.end_id not in row[:length - 1]
        assert (row[length:] == 0).all()
    # The overfitted model reproduces (nearly all of) its training sentences.
    texts = [vec.target_text(row) for row in decoded.ids]
    references = [de for _, de in tiny_pairs()]
    assert sum(t == r for t, r in zip(texts, references, strict=True)) >= len(references) - 2


def test_greedy_attention_weights_shape_and_padding(trained, vec, source):
    decoded = greedy_decode(trained["attention"], source, vec.start_id, vec.end_id, MAX_LENGTH)
    batch, source_len = source.shape
    assert decoded.weights.shape == (batch, decoded.ids.shape[1], source_len)
    for i, length in enumerate(decoded.lengths):
        weights = decoded.weights[i]
        assert (weights[:, source[i] == 0] == 0).all()          # padded source positions
        np.testing.assert_allclose(weights[:length].sum(-1), 1.0, atol=1e-5)
        assert (weights[length:] == 0).all()                    # after [end]: nothing


def test_greedy_baseline_has_no_weights(trained, vec, source):
    decoded = greedy_decode(trained["baseline"], source, vec.start_id, vec.end_id, MAX_LENGTH)
    assert decoded.weights is None


# --------------------------------------------------------------------------- beam search


def _assert_beam_one_equals_greedy(model, vec, source, max_length):
    greedy = greedy_decode(model, source, vec.start_id, vec.end_id, max_length)
    beam = beam_search(model, source, vec.start_id, vec.end_id, max_length, beam_width=1)
    np.testing.assert_array_equal(beam.lengths, greedy.lengths)
    width = beam.ids.shape[1]
    assert width == greedy.lengths.max()
    np.testing.assert_array_equal(beam.ids, greedy.ids[:, :width])
    assert (greedy.ids[:, width:] == 0).all()
    if model.has_attention:
        np.testing.assert_allclose(beam.weights, greedy.weights[:, :width], atol=1e-5)
    else:
        assert beam.weights is None


@pytest.mark.parametrize("kind", ["baseline", "attention"])
def test_beam_width_one_equals_greedy(trained, vec, source, kind):
    _assert_beam_one_equals_greedy(trained[kind], vec, source, MAX_LENGTH)


@pytest.mark.parametrize("kind", ["baseline", "attention"])
def test_beam_width_one_equals_greedy_when_nothing_ends(vec, source, kind):
    model = tiny_model(kind, vec, seed=9)  # untrained: runs to max_length
    _assert_beam_one_equals_greedy(model, vec, source[:4], max_length=6)


def _normalised_log_probs(model, source, hypotheses, start_id):
    """Length-normalised log-probability of each hypothesis ([end] included) for its source
    row, by teacher forcing, all in one batch (later padding cannot change earlier steps)."""
    longest = max(len(h) for h in hypotheses)
    decoder_input = np.zeros((len(hypotheses), longest), np.int32)
    for i, ids in enumerate(hypotheses):
        decoder_input[i, :len(ids)] = np.concatenate([[start_id], ids[:-1]])
    log_probs = tf.nn.log_softmax(model((source, decoder_input)), axis=-1).numpy()
    return [float(log_probs[i, np.arange(len(ids)), ids].sum()) / len(ids)
            for i, ids in enumerate(hypotheses)]


@pytest.mark.parametrize("which", ["trained", "half_trained"])
def test_beam_search_scores_at_least_as_well_as_greedy(request, vec, source, which):
    model = request.getfixturevalue(which)
    if isinstance(model, dict):
        model = model["attention"]
    greedy = greedy_decode(model, source, vec.start_id, vec.end_id, MAX_LENGTH)
    beam = beam_search(model, source, vec.start_id, vec.end_id, MAX_LENGTH, beam_width=3)
    g_ids = [greedy.ids[i, :n] for i, n in enumerate(greedy.lengths)]
    b_ids = [beam.ids[i, :n] for i, n in enumerate(beam.lengths)]
    for i, n in enumerate(beam.lengths):
        assert (beam.ids[i, n:] == 0).all()
    scores = _normalised_log_probs(model, np.concatenate([source, source]), g_ids + b_ids,
                                   vec.start_id)
    g_scores, b_scores = scores[:len(source)], scores[len(source):]
    for i in range(len(source)):
        assert b_scores[i] >= g_scores[i] - 1e-4, (i, g_ids[i], b_ids[i])
    if which == "half_trained":  # not vacuous: beam search found other, better outputs
        assert sum(not np.array_equal(g, b) for g, b in zip(g_ids, b_ids, strict=True)) > 0
        assert sum(b_scores) > sum(g_scores)


class CheapEndModel:
    """Every step: token 4 with p=0.9, [end] (id 3) with p=0.05; after 5 steps [end] with p≈1.

    The best hypothesis is 4 4 4 4 4 [end]. An improbable early [end] is on offer at
    every step, so a search that stops once ``width`` hypotheses have finished returns
    one of those instead.
    """

    has_attention = False
    vocab = 8

    def encode(self, source_ids):
        return {"t": tf.zeros([tf.shape(source_ids)[0]], tf.int32)}

    def decode_step(self, prev_token, carry):
        t = carry["t"]
        probs = np.full(self.vocab, 0.05 / (self.vocab - 2))
        probs[4], probs[3] = 0.9, 0.05
        final = np.full(self.vocab, 1e-4)
        final[3] = 1 - 1e-4 * (self.vocab - 1)
        logits = tf.where((t < 5)[:, None], np.log(probs)[None], np.log(final)[None])
        return tf.cast(logits, tf.float32), {"t": t + 1}, None


@pytest.mark.parametrize("width", [2, 3, 5])
def test_beam_search_waits_for_the_best_hypothesis_to_finish(width):
    source = np.array([[5, 6]], np.int32)
    decoded = beam_search(CheapEndModel(), source, 2, 3, max_length=10, beam_width=width)
    np.testing.assert_array_equal(decoded.ids[0], [4, 4, 4, 4, 4, 3])
    assert decoded.lengths.tolist() == [6]
    greedy = greedy_decode(CheapEndModel(), source, 2, 3, max_length=10)
    np.testing.assert_array_equal(greedy.ids[0, :6], decoded.ids[0])


def test_beam_search_attention_weights(trained, vec, source):
    beam = beam_search(trained["attention"], source, vec.start_id, vec.end_id, MAX_LENGTH,
                       beam_width=3)
    assert beam.weights.shape == (*beam.ids.shape, source.shape[1])
    for i, length in enumerate(beam.lengths):
        assert (beam.weights[i][:, source[i] == 0] == 0).all()
        np.testing.assert_allclose(beam.weights[i, :length].sum(-1), 1.0, atol=1e-5)
        assert (beam.weights[i, length:] == 0).all()


# --------------------------------------------------------------------------- Translator


def test_translator_translates_training_sentences(trained, vec):
    translator = Translator(trained["attention"], vec)
    result = translator.translate(["The door is open.", "Where is the street?"])
    assert all(isinstance(t, Translation) for t in result)
    assert [t.text for t in result] == ["die tür ist offen.", "wo ist die straße?"]
    assert result[0].tokens == ["die", "tür", "ist", "offen", ".", "[end]"]
    assert result[0].source_tokens == ["the", "door", "is", "open", "."]
    assert result[0].unknown_words == [] and not result[0].truncated
    assert translator("The door is open.") == ["die tür ist offen."]  # one string is fine


def test_translator_batches_give_the_same_result(trained, vec):
    translator = Translator(trained["attention"], vec)
    sentences = [en for en, _ in tiny_pairs()]
    one_batch = translator.translate(sentences, batch_size=64)
    small_batches = translator.translate(sentences, batch_size=3)
    assert [t.text for t in small_batches] == [t.text for t in one_batch]
    assert [t.source for t in small_batches] == sentences


def test_translator_rejects_an_empty_sentence_naming_its_index(trained, vec):
    translator = Translator(trained["attention"], vec)
    with pytest.raises(TranslationInputError, match="sentence 1 is empty"):
        translator.translate(["I am hungry.", "   "])
    with pytest.raises(TranslationInputError, match="sentence 0"):
        translator.translate([""])


def test_translator_rejects_a_sentence_of_only_unknown_words(trained, vec):
    translator = Translator(trained["attention"], vec)
    with pytest.raises(TranslationInputError, match="sentence 2 .*no word the model knows"):
        translator.translate(["Good morning!", "The door is open.", "Xylophones zebras"])
    assert issubclass(TranslationInputError, ValueError)


def test_translator_lists_unknown_words_and_still_translates(trained, vec):
    (result,) = Translator(trained["attention"], vec).translate(["The zebra is open."])
    assert result.unknown_words == ["zebra"]
    assert result.source_tokens == ["the", "[UNK]", "is", "open", "."]
    assert result.tokens and result.text
    assert "[end]" not in result.text and "[UNK]" not in result.source


def test_translator_truncates_an_over_long_sentence_with_a_warning(trained, vec):
    translator = Translator(trained["attention"], vec, max_source_tokens=4)
    long_sentence = "The girl is beautiful. The bread is big."
    with pytest.warns(UserWarning, match="sentence 1 has 10 tokens; translating only the first 4"):
        short, cut = translator.translate(["Good morning!", long_sentence])
    assert not short.truncated
    assert cut.truncated
    assert cut.source_tokens == ["the", "girl", "is", "beautiful"]
    assert cut.weights.shape == (len(cut.tokens), 4)


def test_translator_weights_baseline_none_attention_per_token(trained, vec):
    sentences = ["The door is open.", "Good morning!"]
    for translation in Translator(trained["baseline"], vec).translate(sentences):
        assert translation.weights is None
    for translation in Translator(trained["attention"], vec).translate(sentences):
        weights = translation.weights
        assert weights.shape == (len(translation.tokens), len(translation.source_tokens))
        np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)


def test_translator_beam_search(trained, vec):
    translator = Translator(trained["attention"], vec)
    (result,) = translator.translate(["Good morning!"], beam_width=3)
    assert result.tokens[-1] == "[end]"
    assert result.text == "guten morgen!"
    assert result.weights.shape == (len(result.tokens), len(result.source_tokens))


def test_unknown_word_replacement_copies_the_most_attended_source_word():
    """Luong et al. (2015): a generated [UNK] becomes the source word with the largest weight."""
    from course_lib.decoding import Translation, replace_unknown_words

    weights = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]])
    translation = Translation("Tom likes Quxx.", ["tom", "likes", "[UNK]"],
                              ["tom", "[UNK]", "[end]"], "tom [UNK]", weights)
    replace_unknown_words(translation, ["tom", "likes", "quxx"])
    assert translation.text == "tom quxx"
    assert translation.replacements == {1: "quxx"}
    assert translation.raw_text == "tom [UNK]"
