"""Training throughput of MoViNet on this machine: clips per second for a0 and a2 at their native resolution.

    python bench/train.py [--frames 10] [--batch 2] [--steps 3] [--models a0,a2] [--reference]

For each model: build it from scratch (core.modeling.movinet.build_model, 9 classes), make core.modeling.train's own train
step (core.modeling.train.make_steps: softmax cross-entropy with label smoothing, one RMSprop update), run
one warm-up step (tracing), then `--steps` timed steps on random clips [batch, frames, res, res, 3]
(the data pipeline is left out: it reads JPEG frames from the cache and is not the bottleneck).

On a CPU the step is traced with core.modeling.fastpath.fast_ops (what training uses there); `--reference`
also times the Model Garden's own ops (XLA-compiled 3D depthwise convolutions; very slow on a CPU,
so only a0 at 1 step). Printed per configuration: seconds per step, clips/s, and CPU seconds per
clip (wall time on a shared machine understates what two dedicated cores do; CPU time does not).
When a GPU is visible it is timed too (reference ops, mixed precision as in training).
Results also go to bench/out/train.json.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

OUT = ROOT / "bench" / "out"


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(model_id: str, frames: int, batch: int, steps: int, device: str, fast: bool, mixed: bool = False) -> dict:
    import numpy as np
    import tensorflow as tf
    import tf_keras

    from core.modeling import train as tr
    from core.modeling.movinet import NATIVE_RESOLUTION, build_model

    res = NATIVE_RESOLUTION[model_id]
    tf_keras.mixed_precision.set_global_policy("mixed_float16" if mixed else "float32")
    with tf.device(device):
        t0 = time.perf_counter()
        model = build_model(model_id, "base", 9, frames, res)
        build_s = time.perf_counter() - t0
        cfg = tr.resolve_config("study", overrides={"model": model_id, "frames": frames, "batch_size": batch,
                                                    "pretrained": "none"})
        optimizer, _ = tr.make_optimizer(cfg, 100, 1000, mixed)
        tr.build_optimizer(optimizer, model.trainable_variables)
        train_step, _ = tr.make_steps(model, optimizer, tf.distribute.get_strategy(), 9, batch, 0.1, None, mixed)
        rng = np.random.default_rng(0)
        x = tf.constant(rng.random((batch, frames, res, res, 3), dtype=np.float32))
        y = tf.constant(rng.integers(0, 9, batch), tf.int32)
        t0 = time.perf_counter()
        with tr.train_ops(fast):
            train_step(x, y).numpy()
        warm_s = time.perf_counter() - t0
        c0, t0 = cpu_seconds(), time.perf_counter()
        for _ in range(steps):
            with tr.train_ops(fast):
                out = train_step(x, y)
        out.numpy()
        wall = (time.perf_counter() - t0) / steps
        cpu = (cpu_seconds() - c0) / steps
    tf_keras.mixed_precision.set_global_policy("float32")
    return {"model": model_id, "resolution": res, "frames": frames, "batch": batch, "device": device,
            "ops": "fast (2D)" if fast else "reference", "mixed_precision": mixed, "steps": steps,
            "build_s": round(build_s, 1), "first_step_s": round(warm_s, 1), "step_s": round(wall, 3),
            "clips_per_s": round(batch / wall, 2), "cpu_s_per_clip": round(cpu / batch, 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--models", default="a0,a2")
    ap.add_argument("--reference", action="store_true", help="also time the reference ops on the CPU (a0, 1 step)")
    args = ap.parse_args()

    import tensorflow as tf

    results = []
    load = os.getloadavg()
    print(f"CPU: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")

    def show(r):
        print(f"  {r['model']} {r['frames']}x{r['resolution']}² batch {r['batch']} on {r['device']} "
              f"[{r['ops']}{', mixed precision' if r['mixed_precision'] else ''}]: {r['step_s']:.2f} s/step, "
              f"{r['clips_per_s']:.2f} clips/s, {r['cpu_s_per_clip']:.2f} CPU-s/clip "
              f"(build {r['build_s']} s, first step {r['first_step_s']} s)", flush=True)
        results.append(r)

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    print("training throughput, CPU:")
    for m in models:
        show(measure(m, args.frames, args.batch, args.steps, "/CPU:0", fast=True))
    if args.reference:
        show(measure(models[0], args.frames, args.batch, 1, "/CPU:0", fast=False))
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        print(f"training throughput, GPU ({len(gpus)} visible, using the first):")
        for m in models:
            show(measure(m, args.frames, max(args.batch, 8), max(args.steps, 10), "/GPU:0", fast=False, mixed=True))
    else:
        print("no GPU visible: no GPU figure")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "train.json").write_text(json.dumps({"load": load, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
