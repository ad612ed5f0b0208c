"""Synthetic pose tracks from the demo figure (core.demo.motion)."""
import numpy as np
import pytest

from core.demo import motion as M
from core.demo.synthetic import plan_workout, simulate
from core.pose import landmarks as LM

CLEAN = M.MotionConfig(noise=M.CLEAN, noise_scale=(1.0, 1.0))


def test_landmark_names_match_core_pose():
    assert M.LANDMARKS == LM.NAMES
    assert tuple(M.FLIP_LANDMARKS) == tuple(LM.FLIP)


def test_fk_reproduces_the_simulation_exactly():
    sim = simulate(plan_workout(3, target_seconds=30))
    J, _ = M.fk_world(sim, sim.params.copy(), sim.scene.body)
    assert np.abs(J - sim.joints3d).max() < 1e-9


def test_standing_figure_is_sane_and_finite():
    w = M.random_workout(11, movements=["deadlift"])
    cfg = M.MotionConfig(noise=M.CLEAN, noise_scale=(1.0, 1.0), view=M.ViewRanges(roll_deg=0.0))
    tr = M.motion_track(w, 11, cfg)
    assert np.isfinite(tr.xy_clean).all() and np.isfinite(tr.xy).all()
    T = len(tr.frames)
    assert tr.xy.shape == (T, 33, 2) and tr.z.shape == (T, 33) and tr.visibility.shape == (T, 33)
    assert tr.score.shape == (T,) and tr.labels.shape == (T,)
    # the first sampled frame: standing before the set (image y down: shoulders above hips above ankles)
    xy = tr.xy_clean[0]
    g = lambda n: xy[LM.INDEX[n]]  # noqa: E731
    sh = 0.5 * (g("left_shoulder") + g("right_shoulder"))
    hip = 0.5 * (g("left_hip") + g("right_hip"))
    ank = 0.5 * (g("left_ankle") + g("right_ankle"))
    assert sh[1] < hip[1] < ank[1]
    assert g("nose")[1] < sh[1]
    assert np.all(np.diff(tr.frames) == 2)


def test_labels_and_reps_are_consistent():
    tr = M.motion_track(M.random_workout(5), 5, M.MotionConfig(norep_p=0.3))
    fl = tr.frame_labels()
    assert np.array_equal(fl[tr.frames], tr.labels)
    prev = -1
    for r in tr.reps:
        assert prev < r["start"] <= r["end"] < tr.n_video_frames
        assert set(fl[r["start"]:r["end"] + 1]) == {M.MOVEMENTS.index(r["label"])}
        assert isinstance(r["valid"], bool) and (r["valid"] == (r["reason"] == ""))
        prev = r["end"]
    assert (tr.labels == M.NONE).any()                      # rests / transitions are "none"
    assert tr.frames[-1] < tr.n_video_frames


@pytest.mark.parametrize("label,kind", [("thruster", "shallow"), ("ohs", "shallow"), ("thruster", "soft_elbows"),
                                        ("deadlift", "hips_not_open"), ("shspu", "no_lockout"),
                                        ("chest-to-bar", "short_pull")])
def test_norep_variants_are_flagged(label, kind):
    cfg = M.MotionConfig(noise=M.CLEAN, noise_scale=(1.0, 1.0), norep_p=1.0, norep_kinds={label: (kind,)})
    from core.demo.synthetic import Workout
    w = Workout(seed=21, blocks=[("transition", 90), (label, 6), ("rest", 60)], fps=30.0)
    tr = M.motion_track(w, 21, cfg)
    assert len(tr.reps) == 6
    assert all(r["variant"] == kind for r in tr.reps)
    assert sum(not r["valid"] for r in tr.reps) >= 5
    assert all(r["reason"] for r in tr.reps if not r["valid"])
    normal = M.motion_track(w, 21, CLEAN)
    assert sum(r["valid"] for r in normal.reps) >= 5


def test_deterministic_by_seed():
    a = M.motion_track(M.random_workout(9), 9, M.MotionConfig(norep_p=0.2))
    b = M.motion_track(M.random_workout(9), 9, M.MotionConfig(norep_p=0.2))
    c = M.motion_track(M.random_workout(9), 10, M.MotionConfig(norep_p=0.2))
    assert np.array_equal(a.xy, b.xy, equal_nan=True) and a.reps == b.reps
    assert not np.array_equal(a.xy, c.xy, equal_nan=True)


