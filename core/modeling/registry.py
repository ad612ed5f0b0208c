"""The one model registry: every trained, exported or converted model the pages can use.

A row is {id, run_id, path, kind, labels, preprocessing, metrics, created_at}: `path` is the
model's folder (relative to the workspace when inside it), `kind` one of KINDS, `labels` the
output order, `preprocessing` what the one preprocessing needs ({} when nothing is recorded),
`metrics` the figures training or export measured (None when none)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from core.base.errors import ModelingError
from core.base.store import now
from core.base.workspace import PROJECT_ROOT

KINDS = ("movinet", "tflite", "pose")


class ModelNotFound(ModelingError):
    """No registered model (or run with a model) of that id."""


def to_jsonable(obj):
    """Numpy scalars/arrays, tuples and non-finite floats made JSON-safe (NaN/inf -> None)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _decode(row) -> dict:
    d = dict(row)
    d["labels"] = json.loads(d["labels"]) if d.get("labels") else []
    d["preprocessing"] = json.loads(d["preprocessing"]) if d.get("preprocessing") else {}
    d["metrics"] = json.loads(d["metrics"]) if d.get("metrics") else None
    d.setdefault("kind", "movinet")
    return d


def check_description(labels, preprocessing, where: str) -> tuple[list[str], dict]:
    """A model folder's labels.json and preprocessing.json, checked before anything is built from
    them: a list of distinct movement names, and sizes a model can have (a resolution of 60000
    would ask for terabytes)."""
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x.strip() for x in labels) \
            or len(set(labels)) != len(labels):
        raise ModelingError(f"{where}: labels.json must be a list of distinct movement names, not {labels!r:.80}.")
    if not isinstance(preprocessing, dict):
        raise ModelingError(f"{where}: preprocessing.json must be an object, not {preprocessing!r:.80}.")
    frames = preprocessing.get("frames", 10)
    res = preprocessing.get("resolution", preprocessing.get("size", 224))
    sides = res if isinstance(res, (list, tuple)) else [res]
    if not (isinstance(frames, int) and 1 <= frames <= 512):
        raise ModelingError(f"{where}: preprocessing frames {frames!r} is not a whole number from 1 to 512.")
    if res is not None and not (len(sides) in (1, 2) and all(isinstance(s, int) and 16 <= s <= 1024 for s in sides)):
        raise ModelingError(f"{where}: preprocessing resolution {res!r} is not a size from 16 to 1024 pixels.")
    return labels, preprocessing


def register_model(ws, model_id: str, path, labels, preprocessing: dict | None = None,
                   metrics: dict | None = None, *, run_id: str | None = None, kind: str = "movinet",
                   replace: bool = True) -> dict:
    """Insert (or, with `replace`, update) a model row; returns it as `resolve_model` does."""
    if kind not in KINDS:
        raise ModelingError(f"Unknown model kind {kind!r}; use one of {', '.join(KINDS)}.")
    store = ws.store()
    if not replace:
        with store.read() as con:
            if con.execute("SELECT 1 FROM models WHERE id = ?", (model_id,)).fetchone():
                raise ModelingError(f"A model {model_id!r} is already registered.")
    store.put_model({
        "id": model_id, "run_id": run_id, "path": str(path) if not Path(path).is_absolute() else ws.relative(path), "kind": kind,
        "labels": json.dumps([str(x) for x in labels]),
        "preprocessing": json.dumps(to_jsonable(preprocessing or {})),
        "metrics": json.dumps(to_jsonable(metrics)) if metrics is not None else None,
        "created_at": now()})
    return resolve_model(store, model_id)


def list_models(store, kind: str | None = None) -> list[dict]:
    """Registered models (of one kind, if given), newest first."""
    with store.read() as con:
        rows = con.execute("SELECT * FROM models ORDER BY created_at DESC, id DESC").fetchall()
    return [m for m in map(_decode, rows) if kind is None or m["kind"] == kind]


