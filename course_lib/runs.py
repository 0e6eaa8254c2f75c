"""Trained runs on disk: train a model end to end, save it, load it back, or reuse it.

A run folder holds everything needed to translate again later::

    model.keras          the trained model (Keras 3 format, custom layers registered)
    source_vocab.json    exact vocabularies (ids = positions)
    target_vocab.json
    run.json             kind, sizes, data checksum, library versions, time, metrics

Notebooks call :func:`load_or_train`: a chapter that needs the model of an earlier
chapter loads it from the models folder when it is there and trains it otherwise.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from . import __version__, config
from .data import PreparedData
from .decoding import Translator

#: Bumped when the folder layout or model classes change incompatibly.
FORMAT_VERSION = 1
REQUIRED_FILES = ("model.keras", "source_vocab.json", "target_vocab.json", "run.json")


class RunError(Exception):
    """A run folder that is missing, incomplete or written by an incompatible version."""


@dataclass(frozen=True)
class RunSettings:
    """Everything that determines a training run (written to run.json)."""

    kind: str = "attention"
    source_vocab: int = config.ModelConfig.source_vocab
    target_vocab: int = config.ModelConfig.target_vocab
    embedding_dim: int = config.ModelConfig.embedding_dim
    units: int = config.ModelConfig.units
    epochs: int = config.TrainConfig.epochs
    batch_size: int = config.TrainConfig.batch_size
    max_train_pairs: int | None = None   # a seeded random sample of the training split
    max_source_length: int | None = None  # keep only pairs whose English has ≤ this many tokens
    patience: int = config.TrainConfig.patience
    learning_rate: float = config.TrainConfig.learning_rate
    seed: int = config.SEED

    @staticmethod
    def for_mode(kind: str) -> RunSettings:
        """The notebooks' settings: full, or shrunk when quick mode is on."""
        train = config.TrainConfig.for_mode()
        return RunSettings(kind=kind, epochs=train.epochs, max_train_pairs=train.max_train_pairs,
                           patience=train.patience, batch_size=train.batch_size)


@dataclass
class Run:
    """A loaded run: model, vectorizers, metadata, and a ready Translator."""

    folder: Path
    model: object
    vectorizers: object
    metadata: dict

    @property
    def translator(self) -> Translator:
        md = self.metadata
        return Translator(self.model, self.vectorizers,
                          max_source_tokens=md.get("max_source_tokens", 40),
                          max_output_tokens=md.get("max_target_tokens", 48) + 2)


def library_versions() -> dict:
    import keras
    import tensorflow as tf

    return {"course_lib": __version__, "tensorflow": tf.__version__, "keras": keras.__version__,
            "python": platform.python_version()}


def hardware() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU: {details.get('device_name', gpus[0].name)}"
    import os

    return f"CPU: {os.cpu_count()} cores ({platform.processor() or platform.machine()})"


def train_run(data: PreparedData, settings: RunSettings, out: str | Path | None = None,
              verbose: int | str = "auto"):
    """Train one model on the prepared data; save it to ``out`` if given. Returns a Run.

    The vocabularies are counted on the full training split (so quick and full runs
    share them); ``max_train_pairs`` then limits the pairs used for gradient steps.
    """
    from . import models, text, training

    config.seed_everything(settings.seed)
    vectorizers = text.Vectorizers.from_pairs(data.train, settings.source_vocab,
                                              settings.target_vocab)
    train_pairs = select_pairs(data.train, settings.max_source_length, settings.max_train_pairs,
                               settings.seed)
    val_pairs = select_pairs(data.val, settings.max_source_length, None, settings.seed)
    train_ds = text.make_dataset(train_pairs, vectorizers, settings.batch_size, seed=settings.seed)
    val_ds = text.make_dataset(val_pairs, vectorizers, settings.batch_size, shuffle=False)
    model = models.build_model(settings.kind, len(vectorizers.source_vocab),
                               len(vectorizers.target_vocab), settings.embedding_dim,
                               settings.units)
    checkpoint = Path(out) / "model.keras" if out is not None else None
    if checkpoint is not None:
        vectorizers.save(out)  # written first: a Ctrl-C'd run still has a usable folder
    training.compile_model(model, settings.learning_rate)
    result = training.train(model, train_ds, val_ds, epochs=settings.epochs,
                            patience=settings.patience, checkpoint=checkpoint, verbose=verbose)
    metadata = {
        "format_version": FORMAT_VERSION,
        "settings": asdict(settings),
        "kind": settings.kind,
        "parameters": int(model.count_params()),
        "train_pairs": len(train_pairs),
        "data_sha256": data.stats.get("sha256"),
        "max_source_tokens": data.length_cut.max_source_tokens,
        "max_target_tokens": data.length_cut.max_target_tokens,
        "versions": library_versions(),
        "hardware": hardware(),
        "train_seconds": round(result.seconds, 1),
        "epochs_run": result.epochs_run,
        "interrupted": result.interrupted,
        "final_metrics": result.final_metrics(),
        "history": result.history,
    }
    run = Run(Path(out) if out else None, model, vectorizers, metadata)
    if out is not None:
        save_run(run, out)
    return run


