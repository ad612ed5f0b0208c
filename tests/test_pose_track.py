"""BlazePose pose tracks on real footage (core.pose.models, core.pose.blazepose, core.pose.track).

The model files come from PyPI once (`ensure_models`, what `make install` runs); each test decodes
a few dozen frames of a real 270x480 video from ../shared/real_videos/."""
from __future__ import annotations

import json
import math
import shutil
import threading
import zipfile

import cv2
import numpy as np
import pytest

from core.base.errors import Cancelled, PoseError
from core.media.video import VideoReader
from core.pose import models as pose_models
from core.pose.blazepose import (Detection, PoseEstimator, Roi, detector_views, iou, landmark_box,
                                 roi_from_points, ssd_anchors)
from core.pose.landmarks import INDEX, N_LANDMARKS
from core.pose.track import Athlete, PoseTrack, compute_track, default_step
from tests.videotools import ffmpeg

SQUAT = "kbtrainer__backSquats.mp4"        # 270x480 portrait, one athlete, PVC back squats
FRONT_SQUAT = "kbtrainer__front_squat_.mp4"  # 270x480, another athlete (the "judge" below)


@pytest.fixture(scope="module")
def models():
    return pose_models.ensure_models()


@pytest.fixture(scope="module")
def estimator(models):
    return PoseEstimator(models)


def encode(path, frames, fps=30, codec=("-c:v", "libx264", "-pix_fmt", "yuv420p")):
    frames = np.ascontiguousarray(np.stack(frames))
    n, h, w, _ = frames.shape
    ffmpeg("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", fps, "-i", "-",
           *codec, path, stdin=frames.tobytes())
    return path


def real_frames(real_videos, name, start, end):
    with VideoReader(real_videos / name) as r:
        return list(r.frames(start, end))


# -- models ---------------------------------------------------------------------------------------

def test_models_in_place_with_their_hashes(models):
    assert set(models) == {"pose_detection", "pose_landmark_full"}
    for name, path in models.items():
        assert pose_models.verify(path, name)
    assert pose_models.model_paths() == models
    assert "Apache" in pose_models.__doc__


def test_hash_check_rejects_a_corrupted_file(models, tmp_path, monkeypatch):
    dest = tmp_path / "pose"
    dest.mkdir()
    for p in models.values():
        shutil.copy(p, dest / p.name)
    assert pose_models.model_paths(dest)  # good copies pass
    bad = dest / models["pose_landmark_full"].name
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(PoseError, match="corrupt"):
        pose_models.model_paths(dest)

    # No registry: one clear line, and the corrupt file is not taken for the model.
    def offline(tmp):
        raise PoseError("Could not fetch the pose models: PyPI is unreachable (offline).")
    monkeypatch.setattr(pose_models, "_download_wheel", offline)
    with pytest.raises(PoseError, match="PyPI") as err:
        pose_models.ensure_models(dest)
    assert "\n" not in str(err.value)

    # A wheel whose file is not the expected one is refused, nothing is written.
    fake = tmp_path / "mediapipe-0.10.21-fake.whl"
    with zipfile.ZipFile(fake, "w") as z:
        z.writestr(pose_models.MODELS["pose_landmark_full"][0], b"not a model")
    with pytest.raises(PoseError, match="sha256"):
        pose_models.ensure_models(dest, wheel=fake)
    assert bad.read_bytes() == bytes(data)

    # A wheel with the right files repairs it (built from the good copies).
    good = tmp_path / "mediapipe-0.10.21-good.whl"
    with zipfile.ZipFile(good, "w") as z:
        for name, (inner, _) in pose_models.MODELS.items():
            z.write(models[name], inner)
    fixed = pose_models.ensure_models(dest, wheel=good)
    assert pose_models.verify(fixed["pose_landmark_full"], "pose_landmark_full")
    assert not list(dest.glob(".*"))  # no temporary files left


# -- the pipeline ---------------------------------------------------------------------------------

def test_anchors_match_the_detector(estimator):
    a = ssd_anchors()
    assert a.shape == (2254, 2) and (a > 0).all() and (a < 1).all()
    assert np.allclose(a[0], [0.5 / 28, 0.5 / 28]) and np.allclose(a[-1], [6.5 / 7, 6.5 / 7])


def test_roi_geometry():
    upright = roi_from_points((100, 200), (100, 100))  # size point straight above the hips
    assert upright.rotation == pytest.approx(0.0)
    assert upright.size == pytest.approx(250.0)
    assert upright.body_box() == pytest.approx((0, 100, 200, 300))
    lying = roi_from_points((100, 200), (200, 200))  # head to the right: turned 90° clockwise
    assert lying.rotation == pytest.approx(np.pi / 2)
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(1 / 3)


