"""Bahdanau (additive) attention and the decoders that use it, Keras 3 + TensorFlow.

Bahdanau, Cho & Bengio (2014), "Neural Machine Translation by Jointly Learning to
Align and Translate", appendix A. At output step i the previous decoder state
s_{i-1} asks every encoder state h_j how relevant it is::

    e_ij = v_aᵀ tanh(W_a s_{i-1} + U_a h_j)     score, one number per source word
    α_ij = softmax_j(e_ij)  (padding masked)     attention weights, sum to 1 over j
    c_i  = Σ_j α_ij h_j                          context vector
    s_i  = GRU([y_{i-1}; c_i], s_{i-1})          the decoder reads word and context
    logits_i = readout([s_i; c_i; y_{i-1}])      the same readout as the baseline

``U_a h_j`` (the *keys*) does not depend on i, so we compute it once per sentence
(:meth:`BahdanauAttention.project_keys`) instead of once per output word.

Where this code differs from the paper, on purpose:

* s_0 is computed from both encoder directions (the paper uses the backward one);
* Keras' GRU uses ``reset_after=True`` (the cuDNN variant), a slightly different
  placement of the reset gate than Cho et al.'s equations;
* the readout is the paper's maxout layer over ``[s_i; c_i; y_{i-1}]``, but one
  linear map of the concatenation where the paper sums three (the same function),
  with dropout before the output layer;
* much smaller sizes (embedding 96–128, 160–256 units, A = units; the paper: 620,
  1000, 1000) and vocabularies, for two CPU cores and a corpus of 150,000 pairs;
* trained with Adam, gradient clipping, dropout on the embeddings and the readout
  and label smoothing (the paper: Adadelta, no dropout), stopped early on the
  validation loss.

Two variants exist for teaching, each a subclass overriding one method:
:class:`NaiveBahdanauDecoder` recomputes the keys at every step (as some published
code does; ``benchmarks/attention_speed.py`` measures the cost), and
:class:`FixedQueryBahdanauDecoder` reproduces a published bug (chapter 6).

:class:`LuongStyleDecoder` is the ablation: the GRU runs first over the whole target
(fused kernel, parallel over time) and attention is applied to its outputs
afterwards (Luong et al. 2015 order, with the same additive score).
"""

from __future__ import annotations

import keras
from keras import layers, ops

from .base import PACKAGE, DecoderLayer, RecurrentTranslationModel, scan_over_time

NEG_INF = -1e9


def masked_softmax(scores, mask):
    """Softmax over the last axis that gives padding positions exactly zero weight.

    scores (…, S) float; mask (…, S) bool, True = real word.
    """
    scores = ops.where(mask, scores, NEG_INF)
    weights = ops.softmax(scores, axis=-1)
    return ops.where(mask, weights, 0.0)


