"""Rep counting and judging from pose tracks (core.pose.reps) on synthetic tracks."""
import numpy as np
import pytest

from core.pose import reps as PR
from core.demo import motion as M
from core.demo.synthetic import Workout

SIDE = M.ViewRanges(yaw_deg=(60.0, 90.0))


def _set(label, n, seed, **kw):
    cfg = M.MotionConfig(view=SIDE, **kw)
    w = Workout(seed=seed, blocks=[("transition", 90), (label, n), ("rest", 60)], fps=30.0)
    return M.motion_track(w, seed, cfg)


@pytest.mark.parametrize("label", M.MOVEMENTS)
def test_counts_within_one(label):
    for seed, n in ((31, 7), (32, 4)):
        tr = _set(label, n, seed)
        st = tr.sets()[0]
        reps = PR.count_reps(tr.arrays(), label, st["start"], st["end"], tr.fps)
        assert abs(len(reps) - n) <= 1, (label, seed, len(reps), n)
        assert all(a["end"] < b["start"] for a, b in zip(reps, reps[1:]))
        assert all(st["start"] <= r["start"] <= r["end"] <= st["end"] for r in reps)


def test_shallow_squats_are_no_reps_with_a_reason():
    tr = _set("thruster", 6, 41, norep_p=1.0, norep_kinds={"thruster": ("shallow",)}, noise=M.CLEAN,
              noise_scale=(1.0, 1.0))
    st = tr.sets()[0]
    judged = PR.analyze_set(tr.arrays(), "thruster", st["start"], st["end"], tr.fps)
    bad = [r for r in judged if not r["valid"]]
    assert len(bad) >= 4
    assert all("above knee at frame" in r["reason"] for r in bad)
    depth = [c for r in bad for c in r["checks"] if c["check"] == "depth"]
    assert all(c["value"] > 0 and c["unit"] == "cm" for c in depth)


def test_good_squats_are_valid():
    tr = _set("ohs", 6, 42, noise=M.CLEAN, noise_scale=(1.0, 1.0))
    st = tr.sets()[0]
    judged = PR.analyze_set(tr.arrays(), "ohs", st["start"], st["end"], tr.fps)
    assert sum(r["valid"] for r in judged) >= len(judged) - 1


def test_standards_are_data():
    for mov, stds in PR.STANDARDS.items():
        assert mov in M.MOVEMENTS
        for s in stds:
            assert s.phase in ("bottom", "top", "top_end") and s.op in ("<=", ">=") and s.unit in ("cm", "deg")
            s.message.format(value=1.0, frame=3, threshold=s.threshold)


def test_evaluate_tracks_reports_counts_and_noreps():
    trs = [_set(m, 5, 50 + k, norep_p=0.4) for k, m in enumerate(("thruster", "deadlift", "ghd"))]
    ev = PR.evaluate_tracks(trs)
    assert ev["sets"] == 3 and ev["count_mae"] is not None and 0 <= ev["off_by_one"] <= 1
    assert set(ev["norep_counts"]) == {"tp", "fp", "fn", "tn"}


def test_no_pose_is_an_error():
    tr = _set("thruster", 3, 60)
    arr = dict(tr.arrays())
    arr["xy"] = np.full_like(arr["xy"], np.nan)
    with pytest.raises(PR.PoseError):
        PR.count_reps(arr, "thruster")


def test_squat_cleans_count_once_each(real_videos):
    """Real footage, counted by hand: kbtrainer's PVC squat cleans at 8.0, 11.0 and 14.0 s (frames 150-460
    start with the end of the previous rep). The bar stays racked through the squat: one rep each, where
    the wrists' height alone counted two (6 reps)."""
    from core.inference.pose_predict import track_arrays
    from core.pose.track import compute_track

    track = compute_track(real_videos / "kbtrainer__squatClean.mp4", start=150, end=460)
    judged = PR.judge_range(track_arrays(track), "power clean", 150, 460, track.fps)
    assert (judged["count"], judged["partial"]) == (3, 1), judged["summary"]


def test_a_squat_snatch_counts_its_overhead_squats_not_its_set_ups(real_videos):
    """Real footage, counted by hand: kbtrainer's PVC squat snatches received in an overhead squat at
    3.3, 7.5 and 11.1 s (frames 0-380), each after a squat to the bar on the floor. Only the squats with
    the wrists overhead are overhead squats (REP_GATES): 3, where the hips' height alone counted the
    set-ups too."""
    from core.inference.pose_predict import track_arrays
    from core.pose.track import compute_track

    track = compute_track(real_videos / "kbtrainer__squatSnatch.mp4", end=380)
    judged = PR.judge_range(track_arrays(track), "ohs", 0, 380, track.fps)
    assert judged["count"] + judged["partial"] == 3, judged["summary"]
    gates = dict(PR.REP_GATES)
    try:
        PR.REP_GATES.clear()
        ungated = PR.judge_range(track_arrays(track), "ohs", 0, 380, track.fps)
    finally:
        PR.REP_GATES.update(gates)
    assert ungated["count"] + ungated["partial"] >= 5, ungated["summary"]


def test_tolerances_loosen_a_check_by_view_and_can_leave_it_unjudged():
    std = {(m, sd.check): sd for m, v in PR.STANDARDS.items() for sd in v}
    depth = std[("thruster", "depth")]
    assert PR.tolerance("thruster", depth, side_view=True) == 11.0      # hip up to 11 cm above the knee
    assert PR.tolerance("thruster", depth, side_view=False) == 17.0     # seen from the front: more
    assert PR.tolerance("ohs", std[("ohs", "lockout")], side_view=False) is None   # elbows not judged from the front
    for (m, check), (side, front) in PR.TOLERANCE.items():
        assert (m, check) in std and side >= 0 and (front is None or front >= 0)


def test_from_the_side_the_far_arm_guessed_bent_does_not_fail_a_lockout():
    """In a side view the far arm is hidden behind the body and a pose estimator guesses it, often bent:
    the elbow is measured on the near arm (seen better over the set), so valid lockouts stay valid."""
    from core.pose.landmarks import INDEX

    tr = _set("thruster", 5, 44, noise=M.CLEAN)
    arr = {k: np.array(v, copy=True) for k, v in tr.arrays().items()}
    st = tr.sets()[0]
    assert all(r["valid"] for r in st["reps"])
    near = "left" if arr["visibility"][:, INDEX["left_elbow"]].mean() >= arr["visibility"][:, INDEX["right_elbow"]].mean() \
        else "right"
    far = "right" if near == "left" else "left"
    sh, el, wr = (INDEX[f"{far}_{j}"] for j in ("shoulder", "elbow", "wrist"))
    # the far elbow pushed off the shoulder-wrist line by half the arm's length: ~110 deg
    arm = arr["xy"][:, wr] - arr["xy"][:, sh]
    normal = np.stack([-arm[:, 1], arm[:, 0]], -1)
    arr["xy"][:, el] = 0.5 * (arr["xy"][:, sh] + arr["xy"][:, wr]) + 0.35 * normal
    for j in (sh, el, wr):
        arr["visibility"][:, j] = 0.6
    S = PR.set_signals(arr, st["start"], st["end"], "thruster")
    assert S["sideness"] >= PR.MIN_SIDENESS
    judged = PR.analyze_set(arr, "thruster", st["start"], st["end"], tr.fps)
    lockouts = [c for r in judged for c in r["checks"] if c["check"] == "lockout"]
    assert lockouts and all(c["ok"] for c in lockouts), [c["value"] for c in lockouts]
