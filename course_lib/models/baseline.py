"""The baseline encoder–decoder (Sutskever et al. 2014; Cho et al. 2014), Keras 3.

The encoder reads the English sentence with a bidirectional GRU. The decoder is a
GRU language model over German whose first state is computed from the encoder's
final states; it sees the source *only* through that one fixed-size vector, which is
the bottleneck attention removes (chapter 5).

Every model in the course offers the same two methods that decoding builds on::

    carry = model.encode(source_ids)                               # once per batch
    logits, carry, weights = model.decode_step(prev_token, carry)  # once per word

``weights`` is the attention over source positions, ``(batch, S)``; the baseline
has none and returns ``None``.
"""

from __future__ import annotations

import keras
from keras import layers, ops

PACKAGE = "course_lib"


@keras.saving.register_keras_serializable(package=PACKAGE)
class Encoder(layers.Layer):
    """Embedding (padding masked) + bidirectional GRU.

    Returns ``outputs`` (batch, S, 2·units): one vector per source word, both
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
class BaselineDecoder(layers.Layer):
    """Embedding + GRU + linear output over the target vocabulary (logits).

    Training runs the whole GRU layer over the shifted target at once (fast, fused
    kernel); inference runs its cell one step at a time. Both use the same weights.
    """

    def __init__(self, vocab_size: int, embedding_dim: int, units: int, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.embedding_dim, self.units = vocab_size, embedding_dim, units
        self.embedding = layers.Embedding(vocab_size, embedding_dim, name="embedding")
        self.bridge = layers.Dense(units, activation="tanh", name="bridge")  # encoder → s_0
        self.rnn = layers.GRU(units, return_sequences=True, name="gru")
        self.output_layer = layers.Dense(vocab_size, name="output")

    def initial_state(self, encoder_final):
        return self.bridge(encoder_final)  # (batch, 2U) → (batch, U)

    def call(self, decoder_input, encoder_final):
        embedded = self.embedding(decoder_input)                    # (batch, T, E)
        states = self.rnn(embedded, initial_state=[self.initial_state(encoder_final)])
        return self.output_layer(states)                            # (batch, T, V)

    def step(self, prev_token, state):
        """One word: prev_token (batch,) int, state (batch, U) → logits (batch, V), new state."""
        embedded = self.embedding(prev_token)                       # (batch, E)
        new_state, _ = self.rnn.cell(embedded, [state])             # (batch, U)
        return self.output_layer(new_state), new_state

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "embedding_dim": self.embedding_dim, "units": self.units}


class TranslationModel(keras.Model):
    """Shared plumbing: config, build, and the ``encode`` / ``decode_step`` interface."""

    kind = "abstract"
    has_attention = False

    def __init__(self, source_vocab_size: int, target_vocab_size: int,
                 embedding_dim: int = 128, units: int = 256, **kwargs):
        super().__init__(**kwargs)
        self.source_vocab_size = source_vocab_size
        self.target_vocab_size = target_vocab_size
        self.embedding_dim = embedding_dim
        self.units = units
        self.encoder = Encoder(source_vocab_size, embedding_dim, units, name="encoder")

    def build(self, input_shape=None):
        # Run one tiny batch so every weight exists (needed before loading weights).
        dummy = ops.ones((1, 2), dtype="int32")
        self.call((dummy, dummy))  # builds every sub-layer
        super().build(input_shape)

    def get_config(self):
        return {**super().get_config(), "source_vocab_size": self.source_vocab_size,
                "target_vocab_size": self.target_vocab_size,
                "embedding_dim": self.embedding_dim, "units": self.units}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package=PACKAGE)
class BaselineSeq2Seq(TranslationModel):
    """Encoder–decoder without attention: the source reaches the decoder as one vector."""

    kind = "baseline"

    def __init__(self, source_vocab_size, target_vocab_size, embedding_dim=128, units=256,
                 **kwargs):
        super().__init__(source_vocab_size, target_vocab_size, embedding_dim, units, **kwargs)
        self.decoder = BaselineDecoder(target_vocab_size, embedding_dim, units, name="decoder")

    def call(self, inputs):
        source_ids, decoder_input = inputs            # (batch, S), (batch, T)
        _, final, _ = self.encoder(source_ids)
        return self.decoder(decoder_input, final)     # (batch, T, V) logits

    def encode(self, source_ids):
        _, final, _ = self.encoder(source_ids)
        return {"state": self.decoder.initial_state(final)}

    def decode_step(self, prev_token, carry):
        logits, state = self.decoder.step(prev_token, carry["state"])
        return logits, {"state": state}, None


@keras.saving.register_keras_serializable(package=PACKAGE)
class ScheduledSamplingSeq2Seq(BaselineSeq2Seq):
    """The baseline trained with *scheduled sampling* (Bengio et al. 2015), for chapter 3.

    Teacher forcing always feeds the decoder the correct previous word, so during
    training it never sees its own mistakes ("exposure bias"). Here, at each step and
    for each sentence, the decoder reads its own previous prediction with probability
    ``sampling_probability`` and the correct word otherwise. The decoder then runs one
    step at a time (``tf.scan`` over the GRU cell), which is slower than the fused GRU.
    At inference time the model is an ordinary baseline.
    """

    kind = "scheduled_sampling"

    def __init__(self, source_vocab_size, target_vocab_size, embedding_dim=128, units=256,
                 sampling_probability: float = 0.25, **kwargs):
        super().__init__(source_vocab_size, target_vocab_size, embedding_dim, units, **kwargs)
        self.sampling_probability = sampling_probability

    def call(self, inputs, training=False):
        if not training or self.sampling_probability <= 0:
            return super().call(inputs)
        import tensorflow as tf

        source_ids, decoder_input = inputs
        carry = self.encode(source_ids)
        batch = ops.shape(decoder_input)[0]

        def one_step(previous, true_token):
            state, logits, step = previous                                  # step 0 reads [start]
            own = ops.cast(ops.argmax(logits, axis=-1), true_token.dtype)    # (batch,)
            use_own = keras.random.uniform((batch,)) < self.sampling_probability
            token = ops.where(ops.logical_and(use_own, step > 0), own, true_token)
            new_logits, new_state = self.decoder.step(token, state)
            return new_state, new_logits, step + 1

        initial = (carry["state"], ops.zeros((batch, self.target_vocab_size)),
                   ops.convert_to_tensor(0))
        _, logits, _ = tf.scan(one_step, ops.transpose(decoder_input), initializer=initial)
        return ops.transpose(logits, (1, 0, 2))                             # (batch, T, V)

    def get_config(self):
        return {**super().get_config(), "sampling_probability": self.sampling_probability}
