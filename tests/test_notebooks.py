"""Notebook hygiene, the notebook tool (tools/notebooks.py), checks and setup().

Three groups of tests:

* **Hygiene of the committed notebooks**, parametrised over ``solutions/*.ipynb``
  (zero cases, reported as skipped, while there are no notebooks yet): kernelspec,
  header and setup cells, execution order, no stderr, chapters in sync.
* **The tool itself**, on small notebooks built in ``tmp_path``.
* **course_lib.checks.run_check** and **course_lib.notebook.setup**.

Each chapter is executed once, here: the learner's copy in ``chapters/``, with its exercises
unsolved, its shared cells compared with the solved notebook's stored outputs as nbval
would compare them (``python -m pytest solutions/`` runs nbval on the solved ones).
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _load_tool():
    spec = importlib.util.spec_from_file_location("course_notebooks_tool",
                                                  ROOT / "tools" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


T = _load_tool()
config = importlib.import_module("course_lib.config")
checks = importlib.import_module("course_lib.checks")

SOLUTION_NAMES = sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb"))
SYNC_HINT = "run `python tools/notebooks.py sync` and commit the result"


def _read(folder: str, name: str) -> nbformat.NotebookNode:
    return nbformat.read(str(ROOT / folder / name), as_version=4)


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


# =============================================================================
# Hygiene of the committed notebooks
# =============================================================================


def test_solutions_and_chapters_have_the_same_notebooks():
    chapters = sorted(p.name for p in (ROOT / "chapters").glob("*.ipynb"))
    assert chapters == SOLUTION_NAMES, (
        f"solutions/ and chapters/ hold different notebooks; {SYNC_HINT}")


@pytest.fixture(params=SOLUTION_NAMES)
def name(request) -> str:
    return request.param


@pytest.mark.parametrize("folder", ["solutions", "chapters"])
def test_kernelspec_is_python3(name, folder):
    nb = _read(folder, name)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", f"{folder}/{name}"


@pytest.mark.parametrize("folder", ["solutions", "chapters"])
def test_first_cell_has_title_and_badges_for_its_own_path(name, folder):
    first = _read(folder, name).cells[0]
    assert first.cell_type == "markdown"
    assert first.source.startswith("# "), "the first line must be the `# ` title"
    assert T.colab_url(folder, name) in first.source, "Colab badge must open this very file"
    assert T.binder_url(folder, name) in first.source, "Binder badge must open this very file"
    assert T.kaggle_url(folder, name) in first.source, "Kaggle badge must open this very file"
    assert T.COLAB_BADGE in first.source and T.BINDER_BADGE in first.source
    assert T.KAGGLE_BADGE in first.source


@pytest.mark.parametrize("folder", ["solutions", "chapters"])
def test_second_cell_is_the_setup_cell(name, folder):
    cell = _read(folder, name).cells[1]
    assert cell.cell_type == "code"
    assert f'%pip install -q "{config.PIP_INSTALL_URL}"' in cell.source
    assert "from course_lib.notebook import setup" in cell.source
    assert "setup(" in cell.source, "the setup cell must call setup() (prints the GPU report)"
    assert T.SETUP_TAG in cell.metadata.get("tags", [])


@pytest.mark.parametrize("folder", ["solutions", "chapters"])
def test_training_chapters_open_on_a_colab_gpu_runtime(name, folder):
    metadata = _read(folder, name).metadata
    if Path(name).stem in T.GPU_CHAPTERS:
        assert metadata.get("accelerator") == "GPU", f"{folder}/{name}: {SYNC_HINT}"
        assert metadata.get("colab", {}).get("gpuType"), f"{folder}/{name}: {SYNC_HINT}"
    else:
        assert "accelerator" not in metadata and "colab" not in metadata, f"{folder}/{name}"


def test_setup_cell_makes_a_fresh_install_importable():
    source = T.setup_source()
    install = source.index("%pip install")
    assert source.index("importlib.invalidate_caches()") > install
    assert source.index("from course_lib.notebook import setup") > install


def test_solutions_are_executed_in_order(name):
    nb = _read("solutions", name)
    cells = _code_cells(nb)
    counts = [c.execution_count for c in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        f"solutions/{name}: execution counts {counts} are not 1..{len(cells)}; run "
        "`python tools/notebooks.py execute` to re-run it top to bottom")
    assert any(c.outputs for c in cells), f"solutions/{name} has no outputs at all"
    assert cells[0].outputs, f"solutions/{name}: the setup cell has no stored report"


@pytest.mark.parametrize("folder", ["solutions", "chapters"])
def test_no_stored_stderr(name, folder):
    found = T.stderr_outputs(_read(folder, name))
    assert not found, "\n".join(f"{folder}/{name} cell {i} wrote to stderr: {text[:200]!r}"
                                for i, text in found)


def test_solution_markers_are_balanced(name):
    problems = T.marker_problems(_read("solutions", name))
    assert not problems, f"solutions/{name}: " + "; ".join(problems)


def test_chapters_contain_no_solutions(name):
    nb = _read("chapters", name)
    for i, cell in enumerate(nb.cells):
        assert T.BEGIN_MARKER not in cell.source and T.END_MARKER not in cell.source, (
            f"chapters/{name} cell {i} contains a solution marker; {SYNC_HINT}")
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, (
                f"chapters/{name} cell {i} has outputs; {SYNC_HINT}")


@pytest.fixture(scope="session")
def unsolved_home(tmp_path_factory):
    """The ``COURSE_HOME`` of the chapters run unsolved, shared by them (chapter 5 reuses the
    baseline chapter 3 trained) and by no other test."""
    return tmp_path_factory.mktemp("unsolved-home")


@pytest.mark.once
def test_chapter_runs_unsolved_and_reproduces_the_solved_outputs(name, unsolved_home,
                                                                 monkeypatch):
    """One run of ``chapters/<name>`` checks both notebooks of the chapter.

    The learner's notebook (every exercise a stub) runs top to bottom in the profile in
    force (``quick`` in CI): no cell may fail, no check may report a wrong answer, and every
    check cell must say that its exercise is not written yet (⏳). Then every cell it shares
    with ``solutions/<name>`` and that nbval would check must print what the solved notebook
    stored (:func:`tools.notebooks.output_differences`: nbval's keys and sanitizers).

    This replaces running the solved notebooks under nbval as well (CI ran every chapter
    twice): the cells the two notebooks do not share are the exercises and their checks,
    and ``tests/test_assignments.py`` runs those solved, through every check, for full marks.
    ``python -m pytest solutions/`` still runs nbval on the solved notebooks themselves.
    """
    if not config.quick_mode():
        pytest.skip("runs the chapters in the quick profile only (COURSE_QUICK=1)")
    monkeypatch.setenv(config.HOME_ENV, str(unsolved_home))   # the kernel inherits it
    nb = T.execute_notebook(ROOT / "chapters" / name)
    for i, cell in enumerate(_code_cells(nb)):
        text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
        assert "❌" not in text and "✅" not in text, f"chapters/{name} code cell {i}: {text[:300]}"
        if "checks.check_" in cell.source:
            assert "⏳" in text, f"chapters/{name} code cell {i} did not wait: {text[:300]!r}"
    patterns = T.sanitize_patterns(ROOT / "tests" / "sanitize.cfg")
    differences = T.output_differences(nb, _read("solutions", name), patterns)
    assert not differences, (f"chapters/{name} run unsolved disagrees with the stored outputs "
                             f"of solutions/{name}:\n" + "\n".join(differences))


def test_chapter_is_what_sync_generates(name):
    problems = T.drift(ROOT, [name])
    assert not problems, "\n".join(problems) + f"\n→ {SYNC_HINT}"


# =============================================================================
# The tool, on throwaway notebooks
# =============================================================================

SOLUTION_CELL = '''\
def tokenize(text):
    """Split a sentence into lower-case words."""
    # BEGIN SOLUTION
    words = text.lower().split()
    return words
    # END SOLUTION


class Model:
    def call(self, x):
        if x:
            # BEGIN SOLUTION
            return x * 2
            # END SOLUTION
        return 0'''


def _solution_notebook() -> nbformat.NotebookNode:
    v4 = nbformat.v4
    nb = v4.new_notebook()
    nb.cells = [
        v4.new_markdown_cell("# 01 · Tokens\n\nWe split sentences into words."),
        v4.new_code_cell("import math", execution_count=1),
        v4.new_code_cell(SOLUTION_CELL, execution_count=2, outputs=[
            v4.new_output("stream", name="stdout", text="ok\n")]),
        v4.new_code_cell("tokenize('A b')", execution_count=3, outputs=[
            v4.new_output("execute_result", data={"text/plain": "['a', 'b']"},
                          execution_count=3)],
            metadata={"tags": ["keep-me"], "execution": {"iopub.status.busy": "2024"}}),
    ]
    nb.metadata["widgets"] = {"state": {}}
    return nb


@pytest.fixture
def repo(tmp_path) -> Path:
    (tmp_path / "solutions").mkdir()
    (tmp_path / "chapters").mkdir()
    nbformat.write(_solution_notebook(), str(tmp_path / "solutions" / "01_tokens.ipynb"))
    return tmp_path


def test_strip_solutions_keeps_the_marker_indentation():
    out = T.strip_solutions(SOLUTION_CELL).split("\n")
    assert out[2] == "    # Your code here"
    assert out[3] == '    raise NotImplementedError("Exercise: write this function")'
    i = out.index("            # Your code here")
    assert out[i + 1] == '            raise NotImplementedError("Exercise: write this function")'
    joined = "\n".join(out)
    assert "BEGIN SOLUTION" not in joined and "lower()" not in joined and "x * 2" not in joined
    compile(joined, "<chapter>", "exec")  # still valid Python
    assert T.strip_solutions("x = 1\ny = 2") == "x = 1\ny = 2"


@pytest.mark.parametrize("source, message", [
    ("# BEGIN SOLUTION\nx = 1", "without a matching"),
    ("x = 1\n# END SOLUTION", "without a BEGIN"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION", "nested"),
])
def test_unbalanced_markers_are_errors(source, message):
    with pytest.raises(T.NotebookError, match=message):
        T.strip_solutions(source)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    assert any(message in p for p in T.marker_problems(nb))


def test_expected_chapter_clears_outputs_and_stubs_solutions():
    chapter = T.expected_chapter(_solution_notebook(), "01_tokens.ipynb")
    header, setup_cell, intro, *rest = chapter.cells
    assert header.source.startswith("# 01 · Tokens\n")
    assert T.colab_url("chapters", "01_tokens.ipynb") in header.source
    assert T.binder_url("chapters", "01_tokens.ipynb") in header.source
    assert "solutions/" not in header.source
    assert setup_cell.metadata["tags"] == [T.SETUP_TAG]
    assert config.PIP_INSTALL_URL in setup_cell.source
    assert intro.source == "We split sentences into words."
    for cell in _code_cells(chapter):
        assert cell.outputs == [] and cell.execution_count is None
    assert 'raise NotImplementedError("Exercise: write this function")' in rest[1].source
    assert rest[2].metadata == {"tags": ["keep-me"]}  # tags kept, timing metadata dropped
    assert chapter.metadata["kernelspec"] == T.KERNELSPEC
    assert "widgets" not in chapter.metadata


def test_sync_writes_chapter_and_is_idempotent(repo):
    assert T.drift(repo)  # chapter missing, header cells missing
    written = {p.relative_to(repo).as_posix() for p in T.sync(repo)}
    assert written == {"solutions/01_tokens.ipynb", "chapters/01_tokens.ipynb"}
    assert T.drift(repo) == []
    assert T.sync(repo) == []  # nothing left to do: byte-identical output

    solution = nbformat.read(str(repo / "solutions" / "01_tokens.ipynb"), as_version=4)
    assert T.colab_url("solutions", "01_tokens.ipynb") in solution.cells[0].source
    assert [c.execution_count for c in _code_cells(solution)][1:] == [1, 2, 3]
    assert solution.cells[4].outputs[0].text == "ok\n"  # outputs of solutions kept
    text = (repo / "chapters" / "01_tokens.ipynb").read_text(encoding="utf-8")
    assert text.endswith("}\n") and '\n "cells": [\n' in text  # indent 1, trailing newline


def test_sync_keeps_the_output_of_the_setup_cell(repo):
    T.sync(repo)
    path = repo / "solutions" / "01_tokens.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="GPU : none\n")]
    nb.cells[1].source = "from course_lib.notebook import setup\nsetup()  # an old template"
    nbformat.write(nb, str(path))
    assert any("header cells" in p for p in T.drift(repo))
    T.sync(repo)
    nb = nbformat.read(str(path), as_version=4)
    assert nb.cells[1].source == T.setup_source()
    assert nb.cells[1].outputs[0].text == "GPU : none\n"
    assert T.drift(repo) == []


def test_drift_is_detected_after_editing_a_chapter_or_a_solution(repo):
    T.sync(repo)
    chapter_path = repo / "chapters" / "01_tokens.ipynb"
    chapter = nbformat.read(str(chapter_path), as_version=4)
    chapter.cells[4].source += "\nprint('edited by hand')"
    nbformat.write(chapter, str(chapter_path))
    assert T.drift(repo) == ["chapters/01_tokens.ipynb: differs from what sync generates"]

    T.sync(repo)
    assert T.drift(repo) == []
    solution_path = repo / "solutions" / "01_tokens.ipynb"
    solution = nbformat.read(str(solution_path), as_version=4)
    solution.cells[3].source = "import math\nimport os"
    nbformat.write(solution, str(solution_path))
    assert T.drift(repo) == ["chapters/01_tokens.ipynb: differs from what sync generates"]


def test_drift_reports_orphan_chapters(repo):
    T.sync(repo)
    nbformat.write(nbformat.v4.new_notebook(), str(repo / "chapters" / "99_orphan.ipynb"))
    assert any("99_orphan" in p for p in T.drift(repo))


def test_stderr_outputs_are_found():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x", outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="fine\n")]),
        nbformat.v4.new_code_cell("y", outputs=[
            nbformat.v4.new_output("stream", name="stderr", text="W0000 noise\n")]),
    ])
    assert T.stderr_outputs(nb) == [(1, "W0000 noise\n")]


def _printing(source: str, text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source, outputs=[
        nbformat.v4.new_output("stream", name="stdout", text=text)])


def test_output_differences_compares_the_shared_cells_as_nbval_would():
    """Only shared, checked cells count; the checks and ignored cells are left out, the
    reference's "Using course_lib's X" line matches the stored "Using your X", and the
    sanitizers apply to both sides."""
    patterns = T.sanitize_patterns(ROOT / "tests" / "sanitize.cfg")
    stored = nbformat.v4.new_notebook(cells=[
        _printing("print(1)", "1\n"),
        _printing("def f(): ...", ""),                           # an exercise: sources differ
        _printing("checks.check_f(f)", "✅ f: all 3 cases pass\n"),
        _printing("# NBVAL_IGNORE_OUTPUT\nprint(time())", "3.2\n"),
        _printing("f = yours_or_reference(f)", "Using your f (its check passed).\n"),
        _printing("plt.plot()", "<Figure size 640x480 with 1 Axes>\n"),
    ])
    ran = nbformat.v4.new_notebook(cells=[
        _printing("print(1)", "1\n"),
        _printing("def f():\n    raise NotImplementedError", ""),
        _printing("checks.check_f(f)", "⏳ f: not implemented yet\n"),
        _printing("# NBVAL_IGNORE_OUTPUT\nprint(time())", "9.9\n"),
        _printing("f = yours_or_reference(f)",
                  "Using course_lib's f (your f has not passed its check yet).\n"),
        _printing("plt.plot()", "<Figure size 800x600 with 2 Axes>\n"),
    ])
    assert T.output_differences(ran, stored, patterns) == []
    ran.cells[0].outputs[0].text = "2\n"
    problems = T.output_differences(ran, stored, patterns)
    assert len(problems) == 1 and problems[0].startswith("cell 0 (stdout)"), problems
    ran.cells[0].outputs = []                                    # a missing output counts too
    assert len(T.output_differences(ran, stored, patterns)) == 1


def test_setup_cell_is_ruff_clean(tmp_path):
    """The ``%pip`` magic inside ``except`` must not upset ruff's notebook parser."""
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed")
    path = tmp_path / "n.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 00 · Title")])
    nbformat.write(T.expected_chapter(nb, "n.ipynb"), str(path))
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "E,F,W",
         "--ignore", "E402", "--line-length", "100", str(path)],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


