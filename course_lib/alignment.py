"""Numbers that summarise an attention matrix: where each output word looked, and how.

Bahdanau et al. (2014) call their attention model an *alignment model*: the
weights ``alpha_ij`` say how much output word ``i`` relies on source word ``j``,
a soft version of the word alignments of statistical MT. This module reads them
as such::

    weights[i, j]   # how much output step i looked at source word j
    weights.shape   # (target_len, source_len); every row sums to 1

* :func:`check_attention` and :func:`trim_attention` validate a matrix and cut
  off padding;
* :func:`attention_entropy`, :func:`max_attention_positions`,
  :func:`monotonicity` and :func:`diagonality` summarise it, collected by
  :func:`attention_diagnostics` (per output word) and :func:`summary_diagnostics`
  (per sentence).

The pictures of the same matrices are in :mod:`course_lib.plotting`. Plain NumPy
and pandas only: no TensorFlow import.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

#: How far a row of attention weights may be from summing to 1.
ROW_SUM_TOLERANCE = 1e-3


# ---------------------------------------------------------------------------
# Checking and trimming the attention matrix
# ---------------------------------------------------------------------------


def as_tokens(tokens: Sequence[Any]) -> list[str]:
    """Token list as Python strings (bytes from a TensorFlow tensor are decoded)."""
    return [t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in tokens]


def check_attention(weights: Any, tolerance: float = ROW_SUM_TOLERANCE) -> np.ndarray:
    """Return ``weights`` as a float array after checking it is a valid attention matrix.

    A valid matrix is 2-D ``(target_len, source_len)``, finite, non-negative, and
    every row (one output step) sums to 1 up to ``tolerance``.

    Raises:
        ValueError: naming the first offending row, so you can see what went wrong.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(
            f"attention weights must be 2-D (target_len, source_len), got shape {w.shape}. "
            "For a batch, pick one sentence first, e.g. weights[0]."
        )
    if w.size == 0:
        raise ValueError(f"attention weights are empty (shape {w.shape})")
    if not np.all(np.isfinite(w)):
        raise ValueError("attention weights contain NaN or infinite values")
    if np.any(w < 0):
        raise ValueError(f"attention weights must be >= 0, found minimum {w.min():.4g}")
    row_sums = w.sum(axis=1)  # (target_len,)
    bad = np.flatnonzero(np.abs(row_sums - 1.0) > tolerance)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"row {i} of the attention weights sums to {row_sums[i]:.4f}, not 1 "
            f"(tolerance {tolerance}); row {i} = {np.round(w[i], 4).tolist()}. "
            "Did you cut off source words that still had attention (wrong source tokens), "
            "or pass logits instead of softmax weights?"
        )
    return w


