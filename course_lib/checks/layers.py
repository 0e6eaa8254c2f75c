"""Check a learner's Keras layer against the course's reference layer, weight for weight.

A function exercise can be checked by its return values alone. A layer has weights
too, drawn at random when it is built, so two correct layers give different outputs.
The check therefore:

1. refuses, kindly, a class that *is* (or is built on) course_lib's own: the point is
   to write it;
2. builds the learner's layer and the reference at the same sizes and runs both on the
   first case, so that every weight exists;
3. copies the reference's weights into the learner's layer, matched by shape (a weight
   that differs only by axes of size 1, such as a ``Dense(1)`` kernel (A, 1) for a
   vector v_a (A,), is reshaped), and in creation order among weights of one shape;
4. compares the outputs case by case (padding, a batch of one, a one-word sentence…),
   each with a hint that names the idea the case tests;
5. checks that a gradient reaches every weight (a weight the loss cannot move is
   usually a sub-layer created but never used) and, optionally, that the layer can be
   rebuilt from ``get_config()``, as saving a ``.keras`` file needs.

It prints one line per problem with the case and the tensor that differ, never the
reference code. A passed check is remembered (``framework.passed``), so that a notebook
can go on with the learner's own layer, or with the reference while the exercise is
open (``framework.yours_or_reference``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .framework import PASSED, RTOL, compare_values, record


@dataclass
class LayerCase:
    """One call of both layers: ``inputs`` are passed positionally, ``kwargs`` by name."""

    inputs: tuple
    description: str
    hint: str = ""
    kwargs: dict = field(default_factory=dict)


@dataclass
class LayerSpec:
    """How to build and call the layers of one exercise.

    Attributes:
        name: The class name the notebook asks for (used in the messages).
        reference: A function returning a fresh reference layer at the check's sizes.
        build: A function ``build(cls)`` returning the learner's layer at the same sizes.
        outputs: Names of the outputs, in the order the layer returns them.
        call_reference / call_learner: ``f(layer, *inputs, **kwargs)`` → outputs
            (default: ``layer(*inputs, **kwargs)``).
        rebuild_from_config: also check ``cls.from_config(layer.get_config())``.
        rtol, atol: Tolerances of the output comparison.
    """

    name: str
    reference: Callable[[], Any]
    build: Callable[[type], Any]
    outputs: Sequence[str]
    call_reference: Callable[..., Any] | None = None
    call_learner: Callable[..., Any] | None = None
    rebuild_from_config: bool = False
    rtol: float = RTOL
    atol: float = 1e-5


class _NotYet(Exception):
    """The learner's class still raises NotImplementedError."""


def is_course_lib_class(cls: Any) -> bool:
    """True for course_lib's classes and for classes that inherit from one."""
    return any(getattr(base, "__module__", "").startswith("course_lib.")
               for base in getattr(cls, "__mro__", ()))


def _as_tuple(value: Any) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _call(function, layer, case: LayerCase) -> tuple:
    if function is None:
        return _as_tuple(layer(*case.inputs, **case.kwargs))
    return _as_tuple(function(layer, *case.inputs, **case.kwargs))


def _learner_call(spec: LayerSpec, layer, case: LayerCase) -> tuple:
    try:
        return _call(spec.call_learner, layer, case)
    except NotImplementedError as exc:
        raise _NotYet from exc


def _squeezed(shape) -> tuple:
    return tuple(int(n) for n in shape if int(n) != 1)


def _shapes(weights) -> str:
    return ", ".join(str(tuple(int(n) for n in w.shape)) for w in weights)


def _fits(reference_shape, own_shape) -> bool:
    return (tuple(reference_shape) == tuple(own_shape)
            or _squeezed(reference_shape) == _squeezed(own_shape))


def _pairing(theirs: list, yours: list) -> list[int] | str:
    """For each of ``yours``, the index of the reference weight to copy, or why none fits.

    Weights are paired in creation order where the shapes agree; otherwise each of yours
    takes the first unused reference weight of its shape, so the order only matters
    among weights of the same shape (the two directions of a bidirectional GRU).
    """
    if all(_fits(r.shape, o.shape) for r, o in zip(theirs, yours, strict=True)):
        return list(range(len(yours)))
    unused, pairing = list(range(len(theirs))), []
    for position, own in enumerate(yours):
        match = next((i for i in unused if _fits(theirs[i].shape, own.shape)), None)
        if match is None:
            return (f"your weight {position + 1} of {len(yours)} has shape "
                    f"{tuple(own.shape)}, which no weight of the reference has (yours, in "
                    f"creation order: {_shapes(yours)}; the reference: {_shapes(theirs)}). "
                    "Check the sizes of your sub-layers")
        unused.remove(match)
        pairing.append(match)
    return pairing


def copy_weights(reference, learner) -> str | None:
    """Copy ``reference``'s weights into ``learner``; ``None``, or why they do not fit."""
    theirs, yours = list(reference.weights), list(learner.weights)
    if len(theirs) != len(yours):
        return (f"your layer has {len(yours)} weight tensors ({_shapes(yours) or 'none'}), "
                f"the reference {len(theirs)} ({_shapes(theirs)}): a sub-layer is missing, "
                "extra, or built with other options (a bias?)")
    pairing = _pairing(theirs, yours)
    if isinstance(pairing, str):
        return pairing
    for own, index in zip(yours, pairing, strict=True):
        own.assign(np.reshape(np.asarray(theirs[index].numpy()), tuple(own.shape)))
    return None


def _randomise(layer, seed: int) -> None:
    """Give every weight random values, so that ones, zeros and swapped roles show up."""
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        values = rng.normal(scale=0.3, size=tuple(weight.shape))
        weight.assign(values.astype(np.asarray(weight.numpy()).dtype))


