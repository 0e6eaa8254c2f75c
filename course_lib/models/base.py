"""What every translation model in the course shares: the encoder, the readout, the interface.

A model is an :class:`Encoder` plus a decoder layer. The decoders differ only in how
they get the context vector ``c_i`` that tells them about the source sentence:

=============================  =============================================
baseline (Cho et al. 2014)     one fixed ``c`` = the encoder summary, every step
Bahdanau et al. (2014)         ``c_i`` attended with the previous state s_{i-1}
Luong-style (Luong et al. 2015) ``c_i`` attended with the new state s_i
=============================  =============================================

All three predict the next word from the same readout ``[s_i; c_i; y_{i-1}]``, so a
comparison between them changes one thing only. Decoding (greedy, beam search)
needs just two methods, declared on :class:`TranslationModel`::

    carry = model.encode(source_ids)                               # once per batch
    logits, carry, weights = model.decode_step(prev_token, carry)  # once per word

A decoder layer provides the pieces these methods are built from:

``memory(encoder_outputs, encoder_final, mask) -> dict``
    what the decoder keeps about the source (its first state ``state`` = s_0,
    and the context, keys, values and mask it needs);
``step(y_prev, s_prev, memory) -> (s_i, c_i, weights)``
    one output word, embedded ``y_prev`` (batch, E);
``readout(s_i, c_i, y_prev) -> logits``
    the output layer, for one step or all steps at once;
``call(decoder_input, memory) -> (logits, weights)``
    the teacher-forced pass over a whole target sentence.
"""

from __future__ import annotations

import keras
from keras import layers, ops

PACKAGE = "course_lib"


@keras.saving.register_keras_serializable(package=PACKAGE)
class Encoder(layers.Layer):
    """Embedding (padding masked) + bidirectional GRU.

    Returns ``outputs`` (batch, S, 2·units): one vector h_j per source word, both
    directions concatenated; ``final`` (batch, 2·units): the last forward and
    backward states; ``mask`` (batch, S): True at real (non-padding) positions.
    """

    def __init__(self, vocab_size: int, embedding_dim: int, units: int, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.embedding_dim, self.units = vocab_size, embedding_dim, units
        self.embedding = layers.Embedding(vocab_size, embedding_dim, mask_zero=True,
                                          name="embedding")
        # Default activations and no recurrent dropout keep the fused cuDNN kernel on GPUs.
        self.rnn = layers.Bidirectional(
            layers.GRU(units, return_sequences=True, return_state=True, name="gru"),
            merge_mode="concat", name="bidirectional",
        )

    def call(self, source_ids):
        mask = self.embedding.compute_mask(source_ids)     # (batch, S) bool
        embedded = self.embedding(source_ids)               # (batch, S, E)
        outputs, forward, backward = self.rnn(embedded, mask=mask)
        # outputs (batch, S, 2U); forward, backward (batch, U)
        final = ops.concatenate([forward, backward], axis=-1)  # (batch, 2U)
        return outputs, final, mask

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "embedding_dim": self.embedding_dim, "units": self.units}


@keras.saving.register_keras_serializable(package=PACKAGE)
class Readout(layers.Layer):
    """The output layer of every decoder: ``[s_i; c_i; y_{i-1}]`` → logits over the vocabulary.

    A linear layer combines the three (Bahdanau et al. use a maxout layer here, see
    :mod:`course_lib.models.attention`), then a linear layer scores every target word.
    The logits are computed in float32 even under mixed precision, so the softmax
    and the loss stay accurate.
    """

    def __init__(self, vocab_size: int, units: int, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.units = vocab_size, units
        self.combine = layers.Dense(units, name="combine")
        self.output_layer = layers.Dense(vocab_size, name="output", dtype="float32")

    def call(self, state, context, prev_embedded):
        """state (…, U), context (…, D), prev_embedded (…, E) → logits (…, V)."""
        features = ops.concatenate([state, context, prev_embedded], axis=-1)  # (…, U+D+E)
        return self.output_layer(self.combine(features))

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "units": self.units}


class DecoderLayer(layers.Layer):
    """What every decoder starts with: its sizes, the German embedding, and the bridge to s_0.

    Subclasses add their recurrence (a GRU layer or cell), attention if any, and a
    :class:`Readout`, and implement ``memory``, ``step`` and ``call`` (see the module
    docstring).
    """

    def __init__(self, vocab_size: int, embedding_dim: int, units: int, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.embedding_dim, self.units = vocab_size, embedding_dim, units
        self.embedding = layers.Embedding(vocab_size, embedding_dim, name="embedding")
        self.bridge = layers.Dense(units, activation="tanh", name="bridge")  # encoder → s_0

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "embedding_dim": self.embedding_dim, "units": self.units}


class TranslationModel(keras.Model):
    """An encoder, a decoder layer (``decoder_class``), and the decoding interface.

    Subclasses set ``kind``, ``has_attention`` and ``decoder_class``; everything
    else (training pass, ``encode``, ``decode_step``, saving) is shared.
    """

    kind = "abstract"
    has_attention = False
    decoder_class: type[layers.Layer]

    def __init__(self, source_vocab_size: int, target_vocab_size: int, embedding_dim: int,
                 units: int, **kwargs):
        super().__init__(**kwargs)
        self.source_vocab_size = source_vocab_size
        self.target_vocab_size = target_vocab_size
        self.embedding_dim = embedding_dim
        self.units = units
        self.encoder = Encoder(source_vocab_size, embedding_dim, units, name="encoder")
        self.decoder = self.decoder_class(target_vocab_size, embedding_dim, units,
                                          name="decoder")

    # -- training: the whole target sentence at once (teacher forcing)

    def call(self, inputs):
        """(source_ids (batch, S), decoder_input (batch, T)) → logits (batch, T, V)."""
        return self.forward_with_weights(inputs)[0]

    def forward_with_weights(self, inputs):
        """Teacher-forced logits (batch, T, V) and attention weights (batch, T, S) or None."""
        source_ids, decoder_input = inputs
        memory = self.decoder.memory(*self.encoder(source_ids))
        return self.decoder(decoder_input, memory)

    # -- inference: one word at a time

    def encode(self, source_ids):
        """Read the source once. source_ids (batch, S) int → ``carry``, a dict of tensors.

        ``carry["state"]`` is the decoder's first state s_0 (batch, U); the other
        entries (context, keys, values, mask) stay fixed while decoding.
        """
        return self.decoder.memory(*self.encoder(source_ids))

    def decode_step(self, prev_token, carry):
        """One output word. prev_token (batch,) int; carry from ``encode`` or the last step.

        Returns ``logits`` (batch, V) for the next word, the updated ``carry``, and
        the attention ``weights`` (batch, S) — ``None`` for a model without attention.
        """
        y_prev = self.decoder.embedding(prev_token)                       # (batch, E)
        state, context, weights = self.decoder.step(y_prev, carry["state"], carry)
        logits = self.decoder.readout(state, context, y_prev)            # (batch, V)
        return logits, {**carry, "state": state}, weights

    # -- Keras plumbing

    def build(self, input_shape=None):
        # Run one tiny batch through both paths (training pass and one decoding step),
        # so that every weight and sub-layer exists before weights are loaded.
        dummy = ops.ones((1, 2), dtype="int32")
        self.call((dummy, dummy))
        self.decode_step(dummy[:, 0], self.encode(dummy))
        super().build(input_shape)

    def get_config(self):
        return {**super().get_config(), "source_vocab_size": self.source_vocab_size,
                "target_vocab_size": self.target_vocab_size,
                "embedding_dim": self.embedding_dim, "units": self.units}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
