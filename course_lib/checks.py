"""Check a learner's exercise function against a few hand-picked cases.

Every exercise in the chapters ends with a check cell such as::

    check_tokenize(tokenize)

Each chapter's check function is a thin wrapper around :func:`check` (or
:func:`run_check`): it lists a few :class:`Case` objects (arguments, expected
value, and a *hint* that names the idea being tested) and lets the helper do the
rest::

    from course_lib.checks import Case, check

    def check_tokenize(fn):
        check("tokenize", fn, [
            Case(args=("Hi!",), expected=["hi", "!"],
                 hint="Lower-case first, then split punctuation off words."),
            Case(args=("",), expected=[],
                 hint="An empty sentence has no tokens."),
        ])

Use :func:`check` (returns ``None``) for the wrappers called in notebooks and
:func:`run_check` (returns ``True``/``False``) in tests. A wrapper that returns
the bool makes ``check_tokenize(tokenize)`` show ``True`` as the cell's value,
and a trailing ``;`` does not hide it under nbval (nbval runs cells with
``store_history=False``, so IPython cannot see the semicolon): the stored and
the re-computed outputs would then differ.

What the learner sees:

* all cases pass: one line, ``✅ tokenize: all 2 cases pass``;
* a case fails: one ``❌`` line per failing case with the call that was made,
  what came back, what was expected, why they differ and the hint;
* the function still raises ``NotImplementedError`` (the exercise stub): one
  ``⏳`` line telling them to write the body, no traceback;
* any other exception: its type and message, with the case that caused it.

Comparison rules (see :func:`compare_values`): floats, NumPy arrays and
tensors are compared with :func:`numpy.allclose` (tolerances ``rtol``/``atol``
per case); lists/tuples and dicts element by element; everything else with
``==``. For anything fancier give a case a ``compare`` callable instead of an
``expected`` value.

This module does not import TensorFlow; tensors are recognised by duck typing
(a ``.numpy()`` method), so checks are cheap to import and test.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Default tolerances: loose enough for float32 arithmetic, tight enough to catch bugs.
RTOL = 1e-4
ATOL = 1e-6

_MISSING = object()
_MAX_REPR = 160

#: What a ``compare`` callable may return: True (pass), False (fail) or a string
#: explaining the failure. It may also raise AssertionError with a message.
CompareResult = bool | str | None


@dataclass
class Case:
    """One call of the learner's function and what should come back.

    Attributes
    ----------
    args, kwargs:
        Passed to the function as ``fn(*args, **kwargs)``. They are deep-copied
        first, so a function that modifies its input cannot spoil the report.
    expected:
        The value the call should return. Compared with :func:`compare_values`.
    compare:
        Instead of ``expected``: a callable taking the returned value and
        returning ``True`` when it is right, or ``False`` / a string saying what
        is wrong (it may also ``raise AssertionError("...")``). Use it for
        properties ("rows sum to 1", "shape is (batch, units)").
    hint:
        The idea this case tests, phrased to help, shown when the case fails.
    rtol, atol:
        Tolerances for numeric comparisons (:func:`numpy.allclose`).
    description:
        Optional text shown instead of the ``fn(args...)`` call, for cases whose
        arguments are too big to print usefully (``"a batch of 2 sentences"``).
    """

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    expected: Any = _MISSING
    compare: Callable[[Any], CompareResult] | None = None
    hint: str = ""
    rtol: float = RTOL
    atol: float = ATOL
    description: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.args, tuple):
            self.args = tuple(self.args) if isinstance(self.args, list) else (self.args,)
        if (self.expected is _MISSING) == (self.compare is None):
            raise ValueError("A Case needs exactly one of `expected` or `compare`.")


def _as_case(case: Case | Mapping[str, Any]) -> Case:
    if isinstance(case, Case):
        return case
    if isinstance(case, Mapping):
        return Case(**case)
    raise TypeError(f"A check case must be a Case or a dict, not {type(case).__name__}")


# ----------------------------------------------------------------------------- comparison


def _is_tensor_like(value: Any) -> bool:
    return hasattr(value, "numpy") and callable(value.numpy) and hasattr(value, "shape")


def _to_numpy(value: Any) -> np.ndarray:
    return np.asarray(value.numpy() if _is_tensor_like(value) else value)


def _is_numeric_array(value: Any) -> bool:
    """Arrays, tensors, and (nested) lists whose leaves are all numbers."""
    if isinstance(value, np.ndarray) or _is_tensor_like(value):
        return True
    if isinstance(value, (list, tuple)) and value:
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError):
            return False
        return arr.dtype.kind in "fc"  # only float lists need the tolerant path
    return False


def _is_float(value: Any) -> bool:
    return isinstance(value, (float, np.floating)) or (
        isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind == "f"
    )


def compare_values(got: Any, expected: Any, rtol: float = RTOL, atol: float = ATOL
                   ) -> tuple[bool, str]:
    """Compare a returned value with the expected one; return ``(ok, why_not)``.

    * numbers: equal, or within tolerance when either side is a float;
    * arrays / tensors / float lists: same shape, then :func:`numpy.allclose`
      (``why_not`` then reports the largest difference and where it is);
    * lists and tuples: same length, then element by element (a tuple where a
      list was expected is fine: the values are what matter);
    * dicts: same keys, then value by value;
    * anything else: ``==``.
    """
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping):
            return False, f"expected a dict, got a {type(got).__name__}"
        if set(got) != set(expected):
            missing = sorted(map(repr, set(expected) - set(got)))
            extra = sorted(map(repr, set(got) - set(expected)))
            parts = [f"missing keys {', '.join(missing)}"] if missing else []
            parts += [f"unexpected keys {', '.join(extra)}"] if extra else []
            return False, "; ".join(parts)
        for key in expected:
            ok, why = compare_values(got[key], expected[key], rtol, atol)
            if not ok:
                return False, f"at key {key!r}: {why}"
        return True, ""

    if _is_numeric_array(expected) or (_is_numeric_array(got) and not isinstance(
            expected, (str, bytes, Mapping))):
        try:
            g, e = _to_numpy(got), _to_numpy(expected)
        except Exception as exc:  # noqa: BLE001 - report, don't crash the check
            return False, f"could not turn the result into an array ({exc})"
        if g.shape != e.shape:
            return False, f"shape {g.shape} but expected shape {e.shape}"
        if e.dtype.kind in "fc" or g.dtype.kind in "fc":
            try:
                if np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
                    return True, ""
            except TypeError:
                return False, f"dtype {g.dtype} cannot be compared with {e.dtype}"
            diff = np.abs(g.astype(complex if g.dtype.kind == "c" else float) - e)
            if np.isnan(diff).any():
                return False, "contains NaN where a number was expected"
            where = np.unravel_index(np.argmax(diff), diff.shape) if diff.ndim else ()
            at = f" at index {tuple(int(i) for i in where)}" if where else ""
            return False, f"largest difference {float(np.max(diff)):.3g}{at}"
        if np.array_equal(g, e):
            return True, ""
        bad = np.argwhere(g != e) if g.shape else []
        at = f" (first at index {tuple(int(i) for i in bad[0])})" if len(bad) else ""
        return False, f"values differ{at}"

    if isinstance(expected, (list, tuple)):
        if not isinstance(got, (list, tuple)):
            return False, f"expected a {type(expected).__name__}, got a {type(got).__name__}"
        if len(got) != len(expected):
            return False, f"length {len(got)} but expected length {len(expected)}"
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            ok, why = compare_values(g, e, rtol, atol)
            if not ok:
                return False, f"at position {i}: {why}"
        return True, ""

    if isinstance(expected, numbers.Number) and not isinstance(expected, bool):
        if isinstance(got, bool) or not isinstance(got, (numbers.Number, np.generic)):
            return False, f"expected a number, got a {type(got).__name__}"
        if _is_float(got) or _is_float(expected):
            if np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True):
                return True, ""
            return False, f"off by {abs(got - expected):.3g}"
        return (True, "") if got == expected else (False, "")

    try:
        return (True, "") if bool(got == expected) else (False, "")
    except Exception as exc:  # noqa: BLE001 - e.g. ambiguous truth value
        return False, f"cannot compare ({type(exc).__name__}: {exc})"


# ----------------------------------------------------------------------------- reporting


def short_repr(value: Any, limit: int = _MAX_REPR) -> str:
    """A one-line, length-capped ``repr``; arrays and tensors show shape and dtype."""
    if _is_tensor_like(value) or isinstance(value, np.ndarray):
        try:
            arr = _to_numpy(value)
            body = np.array2string(arr, threshold=8, edgeitems=2, precision=4,
                                   separator=", ").replace("\n", "")
            text = f"{type(value).__name__}(shape={arr.shape}, dtype={arr.dtype}, {body})"
        except Exception:  # noqa: BLE001
            text = repr(value)
    else:
        text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_call(name: str, case: Case) -> str:
    """``name(arg1, arg2, key=value)`` for the report (or the case's description)."""
    if case.description:
        return case.description
    parts = [short_repr(a, 60) for a in case.args]
    parts += [f"{k}={short_repr(v, 60)}" for k, v in case.kwargs.items()]
    return f"{name}({', '.join(parts)})"


def _copied(value: Any) -> Any:
    """Deep-copy plain data (lists, dicts, arrays…) so a learner's function cannot modify it.

    Models, layers and tensors are passed as they are: copying them is slow, and Keras
    layers would be rebuilt.
    """
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a namedtuple
        return type(value)(*(_copied(v) for v in value))
    if isinstance(value, (tuple, list)):
        return type(value)(_copied(v) for v in value)
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, (np.ndarray, str, bytes, numbers.Number, bool)) or value is None:
        return copy.deepcopy(value)
    return value


