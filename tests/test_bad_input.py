"""Bad input and bad luck, as a clumsy or unlucky user meets them: nothing lost, nothing silently wrong.

Each class of defect has a table of cases run through the real command line
(``course_lib.cli.main``, in-process) or the Python API:

* **argument errors** — every expected mistake ends in one line with exit code 2, is
  found before any work starts, and leaves a finished run in ``--out`` byte for byte;
* **damaged or mixed-up run folders** — refused with the reason, never loaded silently;
* **text files** — a byte-order mark is not text, latin-1 is refused with the fix;
* **data loss** — an interrupted retraining, a second training into a locked folder, a
  crash in the middle of saving: the finished run stays usable;
* **resume** — from the folder's own settings; options given again must agree.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from helpers import run_cli

from course_lib import cli, runs, training

#: Behaviour of the command line and the run folders, not of library versions: once per CI run.
pytestmark = pytest.mark.once

TINY = ["--units", "16", "--embedding-dim", "8", "--source-vocab", "60", "--target-vocab", "60",
        "--epochs", "2", "--batch-size", "32", "--no-xla"]


def fingerprint(folder: Path) -> dict:
    """Every file under ``folder`` with its SHA-256 (the lock file excepted)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != runs.LOCK}


@pytest.fixture(scope="module")
def finished(tmp_path_factory, tiny_corpus):
    """A finished tiny run of the baseline and of the attention model (trained once)."""
    folders = {}
    for kind in ("baseline", "attention"):
        folder = tmp_path_factory.mktemp("finished") / kind
        assert cli.main(["train", "--model", kind, "--out", str(folder), "--source",
                         str(tiny_corpus), *TINY]) == 0
        folders[kind] = folder
    return folders


@pytest.fixture
def copy_of(finished, tmp_path):
    """A fresh copy of a finished run, so a case may damage it."""
    def copy(kind: str = "baseline") -> Path:
        target = tmp_path / f"{kind}-copy"
        shutil.copytree(finished[kind], target)
        return target
    return copy


# --------------------------------------------------------------------------- argument errors

TRAIN_MISTAKES = [  # (extra options, what the message says)
    (["--max-pairs", "-5"], "--max-pairs: must be at least 1, got -5"),
    (["--max-pairs", "0"], "--max-pairs: must be at least 1, got 0"),
    (["--epochs", "0"], "--epochs: must be at least 1"),
    (["--epochs", "-1"], "--epochs: must be at least 1"),
    (["--units", "0"], "--units: must be at least 1"),
    (["--embedding-dim", "0"], "--embedding-dim: must be at least 1"),
    (["--batch-size", "0"], "--batch-size: must be at least 1"),
    (["--batch-size", "-1"], "--batch-size: must be at least 1"),
    (["--target-vocab", "3"], "--target-vocab: must be at least 5"),
    (["--units", "ten"], "expected a whole number, got 'ten'"),
    (["--profile", "turbo"], "invalid choice: 'turbo'"),
    (["--dropout", "1"], "--dropout: must be from 0 up to (not including) 1, got 1.0"),
    (["--dropout", "-0.1"], "--dropout: must be from 0 up to (not including) 1"),
    (["--label-smoothing", "half"], "--label-smoothing: expected a number, got 'half'"),
    (["--readout", "relu"], "invalid choice: 'relu'"),
    (["--warmup-steps", "-4"], "--warmup-steps: must be at least 0"),
    (["--resume"], "holds no unfinished run to resume"),
]


@pytest.mark.parametrize(("options", "message"), TRAIN_MISTAKES,
                         ids=[" ".join(o) for o, _ in TRAIN_MISTAKES])
def test_a_train_mistake_is_one_line_and_the_finished_run_stays(capsys, copy_of, tiny_corpus,
                                                                options, message):
    folder = copy_of("attention")
    before = fingerprint(folder)
    code, _, err = run_cli(capsys, "train", "--model", "attention", "--out", folder,
                           "--source", tiny_corpus, *options)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert fingerprint(folder) == before
    assert runs.load_run(folder).metadata["status"] == "complete"


