"""The model diagrams: they draw, save, carry the papers' labels, and need no TensorFlow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from course_lib import diagrams  # noqa: E402

#: Labels each diagram must show (matplotlib mathtext source, as written by the module).
EXPECTED = {
    "encoder_decoder": ["c", "h$_1$", "s$_1$", "[start]", "[end]", "the bottleneck"],
    "teacher_forcing": ["Teacher forcing", "Free running", "[start]", "s$_1$", "war"],
    "bahdanau_step": ["s$_{i-1}$", "α$_{ij}$ = softmax$_j$(e$_{ij}$)", "c$_i$ = Σ$_j$ α$_{ij}$ h$_j$",
                      "GRU", "y$_{i-1}$", "s$_i$"],
    "luong_order": ["attention", "GRU", "s$_{i-1}$", "[s$_i$; c$_i$] → y$_i$"],
    "transformer_block": ["multi-head self-attention", "causal mask", "cross-attention",
                          "LayerNorm", "feed-forward", "√d + PE", "pre-LN", "post-LN", "× N"],
}


def _texts(fig) -> list[str]:
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    return texts + [ax.get_title() for ax in fig.axes]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_diagram_draws_boxes_arrows_and_its_labels(name, tmp_path):
    path = tmp_path / f"{name}.png"
    fig = getattr(diagrams, name)(path=path)
    texts = _texts(fig)
    for label in EXPECTED[name]:
        assert any(label in text for text in texts), (name, label, texts)
    patches = [p for ax in fig.axes for p in ax.patches]
    boxes = [p for p in patches if isinstance(p, FancyBboxPatch)]
    arrows = [p for p in patches if isinstance(p, FancyArrowPatch)]
    assert len(boxes) >= 8 and len(arrows) >= len(boxes) - 4, (len(boxes), len(arrows))
    for arrow in arrows:  # arrows between boxes stop at the box edges
        assert arrow.patchA is None or arrow.patchA in boxes
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    plt.close(fig)


def test_encoder_decoder_feeds_c_to_every_decoder_step():
    fig = diagrams.encoder_decoder()
    green = [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)
             and matplotlib.colors.to_hex(p.get_edgecolor()) == "#38761d"]
    assert len(green) == 4, "the Cho et al. decoder reads c at each of its 4 steps"
    plt.close(fig)


def test_module_does_not_import_tensorflow():
    code = "import sys, course_lib.diagrams; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(diagrams.__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"
