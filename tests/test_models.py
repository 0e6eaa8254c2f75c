"""Tests for course_lib.models: shapes, masking, shared step code, keys-once, saving.

All models are tiny (embedding 8, 16 units, vocabularies of ~40 words) and untrained:
these tests check structure and equivalences, not translation quality.
"""

import keras
import numpy as np
import pytest
from helpers import (
    EMBEDDING_DIM,
    UNITS,
    padded_arrays,
    step_by_step,
    tiny_model,
    tiny_pairs,
    tiny_vectorizers,
)

from course_lib.decoding import greedy_decode
from course_lib.models import (
    MODEL_KINDS,
    AttentionSeq2Seq,
    BahdanauDecoder,
    BaselineSeq2Seq,
    LuongStyleSeq2Seq,
    NaiveBahdanauDecoder,
    build_model,
    masked_softmax,
)

KINDS = ["baseline", "attention", "luong", "luong_feed"]
ATTENTION_KINDS = ["attention", "luong", "luong_feed"]
ATOL = 1e-5


@pytest.fixture(scope="module")
def models(vec):
    return {kind: tiny_model(kind, vec, seed=1) for kind in KINDS}


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("kind", KINDS)
def test_output_shapes(models, batch, vec, kind):
    model = models[kind]
    source, decoder_input, _ = batch
    batch_size, source_len = source.shape
    target_len = decoder_input.shape[1]
    vocab = len(vec.target_vocab)
    assert tuple(model((source, decoder_input)).shape) == (batch_size, target_len, vocab)
    carry = model.encode(source)
    logits, new_carry, weights = model.decode_step(decoder_input[:, 0], carry)
    assert tuple(logits.shape) == (batch_size, vocab)
    assert tuple(new_carry["state"].shape) == (batch_size, UNITS)
    if kind == "baseline":
        assert weights is None and model.has_attention is False
    else:
        assert tuple(weights.shape) == (batch_size, source_len) and model.has_attention
        assert tuple(carry["values"].shape) == (batch_size, source_len, 2 * UNITS)


def test_attention_forward_returns_weights_per_output_step(models, batch):
    source, decoder_input, _ = batch
    logits, weights = models["attention"].forward_with_weights((source, decoder_input))
    assert tuple(weights.shape) == (*decoder_input.shape, source.shape[1])
    np.testing.assert_allclose(np.asarray(logits),
                               np.asarray(models["attention"]((source, decoder_input))),
                               atol=ATOL)


def test_build_model_kinds_and_unknown_kind(vec):
    assert set(MODEL_KINDS) == {"baseline", "attention", "luong", "attention_naive",
                                "attention_fixed_query", "own_prediction_sampling", "transformer",
                                "attention_dot", "luong_feed"}
    assert all(MODEL_KINDS[kind].kind == kind for kind in MODEL_KINDS)
    assert MODEL_KINDS["baseline"] is BaselineSeq2Seq
    assert MODEL_KINDS["attention"] is AttentionSeq2Seq
    assert MODEL_KINDS["luong"] is LuongStyleSeq2Seq
    with pytest.raises(ValueError, match="unknown model kind"):
        build_model("lstm", 10, 10)


# --------------------------------------------------------------------------- masking


@pytest.mark.parametrize("kind", KINDS)
def test_extra_source_padding_does_not_change_logits(models, batch, kind):
    model = models[kind]
    source, decoder_input, _ = batch
    more_padding = np.concatenate([source, np.zeros((source.shape[0], 4), np.int32)], axis=1)
    np.testing.assert_allclose(np.asarray(model((more_padding, decoder_input))),
                               np.asarray(model((source, decoder_input))), atol=ATOL)


def test_masked_softmax_gives_padding_exactly_zero():
    scores = np.array([[1.0, 2.0, 50.0], [0.5, -3.0, 9.0]], np.float32)
    mask = np.array([[True, True, False], [True, False, False]])
    weights = np.asarray(masked_softmax(scores, mask))
    assert weights[0, 2] == 0.0 and (weights[1, 1:] == 0.0).all()
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)
    expected = np.exp([1.0, 2.0]) / np.exp([1.0, 2.0]).sum()
    np.testing.assert_allclose(weights[0, :2], expected, atol=1e-6)


