"""Encoder–decoder models: the baseline, Bahdanau attention and its variants, the Transformer.

>>> model = build_model("attention", source_vocab_size=8000, target_vocab_size=10000)

Sizes not given come from :class:`course_lib.config.ModelConfig`, the one place
that holds the course's defaults.
"""

from __future__ import annotations

from .. import config
from .attention import (
    AttentionSeq2Seq,
    BahdanauAttention,
    BahdanauDecoder,
    DotScoreAttentionSeq2Seq,
    FixedQueryAttentionSeq2Seq,
    FixedQueryBahdanauDecoder,
    InputFeedingLuongDecoder,
    InputFeedingLuongSeq2Seq,
    LuongStyleDecoder,
    LuongStyleSeq2Seq,
    MultiplicativeAttention,
    MultiplicativeBahdanauDecoder,
    NaiveAttentionSeq2Seq,
    NaiveBahdanauDecoder,
    attention_model_with,
    masked_softmax,
)
from .base import (
    READOUTS,
    DecoderLayer,
    Encoder,
    Readout,
    RecurrentTranslationModel,
    TranslationModel,
)
from .baseline import BaselineDecoder, BaselineSeq2Seq, OwnPredictionSamplingSeq2Seq
from .transformer import (
    CachedAttention,
    PositionalEmbedding,
    TransformerDecoderLayer,
    TransformerEncoderLayer,
    TransformerSeq2Seq,
    causal_mask,
    positional_encoding,
)

MODEL_KINDS = {model.kind: model for model in (
    BaselineSeq2Seq, AttentionSeq2Seq, LuongStyleSeq2Seq, InputFeedingLuongSeq2Seq,
    NaiveAttentionSeq2Seq,
    FixedQueryAttentionSeq2Seq, OwnPredictionSamplingSeq2Seq, DotScoreAttentionSeq2Seq,
    TransformerSeq2Seq)}

#: The kinds a learner trains from the command line; the others are teaching variants.
MAIN_KINDS = config.MAIN_KINDS


def build_model(kind: str, source_vocab_size: int, target_vocab_size: int,
                embedding_dim: int | None = None, units: int | None = None,
                dropout: float | None = None, readout: str | None = None,
                **kwargs) -> TranslationModel:
    """Create (and build) a model of the given kind (see ``MODEL_KINDS``).

    Sizes, ``dropout`` and the recurrent decoders' ``readout`` nonlinearity default to
    :class:`course_lib.config.ModelConfig` (the Transformer has no readout setting).
    """
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {sorted(MODEL_KINDS)}")
    defaults = config.ModelConfig()
    embedding_dim = defaults.embedding_dim if embedding_dim is None else embedding_dim
    units = defaults.units if units is None else units
    dropout = defaults.dropout if dropout is None else dropout
    for name, value in (("source_vocab_size", source_vocab_size),
                        ("target_vocab_size", target_vocab_size),
                        ("embedding_dim", embedding_dim), ("units", units)):
        config.require_count(name, value)
    config.require_fraction("dropout", dropout)
    model_class = MODEL_KINDS[kind]
    if issubclass(model_class, RecurrentTranslationModel):
        kwargs["readout"] = defaults.readout if readout is None else readout
    elif readout is not None:
        raise ValueError(f"the {kind} model has no readout setting (got readout={readout!r})")
    model = model_class(source_vocab_size, target_vocab_size, embedding_dim, units,
                        dropout=dropout, **kwargs)
    model.build()
    return model


__all__ = ["AttentionSeq2Seq", "BahdanauAttention", "BahdanauDecoder", "BaselineDecoder",
           "BaselineSeq2Seq", "CachedAttention", "DecoderLayer", "DotScoreAttentionSeq2Seq",
           "Encoder", "FixedQueryAttentionSeq2Seq", "FixedQueryBahdanauDecoder",
           "InputFeedingLuongDecoder", "InputFeedingLuongSeq2Seq",
           "LuongStyleDecoder", "LuongStyleSeq2Seq", "MAIN_KINDS", "MODEL_KINDS",
           "MultiplicativeAttention", "MultiplicativeBahdanauDecoder", "NaiveAttentionSeq2Seq",
           "NaiveBahdanauDecoder", "OwnPredictionSamplingSeq2Seq", "PositionalEmbedding",
           "READOUTS", "Readout", "RecurrentTranslationModel", "TransformerDecoderLayer",
           "TransformerEncoderLayer", "TransformerSeq2Seq", "TranslationModel",
           "attention_model_with", "build_model", "causal_mask", "masked_softmax",
           "positional_encoding"]
