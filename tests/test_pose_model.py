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
    # a mirrored video (left and right swapped, x reversed) gets the same answer: the mean of both sides
    arr = tr.arrays()
    flip = np.array(PM.FLIP)
    xy = arr["xy"][:, flip].copy()
    xy[..., 0] = 640.0 - xy[..., 0]
    mirrored = dict(arr, xy=xy, visibility=arr["visibility"][:, flip])
    ranges = [(r["start"], r["end"]) for r in tr.reps[:3]]
    assert np.allclose(PM.predict_clips(model, mirrored, ranges), many, atol=1e-4)
    one_side = PM.predict_clips(model, arr, ranges, mirror=False)
    assert not np.allclose(PM.predict_clips(model, mirrored, ranges, mirror=False), one_side, atol=1e-4)


def test_cancel_and_bad_arguments(tmp_path):
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        PM.train_pose_model(tmp_path / "c", n_train=100, n_val=50, epochs=1, seed=0, workers=1, cancel=ev)
    with pytest.raises(ModelingError):
        PM.train_pose_model(tmp_path / "c", n_train=1, n_val=50, epochs=1, seed=0)
    with pytest.raises(ModelingError):
        PM.load_pose_model(tmp_path / "nothing")


def test_image_frame_features_and_first_layout(track):
    arr = track.arrays()
    r = track.reps[0]
    f = PM.clip_features(arr, r["start"], r["end"])
    v1 = PM.clip_features(arr, r["start"], r["end"], settings=PM.FeatureSettings(version=1))
    assert v1.shape == (32, PM.N_FEATURES_V1) and PM.N_FEATURES_V1 != PM.N_FEATURES
    assert np.allclose(f[:, :132], v1[:, :132])               # the same body-relative landmarks
    # the anchors' image paths: a body moved up in the image moves them, not the body-relative part
    xy = arr["xy"].copy()
    sel = (arr["frames"] >= r["start"]) & (arr["frames"] <= r["end"])
    xy[sel] -= np.linspace(0, 80, sel.sum())[:, None, None] * np.array([0.0, 1.0], np.float32)
    g = PM.clip_features(dict(arr, xy=xy), r["start"], r["end"])
    assert np.allclose(f[:, :66], g[:, :66], atol=1e-3) and not np.allclose(f[:, 132:142], g[:, 132:142], atol=1e-2)


def test_other_tracks_are_a_none_pool_and_temperature_is_at_least_one():
    trs = [M.motion_track(M.random_workout(4), 4, M.MotionConfig()), M.other_track(4), M.other_track(5)]
    (rel, hip, vis, mask, dur), y = PM.make_samples(trs, 220, seed=1)
    assert hip.shape[2] == PM.N_ANCHORS and (y == PM.LABELS.index("none")).mean() > 0.15
    z = np.array([[4.0, 0.0], [0.0, 4.0]] * 20)
    assert PM.fit_temperature(z, np.array([0, 1] * 20)) == 1.0          # right and sure: not sharpened
    assert PM.fit_temperature(z, np.array([1, 0] * 10 + [0, 1] * 10)) > 2.0   # half wrong: softened