def _check_weights(weights, source):
    weights = np.asarray(weights)
    padding = np.broadcast_to((source == 0)[:, None, :], weights.shape)
    assert (weights[padding] == 0.0).all()
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    assert (weights >= 0).all()


def test_attention_weights_zero_on_padding_and_rows_sum_to_one(models, batch):
    source, decoder_input, _ = batch
    _, weights = models["attention"].forward_with_weights((source, decoder_input))
    _check_weights(weights, source)


@pytest.mark.parametrize("kind", ATTENTION_KINDS)
def test_step_weights_zero_on_padding_and_rows_sum_to_one(models, batch, kind):
    source, decoder_input, _ = batch
    _, weights, _ = step_by_step(models[kind], source, decoder_input)
    _check_weights(np.stack(weights, axis=1), source)


# --------------------------------------------------------------------------- shared step code


@pytest.mark.parametrize("kind", KINDS)
def test_first_decode_step_equals_teacher_forced_first_step(models, batch, kind):
    model = models[kind]
    source, decoder_input, _ = batch
    teacher = np.asarray(model((source, decoder_input)))
    logits, _, _ = model.decode_step(decoder_input[:, 0], model.encode(source))
    np.testing.assert_allclose(np.asarray(logits), teacher[:, 0], atol=ATOL)


@pytest.mark.parametrize("kind", KINDS)
def test_step_by_step_equals_teacher_forcing_over_all_steps(models, batch, kind):
    model = models[kind]
    source, decoder_input, _ = batch
    teacher = np.asarray(model((source, decoder_input)))
    stepped, weights, _ = step_by_step(model, source, decoder_input)
    assert stepped.shape == teacher.shape
    np.testing.assert_allclose(stepped, teacher, atol=ATOL)
    if kind == "attention":
        _, teacher_weights = model.forward_with_weights((source, decoder_input))
        np.testing.assert_allclose(np.stack(weights, axis=1), np.asarray(teacher_weights),
                                   atol=ATOL)


# --------------------------------------------------------------------------- keys once


@pytest.fixture(scope="module")
def naive_and_efficient(vec):
    efficient = tiny_model("attention", vec, seed=2)
    naive = tiny_model("attention_naive", vec, seed=3)
    naive.set_weights(efficient.get_weights())
    return naive, efficient


def _count_key_calls(monkeypatch, model):
    layer = model.decoder.attention
    original = layer.project_keys
    calls = []

    def counting_call(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(layer, "project_keys", counting_call)
    return calls


def test_efficient_model_projects_keys_once_per_batch(monkeypatch, naive_and_efficient, batch):
    _, model = naive_and_efficient
    source, decoder_input, _ = batch
    calls = _count_key_calls(monkeypatch, model)
    model((source, decoder_input))  # eager teacher-forced pass over T steps
    assert len(calls) == 1
    calls.clear()
    step_by_step(model, source, decoder_input)  # inference: encode once, then T steps
    assert len(calls) == 1


def test_naive_model_projects_keys_at_every_step(monkeypatch, naive_and_efficient, batch):
    model, _ = naive_and_efficient
    source, decoder_input, _ = batch
    steps = decoder_input.shape[1]
    assert steps >= 4
    calls = _count_key_calls(monkeypatch, model)
    model((source, decoder_input))
    assert len(calls) >= steps
    calls.clear()
    step_by_step(model, source, decoder_input)
    assert len(calls) >= steps


def test_naive_and_efficient_agree_when_sharing_weights(naive_and_efficient, batch):
    naive, efficient = naive_and_efficient
    assert isinstance(naive.decoder, NaiveBahdanauDecoder)
    assert type(efficient.decoder) is BahdanauDecoder
    assert len(naive.weights) == len(efficient.weights)
    source, decoder_input, _ = batch
    naive_logits, naive_weights = naive.forward_with_weights((source, decoder_input))
    logits, weights = efficient.forward_with_weights((source, decoder_input))
    np.testing.assert_allclose(np.asarray(naive_logits), np.asarray(logits), atol=ATOL)
    np.testing.assert_allclose(np.asarray(naive_weights), np.asarray(weights), atol=ATOL)
    stepped_naive, _, _ = step_by_step(naive, source, decoder_input)
    np.testing.assert_allclose(stepped_naive, np.asarray(logits), atol=ATOL)


# --------------------------------------------------------------------------- saving


@pytest.mark.parametrize("kind", KINDS)
def test_keras_save_load_round_trip(models, batch, vec, tmp_path, kind):
    model = models[kind]
    source, decoder_input, _ = batch
    path = tmp_path / f"{kind}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(np.asarray(loaded((source, decoder_input))),
                               np.asarray(model((source, decoder_input))), rtol=0, atol=1e-6)
    before = greedy_decode(model, source, vec.start_id, vec.end_id, max_length=8)
    after = greedy_decode(loaded, source, vec.start_id, vec.end_id, max_length=8)
    np.testing.assert_array_equal(after.ids, before.ids)
    np.testing.assert_array_equal(after.lengths, before.lengths)


