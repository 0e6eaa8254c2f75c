"""A small Transformer (Vaswani et al. 2017) with the course's decoding interface.

Chapter 7 builds every piece by hand on one sentence; this module is the tested
reference the chapter ends with. The RNN models read a sentence one word after the
other; the Transformer replaces the recurrence by attention everywhere::

    encoder   x = embed(source)·√d + PE
              N × [ x += SelfAttention(LN(x))               every word looks at every word
                    x += FeedForward(LN(x)) ]
    decoder   y = embed(target)·√d + PE
              N × [ y += CausalSelfAttention(LN(y))         only at earlier German words
                    y += CrossAttention(LN(y), LN(x))       at the English words (Bahdanau's c_i)
                    y += FeedForward(LN(y)) ]
              logits = W_out · LN(y)

Attention is Keras' :class:`keras.layers.MultiHeadAttention`: scaled dot-product
scores ``q·k / √d_k`` in ``heads`` sub-spaces of width ``d_k = d / heads``.

Where this code differs from the paper, on purpose:

* layer normalisation comes *before* each sub-layer ("pre-LN", Xiong et al. 2020)
  where the paper puts it after the residual sum, with one more layer norm at the
  end of each stack (Xiong et al. 2020 show pre-LN trains even without warm-up);
* the paper's learning-rate warm-up, linear over ``TransformerConfig.warmup_steps``
  (measured: +2.7 validation BLEU over none), then the RNN models' rate and halving
  instead of the paper's inverse-square-root decay;
* much smaller: 2 layers per stack, width d = the profile's units (160 or 256),
  4 heads (the paper's base model: 6 layers, d = 512, 8 heads);
* dropout is the course's setting for every model (0.2; the paper: 0.1), label
  smoothing is the paper's ε = 0.1; Adam with the course's learning rate and
  gradient clipping (the paper: its own β₂ = 0.98 and ε);
* the sinusoids are concatenated (all sines, then all cosines) instead of
  interleaved; this is the same encoding with its dimensions in another order;
* the output layer has its own weights (the paper shares them with the embedding).

Decoding one word at a time (``encode`` / ``decode_step``) keeps a *cache*: for every
decoder layer the keys and values of all German positions produced so far, in
``max_target_length`` fixed slots (a fixed shape compiles into one loop and lets beam
search reorder the cache with ``tf.gather``), and the keys and values of the English
sentence, projected once in ``encode``. A new word then costs one query per layer
instead of a pass over the whole prefix; the tests check that the cached steps give
the same logits as the teacher-forced pass.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from .. import config
from .base import PACKAGE, TranslationModel


def positional_encoding(positions, depth: int):
    """The sinusoids of Vaswani et al. (2017, section 3.5), for any positions.

    ``PE(pos, i) = sin(pos / 10000^(2i/d))`` in the first half of the vector and the
    matching cosine in the second half. Every position gets its own pattern, and the
    paper's reason for sinusoids (section 3.5) holds: for any offset k, PE(pos + k) is
    a fixed linear function of PE(pos) (a rotation of each sine–cosine pair), so
    attention can learn to look k words back or ahead wherever it is.

    Args:
        positions: int tensor of any shape (…,), e.g. ``ops.arange(T)``.
        depth: the width d of the model (even).

    Returns:
        float32 tensor (…, depth).
    """
    if depth % 2:
        raise ValueError(f"the positional encoding needs an even width, got {depth}")
    i = ops.arange(depth // 2, dtype="float32")                              # (d/2,)
    frequencies = ops.power(10000.0, -2.0 * i / depth)                        # (d/2,)
    angles = ops.cast(positions, "float32")[..., None] * frequencies          # (…, d/2)
    return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)      # (…, d)


def causal_mask(length):
    """(length, length) bool: True where query position i may see key position j (j ≤ i)."""
    positions = ops.arange(length)
    return positions[:, None] >= positions[None, :]


@keras.saving.register_keras_serializable(package=PACKAGE)
class PositionalEmbedding(layers.Layer):
    """Token embedding scaled by √d plus the positional encoding.

    ``call(token_ids)`` embeds whole sentences (batch, T) → (batch, T, d);
    ``call(token_ids, positions)`` embeds one word per sentence during decoding:
    token_ids (batch,), positions (batch,) → (batch, d).
    """

    def __init__(self, vocab_size: int, depth: int, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.depth = vocab_size, depth
        self.embedding = layers.Embedding(vocab_size, depth, name="embedding")

    def call(self, token_ids, positions=None):
        if positions is None:
            positions = ops.arange(ops.shape(token_ids)[-1])                  # (T,)
        embedded = self.embedding(token_ids) * (self.depth ** 0.5)            # (…, d)
        return embedded + ops.cast(positional_encoding(positions, self.depth), embedded.dtype)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "depth": self.depth}


@keras.saving.register_keras_serializable(package=PACKAGE)
class CachedAttention(layers.MultiHeadAttention):
    """Keras' multi-head attention plus the two calls that cached decoding needs.

    ``project_keys_values`` turns inputs into per-head keys and values once;
    ``attend_projected`` lets new queries attend to keys and values projected earlier.
    Both use the layer's own projections (its public ``query_dense``, ``key_dense``,
    ``value_dense`` and ``output_dense`` sub-layers) and scaled dot-product attention
    written out here, so they compute what ``call`` computes at inference (a test
    checks this) without relying on Keras' private methods.
    """

    def project_keys_values(self, inputs):
        """inputs (batch, S, d) → keys (batch, S, heads, d_k), values (batch, S, heads, d_k)."""
        return self.key_dense(inputs), self.value_dense(inputs)

    def attend_projected(self, query_inputs, keys, values, mask):
        """query_inputs (batch, T, d); mask (batch, T, S) bool, True = may attend.

        Returns the output (batch, T, d) and the weights (batch, heads, T, S).
        """
        queries = self.query_dense(query_inputs)                              # (batch, T, h, d_k)
        d_k = ops.shape(keys)[-1]
        queries = queries / ops.sqrt(ops.cast(d_k, queries.dtype))
        scores = ops.einsum("bthd,bshd->bhts", queries, keys)                 # (batch, h, T, S)
        allowed = ops.expand_dims(mask, axis=1)                               # (batch, 1, T, S)
        scores = ops.where(allowed, scores, ops.cast(-1e9 if scores.dtype == "float32"
                                                      else -3e4, scores.dtype))
        weights = ops.softmax(scores, axis=-1)                                # (batch, h, T, S)
        output = ops.einsum("bhts,bshd->bthd", weights, values)               # (batch, T, h, d_k)
        return self.output_dense(output), weights


def _feed_forward(depth: int, width: int, name: str) -> keras.Sequential:
    """The position-wise network: Dense(width, ReLU) then Dense(depth), per position."""
    return keras.Sequential([layers.Dense(width, activation="relu"), layers.Dense(depth)],
                            name=name)


class _SublayerSizes(layers.Layer):
    """Sizes shared by the encoder and decoder layers (one place for get_config)."""

    def __init__(self, depth: int, heads: int, ffn_width: int, dropout: float, **kwargs):
        super().__init__(**kwargs)
        if depth % heads:
            raise ValueError(f"the width {depth} must divide into {heads} heads")
        self.depth, self.heads, self.ffn_width, self.dropout_rate = depth, heads, ffn_width, dropout
        self.dropout = layers.Dropout(dropout)

    def attention(self, name):
        return CachedAttention(self.heads, key_dim=self.depth // self.heads,
                               dropout=self.dropout_rate, name=name)

    def get_config(self):
        return {**super().get_config(), "depth": self.depth, "heads": self.heads,
                "ffn_width": self.ffn_width, "dropout": self.dropout_rate}


@keras.saving.register_keras_serializable(package=PACKAGE)
class TransformerEncoderLayer(_SublayerSizes):
    """Self-attention over the source, then the feed-forward network (pre-LN, residual)."""

    def __init__(self, depth, heads, ffn_width, dropout, **kwargs):
        super().__init__(depth, heads, ffn_width, dropout, **kwargs)
        self.attention_norm = layers.LayerNormalization(name="attention_norm")
        self.self_attention = self.attention("self_attention")
        self.ffn_norm = layers.LayerNormalization(name="ffn_norm")
        self.ffn = _feed_forward(depth, ffn_width, "ffn")

    def call(self, x, padding_mask, training=None):
        """x (batch, S, d); padding_mask (batch, S) True at real words → (batch, S, d)."""
        h = self.attention_norm(x)
        attended = self.self_attention(h, h, attention_mask=padding_mask[:, None, :],
                                       training=training)                     # (batch, S, d)
        x = x + self.dropout(attended, training=training)
        return x + self.dropout(self.ffn(self.ffn_norm(x)), training=training)


@keras.saving.register_keras_serializable(package=PACKAGE)
class TransformerDecoderLayer(_SublayerSizes):
    """Causal self-attention, cross-attention to the source, feed-forward (pre-LN, residual)."""

    def __init__(self, depth, heads, ffn_width, dropout, **kwargs):
        super().__init__(depth, heads, ffn_width, dropout, **kwargs)
        self.self_norm = layers.LayerNormalization(name="self_norm")
        self.self_attention = self.attention("self_attention")
        self.cross_norm = layers.LayerNormalization(name="cross_norm")
        self.cross_attention = self.attention("cross_attention")
        self.ffn_norm = layers.LayerNormalization(name="ffn_norm")
        self.ffn = _feed_forward(depth, ffn_width, "ffn")

    def call(self, y, memory, memory_mask, training=None):
        """The whole target at once (teacher forcing).

        y (batch, T, d); memory (batch, S, d) the encoder output; memory_mask (batch, S).
        Returns y (batch, T, d) and the cross-attention weights (batch, heads, T, S).
        """
        steps = ops.shape(y)[1]
        h = self.self_norm(y)
        attended = self.self_attention(h, h, attention_mask=causal_mask(steps)[None],
                                       training=training)                     # (batch, T, d)
        y = y + self.dropout(attended, training=training)
        attended, weights = self.cross_attention(
            self.cross_norm(y), memory, attention_mask=memory_mask[:, None, :],
            return_attention_scores=True, training=training)                 # (batch, T, d)
        y = y + self.dropout(attended, training=training)
        return y + self.dropout(self.ffn(self.ffn_norm(y)), training=training), weights

    def start_cache(self, memory, cache_length: int) -> dict:
        """The cache for one sentence batch: source keys/values now, empty target slots."""
        cross_keys, cross_values = self.cross_attention.project_keys_values(memory)
        batch = ops.shape(memory)[0]
        empty = ops.zeros((batch, cache_length, self.heads, self.depth // self.heads),
                          dtype=cross_keys.dtype)                             # (batch, L, h, d_k)
        return {"self_keys": empty, "self_values": empty,
                "cross_keys": cross_keys, "cross_values": cross_values}      # (batch, S, h, d_k)

    def step(self, y, cache, memory_mask, position):
        """One new German word per sentence, attending to the cached past.

        y (batch, 1, d); position (batch,) int, the slot of this word in the cache.
        Returns y (batch, 1, d), the updated cache, cross weights (batch, heads, 1, S).
        """
        slots = ops.shape(cache["self_keys"])[1]
        h = self.self_norm(y)
        keys, values = self.self_attention.project_keys_values(h)            # (batch, 1, h, d_k)
        write = ops.cast(ops.one_hot(position, slots), keys.dtype)[:, :, None, None]  # (batch, L, 1, 1)
        self_keys = cache["self_keys"] * (1 - write) + keys * write           # slot `position` ← new
        self_values = cache["self_values"] * (1 - write) + values * write
        seen = ops.arange(slots)[None, :] <= position[:, None]                # (batch, L) causal
        attended, _ = self.self_attention.attend_projected(h, self_keys, self_values,
                                                           seen[:, None, :])
        y = y + attended
        attended, weights = self.cross_attention.attend_projected(
            self.cross_norm(y), cache["cross_keys"], cache["cross_values"],
            memory_mask[:, None, :])
        y = y + attended
        y = y + self.ffn(self.ffn_norm(y))
        return y, {**cache, "self_keys": self_keys, "self_values": self_values}, weights


@keras.saving.register_keras_serializable(package=PACKAGE)
class TransformerSeq2Seq(TranslationModel):
    """Encoder and decoder stacks of Transformer layers, with ``encode``/``decode_step``.

    Sizes: the model width d is ``units`` (every sub-layer reads and writes vectors of
    that width, so the embeddings have it too; ``embedding_dim`` is kept only so that
    every kind takes the same arguments). ``dropout`` is the same setting as the
    recurrent models' (:class:`course_lib.config.ModelConfig`); ``heads``, ``layers``
    and the feed-forward width default to :class:`course_lib.config.TransformerConfig`.
    """

    kind = "transformer"
    has_attention = True

    def __init__(self, source_vocab_size: int, target_vocab_size: int, embedding_dim: int,
                 units: int, dropout: float = 0.0, heads: int | None = None,
                 num_layers: int | None = None, ffn_width: int | None = None,
                 max_target_length: int | None = None, **kwargs):
        super().__init__(source_vocab_size, target_vocab_size, embedding_dim, units, dropout,
                         **kwargs)
        defaults = config.TransformerConfig()

        def given_or_default(name, value, default):
            return config.require_count(name, default if value is None else value)

        self.heads = given_or_default("heads", heads, defaults.heads)
        self.num_layers = given_or_default("num_layers", num_layers, defaults.layers)
        self.ffn_width = given_or_default("ffn_width", ffn_width, defaults.ffn_multiplier * units)
        self.max_target_length = given_or_default("max_target_length", max_target_length,
                                                  defaults.max_target_length)
        sizes = (units, self.heads, self.ffn_width, dropout)
        self.source_embedding = PositionalEmbedding(source_vocab_size, units, name="source_embedding")
        self.target_embedding = PositionalEmbedding(target_vocab_size, units, name="target_embedding")
        self.input_dropout = layers.Dropout(dropout)
        self.encoder_layers = [TransformerEncoderLayer(*sizes, name=f"encoder_{n}")
                               for n in range(self.num_layers)]
        self.decoder_layers = [TransformerDecoderLayer(*sizes, name=f"decoder_{n}")
                               for n in range(self.num_layers)]
        self.encoder_norm = layers.LayerNormalization(name="encoder_norm")
        self.decoder_norm = layers.LayerNormalization(name="decoder_norm")
        self.output_layer = layers.Dense(target_vocab_size, name="output", dtype="float32")

    # -- the two stacks

    def encode_source(self, source_ids, training=None):
        """source_ids (batch, S) → memory (batch, S, d), padding mask (batch, S)."""
        mask = source_ids != 0                                                # (batch, S)
        x = self.input_dropout(self.source_embedding(source_ids), training=training)
        for layer in self.encoder_layers:
            x = layer(x, mask, training=training)                            # (batch, S, d)
        return self.encoder_norm(x), mask

    def decode_all(self, decoder_input, memory, mask, training=None):
        """Teacher-forced decoder: (batch, T) → logits (batch, T, V), weights per layer."""
        y = self.input_dropout(self.target_embedding(decoder_input), training=training)
        weights = []
        for layer in self.decoder_layers:
            y, layer_weights = layer(y, memory, mask, training=training)      # (batch, T, d)
            weights.append(layer_weights)                                     # (batch, h, T, S)
        return self.output_layer(self.decoder_norm(y)), weights

    # -- training and inspection

    def attention_heads(self, inputs, layer: int = -1):
        """Cross-attention weights of one decoder layer, every head: (batch, heads, T, S)."""
        source_ids, decoder_input = inputs
        memory, mask = self.encode_source(source_ids)
        return self.decode_all(decoder_input, memory, mask)[1][layer]

    def forward_with_weights(self, inputs, training=None):
        """Teacher-forced logits (batch, T, V) and the last layer's cross-attention
        averaged over heads (batch, T, S) — the counterpart of Bahdanau's α_ij."""
        source_ids, decoder_input = inputs
        memory, mask = self.encode_source(source_ids, training)
        logits, weights = self.decode_all(decoder_input, memory, mask, training)
        return logits, ops.mean(weights[-1], axis=1)

    # -- decoding, one word at a time

    def encode(self, source_ids):
        """Read the source once and start the cache (a dict of tensors, batch first)."""
        memory, mask = self.encode_source(source_ids)
        return {"position": ops.zeros((ops.shape(source_ids)[0],), dtype="int32"),
                "mask": mask,
                "layers": [layer.start_cache(memory, self.max_target_length)
                           for layer in self.decoder_layers]}

    def decode_step(self, prev_token, carry):
        """prev_token (batch,) int → logits (batch, V), new carry, weights (batch, S)."""
        position = carry["position"]                                          # (batch,)
        y = self.target_embedding(prev_token, position)[:, None, :]           # (batch, 1, d)
        caches = []
        for layer, cache in zip(self.decoder_layers, carry["layers"]):
            y, cache, weights = layer.step(y, cache, carry["mask"], position)
            caches.append(cache)
        logits = self.output_layer(self.decoder_norm(y))[:, 0]               # (batch, V)
        new_carry = {"position": position + 1, "mask": carry["mask"], "layers": caches}
        return logits, new_carry, ops.mean(weights[:, :, 0], axis=1)          # (batch, S)

    # -- Keras plumbing (building is shared: TranslationModel.build)

    def get_config(self):
        return {**super().get_config(), "heads": self.heads, "num_layers": self.num_layers,
                "ffn_width": self.ffn_width, "max_target_length": self.max_target_length}
