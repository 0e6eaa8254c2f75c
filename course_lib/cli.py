"""``python -m course_lib``: the course without a notebook.

    python -m course_lib data                      corpus summary (JSON)
    python -m course_lib train --model attention --out runs/attention
    python -m course_lib evaluate runs/attention --pairs test.tsv
    python -m course_lib translate runs/attention "I am hungry." --heatmap hm.png
    python -m course_lib bleu --hyp hyp.txt --ref ref1.txt --ref ref2.txt
    python -m course_lib demo                      the README's end-to-end run

Expected mistakes (a missing folder, a malformed file, an empty sentence, a size of 0,
an output path that cannot be written…) end with a one-line message and exit code 2,
not a traceback, and are found before any work starts; Ctrl-C ends with exit code 130.
Unexpected errors keep their traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import signal
import sys
import time
from pathlib import Path

from .config import MAIN_KINDS, PROFILES
from .notebook import import_tensorflow_quietly


class CliError(Exception):
    """An expected user mistake: printed as one line, exit code 2."""


def _print_json(payload: dict) -> None:
    print(json.dumps(payload, indent=1, ensure_ascii=False, default=float))


# --------------------------------------------------------------------------- commands


def cmd_data(args) -> None:
    from .data import prepare_data
    from .files import check_output_folder, write_text_atomically

    if args.export:
        check_output_folder(args.export, "export folder")
    data = prepare_data(args.source, verbose=False)
    summary = data.summary()
    if args.export:
        folder = Path(args.export)
        folder.mkdir(parents=True, exist_ok=True)
        for name, pairs in (("train", data.train), ("val", data.val), ("test", data.test)):
            write_text_atomically(folder / f"{name}.tsv",
                                  "".join(f"{en}\t{de}\n" for en, de in pairs))
        summary["exported"] = str(folder)
    _print_json(summary)


def stop_training(signum, frame) -> None:
    """Signal handler: turn SIGTERM (``kill``, a stopped job) and SIGHUP (the terminal was
    closed) into the Ctrl-C path, so that the run is marked ``interrupted`` and can be resumed."""
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def _stop_cleanly_on_signals() -> None:
    signal.signal(signal.SIGTERM, stop_training)
    if hasattr(signal, "SIGHUP"):  # not on Windows
        signal.signal(signal.SIGHUP, stop_training)
    # A job started in the background (``nohup … &``) inherits SIGINT as ignored:
    # restore Python's Ctrl-C behaviour so that ``kill -INT`` stops it cleanly too.
    signal.signal(signal.SIGINT, signal.default_int_handler)


#: ``train`` options and the settings they set (for messages that name the option).
TRAIN_OPTIONS = {"epochs": "--epochs", "max_train_pairs": "--max-pairs", "units": "--units",
                 "embedding_dim": "--embedding-dim", "source_vocab": "--source-vocab",
                 "target_vocab": "--target-vocab", "batch_size": "--batch-size",
                 "jit_compile": "--xla", "subword_merges": "--subword-merges",
                 "dropout": "--dropout", "label_smoothing": "--label-smoothing",
                 "readout": "--readout", "warmup_steps": "--warmup-steps",
                 "kind": "--model", "profile": "--profile"}


def _train_settings(args):
    """The run's settings: the profile's plus the options, or (``--resume``) the run's own."""
    from .runs import RunSettings, SettingsMismatch, settings_to_resume

    profile = "quick" if args.quick else args.profile
    given = {"epochs": args.epochs, "max_train_pairs": args.max_pairs, "units": args.units,
             "embedding_dim": args.embedding_dim, "source_vocab": args.source_vocab,
             "target_vocab": args.target_vocab, "batch_size": args.batch_size,
             "jit_compile": args.xla, "subword_merges": args.subword_merges,
             "dropout": args.dropout, "label_smoothing": args.label_smoothing,
             "readout": args.readout, "warmup_steps": args.warmup_steps}
    given = {key: value for key, value in given.items() if value is not None}
    if args.resume:
        try:
            return settings_to_resume(args.out, kind=args.model, profile=profile, **given)
        except SettingsMismatch as mismatch:
            listed = ", ".join(f"{TRAIN_OPTIONS.get(name, name)} {given_value} (the run has "
                               f"{stored})" for name, (given_value, stored)
                               in mismatch.differences.items())
            raise CliError(f"the run in {args.out} was started with other settings: {listed}. "
                           f"Resume it without these options (`{resume_command(args.out)}` keeps "
                           "its own), or train anew without --resume") from None
    if args.model is None:
        raise CliError("--model is required (it may be left out only with --resume)")
    settings = RunSettings.for_profile(args.model, profile)
    return dataclasses.replace(settings, **given) if given else settings


