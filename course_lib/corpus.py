"""Find, download and read the English-German corpus.

The course translates English into German with sentence pairs from the Tatoeba
Project, as packaged by manythings.org: a zip file ``deu-eng.zip`` holding
``deu.txt``, one pair a line::

    Hi.<TAB>Hallo!                                    (older files: 2 columns)
    Hi.<TAB>Hallo!<TAB>CC-BY 2.0 (France) Attribution  (newer files: 3 columns)

Where the corpus comes from, in this order (see :func:`locate_corpus`):

1. a path you pass in (the zip or an unpacked ``deu.txt``);
2. the environment variable ``COURSE_DATA=/path/to/deu-eng.zip``;
3. the cache, ``~/.cache/nmt-course/data/deu-eng.zip`` (see ``config.cache_dir()``);
4. a download from manythings.org into the cache.

Typical use::

    from course_lib import corpus
    data = corpus.load_corpus()          # prints a summary and the attribution
    data.pairs[:2]                       # [('Hi.', 'Hallo!'), ('Hi.', 'Grüß Gott!')]

This module only needs the standard library (and ``tqdm`` for a progress bar);
it does not import TensorFlow.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import warnings
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from course_lib import config

URL = "https://www.manythings.org/anki/deu-eng.zip"
ZIP_NAME = "deu-eng.zip"
MEMBER = "deu.txt"
LICENSE = "CC-BY 2.0 FR"
ATTRIBUTION = (
    "Sentence pairs: www.manythings.org/anki and tatoeba.org "
    "(Tatoeba Project, licence CC-BY 2.0 FR)."
)

#: manythings.org refuses the default ``Python-urllib`` user agent (HTTP 403/406).
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0 Safari/537.36"
)

#: Checksums (sha256) of corpus files we know, and what they are. Upstream
#: publishes a new, larger file now and then: an unknown checksum is not an
#: error, it only means your counts will differ from the course's.
KNOWN_SNAPSHOTS: dict[str, str] = {
    "2299ee45a473a46b51d662f5e8d6ccd9efc99d6283e43c01f8c4a354b37cab68": (
        "course snapshot of deu-eng.zip dated 2018-05-13 (167,264 pairs, 2 columns)"
    ),
    "ccffe3ac0b680ade544148bbadbc63ed547f5cc486cc19eceb848b9d22b5e5f3": (
        "deu.txt unpacked from the course snapshot dated 2018-05-13 (167,264 pairs)"
    ),
}

#: HTTP status codes worth trying again: the server is busy or broken right now.
RETRY_STATUS = {429, 500, 502, 503, 504}
_MAX_EXAMPLES = 5


# --------------------------------------------------------------------------- errors


class CorpusError(Exception):
    """Something is wrong with finding, downloading or reading the corpus."""


class CorpusDownloadError(CorpusError):
    """The corpus could not be found locally or downloaded."""


class CorpusFormatError(CorpusError):
    """The corpus file is not what we expected (not a zip, wrong encoding, ...)."""


class UnknownSnapshotWarning(UserWarning):
    """The corpus file is not one listed in :data:`KNOWN_SNAPSHOTS`."""


def manual_download_help(url: str = URL, cache_path: Path | None = None) -> str:
    """Instructions for getting the corpus by hand, used in error messages."""
    cache_path = cache_path or config.cache_dir() / ZIP_NAME
    return (
        f"Download it manually: open {url} in a web browser and save the file, then either\n"
        f"  - pass its path: load_corpus('/path/to/{ZIP_NAME}'), or\n"
        f"  - set the environment variable {config.DATA_ENV}=/path/to/{ZIP_NAME}, or\n"
        f"  - put it in the cache at {cache_path}\n"
        f"On Colab or Binder: upload {ZIP_NAME} with the file browser on the left, then run\n"
        f"  %env {config.DATA_ENV}=/content/{ZIP_NAME}   (Colab; on Binder use the path the "
        "upload shows)"
    )


# --------------------------------------------------------------------------- reading


@dataclass
class CorpusFile:
    """The sentence pairs read from one corpus file, with what was skipped."""

    path: Path
    sha256: str
    pairs: list[tuple[str, str]]
    lines_read: int
    skipped: int = 0
    skipped_examples: list[tuple[int, str]] = field(default_factory=list)
    columns: int = 2

    @property
    def snapshot(self) -> str | None:
        """Description from :data:`KNOWN_SNAPSHOTS`, or None for an unknown file."""
        return KNOWN_SNAPSHOTS.get(self.sha256)

    def summary(self) -> dict:
        """The facts about this file as a JSON-friendly dict."""
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "snapshot": self.snapshot or "unknown",
            "pairs": len(self.pairs),
            "lines_read": self.lines_read,
            "skipped": self.skipped,
            "skipped_examples": [[n, why] for n, why in self.skipped_examples],
            "columns": self.columns,
        }


def sha256_of(path: str | os.PathLike) -> str:
    """The sha256 checksum of a file, as 64 hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parse_line(line: str) -> tuple[str, str] | str:
    """Split one line into ``(english, german)``; return a reason string if malformed."""
    line = line.rstrip("\r\n")
    if not line.strip():
        return "empty line"
    fields = line.split("\t")
    if len(fields) not in (2, 3):
        return f"expected 2 or 3 tab-separated fields, found {len(fields)}"
    english, german = fields[0].strip(), fields[1].strip()
    if not english:
        return "empty English side"
    if not german:
        return "empty German side"
    return english, german


