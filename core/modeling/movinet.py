"""MoViNet models (TensorFlow Model Garden): build, pretrained checkpoints, stream form, export/load.

Models
------
`build_model(model_id, variant, num_classes, ...)` returns a Keras `MovinetClassifier` that maps
a clip batch [B, T, H, W, 3] float32 RGB in [0, 1] to **logits** [B, num_classes] (apply a
softmax for probabilities; `core.modeling.fastpath.predictor` does). Ids a0-a5; variants:

- ``base``: the official base models (3D convs, non-causal; `conv_type='3d'`, `se_type='3d'`,
  swish / sigmoid).
- ``stream``: the official streaming models (causal (2+1)D convs: `conv_type='2plus1d'`,
  `se_type='2plus3d'`, hard_swish / hard_sigmoid, positional encoding for a3-a5), built
  *without* external states so `fit` works on whole clips (Model Garden issue 10730). For
  frame-by-frame inference `to_stream(model)` rebuilds it with external states and the same
  weights; `stream_predict(stream_model, clip)` feeds frames one at a time (or in chunks)
  carrying the states. Its last output equals the whole-clip output.

Pretrained Kinetics-600 checkpoints
-----------------------------------
`pretrained='auto'` fetches ``{base_url}/movinet_{id}_{variant}.tar.gz`` (the archives listed in
the Model Garden's MoViNet README) once into ``models/pretrained/`` - with a progress callback,
resuming a partial download with an HTTP Range request, verifying it (size against
Content-Length, an optional SHA-256, a complete gzip/tar read, safe member paths, a TF checkpoint
index inside) and extracting it. The base URL comes from the `base_url` argument, else
``$MOVINET_CHECKPOINT_URL``, else the official bucket; the cache folder from `cache_dir`, else
``$MOVINET_PRETRAINED_DIR``, else ``models/pretrained``. A local checkpoint directory, a
checkpoint prefix or a ``.tar.gz`` archive path is accepted too.

Restoring builds the 600-class model of the same architecture, restores
``tf.train.Checkpoint(model=...)`` and checks that **every** backbone variable received a
value from the checkpoint (and that no shape mismatched); anything else is a `ModelError`, never
a silent start from random weights. The head is then replaced by a new `num_classes` head on
the restored backbone (the official fine-tuning recipe); `freeze_backbone=True` makes the
backbone non-trainable.

Export / load
-------------
`export_model(model, out_dir, labels, frames, resolution, crop)` writes

    out_dir/model.json          architecture (id, variant, classes, conv settings)
    out_dir/labels.json         class names, in output order
    out_dir/preprocessing.json  {"frames", "resolution", "crop", "focus"[, "window_scales"]}
    out_dir/weights/            tf.train.Checkpoint(model=...) of the classifier
    out_dir/saved_model/        a TF SavedModel, signature `serving_default`:
                                image [B, frames, res, res, 3] -> {"logits", "probabilities"}

and, when the SavedModel was traced with the fast ops, ``saved_model/workbench_stamp.json``
(`core.modeling.export_files`: the loader opens that SavedModel instead of rebuilding while it is
the one traced from these weights). `load_model(out_dir)` rebuilds the Keras model from
``model.json`` and restores the weights (verified) - so predictions can use
`core.modeling.fastpath` - returning a `LoadedModel`.
"""
from __future__ import annotations

from core.base.errors import ModelingError
from core.base.progress import Progress
from core.modeling.export_files import PreprocessingFields, read_description, write_stamp
import contextlib
import dataclasses
import hashlib
import http.client
import json
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterable, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402
from official.projects.movinet.modeling import movinet, movinet_model  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PRETRAINED_DIR = PROJECT_ROOT / "models" / "pretrained"
OFFICIAL_BASE_URL = "https://storage.googleapis.com/tf_model_garden/vision/movinet"
MODEL_IDS = ("a0", "a1", "a2", "a3", "a4", "a5")
VARIANTS = ("base", "stream")
# Input resolution each model was trained at (Model Garden README); frames are free.
NATIVE_RESOLUTION = {"a0": 172, "a1": 172, "a2": 224, "a3": 256, "a4": 290, "a5": 320}
PRETRAINED_CLASSES = 600  # Kinetics-600
# SHA-256 of the official archives, where known (none are published); verified when present.
KNOWN_SHA256: dict[str, str] = {}


