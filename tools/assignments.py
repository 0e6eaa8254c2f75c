"""Turn ``chapters/`` into otter-grader assignments: the course's checks as graded tests.

    python tools/assignments.py build OUT            # every chapter
    python tools/assignments.py build OUT 04_bleu    # some chapters

For each chapter ``OUT/NN_name/`` holds

* ``NN_name.ipynb`` — the chapter notebook to hand out, unchanged for the learner except
  that the cells the autograder skips carry the ``otter_ignore`` tag (see below);
* ``tests/<exercise>.py`` — one otter-grader test file per exercise, one test case (one
  point) per case of the exercise's ``course_lib`` check: partial credit by case;
* ``requirements.txt`` — what a grading container installs (this release of course_lib);
* ``autograder.zip`` — made by ``otter generate``: grade a submission with
  ``otter run -a OUT/NN_name/autograder.zip submission.ipynb`` (or upload it to Gradescope).

**Why otter-grader.** Its test files are Python, each test case carries its own points,
and ``otter run`` grades on the teacher's machine without Docker or a database; nbgrader
gives a grade cell all or nothing, so per-case credit would need one cell per case, and it
runs as a Jupyter server extension with its own database and course folder layout.

**What the autograder runs.** Only the cells that define things: the exercise cells, cells
of nothing but imports, functions and classes, and — from every other cell — its import
lines, gathered into one cell after the set-up. Training, data loading and plots are skipped
(tagged ``otter_ignore``), so a notebook is graded in seconds, and an answer is graded on the
check's own inputs, as in the notebook. An answer that reads a variable made by a skipped
cell (``vectorizers``, ``prepared``…) therefore fails: the exercises never need one.

``OUT`` must be missing, empty, or a folder this command built before (marker file
``.course-assignments``); anything else is refused before a file is written.
"""

from __future__ import annotations

import argparse
import ast
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout: find course_lib
    sys.path.insert(0, str(ROOT))

from course_lib import __version__, config  # noqa: E402 (after the sys.path fix above)
from course_lib.grading import cases_of  # noqa: E402

CHAPTERS = ROOT / "chapters"
MARKER = ".course-assignments"
IGNORE_TAG = "otter_ignore"
IMPORTS_ID = "autograder-imports"


class AssignmentError(RuntimeError):
    """A folder or notebook this tool refuses, with what to do instead."""


def exercises(nb: NotebookNode) -> list[tuple[str, str]]:
    """``(check name, answer name)`` for every ``checks.check_X(answer)`` call, in order."""
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(_parsed(cell.source) or ast.Module(body=[], type_ignores=[])):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "checks"
                    and node.func.attr.startswith("check_") and len(node.args) == 1
                    and isinstance(node.args[0], ast.Name)):
                found.append((node.func.attr, node.args[0].id))
    return found


def _parsed(source: str) -> ast.Module | None:
    """The cell's syntax tree, or None for cells with IPython magics (the set-up cell)."""
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)


def graded_cell(cell: NotebookNode) -> bool:
    """Does the autograder run this cell? Code cells of nothing but imports and definitions."""
    tree = _parsed(cell.source)
    return (tree is not None and bool(tree.body)
            and all(isinstance(node, _DEFINITIONS) for node in tree.body))


def imports_of(cells: list[NotebookNode]) -> list[str]:
    """The top-level import statements of ``cells``, each once, in order of first use."""
    lines: list[str] = []
    for cell in cells:
        tree = _parsed(cell.source)
        for node in tree.body if tree else []:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                text = ast.get_source_segment(cell.source, node)
                if text not in lines:
                    lines.append(text)
    return lines


