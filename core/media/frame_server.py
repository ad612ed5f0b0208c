"""Frames for the Label page: exact frames by index from `core.media.video`, scaled and JPEG-encoded,
kept in an LRU cache and prefetched by a background thread. No Streamlit here.

`FrameServer(path)` owns one `VideoReader` (used by one thread at a time, under a lock) and
caches frames as JPEG bytes ready to send to the browser (`pack` puts several in one binary
message with a JSON header; `data_uri` makes one an <img> source). The page asks
for the frames the browser lacks (`frames_for`, served from the cache first, then decoded within
a time budget, in ascending order so the decoder runs forward), and says where the cursor is
(`prefetch`), so the worker decodes the window around it before the browser asks.

Long-GOP videos (phone videos, YouTube downloads: 150–250 frames between keyframes) are served from
their labeling proxy (`core.media.proxy`: a verified short-GOP copy at the display size, same frames
in the same order) once it exists; a server opened on a long-GOP video without one starts making it
in the background and switches to it when it is verified. Frame numbers are the source's either way.
"""
from __future__ import annotations

import base64
import threading
import time
from collections import OrderedDict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Iterable

import cv2
import numpy as np

from core.media import proxy as proxies
from core.media.video import VideoReader

MAX_WIDTH = 960
MAX_HEIGHT = 540
QUALITY = 75


def display_size(width: int, height: int, max_width: int = MAX_WIDTH, max_height: int = MAX_HEIGHT) -> tuple[int, int]:
    """The size frames are shown at: scaled down (never up) to fit max_width x max_height, even sizes."""
    scale = min(1.0, max_width / width, max_height / height)
    w = max(2, int(round(width * scale / 2)) * 2)
    h = max(2, int(round(height * scale / 2)) * 2)
    return min(w, width), min(h, height)


def encode_jpeg(rgb: np.ndarray, size: tuple[int, int] | None = None, quality: int = QUALITY) -> bytes:
    """JPEG bytes of an RGB uint8 frame, resized to `size` (w, h) first when given (bilinear down
    to half size, area averaging below: as sharp, three times faster than area for mild scales)."""
    if size is not None:
        rgb = proxies.resize_rgb(rgb, size)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


