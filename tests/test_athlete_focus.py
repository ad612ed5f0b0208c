"""focus="athlete": MoViNet's clips cropped to the square around the athlete's pose landmarks
(core.pose.focus.athlete_box) through the one preprocessing (core.media.video.preprocess), in the
training cache, prediction and analysis; the motion focus where a clip has no pose.

The pose tracks here are made up (landmarks in a known box, no pose after frame 40 of the first
video), given through `core.pose.focus.focus_track`, so no BlazePose runs: what is tested is where
the box goes, not the pose model."""
from __future__ import annotations

import numpy as np
import pytest

from core.dataset import training_cache as cache
from core.media.video import VideoReader, load_clip, preprocess
from core.pose import focus as pose_focus
from core.pose.focus import athlete_box
from core.pose.track import PoseTrack

N, SIZE = 4, 32
TOLERANCE = 0.02  # JPEG at quality 95 (32 px crops of detailed frames lose more at 80)
QUALITY = 95


def made_up_track(frames: int, width: int, height: int, box=(60, 150, 140, 330), no_pose_from: int | None = None,
                  step: int = 2, seed: int = 0) -> PoseTrack:
    """Landmarks spread over `box` (x0, y0, x1, y1) on every sampled frame (none from `no_pose_from`)."""
    t = PoseTrack.empty(range(0, frames, step), fps=30, width=width, height=height, step=step, video_frames=frames)
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = box
    t.xy[:] = rng.uniform((x0, y0), (x1, y1), size=t.xy.shape)
    t.xy[:, 0], t.xy[:, 1] = (x0, y0), (x1, y1)  # the extent is exactly the box
    t.score[:], t.visibility[:], t.z[:] = 0.9, 0.9, 0.0
    if no_pose_from is not None:
        gone = t.frames >= no_pose_from
        t.xy[gone], t.score[gone] = np.nan, 0.0
    return t


# ----------------------------------------------------------------------------------------------
# the box
# ----------------------------------------------------------------------------------------------
def test_the_box_holds_the_landmarks_over_the_clip_square_and_inside_the_frame():
    t = made_up_track(60, 640, 480, box=(200, 150, 280, 330))
    t.xy[5:, :, 0] += np.linspace(0, 40, 25)[:, None]   # the athlete moves right from frame 10 on
    box = athlete_box(t, 0, 59)
    x0, y0, x1, y1 = box
    assert x1 - x0 == y1 - y0 and 0 <= x0 and 0 <= y0 and x1 <= 640 and y1 <= 480
    pts = t.xy.reshape(-1, 2)
    assert (pts[:, 0] >= x0).all() and (pts[:, 0] <= x1).all() and (pts[:, 1] >= y0).all() and (pts[:, 1] <= y1).all()
    part = athlete_box(t, 0, 8)                          # a part of the video: its own frames only
    assert part[0] < x0 and part[2] - part[0] == x1 - x0
    edge = athlete_box(made_up_track(60, 640, 480, box=(580, 150, 640, 330)), 0, 59)
    assert edge[2] == 640 and edge[2] - edge[0] == edge[3] - edge[1]  # shifted inside, not shrunk


def test_one_slipped_frame_does_not_widen_the_box_and_no_pose_gives_none():
    t = made_up_track(60, 270, 480)
    steady = athlete_box(t, 0, 59)
    t.xy[12, :, 0] -= 55                                 # one frame where the tracker slipped left
    assert athlete_box(t, 0, 59) == steady
    gone = made_up_track(60, 270, 480, no_pose_from=0)
    assert athlete_box(gone, 0, 59) is None and athlete_box(None, 0, 59) is None
    assert athlete_box(t, 200, 300) is None              # no sampled frame near the range
    assert athlete_box(t, 3, 3) == athlete_box(t, 2, 2)  # between two samples: the nearer one
    tiny = made_up_track(60, 270, 480, box=(100, 100, 104, 104))
    bx = athlete_box(tiny, 0, 59)
    assert bx[2] - bx[0] == round(pose_focus.MIN_SIDE * 270)  # not blown up past recognition


def test_preprocess_crops_to_the_athlete_box_else_falls_back_to_motion():
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 255, (270, 480, 3), dtype=np.uint8) for _ in range(4)]
    box = (200, 100, 300, 200)
    want = preprocess([f[100:200, 200:300] for f in frames], SIZE)
    assert np.array_equal(preprocess(frames, SIZE, None, "athlete", box), want)
    # the box is given in the frame before the crop: moved into it
    assert np.array_equal(preprocess(frames, SIZE, (100, 50, 400, 250), "athlete", box), want)
    assert np.array_equal(preprocess(frames, SIZE, None, "athlete", None), preprocess(frames, SIZE, None, "motion"))
    outside = (0, 0, 50, 40)                              # nothing of it inside the crop: motion
    assert np.array_equal(preprocess(frames, SIZE, (100, 50, 400, 250), "athlete", outside),
                          preprocess(frames, SIZE, (100, 50, 400, 250), "motion"))
    with pytest.raises(ValueError):
        preprocess(frames, SIZE, None, "bystander")


def test_the_focus_is_a_training_setting_with_its_own_cache():
    from core.modeling.config import FOCUS_CHOICES, TrainError, resolve_config

    assert "athlete" in FOCUS_CHOICES
    assert resolve_config("demo", {"focus": "athlete"})["focus"] == "athlete"
    with pytest.raises(TrainError, match="athlete"):
        resolve_config("demo", {"focus": "bystander"})
    keys = {f: cache.setting_key(N, SIZE, True, f) for f in (None, "motion", "athlete")}
    assert len(set(keys.values())) == 3 and keys["athlete"].endswith("_athlete")
    from core.pose.store import MODEL_VERSION

    assert cache.focus_version("motion") != cache.focus_version("athlete")
    assert MODEL_VERSION in cache.focus_version("athlete")  # other pose landmarks: other crops


