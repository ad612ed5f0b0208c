"""Whole-workout analysis with a pose model (kind "pose"): the video's pose track → windows → the pose
model's probabilities per window → the Viterbi segments of `core.analysis.segments` (the model's own
none class) → the reps of each segment counted on the body signal (`core.pose.reps.count_reps`,
each with its start and end frame) → each rep judged valid / no-rep with its reason
(`judge_reps`). `core.analysis.workout.analyze_file` / `analyze_video` route a pose model here and
build the same `Analysis` the Analyze page, `analyze-eval` and the drafts read; each segment also has
"judged" ([{"start", "end", "valid", "reason", "partial", "checks"}], one per rep in "reps"), "valid",
"no_reps", "partial" (how many partial reps), "partial_reps" (those reps, kept out of "reps", the count
and the draft), "low_confidence" and "summary", and the analysis a "pose" summary of the track.

Windows: spans `settings.scales` when given, else `core.inference.pose_predict.WINDOW_SPANS_S`
(1.5 s and 3 s), every `settings.stride_s`; reps are looked for `settings.margin_s` beyond a
segment's ends; a segment without reps becomes none (`drop_repless`); `fit_to_reps` trims it to its
reps.

Partial reps: a rep whose expected extent (its extreme ± the set's rep period at the movement's phase,
`pose_reps.REP_SIGNALS`) reaches more than a quarter period beyond the first or last frame of the
video (or of the clip given to Predict) is marked ``partial``, never valid ("partial rep: cut by the end of
the video") and counted apart: `count` is the complete reps ("7 reps: 7 valid (+1 partial)"; a clip
holding only a cut rep: "1 rep, partial").

Importing this module installs `judge_range` as the rep judge of `core.inference.pose_predict`
(Predict's reps: that layer cannot import this one).

API::

    judge_range(track_arrays, movement, start, end, fps, limits=None) -> {"count" (complete reps), "valid",
        "no_reps", "partial", "reps": [every rep, partial ones marked], "note", "summary"}
    pose_analysis(model, labels, track, settings=None, video="", model_id=None, progress=None,
                  cancel=None) -> dict of `Analysis` fields
    analyze_pose(ws, row, model, path, settings=None, progress=None, cancel=None, video=None,
                 track=None) -> dict of `Analysis` fields (the track computed / read first)
"""
from __future__ import annotations

import time

import numpy as np

from core.analysis.scan import frame_probabilities
from core.analysis.segments import segment_probs
from core.analysis.settings import AnalyzeError, Settings
from core.base.progress import check_cancel, report
from core.inference import pose_predict as pp
from core.pose.reps import judge_range, rep_text

__all__ = ["pose_analysis", "analyze_pose"]




# ----------------------------------------------------------------------------------------------
# whole workouts
# ----------------------------------------------------------------------------------------------
def _spans(settings: Settings) -> tuple:
    return tuple(float(s) for s in settings.scales) if settings.scales else pp.WINDOW_SPANS_S


