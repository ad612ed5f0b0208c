"""Training: MoViNet on the clip cache, as a resumable run with a folder, metrics and an exported model.

    python -m core train [--workspace DIR] [--preset demo|study] [--config FILE.yaml|json]
                         [--model a0] [--variant base|stream] [--frames N] [--resolution R]
                         [--epochs E] [--batch-size B] [--optimizer rmsprop|adam|sgd] [--lr 0.01]
                         [--schedule cosine|constant] [--label-smoothing 0.1] [--freeze]
                         [--pretrained none|auto|PATH] [--seed S] [--run-id ID] [--resume]

Configuration
-------------
`DEFAULTS`, then the preset (`PRESETS`: ``demo`` - a0 base from scratch, 8 frames at 80², fast
on a 2-core CPU; ``study`` - the original study: A2-Base, 10 frames at 224², batch 8, 10 epochs,
RMSprop with cosine decay from 0.01, label smoothing 0.1, pretrained Kinetics-600 weights), then
a YAML/JSON config file, then the flags given on the command line (later wins). The result is
validated (`resolve_config`) and written to the run folder as ``config.json``.

Run folder ``<workspace>/runs/<run_id>/``
-----------------------------------------
- ``config.json``   the resolved configuration (a resumed run reads it back)
- ``log.txt``       the log. Under `core.modeling.jobs` the job runner writes the process's output there;
                    a plain command-line run tees its log lines into it itself.
- ``metrics.jsonl`` one JSON object per line: ``{"kind": "step", "epoch", "step", "loss", "top1",
                    "top5", "lr", "clips_per_s", "time"}`` after every optimizer step (train
                    batch) and ``{"kind": "epoch", "epoch", "step", "train_loss", "train_top1",
                    "train_top5", "val_loss", "val_top1", "val_top5", "best_val_top1",
                    "best_epoch", "seconds", "time"}`` at the end of every epoch (val computed then).
                    Steps are global (1, 2, …), epochs 1-based.
- ``tb/``           TensorBoard events (the same scalars; ``tensorboard --logdir runs``)
- ``ckpt/latest/``  `tf.train.CheckpointManager` checkpoints of model, optimizer and loop state
                    (epochs done, batches done in the current epoch, the epoch's running sums,
                    best val top-1): at every epoch end, every ``checkpoint_every_steps`` steps and
                    when stopped (SIGTERM / Ctrl-C)
- ``ckpt/best/``    the model weights of the epoch with the best val top-1 (val is used for model
                    selection only; the test split is never read here)

Resume (``--resume``): the configuration comes from ``config.json`` (flags given again override
it, e.g. more epochs), model, optimizer and loop state from the latest checkpoint; the epoch's
data order is a function of (seed, epoch), so the batches already done are skipped and the run
goes on exactly where the checkpoint was taken. Lines of ``metrics.jsonl`` written after that
checkpoint (the work a kill threw away) are dropped before new ones are appended, so no step or
epoch is ever listed twice.

At the end the best checkpoint's model is exported with `core.modeling.movinet.export_model` to
``<workspace>/models/<run_id>/`` and registered in the workspace's ``models`` table (id = run id,
path ``models/<run_id>`` relative to the workspace - `core.modeling.registry.model_dir` finds it there -,
labels, preprocessing {frames, resolution, crop}, metrics). A stopped run exports its best
checkpoint without the SavedModel (weights + descriptions, enough for `load_model`, evaluation and
prediction) so it can be evaluated at once; resuming it later exports again.

Devices: mixed precision (``mixed_float16``) on a GPU only (``mixed_precision: auto``);
`tf.distribute` - `MultiWorkerMirroredStrategy` when ``TF_CONFIG`` names several workers,
`MirroredStrategy` on several GPUs, the default strategy otherwise. On a CPU the train and eval
steps are traced with `core.modeling.fastpath.fast_ops` (the exact 2D form of MoViNet's 3D convolutions;
gradients included): 16-34x more training clips per CPU-second than the XLA-compiled 3D depthwise
convolutions there (`bench/train.py`).

The runs table: under `core.modeling.jobs` (detected by ``$WORKBENCH_JOB``, the job runner as parent
process, or an active run row launched with an argv) the job system owns the row's status; the
trainer only writes its ``summary`` (epochs done, best val top-1, model). A plain command-line run
creates or takes over the row itself (status, pid, start and end, summary) and tees its log.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Callable

from core.base.progress import print_progress
from core.base.store import now
from core.modeling import registry
from core.modeling.config import (DEFAULTS, TrainError, validate_config)
from core.base.workspace import Workspace

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RUN_FILES = ("config.json", "log.txt", "metrics.jsonl")
EXIT_STOPPED = {signal.SIGTERM: 143, signal.SIGINT: 130}


# ==============================================================================================
# Run folders, metrics, the runs and models tables
# ==============================================================================================

def run_dir(ws: Workspace, run_id: str) -> Path:
    return ws.runs_dir / run_id


def model_path(run_id: str) -> str:
    """Where a run's model is exported, relative to the workspace (as registered)."""
    return f"models/{run_id}"


def new_run_id() -> str:
    from core.modeling.jobs import new_run_id as new

    return new()


def write_config(ws: Workspace, run_id: str, cfg: dict) -> Path:
    folder = run_dir(ws, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(cfg, indent=2, sort_keys=True))
    os.replace(tmp, path)
    return path


def read_metrics(path_or_ws, run_id: str | None = None) -> list[dict]:
    """The lines of a run's metrics.jsonl (a half-written last line is skipped)."""
    path = run_dir(path_or_ws, run_id) / "metrics.jsonl" if run_id is not None else Path(path_or_ws)
    out = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    except FileNotFoundError:
        pass
    return out


def _truncate_metrics(path: Path, step: int, epochs_done: int) -> int:
    """Keep the lines up to the checkpoint (steps <= step, epochs <= epochs_done); returns lines dropped."""
    if not path.exists():
        return 0
    keep, dropped = [], 0
    for row in read_metrics(path):
        if (row.get("kind") == "step" and row.get("step", 0) <= step) or \
                (row.get("kind") == "epoch" and row.get("epoch", 0) <= epochs_done):
            keep.append(row)
        else:
            dropped += 1
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in keep))
    os.replace(tmp, path)
    return dropped


