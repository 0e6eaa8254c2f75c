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

import contextlib
import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from . import __version__, config
from .data import PreparedData
from .decoding import Translator

#: Bumped when the folder layout or model classes change incompatibly.
#: 2: Cho et al. baseline, paper-named attention weights, run status and resume state.
FORMAT_VERSION = 2
REQUIRED_FILES = ("model.keras", "source_vocab.json", "target_vocab.json", "run.json")


class RunError(Exception):
    """A run folder that is missing, incomplete, unfinished or written by an incompatible version."""


@dataclass(frozen=True)
class RunSettings:
    """Everything that determines a training run (written to run.json).

    Defaults come from :mod:`course_lib.config`; :meth:`for_profile` picks a profile's.
    """

    kind: str = "attention"
    source_vocab: int = config.ModelConfig.source_vocab
    target_vocab: int = config.ModelConfig.target_vocab
    embedding_dim: int = config.ModelConfig.embedding_dim
    units: int = config.ModelConfig.units
    subword_merges: int | None = config.ModelConfig.subword_merges
    epochs: int = config.TrainConfig.epochs
    batch_size: int = config.TrainConfig.batch_size
    max_train_pairs: int | None = None   # a seeded random sample of the training split
    max_source_length: int | None = None  # keep only pairs whose English has ≤ this many tokens
    patience: int = config.TrainConfig.patience
    learning_rate: float = config.TrainConfig.learning_rate
    jit_compile: bool = config.TrainConfig.jit_compile
    mixed_precision: bool = config.TrainConfig.mixed_precision
    seed: int = config.SEED
    profile: str = "custom"

    @staticmethod
    def for_profile(kind: str, profile: str | None = None) -> RunSettings:
        """The settings of a training profile (default: the one in force, see ``config.profile``)."""
        profile = profile or config.profile()
        sizes, train = config.ModelConfig.for_profile(profile), config.TrainConfig.for_profile(profile)
        return RunSettings(kind=kind, **asdict(sizes), **asdict(train), profile=profile)

    #: The notebooks' name for :meth:`for_profile` with the profile in force.
    for_mode = for_profile


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
    gpu = config.gpu_name()
    if gpu:
        return f"GPU: {gpu}"
    import os

    return f"CPU: {os.cpu_count()} cores ({platform.processor() or platform.machine()})"


def _resume_message(folder: Path, metadata: dict) -> str:
    return (f"the run in {folder} did not finish ({metadata.get('status')} after "
            f"{metadata.get('epochs_run', 0)} epoch(s)): continue it with `python -m course_lib "
            f"train --model {metadata.get('kind', 'KIND')} --out {folder} --resume`, or train "
            "it again")


