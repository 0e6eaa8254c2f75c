"""Keep the course notebooks in shape: ``sync``, ``check``, ``execute`` and ``refresh``.

Usage::

    python tools/notebooks.py sync     [NAMES...]   # solutions/ -> chapters/
    python tools/notebooks.py check    [NAMES...]   # exit 1 if sync would change anything
    python tools/notebooks.py execute  [NAMES...]   # run solutions/, save outputs, then sync
    python tools/notebooks.py refresh  [NAMES...]   # run, but take new outputs of checked cells only

``NAMES`` may be ``03_attention``, ``03_attention.ipynb`` or a path to either
copy; without names every ``solutions/*.ipynb`` is processed.

Conventions
-----------
* ``solutions/NN_name.ipynb`` is the source of truth, committed *with* outputs.
  ``chapters/NN_name.ipynb`` is generated from it and never edited by hand.
* Exercise code in a solutions notebook sits between two marker lines (they may
  be indented, e.g. inside a function body)::

      def tokenize(text):
          # BEGIN SOLUTION
          return text.lower().split()
          # END SOLUTION

  In the chapter the marked lines (markers included) become, at the marker's
  indentation::

          # Your code here
          raise NotImplementedError("Exercise: write this function")

* The first two cells of both copies are generated from templates:
  1. markdown: the notebook's ``# `` title line plus "Open in Colab" and
     "Binder" badges pointing at that copy's *own* path;
  2. code, tagged ``nbval-ignore-output``: install ``course_lib`` when it is
     missing (Colab) and call :func:`course_lib.notebook.setup`.
  The repository slug, branch and pip URL come from ``course_lib/config.py``.
* Chapters have all outputs cleared and execution counts set to ``None``.
* Notebooks are written with :func:`nbformat.write` (indent 1, sorted keys,
  trailing newline), a fixed ``python3`` kernelspec and no volatile metadata,
  so re-running the tool gives byte-identical files and small git diffs.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import importlib
import os
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import nbformat
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout: find course_lib
    sys.path.insert(0, str(ROOT))

config = importlib.import_module("course_lib.config")  # after the sys.path fix above

SOLUTIONS = "solutions"
CHAPTERS = "chapters"

BEGIN_MARKER = "# BEGIN SOLUTION"
END_MARKER = "# END SOLUTION"
STUB_COMMENT = "# Your code here"
STUB_RAISE = 'raise NotImplementedError("Exercise: write this function")'
_BEGIN_RE = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION[ \t]*$")
_END_RE = re.compile(r"^[ \t]*# END SOLUTION[ \t]*$")

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
SETUP_TAG = "nbval-ignore-output"
HEADER_ID = "course-header"
SETUP_ID = "course-setup"

COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"
KAGGLE_BADGE = "https://kaggle.com/static/images/open-in-kaggle.svg"

#: Per-cell timeout for ``execute`` (seconds); full-mode training cells are long.
CELL_TIMEOUT = 3600

# Cell/notebook metadata that changes from run to run and is not worth a diff.
_VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled")
_VOLATILE_NB_METADATA = ("widgets", "varInspector", "toc")

#: Chapters that train or load models: Colab opens them on a GPU runtime.
GPU_CHAPTERS = ("03_training", "04_bleu", "05_attention", "06_heatmaps",
                "08_transformer_in_practice")

#: The notebook metadata Colab reads to pick a GPU runtime when it opens a file.
COLAB_GPU_METADATA = {"accelerator": "GPU", "colab": {"gpuType": "T4", "provenance": []}}


class NotebookError(ValueError):
    """A notebook breaks one of the conventions above (e.g. unmatched markers)."""


# ----------------------------------------------------------------------------- templates


def colab_url(folder: str, filename: str) -> str:
    """Where the "Open In Colab" badge of ``folder/filename`` points."""
    return (f"https://colab.research.google.com/github/{config.REPO_SLUG}/blob/"
            f"{config.REPO_BRANCH}/{folder}/{filename}")


def binder_url(folder: str, filename: str) -> str:
    """Where the Binder badge of ``folder/filename`` points (opens it in JupyterLab)."""
    return (f"https://mybinder.org/v2/gh/{config.REPO_SLUG}/{config.REPO_BRANCH}"
            f"?urlpath=lab/tree/{folder}/{filename}")


def kaggle_url(folder: str, filename: str) -> str:
    """Where the "Open in Kaggle" badge of ``folder/filename`` points (Kaggle imports from GitHub)."""
    return (f"https://kaggle.com/kernels/welcome?src=https://github.com/{config.REPO_SLUG}/blob/"
            f"{config.REPO_BRANCH}/{folder}/{filename}")


def header_source(title: str, folder: str, filename: str) -> str:
    """Markdown of the first cell: the title line and the three badges."""
    return (f"{title}\n\n"
            f"[![Open In Colab]({COLAB_BADGE})]({colab_url(folder, filename)}) "
            f"[![Open in Kaggle]({KAGGLE_BADGE})]({kaggle_url(folder, filename)}) "
            f"[![Binder]({BINDER_BADGE})]({binder_url(folder, filename)})")


def setup_source(stem: str = "") -> str:
    """Source of the second cell: install course_lib if missing, then ``setup()``.

    Training chapters show the ``drive`` switch that keeps models on Google Drive (Colab).
    """
    call = ("setup(drive=False)  # on Colab, drive=True keeps the corpus and trained models "
            "on Google Drive" if stem in GPU_CHAPTERS else "setup()")
    return (
        "# Set-up: quiet TensorFlow, seed everything, report the hardware.\n"
        "try:\n"
        "    import course_lib  # noqa: F401\n"
        "except ImportError:  # on Colab: install the course package from GitHub\n"
        f'    %pip install -q "{config.PIP_INSTALL_URL}"\n'
        "    import importlib\n"
        "\n"
        "    importlib.invalidate_caches()  # let Python see the package it just installed\n"
        "\n"
        "from course_lib.notebook import setup\n"
        "\n"
        f"{call}"
    )


def title_from(cell: NotebookNode | None, stem: str) -> str:
    """The first ``# `` heading line of ``cell``, or a title made from the file name."""
    if cell is not None and cell.cell_type == "markdown":
        for line in cell.source.splitlines():
            if line.startswith("# "):
                return line.rstrip()
    number, _, words = stem.partition("_")
    if words:
        return f"# {number} · {words.replace('_', ' ').capitalize()}"
    return f"# {stem.replace('_', ' ')}"


