"""``python -m course_lib export``: a SavedModel that translates without course_lib.

The in-graph text handling is compared with the Python functions it re-implements
(on the real corpus when it is present), and every model kind is exported, loaded
in a fresh interpreter where ``import course_lib`` fails, and made to translate a
few hundred validation sentences: the strings must equal the run's own greedy
translations, batch for batch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from collections import Counter

import pytest
import tensorflow as tf
from helpers import corpus_snapshot, run_cli

from course_lib import data, runs, tokenization
from course_lib.corpus import read_pairs
from course_lib.export import InGraphBytePairEncoding, export_run, normalize_in_graph
from course_lib.files import OutputPathError
from course_lib.significance import seeded_sample
from course_lib.subwords import BytePairEncoding

#: Inputs that exercise every normalising rule and every way a sentence can be awkward.
AWKWARD = [
    "„Schön!“, sagte er.", "Tom’s car cost $3.5, or 1,000 times 1.2.3!", "He\u00a0is\u2009here .",
    "Mu\u0308ller und Go\u0308the gru\u0308ßen.", "WHAT?!", "« Oui » … (sagte sie) [laut];",
    "I can't... won't", "5,5 und 6.", "Zzyzx qwertzuiop florbnik.", "A " * 60 + "end.",
    "‚Hallo‘ ‹du› ´x` „y‟ ″z″", "tab\tand\nnewline",
]


@pytest.fixture(scope="module")
def prepared():
    path = corpus_snapshot()
    if path is None:
        pytest.skip("corpus snapshot absent: set COURSE_DATA or provide ../shared/data/deu-eng.zip")
    return data.prepare_data(path, verbose=False)


def test_normalising_in_the_graph_matches_python():
    sentences = AWKWARD + ["Er hat 3.000 Euro.", "„Ich weiß es nicht“, sagte sie."]
    characters = {c for s in sentences for c in tokenization.normalize(s)}
    recompose = [(d, c) for c in characters if (d := unicodedata.normalize("NFD", c)) != c]
    in_graph = normalize_in_graph(tf.constant(sentences), recompose).numpy()
    assert [s.decode() for s in in_graph] == [tokenization.normalize(s) for s in sentences]


def test_normalising_in_the_graph_matches_python_on_the_corpus(prepared):
    """Raw corpus lines, with their capitals, quotes, numbers and punctuation."""
    raw = [s for pair in read_pairs(corpus_snapshot()).pairs for s in pair]
    sample, rule = seeded_sample(raw, 20_000)
    recompose = [(d, c) for c in {c for s in sample for c in s}
                 if (d := unicodedata.normalize("NFD", c)) != c]
    in_graph = [s.decode() for s in normalize_in_graph(tf.constant(sample), recompose).numpy()]
    differ = [(s, g) for s, g in zip(sample, in_graph) if g != tokenization.normalize(s)]
    assert not differ, (rule, differ[:5])


def test_byte_pair_segmentation_in_the_graph_matches_python(prepared):
    german = [de for _, de in prepared.train[:20_000]]
    bpe = BytePairEncoding.learn(german, 600)
    words = Counter(w for _, de in prepared.val for w in de.split())
    sample = sorted(words)[:3000] + ["aaaa", "a", "ßßß", "überübermorgen"]
    ragged = tf.ragged.constant([[w] for w in sample])
    got = tf.function(InGraphBytePairEncoding(bpe.merges).segment)(ragged).to_list()
    expected = [list(bpe.segment_word(w)) for w in sample]
    assert [[p.decode() for p in row] for row in got] == expected


EXPORT_CLIENT = r"""
import json, sys
sys.modules["course_lib"] = None            # importing course_lib now fails
try:
    import course_lib  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("course_lib is importable")
import tensorflow as tf

translator = tf.saved_model.load(sys.argv[1])
chunks = json.loads(open(sys.argv[2], encoding="utf-8").read())
out = {"translations": [], "signature": None, "empty_error": None}
for chunk in chunks:
    texts = translator.translate(tf.constant(chunk)).numpy()
    out["translations"].extend(t.decode("utf-8") for t in texts)
signature = translator.signatures["translate"]
out["signature"] = [s.decode() for s in signature(sentences=tf.constant(chunks[0][:2]))
                    ["output_0"].numpy()]
try:
    translator.translate(tf.constant(["I am here.", "   "]))
except tf.errors.InvalidArgumentError as error:
    out["empty_error"] = error.message
open(sys.argv[3], "w", encoding="utf-8").write(json.dumps(out, ensure_ascii=False))
"""


#: Each case trains a small run (half a minute or more): under Colab's and the lowest versions
#: (``-m "not once"``) the attention model with subwords stands for the four.
@pytest.mark.parametrize("kind, merges", [pytest.param("baseline", None, marks=pytest.mark.once),
                                          ("attention", 300),
                                          pytest.param("luong", None, marks=pytest.mark.once),
                                          pytest.param("transformer", 300,
                                                       marks=pytest.mark.once)])
def test_an_exported_run_translates_like_the_run_without_course_lib(tmp_path, prepared, kind,
                                                                      merges):
    # Small but trained long enough that its translations depend on the sentence: an
    # untrained model writes the same words for every input, and equal outputs prove little.
    settings = runs.RunSettings(kind=kind, source_vocab=1500, target_vocab=1500, embedding_dim=32,
                                units=64, subword_merges=merges, epochs=4, patience=4,
                                batch_size=64, max_train_pairs=8000, max_source_length=6,
                                jit_compile=False, profile="quick")
    run = runs.train_run(prepared, settings, tmp_path / "run", verbose=0)
    export_run(tmp_path / "run", tmp_path / "export")
    sources = sorted({en for en, _ in prepared.val})
    sample, rule = seeded_sample(sources, 300)
    sentences = AWKWARD + sample
    chunks = [sentences[i:i + 64] for i in range(0, len(sentences), 64)]
    (tmp_path / "chunks.json").write_text(json.dumps(chunks, ensure_ascii=False), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-c", EXPORT_CLIENT, str(tmp_path / "export"),
                    str(tmp_path / "chunks.json"), str(tmp_path / "out.json")],
                   check=True, cwd=tmp_path, env=env, capture_output=True, timeout=600)
    got = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    with pytest.warns(UserWarning):                       # the over-long sentence is cut
        expected = [t.text for chunk in chunks
                    for t in run.translator.translate(chunk, strict=False)]
    mismatches = [(s, g, e) for s, g, e in zip(sentences, got["translations"], expected) if g != e]
    assert len(got["translations"]) == len(sentences) == 312, rule
    assert not mismatches, mismatches[:5]
    assert len(set(expected)) >= 100, "the model writes the same few sentences for every input"
    assert got["signature"] == expected[:2]
    assert "at least one word" in got["empty_error"]
    meta = json.loads((tmp_path / "export" / "export.json").read_text(encoding="utf-8"))
    assert meta["kind"] == kind and meta["data_sha256"] == run.metadata["data_sha256"]


def test_export_never_overwrites_and_checks_the_run_first(tmp_path, capsys):
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(OutputPathError, match="not an empty folder"):
        export_run(tmp_path / "no-run", occupied)
    assert (occupied / "keep.txt").read_text(encoding="utf-8") == "mine"
    with pytest.raises(runs.RunError, match="does not exist"):
        export_run(tmp_path / "no-run", tmp_path / "new")
    assert not (tmp_path / "new").exists()
    code, _, err = run_cli(capsys, "export", str(tmp_path / "no-run"), str(occupied))
    assert code == 2 and "not an empty folder" in err
