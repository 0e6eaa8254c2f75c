"""Tiny handmade fixtures shared by the unit tests (data, text, models, training, decoding).

Everything here is small on purpose: a dozen English–German pairs with the characters
that break naive cleaners (umlauts, ß, „German“ and “English” quotes, ’ apostrophes),
vocabularies of a few dozen words, and models with embedding 8 and 16 units, so the
whole unit-test suite runs in well under two minutes on two CPU cores.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np

from course_lib import config
from course_lib.data import deduplicate, normalize_pairs
from course_lib.models import build_model
from course_lib.text import Vectorizers

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Raw pairs as a learner would type them. "I am hungry." has two translations and one
#: exact duplicate; several sentences carry curly quotes and apostrophes.
RAW_PAIRS: list[tuple[str, str]] = [
    ("I am hungry.", "Ich habe Hunger."),
    ("I am hungry.", "Ich bin hungrig."),
    ("I am hungry.", "Ich habe Hunger."),                 # exact duplicate
    ("Where is the street?", "Wo ist die Straße?"),
    ("The door is open.", "Die Tür ist offen."),
    ("He said: “No.”", "Er sagte: „Nein.“"),
    ("I don’t know.", "Ich weiß es nicht."),
    ("It costs 3.5 euros.", "Es kostet 3.5 Euro."),
    ("Good morning!", "Guten Morgen!"),
    ("The girl is beautiful.", "Das Mädchen ist schön."),
    ("We’re eating cheese.", "Wir essen Käse."),
    ("How’s it going?", "Wie geht’s?"),
    ("The bread is big.", "Das Brot ist groß."),
    ("Greet the mayor.", "Grüß den Bürgermeister."),
]

EMBEDDING_DIM = 8
UNITS = 16


def tiny_pairs() -> list[tuple[str, str]]:
    """RAW_PAIRS normalised and deduplicated (13 pairs, 12 English sources)."""
    normalized, _ = normalize_pairs(RAW_PAIRS)
    unique, _ = deduplicate(normalized)
    return unique


def tiny_vectorizers(pairs: list[tuple[str, str]] | None = None) -> Vectorizers:
    return Vectorizers.from_pairs(pairs or tiny_pairs(), source_size=60, target_size=60)


def tiny_model(kind: str, vectorizers: Vectorizers, seed: int = 0, **kwargs):
    """A built model of the given kind with embedding 8 and 16 units, seeded."""
    keras.utils.set_random_seed(seed)
    return build_model(kind, len(vectorizers.source_vocab), len(vectorizers.target_vocab),
                       embedding_dim=EMBEDDING_DIM, units=UNITS, **kwargs)


def padded_arrays(vectorizers: Vectorizers, pairs: list[tuple[str, str]]):
    """``(source, decoder_input, labels)`` as right-padded int32 numpy arrays."""
    source = vectorizers.source_ids([en for en, _ in pairs]).to_tensor().numpy()
    target = vectorizers.target_ids([de for _, de in pairs]).to_tensor().numpy()
    return (source.astype(np.int32), target[:, :-1].astype(np.int32),
            target[:, 1:].astype(np.int32))


def mixed_length_batch(vectorizers: Vectorizers):
    """Five pairs of different lengths, padded: source (5, S), decoder input and labels (5, T)."""
    pairs = [tiny_pairs()[i] for i in (0, 4, 7, 10, 12)]
    source, decoder_input, labels = padded_arrays(vectorizers, pairs)
    assert (source == 0).any() and (decoder_input == 0).any()  # real padding to test against
    return source, decoder_input, labels


def step_by_step(model, source, decoder_input):
    """Feed the true previous tokens to ``decode_step`` one at a time (teacher forcing by hand).

    Returns the logits (batch, T, V), the list of per-step weights (``None`` for a model
    without attention) and the last carry.
    """
    carry = model.encode(source)
    logits, weights = [], []
    for t in range(decoder_input.shape[1]):
        step_logits, carry, step_weights = model.decode_step(decoder_input[:, t], carry)
        logits.append(np.asarray(step_logits))
        weights.append(None if step_weights is None else np.asarray(step_weights))
    return np.stack(logits, axis=1), weights, carry


def corpus_snapshot() -> Path | None:
    """The real corpus (COURSE_DATA, else ../shared/data/deu-eng.zip), or None if absent."""
    candidates = []
    from_env = os.environ.get(config.DATA_ENV, "").strip()
    if from_env:
        candidates.append(Path(from_env))
    candidates.append(REPO_ROOT.parent / "shared" / "data" / "deu-eng.zip")
    return next((c for c in candidates if c.is_file()), None)


def trainer(model, vectorizers: Vectorizers, pairs: list[tuple[str, str]],
            learning_rate: float = 0.03):
    """A compiled custom training loop on ``pairs`` (one batch): ``run(steps) -> loss``.

    Much faster than ``keras.Model.fit`` for a handful of steps (one trace, no
    callbacks), and good enough to make a tiny model reproduce its training sentences.
    """
    import tensorflow as tf

    from course_lib.training import masked_loss

    source, decoder_input, labels = padded_arrays(vectorizers, pairs)
    optimizer = keras.optimizers.Adam(learning_rate)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = masked_loss(labels, model((source, decoder_input), training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return loss

    def run(steps: int) -> float:
        loss = float("nan")
        for _ in range(steps):
            loss = float(step())
        return loss

    return run


def overfit(model, vectorizers: Vectorizers, pairs: list[tuple[str, str]], steps: int = 50,
            learning_rate: float = 0.03) -> float:
    """Train ``model`` on ``pairs`` for ``steps`` steps; returns the last loss."""
    return trainer(model, vectorizers, pairs, learning_rate)(steps)


def run_cli(capsys, *argv):
    """``python -m course_lib ARGV`` in-process: (exit code, stdout, stderr)."""
    from course_lib.cli import main

    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit_:  # argparse's errors exit (code 2) before main returns
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err
