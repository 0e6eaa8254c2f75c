"""Training with teacher forcing: the masked loss, masked accuracy, and ``train``.

Padding (id 0) must not count. A batch padded to 12 tokens whose sentences have 5
real words on average would otherwise be graded mostly on predicting padding, which
is easy and teaches nothing. Both the loss and the accuracy here average over real
target tokens only; a row that is all padding contributes nothing at all (it does
not pull the mean towards zero, as dividing by *all* positions would).
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras
from keras import ops

from .config import EPOCH_WEIGHTS_KEPT, TrainConfig, require_count, require_fraction
from .files import replace_atomically, write_json_atomically
from .models.base import PACKAGE


@keras.saving.register_keras_serializable(package=PACKAGE)
def masked_loss(labels, logits):
    """Mean cross-entropy over real (non-padding) target tokens.

    labels (batch, T) int, 0 = padding; logits (batch, T, V). Returns a scalar.
    """
    per_token = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    mask = ops.cast(ops.not_equal(labels, 0), per_token.dtype)       # (batch, T)
    return ops.sum(per_token * mask) / ops.maximum(ops.sum(mask), 1.0)


def smoothed_cross_entropy(labels, logits, label_smoothing: float):
    """Per-token cross-entropy against a smoothed target, (batch, T).

    The target puts 1 − ε on the right word and spreads ε evenly over all V words,
    so the loss is (1 − ε)·(−log p_label) + ε·mean_v(−log p_v). With ε = 0 it is the
    plain cross-entropy.
    """
    logits = ops.cast(logits, "float32")
    nll = keras.losses.sparse_categorical_crossentropy(
        ops.cast(labels, "int32"), logits, from_logits=True)                    # (batch, T)
    if label_smoothing == 0:
        return nll
    spread = -ops.mean(ops.log_softmax(logits, axis=-1), axis=-1)               # (batch, T)
    return (1.0 - label_smoothing) * nll + label_smoothing * spread


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedLoss(keras.losses.Loss):
    """:func:`masked_loss` with label smoothing ε (Szegedy et al. 2016), as a Keras loss.

    Label smoothing keeps the model from pushing one word's probability towards 1:
    a mild regulariser that Vaswani et al. (2017) use with ε = 0.1. The loss a
    smoothed model reports is higher than its cross-entropy; :class:`MaskedCrossEntropy`
    reports the plain one next to it.
    """

    def __init__(self, label_smoothing: float = 0.0, name: str = "masked_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = require_fraction("label_smoothing", label_smoothing)

    def call(self, labels, logits):
        per_token = smoothed_cross_entropy(labels, logits, self.label_smoothing)  # (batch, T)
        mask = ops.cast(ops.not_equal(labels, 0), per_token.dtype)
        return ops.sum(per_token * mask) / ops.maximum(ops.sum(mask), 1.0)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedCrossEntropy(keras.metrics.Metric):
    """Plain (unsmoothed) cross-entropy per real target token, over the whole epoch.

    Logged as ``cross_entropy`` / ``val_cross_entropy``: comparable between runs
    trained with and without label smoothing (``exp`` of it is the perplexity).
    """

    def __init__(self, name="cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total_loss = self.add_weight(name="total_loss", initializer="zeros")
        self.tokens = self.add_weight(name="tokens", initializer="zeros")

    def update_state(self, labels, logits, sample_weight=None):
        per_token = smoothed_cross_entropy(labels, logits, 0.0)                 # (batch, T)
        mask = ops.cast(ops.not_equal(labels, 0), "float32")
        self.total_loss.assign_add(ops.sum(per_token * mask))
        self.tokens.assign_add(ops.sum(mask))

    def result(self):
        return self.total_loss / ops.maximum(self.tokens, 1.0)


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedAccuracy(keras.metrics.Metric):
    """Share of real target tokens whose argmax prediction is right, over the whole epoch.

    Counts are accumulated across batches (correct tokens / real tokens), so long and
    short batches weigh by how many words they hold.
    """

    def __init__(self, name="masked_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.correct = self.add_weight(name="correct", initializer="zeros")
        self.total = self.add_weight(name="total", initializer="zeros")

    def update_state(self, labels, logits, sample_weight=None):
        labels = ops.cast(labels, "int32")
        predictions = ops.cast(ops.argmax(logits, axis=-1), "int32")  # (batch, T)
        mask = ops.not_equal(labels, 0)
        hits = ops.logical_and(mask, ops.equal(predictions, labels))
        self.correct.assign_add(ops.sum(ops.cast(hits, "float32")))
        self.total.assign_add(ops.sum(ops.cast(mask, "float32")))

    def result(self):
        return self.correct / ops.maximum(self.total, 1.0)


def train_step(model: keras.Model, optimizer: keras.optimizers.Optimizer, batch,
               loss_fn=masked_loss):
    """One step of teacher-forced training, written out: what ``fit`` does for every batch.

    ``batch`` is ``((source_ids, decoder_input), labels)`` as :func:`course_lib.text.make_dataset`
    gives it. The forward pass runs inside a ``GradientTape`` (with ``training=True``, so
    dropout is on); the tape's gradients of the loss with respect to every trainable
    weight go to the optimizer, which updates the weights (and clips the gradients if it
    was made with ``clipnorm``). Returns the loss of the batch *before* the update.
    """
    import tensorflow as tf

    (source_ids, decoder_input), labels = batch
    with tf.GradientTape() as tape:
        logits = model((source_ids, decoder_input), training=True)      # (batch, T, V)
        loss = loss_fn(labels, logits)                                   # scalar
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
    return loss


def compile_model(model: keras.Model, learning_rate: float | None = None,
                  jit_compile: bool | None = None,
                  label_smoothing: float | None = None) -> keras.Model:
    """Adam, masked (label-smoothed) loss, masked accuracy and cross-entropy.

    Gradient clipping keeps the RNNs stable. ``learning_rate``, ``jit_compile`` (XLA)
    and ``label_smoothing`` default to :class:`course_lib.config.TrainConfig`.
    XLA compiles one program per batch shape; the bucketed pipeline of
    :func:`course_lib.text.make_dataset` keeps that set of shapes small.
    """
    defaults = TrainConfig()
    learning_rate = defaults.learning_rate if learning_rate is None else learning_rate
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
    smoothing = defaults.label_smoothing if label_smoothing is None else label_smoothing
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=5.0),
        loss=MaskedLoss(smoothing),
        metrics=[MaskedAccuracy(), MaskedCrossEntropy()],
        jit_compile=defaults.jit_compile if jit_compile is None else jit_compile,
    )
    return model


@dataclass
class TrainResult:
    """What ``train`` returns: the history, wall time, and how the run ended.

    ``stopped_by`` is ``"early_stopping"`` (validation loss stopped improving),
    ``"max_epochs"`` (the epoch limit came first) or ``"interrupted"`` (Ctrl-C).
    """

    history: dict
    seconds: float
    epochs_run: int
    stopped_by: str
    best_val_loss: float | None

    @property
    def interrupted(self) -> bool:
        return self.stopped_by == "interrupted"

    def final_metrics(self) -> dict:
        """Validation loss/accuracy of the restored best epoch (and its training numbers)."""
        if not self.history.get("val_loss"):
            return {}
        best = min(range(len(self.history["val_loss"])), key=self.history["val_loss"].__getitem__)
        return {key: float(values[best]) for key, values in self.history.items()} | {
            "best_epoch": best + 1}


class _KeepProgress(keras.callbacks.Callback):
    """Record per-epoch logs, and (with a ``folder``) everything needed to resume.

    After every epoch it writes ``last.keras`` (weights *and* optimizer state),
    ``progress.json`` (epochs done, history, learning rate, early-stopping state) and
    the epoch's weights (``epochs/epoch-NNN.weights.h5``, the last
    :data:`~course_lib.config.EPOCH_WEIGHTS_KEPT` kept, for :func:`average_weights`);
    after every epoch that lowers the validation loss, the best model (``model.keras``).
    Each file is written to a temporary name first and then renamed, so a Ctrl-C, a
    kill or a full disk in the middle of a save never leaves a half-written file.
    """

    def __init__(self, folder: Path | None, history: dict, stopper, plateau,
                 seconds_before: float):
        super().__init__()
        self.folder, self.logs, self.stopper, self.plateau = folder, history, stopper, plateau
        self.seconds_before = seconds_before
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.logs.setdefault(key, []).append(float(value))
        if self.folder is None:
            return
        if self.stopper.best_epoch == epoch:  # this epoch lowered the validation loss
            save_model_atomically(self.model, self.folder / BEST_MODEL)
        save_model_atomically(self.model, self.folder / LAST_MODEL)
        keep_epoch_weights(self.model, self.folder, epoch + 1)
        progress = {"epochs_done": epoch + 1, "history": self.logs,
                    "learning_rate": float(ops.convert_to_numpy(
                        self.model.optimizer.learning_rate)),
                    "early_stopping": {"best": float(self.stopper.best),
                                       "wait": int(self.stopper.wait),
                                       "best_epoch": int(self.stopper.best_epoch)},
                    "learning_rate_plateau": {"best": float(self.plateau.best),
                                              "wait": int(self.plateau.wait),
                                              "cooldown_counter": int(
                                                  self.plateau.cooldown_counter)},
                    "seconds": self.seconds_before + time.perf_counter() - self.start}
        write_json_atomically(self.folder / PROGRESS, progress)


class LinearWarmUp(keras.callbacks.Callback):
    """Raise the learning rate linearly from ~0 to its set value over the first ``steps`` steps.

    Vaswani et al. (2017, §5.3) warm the Transformer up over 4,000 steps because the
    first updates of an untrained network with Adam can be large and erratic. This is
    their warm-up without their inverse-square-root decay: after the warm-up the rate
    is the course's, halved on plateaus like every other model's. Step counts come from
    the optimizer, so a resumed run continues where it was.
    """

    def __init__(self, steps: int, target: float | None = None):
        super().__init__()
        self.steps = require_count("warmup_steps", steps)
        self.target = target   # None: the optimizer's rate when training starts

    def on_train_begin(self, logs=None):
        if self.target is None:
            self.target = float(ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_train_batch_begin(self, batch, logs=None):
        step = int(ops.convert_to_numpy(self.model.optimizer.iterations))
        if step <= self.steps:  # one last call at step == steps sets the full rate
            self.model.optimizer.learning_rate = self.target * min(1.0, (step + 1) / self.steps)


class _ResumesFromState:
    """Mixin for a Keras callback that continues a resumed run from saved attributes.

    Keras resets a callback's memory (best loss, epochs waited…) when training starts;
    ``state`` (names → values, as saved in ``progress.json``) is set again right after.
    """

    def __init__(self, state: dict | None = None, **kwargs):
        super().__init__(**kwargs)
        self.saved_state = state or {}

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        for name, value in self.saved_state.items():
            setattr(self, name, value)


class _ResumableEarlyStopping(_ResumesFromState, keras.callbacks.EarlyStopping):
    """EarlyStopping that can start from a saved state (best loss, epochs waited, best
    epoch and its weights)."""


class _ResumableReduceLROnPlateau(_ResumesFromState, keras.callbacks.ReduceLROnPlateau):
    """ReduceLROnPlateau that can start from a saved state (best loss, epochs waited).

    Without it a resumed run would forget the best validation loss so far: its first
    epoch would count as an improvement whatever its loss, and the rate would not be
    halved when it should (early stopping, which does remember, could then end the run
    before the lower rate ever acted).
    """


#: File names inside a run folder written by :func:`train`.
BEST_MODEL, LAST_MODEL, PROGRESS = "model.keras", "last.keras", "progress.json"


def save_model_atomically(model: keras.Model, path: Path) -> Path:
    """``model.save(path)``, but all or nothing (see :func:`course_lib.files.replace_atomically`)."""
    return replace_atomically(path, model.save)


def clear_checkpoints(folder: str | Path) -> None:
    """Delete the checkpoints of an earlier run, so none can be mistaken for this run's."""
    for name in (BEST_MODEL, LAST_MODEL, PROGRESS, "run.json"):
        (Path(folder) / name).unlink(missing_ok=True)
    for path in epoch_weights(folder).values():
        path.unlink()