def resume_command(folder) -> str:
    from .runs import resume_command as command

    return command(folder)


def cmd_train(args) -> int:
    from .data import prepare_data
    from .files import check_output_folder
    from .runs import train_run

    _stop_cleanly_on_signals()
    settings = _train_settings(args)        # every option checked before any work
    check_output_folder(args.out, "run folder")
    data = prepare_data(args.source, verbose=False)
    run = train_run(data, settings, args.out, verbose=1 if sys.stdout.isatty() else 2,
                    resume=args.resume)
    md = run.metadata
    _print_json({"out": str(args.out), "kind": md["kind"], "status": md["status"],
                 "stopped_by": md["stopped_by"], "profile": settings.profile,
                 "parameters": md["parameters"], "train_seconds": md["train_seconds"],
                 "epochs_run": md["epochs_run"], "final_metrics": md["final_metrics"],
                 "hardware": md["hardware"]})
    if md["status"] != "complete":
        print(f"error: training was interrupted; continue it with `{resume_command(args.out)}`",
              file=sys.stderr)
        return 130
    return 0


def cmd_evaluate(args) -> None:
    from .evaluation import evaluate, read_pairs_file
    from .files import check_output_file
    from .runs import load_run

    if args.out:
        check_output_file(args.out, "translations file")
    pairs = read_pairs_file(args.pairs)
    run = load_run(args.run)
    _check_replace_unknown(args, run)
    result = evaluate(run.translator, pairs, beam_width=args.beam, out=args.out,
                      replace_unknown=args.replace_unknown, length_penalty=args.length_penalty)
    payload = result.to_json()
    if args.out:
        payload["translations"] = str(args.out)
    _print_json(payload)


def cmd_compare(args) -> None:
    """Runs on the same pairs: BLEU with CIs, by length, and Koehn's paired bootstrap of B − A.

    With more than two runs, every pair is compared (``differences``); ``b_minus_a`` is
    always the second run against the first.
    """
    from .evaluation import evaluate, read_pairs_file
    from .runs import load_run

    pairs = read_pairs_file(args.pairs)
    names = [args.run_a, args.run_b, *args.more]
    if len(set(map(str, names))) < len(names):
        raise CliError("compare needs different run folders; one was given twice")
    runs = [load_run(name) for name in names]   # every folder checked before any translating
    results = {}
    for name, run in zip(names, runs, strict=True):
        result = evaluate(run.translator, pairs, beam_width=args.beam,
                          length_penalty=args.length_penalty)
        results[str(name)] = (run, result)
    summary = {name: {"kind": run.metadata["kind"], "epochs_run": run.metadata["epochs_run"],
                      "best_epoch": run.metadata.get("final_metrics", {}).get("best_epoch"),
                      "train_seconds": run.metadata["train_seconds"],
                      "parameters": run.metadata["parameters"],
                      **{k: result.scores[k] for k in ("bleu", "bleu_low", "bleu_high", "chrf",
                                                       "exact_match", "unk_rate", "sentences")},
                      "by_length": result.by_length.to_dict(orient="records")}
               for name, (run, result) in results.items()}
    evaluated = [result for _, result in results.values()]
    summary["b_minus_a"] = _paired_difference(evaluated[0], evaluated[1])
    if args.more:
        summary["differences"] = [
            {"a": str(names[i]), "b": str(names[j]),
             **_paired_difference(evaluated[i], evaluated[j])}
            for i in range(len(names)) for j in range(i + 1, len(names))]
    _print_json(summary)


