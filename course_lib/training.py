"""Training with teacher forcing: the masked loss, masked accuracy, and ``train``.

Padding (id 0) must not count. A batch padded to 12 tokens whose sentences have 5
real words on average would otherwise be graded mostly on predicting padding, which
is easy and teaches nothing. Both the loss and the accuracy here average over real
target tokens only; a row that is all padding contributes nothing at all (it does
not pull the mean towards zero, as dividing by *all* positions would).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras
from keras import ops

from .models.baseline import PACKAGE


@keras.saving.register_keras_serializable(package=PACKAGE)
def masked_loss(labels, logits):
    """Mean cross-entropy over real (non-padding) target tokens.

    labels (batch, T) int, 0 = padding; logits (batch, T, V). Returns a scalar.
    """
    per_token = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    mask = ops.cast(ops.not_equal(labels, 0), per_token.dtype)       # (batch, T)
    return ops.sum(per_token * mask) / ops.maximum(ops.sum(mask), 1.0)


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


def compile_model(model: keras.Model, learning_rate: float = 1e-3) -> keras.Model:
    """Adam, masked loss, masked accuracy. Gradient clipping keeps the RNNs stable."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=5.0),
        loss=masked_loss,
        metrics=[MaskedAccuracy()],
        jit_compile=False,  # batches vary in length; XLA would recompile for every shape
    )
    return model


@dataclass
class TrainResult:
    """What ``train`` returns: the Keras history dict, wall time, and how it ended."""

    history: dict
    seconds: float
    epochs_run: int
    interrupted: bool
    best_val_loss: float | None

    def final_metrics(self) -> dict:
        """Validation loss/accuracy of the restored best epoch (and its training numbers)."""
        if not self.history.get("val_loss"):
            return {}
        best = min(range(len(self.history["val_loss"])), key=self.history["val_loss"].__getitem__)
        return {key: float(values[best]) for key, values in self.history.items()} | {
            "best_epoch": best + 1}


class _KeepHistory(keras.callbacks.Callback):
    """Record per-epoch logs ourselves, so an interrupted run still has its history."""

    def __init__(self):
        super().__init__()
        self.logs: dict[str, list[float]] = {}

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.logs.setdefault(key, []).append(float(value))


def train(
    model: keras.Model,
    train_ds,
    val_ds,
    epochs: int = 10,
    patience: int = 2,
    checkpoint: str | Path | None = None,
    steps_per_epoch: int | None = None,
    verbose: int | str = "auto",
    learning_rate: float = 1e-3,
) -> TrainResult:
    """Fit with teacher forcing, early stopping on validation loss, best weights restored.

    ``checkpoint`` (a ``.keras`` path) keeps the best model on disk after every
    improving epoch, so an interrupted run (Ctrl-C) still leaves the best model so far:
    on KeyboardInterrupt the best checkpoint is reloaded into ``model`` and training
    returns normally with ``interrupted=True``.
    """
    if getattr(model, "optimizer", None) is None:
        compile_model(model, learning_rate)
    recorder = _KeepHistory()
    callbacks = [
        recorder,
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                      restore_best_weights=True),
    ]
    if checkpoint is not None:
        Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
        callbacks.append(keras.callbacks.ModelCheckpoint(str(checkpoint), monitor="val_loss",
                                                         save_best_only=True))
    start = time.perf_counter()
    interrupted = False
    try:
        with warnings.catch_warnings():
            # Bucketed datasets have no known length; Keras warns when one ends. Expected.
            warnings.filterwarnings("ignore", message=".*ran out of data.*")
            model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=callbacks,
                      steps_per_epoch=steps_per_epoch, verbose=verbose, shuffle=False)
    except KeyboardInterrupt:
        interrupted = True
        if checkpoint is not None and Path(checkpoint).exists():
            model.set_weights(keras.saving.load_model(checkpoint).get_weights())
            print(f"\nInterrupted: restored the best checkpoint so far from {checkpoint}")
        else:
            print("\nInterrupted before the first epoch finished: no checkpoint to restore.")
    seconds = time.perf_counter() - start
    val = recorder.logs.get("val_loss")
    return TrainResult(history=recorder.logs, seconds=seconds, epochs_run=len(val or []),
                       interrupted=interrupted, best_val_loss=min(val) if val else None)
