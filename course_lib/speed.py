"""Speed of the four decoders: train-step time, tokens per second, greedy decoding.

Used by ``benchmarks/attention_speed.py`` (command line) and chapter 5 (notebook).
Measured on synthetic batches of fixed shape, so every variant does the same work:

* ``baseline``        encoder–decoder without attention (chapter 2);
* ``bahdanau``        our Bahdanau decoder: keys ``W·h_j`` projected once per batch;
* ``bahdanau_naive``  the same model recomputing the keys at every decoder step;
* ``luong``           attention after the GRU (the GRU runs fused over all steps).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from .config import ModelConfig

VARIANTS = {  # name → (model kind, extra constructor arguments)
    "baseline": ("baseline", {}),
    "bahdanau": ("attention", {}),
    "bahdanau_naive": ("attention", {"naive": True}),
    "luong": ("luong", {}),
}


def parse_args(argv=None, description: str = "Attention speed benchmark"):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--source-length", type=int, default=10)
    parser.add_argument("--target-length", type=int, default=12)
    sizes = ModelConfig()  # the course's default model sizes
    parser.add_argument("--source-vocab", type=int, default=sizes.source_vocab)
    parser.add_argument("--target-vocab", type=int, default=sizes.target_vocab)
    parser.add_argument("--embedding-dim", type=int, default=sizes.embedding_dim)
    parser.add_argument("--units", type=int, default=sizes.units)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--decode-batch", type=int, default=64)
    parser.add_argument("--decode-length", type=int, default=20)
    parser.add_argument("--table", action="store_true", help="also print a readable table")
    return parser.parse_args(argv)


def synthetic_batch(args, rng):
    """Random ids with a few padded positions, like a bucketed batch of real sentences."""

    source = rng.integers(2, args.source_vocab, (args.batch, args.source_length))
    target = rng.integers(4, args.target_vocab, (args.batch, args.target_length + 1))
    for row in range(0, args.batch, 4):  # every 4th sentence is 2 tokens shorter
        source[row, -2:] = 0
        target[row, -2:] = 0
    return (source[:, :], target[:, :-1]), target[:, 1:]


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(args) -> dict:
    """Build the four models, then time them *interleaved*: one step of each in turn.

    Interleaving spreads slow phases of a busy or throttling machine over all variants
    alike, so the ratios stay meaningful even when absolute times drift.
    """
    import numpy as np
    import tensorflow as tf

    from course_lib import config, models, training
    from course_lib.decoding import greedy_decode

    (source, decoder_input), labels = synthetic_batch(args, np.random.default_rng(0))
    decode_source = source[: args.decode_batch]
    real_target_tokens = int((labels != 0).sum())
    gpus = tf.config.list_physical_devices("GPU")
    result = {"config": {
        "batch": args.batch, "source_length": args.source_length,
        "target_length": args.target_length, "source_vocab": args.source_vocab,
        "target_vocab": args.target_vocab, "embedding_dim": args.embedding_dim,
        "units": args.units, "steps": args.steps, "warmup": args.warmup,
        "decode_batch": args.decode_batch, "decode_length": args.decode_length,
        "device": (tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
                   if gpus else f"CPU ({os.cpu_count()} cores, {platform.machine()})"),
        "tensorflow": tf.__version__,
    }}

    built = {}
    for name, (kind, extra) in VARIANTS.items():
        config.seed_everything(0)
        model = models.build_model(kind, args.source_vocab, args.target_vocab,
                                   args.embedding_dim, args.units, **extra)
        training.compile_model(model)
        built[name] = model

    def train_step(model):
        return lambda: model.train_on_batch((source, decoder_input), labels)

    def decode(model):  # end_id=-1: never stops early, every variant does the same steps
        return lambda: greedy_decode(model, decode_source, start_id=2, end_id=-1,
                                     max_length=args.decode_length)

    for model in built.values():  # warm-up: tracing and first allocations are not timed
        for _ in range(args.warmup):
            train_step(model)()
        decode(model)()
    step_times = {name: [] for name in built}
    decode_times = {name: [] for name in built}
    for round_ in range(args.steps):
        for name, model in built.items():
            step_times[name].append(_timed(train_step(model)))
            if round_ < 3:
                decode_times[name].append(_timed(decode(model)))

    for name, model in built.items():
        step_ms = statistics.median(step_times[name]) * 1000
        result[name] = {
            "train_step_ms": round(step_ms, 2),
            "tokens_per_s": round(real_target_tokens / (step_ms / 1000), 1),
            "decode_sentences_per_s": round(len(decode_source)
                                            / statistics.median(decode_times[name]), 1),
            "parameters": int(model.count_params()),
        }
    base, ours, naive = (result[k]["train_step_ms"] for k in ("baseline", "bahdanau",
                                                                "bahdanau_naive"))
    result["ratios"] = {"bahdanau_over_baseline": round(ours / base, 3),
                        "naive_over_bahdanau": round(naive / ours, 3),
                        "luong_over_baseline": round(result["luong"]["train_step_ms"] / base, 3)}
    return result


def print_table(result: dict) -> None:
    print(f"\n{'variant':<16}{'step ms':>10}{'tokens/s':>12}{'decode sent/s':>15}{'params':>12}")
    for name in VARIANTS:
        r = result[name]
        print(f"{name:<16}{r['train_step_ms']:>10.1f}{r['tokens_per_s']:>12.0f}"
              f"{r['decode_sentences_per_s']:>15.1f}{r['parameters']:>12,}")
    print("ratios:", ", ".join(f"{k} = {v}" for k, v in result["ratios"].items()))
    print("device:", result["config"]["device"])
