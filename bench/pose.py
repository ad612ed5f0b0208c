"""Pose-track benchmark: BlazePose (core.pose.track) on real 480p and 720p videos, and its accuracy
on rendered demo workouts where every joint is known.

    python bench/pose.py [--all] [VIDEO ...]
    python bench/pose.py --synthetic [--seeds 1001 1002 1003] [--seconds 20]

Without arguments it takes a fixed set of real videos from ../shared/real_videos/index.csv (or
$REAL_VIDEOS): the 270x480 ones, and portrait and landscape 720p ones. For each it prints the
track's speed (video frames per second of wall time, and the ratio to real time, at the default
sampling: every frame up to 15 fps), the same decode alone (the reference measured in the same
run), ms per call of the landmark model and of the detector, how often the detector ran, and the
share of sampled frames with a pose. Contact sheets (frames with the skeleton drawn, PNG) go to
bench/out/pose/<video>.png.

With --synthetic it renders a few short test-seed workouts (`core.demo.synthetic.plan_workout`,
seeds not used by the demo workspace, 854x480, 30 fps) to a temporary folder, tracks them and
compares the track with the figure's projected joints (`simulate(...).keypoints2d`; shoulders,
elbows, wrists, hips, knees, ankles): PCK@0.2, torso-normalised (a joint is right when within
0.2 x the ground-truth mid-shoulder to mid-hip distance), on the sampled frames with a pose and
over every sampled frame (no pose counts as wrong), per movement; and the athlete share: of the
frames with a pose, those on the athlete (median joint error under one torso length, left/right
exchange allowed), not on a bystander or the judge. Targets: PCK@0.2 >= 0.90, athlete share >=
0.98. Contact sheets with the ground truth (magenta dots) go to bench/out/pose/synthetic_<seed>.png.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time
import warnings
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.media.video import VideoReader  # noqa: E402
from core.pose.blazepose import PoseEstimator  # noqa: E402
from core.pose.draw import draw_skeleton  # noqa: E402
from core.pose.landmarks import INDEX  # noqa: E402
from core.pose.models import ensure_models  # noqa: E402
from core.pose.track import PoseTrack, compute_track  # noqa: E402

REAL_VIDEOS = Path(os.environ.get("REAL_VIDEOS", ROOT.parent / "shared" / "real_videos"))
OUT = ROOT / "bench" / "out" / "pose"
DEFAULT = ["kbtrainer__backSquats.mp4", "kbtrainer__front_squat_.mp4", "kbtrainer__deadlift.mp4",
           "kbtrainer__burpee.mp4", "kbtrainer__cardioSegunda2.mp4", "formfit__squat.mp4",
           "myoxyn__push_ups.mp4", "myoxyn__wall_handstand_push_ups_facing.mp4",
           "gulab__pushups3.mp4", "stevewoz__skipping.mp4", "divyansh__pull_up.mp4",
           "joelo__situp.mp4"]
TILES = 8


def draw(frame: np.ndarray, xy: np.ndarray | None, vis: np.ndarray | None, text: str,
         box=None) -> np.ndarray:
    img = np.ascontiguousarray(frame.copy())
    scale = max(1, round(max(img.shape[:2]) / 480))
    if box is not None:
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        cv2.rectangle(img, (x0, y0), (x1, y1), (255, 255, 0), scale)
    if xy is not None and np.isfinite(xy).all():
        img = draw_skeleton(img, xy, vis)  # the product's drawing (core.pose.draw)
    cv2.putText(img, text, (8, 24 * scale), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, (0, 0, 0),
                4 * scale, cv2.LINE_AA)
    cv2.putText(img, text, (8, 24 * scale), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale,
                (255, 255, 255), scale, cv2.LINE_AA)
    return img


def contact_sheet(path: Path, track: PoseTrack, out: Path, tiles: int = TILES) -> Path:
    idx = np.unique(np.linspace(0, len(track) - 1, min(tiles, len(track))).round().astype(int))
    pics = []
    with VideoReader(path) as reader:
        for k, ti in enumerate(idx):
            fi = int(track.frames[ti])
            ok = bool(track.has_pose[ti])
            text = f"#{fi} p={track.score[ti]:.2f}" if ok else f"#{fi} no pose"
            pics.append(draw(reader.frame(fi), track.xy[ti] if ok else None,
                             track.visibility[ti], text, track.athlete_box if k == 0 else None))
    h = 360
    pics = [cv2.resize(p, (max(1, round(p.shape[1] * h / p.shape[0])), h),
                       interpolation=cv2.INTER_AREA) for p in pics]
    per_row = 4 if pics[0].shape[1] > pics[0].shape[0] else 8
    rows = []
    for r in range(0, len(pics), per_row):
        row = pics[r:r + per_row]
        width = sum(p.shape[1] for p in pics[:per_row])
        strip = np.zeros((h, width, 3), np.uint8)
        x = 0
        for p in row:
            strip[:, x:x + p.shape[1]] = p
            x += p.shape[1]
        rows.append(strip)
    sheet = np.concatenate(rows, axis=0)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return out


# figure joint (core.demo.synthetic.JOINTS) -> BlazePose landmark
PCK_PAIRS = [("shoulder_l", "left_shoulder"), ("shoulder_r", "right_shoulder"),
             ("elbow_l", "left_elbow"), ("elbow_r", "right_elbow"),
             ("wrist_l", "left_wrist"), ("wrist_r", "right_wrist"), ("hip_l", "left_hip"),
             ("hip_r", "right_hip"), ("knee_l", "left_knee"), ("knee_r", "right_knee"),
             ("ankle_l", "left_ankle"), ("ankle_r", "right_ankle")]
_MIRROR = [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10]


def pck_errors(track: PoseTrack, keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(errors [T, 12] in torso lengths, the same with left and right exchanged) of the track's
    sampled frames against the figure's projected joints (NaN where the track has no pose)."""
    from core.demo.synthetic import JOINTS

    gt = keypoints[track.frames][:, [JOINTS.index(a) for a, _ in PCK_PAIRS]]
    pr = track.xy[:, [INDEX[b] for _, b in PCK_PAIRS]].astype(np.float64)
    torso = np.linalg.norm(gt[:, 0:2].mean(1) - gt[:, 6:8].mean(1), axis=1)[:, None]
    return (np.linalg.norm(pr - gt, axis=2) / torso,
            np.linalg.norm(pr[:, _MIRROR] - gt, axis=2) / torso)