def test_naive_flag_survives_saving(naive_and_efficient, tmp_path):
    naive, _ = naive_and_efficient
    naive.save(tmp_path / "naive.keras")
    loaded = keras.saving.load_model(tmp_path / "naive.keras")
    assert type(loaded.decoder) is NaiveBahdanauDecoder and loaded.kind == "attention_naive"


@pytest.mark.parametrize("kind", KINDS)
def test_get_config_round_trip(models, batch, kind):
    model = models[kind]
    config = model.get_config()
    assert (config["embedding_dim"], config["units"]) == (EMBEDDING_DIM, UNITS)
    assert config["source_vocab_size"] == model.source_vocab_size
    assert config["target_vocab_size"] == model.target_vocab_size
    clone = type(model).from_config(config)
    clone.build()
    assert clone.get_config() == config
    clone.set_weights(model.get_weights())
    source, decoder_input, _ = batch
    np.testing.assert_allclose(np.asarray(clone((source, decoder_input))),
                               np.asarray(model((source, decoder_input))), atol=ATOL)


def test_bahdanau_decoder_has_no_ablation_flags():
    import inspect

    source = inspect.getsource(BahdanauDecoder)
    assert "naive" not in source and "fixed_query" not in source
    assert "naive" not in BahdanauDecoder(10, 4, 8).get_config()


def test_baseline_feeds_the_fixed_context_to_every_step_and_the_readout(models, batch):
    """Cho et al. (2014): c enters the GRU input at every step and the readout."""
    model = models["baseline"]
    source, _, _ = batch
    carry = model.encode(source)
    width = 2 * UNITS
    assert tuple(carry["context"].shape) == (source.shape[0], width)
    cell_input = model.decoder.rnn.cell.kernel.shape[0]
    assert cell_input == EMBEDDING_DIM + width                  # [y_{i-1}; c]
    combine_input = model.decoder.readout.combine.kernel.shape[0]
    assert combine_input == UNITS + width + EMBEDDING_DIM       # [s_i; c; y_{i-1}]
    attention_readout = models["attention"].decoder.readout.combine.kernel.shape[0]
    assert combine_input == attention_readout                   # the same readout


def test_decoded_model_is_garbage_collected(vec, batch):
    """The greedy-decoding cache must not keep models alive (it once did)."""
    import gc
    import weakref

    source, _, _ = batch
    model = tiny_model("attention", vec, seed=5)
    greedy_decode(model, source, vec.start_id, vec.end_id, max_length=4)
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None


@pytest.mark.parametrize("kind", ["baseline", "attention", "luong", "transformer",
                                  pytest.param("luong_feed", marks=pytest.mark.once)])
