"""The pose model beside the MoViNet demo preset on the same single-rep clips of the shared real videos.

    .venv/bin/python bench/compare_models.py --workspace DIR --movinet ID --pose ID [--pose-folder DIR]
        [--clips-dir bench/out/pose_real/clips] [--json FILE]

The clips are the single-rep clips whose pose tracks bench/pose_real.py (`--clips N`) cached as
`<clips-dir>/<video>.<start>-<end>.pose.npz` (frames start..end of ../shared/real_videos/<video>.mp4, or
$REAL_VIDEOS). For each clip: the MoViNet model on the clip's frames (`Predictor.predict_file`, as
`python -m core predict MODEL VIDEO --start S --end E` runs it), and the pose model(s) on the cached clip
track (`pose_predict.classify_track`: argmax, and the product's answer `pose_predict.decide`). A clip is
right when the answer is one of the video's class_match names (bench/pose_real.py's `class_match`).
"selected" marks the clips bench/pose_real.py's rep_clips (6 per video) picks from the cached whole-video
tracks today; the cache may also hold clips an earlier counter picked. These videos are a check, never a
training or tuning set.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402

from pose_real import OUT, REAL_VIDEOS, class_match  # noqa: E402

NAME = re.compile(r"^(?P<stem>.+)\.(?P<start>\d+)-(?P<end>\d+)\.pose\.npz$")


def selected_clips(rows, per_video: int = 6) -> set:
    """(stem, start, end) of the clips rep_clips picks now (from the cached whole-video tracks only)."""
    from core.analysis import pose_workout as PW
    from core.inference import pose_predict as PP
    from core.pose.track import PoseTrack

    out = set()
    for r in rows:
        kind, names = class_match(r["notes"])
        cache = OUT / f"{Path(r['file']).stem}.pose.npz"
        if kind != "relative" or not cache.exists():
            continue
        tr = PoseTrack.load(cache)
        if float(tr.has_pose.mean()) < PP.MIN_POSE_SHARE:
            continue
        reps = PW.judge_range(PP.track_arrays(tr), names[0], int(tr.frames[0]), int(tr.frames[-1]), tr.fps)["reps"]
        reps = [x for x in reps if 0.4 <= (x["end"] - x["start"] + 1) / tr.fps <= 2.4]
        if len(reps) > per_video:
            reps = [reps[int(i)] for i in np.linspace(0, len(reps) - 1, per_video).round()]
        out.update((Path(r["file"]).stem, int(x["start"]), int(x["end"])) for x in reps)
    return out


def score(items, key):
    ok = [x[key] in x["names"] for x in items]
    return {"n": len(ok), "correct": int(sum(ok)), "top1": round(float(np.mean(ok)), 3) if ok else None}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", required=True)
    ap.add_argument("--movinet", required=True, help="registered MoViNet model id (or run id)")
    ap.add_argument("--pose", help="registered pose model id in the workspace")
    ap.add_argument("--pose-folder", action="append", default=[], help="also a pose model folder (repeatable)")
    ap.add_argument("--clips-dir", default=str(OUT / "clips"))
    ap.add_argument("--json", help="write the per-clip results and the summary here")
    args = ap.parse_args(argv)

    from core.base.workspace import Workspace
    from core.inference import pose_predict as PP
    from core.inference.predictor import Predictor
    from core.modeling.pose_model import load_pose_model
    from core.modeling.registry import model_dir, resolve_model
    from core.pose.track import PoseTrack

    ws = Workspace(args.workspace)
    with open(REAL_VIDEOS / "index.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    by_stem = {Path(r["file"]).stem: r for r in rows}
    poses = {}
    if args.pose:
        poses[f"pose:{args.pose}"] = load_pose_model(model_dir(ws, resolve_model(ws.store(), args.pose)))
    for p in args.pose_folder:
        poses[f"pose:{Path(p).name}"] = load_pose_model(Path(p))
    sel = selected_clips(rows)

    clips = []
    for p in sorted(Path(args.clips_dir).glob("*.pose.npz")):
        m = NAME.match(p.name)
        if not m or m["stem"] not in by_stem:
            print(f"skip {p.name}: no index row", file=sys.stderr)
            continue
        kind, names = class_match(by_stem[m["stem"]]["notes"])
        if kind != "relative":
            continue
        clips.append((p, m["stem"], int(m["start"]), int(m["end"]), names, by_stem[m["stem"]]["file"]))
    print(f"{len(clips)} clips from {len({c[1] for c in clips})} videos ({len(sel)} selected now)", flush=True)

    pred = Predictor()
    items, t_mov, t_pose = [], 0.0, 0.0
    for p, stem, s, e, names, file in clips:
        it = {"video": file, "start": s, "end": e, "names": names, "selected": (stem, s, e) in sel}
        t0 = time.perf_counter()
        try:
            out = pred.predict_file(args.movinet, REAL_VIDEOS / file, start=s, end=e, ws=ws)
            it["movinet"] = out["top"][0]["movement"]
            it["movinet_p"] = round(out["top"][0]["probability"], 3)
        except Exception as exc:  # noqa: BLE001 - one clip's failure is reported, not fatal
            it["movinet"], it["movinet_error"] = "error", str(exc)
        t1 = time.perf_counter()
        ct = PoseTrack.load(p)
        arrays = PP.track_arrays(ct)
        for k, model in poses.items():
            probs, _ = PP.classify_track(model, arrays, s, e, ct.fps)
            labels = list(model.labels)
            none = labels.index("none") if "none" in labels else None
            it[k] = labels[int(np.argmax(probs))]
            it[k + ":decide"] = labels[PP.decide(probs, none)]
        t2 = time.perf_counter()
        t_mov += t1 - t0
        t_pose += t2 - t1
        items.append(it)
        print(f"  {file[:40]:40s} {s:5d}-{e:<5d} {'/'.join(names)[:18]:18s} movinet {it['movinet']:18s} "
              + " ".join(f"{k.split(':', 1)[1][:12]} {it[k]}" for k in poses), flush=True)

    keys = ["movinet"] + [k for k in poses] + [k + ":decide" for k in poses]
    summary = {"clips": len(items), "videos": len({x["video"] for x in items}),
               "all": {k: score(items, k) for k in keys},
               "selected": {k: score([x for x in items if x["selected"]], k) for k in keys},
               "seconds": {"movinet": round(t_mov, 1), "pose": round(t_pose, 1)}}
    print(json.dumps(summary, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "clips": items}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
