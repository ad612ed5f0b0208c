"""Stored predictions: a registered model run over the clips of a split with THE preprocessing,
probabilities kept in the run folder (`runs/<run_id>/predictions_<split>.npz`, or
`predictions_<split>__<model_id>.npz` when the run registered several models; `runs/model-<id>/`
without a run) with a fingerprint of what they came from (model files, labels, preprocessing, the
split's clips). While it matches, the stored probabilities are used and the model is not loaded."""
from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from core.base.errors import EvaluationError
from core.evaluation.metrics import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    distributions,
    evaluate_arrays,
)
from core.inference.loader import PredictError, load
from core.modeling.registry import (
    ModelNotFound,
    focus,
    model_dir,
    preprocessing,
    resolve_model,
)

PREDICTIONS_FORMAT = 1
SPLITS = ("train", "val", "test")


class EvaluateError(EvaluationError):
    """Evaluation cannot run (no such model, no clips in the split, model not loadable); says why."""


def _resolve(store, model_id: str) -> dict:
    try:
        return resolve_model(store, model_id)
    except ModelNotFound as exc:
        raise EvaluateError(str(exc)) from exc


def predictions_path(ws, model: dict, split: str) -> Path:
    """Where the predictions of `model` on `split` are stored (see module doc)."""
    store = ws.store()
    run_id = model.get("run_id")
    if not run_id:
        return ws.runs_dir / f"model-{model['id']}" / f"predictions_{split}.npz"
    with store.read() as con:
        n = con.execute("SELECT COUNT(*) FROM models WHERE run_id = ?", (run_id,)).fetchone()[0]
    name = f"predictions_{split}.npz" if n <= 1 else f"predictions_{split}__{model['id']}.npz"
    return ws.runs_dir / run_id / name


def split_clips(ws, model: dict, split: str) -> tuple[list[dict], list[dict]]:
    """(clips of the split the model can be scored on, each with `y` = index of its movement in the
    model's labels; clips of movements the model does not know, left out)."""
    from core.dataset.training_cache import examples

    if split not in SPLITS:
        raise EvaluateError(f"Unknown split {split!r}; use train, val or test.")
    labels = list(model["labels"])
    store = ws.store()
    with store.read() as con:
        ids = {r["path"]: r["id"] for r in con.execute("SELECT id, path FROM clips")}
    keep, skipped = [], []
    for e in examples(ws, split):
        e = dict(e, id=ids.get(e["path"]))
        if e["label"] in labels:
            keep.append(dict(e, y=labels.index(e["label"])))
        else:
            skipped.append(e)
    return keep, skipped


def _model_files(folder: Path) -> list:
    if folder.is_file():
        st = folder.stat()
        return [[folder.name, st.st_size, st.st_mtime_ns]]
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for f in sorted(filenames):
            p = Path(dirpath) / f
            st = p.stat()
            out.append([p.relative_to(folder).as_posix(), st.st_size, st.st_mtime_ns])
    return out


