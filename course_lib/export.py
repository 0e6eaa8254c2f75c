"""Ship a trained run as a TensorFlow SavedModel that translates strings to strings.

``python -m course_lib export RUN OUT`` writes a folder that anyone can use with
TensorFlow alone — no ``course_lib``, no Keras classes of ours::

    import tensorflow as tf
    translator = tf.saved_model.load("OUT")
    translator.translate(tf.constant(["I am hungry."]))    # → [b"ich habe hunger."]

Everything between the English string and the German one happens inside the
graph, so the SavedModel gives the same translations as :class:`course_lib.decoding.Translator`
with greedy search:

1. **normalising** (:func:`normalize_in_graph`) — the steps of :func:`course_lib.tokenization.normalize`
   written with ``tf.strings`` ops: quotes unified, lowercased, punctuation split off;
2. **cutting** each sentence to the run's longest training source, as the translator does;
3. **segmenting** into subword pieces with the run's byte-pair merges
   (:class:`InGraphBytePairEncoding`), if the run uses subwords;
4. **looking up** ids (``[UNK]`` for an unknown unit);
5. **greedy decoding** — the very loop of :func:`course_lib.decoding.greedy_decode`;
6. **detokenising** — ids to words, pieces joined, punctuation re-attached.

Two differences from the Python path, both outside anything the corpus contains:
TensorFlow has no Unicode NFC, so only the composed letters of the run's vocabulary
are recomposed (``u`` + combining diaeresis → ``ü``); and ``\\d`` and ``\\s`` in
TensorFlow's regular expressions (RE2) are ASCII, so the exporter lists the common
Unicode spaces itself. An empty sentence is refused with an error naming the rule.
"""

from __future__ import annotations

import os
import shutil
import unicodedata
from pathlib import Path

import tensorflow as tf

from . import __version__
from .decoding import check_output_length, greedy_loop
from .files import OutputPathError, write_json_atomically
from .subwords import CONTINUES, WORD_END
from .text import END, UNK
from .tokenization import QUOTE_MAP

#: A separator that never occurs inside a symbol (the corpus is split on whitespace).
_PAIR_SEPARATOR = " "
#: Rank given to a symbol pair that no merge joins.
_NO_MERGE = 2**31 - 1
#: Whitespace that Python's ``\s`` matches and RE2's ASCII ``\s`` does not.
_SPACES = r"[\s\x{00A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]+"


def _quote_patterns() -> list[tuple[str, str]]:
    """QUOTE_MAP as (character class, replacement) pairs, one per replacement."""
    by_target: dict[str, list[str]] = {}
    for source, target in QUOTE_MAP.items():
        by_target.setdefault(target, []).append(chr(source))
    return [("[" + "".join(chars) + "]", target) for target, chars in by_target.items()]


def _recompositions(vocabularies: list[list[str]]) -> list[tuple[str, str]]:
    """(decomposed, composed) for every composed character in the vocabularies."""
    characters = {c for vocab in vocabularies for unit in vocab for c in unit}
    pairs = []
    for composed in sorted(characters):
        decomposed = unicodedata.normalize("NFD", composed)
        if decomposed != composed:
            pairs.append((decomposed, composed))
    return pairs


def normalize_in_graph(sentences: tf.Tensor, recompose: list[tuple[str, str]],
                       lowercase: bool = True) -> tf.Tensor:
    """:func:`course_lib.tokenization.normalize` with ``tf.strings`` ops. sentences (batch,) → (batch,).

    RE2 has no look-behind, so "a dot or comma between two digits stays" is done by
    protecting those marks with placeholder bytes first (twice, because one pass
    cannot protect two marks that share a digit, as in ``1.2.3``), splitting the
    rest, and restoring the placeholders.
    """
    text = sentences
    for decomposed, composed in recompose:
        text = tf.strings.regex_replace(text, _literal(decomposed), _literal_rewrite(composed))
    for pattern, target in _quote_patterns():
        text = tf.strings.regex_replace(text, pattern, target)
    if lowercase:
        text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, r'([?!;:"¿¡…()\[\]])', r" \1 ")
    for _ in range(2):                                   # 3.5 and 1,000 stay whole
        text = tf.strings.regex_replace(text, r"([0-9])\.([0-9])", "\\1\x01\\2")
        text = tf.strings.regex_replace(text, r"([0-9]),([0-9])", "\\1\x02\\2")
    text = tf.strings.regex_replace(text, r"([.,])", r" \1 ")
    text = tf.strings.regex_replace(text, "\x01", ".")
    text = tf.strings.regex_replace(text, "\x02", ",")
    return tf.strings.strip(tf.strings.regex_replace(text, _SPACES, " "))


