"""Build the course website from the solved notebooks and their stored outputs.

    python tools/site.py build OUT      # e.g. python tools/site.py build _site

The pages are ``solutions/*.ipynb`` as committed (nothing is executed), the front page, the
glossary and the bibliography in ``site/``. Sphinx with MyST-NB and the Book theme renders
them (``pip install -e ".[site]"``, also part of ``.[dev]``); the equations are typeset by the
MathJax copy that the ``jupyter-server-mathjax`` wheel ships, so the site needs no CDN.
Each chapter page has launch buttons for Colab and Binder at the release the notebooks
install (``course_lib.config.RELEASE``).

``OUT`` must be missing, empty, or a site this command built before (it holds the marker
file ``.course-site``); anything else is refused before a file is touched. The new site is
built beside it and swapped in only when the build succeeded.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout: find course_lib
    sys.path.insert(0, str(ROOT))

from course_lib import config  # noqa: E402 (after the sys.path fix above)

SITE = ROOT / "site"
MARKER = ".course-site"


def release() -> str:
    """The release the notebooks install (``course_lib.config.RELEASE``): the launch buttons' ref."""
    return config.RELEASE


class SiteError(RuntimeError):
    """The site cannot be built (a missing tool, an output folder that is not ours)."""


def check_output_folder(out: Path) -> None:
    """Refuse an output folder that holds anything but a site built by this command."""
    if out.exists() and not out.is_dir():
        raise SiteError(f"{out} exists and is not a folder; choose another output folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise SiteError(f"{out} is not empty and was not built by tools/site.py (no {MARKER}); "
                        "choose an empty or new folder, nothing was changed")


def mathjax_folder() -> Path:
    try:
        import jupyter_server_mathjax
    except ImportError:
        raise SiteError('MathJax for the site comes from jupyter-server-mathjax: '
                        'pip install -e ".[site]"') from None
    return Path(jupyter_server_mathjax.__file__).parent / "static"


def stage(source: Path) -> list[str]:
    """Copy the pages into ``source``: the notebooks, site/*.md and README.md (included)."""
    notebooks = sorted((ROOT / "solutions").glob("*.ipynb"))
    for path in [*notebooks, *SITE.glob("*.md"), ROOT / "README.md"]:
        shutil.copy2(path, source / path.name)
    return [path.stem for path in notebooks]


def build(out: Path, quiet: bool = True) -> dict:
    """Build the site into ``out``; returns the chapter pages and the seconds it took."""
    out = out.resolve()
    check_output_folder(out)
    try:
        import myst_nb  # noqa: F401
        import sphinx_book_theme  # noqa: F401
    except ImportError as error:
        raise SiteError(f'{error.name} is missing: pip install -e ".[site]"') from None
    mathjax_folder()                            # fail early, before the build
    started = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="course-site-", dir=out.parent) as work:
        source, html = Path(work) / "source", Path(work) / "html"
        source.mkdir()
        chapters = stage(source)
        command = [sys.executable, "-m", "sphinx", "-b", "html", "-c", str(SITE), "-W",
                   "--keep-going", *(["-q"] if quiet else []), str(source), str(html)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise SiteError(f"Sphinx failed (exit {result.returncode}):\n"
                            f"{result.stdout[-3000:]}\n{result.stderr[-6000:]}")
        shutil.copytree(mathjax_folder(), html / "_static" / "mathjax")
        (html / MARKER).write_text(f"built by tools/site.py from {ROOT}\n", encoding="utf-8")
        if out.exists():                        # ours (checked above): replace it whole
            old = Path(work) / "previous"
            out.rename(old)
        html.rename(out)
    return {"chapters": chapters, "pages": len(list(out.rglob("*.html"))),
            "seconds": round(time.perf_counter() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="build the website into OUT")
    p.add_argument("out", type=Path)
    p.add_argument("--verbose", action="store_true", help="show Sphinx's progress")
    args = parser.parse_args(argv)
    try:
        report = build(args.out, quiet=not args.verbose)
    except SiteError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"✓ built {report['pages']} pages ({len(report['chapters'])} chapters) into "
          f"{args.out} in {report['seconds']} s; open {args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