def _is_header(cell: NotebookNode) -> bool:
    return cell.cell_type == "markdown" and "colab.research.google.com" in cell.source


def _is_setup(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and "course_lib" in cell.source


def apply_header_cells(nb: NotebookNode, folder: str, filename: str) -> NotebookNode:
    """Regenerate the two template cells of ``nb`` in place (and return ``nb``).

    * An existing header (markdown with a Colab badge) or title-only first cell
      is replaced; a first markdown cell holding a title *and* other text keeps
      that text, moved to a new cell after the setup cell.
    * An existing setup cell keeps its outputs and execution count (solutions
      are committed with them); otherwise a fresh one is inserted.
    """
    stem = Path(filename).stem
    cells = nb.cells
    first = cells[0] if cells else None
    title = title_from(first, stem)
    leftover: NotebookNode | None = None
    if first is not None and first.cell_type == "markdown":
        if not _is_header(first):
            rest = [ln for ln in first.source.splitlines() if ln.rstrip() != title]
            if "\n".join(rest).strip():
                leftover = nbformat.v4.new_markdown_cell("\n".join(rest).strip())
                leftover.id = _stable_id("intro", stem)
        cells.pop(0)
        first = None

    header = nbformat.v4.new_markdown_cell(header_source(title, folder, filename))
    header.id = HEADER_ID

    if cells and _is_setup(cells[0]):
        setup_cell = cells.pop(0)
        setup_cell.source = setup_source(stem)
    else:
        setup_cell = nbformat.v4.new_code_cell(setup_source(stem))
    setup_cell.id = SETUP_ID
    tags = [t for t in setup_cell.metadata.get("tags", []) if t != SETUP_TAG]
    setup_cell.metadata["tags"] = [SETUP_TAG, *tags]

    nb.cells = [header, setup_cell, *([leftover] if leftover else []), *cells]
    apply_runtime_metadata(nb, stem)
    return nb


def apply_runtime_metadata(nb: NotebookNode, stem: str) -> NotebookNode:
    """Ask Colab for a GPU runtime in the training chapters, and only there."""
    for key, value in COLAB_GPU_METADATA.items():
        if stem in GPU_CHAPTERS:
            nb.metadata[key] = copy.deepcopy(value)
        else:
            nb.metadata.pop(key, None)
    return nb


# ----------------------------------------------------------------------------- exercises


def strip_solutions(source: str, where: str = "cell") -> str:
    """Replace every ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` block by a stub.

    The stub (a ``# Your code here`` comment and ``raise NotImplementedError``)
    is indented like the ``BEGIN`` marker, so it stays inside the function body.
    Raises :class:`NotebookError` for nested, unclosed or stray markers.
    """
    out: list[str] = []
    indent: str | None = None
    for number, line in enumerate(source.split("\n"), start=1):
        begin = _BEGIN_RE.match(line)
        if begin:
            if indent is not None:
                raise NotebookError(f"{where}, line {number}: nested {BEGIN_MARKER}")
            indent = begin.group("indent")
            continue
        if _END_RE.match(line):
            if indent is None:
                raise NotebookError(f"{where}, line {number}: {END_MARKER} without a BEGIN")
            out += [indent + STUB_COMMENT, indent + STUB_RAISE]
            indent = None
            continue
        if indent is None:
            out.append(line)
    if indent is not None:
        raise NotebookError(f"{where}: {BEGIN_MARKER} without a matching {END_MARKER}")
    return "\n".join(out)


def marker_problems(nb: NotebookNode) -> list[str]:
    """Marker errors in ``nb`` (empty list when every BEGIN has its END)."""
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        try:
            strip_solutions(cell.source, where=f"cell {i}")
        except NotebookError as exc:
            problems.append(str(exc))
    return problems


# ----------------------------------------------------------------------------- normalising


def _stable_id(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:8]


def normalize(nb: NotebookNode) -> NotebookNode:
    """Make ``nb`` diff-friendly in place: fixed kernelspec, no volatile metadata.

    Also upgrades to nbformat 4.5 and gives cells without an ``id`` a stable one
    (derived from position and source), so ids do not change between runs.
    """
    nb.nbformat, nb.nbformat_minor = 4, max(nb.get("nbformat_minor", 5), 5)
    meta = nb.metadata
    for key in _VOLATILE_NB_METADATA:
        meta.pop(key, None)
    meta["kernelspec"] = NotebookNode(KERNELSPEC)
    meta["language_info"] = NotebookNode({"name": "python"})
    seen: set[str] = set()
    for i, cell in enumerate(nb.cells):
        for key in _VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if not cell.metadata.get("tags", True):
            del cell.metadata["tags"]
        cid = cell.get("id")
        if not cid or cid in seen:
            cid = _stable_id(str(i), cell.source)
            while cid in seen:
                cid = _stable_id(cid)
            cell.id = cid
        seen.add(cid)
        if cell.cell_type == "code":
            for output in cell.outputs:
                if output.get("output_type") in ("display_data", "execute_result"):
                    output.setdefault("metadata", NotebookNode())
                if output.get("output_type") == "stream" and isinstance(output.text, list):
                    output.text = "".join(output.text)
    return nb


def dumps(nb: NotebookNode) -> str:
    """The exact text :func:`write` puts on disk."""
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def write(nb: NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(normalize(nb)), encoding="utf-8")


def read(path: Path) -> NotebookNode:
    return nbformat.read(str(path), as_version=4)


# ----------------------------------------------------------------------------- sync / check


def expected_solution(solution_nb: NotebookNode, filename: str) -> NotebookNode:
    """The solutions notebook as ``sync`` would write it (header cells refreshed)."""
    nb = copy.deepcopy(solution_nb)
    apply_header_cells(nb, SOLUTIONS, filename)
    return normalize(nb)


def expected_chapter(solution_nb: NotebookNode, filename: str = "notebook.ipynb"
                     ) -> NotebookNode:
    """The exercise notebook generated from a solutions notebook.

    Solution blocks become stubs, every output and execution count is cleared,
    the header cells point at ``chapters/<filename>``; everything else (cell ids,
    tags, markdown) is copied unchanged.
    """
    nb = copy.deepcopy(solution_nb)
    apply_header_cells(nb, CHAPTERS, filename)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            continue
        cell.source = strip_solutions(cell.source, where=f"{filename}, cell {i}")
        cell.outputs = []
        cell.execution_count = None
    return normalize(nb)


def _header_signature(nb: NotebookNode) -> list[tuple]:
    return [(c.cell_type, c.source, tuple(c.metadata.get("tags", []))) for c in nb.cells[:2]]


def names_from(args: Iterable[str], root: Path = ROOT) -> list[str]:
    """Notebook file names (``NN_name.ipynb``) from CLI arguments, or all solutions."""
    names = [Path(a).stem + ".ipynb" for a in args]
    if not names:
        names = sorted(p.name for p in (root / SOLUTIONS).glob("*.ipynb"))
    return names


def drift(root: Path = ROOT, names: Sequence[str] = ()) -> list[str]:
    """What ``sync`` would change: one human-readable line per stale notebook.

    Reports chapters that differ from :func:`expected_chapter`, solutions whose
    two header cells differ from the templates, chapters without a solution,
    and marker errors. An empty list means everything is in sync.
    """
    problems: list[str] = []
    for name in names_from(names, root):
        sol_path = root / SOLUTIONS / name
        chap_path = root / CHAPTERS / name
        if not sol_path.exists():
            problems.append(f"{SOLUTIONS}/{name}: missing")
            continue
        solution = read(sol_path)
        try:
            chapter_text = dumps(expected_chapter(solution, name))
        except NotebookError as exc:
            problems.append(f"{SOLUTIONS}/{name}: {exc}")
            continue
        if _header_signature(solution) != _header_signature(expected_solution(solution, name)):
            problems.append(f"{SOLUTIONS}/{name}: header cells differ from the templates")
        if not chap_path.exists():
            problems.append(f"{CHAPTERS}/{name}: missing")
        elif chap_path.read_text(encoding="utf-8") != chapter_text:
            problems.append(f"{CHAPTERS}/{name}: differs from what sync generates")
    if not names:
        solutions = {p.name for p in (root / SOLUTIONS).glob("*.ipynb")}
        for extra in sorted(p.name for p in (root / CHAPTERS).glob("*.ipynb")):
            if extra not in solutions:
                problems.append(f"{CHAPTERS}/{extra}: no {SOLUTIONS}/{extra} to generate it")
    return problems


def sync(root: Path = ROOT, names: Sequence[str] = ()) -> list[Path]:
    """Refresh header cells of ``solutions/`` and regenerate ``chapters/``.

    Solutions notebooks are only rewritten when their header cells (or
    formatting) change; their outputs are kept. Returns the files written.
    """
    written: list[Path] = []
    for name in names_from(names, root):
        sol_path = root / SOLUTIONS / name
        solution = read(sol_path)
        new_solution = expected_solution(solution, name)
        text = dumps(new_solution)
        if sol_path.read_text(encoding="utf-8") != text:
            sol_path.write_text(text, encoding="utf-8")
            written.append(sol_path)
        chap_path = root / CHAPTERS / name
        chapter_text = dumps(expected_chapter(new_solution, name))
        if not chap_path.exists() or chap_path.read_text(encoding="utf-8") != chapter_text:
            chap_path.parent.mkdir(parents=True, exist_ok=True)
            chap_path.write_text(chapter_text, encoding="utf-8")
            written.append(chap_path)
    return written


# ----------------------------------------------------------------------------- execute


def stderr_outputs(nb: NotebookNode) -> list[tuple[int, str]]:
    """``(cell index, text)`` for every stored stderr stream output."""
    found = []
    for i, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                found.append((i, output.get("text", "")))
    return found


def execute_notebook(path: Path, timeout: int = CELL_TIMEOUT) -> NotebookNode:
    """Run ``path`` top to bottom in a fresh ``python3`` kernel; return it with outputs.

    The kernel starts in the notebook's folder and inherits this process's
    environment (``COURSE_QUICK``, ``COURSE_DATA``, ...), with the repository
    root added to ``PYTHONPATH`` so an uninstalled checkout still finds
    ``course_lib`` instead of trying to pip-install it.
    """
    from nbclient import NotebookClient

    nb = read(path)
    nb.metadata["kernelspec"] = NotebookNode(KERNELSPEC)
    root = str(path.resolve().parents[1])
    env_path = os.environ.get("PYTHONPATH", "")
    if root not in env_path.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, env_path) if p)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", allow_errors=False,
        record_timing=False, resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return nb


