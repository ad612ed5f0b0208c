"""The one model loader: a registered model row (core.modeling.registry) and its folder become a
callable `batch float32 [B, T, H, W, 3] in [0, 1] -> probabilities [B, classes]`, whatever its kind:
a MoViNet export (its exact fast CPU path or the reference ops), a TF Lite file (LiteRT), or a pose
model (core.modeling.pose_model). Labels are checked against the registered ones in every case.

A MoViNet export whose SavedModel is stamped fresh (core.modeling.export_files: traced with the
fast exact ops from these very weights) opens as a `SavedModelForm`: the fast path is that
SavedModel, loaded in about a second, instead of the Keras model rebuilt from model.json, the
checkpoint restored and the fast path traced again (core.modeling.movinet.load_model), which is
what a missing, unstamped or stale SavedModel still gets; the Keras model is rebuilt only when asked
for (the reference engine, another input shape). A damaged stamped SavedModel is a PredictError
naming the file."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from core.base.errors import InferenceError
from core.media.video import clip_batch
from core.modeling.export_files import PreprocessingFields

TFLITE_FILE = "model.tflite"


class PredictError(InferenceError):
    """No such model, a model that cannot be loaded, an engine it does not have; says why."""


def softmax(logits) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def as_probs(out) -> np.ndarray:
    """Model output as probabilities: rows already on the simplex are kept, anything else is
    taken as logits (softmax)."""
    out = np.asarray(out, dtype=np.float64)
    if out.ndim == 1:
        out = out[None]
    if out.min() >= 0 and np.allclose(out.sum(axis=-1), 1.0, atol=1e-3):
        return out
    return softmax(out)


def ranks(probs) -> np.ndarray:
    """Class indices of each row from most to least probable (ties: lower index first)."""
    return np.argsort(-np.asarray(probs, dtype=np.float64), axis=-1, kind="stable")


def tflite_interpreter_class():
    """LiteRT's interpreter (the successor of tf.lite.Interpreter, deprecated in TF 2.20) when
    installed, else tf.lite.Interpreter."""
    try:
        from ai_edge_litert.interpreter import Interpreter
        return Interpreter
    except ImportError:  # pragma: no cover - depends on the environment
        import tensorflow as tf

        return tf.lite.Interpreter


class TFLiteModel:
    """A converted model file as a callable: clip [T, H, W, 3] (or batch) -> probabilities.

    Uses the `serving_default` signature (image -> {logits, probabilities}) when the file has it,
    else the first input and output (taken as logits unless they already sum to 1). An
    interpreter is not thread-safe: calls are serialised."""

    fast = None  # not a core.modeling.fastpath callable

    def __init__(self, path, num_threads: int | None = None):
        self.path = Path(path)
        interp_cls = tflite_interpreter_class()
        try:
            self.interpreter = interp_cls(model_path=str(self.path), num_threads=num_threads or os.cpu_count() or 1)
        except (ValueError, RuntimeError) as exc:
            raise PredictError(f"{self.path}: not a loadable TF Lite model ({exc}).") from exc
        self._lock = threading.Lock()
        sigs = self.interpreter.get_signature_list()
        self._runner = None
        if "serving_default" in sigs:
            self._runner = self.interpreter.get_signature_runner("serving_default")
            self._input = sigs["serving_default"]["inputs"][0]
        else:
            self.interpreter.allocate_tensors()
        self._shape = None

    def __call__(self, clip) -> np.ndarray:
        x, single = clip_batch(clip)
        with self._lock:
            if self._runner is not None:
                out = self._runner(**{self._input: x})
                probs = out["probabilities"] if "probabilities" in out else softmax(out[next(iter(out))])
            else:
                interp = self.interpreter
                inp = interp.get_input_details()[0]
                if self._shape != x.shape:
                    interp.resize_tensor_input(inp["index"], list(x.shape))
                    interp.allocate_tensors()
                    self._shape = x.shape
                interp.set_tensor(inp["index"], x)
                interp.invoke()
                probs = as_probs(interp.get_tensor(interp.get_output_details()[0]["index"]))
        probs = np.asarray(probs, dtype=np.float32)
        return probs[0] if single else probs


def _softmax32(logits) -> np.ndarray:
    return softmax(logits).astype(np.float32)  # as core.modeling.fastpath's callables return them


class SavedModelPredictor:
    """The fast path of a `SavedModelForm`: clip [T, H, W, 3] (or batch) -> probabilities. A clip
    of another shape than the one traced runs on the rebuilt model's fast path."""

    fast = True

    def __init__(self, form: "SavedModelForm"):
        self.form = form
        self.shape = tuple(form.serve.structured_input_signature[1]["image"].shape[1:])

    def __call__(self, clip) -> np.ndarray:
        import tensorflow as tf

        x, single = clip_batch(clip)
        if x.shape[1:] != self.shape:
            return self.form.rebuilt_model().predictor("fast")(clip)
        probs = _softmax32(self.form.serve(image=tf.constant(x))["logits"].numpy())
        return probs[0] if single else probs