__all__ = [
    "ModelError", "ModelSpec", "LoadedModel", "MODEL_IDS", "VARIANTS", "NATIVE_RESOLUTION",
    "build_model", "build_backbone", "build_classifier", "backbone_settings",
    "restore_pretrained_backbone", "fetch_pretrained", "resolve_checkpoint", "checkpoint_url",
    "to_stream", "init_states", "stream_predict", "export_model", "load_model",
    "copy_weights", "restore_weights",
]


class ModelError(ModelingError, ValueError):
    """A model cannot be built, restored, downloaded or loaded; the message says why."""


# ----------------------------------------------------------------------------------------------
# Architecture
# ----------------------------------------------------------------------------------------------

@dataclasses.dataclass
class ModelSpec:
    """Everything needed to rebuild a classifier's architecture (saved as model.json)."""

    model_id: str = "a0"
    variant: str = "base"
    num_classes: int = 9
    conv_type: str = "3d"
    se_type: str = "3d"
    activation: str = "swish"
    gating_activation: str = "sigmoid"
    use_positional_encoding: bool = False
    causal: bool = False
    dropout_rate: float = 0.0
    classifier_activation: str = "swish"

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "ModelSpec":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def _check_id(model_id: str, variant: str) -> None:
    if model_id not in MODEL_IDS:
        raise ModelError(f"unknown MoViNet model id {model_id!r}; choose one of {', '.join(MODEL_IDS)}")
    if variant not in VARIANTS:
        raise ModelError(f"unknown variant {variant!r}; choose 'base' or 'stream'")


def backbone_settings(model_id: str, variant: str, conv_type: str | None = None) -> dict:
    """The official backbone settings of a model id and variant (README / Model Garden configs)."""
    _check_id(model_id, variant)
    if variant == "base":
        settings = dict(causal=False, conv_type="3d", se_type="3d", activation="swish",
                        gating_activation="sigmoid", use_positional_encoding=False)
    else:
        settings = dict(causal=True, conv_type="2plus1d", se_type="2plus3d", activation="hard_swish",
                        gating_activation="hard_sigmoid",
                        use_positional_encoding=model_id in ("a3", "a4", "a5"))
    if conv_type is not None:
        allowed = ("3d",) if variant == "base" else ("2plus1d", "3d_2plus1d", "3d")
        if conv_type not in allowed:
            raise ModelError(f"conv_type {conv_type!r} does not fit the {variant} variant "
                             f"(allowed: {', '.join(allowed)})")
        settings["conv_type"] = conv_type
    return settings


def make_spec(model_id: str = "a0", variant: str = "base", num_classes: int = 9,
              conv_type: str | None = None, dropout_rate: float = 0.0) -> ModelSpec:
    s = backbone_settings(model_id, variant, conv_type)
    return ModelSpec(model_id=model_id, variant=variant, num_classes=int(num_classes),
                     conv_type=s["conv_type"], se_type=s["se_type"], activation=s["activation"],
                     gating_activation=s["gating_activation"],
                     use_positional_encoding=s["use_positional_encoding"], causal=s["causal"],
                     dropout_rate=float(dropout_rate))


@contextlib.contextmanager
def _symbolic_build():
    """Keras traces every layer once to build a functional model; MoViNet's layers have no
    tensor-dependent Python control flow, so AutoGraph's conversion can be skipped there
    (about a third faster; a layer that needed it would fail loudly, not silently differ)."""
    try:
        from tensorflow.python.autograph.core import ag_ctx
        ctx = ag_ctx.ControlStatusCtx(status=ag_ctx.Status.DISABLED)
    except Exception:  # pragma: no cover - private API moved
        ctx = contextlib.nullcontext()
    with ctx:
        yield


def build_backbone(spec: ModelSpec, use_external_states: bool = False) -> movinet.Movinet:
    if use_external_states and not spec.causal:
        raise ModelError("external states (frame-by-frame inference) need a stream (causal) model")
    with _symbolic_build():
        return _movinet(spec, use_external_states)


