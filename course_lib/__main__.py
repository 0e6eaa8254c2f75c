"""Entry point of ``python -m course_lib`` (see :mod:`course_lib.cli`)."""

import sys

from .cli import main

sys.exit(main())