@keras.saving.register_keras_serializable(package=PACKAGE)
class BahdanauAttention(layers.Layer):
    """Additive attention ``e_ij = v_aᵀ tanh(W_a s + U_a h_j)``, with the paper's names.

    ``units`` is the width A of the attention space; in this course the decoder
    state s has the same width.

    ``W_a`` (U, A) projects the query s, ``U_a`` (D, A) the encoder states h_j, and
    ``v_a`` (A,) turns each tanh vector into one score. Written with ``einsum`` so
    that each line shows which axes are summed over.

    ``temperature`` divides the scores before the softmax: 1 is what the model was
    trained with; below 1 sharpens the weights, above 1 flattens them. It is an
    inference-time knob for chapter 6's experiment, set on a freshly built model
    (a compiled decoding loop keeps the value it was traced with), and is not saved.
    """

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.temperature = 1.0

    def build(self, query_shape=None, keys_shape=None, values_shape=None, mask_shape=None):
        attention_dim = self.units
        query_dim = query_shape[-1] if query_shape is not None else self.units  # s has U entries
        value_dim = values_shape[-1] if values_shape is not None else 2 * query_dim
        self.W_a = self.add_weight(shape=(query_dim, attention_dim), name="W_a")
        self.U_a = self.add_weight(shape=(value_dim, attention_dim), name="U_a")
        self.build_score()

    def build_score(self):
        """The weights of the score itself: ``v_a`` (A,) for the additive score."""
        self.v_a = self.add_weight(shape=(self.units,), name="v_a")

    def project_keys(self, values):
        """U_a h_j for all source positions: values (batch, S, D) → keys (batch, S, A)."""
        if not self.built:  # the decoders project the keys before the first attention call
            self.build(values_shape=values.shape)
        return ops.einsum("bsd,da->bsa", values, self.U_a)

    def call(self, query, keys, values, mask):
        """One query per sentence (one decoder step).

        query (batch, U); keys (batch, S, A); values (batch, S, D); mask (batch, S).
        Returns ``context`` (batch, D) and ``weights`` (batch, S).
        """
        query = ops.matmul(query, self.W_a)                           # (batch, A)
        energy = ops.tanh(query[:, None, :] + keys)                   # (batch, S, A)
        scores = ops.einsum("bsa,a->bs", energy, self.v_a)            # (batch, S)
        weights = masked_softmax(scores / self.temperature, mask)     # (batch, S)
        context = ops.einsum("bs,bsd->bd", weights, values)           # (batch, D)
        return context, weights

    def attend_all(self, queries, keys, values, mask):
        """T queries per sentence at once (the Luong-style order allows it).

        queries (batch, T, U) → ``context`` (batch, T, D), ``weights`` (batch, T, S).
        """
        queries = ops.einsum("btu,ua->bta", queries, self.W_a)       # (batch, T, A)
        energy = ops.tanh(queries[:, :, None, :] + keys[:, None])     # (batch, T, S, A)
        scores = ops.einsum("btsa,a->bts", energy, self.v_a)          # (batch, T, S)
        weights = masked_softmax(scores / self.temperature, mask[:, None, :])  # (batch, T, S)
        context = ops.einsum("bts,bsd->btd", weights, values)         # (batch, T, D)
        return context, weights

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package=PACKAGE)
class MultiplicativeAttention(BahdanauAttention):
    """A multiplicative score ``e_ij = (W_a s)ᵀ (U_a h_j) / √A`` instead of the additive one.

    This is Luong et al.'s (2015) "general" score ``sᵀ W h_j`` with its matrix
    factorised as ``W = W_a U_aᵀ`` through the A-wide attention space, so that the keys
    ``U_a h_j`` are still projected once per sentence and the weights are the additive
    score's minus ``v_a``. Luong et al. use one full matrix W and do not scale; the
    1/√A scaling is the Transformer's (chapter 7). No tanh, no ``v_a``. Used for
    chapter 5's open experiment (model kind ``attention_dot``).
    """

    def build_score(self):
        """A dot product needs no weights of its own (no ``v_a``)."""

    def call(self, query, keys, values, mask):
        query = ops.matmul(query, self.W_a)                                  # (batch, A)
        scores = ops.einsum("bsa,ba->bs", keys, query) / self.units ** 0.5    # (batch, S)
        weights = masked_softmax(scores / self.temperature, mask)            # (batch, S)
        return ops.einsum("bs,bsd->bd", weights, values), weights            # (batch, D)

    def attend_all(self, queries, keys, values, mask):
        queries = ops.einsum("btu,ua->bta", queries, self.W_a)              # (batch, T, A)
        scores = ops.einsum("bsa,bta->bts", keys, queries) / self.units ** 0.5  # (batch, T, S)
        weights = masked_softmax(scores / self.temperature, mask[:, None, :])
        return ops.einsum("bts,bsd->btd", weights, values), weights


