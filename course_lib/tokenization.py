"""From a raw sentence to tokens and back: every string-level step of the course.

Text goes through the course in one direction and comes back in the other::

    "„Schön!“, sagte er."  --normalize-->  '" schön ! " , sagte er .'  --tokens-->  ['"', 'schön', ...]
          (read from the corpus or typed by a user)                      (vectorised, scored by BLEU)

    ['fahr@@', 'rad', 'ist', 'da', '.']  --detokenize-->  "fahrrad ist da."
          (what a model writes)                           (what a reader sees)

* :func:`normalize` cleans and space-tokenises one sentence; the corpus, the user's
  input and BLEU's references all pass through it, so the same word is always the
  same string.
* :func:`tokens` splits space-tokenised text (optionally lowercased, as BLEU's
  case-insensitive variant does).
* :func:`join_subwords` undoes byte-pair segmentation (:mod:`course_lib.subwords`);
  :func:`detokenize` joins a model's output tokens into a readable sentence.

Turning tokens into ids (vocabularies, ``TextVectorization``) is the next step and
lives in :mod:`course_lib.text`. This module is pure Python.
"""

from __future__ import annotations

import re
import unicodedata

from .subwords import CONTINUES

#: Every quotation mark and apostrophe variant found in the corpus, mapped to one form.
#: German uses „low-high“ quotes and ‚single‘ ones; English uses “curly” quotes; both
#: use ’ as an apostrophe. Without this map "don't" and "don’t" are different words.
QUOTE_MAP = str.maketrans({
    "„": '"', "“": '"', "”": '"', "«": '"', "»": '"', "‟": '"', "″": '"',
    "‚": "'", "‘": "'", "’": "'", "‹": "'", "›": "'", "´": "'", "`": "'",
})

# Punctuation that always becomes a token of its own.
_ALWAYS_SPLIT = re.compile(r'([?!;:"¿¡…()\[\]])')
# "." and "," become tokens except between digits (3.5, 1,000 stay whole).
_SPLIT_DOT_COMMA = re.compile(r"(?<!\d)([.,])|([.,])(?!\d)")
_SPACES = re.compile(r"\s+")
# The marks that detokenize re-attaches to the word before them.
_ATTACHED_MARKS = (".", ",", "!", "?", ":", ";")


def normalize(text: str, lowercase: bool = True) -> str:
    """Return the cleaned, space-tokenised form of one sentence.

    >>> normalize("„Schön!“, sagte er.")
    '" schön ! " , sagte er .'

    * NFC: "ü" typed as ``u`` + combining diaeresis becomes the single character ü,
      so the same word is always the same string.
    * Quotes and apostrophes: see :data:`QUOTE_MAP`.
    * Punctuation is separated by spaces, so "hungry." and "hungry" share a word.
      Apostrophes inside words ("don't", "geht's") are kept.
    * Lowercasing (a choice, on by default): German capitalises every noun, so
      lowercasing merges "Essen" (food) and "essen" (to eat). We accept that to
      halve the vocabulary of sentence-initial words; set ``lowercase=False`` to keep case.
    """
    text = unicodedata.normalize("NFC", text).translate(QUOTE_MAP)
    if lowercase:
        text = text.lower()
    text = _ALWAYS_SPLIT.sub(r" \1 ", text)
    text = _SPLIT_DOT_COMMA.sub(lambda m: f" {m.group(0)} ", text)
    return _SPACES.sub(" ", text).strip()


def ascii_only_clean(text: str) -> str:
    """The ASCII-only cleaner of a popular tutorial, kept here to show what it breaks.

    It strips accents via NFD decomposition and then deletes every character that is
    not a-z or basic punctuation (replacing it with a space): "Grüß" becomes "gru" and
    "Straße" becomes "stra e", one word torn in two.
    Do not use it for German.
    """
    decomposed = unicodedata.normalize("NFD", text.lower().strip())
    no_accents = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    no_accents = re.sub(r"([?.!,¿])", r" \1 ", no_accents)
    return _SPACES.sub(" ", re.sub(r"[^a-z?.!,¿]+", " ", no_accents)).strip()


def tokens(text: str, lowercase: bool = False) -> list[str]:
    """Split space-tokenised text into tokens, lowercasing it first if asked.

    >>> tokens("ich bin hungrig .")
    ['ich', 'bin', 'hungrig', '.']

    Normalised text (:func:`normalize`) is already space-tokenised, so this is a plain
    whitespace split. ``lowercase=True`` serves case-insensitive BLEU (sacrebleu's ``-lc``).
    """
    if lowercase:
        text = text.lower()
    return text.split()


def join_subwords(text: str) -> str:
    """Undo byte-pair segmentation: ``'fahr@@ rad ist da'`` → ``'fahrrad ist da'``.

    Safe on text that was never segmented (it holds no ``@@``).
    """
    return text.replace(CONTINUES + " ", "").removesuffix(CONTINUES)


def detokenize(pieces: list[str]) -> str:
    """Join a model's output tokens into a readable sentence.

    >>> detokenize(["fahr@@", "rad", "ist", "da", "."])
    'fahrrad ist da.'

    Subword pieces are joined into words first (:func:`join_subwords`), then
    punctuation is re-attached to the word before it.
    """
    text = join_subwords(" ".join(pieces))
    for mark in _ATTACHED_MARKS:
        text = text.replace(f" {mark}", mark)
    return text


__all__ = ["QUOTE_MAP", "ascii_only_clean", "detokenize", "join_subwords", "normalize", "tokens"]
