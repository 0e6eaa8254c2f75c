"""Chapter 3 (training and decoding): the training step, the greedy loop, one beam-search step."""

from __future__ import annotations

import numpy as np

from .fixtures import small_encoded_model
from .framework import Case, check


def _greedy_reference(model, source_ids, start_id, end_id, max_length) -> list[list[int]]:
    from ..decoding import greedy_decode

    decoded = greedy_decode(model, source_ids, start_id, end_id, max_length)
    return [decoded.ids[i, :n].tolist() for i, n in enumerate(decoded.lengths)]


def check_greedy_translate(fn) -> None:
    """Exercise: ``fn(model, source_ids, start_id, end_id, max_length) -> list of id lists``.

    Each list holds one sentence's generated ids, up to and including its first ``end_id``
    (or ``max_length`` ids if it never ends).
    """
    model, _ = small_encoded_model("baseline", seed=3)
    two = np.array([[5, 6, 7, 0], [8, 9, 10, 11]])
    one_word = np.array([[12]])
    first = _greedy_reference(model, two, 2, -1, 1)[0][0]  # the first word model writes

    def same_as_package(source, start, end, length):
        expected = _greedy_reference(model, source, start, end, length)

        def compare(got):
            got = [[int(t) for t in row] for row in got]
            return got == expected or f"expected {expected}"
        return compare

    cases = [
        Case((model, two, 2, 3, 6), compare=same_as_package(two, 2, 3, 6),
             description="2 sentences (one padded), end id 3, at most 6 words",
             hint="feed each step's argmax back in as the next input; keep the carry"),
        Case((model, one_word, 2, 3, 4), compare=same_as_package(one_word, 2, 3, 4),
             description="a one-word source",
             hint="nothing special about short sources: encode once, then loop"),
        Case((model, two, 2, 3, 1), compare=same_as_package(two, 2, 3, 1),
             description="max_length = 1",
             hint="stop after max_length steps even without [end]"),
        Case((model, two, 2, first, 5), compare=same_as_package(two, 2, first, 5),
             description=f"the first word written is the end id ({first})",
             hint="a sentence stops at its first [end], which is kept; stop the loop once "
                  "every sentence has ended"),
    ]
    check("greedy_translate", fn, cases)


def check_train_step(fn) -> None:
    """Chapter 3: ``fn(model, optimizer, batch) -> loss``, one step of teacher-forced training.

    The learner's step and :func:`course_lib.training.train_step` start from the same tiny
    model (dropout 0) and optimizer; the losses and the weights after the steps must agree.
    """
    import keras

    from ..models import build_model
    from ..training import train_step as reference_step

    def model_and_optimizer(seed):
        keras.utils.set_random_seed(seed)
        model = build_model("baseline", 30, 40, 8, 16, dropout=0.0)
        return model, keras.optimizers.Adam(0.01, clipnorm=5.0)

    def case(seed, source, target, steps, description, hint):
        target = np.asarray(target)
        batch = ((np.asarray(source), target[:, :-1]), target[:, 1:])
        reference, optimizer = model_and_optimizer(seed)
        expected = [float(reference_step(reference, optimizer, batch)) for _ in range(steps)]
        expected_weights = [np.asarray(w) for w in reference.trainable_weights]
        model, optimizer = model_and_optimizer(seed)

        def compare(first_loss):
            try:
                losses = [float(first_loss)]
                losses += [float(fn(model, optimizer, batch)) for _ in range(steps - 1)]
            except Exception as exc:  # noqa: BLE001 - the learner's bug, reported kindly
                return f"a later step raised {type(exc).__name__}: {exc}"
            if not np.allclose(losses, expected, atol=1e-4):
                return (f"the loss of each step should be {np.round(expected, 4).tolist()}, "
                        f"got {np.round(losses, 4).tolist()}")
            apart = max(float(np.abs(np.asarray(w) - e).max())
                        for w, e in zip(model.trainable_weights, expected_weights, strict=True))
            if apart > 1e-4:
                return f"after {steps} step(s) the weights differ from the reference by {apart:.3g}"
            return True

        return Case((model, optimizer, batch), compare=compare, description=description,
                    hint=hint)

    padded = ([[5, 6, 7, 0], [8, 9, 10, 11]], [[2, 12, 13, 3, 0], [2, 14, 15, 16, 3]])
    cases = [
        case(1, *padded, 1, "one step on 2 sentences, the first padded",
             "compute the logits inside the GradientTape with training=True, then the masked "
             "loss of chapter 2: padding must not count"),
        case(2, *padded, 3, "three steps in a row with the same optimizer",
             "apply the gradients with the optimizer you are given, "
             "optimizer.apply_gradients(zip(gradients, model.trainable_variables))"),
        case(3, [[4, 5]], [[2, 9, 3]], 2, "two steps on a batch of one sentence",
             "return the loss computed before the update, a scalar"),
    ]
    check("train_step", fn, cases)


def _best_extensions(beam_scores, log_probs, width):
    totals = np.asarray(beam_scores, float)[:, None] + np.asarray(log_probs, float)  # (B, V)
    order = sorted((-totals[b, t], b, t) for b in range(totals.shape[0])
                    for t in range(totals.shape[1]) if np.isfinite(totals[b, t]))
    return [(b, t, -negative) for negative, b, t in order[:width]]


def check_beam_step(fn) -> None:
    """Exercise: ``fn(beam_scores, log_probs, width) -> [(beam, token, total score), ...]``.

    ``beam_scores`` (B,) are the totals so far, ``log_probs`` (B, V) the next-word
    log-probabilities. Return the ``width`` best extensions, best first; ties go to the
    lower beam index, then the lower token id.
    """
    log = np.log

    def same(scores, log_probs, width):
        expected = _best_extensions(scores, log_probs, width)

        def compare(got):
            got = [(int(b), int(t), float(s)) for b, t, s in got]
            if [(b, t) for b, t, _ in got] != [(b, t) for b, t, _ in expected]:
                return f"expected (beam, token) pairs {[(b, t) for b, t, _ in expected]}"
            if not np.allclose([s for *_, s in got], [s for *_, s in expected], atol=1e-6):
                return "right choices, wrong scores: a total adds the beam's score so far"
            return True
        return compare

    one_beam = (np.array([0.0]), log(np.array([[0.1, 0.6, 0.3]])), 2)
    two_beams = (np.array([-0.1, -2.0]), log(np.array([[0.2, 0.3, 0.5], [0.9, 0.05, 0.05]])), 3)
    tie = (np.array([-1.0, -1.0]), log(np.array([[0.5, 0.5], [0.5, 0.5]])), 3)
    impossible = (np.array([0.0, -np.inf]), log(np.array([[0.7, 0.3], [0.5, 0.5]])), 2)
    cases = [
        Case(one_beam, compare=same(*one_beam), description="one beam, 3 words, width 2",
             hint="rank every (beam, word) by total log-probability"),
        Case(two_beams, compare=same(*two_beams), description="two beams with different scores",
             hint="a likely word after an unlikely beam can lose to a less likely word after "
                  "a good beam: compare totals, not next-word probabilities"),
        Case(tie, compare=same(*tie), description="four candidates with equal totals",
             hint="break ties by beam index, then token id"),
        Case(impossible, compare=same(*impossible), description="a beam with score -inf",
             hint="an impossible beam (-inf) must never be extended"),
    ]
    check("beam_step", fn, cases)


__all__ = ["check_beam_step", "check_greedy_translate", "check_train_step"]