def prediction_fingerprint(ws, model: dict, split: str, clips: list[dict] | None = None) -> str:
    """What stored predictions depend on: the model's files (name, size, mtime), id, labels and
    preprocessing, and the split's clips (fingerprint, movement, in order)."""
    if clips is None:
        clips, _ = split_clips(ws, model, split)
    key = {
        "format": PREDICTIONS_FORMAT,
        "model": model["id"],
        "labels": list(model["labels"]),
        "preprocessing": model.get("preprocessing") or {},
        "files": _model_files(model_dir(ws, model)),
        "split": split,
        "clips": [[c["fingerprint"], c["label"]] for c in clips],
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


@dataclass
class Predictions:
    """Per-clip class probabilities of one model on one split."""
    model_id: str
    split: str
    labels: list[str]
    clip_ids: np.ndarray       # clips table ids (int64; -1 if unknown)
    clip_paths: list[str]      # workspace-relative clip files
    clip_fingerprints: list[str]
    y_true: np.ndarray         # int64 index into labels
    probs: np.ndarray          # float32 [n, len(labels)]
    fingerprint: str
    path: Path
    reused: bool = False
    skipped: list[dict] = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(self.y_true.size)

    def report(self, **kwargs) -> dict:
        rep = evaluate_arrays(self.probs, self.y_true, self.labels, [int(i) for i in self.clip_ids], **kwargs)
        rep.update(model_id=self.model_id, split=self.split, skipped=len(self.skipped))
        for c, path in zip(rep["clips"], self.clip_paths):
            c["path"] = path
        return rep

    def distributions(self):
        return distributions(self.probs, self.y_true, self.labels, [int(i) for i in self.clip_ids])


def save_predictions(path: Path, *, model_id: str, split: str, labels: Sequence[str], clip_ids, clip_paths,
                     clip_fingerprints, y_true, probs, fingerprint: str) -> Path:
    """Write a predictions file atomically (temporary name, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{threading.get_ident()}-{path.name}")
    with open(tmp, "wb") as f:
        np.savez(f, format=np.int64(PREDICTIONS_FORMAT), model_id=np.str_(model_id), split=np.str_(split),
                 labels=np.asarray(list(labels), dtype=str), clip_ids=np.asarray(clip_ids, dtype=np.int64),
                 clip_paths=np.asarray(list(clip_paths), dtype=str),
                 clip_fingerprints=np.asarray(list(clip_fingerprints), dtype=str),
                 y_true=np.asarray(y_true, dtype=np.int64), probs=np.asarray(probs, dtype=np.float32),
                 fingerprint=np.str_(fingerprint))
    os.replace(tmp, path)
    return path


def read_predictions(path: Path) -> Predictions | None:
    """A stored predictions file, or None when there is none (or it is unreadable or of another format)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z["format"]) != PREDICTIONS_FORMAT:
                return None
            return Predictions(
                model_id=str(z["model_id"]), split=str(z["split"]), labels=[str(x) for x in z["labels"]],
                clip_ids=z["clip_ids"].astype(np.int64), clip_paths=[str(x) for x in z["clip_paths"]],
                clip_fingerprints=[str(x) for x in z["clip_fingerprints"]], y_true=z["y_true"].astype(np.int64),
                probs=z["probs"].astype(np.float32), fingerprint=str(z["fingerprint"]), path=path, reused=True)
    except (OSError, ValueError, KeyError):
        return None


def load_predictions(ws, model_id: str, split: str = "test") -> Predictions | None:
    """The stored predictions of the model on the split if they are still valid (same fingerprint),
    else None. Never loads the model."""
    model = _resolve(ws.store(), model_id)
    clips, skipped = split_clips(ws, model, split)
    stored = read_predictions(predictions_path(ws, model, split))
    if stored is None or stored.fingerprint != prediction_fingerprint(ws, model, split, clips):
        return None
    stored.skipped = skipped
    return stored


def clip_input(ws, clip: dict, frames: int, size, crop: bool, videos: dict, focus: str | None = None,
               tracks: dict | None = None) -> np.ndarray:
    """The model input of one clip (a clips-table row as `core.dataset.clips.clips` gives it): float32
    [frames, H, W, 3] in [0, 1], from THE preprocessing (core.media.video.load_clip), read exactly as the
    training cache reads it (core.dataset.training_cache.clip_source: the clip file as cut, or for crop=False on a cropped
    clip the same frames of the source video). `videos`: {id: video row}; `tracks`: {video id: pose
    track}, filled as the athlete focus loads them."""
    from core.dataset.training_cache import clip_source
    from core.media.video import load_clip

    job = clip_source(ws, clip, videos, frames, size, crop, 90, focus, tracks)
    return load_clip(job["path"], job["start"], job["end"], frames, size, None, focus, job.get("athlete"))


