"""Chapter 6 (heatmaps): the fixed attention step, an attention summary."""

from __future__ import annotations

import numpy as np

from .fixtures import small_encoded_model
from .framework import Case, check


def check_fixed_step(fn) -> None:
    """Chapter 6 exercise: the corrected attention step must query with the decoder state."""
    model, carry = small_encoded_model("attention", seed=11)
    decoder = model.decoder
    embedded = decoder.embedding(np.array([2, 2]))
    rng = np.random.default_rng(0)
    state = rng.normal(size=(2, 16)).astype("float32")        # a state that is not s_0
    summary = carry["state"]                                    # the encoder summary (s_0)
    expected = decoder.step(embedded, state, carry)

    def compare(got):
        names = ("new state", "context", "weights")
        for name, g, e in zip(names, got, expected):
            if not np.allclose(np.asarray(g), np.asarray(e), atol=1e-5):
                return (f"the {name} differs from the correct step: is the query the current "
                        "decoder state (not the encoder summary)?")
        return True

    cases = [Case((decoder, embedded, state, carry["keys"], carry["values"], carry["mask"],
                   summary), compare=compare,
                  description="one decoder step with a state different from the encoder summary",
                  hint="attention must be asked with the previous decoder state s_{i-1}")]
    check("fixed_step", fn, cases)


def check_attention_summary(fn) -> None:
    """Chapter 6 exercise: ``fn(weights) -> dict(entropy=array, argmax=array, monotonicity=float)``."""
    from .. import alignment

    diagonal = np.eye(3)
    crossing = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.0, 0.2, 0.8]])

    def matches(weights):
        def compare(got):
            if not isinstance(got, dict):
                return "return a dict with keys 'entropy', 'argmax', 'monotonicity'"
            want = {"entropy": alignment.attention_entropy(weights),
                    "argmax": alignment.max_attention_positions(weights),
                    "monotonicity": alignment.monotonicity(weights)}
            for key, value in want.items():
                if key not in got:
                    return f"missing key {key!r}"
                if not np.allclose(np.asarray(got[key], dtype=float), value, atol=1e-6):
                    return f"{key}: got {got[key]}, expected {value}"
            return True
        return compare

    cases = [
        Case((diagonal,), compare=matches(diagonal), description="a 3×3 identity matrix",
             hint="entropy of a one-hot row is 0; monotonicity counts steps that do not move back"),
        Case((crossing,), compare=matches(crossing), description="a matrix that jumps back once",
             hint="entropy = -sum p log p over a row (natural log; skip zeros); "
                  "monotonicity = share of consecutive argmax moves that are >= 0"),
    ]
    check("attention_summary", fn, cases)


__all__ = ["check_fixed_step", "check_attention_summary"]