def _movinet(spec: ModelSpec, use_external_states: bool) -> movinet.Movinet:
    return movinet.Movinet(
        model_id=spec.model_id, causal=spec.causal, conv_type=spec.conv_type, se_type=spec.se_type,
        activation=spec.activation, gating_activation=spec.gating_activation,
        use_positional_encoding=spec.use_positional_encoding,
        use_external_states=use_external_states, use_sync_bn=False)


def build_classifier(backbone: movinet.Movinet, spec: ModelSpec, num_classes: int | None = None,
                     output_states: bool = False) -> movinet_model.MovinetClassifier:
    with _symbolic_build():
        return movinet_model.MovinetClassifier(
            backbone, num_classes=int(num_classes if num_classes is not None else spec.num_classes),
            activation=spec.classifier_activation, dropout_rate=spec.dropout_rate,
            output_states=output_states)


def _build_call(model, frames: int, resolution: int) -> None:
    """Create every variable (a symbolic build; no compute)."""
    with _symbolic_build():
        model.build([1, max(1, int(frames)), int(resolution), int(resolution), 3])


def build_model(model_id: str = "a0", variant: str = "base", num_classes: int = 9,
                frames: int = 10, resolution: int | None = None, *,
                pretrained: str | os.PathLike | None = None, freeze_backbone: bool = False,
                conv_type: str | None = None, use_external_states: bool = False,
                dropout_rate: float = 0.0, cache_dir: str | os.PathLike | None = None,
                base_url: str | None = None, progress: Progress | None = None,
                sha256: str | None = None) -> movinet_model.MovinetClassifier:
    """A MoViNet classifier: [B, T, H, W, 3] float32 in [0, 1] -> logits [B, num_classes].

    pretrained: None (random init), 'auto' (official Kinetics-600 checkpoint, downloaded once),
    or a local checkpoint directory / prefix / .tar.gz archive. A checkpoint that does not match
    the backbone raises ModelError. `freeze_backbone` makes the backbone non-trainable (its batch
    norms then run in inference mode). `use_external_states=True` (stream only) builds the
    frame-by-frame form directly (its call takes {'image', **states} and returns
    (logits, states)); train without it and convert with `to_stream`.

    The spec is attached as `model.movinet_spec` (used by export_model / to_stream).
    """
    spec = make_spec(model_id, variant, num_classes, conv_type, dropout_rate)
    resolution = int(resolution or NATIVE_RESOLUTION[model_id])
    if pretrained is not None and pretrained != "":
        backbone = restore_pretrained_backbone(
            spec, pretrained, cache_dir=cache_dir, base_url=base_url, progress=progress,
            sha256=sha256, use_external_states=use_external_states)
    else:
        backbone = build_backbone(spec, use_external_states=use_external_states)
    if freeze_backbone:
        backbone.trainable = False
    model = build_classifier(backbone, spec, output_states=use_external_states)
    _build_call(model, frames, resolution)
    model.movinet_spec = spec
    return model


def _spec_of(model) -> ModelSpec:
    spec = getattr(model, "movinet_spec", None)
    if spec is None:
        raise ModelError("this model was not built by core.modeling.movinet.build_model (no movinet_spec)")
    return spec


# ----------------------------------------------------------------------------------------------
# Pretrained checkpoints: download, verify, extract
# ----------------------------------------------------------------------------------------------

def archive_name(model_id: str, variant: str) -> str:
    _check_id(model_id, variant)
    return f"movinet_{model_id}_{variant}"


def checkpoint_url(model_id: str, variant: str, base_url: str | None = None) -> str:
    base = base_url or os.environ.get("MOVINET_CHECKPOINT_URL") or OFFICIAL_BASE_URL
    return f"{base.rstrip('/')}/{archive_name(model_id, variant)}.tar.gz"


def _cache_dir(cache_dir) -> Path:
    d = Path(cache_dir or os.environ.get("MOVINET_PRETRAINED_DIR") or PRETRAINED_DIR)
    d.mkdir(parents=True, exist_ok=True)
    return d