#: nbval's comparison leaves these keys out (images unless ``--nbdime``; widget model ids
#: are random); :func:`output_differences` does the same.
NBVAL_UNCOMPARED = ("metadata", "traceback", "prompt_number", "output_type", "name",
                    "execution_count", "application/vnd.jupyter.widget-view+json",
                    "image/png", "image/jpeg")

#: The one line a deterministic cell prints differently when the learner's notebook runs
#: with its exercises unsolved: ``checks.yours_or_reference`` picks the reference and says
#: so. The solved notebook's stored line is translated before comparing.
YOURS_USED = re.compile(r"Using your (\w+) \(its check passed\)\.")
REFERENCE_USED = r"Using course_lib's \1 (your \1 has not passed its check yet)."


def sanitize_patterns(path: Path) -> list[tuple[str, str]]:
    """The ``regex:``/``replace:`` pairs of an nbval sanitize file, in file order."""
    from nbval.plugin import get_sanitize_patterns

    return get_sanitize_patterns(path.read_text(encoding="utf-8"))


def checked_by_nbval(cell: NotebookNode) -> bool:
    """Whether nbval compares this code cell's outputs (no ``NBVAL_IGNORE_OUTPUT`` /
    ``NBVAL_SKIP`` comment, no ``nbval-ignore-output`` / ``nbval-skip`` tag)."""
    from nbval.plugin import find_comment_markers, find_metadata_tags

    options = {"check": True, "skip": False}
    options.update(find_comment_markers(cell.source))
    options.update(find_metadata_tags(cell.metadata))
    return options["check"] and not options["skip"]


