"""The Label page's workbench: frame viewer + page-wide keys + canvas timeline (one components-v2
component, JS/CSS/HTML in ui/labeler/), run inside an `st.fragment` so a keystroke reruns only it.

How a key reaches Python: the component listens to `keydown` on the window (capture phase;
keys typed into inputs, selects, sliders and editable content are skipped), calls preventDefault
for the keys of the keymap, and puts the event — with a sequence number, the frame on screen
and a navigation counter — into its pending list, which it sends as the state value `msg`
(`setStateValue`). That reruns the fragment; `process_message` applies each event whose seq is
new exactly once (`core.labeling.keymap.apply_event` -> `core.labeling.annotator.Annotator`, autosaved), and the
fragment answers with `ack` = the last seq done, so the browser drops those from its list.
Arrows, Shift+arrows, Space and clicks on the timeline move the cursor in the browser at once,
from frames it already holds; the browser only asks for more frames (`need`) when fewer than
~20 ahead or ~10 behind remain, and Python sends them as JPEG bytes in one binary message
(`core.media.frame_server.pack`) from a per-video `FrameServer` (decoded by core.media.video, cached, prefetched in
a background thread). The browser decodes the frames near the cursor ahead of time
(createImageBitmap) and draws them on a canvas: → is one drawImage.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.base.errors import WorkbenchError
from core.base.store import StoreError
from core.labeling.agreement import video_agreement
from core.labeling.annotator import Annotator, LabelError
from core.labeling.session import (
    component_data,
    copy_to_mine,
    new_ui,
    prefetch_window,
    process_message,
    review,
)
from core.media.frame_server import FrameServer, pack, window
from core.media.video import VideoError
from ui.common import md_text

COMPONENT_KEY = "labeler"
ASSETS = Path(__file__).with_name("labeler")
SPEEDS = [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0]
INITIAL_AHEAD, INITIAL_BEHIND = 40, 15

_component = st.components.v2.component(
    "workbench_labeler",
    html=(ASSETS / "labeler.html").read_text(encoding="utf-8"),
    css=(ASSETS / "labeler.css").read_text(encoding="utf-8"),
    js=(ASSETS / "labeler.js").read_text(encoding="utf-8"),
    isolate_styles=True,
)


@st.cache_resource(max_entries=6, show_spinner=False)
def frame_server(path: str, sha256: str) -> FrameServer:
    """One frame server per video file, shared by every session (sha256 keys a replaced file)."""
    return FrameServer(path)


def _ui(video_id: int, annotator: str, labels: list[str], open_rep: dict | None) -> dict:
    """Page state of (video, annotator) in this session."""
    all_ui = st.session_state.setdefault("label_ui", {})
    counter = st.session_state.setdefault("label_counter", {"n": 0})
    key = f"{video_id}|{annotator}"
    if key not in all_ui:
        all_ui[key] = new_ui(video_id, labels, open_rep, counter)
    return all_ui[key]


def _review_buttons(annotator: Annotator, ui: dict) -> None:
    """Accept / reject / unreview the selected rep (any annotator's), or copy another's into mine.
    The buttons act in callbacks, before the fragment reruns, so it shows the new state at once."""
    rep = annotator.selected_rep
    if rep is None:
        st.caption("Select a rep (Tab, or click it on the timeline) to review it.")
        return
    mine = rep["annotator"] == annotator.annotator
    st.markdown(f"**Selected:** {md_text(rep['annotator'])}'s **{rep['label']}** {rep['start']}–{rep['end']} "
                f"({rep['end'] - rep['start'] + 1} frames) · review: **{rep['review'] or 'none'}**")
    cols = st.columns(3 if mine else 4)
    args = (annotator.store, annotator.video_id, annotator.annotator, ui, rep["uuid"])
    for col, (text, state) in zip(cols, [("Accept", "accepted"), ("Reject", "rejected"), ("Unreview", None)]):
        col.button(text, key=f"review_{text.lower()}", disabled=rep["review"] == state, width="stretch",
                   on_click=review, args=(*args, state))
    if not mine:
        cols[3].button("Copy to mine", key="accept_draft", width="stretch", on_click=copy_to_mine, args=args,
                       help="Copy this rep into your reps (an undoable edit).")


def _agreement(store, video_id: int, me: str, other: str, ui: dict) -> None:
    # Frame-level κ walks every frame (~0.1 s on a 20-minute video): only again when a rep changed.
    sig = hash(tuple((r["uuid"], r["label"], r["start"], r["end"], r["annotator"])
                     for r in store.segments(video_id) if r["annotator"] in (me, other)))
    cached = ui.get("agreement")
    if cached and cached[0] == (other, sig):
        ag = cached[1]
    else:
        ag = video_agreement(store, video_id, me, other)
        ui["agreement"] = ((other, sig), ag)
    pct = lambda v: "—" if v is None else f"{v:.2f}"  # noqa: E731
    st.markdown(f"**Agreement with {other}** (you are the reference; reps match at temporal IoU ≥ {ag.threshold:g}, "
                "same movement)")
    c1, c2 = st.columns(2)
    c1.metric("Precision", pct(ag.precision))
    c2.metric("Recall", pct(ag.recall))
    c1.metric("F1", pct(ag.f1))
    c2.metric("Frame κ", pct(ag.kappa), help="Cohen's κ over every frame's movement (or none)")
    st.caption(f"{ag.tp} matched of {ag.reps_a} (you) and {ag.reps_b} ({other}); "
               f"frames agreeing {ag.frame_agreement:.1%}.")


@st.fragment
def workbench(ws_root: str, video_id: int, annotator_name: str, other: str | None, speed: float) -> None:
    """The part of the Label page a keystroke reruns: viewer, timeline, reps, review, agreement."""
    from ui.common import workspace

    ws = workspace()
    store = ws.store()
    video = store.video(video_id)
    if video is None:
        st.warning("This video is no longer in the workspace.")
        return
    try:
        server = frame_server(str(ws.absolute(video["path"])), video["sha256"])
        annotator = Annotator(store, video_id, annotator_name)
    except (VideoError, LabelError, StoreError) as exc:
        st.error(f"Can't open this video for labelling: {exc}")
        return
    labels = store.labels()
    ui = _ui(video_id, annotator_name, labels, annotator.open_rep)
    try:
        msg = (st.session_state.get(COMPONENT_KEY) or {}).get("msg")
    except Exception:  # noqa: BLE001 - no component state yet
        msg = None
    need, errors = process_message(annotator, ui, msg)
    annotator.seek(ui["state"]["frame"])
    annotator.selected = ui["state"]["selected"]
    if annotator.selected and annotator.selected_rep is None:
        annotator.selected = ui["state"]["selected"] = None
    for text in errors[-2:]:
        st.toast(text, icon="⚠️")

    frame = ui["state"]["frame"]
    playing = ui["state"]["playing"]
    if need is None and not ui["initial_sent"]:
        need = window(frame, server.frames, INITIAL_AHEAD, INITIAL_BEHIND)
        ui["initial_sent"] = True
    try:
        frames = server.frames_for(need, budget_s=0.3) if need else {}
        server.prefetch(prefetch_window(frame, server.frames, server.fps, speed, playing))
    except VideoError as exc:
        st.error(f"Can't decode this video: {exc}")
        frames = {}

    left, right = st.columns([3, 1.25], gap="medium")
    with left:
        meta = component_data(video=video, server=server, annotator=annotator, ui=ui, labels=labels,
                              other=other, speed=speed)
        meta["pose"] = pose_payload(pose_view(ws, video), frames, ui)
        _component(
            key=COMPONENT_KEY,
            data=pack(meta, frames),
            default={"msg": None},
            on_msg_change=lambda: None,
        )
    with right:
        reps = annotator.reps()
        open_rep = annotator.open_rep
        st.markdown(f"**{len(reps)} rep{'' if len(reps) == 1 else 's'}** by **{md_text(annotator_name)}**"
                    + (f" · open rep: {open_rep['label']} from frame {open_rep['start']}" if open_rep else ""))
        _review_buttons(annotator, ui)
        if other:
            _agreement(store, video_id, annotator_name, other, ui)
    _reps_table(annotator, reps, ui)


def _reps_table(annotator: Annotator, reps: list[dict], ui: dict) -> None:
    import pandas as pd

    rows = [{"": "▶" if r["uuid"] == ui["state"]["selected"] else "", "movement": r["label"], "start": r["start"],
             "end": r["end"], "length": r["end"] - r["start"] + 1, "review": r["review"] or "",
             "updated": r["updated_at"][:19].replace("T", " ")} for r in reps]
    table = pd.DataFrame(rows, columns=["", "movement", "start", "end", "length", "review", "updated"])
    with st.expander(f"Your reps on this video ({len(reps)})", expanded=True):
        st.dataframe(table, hide_index=True, key="my_reps", height=min(38 + 35 * max(1, len(rows)), 300),
                     width="stretch")


# --- pose track: skeleton overlay, joint signals, computing it, the athlete ---------------------------
# Joint signals under the timeline: (name, landmarks averaged, colour); values are heights in frame
# units (1 - y / frame height: 0 at the bottom edge, 1 at the top).
POSE_SIGNALS = (("hip", ("left_hip", "right_hip"), "#2f9e44"),
                ("wrist", ("left_wrist", "right_wrist"), "#1c7ed6"))


@st.cache_resource(max_entries=4, show_spinner=False)
def _pose_view(ws_root: str, video_id: int, track_path: str, mtime_ns: int, roi: str) -> dict | None:
    """The stored track of a video with what the page sends from it (cached per file version)."""
    import numpy as np

    from core.base.workspace import Workspace
    from core.pose import store as pose_store
    from core.pose.landmarks import INDEX

    track = pose_store.load_track(Workspace(ws_root), video_id)
    if track is None:
        return None
    has = track.has_pose
    series = []
    for name, joints, colour in POSE_SIGNALS:
        y = track.xy[:, [INDEX[j] for j in joints], 1].astype(np.float64).mean(axis=1)
        h = np.where(has, 1.0 - y / max(1, track.height), np.nan)
        series.append({"name": name, "color": colour,
                       "values": [round(float(v), 4) if np.isfinite(v) else None for v in h]})
    return {"track": track, "tag": f"{track.step}:{mtime_ns}", "series": series,
            "left": [i for n, i in INDEX.items() if n.startswith("left")]}


def pose_view(ws, video: dict) -> dict | None:
    """The video's pose track as the labeller shows it, or None when it has none (yet)."""
    from core.pose import store as pose_store

    try:
        status = pose_store.track_status(ws, video["id"])
        if status["state"] != "done":
            return None
        path = Path(status["file"])
        return _pose_view(str(ws.root), video["id"], str(path), path.stat().st_mtime_ns,
                          str(video["roi"]))
    except (OSError, WorkbenchError):
        return None


def pose_payload(view: dict | None, frames, ui: dict) -> dict:
    """The pose part of the component's data: the landmarks of the nearest sampled frame for each
    frame sent now (`lm`: index -> {"xy": [x0, y0, x1, …] full-resolution pixels, "v": "0110…"
    visibility >= 0.5} or None where the track has no pose), and the joint signals until the
    browser says it holds this version (`sig` in its message; it keeps them). `tag` names the
    track version (None: no track), so the browser drops landmarks of an older one."""
    import numpy as np

    if view is None:
        return {"tag": None}
    track = view["track"]
    out = {"tag": view["tag"], "fw": track.width, "fh": track.height,
           "edges": [list(e) for e in track.edges], "left": view["left"], "lm": {}}
    if len(track):
        idx = np.asarray(sorted(int(i) for i in frames), np.int64)
        j = np.clip(np.searchsorted(track.frames, idx), 0, len(track) - 1)
        prev = np.clip(j - 1, 0, len(track) - 1)
        j = np.where(np.abs(track.frames[prev] - idx) < np.abs(track.frames[j] - idx), prev, j)
        has = track.has_pose
        for i, t in zip(idx.tolist(), j.tolist()):
            out["lm"][str(i)] = None if not has[t] else {
                "xy": np.round(track.xy[t].astype(np.float64), 1).ravel().tolist(),
                "v": "".join("1" if v >= 0.5 else "0" for v in track.visibility[t].tolist())}
    if ui.get("pose_signals_held") != view["tag"]:
        out["signals"] = {"frames": track.frames.tolist(), "series": view["series"]}
    return out


def _pose_task_key(video_id: int) -> str:
    return f"pose_{video_id}"


def _start_pose_task(ws, video_id: int, recompute: bool = False) -> None:
    from core.pose import store as pose_store
    from ui import tasks

    tasks.start(_pose_task_key(video_id), f"Pose track of video {video_id}",
                lambda task: pose_store.ensure_track(ws, video_id, progress=task.report,
                                                     cancel=task.cancel,
                                                     recompute=recompute).summary())


def _pose_summary_text(s: dict) -> str:
    lost = s["lost_ranges"]
    return (f"{s['frames_sampled']} frames sampled (every {s['step']}), "
            f"{100 * s['share_with_pose']:.1f}% with a pose"
            + (f"; lost {len(lost)} time(s), e.g. frames {lost[0][0]}–{lost[0][1]}" if lost else "")
            + (" — **no pose found**: nobody the detector recognises as a person." if s["status"] == "no pose" else "."))


def pose_panel(ws, store, video_id: int, annotator_name: str) -> None:
    """Compute the pose track (a background task with progress and cancel), see what it found, and
    correct who the athlete is: pick one of the people detected on the frame on screen."""
    from core.pose import store as pose_store
    from ui import tasks

    video = store.video(video_id)
    key = _pose_task_key(video_id)
    task = tasks.get(key)
    status = pose_store.track_status(ws, video_id)
    state_text = {"done": "P shows the skeleton", "partial": "partly computed",
                  "other box": "to recompute for the new athlete box"}.get(status["state"], "none yet")
    with st.expander(f"Pose track ({state_text}): skeleton overlay, joint signals, the athlete",
                     expanded=task is not None):
        if task is not None:
            def shown(summary):
                st.success("Pose track ready: " + _pose_summary_text(summary))
                if not st.session_state.get(f"{key}_shown"):  # show it in the labeller once
                    st.session_state[f"{key}_shown"] = True
                    st.rerun(scope="app")
            tasks.show(key, shown)
        running = task is not None and task.running
        if status["state"] == "done":
            track = pose_store.load_track(ws, video_id)
            if track is not None:
                st.markdown("**Pose track:** " + _pose_summary_text(track.summary()))
            st.caption("P shows or hides the skeleton on the frame; the hip (green) and wrist (blue) "
                       "heights are plotted under the timeline, on its frame axis.")
        elif status["state"] == "partial":
            st.info(f"A pose track was started: {status['frames_done']} of {status['frames_total']} "
                    f"sampled frames done. Continue it to see the skeleton.")
        elif status["state"] == "other box":
            st.info("The athlete box changed since the pose track was computed: compute it again "
                    "to follow the athlete in the box.")
        else:
            st.info("This video has no pose track yet: compute it to see the athlete's skeleton on "
                    "the frames and the joint signals under the timeline.")
        label = {"done": "Recompute pose track", "partial": "Continue pose track"}.get(
            status["state"], "Compute pose track")
        if st.button(label, key="pose_compute", disabled=running,
                     type="secondary" if status["state"] == "done" else "primary"):
            st.session_state.pop(f"{key}_shown", None)
            _start_pose_task(ws, video_id, recompute=status["state"] == "done")
            st.rerun()

        st.markdown("**The athlete.** " + (
            f"Box ({', '.join(str(v) for v in video['roi'])}) picks the athlete."
            if video["roi"] else "Chosen automatically: the person whose body moves most."))
        ui = st.session_state.get("label_ui", {}).get(f"{video_id}|{annotator_name}")
        frame = ui["state"]["frame"] if ui else 0
        found = st.session_state.get("pose_people")
        c1, c2 = st.columns(2)
        if c1.button(f"Find the people on frame {frame}", key="pose_find", disabled=running):
            try:
                people = pose_store.people_on_frame(ws, video_id, frame)
            except WorkbenchError as exc:
                st.error(str(exc))
                people = None
            found = st.session_state["pose_people"] = (
                None if people is None else {"video": video_id, "frame": frame, "people": people})
        if c2.button("Choose automatically", key="pose_auto", disabled=running or not video["roi"],
                     help="Forget the athlete box: the person whose body moves most is followed."):
            pose_store.set_athlete(ws, video_id, None)
            st.session_state.pop(f"{key}_shown", None)
            _start_pose_task(ws, video_id)
            st.rerun()
        if found and found["video"] == video_id:
            people = found["people"]
            if not people:
                st.warning(f"Nobody found on frame {found['frame']}: move to a frame where the "
                           f"athlete is in full view, or draw the athlete box below.")
            else:
                server = frame_server(str(ws.absolute(video["path"])), video["sha256"])
                st.image(_people_image(server.jpeg(found["frame"]), people, (server.width, server.height)),
                         width=min(480, server.size[0]),
                         caption=f"Frame {found['frame']}: {len(people)} people found")
                cols = st.columns(min(4, len(people)))
                for k, person in enumerate(people):
                    if cols[k % len(cols)].button(f"Person {k + 1} is the athlete", key=f"pose_pick_{k}",
                                                   disabled=running):
                        pose_store.set_athlete(ws, video_id, person["box"])
                        st.session_state.pop("pose_people", None)
                        st.session_state.pop(f"{key}_shown", None)
                        _start_pose_task(ws, video_id)
                        st.rerun()


def _people_image(jpeg: bytes, people: list[dict], frame_size: tuple[int, int]):
    """The frame with each person's box and number drawn on it."""
    import cv2
    import numpy as np

    rgb = cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    sx, sy = rgb.shape[1] / frame_size[0], rgb.shape[0] / frame_size[1]
    thick = max(2, rgb.shape[1] // 240)
    for k, person in enumerate(people):
        x0, y0, x1, y1 = person["box"]
        p0, p1 = (round(x0 * sx), round(y0 * sy)), (round(x1 * sx) - 1, round(y1 * sy) - 1)
        cv2.rectangle(rgb, p0, p1, (28, 126, 214), thick)
        cv2.putText(rgb, str(k + 1), (p0[0] + 4, p0[1] + 24), cv2.FONT_HERSHEY_SIMPLEX, 0.9,
                    (28, 126, 214), thick, cv2.LINE_AA)
    return rgb


# --- athlete box -----------------------------------------------------------------------------------
def roi_from_rect(obj: dict, canvas_size: tuple[int, int], frame_size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """A Fabric.js rect drawn on a canvas of canvas_size (w, h) showing the whole frame, as
    (x0, y0, x1, y1) in the frame's full-resolution pixels (x1, y1 exclusive), clipped to the
    frame; None when it has no area."""
    cw, ch = canvas_size
    fw, fh = frame_size
    w = float(obj.get("width", 0)) * float(obj.get("scaleX", 1) or 1)
    h = float(obj.get("height", 0)) * float(obj.get("scaleY", 1) or 1)
    left, top = float(obj.get("left", 0)), float(obj.get("top", 0))
    if obj.get("originX") == "center":
        left -= w / 2
    if obj.get("originY") == "center":
        top -= h / 2
    sx, sy = fw / cw, fh / ch
    x0, x1 = sorted((left * sx, (left + w) * sx))
    y0, y1 = sorted((top * sy, (top + h) * sy))
    box = (max(0, round(x0)), max(0, round(y0)), min(fw, round(x1)), min(fh, round(y1)))
    return box if box[2] > box[0] and box[3] > box[1] else None


def rect_from_roi(roi, canvas_size: tuple[int, int], frame_size: tuple[int, int], **style) -> dict:
    """The Fabric.js rect that shows a stored box on the canvas (inverse of roi_from_rect)."""
    cw, ch = canvas_size
    fw, fh = frame_size
    x0, y0, x1, y1 = roi
    return {"type": "rect", "left": x0 * cw / fw, "top": y0 * ch / fh, "width": (x1 - x0) * cw / fw,
            "height": (y1 - y0) * ch / fh, "originX": "left", "originY": "top", "scaleX": 1, "scaleY": 1,
            "angle": 0, "strokeUniform": True, **style}


def athlete_box(ws, store, video_id: int, annotator_name: str) -> None:
    video = store.video(video_id)
    with st.expander("Athlete box (the crop for clips and training)"):
        ui = st.session_state.get("label_ui", {}).get(f"{video_id}|{annotator_name}")
        frame = ui["state"]["frame"] if ui else 0
        try:
            server = frame_server(str(ws.absolute(video["path"])), video["sha256"])
            frame = min(frame, server.frames - 1)
            jpeg = server.jpeg(frame)
        except VideoError as exc:
            st.error(f"Can't decode this video: {exc}")
            return
        fw, fh = server.width, server.height
        if video["roi"]:
            x0, y0, x1, y1 = video["roi"]
            st.markdown(f"Stored box: **({x0}, {y0}) – ({x1}, {y1})**, {x1 - x0}×{y1 - y0} px of {fw}×{fh}.")
        else:
            st.markdown("No box stored: clips and training use the whole frame.")
        editing = st.toggle("Draw or change the box", key=f"roi_edit_{video_id}")
        if not editing:
            st.image(_boxed(jpeg, video["roi"], (fw, fh)), width=min(480, server.size[0]),
                     caption=f"Frame {frame} with the stored box" if video["roi"] else f"Frame {frame}")
            return
        _draw_box(store, video, server, frame, jpeg)


def _boxed(jpeg: bytes, roi, frame_size: tuple[int, int]):
    """The frame (RGB) with the box drawn on it, at the size it was encoded."""
    import cv2
    import numpy as np

    rgb = cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    if roi:
        sx, sy = rgb.shape[1] / frame_size[0], rgb.shape[0] / frame_size[1]
        x0, y0, x1, y1 = roi
        cv2.rectangle(rgb, (round(x0 * sx), round(y0 * sy)), (round(x1 * sx) - 1, round(y1 * sy) - 1), (217, 72, 15),
                      max(2, rgb.shape[1] // 240))
    return rgb


def _draw_box(store, video: dict, server: FrameServer, frame: int, jpeg: bytes) -> None:
    from streamlit_drawable_canvas import st_canvas

    from core.media.frame_server import data_uri

    video_id = video["id"]
    fw, fh = server.width, server.height
    scale = min(1.0, 720 / fw, 480 / fh)
    cw, ch = max(2, round(fw * scale)), max(2, round(fh * scale))
    st.caption(f"Drag a rectangle around the athlete on frame {frame} (the frame on screen when the page last ran; "
               f"“Use the frame on screen” refreshes it). The box is stored in full-resolution pixels of the "
               f"{fw}×{fh} frame, for the whole video.")
    style = {"stroke": "#d9480f", "strokeWidth": 2, "fill": "rgba(217,72,15,0.12)"}
    initial = {"objects": [rect_from_roi(video["roi"], (cw, ch), (fw, fh), **style)]} if video["roi"] else None
    result = st_canvas(
        fill_color=style["fill"], stroke_width=2, stroke_color=style["stroke"], background_image=data_uri(jpeg),
        height=ch, width=cw, drawing_mode="rect", initial_drawing=initial,
        key=f"roi_canvas_{video_id}_{video['roi']}",
    )
    rects = [o for o in ((result.json_data or {}).get("objects") or []) if str(o.get("type", "")).lower() == "rect"]
    drawn = roi_from_rect(rects[-1], (cw, ch), (fw, fh)) if rects else None
    c1, c2, c3 = st.columns(3)
    if c1.button("Save this box", key="roi_save", disabled=drawn is None or list(drawn) == (video["roi"] or []),
                 type="primary"):
        store.set_video_roi(video_id, drawn)
        st.rerun()
    if c2.button("Clear the box", key="roi_clear", disabled=not video["roi"]):
        store.set_video_roi(video_id, None)
        st.rerun()
    c3.button("Use the frame on screen", key="roi_refresh")
    if drawn and list(drawn) != (video["roi"] or []):
        st.caption(f"Drawn: ({drawn[0]}, {drawn[1]}) – ({drawn[2]}, {drawn[3]}); press “Save this box” to keep it.")


# --- progress --------------------------------------------------------------------------------------
def progress_tables(store) -> tuple["pd.DataFrame", list[dict]]:
    """(reps per video × annotator × movement, videos with no reps)."""
    import pandas as pd

    videos = store.videos()
    labels = store.labels()
    counts: dict[tuple[int, str], dict[str, int]] = {}
    for s in store.segments():
        counts.setdefault((s["video_id"], s["annotator"]), {}).setdefault(s["label"], 0)
        counts[(s["video_id"], s["annotator"])][s["label"]] += 1
    title = {v["id"]: v["title"] for v in videos}
    rows = []
    for (vid, who), per in sorted(counts.items()):
        row = {"video": f"{vid} · {title.get(vid, '?')}", "annotator": who, "reps": sum(per.values())}
        row.update({label: per.get(label, 0) for label in labels})
        rows.append(row)
    table = pd.DataFrame(rows, columns=["video", "annotator", "reps", *labels])
    labelled = {vid for vid, _ in counts}
    todo = [v for v in videos if v["id"] not in labelled]
    return table, todo


def progress(store) -> None:
    with st.expander("Progress: reps per video, annotator and movement"):
        table, todo = progress_tables(store)
        if table.empty:
            st.info("No reps labelled yet.")
        else:
            st.dataframe(table, hide_index=True, key="progress_table", width="stretch")
        if todo:
            st.markdown(f"**{len(todo)} video(s) still need labels:** "
                        + ", ".join(f"{v['id']} · {v['title']}" for v in todo))
        else:
            st.markdown("Every video has reps.")


# --- Supervisely -----------------------------------------------------------------------------------
def supervisely_panel(ws, store, annotator_name: str) -> None:
    from ui.supervisely_panel import panel  # the panel lives in ui/supervisely_panel.py

    panel(ws, store, annotator_name)
