"""The baseline: an RNN Encoder–Decoder with one fixed context vector (Cho et al. 2014).

The encoder reads the English sentence with a bidirectional GRU and sums it up in
one fixed vector ``c`` = [last forward state; last backward state]. The decoder
sees the source *only* through that vector, but it sees it everywhere::

    s_0 = tanh(W_s c)                          first decoder state
    s_i = GRU([y_{i-1}; c], s_{i-1})           c is fed at every step
    logits_i = readout([s_i; c; y_{i-1}])      and to the output layer

The attention decoder (:mod:`course_lib.models.attention`) is the same network with
``c`` replaced by an attended ``c_i`` that changes from word to word. So the two
differ in exactly one thing, and the comparison in chapter 5 measures the bottleneck
of one fixed-size ``c``.

Where this differs from Cho et al. (2014), on purpose, so that it differs from the
attention model in ``c`` only (this is the "RNNencdec" baseline of Bahdanau et al.
2014 in spirit, built from the attention model's parts):

* the encoder is bidirectional and ``c`` is its two final states (Cho et al.: one
  direction, ``c = tanh(V h_N)``);
* the readout is the attention model's maxout layer over ``[s_i; c; y_{i-1}]`` (as Cho
  et al.'s), the GRU uses Keras' ``reset_after=True``;
* sizes, optimiser and regularisation as listed in :mod:`course_lib.models.attention`.

Because ``c`` does not change, the decoder's GRU input is known for all steps in
advance: training runs the whole fused GRU layer over the sentence (fast, cuDNN on a
GPU), and inference runs its cell one step at a time with the same weights.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from .base import PACKAGE, DecoderLayer, RecurrentTranslationModel, scan_over_time


@keras.saving.register_keras_serializable(package=PACKAGE)
class BaselineDecoder(DecoderLayer):
    """GRU decoder conditioned on one fixed context ``c`` (Cho et al. 2014)."""

    def __init__(self, vocab_size: int, embedding_dim: int, units: int, readout: str = "maxout",
                 dropout: float = 0.0, **kwargs):
        super().__init__(vocab_size, embedding_dim, units, readout, dropout,
                         **kwargs)  # embedding, bridge, readout
        self.rnn = layers.GRU(units, return_sequences=True, name="gru")

    def start(self, encoder_outputs, encoder_final, mask):
        """The baseline keeps only ``c`` = encoder_final (batch, 2U), and s_0 = tanh(W_s c)."""
        return {"state": self.bridge(encoder_final),    # s_0 (batch, U)
                "context": encoder_final}               # c   (batch, 2U)

    def step(self, y_prev, s_prev, carry):
        """y_prev (batch, E), s_prev (batch, U) → s_i (batch, U), c (batch, 2U), no weights."""
        context = carry["context"]
        s_i, _ = self.rnn.cell(ops.concatenate([y_prev, context], axis=-1), [s_prev])
        return s_i, context, None

    def call(self, decoder_input, carry):
        """Teacher-forced pass: decoder_input (batch, T) → logits (batch, T, V), no weights."""
        y_prev = self.embed(decoder_input)                                    # (batch, T, E)
        steps = ops.shape(y_prev)[1]
        context = ops.repeat(carry["context"][:, None, :], steps, axis=1)    # (batch, T, 2U)
        states = self.rnn(ops.concatenate([y_prev, context], axis=-1),
                          initial_state=[carry["state"]])                     # (batch, T, U)
        return self.readout(states, context, y_prev), None


@keras.saving.register_keras_serializable(package=PACKAGE)
class BaselineSeq2Seq(RecurrentTranslationModel):
    """Encoder–decoder without attention: the source reaches the decoder as one vector ``c``."""

    kind = "baseline"
    decoder_class = BaselineDecoder


@keras.saving.register_keras_serializable(package=PACKAGE)
class OwnPredictionSamplingSeq2Seq(BaselineSeq2Seq):
    """The baseline trained on a mix of true and own previous words, for chapter 3.

    Teacher forcing always feeds the decoder the correct previous word, so during
    training it never sees its own mistakes ("exposure bias"). Here, at each step and
    for each sentence, the decoder reads its own previous prediction with a *fixed*
    probability ``sampling_probability`` and the correct word otherwise. This is
    scheduled sampling (Bengio et al. 2015) without the schedule: the paper raises
    the probability during training, we keep it constant.

    The decoder must now run one step at a time (:func:`~course_lib.models.base.scan_over_time`
    over ``decode_step``),
    which is slower than the fused GRU. At inference time the model is a baseline.
    """

    kind = "own_prediction_sampling"

    def __init__(self, source_vocab_size, target_vocab_size, embedding_dim, units,
                 dropout: float = 0.0, readout: str = "maxout",
                 sampling_probability: float = 0.25, seed: int | None = None, **kwargs):
        super().__init__(source_vocab_size, target_vocab_size, embedding_dim, units, dropout,
                         readout, **kwargs)
        self.sampling_probability = sampling_probability
        self.seed = seed
        self.coin_seeds = keras.random.SeedGenerator(seed, name="coin_seeds")

    def call(self, inputs, training=False):
        if not training or self.sampling_probability <= 0:
            return super().call(inputs, training=training)
        source_ids, decoder_input = inputs                          # (batch, S), (batch, T)
        true_tokens = ops.transpose(decoder_input)                   # (T, batch), time first
        # One coin per step and sentence, drawn up front: True = read the own prediction.
        use_own = keras.random.uniform(ops.shape(true_tokens), seed=self.coin_seeds)
        use_own = use_own < self.sampling_probability                # (T, batch)
        use_own = ops.concatenate([ops.zeros_like(use_own[:1]), use_own[1:]], axis=0)  # step 0 reads [start]

        def one_step(previous, inputs_at_i):
            carry, logits = previous                                  # logits of step i-1
            true_token, coin = inputs_at_i
            own = ops.cast(ops.argmax(logits, axis=-1), true_token.dtype)  # (batch,)
            token = ops.where(coin, own, true_token)
            logits, carry, _ = self.decode_step(token, carry)
            return carry, logits

        carry = self.encode(source_ids)
        initial = (carry, ops.zeros((ops.shape(decoder_input)[0], self.target_vocab_size)))
        # Every step's carry comes back stacked; the logits we want ride in it.
        _, logits = scan_over_time(one_step, initial, (true_tokens, use_own))  # (T, batch, V)
        return ops.transpose(logits, (1, 0, 2))                       # (batch, T, V)

    def get_config(self):
        return {**super().get_config(), "sampling_probability": self.sampling_probability,
                "seed": self.seed}