def test_train_without_model_or_with_a_bad_profile_variable(capsys, copy_of, tiny_corpus,
                                                            monkeypatch):
    folder = copy_of()
    before = fingerprint(folder)
    code, _, err = run_cli(capsys, "train", "--out", folder, "--source", tiny_corpus)
    assert code == 2 and "--model is required" in err
    monkeypatch.setenv("COURSE_PROFILE", "bogus")
    code, _, err = run_cli(capsys, "train", "--model", "baseline", "--out", folder,
                           "--source", tiny_corpus)
    assert code == 2 and "COURSE_PROFILE='bogus' is not a training profile" in err
    assert "Traceback" not in err and fingerprint(folder) == before


@pytest.mark.parametrize("command", ["train", "demo", "data"])
def test_an_output_folder_that_is_a_file(capsys, tmp_path, tiny_corpus, command):
    a_file = tmp_path / "taken"
    a_file.write_text("precious")
    option = {"train": ["--model", "baseline", "--out"], "demo": ["--out"],
              "data": ["--export"]}[command]
    code, _, err = run_cli(capsys, command, *option, a_file, "--source", tiny_corpus)
    assert code == 2 and "is a file, not a folder" in err
    assert a_file.read_text() == "precious"
    code, _, err = run_cli(capsys, command, *option, a_file / "below", "--source", tiny_corpus)
    assert code == 2 and "is a file" in err


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux's read-only /proc")
@pytest.mark.parametrize("command", ["train", "demo", "data", "evaluate", "translate"])
def test_an_output_path_that_cannot_be_written(capsys, finished, tmp_path, tiny_corpus, command):
    """/proc refuses new files even to root, so this holds on CI (which runs as root) too."""
    read_only = Path("/proc/nmt-course-output")
    argv = {"train": ["train", "--model", "baseline", "--out", read_only, "--source", tiny_corpus],
            "demo": ["demo", "--out", read_only, "--source", tiny_corpus],
            "data": ["data", "--export", read_only, "--source", tiny_corpus],
            "evaluate": ["evaluate", finished["attention"], "--pairs", _pairs(tmp_path),
                         "--out", read_only / "t.tsv"],
            "translate": ["translate", finished["attention"], "Tom is happy.", "--heatmap",
                          read_only / "h.png"]}[command]
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and "is not writable" in err and "Traceback" not in err
    assert out == ""  # refused before any work: nothing was trained, prepared or translated


def test_ctrl_c_during_start_up_is_exit_130_without_a_traceback(capsys, copy_of, tiny_corpus,
                                                                 monkeypatch):
    import course_lib.data

    folder = copy_of()
    before = fingerprint(folder)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(course_lib.data, "prepare_data", interrupted)
    code, _, err = run_cli(capsys, "train", "--model", "baseline", "--out", folder,
                           "--source", tiny_corpus)
    assert code == 130 and err.strip() == "interrupted"
    assert fingerprint(folder) == before


def test_a_corpus_too_small_for_a_validation_split(capsys, copy_of, tmp_path):
    folder = copy_of()
    before = fingerprint(folder)
    small = tmp_path / "deu.txt"
    small.write_text("Hi.\tHallo.\nRun!\tLauf!\nWho?\tWer?\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "train", "--model", "baseline", "--out", folder,
                           "--source", small, *TINY)
    assert code == 2 and "split is empty" in err and "bigger corpus" in err
    assert fingerprint(folder) == before


def _pairs(tmp_path, text="Tom is happy.\tTom ist froh.\n", encoding="utf-8") -> Path:
    path = tmp_path / "pairs.tsv"
    path.write_bytes(text.encode(encoding))
    return path


