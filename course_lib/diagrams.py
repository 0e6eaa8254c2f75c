"""Pictures of the models, drawn by code so that they stay in step with the course.

Five diagrams, each a function returning a matplotlib ``Figure`` (and saving a PNG with
``path=``), so they render the same on Colab, Binder and GitHub:

* :func:`encoder_decoder` — the RNN encoder–decoder of Cho et al. (2014): the whole
  source squeezed into one fixed vector ``c`` that every decoder step reads (chapter 2);
* :func:`teacher_forcing` — what the decoder reads in training (the reference words)
  and when translating (its own previous words) (chapter 3);
* :func:`bahdanau_step` — one step of Bahdanau attention: scores from ``s_{i-1}`` and
  every ``h_j``, softmax weights, the context ``c_i``, then the GRU (chapter 5);
* :func:`luong_order` — the order of the Luong-style decoder: the GRU step first, then
  attention from the new state ``s_i`` (chapter 5);
* :func:`transformer_block` — the encoder and decoder blocks of the Transformer
  (Vaswani et al. 2017) as ``course_lib`` builds them: sub-layers, residual sums, layer
  norms, masks, and where the decoder reads the encoder (chapter 7).

Boxes are model states or words, arrows carry tensors; labels use the papers' notation.
Plain matplotlib, no TensorFlow.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import matplotlib.path as mpath
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

from .plotting import save_figure

#: Colours by role, the same in every diagram.
COLOURS = {"word": "#f2f2f2", "encoder": "#cfe2f3", "decoder": "#fce5cd",
           "context": "#d9ead3", "attention": "#ead1dc", "output": "#fff2cc"}


def _canvas(width: float, height: float, title: str):
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    ax.set_title(title, fontsize=11)
    return fig, ax


class Node(NamedTuple):
    """A drawn box: its centre and its patch (arrows stop at the patch's edge)."""

    x: float
    y: float
    patch: FancyBboxPatch


def _box(ax, x: float, y: float, text: str, role: str, width: float = 0.9,
         height: float = 0.5, size: float = 9) -> Node:
    """A rounded box centred at (x, y)."""
    patch = FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                           boxstyle="round,pad=0.02,rounding_size=0.08",
                           facecolor=COLOURS[role], edgecolor="#555555", linewidth=1)
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=size)
    return Node(x, y, patch)


def _arrow(ax, start: Node, end: Node, colour: str = "#555555", style: str = "-|>",
           dashed: bool = False, shrink: float = 2, rad: float = 0.0):
    """An arrow from one box's edge to another's."""
    ax.add_patch(FancyArrowPatch((start.x, start.y), (end.x, end.y), patchA=start.patch,
                                 patchB=end.patch, arrowstyle=style,
                                 mutation_scale=10, color=colour, linewidth=1, shrinkA=shrink,
                                 shrinkB=shrink, linestyle="--" if dashed else "-",
                                 connectionstyle=f"arc3,rad={rad}"))


def _note(ax, x, y, text, size=8, colour="#333333", **kwargs):
    ax.text(x, y, text, fontsize=size, color=colour, **kwargs)