@dataclass
class SavedModelForm(PreprocessingFields):
    """A MoViNet export opened from its fresh SavedModel (see the module doc); `rebuilt` is the
    Keras model (core.modeling.movinet.LoadedModel) once something needed it."""

    path: Path
    labels: list
    preprocessing: dict
    serve: object  # the SavedModel's serving_default: image -> {"logits", "probabilities"}
    rebuilt: object = None
    fast: SavedModelPredictor | None = field(default=None, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def rebuilt_model(self):
        with self.lock:
            if self.rebuilt is None:
                from core.modeling.movinet import load_model

                self.rebuilt = load_model(self.path)
            return self.rebuilt

    @property
    def model(self):
        """The Keras classifier, rebuilt on first use."""
        return self.rebuilt_model().model

    def predictor(self, path: str = "auto"):
        """As core.modeling.movinet.LoadedModel.predictor: 'auto' is the fast path on a CPU."""
        if path not in ("auto", "fast", "reference"):
            raise ValueError(f"path must be 'auto', 'fast' or 'reference', got {path!r}")
        if path == "auto":
            import tensorflow as tf

            path = "reference" if tf.config.list_logical_devices("GPU") else "fast"
        if path == "reference":
            return self.rebuilt_model().predictor("reference")
        with self.lock:
            if self.fast is None:
                self.fast = SavedModelPredictor(self)
            return self.fast


def open_movinet(folder: Path):
    """A MoViNet export as a SavedModelForm when its SavedModel is fresh, else rebuilt
    (core.modeling.movinet.LoadedModel); DamagedExport when a stamped SavedModel is damaged."""
    from core.modeling import export_files

    _, labels, prep = export_files.read_description(folder)
    if export_files.saved_model_state(folder) == "fresh":
        import tensorflow as tf

        try:
            serve = tf.saved_model.load(str(folder / export_files.SAVED_MODEL_DIR)).signatures["serving_default"]
        except Exception:  # pragma: no cover - the files are as exported, so TensorFlow itself changed
            serve = None
        if serve is not None:
            return SavedModelForm(path=folder, labels=list(labels), preprocessing=prep, serve=serve)
    from core.modeling.movinet import load_model

    return load_model(folder)


def model_kind(folder) -> str:
    """'tflite' (a folder holding model.tflite, or a .tflite file), 'pose' (a pose model folder)
    or 'movinet' (an export_model folder)."""
    folder = Path(folder)
    if folder.suffix == ".tflite" or (folder / TFLITE_FILE).is_file():
        return "tflite"
    if (folder / "pose_model.json").is_file():
        return "pose"
    return "movinet"


@dataclass
class LoadedModel:
    """One loaded model: its row, kind, the loaded object and its inference callables per engine."""

    row: dict
    kind: str
    loaded: object = None
    runners: dict = field(default_factory=dict)
    warmed: set = field(default_factory=set)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def predict_fn(self, engine: str = "fast") -> Callable[[np.ndarray], np.ndarray]:
        """`batch -> probabilities [B, classes]` for this model with the engine ('fast' or
        'reference' for MoViNet; a TF Lite or pose model has one way to run)."""
        with self.lock:
            if engine in self.runners:
                return self.runners[engine]
            if self.kind in ("tflite", "pose"):
                fn = self.loaded
            elif hasattr(self.loaded, "predictor"):
                fn = self.loaded.predictor(engine)
            else:  # a bare Keras model
                from core.modeling.fastpath import predictor

                fn = predictor(self.loaded)

            def run(batch: np.ndarray) -> np.ndarray:
                out = fn(batch)
                if isinstance(out, dict):  # a SavedModel signature: {"logits", "probabilities"}
                    out = out.get("probabilities", next(iter(out.values())))
                if hasattr(out, "numpy"):
                    out = out.numpy()
                return as_probs(out).astype(np.float32)

            self.runners[engine] = run
            return run


def load(row: dict, folder: Path) -> LoadedModel:
    """Load the registered model `row` from `folder` (see the module doc)."""
    folder = Path(folder)
    if not folder.exists():
        raise PredictError(f"The files of model {row['id']} are missing: {folder}.")
    kind = model_kind(folder)
    if kind == "tflite":
        return LoadedModel(row=row, kind=kind, loaded=TFLiteModel(folder if folder.suffix == ".tflite"
                                                                  else folder / TFLITE_FILE))
    from core.modeling.export_files import DamagedExport

    try:
        if kind == "pose":
            from core.modeling.pose_model import load_pose_model as load_fn
        else:
            load_fn = open_movinet
    except ImportError as exc:  # pragma: no cover - TensorFlow missing
        raise PredictError(f"Cannot load model {row['id']}: the model code is not available ({exc}).") from exc
    try:
        loaded = load_fn(folder)
    except DamagedExport as exc:
        raise PredictError(f"Model {row['id']}: {exc}; rewrite it from the weights with "
                           f"`python -m core export {row['id']} --force`.") from None
    except Exception as exc:
        raise PredictError(f"Cannot load model {row['id']} from {folder}: {type(exc).__name__}: {exc}") from exc
    labels = getattr(loaded, "labels", None)
    if labels is not None and list(labels) != list(row["labels"]):
        raise PredictError(f"Model {row['id']}: its folder's labels {list(labels)} differ from the registered "
                        f"ones {list(row['labels'])}.")
    return LoadedModel(row=row, kind=kind, loaded=loaded)