def resolve_model(store, run_or_model: str) -> dict:
    """The model with this id, else the newest model registered by the run with this id."""
    with store.read() as con:
        row = con.execute("SELECT * FROM models WHERE id = ?", (run_or_model,)).fetchone()
        if row is None:
            row = con.execute("SELECT * FROM models WHERE run_id = ? ORDER BY created_at DESC, id DESC LIMIT 1",
                              (run_or_model,)).fetchone()
    if row is None:
        known = ", ".join(m["id"] for m in list_models(store)) or "none registered yet (train one first)"
        raise ModelNotFound(f"No model or run {run_or_model!r} with a registered model; models: {known}.")
    return _decode(row)


def model_dir(ws, model: dict) -> Path:
    """The model's folder: an absolute path as stored; a relative one inside the workspace, or
    else inside the project (models/ lives there)."""
    p = Path(model["path"])
    if p.is_absolute():
        return p
    in_ws = ws.root / p
    return in_ws if in_ws.exists() or not (PROJECT_ROOT / p).exists() else PROJECT_ROOT / p


def val_top1(model: dict) -> float | None:
    """The model's top-1 on val as training or export measured it (None when unknown)."""
    m = model.get("metrics") or {}
    for key in ("val_top1", "top1_val", "best_val_top1"):
        if isinstance(m.get(key), (int, float)):
            return float(m[key])
    val = m.get("val")
    if isinstance(val, dict) and isinstance(val.get("top1"), (int, float)):
        return float(val["top1"])
    return None


def preprocessing(model: dict) -> tuple[int, tuple[int, int], bool]:
    """(frames, (height, width), crop) of a model row's preprocessing {frames, resolution, crop}.

    crop has the training cache's meaning (core.dataset.training_cache): True reads each clip as it
    was cut (cropped to the athlete box when the clip is), False the whole frame. Only an explicit
    false means False: a missing crop, null or a pixel box mean the clips as cut."""
    pre = model.get("preprocessing") or {}
    frames = int(pre.get("frames", 10))
    res = pre.get("resolution", pre.get("size", 224))
    size = (int(res), int(res)) if np.isscalar(res) else (int(res[0]), int(res[1]))
    return frames, size, pre.get("crop", True) is not False


def focus(model: dict) -> str | None:
    """The model's focus setting (core.media.video.preprocess): None, "motion" or "athlete"."""
    return (model.get("preprocessing") or {}).get("focus") or None


def model_box(model: dict) -> tuple[int, int, int, int] | None:
    """The pixel box a model's preprocessing applies to whole videos, if it names one."""
    crop = (model.get("preprocessing") or {}).get("crop")
    if isinstance(crop, (list, tuple)) and len(crop) == 4:
        return tuple(int(v) for v in crop)
    return None


def made_for_workouts(model: dict) -> bool:
    """A model that names rests too (a `none` class: window-trained MoViNet, the pose model)."""
    return "none" in (model.get("labels") or [])


def learned_from_labels(model: dict) -> bool:
    """A model that has seen the workspace's own labelled reps: every MoViNet model, and a pose model
    trained with them (its synthetic val top-1 is not comparable to one trained on synthetic motion only)."""
    if model.get("kind", "movinet") != "pose":
        return True
    seen = (model.get("metrics") or {}).get("labelled_reps") or {}
    return bool(seen.get("train"))


def best_model(models: list[dict], for_workouts: bool = False) -> dict | None:
    """The model a page should offer first: one that has learned from the workspace's labelled reps
    before one that has not, then the best val top-1 (unknown counts as worst), newest on ties; for whole
    workouts (Analyze) only models made for them when there is one."""
    pool = [m for m in models if made_for_workouts(m)] if for_workouts else list(models)
    pool = pool or list(models)
    if not pool:
        return None
    order = {m["id"]: i for i, m in enumerate(models)}  # models come newest first
    return max(pool, key=lambda m: (learned_from_labels(m), val_top1(m) if val_top1(m) is not None else -1.0,
                                    -order[m["id"]]))
