"""Packaging: what learners install on Colab, Binder and their own machines."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
COLAB_FREEZE = ROOT.parent / "shared" / "colab" / "pip-freeze.gpu.txt"

_spec = importlib.util.spec_from_file_location("colab_constraints",
                                               ROOT / "tools" / "colab_constraints.py")
colab_constraints = importlib.util.module_from_spec(_spec)
sys.modules["colab_constraints"] = colab_constraints
_spec.loader.exec_module(colab_constraints)


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_colab_constraints_match_colabs_published_package_list():
    if not COLAB_FREEZE.exists():
        pytest.skip(f"Colab's package list is not beside the project ({COLAB_FREEZE})")
    versions = colab_constraints.colab_versions(COLAB_FREEZE.read_text(encoding="utf-8"))
    committed = (ROOT / "constraints" / "colab.txt").read_text(encoding="utf-8")
    expected = colab_constraints.render(versions, "googlecolab/backend-info pip-freeze.gpu.txt")
    assert committed == expected, "run: python tools/colab_constraints.py"


def test_colab_constraints_pin_every_package_the_course_tests_with():
    pins = [line for line in (ROOT / "constraints" / "colab.txt").read_text().splitlines()
            if line and not line.startswith("#")]
    assert [p.split("==")[0] for p in pins] == list(colab_constraints.PACKAGES)
    assert all(p.count("==") == 1 and p.split("==")[1] for p in pins)


def test_constraints_reader_refuses_a_listing_without_a_pinned_package():
    with pytest.raises(ValueError, match="tensorflow"):
        colab_constraints.colab_versions("keras==3.13.2\nnumpy==2.1.3\n")


def test_python_range_is_where_tensorflow_has_wheels():
    requires = _pyproject()["project"]["requires-python"]
    assert requires == ">=3.10,<3.14", requires


def test_licence_is_an_spdx_string_and_setuptools_can_read_it():
    data = _pyproject()
    assert data["project"]["license"] == "MIT"
    assert any(req.startswith("setuptools>=77") for req in data["build-system"]["requires"])
    for name in data["project"]["license-files"]:
        assert (ROOT / name).is_file(), name


def test_ci_runs_the_unit_tests_under_colabs_versions():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "-c constraints/colab.txt" in ci