# =============================================================================
# course_lib.checks.run_check
# =============================================================================

Case = checks.Case


def _double(x):
    return 2 * x


def test_run_check_all_pass(capfd):
    ok = checks.run_check("double", _double, [
        Case(args=(2,), expected=4, hint="h"),
        {"args": (0.1,), "expected": 0.2, "hint": "floats within tolerance"},
        Case(args=(np.array([1.0, 2.0]),), expected=[2.0, 4.0000001]),
        Case(kwargs={"x": "ab"}, expected="abab"),
        Case(args=(3,), compare=lambda r: r % 2 == 0),
    ])
    out, err = capfd.readouterr()
    assert ok is True
    assert out == "✅ double: all 5 cases pass\n"
    assert err == ""


def test_run_check_failure_says_what_was_called_returned_expected_and_the_hint(capfd):
    def add_one(x, scale=1):
        return x + scale

    ok = checks.run_check("add_one", add_one, [
        Case(args=(1,), expected=2, hint="never shown"),
        Case(args=(1,), kwargs={"scale": 3}, expected=5,
             hint="scale is added, not multiplied"),
        Case(args=(np.zeros((2, 3)),), expected=np.ones((3, 2)), hint="mind the shape"),
    ])
    out, err = capfd.readouterr()
    assert ok is False and err == ""
    lines = out.splitlines()
    assert len(lines) == 3  # one per failing case + a summary
    assert lines[0].startswith("❌ case 2/3: add_one(1, scale=3) returned 4, expected 5")
    assert "Hint: scale is added, not multiplied" in lines[0]
    assert "shape (2, 3) but expected shape (3, 2)" in lines[1]
    assert "Hint: mind the shape" in lines[1]
    assert "never shown" not in out
    assert lines[2].startswith("❌ add_one: 2 of 3 cases fail")


