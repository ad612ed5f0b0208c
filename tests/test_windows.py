"""Training windows (core/windows.py, cache.build_windows, train's `windows`): the windows are the
analyser's own, cached as the analyser preprocesses them, kept apart from the clips in the cache,
and a model trained on them (from a registered model's backbone) gains a `none` class that the
analysis uses."""
from __future__ import annotations

import numpy as np
import pytest

from core.analysis import scan as an_scan

from core.analysis import settings as an_settings

from core.analysis import workout as an_workout
from core.dataset import training_cache as cache
from core.dataset import windows
from core.media.video import VideoReader

T, SIZE = 4, 32
QUALITY = 95


@pytest.fixture(scope="module")
def wod_ws(tmp_path_factory):
    """Two tiny synthetic workouts (sets with rests between them) with their ground truth and cut
    clips; the first video in train, the second in val."""
    from core.media import library
    from core.dataset.clips import cut_clips
    from core.demo.synthetic import plan_workout, render_workout
    from core.base.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("windows_ws"))
    store = ws.store()
    vids, truths = [], []
    for seed, moves in ((3, ["ohs", "ghd"]), (4, ["ghd", "ohs"])):
        path = ws.videos_dir / f"wod{seed}.mp4"
        truth = render_workout(plan_workout(seed, movements=moves, fps=30, target_seconds=20), path,
                               width=96, height=64, fps=12)
        vid = library.register(ws, path, title=f"wod {seed}").video_id
        store.add_segments(vid, truth, "ground-truth")
        vids.append(vid)
        truths.append(truth)
    report = cut_clips(ws)
    assert not report.problems, report.problems
    with store.write() as con:
        con.execute("INSERT INTO splits(video_id, split, seed, created_at) VALUES (?, 'train', 0, 't'), "
                    "(?, 'val', 0, 't')", vids)
    return ws, vids, truths


def _owner(truth, frame):
    return next((r["label"] for r in truth if r["start"] <= frame <= r["end"]), windows.NONE)


def _scan_inputs(ws, vid, focus):
    """The scan of a video with a recording model: {window frame indices: the model's input}."""
    seen = {}
    batches = []

    def record(x):
        batches.append(np.array(x))
        return np.full((len(x), 3), 1 / 3, np.float32)

    path = ws.absolute(ws.store().video(vid)["path"])
    sc = an_scan.scan(path, record, T, SIZE, None, an_settings.Settings(batch=4), focus=focus)
    inputs = np.concatenate(batches)[:len(sc.window_frames)]
    for idx, x in zip(sc.window_frames, inputs):
        seen[tuple(idx)] = x
    return seen


