"""Pictures of what the models do: attention heatmaps, learning curves, BLEU by length.

Bahdanau attention gives us, for every word the decoder writes, a probability
distribution over the words of the source sentence. Stacked row by row these
distributions form the *attention matrix*::

    weights[i, j]   # how much output step i looked at source word j
    weights.shape   # (target_len, source_len); every row sums to 1

This module draws that matrix: :func:`attention_heatmap` (one sentence) and
:func:`attention_grid` (several sentences side by side). The numbers that summarise the same matrix
(entropy, monotonicity, diagonality) are in :mod:`course_lib.alignment`.

It also draws learning curves (:func:`plot_history`) and BLEU per sentence
length (:func:`plot_bleu_by_length`).

Everything here works on plain NumPy arrays, lists and dicts, so the module does
*not* import TensorFlow. Pass ``tensor.numpy()`` (or anything ``np.asarray``
understands) and Python lists of token strings.

Every plotting function returns the matplotlib ``Figure`` and saves it as a PNG
when you pass ``path=``. In a notebook, end the call with ``;`` or assign the
result (``fig = attention_heatmap(...)``) so that the figure is not shown twice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .alignment import as_tokens, trim_attention

#: Resolution of saved PNG files.
SAVE_DPI = 150


# ---------------------------------------------------------------------------
# Heatmaps
# ---------------------------------------------------------------------------


def _heatmap_size(n_source: int, n_target: int) -> tuple[float, float]:
    """Figure size in inches that grows with the sentence lengths (within limits)."""
    width = min(max(0.45 * n_source + 2.5, 4.0), 20.0)
    height = min(max(0.40 * n_target + 2.0, 3.0), 16.0)
    return width, height


def _label_size(n_tokens: int) -> float:
    """Smaller tick labels for longer sentences: 12 pt for short ones, at least 8 pt."""
    return max(8.0, 12.0 - n_tokens / 8)


def _draw_heatmap(ax, matrix, source, target, *, title=None, cmap="viridis"):
    """Draw one attention matrix on ``ax`` and return the ``AxesImage``."""
    image = ax.imshow(
        matrix, cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest"
    )
    # Source words across the top (we read the input first), outputs down the side.
    ax.set_xticks(np.arange(len(source)), labels=source)
    ax.set_yticks(np.arange(len(target)), labels=target)
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    size = _label_size(max(len(source), len(target)))
    ax.tick_params(labelsize=size)
    plt.setp(ax.get_xticklabels(), rotation=60, ha="left", rotation_mode="anchor")
    ax.set_xlabel("source sentence (input)")
    ax.set_ylabel("translation (output)")
    if title:
        ax.set_title(title)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="attention weight")
    return image


def save_figure(fig: Figure, path: str | Path | None) -> Figure:
    """Save ``fig`` as a PNG when a path is given, creating the folder if needed."""
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=SAVE_DPI, bbox_inches="tight")
    return fig


def attention_heatmap(
    weights: Any,
    source_tokens: Sequence[Any],
    target_tokens: Sequence[Any],
    *,
    ax=None,
    title: str | None = None,
    path: str | Path | None = None,
    cmap: str = "viridis",
) -> Figure:
    """Plot the attention matrix of one sentence as a heatmap.

    Args:
        weights: shape ``(target_len, source_len)``, possibly padded; it is trimmed
            to ``(len(target_tokens), len(source_tokens))`` and checked.
        source_tokens: the input words (x axis, along the top).
        target_tokens: the generated words, including ``[end]`` if you want to
            see where the model looked when it decided to stop (y axis).
        ax: draw on this Axes instead of a new figure.
        title: optional title.
        path: if given, also save a PNG there.
        cmap: matplotlib colour map; colours always span weights 0..1.

    Returns:
        The Figure. The plotted matrix is ``fig.axes[0].images[0].get_array()``.

    Bright cells show where the model looked. For a word-by-word translation you
    see a bright diagonal; word-order changes (German verbs at the end!) show up
    as jumps away from it.
    """
    source, target = as_tokens(source_tokens), as_tokens(target_tokens)
    matrix = trim_attention(weights, source, target)  # (len(target), len(source))
    if ax is None:
        fig, ax = plt.subplots(figsize=_heatmap_size(len(source), len(target)),
                               layout="constrained")
    else:
        fig = ax.figure
    _draw_heatmap(ax, matrix, source, target, title=title, cmap=cmap)
    save_figure(fig, path)
    return fig


def _field(item: Any, name: str, default: Any = None) -> Any:
    """Read ``name`` from a dict or from an object's attribute."""
    if isinstance(item, Mapping):
        return item.get(name, default)
    return getattr(item, name, default)


