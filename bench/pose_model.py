"""The pose model and the pose rep counter / judge on synthetic motion (no real footage involved).

    .venv/bin/python bench/pose_model.py [--out models/pose-synth] [--n-train 12000] [--n-val 3000]
        [--epochs 10] [--seed 0] [--test-workouts 60] [--skip-train] [--json]

1. generation speed: synthetic pose tracks (`core.demo.motion`) per second, in reps/s, 1 and 2 workers;
2. trains the full pose model (`train_pose_model`, target <= 5 min on 2 cores) into --out;
3. held-out synthetic workouts (seeds disjoint from train and val: `demo_plans`-style WODs and random
   plans, with no-reps, `motion.varied_config`): clip top-1 per movement on the true reps and on rest
   windows, confusion; held-out tracks outside the nine (`motion.other_track`): share of windows
   called none / none or low confidence, per kind;
4. the rep counter given the true sets: count MAE / off-by-one / exact; the judge: no-rep precision and
   recall against the generator's ground truth (all views, and side views only);
5. inference ms per clip (one clip per call, after warm-up).

All figures are synthetic: a pose model trained and measured on the demo figure's motion is not
measured on real footage here.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from core.pose import reps as PR  # noqa: E402
from core.base.progress import print_progress  # noqa: E402
from core.demo import motion as M  # noqa: E402
from core.demo.synthetic import demo_plans  # noqa: E402
from core.modeling import pose_model as PM  # noqa: E402


def bench_generation(n: int = 60) -> dict:
    out = {}
    for workers in (1, 2):
        t = time.perf_counter()
        trs = M.generate_tracks(range(800_000, 800_000 + n), M.MotionConfig(norep_p=0.15), workers=workers)
        dt = time.perf_counter() - t
        reps = sum(len(tr.reps) for tr in trs)
        frames = sum(tr.n_video_frames for tr in trs)
        out[f"workers_{workers}"] = {"tracks": n, "reps": reps, "seconds": round(dt, 2), "reps_per_s": round(reps / dt, 1),
                                     "video_frames_per_s": round(frames / dt)}
    return out


def heldout_tracks(n: int, plans_seed: int, seed0: int) -> list:
    """Held-out workouts with no-reps: half demo-style WODs (`demo_plans(plans_seed)`, other seeds than
    the demo's) and half random plans; track seeds seed0, seed0 + 1, ..."""
    half = n // 2
    plans = demo_plans(seed=plans_seed, n_videos=max(6, half), target_seconds=60)[:half]
    seeds = [seed0 + i for i in range(n)]
    workouts = plans + [M.random_workout(s) for s in seeds[half:]]
    return M.generate_tracks(seeds, M.varied_config(norep_p=0.25), workers=2, workouts=workouts)


def test_tracks(n: int, seed: int) -> list:
    """The test workouts (`heldout_tracks`)."""
    return heldout_tracks(n, 9000 + seed, 9_000_000 + seed * 1000)


def other_eval(model, n: int, seed: int) -> dict:
    """Held-out tracks of movements outside the nine (`motion.other_track`, other seeds than training):
    per kind the share of 1.5 s / 3 s windows called none, and marked low confidence (top < 0.5)."""
    from core.inference import pose_predict as PP

    trs = M.generate_tracks([9_500_000 + seed * 1000 + i for i in range(n)], M.varied_config(), workers=2,
                            workouts=["other"] * n)
    per: dict = {}
    for tr in trs:
        ranges = PP.window_ranges(int(tr.frames[0]), int(tr.frames[-1]), tr.fps)
        p = PM.predict_clips(model, tr.arrays(), ranges, tr.fps)
        none = p.argmax(-1) == model.labels.index("none")
        low = none | (p.max(-1) < PP.LOW_CONFIDENCE)
        for k in tr.meta["other"]:
            d = per.setdefault(k, [0, 0, 0])
            d[0] += int(none.sum())
            d[1] += int(low.sum())
            d[2] += len(none)
    out = {k: {"none": round(a / c, 3), "none_or_low": round(b / c, 3), "windows": c} for k, (a, b, c) in per.items()}
    tot = np.array(list(per.values())).sum(0)
    out["all"] = {"none": round(tot[0] / tot[2], 3), "none_or_low": round(tot[1] / tot[2], 3), "windows": int(tot[2])}
    return out


def clip_eval(model, tracks) -> dict:
    C = len(model.labels)
    conf = np.zeros((C, C), np.int64)
    none = C - 1
    rng = np.random.default_rng(5)
    for tr in tracks:
        arr = tr.arrays()
        ranges = [(r["start"], r["end"]) for r in tr.reps]
        ys = [model.labels.index(r["label"]) for r in tr.reps]
        fl = tr.frame_labels()
        for _ in range(6):   # rest windows of 1-3 s with no movement frames
            d = int(rng.uniform(1, 3) * tr.fps)
            if d >= tr.n_video_frames:
                continue
            a = int(rng.integers(0, tr.n_video_frames - d))
            if (fl[a:a + d] < 0).all():
                ranges.append((a, a + d - 1))
                ys.append(none)
        if not ranges:
            continue
        pred = PM.predict_clips(model, arr, ranges, tr.fps).argmax(-1)
        np.add.at(conf, (np.array(ys), pred), 1)
    per = {model.labels[c]: (round(float(conf[c, c] / conf[c].sum()), 3) if conf[c].sum() else None) for c in range(C)}
    mov = conf[:none, :]
    return {"rep_clips_top1": round(float(np.trace(mov[:, :none]) / max(mov.sum(), 1)), 4),
            "all_top1": round(float(np.trace(conf) / max(conf.sum(), 1)), 4),
            "per_class": per, "confusion": conf.tolist(), "n": int(conf.sum())}


def inference_ms(model, track, n: int = 50) -> float:
    r = track.reps[0]
    arr = track.arrays()
    for _ in range(3):
        PM.predict_clip(model, arr, r["start"], r["end"])
    t = time.perf_counter()
    for _ in range(n):
        PM.predict_clip(model, arr, r["start"], r["end"])
    return (time.perf_counter() - t) / n * 1000


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(ROOT / "models" / "pose-synth"))
    ap.add_argument("--n-train", type=int, default=12000)
    ap.add_argument("--n-val", type=int, default=3000)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--test-workouts", type=int, default=60)
    ap.add_argument("--skip-train", action="store_true", help="measure the model already in --out")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    res: dict = {}
    res["generation"] = bench_generation()
    if not a.skip_train:
        t = time.perf_counter()
        m = PM.train_pose_model(a.out, n_train=a.n_train, n_val=a.n_val, epochs=a.epochs, seed=a.seed,
                                progress=print_progress)
        res["train"] = {"seconds": round(time.perf_counter() - t, 1), "val_top1": round(m["val_top1"], 4),
                        "best_epoch": m["best_epoch"], "generate_s": m["generate_s"],
                        "val_per_class": {k: (round(v, 3) if v is not None else None) for k, v in m["val_per_class"].items()},
                        "val_confusion": m["val_confusion"]}
    model = PM.load_pose_model(a.out)
    tracks = test_tracks(a.test_workouts, a.seed)
    res["test_tracks"] = {"tracks": len(tracks), "reps": sum(len(t.reps) for t in tracks),
                          "no_reps": sum(not r["valid"] for t in tracks for r in t.reps)}
    res["clips"] = clip_eval(model, tracks)
    res["outside_nine"] = other_eval(model, max(10, a.test_workouts // 3), a.seed)
    res["reps_all_views"] = PR.evaluate_tracks(tracks)
    side = [t for t in tracks if abs(t.meta["yaw_deg"]) >= 45]
    res["reps_side_views"] = {k: v for k, v in PR.evaluate_tracks(side).items() if k != "per_movement"}
    res["reps_side_views"]["tracks"] = len(side)
    res["inference_ms_per_clip"] = round(inference_ms(model, tracks[0]), 2)
    if a.json:
        print(json.dumps(res, indent=1))
        return 0
    g = res["generation"]
    print(f"generation: {g['workers_1']['reps_per_s']} reps/s (1 worker), {g['workers_2']['reps_per_s']} reps/s (2)")
    if "train" in res:
        tr = res["train"]
        print(f"train: {tr['seconds']} s (data {tr['generate_s']} s), best epoch {tr['best_epoch']}, "
              f"val top-1 {tr['val_top1']}")
    c = res["clips"]
    print(f"held-out synthetic: rep clips top-1 {c['rep_clips_top1']}, with rest windows {c['all_top1']} (n={c['n']})")
    for k, v in c["per_class"].items():
        print(f"  {k:>18s} {v}")
    print("outside the nine (held-out other_track windows): " + ", ".join(
        f"{k} {v['none']:.2f}/{v['none_or_low']:.2f}" for k, v in res["outside_nine"].items()) + "  (none / none or low)")
    labels = model.labels
    print("confusion (rows true, cols predicted): " + " ".join(s[:5] for s in labels))
    for k, row in zip(labels, c["confusion"]):
        print(f"  {k[:12]:>12s} " + " ".join(f"{x:5d}" for x in row))
    for name in ("reps_all_views", "reps_side_views"):
        r = res[name]
        print(f"{name}: sets {r['sets']}, count MAE {r['count_mae']:.3f}, off-by-one {r['off_by_one']:.3f}, "
              f"exact {r['exact']:.3f}; no-rep P {r['norep_precision']} R {r['norep_recall']} {r['norep_counts']}"
              f" by variant {r['norep_recall_by_variant']}")
    for k, v in res["reps_all_views"]["per_movement"].items():
        print(f"  {k:>18s} sets {v['sets']:3d} MAE {v['mae']:.2f} off-by-one {v['off_by_one']:.2f} bias {v['bias']:+.2f}")
    print(f"inference: {res['inference_ms_per_clip']} ms per clip")
    Path(ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "out" / "pose_model.json").write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