def _evaluate(case: Case, result: Any) -> tuple[bool, str]:
    """Return (ok, detail) for one result."""
    if case.compare is None:
        return compare_values(result, case.expected, case.rtol, case.atol)
    try:
        verdict = case.compare(result)
    except AssertionError as exc:
        return False, str(exc) or "the check's assertion failed"
    if isinstance(verdict, str):
        return False, verdict
    return (True, "") if verdict is None or bool(verdict) else (False, "")


def run_check(name: str, fn: Callable[..., Any], cases: Iterable[Case | Mapping[str, Any]]
              ) -> bool:
    """Call ``fn`` on every case, print a friendly verdict, return True if all pass.

    Parameters
    ----------
    name:
        What the learner calls the function (used in the messages).
    fn:
        The learner's function.
    cases:
        :class:`Case` objects, or dicts with the same keys.

    Everything is printed to stdout (no tracebacks, nothing on stderr), one
    line per failing case. In notebooks prefer :func:`check`, which returns
    ``None`` so that no ``True`` appears as the cell's value.
    """
    cases = [_as_case(c) for c in cases]
    n = len(cases)
    failures: list[str] = []
    for i, case in enumerate(cases, start=1):
        call = describe_call(name, case)
        try:
            result = fn(*_copied(case.args), **_copied(case.kwargs))
        except NotImplementedError:
            print(f"⏳ {name}: not implemented yet — write the body of the function above "
                  "and run this cell again.")
            return False
        except Exception as exc:  # noqa: BLE001 - the learner's bug, reported kindly
            msg = f"{type(exc).__name__}: {exc}".strip()
            line = f"❌ case {i}/{n}: {call} raised {short_repr_text(msg)}"
            failures.append(_with_hint(line, case))
            continue
        ok, why = _evaluate(case, result)
        if ok:
            continue
        line = f"❌ case {i}/{n}: {call} returned {short_repr(result)}"
        if case.compare is None:
            line += f", expected {short_repr(case.expected)}"
        if why:
            line += f" ({why})"
        failures.append(_with_hint(line, case))

    if not failures:
        print(f"✅ {name}: all {n} cases pass")
        return True
    for line in failures:
        print(line)
    print(f"❌ {name}: {len(failures)} of {n} cases fail — fix the function above and "
          "run this cell again.")
    return False


