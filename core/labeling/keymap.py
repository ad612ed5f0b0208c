"""The Label page's keymap as pure logic: key event -> action -> `Annotator` call -> new page state.

No Streamlit here, so every key can be unit-tested. The page's key-capture component sends key
events like the browser's KeyboardEvent:

    {"key": "ArrowRight", "code": "ArrowRight", "shift": False, "alt": False, "ctrl": False,
     "meta": False, "frame": 10, "seq": 7}

`frame` (optional) is the frame on screen when the key was pressed; it becomes the current frame
before the key acts (the browser owns the cursor between events). `seq` is the event's sequence
number (the page processes each number once; see ui/labeler.py).

Page state is a plain dict (see `new_state`): frame, movement label, selected rep, playing,
keymap shown, and the outcome of the last action (`message`, `error`) and `seek` (a frame the
cursor must jump to, e.g. Tab selecting a rep elsewhere, or None).

Every edit goes through `core.labeling.annotator.Annotator`, so it is written at once and undoable;
refused edits come back as `error=True` with the message, never as an exception.
"""
from __future__ import annotations

from core.labeling.annotator import Annotator, LabelError
from core.base.store import StoreError

# The keymap of DESIGN.md, in its order: (keys, what they do). Shown on the page and on `?`.
KEYMAP: list[tuple[str, str]] = [
    ("Space", "play / pause"),
    ("← / →", "previous / next frame"),
    ("Shift+← / Shift+→", "back / forward 10 frames"),
    ("1 … 9", "choose the movement"),
    ("S", "start a rep at the current frame"),
    ("E", "end the open rep at the current frame"),
    ("Enter", "end the open rep here and start the next one at the following frame"),
    ("Tab / Shift+Tab", "next / previous rep"),
    ("Alt+← / Alt+→", "nudge the selected rep's nearer edge by one frame"),
    ("Backspace", "delete the selected rep"),
    ("Ctrl+Z / Ctrl+Shift+Z", "undo / redo"),
    ("P", "show / hide the pose skeleton (when the video has a pose track)"),
    ("?", "show the keymap"),
]

BIG_STEP = 10

# Actions that only move the cursor or change the view: the browser applies them on its own.
NAVIGATION = {"play", "prev", "next", "prev10", "next10", "keymap", "pose"}


def keymap_markdown() -> str:
    rows = "\n".join(f"| {k} | {what} |" for k, what in KEYMAP)
    return "| key | action |\n|---|---|\n" + rows


def new_state(frame: int = 0, label: str | None = None) -> dict:
    return {"frame": int(frame), "label": label, "selected": None, "playing": False, "show_keymap": False,
            "message": None, "error": False, "seek": None}


def key_action(event: dict) -> str | None:
    """The keymap action of a key event, or None for keys that are not shortcuts.

    Returns one of: play, prev, next, prev10, next10, label:<0-8>, start, end, enter, select_next,
    select_prev, nudge_prev, nudge_next, delete, undo, redo, keymap, pose.
    """
    key = str(event.get("key") or "")
    code = str(event.get("code") or "")
    shift, alt = bool(event.get("shift")), bool(event.get("alt"))
    ctrl = bool(event.get("ctrl")) or bool(event.get("meta"))
    lower = key.lower()
    if ctrl:
        if lower == "z" or code == "KeyZ":
            return "redo" if shift else "undo"
        if lower == "y" or code == "KeyY":
            return "redo"
        return None
    if key in ("ArrowLeft", "ArrowRight"):
        step = 1 if key == "ArrowRight" else -1
        if alt:
            return "nudge_next" if step > 0 else "nudge_prev"
        if shift:
            return "next10" if step > 0 else "prev10"
        return "next" if step > 0 else "prev"
    if alt:
        return None
    if key in (" ", "Space", "Spacebar") or code == "Space":
        return "play"
    if key == "?":
        return "keymap"
    digit = None
    if len(key) == 1 and key in "123456789":
        digit = int(key)
    elif (code.startswith("Digit") or code.startswith("Numpad")) and code[-1:] in "123456789" and not shift:
        digit = int(code[-1])
    if digit is not None:
        return f"label:{digit - 1}"
    if lower == "s" or (code == "KeyS" and not key):
        return "start"
    if lower == "e" or (code == "KeyE" and not key):
        return "end"
    if key == "Enter":
        return "enter"
    if lower == "p" or (code == "KeyP" and not key):
        return "pose"
    if key == "Tab":
        return "select_prev" if shift else "select_next"
    if key in ("Backspace", "Delete"):
        return "delete"
    return None


def apply_key(annotator: Annotator, event: dict, state: dict) -> dict:
    """Apply one key event to (annotator, state); returns the new state (the input is not changed).
    Keys that are not shortcuts leave the state as it is (message cleared)."""
    return apply_action(annotator, key_action(event), event, state)


