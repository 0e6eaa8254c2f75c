"""What does a bigger model cost per training token? The measurements behind ``config``.

Times the Bahdanau attention model's train step over a grid of target-vocabulary
sizes, hidden sizes, batch sizes and XLA on/off, on synthetic batches of one
fixed shape (``--source-length``/``--target-length`` tokens, like a typical
bucket of the corpus). The German softmax is the largest cost of a step, so the
target vocabulary is the dial that matters most; tokens per second (not step
time) is the figure to compare across batch sizes.

Prints one JSON line per configuration, then (``--table``) a readable table::

    python benchmarks/size_sweep.py --table
    python benchmarks/size_sweep.py --target-vocabs 8000 16000 --units 256 --batches 128

Medians over ``--steps`` train steps after ``--warmup`` untimed ones (the first
steps trace and, with XLA, compile). Epoch time is estimated from tokens/s and
the training split's real number of German target tokens (``--epoch-tokens``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from course_lib import config  # noqa: E402
from course_lib.notebook import import_tensorflow_quietly  # noqa: E402
from course_lib.speed import SpeedSettings, synthetic_batch  # noqa: E402

#: German target tokens (with ``[end]``) in the course's training split: 148,907 pairs (measured).
TRAIN_SPLIT_TARGET_TOKENS = 1_290_072


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", default="attention")
    parser.add_argument("--target-vocabs", type=int, nargs="+", default=[8000, 16000])
    parser.add_argument("--source-vocab", type=int, default=None,
                        help="default: three quarters of the target vocabulary")
    parser.add_argument("--units", type=int, nargs="+", default=[160, 256])
    parser.add_argument("--embedding-dim", type=int, default=128)
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--xla", type=int, nargs="+", default=[0, 1], choices=[0, 1])
    parser.add_argument("--dropouts", type=float, nargs="+", default=[None],
                        help="dropout rates to time (default: config.ModelConfig's)")
    parser.add_argument("--source-length", type=int, default=10)
    parser.add_argument("--target-length", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--epoch-tokens", type=int, default=TRAIN_SPLIT_TARGET_TOKENS)
    parser.add_argument("--table", action="store_true")
    return parser.parse_args(argv)


def time_one(kind, target_vocab, source_vocab, units, embedding_dim, batch, xla, dropout, args):
    import numpy as np

    from course_lib import config, models, training

    settings = SpeedSettings(batch=batch, source_length=args.source_length,
                             target_length=args.target_length, source_vocab=source_vocab,
                             target_vocab=target_vocab)
    inputs, labels = synthetic_batch(settings, np.random.default_rng(0))
    dropout = config.ModelConfig().dropout if dropout is None else dropout
    config.seed_everything(0)
    model = models.build_model(kind, source_vocab, target_vocab, embedding_dim, units, dropout)
    training.compile_model(model, jit_compile=bool(xla))
    start = time.perf_counter()
    for _ in range(args.warmup):
        model.train_on_batch(inputs, labels)
    warmup_s = time.perf_counter() - start
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        model.train_on_batch(inputs, labels)
        times.append(time.perf_counter() - start)
    step_s = statistics.median(times)
    tokens = int((labels != 0).sum())
    return {"kind": kind, "target_vocab": target_vocab, "source_vocab": source_vocab,
            "units": units, "embedding_dim": embedding_dim, "batch": batch, "xla": bool(xla),
            "dropout": dropout,
            "train_step_ms": round(step_s * 1000, 1),
            "tokens_per_s": round(tokens / step_s),
            "warmup_s": round(warmup_s, 1),
            "epoch_min_estimate": round(args.epoch_tokens / (tokens / step_s) / 60, 1),
            "parameters": int(model.count_params())}


def main(argv=None) -> int:
    args = parse_args(argv)
    import_tensorflow_quietly()
    import tensorflow as tf

    device = config.device_description()
    rows = []
    for target_vocab in args.target_vocabs:
        source_vocab = args.source_vocab or target_vocab * 3 // 4
        for units in args.units:
            for batch in args.batches:
                for dropout in args.dropouts:
                    for xla in args.xla:
                        row = time_one(args.kind, target_vocab, source_vocab, units,
                                       args.embedding_dim, batch, xla, dropout, args)
                        row.update(device=device, tensorflow=tf.__version__)
                        print(json.dumps(row), flush=True)
                        rows.append(row)
    if args.table:
        print(f"\n{'tgt vocab':>9}{'units':>6}{'batch':>6}{'dropout':>8}{'XLA':>5}{'step ms':>9}"
              f"{'tokens/s':>10}{'epoch min':>10}{'params':>12}")
        for r in rows:
            print(f"{r['target_vocab']:>9}{r['units']:>6}{r['batch']:>6}{r['dropout']:>8}"
                  f"{'on' if r['xla'] else 'off':>5}"
                  f"{r['train_step_ms']:>9.1f}{r['tokens_per_s']:>10}{r['epoch_min_estimate']:>10}"
                  f"{r['parameters']:>12,}")
        print("device:", device, "· tensorflow", tf.__version__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