def synthetic(seeds, seconds: float, models) -> int:
    import tempfile

    from core.demo.synthetic import plan_workout, render_workout, simulate

    print(f"pose track on rendered demo workouts (854x480, 30 fps, ~{seconds:g} s each); "
          f"PCK@0.2 torso-normalised; targets PCK >= 0.90, athlete share >= 0.98")
    print(f"{'seed':>5s} {'frames':>6s} {'pose %':>6s} {'PCK pose':>8s} {'PCK all':>7s} "
          f"{'PCK mir':>7s} {'athlete':>7s} {'x real':>6s}  per movement: PCK on frames with "
          f"pose (pose %)")
    hits, hits_all, on, with_pose = [], [], 0, 0
    per_label: dict[str, list] = {}
    with tempfile.TemporaryDirectory(prefix="pose-synth-") as tmp:
        for seed in seeds:
            workout = plan_workout(int(seed), target_seconds=seconds)
            path = Path(tmp) / f"synthetic_{seed}.mp4"
            render_workout(workout, path, 854, 480, 30)
            sim = simulate(workout, 854, 480, 30)
            kp = sim.keypoints2d
            t0 = time.perf_counter()
            track = compute_track(path, estimator=PoseEstimator(models))
            wall = time.perf_counter() - t0
            err, mirrored = pck_errors(track, kp)
            has = track.has_pose
            ok = err < 0.2
            ok_m = np.maximum(ok.mean(1), (mirrored < 0.2).mean(1))
            warnings.simplefilter("ignore", RuntimeWarning)  # nanmedian of frames without a pose
            near = np.fmin(np.nanmedian(np.where(has[:, None], err, np.nan), 1),
                           np.nanmedian(np.where(has[:, None], mirrored, np.nan), 1)) < 1.0 \
                if has.any() else np.zeros(len(track), bool)
            on += int((near & has).sum())
            with_pose += int(has.sum())
            hits.append(ok[has].ravel())
            hits_all.append(ok.ravel())
            labels = [str(sim.frame_labels[f]) if sim.frame_labels[f] else "between sets"
                      for f in track.frames]
            parts = []
            for name in sorted(set(labels)):
                m = np.array([lab == name for lab in labels])
                per_label.setdefault(name, []).append((ok[m & has].ravel(), m.sum(), (m & has).sum()))
                pck = ok[m & has].mean() if (m & has).any() else float("nan")
                parts.append(f"{name} {pck:.2f} ({100 * (m & has).mean() / max(m.mean(), 1e-9):.0f}%)")
            duration = track.video_frames / track.fps
            print(f"{seed:>5} {len(track):6d} {100 * has.mean():6.1f} {ok[has].mean():8.3f} "
                  f"{ok.mean():7.3f} {ok_m[has].mean():7.3f} "
                  f"{(near & has).sum() / max(1, has.sum()):7.3f} {duration / wall:6.2f}  "
                  + "; ".join(parts), flush=True)
            synthetic_sheet(path, track, kp, err, OUT / f"synthetic_{seed}.png")
    print(f"all: PCK@0.2 on frames with a pose {np.concatenate(hits).mean():.3f}, over every "
          f"sampled frame {np.concatenate(hits_all).mean():.3f}; athlete share "
          f"{on / max(1, with_pose):.3f} of {with_pose} frames with a pose")
    for name, rows in sorted(per_label.items()):
        h = np.concatenate([r[0] for r in rows])
        n, n_pose = sum(r[1] for r in rows), sum(r[2] for r in rows)
        print(f"  {name:18s} PCK {h.mean() if len(h) else float('nan'):.3f} on {n_pose} of {n} "
              f"sampled frames with a pose")
    print(f"contact sheets: {OUT}/synthetic_*.png")
    return 0