def pose_analysis(model, labels, track, settings: Settings | None = None, *, video: str = "",
                  model_id: str | None = None, progress=None, cancel=None) -> dict:
    """The fields of an `Analysis` (core.analysis.workout) from a pose track (a PoseTrack, or a dict
    of its arrays with "fps" and "video_frames")."""
    settings = settings or Settings()
    labels = list(labels)
    if pp.NONE not in labels:
        raise AnalyzeError("A pose model without a none class cannot analyse a whole workout.")
    none = labels.index(pp.NONE)
    t0 = time.perf_counter()
    arrays = pp.track_arrays(track)
    fps = float((track.get("fps") if isinstance(track, dict) else getattr(track, "fps", 30.0)) or 30.0)
    frames = np.asarray(arrays["frames"])
    n_frames = int((track.get("video_frames") if isinstance(track, dict) else getattr(track, "video_frames", 0))
                   or (int(frames[-1]) + 1 if len(frames) else 0))
    summary = pp.pose_summary(arrays, fps=fps)
    summary.update(pp.people_note(track))
    empty = {"video": str(video), "fps": fps, "frames": n_frames, "labels": labels, "model": model_id,
             "segments": [], "centers": np.zeros(0), "probs": np.zeros((0, len(labels)), np.float32),
             "settings": settings, "pose": {**summary, "message": ""}}
    if not len(frames) or summary["share_with_pose"] < pp.MIN_POSE_SHARE:
        msg = "no athlete found" if summary["frames_with_pose"] == 0 else \
            f"no athlete found in most frames (a pose in {summary['share_with_pose']:.0%} of them)"
        empty["pose"]["message"] = msg
        empty["timings"] = {"model": time.perf_counter() - t0, "total": time.perf_counter() - t0}
        return empty
    lo, hi = int(frames[0]), int(frames[-1])
    ranges = pp.window_ranges(lo, hi, fps, _spans(settings), settings.stride_s)
    probs = []
    for i in range(0, len(ranges), 512):
        check_cancel(cancel, "The analysis")
        probs.append(pp.window_probs(model, arrays, ranges[i:i + 512], fps))
        report(progress, min(i + 512, len(ranges)), len(ranges), "pose model over the windows")
    probs = np.concatenate(probs).astype(np.float32)
    centers = np.array([(a + b) / 2.0 for a, b in ranges])
    fp = frame_probabilities(centers, probs, max(n_frames, hi + 1))
    t1 = time.perf_counter()
    raw = segment_probs(fp, fps, settings, none_index=none)
    margin = int(round(settings.margin_s * fps))
    segments = []
    for seg in raw:
        check_cancel(cancel, "The analysis")
        movement = labels[seg["index"]]
        a, b = max(lo, seg["start_frame"] - margin), min(hi, seg["end_frame"] + margin)
        judged = judge_range(arrays, movement, a, b, fps, limits=(lo, hi))
        whole = [r for r in judged["reps"] if not r["partial"]]
        if not whole and settings.drop_repless:
            continue
        sa, sb = seg["start_frame"], seg["end_frame"]
        if whole and settings.fit_to_reps:
            sa, sb = whole[0]["start"], whole[-1]["end"]
        conf = float(fp[sa:sb + 1, seg["index"]].mean()) if sb >= sa else float(seg["confidence"])
        segments.append({"movement": movement, "start_frame": int(sa), "end_frame": int(sb),
                         "confidence": round(conf, 4), "count": len(whole),
                         "reps": [[r["start"], r["end"]] for r in whole],
                         "judged": whole, "valid": judged["valid"], "no_reps": judged["no_reps"],
                         "partial": judged["partial"], "partial_reps": [r for r in judged["reps"] if r["partial"]],
                         "low_confidence": conf < pp.LOW_CONFIDENCE,
                         "summary": judged["summary"]})
    segments = _resolve_overlaps(segments)
    t2 = time.perf_counter()
    out = dict(empty, centers=centers, probs=probs, segments=segments)
    out["timings"] = {"model": t1 - t0, "reps": t2 - t1, "total": t2 - t0}
    return out


def _resolve_overlaps(segments: list[dict]) -> list[dict]:
    """Reps looked for beyond a segment's ends may reach into the next: the later segment keeps the
    frames, the earlier loses its overlapping reps (and goes when none are left)."""
    segments = sorted(segments, key=lambda s: s["start_frame"])
    out: list[dict] = []
    for cur in segments:
        if out and out[-1]["end_frame"] >= cur["start_frame"]:
            prev = out[-1]
            keep = [i for i, r in enumerate(prev["reps"]) if r[1] < cur["start_frame"]]
            prev["reps"] = [prev["reps"][i] for i in keep]
            prev["judged"] = [prev["judged"][i] for i in keep]
            prev["count"] = len(keep)
            prev["valid"] = sum(j["valid"] for j in prev["judged"])
            prev["no_reps"] = prev["count"] - prev["valid"]
            prev["summary"] = rep_text(prev)
            if not keep:
                out.pop()
            else:
                prev["end_frame"] = prev["reps"][-1][1]
        out.append(cur)
    return out


def analyze_pose(ws, row: dict, model, path, settings: Settings | None = None, progress=None, cancel=None,
                 video: dict | None = None, track=None) -> dict:
    """`pose_analysis` of a video file (its workspace row `video` when it has one: the stored pose
    track is used; else the file's track, cached under the workspace by content), with the pose
    track's time in the timings."""
    t0 = time.perf_counter()
    if track is None:
        def prog(done, total, text):
            report(progress, done, total, f"pose track: {text}")

        if video is None and ws is not None:  # an upload: its track cached by content, for the skeleton view
            from core.pose.store import track_for_path

            track = track_for_path(path, ws, progress=prog, cancel=cancel)
        else:
            track = pp.track_of(path, progress=prog, cancel=cancel, ws=ws, video_id=(video or {}).get("id"))
    t1 = time.perf_counter()
    out = pose_analysis(model, row["labels"], track, settings, video=str(path), model_id=row["id"],
                        progress=progress, cancel=cancel)
    out["timings"] = {"pose_track": t1 - t0, **out["timings"], "total": out["timings"]["total"] + (t1 - t0)}
    return out