@keras.saving.register_keras_serializable(package=PACKAGE)
class BahdanauDecoder(DecoderLayer):
    """The paper's decoder: attend with s_{i-1}, then feed [y_{i-1}; c_i] to a GRU cell.

    Training and inference share :meth:`step`; training runs it over time with
    :func:`~course_lib.models.base.scan_over_time` (a compiled loop), inference calls
    it once per generated word.
    """

    attention_class = BahdanauAttention   # the score; chapter 5's experiment swaps it

    def __init__(self, vocab_size: int, embedding_dim: int, units: int, readout: str = "maxout",
                 dropout: float = 0.0, **kwargs):
        super().__init__(vocab_size, embedding_dim, units, readout, dropout,
                         **kwargs)  # embedding, bridge, readout
        self.attention = self.attention_class(units, name="attention")
        self.cell = layers.GRUCell(units, name="gru_cell")

    def start(self, encoder_outputs, encoder_final, mask):
        """What the decoder keeps about the source sentence (fixed while decoding)."""
        s_0 = self.bridge(encoder_final)                               # (batch, U)
        return {
            "state": s_0,                                              # s_{i-1}, updated each step
            "s_0": s_0,                                                # kept for the bug variant
            "values": encoder_outputs,                                 # h_j (batch, S, D)
            "keys": self.attention.project_keys(encoder_outputs),      # U_a h_j (batch, S, A)
            "mask": mask,                                              # (batch, S)
        }

    def query(self, s_prev, carry):
        """The attention query at step i: s_{i-1}."""
        return s_prev

    def keys(self, carry):
        """The projected keys U_a h_j, computed once in :meth:`start`."""
        return carry["keys"]

    def step(self, y_prev, s_prev, carry):
        """One output word. y_prev (batch, E), s_prev (batch, U).

        Returns s_i (batch, U), c_i (batch, D) and α_i (batch, S).
        """
        context, weights = self.attention(self.query(s_prev, carry), self.keys(carry),
                                          carry["values"], carry["mask"])
        s_i, _ = self.cell(ops.concatenate([y_prev, context], axis=-1), [s_prev])
        return s_i, context, weights

    def call(self, decoder_input, carry):
        """Teacher-forced pass. decoder_input (batch, T) → logits (batch, T, V), weights (batch, T, S)."""
        y_prev = self.embed(decoder_input)                              # (batch, T, E)
        values = carry["values"]
        batch, source_len, width = (ops.shape(values)[i] for i in range(3))

        def one_step(previous, y_i):
            return self.step(y_i, previous[0], carry)                   # reads s_{i-1} only

        # The scan stacks the carry of every step and returns nothing else, so c_i and
        # α_i ride in the carry next to s_i (the step never reads them): that is how we
        # get them back for the readout (c_i) and the heatmaps (α_i).
        initial = (carry["state"],                                      # s_0 (batch, U)
                   ops.zeros((batch, width), dtype=y_prev.dtype),       # c   (batch, D)
                   ops.zeros((batch, source_len), dtype=y_prev.dtype))  # α   (batch, S)
        time_major = ops.transpose(y_prev, (1, 0, 2))                   # (T, batch, E)
        stacked = scan_over_time(one_step, initial, time_major)         # each (T, batch, …)
        states, contexts, weights = (ops.transpose(t, (1, 0, 2))        # back to batch-major
                                     for t in stacked)
        return self.readout(states, contexts, y_prev), weights


@keras.saving.register_keras_serializable(package=PACKAGE)
class NaiveBahdanauDecoder(BahdanauDecoder):
    """Same maths, slower: the keys U_a h_j are recomputed at every output step."""

    def keys(self, carry):
        return self.attention.project_keys(carry["values"])


@keras.saving.register_keras_serializable(package=PACKAGE)
class FixedQueryBahdanauDecoder(BahdanauDecoder):
    """A published bug (chapter 6): attention is always asked with s_0, never with s_{i-1}.

    Every output word then gets the same attention weights, which a heatmap shows at
    once and the training loss does not.
    """

    def query(self, s_prev, carry):
        return carry["s_0"]


@keras.saving.register_keras_serializable(package=PACKAGE)
class MultiplicativeBahdanauDecoder(BahdanauDecoder):
    """The Bahdanau decoder with Luong's multiplicative score (chapter 5's experiment)."""

    attention_class = MultiplicativeAttention