def check(name: str, fn: Callable[..., Any], cases: Iterable[Case | Mapping[str, Any]]
          ) -> None:
    """:func:`run_check` for notebook cells: same messages, returns ``None``."""
    run_check(name, fn, cases)


def short_repr_text(text: str, limit: int = _MAX_REPR) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _with_hint(line: str, case: Case) -> str:
    return f"{line}. Hint: {case.hint}" if case.hint else line



# ============================================================================ chapter 1


def check_normalize(fn: Callable[[str], str]) -> None:
    """Chapter 1 exercise: ``fn(text) -> normalised text`` (lowercased, punctuation split)."""
    cases = [
        Case(("Hello!",), expected="hello !", hint="lowercase and split punctuation off"),
        Case(("Grüß Gott.",), expected="grüß gott .",
             hint="keep umlauts and ß: German letters are not noise"),
        Case(("Die Straße ist „lang“.",), expected='die straße ist " lang " .',
             hint="map „ and “ to one plain double quote and make each quote a token"),
        Case(("Ich müde.",), expected="ich müde .",
             hint="u + combining diaeresis must become the single character ü (NFC)"),
        Case(("Don’t  go ,  Tom?",), expected="don't go , tom ?",
             hint="’ becomes ', apostrophes inside words stay, runs of spaces collapse"),
        Case(("It costs 3.50 euros.",), expected="it costs 3.50 euros .",
             hint="a dot between digits is part of the number"),
    ]
    check("normalize", fn, cases)


