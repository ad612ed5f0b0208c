"""The pose model in the product: trained and registered by `train --preset pose`, listed by
`models list`, used by Predict, Analyze, drafts and Evaluate, and clear on bad input (no athlete,
a movement outside the nine, a one-rep clip, a rep cut by the video's end).

One tiny pose model is trained once for the module (synthetic motion, ~20 s on 2 cores)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.analysis import pose_workout as PW
from core.base.workspace import Workspace
from core.cli.main import main
from core.demo import motion as M
from core.inference import pose_predict as PP
from tests.apptest import page_test, run_task


@pytest.fixture(scope="module")
def pose_ws(tmp_path_factory):
    """A workspace with a tiny pose model trained by `python -m core train --preset pose`."""
    root = tmp_path_factory.mktemp("pose_ws")
    code = main(["train", "--workspace", str(root), "--preset", "pose", "--pose-samples", "1600", "--epochs", "3",
                 "--run-id", "pose-tiny"])
    assert code == 0
    return Workspace(root)


@pytest.fixture(scope="module")
def model(pose_ws):
    from core.inference.predictor import default_predictor

    return default_predictor().entry(pose_ws, "pose-tiny")


def synthetic(movement="thruster", seed=3):
    tr = M.motion_track(M.random_workout(seed, [movement]), seed, M.MotionConfig(norep_p=0.0))
    sets = [s for s in tr.sets() if s["label"] == movement]
    assert sets, "the random workout has a set of the movement"
    return tr, max(sets, key=lambda s: len(s["reps"]))


# ----------------------------------------------------------------------------------------------
# registered and trainable
# ----------------------------------------------------------------------------------------------
def test_train_preset_pose_registers_a_pose_model_and_a_run(pose_ws, capsys):
    from core.modeling.pose_model import LABELS

    run = pose_ws.store().run("pose-tiny")
    assert run["status"] == "succeeded" and run["summary"]["best_val_top1"] > 0.3
    folder = pose_ws.root / "models" / "pose-tiny"
    assert (folder / "pose_model.keras").is_file() and (folder / "pose_model.json").is_file()
    assert (pose_ws.runs_dir / "pose-tiny" / "log.txt").read_text().count("epoch") >= 3
    lines = (pose_ws.runs_dir / "pose-tiny" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[-1])["kind"] == "epoch"
    capsys.readouterr()
    assert main(["models", "list", "--workspace", str(pose_ws.root), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    row = next(r for r in rows if r["id"] == "pose-tiny")
    assert row["kind"] == "pose" and row["labels"] == list(LABELS) and row["labels"][-1] == "none"
    assert 0 < row["metrics"]["val_top1"] <= 1 and row["created_at"]
    assert main(["models", "list", "--workspace", str(pose_ws.root), "--kind", "movinet", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_pose_preset_refuses_bad_settings(tmp_path):
    from core.modeling.config import TrainError
    from core.modeling.pose_run import pose_config

    with pytest.raises(TrainError):
        pose_config({"epochs": 0})
    with pytest.raises(TrainError):
        pose_config({"frames": 8})
    assert pose_config({"epochs": 2, "seed": None})["epochs"] == 2


# ----------------------------------------------------------------------------------------------
# reps: one-rep clip, a rep cut by the end
# ----------------------------------------------------------------------------------------------
def test_one_rep_clip_counts_one():
    tr, st = synthetic("thruster")
    rep = st["reps"][len(st["reps"]) // 2]
    out = PW.judge_range(tr.arrays(), "thruster", rep["start"], rep["end"], tr.fps)
    assert out["count"] == 1, out
    assert out["summary"].startswith("1 rep")


def test_a_rep_cut_by_the_end_of_the_video_is_partial():
    tr, st = synthetic("thruster")
    reps = st["reps"]
    assert len(reps) >= 3
    last = reps[2]
    cut = last["start"] + int(0.55 * (last["end"] - last["start"]))   # past the bottom (29 %), before the top
    arrays = {k: v[tr.frames <= cut] for k, v in tr.arrays().items()}
    out = PW.judge_range(arrays, "thruster", reps[0]["start"], cut, tr.fps)
    assert len(out["reps"]) == 3 and out["count"] == 2 and out["partial"] == 1, out
    assert out["reps"][-1]["partial"] and not out["reps"][-1]["valid"]
    assert "partial" in out["reps"][-1]["reason"] and out["summary"].endswith("(+1 partial)")
    # the cut rep alone: "1 rep, partial"
    one = PW.judge_range(arrays, "thruster", last["start"], cut, tr.fps)
    assert one["count"] == 0 and one["partial"] == 1 and one["summary"] == "1 rep, partial"
    # the whole set, not cut: nothing partial
    full = PW.judge_range(tr.arrays(), "thruster", st["start"], st["end"], tr.fps,
                          limits=(0, tr.n_video_frames - 1))
    assert full["partial"] == 0 and abs(full["count"] - len(reps)) <= 1


# ----------------------------------------------------------------------------------------------
# Predict
# ----------------------------------------------------------------------------------------------
def test_predict_real_clip_top5_reps_and_timings(pose_ws, real_videos):
    from core.inference.predictor import predict_file

    out = predict_file("pose-tiny", real_videos / "kbtrainer__front_squat_.mp4", ws=pose_ws, start=0, end=119)
    assert out["engine"] == "pose" and out["range"] == [0, 119]
    assert len(out["top"]) == 5 and abs(sum(out["probabilities"].values()) - 1) < 1e-3
    assert out["top"][0]["movement"] == out["movement"]
    assert all(0 <= f <= 119 for f in out["frames_used"])
    assert out["pose"]["share_with_pose"] > 0.9
    assert {"pose", "model", "total"} <= set(out["timings_ms"])
    if out["movement"] != "none":
        reps = out["reps"]
        assert reps is not None and reps["count"] + reps["partial"] == len(reps["reps"])
        for r in reps["reps"]:
            assert 0 <= r["start"] <= r["end"] <= 119 and isinstance(r["valid"], bool) and "reason" in r
    if out["confidence"] < PP.LOW_CONFIDENCE:
        assert out["low_confidence"] and out["message"]


def test_predict_video_without_a_person_says_no_athlete_found(pose_ws, tmp_path):
    from core.inference.predictor import predict_file
    from tests.videotools import write_video

    rng = np.random.default_rng(0)
    frames = np.clip(rng.normal(120, 8, (1, 120, 160, 3)) + np.zeros((40, 1, 1, 1)), 0, 255).astype(np.uint8)
    path = write_video(tmp_path / "empty.mp4", frames, 20)
    out = predict_file("pose-tiny", path, ws=pose_ws)
    assert out["movement"] == "none" and out["low_confidence"]
    assert out["message"] == "no athlete found"
    assert out["probabilities"]["none"] == 1.0
    assert out["reps"]["count"] == 0 and "no rep count" in out["reps"]["note"]


def test_outside_the_nine_is_none_or_marked_low_confidence(model):
    """A still athlete and random joints: never a confident movement."""
    tr, st = synthetic("thruster")
    arrays = tr.arrays()
    rest = [r for r in np.flatnonzero(tr.frame_labels() < 0)]
    # a standing athlete: the first frame's pose held for 4 s
    i0 = int(np.flatnonzero(tr.frames >= rest[0])[0]) if rest else 0
    n = 60
    still = {"frames": np.arange(n) * 2, "xy": np.repeat(arrays["xy"][i0:i0 + 1], n, 0),
             "visibility": np.repeat(arrays["visibility"][i0:i0 + 1], n, 0), "score": np.ones(n, np.float32)}
    out = PP.predict_track(model.loaded, model.row["labels"], still, 0, 118, 30.0)
    assert out["movement"] == "none" or out["low_confidence"], out["top"]
    rng = np.random.default_rng(1)
    noise = dict(still, xy=rng.uniform(0, 400, still["xy"].shape).astype(np.float32))
    out = PP.predict_track(model.loaded, model.row["labels"], noise, 0, 118, 30.0)
    assert out["movement"] == "none" or out["low_confidence"], out["top"]
    # whatever a model makes of random joints, they are no one person moving: marked, whoever the model
    assert out["low_confidence"] and out["pose"]["jitter"] > PP.MAX_POSE_JITTER, out["pose"]
    assert "jumps from frame to frame" in out["message"] or out["movement"] == "none"
    # a body working out moves far slower than that
    moving = PP.predict_track(model.loaded, model.row["labels"], arrays, int(tr.frames[0]), int(tr.frames[-1]), 30.0)
    assert 0 < moving["pose"]["jitter"] < PP.MAX_POSE_JITTER / 2, moving["pose"]


def test_none_is_the_answer_only_when_the_model_believes_it():
    labels = ["thruster", "ohs", "none"]
    none = labels.index("none")
    assert PP.decide([0.2, 0.1, 0.7], none) == none                 # a majority: none
    assert PP.decide([0.35, 0.2, 0.45], none) == 0                  # none first but not believed: the best of the nine
    assert PP.decide([0.1, 0.6, 0.3], none) == 1
    assert PP.decide([0.5, 0.5], None) == 0                         # a model without none
    assert PP.NONE_MAJORITY >= PP.LOW_CONFIDENCE    # an answer that is not none's majority is marked low confidence


# ----------------------------------------------------------------------------------------------
# Analyze, drafts
# ----------------------------------------------------------------------------------------------
def test_pose_analysis_of_a_synthetic_workout_and_its_draft(pose_ws, model, real_videos):
    from core.analysis.drafts import write_draft
    from core.analysis.workout import Analysis
    from core.media import library

    tr, st = synthetic("thruster")
    track = dict(tr.arrays(), fps=tr.fps, video_frames=tr.n_video_frames)
    a = Analysis(**PW.pose_analysis(model.loaded, model.row["labels"], track, model_id="pose-tiny"))
    assert a.frames == tr.n_video_frames and a.probs.shape[1] == 10 and len(a.centers) == len(a.probs)
    for s in a.segments:
        assert s["count"] == len(s["reps"]) == len(s["judged"])
        assert s["valid"] + s["no_reps"] == s["count"] and len(s["partial_reps"]) == s["partial"]
        for (x, y), j in zip(s["reps"], s["judged"]):
            assert (x, y) == (j["start"], j["end"]) and s["start_frame"] <= x <= y <= s["end_frame"]
    d = a.to_json()
    assert d["pose"]["status"] == "ok" and "realtime_factor" in d
    assert d["pose"]["others_moving"] == 0 and d["pose"]["warning"] == ""
    two = PW.pose_analysis(model.loaded, model.row["labels"], dict(track, others_moving=1), model_id="pose-tiny")
    assert two["pose"]["warning"].startswith("Another person moved about as much as the athlete")
    reps = a.reps()
    assert all("extra" in r and set(r["extra"]) == {"valid", "reason"} for r in reps)
    if reps:
        vid = library.add_file(pose_ws, real_videos / "kbtrainer__front_squat_.mp4").video_id
        reps = [r for r in reps if r["end"] < 300]
        write_draft(pose_ws.store(), vid, reps, "model:pose-tiny", extra={"source": "analyze"})
        rows = pose_ws.store().segments(vid, "model:pose-tiny")
        assert len(rows) == len(reps)
        assert all(set(r["extra"]) >= {"valid", "reason", "source"} for r in rows)


def test_analyze_file_routes_a_pose_model(pose_ws, real_videos):
    from core.analysis.workout import analyze_file

    a = analyze_file(pose_ws, "pose-tiny", real_videos / "kbtrainer__front_squat_.mp4")
    assert a.model == "pose-tiny" and a.run_id == "pose-tiny" and a.pose["share_with_pose"] > 0.9
    assert a.frames > 300 and "pose_track" in a.timings and a.timings["total"] > 0
    for s in a.segments:
        assert s["movement"] in a.labels and s["movement"] != "none"


def test_an_uploads_pose_track_is_kept_for_its_skeleton(pose_ws, real_videos, tmp_path):
    """Predicting or analysing an upload with a pose model stores its track by the file's content, so
    the Predict and Analyze pages can draw the skeleton after the temporary copy is gone."""
    from core.analysis.workout import analyze_file
    from core.inference.predictor import default_predictor
    from core.pose.store import stored_track
    from tests.test_pose_store import cut

    upload = cut(real_videos, "kbtrainer__backSquats.mp4", tmp_path / "upload.mp4", n=90)
    assert stored_track(pose_ws, path=upload) is None
    with open(upload, "rb") as f:
        out = default_predictor().predict_upload("pose-tiny", f, "my squat.mp4", ws=pose_ws)
    kept = stored_track(pose_ws, path=upload)
    assert kept is not None and kept.frames.tolist() == out["frames_used"]
    other = cut(real_videos, "kbtrainer__backSquats.mp4", tmp_path / "later.mp4", start=90, n=90)
    analyze_file(pose_ws, "pose-tiny", other)
    assert stored_track(pose_ws, path=other) is not None


def test_analysis_without_an_athlete(model):
    n = 40
    track = {"frames": np.arange(n) * 2, "xy": np.full((n, 33, 2), np.nan, np.float32),
             "visibility": np.zeros((n, 33), np.float32), "score": np.zeros(n, np.float32), "fps": 30.0,
             "video_frames": 2 * n}
    out = PW.pose_analysis(model.loaded, model.row["labels"], track)
    assert out["segments"] == [] and out["pose"]["message"] == "no athlete found"


# ----------------------------------------------------------------------------------------------
# Evaluate
# ----------------------------------------------------------------------------------------------
def test_evaluate_a_pose_model_on_real_clips(pose_ws, real_videos, tmp_path):
    import shutil

    from core.evaluation.predictions import predict_split
    from core.modeling import registry
    from tests.predict_helpers import make_clip_workspace

    ws = make_clip_workspace(tmp_path / "clips_ws", real_videos, ratios=(0, 0, 1))
    shutil.copytree(pose_ws.root / "models" / "pose-tiny", ws.root / "models" / "pose-tiny")
    row = registry.resolve_model(pose_ws.store(), "pose-tiny")
    registry.register_model(ws, "pose-tiny", "models/pose-tiny", row["labels"], row["preprocessing"], row["metrics"],
                            kind="pose")
    pred = predict_split(ws, "pose-tiny", "test")
    assert pred.probs.shape == (5, 10) and np.allclose(pred.probs.sum(1), 1, atol=1e-3)
    rep = pred.report(resamples=10)
    assert 0 <= rep["top1"] <= 1 and len(rep["clips"]) == 5
    again = predict_split(ws, "pose-tiny", "test")
    assert again.reused and np.array_equal(again.probs, pred.probs)


# ----------------------------------------------------------------------------------------------
# Pages
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def page_ws(pose_ws):
    """The pose workspace with one real workspace video."""
    from core.media import library
    from tests.conftest import REAL_VIDEOS

    library.add_file(pose_ws, REAL_VIDEOS / "kbtrainer__front_squat_.mp4")
    return pose_ws


def _app(page: str, ws, monkeypatch, **state):


    monkeypatch.setenv("WORKSPACE", str(ws.root))
    at = page_test(f"app_pages/{page}", default_timeout=180)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def test_predict_page_shows_movement_reps_and_no_reps(page_ws, monkeypatch):
    at = _app("6_Predict.py", page_ws, monkeypatch)
    at.selectbox(key="model").set_value("pose-tiny").run()
    at.radio(key="source").set_value("video").run()
    video = next(v for v in page_ws.store().videos() if "front_squat" in v["path"])
    at.selectbox(key="video").set_value(video["id"]).run()
    at.button(key="predict").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert {m.label for m in at.metric} >= {"Pose track", "Model", "Reps + judge", "Total"}
    out = at.session_state["prediction"]["out"]
    assert out["engine"] == "pose"
    if out["movement"] != "none":
        assert any(out["reps"]["summary"] in m.value for m in at.markdown)
    if out["low_confidence"]:
        assert at.warning


def test_analyze_page_marks_reps_and_goes_to_a_frame(page_ws, monkeypatch):
    at = _app("7_Analyze.py", page_ws, monkeypatch)
    at.selectbox(key="an_model").select("pose-tiny").run()
    run_task(at, "an_run", "analyze")
    a = at.session_state["an_result"]["analysis"]
    assert a.model == "pose-tiny" and a.pose is not None
    at.number_input(key="an_goto_frame").set_value(90).run()
    at.button(key="an_goto").click().run()
    assert not at.exception, at.exception
    assert at.session_state["an_seek"] == pytest.approx(90 / a.fps)
    if any(s["judged"] for s in a.segments):
        assert any(e.label.startswith("The judge:") for e in at.expander)


def test_train_page_offers_the_pose_model(pose_ws, monkeypatch):
    at = _app("4_Train.py", pose_ws, monkeypatch)
    assert at.button(key="launch_pose").label == "Train the pose model"
