"""Chapter 6 (heatmaps): the fixed attention step, an attention summary."""

from __future__ import annotations

import numpy as np

from .fixtures import small_encoded_model
from .framework import Case, check


def check_fixed_step(fn) -> None:
    """Chapter 6 exercise: the corrected attention step must query with the decoder state."""

    def step_case(seed, source, state_scale):
        model, carry = small_encoded_model("attention", seed, source)
        decoder = model.decoder
        batch = len(source)
        embedded = decoder.embedding(np.full(batch, 2))
        state = state_scale * np.random.default_rng(seed).normal(size=(batch, 16)).astype("float32")
        expected = decoder.step(embedded, state, carry)

        def compare(got):
            names = ("new state", "context", "weights")
            for name, g, e in zip(names, got, expected):
                if not np.allclose(np.asarray(g), np.asarray(e), atol=1e-5):
                    return (f"the {name} differs from the correct step: which state asks the "
                            "attention layer its question?")
            return True
        args = (decoder, embedded, state, carry["keys"], carry["values"], carry["mask"],
                carry["state"])  # the last one: the encoder summary s_0
        return args, compare

    cases = []
    for seed, source, scale, description in (
            (11, [[5, 6, 7, 0], [8, 9, 10, 11]], 1.0, "two sentences, a state that is not s_0"),
            (12, [[5, 6, 7, 8, 9, 10]], 0.5, "one longer sentence"),
            (13, [[4, 0, 0], [4, 5, 6]], 2.0, "a one-word sentence padded to three")):
        args, compare = step_case(seed, source, scale)
        cases.append(Case(args, compare=compare, description=description,
                          hint="attention must be asked with the previous decoder state s_{i-1}, "
                               "which changes at every step"))
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

    one_step = np.array([[0.25, 0.25, 0.25, 0.25]])
    cases = [
        Case((one_step,), compare=matches(one_step), description="one output step, uniform",
             hint="a uniform row has the largest entropy, log(S); a single step never moves back"),
        Case((diagonal,), compare=matches(diagonal), description="a 3×3 identity matrix",
             hint="entropy of a one-hot row is 0; monotonicity counts steps that do not move back"),
        Case((crossing,), compare=matches(crossing), description="a matrix that jumps back once",
             hint="entropy = -sum p log p over a row (natural log; skip zeros); "
                  "monotonicity = share of consecutive argmax moves that are >= 0"),
    ]
    check("attention_summary", fn, cases)


def check_replace_unknown(fn) -> None:
    """Chapter 6 exercise: ``fn(tokens, weights, source_words) -> words``.

    ``tokens`` are the generated German tokens (``[end]`` included), ``weights`` the
    attention matrix (one row per token), ``source_words`` the English words. Return the
    German words without ``[end]``, each ``[UNK]`` replaced by its most-attended source word.
    """
    source = ["tom", "visited", "wuppertal", "."]
    no_unknown = (["tom", "ist", "da", "[end]"], np.eye(4), source)
    one = (["tom", "besuchte", "[UNK]", ".", "[end]"],
           np.array([[.9, .05, .03, .02], [.1, .7, .1, .1], [.05, .15, .7, .1],
                     [0, 0, .2, .8], [.1, .1, .1, .7]]), source)
    two = (["[UNK]", "und", "[UNK]", "[end]"],
           np.array([[.2, .1, .6, .1], [.25, .25, .25, .25], [.7, .1, .1, .1], [0, 0, 0, 1]]),
           source)
    tie = (["[UNK]", "[end]"], np.array([[.4, .4, .1, .1], [0, 0, 0, 1]]), source)
    cases = [
        Case(no_unknown, expected=["tom", "ist", "da"],
             hint="without [UNK] the words stay as they are; [end] is not a word"),
        Case(one, expected=["tom", "besuchte", "wuppertal", "."],
             hint="use the attention row of the step that wrote [UNK]"),
        Case(two, expected=["wuppertal", "und", "tom"],
             hint="every [UNK] gets its own row's most-attended word"),
        Case(tie, expected=["tom"],
             hint="on a tie, take the first most-attended position (as numpy's argmax does)"),
    ]
    check("replace_unknown", fn, cases)


__all__ = ["check_fixed_step", "check_attention_summary", "check_replace_unknown"]
