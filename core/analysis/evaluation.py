"""The analysis scored against ground truth on the workout videos of a split: frame accuracy (inside
reps; and over all frames with none as a class), segment F1 at IoU 0.5 over sets, rep-count MAE
and off-by-one per true set, rep F1; `motion_only` scores the counter alone on the true sets."""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from core.analysis.reps import count_reps
from core.analysis.scan import scan
from core.analysis.settings import AnalyzeError, Settings
from core.analysis.workout import (
    Analysis,
    athlete_track,
    analyze_file,
    is_pose,
    model_input,
    vote_segments,
    analyze_scan,
    load_runner,
    warm_up,
)
from core.base.progress import Progress
from core.dataset.windows import (  # NONE: the class of rests, transitions and unlabelled frames
    NONE,
)

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
    judge = _judge_counts([m.b for m in rep_matches], "matched")
    inside = [p for p in analysis.reps()
              if any(t["start"] <= (p["start"] + p["end"]) / 2.0 <= t["end"] for t in truth_reps)]
    judge.update(_judge_counts(inside, "inside"))
    return {
        "video": analysis.video, "video_id": analysis.video_id, "frames": n,
        "labelled_frames": len(labelled), "correct_labelled": correct_lab, "correct_all": correct_all,
        "sets": len(sets), "segments": len(psegs), "matched_segments": len(matches),
        "true_reps": len(truth_reps), "predicted_reps": len(analysis.reps()), "matched_reps": len(rep_matches),
        "counts": counts, "motion_only": motion_only, "judge": judge,
        "duration_s": analysis.duration_s, "seconds": analysis.timings.get("total", 0.0),
    }


def _judge_counts(reps: list[dict], key: str) -> dict:
    # only a pose model's reps carry a verdict ("extra"); others count as unjudged
    verdicts = [r["extra"]["valid"] for r in reps if "valid" in (r.get("extra") or {})]
    return {f"{key}_valid": sum(verdicts), f"{key}_no_rep": len(verdicts) - sum(verdicts)}


def _judge_scores(per_video: list[dict]) -> dict:
    out: dict = {}
    for key in ("matched", "inside"):
        valid = sum(v.get("judge", {}).get(f"{key}_valid", 0) for v in per_video)
        no_rep = sum(v.get("judge", {}).get(f"{key}_no_rep", 0) for v in per_video)
        out[key] = {"reps": valid + no_rep, "valid": valid, "no_rep": no_rep,
                    "valid_share": valid / (valid + no_rep) if valid + no_rep else None}
    return out


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
        "judge": _judge_scores(per_video),
        "realtime_factor": dur / secs if secs else None,
    }


def split_videos(ws, split: str) -> list[dict]:
    """Workspace videos assigned to `split` that have ground-truth reps."""
    from core.dataset.splits import current_splits
    from core.labeling.annotator import dataset_segments

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
    pose = is_pose(row)
    if not pose:
        settings = (settings or Settings()).for_model(row)
        frames0, size0, _, _ = model_input(row, None)
        warm_up(fn, frames0, size0, settings)
    per_video = []
    for k, video in enumerate(videos):
        def prog(done, total, stage, k=k):
            if progress:
                progress(k * 1000 + int(1000 * done / max(1, total)), len(videos) * 1000,
                         f"video {video['id']} ({k + 1}/{len(videos)}): {stage}")
        t0 = time.perf_counter()
        if pose:  # the pose track and the pose model (core.analysis.pose_workout)
            result = analyze_file(ws, row, ws.absolute(video["path"]), settings, prog, cancel, engine, video=video)
            sc = None
        else:
            frames, size, box, focus = model_input(row, video)
            track = athlete_track(ws, focus, ws.absolute(video["path"]), video, prog, cancel)
            sc = scan(ws.absolute(video["path"]), fn, frames, size, box, settings, prog, cancel, focus=focus,
                      track=track)
            result = analyze_scan(sc, row["labels"], settings, model=row["id"])
            vote_segments(result, ws.absolute(video["path"]), fn, frames, size, box, focus, settings, cancel, track)
        result.video_id = video["id"]
        result.run_id = row.get("run_id")
        result.timings["total"] = time.perf_counter() - t0
        truth = [{"label": s["label"], "start": s["start"], "end": s["end"]}
                 for s in dataset_segments(ws.store(), [video["id"]])]
        scores = evaluate_analysis(result, truth, sc.gray if sc is not None else None)
        scores["analysis"] = result.to_json()
        per_video.append(scores)
    out = {"model": row["id"], "split": split, "settings": (settings or Settings()).to_json(), **summarize(per_video),
           "per_video": per_video}
    return out
