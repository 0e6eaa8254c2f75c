"""Evaluating a translator honestly: free-running decoding, multi-reference BLEU, chrF.

The rules this module follows (chapter 4 explains each):

* The model translates on its own (free-running greedy or beam search). BLEU of
  teacher-forced argmax outputs looks better than the model really is, because
  every step was given the correct previous word.
* Every English sentence is scored against *all* its German translations in the
  file (repeated English lines = several references).
* Hypotheses and references are compared in the same normalised, lowercased,
  space-tokenised form (:func:`course_lib.tokenization.normalize`), and BLEU is computed
  with ``tokenize="none"`` semantics, so our number equals sacrebleu's on the same text.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import metrics, significance
from .corpus import parse_line
from .data import group_by_source
from .files import check_output_file, read_text_lines
from .text import UNK
from .tokenization import normalize

#: Source-length buckets (in tokens) for the BLEU-by-length table.
LENGTH_BUCKETS = ((1, 5), (6, 8), (9, 12), (13, None))


class PairsFileError(ValueError):
    """A pairs file with malformed lines; the message lists their line numbers."""


def read_pairs_file(path: str | Path) -> list[tuple[str, str]]:
    """Read ``english<TAB>german`` lines (a third attribution column is ignored).

    Malformed lines are not skipped silently here: evaluation data must be exact,
    so any bad line raises :class:`PairsFileError` listing the line numbers.
    """
    path = Path(path)
    try:
        lines = read_text_lines(path, "pairs file")  # UTF-8; a byte-order mark is dropped
    except (FileNotFoundError, ValueError) as error:
        raise PairsFileError(str(error)) from None
    pairs, bad = [], []
    for number, line in enumerate(lines, start=1):
        parsed = parse_line(line)  # the corpus reader's rule: 2 or 3 fields, both sides non-empty
        if isinstance(parsed, tuple):
            pairs.append(parsed)
        elif line.strip():
            bad.append(number)
    if bad:
        shown = ", ".join(map(str, bad[:10])) + (" …" if len(bad) > 10 else "")
        raise PairsFileError(f"{path}: {len(bad)} malformed line(s) (expected "
                             f"'english<TAB>german'): line {shown}")
    if not pairs:
        raise PairsFileError(f"{path} holds no sentence pairs")
    return pairs


def bucket_name(length: int, buckets=LENGTH_BUCKETS) -> str:
    for low, high in buckets:
        if length >= low and (high is None or length <= high):
            return f"{low}-{high}" if high is not None else f"{low}+"
    return "other"


@dataclass
class EvaluationResult:
    """Scores plus the per-sentence table (source, hypothesis, references, bucket)."""

    scores: dict
    table: pd.DataFrame
    by_length: pd.DataFrame

    def to_json(self) -> dict:
        return {**self.scores, "by_length": self.by_length.to_dict(orient="records")}


def score_translations(sources: list[str], hypotheses: list[str],
                       references: list[list[str]],
                       bootstrap_samples: int = significance.DEFAULT_SAMPLES) -> EvaluationResult:
    """Score tokenised hypotheses against lists of tokenised references.

    BLEU comes with a 95 % bootstrap confidence interval (``scores["bleu_low"]`` and
    ``["bleu_high"]``, and per length bucket; see :mod:`course_lib.significance`).
    ``bootstrap_samples=0`` skips the intervals.
    """
    metrics.check_corpus(hypotheses, references)
    exact = [hyp in refs for hyp, refs in zip(hypotheses, references)]
    table = pd.DataFrame({
        "source": sources,
        "hypothesis": hypotheses,
        "references": references,
        "source_tokens": [len(s.split()) for s in sources],
        "exact_match": exact,
    })
    table["bucket"] = [bucket_name(n) for n in table["source_tokens"]]
    counts = significance.sentence_counts(hypotheses, references)  # (sentences, 10)

    def bleu_with_interval(rows: np.ndarray) -> dict:
        if not bootstrap_samples:
            return {"bleu": significance.bleu_of_counts(counts[rows].sum(axis=0))}
        interval = significance.bootstrap_counts(counts[rows], bootstrap_samples)
        return {"bleu": interval.score, "bleu_low": interval.low, "bleu_high": interval.high}

    rows = []
    for bucket in dict.fromkeys(bucket_name(low) for low, _ in LENGTH_BUCKETS):
        in_bucket = np.flatnonzero(table["bucket"].to_numpy() == bucket)
        if len(in_bucket):
            rows.append({"bucket": bucket, "sentences": len(in_bucket),
                         **bleu_with_interval(in_bucket)})
    scores = {
        **bleu_with_interval(np.arange(len(hypotheses))),
        "chrf": metrics.chrf(hypotheses, references),
        "exact_match": sum(exact) / len(exact),
        "sentences": len(hypotheses),
        "references_per_sentence": sum(map(len, references)) / len(references),
    }
    return EvaluationResult(scores, table, pd.DataFrame(rows))


def evaluate(translator, pairs: list[tuple[str, str]], beam_width: int = 1,
             out: str | Path | None = None, replace_unknown: bool = False,
             length_penalty: float = 1.0) -> EvaluationResult:
    """Translate each distinct English sentence once and score it against all its references.

    ``scores["unk_rate"]`` is the share of the model's raw translations that contain
    ``[UNK]``, before any replacement. ``replace_unknown=True`` scores the translations
    after attention-based ``[UNK]`` replacement (see :class:`course_lib.decoding.Translator`).
    ``out`` writes a TSV: source, hypothesis, references joined by `` ||| ``.
    """
    if out is not None:
        check_output_file(out, "translations file")  # before minutes of translating
    lowercase = translator.lowercase
    groups = group_by_source([(normalize(en, lowercase), normalize(de, lowercase))
                              for en, de in pairs])
    sources = list(groups)
    translations = translator.translate(sources, beam_width=beam_width, strict=False,
                                        replace_unknown=replace_unknown,
                                        length_penalty=length_penalty)
    hypotheses = [tr.hypothesis for tr in translations]
    result = score_translations(sources, hypotheses, [groups[s] for s in sources])
    result.scores["unk_rate"] = sum(UNK in tr.tokens for tr in translations) / len(translations)
    result.scores["replace_unknown"] = replace_unknown
    if out is not None:
        write_translations(out, result.table)
    return result


def write_translations(path: str | Path, table: pd.DataFrame) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["source", "hypothesis", "references"])
        for row in table.itertuples():
            writer.writerow([row.source, row.hypothesis, " ||| ".join(row.references)])
    return path


def teacher_forced_hypotheses(model, vectorizers, pairs: list[tuple[str, str]]) -> list[str]:
    """The *wrong* way to make hypotheses, shown in chapter 4: argmax of teacher-forced logits.

    Each position predicts the next word *given the correct previous words* of the
    reference, so the output cannot drift the way free-running output does. Cut at
    the first ``[end]``. One hypothesis per pair (the pair's own German side is fed in).
    """
    import numpy as np

    hypotheses = []
    for start in range(0, len(pairs), 256):
        chunk = pairs[start:start + 256]
        source = vectorizers.source_ids([en for en, _ in chunk]).to_tensor()
        target = vectorizers.target_ids([de for _, de in chunk]).to_tensor()
        predictions = np.argmax(model((source, target[:, :-1])), axis=-1)  # (batch, T)
        hypotheses += [vectorizers.target_text(row) for row in predictions]
    return hypotheses


def accuracy_by_position(model, vectorizers, pairs: list[tuple[str, str]],
                         max_positions: int = 12) -> pd.DataFrame:
    """Token accuracy at each output position, teacher-forced vs free-running (chapter 3).

    Teacher-forced: the model predicts word t having read the reference's words < t.
    Free-running: it reads its *own* previous words (greedy). Position t counts only
    sentences whose reference has a word at t.

    Read the gap with care: it is not all exposure bias. Up to its first mistake the
    free-running decoder makes exactly the teacher-forced predictions; after it, a
    position-wise comparison also counts as wrong every right word that an earlier
    extra or missing word has shifted, and every word of a valid translation that
    differs from this one reference. :func:`exposure_bias_breakdown` separates them.
    """
    import numpy as np

    from .decoding import greedy_decode

    source = vectorizers.source_ids([en for en, _ in pairs]).to_tensor()
    target = vectorizers.target_ids([de for _, de in pairs]).to_tensor()
    labels = target[:, 1:].numpy()                                         # (N, T)
    forced = np.argmax(model((source, target[:, :-1])), axis=-1)           # (N, T)
    free = greedy_decode(model, source, vectorizers.start_id, vectorizers.end_id,
                         labels.shape[1]).ids
    free = np.pad(free, ((0, 0), (0, labels.shape[1] - free.shape[1])))    # (N, T)
    rows = []
    for t in range(min(max_positions, labels.shape[1])):
        real = labels[:, t] != 0
        if real.sum() < 20:
            break
        rows.append({"position": t + 1, "sentences": int(real.sum()),
                     "teacher_forced": float((forced[real, t] == labels[real, t]).mean()),
                     "free_running": float((free[real, t] == labels[real, t]).mean())})
    return pd.DataFrame(rows)


def _reference_recall(hypothesis: list[str], reference: list[str], same_position: bool) -> int:
    """How many reference words the hypothesis contains: at the same index, or anywhere (clipped)."""
    if same_position:
        return sum(h == r for h, r in zip(hypothesis, reference))
    return metrics.clipped_matches(hypothesis, [reference], 1)[0]


def exposure_bias_breakdown(forced: list[str], free: list[str],
                            references: list[list[str]]) -> pd.DataFrame:
    """Teacher-forced against free-running outputs, scored three ways (chapter 3).

    ``forced[i]`` and ``free[i]`` are the two outputs for sentence ``i``;
    ``references[i]`` its German references, the one the model was teacher-forced with
    first. Each row is the share of reference words the outputs reproduce, pooled over
    all sentences:

    1. *same word at the same position, first reference* — what
       :func:`accuracy_by_position` measures. A word that an earlier mistake shifted
       by one position counts as wrong.
    2. *same word anywhere, first reference* — counts clipped as in BLEU's unigram
       precision, so the order no longer matters: the shift of row 1 is gone.
    3. *same word anywhere, best reference* — the reference of the source that the
       output matches best, so a valid paraphrase the corpus lists is no longer wrong.

    What the gap loses from row 1 to 2 is the position artefact of compounding
    shifts; from 2 to 3 the paraphrases in the corpus; what is left in row 3 are
    words that are wrong against every reference, which is where exposure bias
    (the decoder reading its own mistakes) can show — an upper bound, since the
    corpus lists only some of the valid translations.
    """
    if not (len(forced) == len(free) == len(references)):
        raise ValueError(f"forced, free and references must have one entry per sentence, got "
                         f"{len(forced)}, {len(free)} and {len(references)}")
    rows = []
    for name, same_position, best in (
            ("same word at the same position, first reference", True, False),
            ("same word anywhere, first reference", False, False),
            ("same word anywhere, best reference", False, True)):
        row = {"measure": name}
        for mode, outputs in (("teacher_forced", forced), ("free_running", free)):
            matched = total = 0
            for output, refs in zip(outputs, references):
                hypothesis = output.split()
                candidates = [r.split() for r in (refs if best else refs[:1])]
                found = [_reference_recall(hypothesis, r, same_position) for r in candidates]
                k = max(range(len(candidates)), key=lambda j: found[j] / max(len(candidates[j]), 1))
                matched += found[k]
                total += len(candidates[k])
            row[mode] = matched / max(total, 1)
        row["gap"] = row["teacher_forced"] - row["free_running"]
        rows.append(row)
    return pd.DataFrame(rows).set_index("measure")