def encoder_decoder(path: str | Path | None = None) -> Figure:
    """The RNN encoder–decoder (Cho et al. 2014): one fixed vector ``c`` for the whole source."""
    fig, ax = _canvas(10.5, 4.2, "Encoder–decoder: the whole sentence through one vector c")
    source = ["tom", "is", "tired", "."]
    encoder = [_box(ax, 0.8 + 1.1 * j, 2.2, f"h$_{j + 1}$", "encoder") for j in range(4)]
    for j, (word, h) in enumerate(zip(source, encoder)):
        _arrow(ax, _box(ax, h.x, 0.7, word, "word"), h)
        if j:
            _arrow(ax, encoder[j - 1], h, style="<|-|>")       # bidirectional GRU
    c = _box(ax, 5.4, 2.2, "c", "context", width=0.7)
    _arrow(ax, encoder[-1], c)
    _note(ax, 4.95, 2.75, "encoder summary\n(the bottleneck)", ha="center")
    outputs = ["tom", "ist", "müde", "[end]"]
    previous = ["[start]", "tom", "ist", "müde"]
    states = []
    for i, (y_out, y_in) in enumerate(zip(outputs, previous)):
        x = 6.4 + 1.05 * i
        s = _box(ax, x, 2.2, f"s$_{i + 1}$", "decoder")
        _arrow(ax, _box(ax, x, 0.7, y_in, "word", size=8), s)
        _arrow(ax, s, _box(ax, x, 3.6, y_out, "output", size=8))
        _arrow(ax, c, s, colour="#38761d", rad=-0.35 if i else 0.0)   # c at every step
        if states:
            _arrow(ax, states[-1], s)
        states.append(s)
    _note(ax, 0.3, 0.05, "English words → bidirectional GRU states h$_j$ → c (final states); "
          "every German step reads c, its previous word y$_{i-1}$ and its state s$_{i-1}$")
    return save_figure(fig, path)


