"""Whole-workout analysis: movement timeline, rep counts, model drafts for the Label page, evaluation.

Pipeline (`analyze_file` / `analyze_video`; the CLI and the Analyze page call these)
--------------------------------------------------------------------------------------
1. **One sequential decode** (`scan`). Every frame is decoded once, in order, by the one decoder
   (`core.media.video.VideoReader`). Two things are kept from it:

   * the model's input frames on a grid of every `g`-th frame, exactly as training read them:
     `reader.frame(i)` (RGB) -> `core.media.video.preprocess([frame], size, crop)` (the ONE preprocessing);
   * a small grayscale picture of every frame (about 64x36 pixels, swscale's area filter straight
     from the decoded YUV, no RGB conversion) for the motion signal that counts reps.

   Sliding windows are formed from the grid frames while decoding and classified in batches by
   the registered model (base or stream variant alike: a stream model's whole-clip form is the
   same function), so frames are never decoded twice and memory stays bounded (grid frames
   older than the longest window are dropped). A window of `T` model frames (the model's
   `frames`) takes every `g`-th frame, `g = round(window_s * fps / (T - 1))`: with the demo
   model (T = 8) at 30 fps and `window_s = 1.0` that is every 4th frame over 29 frames (~1 s,
   about one rep - training clips are one rep each, 0.5-2.2 s long); a second window of twice
   the span (every 8th frame over 57 frames) starts at the same places (`scales = (1, 2)`) and
   the two are averaged, so short and long reps both get a window of their size. A model trained
   on windows (`core.dataset.windows`) records the spans it learnt (`window_scales`) and `scales = None`
   (the default) slides exactly those; other spans stay on the scan's frame grid. Windows start
   every `stride_s` (0.5 s). A window equals `sample_indices(start, start + (T-1)*g, T)`: the
   frame-sampling rule of training, on evenly spaced windows.

   Measured (bench, model demo-final): one 1 s scale vs 1 s + 2 s: on the training videos (where
   the classifier is right) frame accuracy 0.84 -> 0.93, segment F1 0.79 -> 0.88, count
   off-by-one 0.74 -> 0.89; a 0.25 s stride or a single 1.5 s window did no better; the second
   scale costs ~10 % of the speed.

   Why windows over a base model rather than a stream model run frame by frame: MoViNet's stream
   states end in a *cumulative* global average pool, so a stream model's output after frame t
   summarises everything since the start of the video, not the current movement; it would need
   resets per window anyway. The demo preset trains a base model; its windowed cost (~10-20 ms
   a window on 2 cores, two windows per second of video) is well inside the budget.

2. **Per-frame probabilities**: each window's probabilities sit at its centre frame and are
   linearly interpolated to every frame.

3. **Segments** (`segment_probs`): a Viterbi pass over frames with one state per movement plus
   `none` (rest, transitions, unknown). A movement state scores log p(movement). A model trained
   on whole-workout windows (`core.dataset.windows`, Train preset `analyze`) has its own class `none`:
   that state scores log(`none_weight` * p(none)) - the weight (0.1) offsets the share of rest in
   its training windows (~40 %); chosen on the demo's val workouts (frame accuracy of the preset's
   model: 0.79 at 0.5, 0.81 at 0.25, 0.83 at 0.1; two other window models agreed). For a model
   trained on rep clips only, `none` scores log(`none_threshold`), so frames whose best movement
   is less likely than that become rest. Every change of state
   costs `switch_penalty` (in log-probability units). Segments shorter than `min_segment_s`
   become none.

4. **Reps** (`count_reps`), from the periodicity of the motion, not from the classifier: the
   small grayscale frames of a segment (plus `margin_s` each side) are projected on their top
   principal components (the athlete is what changes; the camera is fixed). On each component
   and both signs, peaks at least 0.9x the shortest plausible rep apart are candidate cycle
   points; the candidate with the most regular intervals whose peak frames look most alike wins
   (a rep returns to the same pose; a second peak inside a rep does not), and cycles at either
   end that do not look like the set's typical cycle are dropped (the walk to the station, the
   set-up). Cycle points sit at a peak of the signal, not necessarily where a rep starts: the
   phase of the rep start inside the cycle comes from matching the cycles' motion-energy profile
   (frame difference: free of the component's sign and of the athlete's looks) with the
   movement's profile learned from labelled reps (`PHASE_TEMPLATES`, from the demo workspace's
   training split; `learn_phase_templates` recomputes them). Reps are cut at that phase in every
   cycle, then extended by whole cycles before the first and after the last while the motion
   stays as active, the new boundary frame looks like the boundaries found and the new cycle
   like the set's cycles. Rep lengths (`rep_bounds`, `prior`): default "slow" = at least
   MOVEMENTS.md's shortest rep of the predicted movement, at most 4.5 s (real, non-elite reps are
   often twice as slow as the competition timing; the elite bounds alone double-count them).
   A movement segment where no cycle is found is dropped as a false movement (`drop_repless`);
   the others are trimmed to their first rep's start and last rep's end (`fit_to_reps`).

   Measured on the demo workspace (`bench/analyze.py`), the counter alone given the true sets
   (true movement and extent): within ±1 rep on 66 of 68 sets (both misses are bar-facing
   burpees, whose alternating sides give two peaks a rep), exact on ~80 %, 94 % of the true
   reps matched at IoU >= 0.5; a plain autocorrelation period (count = length / best lag) is
   within ±1 on ~80 % (rep lengths vary by 20-30 % within a set).

5. **Rep vote** (`vote_reps`, `Settings.rep_vote`; by default only for models without a `none`
   class - a window-trained model names the sets better itself: demo val frame accuracy 0.85
   without the vote, 0.78 with it): each segment's reps are classified again as
   whole-rep clips - `sample_indices` over the rep and THE preprocessing, exactly the input
   training saw - and the segment takes the movement with the highest mean probability over its
   reps; neighbouring segments of one movement then join (a set the windows had split). Measured
   on the demo's 6 held-out test workouts (model d36-crop2b, clip top-1 0.82 on test): frame
   accuracy 0.559 -> 0.588, segment F1 0.571 -> 0.667, at ~1 s of extra work per 45 s workout.
   A model trained on whole-rep clips sees partial reps and rests in the windows, which is where
   most of the remaining frame errors come from (with a focus model, the window's motion crop
   also lands on whoever moves between sets).

Results: `Analysis.to_json()` = {"video", "fps", "frames", "duration_s", "model", "labels",
"segments": [{"movement", "start_frame", "end_frame", "confidence", "count", "reps": [[s, e], ...]}],
"counts": {movement: reps}, "timings_s": {...}, "realtime_factor", "settings"}. Frame ranges are
inclusive, frames numbered as everywhere in the workbench.

Drafts: `write_draft` stores the predicted reps as annotator `model:<run_id>` (the model id when
it has no run), replacing that annotator's older draft on the video; the Label page shows them
beside your reps ("Show another annotator") and "Copy to mine" accepts one (`accept_draft`).

Evaluation (`evaluate_split`, `python -m core analyze-eval MODEL --split test --json`) on the
workout videos of a split (grouped by video, so held out from training):

* frame accuracy (the headline): over the frames inside ground-truth reps, the share whose
  predicted movement is the true one (predicting none there is wrong);
  `frame_accuracy_all`: over every frame, with `none` as a class (rests and transitions must be
  none);
* segment F1 at temporal IoU >= 0.5: ground-truth segments are the sets (runs of back-to-back
  reps of one movement), predicted segments the movement segments, same movement required;
* rep counting, per ground-truth set: the predicted count is the number of predicted reps whose
  middle frame lies in the set (any movement: counting is judged apart from naming, and a set the
  classifier splits in two is still counted whole); MAE and off-by-one accuracy (share within
  ±1), the measures of RepNet / TransRAC. `count_by_segment` is the stricter variant: the count
  of the one predicted segment overlapping the set most. `motion_only`: the counter alone on the
  true sets (true movement and extent, default 0.5 s margin), which needs no classifier;
* rep F1: predicted reps against true reps at IoU >= 0.5, same movement (how useful drafts are).

Key presses with and without a draft: `keypress_study` (see its docstring).
"""
from __future__ import annotations

import dataclasses
import json
import math
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from core.base.store import StoreError
from core.dataset.windows import DEFAULT_SCALES, NONE  # NONE: the class of rests, transitions and unlabelled frames

DRAFT_PREFIX = "model:"

__all__ = [
    "AnalyzeError", "AnalysisCancelled", "Settings", "Scan", "Analysis", "scan", "frame_probabilities",
    "segment_probs", "count_reps", "analyze_scan", "analyze_file", "analyze_video", "load_runner",
    "write_draft", "draft_annotator", "gt_sets", "evaluate_analysis", "evaluate_split",
    "keypress_study", "simulate_without_draft", "simulate_with_draft", "learn_phase_templates",
    "PHASE_TEMPLATES", "add_cli",
]

Progress = Callable[[int, int, str], None]


class AnalyzeError(StoreError):
    """An analysis that cannot run (no model, no video, nothing to evaluate); says why."""


class AnalysisCancelled(Exception):
    """The cancel callback / event asked the analysis to stop."""


