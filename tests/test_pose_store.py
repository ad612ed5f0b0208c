"""Pose tracks stored in the workspace (core.pose.store) and `python -m core pose`.

Each test works on 2-second cuts of real 270x480 videos from ../shared/real_videos (30 sampled
frames at the default step), so the whole file decodes and tracks a few hundred frames."""
from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from core.base.errors import Cancelled
from core.base.workspace import Workspace
from core.media import library
from core.media.video import VideoReader
from core.pose import models as pose_models
from core.pose import store
from core.pose.blazepose import PoseEstimator
from core.pose.track import PoseTrack, compute_track
from tests.videotools import ffmpeg

SQUAT = "kbtrainer__backSquats.mp4"
FRONT_SQUAT = "kbtrainer__front_squat_.mp4"


@pytest.fixture(scope="module")
def estimator():
    return PoseEstimator(pose_models.ensure_models())


def encode(path, frames, fps=30, codec=("-c:v", "libx264", "-pix_fmt", "yuv420p")):
    frames = np.ascontiguousarray(np.stack(frames))
    n, h, w, _ = frames.shape
    ffmpeg("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", fps, "-i", "-",
           *codec, path, stdin=frames.tobytes())
    return path


def cut(real_videos, name, out, start=0, n=60):
    with VideoReader(real_videos / name) as r:
        frames = list(r.frames(start, start + n - 1))
    return encode(out, frames)


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path / "ws")


def add(ws, path) -> int:
    got = library.add_file(ws, path)
    assert got.video_id is not None, got.message
    return got.video_id


def test_computed_once_stored_by_content_model_and_step(real_videos, ws, tmp_path, estimator,
                                                         monkeypatch):
    vid = add(ws, cut(real_videos, SQUAT, tmp_path / "squat.mp4", n=90))
    video = ws.store().video(vid)
    path = store.track_file(ws, video)
    assert path == ws.root / "pose" / f"{video['sha256'][:16]}_{store.MODEL_VERSION}_s2.npz"
    clip = add(ws, cut(real_videos, SQUAT, tmp_path / "one_rep.mp4", n=60))  # a 2 s clip: every frame
    assert store.track_file(ws, clip).name.endswith("_s1.npz")
    assert store.track_file(ws, vid, step=3).name.endswith("_s3.npz")
    assert store.load_track(ws, vid) is None
    assert store.track_status(ws, vid)["state"] == "none"

    seen = []
    track = store.ensure_track(ws, vid, estimator=estimator,
                               progress=lambda d, t, s: seen.append((d, t)))
    assert path.is_file() and track.frames.tolist() == list(range(0, 90, 2))
    s = track.summary()
    assert s["status"] == "ok" and s["share_with_pose"] >= 0.95 and s["athlete_box"]
    assert seen[-1] == (45, 45) and all(t == 45 for _, t in seen)
    assert all(a <= b for (a, _), (b, _) in zip(seen, seen[1:]))
    st = store.track_status(ws, vid)
    assert st["state"] == "done" and st["frames_done"] == st["frames_total"] == 45

    back = store.load_track(ws, vid)
    np.testing.assert_array_equal(back.xy, track.xy)

    # Stored: a second call loads the file and computes nothing.
    monkeypatch.setattr(store, "compute_track", lambda *a, **k: pytest.fail("recomputed"))
    again = store.ensure_track(ws, vid, estimator=estimator)
    np.testing.assert_array_equal(again.xy, track.xy)