def data_uri(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


MAGIC = b"LBL1"


def pack(meta: dict, frames: dict[int, bytes]) -> bytes:
    """One binary message: MAGIC, uint32 (little-endian) header length, the JSON header
    {"meta": meta, "frames": [[index, offset, length], …]}, then the JPEGs back to back (offsets
    count from the end of the header). ui/labeler/labeler.js `unpack` reads it."""
    import json

    index, offset = [], 0
    for i, jpeg in frames.items():
        index.append([int(i), offset, len(jpeg)])
        offset += len(jpeg)
    header = json.dumps({"meta": meta, "frames": index}, separators=(",", ":")).encode("utf-8")
    return MAGIC + len(header).to_bytes(4, "little") + header + b"".join(frames.values())


def unpack(payload: bytes) -> tuple[dict, dict[int, bytes]]:
    """The inverse of `pack` (for tests)."""
    import json

    if payload[:4] != MAGIC:
        raise ValueError("not a packed labeller message")
    n = int.from_bytes(payload[4:8], "little")
    header = json.loads(payload[8:8 + n])
    base = 8 + n
    return header["meta"], {i: payload[base + o:base + o + size] for i, o, size in header["frames"]}


def window(frame: int, frames: int, ahead: int, behind: int) -> list[int]:
    """Frames around `frame` in the order they are wanted: frame, ahead ascending, then behind
    (nearest first), clipped to the video."""
    ahead_part = [i for i in range(frame, frame + ahead + 1) if 0 <= i < frames]
    behind_part = [i for i in range(frame - 1, frame - behind - 1, -1) if 0 <= i < frames]
    return ahead_part + behind_part


class FrameServer:
    """JPEG bytes of one video's frames, by index. Thread-safe; see the module doc."""

    def __init__(self, path, *, max_width: int = MAX_WIDTH, max_height: int = MAX_HEIGHT,
                 quality: int = QUALITY, capacity: int = 900, reader_cache: int = 64, proxy: bool = True):
        """proxy: serve a long-GOP video from its labeling proxy (made in the background if missing)."""
        self.path = str(path)
        self.proxy: proxies.ProxyInfo | None = None  # the proxy frames come from, if any
        self._reader_cache = reader_cache
        proxy = proxy and proxies.enabled()
        made = proxies.verified(self.path) if proxy else None
        if made is not None and display_size(made.width, made.height, max_width, max_height) == (
                made.proxy_width, made.proxy_height):
            self._reader = VideoReader(made.proxy, cache_frames=reader_cache)
            if len(self._reader) != made.frames:  # never a different numbering
                self._reader.close()
                made = None
        else:
            made = None
        if made is None:
            self._reader = VideoReader(self.path, cache_frames=reader_cache)
            info = self._reader.info
            self.frames, self.fps, self.width, self.height = info.frames, info.fps, info.width, info.height
        else:
            self.proxy = made
            self.frames, self.fps, self.width, self.height = made.frames, made.fps, made.width, made.height
        self.size = display_size(self.width, self.height, max_width, max_height)
        # a long GOP and no proxy yet: make one in the background, switch to it once verified
        self._awaiting_proxy = bool(proxy and self.proxy is None and proxies.longest_gop(self._reader) > proxies.LONG_GOP)
        self._proxy_checked = time.monotonic()
        if self._awaiting_proxy:
            proxies.start(self.path, self.size)
        self.quality = quality
        self.capacity = capacity
        self._decode_lock = threading.Lock()  # the reader: one thread at a time
        self._cache_lock = threading.Lock()
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._wanted: list[int] = []
        self._wake = threading.Condition()
        self._closed = False
        self._worker: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._encoding: dict[int, Future] = {}  # frames being encoded by the prefetcher
        self.decoded = 0  # frames decoded so far (for tests and benchmarks)

    # --- cache ---------------------------------------------------------------------------------
    def cached(self, i: int) -> bytes | None:
        with self._cache_lock:
            uri = self._cache.get(i)
            if uri is not None:
                self._cache.move_to_end(i)
            return uri

    def _put(self, i: int, jpeg: bytes) -> None:
        with self._cache_lock:
            self._cache[i] = jpeg
            self._cache.move_to_end(i)
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)

    def uri(self, i: int) -> str:
        """Frame i as a JPEG data URI."""
        return data_uri(self.jpeg(i))

    def jpeg(self, i: int) -> bytes:
        """Frame i as JPEG bytes (decoded now unless cached). Raises FrameIndexError outside the video."""
        hit = self.cached(i)
        if hit is not None:
            return hit
        job = self._encoding.get(i)  # the prefetcher is on it
        if job is not None:
            try:
                return job.result()
            except Exception:  # noqa: BLE001 - decode it here and raise the real error
                pass
        with self._decode_lock:
            hit = self.cached(i)
            if hit is not None:
                return hit
            rgb = self._decode(i)
        return self._encode(i, rgb)

    def _decode(self, i: int) -> np.ndarray:  # under _decode_lock
        if self._awaiting_proxy and time.monotonic() - self._proxy_checked > 1.0:
            self._switch_to_proxy()
        rgb = self._reader.frame(i)
        self.decoded += 1
        return rgb

    def _switch_to_proxy(self) -> None:  # under _decode_lock
        self._proxy_checked = time.monotonic()
        made = proxies.verified(self.path, self.size)
        if made is None:
            if proxies.failed(self.path):
                self._awaiting_proxy = False  # it did not verify: the source it is
            return
        reader = VideoReader(made.proxy, cache_frames=self._reader_cache)
        if len(reader) != self.frames:
            reader.close()
            self._awaiting_proxy = False
            return
        self._reader.close()
        self._reader, self.proxy, self._awaiting_proxy = reader, made, False

    def _encode(self, i: int, rgb: np.ndarray) -> bytes:
        jpeg = encode_jpeg(rgb, self.size, self.quality)
        self._put(i, jpeg)
        return jpeg

    def frames_for(self, indices: Iterable[int], budget_s: float = 0.25, max_bytes: int = 6_000_000) -> dict[int, bytes]:
        """As many of `indices` (in priority order) as fit: every cached one, then decoded ones in
        ascending order from the first wanted frame, until `budget_s` seconds or `max_bytes` pass.
        The first wanted frame is always included."""
        wanted = [int(i) for i in indices if 0 <= int(i) < self.frames]
        out: dict[int, bytes] = {}
        size = 0
        missing = []
        for i in wanted:
            uri = self.cached(i)
            if uri is None:
                missing.append(i)
            elif size + len(uri) <= max_bytes or not out:
                out[i] = uri
                size += len(uri)
        if not missing:
            return out
        first = missing[0]
        order = sorted(i for i in missing if i >= first) + sorted(i for i in missing if i < first)
        deadline = time.perf_counter() + budget_s
        for n, i in enumerate(order):
            if n and (time.perf_counter() > deadline or size >= max_bytes):
                break
            jpeg = self.jpeg(i)
            out[i] = jpeg
            size += len(jpeg)
        return out

    # --- prefetch ------------------------------------------------------------------------------
    def prefetch(self, indices: Iterable[int]) -> None:
        """Decode these frames (in this order) in the background; replaces the previous wish list."""
        wanted = [int(i) for i in indices if 0 <= int(i) < self.frames]
        with self._wake:
            self._wanted = wanted
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, daemon=True, name=f"frames-{self.path}")
                self._worker.start()
            self._wake.notify()

    def _work(self) -> None:
        while True:
            with self._wake:
                while not self._wanted and not self._closed:
                    if not self._wake.wait(timeout=60):
                        self._worker = None  # idle a minute: end; prefetch starts a new one
                        return
                if self._closed:
                    return
                wanted, self._wanted = self._wanted, []
            # Decode forward: the wanted frames at and after the first one, then those before it.
            first = next((i for i in wanted if self.cached(i) is None), None)
            if first is None:
                continue
            todo = sorted(i for i in wanted if i >= first) + sorted(i for i in wanted if i < first)
            # A pipeline: this thread decodes (sequential by nature), two more scale and encode.
            encoding: deque = deque()
            for i in todo:
                with self._wake:
                    if self._wanted or self._closed:  # a newer wish list wins
                        break
                if self.cached(i) is not None:
                    continue
                try:
                    with self._decode_lock:
                        if self.cached(i) is not None:
                            continue
                        rgb = self._decode(i)
                except Exception:  # noqa: BLE001 - a broken frame is reported when the page asks for it
                    break
                job = self._encoders().submit(self._encode, i, rgb)
                self._encoding[i] = job
                job.add_done_callback(lambda _, i=i: self._encoding.pop(i, None))
                encoding.append(job)
                while len(encoding) > 3:
                    encoding.popleft().exception()
            for job in encoding:
                job.exception()

    def _encoders(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="frames-encode")
        return self._pool

    def idle(self, timeout: float = 10.0) -> bool:
        """Wait until the worker has nothing left to do (for tests and benchmarks)."""
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            with self._wake:
                busy = bool(self._wanted)
            if not busy and not self._decode_lock.locked() and not self._encoding:
                time.sleep(0.05)
                with self._wake:
                    if not self._wanted and not self._decode_lock.locked() and not self._encoding:
                        return True
            time.sleep(0.01)
        return False

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        with self._decode_lock:
            self._reader.close()
        if self._pool is not None:
            self._pool.shutdown(wait=False)
