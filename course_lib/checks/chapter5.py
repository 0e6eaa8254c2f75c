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
    expected = np.tanh(keys + query_proj[:, None, :]) @ v
    cases = [Case((query_proj, keys, v), expected=expected, atol=1e-5,
                  description="query_proj (2, 4), keys (2, 3, 4), v (4,)",
                  hint="broadcast the query over source positions: keys + query[:, None, :], "
                       "then tanh, then a dot product with v over the last axis")]
    check("additive_scores", fn, cases)


def check_masked_softmax(fn) -> None:
    """Chapter 5 exercise: ``fn(scores, mask) -> weights`` with zero weight on padding."""
    scores = np.array([[1.0, 2.0, 50.0], [0.5, 0.5, 0.5]], dtype="float32")
    mask = np.array([[True, True, False], [True, True, True]])
    e = np.exp(np.array([1.0, 2.0]) - 2.0)
    expected = np.array([[*(e / e.sum()), 0.0], [1 / 3, 1 / 3, 1 / 3]])
    cases = [Case((scores, mask), expected=expected, atol=1e-5,
                  description="scores [[1, 2, 50], [.5, .5, .5]], the first row's last position masked",
                  hint="set masked scores to a very negative number BEFORE the softmax; "
                       "the large score 50 on padding must get weight 0")]
    check("masked_softmax", fn, cases)


def check_context_vector(fn) -> None:
    """Chapter 5 exercise: ``fn(weights, values) -> context (batch, D)``."""
    _, _, _, values, _ = _attention_inputs()
    weights = np.array([[0.2, 0.8, 0.0], [0.5, 0.25, 0.25]], dtype="float32")
    cases = [Case((weights, values), expected=np.einsum("bs,bsd->bd", weights, values),
                  atol=1e-5, description="weights (2, 3), values (2, 3, 5)",
                  hint="weighted sum over source positions: sum_j weights[:, j, None] * values[:, j]")]
    check("context_vector", fn, cases)


__all__ = ["check_additive_scores", "check_masked_softmax", "check_context_vector"]
