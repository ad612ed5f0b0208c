"""The rep-editing model behind the Label page: keymap actions, autosave, undo/redo across reloads."""
import pytest

from core.base.errors import WorkbenchError
from core.labeling.annotator import Annotator, LabelError, dataset_segments
from core.base.store import Store, StoreError

INFO = {"frames": 100, "fps": 30.0, "width": 854, "height": 480, "duration_s": 100 / 30, "codec": "h264", "vfr": False}


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "ws.db")
    s.add_video(path="videos/a.mp4", sha256="ha", info=INFO)
    s.add_video(path="videos/b.mp4", sha256="hb", info=INFO)
    return s


def spans(ann):
    return [(r["label"], r["start"], r["end"]) for r in ann.reps()]


def test_start_end_stores_an_inclusive_rep_and_keeps_the_open_rep_across_reloads(store):
    ann = Annotator(store, 1, "ann")
    ann.start(10, "thruster")
    # a reload: a new object sees the open rep
    again = Annotator(store, 1, "ann")
    assert again.open_rep == {"label": "thruster", "start": 10}
    rep = again.end(20)
    assert (rep["label"], rep["start"], rep["end"]) == ("thruster", 10, 20)
    assert again.selected == rep["uuid"]
    assert again.open_rep is None
    assert spans(Annotator(store, 1, "ann")) == [("thruster", 10, 20)]
    assert store.segment(rep["uuid"])["created_at"]


def test_end_without_start_or_before_start_is_refused_with_a_message(store):
    ann = Annotator(store, 1, "ann")
    with pytest.raises(LabelError, match="No open rep"):
        ann.end(5)
    ann.start(30, "ohs")
    with pytest.raises(LabelError, match="before its start"):
        ann.end(29)
    assert isinstance(LabelError("x"), WorkbenchError) and isinstance(StoreError("x"), WorkbenchError)  # one root
    assert ann.open_rep == {"label": "ohs", "start": 30}
    ann.end(30)  # a one-frame rep is fine
    assert spans(ann) == [("ohs", 30, 30)]


def test_start_inside_a_rep_or_outside_the_video_is_refused(store):
    ann = Annotator(store, 1, "ann")
    ann.start(10, "ghd")
    ann.end(20)
    with pytest.raises(LabelError, match="inside your rep 10–20"):
        ann.start(15, "ghd")
    with pytest.raises(LabelError, match="outside the video"):
        ann.start(100, "ghd")
    with pytest.raises(LabelError, match="Unknown movement"):
        ann.start(30, "snatch")
    assert ann.open_rep is None


def test_enter_chains_reps_and_one_undo_reverts_one_enter(store):
    ann = Annotator(store, 1, "ann")
    ann.start(0, "thruster")
    ann.enter(9)
    ann.enter(19)
    assert ann.open_rep == {"label": "thruster", "start": 20}
    ann.end(29)
    assert spans(ann) == [("thruster", 0, 9), ("thruster", 10, 19), ("thruster", 20, 29)]
    ann.undo()  # the end
    assert ann.open_rep == {"label": "thruster", "start": 20}
    ann.undo()  # the second enter: rep 10–19 gone, open rep back at 10
    assert spans(ann) == [("thruster", 0, 9)]
    assert ann.open_rep == {"label": "thruster", "start": 10}
    # Enter at the last frame ends the rep without opening another past the video
    ann.end(98)
    ann.start(99, "ohs")
    ann.enter(99)
    assert ann.open_rep is None
    assert spans(ann)[-1] == ("ohs", 99, 99)


def test_end_that_would_swallow_another_rep_is_refused_as_overlap(store):
    ann = Annotator(store, 1, "ann")
    ann.start(40, "deadlift")
    ann.end(50)
    ann.start(30, "deadlift")
    with pytest.raises(StoreError, match="overlaps"):
        ann.end(45)
    assert ann.open_rep == {"label": "deadlift", "start": 30}  # nothing lost
    assert spans(ann) == [("deadlift", 40, 50)]