def test_landmarks_land_on_the_upright_athlete(real_videos, estimator):
    frames = real_frames(real_videos, SQUAT, 0, 29)
    h, w = frames[0].shape[:2]
    dets = estimator.detect(frames[0])
    assert len(dets) == 1 and dets[0].score > 0.8
    xy, z, vis, presence, next_roi = estimator.landmarks(frames[0], dets[0].roi())
    assert xy.shape == (N_LANDMARKS, 2) and z.shape == vis.shape == (N_LANDMARKS,)
    assert presence > 0.9 and isinstance(next_roi, Roi)
    shoulders = xy[[INDEX["left_shoulder"], INDEX["right_shoulder"]]].mean(0)
    hips = xy[[INDEX["left_hip"], INDEX["right_hip"]]].mean(0)
    ankles = xy[[INDEX["left_ankle"], INDEX["right_ankle"]]].mean(0)
    nose = xy[INDEX["nose"]]
    assert nose[1] < shoulders[1] < hips[1] < ankles[1]  # head to feet, top to bottom
    assert (xy[:, 0] > -0.05 * w).all() and (xy[:, 0] < 1.05 * w).all()
    assert (xy[:, 1] > -0.05 * h).all() and (xy[:, 1] < 1.05 * h).all()
    # The person faces the camera: their left shoulder is on the right of the picture.
    assert xy[INDEX["left_shoulder"], 0] > xy[INDEX["right_shoulder"], 0]
    assert vis[[INDEX["left_hip"], INDEX["right_hip"]]].min() > 0.5


def test_detector_views_tile_wide_frames_only():
    assert detector_views(1280, 720, tiles=False) == [(0, 0, 1280, 720)]
    assert detector_views(270, 480) == [(0, 0, 270, 480)]  # tall: squares would cut people
    assert detector_views(800, 720) == [(0, 0, 800, 720)]
    views = detector_views(1280, 720)
    assert views[0] == (0, 0, 1280, 720) and len(views) == 4
    tiles = views[1:]
    assert all(w == h == 720 and y == 0 for _, y, w, h in tiles)
    assert tiles[0][0] == 0 and tiles[-1][0] + 720 == 1280
    # neighbours overlap by at least half a tile: a person up to half the height wide is whole in one
    assert all(b[0] - a[0] <= 360 for a, b in zip(tiles, tiles[1:]))


def test_tiles_find_a_person_small_in_a_wide_frame(real_videos, estimator):
    """A person a third of the height of a 720p wide shot is ~40 px in the detector's 224² input of
    the whole frame: missed there, found in the square tiles."""
    frame = real_frames(real_videos, SQUAT, 0, 0)[0]
    person = cv2.resize(frame, (135, 240), interpolation=cv2.INTER_AREA)
    wide = np.full((720, 1280, 3), 90, np.uint8)
    wide[440:680, 700:835] = person
    assert not [d for d in estimator.detect(wide, tiles=False) if d.score > 0.5]
    found = estimator.detect(wide)
    assert found and found[0].score > 0.8
    x0, y0, x1, y1 = found[0].box
    assert 680 < (x0 + x1) / 2 < 855 and 440 < (y0 + y1) / 2 < 680  # on the person, in frame pixels


def test_tracking_reuses_the_roi(real_videos, models):
    est = PoseEstimator(models)
    frames = real_frames(real_videos, SQUAT, 0, 19)
    results = list(est.track(frames))
    assert all(r is not None and r.presence > 0.9 for r in results)
    assert len(est.timings.detector) == 1  # the first frame only: then ROI from the landmarks
    assert len(est.timings.landmark) == 20
    for a, b in zip(results, results[1:]):  # consecutive ROIs stay close
        assert abs(a.next_roi.cx - b.next_roi.cx) < 0.1 * a.next_roi.size
    ms = est.ms_per_frame()
    assert ms["landmark"] > 0 and ms["detector"] > 0


def test_track_of_a_real_clip(real_videos, tmp_path, estimator):
    seen = []
    track = compute_track(real_videos / SQUAT, end=89, estimator=estimator,
                          progress=lambda d, t, s: seen.append((d, t)))
    assert track.step == default_step(30.0) == 2
    assert track.frames.tolist() == list(range(0, 90, 2))
    assert (track.width, track.height) == (270, 480)
    s = track.summary()
    assert s["status"] == "ok" and s["share_with_pose"] >= 0.95 and s["lost_ranges"] == []
    assert s["mean_presence"] > 0.9
    hips = track.xy[:, [INDEX["left_hip"], INDEX["right_hip"]], 1].mean(1)
    shoulders = track.xy[:, [INDEX["left_shoulder"], INDEX["right_shoulder"]], 1].mean(1)
    assert (hips > shoulders).mean() >= 0.95
    assert hips.max() - hips.min() > 40  # the squat moves the hips (pixels)
    assert seen[-1] == (45, 45) and all(t == 45 for _, t in seen)

    # save / load round trip
    path = track.save(tmp_path / "squat.npz")
    back = PoseTrack.load(path)
    for name in ("frames", "xy", "z", "visibility", "score"):
        np.testing.assert_array_equal(getattr(back, name), getattr(track, name))
    assert (back.fps, back.width, back.height, back.step, back.model) == \
        (track.fps, track.width, track.height, track.step, track.model)
    assert back.summary() == s
    j = json.loads(json.dumps(track.to_json()))
    assert j["summary"] == s and len(j["xy"]) == 45 and j["names"][0] == "nose"

    # a single-rep clip (up to 2.5 s) is sampled on every frame
    clip = compute_track(real_videos / SQUAT, start=10, end=22, estimator=estimator)
    assert clip.step == 1 and clip.frames.tolist() == list(range(10, 23))


