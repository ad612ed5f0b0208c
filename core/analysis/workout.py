"""Whole-workout analysis (`analyze_file`, `analyze_video`; the CLI and the Analyze page call these):
one scan of the video (core.analysis.scan), movement segments (core.analysis.segments), reps per
segment (core.analysis.reps), optionally each segment re-named by classifying its reps as
training clips (`vote_reps`), and the result as an `Analysis` (timeline, sets, counts)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from core.analysis.pose_workout import analyze_pose
from core.analysis.reps import count_reps
from core.analysis.scan import Scan, frame_probabilities, scan
from core.analysis.segments import segment_probs
from core.analysis.settings import AnalyzeError, Settings
from core.base.progress import Progress, check_cancel
from core.dataset.windows import (  # NONE: the class of rests, transitions and unlabelled frames
    NONE,
)

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
    pose: dict | None = None            # a pose model's analysis: the pose track's summary (+ "message")

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

    def movement_summary(self) -> list[dict]:
        """Per movement: reps, segments and seconds (the Analyze page's table)."""
        return [{"movement": m, "reps": c,
                 "segments": sum(1 for s in self.segments if s["movement"] == m),
                 "seconds": round(sum(s["end_frame"] - s["start_frame"] + 1 for s in self.segments
                                      if s["movement"] == m) / (self.fps or 30.0), 1)}
                for m, c in self.counts().items()]

    def reps(self) -> list[dict]:
        """Every predicted rep as {label, start, end} (the draft's rows), by start; a judged rep (pose
        model) also has extra {"valid", "reason"}."""
        out = []
        for s in self.segments:
            judged = s.get("judged") or [None] * len(s["reps"])
            for (a, b), j in zip(s["reps"], judged):
                r = {"label": s["movement"], "start": int(a), "end": int(b)}
                if j is not None:
                    r["extra"] = {"valid": bool(j["valid"]), "reason": j.get("reason", "")}
                out.append(r)
        return sorted(out, key=lambda r: r["start"])

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
        if self.pose is not None:
            d["pose"] = self.pose
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
                  cancel=None, track=None) -> np.ndarray:
    """Probabilities [len(reps), classes] of each rep (start, end) read exactly as a training clip:
    `sample_indices` over the rep and THE preprocessing (crop, focus; the athlete focus' box from
    `track`, the video's pose track). Batches of `batch` (padded, so a traced model keeps one input
    shape)."""
    from core.media.video import VideoReader, preprocess, sample_indices
    from core.pose.focus import athlete_box

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
            check_cancel(cancel, "The analysis")
            pending.append(preprocess([reader.frame(i) for i in sample_indices(a, b, int(clip_frames))],
                                      size, crop, focus, athlete_box(track, a, b) if focus == "athlete" else None))
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


def vote_segments(result: "Analysis", path, predict, clip_frames, size, crop, focus, settings: Settings, cancel=None,
                  track=None):
    """Apply `vote_reps` to an analysis in place (when `votes(settings, labels)`), timing it."""
    if not votes(settings, result.labels) or not result.segments:
        return result
    t0 = time.perf_counter()
    reps = [r for s in sorted(result.segments, key=lambda s: s["start_frame"]) for r in s["reps"]]
    probs = classify_reps(path, predict, clip_frames, size, crop, focus, reps, settings.batch, cancel, track)
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


def is_pose(row: dict) -> bool:
    """A pose model (kind "pose" in the registry, or a pose model folder)."""
    from core.inference.loader import model_kind

    return row.get("kind") == "pose" or (bool(row.get("folder")) and model_kind(row["folder"]) == "pose")


def load_runner(ws, model_ref, engine: str = "auto"):
    """(predict callable, model row) of a registered model id / run id / exported folder."""
    from core.inference.predictor import PredictError, default_predictor

    try:
        fn, _name, entry = default_predictor().runner(ws, model_ref, engine)
    except PredictError as exc:
        raise AnalyzeError(str(exc)) from exc
    return fn, entry.row


def model_input(row: dict, video: dict | None) -> tuple[int, tuple[int, int], object, str | None]:
    """(frames, (h, w), crop box or None, focus) as `core.inference.predictor` feeds this model a workspace
    video / a file."""
    from core.modeling.registry import model_box
    from core.modeling import registry

    frames, size, crop_flag = registry.preprocessing(row)
    box = None
    if video is not None and crop_flag:
        from core.dataset.clips import normalise_box

        box = normalise_box(video.get("roi"), video["width"], video["height"])
    if box is None:
        box = model_box(row)
    return frames, size, box, registry.focus(row)


def athlete_track(ws, focus: str | None, path, video: dict | None = None, progress: Progress | None = None,
                  cancel=None):
    """The pose track a model with focus "athlete" crops by (a workspace video's stored track, else the
    file's, cached by content; computed when missing), None for other focuses."""
    if focus != "athlete":
        return None
    from core.base.errors import Cancelled, WorkbenchError
    from core.pose.focus import focus_track

    def prog(done, total, text):
        if progress:
            progress(done, total, f"pose track: {text}")

    try:
        return focus_track(ws, video_id=(video or {}).get("id"), path=path, progress=prog, cancel=cancel)
    except Cancelled:
        raise
    except WorkbenchError as exc:
        raise AnalyzeError(f"The model crops to the athlete's pose, and the pose track failed: {exc}") from exc


def analyze_file(ws, model_ref, path, settings: Settings | None = None, progress: Progress | None = None,
                 cancel=None, engine: str = "auto", video: dict | None = None) -> Analysis:
    """Analyse a video file with a registered model (id, run id, row or exported folder)."""
    t0 = time.perf_counter()
    fn, row = load_runner(ws, model_ref, engine)
    if is_pose(row):  # the pose track, not pixels (core.analysis.pose_workout)
        t1 = time.perf_counter()
        result = Analysis(**analyze_pose(ws, row, fn, path, settings, progress, cancel, video=video))
        result.run_id = row.get("run_id")
        result.timings["load_model"] = t1 - t0
        return result
    settings = (settings or Settings()).for_model(row)
    frames, size, box, focus = model_input(row, video)
    t1 = time.perf_counter()
    warm_up(fn, frames, size, settings)
    t2 = time.perf_counter()
    track = athlete_track(ws, focus, path, video, progress, cancel)
    t3 = time.perf_counter()
    sc = scan(path, fn, frames, size, box, settings, progress, cancel, focus=focus, track=track)
    result = analyze_scan(sc, row["labels"], settings, model=row["id"])
    if progress and votes(settings, row["labels"]):
        progress(sc.frames, sc.frames, "classifying the reps")
    vote_segments(result, path, fn, frames, size, box, focus, settings, cancel, track)
    result.run_id = row.get("run_id")
    result.timings["load_model"] = t1 - t0
    result.timings["warm_up"] = t2 - t1
    if track is not None:
        result.timings["pose_track"] = t3 - t2
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
