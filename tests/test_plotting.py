"""Tests for course_lib.plotting: heatmaps show exactly the trimmed weights, and the
attention diagnostics give the hand-computed values on small hand-made matrices."""

import math

import matplotlib

matplotlib.use("Agg")  # no display needed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from course_lib import alignment, plotting  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

SOURCE = ["ich", "möchte", "süße", "äpfel", "groß", "[end]"]
TARGET = ["i", "want", "sweet", "big", "apples", "[end]"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def random_attention(n_target, n_source, seed=0):
    """Softmax rows of shape (n_target, n_source)."""
    logits = np.random.default_rng(seed).normal(size=(n_target, n_source))
    w = np.exp(logits)
    return w / w.sum(axis=1, keepdims=True)


def padded_attention(n_target, n_source, pad_rows=2, pad_cols=3, seed=0):
    """Like the model's output in a batch: zero weight on padded source columns,
    and junk rows after [end]."""
    w = np.zeros((n_target + pad_rows, n_source + pad_cols))
    w[:n_target, :n_source] = random_attention(n_target, n_source, seed)
    w[n_target:, :] = 1.0 / w.shape[1]  # rows after [end]: anything, they get cut
    return w


def plotted_matrix(fig):
    return np.asarray(fig.axes[0].images[0].get_array())


def assert_valid_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 2_000


# --- heatmap -----------------------------------------------------------------------


def test_heatmap_plots_trimmed_weights():
    weights = padded_attention(len(TARGET), len(SOURCE))
    fig = plotting.attention_heatmap(weights, SOURCE, TARGET)
    shown = plotted_matrix(fig)
    assert shown.shape == (len(TARGET), len(SOURCE))
    np.testing.assert_allclose(shown, weights[: len(TARGET), : len(SOURCE)])
    np.testing.assert_allclose(shown.sum(axis=1), 1.0, atol=1e-9)


def test_heatmap_labels_follow_tokens_in_order():
    weights = random_attention(len(TARGET), len(SOURCE))
    fig = plotting.attention_heatmap(weights, SOURCE, TARGET, title="Äpfel")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == SOURCE
    assert [t.get_text() for t in ax.get_yticklabels()] == TARGET
    assert ax.get_title() == "Äpfel"


def test_heatmap_has_colour_bar_with_range_0_to_1():
    fig = plotting.attention_heatmap(random_attention(3, 3), ["a", "b", "c"], ["x", "y", "z"])
    assert len(fig.axes) == 2  # heatmap + colour bar
    assert fig.axes[0].images[0].get_clim() == (0.0, 1.0)


def test_heatmap_decodes_byte_tokens():
    fig = plotting.attention_heatmap(np.eye(2), [b"gr\xc3\xbc\xc3\x9f", b"dich"], ["hi", "you"])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["grüß", "dich"]


def test_figure_size_grows_with_sentence_length():
    short = plotting.attention_heatmap(np.eye(3), list("abc"), list("xyz"))
    n = 40
    long_ = plotting.attention_heatmap(np.eye(n), [f"s{i}" for i in range(n)],
                                       [f"t{i}" for i in range(n)])
    w_short, h_short = short.get_size_inches()
    w_long, h_long = long_.get_size_inches()
    assert 3 <= w_short < w_long <= 20
    assert 3 <= h_short < h_long <= 16


def test_heatmap_draws_on_given_axes():
    fig, ax = plt.subplots()
    returned = plotting.attention_heatmap(np.eye(2), ["a", "b"], ["x", "y"], ax=ax)
    assert returned is fig
    assert len(ax.images) == 1


def test_heatmap_saves_png(tmp_path):
    path = tmp_path / "figures" / "attention.png"  # parent folder does not exist yet
    plotting.attention_heatmap(random_attention(len(TARGET), len(SOURCE)), SOURCE, TARGET,
                               path=path)
    assert_valid_png(path)


def test_matrix_smaller_than_tokens_raises():
    with pytest.raises(ValueError, match="smaller than the token lists"):
        plotting.attention_heatmap(random_attention(2, 3), ["a", "b", "c", "d"], ["x", "y"])
    with pytest.raises(ValueError, match="smaller than the token lists"):
        plotting.attention_heatmap(random_attention(2, 3), ["a", "b", "c"], ["x", "y", "z"])


def test_rows_not_summing_to_one_raise():
    weights = random_attention(3, 4)
    # Cutting off a source column that still carries weight breaks the row sums.
    with pytest.raises(ValueError, match="row 0 .* sums to"):
        plotting.attention_heatmap(weights, ["a", "b", "c"], ["x", "y", "z"])
    bad = np.eye(3)
    bad[1] *= 0.5
    with pytest.raises(ValueError, match="row 1"):
        alignment.summary_diagnostics(bad)


@pytest.mark.parametrize(
    "weights",
    [np.ones(3) / 3, np.full((2, 2), np.nan), np.array([[1.5, -0.5], [0.5, 0.5]])],
    ids=["1-D", "nan", "negative"],
)
def test_invalid_matrices_raise(weights):
    with pytest.raises(ValueError):
        alignment.check_attention(weights)


# --- grid --------------------------------------------------------------------------


def test_grid_has_one_heatmap_per_item(tmp_path):
    items = [
        {"weights": padded_attention(3, 4, seed=s), "source_tokens": list("abcd"),
         "target_tokens": ["x", "y", "[end]"], "title": f"sentence {s}"}
        for s in range(3)
    ]
    fig = plotting.attention_grid(items, ncols=2, path=tmp_path / "grid.png")
    heatmaps = [ax for ax in fig.axes if ax.images]
    assert len(heatmaps) == 3
    assert [ax.get_title() for ax in heatmaps] == ["sentence 0", "sentence 1", "sentence 2"]
    np.testing.assert_allclose(heatmaps[2].images[0].get_array(),
                               items[2]["weights"][:3, :4])
    assert_valid_png(tmp_path / "grid.png")


# --- diagnostics -------------------------------------------------------------------


def test_identity_is_sharp_monotone_and_diagonal():
    eye = np.eye(5)
    np.testing.assert_allclose(alignment.attention_entropy(eye), np.zeros(5), atol=1e-12)
    np.testing.assert_array_equal(alignment.max_attention_positions(eye), np.arange(5))
    assert alignment.monotonicity(eye) == 1.0
    assert alignment.diagonality(eye) == pytest.approx(1.0)


def test_uniform_rows_have_entropy_log_s():
    uniform = np.full((3, 7), 1 / 7)
    np.testing.assert_allclose(alignment.attention_entropy(uniform), np.full(3, math.log(7)))
    # Every row's expected position is the middle: |0.5 - (0, 0.5, 1)| -> mean 1/3.
    assert alignment.diagonality(uniform) == pytest.approx(2 / 3)


def test_reversed_matrix_is_not_monotone_and_not_diagonal():
    reversed_ = np.eye(4)[::-1]  # output i looks at source 3 - i
    assert alignment.monotonicity(reversed_) == 0.0
    # |(3-i)/3 - i/3| for i = 0..3 is 1, 1/3, 1/3, 1 -> mean 2/3 -> diagonality 1/3.
    assert alignment.diagonality(reversed_) == pytest.approx(1 / 3)
    assert alignment.diagonality(reversed_) < alignment.diagonality(np.eye(4))


def test_crafted_matrix_entropies():
    weights = np.array([
        [0.5, 0.5, 0.0, 0.0],     # two equal words: log 2
        [0.25, 0.25, 0.25, 0.25],  # uniform: log 4
        [0.0, 0.0, 0.0, 1.0],     # one word: 0
        [0.5, 0.25, 0.25, 0.0],   # 0.5 log 2 + 2 * 0.25 log 4 = 1.5 log 2
    ])
    expected = [math.log(2), math.log(4), 0.0, 1.5 * math.log(2)]
    np.testing.assert_allclose(alignment.attention_entropy(weights), expected)
    np.testing.assert_array_equal(alignment.max_attention_positions(weights), [0, 0, 3, 0])
    # argmax moves 0 -> 0 (ok), 0 -> 3 (ok), 3 -> 0 (back): 2 of 3 steps.
    assert alignment.monotonicity(weights) == pytest.approx(2 / 3)


def test_single_row_and_single_column_are_defined():
    assert alignment.monotonicity(np.array([[0.2, 0.8]])) == 1.0
    assert alignment.diagonality(np.array([[1.0]])) == 1.0
    # One source word: everything sits in the middle; outputs 0, 0.5, 1 -> mean |.| = 1/3.
    assert alignment.diagonality(np.ones((3, 1))) == pytest.approx(2 / 3)
    # One output word at relative position 0.5 looking at the middle of three words.
    assert alignment.diagonality(np.array([[0.0, 1.0, 0.0]])) == pytest.approx(1.0)


def test_attention_diagnostics_table():
    weights = np.array([
        [0.1, 0.8, 0.1, 0.0, 0.0],
        [0.7, 0.2, 0.1, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0, 0.0],
    ])  # last two columns are padding
    table = alignment.attention_diagnostics(weights, ["guten", "morgen", "[end]"],
                                           ["good", "morning", "[end]"])
    assert list(table["output_word"]) == ["good", "morning", "[end]"]
    assert list(table["source_word"]) == ["morgen", "guten", "[end]"]
    np.testing.assert_allclose(table["weight"], [0.8, 0.7, 1.0])
    np.testing.assert_allclose(table["entropy"],
                               alignment.attention_entropy(weights[:, :3]))
    assert table["entropy"].iloc[2] == pytest.approx(0.0)


def test_summary_diagnostics_values():
    summary = alignment.summary_diagnostics(np.eye(3))
    assert summary["mean_entropy"] == pytest.approx(0.0)
    assert summary["uniform_entropy"] == pytest.approx(math.log(3))
    assert summary["monotonicity"] == 1.0
    assert summary["diagonality"] == pytest.approx(1.0)


# --- learning curves and BLEU ------------------------------------------------------


def test_plot_history_from_dict(tmp_path):
    history = {"loss": [2.0, 1.5, 1.2, 1.0], "val_loss": [2.1, 1.7, 1.6, 1.8],
               "accuracy": [0.2, 0.4, 0.5, 0.6], "val_accuracy": [0.2, 0.3, 0.45, 0.4]}
    fig = plotting.plot_history(history, metrics=("loss", "accuracy"), path=tmp_path / "h.png")
    loss_ax, acc_ax = fig.axes
    train, val = loss_ax.lines[0], loss_ax.lines[1]
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3, 4])  # epochs start at 1
    np.testing.assert_allclose(val.get_ydata(), history["val_loss"])
    labels = [t.get_text() for t in loss_ax.get_legend().get_texts()]
    assert "best validation (epoch 3)" in labels  # lowest val loss
    acc_labels = [t.get_text() for t in acc_ax.get_legend().get_texts()]
    assert "best validation (epoch 3)" in acc_labels  # highest val accuracy
    assert_valid_png(tmp_path / "h.png")