def check_types_for_coverage(fn: Callable[[list[str], float], int]) -> None:
    """Chapter 1 exercise: smallest number of frequent types covering a share of tokens."""
    texts = ["a a a a b b c", "a b d"]  # counts: a 5, b 3, c 1, d 1 (10 tokens)
    cases = [
        Case((texts, 0.5), expected=1, hint="'a' alone covers 5 of 10 tokens: reaching counts"),
        Case((texts, 0.8), expected=2, hint="a + b = 8 of 10 tokens"),
        Case((texts, 0.85), expected=3, hint="keep adding types until the share is reached"),
        Case((texts, 1.0), expected=4, hint="every type is needed for 100 %"),
        Case((["x y z"], 0.34), expected=2, hint="1 type covers only 1/3 < 0.34"),
    ]
    check("types_for_coverage", fn, cases)


def _split_property(pairs, test_fraction):
    def compare(result):
        if not (isinstance(result, tuple) and len(result) == 2):
            return "return a tuple (train_pairs, test_pairs)"
        train, test = (list(part) for part in result)
        if sorted(train + test) != sorted(pairs):
            return "train + test must contain exactly the input pairs, each once"
        shared = {en for en, _ in train} & {en for en, _ in test}
        if shared:
            return f"English sentences in both splits (leak!): {sorted(shared)[:3]}"
        sources = {en for en, _ in pairs}
        n_test = len({en for en, _ in test})
        if abs(n_test - round(test_fraction * len(sources))) > 1:
            return (f"{n_test} test sources, expected about {test_fraction:.0%} of "
                    f"{len(sources)} distinct English sentences (count sources, not pairs)")
        return True
    return compare


