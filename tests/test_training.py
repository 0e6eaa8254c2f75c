"""Tests for course_lib.training: masked loss and accuracy by hand, train, checkpoints, Ctrl-C."""

from itertools import pairwise

import keras
import numpy as np
import pytest
from helpers import tiny_model, tiny_pairs, tiny_vectorizers

from course_lib import training
from course_lib.config import TrainConfig
from course_lib.text import make_dataset
from course_lib.training import MaskedAccuracy, compile_model, masked_loss, train

# --------------------------------------------------------------------------- loss by hand


def _cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-token -log softmax(logits)[label], computed with numpy (float64)."""
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    return -np.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]


@pytest.fixture
def logits():
    return np.random.default_rng(0).normal(size=(3, 4, 6)).astype(np.float32) * 2


def test_masked_loss_matches_hand_computation(logits):
    labels = np.array([[3, 5, 1, 0],
                       [2, 0, 0, 0],
                       [4, 4, 2, 1]])
    per_token = _cross_entropy(logits, labels)
    real = labels != 0
    expected = per_token[real].sum() / real.sum()  # mean over the 8 real tokens
    assert float(masked_loss(labels, logits)) == pytest.approx(expected, rel=1e-5)
    # A row that is all padding changes nothing; the textbook bug (dividing by every
    # position, padding included) would pull the mean down.
    with_empty_row = np.concatenate([labels, np.zeros((1, 4), labels.dtype)])
    logits_more = np.concatenate([logits, logits[:1]])
    loss_more = float(masked_loss(with_empty_row, logits_more))
    assert loss_more == pytest.approx(expected, rel=1e-5)
    buggy = per_token[real].sum() / with_empty_row.size
    assert abs(loss_more - buggy) > 0.1


def test_masked_loss_single_token_and_no_padding(logits):
    labels = np.array([[0, 0, 4, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    expected = _cross_entropy(logits, labels)[0, 2]
    assert float(masked_loss(labels, logits)) == pytest.approx(expected, rel=1e-5)
    full = np.array([[1, 2, 3, 4], [5, 4, 3, 2], [1, 1, 1, 1]])
    expected = _cross_entropy(logits, full).mean()
    assert float(masked_loss(full, logits)) == pytest.approx(expected, rel=1e-5)


def test_masked_loss_of_an_all_padding_batch_is_zero_not_nan(logits):
    loss = float(masked_loss(np.zeros((3, 4), np.int64), logits))
    assert loss == 0.0


def test_masked_loss_ignores_logits_at_padded_positions(logits):
    labels = np.array([[3, 5, 0, 0], [2, 0, 0, 0], [4, 4, 2, 0]])
    changed = logits.copy()
    changed[labels == 0] = 1e3 * np.random.default_rng(1).normal(size=changed[labels == 0].shape)
    assert float(masked_loss(labels, changed)) == pytest.approx(float(masked_loss(labels, logits)))


# --------------------------------------------------------------------------- accuracy by hand


def _one_hot_logits(predictions: np.ndarray, vocab: int = 6) -> np.ndarray:
    return np.eye(vocab, dtype=np.float32)[predictions] * 5.0


def test_masked_accuracy_is_token_weighted_over_batches():
    # Batch 1: 2 real tokens, 2 right.      (padding predicted "right" must not count)
    labels_1 = np.array([[1, 2, 0, 0]])
    preds_1 = np.array([[1, 2, 0, 0]])
    # Batch 2: 8 real tokens, 3 right.
    labels_2 = np.array([[1, 2, 3, 4, 0], [5, 5, 5, 5, 0]])
    preds_2 = np.array([[1, 2, 3, 0, 0], [4, 4, 4, 4, 4]])
    metric = MaskedAccuracy()
    metric.update_state(labels_1, _one_hot_logits(preds_1))
    assert float(metric.result()) == pytest.approx(1.0)
    metric.update_state(labels_2, _one_hot_logits(preds_2))
    assert float(metric.result()) == pytest.approx(5 / 10)  # not (1.0 + 3/8) / 2
    assert float(metric.result()) != pytest.approx((1.0 + 3 / 8) / 2)
    metric.reset_state()
    assert float(metric.result()) == 0.0
    metric.update_state(np.zeros((2, 3), np.int64), _one_hot_logits(np.zeros((2, 3), int)))
    assert float(metric.result()) == 0.0  # only padding: nothing to be right about


# --------------------------------------------------------------------------- train


@pytest.fixture(scope="module")
def data():
    """The 13 tiny pairs as one training batch, 6 of them as one validation batch.

    One batch shape each keeps tracing (the slow part of a first epoch) to a minimum.
    """
    vec = tiny_vectorizers()
    pairs = tiny_pairs()
    train_ds = make_dataset(pairs, vec, batch_size=16, shuffle=True, bucketing=False)
    val_ds = make_dataset(pairs[:6], vec, batch_size=8, shuffle=False, bucketing=False)
    return vec, train_ds, val_ds


def _assert_same_weights(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_compile_model_uses_masked_loss_and_accuracy(data):
    vec, _, _ = data
    model = compile_model(tiny_model("baseline", vec), learning_rate=0.01)
    assert isinstance(model.loss, training.MaskedLoss)
    assert model.loss.label_smoothing == TrainConfig().label_smoothing
    assert float(compile_model(tiny_model("baseline", vec), label_smoothing=0.0).loss(
        np.array([[3, 0]]), np.eye(4, dtype="float32")[None, :2] * 5)) == pytest.approx(
        float(masked_loss(np.array([[3, 0]]), np.eye(4, dtype="float32")[None, :2] * 5)))
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.01)
    assert model.optimizer.clipnorm == 5.0


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    """One short run shared by the tests below: 4 epochs of 5 steps, with a checkpoint."""
    vec, train_ds, val_ds = data
    model = tiny_model("baseline", vec)
    checkpoint = tmp_path_factory.mktemp("train") / "models" / training.BEST_MODEL
    result = train(model, train_ds.repeat(), val_ds, epochs=4, patience=10,
                   folder=checkpoint.parent, steps_per_epoch=5, verbose=0, learning_rate=0.02)
    return model, result, checkpoint


def test_train_returns_history_and_writes_checkpoint(trained):
    model, result, checkpoint = trained
    assert not result.interrupted
    assert result.epochs_run == 4
    assert model.optimizer is not None  # train compiled the model itself
    for key in ("loss", "val_loss", "masked_accuracy", "val_masked_accuracy"):
        assert len(result.history[key]) == 4
        assert all(np.isfinite(result.history[key]))
    assert result.best_val_loss == min(result.history["val_loss"])
    final = result.final_metrics()
    assert final["val_loss"] == result.best_val_loss
    assert final["best_epoch"] == 1 + result.history["val_loss"].index(result.best_val_loss)
    assert checkpoint.is_file()
    restored = keras.saving.load_model(checkpoint)
    assert type(restored) is type(model)
    # Training ends with the best weights, the same ones the checkpoint holds.
    _assert_same_weights(model.get_weights(), restored.get_weights())


def test_loss_decreases_on_a_tiny_overfit_set(trained):
    _, result, _ = trained
    losses = result.history["loss"]
    assert all(later < earlier for earlier, later in pairwise(losses))
    assert losses[-1] < 0.8 * losses[0]
    assert result.history["val_loss"][-1] < result.history["val_loss"][0]
    accuracy = result.history["masked_accuracy"]
    assert accuracy[-1] > accuracy[0]


class _CtrlCAfterTwoEpochs(training._KeepProgress):
    """Behaves like the history recorder, then "presses Ctrl-C" as epoch 3 starts.

    Before raising it scrambles the weights, as the first batches of epoch 3 would
    have moved them, so the test can tell whether the checkpoint was reloaded.
    """

    scrambled = None

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            rng = np.random.default_rng(0)
            weights = [rng.normal(size=w.shape).astype(w.dtype) for w in self.model.get_weights()]
            self.model.set_weights(weights)
            type(self).scrambled = weights
            raise KeyboardInterrupt


def test_keyboard_interrupt_restores_best_checkpoint(data, tmp_path, monkeypatch, capsys):
    vec, train_ds, val_ds = data
    monkeypatch.setattr(training, "_KeepProgress", _CtrlCAfterTwoEpochs)
    model = tiny_model("baseline", vec)
    checkpoint = tmp_path / training.BEST_MODEL
    result = train(model, train_ds, val_ds, epochs=5, patience=5, folder=tmp_path,
                   verbose=0, learning_rate=0.01)
    assert result.interrupted
    assert result.epochs_run == 2 and len(result.history["loss"]) == 2
    assert "restored the best checkpoint" in capsys.readouterr().out
    _assert_same_weights(model.get_weights(), keras.saving.load_model(checkpoint).get_weights())
    assert not np.array_equal(model.get_weights()[0], _CtrlCAfterTwoEpochs.scrambled[0])
    # The restored weights are those of the best epoch so far.
    val_loss = model.evaluate(val_ds, verbose=0)[0]
    assert val_loss == pytest.approx(min(result.history["val_loss"]), rel=1e-4)


class _CtrlCAtOnce(training._KeepProgress):
    def on_train_begin(self, logs=None):
        raise KeyboardInterrupt


def test_keyboard_interrupt_before_any_epoch(data, tmp_path, monkeypatch, capsys):
    vec, train_ds, val_ds = data
    monkeypatch.setattr(training, "_KeepProgress", _CtrlCAtOnce)
    model = tiny_model("baseline", vec)
    before = model.get_weights()
    result = train(model, train_ds, val_ds, epochs=3, folder=tmp_path, verbose=0)
    assert result.interrupted and result.epochs_run == 0 and result.best_val_loss is None
    assert result.final_metrics() == {}
    assert "no checkpoint" in capsys.readouterr().out
    _assert_same_weights(model.get_weights(), before)


def test_train_warns_when_it_ignores_the_learning_rate(data):
    vec, train_ds, val_ds = data
    model = compile_model(tiny_model("baseline", vec), learning_rate=0.01)
    with pytest.warns(UserWarning, match="learning_rate=.*ignored"):
        train(model, train_ds, val_ds, epochs=1, verbose=0, learning_rate=0.5)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.01)


def test_resumed_training_continues_where_it_stopped(data, tmp_path):
    """Two epochs, stop, resume for two more: the history and epoch count continue."""
    vec, train_ds, val_ds = data
    model = tiny_model("attention", vec)
    first = train(model, train_ds, val_ds, epochs=2, patience=10, folder=tmp_path, verbose=0,
                  learning_rate=0.02)
    progress = training.read_progress(tmp_path)
    assert progress["epochs_done"] == 2 and progress["history"] == first.history
    assert (tmp_path / training.LAST_MODEL).is_file()
    again = keras.saving.load_model(tmp_path / training.LAST_MODEL)
    # The optimizer state travelled with the weights: Adam's step counter is at 2 epochs.
    assert (int(keras.ops.convert_to_numpy(again.optimizer.iterations))
            == int(keras.ops.convert_to_numpy(model.optimizer.iterations)))
    second = train(again, train_ds, val_ds, epochs=4, patience=10, folder=tmp_path,
                   resume_from=progress, verbose=0)
    assert second.epochs_run == 4
    assert second.history["val_loss"][:2] == first.history["val_loss"]
    assert progress["learning_rate_plateau"]["best"] == pytest.approx(min(first.history["val_loss"]))
    assert training.read_progress(tmp_path)["epochs_done"] == 4
    assert second.seconds >= first.seconds


def _rate_after_the_first_resumed_epoch(progress, val_loss):
    """Run the resumed rate-halving callback through one epoch; return the rate after it."""
    model = compile_model(tiny_model("baseline", tiny_vectorizers()), learning_rate=0.002)
    halver = training._learning_rate_halver(progress)
    halver.set_model(model)
    halver.on_train_begin()
    halver.on_epoch_end(0, {"val_loss": val_loss})
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


def test_a_resumed_run_remembers_when_to_halve_the_learning_rate():
    """The first epoch after --resume is judged against the best loss before it, not forgotten."""
    saved = {"learning_rate_plateau": {"best": 2.0, "wait": 0, "cooldown_counter": 0},
             "early_stopping": {"best": 2.0, "wait": 0, "best_epoch": 3}}
    assert _rate_after_the_first_resumed_epoch(saved, 2.1) == pytest.approx(0.001)
    assert _rate_after_the_first_resumed_epoch(saved, 1.9) == pytest.approx(0.002)
    # progress.json from before the rate's state was saved: early stopping's best stands in.
    older = {"early_stopping": saved["early_stopping"]}
    assert _rate_after_the_first_resumed_epoch(older, 2.1) == pytest.approx(0.001)
    assert _rate_after_the_first_resumed_epoch({}, 2.1) == pytest.approx(0.002)  # fresh


def test_clear_checkpoints_removes_an_earlier_runs_files(tmp_path):
    for name in (training.BEST_MODEL, training.LAST_MODEL, training.PROGRESS, "run.json"):
        (tmp_path / name).write_text("old")
    (tmp_path / "source_vocab.json").write_text("[]")
    (tmp_path / training.EPOCH_WEIGHTS).mkdir()
    (tmp_path / training.EPOCH_WEIGHTS / "epoch-003.weights.h5").write_text("old")
    training.clear_checkpoints(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [training.EPOCH_WEIGHTS,
                                                          "source_vocab.json"]
    assert training.epoch_weights(tmp_path) == {}


# --------------------------------------------------------------------------- checkpoint averaging


def test_train_keeps_every_epochs_weights_and_the_last_one_is_last_keras(trained):
    model, result, checkpoint = trained
    kept = training.epoch_weights(checkpoint.parent)
    assert list(kept) == [1, 2, 3, 4]  # fewer than EPOCH_WEIGHTS_KEPT epochs: all kept
    copy = keras.saving.load_model(checkpoint)
    copy.load_weights(kept[4])
    _assert_same_weights(copy.get_weights(), keras.saving.load_model(
        checkpoint.parent / training.LAST_MODEL).get_weights())
    copy.load_weights(kept[result.final_metrics()["best_epoch"]])
    _assert_same_weights(copy.get_weights(), model.get_weights())  # the best epoch's = restored


def test_keep_epoch_weights_keeps_the_last_ones_and_drops_a_failed_attempts(tmp_path):
    vec = tiny_vectorizers()
    model = tiny_model("baseline", vec)
    training.keep_epoch_weights(model, tmp_path, 9)          # left by an attempt that went further
    for epoch in (1, 2, 3, 4):
        training.keep_epoch_weights(model, tmp_path, epoch, kept=2)
    assert list(training.epoch_weights(tmp_path)) == [3, 4]
    assert not list((tmp_path / training.EPOCH_WEIGHTS).glob(".partial*"))


def test_average_weights_is_the_elementwise_mean(tmp_path):
    vec = tiny_vectorizers()
    first, second = tiny_model("attention", vec, seed=1), tiny_model("attention", vec, seed=2)
    training.keep_epoch_weights(first, tmp_path, 1)
    training.keep_epoch_weights(second, tmp_path, 2)
    paths = list(training.epoch_weights(tmp_path).values())
    averaged = training.average_weights(tiny_model("attention", vec, seed=3), paths)
    for mean, a, b in zip(averaged.get_weights(), first.get_weights(), second.get_weights(),
                          strict=True):
        np.testing.assert_allclose(mean, (a + b) / 2, rtol=1e-6)
    alone = training.average_weights(tiny_model("attention", vec, seed=3), paths[:1])
    _assert_same_weights(alone.get_weights(), first.get_weights())
    with pytest.raises(ValueError, match="at least one"):
        training.average_weights(first, [])


def test_train_step_is_the_step_fit_takes():
    """training.train_step, written out for chapter 3, updates the weights exactly as fit does."""
    from course_lib.models import build_model

    rng = np.random.default_rng(0)
    source = rng.integers(1, 30, size=(4, 5))
    target = np.concatenate([rng.integers(1, 40, size=(4, 6)), np.zeros((4, 2), int)], axis=1)
    inputs, labels = (source, target[:, :-1]), target[:, 1:]

    def fresh():
        keras.utils.set_random_seed(3)
        return build_model("baseline", 30, 40, 8, 16, dropout=0.0)

    by_fit = compile_model(fresh(), learning_rate=0.01, jit_compile=False, label_smoothing=0.0)
    fit_loss = by_fit.train_on_batch(inputs, labels, return_dict=True)["loss"]
    by_hand = fresh()
    optimizer = keras.optimizers.Adam(0.01, clipnorm=5.0)
    hand_loss = float(training.train_step(by_hand, optimizer, (inputs, labels)))
    assert hand_loss == pytest.approx(float(fit_loss), abs=1e-5)
    for mine, theirs in zip(by_hand.trainable_weights, by_fit.trainable_weights, strict=True):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs), atol=1e-6)


@pytest.mark.parametrize("gpu", [None, "NVIDIA T4"])
def test_the_gpu_profile_compiles_with_xla_only_where_a_gpu_is_visible(monkeypatch, gpu):
    # On CPU, XLA draws dropout's random numbers slowly (README, "XLA on CPU"), so the
    # reference recipe trained on CPU must not compile with it; on a GPU it should.
    from course_lib import config

    monkeypatch.setattr(config, "gpu_name", lambda: gpu)
    assert TrainConfig.for_profile("gpu").jit_compile is (gpu is not None)
    assert TrainConfig.for_profile("gpu").mixed_precision  # applied only on a GPU, by runs
    assert not TrainConfig.for_profile("cpu").jit_compile
