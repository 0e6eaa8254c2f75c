"""Checkpoint averaging, measured on validation sentences (never on the test split).

For one finished run folder that kept its last epochs' weights (``RUN/epochs/``,
written by ``python -m course_lib train`` since course_lib 0.6.9), compares the run's
best checkpoint (the model early stopping kept) with the mean of the weights of the
``k`` epochs that end at the best one, for every ``k`` of ``--windows``, and with the
mean of all kept epochs. Each candidate translates the same seeded random sample of
validation sources greedily; the table gives corpus BLEU (multi-reference), its 95 %
bootstrap interval and, for each average, the paired-bootstrap difference to the best
checkpoint (Koehn 2004). An average counts as better only when that interval lies
above zero.

Usage::

    python benchmarks/checkpoint_averaging.py RUN [--sample 800] [--windows 2 3 4]

Prints a table and one JSON line (``--json FILE`` also writes it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))

from choose_decoding import print_summary, validation_sample  # noqa: E402

from course_lib.notebook import import_tensorflow_quietly  # noqa: E402


def candidates(kept: dict, best_epoch: int, windows: list[int]) -> dict[str, list]:
    """``{name: [weights files]}``: windows of epochs ending at the best one, and all kept."""
    chosen = {}
    for k in windows:
        epochs = list(range(best_epoch - k + 1, best_epoch + 1))
        if all(epoch in kept for epoch in epochs):
            chosen[f"mean of epochs {epochs[0]}–{epochs[-1]}"] = [kept[e] for e in epochs]
    if len(kept) > 1:
        chosen[f"mean of all kept, epochs {min(kept)}–{max(kept)}"] = list(kept.values())
    return chosen


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--sample", type=int, default=800, help="validation sources (seeded)")
    parser.add_argument("--windows", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    import_tensorflow_quietly()
    from course_lib import significance
    from course_lib.evaluation import evaluate
    from course_lib.runs import kept_epoch_weights, load_run
    from course_lib.training import average_weights

    run = load_run(args.run)
    kept = kept_epoch_weights(run)
    best_epoch = run.metadata["final_metrics"]["best_epoch"]
    chosen = candidates(kept, best_epoch, args.windows)
    if not chosen:
        print(f"{args.run} kept the weights of epochs {sorted(kept) or 'none'}; no window "
              f"ending at the best epoch ({best_epoch}) is complete", file=sys.stderr)
        return 1
    pairs, rule = validation_sample(run, args.sample, args.seed)
    best_weights = run.model.get_weights()

    def score(name):
        table = evaluate(run.translator, pairs).table
        interval = significance.bootstrap_bleu(list(table.hypothesis), list(table.references))
        print(f"{name:38s} BLEU {interval.score:6.2f} ({interval.low:.2f}–{interval.high:.2f})",
              flush=True)
        return list(table.hypothesis), list(table.references), interval

    base, references, interval = score(f"best checkpoint (epoch {best_epoch})")
    rows = [{"candidate": f"best checkpoint (epoch {best_epoch})",
             "bleu": round(interval.score, 2), "ci": [round(interval.low, 2), round(interval.high, 2)]}]
    for name, paths in chosen.items():
        average_weights(run.model, paths)
        hypotheses, _, interval = score(name)
        difference = significance.paired_bootstrap(base, hypotheses, references).difference
        rows.append({"candidate": name, "bleu": round(interval.score, 2),
                     "ci": [round(interval.low, 2), round(interval.high, 2)],
                     "minus_best": {"difference": round(difference.score, 2),
                                    "ci": [round(difference.low, 2), round(difference.high, 2)]}})
        print(f"{'':38s} − best checkpoint {difference.score:+.2f} "
              f"({difference.low:+.2f} to {difference.high:+.2f})", flush=True)
    run.model.set_weights(best_weights)
    summary = {"run": str(args.run), "kind": run.metadata["kind"], "sample": rule,
               "best_epoch": best_epoch, "kept_epochs": sorted(kept), "rows": rows}
    print_summary(summary, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
