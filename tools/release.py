"""Cut a release of course_lib, so that the notebooks and the library they install agree.

    python tools/release.py 0.4.0     # bump, sync the notebooks, record release.json
    python tools/release.py --check   # exit 1 (and say what changed) if a release is due

Every notebook's set-up cell installs ``course_lib`` on Colab from a git tag
(``config.RELEASE``), not from the moving ``main`` branch. That only works if the code
the notebooks call is the code of that tag. ``release.json`` records, for the release,
the SHA-256 of every file that decides this: the package (``course_lib/``), the
``[project]`` table of ``pyproject.toml`` (versions and dependencies) and the code cells
of every notebook. ``tests/test_packaging.py`` recomputes it and fails while anything
differs: change the library or a notebook's code, and a new release is due before the
change can land.

Cutting a release (see CONTRIBUTING.md) bumps ``version`` in pyproject.toml,
``RELEASE`` in ``course_lib/config.py`` and ``CITATION.cff`` together, turns the
CHANGELOG's "Unreleased" section into the release's, re-generates the notebooks' set-up
cells (``tools/notebooks.py sync``), and writes ``release.json``. Then commit, tag the
commit ``vX.Y.Z`` and push the tag.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = "release.json"
NOTEBOOK_FOLDERS = ("solutions", "chapters")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _notebook_code(path: Path) -> bytes:
    """The code cells of a notebook, in order (outputs and prose do not change the code)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells if c["cell_type"] == "code"]
    return "\n# ---- next cell ----\n".join(code).encode("utf-8")


def fingerprint(root: Path = ROOT) -> dict[str, str]:
    """``{path: sha256}`` of everything a release pins (see the module docstring)."""
    files = {}
    for path in sorted((root / "course_lib").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files[path.relative_to(root).as_posix()] = _digest(path.read_bytes())
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    files["pyproject.toml[project]"] = _digest(json.dumps(project, sort_keys=True).encode())
    for folder in NOTEBOOK_FOLDERS:
        for path in sorted((root / folder).glob("*.ipynb")):
            files[f"{path.relative_to(root).as_posix()} (code cells)"] = _digest(
                _notebook_code(path))
    return files


def recorded(root: Path = ROOT) -> dict:
    path = root / MANIFEST
    if not path.exists():
        return {"release": None, "files": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def drift(root: Path = ROOT) -> list[str]:
    """What changed since the recorded release: one line per file (empty: nothing)."""
    before, now = recorded(root)["files"], fingerprint(root)
    lines = [f"changed: {name}" for name in sorted(now) if name in before and before[name] != now[name]]
    lines += [f"added:   {name}" for name in sorted(set(now) - set(before))]
    lines += [f"removed: {name}" for name in sorted(set(before) - set(now))]
    return lines


def _replace(path: Path, pattern: str, replacement: str) -> None:
    text = path.read_text(encoding="utf-8")
    new, count = re.subn(pattern, replacement, text, count=1, flags=re.MULTILINE)
    if count != 1:
        raise SystemExit(f"release: could not find {pattern!r} in {path}")
    path.write_text(new, encoding="utf-8")


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def cut(version: str, root: Path = ROOT, today: str | None = None) -> None:
    """Bump every place that names the release to ``version`` and record ``release.json``."""
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise SystemExit(f"release: {version!r} is not a version like 0.4.0")
    current = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    if _version_tuple(version) <= _version_tuple(current):
        raise SystemExit(f"release: {version} is not newer than the current {current}")
    changelog = root / "CHANGELOG.md"
    if "## Unreleased" not in changelog.read_text(encoding="utf-8"):
        raise SystemExit("release: CHANGELOG.md has no '## Unreleased' section to release")
    today = today or datetime.date.today().isoformat()
    _replace(root / "pyproject.toml", r'^version = "[^"]+"', f'version = "{version}"')
    _replace(root / "course_lib" / "config.py", r'^RELEASE = "v[^"]+"', f'RELEASE = "v{version}"')
    _replace(root / "CITATION.cff", r"^version: .+$", f"version: {version}")
    _replace(root / "CITATION.cff", r"^date-released: .+$", f"date-released: {today}")
    _replace(changelog, r"^## Unreleased$", f"## Unreleased\n\n## v{version} — {today}")
    # A fresh interpreter: the set-up cells are made from the config just written.
    subprocess.run([sys.executable, str(root / "tools" / "notebooks.py"), "sync"], check=True,
                   cwd=root)
    manifest = {"release": f"v{version}", "date": today, "files": fingerprint(root)}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    print(f"Release v{version} recorded in {MANIFEST} ({len(manifest['files'])} files). Now:\n"
          f"  git commit -am 'Release v{version}' && git tag v{version} && git push && "
          "git push --tags")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("version", nargs="?", help="the new version, e.g. 0.4.0")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if course_lib/ or the notebooks changed since the release")
    args = parser.parse_args(argv)
    if args.check:
        lines = drift()
        print("\n".join(lines) if lines else f"✓ the tree matches release {recorded()['release']}")
        return 1 if lines else 0
    if not args.version:
        parser.error("give the new version, or --check")
    cut(args.version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
