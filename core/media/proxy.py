"""Labeling proxies: a short-GOP H.264 copy of a long-GOP video, at the size the Label page shows,
so any frame decodes in a few milliseconds.

Why: a random frame costs a decode from the keyframe before it; phone videos and YouTube downloads
have 150–250-frame GOPs, i.e. up to 250 frames decoded for one picture (80–340 ms here). A proxy
re-encodes the video's frames — exactly the frames `core.media.video.VideoReader` yields, in the
same order and number, already rotated — with a keyframe every `GOP` frames (B-frames off), at
the Label page's display size (`core.media.frame_server.display_size`), so the cost is at most
`GOP` small frames. Frame i of the proxy is frame i of the source: every frame number stays in the
source's terms.

Verified before use: the proxy is decoded frame for frame and each frame is compared with the
source's frame i (scaled the same way) — the count must match and every frame's PSNR must reach
`PSNR_FLOOR` (luma), else the proxy is thrown away and the source is served. The verdict lives beside
the proxy (`<name>.proxy.json`, written last), with the source's size and mtime: a changed source
has no proxy.

Files: `<workspace>/cache/proxies/<video name>.proxy.mp4` (+ `.json`, and a `.lock` while one is
being made, so two processes do not make the same proxy); only videos inside a workspace's
`videos/` get one (a file elsewhere is served as it is). `start` makes one in a background thread
at low priority (the library starts it when a video is added, the frame server when it opens a
long-GOP video without one); `make_proxy` makes one now. `WORKBENCH_PROXY=0` turns them off.
"""
from __future__ import annotations

import json
import atexit
import os
import threading
import time
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from core.base.errors import Cancelled, MediaError
from core.base.progress import check_cancel, report

LONG_GOP = 30  # a video whose longest keyframe interval exceeds this gets a proxy
GOP = 8  # the proxy's keyframe interval (measured: p95 < 10 ms a frame at 960x540; see bench/decode.py)
CRF = 20
PRESET = "veryfast"
PSNR_FLOOR = 32.0  # dB of luma, every frame, against the source's frame scaled to the proxy's size
VERSION = 1  # of the proxy recipe: a proxy made by another recipe is made again


class ProxyError(MediaError):
    """A proxy could not be made or did not verify (the source is served instead)."""


@dataclass
class ProxyInfo:
    source: str
    proxy: str
    frames: int
    fps: float
    width: int  # the source's (after rotation)
    height: int
    proxy_width: int
    proxy_height: int
    gop: int
    source_gop: int
    source_bytes: int
    source_mtime_ns: int
    bytes: int
    psnr_min: float
    psnr_mean: float
    seconds: float
    version: int = VERSION

    @property
    def size_ratio(self) -> float:
        return self.bytes / self.source_bytes if self.source_bytes else 0.0


def enabled() -> bool:
    """Proxies are on unless $WORKBENCH_PROXY is 0/off/no (benchmarks measure without them)."""
    return os.environ.get("WORKBENCH_PROXY", "1").strip().lower() not in ("0", "off", "no", "false")


def paths(source: str | Path) -> tuple[Path, Path, Path] | None:
    """(proxy video, its verdict, its lock) for a video in a workspace's videos/ folder, else None."""
    source = Path(source).absolute()
    root = source.parent.parent
    if source.parent.name != "videos" or not (root / "workspace.db").is_file():
        return None
    folder = root / "cache" / "proxies"
    return (folder / f"{source.name}.proxy.mp4", folder / f"{source.name}.proxy.json",
            folder / f"{source.name}.proxy.lock")


