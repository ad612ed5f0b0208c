"""The demo workspace: synthetic workouts with their ground-truth reps (annotator `ground-truth`)."""
from __future__ import annotations

from typing import Callable

from core.media.library import register
from core.demo.synthetic import demo_plans, render_workout
from core.base.workspace import Workspace

GROUND_TRUTH = "ground-truth"


# The default demo workspace: 36 workouts (~29 min of video), every movement in 18 of them and 90
# reps of each. Fewer, longer workouts teach a classifier the gyms rather than the movements: with
# 12 videos (8 to train on) a from-scratch model reached ~0.5 val top-1 however it was trained.
DEMO_VIDEOS = 36
DEMO_REPS = 90


def build_demo(
    ws: Workspace, seed: int = 0, n_videos: int = DEMO_VIDEOS, width: int = 854, height: int = 480,
    fps: float = 30, target_seconds: float | None = None, progress: Callable[[int, int, str], None] | None = None,
    reps_per_movement: int = DEMO_REPS,
) -> list[int]:
    """Render the demo workouts into the workspace; videos already there are kept (same seed, same files).

    Returns the ids of the demo videos. Rendering writes to a temporary name first, so an
    interrupted build leaves nothing half-written and simply resumes on the next call.
    """
    store = ws.store()
    known = {v["path"]: v["id"] for v in store.videos()}
    plans = demo_plans(seed, n_videos, target_seconds, reps_per_movement)
    ids = []
    for i, plan in enumerate(plans):
        name = f"demo_s{seed}_{i:02d}.mp4"
        path = ws.videos_dir / name
        rel = ws.relative(path)
        if progress:
            progress(i, len(plans), name)
        if rel in known:
            ids.append(known[rel])
            continue
        segments = render_workout(plan, path, width=width, height=height, fps=fps)
        added = register(ws, path, title=f"Demo workout {i + 1} (seed {seed})", source_url=None)
        if added.error:
            raise RuntimeError(f"demo video {name} could not be added: {added.error}")
        store.add_segments(added.video_id, segments, GROUND_TRUTH)
        ids.append(added.video_id)
    if progress:
        progress(len(plans), len(plans), "done")
    return ids
