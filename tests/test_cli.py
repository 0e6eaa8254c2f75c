"""End-to-end tests of ``python -m course_lib`` on a tiny made-up corpus (seconds, CPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_cli

from course_lib.cli import main
from course_lib.runs import FORMAT_VERSION, kept_epoch_weights, load_run

#: End to end through the command line, on the library code the unit tests cover: run once
#: per CI run (README command 2), not again under Colab's or the lowest versions.
pytestmark = pytest.mark.once

TINY = ["--units", "16", "--embedding-dim", "8", "--source-vocab", "60", "--target-vocab", "60",
        "--epochs", "2", "--batch-size", "32"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_corpus):
    """Train a tiny model of each main kind once for the whole module."""
    folders = {}
    for kind in ("baseline", "attention", "transformer"):
        folder = tmp_path_factory.mktemp("runs") / kind
        assert main(["train", "--model", kind, "--out", str(folder), "--source",
                     str(tiny_corpus), *TINY]) == 0
        folders[kind] = folder
    return folders


def test_help_on_every_command():
    for command in ([], ["data"], ["train"], ["evaluate"], ["compare"], ["translate"], ["bleu"],
                    ["demo"]):
        result = subprocess.run([sys.executable, "-m", "course_lib", *command, "--help"],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "usage: python -m course_lib" in result.stdout


def test_data_prints_json_summary(capsys, tiny_corpus):
    code, out, _ = run_cli(capsys, "data", "--source", tiny_corpus)
    summary = json.loads(out)
    assert code == 0
    assert summary["pairs_read"] == len(tiny_corpus.read_text(encoding="utf-8").splitlines())
    assert set(summary["splits"]) == {"train", "val", "test"}
    assert len(summary["sha256"]) == 64


def test_train_writes_a_complete_run_folder(trained):
    for kind, folder in trained.items():
        names = {p.name for p in folder.iterdir()}
        assert {"model.keras", "source_vocab.json", "target_vocab.json", "run.json"} <= names
        meta = json.loads((folder / "run.json").read_text())
        assert meta["kind"] == kind
        assert meta["format_version"] == FORMAT_VERSION
        assert meta["epochs_run"] == 2 and "val_loss" in meta["final_metrics"]
        assert meta["versions"]["tensorflow"] and len(meta["data_sha256"]) == 64
        # The last epochs' weights travel with the run, each listed with its checksum.
        assert sorted(meta["epoch_weights"]) == ["epoch-001.weights.h5", "epoch-002.weights.h5"]
        assert list(kept_epoch_weights(load_run(folder))) == [1, 2]


def test_epoch_weights_are_verified_and_follow_their_run(trained, tmp_path):
    """A damaged epoch file is never averaged; a run without epoch weights drops an older run's."""
    import shutil

    from course_lib import runs, training

    folder = tmp_path / "copy"
    shutil.copytree(trained["attention"], folder)
    (folder / training.EPOCH_WEIGHTS / "epoch-001.weights.h5").write_bytes(b"damaged")
    assert list(kept_epoch_weights(load_run(folder))) == [2]
    # A finished run from before epoch weights were kept, published over this folder:
    staging = folder / runs.UNFINISHED
    staging.mkdir()
    meta = json.loads((folder / "run.json").read_text())
    del meta["epoch_weights"]
    (staging / "run.json").write_text(json.dumps(meta))
    runs._publish(folder)
    assert not (folder / training.EPOCH_WEIGHTS).exists()
    assert kept_epoch_weights(load_run(folder)) == {}