def attention_grid(
    items: Sequence[Any], *, ncols: int = 2, path: str | Path | None = None
) -> Figure:
    """Several attention heatmaps in one figure, filled row by row.

    Each item is a dict (or an object with attributes) holding ``weights``,
    ``source_tokens``, ``target_tokens`` and optionally ``title``. Comparing a
    short and a long sentence, or a good and a bad translation, side by side is
    often more telling than one picture alone.
    """
    if len(items) == 0:
        raise ValueError("attention_grid needs at least one item")
    if ncols < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols}")
    ncols = min(ncols, len(items))
    nrows = math.ceil(len(items) / ncols)
    # Every cell is as big as the largest sentence needs.
    sizes = [
        _heatmap_size(len(_field(it, "source_tokens")), len(_field(it, "target_tokens")))
        for it in items
    ]
    cell_w, cell_h = max(w for w, _ in sizes), max(h for _, h in sizes)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * cell_w, nrows * cell_h),
                             layout="constrained", squeeze=False)
    for item, ax in zip(items, axes.flat[: len(items)], strict=True):
        source = as_tokens(_field(item, "source_tokens"))
        target = as_tokens(_field(item, "target_tokens"))
        matrix = trim_attention(_field(item, "weights"), source, target)
        _draw_heatmap(ax, matrix, source, target, title=_field(item, "title"))
    for ax in axes.flat[len(items):]:  # empty cells in the last row
        fig.delaxes(ax)
    save_figure(fig, path)
    return fig


# ---------------------------------------------------------------------------
# Training curves and BLEU by sentence length
# ---------------------------------------------------------------------------

#: Metric names containing one of these words are better when smaller.
_LOWER_IS_BETTER = ("loss", "error", "perplexity", "mse", "mae")


def _lower_is_better(metric: str) -> bool:
    return any(word in metric.lower() for word in _LOWER_IS_BETTER)


def _plot_one_metric(ax, history: Mapping[str, Sequence[float]], metric: str) -> None:
    """Train and validation curve of one metric, with the best validation epoch marked."""
    if metric not in history:
        raise KeyError(f"metric {metric!r} not in history; available: {sorted(history)}")
    train = np.asarray(history[metric], dtype=float)  # (epochs,)
    epochs = np.arange(1, len(train) + 1)  # Keras counts epochs from 1
    ax.plot(epochs, train, marker="o", label="train")
    val_key = f"val_{metric}"
    if val_key in history:
        val = np.asarray(history[val_key], dtype=float)
        val_epochs = np.arange(1, len(val) + 1)
        ax.plot(val_epochs, val, marker="o", label="validation")
        best = int(np.nanargmin(val) if _lower_is_better(metric) else np.nanargmax(val))
        ax.axvline(val_epochs[best], color="grey", linestyle="--", linewidth=1)
        ax.plot(val_epochs[best], val[best], marker="*", markersize=14, color="C3",
                linestyle="none", label=f"best validation (epoch {val_epochs[best]})")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.set_title(metric)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend()