def test_resumes_after_a_cancel(real_videos, ws, tmp_path, estimator, monkeypatch):
    src = cut(real_videos, SQUAT, tmp_path / "squat.mp4", n=90)
    vid = add(ws, src)
    stop = threading.Event()

    def progress(done, total, text):
        if done >= 20:
            stop.set()
    with pytest.raises(Cancelled):
        store.ensure_track(ws, vid, chunk=8, estimator=estimator, cancel=stop, progress=progress)
    target = store.track_file(ws, vid)
    assert not target.exists()
    st = store.track_status(ws, vid)
    assert st["state"] == "partial" and st["frames_done"] == 16  # two chunks of 8 saved
    assert store.load_track(ws, vid) is None
    partial = PoseTrack.load(target.with_name(target.stem + ".partial.npz"))

    starts = []
    real = store.compute_track

    def spy(*a, **k):
        starts.append(k["start"])
        return real(*a, **k)
    monkeypatch.setattr(store, "compute_track", spy)
    track = store.ensure_track(ws, vid, chunk=8, estimator=estimator)
    assert starts == [32, 48, 64, 80]  # continued after the 16 sampled frames already done
    assert track.frames.tolist() == list(range(0, 90, 2))
    np.testing.assert_array_equal(track.xy[:16], partial.xy)
    assert track.summary()["share_with_pose"] >= 0.95
    assert not target.with_name(target.stem + ".partial.npz").exists()

    # Against one uncut run: chunk boundaries restart from a detection, the pose stays put.
    whole = compute_track(src, estimator=estimator)
    both = whole.has_pose & track.has_pose
    assert both.mean() >= 0.95
    err = np.linalg.norm(whole.xy[both] - track.xy[both], axis=-1)
    assert np.median(err) < 3.0, np.median(err)
    assert track.athlete_box is not None


def test_athlete_correction_recomputes(real_videos, ws, tmp_path, estimator):
    """A still 'judge' on the left, a squatting athlete on the right: the moving athlete by
    default; after the user picks the judge (people_on_frame + set_athlete), the judge."""
    with VideoReader(real_videos / FRONT_SQUAT) as r:
        judge = r.frame(60)
    with VideoReader(real_videos / SQUAT) as r:
        athlete = list(r.frames(0, 39))
    vid = add(ws, encode(tmp_path / "two.mp4", [np.concatenate([judge, a], 1) for a in athlete]))
    track = store.ensure_track(ws, vid, estimator=estimator)
    x = np.nanmedian(track.xy[track.has_pose][:, :, 0], axis=1)
    assert track.summary()["share_with_pose"] >= 0.9 and (x > 270).all()

    people = store.people_on_frame(ws, vid, 0, estimator=estimator)
    assert len(people) == 2
    left = min(people, key=lambda p: p["box"][0])
    assert left["box"][2] < 290
    store.set_athlete(ws, vid, left["box"])
    assert ws.store().video(vid)["roi"] == list(left["box"])
    assert store.load_track(ws, vid) is None  # made for another athlete
    assert store.track_status(ws, vid)["state"] == "other box"
    judged = store.ensure_track(ws, vid, estimator=estimator)
    xj = np.nanmedian(judged.xy[judged.has_pose][:, :, 0], axis=1)
    assert judged.summary()["share_with_pose"] >= 0.9 and (xj < 270).all()
    assert store.load_track(ws, vid) is not None

    store.set_athlete(ws, vid, None)
    assert ws.store().video(vid)["roi"] is None and store.load_track(ws, vid) is None


def test_bad_input_gives_a_clear_track(real_videos, ws, tmp_path, estimator):
    black = add(ws, encode(tmp_path / "black.mp4", [np.zeros((240, 320, 3), np.uint8)] * 20))
    s = store.ensure_track(ws, black, estimator=estimator).summary()
    assert s["status"] == "no pose" and s["lost_ranges"] == [[0, 19]]
    with VideoReader(real_videos / SQUAT) as r:
        frames = list(r.frames(0, 9))
    one = add(ws, encode(tmp_path / "one.mp4", frames[:1]))
    t1 = store.ensure_track(ws, one, estimator=estimator)
    assert t1.frames.tolist() == [0] and t1.summary()["share_with_pose"] == 1.0

    # A GIF outside the workspace: cached under pose/uploads by its content.
    gif = encode(tmp_path / "clip.gif", frames, fps=10, codec=("-c:v", "gif"))
    tg = store.track_for_path(gif, ws, estimator=estimator)
    assert tg.summary()["share_with_pose"] >= 0.8
    cached = list((ws.root / "pose" / "uploads").glob("*.npz"))
    assert len(cached) == 1
    again = store.track_for_path(gif, ws, estimator=estimator)
    np.testing.assert_array_equal(again.xy, tg.xy)
    # Without a workspace: computed, not stored.
    assert len(store.track_for_path(gif, estimator=estimator)) == len(tg)


