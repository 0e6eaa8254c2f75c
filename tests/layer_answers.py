"""Right and wrong answers to the newer exercises (Keras layers, the attention step, the
paired bootstrap, the shift matrix), as a learner would write them.

The right ones are the solutions of the chapters; each wrong one makes one typical
mistake, which the check must catch with a hint.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from course_lib.models import Readout, masked_softmax


class Encoder(keras.layers.Layer):
    def __init__(self, vocab_size, embedding_dim, units, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.embedding_dim, self.units = vocab_size, embedding_dim, units
        self.embedding = layers.Embedding(vocab_size, embedding_dim, mask_zero=True)
        self.rnn = layers.Bidirectional(
            layers.GRU(units, return_sequences=True, return_state=True))

    def call(self, source_ids):
        mask = self.embedding.compute_mask(source_ids)
        outputs, forward, backward = self.rnn(self.embedding(source_ids), mask=mask)
        return outputs, ops.concatenate([forward, backward], axis=-1), mask

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "embedding_dim": self.embedding_dim, "units": self.units}


class EncoderWithoutMask(Encoder):
    """Mistake: padding is read like words (no mask_zero), so `final` depends on it."""

    def __init__(self, vocab_size, embedding_dim, units, **kwargs):
        super().__init__(vocab_size, embedding_dim, units, **kwargs)
        self.embedding = layers.Embedding(vocab_size, embedding_dim)


class EncoderWithoutBackward(Encoder):
    """Mistake: one direction only."""

    def __init__(self, vocab_size, embedding_dim, units, **kwargs):
        super().__init__(vocab_size, embedding_dim, units, **kwargs)
        self.rnn = layers.GRU(2 * units, return_sequences=True, return_state=True)

    def call(self, source_ids):
        mask = self.embedding.compute_mask(source_ids)
        outputs, final = self.rnn(self.embedding(source_ids), mask=mask)
        return outputs, final, mask


class EncoderWithUnusedLayer(Encoder):
    """Mistake: an extra sub-layer, created and never used."""

    def __init__(self, vocab_size, embedding_dim, units, **kwargs):
        super().__init__(vocab_size, embedding_dim, units, **kwargs)
        self.extra = layers.Dense(units)
        self.extra.build((None, 2 * units))


class FixedContextDecoder(keras.layers.Layer):
    def __init__(self, vocab_size, embedding_dim, units, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.embedding_dim, self.units = vocab_size, embedding_dim, units
        self.embedding = layers.Embedding(vocab_size, embedding_dim)
        self.bridge = layers.Dense(units, activation="tanh")
        self.readout = Readout(vocab_size, units)
        self.gru = layers.GRU(units, return_sequences=True)

    def initial_state(self, context):
        return self.bridge(context)

    def call(self, decoder_input, context):
        y_prev = self.embedding(decoder_input)
        c = ops.repeat(context[:, None, :], ops.shape(y_prev)[1], axis=1)
        states = self.gru(ops.concatenate([y_prev, c], axis=-1),
                          initial_state=[self.initial_state(context)])
        return self.readout(states, c, y_prev)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "embedding_dim": self.embedding_dim, "units": self.units}


class DecoderStartingFromZeros(FixedContextDecoder):
    """Mistake: the GRU starts from zeros; the bridge's output is computed but not used."""

    def initial_state(self, context):
        return ops.zeros_like(self.bridge(context)) + 0.0 * self.bridge(context)