def _download(url: str, part: Path, progress: Progress | None, timeout: float = 60.0,
              retries: int = 3, chunk: int = 1 << 16) -> None:
    """Download url into `part`, appending to what is already there (HTTP Range), retrying.

    On return `part` holds the whole file (length checked against the server's size). Raises
    ModelError when the server cannot be reached or the transfer keeps failing; the partial file
    stays for the next attempt.
    """
    attempt = 0
    while True:
        have = part.stat().st_size if part.exists() else 0
        req = urllib.request.Request(url, headers={"User-Agent": "crossfit-workbench/1",
                                                   "Accept-Encoding": "identity"})
        if have:
            req.add_header("Range", f"bytes={have}-")
        try:
            try:
                resp = urllib.request.urlopen(req, timeout=timeout)
            except urllib.error.HTTPError as e:
                if e.code == 416 and have:
                    # Nothing more to send: the partial file is (claimed) complete; verify later.
                    return
                raise
            with resp:
                status = getattr(resp, "status", 200)
                length = resp.headers.get("Content-Length")
                length = int(length) if length is not None else None
                if status == 206:
                    crange = resp.headers.get("Content-Range", "")
                    start = int(crange.split(" ")[1].split("-")[0]) if crange.startswith("bytes ") else -1
                    if start != have:
                        raise ModelError(f"server resumed {url} at byte {start}, expected {have}")
                    total = int(crange.rsplit("/", 1)[1]) if "/" in crange and not crange.endswith("*") else None
                    mode = "ab"
                else:  # 200: the server ignored the Range header; start over
                    have, total, mode = 0, length, "wb"
                done = have
                if progress:
                    progress(done, total or 0, part.name)
                with open(part, mode) as f:
                    while True:
                        block = resp.read(chunk)
                        if not block:
                            break
                        f.write(block)
                        done += len(block)
                        if progress:
                            progress(done, total or 0, part.name)
                if total is not None and done != total:
                    raise ConnectionError(f"transfer ended at {done} of {total} bytes")
                return
        except ModelError:
            raise
        except urllib.error.HTTPError as e:
            raise ModelError(f"cannot download {url}: HTTP {e.code} {e.reason}") from e
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError,
                http.client.HTTPException) as e:
            attempt += 1
            if attempt > retries:
                got = part.stat().st_size if part.exists() else 0
                hint = (f"{got} bytes kept in {part}, run again to resume" if got else
                        "offline? give a local checkpoint folder or .tar.gz instead, or point "
                        "MOVINET_CHECKPOINT_URL at a mirror")
                raise ModelError(f"download of {url} failed ({e}); {hint}") from e
            time.sleep(min(0.2 * attempt, 2.0))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verify_and_extract(archive: Path, dest: Path, sha256: str | None) -> None:
    """Check the archive completely, then extract it atomically to `dest`."""
    if sha256 and _sha256(archive) != sha256.lower():
        raise ModelError(f"{archive.name}: SHA-256 mismatch (corrupt or wrong file)")
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = []
            for m in tar:  # reads the whole stream: a truncated gzip or tar fails here
                name = m.name
                if name.startswith("/") or ".." in Path(name).parts:
                    raise ModelError(f"{archive.name}: unsafe path {name!r} in archive")
                if not (m.isfile() or m.isdir()):
                    continue  # links and devices are never extracted
                members.append(m)
                if m.isfile():
                    f = tar.extractfile(m)
                    while f.read(1 << 20):
                        pass
    except ModelError:
        raise
    except (tarfile.TarError, EOFError, OSError, ValueError) as e:
        raise ModelError(f"{archive.name} is not a valid checkpoint archive ({e})") from e
    if not any(m.name.endswith(".index") for m in members):
        raise ModelError(f"{archive.name} holds no TensorFlow checkpoint (no .index file)")
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest.parent))
    try:
        with tarfile.open(archive, "r:*") as tar:
            extra = {"filter": "data"} if _has_filter() else {}
            for m in members:
                tar.extract(m, tmp, set_attrs=False, **extra)
        # The official archives hold one folder (movinet_a0_base/...): that folder becomes dest.
        entries = list(tmp.iterdir())
        src = entries[0] if len(entries) == 1 and entries[0].is_dir() else tmp
        if dest.exists():
            shutil.rmtree(dest)
        src.rename(dest)
        if src is not tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _has_filter() -> bool:
    return hasattr(tarfile, "data_filter")