def test_a_cropped_clips_box_is_moved_into_the_clip():
    t = made_up_track(60, 270, 480)
    clip = {"video_id": 1, "start_frame": 0, "end_frame": 59, "crop": [20, 30, 250, 450], "path": "c.mp4"}
    full = athlete_box(t, 0, 59)
    assert cache.clip_athlete_box(None, clip, False, {1: t}) == list(full)     # read from the source video
    moved = cache.clip_athlete_box(None, clip, True, {1: t})                   # the cut clip file
    assert moved == [full[0] - 20, full[1] - 30, full[2] - 20, full[3] - 30]


# ----------------------------------------------------------------------------------------------
# cache, prediction, analysis
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def focus_ws(tmp_path_factory):
    """Two real 270x480 videos with reps cut into clips (tests.predict_helpers), their made-up tracks."""
    from tests.conftest import REAL_VIDEOS
    from tests.predict_helpers import make_clip_workspace

    ws = make_clip_workspace(tmp_path_factory.mktemp("athlete_focus"), REAL_VIDEOS)
    tracks = {}
    for v in ws.store().videos():
        first = v["id"] == 1
        tracks[v["id"]] = made_up_track(int(v["frames"]), int(v["width"]), int(v["height"]),
                                        no_pose_from=41 if first else None, seed=v["id"])
    return ws, tracks


@pytest.fixture
def fake_tracks(focus_ws, monkeypatch):
    ws, tracks = focus_ws
    asked = []

    def focus_track(ws_, *, video_id=None, path=None, progress=None, cancel=None):
        asked.append(video_id)
        return tracks[video_id]

    monkeypatch.setattr(pose_focus, "focus_track", focus_track)
    return asked


def test_the_cache_crops_each_clip_to_its_athlete_box(focus_ws, fake_tracks):
    from core.dataset.clips import clips as clip_rows

    ws, tracks = focus_ws
    rows = {c["path"]: c for c in clip_rows(ws.store())}
    summary = cache.build(ws, N, SIZE, focus="athlete", quality=QUALITY)
    assert summary["key"] == f"n{N}_{SIZE}x{SIZE}_crop_athlete" and summary["computed"] == len(rows)
    assert sorted(set(fake_tracks)) == sorted(tracks)     # each video's track asked for
    fell_back = 0
    for x, _label, path in cache.dataset(ws, None, N, SIZE, with_paths=True, focus="athlete"):
        c = rows[path.numpy().decode()]
        file = str(ws.absolute(c["path"]))
        box = athlete_box(tracks[c["video_id"]], c["start_frame"], c["end_frame"])
        want = load_clip(file, 0, c["frames"] - 1, N, SIZE, None, "athlete", box)
        assert np.abs(x.numpy() - want).mean() < TOLERANCE, c["path"]
        if box is None:                                   # frames 41-60 of video 1 have no pose
            fell_back += 1
            assert np.array_equal(want, load_clip(file, 0, c["frames"] - 1, N, SIZE, None, "motion"))
        else:
            assert np.abs(want - load_clip(file, 0, c["frames"] - 1, N, SIZE, None, "motion")).mean() > 0.02
    assert fell_back == 1
    assert cache.build(ws, N, SIZE, focus="athlete", quality=QUALITY)["computed"] == 0


def test_prediction_and_analysis_crop_by_the_videos_track(focus_ws, fake_tracks):
    from core.analysis import scan as an_scan
    from core.analysis import settings as an_settings
    from core.inference import predictor as P
    from core.modeling import movinet as M
    from core.modeling.registry import register_model
    from tests.predict_helpers import FRAMES, RESOLUTION, tiny_keras

    ws, tracks = focus_ws
    video = ws.store().video(2)
    path = ws.absolute(video["path"])
    x, idx, rng = P.clip_tensor(path, 5, 40, N, SIZE, None, None, "athlete", tracks[2])
    assert np.array_equal(x, load_clip(path, 5, 40, N, SIZE, None, "athlete", athlete_box(tracks[2], 5, 40)))

    labels = ws.store().labels()
    folder = ws.root / "models" / "tiny-athlete"
    M.export_model(tiny_keras(len(labels)), folder, labels, frames=FRAMES, resolution=RESOLUTION, crop=None,
                   saved_model=False, focus="athlete")
    register_model(ws, "tiny-athlete", folder, labels,
                   {"frames": FRAMES, "resolution": RESOLUTION, "crop": True, "focus": "athlete"}, {})
    out = P.default_predictor().predict_video(ws, 2, "tiny-athlete", start=5, end=40)
    assert fake_tracks[-1] == 2 and "pose" in out["timings_ms"]
    fn, _name, entry = P.default_predictor().runner(ws, "tiny-athlete", "auto")
    want = P.default_predictor().predict_array(ws, entry.row, load_clip(
        path, 5, 40, FRAMES, RESOLUTION, None, "athlete", athlete_box(tracks[2], 5, 40)), 5, "auto")
    assert [r["movement"] for r in out["top"]] == [r["movement"] for r in want["top"]]

    seen = []

    def record(batch):
        seen.append(np.array(batch))
        return np.full((len(batch), 3), 1 / 3, np.float32)

    sc = an_scan.scan(path, record, N, SIZE, None, an_settings.Settings(batch=4), focus="athlete", track=tracks[2])
    first = sc.window_frames[0]
    with VideoReader(path) as reader:
        frames = [reader.frame(i) for i in first]
    assert np.array_equal(seen[0][0], preprocess(frames, SIZE, None, "athlete",
                                                 athlete_box(tracks[2], first[0], first[-1])))
