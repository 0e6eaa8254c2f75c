"""Paired comparison of translation files, overall and by sentence length.

``python -m course_lib compare`` translates with every run and one decoding setting. When
each system was decoded its own way (each model's beam width and length penalty chosen on
validation, see ``choose_decoding.py``), compare the files ``python -m course_lib evaluate
RUN --pairs PAIRS --out FILE.tsv`` wrote instead: the same sources in the same order, each
with its hypothesis and its references. For every file: corpus BLEU (multi-reference) with
its 95 % bootstrap interval, overall and per English length bucket; for every pair of files:
B − A with Koehn's (2004) paired bootstrap, overall and per length bucket.

A system may also be a plain file of hypotheses, one line per distinct English source of
``--pairs`` in the order ``evaluate`` translates them (first appearance): the form in which
the reference runs' translations are kept in ``results/`` (a model's own output, not a copy
of the corpus; the sources and references come from ``--pairs``). ``--save-hypotheses DIR``
writes every system's hypotheses in that form, as ``DIR/NAME.txt``.

Usage::

    python benchmarks/compare_translations.py baseline=base.tsv attention=att.tsv [...]
    python benchmarks/compare_translations.py --pairs splits/test.tsv \
        baseline=results/reference/baseline/hypotheses-greedy.txt attention=att.tsv

Prints a table and one JSON line (``--json FILE`` also writes it).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))

from choose_decoding import print_summary  # noqa: E402

from course_lib.notebook import import_tensorflow_quietly  # noqa: E402

HEADER = ["source", "hypothesis", "references"]


class TranslationsFileError(ValueError):
    """A translations file that cannot be compared (wrong layout, other sentences)."""


def read_translations(path: Path) -> tuple[list[str], list[str], list[list[str]]]:
    """``(sources, hypotheses, references)`` of a file written by ``evaluate --out``."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    if not rows or rows[0] != HEADER:
        raise TranslationsFileError(f"{path} does not start with the header "
                                    f"{'<TAB>'.join(HEADER)}: write it with `python -m "
                                    f"course_lib evaluate RUN --pairs PAIRS --out {path.name}`")
    bad = [number for number, row in enumerate(rows[1:], start=2) if len(row) != 3]
    if bad:
        raise TranslationsFileError(f"{path}: line {bad[0]} does not have 3 tab-separated fields")
    body = rows[1:]
    return ([r[0] for r in body], [r[1] for r in body], [r[2].split(" ||| ") for r in body])


def read_pairs_sources(pairs_path: Path, lowercase: bool = True) -> tuple[list[str], list[list[str]]]:
    """The distinct normalised sources of a pairs file and their references, as ``evaluate``
    groups them (first appearance, every repeat a further reference)."""
    from course_lib.data import group_by_source
    from course_lib.evaluation import read_pairs_file
    from course_lib.tokenization import normalize

    groups = group_by_source([(normalize(en, lowercase), normalize(de, lowercase))
                              for en, de in read_pairs_file(pairs_path)])
    return list(groups), list(groups.values())


def read_system(path: Path, pairs: tuple[list[str], list[list[str]]] | None):
    """A TSV written by ``evaluate --out``, or a hypotheses file read against ``pairs``."""
    with path.open(encoding="utf-8") as handle:
        first = handle.readline().rstrip("\n")
    if first.split("\t") == HEADER or pairs is None:
        return read_translations(path)
    sources, references = pairs
    hypotheses = path.read_text(encoding="utf-8").split("\n")
    if hypotheses and hypotheses[-1] == "":
        hypotheses.pop()
    if len(hypotheses) != len(sources):
        raise TranslationsFileError(f"{path} has {len(hypotheses)} lines but the pairs file has "
                                    f"{len(sources)} distinct sources: it was not written for "
                                    f"those pairs")
    return sources, hypotheses, references