def _find_checkpoint(path: Path) -> str | None:
    """A checkpoint prefix inside a directory (the `checkpoint` state file, else an .index); a
    workbench model folder (`export_model`) gives its weights."""
    if path.is_dir() and (path / "labels.json").is_file() and (path / "weights" / "ckpt.index").is_file():
        return str(path / "weights" / "ckpt")
    if path.is_dir():
        latest = tf.train.latest_checkpoint(str(path))
        if latest:
            return latest
        for sub in sorted(p for p in path.rglob("checkpoint") if p.is_file()):
            latest = tf.train.latest_checkpoint(str(sub.parent))
            if latest:
                return latest
        indexes = sorted(path.rglob("*.index"))
        if indexes:
            return str(indexes[-1])[: -len(".index")]
        return None
    if Path(str(path) + ".index").exists():
        return str(path)
    if path.suffix == ".index" and path.exists():
        return str(path)[: -len(".index")]
    return None


@contextlib.contextmanager
def _lock(path: Path):
    """An exclusive lock file (two processes fetching the same checkpoint wait for each other)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def fetch_pretrained(model_id: str, variant: str, cache_dir=None, base_url: str | None = None,
                     progress: Progress | None = None, sha256: str | None = None) -> str:
    """The official checkpoint of a model, downloaded and extracted once; its checkpoint prefix."""
    name = archive_name(model_id, variant)
    root = _cache_dir(cache_dir)
    dest = root / name
    found = _find_checkpoint(dest) if dest.is_dir() else None
    if found:
        return found
    url = checkpoint_url(model_id, variant, base_url)
    part = root / f"{name}.tar.gz.part"
    with _lock(root / f"{name}.lock"):
        found = _find_checkpoint(dest) if dest.is_dir() else None  # another process got it
        if found:
            return found
        resumed = part.exists() and part.stat().st_size > 0
        _download(url, part, progress)
        try:
            _verify_and_extract(part, dest, sha256 or KNOWN_SHA256.get(name))
        except ModelError:
            part.unlink(missing_ok=True)  # a complete but corrupt file cannot be resumed
            if not resumed:
                raise
            # The bytes kept from an earlier attempt may belong to another file: once more,
            # from scratch.
            _download(url, part, progress)
            try:
                _verify_and_extract(part, dest, sha256 or KNOWN_SHA256.get(name))
            finally:
                part.unlink(missing_ok=True)
        part.unlink(missing_ok=True)
    found = _find_checkpoint(dest)
    if not found:
        raise ModelError(f"{url} extracted to {dest} but holds no checkpoint")
    return found


def resolve_checkpoint(source, model_id: str, variant: str, cache_dir=None,
                       base_url: str | None = None, progress: Progress | None = None,
                       sha256: str | None = None) -> str:
    """'auto' / a directory / a checkpoint prefix / an archive -> a checkpoint prefix."""
    if str(source) == "auto":
        return fetch_pretrained(model_id, variant, cache_dir, base_url, progress, sha256)
    path = Path(source).expanduser()
    if path.is_file() and (path.name.endswith((".tar.gz", ".tgz", ".tar"))):
        stem = path.name
        for ext in (".tar.gz", ".tgz", ".tar"):
            if stem.endswith(ext):
                stem = stem[: -len(ext)]
                break
        digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
        dest = _cache_dir(cache_dir) / f"local-{stem}-{digest}"
        if not (dest.is_dir() and _find_checkpoint(dest)):
            _verify_and_extract(path, dest, sha256)
        found = _find_checkpoint(dest)
    else:
        found = _find_checkpoint(path)
    if not found:
        if not path.exists() and not Path(str(path) + ".index").exists():
            raise ModelError(f"pretrained checkpoint {source} does not exist")
        raise ModelError(f"no TensorFlow checkpoint found at {source} "
                         "(expected a folder with a 'checkpoint' file or ckpt-N.index, "
                         "a checkpoint prefix, or a .tar.gz archive)")
    return found


# ----------------------------------------------------------------------------------------------
# Restore, verified
# ----------------------------------------------------------------------------------------------

def restore_weights(model, ckpt: str, require: Sequence[tf.Variable] | None = None,
                    what: str = "model") -> None:
    """Restore tf.train.Checkpoint(model=model) from the checkpoint prefix `ckpt`, verified:
    every variable in `require` (default: all of the model's) must receive a value from the
    checkpoint and no shape may differ; otherwise ModelError."""
    _restore_verified(model, ckpt, what, model.variables if require is None else require)


def _restore_verified(model, ckpt: str, what: str, require: Sequence[tf.Variable]) -> None:
    """Restore tf.train.Checkpoint(model=model) from ckpt; every variable in `require` must be
    assigned from the checkpoint, and no shape may mismatch. Raises ModelError otherwise."""
    checkpoint = tf.train.Checkpoint(model=model)
    try:
        status = checkpoint.restore(ckpt)
    except (ValueError, tf.errors.OpError, AssertionError) as e:
        raise ModelError(f"{what}: checkpoint {ckpt} does not fit this model "
                         f"(shape or structure mismatch): {_short(e)}") from e
    status.expect_partial()
    matched = None
    try:
        matched = {id(o) for o in status._checkpoint.object_by_proto_id.values()}  # noqa: SLF001
    except AttributeError:  # pragma: no cover - private API moved: fall back to the assertion
        pass
    if matched is not None:
        missing = [v.name for v in require if id(v) not in matched]
        if missing:
            n = len(missing)
            if n == len(require):
                raise ModelError(f"{what}: checkpoint {ckpt} matches none of the model's "
                                 f"{n} variables (not a checkpoint of this architecture)")
            raise ModelError(f"{what}: checkpoint {ckpt} leaves {n} of {len(require)} variables "
                             f"without a value, e.g. {', '.join(missing[:5])} "
                             "(different model id, variant or conv type?)")
    else:
        try:
            status.assert_existing_objects_matched()
        except AssertionError as e:
            raise ModelError(f"{what}: checkpoint {ckpt} does not match the model: {_short(e)}") from e


def _short(e: Exception, n: int = 300) -> str:
    s = str(e).replace("\n", " ")
    return s if len(s) <= n else s[:n] + "…"


def _checkpoint_classes(ckpt: str) -> int:
    """The head size of a checkpoint: a workbench model's labels (its weights sit in
    <model>/weights/ckpt beside labels.json), else Kinetics-600's."""
    labels = Path(ckpt).parent.parent / "labels.json"
    if Path(ckpt).parent.name == "weights" and labels.is_file():
        return len(json.loads(labels.read_text()))
    return PRETRAINED_CLASSES


