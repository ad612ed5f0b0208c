"""The training cache: round trip against load_clip, labels and splits, invalidation, size."""
import json

import numpy as np
import pytest

from core.dataset import training_cache as cache
from core.dataset import clips
from core.media import library
from core.media.video import load_clip
from core.base.workspace import Workspace
from tests.conftest import REAL_VIDEOS

SMALL = "kbtrainer__front_squat_.mp4"
SMALL2 = "kbtrainer__backSquats.mp4"
N, SIZE = 6, 96  # a small setting keeps the test fast; the code path is the one of 10 x 224
TOLERANCE = 0.02  # mean absolute difference per clip on the [0, 1] scale (JPEG quality 80: ~0.01)


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """12 clips of 5-10 frames and one 1-frame clip (frames repeat); video 1 in train, video 2 in test.
    Shared by the tests below, which run in order (the last one changes a rep)."""
    assert REAL_VIDEOS.is_dir()
    ws = Workspace(tmp_path_factory.mktemp("cache") / "ws")
    store = ws.store()
    for name, labels in ((SMALL, ("thruster", "ohs")), (SMALL2, ("ohs", "deadlift"))):
        vid = library.add_file(ws, REAL_VIDEOS / name).video_id
        for i, start in enumerate(range(0, 120, 20)):
            store.add_segment(vid, labels[i % 2], start, start + 4 + i, "ann")
    store.add_segment(1, "ghd", 200, 200, "ann")  # a 1-frame clip: frames repeat
    clips.cut_clips(ws)
    with store.write() as con:  # two videos: one in train, one in test
        con.execute("INSERT INTO splits(video_id, split, seed, created_at) VALUES (1, 'train', 0, 't'), "
                    "(2, 'test', 0, 't')")
    return ws


def reference(ws, example):
    return load_clip(str(ws.absolute(example["path"])), 0, example["frames"] - 1, N, SIZE)


def test_round_trip_equals_load_clip_within_jpeg_tolerance(ws):
    import tensorflow as tf

    summary = cache.build(ws, N, SIZE)
    assert summary["computed"] == 13 and summary["reused"] == 0
    ds = cache.dataset(ws, None, N, SIZE, with_paths=True)
    assert ds.element_spec[0] == tf.TensorSpec([N, SIZE, SIZE, 3], tf.float32)
    assert ds.element_spec[1].dtype == tf.int32
    by_path = {e["path"]: e for e in cache.examples(ws)}
    seen = set()
    labels = ws.store().labels()
    for x, label, path in ds:
        example = by_path[path.numpy().decode()]
        seen.add(example["path"])
        assert int(label) == labels.index(example["label"]) == example["label_id"]
        x = x.numpy()
        assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
        assert np.abs(x - reference(ws, example)).mean() < TOLERANCE, example["path"]
    assert seen == set(by_path)
    again = cache.build(ws, N, SIZE)  # built once, reused
    assert again["computed"] == 0 and again["reused"] == 13


def test_a_focus_setting_is_its_own_cache_of_motion_cropped_clips(ws):
    summary = cache.build(ws, N, SIZE, focus="motion")
    assert summary["key"] == cache.setting_key(N, SIZE, True, "motion") == f"n{N}_{SIZE}x{SIZE}_crop_motion"
    assert summary["computed"] == 13  # not the plain setting's records
    by_path = {e["path"]: e for e in cache.examples(ws)}
    differs = 0
    for x, _label, path in cache.dataset(ws, None, N, SIZE, with_paths=True, focus="motion"):
        example = by_path[path.numpy().decode()]
        want = load_clip(str(ws.absolute(example["path"])), 0, example["frames"] - 1, N, SIZE, None, "motion")
        assert np.abs(x.numpy() - want).mean() < TOLERANCE, example["path"]
        differs += np.abs(want - reference(ws, example)).mean() > 0.02
    assert differs >= 6  # the squat clips move: most are cropped, not the whole frame
    assert cache.build(ws, N, SIZE)["computed"] == 0  # the plain setting is untouched
    # a changed motion_box (its version) makes every focused record stale
    import core.media.video

    old = core.media.video.MOTION_BOX_VERSION
    core.media.video.MOTION_BOX_VERSION = old + 1
    try:
        with pytest.raises(cache.CacheError, match="not in the cache"):
            cache.dataset(ws, None, N, SIZE, focus="motion", build_missing=False)
        assert cache.build(ws, N, SIZE, focus="motion")["computed"] == 13
    finally:
        core.media.video.MOTION_BOX_VERSION = old


