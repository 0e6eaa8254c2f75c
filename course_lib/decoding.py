"""Turning a trained model into translations: greedy search, beam search, ``Translator``.

At inference time there is no German sentence to feed the decoder; it must read
its *own* previous prediction at every step ("free-running" decoding)::

    token = [start]
    repeat: logits, carry, weights = model.decode_step(token, carry)
            token = argmax(logits)            (greedy)
    until every sentence has produced [end] or max_length is reached

Every model kind offers ``encode`` / ``decode_step`` (see :mod:`course_lib.models`),
so the same search code serves the baseline, the attention models and the Transformer.
"""

from __future__ import annotations

import warnings
import weakref
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from .config import require_count
from .text import END, UNK, Vectorizers
from .tokenization import detokenize, join_subwords, normalize

# --------------------------------------------------------------------------- greedy


@dataclass
class Decoded:
    """Output of a search: ids (batch, L), lengths (batch,), weights (batch, L, S) or None."""

    ids: np.ndarray
    lengths: np.ndarray
    weights: np.ndarray | None


def greedy_decode(model, source_ids, start_id: int, end_id: int, max_length: int) -> Decoded:
    """Batched greedy decoding as one compiled loop (``tf.function``).

    source_ids (batch, S). A sentence stops at its first ``[end]`` (included in its
    length); afterwards it emits padding while the others finish.
    """
    check_output_length(model, max_length)
    compiled = _compiled_greedy(model, start_id, end_id, max_length)
    ids, lengths, weights = compiled(tf.cast(source_ids, tf.int32))
    return Decoded(ids.numpy(), lengths.numpy(),
                   weights.numpy() if model.has_attention else None)


def check_output_length(model, max_length: int) -> None:
    """A Transformer keeps a fixed number of past positions; refuse to decode beyond it."""
    limit = getattr(model, "max_target_length", None)
    if limit is not None and max_length > limit:
        raise ValueError(
            f"this {model.kind} model caches at most {limit} output tokens, but max_length is "
            f"{max_length}; decode with max_length <= {limit}, or build the model with a larger "
            f"max_target_length")


#: model → {(start_id, end_id, max_length): compiled greedy loop}. The functions hold
#: only a *weak* reference to their model: a strong one (e.g. a lambda closing over
#: ``model``) would keep the key alive forever, and every model ever decoded would
#: stay in memory with its graph.
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _compiled_greedy(model, start_id, end_id, max_length):
    """One traced graph per (model, settings), for any batch size and source length."""
    per_model = _COMPILED.setdefault(model, {})
    key = (start_id, end_id, max_length)
    if key not in per_model:
        model_ref = weakref.ref(model)

        def loop(source_ids):
            return greedy_loop(model_ref(), source_ids, start_id, end_id, max_length)

        per_model[key] = tf.function(loop, input_signature=[tf.TensorSpec([None, None], tf.int32)])
    return per_model[key]


def greedy_loop(model, source_ids, start_id, end_id, max_length):
    """The greedy loop itself, for tracing inside a ``tf.function`` (see :func:`greedy_decode`).

    Returns ids (batch, L), lengths (batch,) and attention weights (batch, L, S), as tensors.
    :mod:`course_lib.export` traces it into a SavedModel.
    """
    batch = tf.shape(source_ids)[0]
    source_len = tf.shape(source_ids)[1]
    carry = model.encode(source_ids)
    token = tf.fill([batch], tf.constant(start_id, tf.int32))          # (batch,)
    done = tf.zeros([batch], tf.bool)
    lengths = tf.zeros([batch], tf.int32)
    all_ids = tf.TensorArray(tf.int32, size=max_length)
    all_weights = tf.TensorArray(tf.float32, size=max_length)
    for step in tf.range(max_length):
        logits, carry, weights = model.decode_step(token, carry)        # (batch, V)
        token = tf.cast(tf.argmax(logits, axis=-1), tf.int32)           # (batch,)
        token = tf.where(done, 0, token)                                 # padding once done
        all_ids = all_ids.write(step, token)
        if weights is None:
            weights = tf.zeros([batch, source_len], tf.float32)
        all_weights = all_weights.write(step, tf.where(done[:, None], 0.0,
                                                       tf.cast(weights, tf.float32)))
        lengths += tf.cast(tf.logical_not(done), tf.int32)
        done = tf.logical_or(done, token == end_id)
        if tf.reduce_all(done):
            break
    ids = tf.transpose(all_ids.stack())                                 # (batch, L)
    weights = tf.transpose(all_weights.stack(), (1, 0, 2))              # (batch, L, S)
    return ids, lengths, weights


