"""Small seeded inputs shared by the checks of several chapters."""

from __future__ import annotations

import numpy as np


def small_encoded_model(kind: str, seed: int, source=None):
    """A tiny seeded model of ``kind`` and its carry for ``source`` (default: 2 sentences)."""
    import keras

    from ..models import build_model

    keras.utils.set_random_seed(seed)
    model = build_model(kind, 30, 40, 8, 16)
    source = np.array([[5, 6, 7, 0], [8, 9, 10, 11]]) if source is None else np.asarray(source)
    return model, model.encode(source)