def test_noise_adds_dropouts_and_jitter():
    noisy = M.TrackNoise(dropout_rate=0.05, jitter=0.03)
    tr = M.motion_track(M.random_workout(4), 4, M.MotionConfig(noise=noisy, noise_scale=(1.0, 1.0)))
    rows = np.isnan(tr.xy).all(axis=(1, 2))
    assert rows.any() and (tr.score[rows] == 0).all() and (tr.visibility[rows] == 0).all()
    ok = ~rows
    assert np.nanmean(np.abs(tr.xy[ok] - tr.xy_clean[ok])) > 0.1
    assert 0 <= tr.visibility.min() and tr.visibility.max() <= 1


def test_generate_tracks_in_order_with_workers():
    seeds = [1, 2, 3, 4]
    one = M.generate_tracks(seeds, workers=1)
    two = M.generate_tracks(seeds, workers=2)
    assert [len(t.reps) for t in one] == [len(t.reps) for t in two]
    assert all(np.array_equal(a.xy, b.xy, equal_nan=True) for a, b in zip(one, two))


@pytest.mark.parametrize("kind", M.OTHER_KINDS)
def test_other_tracks_are_none_and_finite(kind):
    tr = M.other_track(12, kinds=(kind,))
    assert tr.reps == [] and (tr.labels == M.NONE).all() and (tr.frame_labels() == M.NONE).all()
    assert np.isfinite(tr.xy_clean).all() and tr.meta["other"] == [kind]
    xy = tr.xy_clean
    torso = np.linalg.norm(0.5 * (xy[:, 11] + xy[:, 12]) - 0.5 * (xy[:, 23] + xy[:, 24]), axis=-1)
    assert torso.min() > 0.2 * np.median(torso)          # a body, not a collapsed figure
    if kind in ("push-up", "mountain climber", "plank"):   # prone: the torso is roughly level in a side view
        a = M.other_track(12, M.MotionConfig(view=M.ViewRanges(yaw_deg=(85, 90), roll_deg=0.0)), kinds=(kind,))
        d = 0.5 * (a.xy_clean[:, 11] + a.xy_clean[:, 12]) - 0.5 * (a.xy_clean[:, 23] + a.xy_clean[:, 24])
        assert np.median(np.abs(d[:, 0])) > np.median(np.abs(d[:, 1]))


def test_other_tracks_deterministic_and_in_generate_tracks():
    a = M.other_track(5)
    b = M.generate_tracks([5], workouts=["other"])[0]
    assert np.array_equal(a.xy, b.xy, equal_nan=True) and a.meta["workout"] == b.meta["workout"]
    assert not np.array_equal(a.xy_clean[:10], M.other_track(6).xy_clean[:10])


def test_strict_pullups_swing_less():
    from core.demo.synthetic import Workout
    w = Workout(seed=8, blocks=[("transition", 60), ("chest-to-bar", 6), ("rest", 30)], fps=30.0)
    side = M.ViewRanges(yaw_deg=(85.0, 90.0), follow_p=0.0, mirror_p=0.0)

    def swing(strict_p):
        tr = M.motion_track(w, 8, M.varied_config(noise=M.CLEAN, noise_scale=(1.0, 1.0), view=side, strict_p=strict_p))
        st = tr.sets()[0]
        sel = (tr.frames >= st["start"]) & (tr.frames <= st["end"])
        xy = tr.xy_clean[sel]
        torso = np.median(np.linalg.norm(0.5 * (xy[:, 11] + xy[:, 12]) - 0.5 * (xy[:, 23] + xy[:, 24]), axis=-1))
        ankle = 0.5 * (xy[:, 27, 0] + xy[:, 28, 0]) - 0.5 * (xy[:, 15, 0] + xy[:, 16, 0])
        return float(np.std(ankle) / torso), len(tr.reps)

    kip, strict = swing(0.0), swing(1.0)
    assert kip[1] == strict[1] == 6
    assert strict[0] < 0.6 * kip[0]