def _literal(text: str) -> str:
    """A regular expression matching ``text`` literally."""
    return "".join(f"\\x{{{ord(c):04X}}}" for c in text)


def _literal_rewrite(text: str) -> str:
    """A rewrite string producing ``text`` (RE2 rewrites treat only backslashes specially)."""
    return text.replace("\\", "\\\\")


class InGraphBytePairEncoding(tf.Module):
    """:meth:`course_lib.subwords.BytePairEncoding.segment` as TensorFlow ops.

    The learned merges become a hash table ``"a b" → rank``. A word starts as its
    characters (the last marked with ``</w>``); while some adjacent pair has a rank,
    the first occurrence of the lowest-ranked pair is merged. Merging occurrences one
    at a time gives the same pieces as the Python version, which merges all of them
    at once: a pair that contains the new symbol was learned after the symbol itself,
    so it can never outrank the pair just merged.
    """

    def __init__(self, merges: list[tuple[str, str]]):
        super().__init__()
        keys = tf.constant([a + _PAIR_SEPARATOR + b for a, b in merges])
        ranks = tf.range(len(merges), dtype=tf.int32)
        self.ranks = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(keys, ranks), default_value=_NO_MERGE)

    def segment_word(self, word: tf.Tensor) -> tf.Tensor:
        """One word (scalar string) → its pieces joined by spaces, ``@@`` on all but the last."""
        characters = tf.strings.unicode_split(word, "UTF-8")                   # (n,)
        symbols = tf.concat([characters[:-1], [characters[-1] + WORD_END]], 0)

        def merge_best(symbols, finished):
            ranks = self.ranks.lookup(symbols[:-1] + _PAIR_SEPARATOR + symbols[1:])  # (n-1,)
            ranks = tf.concat([ranks, [_NO_MERGE]], 0)        # never empty, even for one symbol
            best = tf.cast(tf.argmin(ranks), tf.int32)       # the first lowest-ranked pair
            can_merge = ranks[best] < _NO_MERGE

            def merged():                                   # symbols[best], symbols[best+1] → one
                return tf.concat([symbols[:best], [symbols[best] + symbols[best + 1]],
                                  symbols[best + 2:]], 0)

            return tf.cond(can_merge, merged, lambda: symbols), tf.logical_not(can_merge)

        symbols, _ = tf.while_loop(
            lambda symbols, finished: tf.logical_not(finished), merge_best,
            (symbols, tf.constant(False)),
            shape_invariants=(tf.TensorShape([None]), tf.TensorShape([])))
        last = tf.strings.regex_replace(symbols[-1], WORD_END + "$", "")
        pieces = tf.concat([symbols[:-1] + CONTINUES, [last]], 0)
        return tf.strings.reduce_join(pieces, separator=" ")

    def segment(self, words: tf.RaggedTensor) -> tf.RaggedTensor:
        """Ragged words (batch, None) → ragged pieces (batch, None); each word type segmented once."""
        unique, position = tf.unique(words.flat_values)
        segmented = tf.map_fn(self.segment_word, unique,
                              fn_output_signature=tf.TensorSpec([], tf.string))
        pieces_per_word = words.with_flat_values(tf.gather(segmented, position))  # (batch, None)
        return tf.strings.split(tf.strings.reduce_join(pieces_per_word, axis=1, separator=" "))


