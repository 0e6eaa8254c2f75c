"""Speed of the five model variants: train-step time, tokens per second, greedy decoding.

Used by ``benchmarks/attention_speed.py`` (command line) and chapter 5 (notebook).
Measured on synthetic batches of fixed shape, so every variant does the same work:

* ``baseline``        encoder–decoder without attention (chapter 2);
* ``bahdanau``        our Bahdanau decoder: keys ``U_a·h_j`` projected once per batch;
* ``bahdanau_naive``  the same model recomputing the keys at every decoder step;
* ``luong``           attention after the GRU (the GRU runs fused over all steps);
* ``transformer``     chapter 7's encoder–decoder, same width, with a key/value cache.
"""

from __future__ import annotations

import dataclasses
import statistics
import time

from .config import ModelConfig

VARIANTS = {  # name → model kind
    "baseline": "baseline",
    "bahdanau": "attention",
    "bahdanau_naive": "attention_naive",
    "luong": "luong",
    "transformer": "transformer",   # chapter 7: same width (units), 4 heads, 2 + 2 layers
}


@dataclasses.dataclass(frozen=True)
class SpeedSettings:
    """What the benchmark measures: batch shape, model sizes, repetitions."""

    batch: int = 64
    source_length: int = 10
    target_length: int = 12
    source_vocab: int = ModelConfig.source_vocab
    target_vocab: int = ModelConfig.target_vocab
    embedding_dim: int = ModelConfig.embedding_dim
    units: int = ModelConfig.units
    warmup: int = 3
    steps: int = 15
    decode_batch: int = 64
    decode_length: int = 20
    xla: bool = True          # also time every variant compiled with XLA (jit_compile=True)


def synthetic_batch(settings: SpeedSettings, rng):
    """Random ids with a few padded positions, like a bucketed batch of real sentences."""

    source = rng.integers(2, settings.source_vocab, (settings.batch, settings.source_length))
    target = rng.integers(4, settings.target_vocab, (settings.batch, settings.target_length + 1))
    for row in range(0, settings.batch, 4):  # every 4th sentence is 2 tokens shorter
        source[row, -2:] = 0
        target[row, -2:] = 0
    return (source[:, :], target[:, :-1]), target[:, 1:]


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _build_variants(settings: SpeedSettings) -> dict:
    """Every variant (and its XLA twin with ``settings.xla``), seeded alike and compiled."""
    from course_lib import config, models, training

    built = {}
    for name, kind in VARIANTS.items():
        for xla in (False, True) if settings.xla else (False,):
            config.seed_everything(0)
            model = models.build_model(kind, settings.source_vocab, settings.target_vocab,
                                       settings.embedding_dim, settings.units)
            training.compile_model(model, jit_compile=xla)
            built[name, xla] = model
    return built


def _time_interleaved(built: dict, settings: SpeedSettings, batch) -> tuple[dict, dict]:
    """Seconds per train step (every model) and per greedy decode (no XLA), one of each in turn."""
    from course_lib.decoding import greedy_decode

    (source, decoder_input), labels = batch
    decode_source = source[: settings.decode_batch]

    def train_step(model):
        return lambda: model.train_on_batch((source, decoder_input), labels)

    def decode(model):  # end_id=-1: never stops early, every variant does the same steps
        return lambda: greedy_decode(model, decode_source, start_id=2, end_id=-1,
                                     max_length=settings.decode_length)

    for (_, xla), model in built.items():  # warm-up: tracing and compiling are not timed
        for _ in range(settings.warmup):
            train_step(model)()
        if not xla:
            decode(model)()
    step_times = {key: [] for key in built}
    decode_times = {name: [] for name, xla in built if not xla}
    for round_ in range(settings.steps):
        for (name, xla), model in built.items():
            step_times[name, xla].append(_timed(train_step(model)))
            if round_ < 3 and not xla:
                decode_times[name].append(_timed(decode(model)))
    return step_times, decode_times


def _ratios(result: dict, xla: bool) -> dict:
    base, ours, naive = (result[k]["train_step_ms"] for k in ("baseline", "bahdanau",
                                                                "bahdanau_naive"))
    ratios = {"bahdanau_over_baseline": round(ours / base, 3),
              "naive_over_bahdanau": round(naive / ours, 3),
              "luong_over_baseline": round(result["luong"]["train_step_ms"] / base, 3),
              "transformer_over_bahdanau": round(result["transformer"]["train_step_ms"] / ours, 3)}
    if xla:
        ratios["xla_over_plain"] = {
            name: round(result[name]["xla"]["train_step_ms"] / result[name]["train_step_ms"], 3)
            for name in VARIANTS}
    return ratios


def measure(settings: SpeedSettings | None = None) -> dict:
    """Build the models, then time them *interleaved*: one step of each in turn.

    Interleaving spreads slow phases of a busy or throttling machine over all variants
    alike, so the ratios stay meaningful even when absolute times drift. With
    ``settings.xla`` every variant is timed twice, without and with XLA
    (``jit_compile=True``), from the same initial weights.
    """
    import numpy as np
    import tensorflow as tf

    from course_lib import config

    settings = settings or SpeedSettings()
    batch = synthetic_batch(settings, np.random.default_rng(0))
    real_target_tokens = int((batch[1] != 0).sum())
    built = _build_variants(settings)
    step_times, decode_times = _time_interleaved(built, settings, batch)

    def speed(key):
        step_ms = statistics.median(step_times[key]) * 1000
        return {"train_step_ms": round(step_ms, 2),
                "tokens_per_s": round(real_target_tokens / (step_ms / 1000), 1)}

    result = {"config": {**dataclasses.asdict(settings), "device": config.device_description(),
                         "tensorflow": tf.__version__}}
    decoded = min(settings.decode_batch, len(batch[0][0]))
    for name in VARIANTS:
        result[name] = {
            **speed((name, False)),
            "decode_sentences_per_s": round(decoded / statistics.median(decode_times[name]), 1),
            "parameters": int(built[name, False].count_params()),
        }
        if settings.xla:
            result[name]["xla"] = speed((name, True))
    result["ratios"] = _ratios(result, settings.xla)
    return result


def print_table(result: dict) -> None:
    xla = "xla" in result["baseline"]
    print(f"\n{'variant':<16}{'step ms':>10}{'tokens/s':>12}{'decode sent/s':>15}{'params':>12}"
          + (f"{'XLA step ms':>13}{'XLA/plain':>11}" if xla else ""))
    for name in VARIANTS:
        r = result[name]
        line = (f"{name:<16}{r['train_step_ms']:>10.1f}{r['tokens_per_s']:>12.0f}"
                f"{r['decode_sentences_per_s']:>15.1f}{r['parameters']:>12,}")
        if xla:
            line += (f"{r['xla']['train_step_ms']:>13.1f}"
                     f"{result['ratios']['xla_over_plain'][name]:>11.3f}")
        print(line)
    print("ratios:", ", ".join(f"{k} = {v}" for k, v in result["ratios"].items()
                               if not isinstance(v, dict)))
    print("device:", result["config"]["device"])
