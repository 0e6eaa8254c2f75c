"""Chapter 2 (encoder–decoder): the encoder and the fixed-context decoder as Keras layers, the masked loss."""

from __future__ import annotations

import numpy as np

from .framework import Case, check
from .layers import LayerCase, LayerSpec, run_layer_check


def _hand_loss(labels, logits):
    """Reference: mean cross-entropy over non-padding positions, in plain NumPy."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels)
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_probs, labels[..., None], -1)[..., 0]
    mask = labels != 0
    return float(-(picked * mask).sum() / max(mask.sum(), 1))


def check_masked_loss(fn) -> None:
    """Chapters 2–3 exercise: ``fn(labels, logits) -> scalar`` ignoring padding (id 0)."""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 4, 6)).astype("float32")
    no_pad = np.array([[1, 2, 3, 4], [5, 1, 2, 3], [4, 4, 5, 1]])
    padded = np.array([[1, 2, 3, 0], [5, 1, 0, 0], [4, 4, 5, 1]])
    with_empty_row = np.array([[1, 2, 3, 0], [0, 0, 0, 0], [4, 4, 5, 1]])

    cases = [
        Case((no_pad, logits), expected=_hand_loss(no_pad, logits), atol=1e-4,
             description="3 sentences, no padding",
             hint="cross-entropy of the softmax of the logits at the label id, averaged"),
        Case((padded, logits), expected=_hand_loss(padded, logits), atol=1e-4,
             description="3 sentences with padding (label 0)",
             hint="divide by the number of real tokens, not by all positions"),
        Case((with_empty_row, logits), expected=_hand_loss(with_empty_row, logits), atol=1e-4,
             description="one row is all padding",
             hint="an all-padding row adds nothing to the sum and nothing to the count"),
    ]
    check("masked_loss", fn, cases)


def _source_batch(rng, vocab, lengths, width=None):
    """Token ids (batch, width), one row per length, padded with 0 at the end."""
    width = width or max(lengths)
    rows = np.zeros((len(lengths), width), dtype="int32")
    for row, length in zip(rows, lengths):
        row[:length] = rng.integers(1, vocab, size=length)
    return rows


def _encoder_spec():
    import keras

    from .. import config
    from ..models import Encoder

    sizes = config.ModelConfig()
    args = (sizes.source_vocab, sizes.embedding_dim, sizes.units)
    return LayerSpec(
        name="Encoder", reference=lambda: Encoder(*args), build=lambda cls: cls(*args),
        outputs=("outputs", "final", "mask"), rebuild_from_config=True,
        call_learner=lambda layer, ids: layer(keras.ops.convert_to_tensor(ids)),
        call_reference=lambda layer, ids: layer(keras.ops.convert_to_tensor(ids))), sizes


def check_encoder(cls) -> None:
    """Chapter 2: the learner's ``Encoder(vocab_size, embedding_dim, units)`` layer.

    ``call(source_ids)`` must return ``(outputs, final, mask)`` as course_lib's
    :class:`~course_lib.models.Encoder` does, with the same weights.
    """
    spec, sizes = _encoder_spec()
    rng = np.random.default_rng(2)
    padded = _source_batch(rng, sizes.source_vocab, [4, 9, 2])
    cases = [
        LayerCase((padded,), "3 sentences of 4, 9 and 2 words, padded to 9",
                  "mask_zero=True in the embedding, the mask passed on to the GRU, and `final` "
                  "= [last forward state; last backward state]"),
        LayerCase((np.pad(padded, ((0, 0), (0, 5))),), "the same 3 sentences with 5 more "
                  "padding columns", "with the mask, extra padding must change nothing in "
                  "`final`, and `outputs` at real words stays the same"),
        LayerCase((_source_batch(rng, sizes.source_vocab, [7]),), "a batch of one sentence, "
                  "no padding", "both directions read every word; concatenate forward first"),
        LayerCase((_source_batch(rng, sizes.source_vocab, [1, 1], width=3),),
                  "two one-word sentences padded to 3", "the backward GRU must start at the "
                  "last *real* word, not at the padding"),
    ]
    run_layer_check(spec, cls, cases)


def check_fixed_context_decoder(cls) -> None:
    """Chapter 2: the learner's ``FixedContextDecoder(vocab_size, embedding_dim, units)``.

    ``call(decoder_input, context)`` → logits (batch, T, V), compared with
    :class:`~course_lib.models.BaselineDecoder` given the same context ``c``.
    """
    import keras

    from .. import config
    from ..models import BaselineDecoder

    sizes = config.ModelConfig()
    args = (sizes.target_vocab, sizes.embedding_dim, sizes.units)

    def reference_logits(decoder, decoder_input, context):
        carry = {"state": decoder.bridge(context), "context": context}   # s_0 and c
        return decoder(keras.ops.convert_to_tensor(decoder_input), carry)[0]

    spec = LayerSpec(name="FixedContextDecoder", reference=lambda: BaselineDecoder(*args),
                     build=lambda cls: cls(*args), outputs=("logits",),
                     call_reference=reference_logits, rebuild_from_config=True,
                     call_learner=lambda layer, ids, c: layer(keras.ops.convert_to_tensor(ids), c))
    rng = np.random.default_rng(3)

    def context(batch):
        return rng.normal(size=(batch, 2 * sizes.units)).astype("float32")

    cases = [
        LayerCase((_source_batch(rng, sizes.target_vocab, [6, 6, 6]), context(3)),
                  "3 German sentences of 6 tokens, a random c for each",
                  "s_0 = tanh(W_s c) (the bridge); the GRU reads [y_{i-1}; c] at every step; "
                  "the readout sees [s_i; c; y_{i-1}]"),
        LayerCase((_source_batch(rng, sizes.target_vocab, [1]), context(1)),
                  "a batch of one, one step", "even the first step starts from s_0 = "
                  "tanh(W_s c), not from zeros"),
        LayerCase((_source_batch(rng, sizes.target_vocab, [2, 5, 8]), context(3)),
                  "3 sentences padded to 8 tokens", "the decoder does not mask its input "
                  "(no mask_zero): the loss ignores the positions after [end], and the "
                  "reference computes them like any other"),
    ]
    run_layer_check(spec, cls, cases)


__all__ = ["check_masked_loss", "check_encoder", "check_fixed_context_decoder"]
