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
