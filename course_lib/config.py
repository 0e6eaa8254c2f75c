"""Course-wide settings: quick mode, seeds, default sizes and folders.

Everything a learner might want to change lives here, and every setting can be
overridden by an environment variable so that CI, Binder and Colab need no code
changes:

``COURSE_PROFILE=quick|cpu|gpu``
    The training profile (default: ``gpu`` when a GPU is visible, else ``cpu``):
    ``quick`` for CI, ``cpu`` for a laptop or Binder, ``gpu`` for the reference
    recipe on Colab. See :class:`TrainConfig`.
``COURSE_QUICK=1``
    Same as ``COURSE_PROFILE=quick``. Training is shrunk (fewer epochs, a training subset, fewer steps)
    so that the whole course runs on two CPU cores in minutes. Data preparation is
    *identical* in both modes, so every count a notebook prints stays the same.
``COURSE_DATA=/path/to/deu-eng.zip``
    Use this corpus file (zip or ``deu.txt``) instead of the cache or a download.
``COURSE_HOME=/path``
    Where the corpus cache (``data/``) and trained models (``models/``) are kept.
    Default: ``~/.cache/nmt-course``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: The one place that names the course's public repository (badges, Colab install).
REPO_SLUG = "nmt-course/nmt-attention-keras"
REPO_BRANCH = "main"          # where the badges open the notebooks
REPO_URL = f"https://github.com/{REPO_SLUG}"
#: The release of ``course_lib`` that the notebooks install on Colab: a git tag, so that a
#: notebook saved by a learner keeps getting the library it was written for (``main`` moves).
#: Cut a release with ``python tools/release.py X.Y.Z`` (CONTRIBUTING.md): it bumps this,
#: pyproject's version and the notebooks' set-up cells together and records what the release
#: holds in ``release.json``; a test fails while ``course_lib/`` or the notebooks differ from it.
RELEASE = "v0.6.14"
PIP_INSTALL_URL = f"git+{REPO_URL}.git@{RELEASE}"

QUICK_ENV = "COURSE_QUICK"
PROFILE_ENV = "COURSE_PROFILE"
DATA_ENV = "COURSE_DATA"
HOME_ENV = "COURSE_HOME"

#: Seed used for splits, shuffling and weight initialisation.
SEED = 1234

#: The model kinds a learner trains (``course_lib.models.MODEL_KINDS`` has teaching variants too).
MAIN_KINDS = ("baseline", "attention", "luong", "transformer")

#: The training profiles, from smallest to largest (see :class:`TrainConfig`).
PROFILES = ("quick", "cpu", "gpu")


class ConfigError(ValueError):
    """A setting that cannot be used (e.g. an unknown profile name): one line for the user."""


def check_profile(name: str) -> str:
    """``name`` if it is a training profile; a :class:`ConfigError` naming the choices if not."""
    if name not in PROFILES:
        raise ConfigError(f"{name!r} is not a training profile; choose one of "
                          f"{', '.join(PROFILES)}")
    return name


def require_count(name: str, value, minimum: int = 1) -> int:
    """``value`` if it is a whole number ≥ ``minimum``; a :class:`ConfigError` saying so if not.

    Used for every size and count (units, epochs, batch size, beam width…), so that 0 or
    -1 is refused instead of silently replaced by a default.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be a whole number ≥ {minimum}, got {value!r}")
    return value


def require_fraction(name: str, value) -> float:
    """``value`` if it is a number with 0 ≤ value < 1 (a dropout rate, a smoothing ε)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ConfigError(f"{name} must be a number from 0 up to (not including) 1, "
                          f"got {value!r}")
    return float(value)


def quick_mode() -> bool:
    """True when the quick profile is in force (``COURSE_QUICK=1`` or ``COURSE_PROFILE=quick``)."""
    return profile() == "quick"


def _quick_env() -> bool:
    return os.environ.get(QUICK_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def profile() -> str:
    """The training profile in force: ``quick``, ``cpu`` or ``gpu``.

    ``COURSE_PROFILE`` wins; ``COURSE_QUICK=1`` means ``quick``; otherwise the
    hardware decides: ``gpu`` when TensorFlow sees a GPU, ``cpu`` when it does not.
    """
    chosen = os.environ.get(PROFILE_ENV, "").strip().lower()
    if chosen:
        if chosen not in PROFILES:
            raise ConfigError(f"{PROFILE_ENV}={chosen!r} is not a training profile; set it to "
                              f"one of {', '.join(PROFILES)} (or unset it)")
        return chosen
    if _quick_env():
        return "quick"
    return "gpu" if gpu_name() else "cpu"


def gpu_name() -> str | None:
    """The name of the first visible GPU (e.g. ``"Tesla T4"``), or ``None``.

    The one place that asks TensorFlow about GPUs (it imports TensorFlow).
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    try:
        details = tf.config.experimental.get_device_details(gpus[0])
    except (RuntimeError, ValueError, TypeError, AttributeError):  # best effort only
        details = {}
    name = details.get("device_name") or gpus[0].name
    if len(gpus) > 1:
        name += f" (+{len(gpus) - 1} more)"
    return name


def device_description() -> str:
    """The hardware a run or a benchmark used, in one line: ``GPU: name`` or ``CPU: N cores (arch)``.

    The one place that writes it (run.json's ``hardware``, the benchmarks' ``device``).
    """
    import os
    import platform

    gpu = gpu_name()
    if gpu:
        return f"GPU: {gpu}"
    return f"CPU: {os.cpu_count()} cores ({platform.processor() or platform.machine()})"


