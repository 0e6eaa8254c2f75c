"""Shared test set-up: quiet TensorFlow, quick mode, the corpus snapshot, a tiny corpus.

The snapshot is read from ``$COURSE_DATA`` or ``../shared/data/deu-eng.zip`` (next to
the project); it is never copied into the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT.parent / "shared" / "data" / "deu-eng.zip"

# Before anything imports TensorFlow (the notebook kernels inherit these too).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("COURSE_QUICK", "1")
if "COURSE_DATA" not in os.environ and SNAPSHOT.exists():
    os.environ["COURSE_DATA"] = str(SNAPSHOT)


@pytest.fixture(scope="module")
def vec():
    """Tiny vectorizers for the model tests (a module may define its own ``vec``)."""
    from helpers import tiny_vectorizers

    return tiny_vectorizers()


@pytest.fixture(scope="module")
def batch(vec):
    """(source, decoder_input, labels) of sentences of mixed lengths, padded."""
    from helpers import mixed_length_batch

    return mixed_length_batch(vec)


def pytest_report_header(config):
    return [f"course: COURSE_QUICK={os.environ.get('COURSE_QUICK')} "
            f"COURSE_DATA={os.environ.get('COURSE_DATA', '(unset: cache or download)')}"]


def pytest_terminal_summary(terminalreporter):
    """Print how many notebook cells nbval checked, so a silent zero cannot hide."""
    stats = terminalreporter.stats
    cells = [r for key in ("passed", "failed", "skipped") for r in stats.get(key, [])
             if getattr(r, "nodeid", "").split("::")[0].endswith(".ipynb")]
    notebooks = {r.nodeid.split("::")[0] for r in cells}
    terminalreporter.write_line(f"nbval: {len(cells)} notebook cell items from "
                                f"{len(notebooks)} notebook(s)")


# --------------------------------------------------------------------------- tiny corpus

_NAMES = [("Tom", "Tom"), ("Mary", "Maria"), ("Anna", "Anna"), ("Paul", "Paul"),
          ("my father", "mein Vater"), ("the teacher", "der Lehrer")]
_ADJECTIVES = [("happy", ["froh", "glücklich"]), ("tired", ["müde"]), ("tall", ["groß"]),
               ("hungry", ["hungrig"]), ("angry", ["böse", "wütend"]), ("nice", ["nett"]),
               ("late", ["spät dran"]), ("ready", ["bereit", "fertig"])]
_NOUNS = [("a dog", "einen Hund"), ("a cat", "eine Katze"), ("a house", "ein Haus"),
          ("a car", "ein Auto"), ("a key", "einen Schlüssel"), ("a bike", "ein Fahrrad")]


def tiny_pairs() -> list[tuple[str, str]]:
    """About 150 made-up pairs in the corpus format (some sources have 2 translations)."""
    pairs = []
    for en_name, de_name in _NAMES:
        for en_adj, de_adjs in _ADJECTIVES:
            for de_adj in de_adjs:
                pairs.append((f"{en_name.capitalize()} is {en_adj}.",
                              f"{de_name[0].upper() + de_name[1:]} ist {de_adj}."))
        for en_noun, de_noun in _NOUNS:
            pairs.append((f"{en_name.capitalize()} has {en_noun}.",
                          f"{de_name[0].upper() + de_name[1:]} hat {de_noun}."))
            pairs.append((f"Does {en_name} have {en_noun}?",
                          f"Hat {de_name} {de_noun}?"))
    return pairs


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    """A small deu.txt (two columns, UTF-8) written fresh for the test session."""
    path = tmp_path_factory.mktemp("tiny") / "deu.txt"
    path.write_text("".join(f"{en}\t{de}\n" for en, de in tiny_pairs()), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def snapshot_path() -> Path:
    path = Path(os.environ.get("COURSE_DATA", SNAPSHOT))
    if not path.exists():
        pytest.skip(f"corpus snapshot not found at {path} (set COURSE_DATA)")
    return path
