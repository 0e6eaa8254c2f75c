"""How the test suite is spread over CPU cores (pytest-xdist, ``-n auto``).

This file sits at the repository root so that it applies to every test pytest can collect,
``tests/`` and the notebooks in ``solutions/`` alike, however pytest is called.

Each test runs on one of several worker processes. The scheduler below sends whole *scopes*
to a worker, whose tests then run there in order:

* every cell of every solved notebook (nbval) → one scope: a notebook's cells must run in
  order in one kernel, and the notebooks share the quick models they train in
  ``COURSE_HOME`` (``runs.load_or_train`` refuses a folder that another process is
  training into, so two notebooks must never train the same model at the same time);
* every test file → a scope of its own, so that a module's fixtures are built once.

The chapters run unsolved (``tests/test_notebooks.py``) train their quick models in a
``COURSE_HOME`` of their own, so that they never meet the solved notebooks' training.

(``--dist loadgroup`` with ``xdist_group`` marks would say the same, but pytest-xdist 3.8
records the group in a node id attribute that pytest 9 no longer reads: every cell of a
notebook would go to any worker.)
"""

from __future__ import annotations

import os

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


def scope_of(nodeid: str) -> str:
    """The unit of work a test belongs to: its file, or ``solutions`` for a notebook cell."""
    path = nodeid.split("::", 1)[0]
    if path.startswith("solutions/") and path.endswith(".ipynb"):
        return "solutions"
    return path


@pytest.hookimpl(tryfirst=True)   # before pytest-xdist's own choice of scheduler
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class ByFileNotebooksTogether(LoadScopeScheduling):
        """pytest-xdist's ``loadscope`` with the scopes of :func:`scope_of` (largest first)."""

        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    return ByFileNotebooksTogether(config, log)
