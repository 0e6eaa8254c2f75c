"""The first code cell of every notebook: quiet TensorFlow, seed, and say where we run.

Every notebook in the course starts with the same two lines::

    from course_lib.notebook import setup
    setup()

Why a helper instead of a handful of imports? Three reasons:

1. **TensorFlow is chatty.** Importing it prints C++ log lines ("oneDNN custom
   operations are on", "Unable to register cuDNN factory", ...) and Python
   warnings that say nothing about machine translation. They also land on
   *stderr*, which the course's notebook tests treat as an error. The log level
   has to be chosen *before* ``import tensorflow`` runs, so it must happen in the
   very first cell.
2. **Reproducibility.** :func:`setup` seeds Python, NumPy and Keras in one go, so
   re-running a notebook gives the same splits, the same initial weights and
   (on the CPU) the same numbers.
3. **Knowing your hardware.** Training an attention model takes minutes on a GPU
   and much longer on a CPU. The short report tells you at a glance whether you
   are on Colab, Binder or your own machine, whether a GPU is visible, and
   whether quick mode (``COURSE_QUICK=1``) is shrinking the training runs.

Only :func:`setup` imports TensorFlow; :func:`quiet_tensorflow`, :func:`in_colab`
and :func:`in_binder` are cheap and safe to call from anywhere.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import warnings
from collections.abc import Iterator

from course_lib import config

#: Printed when no GPU is visible on Colab: where the switch lives in Colab's menus.
COLAB_GPU_HINT = "Runtime → Change runtime type → T4 GPU"

# (category, message regex, module regex) triples. Each one names a specific,
# known-harmless warning coming from inside a library, never from your own code:
# a warning raised by a line you wrote in a notebook (module "__main__") stays
# visible, because that one is usually worth reading.
_NOISY_WARNINGS: tuple[tuple[type[Warning], str, str], ...] = (
    # Deprecations inside the libraries themselves (old NumPy aliases, imp, distutils...).
    (DeprecationWarning, "",
     r"(tensorflow|keras|tf_keras|absl|google\.protobuf|flatbuffers|h5py|ml_dtypes|jax)(\.|$)"),
    (PendingDeprecationWarning, "", r"(tensorflow|keras|absl|google\.protobuf)(\.|$)"),
    (FutureWarning, "", r"(tensorflow|keras|tf_keras)(\.|$)"),
    # protobuf: "Protobuf gencode version X is exactly one major version older than ..."
    (UserWarning, r".*[Pp]rotobuf gencode version", ""),
    # Keras 3 functional models fed a dict/list whose nesting differs from the inputs.
    (UserWarning, r".*The structure of `inputs` doesn't match the expected structure", ""),
    # Keras 3 when restoring a model that was saved before it was trained/compiled.
    (UserWarning, r".*Skipping variable loading for optimizer", ""),
    (UserWarning, r".*[Cc]ompiled the loaded model, but the compiled metrics", ""),
    # Keras 3: a finite tf.data pipeline ends one step before `steps_per_epoch`.
    (UserWarning, r".*[Yy]our input ran out of data", ""),
    # NumPy / Matplotlib chatter that appears while plotting on headless machines.
    (UserWarning, r".*(FigureCanvasAgg is non-interactive|Glyph \d+ .*missing from)", ""),
    (UserWarning, r".*Matplotlib is building the font cache", ""),
    (RuntimeWarning, r".*numpy\.(ufunc|dtype) size changed", ""),
)

# Environment variables read by TensorFlow's C++ runtime when it is *first* imported.
_QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",     # 0 = everything ... 3 = fatal errors only
    "TF_CPP_MIN_VLOG_LEVEL": "0",
    "GRPC_VERBOSITY": "ERROR",       # gRPC (pulled in by TensorFlow) logs through absl
    "GLOG_minloglevel": "2",         # libraries that log through glog
}


def in_colab() -> bool:
    """True when running inside Google Colab.

    Colab pre-imports its ``google.colab`` package into every kernel and sets
    ``COLAB_RELEASE_TAG``; either sign is enough.
    """
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def in_binder() -> bool:
    """True when running on mybinder.org (BinderHub sets these variables in the pod)."""
    return "BINDER_SERVICE_HOST" in os.environ or "BINDER_REQUEST" in os.environ


def platform_name() -> str:
    """``"Colab"``, ``"Binder"`` or ``"local"``."""
    if in_colab():
        return "Colab"
    if in_binder():
        return "Binder"
    return "local"


def quiet_tensorflow() -> None:
    """Silence TensorFlow's start-up noise without importing TensorFlow.

    Call it before the first ``import tensorflow`` (later calls still silence
    the Python warnings, but TensorFlow reads its C++ log level only once). It

    * sets ``TF_CPP_MIN_LOG_LEVEL=3`` and friends with ``os.environ.setdefault``,
      so a level you exported yourself (for debugging) wins;
    * lowers the Python ``absl`` logger (used by Keras for messages such as
      "You are saving your model as an HDF5 file") to errors only;
    * installs *targeted* warning filters: each names a known-harmless warning
      raised inside TensorFlow, Keras, protobuf, NumPy or Matplotlib. Warnings
      about your own code are left alone.

    It is idempotent: calling it twice does not stack duplicate filters.
    """
    for name, value in _QUIET_ENV.items():
        os.environ.setdefault(name, value)

    try:
        from absl import logging as absl_logging  # absl-py ships with TensorFlow

        absl_logging.set_verbosity(absl_logging.ERROR)
        absl_logging.set_stderrthreshold("error")
    except ImportError:  # pragma: no cover - absl is a TensorFlow dependency
        pass
    logging.getLogger("absl").setLevel(logging.ERROR)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)

    for category, message, module in _NOISY_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Swallow whatever is written to stderr inside the ``with`` block.

    Two layers: Python's ``sys.stderr`` *and* the operating-system file
    descriptor 2, because TensorFlow's C++ code writes to the descriptor
    directly (Jupyter forwards both to the notebook as red "stderr" text).
    Exceptions still propagate normally, so a failed import is never hidden.
    """
    saved_fd = None
    devnull = None
    try:
        sys.stderr.flush()
        saved_fd = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (some IDEs/sandboxes)
        saved_fd = None
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        if saved_fd is not None:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
        if devnull is not None:
            os.close(devnull)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its start-up lines swallowed (used by the command line)."""
    quiet_tensorflow()
    with _stderr_silenced():
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")


def gpu_name() -> str | None:
    """The name of the first visible GPU, or ``None`` (:func:`course_lib.config.gpu_name`, quietly)."""
    with _stderr_silenced():
        return config.gpu_name()


#: Where ``setup(drive=True)`` keeps the corpus and the trained models on Colab.
DRIVE_MOUNT = "/content/drive"
DRIVE_HOME = DRIVE_MOUNT + "/MyDrive/nmt-course"


def keep_on_google_drive(mount_point: str = DRIVE_MOUNT, home: str = DRIVE_HOME) -> str:
    """Mount Google Drive (Colab asks for permission) and keep ``COURSE_HOME`` there.

    A Colab session starts from an empty disk; with the corpus cache and the trained
    models on Drive, each model is trained once and loaded in every later session.
    Returns the new ``COURSE_HOME``.
    """
    from google.colab import drive  # only importable on Colab

    drive.mount(mount_point)
    os.makedirs(home, exist_ok=True)
    os.environ[config.HOME_ENV] = home
    return home


def _profile_line() -> str:
    if os.environ.get(config.PROFILE_ENV, "").strip():
        how = f"set by {config.PROFILE_ENV}"
    elif config._quick_env():
        how = f"set by {config.QUICK_ENV}"
    else:
        how = "picked from the hardware"
    return (f"{config.profile()} ({how}; {config.PROFILE_ENV}=quick|cpu|gpu changes it, "
            "see the README's profile table)")


def setup(seed: int = config.SEED, verbose: bool = True, drive: bool = False) -> None:
    """Prepare a notebook: quiet TensorFlow, import it, seed everything, report.

    Args:
        seed: Passed to :func:`course_lib.config.seed_everything` (Python, NumPy and
            the Keras backend). Change it to see how much results vary between runs.
        verbose: Print the short environment report (platform, versions, GPU,
            profile, and where the corpus and models are kept).
        drive: On Colab, keep the corpus and trained models on Google Drive
            (:func:`keep_on_google_drive`), so that they survive the end of the
            session. Ignored elsewhere.

    The report goes to stdout only. The function returns ``None`` on purpose, so
    that ``setup()`` as the last line of a cell adds no ``Out[...]`` value.
    """
    quiet_tensorflow()
    where = platform_name()
    if drive and where == "Colab":
        keep_on_google_drive()
    with _stderr_silenced():
        import keras
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        config.seed_everything(seed)
    gpu = gpu_name()

    if not verbose:
        return
    if gpu:
        gpu_line = f"{gpu} ✅"
    elif where == "Colab":
        gpu_line = f"none, training will be slow. Switch it on: {COLAB_GPU_HINT}"
    else:
        gpu_line = "none (CPU only: fine for the course, training just takes longer)"
    home = str(config.course_home())
    if where == "Colab" and not home.startswith(DRIVE_MOUNT):
        home += ("  (emptied when this Colab session ends: setup(drive=True) keeps it on "
                 "Google Drive)")
    elif drive and where != "Colab":
        home += "  (drive=True only applies on Colab)"
    print(f"Running on : {where}")
    print(f"TensorFlow : {tf.__version__}   Keras {keras.__version__}")
    print(f"GPU        : {gpu_line}")
    print(f"Profile    : {_profile_line()}")
    print(f"Data/models: {home}")
    print(f"Seed       : {seed}")


__all__ = [
    "COLAB_GPU_HINT", "DRIVE_HOME", "gpu_name", "keep_on_google_drive", "import_tensorflow_quietly", "in_binder", "in_colab", "platform_name", "quiet_tensorflow",
    "setup",
]
