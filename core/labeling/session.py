"""A labelling session's state and its exchange with the Label page's component, without Streamlit:
the page state of one (video, annotator) (`new_ui`), the component's messages applied to the
store through the annotator and the keymap (`process_message`), what the component is sent
(`component_data`), reviews and copies of another annotator's reps. `ui.labeler` only keeps the
session in Streamlit's state and renders it."""
from __future__ import annotations

import logging

from core.base.store import StoreError
from core.labeling.annotator import Annotator, LabelError
from core.labeling.keymap import KEYMAP, apply_event, new_state
from core.media.frame_server import FrameServer, window

# One fixed colour per label position (Tableau 10, then repeats), so a movement keeps its colour.
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#bab0ac", "#17becf", "#bcbd22"]
REVIEW_CODE = {"accepted": 1, "rejected": -1, None: 0}
PREFETCH_AHEAD, PREFETCH_BEHIND = 120, 40  # frames decoded ahead of / behind the cursor


def color(position: int) -> str:
    return PALETTE[position % len(PALETTE)]


def new_ui(video_id: int, labels: list[str], open_rep: dict | None, counter: dict | None = None) -> dict:
    """Fresh page state of one (video, annotator): the cursor starts at the open rep, if any.
    `counter` numbers seeks and messages; share one per session so numbers never repeat."""
    counter = counter if counter is not None else {"n": 0}
    start = open_rep["start"] if open_rep else 0
    label = open_rep["label"] if open_rep else (labels[0] if labels else None)
    ui = {"video_id": video_id, "state": new_state(start, label), "client": None, "last_seq": 0, "last_rid": 0,
          "counter": counter, "seek": None, "message": None, "initial_sent": False}
    ui["seek"] = {"n": _next(ui), "frame": start, "nav": None, "seq": 0}
    return ui


def _next(ui: dict) -> int:
    ui["counter"]["n"] += 1
    return ui["counter"]["n"]


def say(ui: dict, text: str, error: bool = False) -> None:
    ui["message"] = {"n": _next(ui), "text": text, "kind": "error" if error else "info"}


def process_message(annotator: Annotator, ui: dict, msg: dict | None) -> tuple[list[int] | None, list[str]]:
    """Apply the new events of the component's `msg` (each seq once) to `ui`; returns (frames the
    browser asked for or None when this message was already handled, error messages)."""
    errors: list[str] = []
    if not isinstance(msg, dict) or msg.get("vid") != annotator.video_id:
        return None, errors
    if msg.get("client") != ui["client"]:
        ui.update(client=msg.get("client"), last_seq=0, last_rid=0)
    ui["pose_signals_held"] = msg.get("sig")  # the version of the joint signals the browser holds
    try:
        rid = int(msg.get("rid") or 0)
        frame = int(msg.get("frame") or 0)
    except (TypeError, ValueError):
        return None, errors
    if rid <= ui["last_rid"]:
        return None, errors
    ui["last_rid"] = rid
    for ev in msg.get("events") or []:
        try:
            seq = int(ev.get("seq") or 0)
        except (TypeError, ValueError, AttributeError):
            continue
        if seq <= ui["last_seq"]:
            continue
        seek = ui.get("seek")
        # A cursor jump Python asked for wins over the frame a later event carries, unless the
        # user moved the cursor in the browser since (then the browser skipped the jump).
        if seek and seek.get("nav") is not None and seq > seek.get("seq", 0) and ev.get("nav") == seek["nav"]:
            ev = dict(ev, frame=ui["state"]["frame"])
        try:
            state = apply_event(annotator, ev, ui["state"])
        except Exception as exc:  # noqa: BLE001 - a malformed event must not become a stack trace
            logging.getLogger(__name__).exception("label event %r failed", ev)
            state = dict(ui["state"], message=f"Could not handle that key ({type(exc).__name__}: {exc}).",
                         error=True, seek=None)
        ui["state"] = state
        ui["last_seq"] = seq
        if state["seek"] is not None:
            ui["seek"] = {"n": _next(ui), "frame": state["seek"], "nav": ev.get("nav"), "seq": seq}
        if state["message"]:
            say(ui, state["message"], state["error"])
            if state["error"]:
                errors.append(state["message"])
    # The cursor is the browser's, except after a jump Python asked for with no move in the
    # browser since: the browser goes (or went) there.
    seek = ui.get("seek")
    if seek and seek.get("nav") is not None and msg.get("nav") == seek["nav"]:
        ui["state"]["frame"] = annotator.seek(seek["frame"])
    else:
        ui["state"]["frame"] = annotator.seek(frame)
    ui["state"]["playing"] = bool(msg.get("playing"))
    need = [int(i) for i in (msg.get("need") or []) if isinstance(i, int)]
    return need, errors


