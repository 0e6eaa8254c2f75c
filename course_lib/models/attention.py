"""Bahdanau (additive) attention and the decoders that use it, Keras 3 + TensorFlow.

Bahdanau, Cho & Bengio (2014), "Neural Machine Translation by Jointly Learning to
Align and Translate". At output step i the previous decoder state s_{i-1} asks
every encoder state h_j how relevant it is::

    e_ij  = v · tanh(W·h_j + U·s_{i-1})         score, one number per source word
    a_ij  = softmax_j(e_ij)  (padding masked)    attention weights, sum to 1 over j
    c_i   = Σ_j a_ij · h_j                        context vector
    s_i   = GRU([y_{i-1}; c_i], s_{i-1})          the decoder reads word and context

``W·h_j`` (the *keys*) does not depend on i, so we compute it once per batch
(:meth:`BahdanauAttention.project_keys`) instead of once per output word. The
``naive=True`` variant recomputes it every step, as some published code does; the
benchmark ``benchmarks/attention_speed.py`` measures what that costs.

:class:`LuongStyleSeq2Seq` is the ablation: the GRU runs first over the whole
target (fused kernel, parallel over time) and attention is applied to its outputs
afterwards (Luong et al. 2015 style, with the same additive score).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from .baseline import PACKAGE, TranslationModel

NEG_INF = -1e9


@keras.saving.register_keras_serializable(package=PACKAGE)
class BahdanauAttention(layers.Layer):
    """Additive attention: ``score(s, h_j) = v · tanh(W·h_j + U·s)``."""

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.key_layer = layers.Dense(units, use_bias=False, name="W")    # applied to h_j
        self.query_layer = layers.Dense(units, use_bias=True, name="U")  # applied to s
        self.score_layer = layers.Dense(1, use_bias=False, name="v")

    def project_keys(self, values):
        """W·h_j for all source positions: (batch, S, 2U) → (batch, S, A). Once per batch."""
        return self.key_layer(values)

    def call(self, query, keys, values, mask):
        """query (batch, U) or (batch, T, U); keys (batch, S, A); values (batch, S, D); mask (batch, S).

        Returns ``context`` (batch, [T,] D) and ``weights`` (batch, [T,] S).
        """
        query_proj = self.query_layer(query)                     # (batch, [T,] A)
        if len(query.shape) == 3:                                # all T steps at once
            keys, mask = keys[:, None], mask[:, None]            # (batch, 1, S, A), (batch, 1, S)
        scores = self.score_layer(ops.tanh(keys + query_proj[..., None, :]))
        scores = ops.squeeze(scores, -1)                         # (batch, [T,] S)
        weights = masked_softmax(scores, mask)                   # (batch, [T,] S)
        context = ops.matmul(weights[..., None, :], values if len(query.shape) == 2
                             else values[:, None])               # (batch, [T,] 1, D)
        return ops.squeeze(context, -2), weights

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def masked_softmax(scores, mask):
    """Softmax over the last axis that gives padding positions exactly zero weight.

    scores (…, S) float; mask (…, S) bool, True = real word.
    """
    scores = ops.where(mask, scores, NEG_INF)
    weights = ops.softmax(scores, axis=-1)
    return ops.where(mask, weights, 0.0)


@keras.saving.register_keras_serializable(package=PACKAGE)
class BahdanauDecoder(layers.Layer):
    """The paper's decoder: attend with s_{i-1}, then feed [y_{i-1}; c_i] to a GRU cell.

    Training and inference share :meth:`step`; training runs it over time with
    ``tf.scan`` (a compiled loop), inference calls it once per generated word.
    """

    def __init__(self, vocab_size: int, embedding_dim: int, units: int, naive: bool = False,
                 fixed_query: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.embedding_dim, self.units = vocab_size, embedding_dim, units
        self.naive = naive
        # fixed_query=True reproduces a published bug (chapter 6): attention is always
        # asked with the encoder summary s_0 instead of the previous decoder state.
        self.fixed_query = fixed_query
        self.embedding = layers.Embedding(vocab_size, embedding_dim, name="embedding")
        self.bridge = layers.Dense(units, activation="tanh", name="bridge")
        self.attention = BahdanauAttention(units, name="attention")
        self.cell = layers.GRUCell(units, name="gru_cell")
        # Linear projection of [s_i; c_i; y_{i-1}] before the softmax layer. The paper uses a
        # maxout layer here; a tanh layer slowed learning markedly in our runs (see chapter 5).
        self.pre_output = layers.Dense(units, name="combine")
        self.output_layer = layers.Dense(vocab_size, name="output")

    def initial_state(self, encoder_final):
        return self.bridge(encoder_final)                          # (batch, U)

    def step(self, prev_embedded, state, keys, values, mask, query=None):
        """One output word. prev_embedded (batch, E), state (batch, U).

        Returns new state (batch, U), context (batch, 2U), weights (batch, S).
        ``query`` overrides the attention query (only the ``fixed_query`` bug uses it).
        """
        if self.naive:  # the slow way: W·h_j recomputed at every step
            keys = self.attention.project_keys(values)
        context, weights = self.attention(state if query is None else query, keys, values, mask)
        cell_input = ops.concatenate([prev_embedded, context], axis=-1)  # (batch, E + 2U)
        new_state, _ = self.cell(cell_input, [state])
        return new_state, context, weights

    def logits(self, state, context, prev_embedded):
        """Output layer for one or all steps: [s_i; c_i; y_{i-1}] → (…, V)."""
        features = ops.concatenate([state, context, prev_embedded], axis=-1)
        return self.output_layer(self.pre_output(features))

    def call(self, decoder_input, encoder_outputs, encoder_final, mask):
        """Teacher-forced pass. Returns logits (batch, T, V) and weights (batch, T, S)."""
        embedded = self.embedding(decoder_input)                       # (batch, T, E)
        keys = None if self.naive else self.attention.project_keys(encoder_outputs)
        batch, source_len = ops.shape(encoder_outputs)[0], ops.shape(encoder_outputs)[1]
        initial = (
            self.initial_state(encoder_final),                         # state (batch, U)
            ops.zeros((batch, 2 * self.units), dtype=embedded.dtype),  # context (batch, 2U)
            ops.zeros((batch, source_len), dtype=embedded.dtype),      # weights (batch, S)
        )

        query = initial[0] if self.fixed_query else None

        def one_step(carry, prev_embedded):
            return self.step(prev_embedded, carry[0], keys, encoder_outputs, mask, query)

        time_major = ops.transpose(embedded, (1, 0, 2))                # (T, batch, E)
        states, contexts, weights = tf.scan(one_step, time_major, initializer=initial)
        states, contexts, weights = (ops.transpose(t, (1, 0, 2))       # back to batch-major
                                     for t in (states, contexts, weights))
        return self.logits(states, contexts, embedded), weights

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "embedding_dim": self.embedding_dim, "units": self.units, "naive": self.naive,
                "fixed_query": self.fixed_query}


@keras.saving.register_keras_serializable(package=PACKAGE)
class AttentionSeq2Seq(TranslationModel):
    """Encoder + Bahdanau decoder. ``call`` returns logits; ``attention_weights`` the weights."""

    kind = "attention"
    has_attention = True

    def __init__(self, source_vocab_size, target_vocab_size, embedding_dim=128, units=256,
                 naive: bool = False, fixed_query: bool = False, **kwargs):
        super().__init__(source_vocab_size, target_vocab_size, embedding_dim, units, **kwargs)
        self.naive = naive
        self.fixed_query = fixed_query
        self.decoder = BahdanauDecoder(target_vocab_size, embedding_dim, units, naive=naive,
                                       fixed_query=fixed_query, name="decoder")

    def call(self, inputs):
        return self.forward_with_weights(inputs)[0]

    def forward_with_weights(self, inputs):
        """Teacher-forced logits (batch, T, V) and attention weights (batch, T, S)."""
        source_ids, decoder_input = inputs
        outputs, final, mask = self.encoder(source_ids)
        return self.decoder(decoder_input, outputs, final, mask)

    def encode(self, source_ids):
        outputs, final, mask = self.encoder(source_ids)
        keys = outputs if self.naive else self.decoder.attention.project_keys(outputs)
        state = self.decoder.initial_state(final)
        carry = {"state": state, "values": outputs, "keys": keys, "mask": mask}
        if self.fixed_query:
            carry["query"] = state
        return carry

    def decode_step(self, prev_token, carry):
        embedded = self.decoder.embedding(prev_token)                  # (batch, E)
        state, context, weights = self.decoder.step(
            embedded, carry["state"], carry["keys"], carry["values"], carry["mask"],
            carry.get("query"))
        logits = self.decoder.logits(state, context, embedded)         # (batch, V)
        return logits, {**carry, "state": state}, weights

    def get_config(self):
        return {**super().get_config(), "naive": self.naive, "fixed_query": self.fixed_query}


@keras.saving.register_keras_serializable(package=PACKAGE)
class LuongStyleSeq2Seq(TranslationModel):
    """Ablation: attention *after* the GRU, so the GRU runs over time in one fused call.

    s_i = GRU(y_{i-1}, s_{i-1}) first, then c_i = attend(s_i, h), then predict from
    [s_i; c_i; y_{i-1}]. The context never flows back into the recurrence.
    """

    kind = "luong"
    has_attention = True

    def __init__(self, source_vocab_size, target_vocab_size, embedding_dim=128, units=256,
                 **kwargs):
        super().__init__(source_vocab_size, target_vocab_size, embedding_dim, units, **kwargs)
        self.embedding = layers.Embedding(target_vocab_size, embedding_dim, name="embedding")
        self.bridge = layers.Dense(units, activation="tanh", name="bridge")
        self.rnn = layers.GRU(units, return_sequences=True, name="gru")
        self.attention = BahdanauAttention(units, name="attention")
        self.pre_output = layers.Dense(units, name="combine")  # linear, as in BahdanauDecoder
        self.output_layer = layers.Dense(target_vocab_size, name="output")

    def _logits(self, states, contexts, embedded):
        features = ops.concatenate([states, contexts, embedded], axis=-1)
        return self.output_layer(self.pre_output(features))

    def call(self, inputs):
        source_ids, decoder_input = inputs
        outputs, final, mask = self.encoder(source_ids)
        embedded = self.embedding(decoder_input)                             # (batch, T, E)
        states = self.rnn(embedded, initial_state=[self.bridge(final)])      # (batch, T, U)
        keys = self.attention.project_keys(outputs)                          # (batch, S, A)
        contexts, _ = self.attention(states, keys, outputs, mask)            # (batch, T, 2U)
        return self._logits(states, contexts, embedded)

    def encode(self, source_ids):
        outputs, final, mask = self.encoder(source_ids)
        return {"state": self.bridge(final), "values": outputs,
                "keys": self.attention.project_keys(outputs), "mask": mask}

    def decode_step(self, prev_token, carry):
        embedded = self.embedding(prev_token)                               # (batch, E)
        state, _ = self.rnn.cell(embedded, [carry["state"]])                # (batch, U)
        context, weights = self.attention(state, carry["keys"], carry["values"], carry["mask"])
        return self._logits(state, context, embedded), {**carry, "state": state}, weights