def teacher_forcing(path: str | Path | None = None) -> Figure:
    """Training reads the reference's words; translating reads the model's own words."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 5.2), layout="constrained")
    reference = ["tom", "ist", "müde", "[end]"]
    predicted = ["tom", "war", "sehr", "müde"]
    for ax, title, inputs, outputs, own in (
            (top, "Teacher forcing (training): the decoder reads the correct previous word",
             ["[start]", *reference[:-1]], reference, False),
            (bottom, "Free running (translation): the decoder reads its own previous word",
             ["[start]", *predicted[:-1]], predicted, True)):
        ax.set_xlim(0, 10)
        ax.set_ylim(0, 2.4)
        ax.set_axis_off()
        ax.set_title(title, fontsize=10)
        states, ins, outs = [], [], []
        for i, (y_in, y_out) in enumerate(zip(inputs, outputs)):
            x = 1.2 + 2.0 * i
            states.append(_box(ax, x, 1.2, f"s$_{i + 1}$", "decoder"))
            ins.append(_box(ax, x, 0.3, y_in, "word", size=8))
            outs.append(_box(ax, x, 2.1, y_out, "output" if own else "word", size=8))
        for i, s in enumerate(states):
            _arrow(ax, ins[i], s)
            _arrow(ax, s, outs[i])
            if i:
                _arrow(ax, states[i - 1], s)
            if own and i + 1 < len(states):     # the prediction becomes the next input
                _arrow(ax, outs[i], ins[i + 1], colour="#cc0000", dashed=True, rad=-0.25)
        if own:
            _note(ax, 7.85, 1.05, "one wrong word ('war')\nchanges every\nlater input",
                  colour="#cc0000")
        else:
            _note(ax, 7.85, 1.05, "inputs come from\nthe reference: known\nbefore the step runs")
    return save_figure(fig, path)


def bahdanau_step(path: str | Path | None = None) -> Figure:
    """One decoder step of Bahdanau et al. (2014): attention *before* the GRU."""
    fig, ax = _canvas(10, 5.2, "One step of Bahdanau attention (chapter 5)")
    keys = [_box(ax, 0.9 + 1.2 * j, 0.6, f"h$_{j + 1}$", "encoder") for j in range(4)]
    scores = [_box(ax, k.x, 1.9, f"e$_{{i{j + 1}}}$", "attention", width=0.8)
              for j, k in enumerate(keys)]
    s_prev = _box(ax, 6.4, 1.9, "s$_{i-1}$", "decoder")
    for k, e in zip(keys, scores):
        _arrow(ax, k, e)
        _arrow(ax, s_prev, e, colour="#a64d79", rad=0.15)
    _note(ax, 0.25, 2.35, "e$_{ij}$ = v$_a^T$ tanh(W$_a$ s$_{i-1}$ + U$_a$ h$_j$)")
    weights = _box(ax, 2.7, 3.0, "α$_{ij}$ = softmax$_j$(e$_{ij}$)", "attention", width=2.6)
    for e in scores:
        _arrow(ax, e, weights)
    context = _box(ax, 2.7, 4.2, "c$_i$ = Σ$_j$ α$_{ij}$ h$_j$", "context", width=2.2)
    _arrow(ax, weights, context)
    gru = _box(ax, 6.4, 3.4, "GRU", "decoder")
    y_prev = _box(ax, 8.0, 3.4, "y$_{i-1}$", "word")
    _arrow(ax, s_prev, gru)
    _arrow(ax, context, gru)
    _arrow(ax, y_prev, gru)
    s_new = _box(ax, 6.4, 4.6, "s$_i$", "decoder")
    _arrow(ax, gru, s_new)
    out = _box(ax, 8.6, 4.6, "y$_i$", "output")
    _arrow(ax, s_new, out)
    _note(ax, 7.0, 4.95, "readout: [s$_i$; c$_i$; y$_{i-1}$]", ha="left")
    _note(ax, 6.9, 2.55, "the query is the\nprevious state s$_{i-1}$", colour="#a64d79")
    return save_figure(fig, path)


def luong_order(path: str | Path | None = None) -> Figure:
    """The two orders side by side: attention before the GRU (Bahdanau) or after it (Luong)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    for ax, title, before in ((left, "Bahdanau: attend with s$_{i-1}$, then the GRU", True),
                              (right, "Luong-style: the GRU, then attend with s$_i$", False)):
        ax.set_xlim(0, 5)
        ax.set_ylim(0, 4.2)
        ax.set_axis_off()
        ax.set_title(title, fontsize=10)
        s_prev = _box(ax, 1.0, 0.5, "s$_{i-1}$", "decoder")
        y_prev = _box(ax, 2.6, 0.5, "y$_{i-1}$", "word")
        h = _box(ax, 4.35, 1.6, "h$_1$…h$_S$", "encoder", width=1.1)
        if before:
            attend = _box(ax, 2.6, 1.6, "attention", "attention", width=1.3)
            gru = _box(ax, 1.0, 2.6, "GRU", "decoder")
            s_new = _box(ax, 1.0, 3.6, "s$_i$", "decoder")
            _arrow(ax, s_prev, attend)
            _arrow(ax, h, attend)
            _arrow(ax, attend, gru)
            _arrow(ax, s_prev, gru)
            _arrow(ax, y_prev, gru)
            _arrow(ax, gru, s_new)
            _note(ax, 2.0, 3.55, "the GRU needs c$_i$: steps run one by one")
        else:
            gru = _box(ax, 1.0, 1.6, "GRU", "decoder")
            s_new = _box(ax, 1.0, 2.6, "s$_i$", "decoder")
            attend = _box(ax, 2.9, 2.6, "attention", "attention", width=1.2)
            out = _box(ax, 2.9, 3.6, "[s$_i$; c$_i$] → y$_i$", "output", width=1.8)
            _arrow(ax, s_prev, gru)
            _arrow(ax, y_prev, gru)
            _arrow(ax, gru, s_new)
            _arrow(ax, s_new, attend)
            _arrow(ax, h, attend)
            _arrow(ax, attend, out)
            _note(ax, 3.2, 0.9, "the GRU never waits for c$_i$:\nall steps in one fused call",
                  size=7)
    return save_figure(fig, path)


def _stack(ax, x: float, layers: list[tuple[str, str]], bottom: float, step: float,
           width: float) -> list[Node]:
    """Boxes bottom-up at ``x``, each joined to the next by an arrow; ``+`` is a residual sum."""
    nodes = []
    for k, (text, role) in enumerate(layers):
        small = text == "+"
        node = _box(ax, x, bottom + k * step, text, role, width=0.45 if small else width,
                    height=0.42 if small else 0.5, size=11 if small else 8)
        if nodes:
            _arrow(ax, nodes[-1], node)
        nodes.append(node)
    return nodes