# --------------------------------------------------------------------------- beam search


def beam_search(model, source_ids, start_id: int, end_id: int, max_length: int,
                beam_width: int = 4, length_penalty: float = 1.0) -> Decoded:
    """Beam search, one sentence at a time, with length normalisation.

    Keeps the ``beam_width`` best partial translations by total log-probability;
    finished hypotheses are ranked by ``log_prob / length ** length_penalty`` so that
    short outputs are not favoured just for having fewer negative terms. The search
    stops once no live hypothesis can still beat the best finished one (or at ``max_length``).
    ``beam_width=1`` gives exactly the greedy result.
    """
    check_output_length(model, max_length)
    results = [_beam_one(model, np.asarray(row)[None], start_id, end_id, max_length,
                         beam_width, length_penalty) for row in np.asarray(source_ids)]
    longest = max(len(ids) for ids, _ in results)
    source_len = np.asarray(source_ids).shape[1]
    ids = np.zeros((len(results), longest), np.int32)
    weights = np.zeros((len(results), longest, source_len), np.float32)
    for i, (row_ids, row_weights) in enumerate(results):
        ids[i, :len(row_ids)] = row_ids
        if row_weights is not None:
            weights[i, :len(row_ids)] = row_weights
    lengths = np.array([len(r[0]) for r in results])
    return Decoded(ids, lengths, weights if model.has_attention else None)


def _beam_one(model, source_ids, start_id, end_id, max_length, width, alpha, keep_all=False):
    carry = model.encode(tf.cast(source_ids, tf.int32))
    beams = [([], 0.0, [])]  # (token ids, total log-prob, attention rows)
    finished = []
    carries = carry
    for _ in range(max_length):
        tokens = tf.constant([b[0][-1] if b[0] else start_id for b in beams], tf.int32)
        logits, new_carry, weights = model.decode_step(tokens, carries)
        log_probs = tf.nn.log_softmax(logits, axis=-1).numpy()            # (beams, V)
        candidates = []
        for b, (_, score, _) in enumerate(beams):
            best = np.argsort(-log_probs[b])[:width]
            row = None if weights is None else np.asarray(weights[b])
            for token in best:
                candidates.append((score + float(log_probs[b, token]), b, int(token), row))
        candidates.sort(key=lambda c: -c[0])
        next_beams, parents = [], []
        for score, b, token, row in candidates:
            ids, rows = beams[b][0] + [token], beams[b][2] + [row]
            if token == end_id:
                finished.append((ids, score, rows))
            else:
                next_beams.append((ids, score, rows))
                parents.append(b)
            if len(next_beams) == width:
                break
        if not next_beams:
            break
        # Stop once no live hypothesis can still win. A live total only falls as words
        # are added, so total / max_length ** alpha bounds its best normalised score.
        # (Stopping as soon as `width` hypotheses have finished is not enough: cheap
        # early [end]s fill that quota before the best hypothesis reaches its [end].)
        if finished and max(h[1] / len(h[0]) ** alpha for h in finished) >= (
                next_beams[0][1] / max_length ** alpha):
            break
        beams = next_beams
        carries = tf.nest.map_structure(lambda t, p=parents: tf.gather(t, p), new_carry)
    ranked = _ranked(finished or beams, alpha)
    return ranked if keep_all else ranked[0][:2]


def _ranked(pool, alpha):
    """Hypotheses as (ids, weights or None, normalised score), best first."""
    scored = [(ids, None if rows[0] is None else np.stack(rows),
               total / max(len(ids), 1) ** alpha) for ids, total, rows in pool]
    return sorted(scored, key=lambda h: -h[2])


def beam_alternatives(model, source_ids, start_id: int, end_id: int, max_length: int,
                      beam_width: int = 4, length_penalty: float = 1.0) -> list[tuple]:
    """Every hypothesis the beam search kept for one sentence, best first.

    source_ids (1, S). Returns ``(ids, weights, score)`` tuples, ``score`` being the
    length-normalised log-probability that ranks them (the first is what
    :func:`beam_search` returns). Finished hypotheses come with their ``[end]``.
    """
    check_output_length(model, max_length)
    return _beam_one(model, np.asarray(source_ids)[:1], start_id, end_id, max_length,
                     beam_width, length_penalty, keep_all=True)


# --------------------------------------------------------------------------- translator