def restore_pretrained_backbone(spec: ModelSpec, source, *, cache_dir=None, base_url=None,
                                progress: Progress | None = None, sha256: str | None = None,
                                use_external_states: bool = False) -> movinet.Movinet:
    """A backbone with the official Kinetics-600 weights of `spec`'s architecture, verified."""
    ckpt = resolve_checkpoint(source, spec.model_id, spec.variant, cache_dir, base_url, progress, sha256)
    backbone = build_backbone(spec, use_external_states=use_external_states)
    full = build_classifier(backbone, spec, num_classes=_checkpoint_classes(ckpt),
                            output_states=use_external_states)
    _build_call(full, 1, 32)
    _restore_verified(full, ckpt, f"MoViNet-{spec.model_id.upper()}-{spec.variant}",
                      require=backbone.variables)
    return backbone


# ----------------------------------------------------------------------------------------------
# Stream (frame-by-frame) form
# ----------------------------------------------------------------------------------------------

def copy_weights(src: tf_keras.Model, dst: tf_keras.Model) -> None:
    """Copy all weights between two builds of the same architecture, matched by their place in
    the object graph (as a checkpoint does), not by list order: freezing a backbone reorders
    `model.weights`. Every variable of `dst` must receive a value (else ModelError)."""
    with tempfile.TemporaryDirectory(prefix="movinet-copy-") as tmp:
        path = tf.train.Checkpoint(model=src).write(os.path.join(tmp, "weights"))
        _restore_verified(dst, path, "weight copy", require=dst.variables)


