"""The pose judge on real single-rep clips with another person in the frame (a judge, another athlete).

    .venv/bin/python bench/pose_crowd.py --model ID --workspace DIR [--per-video 2] [--modes alone,still,beside,far]

Competition clips have judges and other athletes in frame; the shared real videos have one person each.
So each clip of `bench/pose_real.py --clips` (its cache in bench/out/pose_real/clips names the clips: run
that first) is put beside a second real person, from another shared video, and written as a new video:

- alone:  the clip as it is (the reference, same clips);
- still:  beside a person standing still (a judge), as tall as the athlete;
- beside: beside a person doing jumping jacks, as tall as the athlete (two athletes, other movements);
- far:    the jumping jacks at 0.6 of the height (an athlete further back);
- wide:   the clip at half the height of a 854x480 landscape frame, centred (a wide competition shot at 480p:
          the athlete small, the detector's whole-frame view too coarse for them);
- wide_crowd: as wide, with the still judge beside the athlete as tall, and the jumping jacks at 0.8 of
          their height on the other side (a floor with a judge and the next lane's athlete).

Each video is tracked (`compute_track`: the product chooses the athlete) and classified (`predict_track`)
as the product does. Printed per mode: clip top-1 against class_match, the share of clips whose track
is on the athlete (its hips within the athlete's part of the frame), and the share the product warns about
(`others_moving`: another person moved about as much). These are composites of real people, not
competition footage.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402

import pose_real as PR  # noqa: E402
from core.base.workspace import Workspace  # noqa: E402
from core.inference import pose_predict as PP  # noqa: E402
from core.media.video import VideoReader  # noqa: E402
from core.modeling.pose_model import load_pose_model  # noqa: E402
from core.modeling.registry import list_models  # noqa: E402
from core.pose.landmarks import INDEX  # noqa: E402
from core.pose.track import compute_track  # noqa: E402

STILL = ("kbtrainer__kbBackLunge.mp4", 0)           # standing before the first lunge
MOVER = ("kbtrainer__polichinelo_.mp4", 30, 120)    # jumping jacks
MODES = ("alone", "still", "beside", "far", "wide", "wide_crowd")
# (who, height as a share of the frame height) left to right; the frame is the clip's height unless WIDE
LAYOUTS = {"alone": [("athlete", 1.0)], "still": [("still", 1.0), ("athlete", 1.0)],
           "beside": [("mover", 1.0), ("athlete", 1.0)], "far": [("mover", 0.6), ("athlete", 1.0)],
           "wide": [("athlete", 0.5)], "wide_crowd": [("still", 0.5), ("athlete", 0.5), ("mover", 0.4)]}
WIDE = (854, 480)
BACKGROUND = 90


def frames(path: Path, a: int, b: int) -> list[np.ndarray]:
    with VideoReader(path) as r:
        return list(r.frames(a, b))


def fit(img: np.ndarray, h: int) -> np.ndarray:
    w = max(2, int(round(img.shape[1] * h / img.shape[0])) // 2 * 2)
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)


def composite(clip: list[np.ndarray], mode: str, still: np.ndarray, mover: list[np.ndarray]) -> tuple[list, tuple]:
    """The frames, people standing on one floor line side by side, and the x range of the athlete's part."""
    wide = mode.startswith("wide")
    h = WIDE[1] if wide else clip[0].shape[0] // 2 * 2
    out, span = [], (0, 0)
    for i, f in enumerate(clip):
        source = {"athlete": f, "still": still, "mover": mover[i % len(mover)]}
        parts = [fit(source[who], max(2, int(h * share) // 2 * 2)) for who, share in LAYOUTS[mode]]
        width = WIDE[0] if wide else sum(p.shape[1] for p in parts)
        img = np.full((h, width, 3), BACKGROUND, np.uint8)
        floor = int(h * 0.92) if wide else h
        x = (width - sum(p.shape[1] for p in parts)) // 2
        for (who, _), p in zip(LAYOUTS[mode], parts):
            top = max(0, floor - p.shape[0])
            img[top:top + p.shape[0], x:x + p.shape[1]] = p[:h - top]
            if who == "athlete":
                span = (x, x + p.shape[1])
            x += p.shape[1]
        out.append(img)
    return out, span


def write(path: Path, imgs: list[np.ndarray], fps: float) -> None:
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=int(round(fps)))
        s.pix_fmt, s.width, s.height = "yuv420p", imgs[0].shape[1], imgs[0].shape[0]
        for img in imgs:
            for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def judge_file(model, path: Path, span: tuple | None = None, reps: bool = False) -> dict:
    """The product's answer on a video file, tracked on its own (`predict_track`'s result, or movement "none"
    when no athlete is found), with "on_athlete" (the track's hips within the x range `span`; True without
    one), "others_moving" and "frames" (the file's frame count)."""
    tr = compute_track(path)
    arrays = tr.arrays()
    if len(tr) and tr.has_pose.mean() >= PP.MIN_POSE_SHARE:
        out = PP.predict_track(model, model.labels, arrays, int(tr.frames[0]), int(tr.frames[-1]), tr.fps, reps=reps)
        x = float(np.nanmedian(arrays["xy"][:, [INDEX["left_hip"], INDEX["right_hip"]], 0]))
    else:
        out, x = {"movement": "none", "reps": None, "low_confidence": True}, float("nan")
    return {**out, "on_athlete": span is None or span[0] <= x < span[1], "others_moving": tr.others_moving,
            "frames": tr.video_frames}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="a registered pose model id")
    ap.add_argument("--workspace", required=True)
    ap.add_argument("--per-video", type=int, default=2)
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--verbose", action="store_true", help="a line per clip")
    a = ap.parse_args(argv)
    ws = Workspace(a.workspace)
    row = next((m for m in list_models(ws.store(), kind="pose") if m["id"] == a.model), None)
    if row is None:
        print(f"no pose model {a.model} in {ws.root}", file=sys.stderr)
        return 2
    model = load_pose_model(Path(row["path"]) if Path(row["path"]).is_absolute() else ws.root / row["path"])
    with open(PR.REAL_VIDEOS / "index.csv", newline="") as f:
        index = {r["file"]: r for r in csv.DictReader(f)}
    by_video: dict[str, list] = {}
    for p in sorted((PR.OUT / "clips").glob("*.pose.npz")):
        m = re.match(r"(.*)\.(\d+)-(\d+)\.pose\.npz$", p.name)
        if m and m.group(1) + ".mp4" in index:
            by_video.setdefault(m.group(1) + ".mp4", []).append((int(m.group(2)), int(m.group(3))))
    if not by_video:
        print("no clips: run bench/pose_real.py --clips N first", file=sys.stderr)
        return 2
    clips = []
    for name, ranges in sorted(by_video.items()):
        ranges = sorted(ranges)
        picks = np.linspace(0, len(ranges) - 1, min(a.per_video, len(ranges))).round().astype(int)
        clips += [(name, ranges[i]) for i in sorted(set(picks))]
    still = frames(PR.REAL_VIDEOS / STILL[0], STILL[1], STILL[1])[0]
    mover = frames(PR.REAL_VIDEOS / MOVER[0], MOVER[1], MOVER[2])
    res = {}
    with tempfile.TemporaryDirectory(prefix="pose-crowd-") as tmp:
        for mode in a.modes.split(","):
            ok = on = warned = 0
            for name, (s, e) in clips:
                _, names = PR.class_match(index[name]["notes"])
                imgs, span = composite(frames(PR.REAL_VIDEOS / name, s, e), mode, still, mover)
                path = Path(tmp) / f"{mode}.mp4"
                write(path, imgs, float(index[name]["fps"]))
                got = judge_file(model, path, span)
                ans = got["movement"]
                ok += ans in names
                on += got["on_athlete"]
                warned += got["others_moving"] > 0
                if a.verbose:
                    print(f"  {mode:7s} {name[:40]:40s} {s:5d}-{e:<5d} {ans:18s} {'y' if ans in names else 'n'} "
                          f"on athlete {'y' if got['on_athlete'] else 'n'} others moving {got['others_moving']}",
                          flush=True)
            n = len(clips)
            res[mode] = {"clips": n, "top1": round(ok / n, 3), "on_athlete": round(on / n, 3),
                         "warned": round(warned / n, 3)}
            print(f"{mode:7s} clips {n}  top-1 {ok / n:.3f}  track on the athlete {on / n:.3f}  "
                  f"warned (another person moved as much) {warned / n:.3f}", flush=True)
    if a.json:
        print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
