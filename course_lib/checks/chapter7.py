"""Chapter 7 (Transformer): scaled dot-product attention, the causal mask, positional encoding."""

from __future__ import annotations

import numpy as np

from .framework import Case, check


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


def check_causal_mask(fn) -> None:
    """``fn(length) -> (length, length) bool``, True where position i may see position j."""
    cases = [
        Case((4,), expected=np.tril(np.ones((4, 4), bool)),
             description="length 4",
             hint="row i is the query at position i: it may see itself and every earlier "
                  "position, nothing later"),
        Case((1,), expected=np.ones((1, 1), bool), description="length 1",
             hint="a single position can always see itself"),
        Case((6,), expected=np.tril(np.ones((6, 6), bool)), description="length 6",
             hint="the mask is lower-triangular, diagonal included; return booleans "
                  "(True = may attend)"),
    ]
    check("causal_mask", fn, cases)


def _sinusoids(positions, depth):
    i = np.arange(depth // 2)
    angles = np.asarray(positions, "float64")[..., None] / 10000 ** (2 * i / depth)
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=-1)


def check_positional_encoding(fn) -> None:
    """``fn(positions, depth) -> (…, depth)``: sines in the first half, cosines in the second."""
    cases = [
        Case((np.arange(6), 8), expected=_sinusoids(np.arange(6), 8), atol=1e-5,
             description="positions 0…5, depth 8",
             hint="dimension i of the first half is sin(pos / 10000^(2i/d)); the second half "
                  "holds the cosines of the same angles"),
        Case((np.array([0]), 4), expected=np.array([[0.0, 0.0, 1.0, 1.0]]), atol=1e-6,
             description="position 0 only, depth 4",
             hint="at position 0 every angle is 0: sin gives 0, cos gives 1"),
        Case((np.array([[3, 0], [1, 2]]), 6), expected=_sinusoids([[3, 0], [1, 2]], 6),
             atol=1e-5, description="a (2, 2) batch of positions, depth 6",
             hint="work on any shape of positions: add one axis at the end for the "
                  "frequencies"),
    ]
    check("positional_encoding", fn, cases)


__all__ = ["check_causal_mask", "check_positional_encoding", "check_scaled_dot_product_attention"]