@keras.saving.register_keras_serializable(package=PACKAGE)
class LuongStyleDecoder(DecoderLayer):
    """Attention *after* the GRU, as Luong et al. (2015, §3) order it.

        s_i = GRU(y_{i-1}, s_{i-1})                      the recurrence never sees c_i
        c_i = Σ_j α_ij h_j,  α_i = attend(s_i, h)        asked with the *new* state
        t_i = maxout(W_o [s_i; c_i; y_{i-1}])            the attentional hidden state
        logits_i = W_y t_i

    ``t_i`` plays the part of Luong et al.'s attentional hidden state
    h̃_t = tanh(W_c [c_t; h_t]) (their eq. 5): the shared :class:`Readout`. Because the
    context never flows back into the recurrence, training runs the fused GRU over the
    whole sentence and attends for all T steps at once.

    Deviations from Luong et al. (2015), on purpose: no *input feeding* (their §3.3
    feeds t_{i-1} into the next step's input, which makes the recurrence sequential
    again; :class:`InputFeedingLuongDecoder`, kind ``luong_feed``, adds it); a
    bidirectional GRU encoder and a one-layer GRU decoder (they use stacked LSTMs with
    a unidirectional encoder); the additive score of Bahdanau et al. (their "concat"
    score) instead of their "general" one; global attention over all source words; the
    shared readout (maxout, and ``y_{i-1}`` among its inputs, as in every recurrent
    model here) where they use tanh on ``[c_t; h_t]`` (``readout="tanh"`` builds
    theirs; see :class:`Readout` for the measurement).
    """

    def __init__(self, vocab_size: int, embedding_dim: int, units: int, readout: str = "maxout",
                 dropout: float = 0.0, **kwargs):
        super().__init__(vocab_size, embedding_dim, units, readout, dropout,
                         **kwargs)  # embedding, bridge, readout
        self.rnn = layers.GRU(units, return_sequences=True, name="gru")
        self.attention = BahdanauAttention(units, name="attention")

    def start(self, encoder_outputs, encoder_final, mask):
        return {"state": self.bridge(encoder_final), "values": encoder_outputs,
                "keys": self.attention.project_keys(encoder_outputs), "mask": mask}

    def step(self, y_prev, s_prev, carry):
        """y_prev (batch, E), s_prev (batch, U) → s_i, c_i (batch, D), α_i (batch, S)."""
        s_i, _ = self.rnn.cell(y_prev, [s_prev])
        context, weights = self.attention(s_i, carry["keys"], carry["values"], carry["mask"])
        return s_i, context, weights

    def call(self, decoder_input, carry):
        y_prev = self.embed(decoder_input)                                   # (batch, T, E)
        states = self.rnn(y_prev, initial_state=[carry["state"]])            # (batch, T, U)
        contexts, weights = self.attention.attend_all(states, carry["keys"], carry["values"],
                                                      carry["mask"])         # (batch, T, D)
        return self.readout(states, contexts, y_prev), weights


@keras.saving.register_keras_serializable(package=PACKAGE)
class InputFeedingLuongDecoder(DecoderLayer):
    """The Luong-style decoder with *input feeding* (Luong et al. 2015, §3.3)::

        s_i = GRU([y_{i-1}; t_{i-1}], s_{i-1})           t_0 = 0
        c_i = Σ_j α_ij h_j,  α_i = attend(s_i, h)
        t_i = maxout(W_o [s_i; c_i; y_{i-1}])            the attentional hidden state
        logits_i = W_y t_i

    Feeding t_{i-1} into the next step tells the recurrence what the last step attended
    to; Luong et al. meant it as a cheap memory of past alignment decisions. The price:
    step i needs step i−1's attention, so training runs the steps one after another in a
    compiled loop, as the Bahdanau decoder does, instead of one fused GRU pass over the
    sentence.

    Deviations from Luong et al. (2015): those of :class:`LuongStyleDecoder` except the
    missing input feeding (bidirectional GRU encoder, one-layer GRU decoder, additive
    score, the shared maxout readout with ``y_{i-1}`` among its inputs).
    """

    def __init__(self, vocab_size: int, embedding_dim: int, units: int, readout: str = "maxout",
                 dropout: float = 0.0, **kwargs):
        super().__init__(vocab_size, embedding_dim, units, readout, dropout,
                         **kwargs)  # embedding, bridge, readout
        self.cell = layers.GRUCell(units, name="gru_cell")
        self.attention = BahdanauAttention(units, name="attention")

    def start(self, encoder_outputs, encoder_final, mask):
        s_0 = self.bridge(encoder_final)                                     # (batch, U)
        return {"state": s_0,
                "fed": ops.zeros_like(s_0),                                  # t_0 (batch, U)
                "values": encoder_outputs,
                "keys": self.attention.project_keys(encoder_outputs), "mask": mask}

    def step(self, y_prev, s_prev, carry):
        """y_prev (batch, E), s_prev (batch, U), carry["fed"] = t_{i-1} → s_i, c_i, α_i."""
        s_i, _ = self.cell(ops.concatenate([y_prev, carry["fed"]], axis=-1), [s_prev])
        context, weights = self.attention(s_i, carry["keys"], carry["values"], carry["mask"])
        return s_i, context, weights

    def next_carry(self, carry, state, context, prev_embedded):
        """s_i and t_i (fed to the next step) replace s_{i-1} and t_{i-1}."""
        return {**carry, "state": state, "fed": self.readout.hidden(state, context, prev_embedded)}

    def call(self, decoder_input, carry):
        """Teacher-forced pass. decoder_input (batch, T) → logits (batch, T, V), weights (batch, T, S)."""
        y_prev = self.embed(decoder_input)                                   # (batch, T, E)
        batch, source_len = ops.shape(carry["values"])[0], ops.shape(carry["values"])[1]
        if not self.readout.built:  # its hidden() and logits() are called separately below
            self.readout.build(carry["state"].shape, carry["values"].shape, y_prev.shape)

        def one_step(previous, y_i):
            s_prev, t_prev, _ = previous
            s_i, context, weights = self.step(y_i, s_prev, {**carry, "fed": t_prev})
            return s_i, self.readout.hidden(s_i, context, y_i), weights       # t_i is fed on

        initial = (carry["state"], carry["fed"],
                   ops.zeros((batch, source_len), dtype=y_prev.dtype))      # α (batch, S)
        time_major = ops.transpose(y_prev, (1, 0, 2))                       # (T, batch, E)
        _, hidden, weights = (ops.transpose(t, (1, 0, 2))                   # (batch, T, …)
                              for t in scan_over_time(one_step, initial, time_major))
        return self.readout.logits(hidden), weights


