"""The Label page's keymap as pure logic: key events -> Annotator edits -> page state."""
import pytest

from core.labeling.annotator import Annotator
from core.labeling.keymap import KEYMAP, apply_event, apply_key, key_action, keymap_markdown, new_state
from core.base.store import Store

INFO = {"frames": 100, "fps": 30.0, "width": 854, "height": 480, "duration_s": 100 / 30, "codec": "h264", "vfr": False}


@pytest.fixture
def ann(tmp_path):
    s = Store(tmp_path / "ws.db")
    s.add_video(path="videos/a.mp4", sha256="ha", info=INFO)
    return Annotator(s, 1, "alex")


def key(k, **mods):
    return {"key": k, **mods}


def run(ann, state, *events):
    for ev in events:
        state = apply_key(ann, ev if isinstance(ev, dict) else key(ev), state)
    return state


def spans(ann):
    return [(r["label"], r["start"], r["end"]) for r in ann.reps()]


@pytest.mark.parametrize("event, action", [
    (key(" "), "play"), (key("ArrowRight"), "next"), (key("ArrowLeft"), "prev"),
    (key("ArrowRight", shift=True), "next10"), (key("ArrowLeft", shift=True), "prev10"),
    (key("ArrowRight", alt=True), "nudge_next"), (key("ArrowLeft", alt=True), "nudge_prev"),
    (key("1"), "label:0"), (key("9"), "label:8"), (key("&", code="Digit1"), "label:0"),  # AZERTY 1
    (key("s"), "start"), (key("S"), "start"), (key("e"), "end"), (key("Enter"), "enter"),
    (key("Tab"), "select_next"), (key("Tab", shift=True), "select_prev"),
    (key("Backspace"), "delete"), (key("Delete"), "delete"),
    (key("z", ctrl=True), "undo"), (key("Z", ctrl=True, shift=True), "redo"), (key("z", meta=True), "undo"),
    (key("y", ctrl=True), "redo"), (key("?", shift=True), "keymap"), (key("p"), "pose"), (key("P"), "pose"),
    (key("0"), None), (key("x"), None), (key("s", ctrl=True), None), (key("s", alt=True), None), (key("F5"), None),
])
def test_key_action_follows_the_design_keymap(event, action):
    assert key_action(event) == action


def test_keymap_table_is_the_design_one():
    assert [k for k, _ in KEYMAP] == ["Space", "← / →", "Shift+← / Shift+→", "1 … 9", "S", "E", "Enter",
                                      "Tab / Shift+Tab", "Alt+← / Alt+→", "Backspace", "Ctrl+Z / Ctrl+Shift+Z", "P", "?"]
    assert "| Backspace | delete the selected rep |" in keymap_markdown()


def test_s_at_10_five_rights_e_stores_rep_10_to_15(ann):
    state = run(ann, new_state(10, "ghd"), "s", *["ArrowRight"] * 5)
    assert ann.open_rep == {"label": "ghd", "start": 10} and state["frame"] == 15
    state = run(ann, state, "e")
    assert spans(ann) == [("ghd", 10, 15)]
    assert state["selected"] == ann.reps()[0]["uuid"] and not state["error"]
    assert "10–15" in state["message"]
    assert spans(Annotator(ann.store, 1, "alex")) == [("ghd", 10, 15)]  # written at once


def test_the_frame_an_event_carries_wins_and_navigation_is_clamped(ann):
    state = apply_key(ann, {"key": "s", "frame": 40}, new_state(0, "ohs"))
    assert state["frame"] == 40 and ann.open_rep["start"] == 40
    state = run(ann, state, key("ArrowRight", shift=True), key("ArrowRight", shift=True))
    assert state["frame"] == 60
    state = run(ann, new_state(95, "ohs"), key("ArrowRight", shift=True))
    assert state["frame"] == 99
    state = run(ann, new_state(3, "ohs"), key("ArrowLeft", shift=True), "ArrowLeft")
    assert state["frame"] == 0


def test_digits_choose_the_movement_and_relabel_the_open_rep(ann):
    labels = ann.store.labels()
    state = run(ann, new_state(0, None), "3")
    assert state["label"] == labels[2]
    state = run(ann, state, "s", "5")
    assert state["label"] == labels[4] and ann.open_rep == {"label": labels[4], "start": 0}
    state = run(ann, state, "e")
    assert spans(ann) == [(labels[4], 0, 0)]


def test_enter_chains_reps_of_the_same_movement(ann):
    state = run(ann, new_state(0, "thruster"), "s", *["ArrowRight"] * 9, "Enter", *["ArrowRight"] * 10, "Enter",
                *["ArrowRight"] * 10, "e")
    assert spans(ann) == [("thruster", 0, 9), ("thruster", 10, 19), ("thruster", 20, 29)]
    assert ann.open_rep is None and not state["error"]


