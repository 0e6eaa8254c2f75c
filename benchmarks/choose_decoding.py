"""Choose beam width and length penalty on validation sentences, never on the test split.

For one run folder, translates a seeded random sample of the *validation* split's
English sources with greedy search and with beam search for every pair of ``--beams``
× ``--penalties`` (the length penalty α ranks finished hypotheses by
``log_prob / length ** α``), and prints corpus BLEU (multi-reference, as everywhere in
the course) with its 95 % bootstrap interval and the time each setting took. The
chosen setting is the highest BLEU; a wider beam or another α must beat greedy by
more than its paired-bootstrap interval allows to count (otherwise greedy is kept,
because it is faster). Report the chosen setting once on the test split with
``python -m course_lib evaluate RUN --pairs splits/test.tsv --beam K --length-penalty A``.

Usage::

    python benchmarks/choose_decoding.py RUN [--sample 800] [--beams 3 5] [--penalties 0.6 1.0 1.4]

Prints a table and one JSON line (``--json FILE`` also writes it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from course_lib.notebook import import_tensorflow_quietly  # noqa: E402


def validation_sample(run, size: int, seed: int):
    """The run's validation pairs for a seeded random sample of ``size`` distinct sources."""
    from course_lib import significance
    from course_lib.data import group_by_source, prepare_data

    data = prepare_data(verbose=False)
    groups = group_by_source(data.val)
    sources, rule = significance.seeded_sample(sorted(groups), size, seed)
    pairs = [(source, reference) for source in sources for reference in groups[source]]
    return pairs, f"validation sources: {rule}"


def print_summary(summary: dict, json_path: Path | None) -> None:
    """Print a benchmark's summary as one JSON line, and write it to ``json_path`` if given."""
    print(json.dumps(summary))
    if json_path:
        json_path.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--sample", type=int, default=800, help="validation sources (seeded)")
    parser.add_argument("--beams", type=int, nargs="+", default=[3, 5])
    parser.add_argument("--penalties", type=float, nargs="+", default=[0.6, 1.0, 1.4])
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    import_tensorflow_quietly()
    from course_lib import significance
    from course_lib.evaluation import evaluate
    from course_lib.runs import load_run

    run = load_run(args.run)
    pairs, rule = validation_sample(run, args.sample, args.seed)
    settings = [(1, 1.0)] + [(beam, alpha) for beam in args.beams for alpha in args.penalties]
    rows, hypotheses = [], {}
    for beam, alpha in settings:
        start = time.perf_counter()
        result = evaluate(run.translator, pairs, beam_width=beam, length_penalty=alpha)
        seconds = time.perf_counter() - start
        table = result.table
        hypotheses[(beam, alpha)] = list(table.hypothesis)
        references = list(table.references)
        interval = significance.bootstrap_bleu(hypotheses[(beam, alpha)], references)
        rows.append({"beam": beam, "length_penalty": alpha, "bleu": round(interval.score, 2),
                     "ci": [round(interval.low, 2), round(interval.high, 2)],
                     "mean_length": round(table.hypothesis.str.split().str.len().mean(), 2),
                     "seconds": round(seconds, 1)})
        print(f"beam {beam:2d}  α {alpha:.1f}  BLEU {interval.score:6.2f} "
              f"({interval.low:.2f}–{interval.high:.2f})  {seconds:6.1f} s", flush=True)
    greedy = hypotheses[(1, 1.0)]
    best = max(rows, key=lambda row: (row["bleu"], -row["beam"]))
    chosen = {"beam": 1, "length_penalty": 1.0}
    if best["beam"] > 1:
        paired = significance.paired_bootstrap(greedy, hypotheses[(best["beam"],
                                                                   best["length_penalty"])],
                                               references)
        difference = paired.difference
        best["minus_greedy"] = {"difference": round(difference.score, 2),
                                "ci": [round(difference.low, 2), round(difference.high, 2)]}
        if difference.low > 0:
            chosen = {"beam": best["beam"], "length_penalty": best["length_penalty"]}
    summary = {"run": str(args.run), "kind": run.metadata["kind"], "sample": rule,
               "sentences": len(greedy), "rows": rows, "best": best, "chosen": chosen}
    print_summary(summary, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