def course_home() -> Path:
    """The folder holding the corpus cache and trained models."""
    default = Path.home() / ".cache" / "nmt-course"
    return Path(os.environ.get(HOME_ENV, default)).expanduser()


def cache_dir() -> Path:
    return course_home() / "data"


def models_dir() -> Path:
    return course_home() / "models"


@dataclass(frozen=True)
class DataConfig:
    """How the corpus is cleaned and split. The same in every profile."""

    lowercase: bool = True
    length_percentile: float = 99.0  # drop pairs longer than this percentile (tokens)
    val_fraction: float = 0.05       # of unique English sources
    test_fraction: float = 0.05
    seed: int = SEED


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the encoder-decoder models (baseline and attention alike).

    The softmax over the German vocabulary dominates the cost of a step, so the
    target vocabulary is the main dial; see the README for the measurements behind
    these numbers. ``for_profile`` gives the reference recipe bigger sizes.
    """

    source_vocab: int = 6000
    target_vocab: int = 8000
    embedding_dim: int = 96
    units: int = 160
    subword_merges: int | None = None   # byte-pair merges per language; None = whole words
    readout: str = "maxout"             # the recurrent decoders' readout: "maxout" or "tanh"
    dropout: float = 0.2                # on embeddings and readout (every sub-layer: Transformer)

    @staticmethod
    def for_profile(name: str | None = None) -> ModelConfig:
        name = check_profile(name or profile())
        if name == "gpu":
            # Subword units: 10,000 byte-pair merges per language give about 10,000
            # pieces each and spell nearly every test word, where 20,000 whole German
            # words still leave 12 % of the test references with an unknown word.
            return ModelConfig(source_vocab=12000, target_vocab=12000, embedding_dim=128,
                               units=256, subword_merges=10000)
        return ModelConfig()


@dataclass(frozen=True)
class TransformerConfig:
    """The sizes the Transformer (chapter 7) adds to :class:`ModelConfig`.

    Its width d is ``ModelConfig.units``; the feed-forward layers are
    ``ffn_multiplier`` times wider, as in Vaswani et al. (2017). Decoding keeps the
    keys and values of at most ``max_target_length`` German tokens. It is trained with
    a linear learning-rate warm-up over ``warmup_steps`` steps (about one epoch of the
    ``cpu`` profile; Vaswani et al. 2017 warm up over 4,000): measured on validation it
    gained 2.7 BLEU over no warm-up (README, "Regularisation and the readout").
    """

    heads: int = 4
    layers: int = 2
    ffn_multiplier: int = 4
    max_target_length: int = 64
    warmup_steps: int = 630


#: How many of the last epochs' weights a run folder keeps (``epochs/``), for checkpoint
#: averaging (:func:`course_lib.training.average_weights`). Enough for a window of four
#: epochs ending at the best one when early stopping waited two epochs after it.
EPOCH_WEIGHTS_KEPT = 6


@dataclass(frozen=True)
class TrainConfig:
    """How to train. ``for_profile()`` picks the settings of a profile.

    Every profile trains until early stopping on the validation loss (``patience``
    epochs without improvement; the best epoch's weights are kept), with at most
    ``epochs`` epochs. The learning rate is halved whenever the validation loss
    does not improve for an epoch; with ``patience`` 2 the halved rate then gets one
    epoch to act before the run may stop. ``label_smoothing`` ε spreads ε of every
    target's probability over the whole vocabulary (Szegedy et al. 2016; Vaswani et
    al. 2017 use 0.1).
    """

    epochs: int = 30                       # an upper bound: early stopping ends the run
    batch_size: int = 64
    max_train_pairs: int | None = None     # a seeded random sample; None = whole split
    patience: int = 2
    learning_rate: float = 2e-3
    label_smoothing: float = 0.1
    warmup_steps: int = 0                  # linear learning-rate warm-up (0 = none)
    jit_compile: bool = False              # XLA; see for_profile (on a GPU only)
    mixed_precision: bool = False          # float16 compute on a GPU (logits stay float32)

    @staticmethod
    def for_profile(name: str | None = None) -> TrainConfig:
        name = check_profile(name or profile())
        if name == "quick":
            return TrainConfig(epochs=1, max_train_pairs=4000, patience=1)
        if name == "cpu":
            return TrainConfig(epochs=30, max_train_pairs=40_000, patience=2)
        # XLA only where a GPU is visible. On CPU, XLA draws dropout's random numbers with
        # a slow generator: the reference Bahdanau step takes 343 ms with XLA against 277 ms
        # without (dropout 0.2; without dropout 211 against 281 ms; benchmarks/size_sweep.py
        # --target-vocabs 10000 --source-vocab 10000 --units 256 --batches 128 --dropouts 0 0.2).
        return TrainConfig(batch_size=128, mixed_precision=True,
                           jit_compile=gpu_name() is not None)


def seed_everything(seed: int = SEED) -> None:
    """Seed Python, NumPy and the Keras backend in one call."""
    import keras

    keras.utils.set_random_seed(seed)


__all__ = [
    "ConfigError", "check_profile", "require_count", "require_fraction", "REPO_SLUG", "REPO_URL", "RELEASE", "PIP_INSTALL_URL", "SEED", "MAIN_KINDS", "PROFILES", "DataConfig",
    "ModelConfig", "TransformerConfig", "TrainConfig", "quick_mode", "profile", "gpu_name", "device_description", "course_home",
    "cache_dir", "models_dir", "seed_everything", "EPOCH_WEIGHTS_KEPT",
]
