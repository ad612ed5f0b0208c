"""Prediction with a pose model (kind "pose", `core.modeling.pose_model`): a video's frame range →
the athlete's pose track (`core.pose`) → movement probabilities, plus the reps of that movement, each
judged valid or no-rep (`core.pose.reps.judge_range`).

How a range is classified (`classify_track`):

- up to `CLIP_MAX_S` (4 s, the longest window the model was trained on): the range as one clip;
- longer: windows of `WINDOW_SPANS_S` (1.5 s and 3 s) every `STRIDE_S` (0.5 s), as the analyser
  slides them (`window_ranges`, `window_probs`); the range's probabilities are the windows' mean.

The result has the Predictor's shape (`core.inference.predictor`):

    {"model", "engine": "pose", "top": [{"movement", "probability"}, ...k], "probabilities": {...},
     "timings_ms": {"pose", "model", "reps", "total"}, "range": [start, end], "frames_used": [...],
     "movement": top movement or "none", "confidence": its probability,
     "low_confidence": bool, "message": what a user should know ("" when nothing),
     "pose": {"frames_sampled", "share_with_pose", "status", "jitter", ...},
     "reps": {"count", "valid", "no_reps", "partial", "reps": [{"start", "end", "valid", "reason",
              "partial", "checks"}], "note"} | None}

Clear answers on bad input: no athlete → movement "none", probabilities all on none,
low_confidence, message "no athlete found"; "none" is the movement only when it has at least
`NONE_MAJORITY` of the probability, else the likeliest of the nine (`decide`); "none" or a
probability under `LOW_CONFIDENCE`, or a skeleton that jumps faster than a body moves (`MAX_POSE_JITTER`:
random joints, a track hopping between people) → low_confidence and a message; a rep cut by the range's end → "partial" (counted,
marked); "none" → no rep count (reps None, with a note).
"""
from __future__ import annotations

import time

import numpy as np

from core.base.errors import InferenceError
from core.pose import store as pose_store
from core.pose.landmarks import INDEX, torso_length
from core.pose.reps import judge_range
from core.pose.track import compute_track

__all__ = ["CLIP_MAX_S", "WINDOW_SPANS_S", "STRIDE_S", "LOW_CONFIDENCE", "MIN_POSE_SHARE", "MAX_POSE_JITTER", "NONE",
           "NONE_MAJORITY", "pose_jitter",
           "decide",
           "track_arrays", "track_of", "window_ranges", "window_probs", "classify_track",
           "predict_track", "predict_pose_file"]

NONE = "none"
CLIP_MAX_S = 4.0
WINDOW_SPANS_S = (1.5, 3.0)
STRIDE_S = 0.5
LOW_CONFIDENCE = 0.5      # a top probability under this is marked low confidence
NONE_MAJORITY = 0.5       # "none" is the answer only with at least this probability (`decide`)
MIN_POSE_SHARE = 0.3      # under this share of sampled frames with a pose: "no athlete found"
# body-relative joint speed (torso lengths per second, the median frame step's median joint) above which the
# skeleton is no one person moving: the most seen on real and synthetic tracks is ~4 (real demonstration
# burpees, synthetic fast sets), random joints read ~25
MAX_POSE_JITTER = 12.0

# ----------------------------------------------------------------------------------------------
# tracks
# ----------------------------------------------------------------------------------------------
def track_arrays(track) -> dict:
    """A PoseTrack (or a dict of its arrays) as the arrays dict the pose model and judge read."""
    return track if isinstance(track, dict) else track.arrays()


def track_of(path, *, start: int | None = None, end: int | None = None, progress=None, cancel=None,
             ws=None, video_id: int | None = None):
    """The athlete's pose track of a video file's frames start..end; of a workspace video (`ws` and
    `video_id` given) its stored track, computed when missing."""
    if ws is not None and video_id is not None:
        return pose_store.ensure_track(ws, int(video_id), progress=progress, cancel=cancel)
    return compute_track(path, start=0 if start is None else int(start), end=end, progress=progress,
                         cancel=cancel)