def plot_history(
    history: Any,
    metrics: str | Sequence[str] = ("loss",),
    *,
    ax=None,
    path: str | Path | None = None,
) -> Figure:
    """Learning curves: one panel per metric, training and validation together.

    Args:
        history: what ``model.fit`` returns (a Keras ``History``) or its
            ``.history`` dict, e.g. ``{"loss": [...], "val_loss": [...]}``.
        metrics: metric names to plot; ``val_<name>`` is added when present.
        ax: one Axes (for one metric) or a sequence of Axes, one per metric.
        path: if given, also save a PNG there.

    A validation curve that turns upwards while the training curve keeps falling
    is the classic picture of overfitting; the star marks the best epoch.
    """
    logs = getattr(history, "history", history)  # Keras History -> dict
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    if ax is None:
        fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.8),
                                 layout="constrained", squeeze=False)
        axes = list(axes.flat)
    else:
        axes = [ax] if not isinstance(ax, (Sequence, np.ndarray)) else list(np.ravel(ax))
        if len(axes) != len(metrics):
            raise ValueError(f"got {len(axes)} Axes for {len(metrics)} metrics")
        fig = axes[0].figure
    for metric, metric_ax in zip(metrics, axes, strict=True):
        _plot_one_metric(metric_ax, logs, metric)
    save_figure(fig, path)
    return fig


def plot_bleu_by_length(table: pd.DataFrame, *, ax=None, path: str | Path | None = None) -> Figure:
    """Bar chart of BLEU per source-length bucket (grouped bars for several models).

    Args:
        table: columns ``bucket`` (e.g. ``"1-5"``) and ``bleu``; optionally
            ``model`` (one bar per model in each bucket) and ``sentences``
            (how many test sentences fall in the bucket, written above the bar),
            ``bleu_low`` and ``bleu_high`` (a confidence interval, drawn as an
            error bar). Buckets are shown in the order they first appear in the table.
        ax: draw on this Axes instead of a new figure.
        path: if given, also save a PNG there.

    Attention was invented because plain encoder-decoder models get much worse
    on long sentences; this plot shows whether yours does.
    """
    missing = {"bucket", "bleu"} - set(table.columns)
    if missing:
        raise ValueError(f"table is missing column(s) {sorted(missing)}")
    buckets = list(dict.fromkeys(table["bucket"].astype(str)))
    models = list(dict.fromkeys(table["model"])) if "model" in table.columns else [None]
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(5.0, 1.2 * len(buckets) * len(models) ** 0.5), 4),
                               layout="constrained")
    else:
        fig = ax.figure
    x = np.arange(len(buckets))  # one group of bars per bucket
    width = 0.8 / len(models)
    for k, model in enumerate(models):
        rows = table if model is None else table[table["model"] == model]
        rows = rows.assign(bucket=rows["bucket"].astype(str)).set_index("bucket").reindex(buckets)
        offset = (k - (len(models) - 1) / 2) * width
        bleu = rows["bleu"].to_numpy(dtype=float)
        error = None
        if {"bleu_low", "bleu_high"} <= set(rows.columns):  # (2, buckets): below, above
            error = np.stack([bleu - rows["bleu_low"].to_numpy(dtype=float),
                              rows["bleu_high"].to_numpy(dtype=float) - bleu])
        bars = ax.bar(x + offset, bleu, width, yerr=error, capsize=3 if error is not None else 0,
                      label=None if model is None else str(model))
        if "sentences" in rows.columns:
            labels = ["" if pd.isna(n) else f"n={int(n)}" for n in rows["sentences"]]
            ax.bar_label(bars, labels=labels, fontsize=8, padding=2)
    ax.set_xticks(x, labels=buckets)
    ax.set_xlabel("source sentence length (tokens)")
    ax.set_ylabel("BLEU")
    ax.set_title("BLEU by sentence length" + (" (error bars: bootstrap CI)"
                                              if "bleu_high" in table.columns else ""))
    top = np.nanmax(table["bleu_high" if "bleu_high" in table.columns else "bleu"]
                    .to_numpy(dtype=float))
    ax.set_ylim(0, top * 1.15 if top > 0 else 1.0)  # room for the n= labels
    ax.grid(axis="y", alpha=0.3)
    if models != [None]:
        ax.legend(title="model")
    save_figure(fig, path)
    return fig