@dataclass
class Settings:
    """Knobs of the analysis; the defaults are the ones measured in bench/analyze.py."""

    window_s: float = 1.0          # span of one model window (seconds), ~ one rep
    stride_s: float = 0.5          # windows start this often
    scales: tuple | None = None    # windows of window_s * scale, averaged: short and long reps; None: the spans the
                                   # model was trained on (`window_scales` of a window-trained model), else (1, 2)
    batch: int = 16                # windows per model call
    none_threshold: float = 0.20   # a frame whose best movement is less likely than this is rest (models without none)
    none_weight: float = 0.10      # a model with its own none class: its none probability is scaled by this
    switch_penalty: float = 12.0   # log-probability cost of a change of state (Viterbi)
    min_segment_s: float = 1.5     # shorter movement segments become none
    motion_pixels: int = 64 * 36   # size of the grayscale motion frames (area, aspect kept)
    margin_s: float = 0.5          # reps are looked for this far outside a segment's ends
    prior: str = "slow"            # rep duration bounds (see rep_bounds): "movement", "slow" or "broad"
    drop_repless: bool = True      # a movement segment where no rep cycle is found becomes none
    fit_to_reps: bool = True       # a segment's ends become its first rep's start and last rep's end
    boundary_check: bool = True    # an extra cycle at a set's ends must end in the reps' boundary pose
    cycle_alike: float = 10.0      # ... and its cycle within this many times the set's typical spread
    parallel: bool = True          # the model runs in a thread beside the decoder
    boundary_alike: float = 1.0    # ... i.e. within this share of two random frames' distance of a boundary
    rep_vote: bool | None = None   # re-name each segment by classifying its reps as training clips (vote_reps);
                                   # None: only for models without a none class (a window-trained model names better)
    merge_gap_s: float = 2.0       # after the vote, same-movement segments this close become one

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["scales"] = list(self.scales) if self.scales else None
        return d

    @classmethod
    def from_json(cls, d: dict | None) -> "Settings":
        d = dict(d or {})
        names = {f.name for f in dataclasses.fields(cls)}
        out = {k: v for k, v in d.items() if k in names}
        if out.get("scales"):
            out["scales"] = tuple(float(s) for s in out["scales"])
        return cls(**out)

    def for_model(self, row: dict | None) -> "Settings":
        """These settings with `scales` filled in: the window spans the model was trained on."""
        if self.scales:
            return self
        trained = ((row or {}).get("preprocessing") or {}).get("window_scales")
        return dataclasses.replace(self, scales=tuple(float(s) for s in (trained or DEFAULT_SCALES)))


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


def _check_cancel(cancel) -> None:
    if cancel is None:
        return
    stop = cancel.is_set() if isinstance(cancel, threading.Event) else bool(cancel())
    if stop:
        raise AnalysisCancelled("analysis cancelled")


def window_plan(frames: int, fps: float, clip_frames: int, settings: Settings) -> tuple[int, int, list[int]]:
    """(g, stride in frames, spans per scale) for a video: a window of scale s takes every
    round(base * s)-th frame, base being the step of a `window_s` window; every frame a window
    uses is a multiple of g (the scan keeps only those)."""
    t = max(1, int(clip_frames))
    fps = fps if fps and fps > 0 else 30.0
    base = max(1, int(round(settings.window_s * fps / max(1, t - 1))))
    stride = base * max(1, int(round(settings.stride_s * fps / base)))
    steps = [max(1, int(round(base * s))) for s in (settings.scales or DEFAULT_SCALES)]
    g = math.gcd(stride, *steps)
    return g, stride, [(t - 1) * step + 1 for step in steps]


def scan(path, predict: Callable[[np.ndarray], np.ndarray], clip_frames: int, size, crop=None,
         settings: Settings | None = None, progress: Progress | None = None, cancel=None,
         focus: str | None = None) -> Scan:
    """Decode `path` once; classify sliding windows with `predict` (batch [B, T, H, W, 3] float32
    in [0, 1] -> probabilities [B, classes]) and keep the small motion frames. See the module doc.

    size: int or (h, w) of the model input; crop: pixel box (x0, y0, x1, y1) or None; focus: the
    model's focus (None: each frame is preprocessed once as decoded; "motion": the window's frames
    are preprocessed together, since the athlete box is found from the window's own motion).
    progress(done_frames, total_frames, stage); cancel: threading.Event or callable -> bool.
    The model runs in a worker thread while decoding goes on (TensorFlow and FFmpeg release the
    GIL), at most two batches in flight; each batch is a copy, so the frame buffer can move on.
    """
    from av.video.reformatter import VideoReformatter

    from core.media.video import VideoReader, preprocess, sample_indices

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
        g, stride, spans = window_plan(n, fps, T, settings)
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
                batch = np.stack([preprocess([kept[i] for i in idx], size, crop, focus) for idx in pending])
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
                    _check_cancel(cancel)
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


# ==============================================================================================
# 2. Segments: Viterbi with a switching penalty and a none state
# ==============================================================================================

def viterbi(scores: np.ndarray, switch_penalty: float) -> np.ndarray:
    """Best state path of per-frame scores [n, S] (higher is better) where every change of state
    costs `switch_penalty`. Returns [n] state indices."""
    n, s = scores.shape
    if n == 0:
        return np.zeros(0, np.int64)
    back = np.zeros((n, s), np.int64)
    cur = scores[0].astype(np.float64).copy()
    ar = np.arange(s)
    for t in range(1, n):
        best = int(np.argmax(cur))
        switch = cur[best] - switch_penalty
        stay = cur >= switch
        back[t] = np.where(stay, ar, best)
        cur = np.where(stay, cur, switch) + scores[t]
    path = np.empty(n, np.int64)
    path[-1] = int(np.argmax(cur))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def runs(path: Sequence[int]) -> list[tuple[int, int, int]]:
    """(value, start, end) of the runs of equal values in `path` (end inclusive)."""
    out = []
    path = np.asarray(path)
    if len(path) == 0:
        return out
    cuts = np.flatnonzero(np.diff(path)) + 1
    starts = np.r_[0, cuts]
    ends = np.r_[cuts - 1, len(path) - 1]
    return [(int(path[a]), int(a), int(b)) for a, b in zip(starts, ends)]


def segment_probs(fprobs: np.ndarray, fps: float, settings: Settings | None = None,
                  none_index: int | None = None) -> list[dict]:
    """Per-frame movement probabilities [n, K] -> movement segments
    [{"index": k, "start_frame", "end_frame", "confidence"}] (none left out), by start.
    none_index: the column of a model's own `none` class (a window-trained model): the none state
    scores its probability; without one, none scores the constant `none_threshold`."""
    settings = settings or Settings()
    fprobs = np.asarray(fprobs, np.float64)
    n, k = fprobs.shape
    if none_index is None:
        scores = np.empty((n, k + 1))
        scores[:, :k] = np.log(np.clip(fprobs, 1e-6, 1.0))
        scores[:, k] = math.log(max(1e-6, settings.none_threshold))
    else:
        scores = np.log(np.clip(fprobs, 1e-6, 1.0))
        k = int(none_index)
        scores[:, k] += math.log(max(1e-6, settings.none_weight))
    path = viterbi(scores, settings.switch_penalty)
    min_len = max(1, int(round(settings.min_segment_s * (fps or 30.0))))
    kept = [(state, a, b) for state, a, b in runs(path) if state != k and b - a + 1 >= min_len]
    merged: list[list[int]] = []
    for state, a, b in kept:  # a short blip dropped between two runs of one movement: one segment
        if merged and merged[-1][0] == state and a - merged[-1][2] - 1 < min_len:
            merged[-1][2] = b
        else:
            merged.append([state, a, b])
    return [{"index": s, "start_frame": a, "end_frame": b, "confidence": float(fprobs[a:b + 1, s].mean())}
            for s, a, b in merged]


# ==============================================================================================
# 3. Reps from the periodicity of the motion
# ==============================================================================================

