"""Chapter 2 (encoder–decoder): the masked loss, the teacher-forcing shift, one greedy step."""

from __future__ import annotations

import numpy as np

from .fixtures import small_encoded_model
from .framework import Case, check


def _hand_loss(labels, logits):
    """Reference: mean cross-entropy over non-padding positions, in plain NumPy."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels)
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_probs, labels[..., None], -1)[..., 0]
    mask = labels != 0
    return float(-(picked * mask).sum() / max(mask.sum(), 1))


def check_masked_loss(fn) -> None:
    """Chapters 2–3 exercise: ``fn(labels, logits) -> scalar`` ignoring padding (id 0)."""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 4, 6)).astype("float32")
    no_pad = np.array([[1, 2, 3, 4], [5, 1, 2, 3], [4, 4, 5, 1]])
    padded = np.array([[1, 2, 3, 0], [5, 1, 0, 0], [4, 4, 5, 1]])
    with_empty_row = np.array([[1, 2, 3, 0], [0, 0, 0, 0], [4, 4, 5, 1]])

    cases = [
        Case((no_pad, logits), expected=_hand_loss(no_pad, logits), atol=1e-4,
             description="3 sentences, no padding",
             hint="cross-entropy of the softmax of the logits at the label id, averaged"),
        Case((padded, logits), expected=_hand_loss(padded, logits), atol=1e-4,
             description="3 sentences with padding (label 0)",
             hint="divide by the number of real tokens, not by all positions"),
        Case((with_empty_row, logits), expected=_hand_loss(with_empty_row, logits), atol=1e-4,
             description="one row is all padding",
             hint="an all-padding row adds nothing to the sum and nothing to the count"),
    ]
    check("masked_loss", fn, cases)


def check_teacher_forcing_shift(fn) -> None:
    """Exercise: ``fn(target_ids) -> (decoder_input, labels)`` for a batch (2-D array)."""

    def shifted(target):
        expected = (target[:, :-1], target[:, 1:])

        def compare(got):
            if not (isinstance(got, (tuple, list)) and len(got) == 2):
                return "return a pair: (decoder_input, labels)"
            if all(np.array_equal(np.asarray(g), e) for g, e in zip(got, expected)):
                return True
            return (f"expected decoder_input={expected[0].tolist()}, "
                    f"labels={expected[1].tolist()}")
        return compare

    batch = np.array([[2, 10, 11, 12, 3], [2, 20, 3, 0, 0]])
    single = np.array([[2, 7, 8, 3]])
    shortest = np.array([[2, 3]])
    cases = [
        Case((batch,), compare=shifted(batch),
             description="a batch [[start] w1 w2 w3 [end]], [[start] w [end] pad pad]]",
             hint="the decoder reads all but the last token and predicts all but the first"),
        Case((single,), compare=shifted(single), description="a batch of one sentence",
             hint="shift along the time axis (axis 1), not along the batch axis"),
        Case((shortest,), compare=shifted(shortest), description="[[start] [end]]: no words",
             hint="even an empty sentence gives one step: read [start], predict [end]"),
    ]
    check("teacher_forcing_shift", fn, cases)


def check_greedy_step(fn) -> None:
    """Exercise: ``fn(model, tokens, carry) -> (next_tokens, carry)`` picks the argmax word."""

    def one_step(kind, seed, tokens, source=None):
        model, carry = small_encoded_model(kind, seed, source)
        logits, new_carry, _ = model.decode_step(tokens, carry)
        expected = np.argmax(np.asarray(logits), axis=-1)

        def compare(got):
            if not (isinstance(got, (tuple, list)) and len(got) == 2):
                return "return a pair: (next_tokens, carry)"
            next_tokens, got_carry = got
            if not np.array_equal(np.asarray(next_tokens).astype(int), expected):
                return f"next tokens should be {expected.tolist()}"
            if not np.allclose(np.asarray(got_carry["state"]), np.asarray(new_carry["state"]),
                               atol=1e-5):
                return "return the carry that decode_step gave back (the new decoder state)"
            return True
        return (model, tokens, carry), compare

    start_args, start_compare = one_step("baseline", 3, np.array([2, 2]))
    mid_args, mid_compare = one_step("baseline", 4, np.array([7, 12]))
    attention_args, attention_compare = one_step("attention", 5, np.array([2]), [[5, 6, 7]])
    cases = [
        Case(start_args, compare=start_compare, description="a small model, both rows at [start]",
             hint="one call of model.decode_step gives the logits of the next word"),
        Case(mid_args, compare=mid_compare, description="two rows with different previous words",
             hint="pick the most probable word of each row separately (over the vocabulary)"),
        Case(attention_args, compare=attention_compare,
             description="an attention model, a batch of one",
             hint="the same step works for every model kind: it only uses decode_step"),
    ]
    check("greedy_step", fn, cases)


__all__ = ["check_masked_loss", "check_teacher_forcing_shift", "check_greedy_step"]
