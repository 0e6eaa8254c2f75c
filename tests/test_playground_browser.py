"""The playground in a real browser: JupyterLab on 127.0.0.1, headless Chromium, Playwright.

A tiny attention model that knows the test pairs by heart is saved to a temporary
folder; a one-cell notebook there loads it into :class:`course_lib.playground.Playground`.
The test starts JupyterLab, opens the notebook in Debian's Chromium, runs the cell,
and then uses the widget like a learner: reads the first translation and the heatmap
image, types a new sentence and presses Enter, clears the box.

Skipped, with the reason printed, where Chromium, Playwright or ipywidgets 8 (the
version JupyterLab 4 renders) is missing. ``.ci/run`` installs Chromium.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from helpers import REPO_ROOT, overfit, tiny_model, tiny_pairs, tiny_vectorizers

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TOKEN = "nmt-course-browser-test"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]

NOTEBOOK_CELL = """\
import keras
from course_lib import models  # noqa: F401 (registers the model classes for loading)
from course_lib.decoding import Translator
from course_lib.playground import Playground
from course_lib.text import Vectorizers

model = keras.models.load_model("model.keras")
Playground({"attention": Translator(model, Vectorizers.load("."))}).show()
"""


def _skip_reason() -> str | None:
    if CHROMIUM is None:
        return "Chromium is not installed (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright)"
    try:
        import ipywidgets
    except ImportError:
        return "ipywidgets is not installed"
    if int(ipywidgets.__version__.split(".")[0]) < 8:
        return (f"ipywidgets {ipywidgets.__version__}: JupyterLab 4 renders ipywidgets 8 "
                "(Colab renders 7 itself; the widget logic is tested in test_playground.py)")
    return None


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    reason = _skip_reason()
    if reason:
        print(f"SKIPPED browser test: {reason}")
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("playground")
    vectorizers = tiny_vectorizers()
    model = tiny_model("attention", vectorizers, seed=0)
    overfit(model, vectorizers, tiny_pairs(), steps=60)
    model.save(folder / "model.keras")
    vectorizers.save(folder)
    notebook = {"cells": [{"cell_type": "code", "execution_count": None, "id": "play",
                           "metadata": {}, "outputs": [], "source": NOTEBOOK_CELL}],
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                            "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    (folder / "play.ipynb").write_text(json.dumps(notebook), encoding="utf-8")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p),
        "JUPYTER_RUNTIME_DIR": str(folder / ".runtime")}
    log = open(folder / "lab.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={folder}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],
        cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    break
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start:\n" + (folder / "lab.log").read_text())
        if server.poll() is not None:
            pytest.fail("JupyterLab exited:\n" + (folder / "lab.log").read_text())
        yield base, folder
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_playground_translates_and_draws_in_jupyterlab(lab):
    from playwright.sync_api import expect, sync_playwright

    base, folder = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(f"{base}/lab/tree/play.ipynb?token={TOKEN}")
            editor = page.locator(".jp-Notebook .jp-Cell .cm-content").first
            editor.wait_for()
            # Run only once the kernel is connected (a cell run before that is dropped).
            expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible()
            editor.click()
            page.keyboard.press("Shift+Enter")                 # run the cell

            translation = page.locator(".nmt-translation")
            error = page.locator(".jp-OutputArea-output[data-mime-type*='error']")
            expect(translation.or_(error).first).to_be_visible(timeout=180_000)
            assert not error.count(), error.first.inner_text()[-2000:]
            expect(translation).to_contain_text("German:")
            assert translation.inner_text().strip() != "German:"  # the default sentence, translated
            image = page.locator("img.nmt-heatmap")
            expect(image).to_be_visible()
            width = image.evaluate("img => img.naturalWidth")
            assert width > 100, f"the heatmap image is {width} px wide"

            box = page.locator(".nmt-input input")
            box.fill("Where is the street?")
            box.press("Enter")
            expect(translation).to_contain_text("wo ist die straße?")
            assert image.evaluate("img => img.naturalWidth") > 100

            box.fill("")
            box.press("Enter")
            expect(page.locator(".nmt-message")).to_contain_text("Type an English sentence")
            expect(image).to_be_hidden()
        except Exception:
            page.screenshot(path=str(folder / "failure.png"))
            print(f"screenshot: {folder / 'failure.png'}; server log: {folder / 'lab.log'}")
            raise
        finally:
            browser.close()
