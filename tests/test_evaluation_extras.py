"""Evaluation harness, scheduled sampling, the fixed-query bug, the speed module."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest

from course_lib import evaluation, models, runs, speed, training
from course_lib.evaluation import PairsFileError, read_pairs_file, score_translations


def test_read_pairs_file_accepts_two_and_three_columns(tmp_path):
    path = tmp_path / "p.tsv"
    path.write_text("Hi.\tHallo!\nHi.\tGrüß Gott!\tCC-BY 2.0 (France) Attribution\n\n",
                    encoding="utf-8")
    assert read_pairs_file(path) == [("Hi.", "Hallo!"), ("Hi.", "Grüß Gott!")]


def test_read_pairs_file_lists_bad_line_numbers(tmp_path):
    path = tmp_path / "p.tsv"
    path.write_text("a\tb\nno tab\nc\td\n\tmissing english\n", encoding="utf-8")
    with pytest.raises(PairsFileError, match=r"2 malformed line\(s\).*line 2, 4"):
        read_pairs_file(path)


def test_read_pairs_file_missing_and_empty(tmp_path):
    with pytest.raises(PairsFileError, match="does not exist"):
        read_pairs_file(tmp_path / "nope.tsv")
    empty = tmp_path / "empty.tsv"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(PairsFileError, match="no sentence pairs"):
        read_pairs_file(empty)


def test_score_translations_multi_reference_and_buckets():
    sources = ["a b", "c d e f g h i"]
    hyps = ["x y z", "p q r s"]
    refs = [["x y z", "x y w"], ["p q r s t"]]
    result = score_translations(sources, hyps, refs)
    assert result.scores["exact_match"] == 0.5
    assert result.scores["references_per_sentence"] == 1.5
    assert list(result.by_length["bucket"]) == ["1-5", "6-8"]
    assert result.scores["bleu"] == pytest.approx(
        __import__("course_lib.metrics", fromlist=["x"]).corpus_bleu(hyps, refs))


def test_score_translations_gives_bootstrap_intervals_overall_and_per_bucket():
    from course_lib import metrics, significance

    rng = np.random.default_rng(0)
    words = "der die das ein haus hund katze ist sehr groß klein".split()
    refs = [[" ".join(rng.choice(words, size=rng.integers(3, 12)))] for _ in range(60)]
    # hypotheses: the reference with one word changed, so BLEU is neither 0 nor 100
    hyps = [r[0].replace(r[0].split()[1], "xx", 1) for r in refs]
    sources = [" ".join(["w"] * len(r[0].split())) for r in refs]
    result = score_translations(sources, hyps, refs, bootstrap_samples=200)
    scores = result.scores
    assert scores["bleu"] == pytest.approx(metrics.corpus_bleu(hyps, refs))
    assert scores["bleu_low"] < scores["bleu"] < scores["bleu_high"]
    expected = significance.bootstrap_bleu(hyps, refs, samples=200)
    assert (scores["bleu_low"], scores["bleu_high"]) == pytest.approx((expected.low, expected.high))
    for row in result.by_length.to_dict(orient="records"):
        part = [i for i, s in enumerate(sources) if evaluation.bucket_name(len(s.split())) == row["bucket"]]
        assert row["sentences"] == len(part)
        assert row["bleu"] == pytest.approx(metrics.corpus_bleu([hyps[i] for i in part],
                                                                [refs[i] for i in part]))
        assert row["bleu_low"] <= row["bleu"] <= row["bleu_high"]
    plain = score_translations(sources, hyps, refs, bootstrap_samples=0)
    assert "bleu_low" not in plain.scores and "bleu_low" not in plain.by_length.columns
    assert plain.scores["bleu"] == pytest.approx(scores["bleu"])


def test_select_pairs_filters_then_samples_deterministically():
    pairs = [(" ".join(["w"] * n), "x") for n in range(1, 21)] * 5
    short = runs.select_pairs(pairs, max_source_length=5)
    assert all(len(en.split()) <= 5 for en, _ in short) and len(short) == 25
    a = runs.select_pairs(pairs, max_pairs=10, seed=1)
    assert a == runs.select_pairs(pairs, max_pairs=10, seed=1) and len(a) == 10
    assert a != pairs[:10]  # a random sample, not the (length-sorted) head of the file


def test_own_prediction_sampling_trains_saves_and_reloads(tmp_path):
    keras.utils.set_random_seed(0)
    model = models.build_model("own_prediction_sampling", 30, 40, 8, 16,
                               sampling_probability=0.5, seed=3)
    training.compile_model(model)
    x = (np.random.randint(1, 30, (8, 5)), np.random.randint(1, 40, (8, 6)))
    y = np.random.randint(1, 40, (8, 6))
    first = model.train_on_batch(x, y)[0]
    for _ in range(5):
        last = model.train_on_batch(x, y)[0]
    assert last < first
    path = tmp_path / "ss.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    assert again.sampling_probability == 0.5 and again.seed == 3
    np.testing.assert_allclose(again(x), model(x), atol=1e-6)


def _saved(model):
    import tempfile

    path = Path(tempfile.mkdtemp()) / "model.keras"
    model.save(path)
    return path


def test_fixed_query_bug_gives_identical_attention_rows():
    keras.utils.set_random_seed(0)
    buggy = models.build_model("attention_fixed_query", 30, 40, 8, 16)
    correct = models.build_model("attention", 30, 40, 8, 16)
    correct.set_weights(buggy.get_weights())
    for model in (buggy, correct):  # sharpen the untrained, nearly uniform attention
        v_a = model.decoder.attention.v_a
        v_a.assign(v_a * 300.0)
    src = np.array([[3, 4, 5, 0], [6, 7, 8, 9]])
    tin = np.array([[2, 8, 9, 11, 0], [2, 10, 12, 13, 14]])
    _, bug_weights = buggy.forward_with_weights((src, tin))
    _, good_weights = correct.forward_with_weights((src, tin))
    assert np.ptp(np.asarray(bug_weights), axis=1).max() < 1e-7     # rows identical
    assert np.ptp(np.asarray(good_weights), axis=1).max() > 1e-5   # rows change
    again = keras.saving.load_model(_saved(buggy))
    assert type(again.decoder) is models.FixedQueryBahdanauDecoder


def test_teacher_forced_and_position_accuracy_shapes():
    from helpers import tiny_model, tiny_pairs, tiny_vectorizers

    pairs = tiny_pairs()
    vectorizers = tiny_vectorizers(pairs)
    model = tiny_model("baseline", vectorizers)
    hyps = evaluation.teacher_forced_hypotheses(model, vectorizers, pairs)
    assert len(hyps) == len(pairs) and all(isinstance(h, str) for h in hyps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = evaluation.accuracy_by_position(model, vectorizers, pairs * 3, max_positions=3)
    assert list(table.columns) == ["position", "sentences", "teacher_forced", "free_running"]
    assert table["position"].tolist() == list(range(1, len(table) + 1))
    assert ((table[["teacher_forced", "free_running"]] >= 0) &
            (table[["teacher_forced", "free_running"]] <= 1)).all().all()


@pytest.mark.once  # 100 s: it builds and times every decoder variant, with and without XLA
def test_speed_benchmark_reports_every_variant(capsys):
    settings = speed.SpeedSettings(batch=4, source_length=3, target_length=3, source_vocab=20,
                                   target_vocab=20, embedding_dim=4, units=8, warmup=1,
                                   steps=1, decode_batch=2, decode_length=2)
    result = speed.measure(settings)
    json.dumps(result)
    for name in ("baseline", "bahdanau", "bahdanau_naive", "luong", "transformer"):
        assert set(result[name]) >= {"train_step_ms", "tokens_per_s", "decode_sentences_per_s"}
        assert result[name]["train_step_ms"] > 0
        assert set(result[name]["xla"]) == {"train_step_ms", "tokens_per_s"}
        assert result[name]["xla"]["train_step_ms"] > 0
    assert set(result["ratios"]) == {"bahdanau_over_baseline", "naive_over_bahdanau",
                                     "luong_over_baseline", "transformer_over_bahdanau",
                                     "xla_over_plain"}
    assert set(result["ratios"]["xla_over_plain"]) == set(speed.VARIANTS)
    speed.print_table(result)
    out = capsys.readouterr().out
    assert "bahdanau_naive" in out and "transformer" in out


def test_exposure_bias_breakdown_separates_shifts_and_paraphrases():
    from course_lib.evaluation import exposure_bias_breakdown

    references = [["ich habe hunger", "ich bin hungrig"], ["tom liest ein buch"]]
    forced = ["ich habe hunger", "tom liest ein buch"]
    free = ["ich bin hungrig", "heute tom liest ein buch"]      # a paraphrase; a shift by one
    table = exposure_bias_breakdown(forced, free, references)
    rows = list(table.index)
    assert table["teacher_forced"].tolist() == [1.0, 1.0, 1.0]
    # same position: only "ich" of 7 reference words survives the paraphrase and the shift
    assert table.loc[rows[0], "free_running"] == pytest.approx(1 / 7)
    # anywhere in the first reference: the shift no longer costs anything (1 + 4 of 7)
    assert table.loc[rows[1], "free_running"] == pytest.approx(5 / 7)
    # best reference: the paraphrase is a listed reference
    assert table.loc[rows[2], "free_running"] == pytest.approx(1.0)
    assert table["gap"].tolist() == pytest.approx([6 / 7, 2 / 7, 0.0])


def test_exposure_bias_breakdown_needs_one_entry_per_sentence():
    from course_lib.evaluation import exposure_bias_breakdown

    with pytest.raises(ValueError, match="one entry per sentence"):
        exposure_bias_breakdown(["a"], ["a", "b"], [["a"]])