def test_run_check_numeric_report_and_compare_messages(capfd):
    checks.run_check("f", lambda: np.array([0.1, 0.5]), [
        Case(expected=np.array([0.1, 0.7]), hint="softmax"),
        Case(compare=lambda r: "rows must sum to 1", hint="normalise"),
    ])
    out, _ = capfd.readouterr()
    assert "largest difference 0.2 at index (1,)" in out
    assert "(rows must sum to 1)" in out and "Hint: normalise" in out


def test_check_prints_the_same_but_returns_none(capfd):
    assert checks.check("double", _double, [Case(args=(1,), expected=2)]) is None
    assert capfd.readouterr().out == "✅ double: all 1 cases pass\n"


def test_run_check_not_implemented(capfd):
    def stub(x):
        raise NotImplementedError("Exercise: write this function")

    ok = checks.run_check("stub", stub, [Case(args=(1,), expected=1)])
    out, err = capfd.readouterr()
    assert ok is False and err == ""
    assert out == ("⏳ stub: not implemented yet — write the body of the function above "
                   "and run this cell again.\n")
    assert "Traceback" not in out


def test_run_check_reports_other_exceptions_with_the_case(capfd):
    def broken(words):
        return words[5]

    ok = checks.run_check("broken", broken, [Case(args=(["a", "b"],), expected="c",
                                                   hint="index within the list")])
    out, err = capfd.readouterr()
    assert ok is False and err == ""
    assert "broken(['a', 'b']) raised IndexError: list index out of range" in out
    assert "Hint: index within the list" in out and "Traceback" not in out


