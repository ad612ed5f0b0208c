"""The pose model as a training run: `python -m core train --preset pose` and the Train page's
"Train the pose model" button.

A run trains `core.modeling.pose_model.train_pose_model` on synthetic motion (no clips, no labels
needed) with the settings of `core.modeling.config.POSE_PRESET` (flags override them), plus the
workspace's own labelled reps when it has any (`labelled_reps`: its dataset reps with their videos' pose
tracks, by split; setting ``labelled_reps``), keeps the best epoch on val (disjoint synthetic seeds and
the labelled val videos' reps), saves it to ``<workspace>/models/<run id>/`` and registers it
in the one model registry with kind "pose" (labels: the nine movements + none; preprocessing: the
feature settings; metrics: val top-1 and per class, chosen on val).

Like a MoViNet run (`core.modeling.train`) it has a runs row (kind "train", status, summary with
``best_val_top1``) and a folder ``runs/<run id>/`` with ``config.json``, ``log.txt`` (a plain CLI run
tees its log lines there; under `core.modeling.jobs` the job runner writes the process's output
there) and ``metrics.jsonl`` (one ``{"kind": "epoch", "epoch", "train_loss", "val_loss", "val_top1",
"best_val_top1", "best_epoch"}`` line per epoch, written when training ends).

API::

    pose_config(overrides) -> dict                    # POSE_PRESET <- overrides, validated
    train_pose_run(ws, cfg=None, run_id=None, echo=None, progress=None, cancel=None) -> summary
    launch_pose(ws, cfg=None, backend="local", run_id=None) -> run id   # as a job (Train page)
"""
from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import Callable

from core.base.errors import WorkbenchError
from core.base.store import now
from core.base.workspace import Workspace
from core.modeling import registry
from core.modeling.config import POSE_PRESET, TrainError
from core.modeling.train import RunLog, finish_run, under_job, model_path, new_run_id, run_dir, write_config

__all__ = ["pose_config", "train_pose_run", "launch_pose", "POSE_PRESET"]


def pose_config(overrides: dict | None = None) -> dict:
    """POSE_PRESET with `overrides` (None values ignored; unknown keys refused), validated."""
    cfg = dict(POSE_PRESET)
    for k, v in (overrides or {}).items():
        if v is None:
            continue
        if k not in cfg:
            raise TrainError(f"The pose preset has no setting {k!r}; its settings: {', '.join(cfg)}.")
        cfg[k] = v
    for k in ("n_train", "n_val", "epochs", "batch_size"):
        cfg[k] = int(cfg[k])
    cfg["seed"] = int(cfg["seed"])
    cfg["lr"] = float(cfg["lr"])
    if not isinstance(cfg["labelled_reps"], bool):
        raise TrainError("labelled_reps must be true or false (train on the workspace's labelled reps too).")
    if cfg["n_train"] < 10 or cfg["n_val"] < 10:
        raise TrainError("The pose model needs at least 10 training and 10 validation samples.")
    if cfg["epochs"] < 1 or cfg["batch_size"] < 1 or not cfg["lr"] > 0:
        raise TrainError("epochs and batch size must be at least 1 and the learning rate positive.")
    cfg["preset"] = "pose"
    return cfg


def labelled_reps(ws: Workspace, *, progress=None, cancel=None, echo=None) -> dict:
    """The workspace's dataset reps (`core.labeling.annotator.dataset_segments`: the reps the clips are cut
    from) of the nine movements with their video's pose track (`core.pose.store.ensure_track`, computed
    when missing): {"train": [(arrays, start, end, label)], "val": [...]} by their video's split (videos
    without one: train; the test split is never trained on)."""
    from core.dataset.splits import current_splits
    from core.labeling.annotator import dataset_segments
    from core.modeling.pose_model import LABELS
    from core.pose import store as pose_store

    store = ws.store()
    splits = current_splits(store)
    by_video: dict[int, list] = {}
    for s in dataset_segments(store):
        if s["label"] in LABELS and s["label"] != "none" and splits.get(s["video_id"], "train") != "test":
            by_video.setdefault(int(s["video_id"]), []).append(s)
    out: dict[str, list] = {"train": [], "val": []}
    for k, (vid, segs) in enumerate(sorted(by_video.items())):
        if progress is not None:
            progress(k, len(by_video), f"pose tracks of the labelled videos {k + 1}/{len(by_video)}")
        try:
            track = pose_store.ensure_track(ws, vid, cancel=cancel)
        except WorkbenchError as exc:  # an unreadable or missing video: its reps are left out, said
            if echo:
                echo(f"video {vid}: its labelled reps are left out ({exc})")
            continue
        arrays = dict(track.arrays(), fps=track.fps)
        part = out["val" if splits.get(vid) == "val" else "train"]
        part += [(arrays, int(s["start"]), int(s["end"]), s["label"]) for s in segs]
    return out