def train_run(data: PreparedData, settings: RunSettings, out: str | Path | None = None,
              verbose: int | str = "auto", resume: bool = False, strategy=None):
    """Train one model on the prepared data; save it to ``out`` if given. Returns a Run.

    The vocabularies are counted on the full training split (so every profile
    shares them for given sizes); ``max_train_pairs`` then limits the pairs used for
    gradient steps. A new run first deletes the checkpoints of any earlier run in
    ``out``. ``resume=True`` continues the unfinished run in ``out`` from its last
    completed epoch (same settings required). ``strategy``: a ``tf.distribute``
    strategy (e.g. ``MirroredStrategy`` for several GPUs); the model is built and
    compiled in its scope.
    """
    import keras

    from . import models, text, training

    out = Path(out) if out is not None else None
    progress = _progress_to_resume(out, settings, data) if resume else None
    if out is not None and progress is None:
        training.clear_checkpoints(out)
    config.seed_everything(settings.seed)
    if settings.mixed_precision and config.gpu_name():
        keras.mixed_precision.set_global_policy("mixed_float16")
    vectorizers = text.Vectorizers.from_pairs(data.train, settings.source_vocab,
                                              settings.target_vocab, settings.subword_merges)
    train_pairs = select_pairs(data.train, settings.max_source_length, settings.max_train_pairs,
                               settings.seed)
    val_pairs = select_pairs(data.val, settings.max_source_length, None, settings.seed)
    train_ds = text.make_dataset(train_pairs, vectorizers, settings.batch_size, seed=settings.seed)
    val_ds = text.make_dataset(val_pairs, vectorizers, settings.batch_size, shuffle=False)
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    try:
        with scope:
            if progress is not None:
                model = keras.saving.load_model(out / training.LAST_MODEL)
                print(f"Resuming {out} after epoch {progress['epochs_done']}.")
            else:
                model = models.build_model(settings.kind, len(vectorizers.source_vocab),
                                           len(vectorizers.target_vocab), settings.embedding_dim,
                                           settings.units)
                training.compile_model(model, settings.learning_rate, settings.jit_compile)
        if out is not None:
            vectorizers.save(out)
            if progress is None:  # marks the folder as unfinished until training ends
                _write_metadata(out, {"format_version": FORMAT_VERSION, "status": "running",
                                      "kind": settings.kind, "settings": asdict(settings),
                                      "data_sha256": data.stats.get("sha256"), "epochs_run": 0})
        result = training.train(model, train_ds, val_ds, epochs=settings.epochs,
                                patience=settings.patience, folder=out, resume_from=progress,
                                verbose=verbose)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    metadata = {
        "format_version": FORMAT_VERSION,
        "status": "interrupted" if result.interrupted else "complete",
        "stopped_by": result.stopped_by,
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
    run = Run(out, model, vectorizers, metadata)
    if out is not None:
        if result.interrupted:  # keep the checkpoints; record what happened, save nothing as final
            _write_metadata(out, metadata)
        else:
            save_run(run, out)
    return run


def _progress_to_resume(out: Path | None, settings: RunSettings, data: PreparedData) -> dict:
    from . import training

    if out is None:
        raise RunError("--resume needs the run folder (--out) of the run to continue")
    progress = training.read_progress(out)
    if progress is None:
        raise RunError(f"{out} holds no resumable run (no progress.json / last.keras): "
                       "train without --resume")
    metadata = _read_metadata(out) if (out / "run.json").exists() else {}
    if metadata and (_settings_of(metadata) != settings
                     or metadata.get("data_sha256") != data.stats.get("sha256")):
        raise RunError(f"the run in {out} was started with other settings or data; "
                       "resume it with the same options, or train without --resume")
    return progress


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
    _write_metadata(folder, run.metadata)
    return folder


def _write_metadata(folder: Path, metadata: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_text(json.dumps(metadata, indent=1), encoding="utf-8")


def _read_metadata(folder: Path) -> dict:
    try:
        return json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise RunError(f"{folder / 'run.json'} is not valid JSON ({error}); train again") from None


def load_run(folder: str | Path) -> Run:
    """Load a finished run folder, with a clear :class:`RunError` for every way it can be wrong.

    An interrupted run is refused (with the command that resumes it): its model is
    not trained, and using it as if it were would give misleading results.
    """
    import keras

    from . import (
        models,  # noqa: F401  (registers the custom classes for deserialisation)
        training,
    )
    from .text import Vectorizers

    folder = Path(folder)
    if not folder.is_dir():
        raise RunError(f"run folder {folder} does not exist: train one with "
                       f"`python -m course_lib train --model attention --out {folder}`")
    if (folder / "run.json").exists():
        metadata = _read_metadata(folder)
        if metadata.get("status", "complete") != "complete":
            progress = training.read_progress(folder)
            metadata["epochs_run"] = progress["epochs_done"] if progress else 0
            raise RunError(_resume_message(folder, metadata))
    missing = [name for name in REQUIRED_FILES if not (folder / name).exists()]
    if missing:
        raise RunError(f"run folder {folder} is incomplete (missing {', '.join(missing)}); "
                       "it was probably interrupted before the first epoch ended: train again")
    metadata = _read_metadata(folder)
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


def _settings_of(metadata: dict) -> RunSettings | None:
    """The settings a run folder was trained with (settings added later take their defaults)."""
    try:
        return RunSettings(**metadata.get("settings", {}))
    except TypeError:  # a setting this version of the course does not know
        return None


def default_folder(kind: str, profile: str | None = None) -> Path:
    """``<models dir>/<kind>`` for the reference (gpu) profile, ``<kind>-<profile>`` otherwise."""
    profile = profile or config.profile()
    return config.models_dir() / (kind if profile == "gpu" else f"{kind}-{profile}")


def load_or_train(kind: str, data: PreparedData, folder: str | Path | None = None,
                  settings: RunSettings | None = None, verbose: int | str = "auto") -> Run:
    """Reuse the trained model in ``folder`` if it matches the settings; train it otherwise.

    An unfinished run with the same settings (Colab disconnected, Ctrl-C) is resumed
    from its last completed epoch instead of starting again.
    """
    from . import training

    settings = settings or RunSettings.for_profile(kind)
    folder = Path(folder) if folder is not None else default_folder(kind, settings.profile)
    same = False
    if (folder / "run.json").exists():
        metadata = _read_metadata(folder)
        same = (_settings_of(metadata) == settings
                and metadata.get("data_sha256") == data.stats.get("sha256"))
    if same and metadata.get("status") == "complete":
        try:
            run = load_run(folder)
            print(f"Loaded the trained {kind} model from {folder} ({run.metadata['stopped_by']} "
                  f"after {run.metadata['epochs_run']} epochs, {run.metadata['train_seconds']:.0f} s "
                  f"on {run.metadata['hardware']}).")
            return run
        except RunError as error:
            print(f"Could not reuse {folder} ({error}): training anew.")
    resume = same and training.read_progress(folder) is not None
    if resume:
        try:
            _progress_to_resume(folder, settings, data)
        except RunError:
            resume = False
    if not resume and (folder / "run.json").exists():
        print(f"The model in {folder} was trained with other settings or data: training anew.")
    print(f"{'Resuming' if resume else 'Training'} the {kind} model (profile {settings.profile!r}: "
          f"up to {settings.epochs} epoch(s) until early stopping, "
          f"{settings.max_train_pairs or len(data.train):,} pairs); it is saved to {folder}.")
    start = time.perf_counter()
    run = train_run(data, settings, folder, verbose=verbose, resume=resume)
    print(f"Trained in {time.perf_counter() - start:.0f} s ({run.metadata['stopped_by']}).")
    return run
