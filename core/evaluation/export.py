"""Model export: a checked SavedModel, and TF Lite (float, dynamic-range or int8), checked before trusted.

`export(ws, model_id, fmt, quantize, force)`:

- ``saved_model``: the registered model's folder already holds ``saved_model/`` (written by
  `core.modeling.movinet.export_model`, its serving function traced with the fast exact ops, signature
  ``serving_default``: image [B, frames, res, res, 3] -> {logits, probabilities}). It is written
  when missing or stale (or again with force) and checked: its probabilities on up to 4 val clips (a
  random clip when there are none) must equal the fast exact path's of the model rebuilt from its
  weights within `FLOAT_TOL`. Not a new model. A damaged one (`core.modeling.export_files`) or one that
  cannot be read is an ExportError saying to rewrite it with force; an unstamped one that passes the
  check is stamped, so the loader opens it from then on.
- ``tflite``: `tf.lite.TFLiteConverter.from_saved_model` on that folder's ``saved_model/``; float
  (no quantisation), ``dynamic`` (dynamic-range: int8 weights, float activations) or ``int8``
  (weights and activations calibrated on `REPRESENTATIVE_CLIPS` clips of the train split read
  from the training cache, `core.dataset.training_cache.dataset(ws, 'train', frames, size, crop)`; float input and
  output, float fallback for any op without an int8 kernel).

Checking a TF Lite model before trusting it: the converted file is run (LiteRT interpreter) on
every val clip with THE preprocessing (`core.evaluation.predictions.clip_input`, as evaluation does); the float
Keras model's probabilities on the same clips come from `core.evaluation.predictions.predict_split(ws, id,
'val')` (stored, reused while valid). Reported: val top-1 of both, the drop, top-1 agreement, the
max |p_tflite - p_float|; for float TF Lite also against the reference path on the first
`REFERENCE_CLIPS` clips. `decide()` then says whether to register it:

- a quantised model that loses more than `MAX_TOP1_DROP` (1 point) of val top-1 is refused;
- a float model must equal the float model within `FLOAT_TOL` (1e-4) and keep its top-1;
- a model that could not be checked (no val clips) is refused;

unless force=True (the metrics still say what was found). A registered TF Lite model is a new row
in the `models` table, id ``<model>-tflite-<float|dynamic|int8>``, path ``models/<id>`` in the
workspace (model.tflite, labels.json, preprocessing.json, export.json), metrics {format, quantize,
source_model, top1_val, float_top1_val, ...}, no run (so a run id keeps naming the trained model).
A refused conversion is kept in ``models/<id>-refused/`` for inspection, not registered.
Prediction runs it with engine 'tflite' (`core.inference.predictor`).
"""
from __future__ import annotations

from core.base.progress import Progress, report
from core.base.errors import EvaluationError
import json
import math
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Callable

import numpy as np

from core.base.store import StoreError, now
from core.evaluation import metrics as scores
from core.evaluation import predictions as preds
from core.modeling import registry

FORMATS = ("saved_model", "tflite")
QUANTIZE = ("dynamic", "int8")
MAX_TOP1_DROP = 0.01      # 1 point of val top-1
FLOAT_TOL = 1e-4          # max |p| difference of a float conversion
REPRESENTATIVE_CLIPS = 48
REFERENCE_CLIPS = 2
SAVED_MODEL_CHECK_CLIPS = 4


__all__ = ["ExportError", "export", "decide", "convert_tflite", "representative_dataset", "check_tflite",
           "tflite_model_id", "FORMATS", "QUANTIZE", "MAX_TOP1_DROP", "FLOAT_TOL"]


class ExportError(EvaluationError, ValueError):
    """An export that cannot be done (unknown model or format, conversion failure, nothing to check on)."""


# ----------------------------------------------------------------------------------------------
# The decision
# ----------------------------------------------------------------------------------------------

