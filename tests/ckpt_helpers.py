"""Helpers for the model tests: official-layout checkpoints made on the spot, a Range-capable
local HTTP server (with an optional cut connection), cached tiny models, real clips.

Nothing here downloads anything; every server listens on 127.0.0.1 only.
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import tarfile
import threading
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Iterator

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# ----------------------------------------------------------------------------------------------
# Checkpoints in the official layout
# ----------------------------------------------------------------------------------------------

def make_official_archive(folder: Path, model_id: str = "a0", variant: str = "base", seed: int = 1):
    """A 600-class checkpoint of `model_id`/`variant`, laid out like the official archive.

    The official tar.gz holds one folder ``movinet_{id}_{variant}/`` with ``checkpoint``,
    ``ckpt-1.index`` and ``ckpt-1.data-00000-of-00001`` written by
    ``tf.train.Checkpoint(model=classifier).save(...)``. Returns (model, archive path,
    checkpoint prefix). The weights are randomised so they differ from a fresh initialisation.
    """
    import tensorflow as tf

    from core.modeling import fastpath
    from core.modeling import movinet as M

    folder = Path(folder)
    name = f"movinet_{model_id}_{variant}"
    src = M.build_model(model_id, variant, num_classes=600, frames=2, resolution=32)
    fastpath.randomize_weights(src, seed=seed)
    ckpt_dir = folder / "src" / name
    prefix = tf.train.Checkpoint(model=src).save(str(ckpt_dir / "ckpt"))
    archive = folder / "serve" / f"{name}.tar.gz"
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(ckpt_dir, arcname=name)
    return src, archive, prefix


# ----------------------------------------------------------------------------------------------
# A local server that honours Range requests and can cut the first transfer short
# ----------------------------------------------------------------------------------------------

@dataclass
class Seen:
    path: str
    range: str | None


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass

    def do_GET(self):  # noqa: N802
        srv = self.server
        rng = self.headers.get("Range")
        srv.seen.append(Seen(self.path, rng))
        local = Path(self.translate_path(self.path))
        if not local.is_file():
            self.send_error(404, "File not found")
            return
        data = local.read_bytes()
        size = len(data)
        start = 0
        if rng and srv.honour_range:
            m = re.fullmatch(r"bytes=(\d+)-", rng.strip())
            if not m:
                self.send_error(400, "bad range")
                return
            start = int(m.group(1))
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", "application/gzip")
        self.send_header("Content-Length", str(size - start))
        self.end_headers()
        body = data[start:]
        if srv.cut_after is not None and not srv.cut_done:
            srv.cut_done = True
            self.wfile.write(body[: srv.cut_after])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(2)
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)


class _Srv(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


@dataclass
class RangeServer:
    base: str
    seen: list = field(default_factory=list)


@contextlib.contextmanager
def serve_ranges(directory, cut_after: int | None = None, honour_range: bool = True) -> Iterator[RangeServer]:
    """Serve `directory` on 127.0.0.1 with Range support; the first transfer optionally stops
    after `cut_after` bytes (the connection is closed, as a dropped network would)."""
    httpd = _Srv(("127.0.0.1", 0), partial(_RangeHandler, directory=os.fspath(directory)))
    httpd.seen = []
    httpd.cut_after = cut_after
    httpd.cut_done = False
    httpd.honour_range = honour_range
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    host, port = httpd.server_address[:2]
    info = RangeServer(base=f"http://{host}:{port}")
    info.seen = httpd.seen
    try:
        yield info
    finally:
        httpd.shutdown()
        httpd.server_close()
        t.join(timeout=5)


# ----------------------------------------------------------------------------------------------
# Cached tiny models and real clips (shared by test modules within one pytest process)
# ----------------------------------------------------------------------------------------------

def tiny_model(model_id: str = "a0", variant: str = "base", num_classes: int = 9, frames: int = 8,
               resolution: int = 64, seed: int = 0):
    """A built, weight-randomised classifier (cached: do not train or mutate it in a test)."""
    return _tiny_model(model_id, variant, num_classes, frames, resolution, seed)


@functools.lru_cache(maxsize=None)
def _tiny_model(model_id, variant, num_classes, frames, resolution, seed):
    from core.modeling import fastpath
    from core.modeling import movinet as M

    m = M.build_model(model_id, variant, num_classes=num_classes, frames=frames, resolution=resolution)
    return fastpath.randomize_weights(m, seed=seed)


def tiny_stream(model_id: str = "a0", num_classes: int = 9, frames: int = 8, resolution: int = 64):
    """to_stream(tiny_model(model_id, 'stream', ...)), cached."""
    return _tiny_stream(model_id, num_classes, frames, resolution)


@functools.lru_cache(maxsize=None)
def _tiny_stream(model_id, num_classes, frames, resolution):
    from core.modeling import movinet as M

    return M.to_stream(tiny_model(model_id, "stream", num_classes, frames, resolution))


REAL_FILES = ("kbtrainer__burpee.mp4", "formfit__deadlift.mp4")


def real_clips(real_videos: Path, frames: int, size: int, files=REAL_FILES):
    """One clip per file: `frames` frames sampled over ~2 s in the middle of the video."""
    from core.media.video import load_clip, probe

    clips = []
    for name in files:
        path = real_videos / name
        info = probe(path)
        span = int(min(info.frames - 1, round(2 * info.fps)))
        start = max(0, info.frames // 2 - span // 2)
        clips.append(load_clip(path, start, start + span, n=frames, size=size))
    return clips