def test_run_check_does_not_let_the_function_mutate_the_case(capfd):
    def clearing(items):
        items.clear()
        return []

    checks.run_check("clearing", clearing, [Case(args=([1, 2],), expected=[1])])
    out, _ = capfd.readouterr()
    assert "clearing([1, 2]) returned []" in out


@pytest.mark.parametrize("got, expected, ok", [
    (1, 1, True), (1.0, 1.0 + 1e-9, True), (1.0, 1.1, False), (True, 1, False),
    ([1, 2], (1, 2), True), ({"a": 1.0}, {"a": 1.0000001}, True), ({"a": 1}, {"b": 1}, False),
    (np.int64(3), 3, True), (np.array([1, 2]), [1, 2], True), ("ab", ["a", "b"], False),
    (np.array([np.nan]), np.array([np.nan]), True), (None, None, True),
])
def test_compare_values(got, expected, ok):
    assert checks.compare_values(got, expected)[0] is ok


def test_case_needs_exactly_one_of_expected_or_compare():
    with pytest.raises(ValueError):
        Case(args=(1,))
    with pytest.raises(ValueError):
        Case(args=(1,), expected=1, compare=bool)


# =============================================================================
# course_lib.notebook
# =============================================================================

nb_helpers = importlib.import_module("course_lib.notebook")


