"""Encoder–decoder models: the baseline, Bahdanau attention and a Luong-style ablation.

>>> model = build_model("attention", source_vocab_size=8000, target_vocab_size=10000)
"""

from __future__ import annotations

from .attention import (
    AttentionSeq2Seq,
    BahdanauAttention,
    BahdanauDecoder,
    LuongStyleSeq2Seq,
    masked_softmax,
)
from .baseline import (
    BaselineDecoder,
    BaselineSeq2Seq,
    Encoder,
    ScheduledSamplingSeq2Seq,
    TranslationModel,
)

MODEL_KINDS = {
    "baseline": BaselineSeq2Seq,
    "attention": AttentionSeq2Seq,
    "luong": LuongStyleSeq2Seq,
    "scheduled_sampling": ScheduledSamplingSeq2Seq,
}


def build_model(kind: str, source_vocab_size: int, target_vocab_size: int,
                embedding_dim: int = 128, units: int = 256, **kwargs) -> TranslationModel:
    """Create (and build) a model of the given kind: 'baseline', 'attention' or 'luong'."""
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {sorted(MODEL_KINDS)}")
    model = MODEL_KINDS[kind](source_vocab_size, target_vocab_size, embedding_dim, units,
                              **kwargs)
    model.build()
    return model


__all__ = ["AttentionSeq2Seq", "BahdanauAttention", "BahdanauDecoder", "BaselineDecoder",
           "BaselineSeq2Seq", "Encoder", "LuongStyleSeq2Seq", "ScheduledSamplingSeq2Seq", "MODEL_KINDS", "TranslationModel",
           "build_model", "masked_softmax"]
