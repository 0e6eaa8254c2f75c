"""Course-wide settings: quick mode, seeds, default sizes and folders.

Everything a learner might want to change lives here, and every setting can be
overridden by an environment variable so that CI, Binder and Colab need no code
changes:

``COURSE_QUICK=1``
    Quick mode. Training is shrunk (fewer epochs, a training subset, fewer steps)
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
from dataclasses import asdict, dataclass, replace
from pathlib import Path

#: The one place that names the course's public repository (badges, Colab install).
REPO_SLUG = "nmt-course/nmt-attention-keras"
REPO_BRANCH = "main"
REPO_URL = f"https://github.com/{REPO_SLUG}"
PIP_INSTALL_URL = f"git+{REPO_URL}.git@{REPO_BRANCH}"

QUICK_ENV = "COURSE_QUICK"
DATA_ENV = "COURSE_DATA"
HOME_ENV = "COURSE_HOME"

#: Seed used for splits, shuffling and weight initialisation.
SEED = 1234


def quick_mode() -> bool:
    """True when the environment variable ``COURSE_QUICK`` is set to a true value."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


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
    """How the corpus is cleaned and split. The same in quick and full mode."""

    lowercase: bool = True
    length_percentile: float = 99.0  # drop pairs longer than this percentile (tokens)
    val_fraction: float = 0.05       # of unique English sources
    test_fraction: float = 0.05
    seed: int = SEED


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the encoder-decoder models (baseline and attention alike).

    Chosen by measurement for two CPU cores: the softmax over the German vocabulary
    dominates the cost of a step, so the target vocabulary is the main dial.
    """

    source_vocab: int = 6000
    target_vocab: int = 8000
    embedding_dim: int = 96
    units: int = 160


@dataclass(frozen=True)
class TrainConfig:
    """How long to train. ``for_mode()`` picks full or quick settings."""

    epochs: int = 3
    batch_size: int = 64
    max_train_pairs: int | None = 100_000  # a seeded random sample; None = whole split
    patience: int = 2
    learning_rate: float = 2e-3

    @staticmethod
    def full() -> TrainConfig:
        return TrainConfig()

    @staticmethod
    def quick() -> TrainConfig:
        return TrainConfig(epochs=1, max_train_pairs=4000, patience=1)

    @staticmethod
    def for_mode() -> TrainConfig:
        return TrainConfig.quick() if quick_mode() else TrainConfig.full()


def seed_everything(seed: int = SEED) -> None:
    """Seed Python, NumPy and the Keras backend in one call."""
    import keras

    keras.utils.set_random_seed(seed)


__all__ = [
    "REPO_SLUG", "REPO_URL", "PIP_INSTALL_URL", "SEED", "DataConfig", "ModelConfig",
    "TrainConfig", "quick_mode", "course_home", "cache_dir", "models_dir", "seed_everything",
    "asdict", "replace",
]
