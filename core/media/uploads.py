"""Uploads as files in the workspace: streamed in chunks (never wholly in memory), checked for a
video suffix and the size limit as they arrive, under a temporary name that is removed afterwards."""
from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import BinaryIO, Iterator

from core.media.library import MAX_UPLOAD_BYTES, VIDEO_SUFFIXES, UploadTooLarge, safe_name, stream_to_file
from core.media.video import VideoError


@contextlib.contextmanager
def temporary_upload(ws, stream: BinaryIO, name: str, max_bytes: int = MAX_UPLOAD_BYTES,
                     purpose: str = "upload") -> Iterator[Path]:
    """`stream` (a file-like object, e.g. Streamlit's UploadedFile) written to
    `<workspace>/uploads/.<purpose>-<id>-<name>`; yields that path and deletes it after. A
    VideoError names the upload (`name`), not the temporary file."""
    suffix = Path(name).suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise VideoError(f"{name}: unsupported file type {suffix or '(none)'} — upload a video "
                         f"({', '.join(s.lstrip('.') for s in sorted(VIDEO_SUFFIXES))}).")
    tmp = ws.uploads_dir / f".{purpose}-{uuid.uuid4().hex[:12]}-{safe_name(Path(name).stem)[:40]}{suffix}"
    try:
        try:
            size = stream_to_file(stream, tmp, max_bytes)
        except UploadTooLarge:
            raise VideoError(f"{name}: the file is larger than the {max_bytes // 1024**2} MB upload limit.") from None
        if size == 0:
            raise VideoError(f"{name}: the file is empty (0 bytes).")
        try:
            yield tmp
        except VideoError as exc:
            raise VideoError(str(exc).replace(str(tmp), name)) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