def cmd_translate(args) -> None:
    from .files import check_output_file
    from .runs import load_run

    if args.heatmap:
        check_output_file(args.heatmap, "heatmap file")
    run = load_run(args.run)
    _check_replace_unknown(args, run)
    if args.heatmap and not run.model.has_attention:
        raise CliError(f"--heatmap needs an attention model; {args.run} is a "
                       f"{run.metadata['kind']} model")
    translations = run.translator.translate(args.sentences, beam_width=args.beam,
                                            replace_unknown=args.replace_unknown)
    for index, tr in enumerate(translations):
        print(tr.text)
        if tr.unknown_words:
            print(f"  (unknown words: {', '.join(tr.unknown_words)})")
        if args.heatmap:
            path = _numbered(Path(args.heatmap), index, len(translations))
            _save_heatmap(tr, path)
            print(f"  heatmap: {path}")


def cmd_export(args) -> None:
    from .export import export_run

    out = export_run(args.run, args.out)
    print(f"exported {args.run} to {out}: load it with TensorFlow alone,\n"
          f"  tf.saved_model.load({str(out)!r}).translate(tf.constant([\"I am hungry.\"]))")


def cmd_bleu(args) -> None:
    from . import metrics

    hypotheses = _read_lines(args.hyp)
    streams = [_read_lines(path) for path in args.ref]
    if not hypotheses:
        raise CliError(f"{args.hyp} holds no sentences: nothing to score")
    for path, stream in zip(args.ref, streams):
        if len(stream) != len(hypotheses):
            raise CliError(f"{path} has {len(stream)} lines but {args.hyp} has "
                           f"{len(hypotheses)}: reference files must be parallel to the hypotheses")
    references = [list(refs) for refs in zip(*streams)]
    stats = metrics.corpus_bleu(hypotheses, references, lowercase=args.lowercase,
                                return_stats=True)
    _print_json({"bleu": stats.score, "precisions": list(stats.precisions),
                 "brevity_penalty": stats.bp, "hyp_len": stats.hyp_len, "ref_len": stats.ref_len,
                 "sentences": len(hypotheses), "references": len(streams)})


