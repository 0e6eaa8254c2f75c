"""Writing files so that nothing is ever half-written: the course's one home for it.

A file that marks something as usable (a trained model, a vocabulary, ``run.json``)
is written under a temporary name in the same folder and then renamed over the
real name. A rename within a folder is atomic: a reader sees the old file or the
complete new one, never a mixture, even if the writer is killed or the disk fills.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path


def replace_atomically(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(temporary_path)``, then rename the result to ``path`` in one step.

    If ``write`` fails, the temporary file is removed and ``path`` is untouched.
    The temporary name keeps the whole ending of the name (Keras checks that a model file
    ends in ``.keras`` and a weights file in ``.weights.h5``).
    """
    path = Path(path)
    temporary = path.with_name(f".partial-{path.name}")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def write_text_atomically(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path``, all or nothing."""
    return replace_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json_atomically(path: str | Path, payload) -> Path:
    """Write ``payload`` as JSON to ``path``, all or nothing."""
    return write_text_atomically(path, json.dumps(payload, indent=1, ensure_ascii=False))


def sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as hex (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_text_lines(path: str | Path, what: str = "file") -> list[str]:
    """The lines of a UTF-8 text file (a byte-order mark is dropped, line ends too).

    Raises ``ValueError`` with the line and the fix when the file is not UTF-8, and
    ``FileNotFoundError`` when it does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist" +
                                (" (it is a folder)" if path.is_dir() else ""))
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValueError(f"{what} {path} is not UTF-8 text (byte 0x{data[error.start]:02x} on "
                         f"line {line}); save it as UTF-8, e.g. `iconv -f latin1 -t utf-8 "
                         f"{path.name} > fixed.txt`") from None
    return text.splitlines()


class OutputPathError(ValueError):
    """An output path the course cannot write to: found before any work is done."""


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _probe_writable(folder: Path, what: str, path: Path) -> None:
    probe = folder / f".write-test-{os.getpid()}"
    try:
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
    except OSError as error:
        raise OutputPathError(f"cannot write the {what} {path}: {folder} is not writable "
                              f"({error.strerror or error})") from None


def check_output_folder(folder: str | Path, what: str = "output folder") -> Path:
    """``folder`` if it is, or can become, a folder we can write to; else :class:`OutputPathError`.

    Called before the work starts, so that a typo in ``--out`` costs a second, not a
    training or an evaluation. Nothing is created.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputPathError(f"the {what} {folder} is a file, not a folder: choose another path")
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        raise OutputPathError(f"cannot create the {what} {folder}: {existing} is a file")
    _probe_writable(existing, what, folder)
    return folder


def check_output_file(path: str | Path, what: str = "output file") -> Path:
    """``path`` if a file can be written there; else :class:`OutputPathError` (nothing is created)."""
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"the {what} {path} is a folder: give a file name")
    check_output_folder(path.parent, f"folder of the {what}")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputPathError(f"the {what} {path} exists and is read-only")
    return path
