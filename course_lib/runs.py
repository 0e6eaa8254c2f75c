"""Trained runs on disk: train a model end to end, save it, load it back, or reuse it.

A run folder holds everything needed to translate again later::

    model.keras          the trained model (Keras 3 format, custom layers registered)
    source_vocab.json    exact vocabularies (ids = positions); with subwords also
    target_vocab.json    source_bpe.json / target_bpe.json (the merges)
    run.json             kind, settings, data checksum, the files' SHA-256, library
                         versions, hardware, training time, validation metrics
    epochs/              the weights of the last epochs (for checkpoint averaging,
                         :func:`course_lib.training.average_weights`); not needed to translate
    unfinished/          only while a run trains or after it was interrupted: its
                         checkpoints (model.keras = best so far, last.keras, progress.json,
                         epochs/) and its own run.json with status "running" or "interrupted"
    .lock                held by the process that trains into the folder

Nothing a user does can lose a finished run: a new training writes into
``unfinished/`` and replaces the finished files only once it has finished (each file
renamed into place in one step, ``run.json`` last, the files' checksums recorded in
it), and a folder is locked while a process trains into it.

Notebooks call :func:`load_or_train`: a chapter that needs the model of an earlier
chapter loads it from the models folder when it is there and trains it otherwise.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import shutil
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from . import __version__, config
from .data import PreparedData
from .decoding import Translator
from .files import check_output_folder, sha256, write_json_atomically

#: Bumped when the folder layout or model classes change incompatibly.
#: 2: Cho et al. baseline, paper-named attention weights, run status and resume state.
#: 3: readouts with a nonlinearity, dropout, label smoothing (course_lib 0.5.0).
FORMAT_VERSION = 3
REQUIRED_FILES = ("model.keras", "source_vocab.json", "target_vocab.json", "run.json")
#: The subfolder that holds a training in progress (see the module docstring).
UNFINISHED = "unfinished"
LOCK = ".lock"
_OPTIONAL_FILES = ("source_bpe.json", "target_bpe.json")


class RunError(Exception):
    """A run folder that is missing, incomplete, unfinished or written by an incompatible version."""


class SettingsError(RunError, ValueError):
    """Training settings that cannot be used (a size of 0, an unknown kind or profile…)."""


class SettingsMismatch(SettingsError):
    """Options given to resume a run that differ from the settings it was started with.

    ``differences`` maps each setting name to ``(given, the run's)``.
    """

    def __init__(self, folder, differences: dict):
        self.folder, self.differences = folder, differences
        listed = ", ".join(f"{name}={given!r} (the run has {stored!r})"
                           for name, (given, stored) in differences.items())
        super().__init__(f"the run in {folder} was started with other settings: {listed}. "
                         "Resume it without these options (it keeps its own), or train anew "
                         "without --resume")


def _whole(value, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


@dataclass(frozen=True)
class RunSettings:
    """Everything that determines a training run (written to run.json).

    Defaults come from :mod:`course_lib.config`; :meth:`for_profile` picks a profile's.
    Every value is checked when the settings are made: a size of 0 or an unknown kind
    raises :class:`SettingsError` instead of being replaced by a default later.
    """

    kind: str = "attention"
    source_vocab: int = config.ModelConfig.source_vocab
    target_vocab: int = config.ModelConfig.target_vocab
    embedding_dim: int = config.ModelConfig.embedding_dim
    units: int = config.ModelConfig.units
    subword_merges: int | None = config.ModelConfig.subword_merges
    readout: str = config.ModelConfig.readout
    dropout: float = config.ModelConfig.dropout
    epochs: int = config.TrainConfig.epochs
    batch_size: int = config.TrainConfig.batch_size
    max_train_pairs: int | None = None   # a seeded random sample of the training split
    max_source_length: int | None = None  # keep only pairs whose English has ≤ this many tokens
    patience: int = config.TrainConfig.patience
    learning_rate: float = config.TrainConfig.learning_rate
    label_smoothing: float = config.TrainConfig.label_smoothing
    warmup_steps: int = config.TrainConfig.warmup_steps
    jit_compile: bool = config.TrainConfig.jit_compile
    mixed_precision: bool = config.TrainConfig.mixed_precision
    seed: int = config.SEED
    profile: str = "custom"

    def __post_init__(self):
        problems = self.problems()
        if problems:
            raise SettingsError("invalid training settings: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """What is wrong with these settings, one phrase per setting (empty when all is well)."""
        from .models import MODEL_KINDS

        problems = []
        if self.kind not in MODEL_KINDS:
            problems.append(f"kind {self.kind!r} is not a model kind (choose one of "
                            f"{', '.join(sorted(MODEL_KINDS))})")
        minimums = {"source_vocab": 5, "target_vocab": 5, "embedding_dim": 1, "units": 1,
                    "epochs": 1, "batch_size": 1, "patience": 0, "seed": 0, "warmup_steps": 0}
        for name, minimum in minimums.items():
            if not _whole(getattr(self, name), minimum):
                problems.append(f"{name} must be a whole number ≥ {minimum}, "
                                f"got {getattr(self, name)!r}")
        for name in ("subword_merges", "max_train_pairs", "max_source_length"):
            value = getattr(self, name)
            if value is not None and not _whole(value, 1):
                problems.append(f"{name} must be a whole number ≥ 1 or None, got {value!r}")
        rate = self.learning_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < 10:
            problems.append(f"learning_rate must be a number between 0 and 10, got {rate!r}")
        for name in ("dropout", "label_smoothing"):
            try:
                config.require_fraction(name, getattr(self, name))
            except config.ConfigError as error:
                problems.append(str(error))
        from .models import READOUTS

        if self.readout not in READOUTS:
            problems.append(f"readout must be one of {', '.join(READOUTS)}, got {self.readout!r}")
        for name in ("jit_compile", "mixed_precision"):
            if not isinstance(getattr(self, name), bool):
                problems.append(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.profile not in (*config.PROFILES, "custom"):
            problems.append(f"profile {self.profile!r} is not one of "
                            f"{', '.join(config.PROFILES)} or 'custom'")
        return problems

    @staticmethod
    def for_profile(kind: str, profile: str | None = None) -> RunSettings:
        """The settings of a training profile (default: the one in force, see ``config.profile``)."""
        try:
            profile = config.check_profile(profile or config.profile())
        except config.ConfigError as error:
            raise SettingsError(str(error)) from None
        sizes, train = config.ModelConfig.for_profile(profile), config.TrainConfig.for_profile(profile)
        if kind == "transformer" and profile != "quick":  # differs by kind (measured); the
            # quick profile's single short epoch (63 steps) would never reach the full rate
            train = dataclasses.replace(train,
                                        warmup_steps=config.TransformerConfig.warmup_steps)
        return RunSettings(kind=kind, **asdict(sizes), **asdict(train), profile=profile)

    #: The notebooks' name for :meth:`for_profile` with the profile in force.
    for_mode = for_profile

    @staticmethod
    def from_metadata(metadata: dict, where: str = "run.json") -> RunSettings:
        """The settings recorded in a run's metadata; :class:`SettingsError` if they are unusable.

        Settings added to the course after the run was made take their defaults.
        """
        stored = metadata.get("settings")
        if not isinstance(stored, dict):
            raise SettingsError(f"{where} records no settings: train the model again")
        known = {field.name for field in dataclasses.fields(RunSettings)}
        unknown = sorted(set(stored) - known)
        if unknown:
            raise SettingsError(f"{where} has settings this course_lib ({__version__}) does not "
                                f"know: {', '.join(unknown)}; it was written by another version")
        try:
            return RunSettings(**stored)
        except SettingsError as error:
            raise SettingsError(f"{where}: {error}") from None


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


def kept_epoch_weights(run: Run) -> dict[int, Path]:
    """The last epochs' weights of a finished run, ``{epoch: path}``, each checksum verified.

    Only files that ``run.json`` lists with the checksum they have now are returned, so
    a file from another run (or a damaged one) is never averaged into this run's model.
    """
    from .training import epoch_weights

    listed = run.metadata.get("epoch_weights") or {}
    return {epoch: path for epoch, path in epoch_weights(run.folder).items()
            if listed.get(path.name) == sha256(path)}


def library_versions() -> dict:
    import keras
    import tensorflow as tf

    return {"course_lib": __version__, "tensorflow": tf.__version__, "keras": keras.__version__,
            "python": platform.python_version()}


def resume_command(folder: Path) -> str:
    """The command that continues the unfinished run in ``folder`` (it keeps its own settings)."""
    return f"python -m course_lib train --out {folder} --resume"


def _resume_message(folder: Path, staged: dict) -> str:
    done = staged.get("epochs_run", 0)
    return (f"the run in {folder} has not finished ({staged.get('status', 'running')} after "
            f"{done} epoch(s)): continue it with `{resume_command(folder)}` (it keeps the "
            f"settings it was started with), or train it again without --resume")


# --------------------------------------------------------------------------- the folder


@contextlib.contextmanager
def locked(folder: Path):
    """Hold ``folder``'s lock while training into it; refuse if another process holds it.

    The lock is an OS file lock (``flock``): it is released when the process ends,
    however it ends, so a crashed run never leaves the folder locked. On a file
    system without locks (some network drives) training goes on unlocked.
    """
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / LOCK, "a+", encoding="utf-8")
    try:
        try:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # Windows: no flock
            pass
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RunError(f"{folder} is being trained right now by {holder}: wait until that "
                           "training ends, or train into another folder") from None
        except OSError:  # no locking on this file system
            pass
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} on {socket.gethostname()} since "
                     f"{time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock


def _read_json_object(path: Path) -> dict:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise RunError(f"{path} is not valid JSON ({error}): train the model again") from None
    if not isinstance(payload, dict):
        raise RunError(f"{path} does not hold a run's metadata (a JSON object): train the "
                       "model again")
    return payload


def _read_metadata(folder: Path) -> dict:
    return _read_json_object(Path(folder) / "run.json")


def _staged_metadata(folder: Path) -> dict | None:
    """The metadata of the run training (or interrupted) in ``folder/unfinished``, or None."""
    path = Path(folder) / UNFINISHED / "run.json"
    if not path.exists():
        return None
    try:
        return _read_json_object(path)
    except RunError:
        return None


def _write_metadata(folder: Path, metadata: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomically(folder / "run.json", metadata)


def _publish(folder: Path) -> None:
    """Move a finished run from ``folder/unfinished`` into ``folder``; safe to repeat.

    Every file is renamed into place in one step and ``run.json`` comes last, so a
    crash in between leaves ``unfinished/run.json`` (status ``complete``) behind and
    the next call finishes the job.
    """
    staging = folder / UNFINISHED
    metadata = _staged_metadata(folder)
    if metadata is None or metadata.get("status") != "complete":
        return
    for name in metadata.get("files", {}):
        if (staging / name).exists():
            os.replace(staging / name, folder / name)
    for name in _OPTIONAL_FILES:  # an earlier run's subword merges do not belong to this one
        if name not in metadata.get("files", {}):
            (folder / name).unlink(missing_ok=True)
    _publish_epoch_weights(staging, folder, metadata)
    os.replace(staging / "run.json", folder / "run.json")
    shutil.rmtree(staging, ignore_errors=True)


def _publish_epoch_weights(staging: Path, folder: Path, metadata: dict) -> None:
    """Move the last epochs' weights (for checkpoint averaging) along with their run.

    ``run.json`` lists them with their checksums (``epoch_weights``), so weights left by
    an earlier run are never taken for this run's.
    """
    from .training import EPOCH_WEIGHTS

    staged, published = staging / EPOCH_WEIGHTS, folder / EPOCH_WEIGHTS
    if staged.exists():
        shutil.rmtree(published, ignore_errors=True)
        os.replace(staged, published)
    elif not metadata.get("epoch_weights"):  # this run kept none: an earlier run's go
        shutil.rmtree(published, ignore_errors=True)


def _finish_interrupted_publish(folder: Path) -> None:
    staged = _staged_metadata(folder)
    if staged is not None and staged.get("status") == "complete":
        with locked(folder):
            _publish(folder)


# --------------------------------------------------------------------------- training


def train_run(data: PreparedData, settings: RunSettings, out: str | Path | None = None,
              verbose: int | str = "auto", resume: bool = False, strategy=None):
    """Train one model on the prepared data; save it to ``out`` if given. Returns a Run.

    The vocabularies are counted on the full training split (so every profile
    shares them for given sizes); ``max_train_pairs`` then limits the pairs used for
    gradient steps. Training happens in ``out/unfinished``: a finished run already
    in ``out`` stays usable until the new one has finished, and a second process
    training into ``out`` at the same time is refused. ``resume=True`` continues the
    unfinished run in ``out`` from its last completed epoch (same settings required;
    see :func:`settings_to_resume`). ``strategy``: a ``tf.distribute`` strategy (e.g.
    ``MirroredStrategy`` for several GPUs); the model is built and compiled in its scope.
    """
    if not isinstance(settings, RunSettings):
        raise SettingsError(f"settings must be a RunSettings, got {type(settings).__name__}")
    if out is None:
        if resume:
            raise RunError("resume=True needs the run folder (out) of the run to continue")
        return _train(data, settings, None, verbose, None, strategy)
    out = check_output_folder(out, "run folder")
    with locked(out):
        _publish(out)  # a publish cut short by a crash: finish it first
        progress = _progress_to_resume(out, settings, data) if resume else None
        return _train(data, settings, out, verbose, progress, strategy)


def _train(data, settings, out, verbose, progress, strategy):
    import keras

    from . import models, text, training

    vectorizers = text.Vectorizers.from_pairs(data.train, settings.source_vocab,
                                              settings.target_vocab, settings.subword_merges)
    train_pairs = select_pairs(data.train, settings.max_source_length, settings.max_train_pairs,
                               settings.seed)
    val_pairs = select_pairs(data.val, settings.max_source_length, None, settings.seed)
    for split, pairs in (("training", train_pairs), ("validation", val_pairs)):
        if not pairs:
            raise RunError(f"the {split} split is empty ({data.stats.get('pairs', 0):,} pairs "
                           f"in the corpus{', max_source_length ' + str(settings.max_source_length) if settings.max_source_length else ''}): "
                           "training needs both splits (early stopping watches the validation "
                           "loss); use a bigger corpus")
    staging = out / UNFINISHED if out is not None else None
    if staging is not None and progress is None and staging.exists():
        done = (_staged_metadata(out) or {}).get("epochs_run", 0)
        if done:
            print(f"Discarding the unfinished run in {staging} ({done} epoch(s)) to start anew.")
        shutil.rmtree(staging)
    config.seed_everything(settings.seed)
    if settings.mixed_precision and config.gpu_name():
        keras.mixed_precision.set_global_policy("mixed_float16")
    train_ds = text.make_dataset(train_pairs, vectorizers, settings.batch_size, seed=settings.seed)
    val_ds = text.make_dataset(val_pairs, vectorizers, settings.batch_size, shuffle=False)
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    started = {"format_version": FORMAT_VERSION, "kind": settings.kind,
               "settings": asdict(settings), "data_sha256": data.stats.get("sha256")}
    try:
        with scope:
            if progress is not None:
                model = keras.saving.load_model(staging / training.LAST_MODEL)
                print(f"Resuming {out} after epoch {progress['epochs_done']}.")
            else:
                model = models.build_model(settings.kind, len(vectorizers.source_vocab),
                                           len(vectorizers.target_vocab), settings.embedding_dim,
                                           settings.units, settings.dropout,
                                           **_readout_option(settings))
                training.compile_model(model, settings.learning_rate, settings.jit_compile,
                                       settings.label_smoothing)
        if staging is not None:
            vectorizers.save(staging)
            _write_metadata(staging, {**started, "status": "running",
                                      "epochs_run": progress["epochs_done"] if progress else 0})
        result = training.train(model, train_ds, val_ds, epochs=settings.epochs,
                                patience=settings.patience, folder=staging, resume_from=progress,
                                verbose=verbose, warmup=training.LinearWarmUp(
                                    settings.warmup_steps, settings.learning_rate)
                                if settings.warmup_steps else None)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    metadata = {
        **started,
        "status": "interrupted" if result.interrupted else "complete",
        "stopped_by": result.stopped_by,
        "parameters": int(model.count_params()),
        "train_pairs": len(train_pairs),
        "max_source_tokens": data.length_cut.max_source_tokens,
        "max_target_tokens": data.length_cut.max_target_tokens,
        "versions": library_versions(),
        "hardware": config.device_description(),
        "train_seconds": round(result.seconds, 1),
        "epochs_run": result.epochs_run,
        "interrupted": result.interrupted,
        "final_metrics": result.final_metrics(),
        "history": result.history,
    }
    run = Run(out, model, vectorizers, metadata)
    if staging is not None:
        if result.interrupted:  # keep the checkpoints for --resume; the finished run stays
            _write_metadata(staging, metadata)
        else:
            save_run(run, out)
    return run


def _readout_option(settings: RunSettings) -> dict:
    """``{"readout": …}`` for a recurrent kind; nothing for the Transformer (it has none)."""
    from .models import MODEL_KINDS, RecurrentTranslationModel

    recurrent = issubclass(MODEL_KINDS[settings.kind], RecurrentTranslationModel)
    return {"readout": settings.readout} if recurrent else {}


def settings_to_resume(folder: str | Path, **given) -> RunSettings:
    """The settings the unfinished run in ``folder`` was started with.

    ``given`` holds options the user passed again (``units=160``, ``kind="attention"``,
    ``profile="cpu"``…; ``None`` values are ignored): each must agree with the run's,
    or :class:`SettingsMismatch` names the differences. The one exception is ``epochs``,
    an upper bound that does not change how any epoch trains: it may be *raised*, so a
    run that is still improving when it nears its limit can go on.
    """
    folder = Path(folder)
    staged = _staged_metadata(folder)
    if staged is None or staged.get("status") == "complete":
        finished = (folder / "run.json").exists()
        raise RunError(f"{folder} holds no unfinished run to resume"
                       + (" (the run there has finished)" if finished else "")
                       + ": train without --resume")
    settings = RunSettings.from_metadata(staged, str(folder / UNFINISHED / "run.json"))
    if given.get("epochs") is not None and given["epochs"] > settings.epochs:
        settings = dataclasses.replace(settings, epochs=given["epochs"])
    differences = {name: (value, getattr(settings, name)) for name, value in given.items()
                   if value is not None and value != getattr(settings, name)}
    if differences:
        raise SettingsMismatch(folder, differences)
    return settings


def _progress_to_resume(out: Path, settings: RunSettings, data: PreparedData) -> dict | None:
    """The saved progress of the unfinished run in ``out`` (``None``: no epoch had finished)."""
    from . import training

    stored = settings_to_resume(out, epochs=settings.epochs)
    if stored != settings:
        theirs, ours = asdict(stored), asdict(settings)
        raise SettingsMismatch(out, {name: (ours[name], theirs[name]) for name in ours
                                     if ours[name] != theirs[name]})
    staged = _staged_metadata(out) or {}
    if staged.get("data_sha256") != data.stats.get("sha256"):
        raise RunError(f"the run in {out} was started on other data (corpus checksum "
                       f"{str(staged.get('data_sha256'))[:12]}…, now "
                       f"{str(data.stats.get('sha256'))[:12]}…): resume it with the same "
                       "--source, or train without --resume")
    progress = training.read_progress(out / UNFINISHED)
    if progress is None:
        print(f"No epoch of the run in {out} had finished: starting it from the first epoch, "
              "with its settings.")
    return progress


def select_pairs(pairs: list, max_source_length: int | None = None,
                 max_pairs: int | None = None, seed: int = config.SEED) -> list:
    """Optionally keep short sources only, then a seeded random sample of ``max_pairs``.

    A random sample (not the first N lines) matters: the corpus file is sorted by
    sentence length, so its first lines are all two-word phrases.
    """
    from .significance import seeded_sample

    if max_source_length is not None:
        pairs = [p for p in pairs if len(p[0].split()) <= max_source_length]
    return seeded_sample(pairs, max_pairs, seed)[0]


def save_run(run: Run, folder: str | Path) -> Path:
    """Save ``run`` as the finished run of ``folder`` (files replaced only once all are written).

    The files go to ``folder/unfinished`` first, with their SHA-256 in ``run.json``;
    then each is renamed into ``folder``, ``run.json`` last.
    """
    from . import training

    folder = Path(folder)
    staging = folder / UNFINISHED
    staging.mkdir(parents=True, exist_ok=True)
    training.save_model_atomically(run.model, staging / "model.keras")
    run.vectorizers.save(staging)
    files = [name for name in ("model.keras", "source_vocab.json", "target_vocab.json",
                               *_OPTIONAL_FILES) if (staging / name).exists()]
    metadata = {**run.metadata, "status": "complete",
                "files": {name: sha256(staging / name) for name in files},
                "epoch_weights": {path.name: sha256(path)
                                  for path in training.epoch_weights(staging).values()}}
    _write_metadata(staging, metadata)
    _publish(folder)
    run.metadata, run.folder = metadata, folder
    return folder


def load_run(folder: str | Path) -> Run:
    """Load a finished run folder, with a clear :class:`RunError` for every way it can be wrong.

    Checked: the folder and its files exist; ``run.json`` is a run's metadata, of this
    format, with usable settings; every file has the checksum recorded when the run
    was saved (no vocabulary or model from another run); ``model.keras`` holds a
    course model of the kind ``run.json`` names, with the vocabularies' sizes. A run
    that has not finished is refused (with the command that resumes it): its model is
    not trained, and using it as if it were would give misleading results.
    """
    import keras

    from . import (
        models,
        training,  # noqa: F401  (registers the loss and metric the saved model was compiled with)
    )
    from .text import Vectorizers

    folder = Path(folder)
    if not folder.is_dir():
        if folder.exists():
            raise RunError(f"{folder} is a file, not a run folder")
        raise RunError(f"run folder {folder} does not exist: train one with "
                       f"`python -m course_lib train --model attention --out {folder}`")
    _finish_interrupted_publish(folder)
    staged = _staged_metadata(folder)
    if not (folder / "run.json").exists() and staged is not None:
        raise RunError(_resume_message(folder, staged))
    missing = [name for name in REQUIRED_FILES if not (folder / name).exists()]
    if missing:
        raise RunError(f"run folder {folder} is incomplete (missing {', '.join(missing)}); "
                       "it holds no finished run: train one")
    metadata = _read_metadata(folder)
    if metadata.get("status", "complete") != "complete":  # the layout before course_lib 0.4
        raise RunError(f"the run in {folder} did not finish ({metadata.get('status')}): "
                       "train it again")
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise RunError(f"{folder} was written by run format {version!r} (course_lib "
                       f"{_recorded_version(metadata)}); this course_lib ({__version__}) reads "
                       f"format {FORMAT_VERSION}: retrain the model")
    settings = RunSettings.from_metadata(metadata, str(folder / "run.json"))
    if metadata.get("kind") != settings.kind:
        raise RunError(f"{folder / 'run.json'} contradicts itself: kind {metadata.get('kind')!r} "
                       f"but settings for {settings.kind!r}; train the model again")
    for name, recorded in (metadata.get("files") or {}).items():
        if not (folder / name).exists() or sha256(folder / name) != recorded:
            raise RunError(f"{folder / name} is not the file this run saved (its checksum "
                           "differs or it is missing): it was replaced or damaged; train the "
                           "model again, or copy the whole run folder back")
    try:
        model = keras.saving.load_model(folder / "model.keras")
    except Exception as error:  # a broken or foreign .keras file
        raise RunError(f"could not load {folder / 'model.keras'} ({type(error).__name__}: "
                       f"{str(error).splitlines()[0] if str(error) else ''}): train the model "
                       "again") from None
    expected = models.MODEL_KINDS[settings.kind]
    if type(model) is not expected:
        raise RunError(f"{folder / 'model.keras'} holds a {type(model).__name__}, but run.json "
                       f"says kind {settings.kind!r} ({expected.__name__}): the folder mixes "
                       "two runs; train the model again")
    try:
        vectorizers = Vectorizers.load(folder)
    except (OSError, ValueError) as error:
        raise RunError(f"the vocabulary of {folder} cannot be read ({error}): train the model "
                       "again") from None
    sizes = {"source": (len(vectorizers.source_vocab), model.source_vocab_size),
             "target": (len(vectorizers.target_vocab), model.target_vocab_size)}
    for side, (in_file, in_model) in sizes.items():
        if in_file != in_model:
            raise RunError(f"{folder / (side + '_vocab.json')} has {in_file:,} entries but the "
                           f"model was trained with {in_model:,}: the vocabulary belongs to "
                           "another run; copy the whole run folder, or train again")
    return Run(folder, model, vectorizers, metadata)


def _recorded_version(metadata: dict) -> str:
    versions = metadata.get("versions")
    return versions.get("course_lib", "?") if isinstance(versions, dict) else "?"


def _settings_of(metadata: dict | None) -> RunSettings | None:
    """The settings a run folder was trained with, or ``None`` if they cannot be read."""
    if metadata is None:
        return None
    try:
        return RunSettings.from_metadata(metadata)
    except SettingsError:
        return None


def same_result(metadata: dict, settings: RunSettings) -> bool:
    """Would training with ``settings`` give the finished run described by ``metadata``?

    Yes when the settings are equal. Also when they differ only in the epoch limit and
    the run was ended by early stopping within the new limit: the limit is an upper
    bound, so every epoch, and the epoch kept, would be the same (training is seeded).
    """
    trained = _settings_of(metadata)
    if trained is None:
        return False
    if trained == settings:
        return True
    return (dataclasses.replace(trained, epochs=settings.epochs) == settings
            and metadata.get("stopped_by") == "early_stopping"
            and int(metadata.get("epochs_run", settings.epochs + 1)) <= settings.epochs)


def default_folder(kind: str, profile: str | None = None) -> Path:
    """``<models dir>/<kind>`` for the reference (gpu) profile, ``<kind>-<profile>`` otherwise."""
    profile = profile or config.profile()
    if profile != "custom":
        config.check_profile(profile)
    return config.models_dir() / (kind if profile == "gpu" else f"{kind}-{profile}")


def load_or_train(kind: str, data: PreparedData, folder: str | Path | None = None,
                  settings: RunSettings | None = None, verbose: int | str = "auto") -> Run:
    """Reuse the trained model in ``folder`` if it matches the settings; train it otherwise.

    An unfinished run with the same settings (Colab disconnected, Ctrl-C) is resumed
    from its last completed epoch instead of starting again. A finished run with other
    settings stays in the folder until the new one has finished.
    """
    settings = settings or RunSettings.for_profile(kind)
    if settings.kind != kind:
        raise SettingsError(f"load_or_train({kind!r}, …) was given settings for the "
                            f"{settings.kind!r} model: pass RunSettings.for_profile({kind!r}) "
                            f"or settings with kind={kind!r}")
    folder = Path(folder) if folder is not None else default_folder(kind, settings.profile)
    check_output_folder(folder, "run folder")
    if folder.is_dir():
        _finish_interrupted_publish(folder)

    def matches(metadata):
        return (_settings_of(metadata) == settings
                and metadata.get("data_sha256") == data.stats.get("sha256"))

    finished = None
    if (folder / "run.json").exists():
        try:
            finished = _read_metadata(folder)
        except RunError as error:
            print(f"The run in {folder} cannot be used ({error}).")
    if (finished is not None and finished.get("status") == "complete"
            and finished.get("data_sha256") == data.stats.get("sha256")
            and same_result(finished, settings)):
        try:
            run = load_run(folder)
            print(f"Loaded the trained {kind} model from {folder} ({run.metadata['stopped_by']} "
                  f"after {run.metadata['epochs_run']} epochs, {run.metadata['train_seconds']:.0f} s "
                  f"on {run.metadata['hardware']}).")
            return run
        except RunError as error:
            print(f"Could not reuse {folder} ({error}): training anew.")
    staged = _staged_metadata(folder)
    resume = staged is not None and matches(staged)
    if not resume and finished is not None:
        print(f"The model in {folder} was trained with other settings or data: training anew "
              "(it stays there until the new model has finished).")
    print(f"{'Resuming' if resume else 'Training'} the {kind} model (profile {settings.profile!r}: "
          f"up to {settings.epochs} epoch(s) until early stopping, "
          f"{settings.max_train_pairs or len(data.train):,} pairs); it is saved to {folder}.")
    start = time.perf_counter()
    run = train_run(data, settings, folder, verbose=verbose, resume=resume)
    print(f"Trained in {time.perf_counter() - start:.0f} s ({run.metadata['stopped_by']}).")
    return run