def select_pairs(pairs: list, max_source_length: int | None = None,
                 max_pairs: int | None = None, seed: int = config.SEED) -> list:
    """Optionally keep short sources only, then a seeded random sample of ``max_pairs``.

    A random sample (not the first N lines) matters: the corpus file is sorted by
    sentence length, so its first lines are all two-word phrases.
    """
    import numpy as np

    if max_source_length is not None:
        pairs = [p for p in pairs if len(p[0].split()) <= max_source_length]
    if max_pairs is not None and max_pairs < len(pairs):
        chosen = np.random.default_rng(seed).choice(len(pairs), size=max_pairs, replace=False)
        pairs = [pairs[i] for i in sorted(chosen)]
    return pairs


def save_run(run: Run, folder: str | Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    run.model.save(folder / "model.keras")
    run.vectorizers.save(folder)
    (folder / "run.json").write_text(json.dumps(run.metadata, indent=1), encoding="utf-8")
    return folder


def load_run(folder: str | Path) -> Run:
    """Load a run folder, with a clear :class:`RunError` for every way it can be wrong."""
    import keras

    from . import (
        models,  # noqa: F401  (registers the custom classes for deserialisation)
        training,  # noqa: F401
    )
    from .text import Vectorizers

    folder = Path(folder)
    if not folder.is_dir():
        raise RunError(f"run folder {folder} does not exist: train one with "
                       f"`python -m course_lib train --model attention --out {folder}`")
    missing = [name for name in REQUIRED_FILES if not (folder / name).exists()]
    if missing:
        raise RunError(f"run folder {folder} is incomplete (missing {', '.join(missing)}); "
                       "it was probably interrupted before the first epoch ended: train again")
    try:
        metadata = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise RunError(f"{folder / 'run.json'} is not valid JSON ({error}); train again") from None
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise RunError(f"{folder} was written by run format {version!r} (course_lib "
                       f"{metadata.get('versions', {}).get('course_lib', '?')}); this course_lib "
                       f"({__version__}) reads format {FORMAT_VERSION}: retrain the model")
    try:
        model = keras.saving.load_model(folder / "model.keras")
    except Exception as error:  # a broken or foreign .keras file
        raise RunError(f"could not load {folder / 'model.keras'}: {error}") from None
    return Run(folder, model, Vectorizers.load(folder), metadata)


def load_or_train(kind: str, data: PreparedData, folder: str | Path | None = None,
                  settings: RunSettings | None = None, verbose: int | str = "auto") -> Run:
    """Reuse the trained model in ``folder`` if it matches the settings; train it otherwise.

    Default folder: ``<models dir>/<kind>`` for full runs, ``<kind>-quick`` in quick mode.
    """
    settings = settings or RunSettings.for_mode(kind)
    if folder is None:
        folder = config.models_dir() / (kind + ("-quick" if config.quick_mode() else ""))
    folder = Path(folder)
    try:
        run = load_run(folder)
        if (run.metadata.get("settings") == asdict(settings)
                and run.metadata.get("data_sha256") == data.stats.get("sha256")):
            print(f"Loaded the trained {kind} model from {folder} "
                  f"(trained in {run.metadata['train_seconds']:.0f} s on {run.metadata['hardware']}).")
            return run
        print(f"The model in {folder} was trained with other settings or data: training anew.")
    except RunError:
        pass
    print(f"Training the {kind} model ({settings.epochs} epoch(s), "
          f"{settings.max_train_pairs or len(data.train):,} pairs); it is saved to {folder}.")
    start = time.perf_counter()
    run = train_run(data, settings, folder, verbose=verbose)
    print(f"Trained in {time.perf_counter() - start:.0f} s.")
    return run
