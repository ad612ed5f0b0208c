"""One sequential decode of a workout video: the model's sliding windows, classified in batches
while decoding (a model thread beside the decoder), and small grayscale motion frames for the
rep counter. Frames on the decoder's index; windows follow `core.dataset.windows.window_plan`."""
from __future__ import annotations

import math
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from core.analysis.settings import AnalyzeError, Settings
from core.base.progress import Progress, check_cancel
from core.dataset.windows import (  # NONE: the class of rests, transitions and unlabelled frames
    window_plan,
)

# ==============================================================================================
# 1. One sequential decode: model windows + motion frames
# ==============================================================================================

@dataclass
class Scan:
    """What one decode of a video yields (see `scan`)."""

    path: str
    fps: float
    frames: int
    width: int
    height: int
    gray: np.ndarray                  # [frames, h, w] uint8 motion frames
    centers: np.ndarray               # [windows] centre frame of each window (float)
    probs: np.ndarray                 # [windows, classes] float32
    window_frames: list               # [windows] the frame indices each window used
    grid: int                         # g: model frames are every g-th frame
    timings: dict = field(default_factory=dict)


def _motion_size(width: int, height: int, pixels: int) -> tuple[int, int]:
    """(w, h) of the motion frames: about `pixels` pixels, the frame's aspect ratio kept."""
    w = max(8, int(round(math.sqrt(pixels * width / max(1, height)))))
    h = max(8, int(round(pixels / w)))
    return w, h