USE_MISTAKES = [  # (command builder, message)
    (lambda r, t: ["translate", r["attention"], "Tom is happy.", "--beam", "0"],
     "--beam: must be at least 1"),
    (lambda r, t: ["evaluate", r["attention"], "--pairs", _pairs(t), "--beam", "-3"],
     "--beam: must be at least 1"),
    (lambda r, t: ["evaluate", r["attention"], "--pairs", _pairs(t), "--length-penalty", "9"],
     "--length-penalty: must be from 0 to 5, got 9.0"),
    (lambda r, t: ["evaluate", r["attention"], "--pairs", _pairs(t), "--out", t],
     "is a folder: give a file name"),
    (lambda r, t: ["evaluate", r["attention"], "--pairs", _pairs(t), "--out",
                   _pairs(t) / "out.tsv"], "is a file"),
    (lambda r, t: ["translate", r["attention"], "Tom is happy.", "--heatmap", t],
     "is a folder: give a file name"),
    (lambda r, t: ["evaluate", r["baseline"], "--pairs", _pairs(t), "--replace-unknown"],
     "--replace-unknown needs an attention model"),
    (lambda r, t: ["translate", r["baseline"], "Tom is happy.", "--heatmap", t / "h.png"],
     "--heatmap needs an attention model"),
    (lambda r, t: ["evaluate", r["attention"], "--pairs",
                   _pairs(t, "Tom is happy.\tTom ist müde.\n", "latin-1")],
     "is not UTF-8 text (byte 0xfc on line 1)"),
    (lambda r, t: ["translate", t / "nowhere", "Tom is happy."], "does not exist"),
    (lambda r, t: ["translate", _pairs(t), "Tom is happy."], "is a file, not a run folder"),
]


@pytest.mark.parametrize(("build", "message"), USE_MISTAKES,
                         ids=[m.split(":")[0][:40] for _, m in USE_MISTAKES])
def test_a_use_mistake_is_one_line(capsys, finished, tmp_path, build, message):
    before = {kind: fingerprint(folder) for kind, folder in finished.items()}
    code, _, err = run_cli(capsys, *build(finished, tmp_path))
    assert code == 2 and message in err and "Traceback" not in err
    assert {kind: fingerprint(folder) for kind, folder in finished.items()} == before


def test_bleu_files_empty_latin1_or_with_a_byte_order_mark(capsys, tmp_path):
    empty_hyp, empty_ref = tmp_path / "h0.txt", tmp_path / "r0.txt"
    empty_hyp.write_text("")
    empty_ref.write_text("")
    code, _, err = run_cli(capsys, "bleu", "--hyp", empty_hyp, "--ref", empty_ref)
    assert code == 2 and "holds no sentences" in err

    hyp, ref, hyp_bom = tmp_path / "h.txt", tmp_path / "r.txt", tmp_path / "hb.txt"
    lines = "der hund schläft .\ndas ist ein haus .\n"
    hyp.write_text(lines, encoding="utf-8")
    hyp_bom.write_text(lines, encoding="utf-8-sig")
    ref.write_text("der hund schläft .\ndas ist mein haus .\n", encoding="utf-8-sig")
    scores = [json.loads(run_cli(capsys, "bleu", "--hyp", h, "--ref", ref)[1])["bleu"]
              for h in (hyp, hyp_bom)]
    assert scores[0] == scores[1] > 0

    latin = tmp_path / "latin.txt"
    latin.write_bytes("der hund schläft .\n".encode("latin-1"))
    code, _, err = run_cli(capsys, "bleu", "--hyp", latin, "--ref", ref)
    assert code == 2 and "not UTF-8" in err and "iconv" in err


def test_a_byte_order_mark_in_a_pairs_file_is_not_part_of_the_sentence(tmp_path):
    from course_lib.evaluation import read_pairs_file

    plain = read_pairs_file(_pairs(tmp_path, "Tom is happy.\tTom ist froh.\n"))
    marked = read_pairs_file(_pairs(tmp_path, "\ufeffTom is happy.\tTom ist froh.\n"))
    assert marked == plain == [("Tom is happy.", "Tom ist froh.")]