def _comparable(outputs: list, patterns: Sequence[tuple[str, str]], translate: bool = False
                ) -> dict[str, list]:
    """Outputs flattened as nbval compares them: streams merged per name, one list of values
    per key (``stdout``, ``text/plain`` …), sanitized with ``patterns``."""
    from nbval.plugin import coalesce_streams

    def clean(value):
        if not isinstance(value, str):
            return value
        if translate:
            value = YOURS_USED.sub(REFERENCE_USED, value)
        for regex, replace in patterns:
            value = re.sub(regex, replace, value)
        return value

    flat: dict[str, list] = {}
    for output in coalesce_streams(copy.deepcopy(list(outputs))):
        if output.output_type == "stream":
            fields = {output.name: output.text}
        else:
            fields = {k: v for k, v in output.items() if k != "data"} | dict(output.get("data", {}))
        for key, value in fields.items():
            if key not in NBVAL_UNCOMPARED:
                flat.setdefault(key, []).append(clean(value))
    return flat


def output_differences(executed: NotebookNode, stored: NotebookNode,
                       patterns: Sequence[tuple[str, str]]) -> list[str]:
    """Where a run of the learner's notebook disagrees with the solved notebook's stored outputs.

    ``executed`` is ``chapters/<name>`` just run with its exercises unsolved, ``stored`` the
    committed ``solutions/<name>``: cell *i* of one is cell *i* of the other (``sync`` keeps
    the cells). Every code cell whose source is the same in both and whose outputs nbval
    checks must print what the solved notebook stored, compared as ``pytest --nbval`` would
    compare it (same sanitizers, same keys). So one run checks both notebooks: the cells
    left out are the exercises (their sources differ) and the checks (``checks.check_…``:
    same source, but ✅ solved and ⏳ unsolved), which the grading tests run solved.
    Returns one line per disagreeing cell; empty when they agree.
    """
    problems = []
    pairs = zip(executed.cells, stored.cells, strict=True)
    for i, (ran, kept) in enumerate(pairs):
        if ran.cell_type != "code" or ran.source != kept.source or not checked_by_nbval(kept):
            continue
        if "checks.check_" in ran.source:   # an exercise's check: ✅ solved, ⏳ here
            continue
        got = _comparable(ran.outputs, patterns)
        want = _comparable(kept.outputs, patterns, translate=True)
        if got != want:
            keys = sorted(set(got) | set(want))
            differing = [k for k in keys if got.get(k) != want.get(k)]
            first = differing[0]
            problems.append(f"cell {i} ({', '.join(differing)}): stored "
                            f"{str(want.get(first))[:300]!r}, got {str(got.get(first))[:300]!r}")
    return problems


