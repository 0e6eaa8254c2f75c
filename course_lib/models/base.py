"""What every translation model in the course shares: the interface, the encoder, the readout.

Every model kind is a :class:`TranslationModel`. Training calls it on a whole target
sentence at once (teacher forcing); decoding (greedy, beam search) needs two more
methods, and nothing else::

    carry = model.encode(source_ids)                               # once per batch
    logits, carry, weights = model.decode_step(prev_token, carry)  # once per word

``carry`` is *everything the decoder needs to produce the next word*: a dict of
tensors with the batch first (the recurrent state s_i, and what it keeps about the
source: keys, values, mask; for the Transformer, its key/value cache). Beam search
reorders it row by row, so every entry must have the batch as its first axis.

The recurrent models (:class:`RecurrentTranslationModel`) are an :class:`Encoder`
plus a decoder layer. The decoders differ only in how they get the context vector
``c_i`` that tells them about the source sentence:

=============================  =============================================
baseline (Cho et al. 2014)     one fixed ``c`` = the encoder summary, every step
Bahdanau et al. (2014)         ``c_i`` attended with the previous state s_{i-1}
Luong-style (Luong et al. 2015) ``c_i`` attended with the new state s_i
Luong-style, input feeding      the same, and t_{i-1} fed back into the GRU
=============================  =============================================

All of them predict the next word from the same :class:`Readout` of ``[s_i; c_i; y_{i-1}]``,
so a comparison between them changes one thing only. A decoder layer provides:

``start(encoder_outputs, encoder_final, mask) -> carry``
    the carry before the first word: s_0 in ``carry["state"]``, plus the context,
    keys, values and mask the decoder needs;
``step(y_prev, s_prev, carry) -> (s_i, c_i, weights)``
    one output word, embedded ``y_prev`` (batch, E);
``readout(s_i, c_i, y_prev) -> logits``
    the output layer, for one step or all steps at once;
``next_carry(carry, s_i, c_i, y_prev) -> carry``
    the carry for the next word (by default: s_i in ``carry["state"]``);
``call(decoder_input, carry) -> (logits, weights)``
    the teacher-forced pass over a whole target sentence.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

PACKAGE = "course_lib"


def scan_over_time(step, initial, sequence):
    """Run ``step(carry, x_i) -> carry`` along the first axis of ``sequence``; every carry, stacked.

    A compiled loop for decoders whose step i needs the result of step i−1 (the
    Bahdanau decoder asks attention with s_{i-1}). ``initial`` and the returned carries
    may be tuples of tensors; each result has the time axis first.

    Why ``tf.scan`` and not the backend-neutral ``keras.ops.scan``: Keras' TensorFlow
    version of ``scan`` collects the steps in a TensorArray of unknown size, which XLA
    (``jit_compile=True``, the ``gpu`` profile) refuses to compile ("XLA compilation
    requires a fixed tensor list size"); ``tf.scan`` bounds its loop and compiles.
    ``tests/test_models.py`` trains every decoder with XLA to keep it so.
    """
    return tf.scan(step, sequence, initializer=initial)


@keras.saving.register_keras_serializable(package=PACKAGE)
class Encoder(layers.Layer):
    """Embedding (padding masked), dropout, bidirectional GRU.

    Returns ``outputs`` (batch, S, 2·units): one vector h_j per source word, both
    directions concatenated; ``final`` (batch, 2·units): the last forward and
    backward states; ``mask`` (batch, S): True at real (non-padding) positions.
    """

    def __init__(self, vocab_size: int, embedding_dim: int, units: int, dropout: float = 0.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.embedding_dim, self.units = vocab_size, embedding_dim, units
        self.dropout_rate = dropout
        self.embedding = layers.Embedding(vocab_size, embedding_dim, mask_zero=True,
                                          name="embedding")
        self.dropout = layers.Dropout(dropout)
        # Default activations and no recurrent dropout keep the fused cuDNN kernel on GPUs.
        self.rnn = layers.Bidirectional(
            layers.GRU(units, return_sequences=True, return_state=True, name="gru"),
            merge_mode="concat", name="bidirectional",
        )

    def call(self, source_ids):
        mask = self.embedding.compute_mask(source_ids)        # (batch, S) bool
        embedded = self.dropout(self.embedding(source_ids))   # (batch, S, E)
        outputs, forward, backward = self.rnn(embedded, mask=mask)
        # outputs (batch, S, 2U); forward, backward (batch, U)
        final = ops.concatenate([forward, backward], axis=-1)  # (batch, 2U)
        return outputs, final, mask

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "embedding_dim": self.embedding_dim, "units": self.units,
                "dropout": self.dropout_rate}


READOUTS = ("maxout", "tanh")


@keras.saving.register_keras_serializable(package=PACKAGE)
class Readout(layers.Layer):
    """The output layer of every recurrent decoder: ``[s_i; c_i; y_{i-1}]`` → logits.

    A hidden layer with a nonlinearity combines the three, then a linear layer scores
    every target word::

        t_i = tanh(W_o [s_i; c_i; y_{i-1}])                 nonlinearity="tanh"
        t_i = max(W_o [s_i; c_i; y_{i-1}] in pairs)         nonlinearity="maxout"
        logits_i = W_y dropout(t_i)                         (batch, V)

    Bahdanau et al. (2014, appendix A.2.2) use the maxout form (Goodfellow et al. 2013:
    2·units linear units, the larger of each pair kept). Luong et al. (2015, eq. 5) use
    the tanh form on ``[c_t; h_t]`` and call ``t_i`` the *attentional hidden state*; we
    add ``y_{i-1}`` for every decoder, so that the models differ only in ``c_i``. The
    course uses maxout for every recurrent decoder: trained by the same rule, the
    tanh readout sat on a plateau (validation accuracy flat) for its first 2–4 epochs
    while maxout learned from the first (README, "Regularisation and the readout").

    The logits are computed in float32 even under mixed precision, so the softmax and
    the loss stay accurate.
    """

    def __init__(self, vocab_size: int, units: int, nonlinearity: str = "maxout",
                 dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if nonlinearity not in READOUTS:
            raise ValueError(f"readout nonlinearity must be one of {READOUTS}, "
                             f"got {nonlinearity!r}")
        self.vocab_size, self.units = vocab_size, units
        self.nonlinearity, self.dropout_rate = nonlinearity, dropout
        maxout = nonlinearity == "maxout"
        self.combine = layers.Dense(2 * units if maxout else units,
                                    activation=None if maxout else "tanh", name="combine")
        self.dropout = layers.Dropout(dropout)
        self.output_layer = layers.Dense(vocab_size, name="output", dtype="float32")

    def build(self, state_shape, context_shape, prev_embedded_shape):
        """Create W_o for ``[s_i; c_i; y_{i-1}]`` and W_y for t_i.

        Keras calls this before the first ``readout(...)``; a decoder that calls
        :meth:`hidden` and :meth:`logits` separately (input feeding) calls it itself.
        """
        width = state_shape[-1] + context_shape[-1] + prev_embedded_shape[-1]
        self.combine.build((None, width))
        self.output_layer.build((None, self.units))

    def hidden(self, state, context, prev_embedded):
        """t_i: state (…, U), context (…, D), prev_embedded (…, E) → (…, units)."""
        features = ops.concatenate([state, context, prev_embedded], axis=-1)  # (…, U+D+E)
        t = self.combine(features)                        # (…, units) or (…, 2·units)
        if self.nonlinearity == "maxout":                 # the larger of units k and k+units
            t = ops.maximum(t[..., :self.units], t[..., self.units:])   # (…, units)
        return t

    def logits(self, hidden):
        """t_i (…, units) → logits (…, V): dropout (in training), then W_y."""
        return self.output_layer(self.dropout(hidden))

    def call(self, state, context, prev_embedded):
        """state (…, U), context (…, D), prev_embedded (…, E) → logits (…, V)."""
        return self.logits(self.hidden(state, context, prev_embedded))

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "units": self.units,
                "nonlinearity": self.nonlinearity, "dropout": self.dropout_rate}


class DecoderLayer(layers.Layer):
    """What every recurrent decoder starts with: the German embedding (with dropout),
    the bridge to s_0 and the :class:`Readout`.

    Subclasses add their recurrence (a GRU layer or cell) and attention if any, and
    implement ``start``, ``step`` and ``call`` (see the module docstring).
    """

    def __init__(self, vocab_size: int, embedding_dim: int, units: int,
                 readout: str = "maxout", dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.embedding_dim, self.units = vocab_size, embedding_dim, units
        self.readout_nonlinearity, self.dropout_rate = readout, dropout
        self.embedding = layers.Embedding(vocab_size, embedding_dim, name="embedding")
        self.embedding_dropout = layers.Dropout(dropout)
        self.bridge = layers.Dense(units, activation="tanh", name="bridge")  # encoder → s_0
        self.readout = Readout(vocab_size, units, readout, dropout, name="readout")

    def embed(self, token_ids):
        """y_{i-1}: token ids (batch, …) → embedded words (batch, …, E), dropout in training."""
        return self.embedding_dropout(self.embedding(token_ids))

    def next_carry(self, carry, state, context, prev_embedded):
        """The carry for the next word: the new state s_i replaces s_{i-1}; the rest stays."""
        return {**carry, "state": state}

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "embedding_dim": self.embedding_dim, "units": self.units,
                "readout": self.readout_nonlinearity, "dropout": self.dropout_rate}


class TranslationModel(keras.Model):
    """The contract every model kind keeps: a training pass, ``encode`` and ``decode_step``.

    Subclasses set ``kind`` and ``has_attention`` and implement
    :meth:`forward_with_weights`, :meth:`encode` and :meth:`decode_step`; the Keras
    plumbing (building every weight before loading, saving the sizes) is shared.
    """

    kind = "abstract"
    has_attention = False

    def __init__(self, source_vocab_size: int, target_vocab_size: int, embedding_dim: int,
                 units: int, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.source_vocab_size = source_vocab_size
        self.target_vocab_size = target_vocab_size
        self.embedding_dim = embedding_dim
        self.units = units
        self.dropout_rate = dropout

    def call(self, inputs, training=None):
        """(source_ids (batch, S), decoder_input (batch, T)) → logits (batch, T, V)."""
        return self.forward_with_weights(inputs, training=training)[0]

    def forward_with_weights(self, inputs, training=None):
        """Teacher-forced logits (batch, T, V) and attention weights (batch, T, S) or None."""
        raise NotImplementedError

    def encode(self, source_ids):
        """Read the source once. source_ids (batch, S) int → ``carry``, a dict of tensors."""
        raise NotImplementedError

    def decode_step(self, prev_token, carry):
        """One output word. prev_token (batch,) int; carry from ``encode`` or the last step.

        Returns ``logits`` (batch, V) for the next word, the updated ``carry``, and
        the attention ``weights`` (batch, S) — ``None`` for a model without attention.
        """
        raise NotImplementedError

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
                "embedding_dim": self.embedding_dim, "units": self.units,
                "dropout": self.dropout_rate}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class RecurrentTranslationModel(TranslationModel):
    """An :class:`Encoder` and a recurrent decoder layer (``decoder_class``).

    Subclasses set ``kind``, ``has_attention`` and ``decoder_class``; the training
    pass, ``encode``, ``decode_step`` and saving are shared by every recurrent kind.
    """

    decoder_class: type[DecoderLayer]

    def __init__(self, source_vocab_size: int, target_vocab_size: int, embedding_dim: int,
                 units: int, dropout: float = 0.0, readout: str = "maxout", **kwargs):
        super().__init__(source_vocab_size, target_vocab_size, embedding_dim, units, dropout,
                         **kwargs)
        self.readout_nonlinearity = readout
        self.encoder = Encoder(source_vocab_size, embedding_dim, units, dropout, name="encoder")
        self.decoder = self.decoder_class(target_vocab_size, embedding_dim, units, readout,
                                          dropout, name="decoder")

    def forward_with_weights(self, inputs, training=None):
        source_ids, decoder_input = inputs
        carry = self.decoder.start(*self.encoder(source_ids, training=training))
        return self.decoder(decoder_input, carry, training=training)

    def encode(self, source_ids):
        """``carry["state"]`` is the decoder's first state s_0 (batch, U); the other
        entries (context, keys, values, mask) stay fixed while decoding."""
        return self.decoder.start(*self.encoder(source_ids))

    def decode_step(self, prev_token, carry):
        y_prev = self.decoder.embed(prev_token)                           # (batch, E)
        state, context, weights = self.decoder.step(y_prev, carry["state"], carry)
        logits = self.decoder.readout(state, context, y_prev)            # (batch, V)
        return logits, self.decoder.next_carry(carry, state, context, y_prev), weights

    def get_config(self):
        return {**super().get_config(), "readout": self.readout_nonlinearity}

    @classmethod
    def from_config(cls, config):
        if "readout" not in config:  # saved before the readout had a nonlinearity (v0.5.0)
            raise ValueError(f"this {cls.kind} model was saved by course_lib older than 0.5.0, "
                             "whose readout was linear; its weights do not fit this model. "
                             "Train it again")
        return cls(**config)
