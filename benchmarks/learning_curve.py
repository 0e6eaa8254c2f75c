"""Validation BLEU after every epoch of a run: how much did each further epoch buy?

For one finished run folder and a folder of its per-epoch weights files
(``epoch-NNN.weights.h5``; by default the run's own ``RUN/epochs/``, which keeps only
the last few epochs, so copy them aside while a long run trains if you want them all),
loads each epoch's weights into the run's model and translates the same seeded random
sample of validation sources greedily. Prints, per epoch, corpus BLEU (multi-reference)
with its 95 % bootstrap interval next to the run's validation cross-entropy for that
epoch (from ``run.json``) — the curve to quote when a target is out of reach with the
training time at hand. Never touches the test split.

Usage::

    python benchmarks/learning_curve.py RUN [--weights DIR] [--sample 800]

Prints a table and one JSON line (``--json FILE`` also writes it).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))

from choose_decoding import print_summary, validation_sample  # noqa: E402

from course_lib.notebook import import_tensorflow_quietly  # noqa: E402

EPOCH_FILE = re.compile(r"epoch-(\d+)\.weights\.h5$")


def epoch_files(folder: Path) -> dict[int, Path]:
    """``{epoch: weights file}`` for every ``epoch-NNN.weights.h5`` in ``folder``."""
    found = {}
    for path in sorted(folder.glob("epoch-*.weights.h5")):
        match = EPOCH_FILE.search(path.name)
        if match:
            found[int(match.group(1))] = path
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--weights", type=Path, help="folder of epoch-NNN.weights.h5 "
                        "(default: RUN/epochs)")
    parser.add_argument("--sample", type=int, default=800, help="validation sources (seeded)")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    files = epoch_files(args.weights or args.run / "epochs")
    if not files:
        print(f"no epoch-NNN.weights.h5 files in {args.weights or args.run / 'epochs'}",
              file=sys.stderr)
        return 1
    import_tensorflow_quietly()
    from course_lib import significance
    from course_lib.evaluation import evaluate
    from course_lib.runs import load_run

    run = load_run(args.run)
    history = run.metadata["history"]
    pairs, rule = validation_sample(run, args.sample, args.seed)
    print(f"{args.run} · greedy · {rule}")
    rows = []
    for epoch, path in files.items():
        run.model.load_weights(path)
        table = evaluate(run.translator, pairs).table
        interval = significance.bootstrap_bleu(list(table.hypothesis), list(table.references))
        cross_entropy = history["val_cross_entropy"][epoch - 1]
        rows.append({"epoch": epoch, "val_cross_entropy": round(cross_entropy, 4),
                     "bleu": round(interval.score, 2),
                     "ci": [round(interval.low, 2), round(interval.high, 2)]})
        print(f"epoch {epoch:3d}  val. cross-entropy {cross_entropy:.4f}  "
              f"BLEU {interval.score:6.2f} ({interval.low:.2f}–{interval.high:.2f})", flush=True)
    summary = {"run": str(args.run), "kind": run.metadata["kind"], "sample": rule,
               "best_epoch": run.metadata["final_metrics"]["best_epoch"], "rows": rows}
    print_summary(summary, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