def predict_split(ws, model_id: str, split: str = "test", *, batch_size: int = 4, force: bool = False,
                  progress: Callable[[int, int, str], None] | None = None,
                  cancel: threading.Event | None = None) -> Predictions:
    """Per-clip probabilities of a registered model (id, or a run id) on a split, stored in the run
    folder and reused while the model and the split's clips are unchanged (`force` recomputes).
    progress(done, total, text) after each batch; `cancel` stops (EvaluateError, nothing stored)."""
    store = ws.store()
    model = _resolve(store, model_id)
    clips, skipped = split_clips(ws, model, split)
    if not clips:
        raise EvaluateError(f"No clips of split {split!r} to evaluate model {model['id']} on: "
                            "cut clips and make splits first" + (f" ({len(skipped)} clips are of movements "
                                                                 "the model does not know)" if skipped else "") + ".")
    fp = prediction_fingerprint(ws, model, split, clips)
    path = predictions_path(ws, model, split)
    if not force:
        stored = read_predictions(path)
        if stored is not None and stored.fingerprint == fp:
            stored.skipped = skipped
            return stored
    try:
        loaded = load(model, model_dir(ws, model))
        pose = getattr(loaded, "kind", None) == "pose"
        predict_fn = None if pose else loaded.predict_fn()
    except PredictError as exc:
        raise EvaluateError(str(exc)) from exc
    frames, size, crop = preprocessing(model)
    model_focus = focus(model)
    videos = {v["id"]: v for v in store.videos()}
    from core.dataset.clips import clips as clip_table

    rows = {r["path"]: r for r in clip_table(store)}
    probs = np.zeros((len(clips), len(model["labels"])), dtype=np.float32)
    total = len(clips)
    tracks: dict = {}  # the athlete focus' pose tracks, one load per video
    if pose:  # each clip's own pose track, then the pose model (core.inference.pose_predict)
        _pose_probs(ws, loaded, clips, rows, videos, crop, probs, progress, cancel)
    for start in range(0, 0 if pose else total, batch_size):
        if cancel is not None and cancel.is_set():
            raise EvaluateError("Evaluation cancelled; nothing was stored.")
        part = clips[start:start + batch_size]
        x = np.stack([clip_input(ws, rows[c["path"]], frames, size, crop, videos, model_focus, tracks)
                      for c in part]).astype(np.float32)
        if len(part) < batch_size and total > batch_size:
            # pad the last batch to the same shape: a traced model (core.modeling.fastpath) would trace again
            x = np.concatenate([x, np.repeat(x[-1:], batch_size - len(part), axis=0)])
        out = predict_fn(x)
        if out.shape != (len(x), len(model["labels"])):
            raise EvaluateError(f"Model {model['id']} returned shape {out.shape} for a batch of {len(x)}; "
                                f"expected ({len(x)}, {len(model['labels'])}) — does it match its labels?")
        probs[start:start + len(part)] = out[: len(part)]
        if progress:
            progress(min(start + len(part), total), total, part[-1]["path"])
    save_predictions(path, model_id=model["id"], split=split, labels=model["labels"],
                     clip_ids=[c["id"] if c["id"] is not None else -1 for c in clips],
                     clip_paths=[c["path"] for c in clips], clip_fingerprints=[c["fingerprint"] for c in clips],
                     y_true=[c["y"] for c in clips], probs=probs, fingerprint=fp)
    result = read_predictions(path)
    result.reused = False
    result.skipped = skipped
    return result


def _pose_probs(ws, loaded, clips, rows, videos, crop, probs, progress, cancel) -> None:
    """Pose model: each clip read as the training cache reads it (the clip file as cut, or the same frames
    of the source video), its pose track over that range, its probabilities (no rep counting)."""
    from core.dataset.training_cache import clip_source
    from core.inference.pose_predict import predict_track, track_arrays, track_of

    for i, c in enumerate(clips):
        if cancel is not None and cancel.is_set():
            raise EvaluateError("Evaluation cancelled; nothing was stored.")
        job = clip_source(ws, rows[c["path"]], videos, 10, 224, crop, 90)
        track = track_of(job["path"], start=job["start"], end=job["end"])
        out = predict_track(loaded.loaded, loaded.row["labels"], track_arrays(track), job["start"], job["end"],
                            track.fps, topk=1, reps=False)
        probs[i] = [out["probabilities"][lab] for lab in loaded.row["labels"]]
        if progress:
            progress(i + 1, len(clips), c["path"])


def evaluate_model(ws, run_or_model: str, split: str = "test", *, progress=None, cancel=None,
                   resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> dict:
    """predict_split + evaluate_arrays: the report of a model on a split, with model/split info."""
    pred = predict_split(ws, run_or_model, split, progress=progress, cancel=cancel)
    rep = pred.report(resamples=resamples, seed=seed)
    rep["predictions_path"] = ws.relative(pred.path)
    rep["reused_predictions"] = pred.reused
    return rep
