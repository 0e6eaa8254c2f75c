"""Tests for the Transformer (course_lib.models.transformer): masks, the key/value cache,
positional encoding, serialisation, and that it learns and decodes like the RNN kinds.

Tiny models (width 16, 4 heads, 2 layers), untrained unless a test trains them.
"""

import keras
import numpy as np
import pytest
from helpers import (
    UNITS,
    overfit,
    step_by_step,
    tiny_model,
    tiny_pairs,
)

from course_lib import config
from course_lib.decoding import Translator, beam_search, greedy_decode, teacher_forced_inputs
from course_lib.models import MODEL_KINDS, TransformerSeq2Seq, causal_mask, positional_encoding

ATOL = 1e-5


@pytest.fixture(scope="module")
def model(vec):
    return tiny_model("transformer", vec, seed=1)


# --------------------------------------------------------------------------- building blocks


def test_positional_encoding_follows_the_formula():
    depth, positions = 8, np.arange(5)
    got = np.asarray(positional_encoding(positions, depth))
    i = np.arange(depth // 2)
    angles = positions[:, None] / 10000 ** (2 * i / depth)
    np.testing.assert_allclose(got, np.concatenate([np.sin(angles), np.cos(angles)], -1),
                               atol=1e-6)
    assert got.shape == (5, 8)
    np.testing.assert_allclose(got[0], [0, 0, 0, 0, 1, 1, 1, 1], atol=1e-7)  # position 0


def test_positional_encoding_gives_distinct_positions_and_any_shape():
    table = np.asarray(positional_encoding(np.arange(64), 16))
    distances = np.linalg.norm(table[:, None] - table[None], axis=-1)
    assert (distances + np.eye(64) > 1e-3).all()                 # no two positions alike
    per_sentence = np.asarray(positional_encoding(np.array([[0, 3], [5, 1]]), 16))
    np.testing.assert_allclose(per_sentence[1, 0], table[5], atol=1e-6)
    with pytest.raises(ValueError, match="even width"):
        positional_encoding(np.arange(3), 7)


def test_causal_mask_lets_each_position_see_itself_and_the_past():
    mask = np.asarray(causal_mask(4))
    assert mask.dtype == bool
    np.testing.assert_array_equal(mask, np.tril(np.ones((4, 4), bool)))
    np.testing.assert_array_equal(np.asarray(causal_mask(1)), [[True]])


# --------------------------------------------------------------------------- the model


def test_transformer_is_a_main_kind_with_the_config_sizes(model, vec):
    assert MODEL_KINDS["transformer"] is TransformerSeq2Seq
    assert "transformer" in config.MAIN_KINDS
    defaults = config.TransformerConfig()
    assert model.heads == defaults.heads and model.num_layers == defaults.layers
    assert model.ffn_width == defaults.ffn_multiplier * UNITS
    assert len(model.encoder_layers) == len(model.decoder_layers) == defaults.layers
    attention = model.decoder_layers[0].cross_attention
    assert attention.num_heads == defaults.heads and attention.key_dim == UNITS // defaults.heads


def test_width_must_split_into_heads(vec):
    with pytest.raises(ValueError, match="heads"):
        tiny_model("transformer", vec, heads=5)


def test_output_shapes_and_weights(model, batch, vec):
    source, decoder_input, _ = batch
    (b, s), t = source.shape, decoder_input.shape[1]
    assert tuple(model((source, decoder_input)).shape) == (b, t, len(vec.target_vocab))
    logits, weights = model.forward_with_weights((source, decoder_input))
    assert tuple(weights.shape) == (b, t, s)
    heads = model.attention_heads((source, decoder_input))
    assert tuple(heads.shape) == (b, model.heads, t, s)
    np.testing.assert_allclose(np.asarray(weights), np.asarray(heads).mean(axis=1), atol=1e-6)


def test_cross_attention_ignores_source_padding(model, batch):
    source, decoder_input, _ = batch
    _, weights = model.forward_with_weights((source, decoder_input))
    weights = np.asarray(weights)
    padding = (source == 0)[:, None, :].repeat(weights.shape[1], axis=1)
    assert np.abs(weights[padding]).max() < 1e-6
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)


def test_extra_source_padding_does_not_change_logits(model, batch):
    source, decoder_input, _ = batch
    padded = np.concatenate([source, np.zeros((source.shape[0], 4), source.dtype)], axis=1)
    np.testing.assert_allclose(np.asarray(model((padded, decoder_input))),
                               np.asarray(model((source, decoder_input))), atol=ATOL)


def test_causal_self_attention_hides_future_target_words(model, batch):
    """Changing the word at position k changes no logit before k."""
    source, decoder_input, _ = batch
    before = np.asarray(model((source, decoder_input)))
    changed = decoder_input.copy()
    changed[:, 3] = (changed[:, 3] + 1) % model.target_vocab_size
    after = np.asarray(model((source, changed)))
    np.testing.assert_allclose(after[:, :3], before[:, :3], atol=ATOL)
    assert np.abs(after[:, 3:] - before[:, 3:]).max() > 1e-4