def test_tab_and_shift_tab_walk_the_reps_and_move_the_cursor(ann):
    for a, b in [(10, 20), (30, 40), (50, 60)]:
        ann.start(a, "ghd")
        ann.end(b)
    state = run(ann, new_state(0, "ghd"), "Tab")
    rep = ann.store.segment(state["selected"])
    assert (rep["start"], state["frame"], state["seek"]) == (10, 10, 10)
    state = run(ann, state, "Tab", "Tab", "Tab")
    assert ann.store.segment(state["selected"])["start"] == 50 and state["frame"] == 50
    state = run(ann, state, key("Tab", shift=True))
    assert ann.store.segment(state["selected"])["start"] == 30 and state["seek"] == 30


def test_alt_arrows_nudge_the_nearer_edge_and_show_it(ann):
    ann.start(10, "ghd")
    ann.end(20)
    state = run(ann, new_state(0, "ghd"), "Tab")  # cursor on the start
    state = run(ann, state, key("ArrowLeft", alt=True), key("ArrowLeft", alt=True))
    assert spans(ann) == [("ghd", 8, 20)] and state["frame"] == 8 and state["seek"] == 8
    state = apply_key(ann, key("ArrowRight", alt=True, frame=19), state)  # near the end
    assert spans(ann) == [("ghd", 8, 21)] and state["frame"] == 21
    state = run(ann, state, key("z", ctrl=True))
    assert spans(ann) == [("ghd", 8, 20)]


def test_nudge_refuses_overlap_with_a_message(ann):
    for a, b in [(10, 20), (21, 30)]:
        ann.start(a, "ghd")
        ann.end(b)
    state = run(ann, new_state(0, "ghd"), "Tab")
    state = apply_key(ann, key("ArrowRight", alt=True, frame=20), state)
    assert state["error"] and "overlaps" in state["message"]
    assert spans(ann) == [("ghd", 10, 20), ("ghd", 21, 30)]


def test_backspace_deletes_the_selected_rep_and_ctrl_z_brings_it_back(ann):
    ann.start(10, "ghd")
    ann.end(20)
    state = run(ann, new_state(0, "ghd"), "Backspace")
    assert state["error"] and "No rep selected" in state["message"]
    state = run(ann, state, "Tab", "Backspace")
    assert spans(ann) == [] and state["selected"] is None and "Ctrl+Z" in state["message"]
    state = run(ann, state, key("z", ctrl=True))
    assert spans(ann) == [("ghd", 10, 20)] and state["message"].startswith("Undone")
    state = run(ann, state, key("Z", ctrl=True, shift=True))
    assert spans(ann) == [] and state["message"].startswith("Redone")
    state = run(ann, state, key("Z", ctrl=True, shift=True))
    assert state["message"] == "Nothing to redo." and not state["error"]


def test_undo_redo_survive_a_new_annotator_object(ann):
    state = run(ann, new_state(5, "ohs"), "s", "ArrowRight", "e")
    again = Annotator(ann.store, 1, "alex")
    state = run(again, state, key("z", ctrl=True))
    assert spans(again) == [] and again.open_rep == {"label": "ohs", "start": 5}
    state = run(again, state, key("z", ctrl=True))
    assert again.open_rep is None


def test_refusals_come_back_as_messages_not_exceptions(ann):
    state = run(ann, new_state(10, "ghd"), "e")
    assert state["error"] and "No open rep" in state["message"]
    state = run(ann, state, "s", "ArrowLeft", "e")
    assert state["error"] and "before its start" in state["message"]
    state = run(ann, new_state(0, "ghd"), "Tab")
    assert state["error"] and "no reps" in state["message"]
    ann.start(10, "ghd")
    ann.end(20)
    state = apply_key(ann, key("s", frame=15), new_state(0, "ghd"))
    assert state["error"] and "inside your rep" in state["message"]


def test_space_and_question_mark_toggle_page_state_only(ann):
    state = run(ann, new_state(0, "ghd"), " ", "?")
    assert state["playing"] and state["show_keymap"]
    state = run(ann, state, " ")
    assert not state["playing"] and spans(ann) == []
    assert run(ann, state, "x")["message"] is None


def test_mouse_events_select_and_choose_the_movement(ann):
    ann.start(10, "ghd")
    rep = ann.end(20)
    other = Annotator(ann.store, 1, "bea")
    other.start(12, "ghd")
    theirs = other.end(22)
    state = apply_event(ann, {"type": "select", "uuid": theirs["uuid"]}, new_state(0, "ghd"))
    assert state["selected"] == theirs["uuid"] and "bea's" in state["message"]
    state = apply_key(ann, key("Backspace"), state)
    assert state["error"] and "belongs to bea" in state["message"]
    state = apply_event(ann, {"type": "select", "uuid": rep["uuid"]}, state)
    assert state["selected"] == rep["uuid"]
    state = apply_event(ann, {"type": "label", "label": "ohs"}, state)
    assert state["label"] == "ohs"
    state = apply_event(ann, {"type": "label", "label": "snatch"}, state)
    assert state["error"] and state["label"] == "ohs"
    state = apply_event(ann, {"type": "seek", "frame": 77}, state)
    assert state["frame"] == 77