def decide(metrics: dict, force: bool = False, max_drop: float = MAX_TOP1_DROP,
           float_tol: float = FLOAT_TOL) -> tuple[bool, str]:
    """(register?, why) for a converted model's check metrics (see module doc).

    metrics: {"quantize": None|"dynamic"|"int8", "top1_val", "float_top1_val", "n_val",
    "max_abs_diff" (float conversions), "max_abs_diff_reference" (optional)}."""
    q = metrics.get("quantize")
    top1, base = metrics.get("top1_val"), metrics.get("float_top1_val")
    problems = []
    if top1 is None or base is None or not metrics.get("n_val"):
        problems.append("it could not be checked: no val clips to run it on (cut clips and make splits)")
    else:
        drop = base - top1
        # 1e-9: 0.01 itself is not "more than 1 point" even after float rounding
        if drop > max_drop + 1e-9:
            problems.append(f"it loses {drop * 100:.1f} points of val top-1 ({base * 100:.1f}% -> {top1 * 100:.1f}%), "
                            f"more than the {max_drop * 100:g} allowed")
        if not q:
            diffs = [d for d in (metrics.get("max_abs_diff"), metrics.get("max_abs_diff_reference")) if d is not None]
            worst = max(diffs) if diffs else math.inf
            if worst > float_tol:
                problems.append(f"its probabilities differ from the float model's by up to {worst:.2e} "
                                f"(more than {float_tol:g})")
    if not problems:
        if top1 is None:
            return True, "registered"
        return True, (f"val top-1 {top1 * 100:.1f}% vs {base * 100:.1f}% for the float model "
                      f"on {metrics['n_val']} clips: within the allowed loss")
    why = "; ".join(problems)
    if force:
        return True, f"registered because forced, although {why}"
    return False, f"not registered: {why} (use --force / force=True to register it anyway)"


# ----------------------------------------------------------------------------------------------
# Conversion
# ----------------------------------------------------------------------------------------------

def convert_tflite(saved_model_dir, quantize: str | None = None, representative=None) -> bytes:
    """TF Lite flatbuffer of a SavedModel's serving_default signature (built-in ops only, so the
    LiteRT interpreter runs it without the Flex delegate)."""
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir), signature_keys=["serving_default"])
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize:
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "int8":
        if representative is None:
            raise ExportError("int8 quantisation needs a representative dataset")
        conv.representative_dataset = representative
    try:
        return conv.convert()
    except Exception as exc:  # the converter raises ConverterError, ValueError, RuntimeError…
        raise ExportError(f"TF Lite conversion of {saved_model_dir} failed: {type(exc).__name__}: "
                          f"{str(exc).strip()[:800]}") from exc


def representative_dataset(ws, model: dict, n: int = REPRESENTATIVE_CLIPS):
    """A generator function yielding [clip [1, T, H, W, 3]] for `n` train clips from the training
    cache of the model's setting (built first if clips are missing)."""
    from core.dataset.training_cache import CacheError, dataset

    frames, size, crop = registry.preprocessing(model)
    try:
        ds = dataset(ws, "train", frames, size, crop, shuffle=True, seed=0, focus=registry.focus(model)).take(int(n))
    except CacheError as exc:
        raise ExportError(f"int8 quantisation calibrates on train clips: {exc}") from exc

    def gen():
        for x, _ in ds:
            yield [np.asarray(x, dtype=np.float32)[None]]

    return gen


def _sayer(progress: Progress | None) -> Callable[[str], None]:
    """Export's steps as the one progress callback: progress(step, 0, text) (the total is unknown)."""
    if getattr(progress, "says", False):  # already one (passed on to a sub-step)
        return progress
    steps = [0]

    def say(text: str) -> None:
        steps[0] += 1
        report(progress, steps[0], 0, text)

    say.says = True
    return say


def tflite_model_id(model_id: str, quantize: str | None) -> str:
    return f"{model_id}-tflite-{quantize or 'float'}"


# ----------------------------------------------------------------------------------------------
# Checking
# ----------------------------------------------------------------------------------------------

def _val_inputs(ws, model: dict, clips: list[dict]):
    """(model inputs of the clips, exactly as evaluation reads them)."""
    from core.dataset.clips import clips as clip_table

    store = ws.store()
    frames, size, crop = registry.preprocessing(model)
    videos = {v["id"]: v for v in store.videos()}
    rows = {r["path"]: r for r in clip_table(store)}
    for c in clips:
        yield preds.clip_input(ws, rows[c["path"]], frames, size, crop, videos, registry.focus(model))