def _executed(path: Path, name: str, if_failed: str) -> NotebookNode | None:
    """``path`` run top to bottom, or ``None`` after printing why it failed and ``if_failed``."""
    try:
        return execute_notebook(path)
    except Exception as exc:  # noqa: BLE001 - report and go on with the next one
        print(f"✗ {SOLUTIONS}/{name}: execution failed, {if_failed}:\n{exc}")
        return None


def execute(root: Path = ROOT, names: Sequence[str] = ()) -> int:
    """``execute`` command: run, save, report stderr, then sync. Returns an exit code."""
    status = 0
    for name in names_from(names, root):
        path = root / SOLUTIONS / name
        print(f"▶ executing {SOLUTIONS}/{name} "
              f"(quick mode {'on' if config.quick_mode() else 'off'}) ...", flush=True)
        nb = _executed(path, name, "outputs not saved")
        if nb is None:
            status = 1
            continue
        write(nb, path)
        for index, text in stderr_outputs(nb):
            first = text.strip().splitlines()[0] if text.strip() else ""
            print(f"✗ {SOLUTIONS}/{name}: cell {index} wrote to stderr: {first[:200]}")
            status = 1
        print(f"✓ {SOLUTIONS}/{name}: saved")
    for path in sync(root, names):
        print(f"✓ synced {path.relative_to(root)}")
    return status