def test_dropout_acts_only_in_training(model, batch):
    source, decoder_input, _ = batch
    inference = [np.asarray(model((source, decoder_input))) for _ in range(2)]
    np.testing.assert_array_equal(inference[0], inference[1])
    training = np.asarray(model((source, decoder_input), training=True))
    assert np.abs(training - inference[0]).max() > 1e-4


# --------------------------------------------------------------------------- the cache


def test_cached_steps_equal_the_teacher_forced_pass(model, batch):
    source, decoder_input, _ = batch
    teacher_logits, teacher_weights = model.forward_with_weights((source, decoder_input))
    logits, weights, _ = step_by_step(model, source, decoder_input)
    np.testing.assert_allclose(logits, np.asarray(teacher_logits), atol=ATOL)
    np.testing.assert_allclose(np.stack(weights, axis=1), np.asarray(teacher_weights), atol=ATOL)


def test_cache_holds_one_slot_per_step_written_so_far(model, batch):
    source, decoder_input, _ = batch
    steps = 3
    _, _, carry = step_by_step(model, source, decoder_input[:, :steps])
    np.testing.assert_array_equal(np.asarray(carry["position"]), steps)
    for layer_cache in carry["layers"]:
        keys = np.asarray(layer_cache["self_keys"])            # (batch, L, heads, d_k)
        assert keys.shape == (source.shape[0], model.max_target_length, model.heads,
                              UNITS // model.heads)
        assert (np.abs(keys[:, :steps]).sum(axis=(2, 3)) > 0).all()  # written
        assert not keys[:, steps:].any()                              # still empty
        assert tuple(layer_cache["cross_keys"].shape)[:2] == source.shape


def test_decode_step_reads_the_past_from_the_cache(model, batch):
    """A step attends to the cached keys/values; it does not recompute the prefix."""
    source, decoder_input, _ = batch
    _, _, carry = step_by_step(model, source, decoder_input[:, :3])
    token = decoder_input[:, 3]
    logits, _, _ = model.decode_step(token, carry)
    layers = [{**cache, "self_values": cache["self_values"] * 0.0} for cache in carry["layers"]]
    tampered, _, _ = model.decode_step(token, {**carry, "layers": layers})
    assert np.abs(np.asarray(logits) - np.asarray(tampered)).max() > 1e-4


def test_decoding_beyond_the_cache_is_refused_with_advice(model, batch, vec):
    source = batch[0]
    too_long = model.max_target_length + 1
    with pytest.raises(ValueError, match="max_target_length"):
        greedy_decode(model, source, vec.start_id, vec.end_id, max_length=too_long)
    with pytest.raises(ValueError, match="caches at most"):
        beam_search(model, source[:1], vec.start_id, vec.end_id, max_length=too_long)


def test_beam_search_reorders_the_cache(model, batch, vec):
    source = batch[0][:2]
    greedy = greedy_decode(model, source, vec.start_id, vec.end_id, max_length=6)
    beam = beam_search(model, source, vec.start_id, vec.end_id, max_length=6, beam_width=1)
    np.testing.assert_array_equal(beam.ids[:, :beam.ids.shape[1]],
                                  greedy.ids[:, :beam.ids.shape[1]])
    wide = beam_search(model, source, vec.start_id, vec.end_id, max_length=6, beam_width=3)
    assert wide.ids.shape[0] == 2 and wide.weights.shape[0] == 2


# --------------------------------------------------------------------------- saving, learning


def test_keras_round_trip_keeps_sizes_and_outputs(model, batch, tmp_path):
    source, decoder_input, _ = batch
    path = tmp_path / "transformer.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, TransformerSeq2Seq)
    assert loaded.get_config()["max_target_length"] == model.max_target_length
    np.testing.assert_allclose(np.asarray(loaded((source, decoder_input))),
                               np.asarray(model((source, decoder_input))), atol=ATOL)
    logits, _, _ = loaded.decode_step(decoder_input[:, 0], loaded.encode(source))
    reference, _, _ = model.decode_step(decoder_input[:, 0], model.encode(source))
    np.testing.assert_allclose(np.asarray(logits), np.asarray(reference), atol=ATOL)


def test_trained_transformer_translates_its_training_sentences(vec):
    pairs = tiny_pairs()
    model = tiny_model("transformer", vec, seed=0, dropout=0.0)
    loss = overfit(model, vec, pairs, steps=150)
    assert loss < 0.1, loss
    translator = Translator(model, vec)
    assert translator(["The door is open.", "Where is the street?", "I don't know."]) == [
        "die tür ist offen.", "wo ist die straße?", "ich weiß es nicht."]
    result = translator.translate("The door is open.", beam_width=3)[0]
    assert result.tokens == ["die", "tür", "ist", "offen", ".", "[end]"]
    assert result.weights.shape == (6, 5)
    # Replaying the translation teacher-forced gives the weights seen while decoding.
    greedy = translator.translate("The door is open.")[0]
    heads = np.asarray(model.attention_heads(teacher_forced_inputs(vec, greedy)))[0]
    assert heads.shape == (model.heads, 6, 5)
    np.testing.assert_allclose(heads.mean(axis=0), greedy.weights, atol=1e-5)
