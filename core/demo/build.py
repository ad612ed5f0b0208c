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


# ----------------------------------------------------------------------------------------------
# The demo build as one resumable background job (`make run`): its steps and their state in a small
# JSON file the Home page reads. The steps run in core.cli.media (they train a model: above this layer).
# ----------------------------------------------------------------------------------------------
STATUS_FILE = ".demo-build.json"
LOCK_FILE = ".demo-build.lock"
STEPS = (
    ("pose", "Train the pose model (movement, reps, no-reps on your own videos)"),
    ("render", "Render the demo workouts"),
    ("dataset", "Cut the reps into clips and make splits"),
    ("pose-reps", "Track the demo workouts and retrain the pose model on their reps too"),
    ("movinet", "Train the MoViNet demo model (optional)"),
)


def read_status(ws: Workspace) -> dict | None:
    """The demo build's state: {"steps": [{name, title, state, done, total, text}], "pid", "updated_at",
    "running"}, or None when no build has started in this workspace."""
    import json
    import os

    path = ws.root / STATUS_FILE
    try:
        status = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    pid = status.get("pid")
    alive = False
    if pid:
        try:
            os.kill(int(pid), 0)
            alive = True
        except (OSError, ValueError):
            alive = False
    status["running"] = alive and any(s["state"] in ("pending", "running") for s in status["steps"])
    return status


class BuildStatus:
    """Writes the status file as the steps go (atomically: the Home page reads it at any time)."""

    def __init__(self, ws: Workspace, steps=STEPS, skip=()):
        import os

        self.ws = ws
        old = {s["name"]: s for s in (read_status(ws) or {}).get("steps", [])}
        self.steps = [dict(name=n, title=t, state="skipped" if n in skip else
                           ("done" if old.get(n, {}).get("state") == "done" else "pending"),
                           done=0, total=0, text="") for n, t in steps]
        self.pid = os.getpid()
        self.save()

    def step(self, name: str) -> dict:
        return next(s for s in self.steps if s["name"] == name)

    def update(self, name: str, state: str | None = None, done: int | None = None, total: int | None = None,
               text: str | None = None) -> None:
        s = self.step(name)
        for key, value in (("state", state), ("done", done), ("total", total), ("text", text)):
            if value is not None:
                s[key] = value
        self.save()

    def progress(self, name: str):
        """The step's core progress callback (`progress(done, total, text)`)."""
        return lambda done, total, text="": self.update(name, "running", done, total, text)

    def save(self) -> None:
        import json
        import os
        from datetime import datetime, timezone

        path = self.ws.root / STATUS_FILE
        tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
        tmp.write_text(json.dumps({"steps": self.steps, "pid": self.pid,
                                   "updated_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}))
        os.replace(tmp, path)
