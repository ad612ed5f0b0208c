"""Synthetic workout videos: plans, ground truth, determinism, motion and encoding (tiny renders)."""
import math

import av
import numpy as np
import pytest

from core.demo import synthetic as S
from core.base.labels import DEFAULT_MOVEMENTS, REP_FRAMES_30FPS

W, H = 160, 96


def decode(path):
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


def check_segments(segs, n_frames):
    prev_end = -1
    for s in segs:
        assert set(s) == {"label", "start", "end"}
        assert s["label"] in DEFAULT_MOVEMENTS
        assert isinstance(s["start"], int) and isinstance(s["end"], int)
        assert prev_end < s["start"] <= s["end"] < n_frames
        prev_end = s["end"]


# -- plans ------------------------------------------------------------------------------------
def test_plan_is_deterministic_and_seed_dependent():
    a, b, c = S.plan_workout(11), S.plan_workout(11), S.plan_workout(12)
    assert a == b
    assert a.blocks != c.blocks
    for w in (a, c):
        assert w.blocks[0][0] == "transition"
        assert 40 <= w.estimated_seconds() <= 90
        for kind, v in w.blocks:
            assert kind in ("rest", "transition") or kind in DEFAULT_MOVEMENTS
            assert int(v) >= 0


def test_plan_with_given_movements_and_length():
    w = S.plan_workout(3, ["thruster", "chest-to-bar"], target_seconds=120)
    assert set(w.reps()) == {"thruster", "chest-to-bar"}
    assert 90 <= w.estimated_seconds() <= 150
    with pytest.raises(ValueError):
        S.plan_workout(3, ["muscle-up"])