def check_leak_free_split(fn) -> None:
    """Chapter 1 exercise: ``fn(pairs, test_fraction, seed) -> (train, test)`` split by source."""
    pairs = [(f"sentence {i % 12}", f"satz {i}") for i in range(40)]  # 12 sources, ~3 each
    pairs += [("hello .", "hallo ."), ("hello .", "servus ."), ("hi .", "hallo .")]
    cases = [
        Case((pairs, 0.25, 1), compare=_split_property(pairs, 0.25),
             description="split 43 pairs with 14 English sentences, test_fraction=0.25",
             hint="choose *English sentences* for the test set, then take all their pairs"),
        Case((pairs, 0.5, 7), compare=_split_property(pairs, 0.5),
             description="the same pairs, test_fraction=0.5",
             hint="group translations by their English sentence before splitting"),
    ]

    def deterministic(result_a):
        result_b = fn(list(pairs), 0.25, 1)
        return (sorted(result_a[1]) == sorted(result_b[1])
                or "the same seed must give the same split (use a seeded generator)")

    cases.append(Case((pairs, 0.25, 1), compare=deterministic,
                      description="the same call twice", hint="seed your random generator"))
    check("leak_free_split", fn, cases)



# ============================================================================ chapters 2–3


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

    def close_to(expected):
        def compare(got):
            value = float(np.asarray(got))
            return abs(value - expected) < 1e-4 or f"expected {expected:.5f}"
        return compare

    cases = [
        Case((no_pad, logits), compare=close_to(_hand_loss(no_pad, logits)),
             description="3 sentences, no padding",
             hint="cross-entropy of the softmax of the logits at the label id, averaged"),
        Case((padded, logits), compare=close_to(_hand_loss(padded, logits)),
             description="3 sentences with padding (label 0)",
             hint="divide by the number of real tokens, not by all positions"),
        Case((with_empty_row, logits), compare=close_to(_hand_loss(with_empty_row, logits)),
             description="one row is all padding",
             hint="an all-padding row adds nothing to the sum and nothing to the count"),
    ]
    check("masked_loss", fn, cases)


def check_teacher_forcing_shift(fn) -> None:
    """Exercise: ``fn(target_ids) -> (decoder_input, labels)`` for a batch (2-D array)."""
    target = np.array([[2, 10, 11, 12, 3], [2, 20, 3, 0, 0]])
    expected = (target[:, :-1], target[:, 1:])
    cases = [
        Case((target,), compare=lambda got: (
            all(np.array_equal(np.asarray(g), e) for g, e in zip(got, expected))
            or f"expected decoder_input={expected[0].tolist()}, labels={expected[1].tolist()}"),
            description="a batch [[start] w1 w2 w3 [end]], [[start] w [end] pad pad]]",
            hint="the decoder reads all but the last token and predicts all but the first"),
    ]
    check("teacher_forcing_shift", fn, cases)


def _small_encoded_model(kind: str, seed: int):
    """A tiny seeded model of ``kind`` and its carry for a fixed 2-sentence batch."""
    import keras

    from .models import build_model

    keras.utils.set_random_seed(seed)
    model = build_model(kind, 30, 40, 8, 16)
    source = np.array([[5, 6, 7, 0], [8, 9, 10, 11]])
    return model, model.encode(source)


def check_greedy_step(fn) -> None:
    """Exercise: ``fn(model, tokens, carry) -> (next_tokens, carry)`` picks the argmax word."""
    model, carry = _small_encoded_model("baseline", seed=3)
    tokens = np.array([2, 2])
    logits, new_carry, _ = model.decode_step(tokens, carry)
    expected = np.argmax(np.asarray(logits), axis=-1)

    def compare(got):
        next_tokens, got_carry = got
        if not np.array_equal(np.asarray(next_tokens).astype(int), expected):
            return f"next tokens should be {expected.tolist()} (the argmax of the logits)"
        if not np.allclose(np.asarray(got_carry["state"]), np.asarray(new_carry["state"]),
                           atol=1e-5):
            return "return the carry that decode_step gave back (the new decoder state)"
        return True

    cases = [Case((model, tokens, carry), compare=compare,
                  description="one step of a small model from [start]",
                  hint="call model.decode_step, then take the argmax over the vocabulary")]
    check("greedy_step", fn, cases)



