"""Agreement between annotators, checked against values computed by hand."""
import pytest

from core.labeling.agreement import NONE, cohen_kappa, compare, frame_labels, match_reps, temporal_iou, video_agreement
from core.base.store import Store


def rep(label, start, end):
    return {"label": label, "start": start, "end": end}


def test_temporal_iou_of_inclusive_ranges():
    assert temporal_iou(rep("x", 0, 4), rep("x", 1, 5)) == pytest.approx(4 / 6)
    assert temporal_iou(rep("x", 0, 4), rep("x", 5, 9)) == 0.0
    assert temporal_iou(rep("x", 3, 3), rep("x", 3, 3)) == 1.0
    assert temporal_iou(rep("x", 0, 9), rep("x", 0, 4)) == 0.5  # 5 / 10, the threshold itself


def test_shifted_rep_hand_computed():
    # 10 frames; A: thruster 0–4, B: thruster 1–5
    # frames  A: T T T T T n n n n n
    #         B: n T T T T T n n n n   agree on frames 1–4 and 6–9: p_o = 8/10
    # p_e = 0.5·0.5 (T) + 0.5·0.5 (none) = 0.5 → κ = (0.8 − 0.5) / 0.5 = 0.6
    ag = compare([rep("thruster", 0, 4)], [rep("thruster", 1, 5)], 10)
    assert ag.frame_agreement == pytest.approx(0.8)
    assert ag.chance_agreement == pytest.approx(0.5)
    assert ag.kappa == pytest.approx(0.6)
    assert (ag.tp, ag.precision, ag.recall, ag.f1) == (1, 1.0, 1.0, 1.0)
    assert ag.mean_iou == pytest.approx(4 / 6)


def test_three_categories_and_a_label_mismatch_hand_computed():
    # 10 frames. A: ohs 0–2, thruster 5–7.  B: ohs 0–3, deadlift 5–7.
    # A: o o o n n t t t n n   counts o3 n4 t3
    # B: o o o o n d d d n n   counts o4 n3 d3
    # agree: frames 0,1,2 (o), 4 (n), 8, 9 (n) → p_o = 6/10
    # p_e = (3·4 [o] + 4·3 [n] + 3·0 [t] ) / 100 = 24/100 → κ = (0.6 − 0.24) / 0.76
    a = [rep("ohs", 0, 2), rep("thruster", 5, 7)]
    b = [rep("ohs", 0, 3), rep("deadlift", 5, 7)]
    ag = compare(a, b, 10)
    assert ag.kappa == pytest.approx(0.36 / 0.76)
    # ohs: IoU 3/4 → match; thruster vs deadlift: same frames, different movement → no match
    assert ag.tp == 1 and len(ag.unmatched_a) == 1 and len(ag.unmatched_b) == 1
    assert (ag.precision, ag.recall, ag.f1) == (0.5, 0.5, 0.5)


def test_chance_level_kappa_is_zero():
    # 4 frames. A: x x n n, B: x n x n → p_o = 0.5, p_e = 0.5 → κ = 0
    kappa, p_o, p_e = cohen_kappa(["x", "x", NONE, NONE], ["x", NONE, "x", NONE])
    assert (kappa, p_o, p_e) == (0.0, 0.5, 0.5)


def test_identical_and_empty_labelings():
    reps = [rep("ghd", 3, 8), rep("ghd", 10, 12)]
    ag = compare(reps, list(reps), 20)
    assert (ag.kappa, ag.precision, ag.recall, ag.f1) == (1.0, 1.0, 1.0, 1.0)
    empty = compare([], [], 20)
    assert (empty.kappa, empty.precision, empty.recall, empty.f1) == (1.0, 1.0, 1.0, 1.0)
    whole = compare([rep("ghd", 0, 19)], [rep("ghd", 0, 19)], 20)  # p_e = 1
    assert whole.kappa == 1.0
    one_sided = compare(reps, [], 20)
    assert (one_sided.precision, one_sided.recall, one_sided.f1) == (None, 0.0, 0.0)
    assert one_sided.kappa == 0.0  # B says "none" everywhere: p_e = p_o


def test_matching_is_one_to_one_and_respects_the_threshold():
    a = [rep("x", 0, 9)]
    b = [rep("x", 0, 4), rep("x", 5, 9)]  # each IoU exactly 0.5: only one may match
    matches, miss_a, miss_b = match_reps(a, b)
    assert len(matches) == 1 and miss_a == [] and len(miss_b) == 1
    matches, _, _ = match_reps([rep("x", 0, 9)], [rep("x", 0, 3)])  # IoU 0.4
    assert matches == []
    # greedy takes the best pair first
    matches, _, _ = match_reps([rep("x", 0, 9), rep("x", 10, 19)], [rep("x", 2, 11)])
    assert [(m.a["start"], m.iou) for m in matches] == [(0, pytest.approx(8 / 12))]


def test_frame_labels_clip_to_the_video():
    assert frame_labels([rep("x", 3, 7)], 5) == [NONE, NONE, NONE, "x", "x"]


def test_video_agreement_reads_the_store(tmp_path):
    store = Store(tmp_path / "ws.db")
    info = {"frames": 10, "fps": 30.0, "width": 2, "height": 2, "duration_s": 1 / 3, "codec": "h264", "vfr": False}
    vid = store.add_video(path="v.mp4", sha256="h", info=info)
    store.add_segment(vid, "thruster", 0, 4, "a")
    store.add_segment(vid, "thruster", 1, 5, "b")
    ag = video_agreement(store, vid, "a", "b")
    assert ag.kappa == pytest.approx(0.6) and ag.f1 == 1.0
    assert ag.summary()["matched"] == 1