@dataclass
class Translation:
    """One translated sentence with everything needed to inspect it."""

    source: str                       # the input as given
    source_tokens: list[str]          # normalised tokens the model saw ([UNK] for unknown words)
    tokens: list[str]                 # generated German tokens, [end] included if produced
    text: str                         # detokenised German sentence
    weights: np.ndarray | None = None  # (len(tokens), len(source_tokens)) attention, if any
    unknown_words: list[str] = field(default_factory=list)
    truncated: bool = False
    #: output position → source word that replaced a generated ``[UNK]`` (``replace_unknown=True``)
    replacements: dict[int, str] = field(default_factory=dict)

    @property
    def raw_text(self) -> str:
        """The model's own output, before any ``[UNK]`` replacement."""
        return detokenize([t for t in self.tokens if t != END])

    @property
    def hypothesis(self) -> str:
        """The output as BLEU compares it: tokens joined by spaces, like the normalised references.

        ``[end]`` is dropped; replaced ``[UNK]`` tokens (``replace_unknown=True``) show
        their source word. ``'tom liest ein buch .'`` where :attr:`text` is ``'tom liest ein buch.'``.
        """
        return join_subwords(" ".join(self.replacements.get(i, token)
                             for i, token in enumerate(self.tokens) if token != END))


def check_length_penalty(alpha) -> float:
    """``alpha`` if it is a number from 0 to 5 (a beam-search length penalty)."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 5:
        raise ValueError(f"length_penalty must be a number from 0 to 5, got {alpha!r}")
    return float(alpha)


class TranslationInputError(ValueError):
    """An input sentence the translator refuses (empty, or no known word at all)."""


class Translator:
    """``Translator(model, vectorizers).translate(["I am hungry."])`` → German strings.

    Behaviour on awkward input (documented and tested):

    * empty or whitespace-only sentence → :class:`TranslationInputError` naming its index;
    * unknown words are mapped to ``[UNK]`` and listed in ``Translation.unknown_words``;
      a sentence made *only* of unknown words → :class:`TranslationInputError`;
    * a sentence longer than ``max_source_tokens`` is cut to that length with a warning
      (``Translation.truncated`` is True); the model never saw longer inputs.
    """

    def __init__(self, model, vectorizers: Vectorizers, max_source_tokens: int = 40,
                 max_output_tokens: int = 50, lowercase: bool = True):
        self.model = model
        self.vectorizers = vectorizers
        self.max_source_tokens = max_source_tokens
        self.max_output_tokens = max_output_tokens
        self.lowercase = lowercase

    def _prepare(self, sentences: list[str], strict: bool = True):
        known = set(self.vectorizers.source_vocab)
        rows, unknown, truncated = [], [], []
        for index, sentence in enumerate(sentences):
            tokens = normalize(sentence, self.lowercase).split()
            if not tokens:
                raise TranslationInputError(f"sentence {index} is empty: nothing to translate")
            cut = len(tokens) > self.max_source_tokens
            if cut:
                warnings.warn(f"sentence {index} has {len(tokens)} tokens; translating only the "
                              f"first {self.max_source_tokens}", stacklevel=3)
                tokens = tokens[: self.max_source_tokens]
            pieces = self.vectorizers.source_pieces(" ".join(tokens)).split()  # words or subwords
            missing = [t for t in pieces if t not in known]
            if strict and len(missing) == len(pieces):
                raise TranslationInputError(
                    f"sentence {index} ({sentence!r}) has no word the model knows: {missing}")
            rows.append(pieces)
            unknown.append(missing)
            truncated.append(cut)
        return rows, unknown, truncated

    def translate(self, sentences: list[str] | str, beam_width: int = 1,
                  batch_size: int = 64, strict: bool = True,
                  replace_unknown: bool = False,
                  length_penalty: float = 1.0) -> list[Translation]:
        """Translate sentences (a list, or one string). ``beam_width > 1`` uses beam search.

        ``length_penalty`` α ranks beam search's finished hypotheses by
        ``log_prob / length ** α`` (0: raw log-probability, which favours short
        translations; 1: per-word average). Choose it on validation sentences
        (``benchmarks/choose_decoding.py``), never on the test split.

        ``strict=False`` (used by evaluation) translates a sentence of unknown words
        anyway instead of raising, so a test set is always scored in full.

        ``replace_unknown=True`` (attention models only) replaces every generated
        ``[UNK]`` by the source word the decoder attended to most at that step
        (Luong et al. 2015, "Addressing the Rare Word Problem in NMT"): attention
        used as a word alignment. Names and numbers are often copied correctly this
        way; other words stay English. ``Translation.raw_text`` keeps the model's output.
        """
        if replace_unknown and not self.model.has_attention:
            raise TranslationInputError(
                f"replace_unknown needs an attention model: the {self.model.kind} model has no "
                "attention weights to align [UNK] with a source word")
        require_count("beam_width", beam_width)
        require_count("batch_size", batch_size)
        check_length_penalty(length_penalty)
        # A list by position: a pandas Series is indexed by its labels, not 0, 1, 2…
        sentences = [sentences] if isinstance(sentences, str) else list(sentences)
        rows, unknown, truncated = self._prepare(sentences, strict)
        out = []
        for start in range(0, len(rows), batch_size):
            chunk = rows[start:start + batch_size]
            source = self.vectorizers.source_ids([" ".join(r) for r in chunk],
                                                 segmented=True).to_tensor()
            decoded = self.search(source, beam_width, length_penalty)
            for i, tokens in enumerate(chunk):
                j = start + i
                translation = self._translation(sentences[j], source[i], decoded, i,
                                                unknown[j], truncated[j], len(tokens))
                if replace_unknown:
                    replace_unknown_words(translation, tokens)
                out.append(translation)
        return out

    def search(self, source_ids, beam_width: int = 1, length_penalty: float = 1.0) -> Decoded:
        v = self.vectorizers
        if beam_width <= 1:
            return greedy_decode(self.model, source_ids, v.start_id, v.end_id,
                                 self.max_output_tokens)
        return beam_search(self.model, source_ids, v.start_id, v.end_id,
                           self.max_output_tokens, beam_width, length_penalty)

    def _translation(self, sentence, source_row, decoded, i, unknown, truncated, n_source):
        length = int(decoded.lengths[i])
        ids = decoded.ids[i, :length]
        tokens = [self.vectorizers.target_vocab[t] for t in ids]
        words = [t for t in tokens if t != END]
        weights = None
        if decoded.weights is not None:
            weights = decoded.weights[i, :length, :n_source]
        source_tokens = self.vectorizers.source_tokens(source_row)  # unknown words → [UNK]
        return Translation(sentence, source_tokens, tokens, detokenize(words), weights,
                           unknown, truncated)

    def alternatives(self, sentence: str, beam_width: int = 4) -> list[tuple[Translation, float]]:
        """The hypotheses beam search kept for one sentence, best first, with their scores.

        Each score is the length-normalised log-probability that beam search ranks by
        (higher is better). Raises :class:`TranslationInputError` like :meth:`translate`.
        """
        require_count("beam_width", beam_width)
        rows, unknown, truncated = self._prepare([sentence])
        source = self.vectorizers.source_ids([" ".join(rows[0])], segmented=True).to_tensor()
        v = self.vectorizers
        hypotheses = beam_alternatives(self.model, source, v.start_id, v.end_id,
                                       self.max_output_tokens, beam_width)
        out = []
        for ids, weights, score in hypotheses:
            decoded = Decoded(np.asarray([ids]), np.asarray([len(ids)]),
                              None if weights is None else weights[None])
            out.append((self._translation(sentence, source[0], decoded, 0, unknown[0],
                                          truncated[0], len(rows[0])), float(score)))
        return out

    def __call__(self, sentences, **kwargs) -> list[str]:
        return [t.text for t in self.translate(sentences, **kwargs)]


def teacher_forced_inputs(vectorizers: Vectorizers, translation: Translation):
    """The model inputs that replay a finished translation in one teacher-forced pass.

    Returns ``source_ids`` (1, S) and ``decoder_input`` (1, T) = ``[start]`` followed by
    every generated token but the last, so that output step i sees the same history it
    saw while translating. Useful to inspect a whole translation at once, e.g. the
    Transformer's attention per head (``model.attention_heads``).
    """
    source = vectorizers.source_ids([" ".join(translation.source_tokens)], segmented=True)
    index = {token: i for i, token in enumerate(vectorizers.target_vocab)}
    previous = [vectorizers.start_id] + [index[t] for t in translation.tokens[:-1]]
    return (tf.cast(source.to_tensor(), tf.int32),
            tf.constant([previous], tf.int32))


def replace_unknown_words(translation: Translation, source_words: list[str]) -> Translation:
    """Replace each generated ``[UNK]`` with the most-attended source word (in place).

    source_words are the normalised source tokens *before* vocabulary lookup, so an
    unknown English name comes back as itself, not as ``[UNK]``.
    """
    if translation.weights is not None:
        for position, token in enumerate(translation.tokens):
            if token == UNK:
                aligned = int(np.argmax(translation.weights[position]))  # most-attended source j
                translation.replacements[position] = source_words[aligned]
    translation.text = detokenize(translation.hypothesis.split())  # hypothesis applies them
    return translation