def _differences(spec: LayerSpec, got: tuple, expected: tuple) -> list[str]:
    if len(got) != len(expected):
        return [f"returned {len(got)} value(s) where {len(expected)} were expected "
                f"({', '.join(spec.outputs)})"]
    problems = []
    for name, g, e in zip(spec.outputs, got, expected, strict=True):
        ok, why = compare_values(g, e, spec.rtol, spec.atol)
        if not ok:
            problems.append(f"`{name}` {why or 'differs'}")
    return problems


def _gradient_problems(layer, spec: LayerSpec, case: LayerCase) -> list[str]:
    """Weights that no gradient reaches from the layer's float outputs."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        outputs = _call(spec.call_learner, layer, case)
        total = tf.add_n([tf.reduce_sum(tf.cast(o, "float32") ** 2) for o in outputs
                          if tf.as_dtype(o.dtype).is_floating])
    weights = list(layer.trainable_weights)
    gradients = tape.gradient(total, weights)
    dead = [w for w, g in zip(weights, gradients, strict=True)
            if g is None or not np.any(np.asarray(tf.convert_to_tensor(g)))]
    return [f"no gradient reaches the weight `{w.path}` {tuple(w.shape)}: is that sub-layer "
            "used in call()?" for w in dead]


def _config_problem(cls, layer, case: LayerCase, spec: LayerSpec) -> str | None:
    try:
        twin = cls.from_config(layer.get_config())
        _learner_call(spec, twin, case)
    except Exception as exc:  # noqa: BLE001 - the learner's code, reported kindly
        return (f"{cls.__name__}.from_config(layer.get_config()) failed ({type(exc).__name__}: "
                f"{str(exc)[:120]}): return the constructor's arguments from get_config(), "
                "as saving a .keras file needs")
    return None


def run_layer_check(spec: LayerSpec, cls: Any, cases: Sequence[LayerCase], *,
                    gradients: bool = True, seed: int = 0) -> bool:
    """Build, copy weights, compare every case; print the verdict and return True if all pass.

    Graded items (for :func:`course_lib.checks.framework.recording`): one per case,
    then "gradients reach every weight" and "rebuilt from get_config()" where the
    spec asks for them; those two are tried once every case agrees.
    """
    import keras

    name = spec.name
    PASSED[name] = False
    items = [case.description for case in cases]
    items += ["gradients reach every weight"] if gradients else []
    items += ["rebuilt from get_config()"] if spec.rebuild_from_config else []

    def stop(message: str) -> bool:                   # nothing could be compared: all items fail
        print(message)
        record(name, [(item, False, message) for item in items])
        return False

    if not isinstance(cls, type) or not issubclass(cls, keras.layers.Layer):
        return stop(f"❌ {name}: pass the class itself, not an instance of it: a subclass of "
                    "keras.layers.Layer.")
    if is_course_lib_class(cls):
        return stop(f"🚫 {name}: `{cls.__name__}` is course_lib's own class (or built on one). "
                    "The exercise is to write it yourself as a keras.layers.Layer; the check "
                    "compares yours with course_lib's.")
    keras.utils.set_random_seed(seed)
    try:
        learner = spec.build(cls)
        reference = spec.reference()
        _call(spec.call_reference, reference, cases[0])        # builds its weights
        _learner_call(spec, learner, cases[0])
    except (_NotYet, NotImplementedError):
        return stop(f"⏳ {name}: not implemented yet — write the class above (and any exercise "
                    "it uses) and run this cell again.")
    except Exception as exc:  # noqa: BLE001 - the learner's bug, reported kindly
        message = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        return stop(f"❌ {name}: building it and calling it on case 1 ({cases[0].description}) "
                    f"raised {message}")
    _randomise(reference, seed)
    problem = copy_weights(reference, learner)
    if problem:
        return stop(f"❌ {name}: {problem}.")
    outcomes = []
    for number, case in enumerate(cases, start=1):
        try:
            expected = _call(spec.call_reference, reference, case)
            got = _learner_call(spec, learner, case)
            problems = _differences(spec, got, expected)
            what = "; ".join(problems)
        except Exception as exc:  # noqa: BLE001
            problems = [" ".join(f"{type(exc).__name__}: {exc}".split())[:200]]
            what = f"raised {problems[0]}"
        line = (f"case {number}/{len(cases)} ({case.description}): {what}"
                + (f". Hint: {case.hint}" if case.hint else "")) if problems else ""
        outcomes.append((case.description, not problems, line))
    all_agree = all(ok for _, ok, _ in outcomes)
    if gradients:
        dead = _gradient_problems(learner, spec, cases[0]) if all_agree else ["not tried: a case "
                                                                              "above differs"]
        outcomes.append((items[len(cases)], not dead, "; ".join(dead)))
    if spec.rebuild_from_config:
        problem = (_config_problem(cls, learner, cases[0], spec) if all_agree
                   else "not tried: a case above differs")
        outcomes.append((items[-1], problem is None, problem or ""))
    record(name, outcomes)
    failures = [line for _, ok, line in outcomes if not ok and not line.startswith("not tried")]
    if failures:
        for line in failures:
            print(f"❌ {line}")
        print(f"❌ {name}: {len(failures)} problem(s) — fix the class above and run this cell "
              "again.")
        return False
    checked = ["outputs equal to course_lib's with the same weights"]
    checked += ["gradients reach every weight"] if gradients else []
    checked += ["rebuilt from get_config()"] if spec.rebuild_from_config else []
    print(f"✅ {name}: all {len(cases)} cases pass ({'; '.join(checked)}); "
          f"{learner.count_params():,} parameters, as the reference.")
    PASSED[name] = True
    return True


__all__ = ["LayerCase", "LayerSpec", "copy_weights", "is_course_lib_class", "run_layer_check"]
