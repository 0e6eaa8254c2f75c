"""How much does attention cost? Train-step and decoding speed of the five models.

Measures, in one run and on the same synthetic batch:

* ``baseline``        encoder–decoder without attention (chapter 2);
* ``bahdanau``        our Bahdanau decoder: keys ``U_a h_j`` projected once per batch;
* ``bahdanau_naive``  the same model recomputing the keys at every decoder step;
* ``transformer``     chapter 7's Transformer (width = units), decoding with its key/value cache;
* ``luong``           attention after the GRU (the GRU runs fused over all steps).

Prints one JSON line (``--table`` adds a readable table on stderr-free stdout):

    {"config": {...}, "baseline": {"train_step_ms": ..., "tokens_per_s": ...,
     "decode_sentences_per_s": ...}, "bahdanau": {...}, "bahdanau_naive": {...},
     "luong": {...}, "transformer": {...}, "ratios": {...}}

Usage::

    python benchmarks/attention_speed.py            # defaults: about a minute on 2 CPU cores
    python benchmarks/attention_speed.py --table --batch 128 --steps 20

Timings are medians over ``--steps`` train steps after ``--warmup`` untimed steps (the
first steps include tracing). Decoding runs greedy search for exactly ``--decode-length``
steps (no early stop, so every variant does the same work) on ``--decode-batch`` sentences.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from course_lib.notebook import import_tensorflow_quietly  # noqa: E402
from course_lib.speed import SpeedSettings, measure, print_table  # noqa: E402


def parse_args(argv=None) -> tuple[SpeedSettings, bool]:
    """Every field of SpeedSettings is a flag (``--target-vocab 16000``, ``--no-xla``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for field in dataclasses.fields(SpeedSettings):
        flag = "--" + field.name.replace("_", "-")
        if field.type in (bool, "bool"):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default)
        else:
            parser.add_argument(flag, type=int, default=field.default)
    parser.add_argument("--table", action="store_true", help="also print a readable table")
    args = vars(parser.parse_args(argv))
    table = args.pop("table")
    return SpeedSettings(**args), table


def main(argv=None) -> int:
    settings, table = parse_args(argv)
    import_tensorflow_quietly()
    result = measure(settings)
    print(json.dumps(result))
    if table:
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