@keras.saving.register_keras_serializable(package=PACKAGE)
class AttentionSeq2Seq(RecurrentTranslationModel):
    """Encoder + Bahdanau decoder (the course's attention model)."""

    kind = "attention"
    has_attention = True
    decoder_class = BahdanauDecoder


@keras.saving.register_keras_serializable(package=PACKAGE)
class NaiveAttentionSeq2Seq(AttentionSeq2Seq):
    """The attention model with keys recomputed every step (speed benchmark)."""

    kind = "attention_naive"
    decoder_class = NaiveBahdanauDecoder


@keras.saving.register_keras_serializable(package=PACKAGE)
class FixedQueryAttentionSeq2Seq(AttentionSeq2Seq):
    """The attention model with the fixed-query bug (chapter 6)."""

    kind = "attention_fixed_query"
    decoder_class = FixedQueryBahdanauDecoder


@keras.saving.register_keras_serializable(package=PACKAGE)
class DotScoreAttentionSeq2Seq(AttentionSeq2Seq):
    """The attention model with a multiplicative score (chapter 5's open experiment)."""

    kind = "attention_dot"
    decoder_class = MultiplicativeBahdanauDecoder


@keras.saving.register_keras_serializable(package=PACKAGE)
class LuongStyleSeq2Seq(RecurrentTranslationModel):
    """Ablation: attention after the GRU (Luong et al. 2015 order, additive score)."""

    kind = "luong"
    has_attention = True
    decoder_class = LuongStyleDecoder


@keras.saving.register_keras_serializable(package=PACKAGE)
class InputFeedingLuongSeq2Seq(RecurrentTranslationModel):
    """The Luong-style model with input feeding (an ablation: does feeding t_{i-1} pay?)."""

    kind = "luong_feed"
    has_attention = True
    decoder_class = InputFeedingLuongDecoder


def attention_model_with(attention_class: type) -> type[AttentionSeq2Seq]:
    """The course's attention model with another attention layer class in its decoder.

    Chapter 5 plugs the learner's ``BahdanauAttention`` into the reference decoder this
    way. The class must offer what :class:`BahdanauDecoder` uses:
    ``attention_class(units, name=...)``, ``project_keys(values)`` and
    ``call(query, keys, values, mask) -> (context, weights)``. The model returned trains
    and translates like :class:`AttentionSeq2Seq`; it is not registered for saving to
    ``.keras`` files, so use it for experiments.
    """
    name = attention_class.__name__
    decoder_class = type(f"BahdanauDecoderWith{name}", (BahdanauDecoder,),
                         {"attention_class": attention_class})
    return type(f"AttentionSeq2SeqWith{name}", (AttentionSeq2Seq,),
                {"decoder_class": decoder_class})