def paired(counts_a: np.ndarray, counts_b: np.ndarray) -> dict:
    """B − A in BLEU on the same sentences, with the paired bootstrap's interval and p."""
    from course_lib import significance

    result = significance.paired_bootstrap_counts(counts_a, counts_b)
    return {"difference": round(result.difference.score, 2),
            "ci": [round(result.difference.low, 2), round(result.difference.high, 2)],
            "p_value": round(result.p_value, 4)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", metavar="NAME=FILE",
                        help="a system's name and the TSV `evaluate --out` wrote for it")
    parser.add_argument("--pairs", type=Path,
                        help="english<TAB>german file the hypotheses files translate")
    parser.add_argument("--save-hypotheses", type=Path, metavar="DIR",
                        help="write each system's hypotheses to DIR/NAME.txt")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    named = [item.partition("=") for item in args.files]
    if len(named) < 2 or any(not name or not sep or not path for name, sep, path in named):
        parser.error("give at least two NAME=FILE arguments")
    if len({name for name, _, _ in named}) < len(named):
        parser.error("every NAME must be different")

    import_tensorflow_quietly()
    from course_lib import significance
    from course_lib.evaluation import score_translations

    systems = {}
    try:
        pairs = read_pairs_sources(args.pairs) if args.pairs else None
        for name, _, path in named:
            systems[name] = read_system(Path(path), pairs)
    except (OSError, ValueError) as error:
        print(f"compare_translations: {error}", file=sys.stderr)
        return 1
    first_name, (sources, _, references) = next(iter(systems.items()))
    for name, (other_sources, _, other_references) in systems.items():
        if other_sources != sources or other_references != references:
            print(f"compare_translations: {name} and {first_name} do not translate the same "
                  f"sources with the same references in the same order", file=sys.stderr)
            return 1

    if args.save_hypotheses:
        args.save_hypotheses.mkdir(parents=True, exist_ok=True)
        for name, (_, hypotheses, _) in systems.items():
            (args.save_hypotheses / f"{name}.txt").write_text(
                "".join(h + "\n" for h in hypotheses), encoding="utf-8")

    scored = {name: score_translations(sources, hypotheses, references)
              for name, (_, hypotheses, _) in systems.items()}
    counts = {name: significance.sentence_counts(hypotheses, references)
              for name, (_, hypotheses, _) in systems.items()}
    buckets = scored[first_name].table["bucket"].to_numpy()
    bucket_names = list(scored[first_name].by_length["bucket"])

    rows = {}
    for name, result in scored.items():
        s = result.scores
        rows[name] = {"bleu": round(s["bleu"], 2), "ci": [round(s["bleu_low"], 2),
                                                          round(s["bleu_high"], 2)],
                      "chrf": round(s["chrf"], 2),
                      "by_length": {r.bucket: {"sentences": int(r.sentences),
                                               "bleu": round(r.bleu, 2),
                                               "ci": [round(r.bleu_low, 2), round(r.bleu_high, 2)]}
                                    for r in result.by_length.itertuples()}}
        print(f"{name:24s} BLEU {s['bleu']:6.2f} ({s['bleu_low']:.2f}–{s['bleu_high']:.2f})"
              f"  chrF {s['chrf']:.2f}")

    differences = []
    names = list(systems)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            overall = paired(counts[a], counts[b])
            by_length = {bucket: paired(counts[a][buckets == bucket], counts[b][buckets == bucket])
                         for bucket in bucket_names}
            differences.append({"a": a, "b": b, **overall, "by_length": by_length})
            print(f"{b} − {a}: {overall['difference']:+.2f} ({overall['ci'][0]:+.2f} to "
                  f"{overall['ci'][1]:+.2f}, p = {overall['p_value']:.4f})")
            for bucket, d in by_length.items():
                print(f"    {bucket:6s} {d['difference']:+6.2f} ({d['ci'][0]:+.2f} to "
                      f"{d['ci'][1]:+.2f})")
    summary = {"sentences": len(sources), "systems": rows, "differences": differences,
               "files": {name: path for name, _, path in named}}
    print_summary(summary, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