def prefetch_window(frame: int, frames: int, fps: float, speed: float, playing: bool) -> list[int]:
    """The frames to decode ahead of the browser: paused, around the cursor; playing, the next ~6 s
    at the browser's stride (every k-th frame when fps × speed exceeds 60 a second, as the JS does)."""
    if not playing:
        return window(frame, frames, PREFETCH_AHEAD, PREFETCH_BEHIND)
    k = max(1, round(fps * speed / 60))
    return list(range(frame, min(frames, frame + max(PREFETCH_AHEAD, int(fps * speed * 6)) + 1), k))


def _rep_row(rep: dict, index: dict[str, int]) -> list:
    return [rep["start"], rep["end"], index.get(rep["label"], -1), rep["uuid"], REVIEW_CODE.get(rep["review"], 0)]


def component_data(*, video: dict, server: FrameServer, annotator: Annotator, ui: dict, labels: list[str],
                   other: str | None, speed: float) -> dict:
    """What the component gets besides the frames (those travel as JPEG bytes, see `core.media.frame_server.pack`)."""
    index = {name: i for i, name in enumerate(labels)}
    reps = annotator.reps()
    open_rep = annotator.open_rep
    data = {
        "video": {"id": video["id"], "frames": server.frames, "fps": server.fps, "dw": server.size[0],
                  "dh": server.size[1], "title": video["title"]},
        "frame": ui["state"]["frame"],
        "client": ui["client"], "ack": ui["last_seq"], "rid": ui["last_rid"],
        "labels": [{"name": name, "color": color(i)} for i, name in enumerate(labels)],
        "label": ui["state"]["label"],
        "me": annotator.annotator,
        "reps": [_rep_row(r, index) for r in reps],
        "open": {"label": index.get(open_rep["label"], -1), "start": open_rep["start"]} if open_rep else None,
        "selected": ui["state"]["selected"],
        "seek": {k: ui["seek"][k] for k in ("n", "frame", "nav")} if ui.get("seek") else None,
        "message": ui["message"],
        "speed": speed,
        "keymap": KEYMAP,
    }
    if other:
        data["other"] = [_rep_row(r, index) for r in annotator.store.segments(video["id"], other)]
        data["other_name"] = other
    return data


def review(store, video_id: int, annotator_name: str, ui: dict, uuid: str, state) -> None:
    try:
        rep = Annotator(store, video_id, annotator_name).review(uuid, state)
        say(ui, f"Marked {rep['annotator']}'s rep {rep['start']}–{rep['end']} {state or 'unreviewed'}.")
    except (LabelError, StoreError) as exc:
        say(ui, str(exc), True)


def copy_to_mine(store, video_id: int, annotator_name: str, ui: dict, uuid: str) -> None:
    try:
        new = Annotator(store, video_id, annotator_name).accept_draft(uuid)
        ui["state"]["selected"] = new["uuid"]
        say(ui, f"Copied the rep {new['start']}–{new['end']} into your reps.")
    except (LabelError, StoreError) as exc:
        say(ui, str(exc), True)
