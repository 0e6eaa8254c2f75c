"""Chapter 5 (attention): additive scores, the masked softmax, the context vector."""

from __future__ import annotations

import numpy as np

from .framework import Case, check


def _attention_inputs():
    rng = np.random.default_rng(5)
    query_proj = rng.normal(size=(2, 4)).astype("float32")     # (batch, A)
    keys = rng.normal(size=(2, 3, 4)).astype("float32")        # (batch, S, A)
    v = rng.normal(size=(4,)).astype("float32")                # (A,)
    values = rng.normal(size=(2, 3, 5)).astype("float32")      # (batch, S, D)
    mask = np.array([[True, True, False], [True, True, True]])
    return query_proj, keys, v, values, mask


def check_additive_scores(fn) -> None:
    """Chapter 5 exercise: ``fn(query_proj, keys, v) -> scores (batch, S)``."""
    query_proj, keys, v, _, _ = _attention_inputs()
    rng = np.random.default_rng(6)
    one_key = rng.normal(size=(1, 1, 3)).astype("float32"), rng.normal(size=(1, 3)).astype("float32")
    zero_query = np.zeros_like(query_proj)

    def reference(q, k, w):
        return np.tanh(k + q[:, None, :]) @ w

    cases = [
        Case((query_proj, keys, v), expected=reference(query_proj, keys, v), atol=1e-5,
             description="query_proj (2, 4), keys (2, 3, 4), v (4,)",
             hint="every source position j gets its own score from the same query: "
                  "combine the query with each key before the non-linearity"),
        Case((zero_query, keys, v), expected=reference(zero_query, keys, v), atol=1e-5,
             description="a zero query",
             hint="with a zero query the scores depend on the keys alone"),
        Case((one_key[1], one_key[0], np.ones(3, "float32")),
             expected=reference(one_key[1], one_key[0], np.ones(3, "float32")), atol=1e-5,
             description="a one-word source (S = 1), A = 3",
             hint="the result has one score per source position: shape (batch, S)"),
    ]
    check("additive_scores", fn, cases)


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


def check_context_vector(fn) -> None:
    """Chapter 5 exercise: ``fn(weights, values) -> context (batch, D)``."""
    _, _, _, values, _ = _attention_inputs()
    weights = np.array([[0.2, 0.8, 0.0], [0.5, 0.25, 0.25]], dtype="float32")
    one_hot = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], dtype="float32")
    uniform = np.full((2, 3), 1 / 3, dtype="float32")
    cases = [
        Case((weights, values), expected=np.einsum("bs,bsd->bd", weights, values),
             atol=1e-5, description="weights (2, 3), values (2, 3, 5)",
             hint="the context is a weighted sum over source positions, one per sentence"),
        Case((one_hot, values), expected=values[[0, 1], [1, 2]], atol=1e-5,
             description="all weight on one position",
             hint="weights that pick one position must return exactly that encoder state"),
        Case((uniform, values), expected=values.mean(axis=1), atol=1e-5,
             description="equal weights",
             hint="equal weights give the mean of the encoder states; the result is (batch, D)"),
    ]
    check("context_vector", fn, cases)


__all__ = ["check_additive_scores", "check_masked_softmax", "check_context_vector"]
