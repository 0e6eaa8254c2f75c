"""How the test suite is spread over CPU cores (pytest-xdist, ``-n auto``).

This file sits at the repository root so that it applies to every test pytest can collect,
``tests/`` and the notebooks in ``solutions/`` alike, however pytest is called.

Each test runs on one of several worker processes. The scheduler below sends whole *scopes*
to a worker, whose tests then run there in order:

* every test file → a scope of its own, so that a module's fixtures are built once (and
  ``tests/test_notebooks.py`` runs the chapters in order, in one ``COURSE_HOME``: chapter 5
  reuses chapter 3's baseline, and ``runs.load_or_train`` refuses a folder that another
  process is training into);
* every cell of every solved notebook, when they are collected (``python -m pytest
  solutions/``, nbval) → one scope, for the same reasons;
* except the export tests, four trainings of 2–4 minutes each: one scope per model kind.

The scopes are handed out heaviest first (``HEAVIEST_FIRST``, from ``--durations`` of a
CI run), so that the last minutes are not one worker finishing a long scope while the
other waits.

The chapters run unsolved (``tests/test_notebooks.py``) train their quick models in a
``COURSE_HOME`` of their own, so that they never meet another test's training.

(``--dist loadgroup`` with ``xdist_group`` marks would say the same, but pytest-xdist 3.8
records the group in a node id attribute that pytest 9 no longer reads: every cell of a
notebook would go to any worker.)
"""

from __future__ import annotations

import os
from collections import defaultdict

import pytest

#: At most this many workers: each one holds TensorFlow and a notebook kernel (~3 GB).
MAX_WORKERS = 4


def pytest_xdist_auto_num_workers(config):
    """``-n auto``: one worker per CPU core this process may use, at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


#: The export tests: four trainings of 2–4 minutes each, a scope each (spread over the workers).
EXPORT_TRAININGS = "tests/test_export.py::test_an_exported_run"

#: Scopes (node id prefixes) that take longest, longest first; all others follow in the
#: order pytest collects them. On 2 cores (2026-12-02, seconds of one worker, the other busy):
#: the chapters run unsolved ~2,100, the solved notebooks ~1,900, the export tests 140–240
#: each, the grading tests ~700, the command line ~500.
HEAVIEST_FIRST = (
    "tests/test_notebooks.py",
    "solutions/",
    EXPORT_TRAININGS,
    "tests/test_assignments.py",
    "tests/test_cli.py",
    "tests/test_evaluation_extras.py",
    "tests/test_models.py",
    "tests/test_bad_input.py",
    "tests/test_distribute.py",
)


def scope_of(nodeid: str) -> str:
    """The unit of work a test belongs to: its file, ``solutions`` for a notebook cell, or
    the test itself for an export training."""
    if nodeid.startswith(EXPORT_TRAININGS):
        return nodeid
    path = nodeid.split("::", 1)[0]
    if path.startswith("solutions/") and path.endswith(".ipynb"):
        return "solutions"
    return path


def _rank(nodeid: str) -> int:
    return next((i for i, prefix in enumerate(HEAVIEST_FIRST) if nodeid.startswith(prefix)),
                len(HEAVIEST_FIRST))


def pytest_collection_modifyitems(config, items):
    """Heaviest scopes first; the order within a scope (a notebook's cells) is kept."""
    items.sort(key=lambda item: _rank(item.nodeid))   # sort is stable


@pytest.hookimpl(tryfirst=True)   # before pytest-xdist's own choice of scheduler
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class ByFileNotebooksTogether(LoadScopeScheduling):
        """pytest-xdist's ``loadscope`` with the scopes of :func:`scope_of`, in the order of
        the collected tests (``--no-loadscope-reorder``: heaviest first, see above)."""

        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    return ByFileNotebooksTogether(config, log)


#: Seconds per scope (setup, call and teardown of its tests, as the workers report them).
_SECONDS_BY_SCOPE: defaultdict[str, float] = defaultdict(float)

#: How many scopes the closing summary lists.
SLOWEST_SCOPES_SHOWN = 10


def pytest_runtest_logreport(report):
    """Add each phase's time to its scope (on the controller when pytest-xdist runs)."""
    _SECONDS_BY_SCOPE[scope_of(report.nodeid)] += report.duration


def pytest_terminal_summary(terminalreporter):
    """The slowest scopes, so that a test that makes CI creep is seen where it is added."""
    if not _SECONDS_BY_SCOPE:
        return
    slowest = sorted(_SECONDS_BY_SCOPE.items(), key=lambda item: -item[1])
    terminalreporter.write_sep("=", f"{SLOWEST_SCOPES_SHOWN} slowest scopes (one worker's "
                                    f"seconds; {sum(_SECONDS_BY_SCOPE.values()):,.0f} s in all)")
    for scope, seconds in slowest[:SLOWEST_SCOPES_SHOWN]:
        terminalreporter.write_line(f"{seconds:9,.1f} s  {scope}")
