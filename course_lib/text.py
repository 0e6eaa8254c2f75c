"""From sentences to integer tensors: vocabularies, vectorizers and tf.data pipelines.

Vocabulary layout (both languages)::

    id 0  ''        padding (added by the pipeline, ignored by loss and attention)
    id 1  '[UNK]'   any word outside the vocabulary
    id 2… words, most frequent first (ties broken alphabetically, so the
          vocabulary is the same on every machine)

With ``subword_merges`` the units are byte-pair-encoding pieces instead of words
(:mod:`course_lib.subwords`): ``fahr@@ rad`` instead of ``fahrrad`` or ``[UNK]``.

German sentences are wrapped as ``[start] … [end]`` before vectorising. For teacher
forcing the decoder reads the sentence without its last token and learns to
predict it shifted by one::

    target        [start] ich habe hunger . [end]
    decoder input [start] ich habe hunger .
    labels        ich     habe hunger . [end]
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from .config import SEED, TrainConfig, require_count
from .data import Pair
from .files import write_text_atomically
from .subwords import BytePairEncoding
from .tokenization import join_subwords

PAD, UNK, START, END = "", "[UNK]", "[start]", "[end]"


def wrap_target(german: str) -> str:
    """``'ich bin da .'`` → ``'[start] ich bin da . [end]'``."""
    return f"{START} {german} {END}"


def build_vocabulary(texts: Iterable[str], max_size: int, reserved: tuple[str, ...] = ()) -> list[str]:
    """Return ``['', '[UNK]', *reserved, most frequent words…]`` with at most ``max_size`` entries.

    Counting ourselves (instead of ``TextVectorization.adapt``) makes the order of
    equally frequent words explicit and deterministic.
    """
    counts = Counter(word for text in texts for word in text.split())
    for token in reserved:
        counts.pop(token, None)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    head = [PAD, UNK, *reserved]
    return head + [word for word, _ in ranked[: max(max_size - len(head), 0)]]


def make_vectorizer(vocabulary: list[str]) -> keras.layers.TextVectorization:
    """A ``TextVectorization`` layer for already-normalised, space-separated text.

    ``standardize=None`` because :func:`course_lib.tokenization.normalize` did the cleaning,
    and it must not strip the brackets of ``[start]``/``[end]``.
    """
    if vocabulary[:2] != [PAD, UNK]:
        raise ValueError("a vocabulary must start with '' (padding) and '[UNK]'")
    layer = keras.layers.TextVectorization(standardize=None, split="whitespace", ragged=True)
    layer.set_vocabulary(vocabulary)
    return layer


class Vectorizers:
    """Source and target vectorizers built from the training pairs, saved and reloaded exactly.

    With byte-pair encodings (``source_bpe``/``target_bpe``) every sentence is split
    into subword pieces before the vocabulary lookup, and :meth:`target_text` joins
    the pieces back into words.
    """

    def __init__(self, source_vocab: list[str], target_vocab: list[str],
                 source_bpe: BytePairEncoding | None = None,
                 target_bpe: BytePairEncoding | None = None):
        self.source_vocab = list(source_vocab)
        self.target_vocab = list(target_vocab)
        self.source_bpe, self.target_bpe = source_bpe, target_bpe
        self.source = make_vectorizer(self.source_vocab)
        self.target = make_vectorizer(self.target_vocab)
        self.start_id = self.target_vocab.index(START)
        self.end_id = self.target_vocab.index(END)

    @classmethod
    def from_pairs(cls, pairs: list[Pair], source_size: int, target_size: int,
                   subword_merges: int | None = None) -> Vectorizers:
        """Count words (or learn subwords) on the *training* pairs only: the test set stays unseen.

        ``subword_merges``: learn that many byte-pair merges per language and use the
        pieces as units; ``source_size``/``target_size`` still cap the vocabularies.
        """
        english, german = [en for en, _ in pairs], [de for _, de in pairs]
        source_bpe = target_bpe = None
        if subword_merges:
            source_bpe = BytePairEncoding.learn(english, subword_merges)
            target_bpe = BytePairEncoding.learn(german, subword_merges)
            english = [source_bpe.segment(s) for s in english]
            german = [target_bpe.segment(s) for s in german]
        source_vocab = build_vocabulary(english, source_size)
        target_vocab = build_vocabulary(german, target_size, reserved=(START, END))
        return cls(source_vocab, target_vocab, source_bpe, target_bpe)

    # ---- ids <-> text
    def source_pieces(self, sentence: str) -> str:
        """A normalised English sentence as the model's units (subword pieces, or words)."""
        return self.source_bpe.segment(sentence) if self.source_bpe else sentence

    def target_pieces(self, sentence: str) -> str:
        """A normalised German sentence as the model's units (subword pieces, or words)."""
        return self.target_bpe.segment(sentence) if self.target_bpe else sentence

    def source_ids(self, sentences: list[str], segmented: bool = False) -> tf.RaggedTensor:
        """Normalised English sentences → ragged ids, shape (batch, None).

        ``segmented=True``: the sentences are already :meth:`source_pieces`.
        """
        units = sentences if segmented else [self.source_pieces(s) for s in sentences]
        return self.source(tf.constant(units))

    def target_ids(self, sentences: list[str]) -> tf.RaggedTensor:
        """Normalised German sentences → ragged ids of ``[start] … [end]``, shape (batch, None)."""
        return self.target(tf.constant([wrap_target(self.target_pieces(s)) for s in sentences]))

    def target_text(self, ids, strip_special: bool = True) -> str:
        """One row of target ids → text; stops at ``[end]``, drops padding and ``[start]``."""
        words = []
        for i in np.asarray(ids).tolist():
            word = self.target_vocab[i]
            if strip_special and word == END:
                break
            if strip_special and word in (PAD, START):
                continue
            words.append(word)
        return join_subwords(" ".join(words))  # subword pieces back into words

    def source_tokens(self, ids) -> list[str]:
        """One row of source ids → tokens (padding dropped, unknown words shown as [UNK])."""
        return [self.source_vocab[i] for i in np.asarray(ids).tolist() if i != 0]

    # ---- persistence
    def save(self, folder: str | Path) -> None:
        """Write ``source_vocab.json`` and ``target_vocab.json`` (exact lists, ids = positions),
        and the subword merges (``source_bpe.json``, ``target_bpe.json``) if any."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, vocab in (("source_vocab.json", self.source_vocab),
                            ("target_vocab.json", self.target_vocab)):
            write_text_atomically(folder / name, json.dumps(vocab, ensure_ascii=False))
        for name, bpe in (("source_bpe.json", self.source_bpe), ("target_bpe.json", self.target_bpe)):
            if bpe is not None:
                bpe.save(folder / name)
            else:
                (folder / name).unlink(missing_ok=True)

    @classmethod
    def load(cls, folder: str | Path) -> Vectorizers:
        folder = Path(folder)
        vocabs = []
        for name in ("source_vocab.json", "target_vocab.json"):
            path = folder / name
            if not path.exists():
                raise FileNotFoundError(f"{path} is missing: this folder holds no saved vocabulary")
            vocabs.append(_read_vocabulary(path))
        encodings = [BytePairEncoding.load(folder / name) if (folder / name).exists() else None
                     for name in ("source_bpe.json", "target_bpe.json")]
        return cls(*vocabs, *encodings)


def _read_vocabulary(path: Path) -> list[str]:
    """A saved vocabulary: a JSON list of strings starting with padding and ``[UNK]``."""
    try:
        vocabulary = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON ({error}); it is damaged") from None
    if (not isinstance(vocabulary, list) or not all(isinstance(w, str) for w in vocabulary)
            or vocabulary[:2] != [PAD, UNK] or len(set(vocabulary)) != len(vocabulary)):
        raise ValueError(f"{path} is not a course vocabulary (a JSON list of distinct words "
                         "starting with '' and '[UNK]')")
    return vocabulary


# --------------------------------------------------------------------------- tf.data


def shift_for_teacher_forcing(source: tf.Tensor, target: tf.Tensor):
    """``(source, target)`` → ``((source, decoder_input), labels)``.

    target (batch, T) → decoder_input = target[:, :-1], labels = target[:, 1:], both (batch, T-1).
    """
    return (source, target[:, :-1]), target[:, 1:]


#: Bucket boundaries (tokens). A batch is padded up to its bucket's boundary, so the
#: model sees a small, fixed set of shapes (XLA compiles each shape once).
BUCKET_BOUNDARIES = (4, 6, 8, 10, 12, 15, 20, 30)


def make_dataset(
    pairs: list[Pair],
    vectorizers: Vectorizers,
    batch_size: int | None = None,
    shuffle: bool = True,
    bucketing: bool = True,
    seed: int = SEED,
) -> tf.data.Dataset:
    """Build the training pipeline: vectorise → shuffle → batch (bucketed or not) → shift → prefetch.

    Each element is ``((source_ids, decoder_input), labels)`` with shapes
    ``((batch, S), (batch, T-1)), (batch, T-1)``.

    With ``bucketing=True`` (the default) sentences of similar length are batched
    together (``tf.data.Dataset.bucket_by_sequence_length``) and padded to the
    bucket's boundary, which wastes little padding *and* gives a bounded set of
    shapes. Without it each batch is padded to its own longest sentence.
    ``batch_size`` defaults to ``config.TrainConfig().batch_size``.
    """
    batch_size = require_count("batch_size", TrainConfig().batch_size if batch_size is None
                               else batch_size)
    source = vectorizers.source_ids([en for en, _ in pairs])  # ragged (N, None)
    target = vectorizers.target_ids([de for _, de in pairs])  # ragged (N, None)
    # Store padded rectangles plus true lengths; each element is cut back to its length.
    ds = tf.data.Dataset.from_tensor_slices(
        (source.to_tensor(), source.row_lengths(), target.to_tensor(), target.row_lengths())
    ).map(lambda s, s_len, t, t_len: (s[:s_len], t[:t_len]))  # (S_i,), (T_i,)
    if shuffle:
        ds = ds.shuffle(len(pairs), seed=seed, reshuffle_each_iteration=True)
    if bucketing:
        longest = int(max(source.row_lengths().numpy().max(), target.row_lengths().numpy().max()))
        boundaries = [b for b in BUCKET_BOUNDARIES if b <= longest] + [longest + 1]
        ds = ds.bucket_by_sequence_length(
            element_length_func=lambda s, t: tf.maximum(tf.shape(s)[0], tf.shape(t)[0]),
            bucket_boundaries=boundaries,
            bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
            pad_to_bucket_boundary=True,
        )
    else:
        ds = ds.padded_batch(batch_size)
    return ds.map(shift_for_teacher_forcing, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )


def padding_fraction(dataset: tf.data.Dataset) -> float:
    """Fraction of all positions in the batches (source and decoder input) that are padding."""
    padded = total = 0
    for (source, decoder_input), _ in dataset:
        for tensor in (source, decoder_input):
            padded += int(tf.reduce_sum(tf.cast(tensor == 0, tf.int64)))
            total += int(tf.size(tensor))
    return padded / max(total, 1)