def train_pose_run(ws: Workspace, cfg: dict | None = None, run_id: str | None = None, *,
                   echo: Callable[[str], None] | None = None, progress=None, cancel=None,
                   register: bool = True) -> dict:
    """Train the pose model as run `run_id` (default a new id); returns the run's summary
    {run_id, model, best_val_top1, best_epoch, epochs, seconds, ...} (also in the runs row)."""
    from core.modeling.pose_model import LABELS, train_pose_model

    cfg = pose_config(cfg)
    store = ws.store()
    run_id = run_id or new_run_id()
    folder = run_dir(ws, run_id)
    out_dir = ws.root / model_path(run_id)
    if (out_dir / "pose_model.keras").exists():
        raise TrainError(f"Run {run_id} already has a model in {out_dir}; choose a new run id.")
    folder.mkdir(parents=True, exist_ok=True)
    write_config(ws, run_id, cfg)
    managed = under_job(store, run_id)
    log = RunLog(None if managed else folder / "log.txt", echo)
    if not managed:
        fields = dict(kind="train", backend="local", status="running", pid=os.getpid(),
                      log_path=str((folder / "log.txt").resolve()), started_at=now(), finished_at=None,
                      exit_code=None, job={"host": socket.gethostname(), "cli": True, "argv": None})
        if store.run(run_id) is None:
            store.create_run(run_id, config=cfg, **fields)
        else:
            store.update_run(run_id, config=cfg, **fields)
    log(f"pose model run {run_id}: {json.dumps({k: v for k, v in cfg.items() if k != 'preset'})}")
    last = {"text": None}

    def prog(done, total, text):
        if progress is not None:
            progress(done, total, text)
        if text != last["text"] and ("epoch" in text or "saved" in text or text.endswith("tracks")
                                     or text == "training"):
            log(text)
        last["text"] = text

    summary = {"kind": "pose", "epochs": cfg["epochs"], "epochs_done": 0, "best_val_top1": None}
    try:
        labelled = labelled_reps(ws, progress=prog, cancel=cancel, echo=log) if cfg["labelled_reps"] else {}
        if labelled:
            log(f"labelled reps of this workspace: {len(labelled['train'])} train, {len(labelled['val'])} val")
        metrics = train_pose_model(out_dir, n_train=cfg["n_train"], n_val=cfg["n_val"], epochs=cfg["epochs"],
                                   seed=cfg["seed"], batch=cfg["batch_size"], lr=cfg["lr"], progress=prog,
                                   cancel=cancel, labelled=labelled)
    except BaseException as exc:
        log(f"error: {type(exc).__name__}: {exc}")
        status = "stopped" if type(exc).__name__ in ("Cancelled", "KeyboardInterrupt") else "failed"
        finish_run(store, run_id, managed, status, {**summary, "error": str(exc)}, 130 if status == "stopped" else 1)
        raise
    best = 0.0
    with open(folder / "metrics.jsonl", "w") as f:
        for h in metrics.get("history", []):
            best = max(best, h["val_top1"])
            f.write(json.dumps({"kind": "epoch", "epoch": h["epoch"], "train_loss": h["loss"],
                                "val_loss": h["val_loss"], "val_top1": h["val_top1"], "best_val_top1": best,
                                "best_epoch": metrics["best_epoch"]}) + "\n")
    preprocessing = {"kind": "pose", "features": {"steps": 32, "min_score": 0.3}, "fps_assumed": 30.0}
    meta_p = out_dir / "pose_model.json"
    try:
        meta = json.loads(meta_p.read_text())
        preprocessing["features"] = meta.get("features", preprocessing["features"])
    except (OSError, ValueError):
        pass
    reg_metrics = {k: v for k, v in metrics.items() if k not in ("history", "val_confusion")}
    if register:
        registry.register_model(ws, run_id, model_path(run_id), list(LABELS), preprocessing, reg_metrics,
                                run_id=run_id, kind="pose")
        log(f"registered pose model {run_id} (val top-1 {metrics['val_top1']:.3f}, epoch {metrics['best_epoch']})")
    summary.update(epochs_done=cfg["epochs"], best_val_top1=metrics["val_top1"], best_epoch=metrics["best_epoch"],
                   model=run_id if register else None, seconds=metrics.get("total_s"), run_id=run_id,
                   val_top1_labelled=metrics.get("val_top1_labelled"),
                   path=model_path(run_id))
    finish_run(store, run_id, managed, "succeeded", summary, 0)
    return summary


def job_argv(ws: Workspace, run_id: str, cfg: dict) -> list[str]:
    """`python -m core train --preset pose` for this run, with the settings that differ from the preset."""
    argv = [sys.executable, "-m", "core", "train", "--workspace", str(ws.root), "--preset", "pose",
            "--run-id", run_id]
    flags = {"epochs": "--epochs", "seed": "--seed", "batch_size": "--batch-size", "lr": "--lr",
             "n_train": "--pose-samples"}
    for k, opt in flags.items():
        if cfg.get(k) != POSE_PRESET[k]:
            argv += [opt, str(cfg[k])]
    return argv


def launch_pose(ws: Workspace, cfg: dict | None = None, backend: str = "local", address: str | None = None,
                run_id: str | None = None) -> str:
    """Start `python -m core train --preset pose` as a job (core.modeling.jobs); returns the run id."""
    from core.modeling import jobs

    cfg = pose_config(cfg)
    run_id = run_id or jobs.new_run_id()
    if ws.store().run(run_id) is not None:
        raise TrainError(f"A run with id {run_id!r} already exists; choose another id.")
    write_config(ws, run_id, cfg)
    spec = jobs.JobSpec(argv=job_argv(ws, run_id, cfg), env={"WORKBENCH_JOB": run_id}, run_id=run_id,
                        kind="train", config=cfg)
    try:
        return jobs.launch(store=ws.store(), spec=spec, backend=backend, address=address)
    except jobs.JobError as exc:
        raise TrainError(str(exc)) from exc


def model_folder(ws: Workspace, run_id: str) -> Path:
    return ws.root / model_path(run_id)