def _skip_without_tensorflow():
    # Not pytest.importorskip: that would import TensorFlow *before* setup() can quiet it.
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("TensorFlow is not installed")


def test_platform_detection(monkeypatch):
    for var in ("COLAB_RELEASE_TAG", "BINDER_SERVICE_HOST", "BINDER_REQUEST"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert nb_helpers.platform_name() == "local"
    monkeypatch.setenv("BINDER_SERVICE_HOST", "10.0.0.1")
    assert nb_helpers.in_binder() and nb_helpers.platform_name() == "Binder"
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_2024")
    assert nb_helpers.in_colab() and nb_helpers.platform_name() == "Colab"


def test_quiet_tensorflow_respects_a_log_level_set_by_the_user(monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")
    nb_helpers.quiet_tensorflow()
    assert nb_helpers.os.environ["TF_CPP_MIN_LOG_LEVEL"] == "1"
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL")
    nb_helpers.quiet_tensorflow()
    assert nb_helpers.os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"


def test_setup_prints_a_report_and_nothing_on_stderr(capfd, monkeypatch):
    _skip_without_tensorflow()
    monkeypatch.setenv(config.QUICK_ENV, "1")
    assert nb_helpers.setup() is None
    out, err = capfd.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert any(line.startswith("GPU") for line in lines), out
    assert any(line.startswith("TensorFlow") for line in lines), out
    assert any(line.startswith("Profile") and "quick" in line and config.QUICK_ENV in line
               for line in lines), out
    assert any(line.startswith("Data/models") for line in lines), out

    nb_helpers.setup(verbose=False)
    assert capfd.readouterr() == ("", "")


def test_setup_on_colab_without_gpu_says_how_to_get_one(capfd, monkeypatch):
    _skip_without_tensorflow()
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_2024")
    monkeypatch.setattr(nb_helpers, "gpu_name", lambda: None)
    nb_helpers.setup()
    out, err = capfd.readouterr()
    assert err == ""
    assert "Running on : Colab" in out
    assert nb_helpers.COLAB_GPU_HINT in out
    assert "setup(drive=True)" in out, "on Colab the report says how to keep models on Drive"


def _fake_google_colab(monkeypatch, mounted: list):
    import types

    google, colab, drive = (types.ModuleType(n) for n in ("google", "google.colab",
                                                           "google.colab.drive"))
    drive.mount = mounted.append
    colab.drive, google.colab = drive, colab
    for name, module in (("google", google), ("google.colab", colab), ("google.colab.drive", drive)):
        monkeypatch.setitem(sys.modules, name, module)


def test_keep_on_google_drive_mounts_and_moves_course_home(monkeypatch, tmp_path):
    mounted = []
    _fake_google_colab(monkeypatch, mounted)
    monkeypatch.delenv(config.HOME_ENV, raising=False)
    home = nb_helpers.keep_on_google_drive(str(tmp_path / "drive"),
                                           str(tmp_path / "drive" / "MyDrive" / "nmt-course"))
    assert mounted == [str(tmp_path / "drive")]
    assert config.course_home() == Path(home) and Path(home).is_dir()


def test_setup_drive_only_acts_on_colab(capfd, monkeypatch):
    _skip_without_tensorflow()
    calls = []
    monkeypatch.setattr(nb_helpers, "keep_on_google_drive", lambda: calls.append("drive"))
    for var in ("COLAB_RELEASE_TAG", "BINDER_SERVICE_HOST", "BINDER_REQUEST"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    nb_helpers.setup(drive=True)
    assert calls == [] and "only applies on Colab" in capfd.readouterr().out
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_2024")
    nb_helpers.setup(drive=True)
    assert calls == ["drive"]


def test_readme_links_every_chapter_with_the_configured_repository():
    """The README's badges use config.REPO_SLUG too, so the URL has one source of truth."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        for folder in ("chapters", "solutions"):
            assert T.colab_url(folder, path.name) in readme, (folder, path.name)
            assert T.binder_url(folder, path.name) in readme, (folder, path.name)


def test_the_teachers_kit_covers_every_chapter_and_every_check():
    """teachers/README.md has a section per chapter that names every check the chapter runs."""
    import re

    kit = (ROOT / "teachers" / "README.md").read_text(encoding="utf-8")
    assert "TODO" not in kit
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        number = int(path.name[:2])
        heading = re.search(rf"^### {number} · .*$", kit, flags=re.M)
        assert heading, f"teachers/README.md has no section '### {number} · …' for {path.name}"
        section = kit[heading.end():].split("\n### ")[0]
        used = set(re.findall(r"checks\.(check_\w+)", path.read_text(encoding="utf-8")))
        for name in sorted(used):
            assert f"`{name}`" in section, f"the kit's chapter {number} does not mention {name}"
