"""Prediction latency on this machine: reference TensorFlow path vs the fast exact CPU path.

For MoViNet-A2-Base (10 frames at 224x224) and MoViNet-A0-Base (10 frames at 172x172), with
random weights (randomised so every layer shapes the output; speed does not depend on the
values), on a clip from a real mp4 decoded with core.media.video.load_clip:

- model only: median latency of one clip through the model (probabilities out);
- end to end: decode + sample + preprocess (load_clip) + model;

for the reference path (the Model Garden layers as built) and the fast path
(core.modeling.fastpath.fast_model) in the same run, their ratio, and the maximum absolute difference
between the two paths' probabilities (over the measured clips). With --tflite, also the float
TF Lite conversion of the fast path's SavedModel (core.modeling.movinet.export_model + core.evaluation.export, run by
core.inference.loader.TFLiteModel: LiteRT with XNNPACK), model only and end to end.

Cold load: the model exported as training exports it, then opened in a fresh Python process that
predicts one clip, `--cold-reps` times per path, alternating: the old path rebuilds the Keras model
(core.modeling.movinet.load_model, its fast path traced again), the new one is core.inference.loader
opening the stamped SavedModel. Reported per path (medians): import (interpreter start, numpy,
TensorFlow, the loader), load, first prediction, and from process start to the first prediction;
the ratio old/new of "ready" (load + first prediction, what a running app waits for) and of the
total; and max |p_new - p_old| on that clip.

    .venv/bin/python bench/predict.py [--models a2,a0] [--reps 15] [--ref-reps 3] [--cold-reps 3]
                                      [--tflite] [--json]

Targets: A2-Base end to end <= 0.25 s median on the 2-core machine (>= 25x reference; issue 7);
a registered model ready to predict in <= 5 s (issue 18).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from core.modeling import fastpath  # noqa: E402
from core.modeling import movinet as M  # noqa: E402
from core.media.video import load_clip, probe  # noqa: E402

tf.get_logger().setLevel("ERROR")
REAL_VIDEOS = Path(os.environ.get("REAL_VIDEOS", ROOT.parent / "shared" / "real_videos"))
DEFAULT_VIDEO = REAL_VIDEOS / "kbtrainer__burpee.mp4"
SIZES = {"a0": 172, "a1": 172, "a2": 224, "a3": 256, "a4": 290, "a5": 320}


def _times(fn, reps: int) -> tuple[list, object]:
    times, out = [], None
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return times, out


def _stat(times: list) -> dict:
    return {"median": round(statistics.median(times), 4), "min": round(min(times), 4)}


def bench_tflite(model, model_id: str, frames: int, size: int, clip, decode, reps: int, p_fast) -> dict:
    """Convert the model as core.evaluation.export does (SavedModel traced with the fast ops, float TF Lite)."""
    import tempfile

    from core.evaluation import export as X
    from core.inference.loader import TFLiteModel

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        M.export_model(model, tmp, [str(i) for i in range(9)], frames, size)
        data = X.convert_tflite(Path(tmp) / "saved_model")
        (Path(tmp) / "model.tflite").write_bytes(data)
        convert_s = time.perf_counter() - t
        lite = TFLiteModel(Path(tmp) / "model.tflite")
        lite(clip)  # allocation, XNNPACK delegate set-up
        model_t, p_lite = _times(lambda: lite(clip), reps)
        e2e_t, _ = _times(lambda: lite(decode()), reps)
    return {"convert_s": round(convert_s, 1), "model_only_s": _stat(model_t), "end_to_end_s": _stat(e2e_t),
            "max_abs_prob_diff_vs_fast": float(np.abs(np.asarray(p_lite) - np.asarray(p_fast)).max())}


# One cold load in a fresh process: argv = folder, path ('rebuild' | 'loader'), the parent's spawn time.
COLD_CHILD = r"""
import json, sys, time
t_spawn, folder, path = float(sys.argv[3]), sys.argv[1], sys.argv[2]
import numpy as np
import tensorflow
from core.inference import loader
t_import = time.time()
if path == "rebuild":
    from core.modeling.movinet import load_model
    fn = load_model(folder).predictor("fast")
