"""The Label page's pose controls (AppTest): computing the pose track in the background, the
landmarks sent with the frames for the skeleton overlay, the joint signals for the timeline, and
correcting who the athlete is."""
from __future__ import annotations

import time

from core.labeling.keymap import KEYMAP, key_action
from core.pose import store as pose_store
from tests.test_label_page import Page, vid, ws  # noqa: F401 - fixtures


def finish(p: Page, video_id: int) -> None:
    """Wait for the page's pose task to end, then rerun the page."""
    task = p.at.session_state[f"task:pose_{video_id}"]
    task.thread.join(timeout=120)
    assert not task.running and task.error is None, task.error
    p.run()


def test_compute_the_pose_track_then_overlay_and_signals(ws, vid):  # noqa: F811
    assert ("P", "show / hide the pose skeleton (when the video has a pose track)") in KEYMAP
    assert key_action({"key": "p"}) == "pose"
    p = Page(video=vid)
    assert p.data()["pose"] == {"tag": None}
    assert any("no pose track yet" in i.value for i in p.at.info)
    button = p.at.button(key="pose_compute")
    assert button.label == "Compute pose track"
    button.click()
    p.run()
    finish(p, vid)
    assert pose_store.track_status(ws, vid)["state"] == "done"
    assert p.at.button(key="pose_compute").label == "Recompute pose track"
    assert any("with a pose" in m.value for m in p.at.markdown)

    p.send(frame=0, need=[0, 1, 2, 3, 100])
    pose = p.data()["pose"]
    track = pose_store.load_track(ws, vid)
    assert pose["tag"] and pose["fw"] == 270 and pose["fh"] == 480
    assert {"0", "1", "2", "3", "100"} <= set(pose["lm"])
    assert len(pose["edges"]) == len(track.edges) and 11 in pose["left"]
    for i in (0, 2, 100):  # sampled frames: their own landmarks
        lm = pose["lm"][str(i)]
        t = list(track.frames).index(i)
        assert len(lm["xy"]) == 66 and len(lm["v"]) == 33
        assert abs(lm["xy"][2 * 23] - float(track.xy[t, 23, 0])) < 0.06
    assert pose["lm"]["1"]["xy"] in (pose["lm"]["0"]["xy"], pose["lm"]["2"]["xy"])  # nearest
    # The joint signals go with every answer until the browser says it holds this version.
    assert "signals" in pose
    p.rid += 1
    p.at.session_state["labeler"] = {"msg": {
        "client": "test", "rid": p.rid, "vid": vid, "frame": 0, "nav": 0, "playing": False,
        "events": [], "need": [4], "sig": pose["tag"]}}
    p.run()
    assert "signals" not in p.data()["pose"] and "4" in p.data()["pose"]["lm"]


def test_signals_follow_the_track_and_the_athlete_is_corrected(ws, vid):  # noqa: F811
    track = pose_store.ensure_track(ws, vid)
    p = Page(video=vid)
    signals = p.data()["pose"]["signals"]
    assert signals["frames"] == track.frames.tolist()
    assert [s["name"] for s in signals["series"]] == ["hip", "wrist"]
    hip = [v for v in signals["series"][0]["values"] if v is not None]
    assert len(hip) >= 0.95 * len(track) and all(0 <= v <= 1 for v in hip)
    assert max(hip) - min(hip) > 0.05  # the squats move the hips (frame units)

    # Pick the athlete among the people found on the frame on screen.
    p.at.button(key="pose_find").click()
    p.run()
    assert p.at.session_state["pose_people"]["people"]
    pick = p.at.button(key="pose_pick_0")
    assert pick.label == "Person 1 is the athlete"
    pick.click()
    p.run()
    box = ws.store().video(vid)["roi"]
    assert box and box[2] > box[0] and box[3] > box[1]
    finish(p, vid)
    again = pose_store.load_track(ws, vid)
    assert again is not None and again.summary()["share_with_pose"] >= 0.9
    assert any("picks the athlete" in m.value for m in p.at.markdown)
    assert p.data()["pose"]["tag"] and "signals" in p.data()["pose"]  # the new version

    # A box drawn in the athlete-box editor makes the track stale until recomputed.
    ws.store().set_video_roi(vid, (0, 0, 100, 100))
    time.sleep(0.01)
    p.run()
    assert p.data()["pose"] == {"tag": None}
    assert any("athlete box changed" in i.value for i in p.at.info)
