"""``tools/assignments.py``: the chapters as otter-grader assignments, graded by real ``otter run``.

Every chapter is built; then the solved notebook (the assignment with its exercise cells
taken from ``solutions/``) must earn full marks, the unsolved one zero, and answers with a
typical mistake part of the points, case by case.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import assignments  # noqa: E402

from course_lib import checks  # noqa: E402
from course_lib.grading import cases_of, grade  # noqa: E402

pytestmark = [
    pytest.mark.once,
    pytest.mark.skipif(importlib.util.find_spec("otter") is None,
                       reason='otter-grader is not installed (pip install -e ".[grading]")'),
]

CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("*.ipynb"))

#: A typical mistake per exercise: (chapter, exercise, wrong body replacing the solution).
MISTAKES = {
    "04_bleu": ("clipped_matches", '''    hyp_counts = metrics.ngrams(hyp_tokens, n)
    in_a_reference = set()
    for ref in refs_tokens:
        in_a_reference |= set(metrics.ngrams(ref, n))
    # the mistake: every n-gram found in a reference counts, however often it repeats
    matches = sum(count for gram, count in hyp_counts.items() if gram in in_a_reference)
    return matches, sum(hyp_counts.values())
'''),
    "08_transformer_in_practice": ("smoothed_cross_entropy", '''    log_p = ops.log_softmax(logits, axis=-1)
    right_word = ops.take_along_axis(log_p, ops.expand_dims(labels, -1), axis=-1)[..., 0]
    # the mistake: epsilon spread over the V - 1 wrong words only
    vocabulary = ops.shape(log_p)[-1]
    others = (ops.sum(log_p, axis=-1) - right_word) / (vocabulary - 1)
    return -(1.0 - epsilon) * right_word - epsilon * others
'''),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("assignments") / "out"
    assignments.build(out)
    return out


def submission(built: Path, chapter: str, answers: str, tmp: Path, mistake: str = "") -> Path:
    """The handed-out notebook with its exercise cells as the learner would leave them.

    ``answers``: "solved" (the bodies from solutions/), "unsolved" (as handed out) or
    "mistake" (solved, except the exercise of :data:`MISTAKES` with the wrong body).
    """
    nb = nbformat.read(built / chapter / f"{chapter}.ipynb", as_version=4)
    solved = {c.id: c for c in nbformat.read(ROOT / "solutions" / f"{chapter}.ipynb", 4).cells}
    for cell in nb.cells:
        if cell.cell_type == "code" and "NotImplementedError" in cell.source and answers != "unsolved":
            cell.source = solved[cell.id].source
            if answers == "mistake" and f"def {MISTAKES[chapter][0]}(" in cell.source:
                head, _, rest = cell.source.partition("    # BEGIN SOLUTION\n")
                _, _, tail = rest.partition("    # END SOLUTION\n")
                cell.source = head + mistake + tail
    path = tmp / f"{chapter}-{answers}" / f"{chapter}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    return path


def otter_run(built: Path, chapter: str, notebook: Path) -> dict[str, tuple[float, float]]:
    """``otter run`` on one submission: {exercise: (score, max score)}."""
    results = notebook.parent / "results"
    results.mkdir()
    otter = Path(sys.executable).with_name("otter")
    subprocess.run([str(otter), "run", "-a", str(built / chapter / "autograder.zip"),
                    str(notebook), "-o", str(results), "--no-logo"],
                   check=True, capture_output=True, text=True, timeout=900,
                   env={**os.environ, "COURSE_QUICK": "1"})
    tests = json.loads((results / "results.json").read_text(encoding="utf-8"))["tests"]
    return {t["name"]: (t["score"], t["max_score"]) for t in tests if "max_score" in t}


def test_every_exercise_is_graded_case_by_case(built):
    for chapter in CHAPTERS:
        handed_out = nbformat.read(ROOT / "chapters" / f"{chapter}.ipynb", 4)
        exercises = assignments.exercises(handed_out)
        assert exercises, chapter
        files = sorted(p.stem for p in (built / chapter / "tests").glob("*.py"))
        assert files == sorted(answer for _, answer in exercises)
        for check_name, answer in exercises:
            text = (built / chapter / "tests" / f"{answer}.py").read_text(encoding="utf-8")
            cases = cases_of(check_name)
            assert f"points = {len(cases)}" in text
            assert len(cases) >= 3
        assert (built / chapter / "autograder.zip").stat().st_size > 0
        notebook = nbformat.read(built / chapter / f"{chapter}.ipynb", 4)
        skipped = [c for c in notebook.cells if "otter_ignore" in c.metadata.get("tags", [])]
        assert all(assignments.graded_cell(c) is False for c in skipped)
        assert not any("NotImplementedError" in c.source for c in skipped)   # exercises are run


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_solved_earns_full_marks_and_unsolved_zero(built, tmp_path, chapter):
    solved = otter_run(built, chapter, submission(built, chapter, "solved", tmp_path))
    unsolved = otter_run(built, chapter, submission(built, chapter, "unsolved", tmp_path))
    print(chapter, "solved", solved, "unsolved", unsolved)          # shown with pytest -s
    assert solved and set(solved) == set(unsolved)
    assert all(score == maximum > 0 for score, maximum in solved.values()), solved
    assert all(score == 0 for score, _ in unsolved.values()), unsolved


@pytest.mark.parametrize("chapter", sorted(MISTAKES))
def test_a_typical_mistake_earns_part_of_the_points(built, tmp_path, chapter):
    exercise, body = MISTAKES[chapter]
    scores = otter_run(built, chapter, submission(built, chapter, "mistake", tmp_path, body))
    score, maximum = scores[exercise]
    print(chapter, "with a mistake in", exercise, scores)             # shown with pytest -s
    assert 0 < score < maximum, scores
    others = {name: s for name, s in scores.items() if name != exercise}
    assert all(s == m for s, m in others.values())


def test_grading_records_one_verdict_per_case():
    def no_clipping(hyp, refs, n):
        from course_lib import metrics
        grams = metrics.ngrams(hyp, n)
        found = set().union(*(metrics.ngrams(r, n) for r in refs))
        return sum(c for g, c in grams.items() if g in found), sum(grams.values())

    items = grade("check_clipped_matches", no_clipping)
    assert len(items) == len(cases_of("check_clipped_matches")) == 4
    assert 0 < sum(item.passed for item in items) < 4
    failed = [item for item in items if not item.passed]
    assert all("Hint:" in item.message for item in failed)
    layer = grade("check_encoder", checks.framework.Case)           # not a Keras layer
    assert layer and not any(item.passed for item in layer)
    with pytest.raises(ValueError, match="not one of course_lib's exercise checks"):
        grade("recording", no_clipping)


def test_build_refuses_a_folder_it_did_not_make(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(assignments.AssignmentError, match="not built by this command"):
        assignments.build(mine, ["01_data"])
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "keep"
    with pytest.raises(assignments.AssignmentError, match="no chapter named"):
        assignments.build(tmp_path / "new", ["99_nothing"])
    assert not (tmp_path / "new").exists()
    shutil.rmtree(mine)
