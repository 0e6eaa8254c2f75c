"""Grading the exercises with an autograder: one point per case of each check.

The checks in :mod:`course_lib.checks` already try a learner's answer on several
cases and say which fail. An autograder needs the same verdicts as scores, so
:func:`grade` runs a check while :func:`course_lib.checks.framework.recording`
keeps one :class:`~course_lib.checks.framework.GradedItem` per case: a class
whose answer passes 4 of 6 cases earns 4 of 6 points.

``python tools/assignments.py build OUT`` writes, for each chapter, otter-grader
test files whose test cases call :func:`require_case`; see ``teachers/README.md``.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

from . import checks
from .checks.framework import GradedItem, recording

#: Key under which the verdicts of one notebook are kept in its global environment.
_CACHE_KEY = "__course_lib_grades__"


def _not_written(*args, **kwargs):
    raise NotImplementedError("Exercise: write this function")


def grade(check_name: str, answer: Any) -> list[GradedItem]:
    """Run ``checks.<check_name>(answer)`` silently; one :class:`GradedItem` per case."""
    check = getattr(checks, check_name, None)
    if not callable(check) or not check_name.startswith("check_"):
        raise ValueError(f"{check_name!r} is not one of course_lib's exercise checks")
    with recording() as items, contextlib.redirect_stdout(io.StringIO()):
        check(answer)
    return list(items)


def cases_of(check_name: str) -> list[str]:
    """The descriptions of a check's graded cases (found by grading an unwritten answer)."""
    return [item.description for item in grade(check_name, _not_written)]


def require_case(env: dict, check_name: str, answer_name: str, number: int) -> None:
    """Raise ``AssertionError`` unless case ``number`` of the check passes for ``env[answer_name]``.

    ``env`` is the notebook's global environment after the autograder ran it. The
    check runs once per notebook (its verdicts are kept in ``env``); the error
    message is the line the learner would see in the notebook, hint included,
    never the expected answer of a hidden case.
    """
    verdicts = env.setdefault(_CACHE_KEY, {})
    if check_name not in verdicts:
        answer = env.get(answer_name)
        if answer is None:
            cases = cases_of(check_name)
            message = f"the notebook defines no `{answer_name}`: keep the exercise's name"
            verdicts[check_name] = [GradedItem(check_name, i, d, False, message)
                                    for i, d in enumerate(cases, start=1)]
        else:
            verdicts[check_name] = grade(check_name, answer)
    items = verdicts[check_name]
    if not 1 <= number <= len(items):
        raise AssertionError(f"{check_name} has {len(items)} cases, not {number}: regenerate "
                             "the assignment with this course_lib")
    item = items[number - 1]
    assert item.passed, f"{item.description}: {item.message}"


__all__ = ["cases_of", "grade", "require_case"]