def load_benchmark(name, monkeypatch):
    """The script ``benchmarks/NAME.py`` as a module (its ``main(argv)`` is what it runs)."""
    import importlib.util
    from pathlib import Path

    benchmarks = Path(__file__).resolve().parents[1] / "benchmarks"
    monkeypatch.syspath_prepend(str(benchmarks))
    spec = importlib.util.spec_from_file_location(name, benchmarks / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compare_translations_pairs_files_overall_and_by_length(capsys, tmp_path, monkeypatch):
    """benchmarks/compare_translations.py: the paired test of two `evaluate --out` files."""
    from course_lib import significance
    from course_lib.evaluation import score_translations, write_translations

    sources = ["hi .", "i saw tom .", "we like the old red car .",
               "he said that he would come back to the house tomorrow ."] * 5
    references = [["hallo ."], ["ich sah tom ."], ["wir mögen das alte rote auto ."],
                  ["er sagte , dass er morgen zum haus zurückkommen würde ."]] * 5
    perfect = [refs[0] for refs in references]
    rough = [" ".join(ref.split()[: max(1, len(ref.split()) // 2)]) for ref in perfect]
    files = {}
    for name, hypotheses in {"rough": rough, "perfect": perfect}.items():
        table = score_translations(sources, hypotheses, references, bootstrap_samples=0).table
        files[name] = write_translations(tmp_path / f"{name}.tsv", table)
    module = load_benchmark("compare_translations", monkeypatch)
    out = tmp_path / "compare.json"
    assert module.main([f"rough={files['rough']}", f"perfect={files['perfect']}",
                        "--json", str(out)]) == 0
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert summary["sentences"] == 20 and summary["systems"]["perfect"]["bleu"] == 100
    expected = significance.paired_bootstrap(rough, perfect, references)
    (difference,) = summary["differences"]
    assert (difference["a"], difference["b"]) == ("rough", "perfect")
    assert difference["difference"] == round(expected.difference.score, 2) > 0
    assert difference["ci"] == [round(expected.difference.low, 2), round(expected.difference.high, 2)]
    assert set(difference["by_length"]) == set(summary["systems"]["rough"]["by_length"]) == {
        "1-5", "6-8", "9-12"}
    assert all(d["difference"] > 0 for d in difference["by_length"].values())

    # the same file twice: no difference at all
    assert module.main([f"a={files['rough']}", f"b={files['rough']}", "--json", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["differences"][0]["ci"] == [0, 0]

    # files of other sentences, or not written by `evaluate --out`, are refused by name
    other = tmp_path / "other.tsv"
    other.write_text(files["rough"].read_text(encoding="utf-8").replace("hi .", "ho ."),
                     encoding="utf-8")
    capsys.readouterr()
    assert module.main([f"rough={files['rough']}", f"other={other}"]) == 1
    assert "do not translate the same sources" in capsys.readouterr().err
    other.write_text("english\tgerman\nhi .\thallo .\n", encoding="utf-8")
    assert module.main([f"rough={files['rough']}", f"other={other}"]) == 1
    assert "evaluate RUN --pairs PAIRS --out" in capsys.readouterr().err

    # hypotheses saved as plain files, read back against the pairs file, give the same result
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{s}\t{r}\n" for s, refs in zip(sources[:4], references[:4],
                                                              strict=True) for r in refs),
                     encoding="utf-8")
    saved = tmp_path / "hypotheses"
    assert module.main([f"rough={files['rough']}", f"perfect={files['perfect']}",
                        "--save-hypotheses", str(saved)]) == 0
    assert (saved / "perfect.txt").read_text(encoding="utf-8").splitlines() == perfect
    short = tmp_path / "short.txt"   # a hypotheses file of the 4 distinct sources
    short.write_text("".join(h + "\n" for h in rough[:4]), encoding="utf-8")
    perfect_short = tmp_path / "perfect_short.txt"
    perfect_short.write_text("".join(h + "\n" for h in perfect[:4]), encoding="utf-8")
    assert module.main(["--pairs", str(pairs), f"rough={short}", f"perfect={perfect_short}",
                        "--json", str(out)]) == 0
    from_text = json.loads(out.read_text(encoding="utf-8"))
    assert from_text["sentences"] == 4 and from_text["systems"]["perfect"]["bleu"] == 100
    expected = significance.paired_bootstrap(rough[:4], perfect[:4], references[:4])
    assert from_text["differences"][0]["difference"] == round(expected.difference.score, 2)
    assert module.main(["--pairs", str(pairs), f"rough={short}",
                        f"perfect={saved / 'perfect.txt'}"]) == 1   # 20 lines, 4 sources
    assert "has 20 lines but the pairs file has 4 distinct sources" in capsys.readouterr().err


def test_evaluate_reference_refuses_an_unfinished_run_before_writing_anything(tmp_path):
    """benchmarks/evaluate_reference.sh checks the run first: no results folder, the fix named."""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "evaluate_reference.sh"
    run = tmp_path / "runs" / "luong-gpu"
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"status": "running", "epochs_run": 3}),
                                  encoding="utf-8")
    results = tmp_path / "results"
    env = {**os.environ, "PYTHON": sys.executable}
    for folder, status in ((run, "running"), (tmp_path / "nothing", "missing")):
        done = subprocess.run(["bash", str(script), str(folder), "luong", str(results)],
                              capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 1, done.stderr
        assert f"not a finished run (run.json: {status})" in done.stderr
        assert f"python -m course_lib train --out {folder.resolve()} --resume" in done.stderr
    assert not results.exists() and not (tmp_path / "runs" / "luong-gpu-evaluation").exists()
    usage = subprocess.run(["bash", str(script), str(run)], capture_output=True, text=True)
    assert usage.returncode == 2 and usage.stderr.startswith("usage: ")


def test_checkpoint_averaging_benchmark_on_validation(capsys, trained, tmp_path, tiny_corpus,
                                                      monkeypatch):
    """benchmarks/checkpoint_averaging.py: the mean of one epoch (the best) *is* the best model."""
    monkeypatch.setenv("COURSE_DATA", str(tiny_corpus))
    module = load_benchmark("checkpoint_averaging", monkeypatch)
    out = tmp_path / "averaging.json"
    assert module.main([str(trained["attention"]), "--sample", "6", "--windows", "1", "2",
                        "--json", str(out)]) == 0
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert "validation sources: " in summary["sample"] and summary["kept_epochs"] == [1, 2]
    best, *averages = summary["rows"]
    assert best["candidate"].startswith("best checkpoint")
    same = f"mean of epochs {summary['best_epoch']}–{summary['best_epoch']}"
    one = next(row for row in averages if row["candidate"] == same)
    assert one["bleu"] == best["bleu"] and one["minus_best"]["difference"] == 0
    assert any(row["candidate"].startswith("mean of all kept") for row in averages)


def test_learning_curve_benchmark_scores_every_kept_epoch(capsys, trained, tmp_path, tiny_corpus,
                                                          monkeypatch):
    """benchmarks/learning_curve.py: one row per epoch file; the best epoch's row is the run's model."""
    from course_lib import significance
    from course_lib.evaluation import evaluate

    monkeypatch.setenv("COURSE_DATA", str(tiny_corpus))
    module = load_benchmark("learning_curve", monkeypatch)
    out = tmp_path / "curve.json"
    assert module.main([str(trained["attention"]), "--sample", "6", "--json", str(out)]) == 0
    summary = json.loads(out.read_text(encoding="utf-8"))
    run = load_run(trained["attention"])
    assert [row["epoch"] for row in summary["rows"]] == [1, 2]
    assert [row["val_cross_entropy"] for row in summary["rows"]] == [
        round(value, 4) for value in run.metadata["history"]["val_cross_entropy"]]
    pairs, _ = module.validation_sample(run, 6, 1234)
    table = evaluate(run.translator, pairs).table
    best_bleu = significance.bootstrap_bleu(list(table.hypothesis), list(table.references)).score
    best_row = summary["rows"][summary["best_epoch"] - 1]
    assert best_row["bleu"] == round(best_bleu, 2)
    assert module.main([str(trained["attention"]), "--weights", str(tmp_path)]) == 1  # no files


def test_evaluate_prints_scores_and_writes_translations(capsys, trained, tiny_corpus, tmp_path):
    out_tsv = tmp_path / "translations.tsv"
    code, out, _ = run_cli(capsys, "evaluate", trained["attention"], "--pairs", tiny_corpus,
                           "--out", out_tsv)
    scores = json.loads(out)
    assert code == 0
    assert 0.0 <= scores["bleu"] <= 100.0 and 0.0 <= scores["chrf"] <= 100.0
    assert scores["sentences"] == len({line.split("\t")[0] for line in
                                       tiny_corpus.read_text(encoding="utf-8").splitlines()})
    assert scores["references_per_sentence"] > 1.0  # repeated English lines are references
    assert sum(row["sentences"] for row in scores["by_length"]) == scores["sentences"]
    lines = out_tsv.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "source\thypothesis\treferences"
    assert len(lines) == scores["sentences"] + 1


def test_transformer_run_evaluates_and_translates(capsys, trained, tiny_corpus):
    code, out, _ = run_cli(capsys, "evaluate", trained["transformer"], "--pairs", tiny_corpus)
    assert code == 0 and 0.0 <= json.loads(out)["bleu"] <= 100.0
    code, out, _ = run_cli(capsys, "translate", trained["transformer"], "The door is open.",
                           "--beam", "3")
    assert code == 0 and out.strip()
    meta = json.loads((trained["transformer"] / "run.json").read_text())
    assert meta["kind"] == "transformer" and meta["parameters"] > 0


def test_compare_three_runs_compares_every_pair(capsys, trained, tiny_corpus):
    folders = [trained[k] for k in ("baseline", "attention", "transformer")]
    code, out, _ = run_cli(capsys, "compare", *folders, "--pairs", tiny_corpus)
    summary = json.loads(out)
    assert code == 0
    scores = {str(f): summary[str(f)] for f in folders}
    assert all(s["by_length"] and s["best_epoch"] >= 1 for s in scores.values())
    pairs = [(d["a"], d["b"]) for d in summary["differences"]]
    assert pairs == [(str(folders[0]), str(folders[1])), (str(folders[0]), str(folders[2])),
                     (str(folders[1]), str(folders[2]))]
    for difference in summary["differences"]:
        expected = scores[difference["b"]]["bleu"] - scores[difference["a"]]["bleu"]
        assert difference["bleu"] == pytest.approx(expected, abs=1e-9)
    assert summary["b_minus_a"] == {k: v for k, v in summary["differences"][0].items()
                                    if k not in ("a", "b")}
    code, _, err = run_cli(capsys, "compare", folders[0], folders[1], folders[0],
                           "--pairs", tiny_corpus)
    assert code == 2 and "given twice" in err


def test_compare_two_runs_with_a_paired_bootstrap(capsys, trained, tiny_corpus):
    from course_lib import evaluation, runs, significance

    code, out, _ = run_cli(capsys, "compare", trained["baseline"], trained["attention"],
                           "--pairs", tiny_corpus)
    summary = json.loads(out)
    assert code == 0
    a, b = summary[str(trained["baseline"])], summary[str(trained["attention"])]
    assert (a["kind"], b["kind"]) == ("baseline", "attention")
    assert a["bleu_low"] <= a["bleu"] <= a["bleu_high"] and a["sentences"] == b["sentences"]
    diff = summary["b_minus_a"]
    assert diff["bleu"] == pytest.approx(b["bleu"] - a["bleu"], abs=1e-9)
    assert diff["low"] <= diff["bleu"] <= diff["high"] and 0.0 <= diff["p_value"] <= 1.0
    pairs = evaluation.read_pairs_file(tiny_corpus)   # the same numbers as the library's
    results = [evaluation.evaluate(runs.load_run(trained[k]).translator, pairs)
               for k in ("baseline", "attention")]
    expected = significance.paired_bootstrap(*(list(r.table["hypothesis"]) for r in results),
                                             list(results[0].table["references"]))
    assert diff["low"] == pytest.approx(expected.difference.low)


def test_evaluate_with_beam(capsys, trained, tiny_corpus):
    code, out, _ = run_cli(capsys, "evaluate", trained["baseline"], "--pairs", tiny_corpus,
                           "--beam", "3")
    assert code == 0 and "bleu" in json.loads(out)


def test_translate_and_heatmap(capsys, trained, tmp_path):
    png = tmp_path / "heat.png"
    code, out, _ = run_cli(capsys, "translate", trained["attention"], "Tom is happy.",
                           "Mary has a zebra.", "--heatmap", png)
    assert code == 0
    assert "unknown words: zebra" in out
    for written in (tmp_path / "heat-1.png", tmp_path / "heat-2.png"):
        assert written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_translate_heatmap_needs_attention(capsys, trained, tmp_path):
    code, _, err = run_cli(capsys, "translate", trained["baseline"], "Tom is happy.",
                           "--heatmap", tmp_path / "x.png")
    assert code == 2 and "needs an attention model" in err


def test_bleu_on_files(capsys, tmp_path):
    hyp, ref1, ref2 = (tmp_path / n for n in ("hyp.txt", "r1.txt", "r2.txt"))
    hyp.write_text("the cat sat on the mat\nhello there\n", encoding="utf-8")
    ref1.write_text("the cat sat on the mat\nhello there friend\n", encoding="utf-8")
    ref2.write_text("a cat sat on a mat\nhi there\n", encoding="utf-8")
    code, out, _ = run_cli(capsys, "bleu", "--hyp", hyp, "--ref", ref1, "--ref", ref2)
    import sacrebleu

    expected = sacrebleu.corpus_bleu(hyp.read_text().splitlines(),
                                     [ref1.read_text().splitlines(), ref2.read_text().splitlines()],
                                     tokenize="none").score
    assert code == 0
    assert json.loads(out)["bleu"] == pytest.approx(expected, abs=1e-6)


# --------------------------------------------------------------------------- error cases


def test_missing_run_folder(capsys, tmp_path):
    code, _, err = run_cli(capsys, "translate", tmp_path / "nope", "hello")
    assert code == 2 and "does not exist" in err and "Traceback" not in err


def test_incomplete_run_folder(capsys, tmp_path, trained):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "run.json").write_text("{}")
    code, _, err = run_cli(capsys, "translate", broken, "hello")
    assert code == 2 and "incomplete" in err and "model.keras" in err


def test_run_from_another_version(capsys, tmp_path, trained):
    import shutil

    copy = tmp_path / "old"
    shutil.copytree(trained["baseline"], copy)
    meta = json.loads((copy / "run.json").read_text())
    meta["format_version"] = FORMAT_VERSION + 99
    (copy / "run.json").write_text(json.dumps(meta))
    code, _, err = run_cli(capsys, "translate", copy, "Tom is happy.")
    assert code == 2 and "retrain" in err


def test_malformed_pairs_file_reports_line_numbers(capsys, tmp_path, trained):
    bad = tmp_path / "bad.tsv"
    bad.write_text("Tom is happy.\tTom ist froh.\nno tab here\nok\tgut\n\tleer\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "evaluate", trained["baseline"], "--pairs", bad)
    assert code == 2 and "line 2, 4" in err


def test_empty_sentence(capsys, trained):
    code, _, err = run_cli(capsys, "translate", trained["baseline"], "   ")
    assert code == 2 and "empty" in err


def test_sentence_of_unknown_words(capsys, trained):
    code, _, err = run_cli(capsys, "translate", trained["attention"], "Quantum chromodynamics")
    assert code == 2 and "no word the model knows" in err


def test_bleu_files_of_different_lengths(capsys, tmp_path):
    hyp, ref = tmp_path / "h.txt", tmp_path / "r.txt"
    hyp.write_text("a b\nc d\n")
    ref.write_text("a b\n")
    code, _, err = run_cli(capsys, "bleu", "--hyp", hyp, "--ref", ref)
    assert code == 2 and "parallel" in err


def test_missing_corpus_path(capsys, tmp_path):
    code, _, err = run_cli(capsys, "data", "--source", tmp_path / "missing.zip")
    assert code == 2 and "missing.zip" in err


def test_demo_end_to_end_on_tiny_settings(capsys, tiny_corpus, tmp_path, monkeypatch):
    """The README's main job, with the embedded default shrunk to seconds."""
    import course_lib.cli as cli

    monkeypatch.setattr(cli, "DEMO_SETTINGS", dict(
        source_vocab=60, target_vocab=60, embedding_dim=8, units=16, epochs=1,
        max_train_pairs=100, max_source_length=10, batch_size=32, learning_rate=2e-3,
        patience=1))
    out = tmp_path / "demo"
    code, printed, _ = run_cli(capsys, "demo", "--source", tiny_corpus, "--out", out)
    assert code == 0
    assert "baseline" in printed and "attention" in printed and "BLEU" in printed
    results = json.loads((out / "demo_results.json").read_text())
    assert [r["model"] for r in results["models"]] == ["baseline", "attention"]
    for row in results["models"]:  # both trained by the same rule; BLEU with its interval
        assert row["stopped_by"] in {"early_stopping", "max_epochs"}
        assert row["bleu_low"] <= row["bleu"] <= row["bleu_high"]
    baseline, attention = results["models"]
    difference = results["attention_minus_baseline"]   # the comparison carries its interval
    assert difference["bleu"] == pytest.approx(attention["bleu"] - baseline["bleu"], abs=1e-6)
    assert difference["low"] <= difference["bleu"] <= difference["high"]
    assert difference["samples"] == 1000 and difference["sentences"] > 0
    assert "95 % CI" in printed and "stopped by" in printed
    assert "attention − baseline" in printed and "paired bootstrap" in printed
    assert (out / "attention_heatmap.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "baseline" / "model.keras").exists()


def test_data_export_writes_the_splits(capsys, tiny_corpus, tmp_path):
    code, out, _ = run_cli(capsys, "data", "--source", tiny_corpus, "--export", tmp_path / "s")
    summary = json.loads(out)
    assert code == 0
    for name in ("train", "val", "test"):
        lines = (tmp_path / "s" / f"{name}.tsv").read_text(encoding="utf-8").splitlines()
        assert len(lines) == summary["splits"][name]["pairs"]
        assert all(line.count("\t") == 1 for line in lines)


def test_sigint_mid_epoch_leaves_a_run_that_is_not_used_as_trained(tmp_path):
    """A real Ctrl-C (SIGINT) to `train`: the run is marked, refused, and resumable."""
    import os
    import signal
    import time

    folder = tmp_path / "run"
    args = [sys.executable, "-m", "course_lib", "train", "--model", "attention", "--out",
            str(folder), "--units", "16", "--embedding-dim", "8", "--source-vocab", "500",
            "--target-vocab", "500", "--epochs", "2", "--max-pairs", "20000",
            "--batch-size", "32", "--no-xla"]
    env = {**os.environ, "COURSE_PROFILE": "quick"}
    # A shell running us in the background starts us with SIGINT ignored, and Python keeps
    # an ignored SIGINT ignored; give the child the default disposition, as a terminal does.
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env, preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                                         signal.SIG_DFL))
    progress = folder / "unfinished" / "progress.json"
    deadline = time.monotonic() + 300
    while not progress.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert progress.exists(), process.communicate()[1][-2000:]
    time.sleep(0.3)              # inside epoch 2 (an epoch of 20,000 pairs takes seconds)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    meta = json.loads((folder / "unfinished" / "run.json").read_text())
    assert meta["status"] == "interrupted" and meta["stopped_by"] == "interrupted"
    assert not (folder / "run.json").exists()  # nothing marks the folder as a finished run
    assert json.loads(progress.read_text())["epochs_done"] == 1
    hint = f"python -m course_lib train --out {folder} --resume"
    assert hint in err

    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("I am hungry.\tIch habe Hunger.\n", encoding="utf-8")
    for command in (["translate", str(folder), "I am hungry."],
                    ["evaluate", str(folder), "--pairs", str(pairs)]):
        result = subprocess.run([sys.executable, "-m", "course_lib", *command],
                                capture_output=True, text=True, timeout=120, env=env)
        assert result.returncode == 2, result.stderr
        assert "has not finished" in result.stderr and hint in result.stderr

    # The hint, exactly as printed: the run keeps the settings it was started with.
    resumed = subprocess.run([sys.executable, "-m", "course_lib", *hint.split()[3:]],
                             capture_output=True, text=True, timeout=600, env=env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Resuming" in resumed.stdout
    meta = json.loads((folder / "run.json").read_text())
    assert meta["status"] == "complete" and meta["epochs_run"] >= 2
    assert meta["settings"]["units"] == 16 and meta["settings"]["max_train_pairs"] == 20000
    assert len(meta["history"]["val_loss"]) == meta["epochs_run"]
    assert not (folder / "unfinished").exists()


def test_a_new_run_clears_an_earlier_runs_checkpoints(capsys, tmp_path, tiny_corpus):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "model.keras").write_text("a stale model from another run")
    (folder / "progress.json").write_text("{}")
    code, _, _ = run_cli(capsys, "train", "--model", "baseline", "--out", folder, "--source",
                         tiny_corpus, *TINY)
    assert code == 0
    assert json.loads((folder / "run.json").read_text())["status"] == "complete"
    assert (folder / "model.keras").read_bytes()[:2] == b"PK"   # a real .keras (zip) file


def test_sigterm_takes_the_interrupted_path():
    import signal

    import course_lib.cli as cli

    with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        cli.stop_training(signal.SIGTERM, None)
    previous = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT),
                signal.getsignal(signal.SIGHUP))
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # as in a job started with `&`
        cli._stop_cleanly_on_signals()
        assert signal.getsignal(signal.SIGTERM) is cli.stop_training
        assert signal.getsignal(signal.SIGHUP) is cli.stop_training  # the terminal was closed
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
        signal.signal(signal.SIGHUP, previous[2])