def _parse_lines(binary_lines, path: Path) -> dict:
    """Decode and parse lines of bytes; collect pairs and what was skipped."""
    pairs, examples, columns = [], [], Counter()
    skipped = number = 0
    for number, raw in enumerate(binary_lines, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise CorpusFormatError(
                f"{path}: line {number} is not valid UTF-8 ({err.reason} at byte "
                f"{err.start}). The corpus must be UTF-8: re-download it, or convert the "
                f"file, e.g. with `iconv -f latin1 -t utf-8`."
            ) from None
        if number == 1:
            line = line.removeprefix("\ufeff")  # a byte-order mark some editors add
        result = parse_line(line)
        if isinstance(result, str):
            skipped += 1
            if len(examples) < _MAX_EXAMPLES:
                examples.append((number, result))
            continue
        pairs.append(result)
        columns[line.count("\t") + 1] += 1
    return {
        "pairs": pairs,
        "lines_read": number,
        "skipped": skipped,
        "skipped_examples": examples,
        "columns": columns.most_common(1)[0][0] if columns else 0,
    }


def _find_member(zf: zipfile.ZipFile, where: str | Path) -> str:
    """The name of ``deu.txt`` inside the zip (it may sit in a folder)."""
    names = zf.namelist()
    for name in names:
        if name == MEMBER or name.endswith("/" + MEMBER):
            return name
    raise CorpusFormatError(
        f"{where} does not contain {MEMBER}; it holds {names or 'nothing'}. "
        f"Is this the right file? The English-German corpus is {URL}"
    )


def _read_zip(path: Path) -> dict:
    corrupt = (
        f"{path} is damaged or not a zip file (maybe an interrupted download). "
        f"Delete it and download it again."
    )
    try:
        with zipfile.ZipFile(path) as zf, zf.open(_find_member(zf, path)) as member:
            return _parse_lines(member, path)
    except (zipfile.BadZipFile, zlib.error, EOFError) as err:
        raise CorpusFormatError(f"{corrupt} ({err})") from None


def _looks_like_zip(path: Path) -> bool:
    """A zip by name or by content (zip files start with the bytes ``PK``)."""
    with open(path, "rb") as f:
        starts_like_zip = f.read(4) == b"PK\x03\x04"
    return starts_like_zip or path.suffix.lower() == ".zip" or zipfile.is_zipfile(path)


def read_pairs(path: str | os.PathLike) -> CorpusFile:
    """Read sentence pairs from ``deu-eng.zip`` or an unpacked ``deu.txt``.

    Lines with 2 or 3 tab-separated fields are pairs (a 3rd field, the
    attribution, is dropped). Other lines are skipped and counted; the first few
    line numbers and reasons are kept in ``skipped_examples``.
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"There is no corpus file at {path}. Check the path.")
    if _looks_like_zip(path):
        parsed = _read_zip(path)
    else:
        with open(path, "rb") as f:
            parsed = _parse_lines(f, path)
    if not parsed["pairs"]:
        raise CorpusFormatError(
            f"{path}: no sentence pairs found in {parsed['lines_read']} lines "
            f"(first problems: {parsed['skipped_examples']}). Expected lines like "
            f"'english<TAB>german'. Is this the right file?"
        )
    return CorpusFile(path=path, sha256=sha256_of(path), **parsed)


# --------------------------------------------------------------------------- downloading


def _downloader(timeout: float, progress: bool):
    """pooch's HTTP downloader (``requests`` underneath) with a browser-like User-Agent.

    The host refuses Python's default User-Agent. pooch streams the body to a file and
    shows a tqdm bar; ``requests`` raises when the connection closes before the whole
    file (as announced by Content-Length) has arrived.
    """
    import pooch

    return pooch.HTTPDownloader(progressbar=progress, headers={"User-Agent": USER_AGENT},
                                timeout=timeout)


def _http_error_message(code: int, reason: str, url: str, dest: Path) -> str:
    """Explain an HTTP error that retrying will not fix."""
    if code in (403, 406):
        why = "the server refused this client (it blocks some programs, not browsers)"
    elif code == 404:
        why = "the file was not found at that address (it may have moved)"
    else:
        why = f"the server answered {code} {reason}"
    return (f"Could not download {url}: HTTP {code}, {why}.\n"
            + manual_download_help(url, dest))


def _check_zip(path: Path, url: str, dest: Path) -> None:
    """Make sure a downloaded file is a sound zip holding ``deu.txt``."""
    with open(path, "rb") as f:
        head = f.read(64)
    if not zipfile.is_zipfile(path):
        hint = " (it looks like a web page)" if b"<" in head[:16] else ""
        raise CorpusFormatError(
            f"The file downloaded from {url} is not a zip file{hint}, so it was deleted.\n"
            + manual_download_help(url, dest)
        )
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            _find_member(zf, url)
    except (zipfile.BadZipFile, zlib.error, EOFError) as err:
        bad = str(err)
    except CorpusFormatError as err:
        raise CorpusFormatError(f"{err}\nThe download was deleted.") from None
    if bad is not None:
        raise CorpusFormatError(
            f"The zip downloaded from {url} is damaged ({bad}), so it was deleted. "
            f"Try again later.\n" + manual_download_help(url, dest)
        )


def download(url: str, dest: str | os.PathLike, *, timeout: float = 30, retries: int = 3,
             backoff: float = 1.0, progress: bool = True) -> Path:
    """Download ``url`` to ``dest`` safely; return ``dest``.

    The file is streamed into a temporary file next to ``dest`` and only moved
    into place once it is complete and a sound zip holding ``deu.txt``. Network
    errors, truncated downloads and HTTP 429/5xx are tried again up to
    ``retries`` times, waiting ``backoff``, 2x``backoff``, 4x``backoff``... seconds.
    Other HTTP errors (403, 404, ...) fail at once. Whatever happens, including
    Ctrl-C, no partial file is left behind.
    """
    import requests

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    last_error = "no attempt made"
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            _downloader(timeout, progress)(url, tmp_name, None)
            _check_zip(tmp, url, dest)
            os.replace(tmp, dest)
            return dest
        except requests.HTTPError as err:
            code, reason = err.response.status_code, err.response.reason
            if code not in RETRY_STATUS:
                raise CorpusDownloadError(_http_error_message(code, reason, url, dest)) from None
            last_error = f"HTTP {code} {reason}"
        except requests.exceptions.ChunkedEncodingError:
            last_error = "the connection broke off before the whole file arrived"
        except (requests.RequestException, OSError) as err:
            last_error = f"{type(err).__name__}: {err}"
        finally:
            tmp.unlink(missing_ok=True)
        if attempt < retries:
            print(f"Download attempt {attempt + 1} failed ({last_error}); trying again.")
    raise CorpusDownloadError(
        f"Could not download {url} after {retries + 1} attempts (last error: {last_error}). "
        f"Check your internet connection.\n" + manual_download_help(url, dest)
    )


#: ``locate_corpus`` has a parameter called ``download``, hiding the function.
_download_file = download


# --------------------------------------------------------------------------- finding


def _resolve_given(path: Path, origin: str) -> Path:
    """Check a path named by the learner; a folder may hold the zip or deu.txt."""
    path = path.expanduser()
    if path.is_dir():
        for name in (ZIP_NAME, MEMBER):
            if (path / name).is_file():
                return path / name
        raise CorpusDownloadError(
            f"{origin} names the folder {path}, which holds neither {ZIP_NAME} nor {MEMBER}."
        )
    if not path.is_file():
        raise CorpusDownloadError(
            f"{origin} names {path}, but there is no such file. Check the path "
            f"(it should be {ZIP_NAME} or {MEMBER}), or leave it out to use the cache "
            f"or a download."
        )
    return path


def locate_corpus(path: str | os.PathLike | None = None, *, url: str = URL,
                  cache_dir: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Find the corpus file, downloading it into the cache if needed.

    Order: ``path`` if given, then the environment variable ``COURSE_DATA``, then
    the cache (``config.cache_dir()/deu-eng.zip``), then a download into the cache
    (only when ``download`` is true). A path that is given but does not exist is
    an error: it never falls through to the next source.
    """
    if path is not None:
        return _resolve_given(Path(path), "The path you passed")
    from_env = os.environ.get(config.DATA_ENV, "").strip()
    if from_env:
        return _resolve_given(Path(from_env), f"The environment variable {config.DATA_ENV}")
    cached = Path(cache_dir or config.cache_dir()).expanduser() / ZIP_NAME
    if cached.is_file():
        return cached
    if not download:
        raise CorpusDownloadError(
            f"The corpus is not in the cache ({cached}) and downloading is switched off.\n"
            + manual_download_help(url, cached)
        )
    print(f"Downloading the corpus from {url} to {cached} ...")
    return _download_file(url, cached)


# --------------------------------------------------------------------------- loading


def check_snapshot(corpus: CorpusFile) -> bool:
    """True for a known file; otherwise warn with its checksum and line count."""
    if corpus.snapshot:
        return True
    warnings.warn(
        UnknownSnapshotWarning(
            f"Unknown corpus version: {corpus.path} has sha256 {corpus.sha256} and "
            f"{corpus.lines_read:,} lines ({len(corpus.pairs):,} pairs). It still loads, "
            f"but counts will differ from the course's (upstream updates the file now "
            f"and then). Known versions are listed in corpus.KNOWN_SNAPSHOTS."
        ),
        stacklevel=3,
    )
    return False


def describe(corpus: CorpusFile) -> str:
    """A one-line summary: pairs, skipped lines, checksum known or not."""
    known = f"known: {corpus.snapshot}" if corpus.snapshot else "unknown version"
    return (f"Corpus {corpus.path.name}: {len(corpus.pairs):,} pairs, {corpus.skipped:,} "
            f"lines skipped, {corpus.columns} columns; sha256 {corpus.sha256[:12]}... "
            f"({known})")


def load_corpus(path: str | os.PathLike | None = None, *, download: bool = True,
                verbose: bool = True, url: str = URL,
                cache_dir: str | os.PathLike | None = None) -> CorpusFile:
    """Locate, read and check the corpus; print a summary and the attribution."""
    found = locate_corpus(path, url=url, cache_dir=cache_dir, download=download)
    corpus = read_pairs(found)
    check_snapshot(corpus)
    if verbose:
        print(describe(corpus))
        print(ATTRIBUTION)
    return corpus


__all__ = [
    "ATTRIBUTION",
    "KNOWN_SNAPSHOTS",
    "LICENSE",
    "URL",
    "USER_AGENT",
    "CorpusDownloadError",
    "CorpusError",
    "CorpusFile",
    "CorpusFormatError",
    "UnknownSnapshotWarning",
    "check_snapshot",
    "describe",
    "download",
    "load_corpus",
    "locate_corpus",
    "manual_download_help",
    "parse_line",
    "read_pairs",
    "sha256_of",
]
