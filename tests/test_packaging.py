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

_release_spec = importlib.util.spec_from_file_location("release", ROOT / "tools" / "release.py")
release = importlib.util.module_from_spec(_release_spec)
_release_spec.loader.exec_module(release)

_lock_spec = importlib.util.spec_from_file_location("binder_lock", ROOT / "tools" / "binder_lock.py")
binder_lock = importlib.util.module_from_spec(_lock_spec)
_lock_spec.loader.exec_module(binder_lock)


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


def test_installing_the_course_on_colab_replaces_none_of_colabs_packages():
    """The set-up cell installs course_lib into Colab's runtime: every dependency Colab already
    has must satisfy our bounds, or pip would up- or downgrade Colab's own TensorFlow, numpy..."""
    if not COLAB_FREEZE.exists():
        pytest.skip(f"Colab's package list is not beside the project ({COLAB_FREEZE})")
    from packaging.requirements import Requirement

    colab = {}
    for line in COLAB_FREEZE.read_text(encoding="utf-8").splitlines():
        name, _, version = line.strip().partition("==")
        if version:
            colab[binder_lock.canonical(name)] = version.split(";")[0].strip()
    project = _pyproject()["project"]
    needed = project["dependencies"] + ["ipywidgets>=7.7"]   # the playground's widgets
    assert "ipywidgets>=7.7" in project["optional-dependencies"]["notebooks"]
    checked = 0
    for text in needed:
        requirement = Requirement(text)
        name = binder_lock.canonical(requirement.name)
        if name in colab:
            checked += 1
            assert requirement.specifier.contains(colab[name], prereleases=True), (
                f"Colab has {name}=={colab[name]}, outside our {requirement.specifier}")
    assert checked >= 7, "Colab's list should hold tensorflow, keras, numpy, pandas, ..."


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


def test_binder_lock_pins_every_dependency_within_pyproject_bounds():
    from packaging.requirements import Requirement

    lines = (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    pins = {binder_lock.canonical(line.split("==")[0]): line.split("==")[1]
            for line in lines if line and not line.startswith("#")}
    assert all(version for version in pins.values()), "every line must be name==version"
    for text in binder_lock.requirements():
        requirement = Requirement(text)
        name = binder_lock.canonical(requirement.name)
        assert name in pins, f"{name} is missing from binder/requirements.txt: run tools/binder_lock.py"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"binder pins {name}=={pins[name]}, outside pyproject's {requirement.specifier}: "
            "run tools/binder_lock.py")


def test_binder_lock_uses_the_cpu_build_and_binders_python():
    assert "tensorflow-cpu>=2.16.1" in binder_lock.requirements()
    assert binder_lock.python_version() == "3.11"


def test_ci_runs_the_unit_tests_under_colabs_versions():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "-c constraints/colab.txt" in ci


def test_colab_installs_the_release_named_in_config_not_main():
    from course_lib import config

    version = _pyproject()["project"]["version"]
    assert config.RELEASE == f"v{version}", "bump config.RELEASE with pyproject's version"
    assert config.PIP_INSTALL_URL.endswith(f"@{config.RELEASE}")
    assert "@main" not in config.PIP_INSTALL_URL


def test_changelog_and_citation_name_the_release():
    version = _pyproject()["project"]["version"]
    root = Path(__file__).resolve().parents[1]
    assert f"## v{version}" in (root / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"version: {version}" in (root / "CITATION.cff").read_text(encoding="utf-8")


def test_the_notebooks_install_the_library_they_were_written_for():
    """No notebook on main installs a library older than the code it calls.

    The set-up cells install the tag ``config.RELEASE``; release.json records what that
    release holds (course_lib/, pyproject's [project] table, every notebook's code
    cells). Any change to them since needs a new release: ``python tools/release.py X.Y.Z``.
    """
    from course_lib import config

    manifest = release.recorded(ROOT)
    assert manifest["release"] == config.RELEASE, (
        f"release.json records {manifest['release']} but config.RELEASE is {config.RELEASE}: "
        "cut releases with tools/release.py, not by hand")
    changes = release.drift(ROOT)
    assert not changes, (
        f"course_lib/ or the notebooks changed since release {config.RELEASE}, which the "
        "notebooks install on Colab:\n  " + "\n  ".join(changes[:20]) +
        "\nCut a release (CONTRIBUTING.md): python tools/release.py <next version>")
    for folder in release.NOTEBOOK_FOLDERS:
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            assert config.PIP_INSTALL_URL in path.read_text(encoding="utf-8"), (
                f"{path.name}'s set-up cell does not install {config.PIP_INSTALL_URL}")


def test_the_release_check_notices_a_change(tmp_path):
    import shutil

    for name in ("course_lib", "solutions", "chapters"):
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", release.MANIFEST):
        shutil.copy(ROOT / name, tmp_path / name)
    assert release.drift(tmp_path) == []
    with open(tmp_path / "course_lib" / "runs.py", "a", encoding="utf-8") as handle:
        handle.write("\n# a change after the release\n")
    notebook = tmp_path / "chapters" / "05_attention.ipynb"
    notebook.write_text(notebook.read_text(encoding="utf-8").replace(
        "load_or_train", "load_or_train_v2", 1), encoding="utf-8")
    assert release.drift(tmp_path) == ["changed: chapters/05_attention.ipynb (code cells)",
                                       "changed: course_lib/runs.py"]


def test_the_lowest_versions_file_pins_pyprojects_lower_bounds():
    """constraints/lowest.txt is the lowest-direct resolution that .ci/run tests against."""
    from packaging.requirements import Requirement

    pins = {}
    for line in (ROOT / "constraints" / "lowest.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip()] = version.strip()
    bounds = {}
    for text in _pyproject()["project"]["dependencies"]:
        requirement = Requirement(text)
        lower = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        assert lower, f"{text}: every dependency needs a lower bound"
        bounds[requirement.name] = lower[0]
    assert set(pins) == set(bounds)
    from packaging.version import Version

    for name, lower in bounds.items():
        assert Version(pins[name]) == Version(lower), (
            f"constraints/lowest.txt pins {name}=={pins[name]}; pyproject's lower bound is {lower}")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "-c constraints/lowest.txt" in ci


def test_the_github_workflow_runs_the_ci_script_on_pushes_and_pull_requests():
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text("utf-8"))
    triggers = workflow[True] if True in workflow else workflow["on"]   # YAML 1.1 reads `on` as True
    assert {"push", "pull_request"} <= set(triggers)
    steps = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert "bash .ci/run" in steps, "the workflow must run exactly what CI runs"
    corpus = "\n".join(steps)
    assert "../shared/data/deu-eng.zip" in corpus, ".ci/run reads the corpus from there"


def test_issue_templates_ask_for_chapter_cell_platform_and_versions():
    yaml = pytest.importorskip("yaml")
    template = yaml.safe_load((ROOT / ".github" / "ISSUE_TEMPLATE" / "bug_report.yml")
                              .read_text("utf-8"))
    fields = {item["id"] for item in template["body"]}
    assert {"chapter", "cell", "platform", "versions"} <= fields
    chapters = next(item for item in template["body"] if item["id"] == "chapter")
    listed = " ".join(chapters["attributes"]["options"])
    for notebook in sorted((ROOT / "solutions").glob("*.ipynb")):
        assert notebook.stem[:2] in listed, f"{notebook.name} is missing from the template"
