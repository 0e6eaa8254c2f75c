"""The models as the papers describe them: readouts, deviations lists, regularisation, public API.

Tiny untrained models (embedding 8, 16 units): these tests check structure and
equivalences, not translation quality.
"""

import ast
import importlib
import inspect
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers import step_by_step, tiny_model

import course_lib
from course_lib import config, training
from course_lib.models import (
    MODEL_KINDS,
    READOUTS,
    Readout,
    RecurrentTranslationModel,
    TranslationModel,
    build_model,
)

PACKAGE_ROOT = Path(course_lib.__file__).parent
RECURRENT_KINDS = [kind for kind, cls in MODEL_KINDS.items()
                   if issubclass(cls, RecurrentTranslationModel)]


# --------------------------------------------------------------------------- readout


@pytest.mark.parametrize("nonlinearity", READOUTS)
def test_each_readout_has_a_nonlinearity(nonlinearity):
    """t = f(W [s; c; y]) is not affine in its input: f(a+b) − f(a) − f(b) + f(0) ≠ 0."""
    keras.utils.set_random_seed(3)
    readout = Readout(vocab_size=11, units=6, nonlinearity=nonlinearity)
    rng = np.random.default_rng(0)
    a, b = (rng.normal(size=(5, 4 + 3 + 2)).astype("float32") * 3 for _ in range(2))

    def hidden(features):
        return np.asarray(readout.hidden(features[:, :4], features[:, 4:7], features[:, 7:]))

    zero = np.zeros_like(a)
    nonlinearity_gap = hidden(a + b) - hidden(a) - hidden(b) + hidden(zero)
    assert np.abs(nonlinearity_gap).max() > 0.1
    assert hidden(a).shape == (5, 6)
    if nonlinearity == "tanh":
        assert np.abs(hidden(a * 100)).max() <= 1.0          # tanh is bounded
    else:  # maxout: the larger of units k and k+6 of one linear map
        linear = np.asarray(readout.combine(a))              # (5, 12), no activation
        np.testing.assert_allclose(hidden(a), np.maximum(linear[:, :6], linear[:, 6:]),
                                   rtol=1e-6)


def test_every_recurrent_decoder_shares_one_readout(vec):
    for kind in RECURRENT_KINDS:
        model = tiny_model(kind, vec)
        assert type(model.decoder.readout) is Readout, kind
        assert model.decoder.readout.nonlinearity == config.ModelConfig().readout, kind


def test_an_unknown_readout_is_refused():
    with pytest.raises(ValueError, match="readout"):
        Readout(10, 4, nonlinearity="relu")
    with pytest.raises(ValueError, match="no readout setting"):
        build_model("transformer", 20, 20, 8, 16, readout="tanh")


def test_a_model_saved_with_the_old_linear_readout_is_refused(vec):
    config = tiny_model("attention", vec).get_config()
    del config["readout"]
    with pytest.raises(ValueError, match="older than 0.5.0.*Train it again"):
        MODEL_KINDS["attention"].from_config(config)


# --------------------------------------------------------------------------- one interface


def test_every_kind_keeps_one_interface():
    """All kinds subclass TranslationModel; the recurrent ones share encode/decode_step."""
    for kind, model_class in MODEL_KINDS.items():
        assert issubclass(model_class, TranslationModel), kind
        for method in ("forward_with_weights", "encode", "decode_step"):
            assert getattr(model_class, method) is not getattr(TranslationModel, method), (
                f"{kind} does not implement {method}")
    for kind in RECURRENT_KINDS:
        model_class = MODEL_KINDS[kind]
        assert model_class.encode is RecurrentTranslationModel.encode
        assert model_class.decode_step is RecurrentTranslationModel.decode_step


STEP_CASES = [(kind, "maxout") for kind in sorted(MODEL_KINDS)] + [
    ("attention", "tanh"), ("luong", "tanh")]


@pytest.mark.parametrize(("kind", "readout"), STEP_CASES,
                         ids=[f"{kind}-{readout}" for kind, readout in STEP_CASES])