def check_tflite(ws, model: dict, tflite_path, quantize: str | None, reference_clips: int = REFERENCE_CLIPS,
                 progress: Progress | None = None) -> dict:
    """Run the converted file on the val split next to the float model (see module doc)."""
    from core.inference.loader import TFLiteModel
    from core.inference.predictor import default_predictor

    say = _sayer(progress)
    clips, _ = preds.split_clips(ws, model, "val")
    metrics = {"quantize": quantize, "n_val": len(clips), "top1_val": None, "float_top1_val": None}
    if not clips:
        return metrics
    say(f"float model on {len(clips)} val clips…")
    pred = preds.predict_split(ws, model["id"], "val")
    float_probs = {p: pred.probs[i] for i, p in enumerate(pred.clip_paths)}
    lite = TFLiteModel(tflite_path)
    say(f"TF Lite model on {len(clips)} val clips…")
    probs, base, ref_diffs = [], [], []
    ref = None
    for i, (c, x) in enumerate(zip(clips, _val_inputs(ws, model, clips))):
        p = lite(x)
        probs.append(p)
        base.append(float_probs[c["path"]])
        if not quantize and i < reference_clips:
            if ref is None:
                say(f"reference path on {min(reference_clips, len(clips))} clips…")
                ref, _, _ = default_predictor().runner(ws, model, "reference")
            ref_diffs.append(float(np.abs(p - ref(x)).max()))
    probs, base = np.asarray(probs, np.float64), np.asarray(base, np.float64)
    y = np.asarray([c["y"] for c in clips])
    metrics.update(
        top1_val=scores.topk_accuracy(probs, y, 1),
        float_top1_val=scores.topk_accuracy(base, y, 1),
        top1_agreement=float(np.mean(scores.predict(probs) == scores.predict(base))),
        max_abs_diff=float(np.abs(probs - base).max()),
    )
    metrics["top1_drop"] = metrics["float_top1_val"] - metrics["top1_val"]
    if ref_diffs:
        metrics["max_abs_diff_reference"] = max(ref_diffs)
        metrics["reference_clips"] = len(ref_diffs)
    return metrics


# ----------------------------------------------------------------------------------------------
# Registering
# ----------------------------------------------------------------------------------------------

def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(registry.to_jsonable(obj), indent=2))


# ----------------------------------------------------------------------------------------------
# export()
# ----------------------------------------------------------------------------------------------

def _resolve(ws, model_id: str) -> tuple[dict, Path]:
    from core.inference.loader import model_kind

    try:
        model = registry.resolve_model(ws.store(), model_id)
    except preds.EvaluateError as exc:
        raise ExportError(str(exc)) from exc
    folder = registry.model_dir(ws, model)
    if not folder.exists():
        raise ExportError(f"The files of model {model['id']} are missing: {folder}.")
    if model_kind(folder) == "tflite":
        raise ExportError(f"Model {model['id']} is already a TF Lite model; export the model it was converted "
                          f"from ({(model.get('metrics') or {}).get('source_model', '?')}).")
    return model, folder


def export(ws, model_id: str, fmt: str = "saved_model", quantize: str | None = None, force: bool = False,
           progress: Progress | None = None) -> dict:
    """Export a registered model (see module doc). Returns a report: {"format", "quantize",
    "source_model", "model_id" (the registered TF Lite model, or None), "registered", "reason",
    "path", "metrics", "seconds", ...}."""
    t0 = time.perf_counter()
    if fmt not in FORMATS:
        raise ExportError(f"Unknown format {fmt!r}; use saved_model or tflite.")
    if quantize in ("", "none", "float"):
        quantize = None
    if quantize is not None and quantize not in QUANTIZE:
        raise ExportError(f"Unknown quantisation {quantize!r}; use dynamic or int8 (or none for float).")
    if fmt == "saved_model" and quantize:
        raise ExportError("Quantisation applies to TF Lite only; use --format tflite.")
    model, folder = _resolve(ws, model_id)
    say = _sayer(progress)
    try:
        if fmt == "saved_model":
            out = _export_saved_model(ws, model, folder, force, say)
        else:
            out = _export_tflite(ws, model, folder, quantize, force, say)
    except StoreError:
        raise
    except Exception as exc:
        from core.modeling.movinet import ModelError

        if isinstance(exc, ModelError):
            raise ExportError(f"Model {model['id']}: {exc}") from exc
        raise
    out["seconds"] = time.perf_counter() - t0
    return out


def _saved_model_state(model: dict, folder: Path) -> str:
    """core.modeling.export_files.saved_model_state, a damaged SavedModel as an ExportError."""
    from core.modeling import export_files

    try:
        return export_files.saved_model_state(folder)
    except export_files.DamagedExport as exc:
        raise ExportError(f"Model {model['id']}: {exc}; rewrite it from the weights with "
                          f"`python -m core export {model['id']} --force`.") from None