def cmd_demo(args) -> None:
    from .data import prepare_data
    from .evaluation import evaluate
    from .files import check_output_folder
    from .runs import RunSettings, select_pairs, train_run

    out = check_output_folder(args.out, "demo folder")
    start = time.perf_counter()
    print("1/4 Preparing the data …")
    data = prepare_data(args.source)
    print(f"    {data.stats['pairs']:,} pairs; train/val/test "
          f"{len(data.train):,}/{len(data.val):,}/{len(data.test):,}")
    runs = {}
    limit = DEMO_SETTINGS["max_source_length"]
    for step, kind in ((2, "baseline"), (3, "attention")):
        settings = RunSettings(kind=kind, **DEMO_SETTINGS)
        print(f"{step}/4 Training the {kind} model until early stopping (at most "
              f"{settings.epochs} epochs) on {settings.max_train_pairs:,} random training pairs "
              f"with ≤ {limit} English tokens, {settings.units} units …")
        runs[kind] = train_run(data, settings, out / kind, verbose=2)
    test = select_pairs(data.test, max_source_length=limit)
    print(f"4/4 Evaluating on the {len(test):,} test pairs with ≤ {limit} English tokens "
          "(free-running greedy decoding, all references, lowercased) …")
    rows, results = [], {}
    for kind, run in runs.items():
        results[kind] = result = evaluate(run.translator, test,
                                          out=out / f"{kind}_test_translations.tsv")
        rows.append({"model": kind, **{k: result.scores[k] for k in ("bleu", "bleu_low", "bleu_high",
                                                                       "chrf", "exact_match")},
                     "epochs": run.metadata["epochs_run"], "stopped_by": run.metadata["stopped_by"],
                     "train_s": run.metadata["train_seconds"],
                     "parameters": run.metadata["parameters"]})
    _print_table(rows)
    difference = _paired_difference(results["baseline"], results["attention"])
    print(f"\nattention − baseline: {difference['bleu']:+.2f} BLEU (95 % CI {difference['low']:+.2f} "
          f"to {difference['high']:+.2f}; Koehn's paired bootstrap, {difference['samples']:,} "
          f"resamples of the {difference['sentences']:,} test sources)")
    example = "Tom is my friend."  # 5 tokens: inside the demo's length limit
    tr = runs["attention"].translator.translate([example])[0]
    heatmap = _save_heatmap(tr, out / "attention_heatmap.png")
    print(f"\n{example!r} → {tr.text!r}")
    print(f"Heatmap:      {heatmap}")
    print(f"Models:       {out / 'baseline'}, {out / 'attention'}")
    print(f"Translations: {out}/*_test_translations.tsv")
    print(f"Total time:   {time.perf_counter() - start:.0f} s")
    (out / "demo_results.json").write_text(
        json.dumps({"models": rows, "attention_minus_baseline": difference}, indent=1),
        encoding="utf-8")


def _paired_difference(a, b) -> dict:
    """B − A in BLEU with Koehn's (2004) paired bootstrap, as a JSON-ready dict."""
    from .significance import paired_bootstrap

    if list(a.table["source"]) != list(b.table["source"]):
        raise CliError("the two runs normalise the sources differently; compare runs of one course version")
    paired = paired_bootstrap(list(a.table["hypothesis"]), list(b.table["hypothesis"]),
                              list(a.table["references"]))
    return {"bleu": paired.difference.score, "low": paired.difference.low,
            "high": paired.difference.high, "p_value": paired.p_value,
            "samples": paired.difference.samples, "sentences": len(a.table)}


#: The demo's embedded default: short sentences and small models, both trained until early
#: stopping on the validation loss (the course's rule), a few minutes on 2 CPU cores.
#: No dropout and no label smoothing: on these short sentences both models stop early
#: within minutes (the chapters' models, longer-trained, use both). Batch 128 with XLA:
#: 56 ms a step against 78 ms without; with dropout 0.2, XLA would cost 110 ms against
#: 76 ms (benchmarks/size_sweep.py --target-vocabs 5000 --source-vocab 4000 --embedding-dim
#: 64 --units 128 --batches 128 --dropouts 0 0.2 --source-length 6 --target-length 8).
DEMO_SETTINGS = dict(source_vocab=4000, target_vocab=5000, embedding_dim=64, units=128,
                     epochs=12, max_train_pairs=30000, max_source_length=6, batch_size=128,
                     learning_rate=2e-3, patience=1, dropout=0.0, label_smoothing=0.0,
                     jit_compile=True)


# --------------------------------------------------------------------------- helpers


def _read_lines(path) -> list[str]:
    from .files import read_text_lines

    try:
        return read_text_lines(path)  # UTF-8; a byte-order mark is not part of the text
    except (FileNotFoundError, ValueError) as error:
        raise CliError(str(error)) from None


def _check_replace_unknown(args, run) -> None:
    if args.replace_unknown and not run.model.has_attention:
        raise CliError(f"--replace-unknown needs an attention model (it aligns [UNK] by "
                       f"attention); {args.run} is a {run.metadata['kind']} model")


def _numbered(path: Path, index: int, count: int) -> Path:
    return path if count == 1 else path.with_name(f"{path.stem}-{index + 1}{path.suffix}")