class ExportedTranslator(tf.Module):
    """The run's model with its text handling, as one ``translate`` function: strings → strings."""

    def __init__(self, run):
        super().__init__()
        vectorizers, metadata = run.vectorizers, run.metadata
        self.model = run.model
        self.max_source_tokens = int(metadata.get("max_source_tokens", 40))
        self.max_output_tokens = int(metadata.get("max_target_tokens", 48)) + 2
        check_output_length(self.model, self.max_output_tokens)   # a Transformer's cache size
        self.start_id, self.end_id = vectorizers.start_id, vectorizers.end_id
        self.lowercase = True
        self.recompose = _recompositions([vectorizers.source_vocab])
        source = tf.constant(vectorizers.source_vocab)
        self.source_ids = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(source, tf.range(len(vectorizers.source_vocab))),
            default_value=vectorizers.source_vocab.index(UNK))
        self.target_words = tf.Variable(vectorizers.target_vocab, trainable=False,
                                        dtype=tf.string, name="target_vocabulary")
        self.bpe = (InGraphBytePairEncoding(vectorizers.source_bpe.merges)
                    if vectorizers.source_bpe else None)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="sentences")])
    def translate(self, sentences):
        """English sentences (batch,) → German translations (batch,), greedy search."""
        words = tf.strings.split(normalize_in_graph(sentences, self.recompose, self.lowercase))
        tf.debugging.assert_positive(
            words.row_lengths(),
            message="translate: every sentence needs at least one word (an empty or "
                    "whitespace-only sentence was given)")
        words = words[:, :self.max_source_tokens]                            # (batch, ≤ S_max)
        units = self.bpe.segment(words) if self.bpe is not None else words
        source_ids = self.source_ids.lookup(units).to_tensor(0)              # (batch, S)
        ids, lengths, _ = greedy_loop(self.model, tf.cast(source_ids, tf.int32),
                                       self.start_id, self.end_id, self.max_output_tokens)
        return self._detokenize(ids, lengths)

    def _detokenize(self, ids, lengths):
        """ids (batch, L), lengths (batch,) → strings (batch,), as :func:`course_lib.tokenization.detokenize`."""
        tokens = tf.RaggedTensor.from_tensor(tf.gather(self.target_words, ids), lengths=lengths)
        tokens = tf.ragged.boolean_mask(tokens, tf.not_equal(tokens, END))
        text = tf.strings.reduce_join(tokens, axis=1, separator=" ")
        text = tf.strings.regex_replace(text, CONTINUES + " ", "")
        text = tf.strings.regex_replace(text, CONTINUES + "$", "")
        return tf.strings.regex_replace(text, r" ([.,!?:;])", r"\1")


def export_run(run_folder: str | Path, out: str | Path) -> Path:
    """Write the run in ``run_folder`` as a SavedModel in ``out`` (a new or empty folder).

    The SavedModel is written to a temporary folder next to ``out`` and renamed
    into place when it is complete, so ``out`` never holds half an export.
    ``export.json`` beside it records the run, its data checksum and the versions.
    """
    from .runs import load_run

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputPathError(f"{out} already exists and is not an empty folder: choose a new "
                              "path (the export never overwrites anything)")
    run = load_run(run_folder)                     # every check of a run folder, first
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        module = ExportedTranslator(run)
        tf.saved_model.save(module, str(staging),
                            signatures={"translate": module.translate.get_concrete_function()})
        write_json_atomically(staging / "export.json", {
            "signature": "translate: string (batch,) → string (batch,), greedy search",
            "run": str(Path(run_folder).resolve()), "kind": run.metadata["kind"],
            "data_sha256": run.metadata.get("data_sha256"),
            "max_source_tokens": module.max_source_tokens,
            "max_output_tokens": module.max_output_tokens,
            "exported_by": f"course_lib {__version__}", "tensorflow": tf.__version__,
            "attribution": "trained on Tatoeba English-German pairs (tatoeba.org, CC-BY 2.0 FR) "
                           "as packaged by manythings.org"})
        if out.exists():
            out.rmdir()                                  # empty, checked above
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


__all__ = ["ExportedTranslator", "InGraphBytePairEncoding", "export_run", "normalize_in_graph"]