def test_drop_stale(real_videos, ws, tmp_path, estimator):
    a = add(ws, cut(real_videos, SQUAT, tmp_path / "a.mp4", n=8))
    b = add(ws, cut(real_videos, FRONT_SQUAT, tmp_path / "b.mp4", n=8))
    c = add(ws, cut(real_videos, SQUAT, tmp_path / "c.mp4", start=100, n=8))
    for v in (a, b, c):
        store.ensure_track(ws, v, estimator=estimator)
    files = {v: store.track_file(ws, v) for v in (a, b, c)}
    old_model = ws.root / "pose" / "0123456789abcdef_bp00000000_s2.npz"
    old_model.write_bytes(b"x")
    assert store.drop_stale(ws) == [old_model]

    library.delete_video(ws, a)  # row and file gone
    path_b = ws.absolute(ws.store().video(b)["path"])
    path_c = ws.absolute(ws.store().video(c)["path"])
    path_b.write_bytes(path_c.read_bytes())  # replaced in place, the row not updated
    removed = store.drop_stale(ws)
    assert {p.name for p in removed} == {files[a].name, files[a].with_suffix(".json").name,
                                         files[b].name, files[b].with_suffix(".json").name}
    assert files[c].exists() and store.load_track(ws, c) is not None
    assert path_c.exists()
    # A touched file with the same content keeps its track.
    path_c.touch()
    assert store.drop_stale(ws) == [] and store.load_track(ws, c) is not None


# -- python -m core pose --------------------------------------------------------------------------

def run_cli(*args, workspace):
    import os
    import subprocess
    import sys

    from core.base.workspace import PROJECT_ROOT

    env = dict(os.environ, WORKSPACE=str(workspace))
    return subprocess.run([sys.executable, "-m", "core", "pose", *map(str, args), "--quiet"],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_cli_pose(real_videos, ws, tmp_path):
    vid = add(ws, cut(real_videos, SQUAT, tmp_path / "squat.mp4", n=30))
    proc = run_cli(vid, workspace=ws.root)
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    assert line.startswith(f"video {vid} (") and "ok; 30 frames sampled (every 1)" in line
    assert "100.0% with pose" in line and "lost: none" in line and "x real time" in line
    assert "athlete box (" in line
    assert store.load_track(ws, vid) is not None
    again = run_cli(vid, workspace=ws.root)
    assert "stored" in again.stdout

    js = json.loads(run_cli(vid, "--json", workspace=ws.root).stdout)
    assert js["video_id"] == vid and js["frames"] == list(range(30))
    assert len(js["xy"]) == 30 and len(js["xy"][0]) == 33 and js["summary"]["status"] == "ok"

    # A file outside the workspace, a file inside it (by content), and --all.
    black = encode(tmp_path / "black.mp4", [np.zeros((120, 160, 3), np.uint8)] * 6)
    out = run_cli(black, workspace=ws.root)
    assert out.returncode == 0 and "no pose" in out.stdout and "lost: 0–5" in out.stdout
    assert list((ws.root / "pose" / "uploads").glob("*.npz"))
    same = run_cli(tmp_path / "squat.mp4", workspace=ws.root)
    assert same.stdout.startswith(f"video {vid} (") and "stored" in same.stdout
    every = run_cli("--all", "--step", 5, workspace=ws.root)
    assert every.returncode == 0 and "6 frames sampled (every 5)" in every.stdout

    bad = run_cli(999, workspace=ws.root)
    assert bad.returncode == 2 and bad.stderr.startswith("error: 999: neither a video id")
