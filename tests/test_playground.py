"""The playground (course_lib.playground): translations, alternatives, heatmap, messages, widget.

The browser test (tests/test_playground_browser.py) opens the same widget in JupyterLab.
"""

import pytest
from helpers import overfit, tiny_model, tiny_pairs, tiny_vectorizers

from course_lib.decoding import Translator, beam_search
from course_lib.playground import CSS, Playground

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def vec():
    return tiny_vectorizers()


@pytest.fixture(scope="module")
def playground(vec):
    translators = {}
    for kind in ("attention", "baseline"):
        model = tiny_model(kind, vec, seed=0)
        overfit(model, vec, tiny_pairs(), steps=60)
        translators[kind] = Translator(model, vec)
    return Playground(translators)


def test_translates_and_draws_the_attention(playground):
    result = playground.translate("The door is open.", "attention", beam_width=1)
    assert result.text == "die tür ist offen."
    assert result.heatmap_png.startswith(PNG_MAGIC)
    assert result.message == "" and result.unknown_words == []


def test_beam_alternatives_come_best_first_with_scores(playground):
    result = playground.translate("Where is the street?", "attention", beam_width=4)
    assert result.text == "wo ist die straße?"
    texts, scores = zip(*result.alternatives)
    assert 1 <= len(texts) <= 4 and texts[0] == result.text
    assert list(scores) == sorted(scores, reverse=True) and all(s <= 0 for s in scores)


def test_alternatives_agree_with_beam_search(vec, playground):
    translator = playground.translators["attention"]
    source = vec.source_ids(["the bread is big ."]).to_tensor()
    best = beam_search(translator.model, source, vec.start_id, vec.end_id,
                       translator.max_output_tokens, beam_width=3)
    alternatives = translator.alternatives("The bread is big.", beam_width=3)
    first = alternatives[0][0]
    assert [vec.target_vocab[i] for i in best.ids[0, :best.lengths[0]]] == first.tokens
    assert first.weights.shape == (len(first.tokens), 5)


def test_a_model_without_attention_says_so(playground):
    result = playground.translate("The door is open.", "baseline", beam_width=2)
    assert result.text and result.heatmap_png is None
    assert "no attention" in result.message


@pytest.mark.parametrize("sentence", ["", "   "])
def test_empty_input_gets_a_message(playground, sentence):
    result = playground.translate(sentence, "attention")
    assert result.text == "" and result.message == "Type an English sentence first."


def test_unknown_words_get_a_message_not_an_error(playground):
    result = playground.translate("Xylophones zigzag quixotically", "attention")
    assert result.text == "" and "knows none of these words" in result.message
    partly = playground.translate("The zebra is open.", "attention")
    assert partly.text and partly.unknown_words == ["zebra"]
    assert "zebra" in partly.message


def test_needs_models_it_can_use():
    with pytest.raises(ValueError, match="at least one model"):
        Playground({})
    with pytest.raises(TypeError, match="neither a run nor a Translator"):
        Playground({"x": object()})


def test_widget_updates_on_submit_and_on_click(playground):
    pytest.importorskip("ipywidgets")
    box = playground.widget()
    by_class = {}

    def walk(widget):
        for name in widget._dom_classes:
            by_class[name] = widget
        for child in getattr(widget, "children", ()):
            walk(child)

    walk(box)
    assert set(CSS.values()) <= set(by_class)
    output, heatmap = by_class[CSS["output"]], by_class[CSS["heatmap"]]
    assert "German:" in output.value                       # translated on display
    by_class[CSS["input"]].value = "Where is the street?"  # what Enter does
    assert "wo ist die straße?" in output.value
    assert bytes(heatmap.value).startswith(PNG_MAGIC)
    by_class[CSS["input"]].value = ""
    assert output.value == "" and "Type an English sentence" in by_class[CSS["message"]].value
    by_class[CSS["input"]].value = "The door is open."
    by_class[CSS["translate"]].click()                     # the button does the same
    assert "die tür ist offen." in output.value
    assert bytes(heatmap.value).startswith(PNG_MAGIC)
