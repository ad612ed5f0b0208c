"""Is the demo's figure a fair stand-in for a person, for BlazePose? Landmark stability on rendered
figures against real people.

    .venv/bin/python bench/pose_figure.py [--seeds 1001 ... 1007] [--frames 6] [--per-video 3]

The tracker tells the athlete from a judge by how much each person's landmarks change (pose shape
relative to the hip, per body size: `core.pose.track.Athlete.activity`; still below 0.025, working
out above 0.04). For a person who stands still that change is the landmark model's own noise. This
measures the noise directly, on a single frame: for every person the detector finds (score >= 0.5),
the landmark model is run on their detection's ROI and on 6 nudged copies of it (centre moved by up
to 4 % of its size, size changed by up to 6 %, as the ROI from the previous frame's landmarks moves),
and the spread (std over the 7 answers, mean over the body joints) of the pose shape is reported,
the same quantity as the tracker's activity. Rendered: frames of test-seed workouts
(`core.demo.synthetic.plan_workout`, 854x480, straight from the renderer), the athlete (detection
within half a body size of the figure's true pelvis) and the other figures (bystanders, judge)
apart. Real: frames of ../shared/real_videos (or $REAL_VIDEOS), one person each. Also printed: the
share of ROIs where the landmark model finds a body (presence >= 0.5).
"""
from __future__ import annotations

import argparse
import csv
import math
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.media.video import VideoReader  # noqa: E402
from core.pose.blazepose import PoseEstimator, Roi  # noqa: E402
from core.pose.models import ensure_models  # noqa: E402
from core.pose.track import ACTIVE, STILL, pose_shape, body_side  # noqa: E402

REAL_VIDEOS = Path(os.environ.get("REAL_VIDEOS", ROOT.parent / "shared" / "real_videos"))
NUDGES = [(0.04, 0.0, 1.0), (-0.04, 0.0, 1.0), (0.0, 0.04, 1.0), (0.0, -0.04, 1.0),
          (0.0, 0.0, 1.06), (0.0, 0.0, 0.94)]  # (dx, dy per ROI size, size factor)


def noise(est: PoseEstimator, frame: np.ndarray, det) -> float | None:
    """The spread of one person's pose shape over their ROI and its nudged copies (None: the
    landmark model finds no body on the ROI itself)."""
    roi = det.roi()
    rois = [roi] + [Roi(roi.cx + dx * roi.size, roi.cy + dy * roi.size, roi.size * s, roi.rotation)
                    for dx, dy, s in NUDGES]
    shapes = []
    for k, r in enumerate(rois):
        res = est.landmarks(frame, r)
        if res.presence < est.presence_threshold:
            if k == 0:
                return None
            continue
        shapes.append(pose_shape(res.xy, det.box))
    return float(np.array(shapes).std(axis=0).mean()) if len(shapes) >= 3 else None


def rendered(est: PoseEstimator, seeds, n_frames: int) -> dict[str, list]:
    """`noise` of every detected person (None: no body found) on frames of rendered workouts."""
    from core.demo.synthetic import JOINTS, Simulation, plan_workout
    pelvis = JOINTS.index("pelvis")
    out: dict[str, list] = {"athlete": [], "other figures": []}
    for seed in seeds:
        sim = Simulation(plan_workout(int(seed), target_seconds=20), 854, 480, 30)
        kp = sim.keypoints2d
        for i in np.linspace(0, sim.n_frames - 1, n_frames).round().astype(int):
            frame = sim.frame(int(i))
            for det in est.detect(frame):
                who = "athlete" if math.dist(det.center, kp[i, pelvis]) <= 0.5 * body_side(det.box) \
                    else "other figures"
                out[who].append(noise(est, frame, det))
    return out


def real(est: PoseEstimator, per_video: int) -> dict[str, list]:
    """`noise` of every detected person on frames of the shared real videos."""
    with open(REAL_VIDEOS / "index.csv", newline="") as f:
        names = [r["file"] for r in csv.DictReader(f)]
    vals = []
    for name in names:
        with VideoReader(REAL_VIDEOS / name) as reader:
            for i in np.linspace(0, len(reader) - 1, per_video + 2)[1:-1].round().astype(int):
                frame = reader.frame(int(i))
                vals += [noise(est, frame, det) for det in est.detect(frame)]
    return {"real people": vals}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(1001, 1008)))
    ap.add_argument("--frames", type=int, default=6, help="frames per rendered workout")
    ap.add_argument("--per-video", type=int, default=3, help="frames per real video")
    args = ap.parse_args(argv)
    est = PoseEstimator(ensure_models())
    rows = {**rendered(est, args.seeds, args.frames), **real(est, args.per_video)}
    print(f"landmark noise on one frame (pose-shape spread over the ROI and {len(NUDGES)} nudged "
          f"copies; the tracker's activity: still < {STILL}, working out > {ACTIVE})")
    print(f"{'people':16s} {'n':>4s} {'body %':>6s} {'median':>7s} {'p25':>6s} {'p75':>6s} "
          f"{'p90':>6s} {'> still':>7s} {'> active':>8s}")
    for name, vals in rows.items():
        v = np.array([x for x in vals if x is not None])
        if not len(v):
            print(f"{name:16s} {len(vals):4d}  no body found")
            continue
        p25, med, p75, p90 = np.percentile(v, [25, 50, 75, 90])
        print(f"{name:16s} {len(v):4d} {100 * len(v) / len(vals):6.1f} {med:7.4f} {p25:6.4f} "
              f"{p75:6.4f} {p90:6.4f} {np.mean(v > STILL):7.2f} {np.mean(v > ACTIVE):8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