def apply_event(annotator: Annotator, event: dict, state: dict) -> dict:
    """Any event of the page's component: a key (type "key", the default) or a mouse action:
    {"type": "select", "uuid"} (click on a rep; uuid None clears), {"type": "label", "label"}
    (click on a movement), {"type": "seek", "frame"} (click on the timeline)."""
    kind = event.get("type", "key")
    if kind == "key":
        return apply_key(annotator, event, state)
    if kind == "select":
        return apply_action(annotator, "select", event, state)
    if kind == "label":
        labels = annotator.store.labels()
        name = event.get("label")
        action = f"label:{labels.index(name)}" if name in labels else f"label:{len(labels)}"
        return apply_action(annotator, action, event, state)
    if kind == "seek":
        return apply_action(annotator, None, event, state)
    return dict(state, message=f"Unknown event {kind!r}.", error=True, seek=None)


def _say(rep: dict) -> str:
    n = rep["end"] - rep["start"] + 1
    return f"{rep['label']} rep {rep['start']}–{rep['end']} ({n} frame{'s' if n != 1 else ''})"


def apply_action(annotator: Annotator, action: str | None, event: dict, state: dict) -> dict:
    s = dict(new_state(), **state)
    s.update(message=None, error=False, seek=None)
    ann = annotator
    labels = ann.store.labels()
    if s["label"] not in labels:
        s["label"] = labels[0] if labels else None
    frame = event.get("frame")
    ann.seek(s["frame"] if frame is None else frame)
    ann.selected = s["selected"]
    try:
        if action in ("next", "prev", "next10", "prev10"):
            step = {"next": 1, "prev": -1, "next10": BIG_STEP, "prev10": -BIG_STEP}[action]
            ann.seek(ann.frame + step)
        elif action == "play":
            s["playing"] = not s["playing"]
        elif action == "keymap":
            s["show_keymap"] = not s["show_keymap"]
        elif action == "pose":
            s["show_pose"] = not s.get("show_pose", True)
        elif action and action.startswith("label:"):
            i = int(action.split(":", 1)[1])
            if not 0 <= i < len(labels):
                raise LabelError(f"There is no movement {i + 1}: this workspace has {len(labels)}.")
            s["label"] = labels[i]
            s["message"] = f"Movement: {labels[i]}."
            open_rep = ann.open_rep
            if open_rep and open_rep["label"] != labels[i]:
                ann.start(open_rep["start"], labels[i])
                s["message"] = f"Movement: {labels[i]}; the open rep from frame {open_rep['start']} is now {labels[i]}."
        elif action == "start":
            if not s["label"]:
                raise LabelError("Choose a movement first (1–9).")
            ann.start(ann.frame, s["label"])
            s["message"] = f"Started a {s['label']} rep at frame {ann.frame}; E ends it, Enter ends it and starts the next."
        elif action == "end":
            rep = ann.end(ann.frame)
            s["message"] = f"Stored {_say(rep)}."
        elif action == "enter":
            rep = ann.enter(ann.frame)
            nxt = ann.open_rep
            s["message"] = f"Stored {_say(rep)}; " + (
                f"next rep started at frame {nxt['start']}." if nxt else "no next rep (end of the video or a rep follows).")
        elif action in ("select_next", "select_prev"):
            rep = ann.select_next() if action == "select_next" else ann.select_prev()
            if rep is None:
                raise LabelError("You have no reps on this video yet.")
            ann.seek(rep["start"])
            s["seek"] = ann.frame
            s["message"] = f"Selected {_say(rep)}."
        elif action == "select":
            rep = ann.select(event.get("uuid"))
            s["message"] = f"Selected {rep['annotator']}'s {_say(rep)}." if rep else "Selection cleared."
        elif action in ("nudge_next", "nudge_prev"):
            before = ann.selected_rep
            rep = ann.nudge(1 if action == "nudge_next" else -1)
            edge = "start" if rep["start"] != (before or rep)["start"] else "end"
            ann.seek(rep[edge])
            s["seek"] = ann.frame
            s["message"] = f"Moved the {edge} to frame {rep[edge]}: {_say(rep)}."
        elif action == "delete":
            rep = ann.delete_selected()
            s["message"] = f"Deleted {_say(rep)} (Ctrl+Z brings it back)."
        elif action == "undo":
            what = ann.undo()
            s["message"] = f"Undone: {what}." if what else "Nothing to undo."
        elif action == "redo":
            what = ann.redo()
            s["message"] = f"Redone: {what}." if what else "Nothing to redo."
    except (LabelError, StoreError) as exc:
        s["message"], s["error"] = str(exc), True
    s["frame"] = ann.frame
    s["selected"] = ann.selected
    return s