def test_windows_are_the_analysers_windows_labelled_by_their_centre(wod_ws):
    ws, vids, truths = wod_ws
    video = ws.store().video(vids[0])
    planned = windows.plan_video(video["frames"], video["fps"], T, truths[0])
    scanned = _scan_inputs(ws, vids[0], None)
    as_indices = {tuple(range(w["start"], w["start"] + T * w["step"], w["step"])) for w in planned}
    assert as_indices == set(scanned)
    for w in planned:
        assert w["label"] == _owner(truths[0], w["start"] + (T - 1) * w["step"] // 2)
    labels = {w["label"] for w in planned}
    assert windows.NONE in labels and {"ohs", "ghd"} <= labels  # rests and both sets
    assert windows.window_labels(["a", "b"]) == ["a", "b", "none"]
    # other spans: exactly the default plan's 2 s windows when asked for 2 s only
    long_only = windows.plan_video(video["frames"], video["fps"], T, truths[0], scales=[2.0])
    longest = max(w["step"] for w in planned)
    assert long_only == [w for w in planned if w["step"] == longest] and longest > min(w["step"] for w in planned)
    assert windows.window_labels(["a", "none"]) == ["a", "none"]


def test_cached_windows_equal_the_scan_input_and_live_beside_the_clips(wod_ws):
    import tensorflow as tf

    ws, vids, truths = wod_ws
    train = windows.examples(ws, "train", T)
    val = windows.examples(ws, "val", T)
    assert train and val and {e["video_id"] for e in train} == {vids[0]}
    classes = windows.window_labels(ws.store().labels())
    assert all(classes[e["label_id"]] == e["label"] for e in train + val)
    calls = []
    summary = windows.build_windows(ws, train + val, T, SIZE, True, quality=QUALITY, focus="motion",
                                  progress=lambda d, t, s: calls.append((d, t)))
    assert summary["computed"] == len(train) + len(val) and calls[-1] == (len(train) + len(val),) * 2
    # a cached window is the scan's input for it, up to JPEG
    scanned = _scan_inputs(ws, vids[0], "motion")
    by_path = {e["path"]: e for e in train}
    ds = cache.dataset(ws, "train", T, SIZE, True, with_paths=True, focus="motion", entries=train)
    n = 0
    for x, label, path in ds:
        e = by_path[path.numpy().decode()]
        idx = tuple(range(e["start"], e["start"] + T * e["step"], e["step"]))
        assert int(label) == e["label_id"]
        assert np.abs(x.numpy() - scanned[idx]).mean() < 0.02, e["path"]
        n += 1
    assert n == len(train)
    # building the clips of the same setting keeps the windows, and the other way round
    clips = cache.build(ws, T, SIZE, True, quality=QUALITY, focus="motion")
    assert clips["computed"] == len(cache.examples(ws)) and clips["dropped"] == 0
    again = windows.build_windows(ws, train + val, T, SIZE, True, quality=QUALITY, focus="motion")
    assert again["computed"] == 0 and again["reused"] == len(train) + len(val)
    assert cache.build(ws, T, SIZE, True, quality=QUALITY, focus="motion")["computed"] == 0
    assert sum(1 for _ in cache.dataset(ws, "val", T, SIZE, True, focus="motion", entries=val)) == len(val)
    assert isinstance(ds.element_spec[0], tf.TensorSpec)
    # relabelling one rep recomputes only the windows centred on it
    store = ws.store()
    rep = next(s for s in store.segments(vids[0]) if s["label"] == "ohs")
    store.update_segment(rep["uuid"], label="thruster")
    changed = windows.examples(ws, "train", T)
    moved = {e["fingerprint"] for e in changed} - {e["fingerprint"] for e in train}
    assert moved and all(e["label"] == "thruster" for e in changed if e["fingerprint"] in moved)
    redo = windows.build_windows(ws, changed + val, T, SIZE, True, quality=QUALITY, focus="motion")
    assert redo["computed"] == len(moved) == redo["dropped"]
    store.update_segment(rep["uuid"], label="ohs")
    # windows of other spans (another run's) live beside these: building either drops none of the other
    longer = windows.examples(ws, "val", T, scales=[3.0])
    assert not {e["fingerprint"] for e in longer} & {e["fingerprint"] for e in val}
    other = windows.build_windows(ws, longer, T, SIZE, True, quality=QUALITY, focus="motion")
    assert other["computed"] == len(longer) and other["dropped"] == 0
    back = windows.build_windows(ws, val, T, SIZE, True, quality=QUALITY, focus="motion")
    assert back["computed"] == 0 and back["dropped"] == 0
    assert sum(1 for _ in cache.dataset(ws, "val", T, SIZE, True, focus="motion", entries=longer)) == len(longer)


def test_training_on_windows_adds_none_and_the_analysis_uses_it(wod_ws):
    from core.modeling import registry
    from core.modeling import config
    from core.modeling import train as tr
    from core.modeling.movinet import load_model

    ws, vids, _ = wod_ws
    tiny = {"model": "a0", "variant": "base", "frames": T, "resolution": SIZE, "batch_size": 4, "optimizer": "adam",
            "lr": 0.003, "schedule": "constant", "label_smoothing": 0.0, "augment": "none", "cache_jobs": 1,
            "focus": "motion", "cache_quality": QUALITY, "saved_model": False, "epochs": 1}
    with pytest.raises(config.TrainError, match="no registered clip model"):
        tr.train(ws, config.resolve_config(overrides={**tiny, "pretrained": "model:best"}), "bad-0", echo=lambda _: None)
    tr.train(ws, config.resolve_config(overrides=tiny), "clips-1", echo=lambda line: None)
    with pytest.raises(config.TrainError, match="no such registered model"):
        tr.train(ws, config.resolve_config(overrides={**tiny, "pretrained": "model:nope"}), "bad-1", echo=lambda _: None)
    lines = []
    with pytest.raises(config.TrainError, match="window_scales"):
        config.validate_config(config.resolve_config(overrides={**tiny, "window_scales": "2,x"}))
    cfg = config.resolve_config(overrides={**tiny, "pretrained": "model:best", "windows": 12, "window_scales": "1, 2.5"})
    summary = tr.train(ws, cfg, "win-1", echo=lines.append)
    log = "\n".join(lines)
    assert "windows:" in log and "pretrained model:best is model clips-1" in log
    n_train_clips = len(cache.examples(ws, "train"))
    assert summary["steps_per_epoch"] == (n_train_clips + 12) // 4
    epoch = [r for r in tr.read_metrics(ws, "win-1") if r["kind"] == "epoch"][-1]
    assert {"val_clip_top1", "val_window_top1", "val_top1"} <= set(epoch)
    row = registry.resolve_model(ws.store(), "win-1")
    assert row["labels"] == ws.store().labels() + ["none"]
    assert load_model(registry.model_dir(ws, row)).labels[-1] == "none"
    # the model remembers the spans of its windows, and the analyser slides those
    assert row["preprocessing"]["window_scales"] == [1.0, 2.5]
    assert an_settings.Settings().for_model(row).scales == (1.0, 2.5)
    assert an_settings.Settings(scales=(2.0,)).for_model(row).scales == (2.0,)
    assert an_settings.Settings().for_model(registry.resolve_model(ws.store(), "clips-1")).scales == windows.DEFAULT_SCALES
    # the backbone came from clips-1: one short epoch later it is still far closer to clips-1's than
    # a fresh random backbone is
    from core.modeling.movinet import build_model

    def backbone(model):
        return np.concatenate([w.numpy().ravel() for w in model.backbone.weights])

    base = backbone(load_model(registry.model_dir(ws, registry.resolve_model(ws.store(), "clips-1"))).model)
    tuned = backbone(load_model(registry.model_dir(ws, row)).model)
    fresh = backbone(build_model("a0", "base", 10, T, SIZE))
    assert np.abs(tuned - base).mean() < 0.3 * np.abs(fresh - base).mean()
    result = an_workout.analyze_video(ws, "win-1", vids[1])
    assert result.settings.scales == (1.0, 2.5)
    assert all(s["movement"] != "none" for s in result.segments)
    assert result.probs.shape[1] == len(row["labels"])
    with VideoReader(ws.absolute(ws.store().video(vids[1])["path"])) as r:
        assert result.frames == len(r)


def test_a_warm_started_head_keeps_the_source_models_outputs_by_label(tmp_path):
    from core.modeling import movinet as model_lib

    src = model_lib.build_model("a0", "base", 3, T, SIZE)
    for w in src.layers[-1].weights:  # a recognisable head
        w.assign(np.random.default_rng(0).normal(size=w.shape).astype(np.float32))
    model_lib.export_model(src, tmp_path / "src", ["ghd", "ohs", "thruster"], T, SIZE, saved_model=False)
    dst = model_lib.build_model("a0", "base", 4, T, SIZE)
    fresh = dst.layers[-1]._classifier.weights[0].numpy()[..., 1].copy()  # noqa: SLF001
    shared = model_lib.warm_start_head(dst, tmp_path / "src", ["thruster", "none", "ghd", "ohs"])
    assert shared == ["thruster", "ghd", "ohs"]
    s_head, d_head = src.layers[-1], dst.layers[-1]
    for a, b in zip(s_head._head.weights, d_head._head.weights):  # noqa: SLF001
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    (sk, sb), (dk, db) = ([w.numpy() for w in h._classifier.weights] for h in (s_head, d_head))  # noqa: SLF001
    for j, i in ((0, 2), (2, 0), (3, 1)):
        np.testing.assert_array_equal(dk[..., j], sk[..., i])
        assert db[j] == sb[i]
    np.testing.assert_array_equal(dk[..., 1], fresh)  # the new class keeps its initialisation
    with pytest.raises(model_lib.ModelError, match="does not fit"):
        model_lib.warm_start_head(model_lib.build_model("a1", "base", 4, T, SIZE), tmp_path / "src", ["ghd"])