def assignment_notebook(chapter: NotebookNode) -> NotebookNode:
    """The chapter with the skipped cells tagged and one cell of their imports after the set-up."""
    nb = nbformat.from_dict(chapter)
    skipped = []
    for cell in nb.cells:
        if cell.cell_type == "code" and not graded_cell(cell):
            tags = cell.metadata.setdefault("tags", [])
            if IGNORE_TAG not in tags:
                tags.append(IGNORE_TAG)
            skipped.append(cell)
    imports = nbformat.v4.new_code_cell(
        "# For the autograder, which skips the cells that load data, train or plot: the\n"
        "# imports of those cells. Running it in the notebook changes nothing.\n"
        + "\n".join(imports_of(skipped)))
    imports.id = IMPORTS_ID
    nb.cells.insert(2, imports)                       # after the header and the set-up cell
    return nb


def test_file(chapter: str, check_name: str, answer_name: str) -> str:
    """An otter-grader test file: one point per case of ``checks.<check_name>``."""
    cases = cases_of(check_name)
    lines = [
        f'"""{chapter}: the exercise `{answer_name}`, graded by course_lib.checks.{check_name}.',
        "",
        f"{len(cases)} cases, one point each (partial credit by case). Generated by",
        f"tools/assignments.py from course_lib {__version__}; do not edit by hand.",
        '"""',
        "",
        "from otter.test_files import test_case",
        "",
        "from course_lib.grading import require_case",
        "",
        "OK_FORMAT = False",
        f'name = "{answer_name}"',
        f"points = {len(cases)}",
    ]
    for number, description in enumerate(cases, start=1):
        lines += ["", "",
                  f"@test_case(name={f'{answer_name} case {number}: {description}'!r}, points=1)",
                  f"def case_{number}(env):",
                  f"    require_case(env, {check_name!r}, {answer_name!r}, {number})"]
    return "\n".join(lines) + "\n"


def requirements() -> str:
    return f"course_lib @ {config.PIP_INSTALL_URL}\notter-grader\n"


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir())
                                              and not (out / MARKER).exists())):
        raise AssignmentError(f"{out} exists and was not built by this command: choose an empty "
                              "or new folder (nothing was written)")


def build(out: Path, names: list[str] | None = None) -> list[Path]:
    """Write the assignments of ``names`` (default: every chapter) to ``out``; return their folders."""
    out = Path(out)
    _check_out(out)
    paths = sorted(CHAPTERS.glob("*.ipynb"))
    if names:
        wanted = {Path(n).stem for n in names}
        unknown = wanted - {p.stem for p in paths}
        if unknown:
            raise AssignmentError(f"no chapter named {', '.join(sorted(unknown))} in {CHAPTERS}")
        paths = [p for p in paths if p.stem in wanted]
    staging = Path(tempfile.mkdtemp(prefix=".assignments-", dir=out.parent if out.parent.exists()
                                    else None))
    try:
        folders = [_build_one(path, staging) for path in paths]
        (staging / MARKER).write_text(f"built by tools/assignments.py, course_lib {__version__}\n",
                                      encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)                        # an earlier build (marker checked above)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging), out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out / folder.name for folder in folders]


def _build_one(path: Path, staging: Path) -> Path:
    chapter = nbformat.read(path, as_version=4)
    folder = staging / path.stem
    (folder / "tests").mkdir(parents=True)
    nbformat.write(assignment_notebook(chapter), folder / path.name)
    for check_name, answer_name in exercises(chapter):
        (folder / "tests" / f"{answer_name}.py").write_text(
            test_file(path.stem, check_name, answer_name), encoding="utf-8")
    (folder / "requirements.txt").write_text(requirements(), encoding="utf-8")
    otter = Path(sys.executable).with_name("otter")
    command = [str(otter) if otter.exists() else "otter", "generate", "--tests-dir", "tests",
               "--output-path", "autograder.zip", "--no-environment"]
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssignmentError(f"otter generate failed for {path.stem}:\n{result.stderr[-2000:]}")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="write otter-grader assignments for the chapters")
    p.add_argument("out", type=Path)
    p.add_argument("names", nargs="*", help="chapters, e.g. 04_bleu (default: all)")
    args = parser.parse_args(argv)
    try:
        for folder in build(args.out, args.names):
            tests = sorted((folder / "tests").glob("*.py"))
            print(f"{folder}: {len(tests)} exercise(s), autograder.zip")
    except AssignmentError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
