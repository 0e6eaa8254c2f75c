"""Tests for course_lib.corpus: finding, downloading and reading the corpus.

Everything runs offline: downloads go to a small HTTP server on 127.0.0.1 that
each test tells how to behave (serve a file, fail, cut the body short...).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import warnings
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from course_lib import config, corpus
from course_lib.corpus import CorpusDownloadError, CorpusError, CorpusFormatError

REPO_ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT_SHA = "2299ee45a473a46b51d662f5e8d6ccd9efc99d6283e43c01f8c4a354b37cab68"
SNAPSHOT_PAIRS = 167_264
_ENV_DATA = os.environ.get(config.DATA_ENV, "")  # read before any test changes it

TWO_COLUMNS = "Hi.\tHallo!\nRun!\tLauf!\nWow!\tPotzdonner!\n"
THREE_COLUMNS = (
    "Hi.\tHallo!\tCC-BY 2.0 (France) Attribution: tatoeba.org #538123 (CM) & #380701\n"
    "Run!\tLauf!\tCC-BY 2.0 (France) Attribution: tatoeba.org #906328 (papabear) & #941078\n"
)
FAST = {"backoff": 0.001, "timeout": 5, "progress": False}  # keep retries quick


# --------------------------------------------------------------------------- helpers


def make_zip(members: dict[str, str | bytes]) -> bytes:
    """A zip file (as bytes) holding the given members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return buffer.getvalue()


def write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


SMALL_ZIP = make_zip({"deu.txt": TWO_COLUMNS * 50, "_about.txt": "about"})


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No test sees the learner's COURSE_DATA or cache."""
    monkeypatch.delenv(config.DATA_ENV, raising=False)
    monkeypatch.setenv(config.HOME_ENV, str(tmp_path / "home"))


@pytest.fixture(scope="session")
def snapshot_zip() -> Path:
    """The course snapshot: COURSE_DATA if it names it, else ../shared/data/deu-eng.zip."""
    candidates = [Path(_ENV_DATA)] if _ENV_DATA else []
    candidates.append(REPO_ROOT.parent / "shared" / "data" / "deu-eng.zip")
    for candidate in candidates:
        if candidate.is_file() and corpus.sha256_of(candidate) == SNAPSHOT_SHA:
            return candidate
    pytest.skip(f"course snapshot (sha256 {SNAPSHOT_SHA[:12]}...) not found at "
                f"{[str(c) for c in candidates]}; set {config.DATA_ENV}=/path/to/deu-eng.zip")


@pytest.fixture
def cache(tmp_path) -> Path:
    folder = tmp_path / "cache"
    folder.mkdir()
    return folder


# --------------------------------------------------------------------------- local server


def serve(body: bytes, *, status: int = 200, length: int | None = None):
    """A reply sending ``body``; ``length`` > len(body) fakes a cut connection."""
    def reply(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/zip")
        handler.send_header("Content-Length", str(len(body) if length is None else length))
        handler.end_headers()
        handler.wfile.write(body)
    return reply


def fail(status: int):
    """A reply with an HTTP error status and a short HTML body."""
    return serve(b"<html><body>error</body></html>", status=status)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # the name is fixed by http.server
        state: LocalServer = self.server.state
        agent = self.headers.get("User-Agent", "")
        state.requests.append((self.path, agent))
        if not agent.startswith("Mozilla/"):  # like manythings.org: no bots
            fail(403)(self)
            return
        state.next_reply()(self)

    def log_message(self, *args) -> None:  # keep test output quiet
        pass


class LocalServer:
    """An HTTP server on 127.0.0.1 playing the replies it is given, in order.

    The last reply repeats. ``requests`` records (path, User-Agent) per request.
    """

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self._replies = [fail(404)]
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.state = self
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, name: str = "deu-eng.zip") -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def reply(self, *replies) -> None:
        self._replies = list(replies)

    def next_reply(self):
        with self._lock:
            return self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server():
    local = LocalServer()
    yield local
    local.close()


# --------------------------------------------------------------------------- downloading


def test_download_real_snapshot(server, snapshot_zip, cache, capsys):
    server.reply(serve(snapshot_zip.read_bytes()))
    dest = corpus.download(server.url(), cache / "deu-eng.zip", timeout=5, progress=True)
    assert dest == cache / "deu-eng.zip"
    assert corpus.sha256_of(dest) == SNAPSHOT_SHA
    assert os.listdir(cache) == ["deu-eng.zip"]  # no temp file left over
    assert len(server.requests) == 1
    assert "100%" in capsys.readouterr().err  # the tqdm progress bar
    data = corpus.read_pairs(dest)
    assert len(data.pairs) == SNAPSHOT_PAIRS
    assert (data.lines_read, data.skipped, data.columns) == (SNAPSHOT_PAIRS, 0, 2)
    assert data.pairs[0] == ("Hi.", "Hallo!")


