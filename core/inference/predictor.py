"""Prediction: a registered model on a video file, uploaded bytes, a workspace video or a clip.

One preprocessing
-----------------
The model input is exactly what `core.media.video.load_clip(path, start, end, n, size, crop)` returns:
`sample_indices` over the frame range, those frames decoded by the one decoder, `preprocess`
(crop, INTER_AREA resize, /255, RGB). `clip_tensor` runs the same three steps itself only to time
decoding and preprocessing apart (and to open the video once, where `load_clip` would need the
frame count first); tests check that its result equals `load_clip`'s bit for bit. A workspace clip
is read as the training cache reads it (`core.dataset.training_cache.clip_source`: the clip file as cut, or for a
whole-frame model the same frames of the source video), so training, evaluation and prediction
see the same tensor for the same clip.

Models stay loaded
------------------
`Predictor` keeps the last few loaded models (LRU, `capacity`), keyed by model id, folder and the
modification times of the folder's files, so a re-exported model is loaded again and an unchanged
one never is. Each keeps its inference callables (the fast exact CPU path of `core.modeling.fastpath`, the
reference path, or a TF Lite interpreter), traced once per input shape. The module functions
(`predict_file`, `predict_bytes`, `predict_clip`, `predict_video`) share one Predictor.

Models
------
A model reference is a registered model id (or a run id: its newest model; see
`core.modeling.registry.resolve_model`), a model row, or an exported model folder. Folders are either a
Keras export (`core.modeling.movinet.export_model`: model.json, weights/, labels.json, preprocessing.json,
saved_model/) or a TF Lite export (`core.evaluation.export`: model.tflite, labels.json, preprocessing.json,
export.json).

Engines: 'auto' (a Keras model: the fast exact path on a CPU, `core.modeling.fastpath.predictor`; a TF Lite
model: its interpreter), 'fast', 'reference', 'tflite' (a TF Lite model, or for a Keras model its
registered float TF Lite export).

Result
------
    {"top": [{"movement", "probability"}, ...k], "timings_ms": {"decode", "preprocess", "model",
     "total"}, "engine": "fast"|"reference"|"tflite", "frames_used": [indices], "model": id,
     "range": [start, end], "probabilities": {movement: p, ...all classes}}

Errors: an unreadable, unsupported or too large video raises `core.media.video.VideoError` with a
message naming the file (the upload's own name, not a temporary one); a model that cannot be
found or loaded raises `PredictError`.
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Callable

import numpy as np

from core.base.errors import ModelingError
from core.inference.loader import (
    TFLITE_FILE,
    LoadedModel,
    PredictError,
    load,
    model_kind,
    ranks,
)
from core.media.video import VideoError, VideoReader, preprocess, sample_indices
from core.modeling import registry
from core.modeling.export_files import SAVED_MODEL_DIR, STAMP_FILE

TOPK = 5
ENGINES = ("auto", "fast", "reference", "tflite")
CAPACITY = 3

# ----------------------------------------------------------------------------------------------
# The model input, timed
# ----------------------------------------------------------------------------------------------

def clip_tensor(path, start: int | None = None, end: int | None = None, n: int = 10, size=224, crop=None,
                timings: dict | None = None, focus: str | None = None,
                track=None, athlete=None) -> tuple[np.ndarray, list[int], tuple[int, int]]:
    """`core.media.video.load_clip(path, start, end, n, size, crop, focus, athlete)`, computed step by step
    (equal bit for bit): returns (float32 [n, H, W, 3], the sampled frame indices, (start, end)).

    start/end default to the first/last frame of the video (one open of the file; `load_clip`
    needs them known). focus "athlete": the box `athlete`, else the athlete box of start..end from
    `track` (the video's pose track, `core.pose.focus.athlete_box`). timings, when given, gets "decode" (open + index +
    decode, ms) and "preprocess" (ms).
    """
    t0 = time.perf_counter()
    with VideoReader(path, cache_frames=max(8, int(n))) as reader:
        last = len(reader) - 1
        start = 0 if start is None else int(start)
        end = last if end is None else int(end)
        if not 0 <= start <= end:
            raise VideoError(f"{path}: bad frame range [{start}, {end}] (the video has frames 0..{last}).")
        indices = sample_indices(start, end, n)
        reader.check_index(end)  # the same range check load_clip makes
        decoded = {}
        for i in indices:
            if i not in decoded:
                decoded[i] = reader.frame(i)
    t1 = time.perf_counter()
    if focus == "athlete" and athlete is None:
        from core.pose.focus import athlete_box

        athlete = athlete_box(track, start, end)
    x = preprocess([decoded[i] for i in indices], size, crop, focus, athlete)
    t2 = time.perf_counter()
    if timings is not None:
        timings["decode"] = (t1 - t0) * 1000.0
        timings["preprocess"] = (t2 - t1) * 1000.0
    return x, indices, (start, end)


# ----------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------

def _folder_model(folder: Path) -> dict:
    """A model row for an exported folder given by path (not registered)."""
    base = folder.parent if folder.is_file() else folder
    try:
        labels = json.loads((base / "labels.json").read_text())
        prep = json.loads((base / "preprocessing.json").read_text())
    except FileNotFoundError as exc:
        raise PredictError(f"{folder} is not an exported model folder (missing {Path(exc.filename).name}).") from exc
    except ValueError as exc:
        raise PredictError(f"{folder}: unreadable labels.json or preprocessing.json ({exc}).") from exc
    try:
        labels, prep = registry.check_description(labels, prep, str(base))
    except ModelingError as exc:
        raise PredictError(str(exc)) from None
    return {"id": base.name, "run_id": None, "path": str(base.resolve()), "labels": list(labels),
            "preprocessing": prep, "metrics": None, "folder": folder.resolve()}


def _workspace(ws):
    if ws is not None:
        return ws
    from core.base.workspace import Workspace

    return Workspace()


def resolve(ws, ref) -> dict:
    """A model row with its resolved folder under "folder": `ref` is a row, an exported folder
    path, or a registered model id / run id (then `ws`, default the default workspace, is asked)."""
    if isinstance(ref, dict):
        row = dict(ref)
        if "folder" not in row:
            p = Path(row["path"])
            row["folder"] = p if p.is_absolute() else registry.model_dir(_workspace(ws), row)
        return row
    ref_s = os.fspath(ref)
    p = Path(ref_s).expanduser()
    if (p.is_dir() and ((p / "model.json").is_file() or (p / TFLITE_FILE).is_file())) or \
            (p.is_file() and p.suffix == ".tflite"):
        return _folder_model(p)
    ws = _workspace(ws)
    try:
        row = registry.resolve_model(ws.store(), ref_s)
    except registry.ModelNotFound as exc:
        raise PredictError(str(exc)) from exc
    row["folder"] = registry.model_dir(ws, row)
    return row


def _signature(folder: Path) -> tuple:
    """Modification times (ns) of what a load reads: a changed export loads again."""
    names = ("", "model.json", "labels.json", "preprocessing.json", "weights", "weights/checkpoint", TFLITE_FILE,
             SAVED_MODEL_DIR, f"{SAVED_MODEL_DIR}/saved_model.pb", f"{SAVED_MODEL_DIR}/{STAMP_FILE}")
    out = []
    for n in names:
        p = folder / n if n else folder
        try:
            out.append((n, p.stat().st_mtime_ns))
        except OSError:
            pass
    return tuple(out)


def tflite_exports(ws, model_id: str) -> list[dict]:
    """Registered TF Lite models converted from `model_id` (newest first)."""
    out = []
    for m in registry.list_models(ws.store()):
        metrics = m.get("metrics") or {}
        if metrics.get("format") == "tflite" and metrics.get("source_model") == model_id:
            out.append(m)
    return out


def available_engines(ws, ref) -> list[str]:
    """The engines a model can run with: a Keras model 'auto', 'fast', 'reference' (+ 'tflite' when
    a float TF Lite export of it is registered); a TF Lite model 'tflite'."""
    row = resolve(ws, ref)
    if model_kind(row["folder"]) == "tflite":
        return ["tflite"]
    if model_kind(row["folder"]) == "pose":
        return ["auto"]
    engines = ["auto", "fast", "reference"]
    if ws is not None and any(not (m.get("metrics") or {}).get("quantize") for m in tflite_exports(ws, row["id"])):
        engines.append("tflite")
    return engines


class Predictor:
    """Keeps up to `capacity` models loaded between requests (LRU by model id + file mtimes)."""

    def __init__(self, capacity: int = CAPACITY):
        self.capacity = max(1, int(capacity))
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.RLock()
        self.loads = 0  # models loaded so far (tests and the page read it)

    # -- models --------------------------------------------------------------------------------

    def entry(self, ws, ref) -> LoadedModel:
        """The loaded model for `ref` (loaded now if it is not, or if its files changed)."""
        row = resolve(ws, ref)
        folder = Path(row["folder"])
        if not folder.exists():
            raise PredictError(f"The files of model {row['id']} are missing: {folder}.")
        key = (row["id"], str(folder.resolve()), _signature(folder))
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit
            # a stale version of the same model goes at once
            for k in [k for k in self._entries if k[:2] == key[:2]]:
                del self._entries[k]
            entry = self._load(row, folder)
            self._entries[key] = entry
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
            return entry

    def _load(self, row: dict, folder: Path) -> LoadedModel:
        self.loads += 1
        return load(row, folder)

    def runner(self, ws, ref, engine: str = "auto") -> tuple[Callable, str, LoadedModel]:
        """(callable clip -> probabilities, the engine it is, the entry) for `ref` and `engine`."""
        if engine not in ENGINES:
            raise PredictError(f"Unknown engine {engine!r}; use one of {', '.join(ENGINES)}.")
        entry = self.entry(ws, ref)
        if entry.kind == "tflite":
            if engine not in ("auto", "tflite"):
                raise PredictError(f"Model {entry.row['id']} is a TF Lite model: use engine 'tflite' (or 'auto'); "
                                   f"'{engine}' needs the Keras model it was converted from"
                                   + (f" ({entry.row['metrics'].get('source_model')})."
                                      if (entry.row.get('metrics') or {}).get('source_model') else "."))
            return entry.loaded, "tflite", entry
        if engine == "tflite":
            if ws is None:
                raise PredictError("engine 'tflite' for a Keras model needs the workspace where its TF Lite "
                                   "export is registered.")
            floats = [m for m in tflite_exports(ws, entry.row["id"]) if not (m.get("metrics") or {}).get("quantize")]
            if not floats:
                raise PredictError(f"Model {entry.row['id']} has no registered float TF Lite export: run "
                                   f"`python -m core export {entry.row['id']} --format tflite` first, or choose "
                                   "the TF Lite model itself.")
            sub = self.entry(ws, floats[0])
            return sub.loaded, "tflite", sub
        if entry.kind == "pose":
            return entry.loaded, "pose", entry
        with entry.lock:
            fn = entry.runners.get(engine)
            if fn is None:
                fn = entry.loaded.predictor(engine)
                entry.runners[engine] = fn
        name = "fast" if getattr(fn, "fast", False) else "reference"
        return fn, name, entry

    def warm(self, ws, ref, engine: str = "auto") -> float:
        """Load the model and run it once on a blank clip of its input shape (traces the fast path),
        so the first real prediction is as fast as the next; nothing to do when it already ran.
        Returns the seconds it took."""
        t0 = time.perf_counter()
        fn, name, entry = self.runner(ws, ref, engine)
        if name == "pose":  # nothing to trace: a pose model runs the same on any clip
            return time.perf_counter() - t0
        frames, size, _ = registry.preprocessing(entry.row)
        with entry.lock:
            if name not in entry.warmed:
                fn(np.zeros((frames, size[0], size[1], 3), np.float32))
                entry.warmed.add(name)
        return time.perf_counter() - t0

    # -- predictions ---------------------------------------------------------------------------

    def predict_array(self, ws, ref, x: np.ndarray, topk: int = TOPK, engine: str = "auto") -> dict:
        """Top-k of one preprocessed clip [T, H, W, 3] (already the model's input)."""
        t0 = time.perf_counter()
        fn, name, entry = self.runner(ws, ref, engine)
        if name == "pose":
            raise PredictError(f"Model {entry.row['id']} is a pose model: it reads a pose track, not pixels "
                               "(use predict_file, predict_video or predict_clip).")
        t1 = time.perf_counter()
        with entry.lock:
            probs = np.asarray(fn(x), dtype=np.float64).reshape(-1)
            entry.warmed.add(name)
        t2 = time.perf_counter()
        labels = list(entry.row["labels"])
        if probs.shape != (len(labels),):
            raise PredictError(f"Model {entry.row['id']} returned {probs.shape[0]} probabilities for "
                               f"{len(labels)} labels.")
        k = max(1, min(int(topk), len(labels)))
        order = ranks(probs[None])[0][:k]
        return {
            "model": entry.row["id"],
            "engine": name,
            "top": [{"movement": labels[c], "probability": float(probs[c])} for c in order],
            "probabilities": {labels[c]: float(probs[c]) for c in range(len(labels))},
            "timings_ms": {"load": (t1 - t0) * 1000.0, "model": (t2 - t1) * 1000.0},
        }

    def predict_file(self, ref, path, topk: int = TOPK, engine: str = "auto", *, ws=None,
                     start: int | None = None, end: int | None = None, crop="auto") -> dict:
        """Top-k movements of a video file (frames start..end, default the whole video).

        crop: 'auto' = the pixel box the model's preprocessing names (a box list), else the whole
        frame; None = the whole frame; or a box (x0, y0, x1, y1)."""
        t0 = time.perf_counter()
        row = resolve(ws, ref)
        if model_kind(row["folder"]) == "pose":
            return self._pose(ws, row, path, start, end, topk)
        frames, size, _ = registry.preprocessing(row)
        if isinstance(crop, str) and crop == "auto":
            crop = registry.model_box(row)
        timings: dict = {}
        track = _athlete_track(row, timings, ws, path=path)
        x, indices, rng = clip_tensor(path, start, end, frames, size, crop, timings, registry.focus(row), track)
        return self._finish(ws, row, x, indices, rng, timings, topk, engine, t0)

    def _pose(self, ws, row, path, start, end, topk, video_id=None) -> dict:
        """A pose model: the range's pose track, the movement and its judged reps (core.inference.pose_predict).
        A whole file outside the workspace's videos (an upload) has its track cached under the workspace by
        content (`core.pose.store.track_for_path`), so its skeleton can be shown after the prediction."""
        from core.inference.pose_predict import predict_pose_file

        track = None
        if video_id is None and ws is not None and start is None and end is None:
            from core.pose.store import track_for_path

            track = track_for_path(path, ws)
        return predict_pose_file(self.entry(ws, row), path, start=start, end=end, topk=topk, ws=ws,
                                 video_id=video_id, track=track)

    def _finish(self, ws, row, x, indices, rng, timings, topk, engine, t0) -> dict:
        out = self.predict_array(ws, row, x, topk, engine)
        load_ms = out["timings_ms"].pop("load")
        out["timings_ms"] = {"decode": timings.get("decode", 0.0), "preprocess": timings.get("preprocess", 0.0),
                             "model": out["timings_ms"]["model"], "total": (time.perf_counter() - t0) * 1000.0}
        if "pose" in timings:  # the athlete focus' pose track (computed or loaded)
            out["timings_ms"]["pose"] = timings["pose"]
        if load_ms > 50:
            out["timings_ms"]["load"] = load_ms
        out["frames_used"] = [int(i) for i in indices]
        out["range"] = [int(rng[0]), int(rng[1])]
        return out

    def predict_bytes(self, ref, data: bytes, suffix: str, topk: int = TOPK, engine: str = "auto", *,
                      ws=None, name: str | None = None, start=None, end=None, crop="auto") -> dict:
        """Uploaded bytes; see `predict_upload`."""
        import io

        suffix = (suffix if str(suffix).startswith(".") else f".{suffix}").lower() if suffix else ""
        shown = name if name and Path(name).suffix.lower() == suffix else f"{name or 'upload'}{suffix}"
        return self.predict_upload(ref, io.BytesIO(data), shown, topk, engine, ws=ws, start=start, end=end, crop=crop)

    def predict_upload(self, ref, stream, name: str, topk: int = TOPK, engine: str = "auto", *, ws=None,
                       start=None, end=None, crop="auto") -> dict:
        """An upload (a file-like object): streamed to a temporary file in the workspace's uploads
        folder (core.media.uploads), predicted, deleted. Errors name the upload, not the temporary file."""
        from core.media.uploads import temporary_upload

        with temporary_upload(_workspace(ws), stream, name, purpose="predict") as tmp:
            return self.predict_file(ref, tmp, topk, engine, ws=_workspace(ws), start=start, end=end, crop=crop)

    def predict_video(self, ws, video_id: int, ref=None, topk: int = TOPK, engine: str = "auto", *,
                      start: int | None = None, end: int | None = None) -> dict:
        """A workspace video (frames start..end, default all). A model trained on athlete-cropped
        clips gets the video's athlete box (as the clips were cut); else the model's own box."""
        from core.dataset.clips import normalise_box

        t0 = time.perf_counter()
        store = ws.store()
        video = store.video(int(video_id))
        if video is None:
            raise PredictError(f"No video {video_id} in the workspace.")
        row = resolve(ws, ref if ref is not None else _newest(ws))
        if model_kind(row["folder"]) == "pose":
            out = self._pose(ws, row, ws.absolute(video["path"]), start, end, topk, video_id=int(video_id))
            out["video_id"] = int(video_id)
            return out
        frames, size, crop_flag = registry.preprocessing(row)
        box = normalise_box(video.get("roi"), video["width"], video["height"]) if crop_flag else None
        if box is None:
            box = registry.model_box(row)
        timings: dict = {}
        track = _athlete_track(row, timings, ws, video_id=int(video_id))
        x, indices, rng = clip_tensor(ws.absolute(video["path"]), start, end, frames, size, box, timings,
                                      registry.focus(row), track)
        out = self._finish(ws, row, x, indices, rng, timings, topk, engine, t0)
        out["video_id"] = int(video_id)
        return out

    def predict_clip(self, ws, clip_id: int, ref=None, topk: int = TOPK, engine: str = "auto") -> dict:
        """A workspace clip, read exactly as the training cache reads it (core.dataset.training_cache.clip_source)."""
        from core.dataset.clips import clips as clip_rows
        from core.dataset.training_cache import clip_source

        t0 = time.perf_counter()
        store = ws.store()
        clip = next((c for c in clip_rows(store) if c["id"] == int(clip_id)), None)
        if clip is None:
            raise PredictError(f"No clip {clip_id} in the workspace.")
        row = resolve(ws, ref if ref is not None else _newest(ws))
        frames, size, crop_flag = registry.preprocessing(row)
        videos = {v["id"]: v for v in store.videos()}
        pose_model = model_kind(row["folder"]) == "pose"
        job = clip_source(ws, clip, videos, frames, size, crop_flag, 90, None if pose_model else registry.focus(row))
        if pose_model:  # the clip file as cut: its own pose track
            out = self._pose(ws, row, job["path"], job["start"], job["end"], topk)
        else:
            timings: dict = {}
            x, indices, rng = clip_tensor(job["path"], job["start"], job["end"], frames, size, None, timings,
                                          registry.focus(row), athlete=job.get("athlete"))
            out = self._finish(ws, row, x, indices, rng, timings, topk, engine, t0)
        out["clip_id"] = int(clip_id)
        out["clip"] = clip["path"]
        out["label"] = clip["label"]
        return out


def _athlete_track(row: dict, timings: dict, ws, *, video_id: int | None = None, path=None):
    """The pose track a model with focus "athlete" crops by (`core.pose.focus.focus_track`: a workspace
    video's stored track, a file's cached by content), timed as "pose" (ms); None for other models."""
    if registry.focus(row) != "athlete":
        return None
    from core.base.errors import WorkbenchError
    from core.pose.focus import focus_track

    t0 = time.perf_counter()
    try:
        track = focus_track(ws, video_id=video_id, path=path)
    except WorkbenchError as exc:
        raise PredictError(f"Model {row['id']} crops to the athlete's pose, and the pose track failed: {exc}") from exc
    timings["pose"] = (time.perf_counter() - t0) * 1000.0
    return track


def _newest(ws) -> dict:
    models = registry.list_models(ws.store())
    if not models:
        raise PredictError("No models registered yet: train one on the Train page (python -m core train …).")
    return models[0]


# ----------------------------------------------------------------------------------------------
# Module-level API (one shared Predictor)
# ----------------------------------------------------------------------------------------------

_DEFAULT: Predictor | None = None
_DEFAULT_LOCK = threading.Lock()


def default_predictor() -> Predictor:
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Predictor()
        return _DEFAULT


def predict_file(model_id_or_dir, path, topk: int = TOPK, engine: str = "auto", *, ws=None,
                 start: int | None = None, end: int | None = None, crop="auto") -> dict:
    """Top-k movements of a video file; see `Predictor.predict_file`."""
    return default_predictor().predict_file(model_id_or_dir, path, topk, engine, ws=ws, start=start, end=end,
                                            crop=crop)


def predict_bytes(model_id_or_dir, data: bytes, suffix: str, topk: int = TOPK, engine: str = "auto", *,
                  ws=None, name: str | None = None, start=None, end=None) -> dict:
    """Top-k movements of uploaded bytes; see `Predictor.predict_bytes`."""
    return default_predictor().predict_bytes(model_id_or_dir, data, suffix, topk, engine, ws=ws, name=name,
                                             start=start, end=end)


def predict_clip(ws, clip_id: int, model=None, topk: int = TOPK, engine: str = "auto") -> dict:
    """Top-k movements of a workspace clip (model: default the newest registered)."""
    return default_predictor().predict_clip(ws, clip_id, model, topk, engine)


def predict_video(ws, video_id: int, model=None, topk: int = TOPK, engine: str = "auto", *,
                  start: int | None = None, end: int | None = None) -> dict:
    """Top-k movements of a workspace video or a frame range of it."""
    return default_predictor().predict_video(ws, video_id, model, topk, engine, start=start, end=end)


# ----------------------------------------------------------------------------------------------
# Command line: python -m core predict MODEL VIDEO [--topk 5] [--engine auto] [--json]
# ----------------------------------------------------------------------------------------------