def test_tab_selection_by_start_frame_relative_to_the_current_frame(store):
    ann = Annotator(store, 1, "ann")
    for s, e in [(10, 19), (30, 39), (50, 59)]:
        ann.start(s, "ghd")
        ann.end(e)
    ann.selected = None
    ann.seek(25)
    assert ann.select_next()["start"] == 30
    assert ann.select_next()["start"] == 50
    assert ann.select_next()["start"] == 50  # stays on the last
    assert ann.select_prev()["start"] == 30
    ann.select(None)
    assert ann.select_prev(frame=35)["start"] == 30  # the rep under the cursor
    ann.select(None)
    assert ann.select_prev(frame=5)["start"] == 10  # nothing before: the first
    other = Annotator(store, 2, "ann")
    assert other.select_next() is None


def test_nudge_moves_the_edge_nearer_the_current_frame_ties_to_the_end(store):
    ann = Annotator(store, 1, "ann")
    ann.start(10, "ohs")
    rep = ann.end(20)
    ann.seek(11)  # nearer the start
    assert (ann.nudge(-1)["start"], store.segment(rep["uuid"])["start"]) == (9, 9)
    ann.seek(19)  # nearer the end
    assert ann.nudge(+1)["end"] == 21
    ann.seek(15)  # 9–21: distances 6 and 6, a tie: the end
    assert ann.nudge(-1)["end"] == 20
    assert spans(ann) == [("ohs", 9, 20)]
    with pytest.raises(ValueError):
        ann.nudge(2)


def test_nudge_refuses_overlap_leaving_the_video_and_an_empty_rep(store):
    ann = Annotator(store, 1, "ann")
    ann.start(0, "ohs")
    first = ann.end(4)
    ann.start(5, "ohs")
    ann.end(8)
    with pytest.raises(StoreError, match="overlaps"):
        ann.nudge(-1, frame=5)  # the start of 5–8 onto frame 4 of rep 0–4
    ann.select(first["uuid"])
    with pytest.raises(StoreError, match="overlaps"):
        ann.nudge(+1, frame=4)
    with pytest.raises(StoreError, match="outside"):
        ann.nudge(-1, frame=0)
    ann.select(None)
    with pytest.raises(LabelError, match="No rep selected"):
        ann.nudge(+1)
    assert spans(ann) == [("ohs", 0, 4), ("ohs", 5, 8)]


def test_single_frame_rep_cannot_shrink(store):
    ann = Annotator(store, 1, "ann")
    ann.start(50, "ohs")
    ann.end(50)
    with pytest.raises(LabelError, match="at least one frame"):
        ann.nudge(-1, frame=50)


def test_delete_relabel_review_and_undo_redo_across_a_reload(store):
    ann = Annotator(store, 1, "ann")
    ann.start(10, "thruster")
    rep = ann.end(20)
    ann.set_label(None, "ohs")
    ann.review(rep["uuid"], "accepted")
    ann.delete_selected()
    assert ann.selected is None and spans(ann) == []
    # reload: a fresh Annotator continues the same history
    fresh = Annotator(store, 1, "ann")
    assert fresh.can_undo and not fresh.can_redo
    assert "delete" in fresh.undo()
    assert store.segment(rep["uuid"])["review"] == "accepted"
    fresh.undo()
    assert store.segment(rep["uuid"])["review"] is None
    fresh.undo()
    assert spans(fresh) == [("thruster", 10, 20)]
    again = Annotator(store, 1, "ann")
    assert again.can_redo
    again.redo()
    assert spans(again) == [("ohs", 10, 20)]
    again.redo()
    again.redo()
    assert spans(again) == [] and again.redo() is None and not again.can_redo
    # the undo history is per (video, annotator)
    assert Annotator(store, 1, "someone else").undo() is None
    assert Annotator(store, 2, "ann").undo() is None


def test_a_new_edit_after_undo_clears_the_redo_tail(store):
    ann = Annotator(store, 1, "ann")
    ann.start(10, "ghd")
    ann.end(20)
    ann.start(30, "ghd")
    ann.end(40)
    ann.undo()
    ann.undo()  # open rep at 30 is gone too
    assert ann.can_redo
    ann.start(50, "ghd")
    assert not ann.can_redo
    assert ann.redo() is None
    ann.end(60)
    assert spans(ann) == [("ghd", 10, 20), ("ghd", 50, 60)]


