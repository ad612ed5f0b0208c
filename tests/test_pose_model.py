"""The pose model (core.modeling.pose_model): features, a tiny training run, save/load/predict."""
import threading

import numpy as np
import pytest

from core.base.errors import Cancelled, ModelingError
from core.demo import motion as M
from core.modeling import pose_model as PM


@pytest.fixture(scope="module")
def track():
    return M.motion_track(M.random_workout(3, movements=["thruster"]), 3, M.MotionConfig())


def test_features_shape_and_translation_scale_invariance(track):
    arr = track.arrays()
    r = track.reps[0]
    f = PM.clip_features(arr, r["start"], r["end"])
    assert f.shape == (32, PM.N_FEATURES) and np.isfinite(f).all()
    moved = dict(arr, xy=arr["xy"] * 1.7 + np.array([123.0, -45.0], np.float32))
    g = PM.clip_features(moved, r["start"], r["end"])
    assert np.allclose(f, g, atol=1e-3)


def test_features_survive_nan_gaps(track):
    arr = dict(track.arrays())
    xy = arr["xy"].copy()
    xy[5:12] = np.nan
    xy[20, 3] = np.nan
    f = PM.clip_features(dict(arr, xy=xy))
    assert np.isfinite(f).all()
    empty = PM.clip_features(dict(arr, xy=np.full_like(xy, np.nan)))
    assert np.isfinite(empty).all() and not empty[:, :-1].any()


def test_tiny_training_beats_chance_and_round_trips(tmp_path):
    seen = []
    m = PM.train_pose_model(tmp_path / "pm", n_train=800, n_val=200, epochs=4, seed=3, workers=1,
                            progress=lambda d, t, s: seen.append((d, t)))
    assert m["val_top1"] > 0.25                 # chance is 0.10
    assert seen[-1] == (100, 100)
    assert (tmp_path / "pm" / "pose_model.keras").is_file() and (tmp_path / "pm" / "pose_model.json").is_file()
    model = PM.load_pose_model(tmp_path / "pm")
    assert model.labels == PM.LABELS and len(model.labels) == 10
    tr = M.motion_track(M.random_workout(77, movements=["ghd"]), 77, M.MotionConfig())
    p = PM.predict_clip(model, tr.arrays(), tr.reps[0]["start"], tr.reps[0]["end"])
    assert p.shape == (10,) and abs(float(p.sum()) - 1) < 1e-4
    many = PM.predict_clips(model, tr.arrays(), [(r["start"], r["end"]) for r in tr.reps[:3]])
    assert many.shape == (3, 10) and np.allclose(many[0], p, atol=1e-4)


def test_cancel_and_bad_arguments(tmp_path):
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        PM.train_pose_model(tmp_path / "c", n_train=100, n_val=50, epochs=1, seed=0, workers=1, cancel=ev)
    with pytest.raises(ModelingError):
        PM.train_pose_model(tmp_path / "c", n_train=1, n_val=50, epochs=1, seed=0)
    with pytest.raises(ModelingError):
        PM.load_pose_model(tmp_path / "nothing")
