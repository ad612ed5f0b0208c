"""A registered MoViNet model opens from the SavedModel its export traced with the fast exact ops
(stamped by core.modeling.export_files; core.inference.loader), not by rebuilding the Keras model:
the same predictions; a missing, unstamped or stale SavedModel falls back to the rebuild; a damaged
one is one clear line in `predict` and `export`, and `export --force` rewrites it from the weights.

A tiny MoViNet-A0 (random weights, 4 frames at 32x32, tests/predict_helpers.py) exported once with
its SavedModel; each test works on its own copy of the folder.
"""
from __future__ import annotations

import json
import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from core.base.workspace import Workspace  # noqa: E402
from core.cli.main import main  # noqa: E402
from core.inference import loader  # noqa: E402
from core.modeling.registry import register_model  # noqa: E402
from tests.predict_helpers import FRAMES, PORTRAIT, RESOLUTION, tiny_keras  # noqa: E402

LABELS = [f"m{i}" for i in range(9)]
SAME = 1e-5      # the same traced graph: only float32 summation order may differ (a few ulps of a probability)
DAMAGED = ["saved_model.pb", "variables/variables.data-00000-of-00001"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from core.modeling import movinet as M

    folder = tmp_path_factory.mktemp("fastopen") / "model"
    M.export_model(tiny_keras(len(LABELS)), folder, LABELS, frames=FRAMES, resolution=RESOLUTION)
    return folder


@pytest.fixture()
def folder(exported, tmp_path):
    dst = tmp_path / "tiny"
    shutil.copytree(exported, dst)
    return dst


@pytest.fixture(scope="module")
def clips():
    from core.media.video import load_clip
    from tests.conftest import REAL_VIDEOS

    return np.stack([load_clip(REAL_VIDEOS / name, 10, 50, n=FRAMES, size=RESOLUTION)
                     for name in (PORTRAIT, "kbtrainer__burpee.mp4")])


def _open(folder):
    return loader.load({"id": "tiny", "labels": LABELS}, folder)


def _rebuilt_fast(folder, x):
    from core.modeling import movinet as M

    return M.load_model(folder).predictor("fast")(x)


def test_a_fresh_export_opens_from_its_saved_model_with_the_same_predictions(folder, clips):
    entry = _open(folder)
    assert isinstance(entry.loaded, loader.SavedModelForm)
    assert entry.loaded.rebuilt is None                       # no Keras model was built
    fast = entry.predict_fn("fast")
    want = _rebuilt_fast(folder, clips)
    assert np.abs(fast(clips) - want).max() <= SAME           # a batch
    assert np.abs(fast(clips[0]) - want[0]).max() <= SAME     # one clip
    auto = entry.loaded.predictor("auto")
    assert auto.fast and np.abs(auto(clips[1]) - want[1]).max() <= SAME
    # the reference engine rebuilds the model on demand, and agrees as the fast path does
    ref = entry.loaded.predictor("reference")
    assert not ref.fast and np.abs(ref(clips) - want).max() <= 1e-4
    # another clip shape than the signature's runs on the rebuilt model's fast path
    other = np.zeros((FRAMES + 2, RESOLUTION, RESOLUTION, 3), np.float32)
    assert np.abs(fast(other) - _rebuilt_fast(folder, other)).max() <= SAME


@pytest.mark.parametrize("how", ["no stamp (an older export)", "no saved_model", "weights rewritten"])
def test_a_missing_or_stale_saved_model_falls_back_to_rebuilding(folder, clips, how):
    import tensorflow as tf

    from core.modeling import export_files
    from core.modeling import movinet as M

    if how == "no stamp (an older export)":
        (folder / "saved_model" / export_files.STAMP_FILE).unlink()
    elif how == "no saved_model":
        shutil.rmtree(folder / "saved_model")
    else:  # new weights, the SavedModel left from the old ones
        shutil.rmtree(folder / "weights")
        tf.train.Checkpoint(model=tiny_keras(len(LABELS), seed=5)).write(str(folder / "weights" / "ckpt"))
    entry = _open(folder)
    assert isinstance(entry.loaded, M.LoadedModel)
    got = entry.predict_fn("fast")(clips)
    assert np.abs(got - _rebuilt_fast(folder, clips)).max() <= SAME
    if how == "weights rewritten":  # not the answer of the SavedModel left from the old weights
        stale = tf.saved_model.load(str(folder / "saved_model")).signatures["serving_default"]
        assert np.abs(got - stale(image=tf.constant(clips))["probabilities"].numpy()).max() > 1e-3


def _damage(folder, name):
    path = folder / "saved_model" / name
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid: mid + 64] = b"\xff" * 64  # same size, other bytes: a disk error, a bad copy
    path.write_bytes(bytes(data))


@pytest.fixture()
def ws(tmp_path, folder):
    ws = Workspace(tmp_path / "ws")
    register_model(ws, "tiny", folder, LABELS, {"frames": FRAMES, "resolution": RESOLUTION})
    return ws


@pytest.mark.parametrize("name", DAMAGED)
def test_predict_with_a_damaged_saved_model_is_one_clear_line(ws, folder, name, real_videos, capsys):
    _damage(folder, name)
    rc = main(["predict", "tiny", str(real_videos / PORTRAIT), "--workspace", str(ws.root)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("error: Model tiny: ") and name in err and "--force" in err
    assert "Traceback" not in err and err.count("\n") == 1
    with pytest.raises(loader.PredictError, match="damaged"):
        _open(folder)


@pytest.mark.parametrize("name", DAMAGED)
def test_export_of_a_damaged_saved_model_says_so_and_force_rewrites_it(ws, folder, name, real_videos, capsys):
    _damage(folder, name)
    for fmt in ("saved_model", "tflite"):
        rc = main(["export", "tiny", "--format", fmt, "--workspace", str(ws.root)])
        err = capsys.readouterr().err
        assert rc == 2, err
        assert "error: " in err and "tiny" in err and name in err and "--force" in err and "Traceback" not in err
    if name != DAMAGED[0]:
        return  # the rewrite is the same for any damaged file (and takes a while): once is enough
    assert main(["export", "tiny", "--force", "--workspace", str(ws.root)]) == 0
    capsys.readouterr()
    assert isinstance(_open(folder).loaded, loader.SavedModelForm)
    assert main(["predict", "tiny", str(real_videos / PORTRAIT), "--json", "--workspace", str(ws.root)]) == 0
    assert json.loads(capsys.readouterr().out)["engine"] == "fast"