def scan(path, predict: Callable[[np.ndarray], np.ndarray], clip_frames: int, size, crop=None,
         settings: Settings | None = None, progress: Progress | None = None, cancel=None,
         focus: str | None = None, track=None) -> Scan:
    """Decode `path` once; classify sliding windows with `predict` (batch [B, T, H, W, 3] float32
    in [0, 1] -> probabilities [B, classes]) and keep the small motion frames. See the module doc.

    size: int or (h, w) of the model input; crop: pixel box (x0, y0, x1, y1) or None; focus: the
    model's focus (None: each frame is preprocessed once as decoded; "motion": the window's frames
    are preprocessed together, since the athlete box is found from the window's own motion;
    "athlete": the same, cropped to the athlete box of the window's frames from `track`, the
    video's pose track, `core.pose.focus.athlete_box`).
    progress(done_frames, total_frames, stage); cancel: threading.Event or callable -> bool.
    The model runs in a worker thread while decoding goes on (TensorFlow and FFmpeg release the
    GIL), at most two batches in flight; each batch is a copy, so the frame buffer can move on.
    """
    from av.video.reformatter import VideoReformatter

    from core.media.video import VideoReader, preprocess, sample_indices
    from core.pose.focus import athlete_box

    settings = settings or Settings()
    size = (int(size), int(size)) if np.isscalar(size) else (int(size[0]), int(size[1]))
    t_start = time.perf_counter()
    t_prep = 0.0
    with VideoReader(path, cache_frames=8) as reader, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="analyze-model") as worker:
        n = len(reader)
        info = reader.info
        fps = info.fps or 30.0
        T = int(clip_frames)
        g, stride, spans = window_plan(n, fps, T, settings.window_s, settings.stride_s, settings.scales)
        steps = [(span - 1) // max(1, T - 1) for span in spans]  # frame step of each scale
        short = n < max(spans)  # too short for every window: keep every frame, one window over all
        mw, mh = _motion_size(info.width, info.height, settings.motion_pixels)
        rot = reader.rotation
        sw, sh = (mh, mw) if rot in (90, 270) else (mw, mh)  # size before rotation
        gray = np.empty((n, mh, mw), np.uint8)
        rf = VideoReformatter()
        kept: dict[int, np.ndarray] = {}
        pending: list[list[int]] = []
        centers: list[float] = []
        used: list[list[int]] = []
        futures: list = []

        def run_model(batch: np.ndarray, real: int) -> tuple[np.ndarray, float]:
            t0 = time.perf_counter()
            p = np.asarray(predict(batch), dtype=np.float32).reshape(len(batch), -1)[:real]
            return p, time.perf_counter() - t0

        def flush():
            nonlocal t_prep
            if not pending:
                return
            if focus:
                t0 = time.perf_counter()
                batch = np.stack([preprocess([kept[i] for i in idx], size, crop, focus,
                                             athlete_box(track, idx[0], idx[-1]) if focus == "athlete" else None)
                                  for idx in pending])
                t_prep += time.perf_counter() - t0
            else:
                batch = np.stack([np.stack([kept[i] for i in idx]) for idx in pending]).astype(np.float32)
            if len(batch) < settings.batch:  # one input shape: the model is traced once
                pad = np.zeros((settings.batch - len(batch),) + batch.shape[1:], np.float32)
                batch = np.concatenate([batch, pad])
            if len(futures) >= 2:
                futures[-2].result()  # at most two batches in flight (and errors surface here)
            if settings.parallel:
                futures.append(worker.submit(run_model, batch, len(pending)))
            else:
                done = Future()
                done.set_result(run_model(batch, len(pending)))
                futures.append(done)
            for idx in pending:
                centers.append((idx[0] + idx[-1]) / 2.0)
                used.append(list(idx))
            pending.clear()

        report_every = max(1, int(round(fps)))
        try:
            for i in range(n):
                frame = reader.av_frame(i)
                small = rf.reformat(frame, width=sw, height=sh, format="gray",
                                    interpolation="AREA").to_ndarray()
                gray[i] = np.rot90(small, k=-(rot // 90)) if rot else small
                if short or i % g == 0:
                    t0 = time.perf_counter()
                    kept[i] = reader.frame(i) if focus else preprocess([reader.frame(i)], size, crop)[0]
                    t_prep += time.perf_counter() - t0
                if not short:
                    for span, step in zip(spans, steps):
                        start = i - (span - 1)
                        if start >= 0 and start % stride == 0:
                            pending.append(list(range(start, i + 1, step)))
                    if len(pending) >= settings.batch:
                        flush()
                        oldest = i - max(spans)
                        for k in [k for k in kept if k < oldest]:
                            del kept[k]
                if progress and (i % report_every == 0 or i == n - 1):
                    progress(i + 1, n, "decoding and classifying")
                if i % 16 == 0:
                    check_cancel(cancel, "The analysis")
            if short:
                pending.append(sample_indices(0, n - 1, T))
            flush()
            results = [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    probs = np.concatenate([p for p, _ in results]) if results else np.zeros((0, 0), np.float32)
    t_model = sum(dt for _, dt in results)
    total = time.perf_counter() - t_start
    # with the model in its own thread, "decode" is what the scan took beyond the model and the
    # preprocessing done on the decoding thread (the two overlap, so the parts can exceed "scan")
    timings = {"scan": total, "model": t_model, "preprocess": t_prep,
               "decode": max(0.0, total - t_prep - (0.0 if settings.parallel else t_model))}
    return Scan(path=str(path), fps=float(fps), frames=n, width=info.width, height=info.height,
                gray=gray, centers=np.asarray(centers, np.float64), probs=probs, window_frames=used,
                grid=g, timings=timings)


def motion_frames(path, pixels: int = Settings.motion_pixels) -> tuple[np.ndarray, float]:
    """(the small grayscale frames [n, h, w] uint8 that `scan` keeps, fps) without a model: for
    counting reps on a video whose movement is known."""
    from av.video.reformatter import VideoReformatter

    from core.media.video import VideoReader

    with VideoReader(path, cache_frames=2) as reader:
        info = reader.info
        mw, mh = _motion_size(info.width, info.height, pixels)
        rot = reader.rotation
        sw, sh = (mh, mw) if rot in (90, 270) else (mw, mh)
        rf = VideoReformatter()
        gray = np.empty((len(reader), mh, mw), np.uint8)
        for i in range(len(reader)):
            small = rf.reformat(reader.av_frame(i), width=sw, height=sh, format="gray",
                                interpolation="AREA").to_ndarray()
            gray[i] = np.rot90(small, k=-(rot // 90)) if rot else small
        return gray, float(info.fps or 30.0)


def frame_probabilities(centers: np.ndarray, probs: np.ndarray, frames: int) -> np.ndarray:
    """Window probabilities [W, K] at their centre frames -> every frame [frames, K] (linear
    interpolation; before the first / after the last centre the nearest window's values).
    Windows sharing a centre (several scales) are averaged first."""
    probs = np.asarray(probs, np.float64)
    if len(probs) == 0:
        raise AnalyzeError("no windows were classified")
    uniq, inv = np.unique(np.asarray(centers, np.float64), return_inverse=True)
    acc = np.zeros((len(uniq), probs.shape[1]))
    np.add.at(acc, inv, probs)
    acc /= np.bincount(inv, minlength=len(uniq))[:, None]
    x = np.arange(frames, dtype=np.float64)
    return np.stack([np.interp(x, uniq, acc[:, k]) for k in range(acc.shape[1])], axis=1)