def trim_attention(
    weights: Any, source_tokens: Sequence[Any], target_tokens: Sequence[Any]
) -> np.ndarray:
    """Cut the (padded) matrix down to ``(len(target_tokens), len(source_tokens))``.

    In a batch, short sentences are padded, so the model returns a matrix with
    extra columns (padding in the source) and maybe extra rows (steps after
    ``[end]``). Masked padding gets zero weight, so dropping it keeps every row
    summing to 1 -- which :func:`check_attention` verifies afterwards.

    Raises:
        ValueError: if the matrix is smaller than the token lists, or the trimmed
            rows do not sum to 1.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(
            f"attention weights must be 2-D (target_len, source_len), got shape {w.shape}"
        )
    n_target, n_source = len(target_tokens), len(source_tokens)
    if n_target == 0 or n_source == 0:
        raise ValueError("source_tokens and target_tokens must not be empty")
    if w.shape[0] < n_target or w.shape[1] < n_source:
        raise ValueError(
            f"attention matrix of shape {w.shape} is smaller than the token lists: "
            f"{n_target} target tokens x {n_source} source tokens. "
            "Rows are output steps, columns are source words -- is the matrix transposed?"
        )
    return check_attention(w[:n_target, :n_source])  # (n_target, n_source)


# ---------------------------------------------------------------------------
# Diagnostics: numbers that summarise an attention matrix
# ---------------------------------------------------------------------------


def attention_entropy(weights: Any) -> np.ndarray:
    """Entropy (in nats) of each row: how spread out the attention of one output step is.

    ``H_i = -sum_j w_ij * log(w_ij)`` with ``0 * log(0) = 0``.

    * ``0`` -- all attention on a single source word (sharp, confident).
    * ``log(source_len)`` -- the same weight on every word (uniform, "no idea").

    Returns:
        Array of shape ``(target_len,)``.
    """
    w = check_attention(weights)  # (T, S)
    log_w = np.log(w, out=np.zeros_like(w), where=w > 0)  # log(0) replaced by 0
    entropy = -(w * log_w).sum(axis=1)  # (T,)
    return entropy + 0.0  # turns -0.0 into 0.0, so tables print nicely


def max_attention_positions(weights: Any) -> np.ndarray:
    """Index of the most-attended source word for each output step, shape ``(target_len,)``."""
    return np.argmax(check_attention(weights), axis=1).astype(int)


def monotonicity(weights: Any) -> float:
    """Fraction of consecutive output steps whose focus does not move backwards.

    We take the most-attended source position ``p_i`` of each output step and
    count the pairs with ``p_{i+1} >= p_i``. ``1.0`` means the model reads the
    source strictly left to right; ``0.0`` means every step jumps back (e.g. a
    reversed sentence). With a single output step there is nothing to compare
    and the value is defined as ``1.0``.
    """
    positions = max_attention_positions(weights)  # (T,)
    if len(positions) < 2:
        return 1.0
    return float(np.mean(np.diff(positions) >= 0))


def _relative_positions(n: int) -> np.ndarray:
    """Positions ``0..n-1`` scaled to ``0..1``; a lone position counts as the middle, 0.5."""
    if n == 1:
        return np.array([0.5])
    return np.arange(n) / (n - 1)


def diagonality(weights: Any) -> float:
    """How close the attention mass lies to the diagonal, from 0 (far) to 1 (on it).

    For output step ``i`` (of ``T``) the *expected source position* is
    ``e_i = sum_j w_ij * j`` (of ``S``). Scaling both to ``0..1`` gives::

        diagonality = 1 - mean_i | e_i / (S - 1)  -  i / (T - 1) |

    The identity matrix scores 1; a reversed (anti-diagonal) matrix scores low.
    When ``S == 1`` or ``T == 1`` the single position counts as the middle
    (relative position 0.5), which avoids dividing by zero.
    """
    w = check_attention(weights)  # (T, S)
    n_target, n_source = w.shape
    expected = w @ np.arange(n_source)  # (T,) expected source index per output step
    source_rel = expected / (n_source - 1) if n_source > 1 else np.full(n_target, 0.5)
    target_rel = _relative_positions(n_target)  # (T,)
    return float(1.0 - np.mean(np.abs(source_rel - target_rel)))


def attention_diagnostics(
    weights: Any, source_tokens: Sequence[Any], target_tokens: Sequence[Any]
) -> pd.DataFrame:
    """One row per output word: where it looked most, how strongly, and how spread out.

    Columns: ``step``, ``output_word``, ``source_position``, ``source_word``
    (the most-attended one), ``weight`` (its attention weight) and ``entropy``.
    The matrix is trimmed to the token lists first, as in :func:`attention_heatmap`.
    """
    source, target = as_tokens(source_tokens), as_tokens(target_tokens)
    w = trim_attention(weights, source, target)  # (T, S)
    positions = max_attention_positions(w)  # (T,)
    return pd.DataFrame(
        {
            "step": np.arange(len(target)),
            "output_word": target,
            "source_position": positions,
            "source_word": [source[p] for p in positions],
            "weight": w[np.arange(len(target)), positions],
            "entropy": attention_entropy(w),
        }
    )


def summary_diagnostics(weights: Any) -> dict[str, float]:
    """A few numbers for a whole (trimmed) matrix.

    Keys: ``mean_entropy``, ``uniform_entropy`` (= ``log(source_len)``, the
    largest possible entropy, for comparison), ``monotonicity`` and ``diagonality``.
    """
    w = check_attention(weights)
    return {
        "mean_entropy": float(attention_entropy(w).mean()),
        "uniform_entropy": float(np.log(w.shape[1])),
        "monotonicity": monotonicity(w),
        "diagonality": diagonality(w),
    }


__all__ = ["ROW_SUM_TOLERANCE", "as_tokens", "attention_diagnostics", "attention_entropy", "check_attention",
           "diagonality", "max_attention_positions", "monotonicity", "summary_diagnostics",
           "trim_attention"]
