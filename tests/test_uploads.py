"""Uploads are streamed into the workspace in chunks, checked as they arrive, and removed after."""
import io

import pytest

from core.base.workspace import Workspace
from core.media.uploads import temporary_upload
from core.media.video import VideoError, probe


class Chunks(io.RawIOBase):
    """A stream that counts how much was read (an upload must not be read wholly before checking)."""

    def __init__(self, size: int):
        self.left, self.read_bytes = size, 0

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self.left)
        b[:n] = b"\0" * n
        self.left -= n
        self.read_bytes += n
        return n


def test_a_real_upload_is_a_file_while_used_and_gone_after(tmp_path, real_videos):
    ws = Workspace(tmp_path / "w")
    src = real_videos / "kbtrainer__front_squat_.mp4"
    with open(src, "rb") as f, temporary_upload(ws, f, "my squat (1).MP4") as path:
        assert path.parent == ws.uploads_dir and path.suffix == ".mp4"
        assert probe(path).frames == probe(src).frames
    assert list(ws.uploads_dir.iterdir()) == []


def test_too_large_empty_or_not_a_video_is_refused_early_and_leaves_nothing(tmp_path):
    ws = Workspace(tmp_path / "w")
    big = Chunks(50 * 1024**2)
    with pytest.raises(VideoError, match="larger than the 4 MB upload limit"):
        with temporary_upload(ws, io.BufferedReader(big), "huge.mp4", max_bytes=4 * 1024**2):
            pass
    assert big.read_bytes < 8 * 1024**2  # stopped as soon as the limit was passed
    with pytest.raises(VideoError, match="empty"):
        with temporary_upload(ws, io.BytesIO(b""), "empty.mp4"):
            pass
    with pytest.raises(VideoError, match="unsupported file type"):
        with temporary_upload(ws, io.BytesIO(b"x"), "notes.txt"):
            pass
    assert list(ws.uploads_dir.iterdir()) == []
