"""Chapter 7 (Transformer): scaled dot-product attention, an encoder block, relative positions."""

from __future__ import annotations

import numpy as np

from .framework import Case, check
from .layers import LayerCase, LayerSpec, run_layer_check


def _softmax(scores):
    scores = scores - scores.max(axis=-1, keepdims=True)
    e = np.exp(scores)
    return e / e.sum(axis=-1, keepdims=True)


def _attention(q, k, v, mask):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    scores = np.where(mask, scores, -1e9)
    weights = np.where(mask, _softmax(scores), 0.0)
    return weights @ v, weights


def check_scaled_dot_product_attention(fn) -> None:
    """``fn(queries, keys, values, mask) -> (output (…, T, D_v), weights (…, T, S))``."""
    rng = np.random.default_rng(7)
    q = rng.normal(size=(2, 3, 4)).astype("float32")        # (batch, T, d_k)
    k = rng.normal(size=(2, 5, 4)).astype("float32")        # (batch, S, d_k)
    v = rng.normal(size=(2, 5, 6)).astype("float32")        # (batch, S, d_v)
    padding = np.array([[True] * 5, [True, True, False, False, False]])[:, None, :]  # (2, 1, S)
    padding = np.broadcast_to(padding, (2, 3, 5))
    wide_q = rng.normal(size=(1, 2, 64)).astype("float32") * 3   # large d_k: the scale matters
    wide_k = rng.normal(size=(1, 4, 64)).astype("float32") * 3
    wide_v = rng.normal(size=(1, 4, 2)).astype("float32")
    all_real = np.ones((1, 2, 4), bool)
    one_real_key = (q[:1, :1], k[:1, :2], v[:1, :2], np.array([[[True, False]]]))
    cases = [
        Case((q, k, v, padding), expected=_attention(q, k, v, padding), atol=1e-5,
             description="queries (2, 3, 4), keys (2, 5, 4), values (2, 5, 6), "
                         "the second sentence has 3 padding positions",
             hint="padding keys must get weight exactly 0 and every query's weights must "
                  "sum to 1 over the real keys"),
        Case((wide_q, wide_k, wide_v, all_real),
             expected=_attention(wide_q, wide_k, wide_v, all_real), atol=1e-4,
             description="d_k = 64 and no padding",
             hint="divide the dot products by the square root of the key width before the "
                  "softmax; without it wide keys give almost one-hot weights"),
        Case(one_real_key, expected=_attention(*one_real_key), atol=1e-5,
             description="one query, two keys of which only the first is real",
             hint="with one real key, all the weight goes to it and the output is its value"),
    ]
    check("scaled_dot_product_attention", fn, cases)


def check_encoder_block(cls) -> None:
    """Chapter 7: the learner's ``EncoderBlock(depth, heads, ffn_width)`` layer (pre-LN).

    ``call(x, padding_mask)`` → (batch, S, d), compared at the real positions with
    :class:`~course_lib.models.TransformerEncoderLayer` (dropout 0) holding the same weights.
    """
    import keras

    from .. import config
    from ..models import TransformerEncoderLayer

    depth = config.ModelConfig().units
    sizes = config.TransformerConfig()
    args = (depth, sizes.heads, sizes.ffn_multiplier * depth)

    def at_real_positions(layer, x, mask):
        out = layer(keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(mask))
        return out * keras.ops.cast(mask, out.dtype)[..., None]     # padding rows: ignored

    spec = LayerSpec(name="EncoderBlock", reference=lambda: TransformerEncoderLayer(*args, 0.0),
                     build=lambda cls: cls(*args), outputs=("output",),
                     call_reference=at_real_positions, call_learner=at_real_positions,
                     rebuild_from_config=True, atol=1e-4)
    rng = np.random.default_rng(7)

    def inputs(lengths, width):
        x = rng.normal(size=(len(lengths), width, depth)).astype("float32")    # (batch, S, d)
        return x, np.arange(width)[None, :] < np.array(lengths)[:, None]      # (batch, S)

    cases = [
        LayerCase(inputs([5, 3], 5), "2 sentences of 5 and 3 words, padded to 5",
                  "normalise before each sub-layer and add its output to its input: x + "
                  "attention(LN(x)), then x + FFN(LN(x)); keys at padding positions must get "
                  "no attention (attention_mask of shape (batch, 1, S))"),
        LayerCase(inputs([1], 1), "a batch of one, one word",
                  "with one position, self-attention returns that position's projected value; "
                  "the residual still adds x"),
        LayerCase(inputs([7, 7], 7), "2 sentences of 7 words, no padding",
                  "the feed-forward network is Dense(ffn_width, relu) then Dense(depth), "
                  "applied at every position"),
    ]
    run_layer_check(spec, cls, cases)


def _sinusoids(positions, depth):
    """Vaswani et al.'s encoding in NumPy (float64): sines in the first half, cosines after."""
    i = np.arange(depth // 2)
    angles = np.asarray(positions, "float64")[..., None] / 10000 ** (2 * i / depth)
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=-1)


def _shift_holds(k: int, depth: int):
    """compare(M): PE(pos + k) = PE(pos) @ M for many positions, as Vaswani et al. say."""
    positions = np.arange(0, 60, 3)

    def compare(matrix):
        matrix = np.asarray(matrix, dtype="float64")
        if matrix.shape != (depth, depth):
            return f"expected a ({depth}, {depth}) matrix, got shape {matrix.shape}"
        shifted = _sinusoids(positions, depth) @ matrix
        error = np.abs(shifted - _sinusoids(positions + k, depth)).max()
        if error > 1e-4:
            return (f"PE(pos) @ M differs from PE(pos + {k}) by up to {error:.3g} "
                    "(positions 0, 3, …, 57)")
        return True
    return compare


def check_shift_matrix(fn) -> None:
    """Chapter 7: ``fn(k, depth) -> M`` (depth, depth) with ``PE(pos + k) = PE(pos) @ M``."""
    cases = [
        Case((1, 8), compare=_shift_holds(1, 8), description="k = 1, depth 8",
             hint="for each frequency ω_i, sin(a + b) and cos(a + b) are sums of products of "
                  "sin a, cos a with the constants sin b, cos b (b = k·ω_i)"),
        Case((0, 4), compare=_shift_holds(0, 4), description="k = 0, depth 4",
             hint="a shift by 0 positions changes nothing"),
        Case((5, 6), compare=_shift_holds(5, 6), description="k = 5, depth 6",
             hint="the sines sit in the first half of PE and the cosines in the second: "
                  "entry i of the first half pairs with entry i of the second half"),
        Case((-2, 8), compare=_shift_holds(-2, 8), description="k = −2, depth 8",
             hint="the same formula works backwards: it depends on k, never on pos"),
    ]
    check("shift_matrix", fn, cases)


__all__ = ["check_encoder_block", "check_scaled_dot_product_attention", "check_shift_matrix"]
