"""Analyze: a whole workout video -> a timeline of movements, reps per movement, a draft for the Label page."""
import json
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.dataset.windows import NONE
from core.analysis import drafts as an_drafts

from core.analysis import settings as an_settings

from core.analysis import workout as an_workout
from core.labeling.annotator import LabelError
from core.media.library import MAX_UPLOAD_BYTES, VIDEO_SUFFIXES
from core.base.store import StoreError
from core.media.uploads import temporary_upload
from ui import tasks
from ui.common import model_picker, page, registered_models
from ui.skeleton import skeleton_view

ws = page(
    "Analyze",
    "⏱️",
    "Drop in a whole workout: the model classifies overlapping one-second windows, a smoother turns them "
    "into movement segments with rest in between, and the motion of the athlete counts the reps. Click a "
    "segment to watch it; send the reps to the Label page as a draft to turn them into labels.",
)
store = ws.store()
TYPES = sorted(s.lstrip(".") for s in VIDEO_SUFFIXES)
TASK = "analyze"
PALETTE = ["#1c7ed6", "#d9480f", "#2f9e44", "#ae3ec9", "#f08c00", "#0c8599", "#e03131", "#5c940d", "#6741d9",
           "#c2255c", "#495057"]


def knows_rest(row) -> bool:
    """Trained on whole-workout windows (preset analyze): the model has its own none class."""
    return NONE in row["labels"]


by_id = registered_models(store)
model = model_picker(by_id, "an_model", lambda i: f"{i} · {len(by_id[i]['labels']) - knows_rest(by_id[i])} movements"
                                                  f"{' + rest' if knows_rest(by_id[i]) else ''} · "
                                                  f"{str(by_id[i]['created_at'])[:16]}", for_workouts=True)
if not knows_rest(model):
    st.caption("This model was trained on rep clips only; a model fine-tuned on whole-workout windows (Train page, "
               "preset **analyze**) knows rests and set-ups and gives a better timeline (held-out demo workouts: movement "
               "right on 0.55 of the rep frames with a clip model, 0.93 with the window model).")
model_id = model["id"]

with st.expander("Analysis settings"):
    c1, c2, c3 = st.columns(3)
    window_s = c1.number_input("Window (s)", 0.3, 4.0, an_settings.Settings.window_s, 0.1, key="an_window",
                               help="Span of one model window: about one rep.")
    stride_s = c2.number_input("Stride (s)", 0.1, 2.0, an_settings.Settings.stride_s, 0.05, key="an_stride",
                               help="A window starts this often. Smaller: finer timeline, slower.")
    if knows_rest(model):
        none_weight = c3.number_input("Rest weight", 0.01, 1.0, an_settings.Settings.none_weight, 0.05, key="an_none_weight",
                                      help="The model's own 'none' (rest) probability is scaled by this before the "
                                           "smoother compares it with the movements: lower finds more of the sets "
                                           "(the model saw rest in ~40 % of its training windows).")
        none_threshold = an_settings.Settings.none_threshold
    else:
        none_threshold = c3.number_input("Rest below probability", 0.0, 1.0, an_settings.Settings.none_threshold, 0.05,
                                         key="an_none", help="Frames whose likeliest movement is less likely than "
                                                             "this are rest / transition.")
        none_weight = an_settings.Settings.none_weight
    c4, c5, c6 = st.columns(3)
    switch_penalty = c4.number_input("Switching penalty", 0.0, 200.0, an_settings.Settings.switch_penalty, 1.0,
                                     key="an_switch", help="Log-probability cost of changing movement: higher "
                                                           "gives fewer, longer segments.")
    min_segment_s = c5.number_input("Shortest segment (s)", 0.0, 30.0, an_settings.Settings.min_segment_s, 0.5,
                                    key="an_minseg")
    prior = c6.selectbox("Rep duration prior", ["slow", "movement", "broad"], key="an_prior",
                         help="slow (default): at least MOVEMENTS.md's shortest rep of the predicted movement, "
                              "at most 4.5 s (everyday athletes are slower than competition footage); movement: "
                              "MOVEMENTS.md's rep timing only; broad: 0.3–4.5 s whatever the movement.")
    rep_vote = st.checkbox("Re-name each set by classifying its reps as whole clips", key="an_vote",
                           value=not knows_rest(model),
                           help="Helps a model trained on rep clips only; a model trained on windows names the "
                                "sets better itself (measured on the demo's val workouts). Costs a second decode "
                                "of the reps.")
settings = an_settings.Settings(window_s=float(window_s), stride_s=float(stride_s), none_threshold=float(none_threshold),
                       none_weight=float(none_weight), switch_penalty=float(switch_penalty),
                       min_segment_s=float(min_segment_s), prior=prior, rep_vote=bool(rep_vote))