else:
    entry = loader.load({"id": "bench", "labels": json.load(open(folder + "/labels.json"))}, folder)
    assert type(entry.loaded).__name__ == "SavedModelForm", "the SavedModel was not opened"
    fn = entry.predict_fn("fast")
t_load = time.time()
p = fn(np.load(folder + "/../clip.npy"))
t_first = time.time()
np.save(folder + "/../p_" + path + ".npy", p)
print(json.dumps({"import": t_import - t_spawn, "load": t_load - t_import, "first_prediction": t_first - t_load,
                  "total": t_first - t_spawn}))
"""


def bench_cold_load(model, model_id: str, frames: int, size: int, clip, reps: int) -> dict:
    """Cold-load seconds of the old path (rebuild) and the new one (stamped SavedModel); see the module doc."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        M.export_model(model, folder, [str(i) for i in range(9)], frames, size)
        np.save(Path(tmp) / "clip.npy", clip)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
        runs = {"rebuild": [], "loader": []}
        for _ in range(reps):
            for path in runs:
                out = subprocess.run([sys.executable, "-c", COLD_CHILD, str(folder), path, repr(time.time())],
                                     cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
                if out.returncode != 0:
                    raise RuntimeError(f"cold load ({path}) failed:\n{out.stderr[-3000:]}")
                runs[path].append(json.loads(out.stdout.strip().splitlines()[-1]))
        diff = float(np.abs(np.load(Path(tmp) / "p_loader.npy") - np.load(Path(tmp) / "p_rebuild.npy")).max())
    med = {path: {k: round(statistics.median(r[k] for r in rs), 2) for k in rs[0]} for path, rs in runs.items()}
    for m in med.values():
        m["ready"] = round(m["load"] + m["first_prediction"], 2)
    old, new = med["rebuild"], med["loader"]
    return {"reps": reps, "rebuild": old, "saved_model": new,
            "ratio_ready": round(old["ready"] / new["ready"], 1), "ratio_total": round(old["total"] / new["total"], 1),
            "max_abs_prob_diff": diff}


def bench_model(model_id: str, video: Path, frames: int, reps: int, ref_reps: int, tflite: bool = False,
                cold_reps: int = 0) -> dict:
    size = SIZES[model_id]
    info = probe(video)
    span = int(min(info.frames - 1, round(2 * info.fps)))  # a ~2 s rep in the middle
    start = max(0, info.frames // 2 - span // 2)
    end = start + span

    def decode():
        return load_clip(video, start, end, n=frames, size=size)

    t = time.perf_counter()
    model = M.build_model(model_id, "base", num_classes=9, frames=frames, resolution=size)
    fastpath.randomize_weights(model, seed=0)
    build_s = time.perf_counter() - t
    fast, ref = fastpath.fast_model(model), fastpath.reference_model(model)
    clip = decode()

    # Warm-up: tracing and first-call graph optimisation are one-off costs, reported apart.
    t = time.perf_counter()
    fast(clip)
    fast_warm_s = time.perf_counter() - t
    t = time.perf_counter()
    ref(clip)
    ref_warm_s = time.perf_counter() - t

    decode_t, _ = _times(decode, reps)
    fast_model_t, p_fast = _times(lambda: fast(clip), reps)
    fast_e2e_t, _ = _times(lambda: fast(decode()), reps)
    ref_model_t, p_ref = _times(lambda: ref(clip), ref_reps)
    ref_e2e_t, _ = _times(lambda: ref(decode()), ref_reps)
    med = statistics.median

    # Exactness on a second real clip as well.
    other = load_clip(video, max(0, start - span), max(1, start), n=frames, size=size)
    diff = max(float(np.abs(p_fast - p_ref).max()), float(np.abs(fast(other) - ref(other)).max()))
    lite = bench_tflite(model, model_id, frames, size, clip, decode, reps, p_fast) if tflite else None
    cold = bench_cold_load(model, model_id, frames, size, clip, cold_reps) if cold_reps > 0 else None
    return {
        "tflite": lite, "cold_load_s": cold,
        "model": f"{model_id}-base", "frames": frames, "size": size, "video": video.name,
        "clip_frames": [start, end], "build_s": round(build_s, 2),
        "warmup_s": {"fast": round(fast_warm_s, 2), "reference": round(ref_warm_s, 2)},
        "decode_preprocess_s": _stat(decode_t),
        "model_only_s": {"reference": _stat(ref_model_t), "fast": _stat(fast_model_t),
                         "ratio_of_medians": round(med(ref_model_t) / med(fast_model_t), 1)},
        "end_to_end_s": {"reference": _stat(ref_e2e_t), "fast": _stat(fast_e2e_t),
                         "ratio_of_medians": round(med(ref_e2e_t) / med(fast_e2e_t), 1)},
        "max_abs_prob_diff": diff,
        "reps": {"fast": reps, "reference": ref_reps},
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="a2,a0")
    ap.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--reps", type=int, default=15, help="timed runs of the fast path")
    ap.add_argument("--ref-reps", type=int, default=3, help="timed runs of the (slow) reference path")
    ap.add_argument("--tflite", action="store_true", help="also time the float TF Lite conversion")
    ap.add_argument("--cold-reps", type=int, default=3,
                    help="fresh processes per path for the cold-load figure (0: skip it)")
    ap.add_argument("--json", action="store_true", help="print one JSON object only")
    args = ap.parse_args(argv)
    results = []
    for model_id in args.models.split(","):
        r = bench_model(model_id.strip(), args.video, args.frames, args.reps, args.ref_reps, args.tflite,
                        args.cold_reps)
        results.append(r)
        if not args.json:
            m, e, d = r["model_only_s"], r["end_to_end_s"], r["decode_preprocess_s"]

            def ms(x):
                return f"{x['median'] * 1000:8.1f} ms (min {x['min'] * 1000:7.1f})"

            print(f"{r['model']} {r['frames']}x{r['size']}^2 on {r['video']} frames {r['clip_frames']} "
                  f"(cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}), medians:\n"
                  f"  decode+preprocess                 {ms(d)}\n"
                  f"  model only   reference {ms(m['reference'])}   fast {ms(m['fast'])}"
                  f"   ratio {m['ratio_of_medians']:5.1f}x\n"
                  f"  end to end   reference {ms(e['reference'])}   fast {ms(e['fast'])}"
                  f"   ratio {e['ratio_of_medians']:5.1f}x\n"
                  f"  max |p_fast - p_ref| = {r['max_abs_prob_diff']:.2e}   "
                  f"(one-off: build {r['build_s']} s, first call fast {r['warmup_s']['fast']} s, "
                  f"reference {r['warmup_s']['reference']} s)", flush=True)
            if r["tflite"]:
                lt = r["tflite"]
                print(f"  TF Lite float: model only {ms(lt['model_only_s'])}   end to end {ms(lt['end_to_end_s'])}"
                      f"   max |p_tflite - p_fast| = {lt['max_abs_prob_diff_vs_fast']:.2e}"
                      f"   (conversion {lt['convert_s']} s)", flush=True)
            if r["cold_load_s"]:
                c = r["cold_load_s"]

                def phases(x):
                    return (f"import {x['import']:5.2f} + load {x['load']:5.2f} + first prediction "
                            f"{x['first_prediction']:5.2f} = {x['total']:5.2f} s (ready {x['ready']:5.2f} s)")

                print(f"  cold load, fresh process, median of {c['reps']}:\n"
                      f"    rebuilt (old)      {phases(c['rebuild'])}\n"
                      f"    SavedModel (new)   {phases(c['saved_model'])}\n"
                      f"    ratio old/new: ready {c['ratio_ready']}x, total {c['ratio_total']}x;   "
                      f"max |p_new - p_old| = {c['max_abs_prob_diff']:.2e}", flush=True)
    if args.json:
        print(json.dumps({"cpu_count": os.cpu_count(), "load_average": os.getloadavg(),
                          "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