# --------------------------------------------------------------------------- checkpoint averaging

#: The folder inside a run folder that holds the weights of the last epochs.
EPOCH_WEIGHTS = "epochs"


def epoch_weights(folder: str | Path) -> dict[int, Path]:
    """The epoch weights kept in a run folder: ``{epoch number (from 1): path}``, in order."""
    found = {}
    for path in (Path(folder) / EPOCH_WEIGHTS).glob("epoch-*.weights.h5"):
        number = path.name.removeprefix("epoch-").removesuffix(".weights.h5")
        if number.isdigit():
            found[int(number)] = path
    return dict(sorted(found.items()))


def keep_epoch_weights(model: keras.Model, folder: Path, epoch: int,
                       kept: int = EPOCH_WEIGHTS_KEPT) -> Path:
    """Save ``model``'s weights as epoch ``epoch``'s and delete those older than ``kept`` epochs."""
    path = Path(folder) / EPOCH_WEIGHTS / f"epoch-{epoch:03d}.weights.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(path, model.save_weights)
    for number, older in epoch_weights(folder).items():
        if number <= epoch - kept or number > epoch:  # too old, or left by an earlier attempt
            older.unlink()
    return path


def average_weights(model: keras.Model, paths: list[str | Path]) -> keras.Model:
    """Set ``model``'s weights to the mean of the weights saved in ``paths``; return it.

    Checkpoint averaging (Junczys-Dowmunt, Dwojak & Hoang 2016; Vaswani et al. 2017,
    §6.1, average the last 5 or 20 checkpoints): the weights of neighbouring epochs
    lie close together in one basin of the loss, and their mean often sits nearer its
    floor than any one of them: a free ensemble that costs no extra decoding time.
    Weights that are not floating point (counters) are taken from the last file.
    """
    if not paths:
        raise ValueError("average_weights needs at least one weights file")
    total = None
    for path in paths:
        model.load_weights(path)
        weights = model.get_weights()
        total = weights if total is None else [t + w for t, w in zip(total, weights, strict=True)]
    last = model.get_weights()
    model.set_weights([t / len(paths) if t.dtype.kind == "f" else w
                       for t, w in zip(total, last, strict=True)])
    return model


