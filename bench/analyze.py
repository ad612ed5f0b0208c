"""Whole-workout analysis on the demo workspace: speed, rep counting, evaluation, key presses.

    .venv/bin/python bench/analyze.py --workspace /tmp/train_ws [--model MODEL] [--split test]
        [--speed-video ID] [--parts speed,motion,eval,keys] [--json]

Parts:

- speed: one 30 fps 480p demo workout analysed end to end (decode once + windows through the
  model + segments + reps) after the model is loaded and traced (that one-time cost is printed
  apart): wall seconds, process CPU seconds (both cores count), x real time, and the split into
  decode / preprocess / model / reps. Other jobs on the machine slow the wall time down; the CPU
  time says what the analysis itself costs (wall >= CPU / 2 on 2 cores). A pose model: the pose track
  computed afresh (`core.pose.store.track_for_path` without a cache: the chunked tracking the stored
  track of a workspace video is made by) then `core.analysis.pose_workout.analyze_pose` on it, the
  Analyze page's path; split into pose track / model / reps (counting and judging).
- motion: the rep counter alone (`core.analysis.reps.count_reps`, no classifier) on every true set of
  every demo video (the sets given: true movement and extent, counted with the analysis' default
  0.5 s margin), per split, against a plain autocorrelation baseline (count = set length / the
  lag that minimises the mean squared frame difference). Rep-start phases are learned from the
  train split, so the val/test rows are held out.
- eval: `core.analysis.evaluation.evaluate_split` on the split (frame accuracy, segment F1, count MAE and
  off-by-one, rep F1; a pose model: the judge's valid share on the true reps, and the sets counted
  off by more than one or called another movement) with the model (default: the newest registered). A pose model reads the
  stored tracks (computed on the first run), so its speed there leaves the tracking out.
- keys: `bench.keypress.keypress_study` on the split's videos with the model's draft.

Targets (issue 8): frame accuracy >= 0.90, count off-by-one >= 0.90, >= 10x real time.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench import keypress

from core.analysis import evaluation as an_eval

from core.analysis import reps as an_reps

from core.analysis import scan as an_scan

from core.analysis import settings as an_settings

from core.analysis import workout as an_workout

from core.cli import analyze as analyze_cli
from core.modeling import registry
from core.dataset.splits import current_splits  # noqa: E402
from core.base.workspace import Workspace  # noqa: E402


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def bench_speed(ws, model_id: str, video_id: int, repeats: int = 2) -> dict:
    video = ws.store().video(video_id)
    t0 = time.perf_counter()
    fn, row = an_workout.load_runner(ws, model_id)
    frames, size, _box, _focus = an_workout.model_input(row, video)  # noqa: SLF001
    an_workout.warm_up(fn, frames, size, an_settings.Settings())
    setup = time.perf_counter() - t0
    runs = []
    for _ in range(repeats):
        c0, w0 = _cpu(), time.perf_counter()
        res = an_workout.analyze_video(ws, model_id, video_id)
        runs.append({"wall_s": time.perf_counter() - w0, "cpu_s": _cpu() - c0, "timings": res.timings})
    return _speed_result(video, video_id, setup, runs)


def _speed_result(video: dict, video_id: int, setup: float, runs: list[dict], parts: bool = False) -> dict:
    """The best of the runs as x real time (wall, and CPU on 2 cores); `parts`: each timing too."""
    best = min(runs, key=lambda r: r["wall_s"])
    dur = video["frames"] / video["fps"]
    out = {"video_id": video_id, "frames": video["frames"], "fps": video["fps"],
           "size": f"{video['width']}x{video['height']}", "duration_s": dur, "load_and_trace_s": setup,
           "wall_s": best["wall_s"], "cpu_s": best["cpu_s"], "x_realtime": dur / best["wall_s"],
           "x_realtime_cpu_2cores": dur / (best["cpu_s"] / 2), "load_avg": os.getloadavg()[0],
           "timings": {k: round(v, 3) for k, v in best["timings"].items()}}
    if parts:
        out["parts_x_realtime"] = {k: round(dur / v, 1) for k, v in best["timings"].items() if v > 0}
    return out


def bench_pose_speed(ws, model_id: str, video_id: int, repeats: int = 2) -> dict:
    from core.analysis.pose_workout import analyze_pose
    from core.pose.store import track_for_path

    video = ws.store().video(video_id)
    path = ws.absolute(video["path"])
    t0 = time.perf_counter()
    fn, row = an_workout.load_runner(ws, model_id)
    setup = time.perf_counter() - t0
    runs = []
    for _ in range(repeats):
        c0, w0 = _cpu(), time.perf_counter()
        track = track_for_path(path, None, athlete_box=video.get("roi"))  # no ws: tracked afresh each run
        res = analyze_pose(ws, row, fn, path, video=video, track=track)
        timings = dict(res["timings"], pose_track=res["timings"]["pose_track"] + time.perf_counter() - w0 -
                       res["timings"]["total"])
        timings["total"] = time.perf_counter() - w0
        runs.append({"wall_s": timings["total"], "cpu_s": _cpu() - c0, "timings": timings})
    return _speed_result(video, video_id, setup, runs, parts=True)


def pose_misses(rep: dict) -> list[dict]:
    """Per true set of an evaluated split: the count, and what the analysis called its frames."""
    out = []
    for v in rep["per_video"]:
        segs = (v.get("analysis") or {}).get("segments", [])
        for c in v["counts"]:
            over = {}
            for s in segs:
                n = min(c["end"], s["end_frame"]) - max(c["start"], s["start_frame"]) + 1
                if n > 0:
                    over[s["movement"]] = over.get(s["movement"], 0) + n
            called = ", ".join(f"{m} {n / (c['end'] - c['start'] + 1):.0%}" for m, n in
                               sorted(over.items(), key=lambda kv: -kv[1])) or "none"
            out.append({"video": v["video_id"], "label": c["label"], "frames": [c["start"], c["end"]],
                        "true": c["true"], "predicted": c["predicted"], "called": called})
    return out


def _autocorr_count(x: np.ndarray, lo: int, hi: int) -> int:
    best, lag = None, lo
    for tau in range(max(2, lo), min(hi, len(x) - 2) + 1):
        d = float(np.mean((x[tau:] - x[:-tau]) ** 2))
        if best is None or d < best:
            best, lag = d, tau
    return int(round(len(x) / lag))


def bench_motion(ws) -> dict:
    store = ws.store()
    where = current_splits(store)
    out: dict = {}
    for video in store.videos():
        truth = [{"label": s["label"], "start": s["start"], "end": s["end"]}
                 for s in store.segments(video["id"], "ground-truth")]
        if not truth:
            continue
        gray, fps = an_scan.motion_frames(ws.absolute(video["path"]))
        split = where.get(video["id"], "unassigned")
        for st in an_eval.gt_sets(truth):
            reps = an_reps.count_reps(gray, st["start"], st["end"], fps, st["label"])
            x = gray[st["start"]:st["end"] + 1].reshape(st["end"] - st["start"] + 1, -1).astype(np.float32) / 255
            lo, hi = an_reps.rep_bounds(st["label"], fps)
            base = _autocorr_count(x, lo, hi)
            from core.labeling.agreement import match_reps

            m, _, _ = match_reps(st["reps"], [{"label": st["label"], "start": a, "end": b} for a, b in reps], 0.5)
            out.setdefault(split, []).append({"video": video["id"], "label": st["label"], "true": len(st["reps"]),
                                              "counted": len(reps), "autocorr": base, "rep_matches": len(m)})
    summary = {}
    for split, rows in out.items():
        e = np.array([abs(r["counted"] - r["true"]) for r in rows])
        b = np.array([abs(r["autocorr"] - r["true"]) for r in rows])
        summary[split] = {"sets": len(rows), "mae": float(e.mean()), "off_by_one": float((e <= 1).mean()),
                          "exact": float((e == 0).mean()), "rep_recall": sum(r["rep_matches"] for r in rows) /
                          max(1, sum(r["true"] for r in rows)),
                          "autocorr_mae": float(b.mean()), "autocorr_off_by_one": float((b <= 1).mean()),
                          "misses": [r for r in rows if abs(r["counted"] - r["true"]) > 1]}
    return summary


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workspace", required=True)
    p.add_argument("--model", help="registered model id (default: the newest)")
    p.add_argument("--split", default="test")
    p.add_argument("--speed-video", type=int, help="video id for the speed part (default: the split's first)")
    p.add_argument("--parts", default="speed,motion,eval,keys")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    ws = Workspace(args.workspace)
    parts = set(args.parts.split(","))
    models = registry.list_models(ws.store())
    model_id = args.model or (models[0]["id"] if models else None)
    report: dict = {"model": model_id, "split": args.split}
    vids = [v["id"] for v in an_eval.split_videos(ws, args.split)]
    pose = bool(model_id) and an_workout.is_pose(registry.resolve_model(ws.store(), model_id))
    if "speed" in parts and model_id:
        report["speed"] = (bench_pose_speed if pose else bench_speed)(ws, model_id, args.speed_video or vids[0])
        s = report["speed"]
        print(f"speed: {s['duration_s']:.1f} s of {s['size']} @ {s['fps']:g} fps in {s['wall_s']:.2f} s wall "
              f"({s['x_realtime']:.1f}x real time; CPU {s['cpu_s']:.1f} s = {s['x_realtime_cpu_2cores']:.1f}x on 2 "
              f"cores; load average {s['load_avg']:.1f}); model load + trace {s['load_and_trace_s']:.1f} s once; "
              f"{s['timings']}", flush=True)
        if pose:
            print(f"  parts, x real time each: {s['parts_x_realtime']}", flush=True)
    if "motion" in parts:
        report["motion"] = bench_motion(ws)
        for split, r in sorted(report["motion"].items()):
            print(f"motion counter, {split}: {r['sets']} sets, MAE {r['mae']:.2f}, off-by-one {r['off_by_one']:.3f}, "
                  f"exact {r['exact']:.3f}, rep recall@0.5 {r['rep_recall']:.3f} | autocorrelation baseline: MAE "
                  f"{r['autocorr_mae']:.2f}, off-by-one {r['autocorr_off_by_one']:.3f}", flush=True)
    if "eval" in parts and model_id:
        rep = an_eval.evaluate_split(ws, model_id, args.split)
        sets = pose_misses(rep) if pose else []
        for v in rep["per_video"]:
            v.pop("analysis", None)
        report["eval"] = rep
        print(analyze_cli.format_eval(rep), flush=True)
        if pose:
            report["eval"]["sets"] = sets
            for m in sets:
                if abs(m["predicted"] - m["true"]) > 1 or not m["called"].startswith(m["label"] + " "):
                    print(f"  video {m['video']} {m['label']} frames {m['frames'][0]}-{m['frames'][1]}: "
                          f"{m['true']} reps, counted {m['predicted']}; called {m['called']}", flush=True)
    if "keys" in parts and model_id:
        report["keys"] = keypress.keypress_study(ws, vids, model_ref=model_id)
        t = report["keys"]["total"]
        print(f"key presses for {t['reps']} reps: without draft {t['without_draft']}, with the draft "
              f"{t['with_draft']} (per-rep copy) / {t['with_draft_bulk']} (bulk copy)", flush=True)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