def _residuals(ax, nodes: list[Node], x: float, width: float, side: int) -> None:
    """Each ``+`` adds the stream from before its LayerNorm: an arrow around the sub-layer."""
    outer = x + side * (width / 2 + 0.3)              # the lane beside the column
    stream = nodes[1]                                 # the embedded words
    for node in nodes[2:]:
        if node.patch.get_width() >= 0.5:             # not a residual sum
            continue
        start = stream.x + side * stream.patch.get_width() / 2
        end = node.x + side * node.patch.get_width() / 2
        lane = mpath.Path([(start, stream.y), (outer, stream.y), (outer, node.y), (end, node.y)])
        ax.add_patch(FancyArrowPatch(path=lane, arrowstyle="-|>", mutation_scale=10,
                                     color="#3d85c6", linewidth=1.2))
        stream = node


def transformer_block(path: str | Path | None = None) -> Figure:
    """The Transformer's encoder and decoder blocks (Vaswani et al. 2017), pre-LN as built here."""
    fig, ax = _canvas(11, 10.5, "The Transformer as course_lib builds it: "
                                "N blocks per stack, pre-LN")
    step, width = 0.7, 2.9
    encoder = _stack(ax, 2.6, [
        ("English words", "word"), ("embedding · √d + PE (positions)", "encoder"),
        ("LayerNorm", "encoder"), ("multi-head self-attention\n(padding mask)", "attention"),
        ("+", "context"), ("LayerNorm", "encoder"),
        ("feed-forward: max(0, xW$_1$ + b$_1$) W$_2$ + b$_2$", "output"), ("+", "context"),
        ("LayerNorm → encoder output", "encoder")], bottom=1.0, step=step, width=width)
    decoder = _stack(ax, 7.9, [
        ("German words so far ([start] …)", "word"), ("embedding · √d + PE (positions)", "decoder"),
        ("LayerNorm", "decoder"),
        ("masked multi-head self-attention\n(causal mask: earlier words only)", "attention"),
        ("+", "context"), ("LayerNorm", "decoder"),
        ("multi-head cross-attention\nqueries: German; keys, values: English", "attention"),
        ("+", "context"), ("LayerNorm", "decoder"),
        ("feed-forward: max(0, xW$_1$ + b$_1$) W$_2$ + b$_2$", "output"), ("+", "context"),
        ("LayerNorm", "decoder"), ("linear → softmax over the German vocabulary", "output"),
        ("next German word", "word")], bottom=1.0, step=step, width=width)
    _residuals(ax, encoder, 2.6, width, side=-1)
    _residuals(ax, decoder, 7.9, width, side=1)
    _arrow(ax, encoder[-1], decoder[6], colour="#a64d79", rad=-0.2)      # keys and values
    for nodes, x in ((encoder, 2.6), (decoder, 7.9)):
        first, last = nodes[2], nodes[-2 if nodes is encoder else -4]
        bottom = first.y - 0.4
        ax.add_patch(Rectangle((x - width / 2 - 0.5, bottom), width + 1.0,
                               last.y + 0.4 - bottom, fill=False, linestyle=":",
                               edgecolor="#999999"))
    _note(ax, 0.05, 4.6, "× N\n(2 here,\n6 in the\npaper)", size=9)
    _note(ax, 10.2, 5.6, "× N", size=9)
    _note(ax, 4.3, 7.2, "to every decoder block:\nkeys and values", colour="#a64d79", size=8)
    _note(ax, 0.15, 0.25, "pre-LN, as built here: x + Sublayer(LN(x)); "
          "the paper (post-LN): LN(x + Sublayer(x)).  Blue arrows: residual connections.",
          size=8)
    return save_figure(fig, path)


__all__ = ["COLOURS", "bahdanau_step", "encoder_decoder", "luong_order", "teacher_forcing",
           "transformer_block"]
