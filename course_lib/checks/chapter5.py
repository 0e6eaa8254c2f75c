"""Chapter 5 (attention): the masked softmax, the attention layer, one step of the decoder."""

from __future__ import annotations

import numpy as np

from .framework import Case, check
from .layers import LayerCase, LayerSpec, run_layer_check


def check_masked_softmax(fn) -> None:
    """Chapter 5 exercise: ``fn(scores, mask) -> weights`` with zero weight on padding."""
    scores = np.array([[1.0, 2.0, 50.0], [0.5, 0.5, 0.5]], dtype="float32")
    mask = np.array([[True, True, False], [True, True, True]])
    e = np.exp(np.array([1.0, 2.0]) - 2.0)
    expected = np.array([[*(e / e.sum()), 0.0], [1 / 3, 1 / 3, 1 / 3]])
    lone = np.array([[-3.0, 9.0, 4.0]], dtype="float32"), np.array([[True, False, False]])
    big = np.array([[1000.0, 1001.0]], dtype="float32"), np.array([[True, True]])
    cases = [
        Case((scores, mask), expected=expected, atol=1e-5,
             description="scores [[1, 2, 50], [.5, .5, .5]], the first row's last position masked",
             hint="padding must get weight 0 however large its score, and the real positions "
                  "must still sum to 1"),
        Case(lone, expected=np.array([[1.0, 0.0, 0.0]]), atol=1e-5,
             description="only one real position (the others padding)",
             hint="with a single real word, all the weight goes to it"),
        Case(big, expected=np.array([[1 / (1 + np.e), np.e / (1 + np.e)]]), atol=1e-5,
             description="large scores [1000, 1001]",
             hint="exp(1000) overflows: a softmax must subtract the largest score first "
                  "(keras.ops.softmax does)"),
    ]
    check("masked_softmax", fn, cases)


def check_bahdanau_attention(cls) -> None:
    """Chapter 5: the learner's ``BahdanauAttention(units)`` layer.

    ``project_keys(values)`` → keys (batch, S, A); ``call(query, keys, values, mask)`` →
    ``(context, weights)``; compared with :class:`~course_lib.models.BahdanauAttention`.
    """
    import keras

    from .. import config
    from ..models import BahdanauAttention

    units = config.ModelConfig().units

    def attend(layer, query, values, mask):
        values = keras.ops.convert_to_tensor(values)
        keys = layer.project_keys(values)                       # once per sentence
        return (keys, *layer(keras.ops.convert_to_tensor(query), keys, values,
                             keras.ops.convert_to_tensor(mask)))

    spec = LayerSpec(name="BahdanauAttention", reference=lambda: BahdanauAttention(units),
                     build=lambda cls: cls(units), outputs=("keys", "context", "weights"),
                     call_reference=attend, call_learner=attend, rebuild_from_config=True)
    rng = np.random.default_rng(5)

    def inputs(lengths, width):
        batch = len(lengths)
        query = rng.normal(size=(batch, units)).astype("float32")              # s (batch, U)
        values = rng.normal(size=(batch, width, 2 * units)).astype("float32")  # h (batch, S, 2U)
        mask = np.arange(width)[None, :] < np.array(lengths)[:, None]          # (batch, S)
        return query, values, mask

    cases = [
        LayerCase(inputs([6, 3, 1], 6), "3 sentences of 6, 3 and 1 words, padded to 6",
                  "keys = U_a h_j for every j; scores v_aᵀ tanh(W_a s + U_a h_j); the softmax "
                  "gives padding exactly 0 and sums to 1 over the real words; c = Σ_j α_j h_j"),
        LayerCase(inputs([1], 4), "a batch of one with one real word and 3 padding positions",
                  "with one real word all the weight goes to it, and the context is its h_j"),
        LayerCase(inputs([5, 5], 5), "2 sentences of 5 words, no padding",
                  "the query is projected by W_a once per sentence and added to every key "
                  "before the tanh"),
    ]
    run_layer_check(spec, cls, cases)


def check_attention_step(fn) -> None:
    """Chapter 5: ``fn(decoder, y_prev, s_prev, carry) -> (s_i, c_i, weights)``, Bahdanau's order."""
    from .fixtures import small_encoded_model

    def case(seed, source, hint, description):
        model, carry = small_encoded_model("attention", seed, source)
        decoder = model.decoder
        batch = len(source)
        rng = np.random.default_rng(seed)
        y_prev = rng.normal(size=(batch, model.embedding_dim)).astype("float32")
        s_prev = rng.normal(size=(batch, model.units)).astype("float32")
        expected = tuple(np.asarray(t) for t in decoder.step(y_prev, s_prev, carry))
        return Case((decoder, y_prev, s_prev, carry), expected=expected, atol=1e-5,
                    description=description, hint=hint)

    cases = [
        case(11, [[5, 6, 7, 0], [8, 9, 10, 11]], "ask attention with the previous state "
             "s_{i-1}, then run the GRU cell on [y_{i-1}; c_i] from s_{i-1}",
             "a tiny attention model, 2 sentences (one padded), any previous state"),
        case(12, [[4, 0, 0]], "the cell returns (output, [new_state]); the step returns the "
             "new state s_i, the context c_i and the weights α_i, in that order",
             "a batch of one with one real word"),
        case(13, [[3, 4, 5, 6, 7, 8]], "the GRU cell reads the previous word first, then the "
             "context: ops.concatenate([y_prev, context], axis=-1)",
             "a six-word sentence"),
    ]
    check("attention_step", fn, cases)


__all__ = ["check_masked_softmax", "check_bahdanau_attention", "check_attention_step"]
