"""Exercise checks: ``checks.check_normalize(normalize)`` and friends, one module per chapter.

* :mod:`.framework` runs a learner's function on several :class:`Case` objects and
  prints what is right or wrong (without the answer). Read it to write new checks.
* :mod:`.layers` checks a learner's Keras layer: it copies the reference layer's
  weights into it and compares the outputs case by case.
* :mod:`.chapter1` … :mod:`.chapter8` hold each chapter's cases.

Everything is re-exported here, so a notebook needs only ``from course_lib import checks``.
"""

from .chapter1 import *  # noqa: F403
from .chapter1 import __all__ as _chapter1
from .chapter2 import *  # noqa: F403
from .chapter2 import __all__ as _chapter2
from .chapter3 import *  # noqa: F403
from .chapter3 import __all__ as _chapter3
from .chapter4 import *  # noqa: F403
from .chapter4 import __all__ as _chapter4
from .chapter5 import *  # noqa: F403
from .chapter5 import __all__ as _chapter5
from .chapter6 import *  # noqa: F403
from .chapter6 import __all__ as _chapter6
from .chapter7 import *  # noqa: F403
from .chapter7 import __all__ as _chapter7
from .chapter8 import *  # noqa: F403
from .chapter8 import __all__ as _chapter8
from .framework import *  # noqa: F403
from .framework import __all__ as _framework
from .layers import *  # noqa: F403
from .layers import __all__ as _layers

__all__ = [*_framework, *_layers, *_chapter1, *_chapter2, *_chapter3, *_chapter4, *_chapter5, *_chapter6,
           *_chapter7, *_chapter8]