class BahdanauAttention(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.W_a = layers.Dense(units, use_bias=False)
        self.U_a = layers.Dense(units, use_bias=False)
        self.v_a = layers.Dense(1, use_bias=False)

    def project_keys(self, values):
        return self.U_a(values)

    def scores(self, query, keys):
        return ops.squeeze(self.v_a(ops.tanh(self.W_a(query)[:, None, :] + keys)), axis=-1)

    def call(self, query, keys, values, mask):
        weights = masked_softmax(self.scores(query, keys), mask)
        return ops.einsum("bs,bsd->bd", weights, values), weights

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class AttentionWithoutMask(BahdanauAttention):
    """Mistake: a plain softmax, so padding gets weight."""

    def call(self, query, keys, values, mask):
        weights = ops.softmax(self.scores(query, keys), axis=-1)
        return ops.einsum("bs,bsd->bd", weights, values), weights


class AttentionWithoutConfig(BahdanauAttention):
    """Mistake: get_config() lacks `units`, so Keras cannot rebuild the layer."""

    def get_config(self):
        return keras.layers.Layer.get_config(self)


class EncoderBlock(keras.layers.Layer):
    def __init__(self, depth, heads, ffn_width, **kwargs):
        super().__init__(**kwargs)
        self.depth, self.heads, self.ffn_width = depth, heads, ffn_width
        self.attention_norm = layers.LayerNormalization()
        self.self_attention = layers.MultiHeadAttention(heads, key_dim=depth // heads)
        self.ffn_norm = layers.LayerNormalization()
        self.ffn_hidden = layers.Dense(ffn_width, activation="relu")
        self.ffn_output = layers.Dense(depth)

    def call(self, x, padding_mask):
        h = self.attention_norm(x)
        x = x + self.self_attention(h, h, attention_mask=padding_mask[:, None, :])
        return x + self.ffn_output(self.ffn_hidden(self.ffn_norm(x)))

    def get_config(self):
        return {**super().get_config(), "depth": self.depth, "heads": self.heads,
                "ffn_width": self.ffn_width}


class PostLNEncoderBlock(EncoderBlock):
    """The paper's post-LN order, where the exercise asks for pre-LN."""

    def call(self, x, padding_mask):
        x = self.attention_norm(
            x + self.self_attention(x, x, attention_mask=padding_mask[:, None, :]))
        return self.ffn_norm(x + self.ffn_output(self.ffn_hidden(x)))


def attention_step(decoder, y_prev, s_prev, carry):
    context, weights = decoder.attention(s_prev, carry["keys"], carry["values"], carry["mask"])
    s_i, _ = decoder.cell(ops.concatenate([y_prev, context], axis=-1), [s_prev])
    return s_i, context, weights


def attention_step_word_last(decoder, y_prev, s_prev, carry):
    """Mistake: the GRU cell reads [c_i; y_{i-1}] instead of [y_{i-1}; c_i]."""
    context, weights = decoder.attention(s_prev, carry["keys"], carry["values"], carry["mask"])
    s_i, _ = decoder.cell(ops.concatenate([context, y_prev], axis=-1), [s_prev])
    return s_i, context, weights


def shift_matrix(k, depth):
    half = depth // 2
    i = np.arange(half)
    b = k * 10000.0 ** (-2.0 * i / depth)
    matrix = np.zeros((depth, depth))
    matrix[i, i], matrix[i + half, i] = np.cos(b), np.sin(b)
    matrix[i, i + half], matrix[i + half, i + half] = -np.sin(b), np.cos(b)
    return matrix


def paired_bootstrap(counts_a, counts_b, samples, seed):
    from course_lib.significance import bleu_of_counts, resample_indices

    def bleu(counts, rows):
        return bleu_of_counts(counts[rows].sum(axis=0))

    differences = [bleu(counts_b, rows) - bleu(counts_a, rows)
                   for rows in resample_indices(len(counts_a), samples, seed)]
    low, high = np.percentile(differences, [2.5, 97.5])
    everything = np.arange(len(counts_a))
    return bleu(counts_b, everything) - bleu(counts_a, everything), low, high


def unpaired_bootstrap(counts_a, counts_b, samples, seed):
    """Mistake: each system on its own resamples, so the difference varies far too much."""
    from course_lib.significance import bleu_of_counts, resample_indices

    rows_a = resample_indices(len(counts_a), samples, seed)
    rows_b = resample_indices(len(counts_b), samples, seed + 1)
    differences = [bleu_of_counts(counts_b[b].sum(axis=0)) - bleu_of_counts(counts_a[a].sum(axis=0))
                   for a, b in zip(rows_a, rows_b, strict=True)]
    low, high = np.percentile(differences, [2.5, 97.5])
    return (bleu_of_counts(counts_b.sum(axis=0)) - bleu_of_counts(counts_a.sum(axis=0)), low,
            high)


def train_step(model, optimizer, batch):
    import tensorflow as tf

    from course_lib.training import masked_loss

    (source_ids, decoder_input), labels = batch
    with tf.GradientTape() as tape:
        loss = masked_loss(labels, model((source_ids, decoder_input), training=True))
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
    return loss


def train_step_without_update(model, optimizer, batch):
    """Mistake: the loss is computed but the weights never move."""
    from course_lib.training import masked_loss

    (source_ids, decoder_input), labels = batch
    return masked_loss(labels, model((source_ids, decoder_input), training=True))


def diagnose_heatmap(weights, is_padding):
    weights, is_padding = np.asarray(weights), np.asarray(is_padding)
    if weights[:, is_padding].sum(axis=1).max() > 1e-3:
        return "attends to padding"
    if len(weights) > 1 and np.ptp(weights, axis=0).max() < 1e-3:
        return "same weights at every step"
    return "looks ok"


def smoothed_over_the_other_words(labels, logits, epsilon):
    """Mistake: spreads epsilon over the V − 1 wrong words only."""
    log_p = ops.log_softmax(logits, axis=-1)
    vocabulary = ops.shape(logits)[-1]
    right = ops.one_hot(labels, vocabulary)
    target = (1 - epsilon) * right + epsilon * (1 - right) / (vocabulary - 1)
    return -ops.sum(target * log_p, axis=-1)


def diagnose_two_rows(weights, is_padding):
    """Mistake: compares the first two rows only, and ignores the padding."""
    weights = np.asarray(weights)
    if len(weights) > 1 and np.allclose(weights[0], weights[1]):
        return "same weights at every step"
    return "looks ok"
