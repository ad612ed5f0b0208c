"""Could the judge read arm lockouts and open hips from the front with BlazePose's depth (z)?

    .venv/bin/python bench/judge_depth.py

From the front a soft elbow or a hip left closed bends towards the camera, so the image (2D) angle says
little (`core.pose.reps.TOLERANCE`: the front-view lockout of an overhead squat is not judged). The
landmark model also gives each landmark a depth, z, scaled like x. On the real videos of the judged
movements with hand counts (`bench/real_rep_counts.csv`; their tracks from `bench/pose_real.py`'s cache,
computed when missing) this prints, at the top of each counted rep (the judge's own frame), the angle the
judge reads in 2D and the same joint's angle with z, on the worse and the better side. The reps of these
videos are coached reps, locked out at the top: a usable depth reads them near 180 deg (but
kbtrainer__front_squat_, counted as a thruster, holds the bell in the front rack: its elbows are bent).
"""
from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402

from core.pose import reps as PR  # noqa: E402
from core.pose.landmarks import INDEX  # noqa: E402
from pose_real import HAND_COUNTS, REAL_VIDEOS, get_track  # noqa: E402

# a check's joint: (first end, vertex, second end) per side
JOINTS = {"lockout": ("shoulder", "elbow", "wrist"), "hips_open": ("shoulder", "hip", "knee"),
          "knees_open": ("hip", "knee", "ankle")}


def angles(P: np.ndarray, joint: tuple[str, str, str]) -> list[float]:
    """The joint's angle (deg) on the left and the right side of one frame's points (2 or 3 columns)."""
    return [float(PR.joint_angle(*(P[INDEX[f"{s}_{j}"]] for j in joint))) for s in ("left", "right")]


def main() -> None:
    with open(HAND_COUNTS, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["movement"] in PR.STANDARDS]
    totals: dict = {}
    print(f"{'video':42s} {'move':9s} {'side':>4s} check      reps  2D worse/better (median)   with z worse/better")
    for r in rows:
        path = REAL_VIDEOS / r["file"]
        if not path.exists():
            continue
        tr = get_track(path)
        arr = tr.arrays()
        m = r["movement"]
        S = PR.set_signals(arr, None, None, m)
        judged = PR.judge_reps(arr, m, PR.count_reps(arr, m, None, None, tr.fps, signals=S), tr.fps, signals=S)
        P3 = np.concatenate([tr.xy, tr.z[..., None]], -1).astype(np.float64)
        view = "side" if S["sideness"] >= PR.MIN_SIDENESS else "front"
        for check, joint in JOINTS.items():
            at = [c["frame"] for j in judged for c in j["checks"] if c["check"] == check]
            if not at:
                continue
            idx = [int(np.argmin(np.abs(tr.frames - f))) for f in at]
            a2 = np.array([angles(P3[i, :, :2], joint) for i in idx])
            a3 = np.array([angles(P3[i], joint) for i in idx])
            print(f"{path.stem[:42]:42s} {m[:9]:9s} {S['sideness']:4.2f} {check:10s} {len(idx):4d}  "
                  f"{np.median(a2.min(1)):5.0f} / {np.median(a2.max(1)):5.0f}"
                  f"              {np.median(a3.min(1)):5.0f} / {np.median(a3.max(1)):5.0f}")
            t = totals.setdefault((view, check), [[], []])
            t[0] += list(a2.max(1))
            t[1] += list(a3.max(1))
    print("\nreps at the top, the better side: share read >= 160 deg (a locked-out / open joint)")
    for (view, check), (a2, a3) in sorted(totals.items()):
        print(f"  {view:5s} {check:10s} reps {len(a2):3d}   2D {np.mean(np.array(a2) >= 160):.2f}   "
              f"with z {np.mean(np.array(a3) >= 160):.2f}")


if __name__ == "__main__":
    main()
