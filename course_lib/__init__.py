"""course_lib: the reference implementations behind the NMT-with-attention course.

Importing the package is cheap: TensorFlow is only loaded by the modules that need
it (``text``, ``models``, ``training``, ``decoding``), so a notebook can silence
TensorFlow's logging first with :func:`course_lib.notebook.setup`.
"""

from .config import RELEASE

#: The package version, from the one place that names the release (``config.RELEASE``).
__version__ = RELEASE.removeprefix("v")