def refresh(root: Path = ROOT, names: Sequence[str] = ()) -> int:
    """``refresh`` command: re-run a notebook and take the new outputs of its *checked* cells only.

    After a library change that alters outputs nbval compares (a parameter count, a printed
    source), this updates exactly those cells from a real run in the current environment
    (the quick profile is enough: checked cells are the same in every profile, or CI would
    fail) and keeps the stored outputs of cells tagged ``nbval-ignore-output`` (trainings,
    timings) from the full run that made them. Prints every cell it changed.
    """
    status = 0
    for name in names_from(names, root):
        path = root / SOLUTIONS / name
        stored = read(path)
        fresh = _executed(path, name, "nothing changed")
        if fresh is None:
            status = 1
            continue
        changed = []
        for index, (old, new) in enumerate(zip(stored.cells, fresh.cells, strict=True)):
            if old.cell_type != "code":
                continue
            old.execution_count = new.execution_count   # cells may have been added or removed
            checked = SETUP_TAG not in old.metadata.get("tags", [])
            if checked and old.get("outputs") != new.get("outputs"):
                old.outputs = new.outputs
                changed.append(index)
        write(stored, path)
        print(f"✓ {SOLUTIONS}/{name}: checked cells refreshed: {changed or 'none'}")
    sync(root, names)
    return status


# ----------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["sync", "check", "execute", "refresh"])
    parser.add_argument("names", nargs="*", help="notebooks (default: all of solutions/)")
    args = parser.parse_args(argv)

    if args.command == "execute":
        return execute(ROOT, args.names)
    if args.command == "refresh":
        return refresh(ROOT, args.names)
    if args.command == "check":
        problems = drift(ROOT, args.names)
        for line in problems:
            print(f"✗ {line}")
        if problems:
            print("Run `python tools/notebooks.py sync` to regenerate.")
            return 1
        print(f"✓ {len(names_from(args.names))} notebook(s) in sync")
        return 0
    try:
        written = sync(ROOT, args.names)
    except NotebookError as exc:
        print(f"✗ {exc}")
        return 1
    for path in written:
        print(f"✓ wrote {path.relative_to(ROOT)}")
    if not written:
        print("✓ nothing to do: everything already in sync")
    return 0


if __name__ == "__main__":
    sys.exit(main())