def under_job(store, run_id: str) -> bool:
    """Is this process a job started by core.modeling.jobs (which then owns the run row's status and log)?"""
    if os.environ.get("WORKBENCH_JOB") in (run_id, "1"):
        return True
    try:
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as f:
            if b"jobs_runner.py" in f.read():
                return True
    except OSError:
        pass
    row = store.run(run_id)
    return bool(row and row["status"] in ("pending", "running") and row["job"].get("argv"))


def _proc_start_time(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("ascii", "replace")
        return int(raw[raw.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


class RunLog:
    """Log lines to stdout (the job runner's log) and, for plain CLI runs, into runs/<id>/log.txt."""

    def __init__(self, path: Path | None = None, echo: Callable[[str], None] | None = None):
        self.path = path
        self.echo = echo

    def __call__(self, msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        if self.echo is not None:
            self.echo(line)
        else:
            print(line, flush=True)
        if self.path is not None:
            with open(self.path, "a") as f:
                f.write(line + "\n")


# ==============================================================================================
# Data
# ==============================================================================================

def prepare_data(ws: Workspace, cfg: dict, log: Callable[[str], None]) -> dict:
    """Check clips and splits (making default splits when there are none), build the cache of the
    run's setting when anything is missing; returns {"labels", "train", "val", "class_counts"}."""
    from core.dataset import clips, splits, windows
    from core.dataset import training_cache as cache

    store = ws.store()
    rows = clips.clips(store)
    if not rows:
        raise TrainError("No clips to train on: label reps, then cut clips (Clips page, or "
                         "`python -m core split --workspace …`).")
    pending = clips.plan(ws, store, crop=True)
    if pending.cut or pending.remove:
        log(f"note: {len(pending.cut)} reps are not cut yet and {len(pending.remove)} clips are stale; "
            "training uses the clips as they are (cut clips again to include the changes)")
    if not splits.current_splits(store):
        splits.make_splits(store, seed=0)
        log("no splits yet: made the default ones (seed 0, 70/15/15 by source video)")
    else:
        info = splits.summary(store)
        if info["unassigned"]:
            log(f"note: videos {info['unassigned']} have reps but no split and are left out (make splits again)")
    labels = store.labels()
    train = cache.examples(ws, "train")
    val = cache.examples(ws, "val")
    if cfg["windows"]:
        labels = windows.window_labels(labels)
    if not train:
        raise TrainError("The train split has no clips: make splits (Clips page or `python -m core splits make`).")
    if not val:
        log("warning: the val split has no clips; the last epoch's model is kept (no model selection)")
    counts = [0] * len(labels)
    for e in train:
        counts[e["label_id"]] += 1
    key = cache.setting_key(cfg["frames"], cfg["resolution"], cfg["crop"], cfg["focus"])
    manifest = cache.read_manifest(cache.cache_dir(ws, cfg["frames"], cfg["resolution"], cfg["crop"], cfg["focus"])) or {}
    have = set((manifest.get("clips") or {}))
    if manifest and not cache.setting_matches(manifest, cfg["frames"], cfg["resolution"], cfg["crop"],
                                              cfg["cache_quality"], cfg["focus"]):
        have = set()  # cached at another JPEG quality or by an older motion_box: build() recomputes it
    missing = [e for e in train + val if e["fingerprint"] not in have]
    if missing:
        log(f"building the cache {key} for {len(missing)} clips ({cfg['cache_jobs']} workers)")
        t0 = time.time()
        last = [0.0]

        def progress(done, total, text):
            if time.time() - last[0] > 10 or done == total:
                last[0] = time.time()
                log(f"  cache {done}/{total}")

        cache.build(ws, cfg["frames"], cfg["resolution"], cfg["crop"], jobs=cfg["cache_jobs"], progress=progress,
                    focus=cfg["focus"], quality=cfg["cache_quality"])
        log(f"cache built in {time.time() - t0:.0f} s")
    out = {"labels": labels, "train": train, "val": val, "class_counts": counts, "train_windows": [],
           "val_windows": []}
    if cfg["windows"]:
        out["train_windows"] = windows.examples(ws, "train", cfg["frames"], cfg["crop"], cfg["window_scales"])
        out["val_windows"] = windows.examples(ws, "val", cfg["frames"], cfg["crop"], cfg["window_scales"])
        t0, last = time.time(), [0.0]

        def window_progress(done, total, text):
            if total and (time.time() - last[0] > 10 or done == total):
                last[0] = time.time()
                log(f"  windows {done}/{total}")

        s = windows.build_windows(ws, out["train_windows"] + out["val_windows"], cfg["frames"], cfg["resolution"],
                                cfg["crop"], quality=cfg["cache_quality"], jobs=cfg["cache_jobs"],
                                progress=window_progress, focus=cfg["focus"])
        share = min(1.0, cfg["windows"] / max(1, len(out["train_windows"])))
        for e in out["train_windows"]:  # expected examples per epoch (balanced class weights)
            counts[e["label_id"]] += share
        log(f"windows: {len(out['train_windows'])} train, {len(out['val_windows'])} val "
            f"({s['computed']} computed in {time.time() - t0:.0f} s, {s['reused']} cached); "
            f"{cfg['windows']} train windows per epoch beside the clips")
    return out


# ==============================================================================================
# Training
# ==============================================================================================

def _strategy(tf):
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    cluster = tf_config.get("cluster") or {}
    workers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
    if workers > 1:
        return tf.distribute.MultiWorkerMirroredStrategy(), tf_config
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy(), tf_config
    return tf.distribute.get_strategy(), tf_config


def _is_chief(tf_config: dict) -> tuple[bool, int]:
    task = tf_config.get("task") or {}
    kind, index = task.get("type"), int(task.get("index", 0) or 0)
    cluster = tf_config.get("cluster") or {}
    if not task:
        return True, 0
    if kind == "chief":
        return True, 0
    if kind == "worker" and index == 0 and not cluster.get("chief"):
        return True, 0
    return False, index + (1 if cluster.get("chief") else 0)


class _Stop:
    """SIGTERM / SIGINT set a flag; the loop stops after the step, saving a checkpoint."""

    def __init__(self):
        self.signum = None
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum, _frame):
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        self.signum = signum

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
        return False

    @property
    def requested(self) -> bool:
        return self.signum is not None


def train(ws: Workspace, cfg: dict | None = None, run_id: str | None = None, *, resume: bool = False,
          echo: Callable[[str], None] | None = None, register: bool = True) -> dict:
    """Train (or resume) one run; returns its summary (also stored in the runs table).

    `cfg` is a resolved config (`resolve_config`); with resume=True it may be None (config.json is
    read back) or hold overrides. Raises TrainError for problems the user can fix.
    """
    store = ws.store()
    run_id = run_id or new_run_id()
    folder = run_dir(ws, run_id)
    latest_dir = folder / "ckpt" / "latest"
    stored_cfg = None
    if (folder / "config.json").exists():
        try:
            stored_cfg = json.loads((folder / "config.json").read_text())
        except ValueError:
            stored_cfg = None
    has_ckpt = (latest_dir / "checkpoint").exists()
    if resume:
        if not has_ckpt and not (folder / "metrics.jsonl").exists():
            resume = False  # nothing to resume: a fresh start of this run id
        if stored_cfg is None and cfg is None:
            raise TrainError(f"Run {run_id} has no config.json to resume from ({folder}).")
    elif has_ckpt:
        raise TrainError(f"Run {run_id} already has checkpoints in {latest_dir}; resume it with --resume "
                         "or choose a new run id.")
    if cfg is None:
        cfg = validate_config({**DEFAULTS, **(stored_cfg or {})})
    folder.mkdir(parents=True, exist_ok=True)
    write_config(ws, run_id, cfg)

    managed = under_job(store, run_id)
    log = RunLog(None if managed else folder / "log.txt", echo)
    row = store.run(run_id)
    if not managed:
        fields = dict(kind="train", backend="local", status="running", pid=os.getpid(),
                      log_path=str((folder / "log.txt").resolve()), started_at=now(), finished_at=None,
                      exit_code=None)
        job = {"start_time": _proc_start_time(os.getpid()), "host": socket.gethostname(), "cli": True,
               "argv": None, "exit_file": None, "stop_requested_at": None, "note": None}
        if row is None:
            store.create_run(run_id, config=cfg, **fields, job=job)
        else:
            store.update_run(run_id, config=cfg, **fields, job=job)
    summary: dict = dict((row or {}).get("summary") or {})
    try:
        with _Stop() as stop:
            summary = _train(ws, store, cfg, run_id, folder, resume, log, summary, stop, managed, register)
    except TrainError as exc:
        log(f"error: {exc}")
        finish_run(store, run_id, managed, "failed", {**summary, "error": str(exc)}, 2)
        raise
    except KeyboardInterrupt:
        log("interrupted")
        finish_run(store, run_id, managed, "stopped", summary, 130)
        raise
    except BaseException as exc:
        log(f"error: {type(exc).__name__}: {exc}")
        finish_run(store, run_id, managed, "failed", {**summary, "error": f"{type(exc).__name__}: {exc}"}, 1)
        raise
    status = "stopped" if summary.get("stopped") else "succeeded"
    finish_run(store, run_id, managed, status, summary, EXIT_STOPPED.get(stop.signum, 0) if stop.signum else 0)
    return summary


def finish_run(store, run_id, managed, status, summary, code) -> None:
    """The run row at the end: its summary, and (when no job runner owns the row) status and exit code."""
    try:
        if store.run(run_id) is None:
            return
        if managed:
            store.update_run(run_id, summary=summary)
        else:
            store.update_run(run_id, status=status, summary=summary, finished_at=now(), exit_code=code)
    except Exception:  # the database is best effort at the very end
        pass


def _update_summary(store, run_id: str, summary: dict) -> None:
    try:
        if store.run(run_id) is not None:
            store.update_run(run_id, summary=summary)
    except Exception:
        pass


def _train(ws, store, cfg, run_id, folder, resume, log, summary, stop, managed, register) -> dict:
    t_start = time.time()
    import numpy as np
    import tensorflow as tf

    strategy, tf_config = _strategy(tf)  # first: MultiWorkerMirroredStrategy must come before other TF ops
    import tf_keras

    from core.dataset import training_cache as cache
    from core.modeling import movinet as model_lib

    chief, worker_index = _is_chief(tf_config)
    gpus = tf.config.list_physical_devices("GPU")
    mixed = bool(gpus) if cfg["mixed_precision"] == "auto" else bool(cfg["mixed_precision"])
    if mixed and not gpus:
        raise TrainError("mixed_precision needs a GPU: TensorFlow has no float16 CPU kernels for some of "
                         "MoViNet's ops (AvgPool3D); leave it on auto.")
    # the fast 2D ops are for float32 CPU work (their folded conv+BN path does not take float16 kernels)
    fast = (not gpus and not mixed) if cfg["fast_ops"] == "auto" else bool(cfg["fast_ops"])
    log(f"run {run_id} in {folder}")
    log(f"config: {json.dumps(cfg, sort_keys=True)}")
    log(f"devices: {len(gpus)} GPU(s); strategy {type(strategy).__name__} with {strategy.num_replicas_in_sync} "
        f"replica(s); mixed precision {'on' if mixed else 'off'}; fast CPU ops {'on' if fast else 'off'}")

    data = prepare_data(ws, cfg, log)
    labels, n_classes = data["labels"], len(data["labels"])
    n_train, n_val = len(data["train"]), len(data["val"])
    log(f"data: {n_train} train clips, {n_val} val clips, {n_classes} movements; "
        f"train examples per class and epoch {dict(zip(labels, (round(c) for c in data['class_counts'])))}")

    frames, res, crop, focus = cfg["frames"], cfg["resolution"], cfg["crop"], cfg["focus"]
    global_batch = cfg["batch_size"]
    replicas = strategy.num_replicas_in_sync
    if global_batch % replicas:
        global_batch = max(replicas, global_batch // replicas * replicas)
        log(f"batch size rounded to {global_batch} (a multiple of the {replicas} replicas)")
    if n_train < global_batch:
        global_batch = max(replicas, n_train // replicas * replicas) or n_train
        log(f"only {n_train} train clips: batch size {global_batch}")
    n_windows = min(cfg["windows"], len(data["train_windows"]))
    steps_per_epoch = max(1, (n_train + n_windows) // global_batch)
    if cfg["steps_per_epoch"]:
        steps_per_epoch = min(steps_per_epoch, cfg["steps_per_epoch"])
    epochs = cfg["epochs"]
    total_steps = steps_per_epoch * epochs
    log_every = cfg["log_every"] or max(1, steps_per_epoch // 20)
    tf.random.set_seed(cfg["seed"])
    np.random.seed(cfg["seed"])

    if mixed:
        tf_keras.mixed_precision.set_global_policy("mixed_float16")

    # --- model, optimizer, state --------------------------------------------------------------
    with strategy.scope():
        try:
            source = _pretrained_source(ws, cfg, log)
            model = model_lib.build_model(
                cfg["model"], cfg["variant"], n_classes, frames, res, pretrained=source,
                freeze_backbone=cfg["freeze"], dropout_rate=cfg["dropout"],
                progress=print_progress if cfg["pretrained"] == "auto" else None)
            if source not in (None, "auto") and (Path(source) / "labels.json").is_file():  # a workbench model
                shared = model_lib.warm_start_head(model, source, labels)
                log(f"classifier head from {Path(source).name}: hidden layer and {len(shared)} of {n_classes} "
                    "classes' outputs")
        except model_lib.ModelError as exc:
            raise TrainError(f"Cannot build the model: {exc}") from exc
        _tune_from_scratch(model, cfg, log)
        optimizer, schedule = make_optimizer(cfg, steps_per_epoch, total_steps, mixed)
        tvars = model.trainable_variables
        build_optimizer(optimizer, tvars)
        state = {
            "epochs_done": tf.Variable(0, dtype=tf.int64, trainable=False, name="epochs_done"),
            "step_in_epoch": tf.Variable(0, dtype=tf.int64, trainable=False, name="step_in_epoch"),
            "sums": tf.Variable(tf.zeros([4], tf.float64), trainable=False, name="epoch_sums"),
            "best_val_top1": tf.Variable(-1.0, dtype=tf.float64, trainable=False, name="best_val_top1"),
            "best_epoch": tf.Variable(0, dtype=tf.int64, trainable=False, name="best_epoch"),
        }
    n_params = int(sum(np.prod(v.shape) for v in model.variables))
    log(f"model: MoViNet-{cfg['model'].upper()}-{cfg['variant']} {n_params / 1e6:.2f} M parameters "
        f"({sum(int(np.prod(v.shape)) for v in tvars) / 1e6:.2f} M trainable), "
        f"{'pretrained ' + str(cfg['pretrained']) if cfg['pretrained'] else 'from scratch'}"
        f"{', backbone frozen' if cfg['freeze'] else ''}; input {frames} x {res}² "
        f"({'clips as cut' if crop else 'whole frames'})")

    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, **state)
    ckpt_root = folder / "ckpt" if chief else folder / f".ckpt-worker{worker_index}"
    latest = tf.train.CheckpointManager(ckpt, str(ckpt_root / "latest"), max_to_keep=2, checkpoint_name="ckpt")
    best_ckpt = tf.train.Checkpoint(model=model)
    best = tf.train.CheckpointManager(best_ckpt, str(ckpt_root / "best"), max_to_keep=1, checkpoint_name="best")
    metrics_path = folder / "metrics.jsonl"
    if resume and latest.latest_checkpoint:
        try:
            ckpt.restore(latest.latest_checkpoint).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.OpError) as exc:
            raise TrainError(f"The checkpoint {latest.latest_checkpoint} does not fit this configuration "
                             f"(changed model, frames or classes?): {str(exc)[:300]}") from exc
        step0, done0 = int(optimizer.iterations.numpy()), int(state["epochs_done"].numpy())
        dropped = _truncate_metrics(metrics_path, step0, done0) if chief else 0
        log(f"resumed from {Path(latest.latest_checkpoint).name}: epoch {done0} done, "
            f"{int(state['step_in_epoch'].numpy())} batches into epoch {done0 + 1}, step {step0}"
            + (f"; {dropped} metric lines after it dropped" if dropped else ""))
    elif resume:
        if chief:
            _truncate_metrics(metrics_path, 0, 0)
        log("nothing to resume (no checkpoint yet): starting from the beginning")
    elif chief and metrics_path.exists():
        metrics_path.unlink()

    # --- loss and steps -----------------------------------------------------------------------
    smoothing = float(cfg["label_smoothing"])
    counts = np.asarray(data["class_counts"], dtype=np.float64)
    class_w = None
    if cfg["class_weights"] == "balanced":
        present = counts > 0
        class_w = np.zeros_like(counts)
        class_w[present] = counts[present].sum() / (present.sum() * counts[present])
    train_step, eval_step = make_steps(model, optimizer, strategy, n_classes, global_batch, smoothing,
                                       class_w, mixed)

    def ops():
        return train_ops(fast)

    # --- data ---------------------------------------------------------------------------------
    augment = cfg["augment"]

    def train_data(epoch: int, skip: int):
        ds = cache.dataset(ws, "train", frames, res, crop, shuffle=True, seed=cfg["seed"] * 100003 + epoch,
                           build_missing=False, focus=focus)
        if n_windows:  # a fresh random draw of windows each epoch, mixed among the clips
            wins = cache.dataset(ws, "train", frames, res, crop, shuffle=True, seed=cfg["seed"] * 100003 + epoch,
                                 focus=focus, entries=data["train_windows"]).take(n_windows)
            ds = tf.data.Dataset.sample_from_datasets([ds, wins], weights=[float(n_train), float(n_windows)],
                                                      seed=cfg["seed"] * 100003 + epoch)
        if augment != "none":
            base_seed = cfg["seed"] * 100003 + epoch
            ds = ds.enumerate().map(lambda i, item: (augment_clip(item[0], base_seed, i, augment), item[1]),
                                    num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        ds = ds.batch(global_batch, drop_remainder=True).take(steps_per_epoch)
        if skip:
            ds = ds.skip(skip)
        ds = ds.prefetch(2)
        if strategy.num_replicas_in_sync > 1 or isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            options = tf.data.Options()
            options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
            ds = strategy.experimental_distribute_dataset(ds.with_options(options))
        return ds

    def evaluate_val() -> dict | None:
        if not n_val:
            return None
        out = {}
        total = np.zeros(4)
        parts = [("", None)] + ([("window_", data["val_windows"])] if data["val_windows"] and n_windows else [])
        for prefix, entries in parts:
            ds = cache.dataset(ws, "val", frames, res, crop, batch_size=global_batch, build_missing=False,
                               focus=focus, entries=entries)
            sums = np.zeros(4)
            with ops():
                for x, y in ds:
                    sums += eval_step(x, y).numpy()
            n = max(sums[3], 1.0)
            out.update({f"val_{prefix}loss": sums[0] / n, f"val_{prefix}top1": sums[1] / n,
                        f"val_{prefix}top5": sums[2] / n})
            total += sums
        if len(parts) > 1:  # the model is selected on clips and windows alike
            out["val_clip_top1"] = out["val_top1"]
            n = max(total[3], 1.0)
            out.update({"val_loss": total[0] / n, "val_top1": total[1] / n, "val_top5": total[2] / n})
        return out

    # --- the loop -----------------------------------------------------------------------------
    writer = tf.summary.create_file_writer(str(folder / "tb")) if chief else tf.summary.create_noop_writer()
    metrics_file = open(metrics_path, "a") if chief else None

    def emit(row: dict) -> None:
        if metrics_file is not None:
            metrics_file.write(json.dumps(row) + "\n")
            metrics_file.flush()

    def lr_now() -> float:
        """The learning rate of the update just applied (the schedule at step - 1)."""
        step = tf.maximum(optimizer.iterations - 1, 0)
        return float(schedule(step).numpy()) if callable(schedule) else float(schedule)

    summary.update({"epochs": epochs, "steps_per_epoch": steps_per_epoch, "train_clips": n_train,
                    "val_clips": n_val, "model_id": cfg["model"], "variant": cfg["variant"]})
    summary.pop("error", None)
    summary.pop("stopped", None)
    log(f"training: {epochs} epochs x {steps_per_epoch} steps of {global_batch} clips "
        f"({cfg['optimizer']}, lr {cfg['lr']} {cfg['schedule']}"
        f"{', warm-up ' + str(cfg['warmup_epochs']) + ' epochs' if cfg['warmup_epochs'] else ''}, "
        f"label smoothing {smoothing}, augment {augment})")
    checkpoint_every = cfg["checkpoint_every_steps"]
    stopped = False
    try:
        while int(state["epochs_done"].numpy()) < epochs and not stopped:
            epoch = int(state["epochs_done"].numpy()) + 1
            skip = int(state["step_in_epoch"].numpy())
            t_epoch = time.time()
            t_last, clips_since = time.time(), 0
            for x, y in train_data(epoch, skip):
                with ops():
                    out = train_step(x, y).numpy()
                state["sums"].assign_add(out.astype(np.float64))
                state["step_in_epoch"].assign_add(1)
                step = int(optimizer.iterations.numpy())
                b = max(out[3], 1.0)
                clips_since += int(out[3])
                dt = time.time() - t_last
                row = {"kind": "step", "epoch": epoch, "step": step, "loss": float(out[0] / b),
                       "top1": float(out[1] / b), "top5": float(out[2] / b), "lr": lr_now(),
                       "clips_per_s": round(clips_since / dt, 2) if dt > 0 else None, "time": time.time()}
                emit(row)
                with writer.as_default(step=step):
                    tf.summary.scalar("train/loss", row["loss"])
                    tf.summary.scalar("train/top1", row["top1"])
                    tf.summary.scalar("train/top5", row["top5"])
                    tf.summary.scalar("train/lr", row["lr"])
                in_epoch = int(state["step_in_epoch"].numpy())
                if in_epoch % log_every == 0 or in_epoch == steps_per_epoch:
                    log(f"epoch {epoch}/{epochs} step {in_epoch}/{steps_per_epoch} (global {step}): "
                        f"loss {row['loss']:.4f} top-1 {row['top1']:.3f} top-5 {row['top5']:.3f} "
                        f"lr {row['lr']:.2e} {row['clips_per_s'] or 0:.1f} clips/s")
                    t_last, clips_since = time.time(), 0
                if stop.requested:
                    break
                if checkpoint_every and step % checkpoint_every == 0 and in_epoch < steps_per_epoch:
                    latest.save(checkpoint_number=step)
            if stop.requested and int(state["step_in_epoch"].numpy()) < steps_per_epoch:
                stopped = True
                break
            # end of the epoch: val, best checkpoint, epoch line, latest checkpoint
            sums = state["sums"].numpy()
            n = max(sums[3], 1.0)
            ep = {"kind": "epoch", "epoch": epoch, "step": int(optimizer.iterations.numpy()),
                  "train_loss": sums[0] / n, "train_top1": sums[1] / n, "train_top5": sums[2] / n}
            t_val = time.time()
            val = evaluate_val()
            ep["val_seconds"] = round(time.time() - t_val, 2)
            improved = False
            if val is not None:
                ep.update(val)
                if val["val_top1"] > float(state["best_val_top1"].numpy()):
                    improved = True
            else:
                improved = True  # no val: the latest epoch is "best"
            if improved:
                state["best_val_top1"].assign(val["val_top1"] if val else -1.0)
                state["best_epoch"].assign(epoch)
                best.save(checkpoint_number=epoch)
            ep["best_val_top1"] = float(state["best_val_top1"].numpy()) if val else None
            ep["best_epoch"] = int(state["best_epoch"].numpy())
            ep["seconds"] = round(time.time() - t_epoch, 2)
            ep["time"] = time.time()
            state["epochs_done"].assign(epoch)
            state["step_in_epoch"].assign(0)
            state["sums"].assign(tf.zeros([4], tf.float64))
            latest.save(checkpoint_number=int(optimizer.iterations.numpy()))
            emit(ep)
            with writer.as_default(step=ep["step"]):
                for key in ("train_loss", "train_top1", "train_top5", "val_loss", "val_top1", "val_top5"):
                    if key in ep:
                        tf.summary.scalar(f"epoch/{key}", ep[key])
            writer.flush()
            log(f"epoch {epoch}/{epochs} done in {ep['seconds']:.0f} s (val {ep['val_seconds']:.0f} s): "
                f"train loss {ep['train_loss']:.4f} "
                f"top-1 {ep['train_top1']:.3f}"
                + (f" | val loss {ep['val_loss']:.4f} top-1 {ep['val_top1']:.3f} top-5 {ep['val_top5']:.3f}"
                   if val else "")
                + (f" (clips {ep['val_clip_top1']:.3f}, windows {ep['val_window_top1']:.3f})"
                   if "val_window_top1" in ep else "")
                + (" (best)" if improved and val else ""))
            summary.update({"epochs_done": epoch, "step": ep["step"],
                            "best_val_top1": ep["best_val_top1"], "best_epoch": ep["best_epoch"],
                            "last_val_top1": ep.get("val_top1"), "train_top1": ep["train_top1"]})
            _update_summary(store, run_id, summary)
            if stop.requested:
                stopped = epoch < epochs
                break
    finally:
        if metrics_file is not None:
            metrics_file.close()
        writer.flush()

    if stopped:
        latest.save(checkpoint_number=int(optimizer.iterations.numpy()))
        log(f"stopped ({signal.Signals(stop.signum).name}) at epoch {int(state['epochs_done'].numpy())} "
            f"+ {int(state['step_in_epoch'].numpy())} batches; checkpoint saved - resume with "
            f"`python -m core train --workspace {ws.root} --run-id {run_id} --resume`")
        summary["stopped"] = True

    summary["seconds"] = round(summary.get("seconds", 0.0) + time.time() - t_start, 1)
    if not chief:
        return summary
    # --- export and register the best model ---------------------------------------------------
    if best.latest_checkpoint:
        best_ckpt.restore(best.latest_checkpoint).expect_partial()
    elif stopped:
        log("no epoch finished yet: nothing to export")
        return summary
    out = ws.root / model_path(run_id)
    window_scales = cfg["window_scales"] if cfg.get("windows") else None  # the analyser slides the spans learnt
    t0 = time.time()
    try:
        model_lib.export_model(model, out, labels, frames, res, crop=None, focus=focus, window_scales=window_scales,
                               saved_model=cfg["saved_model"] and not stopped)
    except model_lib.ModelError as exc:
        raise TrainError(f"Export failed: {exc}") from exc
    metrics = {"best_val_top1": summary.get("best_val_top1"), "best_epoch": summary.get("best_epoch"),
               "epochs_done": summary.get("epochs_done"), "train_top1": summary.get("train_top1")}
    last_epoch = [r for r in read_metrics(metrics_path) if r.get("kind") == "epoch"
                  and r.get("epoch") == summary.get("best_epoch")]
    if last_epoch:
        metrics.update({k: last_epoch[-1].get(k) for k in ("val_loss", "val_top5")})
    preprocessing = {"frames": frames, "resolution": res, "crop": crop, "focus": focus}
    if window_scales:
        preprocessing["window_scales"] = list(window_scales)
    if register:
        registry.register_model(ws, run_id, model_path(run_id), labels, preprocessing, metrics, run_id=run_id)
    summary.update({"model": run_id, "model_path": model_path(run_id),
                    "exported_saved_model": cfg["saved_model"] and not stopped})
    log(f"exported the best model (epoch {summary.get('best_epoch')}, val top-1 "
        f"{_fmt(summary.get('best_val_top1'))}) to {out} in {time.time() - t0:.0f} s"
        + ("; registered as model " + run_id if register else "")
        + ("" if not stopped else " (weights only: the run was stopped)")
        + ("" if cfg["saved_model"] or stopped else " (weights only: saved_model is off)"))
    summary["seconds"] = round(summary["seconds"] + time.time() - t0, 1)
    _update_summary(store, run_id, summary)
    log(f"done in {summary['seconds']:.0f} s")
    return summary


def best_clip_model(ws: Workspace, cfg: dict) -> dict | None:
    """The registered model trained on clips only (no `none` class) with this run's architecture
    and input (model, variant, frames, resolution, focus) that has the best val top-1, or None."""
    from core.dataset.windows import NONE

    found = []
    for m in registry.list_models(ws.store()):
        pre = m.get("preprocessing") or {}
        if NONE in m["labels"] or not m.get("run_id") or \
                (pre.get("frames"), pre.get("resolution"), pre.get("focus")) != \
                (cfg["frames"], cfg["resolution"], cfg["focus"]):
            continue
        try:
            run_cfg = json.loads((run_dir(ws, m["run_id"]) / "config.json").read_text())
        except (OSError, ValueError):
            continue
        if (run_cfg.get("model"), run_cfg.get("variant")) == (cfg["model"], cfg["variant"]):
            found.append(m)
    return max(found, key=lambda m: (m.get("metrics") or {}).get("best_val_top1") or 0.0, default=None)


def _pretrained_source(ws: Workspace, cfg: dict, log: Callable[[str], None] = lambda _: None):
    """cfg["pretrained"] as build_model takes it: "model:<id>" is a model registered in this
    workspace, "model:best" the best clip model of this architecture (`best_clip_model`) - to
    fine-tune its backbone, e.g. on windows; other values pass through."""
    pre = cfg["pretrained"]
    if not (isinstance(pre, str) and pre.startswith("model:")):
        return pre
    if pre == "model:best":
        row = best_clip_model(ws, cfg)
        if row is None:
            raise TrainError(f"pretrained model:best: no registered clip model of {cfg['model']}-{cfg['variant']}, "
                             f"{cfg['frames']} frames at {cfg['resolution']}², focus {cfg['focus'] or 'none'} yet; "
                             "train one first (preset demo).")
        log(f"pretrained model:best is model {row['id']} (val top-1 {_fmt((row.get('metrics') or {}).get('best_val_top1'))})")
    else:
        row = next((m for m in registry.list_models(ws.store()) if m["id"] == pre[len("model:"):]), None)
        if row is None:
            raise TrainError(f"pretrained {pre}: no such registered model in this workspace.")
    return str(ws.absolute(row["path"]))


def _tune_from_scratch(model, cfg: dict, log) -> None:
    """bn_momentum: every batch norm's moving-average momentum (MoViNet: 0.99, which lags behind for the
    few hundred steps of a short run, so val sees stale statistics). rezero_init (random init only):
    MoViNet multiplies each residual branch by a ReZero scale that starts at 0, so at first no branch -
    and no temporal convolution - reaches the output and their weights get no gradient; starting the
    scales at e.g. 1 gives a plain residual network that learns from the first step."""
    import tensorflow as tf
    import tf_keras
    from official.vision.modeling.layers import nn_layers

    if cfg["bn_momentum"] is not None:
        for layer in model.submodules:
            if isinstance(layer, tf_keras.layers.BatchNormalization):
                layer.momentum = float(cfg["bn_momentum"])
    if cfg["rezero_init"] is not None:
        if cfg["pretrained"]:
            log("note: rezero_init is ignored for pretrained weights (their scales are trained)")
            return
        n = 0
        for layer in model.submodules:
            if isinstance(layer, nn_layers.Scale) and layer.name == "rezero":
                for w in layer.weights:
                    w.assign(tf.ones_like(w) * float(cfg["rezero_init"]))
                n += 1
        log(f"ReZero scales of {n} residual branches start at {cfg['rezero_init']}")


def augment_clip(x, base_seed: int, index, kind: str):
    """Train-time augmentation of one clip [T, H, W, 3] in [0, 1], the same for all its frames, a
    function of (base_seed, index) only (stateless: a resumed epoch sees the same clips).
    flip: horizontal flip with p = 0.5. flip+color: and brightness / contrast jitter. hue: flip+color and
    the colour changes of strong (saturation, any hue, grayscale p = 0.3) without its crop - for focused
    clips, whose framing is already the athlete's (clothes and walls still differ by gym). medium: flip, a
    random crop of 80-100 % of the area (aspect 3:4-4:3) resized back, brightness / contrast. strong: flip, a
    random crop (65-100 % of the area, aspect 3:4-4:3) resized back, brightness, contrast, saturation
    (0.3-1.7), any hue rotation and grayscale with p = 0.3 - so the model cannot lean on one athlete's
    clothes, one gym's colours or one camera's framing (the demo's videos differ in all three)."""
    import tensorflow as tf

    if kind == "none":
        return x
    index = tf.cast(index, tf.int64)

    def u(k, shape=()):
        return tf.random.stateless_uniform(shape, seed=tf.stack([tf.constant(base_seed, tf.int64), index * 16 + k]))

    x = tf.cond(u(0) < 0.5, lambda: tf.reverse(x, axis=[2]), lambda: x)
    if kind == "flip":
        return x
    if kind in ("medium", "strong"):
        t = x.shape[0] if x.shape[0] is not None else tf.shape(x)[0]  # static: no grappler cost warning
        h, w = x.shape[1], x.shape[2]
        area = (0.65 + 0.35 * u(1)) if kind == "strong" else (0.8 + 0.2 * u(1))
        ratio = tf.exp(tf.math.log(3.0 / 4.0) + (tf.math.log(4.0 / 3.0) - tf.math.log(3.0 / 4.0)) * u(2))
        bh = tf.minimum(1.0, tf.sqrt(area / ratio))
        bw = tf.minimum(1.0, tf.sqrt(area * ratio))
        y0, x0 = (1.0 - bh) * u(3), (1.0 - bw) * u(4)
        box = tf.reshape(tf.stack([y0, x0, y0 + bh, x0 + bw]), [1, 4])
        x = tf.image.crop_and_resize(x, tf.tile(box, [t, 1]), tf.range(t), [h, w])
    r = u(5, [5])
    x = x + (r[0] - 0.5) * 0.3  # brightness +-0.15
    mean = tf.reduce_mean(x, axis=[0, 1, 2], keepdims=True)
    x = (x - mean) * (0.7 + 0.6 * r[1]) + mean  # contrast 0.7-1.3
    if kind in ("strong", "hue"):
        x = tf.clip_by_value(x, 0.0, 1.0)
        x = tf.image.adjust_saturation(x, 0.3 + 1.4 * r[2])
        x = tf.image.adjust_hue(x, r[3] - 0.5)  # any hue: clothes and walls get every colour
        gray = tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(x))
        x = tf.cond(r[4] < 0.3, lambda: gray, lambda: x)
    return tf.clip_by_value(x, 0.0, 1.0)


def train_ops(fast: bool):
    """core.modeling.fastpath.fast_ops while tracing/calling the steps on a CPU (the exact 2D form of the 3D convs)."""
    if fast:
        from core.modeling.fastpath import fast_ops

        return fast_ops()
    return contextlib.nullcontext()


def make_steps(model, optimizer, strategy, n_classes: int, global_batch: int, smoothing: float = 0.0,
               class_weights=None, mixed: bool = False):
    """(train_step, eval_step) tf.functions: (x [B,T,H,W,3], y [B]) -> [loss sum, top-1 hits, top-k hits,
    clips], summed over replicas. train_step applies one optimizer update (softmax cross-entropy with
    label smoothing and optional class weights, averaged over the global batch; loss scaling under
    mixed precision). Call them inside `train_ops(fast)` so a CPU trace takes the fast 2D ops."""
    import tensorflow as tf

    tvars = model.trainable_variables
    class_w = tf.constant(class_weights, tf.float32) if class_weights is not None else None
    k5 = min(5, n_classes)

    def per_example_loss(y, logits):
        onehot = tf.one_hot(y, n_classes, dtype=tf.float32)
        if smoothing:
            onehot = onehot * (1.0 - smoothing) + smoothing / n_classes
        loss = tf.nn.softmax_cross_entropy_with_logits(onehot, logits)
        if class_w is not None:
            loss = loss * tf.gather(class_w, y)
        return loss

    def correct(y, logits):
        c1 = tf.reduce_sum(tf.cast(tf.math.in_top_k(y, logits, 1), tf.float32))
        c5 = tf.reduce_sum(tf.cast(tf.math.in_top_k(y, logits, k5), tf.float32))
        return c1, c5

    def replica_train(x, y):
        with tf.GradientTape() as tape:
            logits = tf.cast(model(x, training=True), tf.float32)
            per_ex = per_example_loss(y, logits)
            loss = tf.nn.compute_average_loss(per_ex, global_batch_size=global_batch)
            if model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
            scaled = optimizer.get_scaled_loss(loss) if mixed else loss
        grads = tape.gradient(scaled, tvars)
        if mixed:
            grads = optimizer.get_unscaled_gradients(grads)
        optimizer.apply_gradients(zip(grads, tvars))
        c1, c5 = correct(y, logits)
        return tf.stack([tf.reduce_sum(per_ex), c1, c5, tf.cast(tf.shape(y)[0], tf.float32)])

    @tf.function
    def train_step(x, y):
        out = strategy.run(replica_train, args=(x, y))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, out, axis=None)

    @tf.function
    def eval_step(x, y):
        logits = tf.cast(model(x, training=False), tf.float32)
        c1, c5 = correct(y, logits)
        return tf.stack([tf.reduce_sum(per_example_loss(y, logits)), c1, c5, tf.cast(tf.shape(y)[0], tf.float32)])

    return train_step, eval_step


def make_optimizer(cfg: dict, steps_per_epoch: int, total_steps: int, mixed: bool = False):
    """The run's optimizer (with its learning-rate schedule) and the schedule."""
    import tf_keras

    schedule = _schedule(tf_keras, cfg, steps_per_epoch, total_steps)
    optimizer = _optimizer(tf_keras, cfg["optimizer"], schedule, cfg.get("weight_decay") or None)
    if mixed:
        optimizer = tf_keras.mixed_precision.LossScaleOptimizer(optimizer)
    return optimizer, schedule


def _fmt(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and x < 0) else f"{x:.3f}"


def build_optimizer(optimizer, tvars) -> None:
    """Create the optimizer's slots now, so a checkpoint restores them (not deferred)."""
    try:
        optimizer.build(tvars)
    except (AttributeError, TypeError, NotImplementedError):
        inner = getattr(optimizer, "inner_optimizer", None)
        if inner is not None and hasattr(inner, "build"):
            inner.build(tvars)


def _schedule(tf_keras, cfg, steps_per_epoch: int, total_steps: int):
    import tensorflow as tf

    lr = float(cfg["lr"])
    warmup = int(round(cfg["warmup_epochs"] * steps_per_epoch))
    kind = cfg["schedule"]

    class WarmupCosine(tf_keras.optimizers.schedules.LearningRateSchedule):
        """Linear warm-up to lr over `warmup` steps, then cosine decay to 0 at `total` (or constant)."""

        def __init__(self):
            super().__init__()

        def __call__(self, step):
            step = tf.cast(step, tf.float32)
            w = float(max(warmup, 0))
            total = float(max(total_steps - warmup, 1))
            warm = lr * (step + 1.0) / max(w, 1.0)
            if kind == "cosine":
                progress = tf.clip_by_value((step - w) / total, 0.0, 1.0)
                after = 0.5 * lr * (1.0 + tf.cos(math.pi * progress))
            else:
                after = tf.constant(lr, tf.float32)
            return tf.where(step < w, warm, after) if warmup else after

        def get_config(self):
            return {"lr": lr, "warmup": warmup, "total": total_steps, "kind": kind}

    return WarmupCosine()


def _optimizer(tf_keras, name: str, schedule, weight_decay=None):
    if name == "rmsprop":  # the study's (and the Model Garden tutorial's) settings
        return tf_keras.optimizers.RMSprop(schedule, rho=0.9, momentum=0.9, epsilon=1.0, clipnorm=1.0,
                                           weight_decay=weight_decay)
    if name == "adam":
        return tf_keras.optimizers.Adam(schedule, global_clipnorm=5.0, weight_decay=weight_decay)
    return tf_keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True, global_clipnorm=5.0,
                                   weight_decay=weight_decay)


# ==============================================================================================
# Launching as a job (the Train page), summaries for tables
# ==============================================================================================

def job_argv(ws: Workspace, run_id: str) -> list[str]:
    """The command a job runs: this interpreter, `-m core train` on the run's config.json."""
    return [sys.executable, "-m", "core", "train", "--workspace", str(ws.root),
            "--config", str(run_dir(ws, run_id) / "config.json"), "--run-id", run_id]


def launch(ws: Workspace, cfg: dict, backend: str = "local", address: str | None = None,
           run_id: str | None = None, resume: bool = False) -> str:
    """Write the run's config.json and start `python -m core train` through core.modeling.jobs; returns the run id.

    resume=True restarts an ended run (stopped, failed, lost) of this id from its latest checkpoint."""
    from core.modeling import jobs

    store = ws.store()
    run_id = run_id or jobs.new_run_id()
    cfg = validate_config({**DEFAULTS, **cfg})
    argv = job_argv(ws, run_id)
    if resume:
        row = store.run(run_id)
        if row is None:
            raise TrainError(f"No run {run_id} to resume.")
        if row["status"] in jobs.ACTIVE:
            raise TrainError(f"Run {run_id} is still {row['status']}.")
        argv.append("--resume")
        store.update_run(run_id, status="created", finished_at=None, exit_code=None)
    elif store.run(run_id) is not None:
        raise TrainError(f"A run with id {run_id!r} already exists; choose another id.")
    write_config(ws, run_id, cfg)
    spec = jobs.JobSpec(argv=argv, env={"WORKBENCH_JOB": run_id}, run_id=run_id, kind="train", config=cfg)
    try:
        return jobs.launch(store, spec, backend=backend, address=address)
    except jobs.JobError as exc:
        raise TrainError(str(exc)) from exc


def can_resume(ws: Workspace, run_id: str) -> bool:
    return (run_dir(ws, run_id) / "ckpt" / "latest" / "checkpoint").exists()


def run_table(ws: Workspace, runs: list[dict]) -> list[dict]:
    """Rows for a table of training runs: id, status, backend, model, started, duration, epochs,
    best val top-1, registered model."""
    from datetime import datetime

    store = ws.store()
    with store.read() as con:
        models = {r["run_id"]: r["id"] for r in con.execute("SELECT id, run_id FROM models")}
    out = []
    for r in runs:
        cfg, summ = r.get("config") or {}, r.get("summary") or {}
        duration = None
        try:
            if r.get("started_at"):
                start = datetime.fromisoformat(r["started_at"])
                end = datetime.fromisoformat(r["finished_at"]) if r.get("finished_at") else None
                if end is None and r["status"] in ("pending", "running"):
                    from datetime import timezone

                    end = datetime.now(timezone.utc)
                if end is not None:
                    duration = round((end - start).total_seconds())
        except ValueError:
            pass
        best = summ.get("best_val_top1")
        out.append({
            "run": r["id"], "status": r["status"], "backend": r.get("backend"),
            "model": f"{cfg.get('model', '?')}-{cfg.get('variant', '?')} {cfg.get('frames', '?')}x"
                     f"{cfg.get('resolution', '?')}" if cfg else "",
            "preset": cfg.get("preset"),
            "started": (r.get("started_at") or r.get("created_at") or "")[:19].replace("T", " "),
            "duration_s": duration,
            "epochs": f"{summ.get('epochs_done', 0)}/{summ.get('epochs', cfg.get('epochs', '?'))}",
            "best_val_top1": None if best is None or best < 0 else round(float(best), 4),
            "registered_model": models.get(r["id"]),
        })
    return out


# ==============================================================================================
# Command line
# ==============================================================================================