def test_plot_history_accepts_history_object_and_rejects_unknown_metric():
    class FakeHistory:  # what keras' model.fit returns, minus Keras
        history = {"loss": [1.0, 0.5]}

    fig = plotting.plot_history(FakeHistory())
    assert len(fig.axes[0].lines) == 1  # no validation data, no val curve
    with pytest.raises(KeyError, match="accuracy"):
        plotting.plot_history({"loss": [1.0]}, metrics="accuracy")


def test_plot_bleu_by_length_grouped(tmp_path):
    table = pd.DataFrame({
        "bucket": ["1-5", "6-10", "11+"] * 2,
        "bleu": [40.0, 30.0, 15.0, 42.0, 35.0, 25.0],
        "model": ["no attention"] * 3 + ["attention"] * 3,
        "sentences": [500, 300, 100] * 2,
    })
    fig = plotting.plot_bleu_by_length(table, path=tmp_path / "bleu.png")
    ax = fig.axes[0]
    heights = [bar.get_height() for bar in ax.patches]
    assert heights == [40.0, 30.0, 15.0, 42.0, 35.0, 25.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1-5", "6-10", "11+"]
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("n=500") == 2
    assert_valid_png(tmp_path / "bleu.png")


def test_plot_bleu_by_length_draws_confidence_intervals_as_error_bars():
    table = pd.DataFrame({"bucket": ["1-5", "6-8"], "bleu": [30.0, 20.0],
                          "bleu_low": [28.0, 15.0], "bleu_high": [33.0, 26.0]})
    fig = plotting.plot_bleu_by_length(table)
    ax = fig.axes[0]
    from matplotlib.container import ErrorbarContainer

    (error_bars,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    segments = error_bars.lines[2][0].get_segments()  # one vertical line per bar
    assert [(s[0][1], s[1][1]) for s in segments] == [(28.0, 33.0), (15.0, 26.0)]
    assert ax.get_ylim()[1] > 33.0  # the top of the highest error bar stays visible
    assert "CI" in ax.get_title()


def test_plot_bleu_by_length_single_model_and_missing_column():
    table = pd.DataFrame({"bucket": ["1-5", "6-10"], "bleu": [30.0, 20.0]})
    fig = plotting.plot_bleu_by_length(table)
    assert [bar.get_height() for bar in fig.axes[0].patches] == [30.0, 20.0]
    assert fig.axes[0].get_legend() is None
    with pytest.raises(ValueError, match="bleu"):
        plotting.plot_bleu_by_length(pd.DataFrame({"bucket": ["1-5"]}))


def test_module_does_not_import_tensorflow():
    import subprocess
    import sys
    from pathlib import Path

    repo_root = Path(plotting.__file__).resolve().parents[1]
    code = "import sys, course_lib.plotting; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=repo_root)
    assert out.stdout.strip() == "False"