def to_stream(model) -> movinet_model.MovinetClassifier:
    """The frame-by-frame form of a trained stream classifier (same weights, external states).

    The result takes {'image': [B, t, H, W, 3], **states} and returns (logits, states);
    start from `init_states(stream_model, clip_shape)`.
    """
    spec = _spec_of(model)
    if not spec.causal:
        raise ModelError("only stream (causal) models can run frame by frame; this is a base model")
    backbone = build_backbone(spec, use_external_states=True)
    stream = build_classifier(backbone, spec, output_states=True)
    copy_weights(model, stream)
    stream.movinet_spec = spec
    return stream


def init_states(stream_model, shape: Sequence[int]) -> dict:
    """Zero states for a clip of shape [B, T, H, W, 3] (T is not used by the buffers)."""
    return stream_model.init_states(tf.constant([int(s) for s in shape], tf.int32))


def _stream_step(stream_model):
    # One tf.function per stream model, kept on it (not tracked by Keras): later calls with the
    # same chunk shape reuse the traced graph.
    step = stream_model.__dict__.get("_stream_step")
    if step is None:
        step = tf.function(lambda s, im: stream_model({**s, "image": im}, training=False),
                           autograph=False)
        stream_model.__dict__["_stream_step"] = step
    return step


def stream_predict(stream_model, clip, chunk: int = 1, return_all: bool = False):
    """Feed `clip` ([T, H, W, 3] or [B, T, H, W, 3]) `chunk` frames at a time, carrying states.

    Returns the logits after the last frame ([num_classes] or [B, num_classes]); with
    return_all=True also the logits after every chunk ([steps, ...]).
    """
    x = np.asarray(clip, dtype=np.float32)
    single = x.ndim == 4
    if single:
        x = x[None]
    if not getattr(getattr(stream_model, "backbone", None), "use_external_states", False):
        raise ModelError("stream_predict needs the frame-by-frame form: use to_stream(model)")
    states = init_states(stream_model, x.shape)
    chunk = max(1, int(chunk))
    step = _stream_step(stream_model)
    outs = []
    with _symbolic_build():  # traces (first chunk, a shorter last chunk) skip AutoGraph
        for t0 in range(0, x.shape[1], chunk):
            logits, states = step(states, tf.constant(x[:, t0: t0 + chunk]))
            outs.append(logits.numpy())
    last = outs[-1][0] if single else outs[-1]
    if return_all:
        allv = np.stack([o[0] if single else o for o in outs])
        return last, allv
    return last


# ----------------------------------------------------------------------------------------------
# Export / load
# ----------------------------------------------------------------------------------------------

@dataclasses.dataclass
class LoadedModel(PreprocessingFields):
    """An exported model, loaded: the Keras classifier (logits), its labels and preprocessing."""

    model: tf_keras.Model
    labels: list
    preprocessing: dict
    spec: ModelSpec
    path: Path

    def predictor(self, path: str = "auto"):
        """clip [T, H, W, 3] (or batch) -> probabilities; 'auto' takes the fast path on a CPU."""
        from core.modeling.fastpath import predictor
        return predictor(self.model, path)


def _write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2))
    tmp.replace(path)


def export_model(model, out_dir, labels: Iterable[str], frames: int, resolution: int,
                 crop=None, saved_model: bool = True, fast_ops: bool = True, focus: str | None = None,
                 window_scales=None) -> Path:
    """Write a trained classifier to `out_dir` (see the module doc for the layout).

    The SavedModel's serving function is traced with `core.modeling.fastpath.fast_ops` by default (the
    exact 2D form of the 3D convolutions: fast on CPUs and convertible to TF Lite).
    """
    spec = _spec_of(model)
    labels = [str(x) for x in labels]
    if len(labels) != spec.num_classes:
        raise ModelError(f"{len(labels)} labels for a {spec.num_classes}-class model")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / "weights"
    if weights.exists():
        shutil.rmtree(weights)
    tf.train.Checkpoint(model=model).write(str(weights / "ckpt"))
    if saved_model:
        _save_saved_model(model, out / "saved_model", int(frames), int(resolution), fast_ops)
    elif (out / "saved_model").exists():
        shutil.rmtree(out / "saved_model")  # traced from other weights: it is not this model
    _write_json(out / "labels.json", labels)
    prep = {"frames": int(frames), "resolution": int(resolution),
            "crop": list(crop) if crop is not None else None, "focus": focus}
    if window_scales:  # trained on whole-workout windows of these spans (core.dataset.windows)
        prep["window_scales"] = [float(v) for v in window_scales]
    _write_json(out / "preprocessing.json", prep)
    _write_json(out / "model.json", spec.to_json())
    if saved_model and fast_ops:  # the loader may open the SavedModel instead of rebuilding (export_files)
        write_stamp(out, frames, resolution)
    return out