def resize_rgb(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An RGB frame at `size` (w, h): bilinear down to half size, area averaging below (the Label
    page's rule, shared with `core.media.frame_server.encode_jpeg`)."""
    if (rgb.shape[1], rgb.shape[0]) == tuple(size):
        return rgb
    mild = size[0] * 2 >= rgb.shape[1] and size[1] * 2 >= rgb.shape[0]
    return cv2.resize(rgb, tuple(size), interpolation=cv2.INTER_LINEAR if mild else cv2.INTER_AREA)


def longest_gop(reader) -> int:
    """The longest keyframe interval of an open VideoReader, in frames (its frame count if one keyframe)."""
    keys = reader.keyframes or [0]
    ends = keys[1:] + [len(reader)]
    return max(e - k for k, e in zip(keys, ends))


def needs_proxy(source: str | Path) -> tuple[bool, int]:
    """(whether the video's GOP is long enough to want a proxy, its longest GOP)."""
    from core.media.video import VideoReader

    with VideoReader(source, cache_frames=1) as r:
        gop = longest_gop(r)
    return gop > LONG_GOP, gop


def verified(source: str | Path, size: tuple[int, int] | None = None) -> ProxyInfo | None:
    """The verified proxy of this source (at this display size, when given), or None."""
    source = Path(source)
    where = paths(source)
    if where is None:
        return None
    video, verdict, _ = where
    try:
        data = json.loads(verdict.read_text())
        st = source.stat()
        info = ProxyInfo(**{k: data[k] for k in ProxyInfo.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if (info.version != VERSION or info.source_bytes != st.st_size or info.source_mtime_ns != st.st_mtime_ns
            or not video.is_file() or video.stat().st_size != info.bytes):
        return None
    if size is not None and (info.proxy_width, info.proxy_height) != tuple(size):
        return None
    return info


def failed(source: str | Path) -> str | None:
    """Why the last try to make this source's proxy failed (None: it did not fail, or the source changed)."""
    where = paths(source)
    if where is None:
        return None
    source, verdict = Path(source), where[1]
    try:
        data = json.loads(verdict.read_text())
        st = source.stat()
    except (OSError, ValueError):
        return None
    if data.get("failed") and data.get("source_bytes") == st.st_size and data.get("source_mtime_ns") == st.st_mtime_ns \
            and data.get("version") == VERSION:
        return data["failed"]
    return None


def make_proxy(source: str | Path, size: tuple[int, int], *, gop: int = GOP, crf: int = CRF,
               psnr_floor: float = PSNR_FLOOR, threads: int = 0, progress=None, cancel=None) -> ProxyInfo:
    """Encode and verify the proxy of `source` at `size` (w, h); see the module doc. Raises ProxyError
    (and leaves no proxy) when it cannot be made or does not verify."""
    import av

    from core.media.video import VideoReader

    source = Path(source)
    where = paths(source)
    if where is None:
        raise ProxyError(f"{source}: only videos inside a workspace's videos/ folder get a labeling proxy")
    video, verdict, lock = where
    video.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        if time.time() - lock.stat().st_mtime < 3600:
            raise ProxyError(f"{source.name}: a proxy is being made by another process") from None
        lock.unlink(missing_ok=True)  # a stale lock (a killed process)
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    os.close(fd)
    tmp = video.with_name(video.name + ".tmp.mp4")
    st = source.stat()
    t0 = time.perf_counter()
    try:
        with VideoReader(source, cache_frames=4) as reader:
            n, fps, src_gop = len(reader), reader.info.fps or 30.0, longest_gop(reader)
            width, height = reader.info.width, reader.info.height
            rate = Fraction(fps).limit_denominator(1001)
            w, h = size
            with av.open(str(tmp), "w") as out:
                stream = out.add_stream("libx264", rate=rate)
                stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
                stream.codec_context.time_base = 1 / rate
                stream.codec_context.options = {"crf": str(crf), "preset": PRESET, "g": str(gop),
                                                "keyint_min": str(gop), "sc_threshold": "0", "bf": "0",
                                                "threads": str(threads)}
                for i, rgb in enumerate(reader.frames(0, n - 1)):
                    if i % 64 == 0:
                        check_cancel(cancel, "Making the labeling proxy")
                        report(progress, i, 2 * n, f"encoding frame {i}")
                    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(resize_rgb(rgb, size)), format="rgb24")
                    frame.pts = i
                    for packet in stream.encode(frame):
                        out.mux(packet)
                for packet in stream.encode():
                    out.mux(packet)
            psnr = _verify(reader, tmp, size, n, psnr_floor, progress, cancel)
        info = ProxyInfo(source=str(source), proxy=str(video), frames=n, fps=fps, width=width, height=height,
                         proxy_width=w, proxy_height=h, gop=gop, source_gop=src_gop, source_bytes=st.st_size,
                         source_mtime_ns=st.st_mtime_ns, bytes=tmp.stat().st_size, psnr_min=float(psnr.min()),
                         psnr_mean=float(psnr.mean()), seconds=time.perf_counter() - t0)
        tmp.replace(video)
        _write_json(verdict, asdict(info))
        report(progress, 2 * n, 2 * n, "proxy verified")
        return info
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if not isinstance(exc, (KeyboardInterrupt, SystemExit, Cancelled)):
            _write_json(verdict, {"failed": str(exc) or type(exc).__name__, "source_bytes": st.st_size,
                                  "source_mtime_ns": st.st_mtime_ns, "version": VERSION})
        if isinstance(exc, (ProxyError, KeyboardInterrupt, SystemExit, Cancelled)):
            raise
        raise ProxyError(f"{source.name}: the labeling proxy could not be made ({exc})") from exc
    finally:
        lock.unlink(missing_ok=True)


def _verify(reader, proxy: Path, size, n: int, floor: float, progress, cancel) -> np.ndarray:
    """PSNR of every proxy frame against the source's frame of the same index (scaled to `size`)."""
    from core.media.video import VideoReader

    with VideoReader(proxy, cache_frames=4) as p:
        if len(p) != n:
            raise ProxyError(f"the proxy has {len(p)} frames, the source {n}")
        out = np.empty(n)
        for i, (a, b) in enumerate(zip(reader.frames(0, n - 1), p.frames(0, n - 1))):
            if i % 64 == 0:
                check_cancel(cancel, "Verifying the labeling proxy")
                report(progress, n + i, 2 * n, f"verifying frame {i}")
            out[i] = luma_psnr(resize_rgb(a, size), b)
            if out[i] < floor:
                raise ProxyError(f"proxy frame {i} differs from the source's (PSNR {out[i]:.1f} dB < {floor:g} dB)")
        # random access on the proxy lands on the same pictures as its sequential decode
        for i in sorted({0, n // 3, n // 2, n - 1, max(0, n - 1 - GOP // 2)}):
            if luma_psnr(resize_rgb(reader.frame(i), size), p.frame(i)) < floor:
                raise ProxyError(f"proxy frame {i} by index differs from the source's frame {i}")
    return out


def luma_psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR (dB) of the luma (BT.601) of two RGB uint8 frames; 99 for identical ones."""
    ya = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float32)
    yb = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float32)
    mse = float(np.mean((ya - yb) ** 2))
    return 99.0 if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


# --- in the background ---------------------------------------------------------------------------
_jobs: dict[str, threading.Thread] = {}
_jobs_lock = threading.Lock()


@atexit.register
def _let_encoders_finish(timeout_s: float = 60.0) -> None:
    """A daemon thread killed inside the encoder at exit aborts the process ("terminate called"):
    let the running ones end first (an unfinished proxy is never used: it is verified before)."""
    with _jobs_lock:
        jobs = [j for j in _jobs.values() if j.is_alive()]
    for job in jobs:
        job.join(timeout_s)


def start(source: str | Path, size: tuple[int, int], *, force: bool = False) -> threading.Thread | None:
    """Make the proxy of `source` in a background thread, unless it exists, failed before (for this
    very file; `force` tries again), is being made, or the video's GOP is short. Returns the thread."""
    if paths(source) is None or not enabled():
        return None
    key = str(Path(source).resolve())
    with _jobs_lock:
        job = _jobs.get(key)
        if job is not None and job.is_alive():
            return job
        if verified(source, size) is not None or (failed(source) and not force):
            return None
        job = threading.Thread(target=_background, args=(source, size), name=f"proxy:{Path(source).name}",
                               daemon=True)
        _jobs[key] = job
        job.start()
        return job


def _background(source, size) -> None:
    try:  # below the page's own work (Linux: per-thread nice value)
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass
    try:
        long, gop = needs_proxy(source)
        if long:
            make_proxy(source, size)
    except Exception:  # noqa: BLE001 - recorded in the verdict; the source is served meanwhile
        pass


def running() -> bool:
    """Whether a background proxy of this process is still being made."""
    with _jobs_lock:
        return any(job.is_alive() for job in _jobs.values())


def wait(timeout: float | None = None) -> None:
    """Wait for the background proxies started in this process (the CLI does before it exits)."""
    with _jobs_lock:
        jobs = list(_jobs.values())
    deadline = None if timeout is None else time.monotonic() + timeout
    for job in jobs:
        job.join(None if deadline is None else max(0.0, deadline - time.monotonic()))


def remove(source: str | Path) -> None:
    """Delete a source's proxy files (when the video is deleted)."""
    for p in (paths(source) or ())[:2]:
        p.unlink(missing_ok=True)