def pose_summary(arrays: dict, start: int | None = None, end: int | None = None, fps: float = 30.0) -> dict:
    frames = np.asarray(arrays["frames"])
    sel = np.ones(len(frames), bool)
    if start is not None:
        sel &= frames >= start
    if end is not None:
        sel &= frames <= end
    xy = np.asarray(arrays["xy"])[sel]
    score = np.asarray(arrays.get("score", np.ones(len(frames))))[sel]
    has = np.isfinite(xy).all(axis=(1, 2)) & (np.nan_to_num(score) > 0)
    share = float(has.mean()) if len(has) else 0.0
    status = "no pose" if not has.any() else ("ok" if share >= 0.5 else "partial")
    return {"frames_sampled": int(len(has)), "frames_with_pose": int(has.sum()), "share_with_pose": round(share, 4),
            "status": status, "jitter": round(pose_jitter(frames[sel][has], xy[has], fps), 3)}


def pose_jitter(frames, xy, fps: float) -> float:
    """How fast the joints move relative to the hips, in torso lengths per second: the median over the steps
    between sampled frames of the median joint's move (0 with fewer than 3 poses)."""
    if len(frames) < 3:
        return 0.0
    P = np.asarray(xy, np.float64)
    hip = P[:, [INDEX["left_hip"], INDEX["right_hip"]]].mean(axis=1)
    step = np.linalg.norm(np.diff((P - hip[:, None]) / torso_length(P), axis=0), axis=-1)
    dt = np.maximum(np.diff(np.asarray(frames, np.float64)), 1.0) / (fps or 30.0)
    return float(np.median(np.median(step, axis=1) / dt))


# ----------------------------------------------------------------------------------------------
# classification
# ----------------------------------------------------------------------------------------------
def window_ranges(first: int, last: int, fps: float, spans_s=WINDOW_SPANS_S, stride_s: float = STRIDE_S):
    """[(start, end)] windows of each span every stride over frames first..last (inclusive); a span
    longer than the range gives one window over the whole range."""
    fps = fps or 30.0
    stride = max(1, int(round(stride_s * fps)))
    out = []
    n = last - first + 1
    for span_s in spans_s:
        L = max(2, int(round(span_s * fps)))
        if L >= n:
            out.append((first, last))
            continue
        starts = list(range(first, last - L + 2, stride))
        if starts[-1] + L - 1 < last:
            starts.append(last - L + 1)
        out += [(a, a + L - 1) for a in starts]
    return sorted(set(out))


def window_probs(model, arrays: dict, ranges, fps: float) -> np.ndarray:
    from core.modeling.pose_model import predict_clips

    return predict_clips(model, arrays, list(ranges), fps=fps or 30.0)


def classify_track(model, arrays: dict, start: int, end: int, fps: float) -> tuple[np.ndarray, list]:
    """(probabilities [classes] of frames start..end, the (start, end) clips that were classified)."""
    fps = fps or 30.0
    if (end - start + 1) / fps <= CLIP_MAX_S:
        ranges = [(int(start), int(end))]
    else:
        ranges = window_ranges(int(start), int(end), fps)
    p = window_probs(model, arrays, ranges, fps)
    return p.mean(axis=0), ranges


def decide(probs, none: int | None) -> int:
    """The answer's class: "none" only when it holds at least NONE_MAJORITY of the probability (it says
    that none of the nine is there); else the likeliest of the nine, which a low probability marks as
    low confidence. A judge gains more from "thruster, low confidence" than from a "none" that the model
    itself does not believe."""
    probs = np.asarray(probs, np.float64)
    if none is None or probs[none] >= NONE_MAJORITY:
        return int(np.argmax(probs))
    return int(np.argmax(np.where(np.arange(len(probs)) == none, -np.inf, probs)))


