"""Helpers for the prediction and export tests: a workspace with real clips, a tiny exported model.

The model is MoViNet-A0 base, randomly initialised (weights spread by core.modeling.fastpath.randomize_weights
so the probabilities are not flat), 4 frames at 32x32, exported with core.modeling.movinet.export_model and
registered in the workspace's models table as training registers its models. Nothing is downloaded.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FRAMES = 4
RESOLUTION = 32
PORTRAIT = "kbtrainer__front_squat_.mp4"    # 270x480
LANDSCAPE = "formfit__squat.mp4"              # 620x720 (taller than wide too, but a different source)


def make_clip_workspace(root: Path, real_videos: Path, ratios=(0.0, 1.0, 0.0)):
    """Two real videos with reps of three movements, cut into clips, split (default: all val)."""
    from core.base.workspace import Workspace
    from core.dataset.clips import cut_clips
    from core.dataset.splits import make_splits
    from core.media import library

    ws = Workspace(root)
    store = ws.store()
    v1 = library.add_file(ws, real_videos / PORTRAIT).video_id
    v2 = library.add_file(ws, real_videos / "kbtrainer__backSquats.mp4").video_id
    for start, end, label in [(0, 20, "thruster"), (21, 40, "thruster"), (41, 60, "ohs")]:
        store.add_segment(v1, label, start, end, "ann")
    for start, end, label in [(0, 15, "ohs"), (16, 40, "deadlift")]:
        store.add_segment(v2, label, start, end, "ann")
    cut_clips(ws)
    make_splits(store, ratios=ratios)
    return ws


@functools.lru_cache(maxsize=None)
def tiny_keras(num_classes: int = 9, seed: int = 0):
    """A built, weight-randomised A0 base classifier (cached within the pytest process)."""
    from core.modeling import fastpath
    from core.modeling import movinet as M

    m = M.build_model("a0", "base", num_classes=num_classes, frames=FRAMES, resolution=RESOLUTION)
    return fastpath.randomize_weights(m, seed=seed)


def export_tiny(ws, model_id: str = "tiny", saved_model: bool = False, crop=True, seed: int = 0) -> dict:
    """Export the tiny model into <ws>/models/<model_id> and register it (like training does)."""
    from core.modeling import movinet as M
    from core.modeling import registry
    from core.modeling.registry import register_model

    labels = ws.store().labels()
    folder = ws.root / "models" / model_id
    M.export_model(tiny_keras(len(labels), seed), folder, labels, frames=FRAMES, resolution=RESOLUTION,
                   crop=None, saved_model=saved_model)
    register_model(ws, model_id, folder, labels, {"frames": FRAMES, "resolution": RESOLUTION, "crop": crop},
                   {"val_top1": None})
    return registry.resolve_model(ws.store(), model_id)
