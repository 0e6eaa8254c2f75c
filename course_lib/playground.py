"""An interactive translator for the notebooks: type English, read German and the attention.

>>> from course_lib.playground import Playground
>>> Playground({"attention": attention_run, "transformer": transformer_run}).show()

The widget has a text box, a model menu, a beam-width menu and a *Translate* button
(pressing Enter in the text box does the same). Each translation shows the German
sentence, the hypotheses beam search kept with their scores, and the attention
heatmap of the best one. Empty input and sentences of unknown words get a message
instead of an error.

The work is done by :meth:`Playground.translate`, which returns plain data (text,
alternatives, PNG bytes) and is tested without a browser; :meth:`Playground.widget`
only lays the result out with ipywidgets. Only widget features present in both
ipywidgets 7 (Colab) and 8 (JupyterLab 4) are used: ``Text`` with
``continuous_update=False`` instead of ``on_submit``, ``add_class`` for the CSS
classes the browser test finds the outputs by.
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping
from dataclasses import dataclass, field

from .decoding import TranslationInputError, Translator

#: The CSS classes of the output widgets (the browser test reads them).
CSS = {"input": "nmt-input", "translate": "nmt-translate", "output": "nmt-translation",
       "alternatives": "nmt-alternatives", "heatmap": "nmt-heatmap", "message": "nmt-message"}

BEAM_WIDTHS = (1, 2, 4, 8)


@dataclass
class PlaygroundResult:
    """What one press of *Translate* shows. ``message`` is set instead when nothing can be."""

    text: str = ""
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    heatmap_png: bytes | None = None
    unknown_words: list[str] = field(default_factory=list)
    message: str = ""


class Playground:
    """Translate with any of several trained runs (or translators), by name.

    Args:
        models: name → a loaded :class:`course_lib.runs.Run` or a :class:`Translator`.
        beam_widths: the choices offered in the beam-width menu.
    """

    def __init__(self, models: Mapping[str, object], beam_widths=BEAM_WIDTHS):
        if not models:
            raise ValueError("Playground needs at least one model, e.g. {'attention': run}")
        self.translators = {name: getattr(m, "translator", m) for name, m in models.items()}
        for name, translator in self.translators.items():
            if not isinstance(translator, Translator):
                raise TypeError(f"model {name!r} is neither a run nor a Translator")
        self.beam_widths = tuple(beam_widths)

    def translate(self, sentence: str, model: str, beam_width: int = 1) -> PlaygroundResult:
        """Translate one sentence; returns text, alternatives, heatmap PNG, or a message."""
        if not sentence or not sentence.strip():
            return PlaygroundResult(message="Type an English sentence first.")
        translator = self.translators[model]
        try:
            hypotheses = translator.alternatives(sentence, beam_width=beam_width)
        except TranslationInputError:
            return PlaygroundResult(message=(
                f"The {model} model knows none of these words: {sentence.strip()!r}. "
                "Try a short everyday sentence, e.g. 'Tom is reading a book.'"))
        best = hypotheses[0][0]
        result = PlaygroundResult(
            text=best.text, unknown_words=best.unknown_words,
            alternatives=[(t.text, score) for t, score in hypotheses[:max(beam_width, 1)]])
        if best.weights is not None:
            result.heatmap_png = _heatmap_png(best)
        else:
            result.message = f"The {model} model has no attention, so there is no heatmap."
        if best.unknown_words:
            result.message = ("Unknown words, read as [UNK]: " + ", ".join(best.unknown_words)
                              + (". " + result.message if result.message else ""))
        return result

    def widget(self):
        """The ipywidgets user interface (call ``display`` on it, or use :meth:`show`)."""
        import ipywidgets as widgets

        text = widgets.Text(value="Tom is reading a book.", placeholder="an English sentence",
                            description="English:", continuous_update=False,
                            layout=widgets.Layout(width="60%"))
        model = widgets.Dropdown(options=list(self.translators), description="Model:")
        beam = widgets.Dropdown(options=list(self.beam_widths), value=self.beam_widths[0],
                                description="Beam width:")
        button = widgets.Button(description="Translate", button_style="primary")
        output = widgets.HTML()
        alternatives = widgets.HTML()
        message = widgets.HTML()
        heatmap = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        for w, name in ((text, "input"), (button, "translate"), (output, "output"),
                        (alternatives, "alternatives"), (heatmap, "heatmap"),
                        (message, "message")):
            w.add_class(CSS[name])

        def update(_=None):
            result = self.translate(text.value, model.value, beam.value)
            output.value = f"<b>German:</b> {html.escape(result.text)}" if result.text else ""
            alternatives.value = _alternatives_html(result.alternatives)
            message.value = f"<i>{html.escape(result.message)}</i>" if result.message else ""
            heatmap.value = result.heatmap_png or b""
            heatmap.layout.display = None if result.heatmap_png else "none"

        button.on_click(update)
        text.observe(update, names="value")       # Enter (or leaving the box) translates
        box = widgets.VBox([widgets.HBox([text, button]), widgets.HBox([model, beam]),
                            output, message, alternatives, heatmap])
        box.update = update                       # tests and notebooks can trigger it
        update()
        return box

    def show(self):
        """Display the widget in the notebook."""
        from IPython.display import display

        display(self.widget())


def _alternatives_html(alternatives: list[tuple[str, float]]) -> str:
    if len(alternatives) < 2:
        return ""
    rows = "".join(f"<tr><td>{html.escape(text)}</td><td>{score:.3f}</td></tr>"
                   for text, score in alternatives)
    return ("<table><tr><th>hypotheses beam search kept</th><th>score (log-prob / length)</th>"
            f"</tr>{rows}</table>")


def _heatmap_png(translation) -> bytes:
    import matplotlib.pyplot as plt

    from .plotting import attention_heatmap

    fig = attention_heatmap(translation.weights, translation.source_tokens, translation.tokens)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


__all__ = ["BEAM_WIDTHS", "CSS", "Playground", "PlaygroundResult"]