def _export_saved_model(ws, model: dict, folder: Path, force: bool, say: Callable[[str], None]) -> dict:
    import tensorflow as tf

    from core.modeling import export_files, fastpath
    from core.modeling import movinet as M

    sm = folder / "saved_model"
    rewritten = False
    state = "missing" if force else _saved_model_state(model, folder)
    loaded = None
    if state in ("missing", "stale"):  # a stale one was traced from other weights: not this model
        say(f"writing {sm}…")
        loaded = M.load_model(folder)
        prep_file = folder / "preprocessing.json"
        prep_text = prep_file.read_text()
        crop = loaded.crop if isinstance(loaded.crop, (list, tuple)) else None
        M.export_model(loaded.model, folder, loaded.labels, loaded.frames, loaded.resolution, crop)
        prep_file.write_text(prep_text)  # keep the preprocessing exactly as registered
        rewritten = True
    say("checking the SavedModel against the fast exact path…")
    clips, _ = preds.split_clips(ws, model, "val")
    clips = clips[:SAVED_MODEL_CHECK_CLIPS]
    if clips:
        inputs = list(_val_inputs(ws, model, clips))
    else:
        frames, size, _ = registry.preprocessing(model)
        inputs = [np.random.default_rng(0).random((frames, size[0], size[1], 3), dtype=np.float32)]
    # against the model rebuilt from its weights (the loader's fast engine may be this very SavedModel)
    fast = fastpath.fast_model((loaded or M.load_model(folder)).model)
    try:
        serve = tf.saved_model.load(str(sm)).signatures["serving_default"]
    except Exception as exc:  # an unstamped SavedModel that does not parse or restore
        raise ExportError(f"Model {model['id']}: its SavedModel {sm} cannot be read ({type(exc).__name__}: "
                          f"{str(exc).strip().splitlines()[0][:300]}); rewrite it from the weights with "
                          f"`python -m core export {model['id']} --force`.") from None
    diff = 0.0
    for x in inputs:
        p = serve(image=tf.constant(x[None]))["probabilities"].numpy()[0]
        diff = max(diff, float(np.abs(p - fast(x)).max()))
    if diff > FLOAT_TOL:
        raise ExportError(f"The SavedModel of {model['id']} differs from the model by up to {diff:.2e} "
                          f"(more than {FLOAT_TOL:g}); export it again with --force.")
    if state == "unstamped":  # checked equal to the model: from now on the loader may open it
        prep = json.loads((folder / "preprocessing.json").read_text())
        export_files.write_stamp(folder, prep["frames"], prep["resolution"])
    return {"format": "saved_model", "quantize": None, "source_model": model["id"], "model_id": model["id"],
            "registered": True, "rewritten": rewritten, "path": ws.relative(sm),
            "reason": f"SavedModel checked on {len(inputs)} {'val clips' if clips else 'random clip'}: "
                      f"max probability difference {diff:.1e}",
            "metrics": {"max_abs_diff": diff, "checked_on": len(inputs)}}


def _export_tflite(ws, model: dict, folder: Path, quantize: str | None, force: bool, say: Callable[[str], None]) -> dict:
    from core.inference.loader import TFLITE_FILE

    sm = folder / "saved_model"
    state = _saved_model_state(model, folder)
    if state == "missing":
        raise ExportError(f"Model {model['id']} has no SavedModel to convert ({sm}); run "
                          f"`python -m core export {model['id']} --format saved_model` first.")
    if state == "stale":
        raise ExportError(f"Model {model['id']}: its SavedModel was traced from other weights; rewrite it with "
                          f"`python -m core export {model['id']} --force` first.")
    new_id = tflite_model_id(model["id"], quantize)
    models_dir = ws.root / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = models_dir / f".tmp-{new_id}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        rep = representative_dataset(ws, model) if quantize == "int8" else None
        say(f"converting {sm} to TF Lite ({quantize or 'float'})…")
        t = time.perf_counter()
        data = convert_tflite(sm, quantize, rep)
        convert_s = time.perf_counter() - t
        (tmp / TFLITE_FILE).write_bytes(data)
        for name in ("labels.json", "preprocessing.json"):
            shutil.copyfile(folder / name, tmp / name)
        metrics = check_tflite(ws, model, tmp / TFLITE_FILE, quantize, progress=say)
        metrics.update(format="tflite", source_model=model["id"], size_bytes=len(data),
                       convert_seconds=convert_s)
        if quantize == "int8":
            from core.dataset.training_cache import examples

            metrics["representative_clips"] = min(REPRESENTATIVE_CLIPS, len(examples(ws, "train")))
        ok, reason = decide(metrics, force)
        metrics["forced"] = bool(force and ok and "forced" in reason)
        _write_json(tmp / "export.json", {"source_model": model["id"], "source_path": model["path"],
                                          "quantize": quantize, "registered": ok, "reason": reason,
                                          "metrics": metrics, "created_at": now()})
        final = models_dir / (new_id if ok else f"{new_id}-refused")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    if ok:
        registry.register_model(ws, new_id, final, model["labels"], model.get("preprocessing") or {},
                                metrics, kind="tflite")
    return {"format": "tflite", "quantize": quantize, "source_model": model["id"],
            "model_id": new_id if ok else None, "registered": ok, "reason": reason,
            "path": ws.relative(final / TFLITE_FILE), "metrics": metrics}


# ----------------------------------------------------------------------------------------------
# Command line: python -m core export MODEL --format saved_model|tflite [--quantize dynamic|int8] [--force]
# ----------------------------------------------------------------------------------------------