# --------------------------------------------------------------------------- damaged run folders

def _drop_checksums(folder: Path) -> None:
    """Make the folder look like one saved before run.json recorded checksums (course_lib 0.3)."""
    meta = json.loads((folder / "run.json").read_text())
    meta.pop("files")
    (folder / "run.json").write_text(json.dumps(meta))


def _damage(kind_of_damage: str, folder: Path, other: Path) -> None:
    meta_path = folder / "run.json"
    meta = json.loads(meta_path.read_text())
    if kind_of_damage == "run.json is a list":
        meta_path.write_text("[]")
    elif kind_of_damage == "run.json truncated":
        meta_path.write_text(meta_path.read_text()[:100])
    elif kind_of_damage == "a non-numeric setting":
        meta["settings"]["units"] = "many"
        meta_path.write_text(json.dumps(meta))
    elif kind_of_damage == "an unknown setting":
        meta["settings"]["warp_drive"] = True
        meta_path.write_text(json.dumps(meta))
    elif kind_of_damage == "vocabulary truncated":
        (folder / "source_vocab.json").write_text('["", "[UNK]", "to')
    elif kind_of_damage == "vocabulary truncated, no checksums":
        _drop_checksums(folder)
        (folder / "source_vocab.json").write_text('["", "[UNK]", "to')
    elif kind_of_damage == "vocabulary of another size, no checksums":
        _drop_checksums(folder)
        vocab = json.loads((folder / "target_vocab.json").read_text())
        (folder / "target_vocab.json").write_text(json.dumps(vocab[:-3]))
    elif kind_of_damage == "model of another kind, no checksums":
        _drop_checksums(folder)
        shutil.copy(other / "model.keras", folder / "model.keras")
    elif kind_of_damage == "model of another run":
        shutil.copy(other / "model.keras", folder / "model.keras")
    elif kind_of_damage == "model file cut short, no checksums":
        _drop_checksums(folder)
        data = (folder / "model.keras").read_bytes()
        (folder / "model.keras").write_bytes(data[: len(data) // 2])
    elif kind_of_damage == "an unrelated Keras model, no checksums":
        import keras

        _drop_checksums(folder)
        keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save(folder / "model.keras")
    elif kind_of_damage == "a model file from another run format":
        meta["format_version"] = runs.FORMAT_VERSION + 1
        meta_path.write_text(json.dumps(meta))
    else:
        raise AssertionError(kind_of_damage)


DAMAGE = {  # what was done to a baseline run folder → what the refusal says
    "run.json is a list": "does not hold a run's metadata",
    "run.json truncated": "is not valid JSON",
    "a non-numeric setting": "units must be a whole number ≥ 1, got 'many'",
    "an unknown setting": "does not know: warp_drive",
    "vocabulary truncated": "is not the file this run saved",
    "vocabulary truncated, no checksums": "vocabulary of",
    "vocabulary of another size, no checksums": "belongs to another run",
    "model of another kind, no checksums": "holds a AttentionSeq2Seq, but run.json says kind "
                                           "'baseline'",
    "model of another run": "model.keras is not the file this run saved",
    "model file cut short, no checksums": "could not load",
    "an unrelated Keras model, no checksums": "holds a Sequential",
    "a model file from another run format": "retrain the model",
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_or_mixed_up_run_folder_is_refused_with_the_reason(capsys, copy_of, finished,
                                                                      damage):
    folder = copy_of("baseline")
    _damage(damage, folder, finished["attention"])
    code, _, err = run_cli(capsys, "translate", folder, "Tom is happy.")
    assert code == 2 and DAMAGE[damage] in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "compare", folder, finished["attention"], "--pairs",
                           _pairs(folder.parent))
    assert code == 2 and DAMAGE[damage] in err


# --------------------------------------------------------------------------- the Python API

def test_the_api_refuses_what_it_cannot_honour(tiny_corpus):
    from course_lib import config, models, text
    from course_lib.data import prepare_data

    with pytest.raises(runs.SettingsError, match="'turbo' is not a training profile"):
        runs.RunSettings.for_profile("attention", "turbo")
    with pytest.raises(runs.SettingsError, match="units must be a whole number"):
        runs.RunSettings(units=0)
    with pytest.raises(runs.SettingsError, match="kind 'lstm' is not a model kind"):
        runs.RunSettings(kind="lstm")
    with pytest.raises(config.ConfigError, match="units must be a whole number"):
        models.build_model("attention", 100, 100, units=0)
    data = prepare_data(tiny_corpus, verbose=False)
    attention = runs.RunSettings.for_profile("attention", "quick")
    with pytest.raises(runs.SettingsError, match="given settings for the 'attention' model"):
        runs.load_or_train("baseline", data, settings=attention)
    vectorizers = text.Vectorizers.from_pairs(data.train, 60, 60)
    with pytest.raises(config.ConfigError, match="batch_size"):
        text.make_dataset(data.train, vectorizers, batch_size=0)
    model = models.build_model("baseline", 60, 60, 8, 16)
    with pytest.raises(config.ConfigError, match="epochs"):
        training.train(model, None, None, epochs=0)


def test_translate_a_pandas_series_by_position_not_by_label(finished):
    import pandas as pd

    translator = runs.load_run(finished["attention"]).translator
    sentences = ["Tom is happy.", "Mary has a dog.", "Does Paul have a car?"]
    expected = [t.text for t in translator.translate(sentences)]
    for index in ([2, 0, 1], [10, 11, 12]):
        series = pd.Series(sentences, index=index)
        got = translator.translate(series)
        assert [t.source for t in got] == sentences
        assert [t.text for t in got] == expected


def test_a_fresh_process_loads_a_finished_run(finished):
    """``translate`` in a new interpreter: every class and function the model was saved with
    (layers, the masked loss, the metric) is registered by loading the run, not by luck."""
    import subprocess
    import sys

    for kind, folder in finished.items():
        result = subprocess.run([sys.executable, "-m", "course_lib", "translate", str(folder),
                                 "Tom is happy."], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{kind}: {result.stderr[-1500:]}"
        assert result.stdout.strip()


def test_the_package_version_is_the_release():
    import tomllib

    import course_lib
    from course_lib import config

    root = Path(__file__).resolve().parents[1]
    version = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    assert course_lib.__version__ == version == config.RELEASE.removeprefix("v")


# --------------------------------------------------------------------------- data loss

def _interrupt_in_epoch(monkeypatch, epoch: int) -> None:
    """Press Ctrl-C when ``epoch`` (0-based) begins, as a user would."""
    def on_epoch_begin(self, index, logs=None):
        if index == epoch:
            raise KeyboardInterrupt
    monkeypatch.setattr(training._KeepProgress, "on_epoch_begin", on_epoch_begin)


def test_retraining_a_finished_folder_then_ctrl_c_keeps_the_finished_run(capsys, copy_of,
                                                                          tiny_corpus,
                                                                          monkeypatch):
    folder = copy_of("attention")
    before = fingerprint(folder)
    reference = runs.load_run(folder).translator(["Tom is happy."])
    _interrupt_in_epoch(monkeypatch, 1)
    code, _, err = run_cli(capsys, "train", "--model", "attention", "--out", folder,
                           "--source", tiny_corpus, *TINY, "--units", "24", "--epochs", "3")
    assert code == 130
    assert f"python -m course_lib train --out {folder} --resume" in err
    finished_files = {k: v for k, v in fingerprint(folder).items()
                      if not k.startswith(runs.UNFINISHED)}
    assert finished_files == before  # the finished run is untouched …
    assert runs.load_run(folder).translator(["Tom is happy."]) == reference  # … and in use
    staged = json.loads((folder / runs.UNFINISHED / "run.json").read_text())
    assert staged["status"] == "interrupted" and staged["epochs_run"] == 1

    # Resume: options given again must agree with the run's own settings …
    monkeypatch.undo()
    code, _, err = run_cli(capsys, "train", "--out", folder, "--resume", "--units", "32",
                           "--source", tiny_corpus)
    assert code == 2 and "--units 32 (the run has 24)" in err
    assert {k: v for k, v in fingerprint(folder).items()
            if not k.startswith(runs.UNFINISHED)} == before
    # … and without options it continues with them, then replaces the finished run.
    code, out, err = run_cli(capsys, "train", "--out", folder, "--resume", "--source",
                             tiny_corpus)
    assert code == 0, err
    meta = json.loads((folder / "run.json").read_text())
    assert meta["settings"]["units"] == 24 and meta["epochs_run"] >= 2
    assert "Resuming" in out
    assert not (folder / runs.UNFINISHED).exists()
    assert runs.load_run(folder).model.units == 24


def test_resume_when_no_epoch_had_finished_starts_with_the_runs_settings(capsys, tmp_path,
                                                                          tiny_corpus,
                                                                          monkeypatch):
    folder = tmp_path / "run"
    _interrupt_in_epoch(monkeypatch, 0)
    code, _, err = run_cli(capsys, "train", "--model", "baseline", "--out", folder,
                           "--source", tiny_corpus, *TINY, "--units", "12")
    assert code == 130 and "--resume" in err
    code, _, err = run_cli(capsys, "translate", folder, "Tom is happy.")
    assert code == 2 and "has not finished" in err and "after 0 epoch(s)" in err
    monkeypatch.undo()
    code, out, err = run_cli(capsys, "train", "--out", folder, "--resume", "--source", tiny_corpus)
    assert code == 0, err
    assert "No epoch of the run" in out
    assert runs.load_run(folder).metadata["settings"]["units"] == 12


def test_a_second_training_into_a_locked_folder_is_refused(capsys, copy_of, tiny_corpus):
    """Another process trains into the folder: refused, named; a killed holder frees it."""
    import subprocess
    import sys

    folder = copy_of()
    before = fingerprint(folder)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from course_lib import runs\n"
         "with runs.locked(__import__('pathlib').Path(sys.argv[1])):\n"
         "    print('locked', flush=True); time.sleep(600)", str(folder)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        code, _, err = run_cli(capsys, "train", "--model", "baseline", "--out", folder,
                               "--source", tiny_corpus, *TINY)
        assert code == 2 and f"is being trained right now by process {holder.pid}" in err
        assert fingerprint(folder) == before
    finally:
        holder.kill()  # a crash: the OS releases the lock with the process
        holder.wait()
    with runs.locked(folder):
        pass


def test_a_crash_while_saving_leaves_the_old_file(tmp_path):
    from course_lib.files import replace_atomically, write_json_atomically

    target = write_json_atomically(tmp_path / "run.json", {"status": "complete"})

    def disk_full(temporary):
        temporary.write_text('{"stat')
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        replace_atomically(target, disk_full)
    assert json.loads(target.read_text()) == {"status": "complete"}
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]  # no half-written leftovers


def test_a_publish_cut_short_is_finished_on_the_next_load(capsys, copy_of, finished):
    """A crash after model.keras was moved but before run.json: the next load completes it."""
    folder = copy_of("baseline")
    run = runs.load_run(finished["attention"])
    staging = folder / runs.UNFINISHED
    staging.mkdir()
    # What save_run leaves when it is killed between its renames:
    shutil.copy(finished["attention"] / "model.keras", folder / "model.keras")   # moved
    for name in ("source_vocab.json", "target_vocab.json"):
        shutil.copy(finished["attention"] / name, staging / name)                # not yet
    meta = json.loads((finished["attention"] / "run.json").read_text())
    (staging / "run.json").write_text(json.dumps(meta))                          # complete
    loaded = runs.load_run(folder)  # not the half-way state: the publish is finished first
    assert loaded.metadata["kind"] == "attention" and not staging.exists()
    assert loaded.translator(["Tom is happy."]) == run.translator(["Tom is happy."])