# --- the input ------------------------------------------------------------------------------------
SOURCES = {"video": "A workspace video", "upload": "Upload a video"}
source = st.radio("Video", list(SOURCES), format_func=SOURCES.get, horizontal=True, key="an_source")
video = None
upload = None
if source == "video":
    videos = store.videos()
    if not videos:
        st.info("No videos in the workspace yet — add some on the **Videos** page, or upload one here.")
        st.stop()
    vids = {v["id"]: v for v in videos}
    wanted = st.query_params.get("video")
    if st.session_state.get("an_video") not in vids:
        st.session_state["an_video"] = int(wanted) if wanted and wanted.isdigit() and int(wanted) in vids \
            else videos[0]["id"]
    vid = st.selectbox("Workspace video", list(vids), key="an_video",
                       format_func=lambda i: f"{i} · {vids[i]['title'] or vids[i]['path']} · "
                                             f"{vids[i]['frames'] / (vids[i]['fps'] or 30):.0f} s")
    video = vids[vid]
    signature = ("video", vid, model_id, tuple(sorted(settings.to_json().items(), key=str)))
else:
    limit_mb = min(MAX_UPLOAD_BYTES // 2**20, int(st.get_option("server.maxUploadSize")))
    upload = st.file_uploader(f"Workout video — up to {limit_mb} MB", type=TYPES, key="an_upload")
    st.caption("An uploaded video is analysed from a temporary copy; to send its reps to the Label page, add it "
               "on the **Videos** page first.")
    signature = ("upload", upload.name if upload else None, getattr(upload, "file_id", None), model_id,
                 tuple(sorted(settings.to_json().items(), key=str)))


def work(task: tasks.Task):
    def progress(done, total, stage):
        task.progress = min(1.0, done / total) if total else 0.0
        task.status = f"{stage} — frame {done:,} of {total:,}"

    if video is not None:
        result = an_workout.analyze_video(ws, model, video["id"], settings, progress, task.cancel)
        return {"signature": signature, "analysis": result, "path": str(ws.absolute(video["path"]))}
    upload.seek(0)
    with temporary_upload(ws, upload, upload.name, purpose="analyze") as tmp:
        result = an_workout.analyze_file(ws, model, tmp, settings, progress, task.cancel)
    result.video = upload.name
    return {"signature": signature, "analysis": result, "data": upload}


running = (tasks.get(TASK) is not None and tasks.get(TASK).running)
if st.button("Analyze", type="primary", key="an_run", disabled=running or (video is None and upload is None)):
    st.session_state.pop("an_result", None)
    tasks.start(TASK, "Analysing", work)
    st.rerun()


def keep_result(res) -> None:
    """The finished task's result moves into the session (the results section below shows it)."""
    if st.session_state.get("an_result") is not res:
        st.session_state["an_result"] = res
        st.session_state["an_seek"] = 0.0
        st.rerun(scope="app")


task = tasks.get(TASK)
if task is not None:
    if task.running:
        tasks.show(TASK, keep_result, cancel_label="Cancel analysis")
    elif task.error:
        st.error(task.error if "Cancelled" not in task.error else "Analysis cancelled.")
        tasks.clear(TASK)
    elif task.result is not None:
        st.session_state["an_result"] = task.result
        tasks.clear(TASK)

res = st.session_state.get("an_result")
if res is None:
    st.caption("Press **Analyze**. A one-minute 480p workout takes a few seconds on two cores.")
    st.stop()
if res["signature"] != signature:
    st.caption("The video, model or settings changed since the last analysis: press **Analyze** again.")
    st.stop()

a: an_workout.Analysis = res["analysis"]
labels = list(a.labels)
color = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(labels)}
segs = a.segments

# --- the timeline ---------------------------------------------------------------------------------
st.subheader("Timeline")
m1, m2, m3, m4 = st.columns(4)
m1.metric("Duration", f"{a.duration_s:.1f} s")
m2.metric("Movements", len({s["movement"] for s in segs}))
m3.metric("Reps", sum(s["count"] for s in segs))
m4.metric("Analysis speed", f"{a.realtime_factor:.1f}× real time",
          help=f"decode {a.timings.get('decode', 0):.1f} s · model {a.timings.get('model', 0):.1f} s · "
               f"preprocess {a.timings.get('preprocess', 0):.1f} s · reps {a.timings.get('reps', 0):.1f} s")