def predict_track(model, labels, arrays: dict, start: int, end: int, fps: float, topk: int = 5,
                  reps: bool = True) -> dict:
    """Top-k, flags and (with a judge installed and `reps`) the judged reps of frames start..end of a
    pose track (arrays dict). Timings in ms under "timings_ms" ("model", "reps")."""
    labels = list(labels)
    k = max(1, min(int(topk), len(labels)))
    t0 = time.perf_counter()
    ps = pose_summary(arrays, start, end, fps)
    none = labels.index(NONE) if NONE in labels else None
    message = ""
    if ps["share_with_pose"] < MIN_POSE_SHARE:
        probs = np.zeros(len(labels))
        if none is not None:
            probs[none] = 1.0
        else:
            probs[:] = 1.0 / len(labels)
        message = ("no athlete found" if ps["frames_with_pose"] == 0 else
                   f"no athlete found in most frames (a pose in {ps['share_with_pose']:.0%} of them)")
        ranges = []
    else:
        probs, ranges = classify_track(model, arrays, start, end, fps)
        probs = np.asarray(probs, np.float64)
    t1 = time.perf_counter()
    order = np.argsort(-probs, kind="stable")[:k]
    top_i = decide(probs, none)
    movement = labels[top_i]
    confidence = float(probs[top_i])
    low = bool(message) or movement == NONE or confidence < LOW_CONFIDENCE
    if not message and ps["jitter"] > MAX_POSE_JITTER:
        low = True
        message = (f"the skeleton jumps from frame to frame ({ps['jitter']:.0f} torso lengths a second): "
                   "no one clear person, so no confident answer")
    elif not message and movement == NONE:
        message = "none of the nine movements (or no clear one)"
    elif not message and confidence < LOW_CONFIDENCE:
        message = f"low confidence: {movement} at {confidence:.0%}"
    rep_out = None
    if reps and movement != NONE and not (message and ps["share_with_pose"] < MIN_POSE_SHARE):
        try:
            rep_out = judge_range(arrays, movement, int(start), int(end), fps)
        except InferenceError:
            raise
        except Exception as exc:  # noqa: BLE001 - a count that cannot be made is said, not raised
            rep_out = {"count": 0, "valid": 0, "no_reps": 0, "partial": 0, "reps": [],
                       "note": f"reps could not be counted: {exc}"}
    elif reps and movement == NONE:
        rep_out = {"count": 0, "valid": 0, "no_reps": 0, "partial": 0, "reps": [],
                   "note": "no rep count: " + (message or "no movement")}
    t2 = time.perf_counter()
    return {
        "top": [{"movement": labels[c], "probability": float(probs[c])} for c in order],
        "probabilities": {labels[c]: float(probs[c]) for c in range(len(labels))},
        "movement": movement, "confidence": round(confidence, 4), "low_confidence": low, "message": message,
        "pose": ps, "reps": rep_out, "windows": len(ranges),
        "timings_ms": {"model": (t1 - t0) * 1000.0, "reps": (t2 - t1) * 1000.0},
    }


def people_warning(others_moving: int) -> str:
    """What to say when other people moved about as much as the athlete the track follows."""
    if others_moving <= 0:
        return ""
    who = "Another person" if others_moving == 1 else f"{others_moving} other people"
    return (f"{who} moved about as much as the athlete: the answer is for the person the skeleton shows, "
            "who may not be the athlete meant (on a workspace video, pick the athlete on the Label page)")


def people_note(track) -> dict:
    """{"others_moving", "warning"} of a pose track (a PoseTrack or a dict of its fields): the part of a
    prediction's or an analysis' "pose" summary that says who else moved."""
    n = int((track.get("others_moving") if isinstance(track, dict) else getattr(track, "others_moving", 0)) or 0)
    return {"others_moving": n, "warning": people_warning(n)}


def predict_pose_file(entry, path, *, start: int | None = None, end: int | None = None, topk: int = 5,
                      ws=None, video_id: int | None = None, progress=None, cancel=None, track=None) -> dict:
    """A loaded pose model (`core.inference.loader.LoadedModel` of kind "pose") on frames start..end of
    a video file: its pose track (computed, or `track` given), then `predict_track`."""
    t0 = time.perf_counter()
    if track is None:
        track = track_of(path, start=start, end=end, progress=progress, cancel=cancel, ws=ws, video_id=video_id)
    t1 = time.perf_counter()
    arrays = track_arrays(track)
    frames = np.asarray(arrays["frames"])
    if not len(frames):
        raise InferenceError(f"{path}: no frames to read in the range [{start}, {end}].")
    a = int(frames[0]) if start is None else int(start)
    b = int(frames[-1]) if end is None else int(end)
    fps = float(getattr(track, "fps", 30.0) or 30.0)
    with entry.lock:
        out = predict_track(entry.loaded, entry.row["labels"], arrays, a, b, fps, topk)
    t = out.pop("timings_ms")
    sel = (frames >= a) & (frames <= b)
    out["pose"].update(people_note(track))
    return {"model": entry.row["id"], "engine": "pose", **out,
            "timings_ms": {"decode": 0.0, "preprocess": 0.0, "pose": (t1 - t0) * 1000.0, "model": t["model"],
                           "reps": t["reps"], "total": (time.perf_counter() - t0) * 1000.0},
            "frames_used": [int(f) for f in frames[sel]], "range": [a, b], "fps": fps}