def synthetic_sheet(path: Path, track: PoseTrack, kp: np.ndarray, err: np.ndarray, out: Path,
                    tiles: int = 12) -> Path:
    idx = np.unique(np.linspace(0, len(track) - 1, min(tiles, len(track))).round().astype(int))
    pics = []
    with VideoReader(path) as reader:
        for ti in idx:
            fi = int(track.frames[ti])
            ok = bool(track.has_pose[ti])
            text = f"#{fi} PCK {np.mean(err[ti] < 0.2):.2f}" if ok else f"#{fi} no pose"
            img = draw(reader.frame(fi), track.xy[ti] if ok else None, track.visibility[ti], text)
            for q in kp[fi]:
                cv2.circle(img, (int(q[0]), int(q[1])), 3, (255, 0, 255), -1, cv2.LINE_AA)
            pics.append(img)
    per_row = 3
    while len(pics) % per_row:
        pics.append(np.zeros_like(pics[0]))
    sheet = np.concatenate([np.concatenate(pics[r:r + per_row], 1)
                            for r in range(0, len(pics), per_row)], 0)
    sheet = cv2.resize(sheet, (sheet.shape[1] // 2, sheet.shape[0] // 2), interpolation=cv2.INTER_AREA)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return out


def decode_only(path: Path, step: int) -> float:
    t0 = time.perf_counter()
    with VideoReader(path, cache_frames=32) as reader:
        for i in range(0, len(reader), step):
            reader.frame(i)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("videos", nargs="*", help="video files (default: a fixed set of real videos)")
    ap.add_argument("--all", action="store_true", help="every video of index.csv")
    ap.add_argument("--synthetic", action="store_true",
                    help="PCK and athlete share on rendered demo workouts instead")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1001, 1002, 1003],
                    help="workout seeds for --synthetic (the demo workspace uses 0..)")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each synthetic workout")
    args = ap.parse_args(argv)
    if args.synthetic:
        return synthetic(args.seeds, args.seconds, ensure_models())
    if args.videos:
        paths = [Path(v) for v in args.videos]
    else:
        with open(REAL_VIDEOS / "index.csv", newline="") as f:
            names = [r["file"] for r in csv.DictReader(f)]
        paths = [REAL_VIDEOS / n for n in (names if args.all else DEFAULT) if n in names]
    models = ensure_models()
    print(f"pose track benchmark, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}; LiteRT, 2 threads; default sampling (<= 15 fps)")
    head = (f"{'video':44s} {'size':>9s} {'fps':>5s} {'frames':>6s} {'step':>4s} {'track s':>7s} "
            f"{'frames/s':>8s} {'x real':>6s} {'decode x':>8s} {'lm ms':>6s} {'det ms':>6s} "
            f"{'det n':>5s} {'pose %':>6s} {'lost':>4s}")
    print(head)
    totals = []
    for path in paths:
        est = PoseEstimator(models)
        t0 = time.perf_counter()
        track = compute_track(path, estimator=est)
        wall = time.perf_counter() - t0
        dec = decode_only(path, track.step)
        ms = est.ms_per_frame()
        duration = track.video_frames / track.fps if track.fps else float("nan")
        s = track.summary()
        print(f"{path.name[:44]:44s} {track.width:>4d}x{track.height:<4d} {track.fps:5.1f} "
              f"{track.video_frames:6d} {track.step:4d} {wall:7.2f} {track.video_frames / wall:8.1f} "
              f"{duration / wall:6.2f} {duration / dec:8.1f} {ms['landmark']:6.1f} "
              f"{ms['detector']:6.1f} {len(est.timings.detector):5d} "
              f"{100 * s['share_with_pose']:6.1f} {len(s['lost_ranges']):4d}", flush=True)
        totals.append((track.height if track.width >= track.height else track.width,
                       duration / wall))
        contact_sheet(path, track, OUT / f"{path.stem}.png")
    for res in sorted({r for r, _ in totals}):
        xs = [x for r, x in totals if r == res]
        print(f"short side {res}: {len(xs)} videos, x real time min {min(xs):.2f}, "
              f"median {float(np.median(xs)):.2f}")
    print(f"contact sheets: {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
