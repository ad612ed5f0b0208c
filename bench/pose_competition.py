"""Real single reps in the form of the judged competition clips: fast, one rep, some as GIFs, some small
in a wide shot beside other people.

    .venv/bin/python bench/pose_competition.py --model ID --workspace DIR [--forms as_is,tempo,gif,crowd]
        [--videos NAME ...] [--verbose] [--json]

The judged clips are single reps at competition tempo (MOVEMENTS.md: 0.48 s a double-under to 2.2 s a
power clean, some 13 frames), 480p and 720p, some GIFs, with judges and other athletes in frame. The shared
real videos are slow demonstrations (2-4 s a rep) of one person. So each hand-counted rep of
bench/real_rep_counts.csv (cut as `pose_real.hand_clip_ranges`: one rep period centred on the counted
time) is written as a new file in each form:

- as_is: the clip as it is (the reference, same reps);
- tempo: re-timed to its movement's mean competition rep (`REP_FRAMES_30FPS`), frames dropped evenly,
         at 30 fps: a real athlete moving at competition speed (no extra motion blur);
- gif:   the tempo clip as a GIF at 15 fps (adaptive 256-colour palette, half the frames);
- crowd: the tempo clip at half the height of an 854x480 frame with a still judge beside the athlete and
         another person doing jumping jacks (`pose_crowd`'s wide_crowd layout).

Each file is tracked (`compute_track`, the product choosing the athlete) and judged as the product does
(`pose_predict.predict_track` with reps). Printed per form: top-1 against the hand count's class_match,
the share of crowd clips whose track is on the athlete (hips in their part of the frame), the clips' frame counts and, of the clips it got wrong, what it said; with --verbose a line per clip with
the reps counted (full + partial). The clips are centred on the counted time (a squat's bottom, a pull's
top), not cut from a rep's start to its end as the judged clips are, so two partial halves can be the right
count there. Real people, re-timed and re-framed: not competition footage.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402

import pose_crowd as PC  # noqa: E402
import pose_real as PR  # noqa: E402
from core.base.labels import REP_FRAMES_30FPS  # noqa: E402
from core.base.workspace import Workspace  # noqa: E402
from core.media.video import probe  # noqa: E402
from core.modeling.pose_model import load_pose_model  # noqa: E402
from core.modeling.registry import model_dir, resolve_model  # noqa: E402

FORMS = ("as_is", "tempo", "gif", "crowd")
GIF_FPS = 15


def retime(imgs: list, movement: str, fps: float) -> list:
    """The frames of one rep dropped evenly to last the movement's mean competition rep at `fps`."""
    n = max(2, int(round(REP_FRAMES_30FPS[movement][0] * fps / 30.0)))
    if n >= len(imgs):
        return imgs
    return [imgs[int(i)] for i in np.linspace(0, len(imgs) - 1, n).round()]


def write_gif(path: Path, imgs: list, fps: float) -> None:
    from PIL import Image

    pics = [Image.fromarray(np.ascontiguousarray(i)).quantize(256, dither=Image.Dither.FLOYDSTEINBERG) for i in imgs]
    pics[0].save(path, save_all=True, append_images=pics[1:], duration=int(round(1000 / fps)), loop=0)


def make_form(form: str, imgs: list, movement: str, fps: float, still, mover, out: Path) -> tuple[Path, tuple | None]:
    """The clip's file in `form`, and in the crowd form the x range of the athlete's part of the frame."""
    if form == "as_is":
        PC.write(out.with_suffix(".mp4"), imgs, fps)
        return out.with_suffix(".mp4"), None
    fast = retime(imgs, movement, 30.0)
    if form == "tempo":
        PC.write(out.with_suffix(".mp4"), fast, 30.0)
        return out.with_suffix(".mp4"), None
    if form == "gif":
        write_gif(out.with_suffix(".gif"), fast[::2], GIF_FPS)
        return out.with_suffix(".gif"), None
    if form == "crowd":
        frames, span = PC.composite(fast, "wide_crowd", still, mover)
        PC.write(out.with_suffix(".mp4"), frames, 30.0)
        return out.with_suffix(".mp4"), span
    raise ValueError(form)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="a registered pose model id (or 'best')")
    ap.add_argument("--workspace", required=True)
    ap.add_argument("--forms", default=",".join(FORMS))
    ap.add_argument("--videos", nargs="*")
    ap.add_argument("--verbose", action="store_true", help="a line per clip")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    ws = Workspace(a.workspace)
    model = load_pose_model(model_dir(ws, resolve_model(ws.store(), a.model)))
    with open(PR.REAL_VIDEOS / "index.csv", newline="") as f:
        index = {r["file"]: r for r in csv.DictReader(f)}
    with open(PR.HAND_COUNTS, newline="") as f:
        hand = [h for h in csv.DictReader(f) if h.get("rep_times_s") and h["file"] in index]
    if a.videos:
        hand = [h for h in hand if h["file"] in a.videos or Path(h["file"]).stem in a.videos]
    still = PC.frames(PR.REAL_VIDEOS / PC.STILL[0], PC.STILL[1], PC.STILL[1])[0]
    mover = PC.frames(PR.REAL_VIDEOS / PC.MOVER[0], PC.MOVER[1], PC.MOVER[2])
    forms = a.forms.split(",")
    tally = {f: {"n": 0, "ok": 0, "on": 0, "frames": [], "wrong": Counter()} for f in forms}
    with tempfile.TemporaryDirectory(prefix="pose-competition-") as tmp:
        for h in hand:
            kind, names = PR.class_match(index[h["file"]]["notes"])
            if kind != "relative":
                continue
            path = PR.REAL_VIDEOS / h["file"]
            info = probe(path)
            for a_, b_ in PR.hand_clip_ranges(h, info.fps or 30.0, info.frames - 1):
                imgs = PC.frames(path, a_, b_)
                line = []
                for form in forms:
                    f, span = make_form(form, imgs, h["movement"], info.fps or 30.0, still, mover, Path(tmp) / form)
                    res = PC.judge_file(model, f, span, reps=True)
                    counted = res["reps"] or {}
                    t = tally[form]
                    ok = res["movement"] in names
                    t["n"] += 1
                    t["ok"] += ok
                    t["on"] += res["on_athlete"]
                    t["frames"].append(res["frames"])
                    if not ok:
                        t["wrong"][res["movement"]] += 1
                    line.append(f"{form}:{res['movement']}{'' if ok else '(x)'}{'' if res['on_athlete'] else '(off)'}/"
                                f"{counted.get('count', 0)}+{counted.get('partial', 0)}p/{res['frames']}f")
                if a.verbose:
                    print(f"  {h['file'][:36]:36s} {a_:5d}-{b_:<5d} " + "  ".join(line), flush=True)
    res = {}
    for form, t in tally.items():
        n = max(t["n"], 1)
        res[form] = {"clips": t["n"], "top1": round(t["ok"] / n, 3), "track_on_athlete": round(t["on"] / n, 3),
                     "frames_median": int(np.median(t["frames"])) if t["frames"] else 0,
                     "frames_min": int(min(t["frames"])) if t["frames"] else 0, "wrong_answers": dict(t["wrong"])}
        print(f"{form:6s} clips {t['n']}  top-1 {t['ok'] / n:.3f}  track on the athlete {t['on'] / n:.3f}  "
              f"frames median {res[form]['frames_median']} (min {res[form]['frames_min']})  wrong: "
              f"{dict(t['wrong'].most_common())}", flush=True)
    if a.json:
        print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