# ============================================================================ chapter 4


def check_clipped_matches(fn) -> None:
    """Chapter 4 exercise: ``fn(hyp_tokens, refs_tokens, n) -> (clipped matches, total)``."""
    the7 = "the the the the the the the".split()
    refs = ["the cat is on the mat".split(), "there is a cat on the mat".split()]
    cases = [
        Case((the7, refs, 1), expected=(2, 7),
             hint="clip each n-gram's count at its largest count in any ONE reference"),
        Case(("the cat sat on the mat".split(), refs, 1), expected=(5, 6),
             hint="count every hypothesis unigram that a reference can account for"),
        Case(("the cat sat on the mat".split(), refs, 2), expected=(3, 5),
             hint="bigrams: 'the cat', 'on the', 'the mat' appear in a reference"),
        Case((["hello"], [["hello", "there"]], 2), expected=(0, 0),
             hint="a one-word hypothesis has no bigrams: total 0"),
    ]
    check("clipped_matches", fn, cases)


def check_brevity_penalty(fn) -> None:
    """Chapter 4 exercise: ``fn(hyp_len, ref_len) -> float``."""
    cases = [
        Case((10, 8), expected=1.0, hint="no penalty when the hypothesis is longer"),
        Case((10, 10), expected=1.0, hint="no penalty at equal length"),
        Case((8, 10), expected=float(np.exp(1 - 10 / 8)), hint="exp(1 - r/c) when c < r"),
        Case((0, 5), expected=0.0, hint="an empty hypothesis gets 0 (avoid dividing by 0)"),
    ]
    check("brevity_penalty", fn, cases)


def check_corpus_bleu(fn) -> None:
    """Chapter 4 exercise: corpus BLEU from summed statistics, 0–100 scale."""
    from . import metrics

    hyps = ["the cat sat on the mat", "a dog runs in the park today",
            "it is raining again today"]
    refs = [["the cat sat on the mat"], ["the dog runs in the park", "a dog is running in a park"],
            ["it is raining again", "today it rains again"]]
    short = ["the cat sat on a mat"]
    short_refs = [["the cat sat on the red mat", "the cat was sitting on a mat"]]
    cases = [
        Case((hyps, refs), expected=metrics.corpus_bleu(hyps, refs), atol=1e-4,
             hint="sum matches and totals over ALL sentences first, then take precisions"),
        Case((short, short_refs), expected=metrics.corpus_bleu(short, short_refs), atol=1e-4,
             hint="brevity penalty with the reference length closest to each hypothesis"),
        Case((hyps[:1], refs[:1]), expected=100.0, atol=1e-4,
             hint="a perfect match scores 100"),
    ]
    check("corpus_bleu", fn, cases)



# ============================================================================ chapter 5


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


# ============================================================================ chapter 6


def check_fixed_step(fn) -> None:
    """Chapter 6 exercise: the corrected attention step must query with the decoder state."""
    model, carry = _small_encoded_model("attention", seed=11)
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
    from . import plotting

    diagonal = np.eye(3)
    crossing = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.0, 0.2, 0.8]])

    def matches(weights):
        def compare(got):
            if not isinstance(got, dict):
                return "return a dict with keys 'entropy', 'argmax', 'monotonicity'"
            want = {"entropy": plotting.attention_entropy(weights),
                    "argmax": plotting.max_attention_positions(weights),
                    "monotonicity": plotting.monotonicity(weights)}
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


__all__ = [
    "ATOL", "RTOL", "Case", "check", "check_additive_scores", "check_attention_summary", "check_brevity_penalty",
    "check_context_vector", "check_fixed_step", "check_masked_softmax", "check_clipped_matches", "check_corpus_bleu",
    "check_greedy_step", "check_leak_free_split", "check_masked_loss", "check_normalize",
    "check_teacher_forcing_shift",
    "check_types_for_coverage", "compare_values", "describe_call", "run_check", "short_repr",
]