def test_demo_plans_guarantees():
    plans = S.demo_plans(0)
    assert len(plans) == 12
    videos = {m: sum(1 for p in plans if m in p.reps()) for m in DEFAULT_MOVEMENTS}
    reps = {m: sum(p.reps().get(m, 0) for p in plans) for m in DEFAULT_MOVEMENTS}
    assert min(videos.values()) >= 6, videos
    assert min(reps.values()) >= 60, reps
    total_min = sum(p.estimated_seconds() for p in plans) / 60
    assert 10 <= total_min <= 17, total_min
    # at most three stations per video keeps the athlete large in the frame
    assert all(len({S.STATION_OF[m] for m in p.reps()}) <= 3 for p in plans)
    assert [p.blocks for p in S.demo_plans(0)] == [p.blocks for p in plans]
    assert [p.blocks for p in S.demo_plans(1)] != [p.blocks for p in plans]
    for n in (6, 9, 20):
        ps = S.demo_plans(5, n)
        assert len(ps) == n
        assert all(sum(1 for p in ps if m in p.reps()) >= max(6, n // 2) for m in DEFAULT_MOVEMENTS)
        assert all(sum(p.reps().get(m, 0) for p in ps) >= 60 for m in DEFAULT_MOVEMENTS)
    more = S.demo_plans(2, 36, reps_per_movement=90)  # the default demo: more gyms and reps per movement
    assert all(sum(1 for p in more if m in p.reps()) == 18 for m in DEFAULT_MOVEMENTS)
    assert all(sum(p.reps().get(m, 0) for p in more) >= 90 for m in DEFAULT_MOVEMENTS)
    short = S.demo_plans(0, 12, target_seconds=20)
    assert sum(p.estimated_seconds() for p in short) < 0.6 * sum(p.estimated_seconds() for p in plans)
    with pytest.raises(ValueError):
        S.demo_plans(0, 5)


# -- ground truth from the simulation (no pixels) -----------------------------------------------
def test_simulated_segments_match_the_plan():
    w = S.plan_workout(21, target_seconds=45)
    sim = S.simulate(w, W, H)
    check_segments(sim.segments, sim.n_frames)
    counts = {}
    for s in sim.segments:
        counts[s["label"]] = counts.get(s["label"], 0) + 1
    assert counts == w.reps()
    labelled = {i for s in sim.segments for i in range(s["start"], s["end"] + 1)}
    assert len(labelled) < sim.n_frames            # rests and transitions are not labelled
    for i in range(sim.n_frames):
        assert (sim.frame_labels[i] is not None) == (i in labelled)
    # reps of a set follow each other without a gap (end of one rep = start of the next)
    gaps = [b["start"] - a["end"] for a, b in zip(sim.segments, sim.segments[1:])]
    back_to_back = sum(int(n) - 1 for kind, n in w.blocks if kind not in ("rest", "transition"))
    assert gaps.count(1) == back_to_back and all(g >= 1 for g in gaps), gaps


def test_explicit_blocks_and_other_fps():
    w = S.Workout(seed=4, blocks=[("transition", 60), ("deadlift", 3), ("rest", 45), ("deadlift", 2),
                                  ("transition", 90), ("chest-to-bar", 4), ("rest", 30)])
    a = S.simulate(w, W, H, fps=30)
    b = S.simulate(w, W, H, fps=15)
    assert len(a.segments) == len(b.segments) == 9
    check_segments(b.segments, b.n_frames)
    assert 0.4 < b.n_frames / a.n_frames < 0.6
    # blocks may also start straight with reps (no lead-in): the athlete is already in place
    c = S.simulate(S.Workout(seed=1, blocks=[("thruster", 2), ("ohs", 2)]), W, H)
    assert c.segments[0]["start"] == 0 and c.segments[-1]["end"] == c.n_frames - 1


@pytest.mark.parametrize("label", DEFAULT_MOVEMENTS)
def test_rep_timing_follows_real_footage(label):
    mean, sd = REP_FRAMES_30FPS[label]
    lens = []
    for seed in range(4):
        sim = S.simulate_reps(label, 12, seed, W, H, pad_seconds=0)
        lens += [s["end"] - s["start"] + 1 for s in sim.segments]
    lo, hi = S.rep_frame_bounds(label, 30)
    assert all(lo <= n <= hi for n in lens)
    assert abs(np.mean(lens) - mean) < max(0.15 * mean, 1.5), (np.mean(lens), mean)
    assert 0.3 * sd < np.std(lens) < 1.6 * sd + 1
    # the same athlete filmed at 15 fps: the same reps in half the frames
    full = S.simulate_reps(label, 12, 0, W, H, fps=30, pad_seconds=0)
    half = S.simulate_reps(label, 12, 0, W, H, fps=15, pad_seconds=0)
    assert abs(half.n_frames / full.n_frames - 0.5) < 0.03
    assert [s["label"] for s in half.segments] == [label] * 12


def _rep_slices(sim):
    return [slice(s["start"], s["end"] + 1) for s in sim.segments]


def _bar_above_head(sim):
    top = sim.joints3d[:, S.JI["head"], 1]
    return sim.bar3d[:, 1] - top


def test_ohs_and_thruster_differ_in_bar_path():
    ohs = S.simulate_reps("ohs", 4, 3, W, H)
    thr = S.simulate_reps("thruster", 4, 3, W, H)
    for sim in (ohs, thr):
        assert sim.bar_visible[sim.segments[0]["start"]:].all()
    for sl in _rep_slices(ohs):           # bar overhead for the whole rep
        assert (_bar_above_head(ohs)[sl] > 0.15).all()
    for sl in _rep_slices(thr):           # rack (below the head) -> overhead -> rack
        d = _bar_above_head(thr)[sl]
        assert d[0] < 0 and d.max() > 0.3 and d[-1] < 0.15
    # the same signal in the 2D keypoints (image y grows downwards)
    for sim, always_above in ((ohs, True), (thr, False)):
        sl = _rep_slices(sim)[1]
        head_y = sim.keypoints2d[sl, S.JI["head"], 1]
        above = sim.bar2d[sl, 1] < head_y
        assert above.all() if always_above else (above.any() and not above.all())


def test_power_clean_and_deadlift_differ_in_bar_path():
    pc = S.simulate_reps("power clean", 3, 5, W, H)
    dl = S.simulate_reps("deadlift", 3, 5, W, H)
    for sim in (pc, dl):
        for sl in _rep_slices(sim):       # both start and end with the bar on the floor
            y = sim.bar3d[sl, 1]
            assert y[0] < S.PLATE_R + 0.03
    for sl in _rep_slices(pc):            # caught in the front rack, at shoulder height
        sh = pc.joints3d[sl, S.JI["shoulder_l"], 1]
        assert (pc.bar3d[sl, 1] > sh - 0.12).any()
    for sl in _rep_slices(dl):            # never above the hips
        assert (dl.bar3d[sl, 1] < dl.joints3d[sl, S.JI["pelvis"], 1]).all()


def test_double_under_rope_turns_twice_per_jump():
    sim = S.simulate_reps("double-unders", 5, 2, W, H)
    assert sim.rope_visible[sim.segments[0]["start"]:sim.segments[-1]["end"] + 1].all()
    J = sim.joints3d
    for s in sim.segments:
        sl = slice(s["start"], s["end"] + 2)          # the rep and the first frame of the next one
        hands = J[sl][:, [S.JI["grip_l"], S.JI["grip_r"]]].mean(1)
        mid = sim.rope3d[sl, 8] - hands               # the middle of the rope, seen from the hands
        fwd = (J[sl, S.JI["toe_l"]] - J[sl, S.JI["heel_l"]]) * [1, 0, 1]
        fwd /= np.linalg.norm(fwd, axis=1, keepdims=True)
        angle = np.unwrap(np.arctan2((mid * fwd).sum(1), -mid[:, 1]))
        turns = abs(angle[-1] - angle[0]) / (2 * np.pi)
        assert turns == pytest.approx(2.0, abs=0.05), turns
        feet = J[s["start"]:s["end"] + 1][:, [S.JI["heel_l"], S.JI["toe_l"]], 1].min(1)
        assert feet.max() > 0.08                      # a real jump


def test_burpee_athlete_crosses_the_bar_and_touches_the_floor():
    sim = S.simulate_reps("bar-facing burpee", 2, 6, W, H)
    for s in sim.segments:
        sl = slice(s["start"], s["end"] + 1)
        chest = sim.joints3d[sl, S.JI["chest"], 1]
        assert chest.min() < 0.25                       # chest to the floor
        pel = sim.joints3d[sl, 0]
        bar = sim.bar3d[sl]
        axis_h = sim.bar_heading[s["start"]]
        fwd = np.array([math.sin(axis_h), 0, math.cos(axis_h)])
        side = (pel - bar) @ fwd
        assert np.sign(side[0]) != np.sign(side[-1])    # landed on the other side


def test_keypoints_are_in_the_frame():
    sim = S.simulate(S.plan_workout(8, target_seconds=40), 320, 180)
    kp = sim.keypoints2d
    assert kp.shape == (sim.n_frames, len(S.JOINTS), 2)
    inside = (kp[..., 0] > -5) & (kp[..., 0] < 325) & (kp[..., 1] > -5) & (kp[..., 1] < 185)
    assert inside.mean() > 0.97
    ja = S.joint_angles(sim.params)
    assert set(ja) >= {"knee_l", "hip_r", "elbow_l", "trunk_lean"}


# -- rendering -------------------------------------------------------------------------------
def test_render_is_deterministic(tmp_path):
    w = S.plan_workout(31, ["thruster", "double-unders"], target_seconds=8)
    seen = []
    segs = S.render_workout(w, tmp_path / "a.mp4", W, H, progress=lambda d, t: seen.append((d, t)))
    segs2 = S.render_workout(w, tmp_path / "b.mp4", W, H)
    assert segs == segs2 and segs
    a, b = decode(tmp_path / "a.mp4"), decode(tmp_path / "b.mp4")
    assert a.shape == (S.simulate(w, W, H).n_frames, H, W, 3)
    assert np.array_equal(a, b)
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    assert seen[-1] == (len(a), len(a)) and all(d <= t for d, t in seen)
    check_segments(segs, len(a))
    other = S.plan_workout(32, ["thruster", "double-unders"], target_seconds=8)
    segs3 = S.render_workout(other, tmp_path / "c.mp4", W, H)
    c = decode(tmp_path / "c.mp4")
    assert segs3 != segs or c.shape != a.shape or not np.array_equal(c, a)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "b.mp4", "c.mp4"]   # no temp files


@pytest.mark.parametrize("label", DEFAULT_MOVEMENTS)
def test_each_movement_renders(tmp_path, label):
    path = tmp_path / "m.mp4"
    segs = S.render_reps(label, 2, path, seed=DEFAULT_MOVEMENTS.index(label), width=W, height=H)
    frames = decode(path)
    assert [s["label"] for s in segs] == [label, label]
    check_segments(segs, len(frames))
    assert segs[0]["start"] > 0 and segs[-1]["end"] < len(frames) - 1     # lead-in and rest
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        assert (st.codec_context.name, st.width, st.height) == ("h264", W, H)
        assert st.average_rate == 30
    # something moves during the reps
    sl = frames[segs[0]["start"]:segs[-1]["end"] + 1].astype(np.int16)
    assert np.abs(np.diff(sl, axis=0)).mean() > 0.3


def test_interrupted_render_leaves_no_file(tmp_path):
    def stop(done, total):
        if done >= 30:
            raise KeyboardInterrupt

    S.render_reps("ohs", 1, tmp_path / "x.mp4", seed=1, width=W, height=H)
    with pytest.raises(KeyboardInterrupt):
        S.render_workout(S.plan_workout(2, target_seconds=10), tmp_path / "y.mp4", W, H, progress=stop)
    assert [p.name for p in tmp_path.iterdir()] == ["x.mp4"]


def test_cli(tmp_path, capsys):
    out = tmp_path / "cli.mp4"
    assert S.main([str(out), "--movement", "deadlift", "--reps", "2", "--width", str(W), "--height", str(H)]) == 0
    assert out.exists() and "2 reps" in capsys.readouterr().out