def read_progress(folder: str | Path) -> dict | None:
    """The resume state saved by :func:`train` in ``folder``, or ``None`` (none, or unreadable)."""
    path = Path(folder) / PROGRESS
    if not (path.exists() and (Path(folder) / LAST_MODEL).exists()):
        return None
    try:
        progress = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError):  # written atomically, so only a hand edit can break it
        return None
    return progress if isinstance(progress, dict) and "epochs_done" in progress else None




def _make_ready(model, learning_rate):
    """Compile ``model`` if it is not yet (an already compiled one keeps its optimizer)."""
    if getattr(model, "optimizer", None) is None:
        compile_model(model, learning_rate)
    elif learning_rate is not None:
        warnings.warn("train(learning_rate=...) is ignored: the model is already compiled with "
                      "its own optimizer (compile it again to change the learning rate)",
                      stacklevel=3)


def _early_stopper(model, folder, patience, resume_from) -> _ResumableEarlyStopping:
    """Early stopping on the validation loss, continuing a resumed run's state."""
    state = resume_from.get("early_stopping")
    if state:
        best_weights = keras.saving.load_model(folder / BEST_MODEL).get_weights()
        state = {**state, "best_weights": best_weights}
        model.optimizer.learning_rate = resume_from["learning_rate"]
    return _ResumableEarlyStopping(state=state, monitor="val_loss", patience=patience,
                                   restore_best_weights=True)