rows = [m for m in labels if any(s["movement"] == m for s in segs)]
fig = go.Figure()
for i, s in enumerate(segs):
    t0, t1 = s["start_frame"] / a.fps, (s["end_frame"] + 1) / a.fps
    fig.add_trace(go.Bar(
        y=[s["movement"]], x=[t1 - t0], base=[t0], orientation="h", marker_color=color[s["movement"]],
        opacity=0.55, customdata=[[i]], name=s["movement"], showlegend=False,
        hovertemplate=(f"<b>{s['movement']}</b><br>{t0:.1f}–{t1:.1f} s (frames {s['start_frame']}–{s['end_frame']})"
                       f"<br>{s['count']} reps · confidence {s['confidence']:.2f}<extra>click to watch</extra>")))
    if s["reps"] and s.get("judged"):  # a pose model's judge: each rep green (valid) or red (no-rep), why on hover
        judged = s["judged"]
        fig.add_trace(go.Scatter(
            y=[s["movement"]] * len(judged), x=[(j["start"] + j["end"]) / 2 / a.fps for j in judged], mode="markers",
            marker=dict(symbol="line-ns", size=22, line=dict(width=4),
                        color=["#2f9e44" if j["valid"] else "#e03131" for j in judged]),
            customdata=[[i, k, j["start"], j["end"], ("valid" if j["valid"] else "no-rep: " + (j["reason"] or "?"))]
                        for k, j in enumerate(judged)], showlegend=False,
            hovertemplate="rep %{customdata[1]}: frames %{customdata[2]}–%{customdata[3]}<br>%{customdata[4]}"
                          "<extra>click to go to its first frame</extra>"))
    if s.get("partial_reps"):  # cut by the video's start or end: shown, not counted
        fig.add_trace(go.Scatter(
            y=[s["movement"]] * len(s["partial_reps"]), x=[(j["start"] + j["end"]) / 2 / a.fps for j in s["partial_reps"]],
            mode="markers", marker=dict(symbol="line-ns", size=22, line=dict(width=4), color="#adb5bd"),
            customdata=[[-1, j["start"], j["end"], j["reason"]] for j in s["partial_reps"]], showlegend=False,
            hovertemplate="frames %{customdata[1]}–%{customdata[2]}<br>%{customdata[3]} (not counted)<extra></extra>"))
    elif s["reps"]:
        fig.add_trace(go.Scatter(
            y=[s["movement"]] * len(s["reps"]), x=[r[0] / a.fps for r in s["reps"]], mode="markers",
            marker=dict(symbol="line-ns-open", size=18, color="#212529", line=dict(width=2)),
            customdata=[[i, k] for k in range(len(s["reps"]))], showlegend=False,
            hovertemplate="rep %{customdata[1]} starts at %{x:.2f} s<extra></extra>"))
fig.update_layout(barmode="overlay", height=90 + 46 * max(1, len(rows)), margin=dict(l=0, r=10, t=10, b=30),
                  xaxis=dict(title="seconds", range=[0, a.duration_s]), clickmode="event+select",
                  yaxis=dict(categoryorder="array", categoryarray=rows[::-1]))
pose = a.pose or {}
if pose.get("message"):
    st.warning(f"{pose['message'].capitalize()}: the pose model sees no one to judge in this video.")
elif not segs:
    st.info("No movement found: every window was less likely than the rest threshold, or no rep cycle was "
            "found in the motion. Try a lower *Rest below probability* in the settings.")
if pose.get("warning") and not pose.get("message"):
    st.warning(pose["warning"] + ".")
event = st.plotly_chart(fig, key="an_timeline", on_select="rerun", selection_mode="points", width="stretch")

# the probabilities behind it
with st.expander("Window probabilities"):
    pf = go.Figure()
    for k, m in enumerate(labels):
        pf.add_trace(go.Scatter(x=a.centers / a.fps, y=a.probs[:, k], name=m, mode="lines",
                                line=dict(color=color[m], width=1.5)))
    pf.add_hline(y=a.settings.none_threshold, line_dash="dot", annotation_text="rest below")
    pf.update_layout(height=260, margin=dict(l=0, r=10, t=10, b=30), xaxis_title="seconds",
                     yaxis=dict(range=[0, 1], title="probability"))
    st.plotly_chart(pf, key="an_probs", width="stretch")

# a click on a segment (or a rep tick) seeks the player there; a select box does the same
picked = None
try:
    points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else \
        event.selection.points
except AttributeError:
    points = []
if points:
    cd = points[0].get("customdata")
    if cd:
        i = int(cd[0])
        if 0 <= i < len(segs):
            picked = segs[i]["reps"][int(cd[1])][0] if len(cd) > 1 else segs[i]["start_frame"]
options = ["—"] + [f"{i + 1}. {s['movement']} · {s['start_frame'] / a.fps:.1f} s · {s['count']} reps"
                   for i, s in enumerate(segs)]
choice = st.selectbox("Jump to a segment", range(len(options)), format_func=lambda i: options[i], key="an_jump")
if picked is None and choice:
    picked = segs[choice - 1]["start_frame"]