def test_cancel_raises_cancelled(real_videos, estimator):
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        compute_track(real_videos / SQUAT, end=20, estimator=estimator, cancel=stop)
    stop = threading.Event()

    def progress(done, total, text):
        if done >= 6:
            stop.set()
    with pytest.raises(Cancelled):
        compute_track(real_videos / SQUAT, end=200, estimator=estimator, cancel=stop,
                      progress=progress)


def test_black_video_gives_no_pose(tmp_path, estimator):
    path = encode(tmp_path / "black.mp4", [np.zeros((240, 320, 3), np.uint8)] * 20)
    track = compute_track(path, estimator=estimator)
    s = track.summary()
    assert s["status"] == "no pose" and s["share_with_pose"] == 0 and s["mean_presence"] == 0
    assert (track.score == 0).all() and np.isnan(track.xy).all()
    assert s["lost_ranges"] == [[0, 19]]
    assert track.athlete_box is None


def test_one_frame_video_and_gif(real_videos, tmp_path, estimator):
    frames = real_frames(real_videos, SQUAT, 0, 9)
    one = compute_track(encode(tmp_path / "one.mp4", frames[:1]), estimator=estimator)
    assert one.frames.tolist() == [0] and one.summary()["share_with_pose"] == 1.0
    gif = encode(tmp_path / "clip.gif", frames, fps=10, codec=("-c:v", "gif"))
    track = compute_track(gif, estimator=estimator)
    assert len(track) >= 1 and track.summary()["share_with_pose"] >= 0.8


def test_the_athlete_not_the_judge(real_videos, tmp_path, estimator):
    """A still 'judge' on the left, a squatting athlete on the right: the athlete is chosen;
    with athlete_box on the judge, the judge is followed instead."""
    judge = real_frames(real_videos, FRONT_SQUAT, 60, 60)[0]
    athlete = real_frames(real_videos, SQUAT, 0, 59)
    frames = [np.concatenate([judge, a], axis=1) for a in athlete]  # 540x480
    path = encode(tmp_path / "two.mp4", frames)
    assert len(estimator.detect(frames[0])) == 2  # both people are seen
    track = compute_track(path, estimator=estimator)
    assert track.summary()["share_with_pose"] >= 0.9
    x = track.xy[track.has_pose][:, :, 0]
    assert (np.nanmedian(x, axis=1) > 270).all()  # every frame on the athlete's half
    hips = track.xy[:, [INDEX["left_hip"], INDEX["right_hip"]], 1].mean(1)
    assert np.nanmax(hips) - np.nanmin(hips) > 40
    assert track.others_moving == 0   # a still judge is no second athlete

    # A box as a user draws it: tight around the judge's body.
    judge_lm = estimator.landmarks(judge, estimator.detect(judge)[0].roi())
    judge_box = landmark_box(judge_lm.xy)
    assert judge_box[2] < 270
    followed = compute_track(path, estimator=estimator, athlete_box=judge_box, end=29)
    xj = followed.xy[followed.has_pose][:, :, 0]
    assert followed.summary()["share_with_pose"] >= 0.9
    assert (np.nanmedian(xj, axis=1) < 270).all()