def _save_saved_model(model, path: Path, frames: int, resolution: int, use_fast: bool) -> None:
    from core.modeling import fastpath

    if path.exists():
        shutil.rmtree(path)
    spec = tf.TensorSpec([None, frames, resolution, resolution, 3], tf.float32, name="image")
    module = tf.Module()
    # Track the variables only: attaching the Keras model would make the SavedModel serialise
    # (and retrace) every layer's call, which is slow and not needed for serving.
    module.weights = list(model.weights)
    stateful = bool(getattr(model.backbone, "use_external_states", False))

    def serve(image):
        if stateful:
            states = model.backbone.init_states(tf.shape(image))
            logits, _ = model({**states, "image": image}, training=False)
        else:
            logits = model(image, training=False)
            if isinstance(logits, (tuple, list)):
                logits = logits[0]
        return {"logits": logits, "probabilities": tf.nn.softmax(logits)}

    ctx = fastpath.fast_ops() if use_fast else _null()
    with ctx:
        concrete = tf.function(serve, autograph=False).get_concrete_function(spec)
    module.serve = concrete
    tf.saved_model.save(module, str(path), signatures={"serving_default": concrete})


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def warm_start_head(model, source, labels: Sequence[str]) -> list[str]:
    """Start `model`'s classifier head from an exported workbench model `source` (a folder or a
    LoadedModel) of the same architecture: the hidden layer as it is, and the output of every
    class the two share, matched by label; classes new to `model` (e.g. `none`) keep their fresh
    initialisation. Without it a fine-tuned model starts from a random head whose first large
    gradients undo much of the backbone. Returns the shared labels."""
    src = source if isinstance(source, LoadedModel) else load_model(source)
    new_head, old_head = model.layers[-1], src.model.layers[-1]
    for dst, val in zip(new_head._head.weights, old_head._head.weights):  # noqa: SLF001
        if tuple(dst.shape) != tuple(val.shape):
            raise ModelError(f"the head of {src.path.name} does not fit this model ({val.shape} vs {dst.shape})")
        dst.assign(val)
    kernel, bias = new_head._classifier.weights  # noqa: SLF001
    src_kernel, src_bias = (w.numpy() for w in old_head._classifier.weights)  # noqa: SLF001
    k, b = kernel.numpy(), bias.numpy()
    shared = [name for name in labels if name in src.labels]
    for name in shared:
        j, i = list(labels).index(name), src.labels.index(name)
        k[..., j], b[j] = src_kernel[..., i], src_bias[i]
    kernel.assign(k)
    bias.assign(b)
    return shared


def load_model(path) -> LoadedModel:
    """Load an exported model folder (see export_model) as a Keras classifier, verified."""
    root = Path(path)
    try:
        spec_json, labels, prep = read_description(root)
    except ModelingError as exc:
        raise ModelError(str(exc)) from None
    spec = ModelSpec.from_json(spec_json)
    ckpt = _find_checkpoint(root / "weights")
    if not ckpt:
        raise ModelError(f"{root}: no weights checkpoint in {root / 'weights'}")
    backbone = build_backbone(spec)
    model = build_classifier(backbone, spec)
    _build_call(model, int(prep.get("frames", 8)), 32)
    _restore_verified(model, ckpt, f"model {root.name}", require=model.variables)
    model.movinet_spec = spec
    if len(labels) != spec.num_classes:
        raise ModelError(f"{root}: {len(labels)} labels for a {spec.num_classes}-class model")
    return LoadedModel(model=model, labels=list(labels), preprocessing=prep, spec=spec, path=root)
