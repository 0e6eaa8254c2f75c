"""Chapter 8 (the Transformer in practice): the label-smoothed cross-entropy."""

from __future__ import annotations

import numpy as np

from ..training import smoothed_cross_entropy
from .framework import Case, check


def _reference(labels, logits, epsilon):
    return np.asarray(smoothed_cross_entropy(labels, logits, epsilon))


def check_smoothed_cross_entropy(fn) -> None:
    """Chapter 8 exercise: ``fn(labels, logits, epsilon) -> per-token loss (batch, T)``.

    The target puts 1 − ε on the right word and ε/V on every word of the vocabulary (the
    right one included), as in Szegedy et al. (2016) and Vaswani et al. (2017, §5.4).
    """
    rng = np.random.default_rng(8)
    labels = rng.integers(1, 5, size=(2, 3))                        # (batch, T), V = 5
    logits = rng.normal(size=(2, 3, 5)).astype("float32")           # (batch, T, V)
    confident = np.full((1, 2, 5), -4.0, "float32")
    confident[0, 0, 2] = confident[0, 1, 4] = 12.0                  # almost certain, and right
    sure_labels = np.array([[2, 4]])
    wide = rng.normal(size=(2, 4, 1000)).astype("float32") * 2      # a real vocabulary size
    wide_labels = rng.integers(1, 1000, size=(2, 4))
    cases = [
        Case((labels, logits, 0.0), expected=_reference(labels, logits, 0.0), atol=1e-5,
             description="2 sentences of 3 tokens, vocabulary of 5, epsilon = 0",
             hint="with epsilon = 0 the target is one-hot: the plain cross-entropy "
                  "−log softmax(logits)[label]"),
        Case((labels, logits, 0.1), expected=_reference(labels, logits, 0.1), atol=1e-5,
             description="the same tokens, epsilon = 0.1",
             hint="(1 − ε)·(−log p_label) + ε·(mean over ALL V words of −log p_v): the "
                  "ε is spread over the whole vocabulary, the right word included"),
        Case((sure_labels, confident, 0.1), expected=_reference(sure_labels, confident, 0.1),
             atol=1e-4,
             description="a model that is almost certain and right, epsilon = 0.1",
             hint="smoothing keeps the loss well above 0 even for a confident, right model: "
                  "use log_softmax, not log(softmax), so that tiny probabilities stay finite"),
        Case((wide_labels, wide, 0.2), expected=_reference(wide_labels, wide, 0.2), atol=1e-4,
             description="2 sentences of 4 tokens, vocabulary of 1,000, epsilon = 0.2",
             hint="average over the vocabulary axis (the last one), one value per token"),
    ]
    check("smoothed_cross_entropy", fn, cases)


__all__ = ["check_smoothed_cross_entropy"]
