"""Check a learner's exercise function against a few hand-picked cases.

Every exercise in the chapters ends with a check cell such as::

    check_tokenize(tokenize)

Each chapter's check function is a thin wrapper around :func:`check` (or
:func:`run_check`): it lists a few :class:`Case` objects (arguments, expected
value, and a *hint* that names the idea being tested) and lets the helper do the
rest::

    from course_lib.checks.framework import Case, check

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
* the function is course_lib's own (``metrics.clipped_matches`` handed in as the
  answer): one ``🚫`` line saying that the exercise is to write it;
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
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Default tolerances: loose enough for float32 arithmetic, tight enough to catch bugs.
RTOL = 1e-4
ATOL = 1e-6

_MISSING = object()
_MAX_REPR = 160

#: Which checks have passed in this session, by name (see :func:`passed`).
PASSED: dict[str, bool] = {}

#: Lists that collect :class:`GradedItem` objects while :func:`recording` is active.
_RECORDINGS: list[list] = []


@dataclass
class GradedItem:
    """One graded case of one check: what was tried, whether it passed, what the learner saw."""

    check: str
    number: int
    description: str
    passed: bool
    message: str = ""


@contextmanager
def recording() -> Iterator[list[GradedItem]]:
    """Collect one :class:`GradedItem` per case of every check run inside the block.

    The checks print exactly what they print in a notebook; recording only keeps
    score, case by case, so that an autograder can give partial credit
    (:mod:`course_lib.grading`). A check that stops early (the exercise is still a
    stub, or course_lib's own function was handed in) records every case as failed.
    """
    items: list[GradedItem] = []
    _RECORDINGS.append(items)
    try:
        yield items
    finally:
        _RECORDINGS.remove(items)


def record(name: str, outcomes: list[tuple[str, bool, str]]) -> None:
    """Add ``(description, passed, message)`` per case to every active recording."""
    for items in _RECORDINGS:
        items.extend(GradedItem(name, number, description, passed, message)
                     for number, (description, passed, message) in enumerate(outcomes, start=1))


#: What a ``compare`` callable may return: True (pass), False (fail) or a string
#: explaining the failure. It may also raise AssertionError with a message.
CompareResult = bool | str | None


@dataclass
class Case:
    """One call of the learner's function and what should come back.

    Attributes:
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
    return _clipped(text, limit)


def _clipped(text: str, limit: int = _MAX_REPR) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
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

    Args:
        name: What the learner calls the function (used in the messages).
        fn: The learner's function.
        cases: :class:`Case` objects, or dicts with the same keys.

    Everything is printed to stdout (no tracebacks, nothing on stderr), one
    line per failing case. In notebooks prefer :func:`check`, which returns
    ``None`` so that no ``True`` appears as the cell's value.
    """
    cases = [_as_case(c) for c in cases]
    PASSED[name] = False
    calls = [describe_call(name, case) for case in cases]
    if _is_course_lib_function(fn):
        message = (f"🚫 {name}: `{getattr(fn, '__qualname__', fn)}` is course_lib's own function. "
                   "The exercise is to write it yourself; the check compares yours with it.")
        print(message)
        record(name, [(call, False, message) for call in calls])
        return False
    n = len(cases)
    failures: list[str] = []
    outcomes: list[tuple[str, bool, str]] = []
    for i, (case, call) in enumerate(zip(cases, calls, strict=True), start=1):
        try:
            result = fn(*_copied(case.args), **_copied(case.kwargs))
        except NotImplementedError:
            message = (f"⏳ {name}: not implemented yet — write the body of the function above "
                       "and run this cell again.")
            print(message)
            record(name, [(call, False, message) for call in calls])
            return False
        except Exception as exc:  # noqa: BLE001 - the learner's bug, reported kindly
            msg = f"{type(exc).__name__}: {exc}".strip()
            line = f"❌ case {i}/{n}: {call} raised {_clipped(msg)}"
            failures.append(_with_hint(line, case))
            outcomes.append((call, False, failures[-1]))
            continue
        ok, why = _evaluate(case, result)
        if ok:
            outcomes.append((call, True, ""))
            continue
        line = f"❌ case {i}/{n}: {call} returned {short_repr(result)}"
        if case.compare is None:
            line += f", expected {short_repr(case.expected)}"
        if why:
            line += f" ({why})"
        failures.append(_with_hint(line, case))
        outcomes.append((call, False, failures[-1]))

    record(name, outcomes)
    if not failures:
        print(f"✅ {name}: all {n} cases pass")
        PASSED[name] = True
        return True
    for line in failures:
        print(line)
    print(f"❌ {name}: {len(failures)} of {n} cases fail — fix the function above and "
          "run this cell again.")
    return False


def _is_course_lib_function(fn: Any) -> bool:
    """True for a function or method defined in course_lib (the reference, not an answer)."""
    module = getattr(getattr(fn, "__func__", fn), "__module__", None) or ""
    return module == "course_lib" or module.startswith("course_lib.")


def passed(name: str) -> bool:
    """Whether the check of exercise ``name`` has passed in this session."""
    return PASSED.get(name, False)


def yours_or_reference(yours: Any, reference: Any, name: str | None = None) -> Any:
    """The learner's function or class if its check passed, else the reference; says which."""
    name = name or reference.__name__
    if passed(name):
        print(f"Using your {name} (its check passed).")
        return yours
    print(f"Using course_lib's {name} (your {name} has not passed its check yet).")
    return reference


def check(name: str, fn: Callable[..., Any], cases: Iterable[Case | Mapping[str, Any]]
          ) -> None:
    """:func:`run_check` for notebook cells: same messages, returns ``None``."""
    run_check(name, fn, cases)


def _with_hint(line: str, case: Case) -> str:
    return f"{line}. Hint: {case.hint}" if case.hint else line


__all__ = ["ATOL", "RTOL", "Case", "GradedItem", "check", "compare_values", "describe_call",
           "passed", "record", "recording", "run_check", "short_repr", "yours_or_reference"]