# Motion-energy profile of one rep (32 phases from the rep's first frame to its last; mean 1),
# per movement: the mean over the labelled reps of the demo workspace's training split (videos
# 5-12 of seed 0), at the default motion_pixels; `learn_phase_templates` recomputes them.
PHASE_TEMPLATES: dict[str, list[float]] = {
    "bar-facing burpee": [0.337, 0.607, 1.209, 1.053, 0.648, 1.778, 1.501, 0.691, 1.264, 0.932, 0.276, 0.742, 1.242, 0.807, 0.725, 1.736, 1.5, 0.593, 1.33, 1.231, 0.478, 0.722, 0.816, 0.463, 1.11, 1.596, 1.359, 1.629, 1.518, 0.635, 0.691, 0.782],
    "chest-to-bar": [0.556, 0.364, 0.448, 0.661, 0.908, 1.23, 1.235, 1.146, 0.886, 0.649, 0.537, 0.695, 0.968, 1.22, 1.417, 1.35, 1.058, 0.673, 0.407, 0.52, 0.893, 0.946, 0.94, 1.447, 1.917, 2.028, 1.739, 1.223, 1.024, 1.055, 0.972, 0.89],
    "deadlift": [0.495, 0.637, 1.066, 1.481, 1.734, 1.708, 1.487, 1.238, 1.155, 1.068, 0.978, 0.846, 0.662, 0.496, 0.385, 0.486, 0.511, 0.5, 0.554, 0.587, 0.783, 0.979, 1.099, 1.153, 1.099, 1.135, 1.259, 1.395, 1.453, 1.358, 1.213, 1.0],
    "double-unders": [1.331, 1.471, 1.611, 1.562, 1.422, 1.23, 1.057, 0.972, 0.959, 0.954, 0.943, 0.907, 0.819, 0.72, 0.675, 0.702, 0.744, 0.736, 0.707, 0.724, 0.729, 0.691, 0.702, 0.797, 0.917, 1.032, 1.135, 1.183, 1.137, 1.089, 1.144, 1.198],
    "ghd": [0.305, 1.154, 1.663, 1.654, 1.312, 0.982, 0.927, 0.919, 0.871, 0.812, 0.834, 0.904, 0.863, 0.842, 1.172, 0.987, 0.488, 1.208, 1.291, 1.034, 0.911, 1.109, 1.295, 1.243, 1.326, 1.102, 0.885, 0.918, 0.95, 0.831, 0.727, 0.478],
    "ohs": [0.16, 0.153, 0.316, 0.652, 0.816, 1.004, 1.194, 1.161, 1.163, 1.225, 1.411, 1.518, 1.52, 1.355, 1.178, 0.784, 0.376, 0.543, 1.032, 1.014, 1.015, 1.127, 1.256, 1.316, 1.349, 1.269, 1.283, 1.312, 1.24, 0.992, 0.837, 0.428],
    "power clean": [0.591, 0.621, 1.018, 1.089, 0.825, 0.595, 0.588, 0.597, 0.71, 1.561, 0.678, 2.131, 1.918, 2.241, 0.826, 0.703, 0.737, 1.031, 0.761, 0.321, 0.295, 0.688, 1.082, 1.453, 1.679, 0.829, 0.446, 0.892, 1.126, 1.255, 1.53, 1.181],
    "shspu": [0.558, 0.39, 0.746, 1.037, 1.235, 1.263, 1.339, 1.14, 0.969, 0.959, 1.231, 1.077, 1.076, 0.862, 0.815, 0.605, 0.703, 1.301, 0.548, 0.481, 0.907, 0.897, 0.785, 0.912, 1.094, 1.018, 1.09, 1.559, 1.648, 1.572, 1.395, 0.787],
    "thruster": [0.319, 0.35, 0.651, 0.893, 1.171, 1.458, 1.601, 1.601, 1.381, 0.789, 0.612, 1.185, 1.637, 1.733, 1.66, 1.53, 1.655, 1.649, 1.192, 0.842, 0.628, 0.4, 0.246, 0.335, 0.702, 0.992, 0.991, 0.879, 0.742, 0.73, 0.749, 0.699],
}

PHASES = 32


def _energy(x: np.ndarray) -> np.ndarray:
    """Frame-difference energy of frames [n, d] (float): mean |x_t - x_{t-1}|, 0 for the first."""
    if len(x) < 2:
        return np.zeros(len(x))
    return np.r_[0.0, np.abs(np.diff(x, axis=0)).mean(axis=1)]


def _fold(e: np.ndarray, a: float, b: float) -> np.ndarray:
    """The energy over [a, b) resampled to PHASES values, mean 1."""
    a, b = int(round(a)), int(round(b))
    seg = e[a:max(b, a + 2)]
    xs = np.linspace(0, len(seg) - 1, PHASES)
    prof = np.interp(xs, np.arange(len(seg)), seg)
    return prof / (prof.mean() + 1e-9)


def rep_bounds(movement: str | None, fps: float, prior: str = "movement") -> tuple[int, int]:
    """(shortest, longest) plausible rep in frames.

    "movement": MOVEMENTS.md's timing of elite athletes (the synthetic generator's bounds);
    "slow": the same shortest rep, but reps may last up to 4.5 s (amateurs, kettlebells, scaled
    movements: real reps are often twice as slow as competition reps); "broad" (and unknown
    movements): 0.3-4.5 s."""
    fps = fps if fps and fps > 0 else 30.0
    broad = (max(3, int(0.3 * fps)), max(6, int(4.5 * fps)))
    if prior in ("movement", "slow") and movement:
        try:
            from core.demo.synthetic import rep_frame_bounds

            lo, hi = rep_frame_bounds(movement, fps)
        except (KeyError, ImportError):
            return broad
        return (lo, hi) if prior == "movement" else (lo, max(hi, broad[1]))
    return broad


def _components(x: np.ndarray, k: int = 4, iterations: int = 4) -> np.ndarray:
    """Projections [n, k] of frames x [n, d] on their top-k principal components (randomised
    subspace iteration with a fixed seed: deterministic, and ~50x faster than a full
    eigendecomposition of a long segment)."""
    xc = x - x.mean(axis=0)
    n, d = xc.shape
    k = min(k, n, d)
    rng = np.random.default_rng(0)
    q = np.linalg.qr(xc @ rng.standard_normal((d, k + 6)).astype(xc.dtype))[0]
    for _ in range(iterations):
        q = np.linalg.qr(xc @ (xc.T @ q))[0]
    u, sv, _ = np.linalg.svd(q.T @ xc, full_matrices=False)
    return (q @ u[:, :k]) * sv[:k]


def _cycles(x: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, float] | None:
    """Cycle points (peak frames) and the median cycle length of frames x [n, d], or None."""
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import find_peaks

    if len(x) < max(6, lo):
        return None
    comps = _components(x)
    xc = x - x.mean(axis=0)
    ref = 2.0 * float(np.mean(np.sum(xc * xc, axis=1))) + 1e-12  # mean squared distance of two frames
    if ref < 1e-9 * x.shape[1]:  # still frames: the components are rounding noise
        return None
    best = None
    for j in range(comps.shape[1]):
        sig = gaussian_filter1d(comps[:, j], 1.5)
        spread = float(np.percentile(sig, 95) - np.percentile(sig, 5))
        if spread <= 0:
            continue
        for sign in (1.0, -1.0):
            peaks, _ = find_peaks(sign * sig, distance=max(3, int(lo * 0.9)), prominence=0.3 * spread)
            if len(peaks) < 2:
                continue
            iv = np.diff(peaks)
            cv = float(iv.std() / iv.mean())
            med = float(np.median(iv))
            off = 0.0 if 0.8 * lo <= med <= 1.2 * hi else 1.0
            alike = float(np.mean(np.sum((x[peaks[1:]] - x[peaks[:-1]]) ** 2, axis=1))) / ref
            score = cv + off + alike + 0.1 * j
            if best is None or score < best[0]:
                best = (score, peaks, med)
    if best is None:
        return None
    peaks = _trim_cycles(x, best[1], best[2])
    if len(peaks) < 2:
        return None
    return peaks, float(np.median(np.diff(peaks)))


def _trim_cycles(x: np.ndarray, peaks: np.ndarray, med: float, points: int = 12) -> np.ndarray:
    """Drop cycles at either end that do not look like the set's typical cycle: a segment found
    by the classifier often reaches into the walk to or from the station, whose steps or set-up
    make peaks too. A cycle (its frames resampled to `points` frames) is dropped from an end while
    it lies more than 3x the median distance from the median cycle or lasts under 0.6x / over 1.6x
    the median cycle."""
    if len(peaks) < 4:
        return peaks
    cycles = []
    for a, b in zip(peaks[:-1], peaks[1:]):
        idx = np.linspace(a, b, points).round().astype(int)
        cycles.append(x[idx].ravel())
    cycles = np.asarray(cycles)
    typical = np.median(cycles, axis=0)
    dist = np.mean((cycles - typical) ** 2, axis=1)
    scale = float(np.median(dist)) + 1e-12
    lens = np.diff(peaks)

    def odd(i: int) -> bool:
        return dist[i] > 3.0 * scale or not 0.6 * med <= lens[i] <= 1.6 * med

    lo, hi = 0, len(cycles) - 1
    while lo < hi and odd(lo):
        lo += 1
    while hi > lo and odd(hi):
        hi -= 1
    return peaks[lo:hi + 2]