def test_step_by_step_equals_teacher_forcing_for_every_kind(vec, batch, kind, readout):
    """Dropout is off at inference, so decode_step reproduces the training pass exactly."""
    source, decoder_input, _ = batch
    options = {"readout": readout} if kind in RECURRENT_KINDS else {}
    model = tiny_model(kind, vec, seed=2, dropout=0.3, **options)
    teacher_forced = np.asarray(model((source, decoder_input)))
    stepped, _, _ = step_by_step(model, source, decoder_input)
    real = decoder_input != 0
    np.testing.assert_allclose(stepped[real], teacher_forced[real], atol=1e-4)


# --------------------------------------------------------------------------- regularisation


@pytest.mark.parametrize("kind", ["baseline", "attention", "luong", "transformer"])
def test_dropout_acts_in_training_only(vec, batch, kind):
    source, decoder_input, _ = batch
    model = tiny_model(kind, vec, seed=4, dropout=0.5)
    inference = [np.asarray(model((source, decoder_input), training=False)) for _ in range(2)]
    np.testing.assert_allclose(inference[0], inference[1])
    trained = np.asarray(model((source, decoder_input), training=True))
    assert np.abs(trained - inference[0]).max() > 1e-3
    plain = tiny_model(kind, vec, seed=4, dropout=0.0)
    np.testing.assert_allclose(np.asarray(plain((source, decoder_input), training=True)),
                               np.asarray(plain((source, decoder_input), training=False)),
                               atol=1e-5)


def test_label_smoothing_matches_the_smoothed_target_distribution():
    """(1 − ε)·one-hot + ε/V as the target, cross-entropy averaged over real tokens."""
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(3, 4, 7)).astype("float32")
    labels = np.array([[3, 1, 0, 0], [2, 2, 5, 0], [6, 0, 0, 0]])
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    for epsilon in (0.0, 0.1, 0.4):
        target = (1 - epsilon) * np.eye(7)[labels] + epsilon / 7
        per_token = -(target * log_p).sum(-1)
        real = labels != 0
        expected = per_token[real].mean()
        got = float(training.MaskedLoss(epsilon)(labels, logits))
        assert got == pytest.approx(expected, rel=1e-5), epsilon
    plain = float(training.masked_loss(labels, logits))
    assert float(training.MaskedLoss(0.0)(labels, logits)) == pytest.approx(plain, rel=1e-6)
    metric = training.MaskedCrossEntropy()
    metric.update_state(labels[:2], logits[:2])
    metric.update_state(labels[2:], logits[2:])          # accumulates over batches by tokens
    assert float(metric.result()) == pytest.approx(plain, rel=1e-5)
    with pytest.raises(ValueError, match="label_smoothing"):
        training.MaskedLoss(1.0)


def test_a_compiled_model_saves_and_loads_with_its_smoothed_loss(vec, batch, tmp_path):
    source, decoder_input, labels = batch
    model = tiny_model("attention", vec, seed=6, dropout=0.1)
    training.compile_model(model, label_smoothing=0.2)
    model.train_on_batch((source, decoder_input), labels)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.loss.label_smoothing == pytest.approx(0.2)
    np.testing.assert_allclose(np.asarray(loaded((source, decoder_input))),
                               np.asarray(model((source, decoder_input))), atol=1e-5)


def test_the_cpu_profile_lets_the_halved_learning_rate_act():
    """ReduceLROnPlateau halves after 1 epoch without improvement; early stopping must wait longer."""
    from course_lib import config

    for profile in ("cpu", "gpu"):
        assert config.TrainConfig.for_profile(profile).patience >= 2, profile


# --------------------------------------------------------------------------- papers, API


@pytest.mark.parametrize("where", [
    "course_lib.models.baseline", "course_lib.models.attention",
    "course_lib.models.transformer", "course_lib.models.attention:LuongStyleDecoder",
    "course_lib.models.attention:MultiplicativeAttention",
    "course_lib.models.attention:InputFeedingLuongDecoder"])
def test_each_model_lists_its_deviations_from_the_paper(where):
    module_name, _, attribute = where.partition(":")
    documented = importlib.import_module(module_name)
    if attribute:
        documented = getattr(documented, attribute)
    text = inspect.getdoc(documented)
    assert any(phrase in text for phrase in ("differs from", "Deviations from", "Luong et al. use")), (
        f"{where} does not say where it departs from the paper it cites")