g1, g2 = st.columns([3, 1])
goto = g1.number_input("Go to frame", 0, max(0, a.frames - 1), 0, 1, key="an_goto_frame")
if g2.button("Go to frame", key="an_goto"):
    picked = int(goto)
if picked is not None:
    st.session_state["an_seek"] = picked / a.fps

left, right = st.columns([3, 2])
with left:
    seek = float(st.session_state.get("an_seek", 0.0))
    if "path" in res:
        st.video(res["path"], start_time=seek)
    else:
        st.video(res["data"], start_time=seek)
    st.caption(f"Player at {seek:.1f} s (frame {int(round(seek * a.fps))}).")
    # the skeleton at the player's frame, and at the reps of the segment it is in
    at_frame = min(max(0, int(round(seek * a.fps))), max(0, a.frames - 1))
    here = next((s for s in segs if s["start_frame"] <= at_frame <= s["end_frame"]), None)
    rep_marks = []
    if here is not None:
        spans = [(j["start"], j["end"], "valid" if j["valid"] else "no-rep") for j in here.get("judged") or []] \
            or [(r[0], r[1], here["movement"]) for r in here["reps"]]
        rep_marks = [((s0 + s1) // 2, f"rep {k} · {text}") for k, (s0, s1, text) in enumerate(spans, 1)]
    skeleton_view(ws, "an", video_id=a.video_id, upload=None if "path" in res else res["data"],
                  frame=at_frame, marks=rep_marks)
with right:
    table = pd.DataFrame(a.movement_summary())
    st.markdown("**Reps per movement**")
    st.dataframe(table, hide_index=True, width="stretch")
judged_rows = [{"movement": s["movement"], "rep": k + 1, "start frame": j["start"], "end frame": j["end"],
                "start s": round(j["start"] / a.fps, 2), "verdict": "valid" if j["valid"] else "no-rep",
                "reason": j["reason"]} for s in segs for k, j in enumerate(s.get("judged") or [])]
if judged_rows:
    with st.expander(f"The judge: {sum(r['verdict'] == 'valid' for r in judged_rows)} valid, "
                     f"{sum(r['verdict'] != 'valid' for r in judged_rows)} no-reps", expanded=True):
        st.dataframe(pd.DataFrame(judged_rows), hide_index=True, width="stretch")
        st.caption("Click a rep mark on the timeline (or type its start frame in *Go to frame*) to watch it.")
with st.expander(f"Segments ({len(segs)})"):
    st.dataframe(pd.DataFrame([{"movement": s["movement"], "start frame": s["start_frame"],
                                "end frame": s["end_frame"], "start s": round(s["start_frame"] / a.fps, 2),
                                "reps": s["count"], "confidence": s["confidence"]} for s in segs]),
                 hide_index=True, width="stretch")
    st.download_button("Download the analysis (JSON)", data=json.dumps(a.to_json(), indent=2),
                       file_name=f"{Path(a.video).stem}_analysis.json", mime="application/json")

# --- drafts for the Label page ---------------------------------------------------------------------
st.subheader("Turn it into labels")
if a.video_id is None:
    st.caption("Drafts go to workspace videos: add this video on the **Videos** page, then analyse it from there.")
    st.stop()
annotator = an_drafts.draft_annotator(a)
have = store.segments(a.video_id, annotator)
st.caption(f"The draft is stored as annotator **{annotator}** on video {a.video_id} "
           f"({len(a.reps())} reps); it replaces that model's older draft on this video"
           + (f" ({len(have)} reps now)." if have else ".")
           + " Drafts never feed the dataset until someone copies them into their own reps.")
c1, c2 = st.columns(2)
if c1.button("Send to Label page as draft", type="primary", key="an_send"):
    try:
        name, keys = an_drafts.send_draft(ws, a)
        st.success(f"Stored {len(keys)} reps as {name}.")
    except (an_settings.AnalyzeError, StoreError) as exc:
        st.error(str(exc))
c2.page_link("app_pages/2_Label.py", label="Open the Label page", icon="🏷️", query_params={"video": str(a.video_id)})
st.caption("On the Label page choose this model in *Show another annotator beside yours*; click a draft rep, "
           "**Copy to mine**, then fix its edges with Tab and Alt+←/→. Or copy the whole draft at once:")
b1, b2 = st.columns([2, 1])
me = b1.text_input("Your annotator name", key="an_me", value=st.query_params.get("annotator", ""))
if b2.button("Copy the draft into my reps", key="an_copy", disabled=not me.strip() or not have):
    try:
        done, skipped = an_drafts.copy_draft(store, a.video_id, annotator, me)
    except LabelError as exc:
        st.error(str(exc))
        st.stop()
    st.success(f"Copied {done} reps into {me.strip()}'s reps" + (f"; {skipped} overlapped reps you already "
                                                                 "have and were left out." if skipped else "."))