def _save_heatmap(translation, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plotting import attention_heatmap

    fig = attention_heatmap(translation.weights, translation.source_tokens, translation.tokens,
                            title=f"{translation.source} → {translation.text}", path=path)
    plt.close(fig)
    return path


def _print_table(rows: list[dict]) -> None:
    print(f"\n{'model':<10} {'BLEU':>6} {'95 % CI':>13} {'chrF':>6} {'exact':>6} {'epochs':>7} "
          f"{'stopped by':>15} {'train s':>8} {'params':>10}")
    for r in rows:
        interval = f"{r['bleu_low']:.2f}–{r['bleu_high']:.2f}"
        print(f"{r['model']:<10} {r['bleu']:6.2f} {interval:>13} {r['chrf']:6.2f} "
              f"{r['exact_match']:6.1%} {r['epochs']:7d} {r['stopped_by']:>15} {r['train_s']:8.0f} "
              f"{r['parameters']:10,}")
    print("BLEU: greedy decoding, all references; 95 % CI from 1,000 bootstrap resamples "
          "of the test sentences (Koehn 2004).")


# --------------------------------------------------------------------------- parser

def whole_number(minimum: int):
    """An argparse type: a whole number ≥ ``minimum`` (0 or -1 are refused, not defaulted)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = f"whole number ≥ {minimum}"
    return parse


positive = whole_number(1)


def fraction(text: str) -> float:
    """An argparse type: a number from 0 up to (not including) 1 (a rate, a smoothing ε)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be from 0 up to (not including) 1, got {value}")
    return value


fraction.__name__ = "number in [0, 1)"


def penalty(text: str) -> float:
    """An argparse type: a beam-search length penalty α from 0 to 5."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value <= 5:
        raise argparse.ArgumentTypeError(f"must be from 0 to 5, got {value}")
    return value

#: The readout nonlinearities (``course_lib.models.base.READOUTS``; no TensorFlow import here).
READOUTS = ("maxout", "tanh")


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (and exit code 2) like the course's own."""

    def error(self, message):
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


REPLACE_HELP = ("replace each generated [UNK] by the most-attended source word "
                "(Luong et al. 2015; attention models only)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m course_lib", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    source_help = "corpus zip or deu.txt (default: $COURSE_DATA, the cache, or a download)"

    p = sub.add_parser("data", help="locate/download the corpus and print a JSON summary")
    p.add_argument("--source", help=source_help)
    p.add_argument("--export", metavar="DIR",
                   help="also write the cleaned splits as DIR/{train,val,test}.tsv")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("train", help="train a model and save it to a run folder")
    p.add_argument("--model", choices=list(MAIN_KINDS),
                   help="the model kind (required, except with --resume)")
    p.add_argument("--out", required=True, type=Path,
                   help="run folder to write; a finished run there is replaced only once the "
                        "new one has finished")
    p.add_argument("--profile", choices=list(PROFILES),
                   help="training profile (default: $COURSE_PROFILE, else gpu/cpu by hardware)")
    p.add_argument("--resume", action="store_true",
                   help="continue the unfinished run in --out from its last completed epoch, "
                        "with the settings it was started with")
    p.add_argument("--epochs", type=positive, help="upper bound; early stopping usually ends sooner")
    p.add_argument("--max-pairs", type=positive,
                   help="train on a seeded random sample of N training pairs")
    p.add_argument("--xla", action=argparse.BooleanOptionalAction, default=None,
                   help="compile the training step with XLA (default: the profile's setting)")
    p.add_argument("--units", type=positive)
    p.add_argument("--embedding-dim", type=positive)
    p.add_argument("--source-vocab", type=whole_number(5))
    p.add_argument("--target-vocab", type=whole_number(5))
    p.add_argument("--subword-merges", type=positive,
                   help="use byte-pair-encoding subwords with N merges per language "
                        "(Sennrich et al. 2016) instead of whole words")
    p.add_argument("--batch-size", type=positive)
    p.add_argument("--dropout", type=fraction, help="dropout rate (default: the profile's)")
    p.add_argument("--label-smoothing", type=fraction, metavar="EPSILON",
                   help="label smoothing ε (default: the profile's)")
    p.add_argument("--readout", choices=list(READOUTS),
                   help="the recurrent decoders' readout nonlinearity (default: maxout, as Bahdanau et al.)")
    p.add_argument("--warmup-steps", type=whole_number(0), metavar="N",
                   help="raise the learning rate linearly over the first N steps (default 0)")
    p.add_argument("--quick", action="store_true", help="same as --profile quick")
    p.add_argument("--source", help=source_help)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="BLEU/chrF/exact match of a run on a pairs file")
    p.add_argument("run", type=Path, help="run folder written by `train`")
    p.add_argument("--pairs", required=True, help="english<TAB>german lines; repeats = references")
    p.add_argument("--beam", type=positive, default=1, help="beam width (1 = greedy)")
    p.add_argument("--length-penalty", type=penalty, default=1.0, metavar="ALPHA",
                   help="beam search ranks by log_prob / length**ALPHA (default 1)")
    p.add_argument("--out", type=Path, help="write the translations to this TSV")
    p.add_argument("--replace-unknown", action="store_true", help=REPLACE_HELP)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("compare", help="two or more runs on one pairs file: BLEU with CIs and "
                                       "the paired bootstrap of each difference (Koehn 2004)")
    p.add_argument("run_a", type=Path, help="the first run folder (the reference system)")
    p.add_argument("run_b", type=Path, help="the second run folder")
    p.add_argument("more", type=Path, nargs="*", help="more run folders (every pair is compared)")
    p.add_argument("--pairs", required=True, help="english<TAB>german lines; repeats = references")
    p.add_argument("--beam", type=positive, default=1, help="beam width (1 = greedy)")
    p.add_argument("--length-penalty", type=penalty, default=1.0, metavar="ALPHA",
                   help="beam search ranks by log_prob / length**ALPHA (default 1)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("translate", help="translate sentences with a trained run")
    p.add_argument("run", type=Path)
    p.add_argument("sentences", nargs="+")
    p.add_argument("--beam", type=positive, default=1, help="beam width (1 = greedy)")
    p.add_argument("--heatmap", type=Path, help="PNG path for the attention heatmap(s)")
    p.add_argument("--replace-unknown", action="store_true", help=REPLACE_HELP)
    p.set_defaults(func=cmd_translate)

    p = sub.add_parser("export", help="write a run as a TensorFlow SavedModel with a "
                                      "string → string `translate` function (no course_lib needed)")
    p.add_argument("run", type=Path)
    p.add_argument("out", type=Path, help="a new (or empty) folder for the SavedModel")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("bleu", help="the course's BLEU on files (one sentence per line)")
    p.add_argument("--hyp", required=True)
    p.add_argument("--ref", required=True, action="append", help="repeat for more references")
    p.add_argument("--lowercase", action="store_true")
    p.set_defaults(func=cmd_bleu)

    p = sub.add_parser("demo", help="end to end: data, two short trainings, BLEU table, heatmap")
    p.add_argument("--out", default="demo_output", help="folder for models and outputs")
    p.add_argument("--source", help=source_help)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        import_tensorflow_quietly()
        return _run(args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def _run(args) -> int:
    from .config import ConfigError
    from .corpus import CorpusError
    from .decoding import TranslationInputError
    from .evaluation import PairsFileError
    from .files import OutputPathError
    from .runs import RunError

    expected = (CliError, ConfigError, CorpusError, RunError, PairsFileError,
                TranslationInputError, OutputPathError)
    try:
        code = args.func(args)
    except expected as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        if error.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES):
            raise
        print(f"error: could not write {error.filename or 'a file'}: {error.strerror}",
              file=sys.stderr)
        return 2
    return code or 0