def _private_uses_and_definitions():
    """Every ``x._name`` read in course_lib, and every ``_name`` course_lib defines itself."""
    uses, defined = [], set()
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
                defined.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
            elif isinstance(node, ast.Attribute):
                if isinstance(node.ctx, ast.Store):
                    defined.add(node.attr)
                elif node.attr.startswith("_") and not node.attr.startswith("__"):
                    uses.append((path.relative_to(PACKAGE_ROOT), node.lineno, node.attr))
    return uses, defined


def test_no_private_keras_attribute_is_used():
    """``._name`` may only name something course_lib defines itself (never Keras' private API)."""
    uses, defined = _private_uses_and_definitions()
    foreign = [f"{path}:{line} ._{name[1:]}" for path, line, name in uses if name not in defined]
    assert not foreign, f"private attributes of other libraries: {foreign}"


def test_the_private_attribute_check_would_catch_the_old_transformer_code():
    uses, defined = _private_uses_and_definitions()
    assert "_key_dense" not in defined and "_compute_attention" not in defined


def test_linear_warm_up_raises_the_rate_to_its_target_then_leaves_it(vec, batch):
    """Vaswani et al.'s warm-up (without their decay): rate = target · (step + 1) / steps."""
    source, decoder_input, labels = batch
    model = tiny_model("transformer", vec, seed=8)
    training.compile_model(model, learning_rate=0.004)
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    import tensorflow as tf

    data = tf.data.Dataset.from_tensors(((source, decoder_input), labels)).repeat(6)
    model.fit(data, epochs=1, verbose=0,
              callbacks=[training.LinearWarmUp(4, target=0.004), Record()])
    np.testing.assert_allclose(seen, [0.001, 0.002, 0.003, 0.004, 0.004, 0.004], rtol=1e-5)
    with pytest.raises(ValueError, match="warmup_steps"):
        training.LinearWarmUp(0)


def test_resume_may_raise_the_epoch_limit_and_nothing_else(tmp_path):
    """A run still improving at its limit can go on; every other setting must agree."""
    import dataclasses
    import json

    from course_lib import runs

    settings = runs.RunSettings.for_profile("transformer", "cpu")
    staged = tmp_path / runs.UNFINISHED
    staged.mkdir()
    (staged / "run.json").write_text(json.dumps(
        {"format_version": runs.FORMAT_VERSION, "status": "interrupted",
         "settings": dataclasses.asdict(settings)}), encoding="utf-8")
    raised = runs.settings_to_resume(tmp_path, epochs=settings.epochs + 10)
    assert raised == dataclasses.replace(settings, epochs=settings.epochs + 10)
    assert runs.settings_to_resume(tmp_path) == settings
    with pytest.raises(runs.SettingsMismatch) as lowered:
        runs.settings_to_resume(tmp_path, epochs=settings.epochs - 1)
    assert "epochs" in lowered.value.differences
    with pytest.raises(runs.SettingsMismatch):
        runs.settings_to_resume(tmp_path, epochs=settings.epochs + 10, units=7)


def test_an_early_stopped_run_serves_a_higher_epoch_limit():
    """Early stopping ended the run within the new limit: training again would repeat it."""
    import dataclasses

    from course_lib import runs

    settings = runs.RunSettings.for_profile("attention", "cpu")
    old_limit = dataclasses.replace(settings, epochs=settings.epochs - 10)
    stopped = {"settings": dataclasses.asdict(old_limit), "stopped_by": "early_stopping",
               "epochs_run": old_limit.epochs - 2, "format_version": runs.FORMAT_VERSION}
    assert runs.same_result(stopped, settings)
    assert not runs.same_result({**stopped, "stopped_by": "max_epochs"}, settings)
    assert not runs.same_result({**stopped, "epochs_run": settings.epochs + 1}, settings)
    other = {**stopped, "settings": dataclasses.asdict(dataclasses.replace(old_limit, units=7))}
    assert not runs.same_result(other, settings)


def test_only_the_transformer_warms_up_by_default():
    from course_lib import runs

    for profile in ("cpu", "gpu"):
        assert runs.RunSettings.for_profile("transformer", profile).warmup_steps == (
            config.TransformerConfig.warmup_steps) > 0
        for kind in ("baseline", "attention", "luong"):
            assert runs.RunSettings.for_profile(kind, profile).warmup_steps == 0
    assert runs.RunSettings.for_profile("transformer", "quick").warmup_steps == 0