def test_choose_decoding_picks_on_validation_and_says_how(capsys, trained, tmp_path, tiny_corpus,
                                                          monkeypatch):
    """benchmarks/choose_decoding.py: greedy plus a beam grid on seeded validation sources."""
    import importlib.util
    from pathlib import Path

    monkeypatch.setenv("COURSE_DATA", str(tiny_corpus))
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "choose_decoding.py"
    spec = importlib.util.spec_from_file_location("choose_decoding", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "choice.json"
    assert module.main([str(trained["attention"]), "--sample", "6", "--beams", "2",
                        "--penalties", "0.5", "1.0", "--json", str(out)]) == 0
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert "validation sources: " in summary["sample"] and summary["sentences"] <= 6
    assert [(r["beam"], r["length_penalty"]) for r in summary["rows"]] == [
        (1, 1.0), (2, 0.5), (2, 1.0)]
    best = max(summary["rows"], key=lambda r: (r["bleu"], -r["beam"]))
    assert summary["best"]["bleu"] == best["bleu"]
    chosen = summary["chosen"]
    if chosen["beam"] > 1:  # a beam is chosen only when it beats greedy significantly
        assert summary["best"]["minus_greedy"]["ci"][0] > 0


def test_the_demo_trains_without_regularisation_and_with_xla():
    # Regularised, the demo's models ran into its 12-epoch limit instead of stopping early
    # (README, "The demo"); XLA only pays on CPU when nothing draws dropout masks.
    from course_lib import cli
    from course_lib.runs import RunSettings

    settings = RunSettings(kind="attention", **cli.DEMO_SETTINGS)
    assert settings.dropout == 0 and settings.label_smoothing == 0
    assert settings.jit_compile and settings.patience >= 1
