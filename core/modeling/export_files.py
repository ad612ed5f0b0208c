"""The files of an exported MoViNet folder (core.modeling.movinet.export_model), read and checked
without TensorFlow: its description, and the stamp that says its SavedModel may stand in for the model.

`read_description(folder)` -> (model.json, labels, preprocessing), checked by
`core.modeling.registry.check_description`.

The stamp (``saved_model/STAMP_FILE``, written by `write_stamp` at the end of an export whose
SavedModel was traced with the fast exact ops) holds the SHA-256 of every file of the weights
checkpoint and of the SavedModel, and the input shape it was traced for. Loading that SavedModel
skips rebuilding the Keras model, restoring the checkpoint and tracing the fast path again, which is
most of a cold load (core.inference.loader; bench/predict.py). `saved_model_state(folder)` says
whether it may:

- ``fresh``: the SavedModel is the one traced from these weights for this input;
- ``stale``: the weights or the input shape changed since it was traced;
- ``unstamped``: a SavedModel without a stamp (an export from before stamps, or traced with the
  reference ops): not known to match;
- ``missing``: no SavedModel;

and raises `DamagedExport`, naming the file, when a file of a stamped SavedModel is not the one the
export wrote (a bad copy, a disk error, an edit). Hashing reads the files once (~0.1 s for an A2).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from core.base.errors import ModelingError

SAVED_MODEL_DIR = "saved_model"
STAMP_FILE = "workbench_stamp.json"
STAMP_VERSION = 1


class DamagedExport(ModelingError):
    """A file of a stamped SavedModel differs from what its export wrote; the message names it."""


def read_description(folder) -> tuple[dict, list, dict]:
    """(model.json, labels, preprocessing) of an exported model folder, checked."""
    from core.modeling.registry import check_description

    root = Path(folder)
    try:
        spec = json.loads((root / "model.json").read_text())
        labels = json.loads((root / "labels.json").read_text())
        prep = json.loads((root / "preprocessing.json").read_text())
    except FileNotFoundError as e:
        raise ModelingError(f"{root} is not an exported model folder (missing {Path(e.filename).name})") from None
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as e:
        raise ModelingError(f"{root}: unreadable model description ({e})") from None
    if not isinstance(spec, dict):
        raise ModelingError(f"{root}: model.json must be an object, not {spec!r:.80}")
    labels, prep = check_description(labels, prep, str(root))
    return spec, labels, prep


def _hashes(folder: Path, skip: str | None = None) -> dict[str, str]:
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != skip:
            out[p.relative_to(folder).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def write_stamp(folder, frames: int, resolution: int) -> None:
    """Stamp the folder's SavedModel as traced (with the fast exact ops) from its weights, for
    clips of `frames` x `resolution`²; call it once both are written."""
    root = Path(folder)
    saved = root / SAVED_MODEL_DIR
    stamp = {"version": STAMP_VERSION, "frames": int(frames), "resolution": int(resolution),
             "weights": _hashes(root / "weights"), "saved_model": _hashes(saved, skip=STAMP_FILE)}
    tmp = saved / (STAMP_FILE + ".tmp")
    tmp.write_text(json.dumps(stamp, indent=1))
    tmp.replace(saved / STAMP_FILE)


def saved_model_state(folder) -> str:
    """'fresh', 'stale', 'unstamped' or 'missing' (see the module doc); raises DamagedExport."""
    root = Path(folder)
    saved = root / SAVED_MODEL_DIR
    stamp_file = saved / STAMP_FILE
    if not saved.is_dir():
        return "missing"
    if not stamp_file.is_file():
        return "unstamped" if (saved / "saved_model.pb").is_file() else "missing"
    try:
        stamp = json.loads(stamp_file.read_text())
        recorded = stamp["saved_model"]
        shape = (int(stamp["frames"]), int(stamp["resolution"]))
        weights = stamp["weights"]
    except (OSError, ValueError, KeyError, TypeError):
        raise DamagedExport(f"{SAVED_MODEL_DIR}/{STAMP_FILE} is damaged (unreadable)") from None
    try:
        prep = json.loads((root / "preprocessing.json").read_text())
        wanted = (prep.get("frames"), prep.get("resolution"))
    except (OSError, ValueError, AttributeError):
        wanted = None
    if weights != _hashes(root / "weights") or wanted != shape:
        return "stale"  # the model changed since the SavedModel was traced: it is not this model
    actual = _hashes(saved, skip=STAMP_FILE)
    for name, digest in recorded.items():
        if actual.get(name) != digest:
            what = "missing" if name not in actual else "damaged (not the file its export wrote)"
            raise DamagedExport(f"{SAVED_MODEL_DIR}/{name} is {what}")
    return "fresh"


class PreprocessingFields:
    """The input an export was made for, read from its `preprocessing` dict (preprocessing.json)."""

    preprocessing: dict

    @property
    def frames(self) -> int:
        return int(self.preprocessing["frames"])

    @property
    def resolution(self) -> int:
        return int(self.preprocessing["resolution"])

    @property
    def crop(self):
        return self.preprocessing.get("crop")

    @property
    def focus(self):
        return self.preprocessing.get("focus")