def test_a_lying_athlete_beside_a_standing_judge_is_the_athlete(real_videos, tmp_path, estimator):
    """Push-ups beside a still standing person: the detector sees the judge at every look and the
    lying athlete only now and then, never a moment later; their landmarks, followed as the track
    does, show who moves."""
    from core.pose.track import find_athlete
    judge = real_frames(real_videos, "kbtrainer__kbBackLunge.mp4", 0, 0)[0]
    athlete = real_frames(real_videos, "kbtrainer__handReleasePushUps.mp4", 46, 121)
    half = 360  # both at half size: 202 px wide each
    small = [cv2.resize(f, (judge.shape[1] // 2, half), interpolation=cv2.INTER_AREA)
             for f in [judge] + athlete]
    path = encode(tmp_path / "pushups.mp4", [np.concatenate([small[0], f], axis=1) for f in small[1:]])
    with VideoReader(path) as reader:
        frames = list(range(len(reader)))
        chosen = find_athlete(reader, estimator, frames, reader.info.fps, None)
    assert chosen is not None
    x0, _, x1, _ = chosen[1]
    assert (x0 + x1) / 2 > small[0].shape[1], chosen  # the athlete's half
    assert chosen[2] == 0  # the still judge is no second athlete


def test_two_athletes_moving_side_by_side_are_said(real_videos, tmp_path, estimator):
    """Two people squatting side by side: the track follows one and says another moved as much,
    through the chunked store path too, and the prediction carries the warning."""
    from core.inference.pose_predict import people_warning
    from core.pose import store as pose_store

    left, right = real_frames(real_videos, FRONT_SQUAT, 0, 59), real_frames(real_videos, SQUAT, 0, 59)
    path = encode(tmp_path / "pair.mp4", [np.concatenate([a, b], axis=1) for a, b in zip(left, right)])
    track = compute_track(path, estimator=estimator)
    assert track.others_moving == 1 and track.summary()["others_moving"] == 1
    assert PoseTrack.load(track.save(tmp_path / "pair.npz")).others_moving == 1
    assert pose_store.track_for_path(path, None, estimator=estimator).others_moving == 1
    assert people_warning(1).startswith("Another person moved about as much") and people_warning(0) == ""


def test_bad_arguments(real_videos, estimator):
    with pytest.raises(PoseError):
        compute_track(real_videos / SQUAT, athlete_box=(10, 10, 5, 5), estimator=estimator)
    with pytest.raises(PoseError):
        estimator.detect(np.zeros((10,), np.uint8))


def _person(cx, cy, r, score):
    kp = np.array([[cx, cy], [cx, cy - r], [cx, cy - 0.6 * r], [cx, cy - r]], np.float32)
    return Detection(score=score, box=(cx - r, cy - r, cx + r, cy + r), keypoints=kp,
                     face_box=(cx - 10, cy - r, cx + 10, cy - r + 20))


def test_a_weak_detection_on_the_lost_athlete_beats_a_stronger_bystander_beside_them():
    """A lying athlete (burpee) is detected weakly; a bystander beside them strongly."""
    from core.pose.track import _reacquire
    ath = Athlete(30.0)
    frame = np.full((480, 854, 3), 90, np.uint8)
    last_box = (300.0, 200.0, 420.0, 320.0)
    bystander, lying = _person(460, 260, 60, 0.9), _person(365, 265, 60, 0.35)
    people = ath.observe(100, frame, [bystander])
    assert _reacquire(ath, people, [bystander], last_box, 5, 30.0, False, [lying]) is lying
    # without the weak one, the bystander is the nearest acceptable person
    assert _reacquire(ath, people, [bystander], last_box, 5, 30.0, False, []) is bystander
    # a weak detection beside the box, not on it, is not taken
    aside = _person(700, 265, 60, 0.35)
    assert _reacquire(ath, people, [bystander], last_box, 5, 30.0, False, [aside]) is bystander


def test_a_person_walking_on_is_expected_further_along():
    """The athlete walks past a judge the detector misses: the ROI left behind on the judge is
    farther from where the athlete should be now than the athlete's own detection is."""
    ath = Athlete(30.0)
    frame = np.full((480, 854, 3), 90, np.uint8)
    (p,) = ath.observe(100, frame, [_person(300, 260, 60, 0.9)])
    assert ath.observe(110, frame, [_person(350, 260, 60, 0.9)]) == [p]
    assert p.expected(120, 30.0) == pytest.approx((400, 260))
    judge_hip, walked_on = (340, 260), (400, 260)
    assert p.gap(walked_on, 120, 30.0) < p.gap(judge_hip, 120, 30.0)
    # the last sighting alone would say the opposite
    assert math.dist(walked_on, p.last.center) > math.dist(judge_hip, p.last.center)
    # the velocity is carried on for a second at most
    assert p.expected(110 + 31, 30.0) == pytest.approx((350, 260))


def test_the_closer_look_is_rationed():
    from core.pose.track import _TILES_S
    ath, n = Athlete(30.0), round(30 * _TILES_S)
    assert ath.closer_look(100) and not ath.closer_look(101) and not ath.closer_look(99 + n)
    assert ath.closer_look(100 + n) and not ath.closer_look(101 + n)
    assert ath.closer_look(5)  # a new range of the video, earlier: not held back


def test_one_euro_filter_smooths_jitter_and_restarts_after_gaps():
    from core.pose.blazepose import one_euro_filter
    rng = np.random.default_rng(0)
    base = rng.uniform(100, 300, (N_LANDMARKS, 2))
    xy = base + rng.normal(0, 2.0, (60, N_LANDMARKS, 2))
    xy[30] = np.nan
    out = one_euro_filter(xy, np.arange(60) / 15.0)
    assert np.isnan(out[30]).all() and np.isfinite(out[31:]).all()
    # MediaPipe's parameters (min_cutoff 0.1, beta 40) smooth lightly: responsive first
    assert np.abs(out[5:30] - base).mean() < 0.9 * np.abs(xy[5:30] - base).mean()
    np.testing.assert_allclose(out[31], xy[31], rtol=1e-5)  # restarts on the first frame back


def test_a_still_judge_does_not_take_the_track_when_the_athlete_is_lost(real_videos, tmp_path,
                                                                       estimator):
    """A still 'judge' beside a squatting athlete; the athlete's half goes black for a second
    (off camera, hidden, lying where the detector misses them). The judge is within the
    re-detection gate of the athlete's last box but known to stand still: the track waits (no
    pose) instead of taking them, and is back on the athlete once they are in view again."""
    judge = real_frames(real_videos, FRONT_SQUAT, 60, 60)[0]
    athlete = real_frames(real_videos, SQUAT, 0, 149)
    black = np.zeros_like(athlete[0])
    lost = range(60, 90)  # 2 s to 3 s
    frames = [np.concatenate([judge, black if i in lost else a], axis=1)
              for i, a in enumerate(athlete)]
    path = encode(tmp_path / "lost.mp4", frames)
    track = compute_track(path, estimator=estimator)
    has = track.has_pose
    x = np.full(len(track), np.nan)
    x[has] = np.median(track.xy[has, :, 0], axis=1)
    assert not (has & (x < 270)).any()  # never on the judge
    back = track.frames >= 90 + 15  # half a second to find the athlete again
    assert has[back].mean() >= 0.9
    before = track.frames < 60
    assert has[before].mean() >= 0.9


def test_a_small_athlete_beside_a_small_still_judge_in_a_wide_shot(real_videos, tmp_path, estimator):
    """A wide 854x480 shot, both people at half its height, a still judge beside a thruster: the
    detector sees the judge weakly and its four keypoints jitter as much as the athlete moves; the
    landmarks show who moves."""
    from core.pose.track import find_athlete
    judge = real_frames(real_videos, "kbtrainer__kbBackLunge.mp4", 0, 0)[0]
    athlete = real_frames(real_videos, "kbtrainer__kbThrusters.mp4", 45, 122)
    h = 240
    small = [cv2.resize(f, (f.shape[1] * h // f.shape[0] // 2 * 2, h), interpolation=cv2.INTER_AREA)
             for f in [judge] + athlete]
    w = small[0].shape[1]
    x0, top = (854 - 2 * w) // 2, int(480 * 0.92) - h
    frames = []
    for f in small[1:]:
        img = np.full((480, 854, 3), 90, np.uint8)
        img[top:top + h, x0:x0 + w] = small[0]
        img[top:top + h, x0 + w:x0 + 2 * w] = f
        frames.append(img)
    path = encode(tmp_path / "wide.mp4", frames)
    with VideoReader(path) as reader:
        sampled = list(range(0, len(reader), default_step(reader.info.fps, len(reader))))
        chosen = find_athlete(reader, estimator, sampled, reader.info.fps, None)
    assert chosen is not None
    cx = (chosen[1][0] + chosen[1][2]) / 2
    assert x0 + w <= cx < x0 + 2 * w, chosen  # the athlete's part
    assert chosen[2] == 0  # the still judge is no second athlete


def _seen_with_activity(ath: Athlete, cx: float, activity: float, frames) -> object:
    """A person followed at `frames` whose pose shape alternates by `activity` (the window's
    std of the shape, what `Athlete.activity` reads)."""
    from core.pose.track import _Seen
    p = _Seen()
    for k, f in enumerate(frames):
        shape = np.full(24, activity if k % 2 else -activity)
        p.sightings.append((f, _person(cx, 260, 60, 0.9), (shape, np.array([0.0, 0.0]))))
    ath.people.append(p)
    return p


def test_one_left_for_standing_still_is_followed_again_when_they_work_hard_beside_a_still_one():
    """The track left person A (still) for B; a detection linked to A later works out hard (A back
    at work, or the athlete walking past where A stood) while B stands still: the track goes to
    them. Moderate motion of A does not bring it back (no flip-flop between two people)."""
    from core.pose.track import ACTIVE, STILL, _switch_to
    frames = range(100, 220, 8)
    for busy, expected in ((3 * ACTIVE, 0), (1.3 * ACTIVE, None)):
        ath = Athlete(30.0)
        other = _seen_with_activity(ath, 500, busy, frames)
        tracked = _seen_with_activity(ath, 300, 0.3 * STILL, frames)
        ath.tracked, ath.frame = tracked, frames[-1]
        ath.mark_other(other)
        assert ath.is_other(other)
        assert _switch_to(ath, [other], [other.last], tracked) == expected
        other.other_until = -1  # not marked: moderate motion is enough, as before
        assert _switch_to(ath, [other], [other.last], tracked) == 0


def test_someone_else_where_a_bystander_stood_is_not_taken_for_them():
    """A red-shirted judge stands at x=300; later a blue-shirted person is detected there (the
    athlete walking past, the judge hidden): not linked to the judge (their activity would mix
    two bodies), unless the judge is the tracked person (a blurred frame may change how the
    athlete looks)."""
    def frame_with(cx, colour):
        img = np.full((480, 854, 3), 90, np.uint8)
        cv2.rectangle(img, (cx - 30, 150), (cx + 30, 330), colour, -1)  # torso and thighs
        return img

    red, blue = (200, 30, 30), (30, 60, 200)
    for tracked in (False, True):
        ath = Athlete(30.0)
        (judge,) = ath.observe(100, frame_with(300, red), [_person(300, 260, 60, 0.9)])
        if tracked:
            ath.tracked = judge
        assert ath.observe(104, frame_with(310, red), [_person(310, 260, 60, 0.9)]) == [judge]
        (who,) = ath.observe(108, frame_with(320, blue), [_person(320, 260, 60, 0.9)])
        assert (who is judge) == tracked


def test_the_scan_links_each_anchor_nearest_pairs_first():
    """At the first anchor the detector sees only the athlete's face (a box too small to be linked to their
    body later) and the judge beside them. At the next anchors the athlete's body is found first (the better
    score): linked to whoever is nearest in detection order it would join the judge, and the scan would
    answer with the judge's first box. Values as measured on a real muscle clean beside a still person."""
    from core.pose.track import choose_athlete

    judge = [_person(325, 316, 80, 0.61), _person(354, 300, 68, 0.56), _person(346, 305, 72, 0.92),
             _person(319, 317, 81, 0.65)]
    athlete = [_person(442, 304, 24, 0.94), _person(444, 320, 91, 0.94), _person(448, 293, 85, 0.85),
               _person(443, 305, 92, 0.87), _person(449, 300, 82, 0.91)]
    scan = [(0, [athlete[0], judge[0]], [None, 0.004]),
            (13, [athlete[1], judge[1]], [0.077, 0.07]),
            (26, [athlete[2]], [0.059]),
            (40, [judge[2], athlete[3]], [0.046, 0.051]),
            (53, [athlete[4], judge[3]], [0.066, 0.005])]
    frame, box, _ = choose_athlete(scan, 854, 480)[:3]
    assert 373 <= (box[0] + box[2]) / 2 < 507, box


def test_a_body_found_twice_lends_no_motion_to_the_judge_beside_it():
    """The detector finds the athlete's body twice at one anchor (two face candidates); the weaker copy, a
    little off, is nearer the judge than anyone else left and read the athlete's motion (0.5): it must not
    make the still judge the athlete."""
    from core.pose.track import choose_athlete

    scan = [(a, [_person(437, 300, 90, 0.9), _person(320, 315, 68, 0.8)], [m, 0.005])
            for a, m in ((0, 0.034), (6, 0.04), (19, 0.05), (25, 0.045))]
    scan.insert(2, (12, [_person(434, 294, 90, 0.84), _person(436, 271, 94, 0.67)], [0.072, 0.497]))
    frame, box, _ = choose_athlete(scan, 854, 480)[:3]
    assert 373 <= (box[0] + box[2]) / 2 < 507, box


def _shifted(det, dx):
    """The detection with its keypoints above the hip moved dx pixels sideways (a box half on the
    athlete beside the judge)."""
    kp = det.keypoints.copy()
    kp[1:, 0] += dx
    return Detection(score=det.score, box=det.box, keypoints=kp, face_box=det.face_box)


def test_the_scan_reads_how_a_person_changes_from_their_landmarks_not_the_detector_keypoints():
    """A still judge beside an athlete doing power cleans: the detector's keypoints of the judge swing
    with the athlete's limbs beside them, while the judge's landmarks stay put and the athlete's change
    from anchor to anchor. Motions as measured on a real power clean beside a still judge."""
    from core.pose.track import choose_athlete

    rng = np.random.default_rng(0)
    judge_pose = rng.normal(0, 0.3, 24)
    judge_m = [0.008, 0.004, 0.129, 0.004, 0.024, None]
    ath_m = [0.041, 0.089, 0.036, 0.04, 0.05, None]
    scan = []
    for i, a in enumerate((0, 13, 26, 40, 53, 66)):
        judge = _shifted(_person(300, 310, 90, 0.8), (0, 35, -30, 20, 40, -35)[i])   # as big as the athlete
        athlete = _person(440, 300, 90, 0.9)
        ath_pose = judge_pose + rng.normal(0, 0.15, 24)
        scan.append((a, [athlete, judge], [ath_m[i], judge_m[i]], [ath_pose, judge_pose.copy()]))
    frame, box, _, seen = choose_athlete(scan, 854, 480)
    assert (box[0] + box[2]) / 2 == 440, box
    assert len(seen.athlete) == 6 and [len(o) for o in seen.others] == [6]
    # without the landmarks (the detector's keypoints alone) the judge's swinging keypoints win
    frame, box, _, _ = choose_athlete([s[:3] for s in scan], 854, 480)
    assert (box[0] + box[2]) / 2 == 300, box


def test_a_clip_does_not_start_on_someone_the_scan_told_apart_from_the_athlete():
    """The scan sees the athlete from anchor 13 on (at frame 0 the detector finds only a judge beside them
    and a box between the two): at frame 0 the judge's detection and the box nearer the judge are someone
    else; the athlete's own detection is not; far from any sighting nothing is ruled out."""
    from core.pose.track import ScanPeople

    judge = [(a, _person(300, 310, 80, 0.8)) for a in (0, 13, 26)]
    athlete = [(a, _person(440, 300, 95, 0.9)) for a in (13, 26)]
    seen = ScanPeople(athlete, [judge, [(0, _person(445, 150, 12, 0.6))]])
    assert seen.other_at(0, _person(300, 310, 80, 0.9), 30)
    assert seen.other_at(0, _person(330, 305, 90, 0.7), 30)       # straddling, nearer the judge
    assert not seen.other_at(0, _person(430, 300, 90, 0.7), 30)   # the athlete
    assert not seen.other_at(0, _person(445, 150, 12, 0.6), 30)   # a lone face box is no one
    assert not seen.other_at(200, _person(300, 310, 80, 0.9), 30)


def test_a_fast_rep_small_beside_a_judge_is_tracked_on_the_athlete(real_videos, tmp_path, estimator):
    """One power clean at competition tempo (2.2 s), small in a wide 854x480 frame, a still judge right
    beside the athlete and someone doing jumping jacks on the other side: at the clip's first frames the
    detector sees the judge better than the athlete (their face only, and a box between the two). The
    track is on the athlete in every frame it has a pose, from the first frames (followed back from where
    the athlete is first found)."""
    def small(f, h):
        return cv2.resize(f, (round(f.shape[1] * h / f.shape[0]) // 2 * 2, h), interpolation=cv2.INTER_AREA)

    judge = small(real_frames(real_videos, "kbtrainer__kbBackLunge.mp4", 0, 0)[0], 240)
    jacks = [small(f, 192) for f in real_frames(real_videos, "kbtrainer__polichinelo_.mp4", 30, 96)]
    rep = real_frames(real_videos, "kbtrainer__powerClean.mp4", 338, 418)
    rep = [small(rep[int(i)], 240) for i in np.linspace(0, len(rep) - 1, 67).round()]
    frames = []
    for f, j in zip(rep, jacks):
        img = np.full((480, 854, 3), 90, np.uint8)
        img[201:441, 239:373] = judge
        img[201:441, 373:507] = f
        img[249:441, 507:507 + j.shape[1]] = j
        frames.append(img)
    path = encode(tmp_path / "clean.mp4", frames)
    track = compute_track(path, estimator=estimator)
    hips = track.xy[:, [INDEX["left_hip"], INDEX["right_hip"]], 0].mean(1)
    assert track.has_pose[:5].all() and track.has_pose.mean() >= 0.9
    assert ((hips[track.has_pose] >= 373) & (hips[track.has_pose] < 507)).all(), np.round(hips)


def test_a_clip_that_starts_on_the_athlete_lying_is_followed_back_from_where_they_stand(real_videos, estimator):
    """A real burpee clip (frames 76-136, portrait, front view) starts with the athlete lying chest to the
    floor: the detector finds them on few of those frames, and the landmarks from its boxes scatter. The
    frames until they stand are followed back from their first upright pose: a pose on every one, the hips
    where the whole video's track has them lying (x 202-213, y 429-441 px at frames 76-90)."""
    track = compute_track(real_videos / "kbtrainer__burpee.mp4", start=76, end=136, estimator=estimator)
    first = slice(0, 16)   # frames 76-91: lying, then pushing up
    hips = track.xy[first][:, [INDEX["left_hip"], INDEX["right_hip"]]].mean(1)
    assert track.has_pose[first].all(), track.score[first]
    assert ((hips[:, 0] >= 195) & (hips[:, 0] <= 220) & (hips[:, 1] >= 420) & (hips[:, 1] <= 445)).all(), \
        np.round(hips)


def test_a_person_seen_twice_once_on_a_box_straddling_the_athlete_is_not_the_athlete():
    """A still judge is found at two anchors only: standing still once (0.005) and once as a box half on the
    athlete beside them, whose landmarks jumped to the athlete (0.554). With two readings the judge's
    motion is the lower one, not their mean: the athlete, moving 0.05 at every anchor, is chosen. Values as
    measured on a real hang power clean beside a still judge."""
    from core.pose.track import choose_athlete

    scan = [(a, [_person(440, 300, 95, 0.9)], [m]) for a, m in ((0, 0.054), (13, 0.056), (26, 0.099))]
    scan.append((40, [_person(440, 300, 95, 0.9), _person(318, 316, 86, 0.8)], [0.047, 0.005]))
    scan.append((53, [_person(440, 300, 95, 0.9), _person(360, 310, 90, 0.6)], [0.049, 0.554]))
    frame, box, _, _ = choose_athlete(scan, 854, 480)
    assert (box[0] + box[2]) / 2 == 440, box


def test_a_weaker_box_over_the_athlete_and_the_judge_is_no_person_of_its_own():
    """At two anchors the detector also gives a larger, weaker box that holds the athlete's (over the
    athlete and the judge beside them); its landmarks jump between the two (0.159). It is not a person of
    its own, so it cannot be taken for the athlete, whose motion it reads. Values as measured on a real
    deadlift at competition tempo beside a still judge."""
    from core.pose.track import choose_athlete

    rng = np.random.default_rng(1)
    base = rng.normal(0, 0.3, 24)
    scan = []
    for a, m in ((0, 0.072), (5, 0.057), (9, 0.082), (14, 0.086), (18, None), (23, None)):
        dets, motions, shapes = [_person(440, 355, 95, 0.95)], [m], [base + rng.normal(0, 0.02, 24)]
        if a in (14, 23):
            dets.append(_person(405, 330, 115 if a == 14 else 145, 0.52 if a == 14 else 0.64))
            motions.append(0.159 if a == 14 else None)
            shapes.append(base + rng.normal(0, 0.15, 24))
        scan.append((a, dets, motions, shapes))
    frame, box, _, seen = choose_athlete(scan, 854, 480)
    assert frame == 0 and (box[0] + box[2]) / 2 == 440, (frame, box)
    assert seen.others == []


def test_someone_never_seen_beside_the_athlete_is_not_told_apart_from_them():
    """The athlete stands at the first anchors and lies at the last ones, a box too different to be linked:
    the scan sees two people there, never at the same anchor. The lying one may be the athlete and is not
    ruled out where the track starts or goes back to; the judge, seen beside the athlete, is."""
    from core.pose.track import choose_athlete

    scan = []
    for a, m in ((0, 0.08), (10, 0.09), (20, 0.07)):
        scan.append((a, [_person(440, 300, 95, 0.95), _person(300, 310, 80, 0.9)], [m, 0.004]))
    for a in (30, 40):
        scan.append((a, [_person(445, 400, 30, 0.6), _person(300, 310, 80, 0.9)], [0.02, 0.004]))
    frame, box, _, seen = choose_athlete(scan, 854, 480)
    assert (box[0] + box[2]) / 2 == 440
    assert [[f for f, _ in o] for o in seen.others] == [[0, 10, 20, 30, 40]]
    assert not seen.other_at(35, _person(445, 400, 30, 0.6), 30)
    assert seen.other_at(35, _person(300, 310, 80, 0.9), 30)


def test_an_athlete_further_back_moving_as_much_for_their_size_is_not_taken_for_the_filmed_one():
    """The filmed athlete (push presses, big, seen at every anchor) and someone doing jumping jacks further
    back at 0.65 of their size, found at half the anchors: for their own size the jumping jacks move three
    times as much, but in the picture the athlete's motion is the larger share. Motions, sizes and places
    as measured on a real push press beside a smaller person doing jumping jacks (646x720)."""
    from core.pose.track import choose_athlete

    scan = [(a, [_person(470, 285, r / 2, 0.96)], [m]) for a, r, m in ((0, 431, 0.02), (14, 415, 0.021),
                                                                       (27, 476, 0.033))]
    scan += [(41, [_person(468, 274, 271, 0.98), _person(126, 494, 148, 0.63)], [0.02, 0.068]),
             (54, [_person(471, 278, 240, 0.92), _person(122, 490, 152, 0.66)], [0.025, 0.082]),
             (68, [_person(471, 284, 223, 0.97), _person(120, 498, 156, 0.63)], [None, None])]
    frame, box, rivals, _ = choose_athlete(scan, 646, 720)
    assert frame == 0 and (box[0] + box[2]) / 2 == 470, (frame, box)


def test_the_track_starts_where_the_athlete_was_seen_moving_not_where_a_judge_stood_before():
    """A still judge is seen at the first two anchors, then hidden; the athlete steps into their place
    (a box less than a body away) at the next anchors and is linked to them: one person, still first, then
    moving. The track starts looking for them where they were first seen moving, not on the judge's box.
    Values as measured on a real low-hang power clean at competition tempo, small in a wide shot."""
    from core.pose.track import choose_athlete

    scan = [(0, [_person(435, 323, 57, 0.94), _person(446, 244, 133, 0.71), _person(321, 318, 80, 0.53)],
             [0.062, None, 0.004]),
            (13, [_person(422, 326, 40, 0.95), _person(315, 316, 80, 0.89)], [None, 0.003]),
            (26, [_person(436, 327, 82, 0.84)], [0.049]), (40, [_person(429, 334, 89, 0.88)], [0.028]),
            (53, [_person(436, 323, 95, 0.89)], [0.039]), (66, [_person(431, 334, 96, 0.94)], [None])]
    frame, box, _, seen = choose_athlete(scan, 854, 480)
    assert 373 <= (box[0] + box[2]) / 2 < 507, (frame, box)


def test_the_athlete_seen_lying_before_they_stand_is_where_the_track_starts():
    """A burpee beside a still judge: at the first anchors the athlete lies (small boxes), then stands (a
    box over twice as large, not linked to the lying one). The standing part is the athlete; the lying
    part before it, moving and at the same place, is them too, and the track starts looking for them
    there (at the first frames nobody else is near that box). Values as measured on a real burpee at
    competition tempo, small in a wide shot beside a still judge."""
    from core.pose.track import choose_athlete

    judge = [_person(313, 315, 78, 0.98), _person(312, 314, 80, 0.97), _person(313, 314, 84, 0.96),
             _person(316, 315, 80, 0.9), _person(316, 312, 77, 0.92), _person(312, 313, 78, 0.94)]
    athlete = [None, _person(404, 318, 47, 0.72), _person(418, 315, 37, 0.72), _person(407, 323, 84, 0.88),
               _person(432, 279, 65, 0.63), _person(435, 286, 66, 0.71)]
    motions = [None, 0.153, 0.124, 0.132, 0.092, None]
    judge_m = [0.005, 0.005, 0.006, 0.002, 0.004, None]
    scan = [(a, [judge[i]] + ([athlete[i]] if athlete[i] else []), [judge_m[i]] + ([motions[i]] if athlete[i] else []))
            for i, a in enumerate((0, 12, 24, 37, 49, 61))]
    frame, box, _, seen = choose_athlete(scan, 854, 480)
    assert frame == 12 and (box[0] + box[2]) / 2 == 404, (frame, box)
    assert len(seen.athlete) == 5 and len(seen.others) == 1
