"""A team's labelled reps join the pose model's training: the dataset reps of the workspace's videos
(train and val splits by their video, never test), each with its video's pose track."""
from __future__ import annotations

import json

from core.base.workspace import Workspace
from core.cli.main import main
from core.demo.build import read_status
from core.modeling import pose_model as PM
from core.modeling.config import POSE_PRESET
from core.modeling.registry import best_model, list_models
from core.modeling.pose_run import labelled_reps, train_pose_run
from tests.test_pose_store import FRONT_SQUAT, add, cut


def labelled_workspace(real_videos, tmp_path) -> tuple[Workspace, dict]:
    ws = Workspace(tmp_path / "ws")
    ids = {}
    for name, start in (("train", 0), ("val", 100), ("test", 200)):
        vid = add(ws, cut(real_videos, FRONT_SQUAT, tmp_path / f"{name}.mp4", start=start, n=100))
        ids[name] = vid
        got = ws.store().import_segments(vid, [
            {"label": "thruster", "start": 5, "end": 45, "annotator": "ana"},
            {"label": "thruster", "start": 50, "end": 95, "annotator": "ana"}])
        assert all(isinstance(k, str) for k in got), got
    with ws.store().write() as con:
        con.executemany("INSERT INTO splits(video_id, split, seed, created_at) VALUES (?, ?, 0, '')",
                        [(vid, split) for split, vid in ids.items()])
    return ws, ids


def test_labelled_reps_by_split_with_their_pose(real_videos, tmp_path):
    ws, ids = labelled_workspace(real_videos, tmp_path)
    seen = []
    reps = labelled_reps(ws, progress=lambda d, t, s: seen.append((d, t, s)))
    assert [r[1:] for r in reps["train"]] == [(5, 45, "thruster"), (50, 95, "thruster")]
    assert len(reps["val"]) == 2          # and none of the test video's reps: the test split is never trained on
    arrays = reps["train"][0][0]
    assert arrays["fps"] == 30.0 and (arrays["score"] > 0.5).mean() > 0.9
    assert seen and "labelled videos" in seen[0][2]
    X, y = PM.rep_samples(reps["train"], copies=3, seed=0)
    assert X[0].shape == (6, PM.FeatureSettings().steps, 33, 2) and list(y) == [PM.LABELS.index("thruster")] * 6
    assert X[3].min() > 0.5    # every step of a labelled rep has a pose


def test_a_pose_run_trains_on_them_and_reports_them(real_videos, tmp_path):
    ws, _ = labelled_workspace(real_videos, tmp_path)
    summary = train_pose_run(ws, {"n_train": 300, "n_val": 60, "epochs": 1}, "pose-labelled")
    meta = json.loads((ws.root / "models" / "pose-labelled" / "pose_model.json").read_text())
    assert meta["metrics"]["labelled_reps"] == {"train": 2, "val": 2}
    assert 0 <= meta["metrics"]["val_top1_labelled"] <= 1 and summary["best_val_top1"] is not None
    assert "labelled reps of this workspace: 2 train, 2 val" in (ws.runs_dir / "pose-labelled" / "log.txt").read_text()

    assert main(["train", "--workspace", str(ws.root), "--preset", "pose", "--synthetic-only", "--pose-samples", "300",
                 "--epochs", "1", "--run-id", "pose-synthetic"]) == 0
    meta = json.loads((ws.root / "models" / "pose-synthetic" / "pose_model.json").read_text())
    assert meta["metrics"]["labelled_reps"] == {"train": 0, "val": 0} and "val_top1_labelled" not in meta["metrics"]
    # the pages offer the model that has learned from the team's reps, whatever its synthetic val says
    models = list_models(ws.store(), kind="pose")
    for m in models:
        m["metrics"]["val_top1"] = 0.5 if m["id"] == "pose-labelled" else 0.99
    assert best_model(models)["id"] == best_model(models, for_workouts=True)["id"] == "pose-labelled"


def test_the_demo_build_retrains_the_pose_model_on_the_workspace_reps(real_videos, tmp_path, monkeypatch):
    ws, _ = labelled_workspace(real_videos, tmp_path)
    for key, value in (("n_train", 300), ("n_val", 60), ("epochs", 1)):
        monkeypatch.setitem(POSE_PRESET, key, value)
    assert main(["demo", "--steps", "pose-reps", "--workspace", str(ws.root)]) == 0
    models = list_models(ws.store(), kind="pose")
    assert len(models) == 1 and models[0]["metrics"]["labelled_reps"] == {"train": 2, "val": 2}
    step = next(s for s in read_status(ws)["steps"] if s["name"] == "pose-reps")
    assert step["state"] == "done" and "registered" in step["text"]
    assert main(["demo", "--steps", "pose-reps", "--workspace", str(ws.root)]) == 0   # nothing redone
    assert len(list_models(ws.store(), kind="pose")) == 1
    assert "has learned" in next(s for s in read_status(ws)["steps"] if s["name"] == "pose-reps")["text"]
