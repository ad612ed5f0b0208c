"""The athlete's skeleton on the Predict and Analyze players (ui.skeleton over core.pose.draw): frames
drawn from the video's stored pose track, a clear message for a video without a track or without
anybody in it.

One workspace for the module: a 3-second cut of a real squat video (its pose track computed once, 45
sampled frames), a black video (a track with no pose) and a second cut without a track; a tiny
MoViNet (random weights) so the pages open."""
from __future__ import annotations

import numpy as np
import pytest

from core.base.workspace import Workspace
from core.media.video import VideoReader
from core.pose import store as pose_store
from core.pose.draw import HIDDEN_COLOUR, JOINT_COLOUR, draw_skeleton, nearest_sample, skeleton_frames
from core.pose.landmarks import N_LANDMARKS
from tests.apptest import page_test, run_task
from tests.test_pose_store import SQUAT, add, cut, encode


@pytest.fixture(scope="module")
def sk_ws(tmp_path_factory):
    from core.pose import models as pose_models
    from core.pose.blazepose import PoseEstimator
    from tests.conftest import REAL_VIDEOS
    from tests.predict_helpers import export_tiny

    root = tmp_path_factory.mktemp("skeleton")
    ws = Workspace(root / "ws")
    squat = add(ws, cut(REAL_VIDEOS, SQUAT, root / "squat.mp4", n=90))  # 3 s: every 2nd frame sampled
    black = add(ws, encode(root / "black.mp4", [np.zeros((240, 320, 3), np.uint8)] * 20))
    untracked = add(ws, cut(REAL_VIDEOS, SQUAT, root / "later.mp4", start=90, n=30))
    est = PoseEstimator(pose_models.ensure_models())
    pose_store.ensure_track(ws, squat, estimator=est)
    pose_store.ensure_track(ws, black, estimator=est)
    export_tiny(ws, "tiny-skeleton")
    return ws, {"squat": squat, "black": black, "untracked": untracked}


def test_the_skeleton_is_drawn_from_the_track_at_its_landmarks(sk_ws):
    ws, vids = sk_ws
    track = pose_store.load_track(ws, vids["squat"])
    path = ws.absolute(ws.store().video(vids["squat"])["path"])
    k = int(np.flatnonzero(track.has_pose)[3])
    f = int(track.frames[k])
    shots = skeleton_frames(path, track, [f, f + 1, 999])
    assert [s.frame for s in shots] == [f, f + 1]          # frames outside the video are left out
    assert shots[0].pose and shots[0].sample == f
    assert shots[1].sample == int(track.frames[nearest_sample(track, f + 1)])  # between samples: the nearer
    with VideoReader(path) as r:
        raw = r.frame(f)
    img = shots[0].image
    assert img.shape == raw.shape and img.dtype == np.uint8
    seen = track.visibility[k] >= 0.5
    assert seen.sum() >= 10
    for x, y in np.round(track.xy[k][seen]).astype(int):   # a joint dot on every visible landmark
        if 0 <= x < raw.shape[1] and 0 <= y < raw.shape[0]:
            assert tuple(img[y, x]) in (JOINT_COLOUR, HIDDEN_COLOUR), (x, y)  # a later hidden joint may cover it
            assert not np.array_equal(img[y, x], raw[y, x])
    changed = np.abs(img.astype(int) - raw.astype(int)).sum(axis=2) > 0
    assert 0.002 < changed.mean() < 0.2                    # lines and dots, not a repainted frame
    small = skeleton_frames(path, track, [f], height=120)[0].image
    assert small.shape[0] == 120


def test_draw_skeleton_leaves_out_missing_landmarks_and_keeps_the_frame():
    frame = np.full((90, 160, 3), 40, np.uint8)
    xy = np.full((N_LANDMARKS, 2), np.nan, np.float32)
    assert np.array_equal(draw_skeleton(frame, xy, None), frame)
    xy[11], xy[13] = (20, 20), (60, 40)                    # left shoulder -> left elbow
    out = draw_skeleton(frame, xy, np.ones(N_LANDMARKS))
    assert not np.array_equal(out, frame) and np.array_equal(frame, np.full_like(frame, 40))
    assert tuple(out[20, 20]) == JOINT_COLOUR and tuple(out[30, 40]) != (40, 40, 40)


def test_nearest_sample_stays_within_a_step():
    from core.pose.track import PoseTrack

    t = PoseTrack.empty(range(0, 20, 2), fps=30, width=10, height=10, step=2, video_frames=20)
    assert [nearest_sample(t, f) for f in (0, 1, 3, 18, 20, 21, 40)] == [0, 0, 1, 9, 9, None, None]


# ----------------------------------------------------------------------------------------------
# the pages
# ----------------------------------------------------------------------------------------------
def images(at) -> list:
    """(caption of each image) of every st.image on the page."""
    return [img.caption for el in at.get("image") for img in el.proto.imgs]


def open_predict(ws, monkeypatch, video_id):
    monkeypatch.setenv("WORKSPACE", str(ws.root))
    at = page_test("app_pages/6_Predict.py", default_timeout=180)
    at.run()
    at.radio(key="source").set_value("video").run()
    at.selectbox(key="video").set_value(video_id).run()
    assert not at.exception, at.exception
    return at


def test_predict_page_shows_the_skeleton_of_a_workspace_video(sk_ws, monkeypatch):
    ws, vids = sk_ws
    at = open_predict(ws, monkeypatch, vids["squat"])
    assert not images(at)                                  # off until asked
    at.toggle(key="pr_skeleton").set_value(True).run()
    assert not at.exception, at.exception
    assert images(at) == ["Frame 0"]
    track = pose_store.load_track(ws, vids["squat"])
    assert track.step == 2
    at.slider(key="pr_skeleton_frame").set_value(7).run()
    assert images(at) == ["Frame 7 · pose of sampled frame 6"]  # between samples: the nearer one's pose
    assert not at.error and not at.info


def test_predict_page_says_when_there_is_no_track_or_no_athlete(sk_ws, monkeypatch):
    ws, vids = sk_ws
    at = open_predict(ws, monkeypatch, vids["untracked"])
    at.toggle(key="pr_skeleton").set_value(True).run()
    assert not images(at)
    assert any("No pose track for this video yet" in i.value for i in at.info)
    at.selectbox(key="video").set_value(vids["black"]).run()
    assert not at.exception, at.exception
    assert not images(at)
    assert any("found no athlete in this video" in w.value for w in at.warning)


def test_analyze_page_shows_the_skeleton_at_the_player_frame(sk_ws, monkeypatch):
    ws, vids = sk_ws
    monkeypatch.setenv("WORKSPACE", str(ws.root))
    at = page_test("app_pages/7_Analyze.py", default_timeout=180)
    at.session_state["an_video"] = vids["squat"]
    at.run()
    run_task(at, "an_run", "analyze")
    at.toggle(key="an_skeleton").set_value(True).run()
    assert images(at)[0] == "Frame 0"
    at.number_input(key="an_goto_frame").set_value(20).run()
    at.button(key="an_goto").click().run()
    assert not at.exception, at.exception
    assert images(at)[0] == "Frame 20"                     # the skeleton follows the player