def test_load_snapshot_through_cache_is_known(server, snapshot_zip, cache, capsys):
    server.reply(serve(snapshot_zip.read_bytes()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a known snapshot must not warn
        data = corpus.load_corpus(url=server.url(), cache_dir=cache)
    assert data.sha256 == SNAPSHOT_SHA and data.snapshot is not None
    out = capsys.readouterr().out
    assert "167,264 pairs" in out and "known" in out
    assert corpus.ATTRIBUTION in out
    assert "www.manythings.org/anki and tatoeba.org" in corpus.ATTRIBUTION


def test_unpacked_snapshot_txt_is_known(snapshot_zip, tmp_path):
    with zipfile.ZipFile(snapshot_zip) as zf:
        txt = Path(zf.extract("deu.txt", tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = corpus.load_corpus(txt, verbose=False)
    assert len(data.pairs) == SNAPSHOT_PAIRS and data.snapshot is not None


def test_truncated_body_fails_and_leaves_nothing(server, cache):
    server.reply(serve(SMALL_ZIP[: len(SMALL_ZIP) // 2], length=len(SMALL_ZIP)))
    with pytest.raises(CorpusDownloadError, match="broke off before the whole file arrived"):
        corpus.download(server.url(), cache / "deu-eng.zip", retries=1, **FAST)
    assert len(server.requests) == 2  # a cut connection is worth one more try
    assert os.listdir(cache) == []


@pytest.mark.parametrize(("status", "words"), [
    (403, ["refused", "manually", "web browser"]),
    (404, ["not found", "manually"]),
])
def test_client_errors_are_not_retried(server, cache, status, words):
    server.reply(fail(status))
    dest = cache / "deu-eng.zip"
    with pytest.raises(CorpusDownloadError) as caught:
        corpus.download(server.url(), dest, retries=3, **FAST)
    message = str(caught.value)
    assert f"HTTP {status}" in message and server.url() in message
    for word in words:
        assert word in message
    assert str(dest) in message and config.DATA_ENV in message
    assert len(server.requests) == 1
    assert os.listdir(cache) == []


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_are_retried(server, cache, status, capsys):
    server.reply(fail(status), serve(SMALL_ZIP))
    dest = corpus.download(server.url(), cache / "deu-eng.zip", retries=3, **FAST)
    assert len(server.requests) == 2
    assert dest.read_bytes() == SMALL_ZIP
    assert f"HTTP {status}" in capsys.readouterr().out  # the learner sees the retry


def test_retries_run_out(server, cache):
    server.reply(fail(500))
    with pytest.raises(CorpusDownloadError, match="after 3 attempts.*HTTP 500") as caught:
        corpus.download(server.url(), cache / "deu-eng.zip", retries=2, **FAST)
    assert len(server.requests) == 3
    assert "manually" in str(caught.value)
    assert os.listdir(cache) == []


def damaged_zip() -> bytes:
    """A zip whose central directory is fine but whose compressed data is not."""
    text = "".join(f"Sentence {i}.\tSatz {i * 7919 % 10007}.\n" for i in range(3000))
    data = bytearray(make_zip({"deu.txt": text}))
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)
    return bytes(data)


@pytest.mark.parametrize(("body", "match"), [
    (b"<html><body>Please enable JavaScript</body></html>", "not a zip file"),
    (damaged_zip(), "damaged"),
    (make_zip({"fra.txt": "Hi.\tSalut !\n"}), r"http://127\.0\.0\.1:\d+/deu-eng\.zip does not.*fra"),
])
def test_bad_zip_served_fails_and_leaves_nothing(server, cache, body, match):
    server.reply(serve(body))
    with pytest.raises(CorpusFormatError, match=match):
        corpus.download(server.url(), cache / "deu-eng.zip", **FAST)
    assert len(server.requests) == 1  # a bad file is not retried
    assert os.listdir(cache) == []


def test_server_rejects_python_user_agent_but_download_works(server, cache):
    server.reply(serve(SMALL_ZIP))
    with pytest.raises(urllib.error.HTTPError) as plain:
        urllib.request.urlopen(server.url(), timeout=5)  # Python's default User-Agent
    assert plain.value.code == 403
    plain.value.close()
    corpus.download(server.url(), cache / "deu-eng.zip", **FAST)
    agents = [agent for _, agent in server.requests]
    assert agents[0].startswith("Python-urllib") and agents[1] == corpus.USER_AGENT


def test_no_network_explains_manual_download(cache):
    with socket.socket() as probe:  # find a local port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/deu-eng.zip"
    dest = cache / "deu-eng.zip"
    with pytest.raises(CorpusDownloadError) as caught:
        corpus.download(url, dest, retries=1, **FAST)
    message = str(caught.value)
    for expected in (url, "web browser", f"{config.DATA_ENV}=", str(dest), "after 2 attempts"):
        assert expected in message
    assert os.listdir(cache) == []


def test_ctrl_c_leaves_nothing_behind(server, cache, monkeypatch):
    """Ctrl-C after the bytes have arrived, before the file is checked and moved into place."""
    server.reply(serve(SMALL_ZIP))
    real_downloader = corpus._downloader

    def interrupted(timeout, progress):
        def download(url, output, pooch):
            real_downloader(timeout, progress)(url, output, pooch)
            assert Path(output).stat().st_size == len(SMALL_ZIP)  # a partial file exists now
            raise KeyboardInterrupt
        return download

    monkeypatch.setattr(corpus, "_downloader", interrupted)
    with pytest.raises(KeyboardInterrupt):
        corpus.download(server.url(), cache / "deu-eng.zip", **FAST)
    assert len(server.requests) == 1  # the download had started
    assert os.listdir(cache) == []


# --------------------------------------------------------------------------- locating


def test_cache_is_reused(server, capsys):
    server.reply(serve(SMALL_ZIP))
    first = corpus.locate_corpus(url=server.url())
    assert first == config.cache_dir() / "deu-eng.zip"  # under the test's COURSE_HOME
    assert "Downloading" in capsys.readouterr().out
    second = corpus.locate_corpus(url=server.url())
    assert second == first
    assert len(server.requests) == 1


def test_explicit_path_wins_and_missing_path_is_an_error(server, tmp_path, monkeypatch):
    txt = write(tmp_path / "deu.txt", TWO_COLUMNS)
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path / "elsewhere.zip"))
    assert corpus.locate_corpus(txt, url=server.url()) == txt
    missing = tmp_path / "nope" / "deu-eng.zip"
    with pytest.raises(CorpusDownloadError, match="no such file") as caught:
        corpus.locate_corpus(missing, url=server.url())
    assert str(missing) in str(caught.value)
    assert isinstance(caught.value, CorpusError)
    assert server.requests == []  # never fell through to a download


def test_course_data_env_is_honoured(server, tmp_path, monkeypatch):
    zipped = write(tmp_path / "mine.zip", make_zip({"deu.txt": TWO_COLUMNS}))
    monkeypatch.setenv(config.DATA_ENV, str(zipped))
    assert corpus.locate_corpus(url=server.url()) == zipped
    with pytest.warns(corpus.UnknownSnapshotWarning):
        data = corpus.load_corpus(verbose=False, url=server.url())
    assert data.path == zipped and len(data.pairs) == 3
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path / "missing.zip"))
    with pytest.raises(CorpusDownloadError, match=config.DATA_ENV):
        corpus.locate_corpus(url=server.url())
    assert server.requests == []


def test_folder_holding_the_corpus(tmp_path):
    write(tmp_path / "deu.txt", TWO_COLUMNS)
    assert corpus.locate_corpus(tmp_path) == tmp_path / "deu.txt"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CorpusDownloadError, match="holds neither deu-eng.zip nor deu.txt"):
        corpus.locate_corpus(empty)


def test_no_download_and_empty_cache(tmp_path, server):
    with pytest.raises(CorpusDownloadError, match="downloading is switched off") as caught:
        corpus.locate_corpus(url=server.url(), cache_dir=tmp_path / "c", download=False)
    assert str(tmp_path / "c" / "deu-eng.zip") in str(caught.value)
    assert "manually" in str(caught.value)
    assert server.requests == []


# --------------------------------------------------------------------------- reading


def test_read_two_columns_txt(tmp_path):
    txt = write(tmp_path / "deu.txt", TWO_COLUMNS)
    data = corpus.read_pairs(txt)
    assert data.pairs == [("Hi.", "Hallo!"), ("Run!", "Lauf!"), ("Wow!", "Potzdonner!")]
    assert (data.lines_read, data.skipped, data.columns) == (3, 0, 2)
    assert data.sha256 == hashlib.sha256(txt.read_bytes()).hexdigest()


def test_read_three_columns_zip_drops_attribution(tmp_path):
    zipped = write(tmp_path / "deu-eng.zip",
                   make_zip({"_about.txt": "about", "deu.txt": THREE_COLUMNS}))
    data = corpus.read_pairs(zipped)
    assert data.pairs == [("Hi.", "Hallo!"), ("Run!", "Lauf!")]
    assert data.columns == 3 and data.skipped == 0


def test_crlf_and_byte_order_mark(tmp_path):
    txt = write(tmp_path / "deu.txt", "\ufeffHi.\tHallo!\r\nRun!\tLauf!\r\n")
    assert corpus.read_pairs(txt).pairs == [("Hi.", "Hallo!"), ("Run!", "Lauf!")]


def test_malformed_lines_are_skipped_and_counted(tmp_path):
    lines = [
        "Hi.\tHallo!",            # 1 ok
        "no tab here",            # 2 one field
        "a\tb\tc\td",             # 3 four fields
        "\tNur Deutsch.",         # 4 empty English
        "Only English.\t  ",      # 5 empty German
        "",                       # 6 empty line
        "Run!\tLauf!",            # 7 ok
        "x", "y", "z",            # 8-10 more of the same
    ]
    data = corpus.read_pairs(write(tmp_path / "deu.txt", "\n".join(lines) + "\n"))
    assert data.pairs == [("Hi.", "Hallo!"), ("Run!", "Lauf!")]
    assert (data.lines_read, data.skipped) == (10, 8)
    assert [n for n, _ in data.skipped_examples] == [2, 3, 4, 5, 6]  # the first few only
    reasons = dict(data.skipped_examples)
    assert "found 1" in reasons[2] and "found 4" in reasons[3]
    assert reasons[4] == "empty English side" and reasons[5] == "empty German side"
    assert reasons[6] == "empty line"


def test_summary_is_json_friendly(tmp_path):
    data = corpus.read_pairs(write(tmp_path / "deu.txt", TWO_COLUMNS + "bad line\n"))
    summary = json.loads(json.dumps(data.summary()))
    assert summary["pairs"] == 3 and summary["skipped"] == 1
    assert summary["skipped_examples"] == [[4, "expected 2 or 3 tab-separated fields, found 1"]]
    assert summary["snapshot"] == "unknown" and summary["sha256"] == data.sha256


def test_zip_without_deu_txt_names_its_members(tmp_path):
    zipped = write(tmp_path / "fra-eng.zip", make_zip({"fra.txt": "Hi.\tSalut !\n"}))
    with pytest.raises(CorpusFormatError, match=r"does not contain deu\.txt.*fra\.txt"):
        corpus.read_pairs(zipped)


@pytest.mark.parametrize("name", ["deu-eng.zip", "download.bin"])  # by name or content
def test_truncated_zip_on_disk_says_delete_and_redownload(tmp_path, name):
    zipped = write(tmp_path / name, SMALL_ZIP[: len(SMALL_ZIP) // 2])
    with pytest.raises(CorpusFormatError, match="Delete it and download it again") as caught:
        corpus.read_pairs(zipped)
    assert str(zipped) in str(caught.value)


def test_latin1_file_reports_the_line(tmp_path):
    txt = write(tmp_path / "deu.txt", "Hi.\tHallo!\nHello.\tGrüß Gott!\n".encode("latin-1"))
    with pytest.raises(CorpusFormatError, match=r"line 2 is not valid UTF-8"):
        corpus.read_pairs(txt)


def test_file_without_pairs_is_an_error(tmp_path):
    with pytest.raises(CorpusFormatError, match="no sentence pairs"):
        corpus.read_pairs(write(tmp_path / "deu.txt", "just\nsome\nwords\n"))


def test_unknown_checksum_warns_but_loads(tmp_path, capsys):
    txt = write(tmp_path / "deu.txt", THREE_COLUMNS)
    sha = corpus.sha256_of(txt)
    assert sha not in corpus.KNOWN_SNAPSHOTS
    with pytest.warns(corpus.UnknownSnapshotWarning, match=sha) as caught:
        data = corpus.load_corpus(txt)
    assert "2 lines" in str(caught[0].message)
    assert data.pairs == [("Hi.", "Hallo!"), ("Run!", "Lauf!")]
    out = capsys.readouterr().out
    assert "2 pairs" in out and "unknown version" in out and corpus.ATTRIBUTION in out


def test_module_does_not_import_tensorflow():
    code = ("import sys, course_lib.corpus; "
            "sys.exit('tensorflow' in sys.modules or 'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, timeout=60, check=False)
    assert result.returncode == 0


def test_manual_download_help_says_how_to_upload_on_colab_and_binder():
    text = corpus.manual_download_help()
    assert "COURSE_DATA" in text and "Colab" in text and "Binder" in text and "upload" in text
