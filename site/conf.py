"""Sphinx configuration of the course website (built by ``python tools/site.py build OUT``).

The pages are the solved notebooks with the outputs of our runs (never re-executed here),
plus the front page, the glossary and the bibliography in this folder. ``tools/site.py``
copies them into one source folder and runs Sphinx with this file.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # a checkout: find course_lib
    sys.path.insert(0, str(ROOT))

from course_lib import config as course_config  # noqa: E402 (after the sys.path fix above)

project = "Neural machine translation with attention"
author = "The NMT course authors"
copyright = "the course authors; data: Tatoeba (tatoeba.org) via manythings.org, CC-BY 2.0 FR"
release = course_config.RELEASE

extensions = ["myst_nb", "sphinx.ext.mathjax"]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "README.md"]   # README: only included
nb_execution_mode = "off"                 # the stored outputs of real runs, never re-executed
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
myst_update_mathjax = False              # keep the MathJax 2 configuration below as it is
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]

# MathJax 2 from the jupyter-server-mathjax wheel, copied into _static/ by tools/site.py: the
# equations render without a CDN (the site works offline and in CI).
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"   # the one config the wheel ships
mathjax2_config = {"tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
                               "processEscapes": True},
                   # the wheel ships the STIX-Web fonts only (as the classic notebook used them)
                   "HTML-CSS": {"availableFonts": [], "webFont": "STIX-Web", "imageFont": None,
                                "preferredFont": None}}

html_theme = "sphinx_book_theme"
html_title = "NMT with attention · Keras 3"
html_theme_options = {
    "repository_url": course_config.REPO_URL,
    "repository_branch": course_config.RELEASE,     # the release the notebooks install
    "path_to_docs": "solutions",
    "use_repository_button": True,
    "launch_buttons": {"colab_url": "https://colab.research.google.com",
                       "binderhub_url": "https://mybinder.org",
                       "notebook_interface": "jupyterlab"},
    "show_toc_level": 2,
}
html_last_updated_fmt = None