def test_splits_labels_batches_and_shuffle(ws):
    train = cache.examples(ws, "train")
    test = cache.examples(ws, "test")
    assert {e["video_id"] for e in train} == {1} and {e["video_id"] for e in test} == {2}
    assert cache.examples(ws, "val") == []
    got = sorted(int(y) for _, y in cache.dataset(ws, "test", N, SIZE))
    assert got == sorted(e["label_id"] for e in test)
    batch_x, batch_y = next(iter(cache.dataset(ws, "train", N, SIZE, batch_size=4)))
    assert batch_x.shape == (4, N, SIZE, SIZE, 3) and batch_y.shape == (4,)

    def order(seed):
        return [int(y) for _, y in cache.dataset(ws, "train", N, SIZE, shuffle=True, seed=seed)]

    assert order(5) == order(5)
    assert sorted(order(5)) == sorted(e["label_id"] for e in train)
    with pytest.raises(cache.CacheError):
        cache.dataset(ws, "val", N, SIZE)  # no clips in val


def test_missing_cache_raises_without_build(ws):
    with pytest.raises(cache.CacheError):
        cache.dataset(ws, "train", 3, 32, build_missing=False)


def test_a_changed_clip_is_recomputed_alone(ws):
    store = ws.store()
    cache.build(ws, N, SIZE)
    seg = next(s for s in store.segments() if s["video_id"] == 1 and s["start"] == 20)
    store.update_segment(seg["uuid"], end=35)
    assert clips.cut_clips(ws).cut == 1
    summary = cache.build(ws, N, SIZE)
    assert (summary["computed"], summary["reused"], summary["dropped"]) == (1, 12, 1)
    manifest = json.loads((cache.cache_dir(ws, N, SIZE, True) / "manifest.json").read_text())
    assert set(manifest["clips"]) == {c["fingerprint"] for c in clips.clips(store)}
    changed = next(c for c in clips.clips(store) if c["segment_uuid"] == seg["uuid"])
    for x, _, path in cache.dataset(ws, "train", N, SIZE, with_paths=True):
        if path.numpy().decode() == changed["path"]:
            ref = load_clip(str(ws.absolute(changed["path"])), 0, 15, N, SIZE)
            assert np.abs(x.numpy() - ref).mean() < TOLERANCE
            break
    else:
        pytest.fail("the re-cut clip is missing from the dataset")
    report = cache.size_report(ws, N, SIZE)
    assert report["cached"] == report["clips"] == 13 and report["cache_bytes"] > 0


def test_whole_frame_of_a_cropped_clip_comes_from_the_source(ws, tmp_path, real_videos):
    other = Workspace(tmp_path / "crop")
    vid = library.add_file(other, real_videos / SMALL).video_id
    store = other.store()
    store.set_video_roi(vid, (60, 100, 200, 400))
    store.add_segment(vid, "thruster", 30, 49, "ann")
    clips.cut_clips(other)
    clip = clips.clips(store)[0]
    assert clip["crop"] == [60, 100, 200, 400]
    (x_crop, _), = list(cache.dataset(other, None, 4, 64, crop=True))
    (x_full, _), = list(cache.dataset(other, None, 4, 64, crop=False))
    assert np.abs(x_crop.numpy() - load_clip(str(other.absolute(clip["path"])), 0, 19, 4, 64)).mean() < TOLERANCE
    assert np.abs(x_full.numpy() - load_clip(str(real_videos / SMALL), 30, 49, 4, 64)).mean() < TOLERANCE