def count_reps(gray: np.ndarray, start: int, end: int, fps: float, movement: str | None = None,
               settings: Settings | None = None) -> list[tuple[int, int]]:
    """Reps [(first, last), ...] (inclusive video frames) of the movement done in frames
    start..end of the motion frames `gray` [n, h, w] (uint8), looking `margin_s` beyond both ends.
    See the module doc; [] when no rep cycle is found."""
    settings = settings or Settings()
    n = len(gray)
    margin = int(round(settings.margin_s * (fps or 30.0)))
    a, b = max(0, int(start) - margin), min(n - 1, int(end) + margin)
    if b - a < 4:
        return []
    x = gray[a:b + 1].reshape(b - a + 1, -1).astype(np.float32) / 255.0
    lo, hi = rep_bounds(movement, fps, settings.prior)
    found = _cycles(x, lo, hi)
    if found is None:
        return []
    peaks, med = found
    e = _energy(x)
    lens = np.diff(peaks).astype(np.float64)
    phase = 0.0
    template = PHASE_TEMPLATES.get(movement or "")
    if template is not None and len(peaks) >= 2:
        observed = np.mean([_fold(e, peaks[i], peaks[i + 1]) for i in range(len(peaks) - 1)], axis=0)
        tmpl = np.asarray(template, np.float64)
        shift = int(np.argmax([np.dot(np.roll(tmpl, s), observed) for s in range(PHASES)]))
        phase = shift / PHASES
    bounds = [float(peaks[i] + phase * lens[i]) for i in range(len(lens))]
    if phase == 0.0:
        bounds.append(float(peaks[-1]))
    inside = e[int(bounds[0]):int(bounds[-1]) + 1].mean() if len(bounds) > 1 else e.mean()
    slack = 0.2 * med
    last = len(x) - 1
    # A rep ends in the pose it started from: an extra cycle is taken only if its far boundary
    # looks like the boundaries found so far (and the motion in it is as active as inside).
    bx = x[np.clip(np.round(bounds).astype(int), 0, last)]
    step = np.sum((bx[1:] - bx[:-1]) ** 2, axis=1) if len(bx) > 1 else np.zeros(1)
    spread = 2.0 * float(np.mean(np.sum((x - x.mean(0)) ** 2, axis=1)))  # two random frames, squared
    alike = max(2.0 * float(np.median(step)), settings.boundary_alike * spread)

    def snap(f: float, near: float) -> float | None:
        """The frame within 0.3 cycles of f that looks most like the boundary at `near`, or None."""
        if not settings.boundary_check:
            return f
        j = int(np.clip(round(near), 0, last))
        lo_f, hi_f = int(max(0, math.floor(f - 0.3 * med))), int(min(last, math.ceil(f + 0.3 * med)))
        if hi_f < lo_f:
            return None
        d = np.sum((x[lo_f:hi_f + 1] - x[j]) ** 2, axis=1)
        # among equally good frames (a pose held still) the one nearest the expected place
        off = np.abs(np.arange(lo_f, hi_f + 1) - f) / max(1.0, 0.3 * med)
        k = int(np.argmin(d + 0.01 * alike * off))
        return float(lo_f + k) if d[k] <= alike else None

    # ... and the cycle itself must look like the set's cycles (the walk to the station and the
    # set-up before the first rep move too)
    def shape(a_: float, b_: float) -> np.ndarray:
        idx = np.clip(np.linspace(a_, b_, 12).round().astype(int), 0, last)
        return x[idx].ravel()

    inner = [shape(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
    typical = np.median(inner, axis=0) if len(inner) >= 3 else None
    if typical is not None:
        # (floored at 2 % of two random frames' difference: identical cycles - a still camera,
        # a perfectly regular athlete - must not make every other cycle look foreign)
        scale = float(np.median([np.mean((c - typical) ** 2) for c in inner])) + 0.02 * spread / x.shape[1] + 1e-12

    def like_a_rep(a_: float, b_: float) -> bool:
        return typical is None or not settings.boundary_check or \
            float(np.mean((shape(a_, b_) - typical) ** 2)) <= settings.cycle_alike * scale

    while True:  # whole cycles after the last boundary
        nxt = bounds[-1] + med
        if nxt > last + 1 + slack or e[int(bounds[-1]):min(len(x), int(nxt) + 1)].mean() < 0.7 * inside:
            break
        at = snap(min(nxt, float(last)), bounds[-1])
        if at is None or at - bounds[-1] < 0.5 * med or not like_a_rep(bounds[-1], at):
            break
        bounds.append(at if at < last else last + 1.0)
    while True:  # and before the first
        prv = bounds[0] - med
        if prv < -slack or e[max(0, int(prv)):int(bounds[0]) + 1].mean() < 0.7 * inside:
            break
        at = snap(max(prv, 0.0), bounds[0])
        if at is None or bounds[0] - at < 0.5 * med or not like_a_rep(at, bounds[0]):
            break
        bounds.insert(0, at)
    edges = np.round(bounds).astype(int)
    reps = []
    for i in range(len(edges) - 1):
        s, t = int(edges[i]) + a, int(edges[i + 1]) - 1 + a
        if t >= s:
            reps.append((s, min(t, n - 1)))
    return reps


def learn_phase_templates(videos: Sequence[tuple[np.ndarray, list[dict]]]) -> dict[str, list[float]]:
    """Per-movement energy profiles of one rep from (motion frames [n, h, w] uint8, reps
    [{label, start, end}]) pairs (see PHASE_TEMPLATES)."""
    acc: dict[str, list[np.ndarray]] = {}
    for gray, reps in videos:
        x = gray.reshape(len(gray), -1).astype(np.float32) / 255.0
        e = _energy(x)
        for r in reps:
            if r["end"] - r["start"] >= 3:
                acc.setdefault(r["label"], []).append(_fold(e, r["start"], r["end"] + 1))
    return {m: [round(float(v), 3) for v in np.mean(p, axis=0)] for m, p in sorted(acc.items())}


# ==============================================================================================
# 4. The analysis
# ==============================================================================================

@dataclass
class Analysis:
    """The result of analysing one video (see the module doc for `to_json`)."""

    video: str
    fps: float
    frames: int
    labels: list
    model: str | None
    segments: list                      # [{"movement", "start_frame", "end_frame", "confidence", "count", "reps"}]
    centers: np.ndarray                 # window centres (frames)
    probs: np.ndarray                   # window probabilities [windows, classes]
    timings: dict
    settings: Settings
    video_id: int | None = None
    run_id: str | None = None

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps if self.fps else 0.0

    @property
    def realtime_factor(self) -> float:
        total = self.timings.get("total") or 0.0
        return self.duration_s / total if total > 0 else float("inf")

    def counts(self) -> dict:
        out: dict = {}
        for s in self.segments:
            out[s["movement"]] = out.get(s["movement"], 0) + int(s["count"])
        return out

    def reps(self) -> list[dict]:
        """Every predicted rep as {label, start, end} (the draft's rows), by start."""
        return sorted(({"label": s["movement"], "start": int(a), "end": int(b)}
                       for s in self.segments for a, b in s["reps"]), key=lambda r: r["start"])

    def frame_labels(self) -> list[str]:
        """The predicted movement of every frame (none outside segments)."""
        out = [NONE] * self.frames
        for s in self.segments:
            for f in range(s["start_frame"], s["end_frame"] + 1):
                out[f] = s["movement"]
        return out

    def to_json(self, probabilities: bool = False) -> dict:
        d = {
            "video": self.video, "video_id": self.video_id, "model": self.model, "run_id": self.run_id,
            "fps": self.fps, "frames": self.frames, "duration_s": round(self.duration_s, 3),
            "labels": list(self.labels), "segments": self.segments, "counts": self.counts(),
            "timings_s": {k: round(float(v), 3) for k, v in self.timings.items()},
            "realtime_factor": round(self.realtime_factor, 2), "settings": self.settings.to_json(),
        }
        if probabilities:
            d["windows"] = {"centers": [float(c) for c in self.centers],
                            "probabilities": np.round(self.probs, 4).tolist()}
        return d


def analyze_scan(sc: Scan, labels: Sequence[str], settings: Settings | None = None,
                 model: str | None = None) -> Analysis:
    """Segments and reps from a finished scan (cheap: re-run it to try other settings)."""
    settings = settings or Settings()
    t0 = time.perf_counter()
    fp = frame_probabilities(sc.centers, sc.probs, sc.frames)
    raw = segment_probs(fp, sc.fps, settings, none_index=_none_index(labels))
    t1 = time.perf_counter()
    segments = []
    for seg in raw:
        movement = labels[seg["index"]]
        reps = count_reps(sc.gray, seg["start_frame"], seg["end_frame"], sc.fps, movement, settings)
        if not reps and settings.drop_repless:
            continue
        a, b = seg["start_frame"], seg["end_frame"]
        if reps and settings.fit_to_reps:
            a, b = reps[0][0], reps[-1][1]
        segments.append({"movement": movement, "start_frame": int(a), "end_frame": int(b),
                         "confidence": round(float(fp[a:b + 1, seg["index"]].mean()), 4),
                         "count": len(reps), "reps": [[int(s), int(e)] for s, e in reps]})
    segments = _resolve_overlaps(segments)
    if settings.drop_repless:  # a segment whose reps all went to its neighbour is no longer a set
        segments = [s for s in segments if s["count"] > 0]
    t2 = time.perf_counter()
    timings = dict(sc.timings)
    timings.update(segment=t1 - t0, reps=t2 - t1, total=sc.timings.get("scan", 0.0) + (t2 - t0))
    return Analysis(video=sc.path, fps=sc.fps, frames=sc.frames, labels=list(labels), model=model,
                    segments=segments, centers=sc.centers, probs=sc.probs, timings=timings,
                    settings=settings)


def _none_index(labels: Sequence[str]) -> int | None:
    """The column of the model's `none` class (window-trained models, core.dataset.windows), if it has one."""
    return list(labels).index(NONE) if NONE in labels else None


def classify_reps(path, predict, clip_frames: int, size, crop, focus, reps: Sequence, batch: int = 16,
                  cancel=None) -> np.ndarray:
    """Probabilities [len(reps), classes] of each rep (start, end) read exactly as a training clip:
    `sample_indices` over the rep and THE preprocessing (crop, focus). Batches of `batch` (padded,
    so a traced model keeps one input shape)."""
    from core.media.video import VideoReader, preprocess, sample_indices

    out: list[np.ndarray] = []
    pending: list[np.ndarray] = []

    def flush():
        if not pending:
            return
        x = np.stack(pending).astype(np.float32)
        if len(x) < batch:
            x = np.concatenate([x, np.zeros((batch - len(x),) + x.shape[1:], np.float32)])
        out.append(np.asarray(predict(x), np.float32).reshape(len(x), -1)[:len(pending)])
        pending.clear()

    with VideoReader(path, cache_frames=max(8, int(clip_frames))) as reader:
        for a, b in sorted((int(a), int(b)) for a, b in reps):
            _check_cancel(cancel)
            pending.append(preprocess([reader.frame(i) for i in sample_indices(a, b, int(clip_frames))],
                                      size, crop, focus))
            if len(pending) >= batch:
                flush()
    flush()
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def vote_reps(segments: list[dict], rep_probs: np.ndarray, labels: Sequence[str], fps: float,
              merge_gap_s: float = 2.0) -> list[dict]:
    """Re-name each segment by its reps: the movement with the highest mean probability over the
    segment's reps (each classified as a whole-rep clip, the input training saw, where the sliding
    windows see parts of reps and the gaps between them); then neighbouring segments of the same
    movement at most `merge_gap_s` apart are joined (one set the windows had split). `rep_probs`
    rows follow the reps of `segments` in order. Measured on the demo's held-out workouts: see the
    module doc."""
    out: list[dict] = []
    k = 0
    rep_probs = np.asarray(rep_probs, np.float64)
    none = _none_index(labels)
    if none is not None and len(rep_probs):  # a rep is some movement: name it among the movements
        rep_probs = rep_probs.copy()
        rep_probs[:, none] = -1.0
    for seg in sorted(segments, key=lambda s: s["start_frame"]):
        n = len(seg["reps"])
        if n:
            p = rep_probs[k:k + n].mean(axis=0)
            k += n
            seg = {**seg, "movement": labels[int(np.argmax(p))], "confidence": round(float(p.max()), 4)}
        prev = out[-1] if out else None
        if prev is not None and prev["movement"] == seg["movement"] and \
                seg["start_frame"] - prev["end_frame"] <= merge_gap_s * fps:
            n0, n1 = max(1, prev["count"]), max(1, seg["count"])
            out[-1] = {**prev, "end_frame": seg["end_frame"], "reps": prev["reps"] + seg["reps"],
                       "count": prev["count"] + seg["count"],
                       "confidence": round((prev["confidence"] * n0 + seg["confidence"] * n1) / (n0 + n1), 4)}
        else:
            out.append(seg)
    return out


def votes(settings: Settings, labels: Sequence[str]) -> bool:
    """Whether the rep vote runs: as set, or (None) for a model without a none class."""
    return settings.rep_vote if settings.rep_vote is not None else _none_index(labels) is None


def _vote(result: "Analysis", path, predict, clip_frames, size, crop, focus, settings: Settings, cancel=None):
    """Apply `vote_reps` to an analysis in place (when `votes(settings, labels)`), timing it."""
    if not votes(settings, result.labels) or not result.segments:
        return result
    t0 = time.perf_counter()
    reps = [r for s in sorted(result.segments, key=lambda s: s["start_frame"]) for r in s["reps"]]
    probs = classify_reps(path, predict, clip_frames, size, crop, focus, reps, settings.batch, cancel)
    result.segments = vote_reps(result.segments, probs, result.labels, result.fps, settings.merge_gap_s)
    dt = time.perf_counter() - t0
    result.timings["vote"] = dt
    result.timings["total"] = result.timings.get("total", 0.0) + dt
    return result


def _resolve_overlaps(segments: list[dict]) -> list[dict]:
    """Reps looked for beyond a segment's ends may reach into the next segment: the later segment
    keeps the frames (its first reps), the earlier one loses its reps that overlap them."""
    segments = sorted(segments, key=lambda s: s["start_frame"])
    for prev, cur in zip(segments, segments[1:]):
        if prev["end_frame"] >= cur["start_frame"]:
            prev["reps"] = [r for r in prev["reps"] if r[1] < cur["start_frame"]]
            prev["count"] = len(prev["reps"])
            prev["end_frame"] = prev["reps"][-1][1] if prev["reps"] else cur["start_frame"] - 1
            if prev["end_frame"] < prev["start_frame"]:
                prev["count"] = -1
    return [s for s in segments if s["count"] >= 0 and s["end_frame"] >= s["start_frame"]]


_WARM: set = set()


def warm_up(predict, frames: int, size, settings: Settings) -> None:
    """Run the model once on a blank batch of the scan's shape: the first call traces the graph
    (seconds), and that one-time cost is not the analysis' speed. Once per callable and shape."""
    size = (int(size), int(size)) if np.isscalar(size) else (int(size[0]), int(size[1]))
    key = (id(predict), int(frames), size, int(settings.batch))
    if key in _WARM:
        return
    predict(np.zeros((settings.batch, int(frames), size[0], size[1], 3), np.float32))
    _WARM.add(key)


def load_runner(ws, model_ref, engine: str = "auto"):
    """(predict callable, model row) of a registered model id / run id / exported folder."""
    from core.inference.predictor import PredictError, default_predictor

    try:
        fn, _name, entry = default_predictor().runner(ws, model_ref, engine)
    except PredictError as exc:
        raise AnalyzeError(str(exc)) from exc
    return fn, entry.row


def _model_input(row: dict, video: dict | None) -> tuple[int, tuple[int, int], object, str | None]:
    """(frames, (h, w), crop box or None, focus) as `core.inference.predictor` feeds this model a workspace
    video / a file."""
    from core.evaluation import evaluate as ev
    from core.inference.predictor import _model_box

    frames, size, crop_flag = ev.preprocessing(row)
    box = None
    if video is not None and crop_flag:
        from core.dataset.clips import normalise_box

        box = normalise_box(video.get("roi"), video["width"], video["height"])
    if box is None:
        box = _model_box(row)
    return frames, size, box, ev.focus(row)


def analyze_file(ws, model_ref, path, settings: Settings | None = None, progress: Progress | None = None,
                 cancel=None, engine: str = "auto", video: dict | None = None) -> Analysis:
    """Analyse a video file with a registered model (id, run id, row or exported folder)."""
    t0 = time.perf_counter()
    fn, row = load_runner(ws, model_ref, engine)
    settings = (settings or Settings()).for_model(row)
    frames, size, box, focus = _model_input(row, video)
    t1 = time.perf_counter()
    warm_up(fn, frames, size, settings)
    t2 = time.perf_counter()
    sc = scan(path, fn, frames, size, box, settings, progress, cancel, focus=focus)
    result = analyze_scan(sc, row["labels"], settings, model=row["id"])
    if progress and votes(settings, row["labels"]):
        progress(sc.frames, sc.frames, "classifying the reps")
    _vote(result, path, fn, frames, size, box, focus, settings, cancel)
    result.run_id = row.get("run_id")
    result.timings["load_model"] = t1 - t0
    result.timings["warm_up"] = t2 - t1
    if progress:
        progress(sc.frames, sc.frames, "done")
    return result


def analyze_video(ws, model_ref, video_id: int, settings: Settings | None = None,
                  progress: Progress | None = None, cancel=None, engine: str = "auto") -> Analysis:
    """Analyse a workspace video (its athlete box is used when the model was trained on boxes)."""
    video = ws.store().video(int(video_id))
    if video is None:
        raise AnalyzeError(f"No video {video_id} in the workspace.")
    result = analyze_file(ws, model_ref, ws.absolute(video["path"]), settings, progress, cancel, engine,
                          video=video)
    result.video_id = int(video_id)
    return result


# ==============================================================================================
# 5. Drafts for the Label page
# ==============================================================================================

def draft_annotator(model_row_or_analysis) -> str:
    """`model:<run_id>` (the model id when the model has no run)."""
    if isinstance(model_row_or_analysis, Analysis):
        key = model_row_or_analysis.run_id or model_row_or_analysis.model
    else:
        key = model_row_or_analysis.get("run_id") or model_row_or_analysis.get("id")
    if not key:
        raise AnalyzeError("A draft needs the model's run id or model id.")
    return f"{DRAFT_PREFIX}{key}"


def write_draft(store, video_id: int, reps: Sequence[dict], annotator: str, extra: dict | None = None) -> list[str]:
    """Store `reps` ({label, start, end}) as `annotator`'s reps on the video, replacing everything
    that annotator had there, in one transaction. Only model annotators (`model:…`) are allowed:
    a person's reps are never replaced wholesale. Returns the new keys."""
    if not annotator.startswith(DRAFT_PREFIX):
        raise AnalyzeError(f"Drafts belong to a model annotator ({DRAFT_PREFIX}<run_id>), not {annotator!r}.")
    if store.video(int(video_id)) is None:
        raise AnalyzeError(f"No video {video_id} in the workspace.")
    rows = sorted(reps, key=lambda r: int(r["start"]))
    with store.write() as con:
        con.execute("DELETE FROM segments WHERE video_id = ? AND annotator = ?", (int(video_id), annotator))
        keys = [store._insert_segment(con, int(video_id), r["label"], int(r["start"]), int(r["end"]),  # noqa: SLF001
                                      annotator, extra=dict(extra or {}, **(r.get("extra") or {})) or None)
                for r in rows]
    return keys


def send_draft(ws, analysis: Analysis, video_id: int | None = None) -> tuple[str, list[str]]:
    """Write an analysis' reps as its model's draft on its workspace video; (annotator, keys)."""
    vid = analysis.video_id if video_id is None else int(video_id)
    if vid is None:
        raise AnalyzeError("Only a workspace video can get a draft: add the video on the Videos page first.")
    annotator = draft_annotator(analysis)
    keys = write_draft(ws.store(), vid, analysis.reps(), annotator,
                       extra={"source": "analyze", "model": analysis.model})
    return annotator, keys


# ==============================================================================================
# 6. Evaluation against ground truth
# ==============================================================================================

def gt_sets(reps: Sequence[dict], gap: int = 0) -> list[dict]:
    """Sets: runs of reps of one movement, each starting at most `gap` frames after the previous
    one ends. [{label, start, end, reps: [...]}]."""
    out: list[dict] = []
    for r in sorted(reps, key=lambda r: r["start"]):
        if out and out[-1]["label"] == r["label"] and r["start"] - out[-1]["end"] - 1 <= gap:
            out[-1]["end"] = max(out[-1]["end"], r["end"])
            out[-1]["reps"].append(r)
        else:
            out.append({"label": r["label"], "start": r["start"], "end": r["end"], "reps": [r]})
    return out


def evaluate_analysis(analysis: Analysis, truth_reps: Sequence[dict], gray: np.ndarray | None = None) -> dict:
    """Scores of one analysed video against its ground-truth reps (see the module doc)."""
    from core.labeling.agreement import frame_labels, match_reps, temporal_iou

    n = analysis.frames
    truth = frame_labels(list(truth_reps), n)
    pred = analysis.frame_labels()
    labelled = [i for i in range(n) if truth[i] != NONE]
    correct_lab = sum(1 for i in labelled if pred[i] == truth[i])
    correct_all = sum(1 for a, b in zip(pred, truth) if a == b)
    sets = gt_sets(truth_reps)
    psegs = [{"label": s["movement"], "start": s["start_frame"], "end": s["end_frame"], "count": s["count"]}
             for s in analysis.segments]
    matches, _, _ = match_reps(sets, psegs, 0.5)
    counts = []
    centres = [(r["start"] + r["end"]) / 2.0 for r in analysis.reps()]
    for st in sets:
        c = sum(1 for m in centres if st["start"] <= m <= st["end"])
        best = max(psegs, key=lambda p: temporal_iou(st, p), default=None)
        seg_c = best["count"] if best is not None and temporal_iou(st, best) > 0 else 0
        counts.append({"label": st["label"], "start": st["start"], "end": st["end"], "true": len(st["reps"]),
                       "predicted": int(c), "segment_count": int(seg_c)})
    motion_only = []
    if gray is not None:
        for st in sets:
            reps = count_reps(gray, st["start"], st["end"], analysis.fps, st["label"], analysis.settings)
            motion_only.append({"true": len(st["reps"]), "predicted": len(reps)})
    rep_matches, _, _ = match_reps(list(truth_reps), analysis.reps(), 0.5)
    return {
        "video": analysis.video, "video_id": analysis.video_id, "frames": n,
        "labelled_frames": len(labelled), "correct_labelled": correct_lab, "correct_all": correct_all,
        "sets": len(sets), "segments": len(psegs), "matched_segments": len(matches),
        "true_reps": len(truth_reps), "predicted_reps": len(analysis.reps()), "matched_reps": len(rep_matches),
        "counts": counts, "motion_only": motion_only,
        "duration_s": analysis.duration_s, "seconds": analysis.timings.get("total", 0.0),
    }


def _count_scores(rows: list[dict]) -> dict:
    if not rows:
        return {"n": 0, "mae": None, "off_by_one": None, "exact": None}
    err = np.array([abs(r["predicted"] - r["true"]) for r in rows], np.float64)
    return {"n": len(rows), "mae": float(err.mean()), "off_by_one": float((err <= 1).mean()),
            "exact": float((err == 0).mean())}


def summarize(per_video: list[dict]) -> dict:
    """Pooled scores of several evaluated videos."""
    lab = sum(v["labelled_frames"] for v in per_video)
    frames = sum(v["frames"] for v in per_video)
    sets = sum(v["sets"] for v in per_video)
    segs = sum(v["segments"] for v in per_video)
    tp = sum(v["matched_segments"] for v in per_video)
    reps = sum(v["true_reps"] for v in per_video)
    preps = sum(v["predicted_reps"] for v in per_video)
    rtp = sum(v["matched_reps"] for v in per_video)
    dur = sum(v["duration_s"] for v in per_video)
    secs = sum(v["seconds"] for v in per_video)
    return {
        "videos": len(per_video),
        "frame_accuracy": sum(v["correct_labelled"] for v in per_video) / lab if lab else None,
        "frame_accuracy_all": sum(v["correct_all"] for v in per_video) / frames if frames else None,
        "segment_f1": 2 * tp / (sets + segs) if sets + segs else None,
        "segment_precision": tp / segs if segs else None,
        "segment_recall": tp / sets if sets else None,
        "count": _count_scores([c for v in per_video for c in v["counts"]]),
        "count_by_segment": _count_scores([{"true": c["true"], "predicted": c["segment_count"]}
                                           for v in per_video for c in v["counts"]]),
        "motion_only": _count_scores([c for v in per_video for c in v["motion_only"]]),
        "rep_f1": 2 * rtp / (reps + preps) if reps + preps else None,
        "realtime_factor": dur / secs if secs else None,
    }


def split_videos(ws, split: str) -> list[dict]:
    """Workspace videos assigned to `split` that have ground-truth reps."""
    from core.labeling.annotator import dataset_segments
    from core.dataset.splits import current_splits

    where = current_splits(ws.store())
    if not where:
        raise AnalyzeError("The workspace has no splits yet: make them on the Clips page "
                           "(python -m core splits make).")
    store = ws.store()
    have = {s["video_id"] for s in dataset_segments(store)}
    return [v for v in store.videos() if where.get(v["id"]) == split and v["id"] in have]


def evaluate_split(ws, model_ref, split: str = "test", settings: Settings | None = None,
                   progress: Progress | None = None, cancel=None, engine: str = "auto") -> dict:
    """Analyse every workout video of `split` and score it against its dataset reps."""
    from core.labeling.annotator import dataset_segments

    videos = split_videos(ws, split)
    if not videos:
        raise AnalyzeError(f"No videos with reps in the {split} split.")
    fn, row = load_runner(ws, model_ref, engine)
    settings = (settings or Settings()).for_model(row)
    frames0, size0, _, _ = _model_input(row, None)
    warm_up(fn, frames0, size0, settings)
    per_video = []
    for k, video in enumerate(videos):
        def prog(done, total, stage, k=k):
            if progress:
                progress(k * 1000 + int(1000 * done / max(1, total)), len(videos) * 1000,
                         f"video {video['id']} ({k + 1}/{len(videos)}): {stage}")
        frames, size, box, focus = _model_input(row, video)
        t0 = time.perf_counter()
        sc = scan(ws.absolute(video["path"]), fn, frames, size, box, settings, prog, cancel, focus=focus)
        result = analyze_scan(sc, row["labels"], settings, model=row["id"])
        _vote(result, ws.absolute(video["path"]), fn, frames, size, box, focus, settings, cancel)
        result.video_id = video["id"]
        result.run_id = row.get("run_id")
        result.timings["total"] = time.perf_counter() - t0
        truth = [{"label": s["label"], "start": s["start"], "end": s["end"]}
                 for s in dataset_segments(ws.store(), [video["id"]])]
        scores = evaluate_analysis(result, truth, sc.gray)
        scores["analysis"] = result.to_json()
        per_video.append(scores)
    out = {"model": row["id"], "split": split, "settings": settings.to_json(), **summarize(per_video),
           "per_video": per_video}
    return out


# ==============================================================================================
# 7. Key presses with and without a draft (model-assisted labelling)
# ==============================================================================================

def _arrow_keys(src: int, dst: int, big: int = 10) -> list[dict]:
    """The fewest ←/→ and Shift+←/→ presses from frame src to dst (overshooting with a big step
    and coming back is allowed when shorter)."""
    d = dst - src
    if d == 0:
        return []
    key = "ArrowRight" if d > 0 else "ArrowLeft"
    back = "ArrowLeft" if d > 0 else "ArrowRight"
    a = abs(d)
    q, r = divmod(a, big)
    if r and (q + 1) + (big - r) < q + r:
        return [{"key": key, "shift": True}] * (q + 1) + [{"key": back}] * (big - r)
    return [{"key": key, "shift": True}] * q + [{"key": key}] * r


class _Session:
    """Replays key events through the Label page's keymap (`core.labeling.keymap.apply_event`) and counts
    them: every key press and every mouse click is one action."""

    def __init__(self, store, video_id: int, annotator: str):
        from core.labeling.annotator import Annotator
        from core.labeling.keymap import new_state

        self.ann = Annotator(store, video_id, annotator)
        self.state = new_state()
        self.keys = 0
        self.clicks = 0
        self.errors: list[str] = []

    def press(self, event: dict) -> None:
        from core.labeling.keymap import apply_event

        ev = {"shift": False, "alt": False, "ctrl": False, "meta": False, **event}
        self.state = apply_event(self.ann, ev, self.state)
        if ev.get("type", "key") == "key":
            self.keys += 1
        else:
            self.clicks += 1
        if self.state.get("error"):
            self.errors.append(str(self.state.get("message")))

    def go(self, frame: int) -> None:
        for ev in _arrow_keys(self.state["frame"], int(frame)):
            self.press(ev)

    def choose(self, label: str) -> None:
        labels = self.ann.store.labels()
        if self.state.get("label") != label:
            self.press({"key": str(labels.index(label) + 1)})

    def click(self) -> None:
        """A click outside the keymap (a button on the page)."""
        self.clicks += 1

    @property
    def actions(self) -> int:
        return self.keys + self.clicks


def _label_reps(sess: _Session, reps: Sequence[dict]) -> None:
    """Mark `reps` from scratch with the keyboard: go to the start, pick the movement, S, go to the
    end, E - or Enter when the next rep starts on the following frame with the same movement
    (Enter ends this one and opens the next)."""
    reps = sorted(reps, key=lambda r: r["start"])
    for i, r in enumerate(reps):
        opened = sess.ann.open_rep
        if not (opened and opened["start"] == r["start"] and opened["label"] == r["label"]):
            sess.go(r["start"])
            sess.choose(r["label"])
            sess.press({"key": "s"})
        sess.go(r["end"])
        nxt = reps[i + 1] if i + 1 < len(reps) else None
        chain = nxt is not None and nxt["start"] == r["end"] + 1 and nxt["label"] == r["label"]
        sess.press({"key": "Enter" if chain else "e"})


def simulate_without_draft(store, video_id: int, truth: Sequence[dict], annotator: str = "sim-scratch") -> dict:
    """Key presses to label `truth` on a video from nothing (cursor at frame 0)."""
    sess = _Session(store, video_id, annotator)
    _label_reps(sess, truth)
    return _outcome(sess, truth)


def _scratch_cost(rep: dict, chained: bool = False) -> int:
    """Keys to mark one rep from scratch when the cursor is already at its start (S, arrows to the
    end, E/Enter); `chained`: it was opened by the previous rep's Enter (no S)."""
    return (0 if chained else 1) + len(_arrow_keys(rep["start"], rep["end"])) + 1


def _fix_cost(draft: dict, true: dict) -> int:
    """Keys to turn a selected draft rep (cursor on its start) into the true one: Alt+←/→ once per
    frame at each edge, Shift+→ past the middle before fixing the end."""
    ds, de = true["start"] - draft["start"], true["end"] - draft["end"]
    half = (true["end"] - true["start"]) / 2.0
    return abs(ds) + abs(de) + (int(math.ceil(half / 10.0)) if de else 0)


def simulate_with_draft(store, video_id: int, truth: Sequence[dict], draft_annotator_name: str,
                        annotator: str = "sim-draft", bulk: bool = False) -> dict:
    """Key presses (and clicks) to reach `truth` starting from a model's draft (annotator
    `draft_annotator_name`), for an annotator who goes through the video once, in time order, and
    takes a draft rep only where that is cheaper than marking the rep.

    The Label page has no accept *key*: with the draft shown beside your reps ("Show another
    annotator": one click, counted once) a draft rep is accepted by clicking it on the timeline
    and clicking "Copy to mine" - 2 clicks a rep. With `bulk=True` the whole draft is copied at
    once ("Copy the draft into my reps" on the Analyze page: 1 click) and the reps not wanted are
    deleted first (a click to select + Backspace each).

    A draft rep is usable when it matches a true rep of the same movement at IoU >= 0.5 (one to
    one; a wrong movement cannot be changed by a key). It is kept when fixing it costs less than
    marking that rep (`_fix_cost` vs `_scratch_cost`): once selected (copying selects it; Tab
    selects the next rep and puts the cursor on its start), Alt+←/→ nudge the edge nearer the
    cursor one frame at a time (the cursor follows the edge); Shift+→ passes the middle before
    the end is fixed. Every other true rep is marked as without a draft (arrows, movement key,
    S, E / Enter). Replayed through the Label page's keymap (`core.labeling.keymap.apply_event`); the run
    must end with exactly the true reps.
    """
    from core.labeling.agreement import match_reps

    truth = sorted(truth, key=lambda r: r["start"])
    drafts = store.segments(video_id, draft_annotator_name)
    matches, missing, false = match_reps(list(truth), [dict(d) for d in drafts], 0.5)
    by_true = {(m.a["start"], m.a["end"]): m.b for m in matches}
    sess = _Session(store, video_id, annotator)
    sess.click()  # show the draft beside my reps (sidebar select box)

    # the plan: which true reps come from the draft
    plan = []
    for i, t in enumerate(truth):
        d = by_true.get((t["start"], t["end"]))
        use = False
        if d is not None:
            copy_cost = 0 if bulk else 2
            delete_cost = 2 if bulk else 0  # a bulk-copied rep not kept must be deleted
            use = copy_cost + _fix_cost(d, t) < _scratch_cost(t) + delete_cost
            # a single copy that would overlap the rep before it (already in place) is refused
            if use and not bulk and i and d["start"] <= truth[i - 1]["end"]:
                use = False
        plan.append(d if use else None)
    kept = [d for d in plan if d is not None]

    mine: dict[str, str] = {}  # draft uuid -> my copy's uuid
    if bulk:
        sess.click()  # "Copy the draft into my reps" (Analyze page)
        mine = {d["uuid"]: sess.ann.accept_draft(d["uuid"])["uuid"] for d in drafts}
        keep_ids = {d["uuid"] for d in kept}
        for d in drafts:  # delete what is not kept: click it, Backspace
            if d["uuid"] not in keep_ids:
                sess.press({"type": "select", "uuid": mine[d["uuid"]]})
                sess.press({"key": "Backspace"})
        sess.state["selected"] = None

    def fix_start(uuid: str, target: int) -> None:
        rep = sess.ann.store.segment(uuid)
        if abs(sess.state["frame"] - rep["start"]) >= abs(sess.state["frame"] - rep["end"]):
            sess.go(rep["start"])
        d = target - rep["start"]
        for _ in range(abs(d)):
            sess.press({"key": "ArrowRight" if d > 0 else "ArrowLeft", "alt": True})

    def fix_end(uuid: str, target: int) -> None:
        rep = sess.ann.store.segment(uuid)
        d = target - rep["end"]
        if not d:
            return
        mid = (rep["start"] + rep["end"]) / 2.0
        while sess.state["frame"] < mid:  # the end is nudged once the cursor is nearer it
            sess.press({"key": "ArrowRight", "shift": True})
        for _ in range(abs(d)):
            sess.press({"key": "ArrowRight" if d > 0 else "ArrowLeft", "alt": True})

    def make_room(j: int) -> None:
        """Bulk: when the copy of the rep after true rep j starts inside rep j, move its start
        first (click it, nudge), so rep j can be completed."""
        if not bulk or j + 1 >= len(truth) or plan[j + 1] is None:
            return
        nxt = mine[plan[j + 1]["uuid"]]
        if sess.ann.store.segment(nxt)["start"] <= truth[j]["end"]:
            sess.press({"type": "select", "uuid": nxt})
            fix_start(nxt, truth[j + 1]["start"])
            sess.state["selected"] = None

    i = 0
    while i < len(truth):
        t, d = truth[i], plan[i]
        if d is None:  # mark by hand, chaining with Enter through the following hand-marked reps
            j = i
            while j + 1 < len(truth) and plan[j + 1] is None:
                j += 1
            make_room(j)
            sess.state["selected"] = None
            _label_reps(sess, truth[i:j + 1])
            i = j + 1
            continue
        if bulk:
            uuid = mine[d["uuid"]]
            now_at = sess.ann.store.segment(uuid)
            if (now_at["start"], now_at["end"]) == (t["start"], t["end"]):
                i += 1
                continue  # nothing to fix
            if sess.state.get("selected") != uuid:
                _select(sess, uuid)
        else:
            sess.press({"type": "select", "uuid": d["uuid"]})  # click the draft rep
            sess.click()  # "Copy to mine"
            uuid = sess.ann.accept_draft(d["uuid"])["uuid"]
            sess.state["selected"] = uuid
        fix_start(uuid, t["start"])
        if bulk and t["end"] > sess.ann.store.segment(uuid)["end"]:  # growing: room first
            make_room(i)
            if sess.state.get("selected") != uuid:  # and back to this rep (a click)
                sess.press({"type": "select", "uuid": uuid})
        fix_end(uuid, t["end"])
        i += 1
    sess.state["selected"] = None
    out = _outcome(sess, truth)
    out.update(usable=len(matches), kept=len(kept), not_kept=len(drafts) - len(kept),
               marked_by_hand=len(truth) - len(kept), bulk=bulk)
    return out


def _select(sess: _Session, uuid: str) -> None:
    """Select my rep `uuid` the cheapest way: Tab when it is the next rep (Tab also puts the
    cursor on its start), else a click on it (the cursor stays; it is moved to the start with
    arrows when the end is nearer, so Alt+←/→ act on the start)."""
    mine = [r["uuid"] for r in sess.ann.reps()]
    cur = sess.state.get("selected")
    nxt = mine[mine.index(cur) + 1] if cur in mine and mine.index(cur) + 1 < len(mine) else None
    if cur is None:
        nxt = next((r["uuid"] for r in sess.ann.reps() if r["start"] >= sess.state["frame"]), None)
    if nxt == uuid:
        sess.press({"key": "Tab"})
    else:
        sess.press({"type": "select", "uuid": uuid})
        rep = sess.ann.store.segment(uuid)
        if abs(sess.state["frame"] - rep["start"]) >= abs(sess.state["frame"] - rep["end"]):
            sess.go(rep["start"])
    if sess.state.get("selected") != uuid:
        raise AnalyzeError("key-press simulation: could not select a rep")


def _outcome(sess: _Session, truth: Sequence[dict]) -> dict:
    got = sorted((r["label"], r["start"], r["end"]) for r in sess.ann.reps())
    want = sorted((r["label"], int(r["start"]), int(r["end"])) for r in truth)
    return {"keys": sess.keys, "clicks": sess.clicks, "actions": sess.actions, "reps": len(want),
            "exact": got == want, "errors": sess.errors[:5]}


def keypress_study(ws, video_ids: Sequence[int] | None = None, model_ref=None, truth_annotator: str = "ground-truth",
                   draft: str | None = None, settings: Settings | None = None, progress: Progress | None = None) -> dict:
    """Key presses to label workspace videos from scratch vs from a model draft.

    For each video: the truth is `truth_annotator`'s reps; the draft is `draft` (an annotator name,
    e.g. model:<run_id>) or, with `model_ref`, made now by analysing the video and stored as that
    model's draft. The simulations run on a scratch copy of the database, so the workspace only
    gains the draft. Returns per video and total counts.
    """
    import shutil
    import tempfile

    from core.base.store import Store

    store = ws.store()
    if video_ids is None:
        video_ids = sorted({s["video_id"] for s in store.segments(annotator=truth_annotator)})
    rows = []
    for k, vid in enumerate(video_ids):
        truth = [{"label": s["label"], "start": s["start"], "end": s["end"]}
                 for s in store.segments(int(vid), truth_annotator)]
        if not truth:
            continue
        name = draft
        if model_ref is not None:
            result = analyze_video(ws, model_ref, int(vid), settings,
                                   progress=(lambda d, t, s, k=k: progress(k, len(video_ids), s)) if progress else None)
            name, _ = send_draft(ws, result)
        if not name:
            raise AnalyzeError("keypress_study needs a draft annotator or a model to make one.")
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "workspace.db"
            with store.read() as con:  # a consistent copy of the WAL database
                dst = __import__("sqlite3").connect(db)
                con.backup(dst)
                dst.close()
            scratch = Store(db)
            without = simulate_without_draft(scratch, int(vid), truth)
            per_rep = simulate_with_draft(scratch, int(vid), truth, name, annotator="sim-draft-clicks")
            bulk = simulate_with_draft(scratch, int(vid), truth, name, annotator="sim-draft-bulk", bulk=True)
            shutil.rmtree(tmp, ignore_errors=True)
        rows.append({"video_id": int(vid), "draft": name, "reps": len(truth), "without_draft": without,
                     "with_draft": per_rep, "with_draft_bulk": bulk})
    total = {key: sum(r[key]["actions"] for r in rows) for key in ("without_draft", "with_draft", "with_draft_bulk")}
    total["reps"] = sum(r["reps"] for r in rows)
    return {"videos": rows, "total": total}


# ==============================================================================================
# 8. Command line
# ==============================================================================================

def _print_progress(done: int, total: int, stage: str) -> None:
    frac = done / total if total else 1.0
    print(f"\r{stage}: {frac * 100:5.1f}%", end="" if done < total else "\n", file=sys.stderr, flush=True)


def _resolve_video_arg(ws, arg: str) -> tuple[Path, dict | None]:
    """A workspace video id or a file path -> (path, video row or None)."""
    store = ws.store()
    if str(arg).isdigit():
        video = store.video(int(arg))
        if video is None:
            raise AnalyzeError(f"No video {arg} in the workspace.")
        return ws.absolute(video["path"]), video
    p = Path(arg).expanduser()
    rel = ws.relative(p)
    match = next((v for v in store.videos() if v["path"] == rel), None)
    return p, match


def format_analysis(a: Analysis) -> str:
    lines = [f"{Path(a.video).name}: {a.frames} frames at {a.fps:g} fps ({a.duration_s:.1f} s), model {a.model}, "
             f"analysed in {a.timings.get('total', 0):.1f} s ({a.realtime_factor:.1f}x real time)"]
    for s in a.segments:
        t0, t1 = s["start_frame"] / a.fps, (s["end_frame"] + 1) / a.fps
        lines.append(f"  {t0:7.1f}-{t1:7.1f} s  frames {s['start_frame']:>6}-{s['end_frame']:<6} "
                     f"{s['movement']:<18} {s['count']:>3} reps  (confidence {s['confidence']:.2f})")
    lines.append("  counts: " + (", ".join(f"{m} {c}" for m, c in a.counts().items()) or "no movement found"))
    return "\n".join(lines)


def cmd_analyze(args) -> int:
    from core.base.workspace import Workspace

    ws = Workspace(args.workspace)
    words = list(args.args)
    if words and words[0] == "keypress-study":
        return _cmd_keypress(ws, args, words[1:])
    draft = bool(args.draft)
    if words and words[0] == "draft":
        draft, words = True, words[1:]
    if len(words) != 2:
        raise AnalyzeError("usage: analyze MODEL VIDEO [--json] [--draft] | analyze draft MODEL VIDEO_ID | "
                           "analyze keypress-study [--model MODEL | --draft-annotator NAME] [--video ID ...]")
    model_ref, video_arg = words
    path, video = _resolve_video_arg(ws, video_arg)
    settings = Settings.from_json(json.loads(args.settings)) if args.settings else Settings()
    progress = None if args.quiet else _print_progress
    result = analyze_file(ws, model_ref, path, settings, progress, engine=args.engine, video=video)
    if video is not None:
        result.video_id = int(video["id"])
    sent = None
    if draft:
        if video is None:
            raise AnalyzeError(f"{video_arg} is not a workspace video: add it first to get a draft.")
        annotator, keys = send_draft(ws, result)
        sent = {"annotator": annotator, "reps": len(keys), "video_id": result.video_id}
    if args.json:
        out = result.to_json(probabilities=args.probabilities)
        if sent:
            out["draft"] = sent
        print(json.dumps(out, indent=2))
    else:
        print(format_analysis(result))
        if sent:
            print(f"  draft: {sent['reps']} reps stored as {sent['annotator']} on video {sent['video_id']} "
                  "(Label page: show that annotator beside yours, select a rep, Copy to mine)")
    return 0


def _cmd_keypress(ws, args, rest) -> int:
    if rest:
        raise AnalyzeError(f"unexpected arguments after keypress-study: {' '.join(rest)}")
    if not args.model and not args.draft_annotator:
        raise AnalyzeError("keypress-study needs --model MODEL (analyse and draft now) or "
                           "--draft-annotator model:<run_id> (an existing draft).")
    res = keypress_study(ws, args.video or None, model_ref=args.model, draft=args.draft_annotator)
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        for r in res["videos"]:
            w, d, b = r["without_draft"], r["with_draft"], r["with_draft_bulk"]
            print(f"video {r['video_id']}: {r['reps']} reps — without draft {w['actions']} actions "
                  f"({w['keys']} keys); with draft {d['actions']} ({d['keys']} keys + {d['clicks']} clicks; "
                  f"{d['kept']} kept, {d['marked_by_hand']} marked by hand); bulk copy {b['actions']} "
                  f"({b['keys']} keys + {b['clicks']} clicks)")
        t = res["total"]
        print(f"total over {t['reps']} reps: without draft {t['without_draft']}, with draft {t['with_draft']} "
              f"(per-rep copy) / {t['with_draft_bulk']} (bulk copy)")
    return 0


def format_eval(rep: dict) -> str:
    pct = lambda v: "—" if v is None else f"{v * 100:.1f}%"  # noqa: E731
    c, m = rep["count"], rep["motion_only"]
    lines = [
        f"model {rep['model']} on the {rep['split']} split ({rep['videos']} videos)",
        f"  frame accuracy (labelled frames) {pct(rep['frame_accuracy'])}; all frames with none "
        f"{pct(rep['frame_accuracy_all'])}",
        f"  segment F1 @ IoU 0.5 {pct(rep['segment_f1'])} (precision {pct(rep['segment_precision'])}, "
        f"recall {pct(rep['segment_recall'])})",
        f"  rep count over {c['n']} sets: MAE {c['mae'] if c['mae'] is None else round(c['mae'], 2)}, "
        f"off-by-one {pct(c['off_by_one'])}, exact {pct(c['exact'])}",
        f"  motion counter alone on the true sets: MAE {m['mae'] if m['mae'] is None else round(m['mae'], 2)}, "
        f"off-by-one {pct(m['off_by_one'])}, exact {pct(m['exact'])}",
        f"  rep F1 @ IoU 0.5 {pct(rep['rep_f1'])}; speed {rep['realtime_factor'] or 0:.1f}x real time",
    ]
    return "\n".join(lines)


def cmd_analyze_eval(args) -> int:
    from core.base.workspace import Workspace

    ws = Workspace(args.workspace)
    settings = Settings.from_json(json.loads(args.settings)) if args.settings else Settings()
    rep = evaluate_split(ws, args.model, args.split, settings, None if args.quiet else _print_progress,
                         engine=args.engine)
    if args.json:
        if not args.full:
            for v in rep["per_video"]:
                v.pop("analysis", None)
        print(json.dumps(rep, indent=2))
    else:
        print(format_eval(rep))
    return 0


def add_cli(sub, common) -> None:
    """Register `analyze` and `analyze-eval` on core/__main__.py's subparsers."""
    p = sub.add_parser(
        "analyze", parents=[common],
        help="whole-workout analysis: movement timeline, rep counts, drafts, key-press study",
        description="analyze MODEL VIDEO [--json] [--draft]  |  analyze draft MODEL VIDEO_ID  |  "
                    "analyze keypress-study (--model MODEL | --draft-annotator NAME) [--video ID ...]. "
                    "VIDEO is a file or a workspace video id.")
    p.add_argument("args", nargs="+", metavar="ARG", help="MODEL VIDEO, or draft MODEL VIDEO_ID, or keypress-study")
    p.add_argument("--json", action="store_true", help="print the analysis as JSON")
    p.add_argument("--draft", action="store_true", help="also store the reps as the model's draft (workspace video)")
    p.add_argument("--probabilities", action="store_true", help="with --json: include the window probabilities")
    p.add_argument("--engine", default="auto", help="auto (fast exact CPU path), fast, reference, tflite")
    p.add_argument("--settings", help='JSON of analysis settings, e.g. \'{"stride_s": 0.25}\'')
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--model", help="keypress-study: analyse with this model and store its draft first")
    p.add_argument("--draft-annotator", help="keypress-study: use this existing draft (model:<run_id>)")
    p.add_argument("--video", type=int, action="append", help="keypress-study: only this video (repeatable)")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("analyze-eval", parents=[common],
                       help="score the analysis on the workout videos of a split (frame accuracy, segment F1, rep counts)")
    p.add_argument("model", metavar="MODEL", help="a registered model id or run id")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--json", action="store_true")
    p.add_argument("--full", action="store_true", help="with --json: include each video's analysis")
    p.add_argument("--engine", default="auto")
    p.add_argument("--settings", help="JSON of analysis settings")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_analyze_eval)