def test_undo_is_refused_when_the_rep_changed_elsewhere(store):
    ann = Annotator(store, 1, "ann")
    ann.start(10, "ghd")
    rep = ann.end(20)
    store.update_segment(rep["uuid"], end=25)  # e.g. another session
    with pytest.raises(StoreError, match="changed elsewhere"):
        ann.undo()
    assert spans(ann) == [("ghd", 10, 25)]


def test_undo_of_a_nudge_updates_in_place_keeping_the_key(store):
    ann = Annotator(store, 1, "ann")
    ann.start(10, "ghd")
    rep = ann.end(20)
    ann.nudge(+1, frame=20)
    ann.undo()
    assert store.segment(rep["uuid"]) == rep


def test_others_reps_are_not_editable_but_can_be_reviewed_and_accepted_as_drafts(store):
    model = "model:run-1"
    draft = store.add_segment(1, "thruster", 10, 20, model)
    ann = Annotator(store, 1, "ann")
    ann.select(draft)
    with pytest.raises(LabelError, match="belongs to model:run-1"):
        ann.delete_selected()
    copy = ann.accept_draft(draft)
    assert (copy["annotator"], copy["start"], copy["end"], copy["label"]) == ("ann", 10, 20, "thruster")
    assert copy["uuid"] != draft and copy["extra"]["copied_from"] == {"uuid": draft, "annotator": model}
    assert store.segment(draft)["annotator"] == model  # the draft stays
    with pytest.raises(StoreError, match="overlaps"):
        ann.accept_draft(draft)  # already have a rep there
    ann.undo()
    assert ann.reps() == [] and ann.selected is None
    ann.redo()
    assert spans(ann) == [("thruster", 10, 20)]
    with pytest.raises(LabelError, match="already yours"):
        ann.accept_draft(ann.reps()[0]["uuid"])
    with pytest.raises(LabelError, match="Unknown review"):
        ann.review(draft, "maybe")


def test_rep_of_another_video_is_not_reachable(store):
    uuid = store.add_segment(2, "ghd", 0, 5, "ann")
    ann = Annotator(store, 1, "ann")
    with pytest.raises(LabelError, match="no longer exists"):
        ann.review(uuid, "accepted")


def test_dataset_rule(store):
    # video 1: a single annotator (ground-truth is ordinary) plus model drafts
    gt_keep = store.add_segment(1, "ghd", 0, 9, "ground-truth")
    gt_rejected = store.add_segment(1, "ghd", 10, 19, "ground-truth", review="rejected")
    store.add_segment(1, "ghd", 0, 9, "model:r1")  # drafts never count, not even as an annotator
    store.add_segment(1, "ghd", 30, 39, "model:r1", review="accepted")
    # video 2: two people: only accepted reps count
    a_plain = store.add_segment(2, "ohs", 0, 9, "alice")
    a_accepted = store.add_segment(2, "ohs", 10, 19, "alice", review="accepted")
    b_plain = store.add_segment(2, "ohs", 0, 9, "bob")
    b_rejected = store.add_segment(2, "ohs", 20, 29, "bob", review="rejected")
    chosen = {s["uuid"] for s in dataset_segments(store)}
    assert chosen == {gt_keep, a_accepted}
    assert gt_rejected not in chosen and a_plain not in chosen and b_plain not in chosen and b_rejected not in chosen
    assert {s["uuid"] for s in dataset_segments(store, video_ids=[2])} == {a_accepted}


def test_annotator_needs_a_name_and_a_video(store):
    with pytest.raises(LabelError, match="annotator name"):
        Annotator(store, 1, "  ")
    with pytest.raises(LabelError, match="No video"):
        Annotator(store, 99, "ann")


def test_cancel_open_rep_is_undoable(store):
    ann = Annotator(store, 1, "ann")
    ann.start(5, "ohs")
    ann.start(7, "ghd")  # S again moves the open rep
    assert ann.open_rep == {"label": "ghd", "start": 7}
    ann.cancel_open()
    assert ann.open_rep is None
    ann.undo()
    assert ann.open_rep == {"label": "ghd", "start": 7}
    ann.undo()
    assert ann.open_rep == {"label": "ohs", "start": 5}
