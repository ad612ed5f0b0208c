"""Whole-workout analysis (core/analyze.py): segments, rep counting, end to end, drafts, key presses.

Fast: crafted probability and motion sequences with known answers, tiny synthetic videos
(96x64), the tiny random model of tests/predict_helpers.py. Accuracy is checked only where it
does not depend on a trained classifier (the motion rep counter).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.base.errors import Cancelled
from core.dataset import windows

from bench import keypress

from core.analysis import drafts as an_drafts

from core.analysis import evaluation as an_eval

from core.analysis import reps as an_reps

from core.analysis import scan as an_scan

from core.analysis import segments as an_segments

from core.analysis import settings as an_settings

from core.analysis import workout as an_workout
from tests.apptest import page_test, run_task


# ----------------------------------------------------------------------------------------------
# Segments from crafted probabilities
# ----------------------------------------------------------------------------------------------

def _probs(spec, k=9, seed=0, noise=0.03):
    """Per-frame probabilities: spec = [(n_frames, class or None, p)], None = flat (rest)."""
    rng = np.random.default_rng(seed)
    rows = []
    for n, cls, p in spec:
        for _ in range(n):
            if cls is None:
                r = np.full(k, 1.0 / k)
            else:
                r = np.full(k, (1 - p) / (k - 1))
                r[cls] = p
            r = np.clip(r + rng.normal(0, noise, k), 1e-3, None)
            rows.append(r / r.sum())
    return np.array(rows)


def test_segments_from_crafted_probabilities():
    # 0-99 class 0, 100-159 rest, 160-299 class 2 with a 6-frame blip of class 1 inside
    fp = _probs([(100, 0, 0.8), (60, None, 0), (40, 2, 0.8), (6, 1, 0.9), (94, 2, 0.8)])
    segs = an_segments.segment_probs(fp, fps=30.0, settings=an_settings.Settings(min_segment_s=1.0))
    assert [s["index"] for s in segs] == [0, 2]
    assert abs(segs[0]["start_frame"] - 0) <= 2 and abs(segs[0]["end_frame"] - 99) <= 3
    assert abs(segs[1]["start_frame"] - 160) <= 3 and abs(segs[1]["end_frame"] - 299) <= 2
    assert all(0 < s["confidence"] <= 1 for s in segs)


def test_switch_penalty_and_min_duration():
    fp = _probs([(60, 0, 0.7), (10, 1, 0.7), (60, 0, 0.7)])
    # without a switching cost the 10-frame run of class 1 is its own segment ...
    low = an_segments.segment_probs(fp, 30.0, an_settings.Settings(switch_penalty=0.0, min_segment_s=0.0))
    assert [s["index"] for s in low] == [0, 1, 0]
    # ... with the default cost it is absorbed; min duration drops short segments
    assert [s["index"] for s in an_segments.segment_probs(fp, 30.0, an_settings.Settings())] == [0]
    short = _probs([(20, 0, 0.9), (100, None, 0)])
    assert an_segments.segment_probs(short, 30.0, an_settings.Settings(min_segment_s=1.0)) == []


def test_vote_reps_renames_segments_by_their_reps_and_joins_a_split_set():
    labels = ["ghd", "double-unders", "ohs"]
    segs = [{"movement": "double-unders", "start_frame": 0, "end_frame": 99, "confidence": 0.5, "count": 2,
             "reps": [[0, 49], [50, 99]]},
            {"movement": "ghd", "start_frame": 110, "end_frame": 159, "confidence": 0.4, "count": 1,
             "reps": [[110, 159]]},
            {"movement": "ohs", "start_frame": 400, "end_frame": 459, "confidence": 0.9, "count": 2,
             "reps": [[400, 429], [430, 459]]}]
    probs = np.array([[0.7, 0.2, 0.1], [0.5, 0.4, 0.1],   # the first segment's reps say ghd
                      [0.8, 0.1, 0.1],                     # so does the second's
                      [0.1, 0.1, 0.8], [0.2, 0.1, 0.7]])
    out = an_workout.vote_reps(segs, probs, labels, fps=30, merge_gap_s=1.0)
    assert [(s["movement"], s["start_frame"], s["end_frame"], s["count"]) for s in out] == \
        [("ghd", 0, 159, 3), ("ohs", 400, 459, 2)]
    assert out[0]["reps"] == [[0, 49], [50, 99], [110, 159]]
    assert out[0]["confidence"] == pytest.approx((0.6 * 2 + 0.8 * 1) / 3, abs=1e-4)
    assert out[1]["confidence"] == pytest.approx(0.75)
    # far apart, the same movement stays two segments
    far = an_workout.vote_reps(segs, probs, labels, fps=30, merge_gap_s=0.1)
    assert [s["movement"] for s in far] == ["ghd", "ghd", "ohs"]


def test_a_models_own_none_class_marks_the_rests():
    # columns 0-1 movements, 2 = none: 0-89 movement 0, 90-149 rest (the model says none), 150-239 movement 1
    fp = _probs([(90, 0, 0.8), (60, 2, 0.8), (90, 1, 0.8)], k=3)
    weighted = an_settings.Settings(min_segment_s=1.0, none_weight=0.6)
    segs = an_segments.segment_probs(fp, 30.0, weighted, none_index=2)
    assert [s["index"] for s in segs] == [0, 1]
    assert abs(segs[0]["end_frame"] - 89) <= 3 and abs(segs[1]["start_frame"] - 150) <= 3
    # a rest the model calls none with p 0.5 beside movements at 0.25 each stays none at a none weight
    # of 0.6, though the fixed threshold of a none-less model (0.2) would have made it a movement; at
    # the default weight (0.1: the model says none too often) it takes a surer none
    rest = np.tile([0.25, 0.25, 0.5], (60, 1))
    fp2 = np.concatenate([fp[:90], rest, fp[150:]])
    assert [s["index"] for s in an_segments.segment_probs(fp2, 30.0, weighted, none_index=2)] == [0, 1]
    absorbed = an_segments.segment_probs(fp2, 30.0, an_settings.Settings(min_segment_s=1.0), none_index=2)
    assert sum(s["end_frame"] - s["start_frame"] + 1 for s in absorbed) == len(fp2)  # no frame left as rest
    sure = np.concatenate([fp[:90], np.tile([0.04, 0.04, 0.92], (60, 1)), fp[150:]])
    assert [s["index"] for s in an_segments.segment_probs(sure, 30.0, an_settings.Settings(min_segment_s=1.0), none_index=2)] == [0, 1]
    # the vote names a segment among the movements even when its reps look like rest
    seg = [{"movement": "ohs", "start_frame": 0, "end_frame": 59, "confidence": 0.5, "count": 2,
            "reps": [[0, 29], [30, 59]]}]
    out = an_workout.vote_reps(seg, np.array([[0.1, 0.3, 0.6], [0.2, 0.3, 0.5]]), ["ghd", "ohs", "none"], fps=30)
    assert out[0]["movement"] == "ohs" and out[0]["confidence"] == pytest.approx(0.3)


def test_viterbi_and_runs():
    scores = np.log(np.array([[0.9, 0.1]] * 5 + [[0.1, 0.9]] * 5))
    assert list(an_segments.viterbi(scores, 0.0)) == [0] * 5 + [1] * 5
    assert list(an_segments.viterbi(scores, 100.0)) in ([0] * 10, [1] * 10)
    assert an_segments.runs([2, 2, 0, 0, 0, 1]) == [(2, 0, 1), (0, 2, 4), (1, 5, 5)]


def test_frame_probabilities_interpolate_between_window_centres():
    fp = an_scan.frame_probabilities(np.array([2.0, 6.0]), np.array([[1.0, 0.0], [0.0, 1.0]]), 9)
    assert fp.shape == (9, 2)
    np.testing.assert_allclose(fp[:3, 0], 1.0)       # before the first centre: its values
    np.testing.assert_allclose(fp[4], [0.5, 0.5])    # halfway
    np.testing.assert_allclose(fp[6:, 1], 1.0)


def test_window_plan_matches_the_sampling_rule():
    from core.media.video import sample_indices

    g, stride, spans = windows.window_plan(3000, 30.0, 8)
    assert (g, stride, spans) == (4, 16, [29, 57])
    start = 5 * stride
    assert list(range(start, start + spans[0], g)) == sample_indices(start, start + spans[0] - 1, 8)
    # a span that is not a multiple of the 1 s window's step: every frame it uses stays on the grid
    g, stride, spans = windows.window_plan(3000, 30.0, 8, scales=(1.0, 2.5))
    assert (g, stride, spans) == (2, 16, [29, 71]) and 10 % g == 0


# ----------------------------------------------------------------------------------------------
# Rep counting on motion
# ----------------------------------------------------------------------------------------------

def _blob_video(cycles: int, period: int, lead: int = 30, tail: int = 30, h=36, w=64):
    """A bright square that moves down and up once per period (a squat seen from the side),
    still before and after."""
    n = lead + cycles * period + tail
    frames = np.full((n, h, w), 40, np.uint8)
    for t in range(n):
        if lead <= t < lead + cycles * period:
            phase = (t - lead) / period
            y = int(round(6 + 16 * (0.5 - 0.5 * np.cos(2 * np.pi * phase))))
        else:
            y = 6
        frames[t, y:y + 10, 27:37] = 220
    return frames, lead, lead + cycles * period - 1


@pytest.mark.parametrize("cycles,period", [(10, 30), (7, 45), (15, 18)])
def test_count_reps_on_crafted_motion(cycles, period):
    frames, a, b = _blob_video(cycles, period)
    reps = an_reps.count_reps(frames, a, b, 30.0, movement=None)
    assert abs(len(reps) - cycles) <= 1
    lengths = [e - s + 1 for s, e in reps]
    assert all(abs(n - period) <= 0.25 * period for n in lengths[1:-1])
    assert all(s2 > e1 for (_, e1), (s2, _) in zip(reps, reps[1:]))  # ordered, not overlapping


def test_count_reps_finds_nothing_in_still_frames():
    frames = np.full((120, 36, 64), 90, np.uint8)
    assert an_reps.count_reps(frames, 0, 119, 30.0, "thruster") == []


@pytest.mark.parametrize("movement,seed,fps", [("thruster", 1, 15), ("ghd", 1, 15), ("deadlift", 1, 30)])
def test_count_reps_on_a_rendered_synthetic_set(tmp_path, movement, seed, fps):
    from core.demo.synthetic import render_reps

    path = tmp_path / "reps.mp4"
    truth = render_reps(movement, 8, path, seed=seed, width=96, height=64, fps=fps)
    gray, got_fps = an_scan.motion_frames(path)
    assert gray.dtype == np.uint8 and len(gray) > truth[-1]["end"]
    reps = an_reps.count_reps(gray, truth[0]["start"], truth[-1]["end"], got_fps, movement)
    assert abs(len(reps) - len(truth)) <= 1


def test_gt_sets_group_back_to_back_reps():
    reps = [{"label": "ohs", "start": 0, "end": 9}, {"label": "ohs", "start": 10, "end": 19},
            {"label": "ohs", "start": 40, "end": 49}, {"label": "ghd", "start": 50, "end": 70}]
    sets = an_eval.gt_sets(reps)
    assert [(s["label"], s["start"], s["end"], len(s["reps"])) for s in sets] == [
        ("ohs", 0, 19, 2), ("ohs", 40, 49, 1), ("ghd", 50, 70, 1)]


# ----------------------------------------------------------------------------------------------
# End to end: a short synthetic workout, a tiny random model, drafts
# ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def workout_ws(tmp_path_factory):
    """A workspace with one tiny synthetic workout (ohs then ghd) and its ground truth, and the
    tiny random model of the prediction tests registered."""
    from core.media import library
    from core.demo.synthetic import plan_workout, render_workout
    from core.base.workspace import Workspace
    from tests.predict_helpers import export_tiny

    root = tmp_path_factory.mktemp("analyze_ws")
    ws = Workspace(root)
    plan = plan_workout(5, movements=["ohs", "ghd"], fps=30, target_seconds=25)
    path = ws.videos_dir / "wod.mp4"
    truth = render_workout(plan, path, width=96, height=64, fps=12)
    added = library.register(ws, path, title="tiny workout")
    ws.store().add_segments(added.video_id, truth, "ground-truth")
    row = export_tiny(ws, "tiny")
    return ws, added.video_id, truth, row


def test_analyze_a_short_workout_end_to_end(workout_ws):
    ws, vid, truth, row = workout_ws
    calls = []
    result = an_workout.analyze_video(ws, "tiny", vid, progress=lambda d, t, s: calls.append((d, t, s)))
    assert calls and calls[-1][0] == calls[-1][1]  # progress reached the end
    assert all(0 <= d <= t for d, t, _ in calls)
    out = result.to_json(probabilities=True)
    json.dumps(out)  # JSON-able
    assert out["frames"] == ws.store().video(vid)["frames"] and out["fps"] == pytest.approx(12.0)
    assert out["model"] == "tiny" and out["video_id"] == vid
    probs = np.array(out["windows"]["probabilities"])
    assert probs.ndim == 2 and probs.shape[1] == len(row["labels"])
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-3)
    for s in out["segments"]:
        assert set(s) == {"movement", "start_frame", "end_frame", "confidence", "count", "reps"}
        assert s["movement"] in row["labels"]
        assert 0 <= s["start_frame"] <= s["end_frame"] < out["frames"]
        assert s["count"] == len(s["reps"])
        assert all(s["start_frame"] <= a <= b <= s["end_frame"] for a, b in s["reps"])
    assert sum(out["counts"].values()) == sum(s["count"] for s in out["segments"])
    assert out["realtime_factor"] > 0 and out["timings_s"]["total"] > 0
    # the evaluation runs on it (accuracy is not expected from a random model)
    scores = an_eval.evaluate_analysis(result, truth)
    summary = an_eval.summarize([scores])
    assert 0.0 <= summary["frame_accuracy"] <= 1.0 and summary["count"]["n"] == 2


def test_reps_are_classified_as_training_clips(workout_ws):
    from core.media.video import load_clip

    ws, vid, truth, row = workout_ws
    fn, model_row = an_workout.load_runner(ws, "tiny")
    frames, size, box, focus = an_workout.model_input(model_row, ws.store().video(vid))  # noqa: SLF001
    path = ws.absolute(ws.store().video(vid)["path"])
    reps = [(t["start"], t["end"]) for t in truth[:3]]
    probs = an_workout.classify_reps(path, fn, frames, size, box, focus, reps, batch=4)
    assert probs.shape == (3, len(model_row["labels"]))
    want = np.asarray(fn(np.stack([load_clip(path, a, b, frames, size, box, focus) for a, b in reps])))
    np.testing.assert_allclose(probs, want, atol=1e-5)


def test_analysis_can_be_cancelled(workout_ws):
    ws, vid, _, _ = workout_ws
    with pytest.raises(Cancelled):
        an_workout.analyze_video(ws, "tiny", vid, cancel=lambda: True)


def test_draft_reaches_the_label_page_and_can_be_accepted(workout_ws):
    from core.labeling.annotator import Annotator, dataset_segments

    ws, vid, truth, _ = workout_ws
    store = ws.store()
    name = an_drafts.draft_annotator({"id": "tiny", "run_id": "run-7"})
    assert name == "model:run-7"
    an_drafts.write_draft(store, vid, truth[:3], name)
    an_drafts.write_draft(store, vid, truth[1:4], name)  # a newer draft replaces the older one
    drafts = store.segments(vid, name)
    assert [(d["start"], d["end"]) for d in drafts] == [(r["start"], r["end"]) for r in truth[1:4]]
    alice = Annotator(store, vid, "alice")
    assert {r["uuid"] for r in drafts} <= {r["uuid"] for r in alice.all_reps()}
    assert name in store.annotators(vid)  # the Label page's "show another annotator" list
    copied = alice.accept_draft(drafts[0]["uuid"])
    assert (copied["label"], copied["start"], copied["end"]) == (drafts[0]["label"], drafts[0]["start"], drafts[0]["end"])
    assert copied["annotator"] == "alice" and len(alice.reps()) == 1
    # drafts never feed the dataset
    assert not any(s["annotator"].startswith("model:") for s in dataset_segments(store))
    with pytest.raises(an_settings.AnalyzeError):
        an_drafts.write_draft(store, vid, truth[:1], "alice")  # a person's reps are never replaced
    for r in alice.reps():  # leave the shared workspace with one annotator (the dataset rule)
        store.delete_segment(r["uuid"])


def test_send_draft_from_an_analysis(workout_ws):
    ws, vid, _, _ = workout_ws
    result = an_workout.analyze_video(ws, "tiny", vid)
    name, keys = an_drafts.send_draft(ws, result)
    assert name == "model:tiny"  # the tiny model has no run: its id
    assert len(keys) == len(result.reps()) == len(ws.store().segments(vid, name))


# ----------------------------------------------------------------------------------------------
# Key presses with and without a draft
# ----------------------------------------------------------------------------------------------

def _keypress_store(tmp_path):
    from core.base.store import Store

    store = Store(tmp_path / "workspace.db")
    with store.write() as con:
        con.execute("""INSERT INTO videos(path, sha256, title, frames, fps, width, height, duration_s, codec,
                       vfr, rotation, added_at) VALUES ('v.mp4', 'x', '', 400, 30, 96, 64, 13.3, 'h264', 0, 0, 'now')""")
    return store, 1


def test_keypress_study_small_case(tmp_path):
    store, vid = _keypress_store(tmp_path)
    truth = [{"label": "ohs", "start": 100, "end": 129}, {"label": "ohs", "start": 130, "end": 161},
             {"label": "ohs", "start": 162, "end": 190}, {"label": "ghd", "start": 260, "end": 318}]
    draft = [{"label": "ohs", "start": 101, "end": 129},     # start one frame late
             {"label": "ohs", "start": 130, "end": 163},     # end two frames late
             {"label": "ohs", "start": 164, "end": 190},     # start two frames late
             {"label": "ghd", "start": 330, "end": 380}]     # a false rep; the ghd rep is missing
    an_drafts.write_draft(store, vid, draft, "model:r1")
    without = keypress.simulate_without_draft(store, vid, truth, annotator="scratch")
    with_draft = keypress.simulate_with_draft(store, vid, truth, "model:r1", annotator="helped")
    bulk = keypress.simulate_with_draft(store, vid, truth, "model:r1", annotator="helped-bulk", bulk=True)
    for res in (without, with_draft, bulk):
        assert res["exact"], res  # every simulation ends with exactly the true reps
        assert not res["errors"], res["errors"]
    # without: 100 → (S) 129 (Enter) 161 (Enter) 190 (E) 260 (2 + S) 318 (E) with arrow runs in between
    assert without["keys"] == without["actions"] and without["keys"] > 25
    # all three ohs drafts are usable; the one 2 frames too long costs as much to fix (2 clicks,
    # Shift+→ twice, Alt+← twice) as marking it (Enter-chained), so it is marked
    assert with_draft["usable"] == 3 and with_draft["kept"] == 2
    assert with_draft["marked_by_hand"] == 2 and with_draft["not_kept"] == 2
    assert with_draft["actions"] < without["actions"]
    assert bulk["actions"] < without["actions"]
    # the arithmetic of the keyboard part is the Label page's: ← / → and Shift+← / Shift+→
    assert keypress._arrow_keys(0, 23) == [{"key": "ArrowRight", "shift": True}] * 2 + [{"key": "ArrowRight"}] * 3
    assert len(keypress._arrow_keys(0, 19)) == 3  # two big steps forward, one back
    assert keypress._arrow_keys(5, 5) == []


def test_keypress_study_on_a_workspace(workout_ws):
    ws, vid, truth, _ = workout_ws
    an_drafts.write_draft(ws.store(), vid, truth, "model:perfect")
    res = keypress.keypress_study(ws, [vid], draft="model:perfect")
    row = res["videos"][0]
    assert row["reps"] == len(truth)
    assert row["without_draft"]["exact"] and row["with_draft"]["exact"] and row["with_draft_bulk"]["exact"]
    # a perfect draft: 1 click to show it + 2 clicks a rep; bulk: 2 clicks in all
    assert row["with_draft"]["actions"] == 1 + 2 * len(truth)
    assert row["with_draft_bulk"]["actions"] == 2
    assert res["total"]["without_draft"] == row["without_draft"]["actions"]
    # the study ran on a scratch copy: the workspace has no simulated annotators
    assert not [a for a in ws.store().annotators(vid) if a.startswith("sim-")]


# ----------------------------------------------------------------------------------------------
# The Analyze page
# ----------------------------------------------------------------------------------------------

def _page(monkeypatch, root):


    monkeypatch.setenv("WORKSPACE", str(root))
    at = page_test("app_pages/7_Analyze.py", default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def test_analyze_page_without_models_points_to_training(tmp_path, monkeypatch):
    at = _page(monkeypatch, tmp_path / "empty")
    assert any("No models registered" in i.value for i in at.info)


def test_analyze_page_runs_and_sends_a_draft(workout_ws, monkeypatch):
    ws, vid, _, _ = workout_ws
    at = _page(monkeypatch, ws.root)
    at.selectbox(key="an_model").select("tiny").run()
    run_task(at, "an_run", "analyze")
    assert any(m.label == "Reps" for m in at.metric)
    result = at.session_state["an_result"]["analysis"]
    assert result.video_id == vid
    # jump to a segment (when there is one) seeks the player
    if result.segments:
        at.selectbox(key="an_jump").select(1).run()
        assert at.session_state["an_seek"] == pytest.approx(result.segments[0]["start_frame"] / result.fps)
    at.button(key="an_send").click().run()
    assert not at.exception, at.exception
    assert len(ws.store().segments(vid, "model:tiny")) == len(result.reps())


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------

def test_cli_analyze_draft_eval_and_keypress_study(workout_ws, capsys):
    from core.cli.main import main
    from core.dataset.splits import make_splits

    ws, vid, truth, _ = workout_ws
    root = str(ws.root)
    assert main(["analyze", "tiny", str(vid), "--json", "--quiet", "--workspace", root]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["video_id"] == vid and out["model"] == "tiny" and isinstance(out["segments"], list)

    assert main(["analyze", "draft", "tiny", str(vid), "--quiet", "--workspace", root]) == 0
    assert "stored as model:tiny" in capsys.readouterr().out

    make_splits(ws.store(), ratios=(0.0, 0.0, 1.0))
    assert main(["analyze-eval", "tiny", "--split", "test", "--json", "--quiet", "--workspace", root]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["videos"] == 1 and rep["count"]["n"] == len(an_eval.gt_sets(truth))
    for key in ("frame_accuracy", "frame_accuracy_all", "segment_f1", "rep_f1", "realtime_factor"):
        assert key in rep
    assert main(["analyze-eval", "tiny", "--split", "val", "--workspace", root, "--quiet"]) == 2  # no videos there
    capsys.readouterr()

    assert keypress.main(["--draft-annotator", "model:tiny", "--video", str(vid), "--workspace", root]) == 0
    text = capsys.readouterr().out
    assert "without draft" in text and "total over" in text
