"""Shared fixtures: the project root on sys.path and where the real videos are."""
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REAL_VIDEOS = Path(os.environ.get("REAL_VIDEOS", ROOT.parent / "shared" / "real_videos"))


@pytest.fixture
def real_videos() -> Path:
    assert REAL_VIDEOS.is_dir(), f"real videos expected at {REAL_VIDEOS} (set REAL_VIDEOS)"
    return REAL_VIDEOS


@pytest.fixture(autouse=True)
def _restore_main_module():
    """Streamlit's AppTest leaves the page it ran installed as sys.modules["__main__"]; a later
    multiprocessing "spawn" child would re-run that page as its main module. Put the real one back."""
    main = sys.modules.get("__main__")
    yield
    if main is not None and sys.modules.get("__main__") is not main:
        sys.modules["__main__"] = main


@pytest.fixture(autouse=True)
def _no_background_proxies(request, monkeypatch):
    """Labelling proxies are made in the background when a long-GOP video is added; on two shared
    cores that slows every other test, so only tests/test_proxy.py makes them."""
    if request.module.__name__.split(".")[-1] != "test_proxy":
        monkeypatch.setenv("WORKBENCH_PROXY", "0")
    monkeypatch.setenv("WORKBENCH_WARM_IMPORTS", "0")  # Home.py's background TensorFlow import