def _learning_rate_halver(resume_from) -> _ResumableReduceLROnPlateau:
    """Halve the rate after every epoch without a lower validation loss, resuming its state.

    A run saved before this state was kept (course_lib < 0.6.10) resumes from the best
    validation loss that early stopping remembered.
    """
    state = resume_from.get("learning_rate_plateau")
    if state is None and resume_from.get("early_stopping"):
        state = {"best": resume_from["early_stopping"]["best"], "wait": 0}
    return _ResumableReduceLROnPlateau(state=state, monitor="val_loss", factor=0.5, patience=0,
                                       min_lr=1e-5, verbose=0)


def _restore_best_after_interrupt(model, folder) -> None:
    best = folder / BEST_MODEL if folder is not None else None
    if best is not None and best.exists():
        model.set_weights(keras.saving.load_model(best).get_weights())
        print(f"\nInterrupted: restored the best checkpoint so far from {best}")
    else:
        print("\nInterrupted before the first epoch finished: no checkpoint to restore.")


def train(
    model: keras.Model,
    train_ds,
    val_ds,
    epochs: int | None = None,
    patience: int | None = None,
    folder: str | Path | None = None,
    resume_from: dict | None = None,
    steps_per_epoch: int | None = None,
    verbose: int | str = "auto",
    learning_rate: float | None = None,
    warmup: LinearWarmUp | None = None,
) -> TrainResult:
    """Fit with teacher forcing until early stopping on validation loss; keep the best weights.

    * Early stopping: ``patience`` epochs without a lower validation loss end the
      run, and the weights of the best epoch are restored. The learning rate is
      halved after each epoch without improvement (``ReduceLROnPlateau``), so with
      ``patience`` ≥ 2 the lower rate gets at least one epoch before the run stops.
    * ``folder``: the best model is saved there as ``model.keras`` after every
      improving epoch, and the resume state (``last.keras``, ``progress.json``) after
      every epoch, each file written atomically. ``resume_from`` (from
      :func:`read_progress`) continues a run whose ``model`` was loaded from ``last.keras``.
    * ``warmup`` (a :class:`LinearWarmUp`) raises the learning rate over the first steps.
    * Ctrl-C ends training cleanly: the best checkpoint (if any) is restored and
      the result says ``stopped_by="interrupted"``.

    ``epochs``, ``patience`` and ``learning_rate`` default to :class:`course_lib.config.TrainConfig`.
    An already compiled model keeps its optimizer; a ``learning_rate`` given for it
    is ignored, with a warning.
    """
    defaults = TrainConfig()
    epochs = require_count("epochs", defaults.epochs if epochs is None else epochs, 1)
    patience = require_count("patience", defaults.patience if patience is None else patience, 0)
    if steps_per_epoch is not None:
        require_count("steps_per_epoch", steps_per_epoch, 1)
    _make_ready(model, learning_rate)
    folder = Path(folder) if folder is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    resume_from = resume_from or {}
    history = {key: list(values) for key, values in resume_from.get("history", {}).items()}
    stopper = _early_stopper(model, folder, patience, resume_from)
    plateau = _learning_rate_halver(resume_from)
    progress = _KeepProgress(folder, history, stopper, plateau, resume_from.get("seconds", 0.0))
    callbacks = [
        *([warmup] if warmup is not None else []),
        plateau,
        stopper,
        progress,  # after the stopper, so it saves the stopper's updated state
    ]
    start = time.perf_counter()
    stopped_by = "max_epochs"
    try:
        with warnings.catch_warnings():
            # Bucketed datasets have no known length; Keras warns when one ends. Expected.
            warnings.filterwarnings("ignore", message=".*ran out of data.*")
            model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=callbacks,
                      initial_epoch=resume_from.get("epochs_done", 0),
                      steps_per_epoch=steps_per_epoch, verbose=verbose, shuffle=False)
        if stopper.stopped_epoch > 0:
            stopped_by = "early_stopping"
    except KeyboardInterrupt:
        stopped_by = "interrupted"
        _restore_best_after_interrupt(model, folder)
    seconds = resume_from.get("seconds", 0.0) + time.perf_counter() - start
    val = history.get("val_loss")
    return TrainResult(history=history, seconds=seconds, epochs_run=len(val or []),
                       stopped_by=stopped_by, best_val_loss=min(val) if val else None)
