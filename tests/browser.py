"""Helpers for browser tests and benchmarks: the real app in a subprocess, Debian's Chromium via Playwright.

    with running_app(workspace) as url, chromium() as browser:
        page = browser.new_page()
        page.goto(url + "/Label?annotator=alex")

No network, no downloads: Chromium is /usr/bin/chromium or $CHROMIUM (`make test` installs it through
tools/browser-deps.sh when root, else stops saying what to install).
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200 and r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer /_stcore/health within {timeout:.0f} s")


@contextlib.contextmanager
def running_app(workspace: str | os.PathLike, *, log: str | os.PathLike | None = None) -> Iterator[str]:
    """Start `streamlit run Home.py` on a free port of 127.0.0.1 with WORKSPACE=workspace; yields its URL."""
    port = free_port()
    env = dict(os.environ, WORKSPACE=str(workspace), STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    out = open(log, "wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "Home.py", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            out.close()


@contextlib.contextmanager
def chromium(headless: bool = True):
    """Playwright's sync API driving Debian's Chromium; fails (never skips) when it is missing."""
    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"Chromium not found at {CHROMIUM}: run `bash tools/browser-deps.sh` (installs it "
                                "when root), or apt-get install -y chromium fonts-dejavu-core (or set CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=headless)
        try:
            yield browser
        finally:
            browser.close()


# --- the Label page ---------------------------------------------------------------------------------
LAB = ".lab"  # the labeller's root (inside the component's shadow root; Playwright CSS pierces it)


def open_label_page(page, url: str, annotator: str, video_id: int | None = None, timeout: float = 30_000) -> None:
    """Open the Label page as `annotator` and wait until the first frame is on screen."""
    query = f"annotator={annotator}" + (f"&video={video_id}" if video_id is not None else "")
    page.goto(f"{url}/Label?{query}")
    page.wait_for_selector(f"{LAB}[data-shown='true']", timeout=timeout)


def label_state(page) -> dict:
    """The labeller's data attributes: frame on screen, last event seq, last seq Python acknowledged."""
    return page.eval_on_selector(LAB, "el => ({...el.dataset})")


def wait_frame(page, frame: int, timeout: float = 10_000) -> None:
    """Wait until `frame` is the cursor AND its picture is on screen."""
    page.wait_for_selector(f"{LAB}[data-frame='{frame}'][data-shown='true']", timeout=timeout)


def wait_synced(page, timeout: float = 10_000) -> None:
    """Wait until Python has processed every key event the page sent (ack == seq)."""
    page.wait_for_function(
        "el => el.isConnected && el.dataset.seq === el.dataset.ack && el.dataset.pending === '0'",
        arg=page.query_selector(LAB), timeout=timeout,
    )


def press(page, key: str, *, synced: bool = True) -> None:
    """Press a key on the page (focus on the page body, not in a text box) and wait for Python."""
    page.keyboard.press(key)
    if synced:
        wait_synced(page)