def test_training_step_compiles_with_xla_and_matches_the_plain_step(kind):
    """The GPU path: every decoder (the Bahdanau one is a scan) compiles with XLA.

    Fed the way ``fit`` feeds real training, batches of unknown length (bucketing),
    because a loop that compiles only for fixed lengths fails there. Without dropout,
    so that both paths compute the same numbers (XLA draws its own random masks).
    """
    import tensorflow as tf

    from course_lib import training

    vectorizers = tiny_vectorizers()
    source, decoder_input, labels = padded_arrays(vectorizers, tiny_pairs())
    spec = tf.TensorSpec((None, None), tf.int32)
    batches = tf.data.Dataset.from_generator(
        lambda: iter([((source, decoder_input), labels)] * 2),
        output_signature=((spec, spec), spec))
    losses = {}
    for xla in (False, True):
        model = tiny_model(kind, vectorizers, seed=7, dropout=0.0)
        training.compile_model(model, jit_compile=xla, label_smoothing=0.0)
        history = model.fit(batches, epochs=2, verbose=0, shuffle=False)
        losses[xla] = history.history["loss"]
    # The first epoch (one step before and one after the first update) agrees closely;
    # later, Adam's normalised steps amplify float round-off, so only learning is checked.
    assert np.allclose(losses[True][0], losses[False][0], rtol=1e-4), losses
    assert losses[True][1] < losses[True][0] and losses[False][1] < losses[False][0], losses


def test_attention_temperature_sharpens_or_flattens_the_weights(vec, batch):
    """Chapter 6's experiment knob: scores / T before the softmax; T = 1 is the trained model."""
    from course_lib.alignment import attention_entropy

    source, decoder_input, _ = batch
    reference = tiny_model("attention", vec, seed=4)
    _, weights_1 = reference.forward_with_weights((source, decoder_input))
    entropies = {}
    for temperature in (0.25, 1.0, 4.0):
        model = tiny_model("attention", vec, seed=4)
        model.decoder.attention.temperature = temperature
        _, weights = model.forward_with_weights((source, decoder_input))
        weights = np.asarray(weights)
        assert np.abs(weights[np.broadcast_to((source == 0)[:, None, :], weights.shape)]).max() == 0
        entropies[temperature] = np.mean([attention_entropy(w).mean() for w in weights])
        if temperature == 1.0:
            np.testing.assert_allclose(weights, np.asarray(weights_1), atol=ATOL)
    assert entropies[0.25] < entropies[1.0] < entropies[4.0]
    assert "temperature" not in reference.decoder.attention.get_config()


def test_dot_score_model_swaps_only_the_score(vec, batch):
    """attention_dot: e_ij = sᵀ W_a h_j / √A, no v_a; otherwise the Bahdanau model."""
    from course_lib.models import MultiplicativeAttention

    source, decoder_input, _ = batch
    dot = tiny_model("attention_dot", vec, seed=6)
    additive = tiny_model("attention", vec, seed=6)
    assert isinstance(dot.decoder.attention, MultiplicativeAttention)
    names = {w.path.split("/")[-1] for w in dot.decoder.attention.weights}
    assert names == {"W_a", "U_a"}
    assert additive.count_params() - dot.count_params() == UNITS          # just v_a
    teacher, weights = dot.forward_with_weights((source, decoder_input))
    stepped, _, _ = step_by_step(dot, source, decoder_input)
    np.testing.assert_allclose(stepped, np.asarray(teacher), atol=ATOL)
    weights = np.asarray(weights)
    assert np.abs(weights[np.broadcast_to((source == 0)[:, None, :], weights.shape)]).max() == 0
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)
    # the score by hand for the first step
    carry = dot.encode(source)
    attention = dot.decoder.attention
    query = np.asarray(carry["state"]) @ np.asarray(attention.W_a)
    scores = np.einsum("bsa,ba->bs", np.asarray(carry["keys"]), query) / np.sqrt(UNITS)
    scores = np.where(source != 0, scores, -np.inf)
    expected = np.exp(scores - scores.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    np.testing.assert_allclose(weights[:, 0], expected, atol=1e-5)


def test_dot_score_model_round_trip(vec, batch, tmp_path):
    source, decoder_input, _ = batch
    model = tiny_model("attention_dot", vec, seed=6)
    model.save(tmp_path / "dot.keras")
    loaded = keras.models.load_model(tmp_path / "dot.keras")
    assert loaded.kind == "attention_dot"
    np.testing.assert_allclose(np.asarray(loaded((source, decoder_input))),
                               np.asarray(model((source, decoder_input))), atol=ATOL)
