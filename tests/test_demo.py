"""The demo workspace: synthetic workouts with ground-truth reps, rebuilt identically from a seed."""
import json

import pytest

from core.demo.build import GROUND_TRUTH, build_demo
from core.media.library import content_hash
from core.demo.synthetic import demo_plans, render_workout
from core.base.workspace import Workspace
from tests.test_cli import cli

SMALL = dict(seed=3, n_videos=6, width=96, height=64, fps=10, reps_per_movement=60)
PLANS = dict(seed=SMALL["seed"], n_videos=SMALL["n_videos"], reps_per_movement=SMALL["reps_per_movement"])  # tiny and low fps: same plans, fast to render


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("demo"))
    return ws, build_demo(ws, **SMALL)


def test_demo_videos_carry_their_ground_truth_reps(demo):
    ws, ids = demo
    store = ws.store()
    assert len(ids) == 6 and len(store.videos()) == 6
    for vid in ids:
        reps = store.segments(vid)
        assert reps and {r["annotator"] for r in reps} == {GROUND_TRUTH}
        frames = store.video(vid)["frames"]
        assert all(0 <= r["start"] <= r["end"] < frames for r in reps)
    expected = sum(sum(plan.reps().values()) for plan in demo_plans(**PLANS))
    assert len(store.segments()) == expected


def test_demo_is_deterministic_and_resumable(demo, tmp_path):
    ws, ids = demo
    first = ws.store().video(ids[0])
    segments = render_workout(demo_plans(**PLANS)[0], tmp_path / "again.mp4",
                              width=SMALL["width"], height=SMALL["height"], fps=SMALL["fps"])
    assert content_hash(tmp_path / "again.mp4") == first["sha256"]
    assert [(s["label"], s["start"], s["end"]) for s in segments] == [
        (s["label"], s["start"], s["end"]) for s in ws.store().segments(ids[0])]
    assert build_demo(ws, **SMALL) == ids  # a second build adds nothing
    assert len(ws.store().videos()) == 6


def test_demo_cli_reports_reps_per_movement(demo):
    ws, ids = demo
    out = cli("demo", "--seed", "3", "--videos", "6", "--width", "96", "--height", "64", "--fps", "10",
              "--steps", "render", "--workspace", ws.root)
    report = json.loads(out.stdout)
    assert report["videos"] == ids
    assert sum(report["reps_per_movement"].values()) == len(ws.store().segments())
