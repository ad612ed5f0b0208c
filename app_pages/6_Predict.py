"""Predict: which movement is in a video? Upload one or pick a workspace video or clip; top-5 on the CPU."""
import time
from pathlib import Path

import pandas as pd
import plotly.express as px
import streamlit as st

from core.analysis import pose_workout  # noqa: F401 - installs the pose judge: reps for a pose model
from core.dataset.clips import clips as clip_rows
from core.inference import predictor as pr
from core.media.library import MAX_UPLOAD_BYTES, VIDEO_SUFFIXES
from core.media.video import VideoError
from core.modeling import registry
from ui.common import model_picker, page, registered_models
from ui.skeleton import skeleton_view

ws = page(
    "Predict",
    "🎯",
    "Which movement is this? Upload a video or pick one from the workspace: the model samples its frames "
    "exactly as in training, runs on this machine's CPU and lists its five most likely movements.",
)
store = ws.store()
TYPES = sorted(s.lstrip(".") for s in VIDEO_SUFFIXES)
ENGINE_TEXT = {
    "auto": "auto — the fast exact CPU path (the reference ops on a GPU)",
    "fast": "fast — 3D convolutions computed as exact 2D ones (same numbers, much faster on a CPU)",
    "reference": "reference — the Model Garden ops as trained (slow on a CPU)",
    "tflite": "TF Lite — the converted model (LiteRT interpreter)",
}


@st.cache_resource(show_spinner=False)
def predictor() -> pr.Predictor:
    """One Predictor for every session (core.inference.predictor's shared one): models stay loaded between
    requests (LRU of 3)."""
    return pr.default_predictor()


def model_name(m: dict) -> str:
    if m.get("kind") == "pose":
        return (f"{m['id']} · pose model · {len(m['labels']) - ('none' in m['labels'])} movements + none · "
                f"{str(m['created_at'])[:16]}")
    metrics = m.get("metrics") or {}
    kind = f" · TF Lite {metrics.get('quantize') or 'float'}" if metrics.get("format") == "tflite" else ""
    pre = m.get("preprocessing") or {}
    return (f"{m['id']}{kind} · {len(m['labels'])} movements · {pre.get('frames', '?')} frames "
            f"{pre.get('resolution', '?')} px · {str(m['created_at'])[:16]}")


def pct(p: float) -> str:
    return f"{p * 100:.1f}%"


by_id = registered_models(store)
model = model_picker(by_id, "model", lambda i: model_name(by_id[i]))
model_id = model["id"]

try:
    engines = pr.available_engines(ws, model)
except pr.PredictError as exc:
    st.error(str(exc))
    st.stop()
if st.session_state.get("engine") not in engines:
    st.session_state["engine"] = engines[0]
with st.expander("Engine and model details"):
    engine = st.radio("Engine", engines, key="engine", format_func=lambda e: ENGINE_TEXT.get(e, e))
    frames, size, crop_flag = registry.preprocessing(model)
    if model.get("kind") == "pose":
        st.caption("Input: the athlete's pose track (BlazePose landmarks, up to 15 fps) of the video or the chosen "
                   "frames; the pose model reads windows of 1.5 s and 3 s of it, and the reps are counted and judged "
                   f"on the body's motion. Model folder: `{model['path']}`.")
    st.caption(f"Input: {frames} frames sampled evenly over the video (or the chosen frames), resized to "
               f"{size[0]}×{size[1]}, RGB in [0, 1]; "
               + ("cropped to the athlete box where a workspace video has one" if crop_flag else "whole frames")
               + {"motion": ", then to the square around what moves.",
                  "athlete": ", then to the square around the athlete's pose landmarks (the video's pose track, "
                             "computed first when missing; what moves where there is no pose)."}.get(
                   registry.focus(model), ".")
               + f" Model folder: `{model['path']}`.")
    metrics = model.get("metrics") or {}
    if metrics.get("format") == "tflite" and metrics.get("top1_val") is not None:
        st.caption(f"Converted from {metrics.get('source_model')}: val top-1 {pct(metrics['top1_val'])} vs "
                   f"{pct(metrics['float_top1_val'])} for the float model ({metrics.get('n_val')} clips).")

try:
    with st.spinner(f"Loading model {model_id}…"):
        warm_s = predictor().warm(ws, model, engine)
except pr.PredictError as exc:
    st.error(str(exc))
    st.stop()
except Exception as exc:  # a message, never a stack trace
    st.error(f"Cannot load model {model_id}: {type(exc).__name__}: {exc}")
    st.stop()
if warm_s > 1.0:
    st.toast(f"Model {model_id} loaded in {warm_s:.1f} s; it stays loaded.")

# --- the input ------------------------------------------------------------------------------------
SOURCES = {"upload": "Upload a video", "video": "A workspace video", "clip": "A clip"}
source = st.radio("Video", list(SOURCES), format_func=SOURCES.get, horizontal=True, key="source")
request = None      # (signature, callable returning the prediction)
player = None       # callable showing the video
skeleton = None     # callable showing the skeleton view: marks [(frame, caption)], offset of result frames

if source == "upload":
    limit_mb = min(MAX_UPLOAD_BYTES // 2**20, int(st.get_option("server.maxUploadSize")))
    up = st.file_uploader(f"Video file — up to {limit_mb} MB; {', '.join(TYPES)}", type=TYPES, key="upload")
    st.caption(f"Size limit: **{limit_mb} MB** per file. The file is read from a temporary copy in the workspace "
               "and deleted right after.")
    if up is not None:
        suffix = Path(up.name).suffix.lower()
        data = up  # the player reads the upload itself; prediction streams it to the workspace

        def predict_the_upload():
            up.seek(0)
            return predictor().predict_upload(model, up, up.name, 5, engine, ws=ws)

        request = (("upload", up.name, up.size, getattr(up, "file_id", "")), predict_the_upload)

        def player():
            if suffix == ".gif":
                st.image(data, caption=up.name)
            else:
                st.video(data)

        def skeleton(marks, offset=0):
            skeleton_view(ws, "pr", upload=up, marks=marks)
elif source == "video":
    videos = store.videos()
    if not videos:
        st.info("No videos in the workspace yet — add some on the **Videos** page.")
    else:
        vids = {v["id"]: v for v in videos}
        if st.session_state.get("video") not in vids:
            st.session_state["video"] = videos[0]["id"]
        vid = st.selectbox("Workspace video", list(vids), key="video",
                           format_func=lambda i: f"{i} · {vids[i]['path']} · {vids[i]['frames']} frames · "
                                                 f"{vids[i]['width']}×{vids[i]['height']}")
        video = vids[vid]
        last = max(0, int(video["frames"]) - 1)
        start, end = 0, last
        if st.checkbox("Only a range of frames", key="use_range") and last > 0:
            start, end = st.slider("Frames (inclusive)", 0, last, (0, last), key=f"range_{vid}")
        request = (("video", vid, start, end),
                   lambda: predictor().predict_video(ws, vid, model, 5, engine, start=start, end=end))
        path = ws.absolute(video["path"])
        fps = float(video["fps"] or 0)

        def player():
            if not path.is_file():
                st.warning(f"video file missing: {video['path']}")
            elif path.suffix.lower() == ".gif":
                st.image(str(path))
            elif fps and (start, end) != (0, last):
                st.video(str(path), start_time=start / fps, end_time=(end + 1) / fps)
            else:
                st.video(str(path))

        def skeleton(marks, offset=0):
            skeleton_view(ws, "pr", video_id=vid, first=start, last=end, frame=start, marks=marks)
elif source == "clip":
    rows = clip_rows(store)
    if not rows:
        st.info("No clips yet — cut labelled reps into clips on the **Clips** page.")
    else:
        cl = {c["id"]: c for c in rows}
        if st.session_state.get("clip") not in cl:
            st.session_state["clip"] = rows[0]["id"]
        cid = st.selectbox("Clip", list(cl), key="clip",
                           format_func=lambda i: f"{cl[i]['path']} · labelled {cl[i]['label']} · {cl[i]['frames']} frames")
        request = (("clip", cid), lambda: predictor().predict_clip(ws, cid, model, 5, engine))
        clip_path = ws.absolute(cl[cid]["path"])

        def player():
            if clip_path.is_file():
                st.video(str(clip_path))
            else:
                st.warning(f"clip file missing: {cl[cid]['path']}")

        def skeleton(marks, offset=0):  # the clip's frames in its source video, whose pose track it shares
            c = cl[cid]
            skeleton_view(ws, "pr", video_id=c["video_id"], first=c["start_frame"], last=c["end_frame"],
                          frame=c["start_frame"], marks=[(f + offset, t) for f, t in marks])

clicked = st.button("Predict", type="primary", key="predict", disabled=request is None)
signature = None if request is None else (model_id, engine, request[0])
state = st.session_state.get("prediction")
if request is not None and (clicked or (source == "upload" and (state or {}).get("signature") != signature)):
    t0 = time.perf_counter()
    try:
        with st.spinner("Predicting…"):
            out = request[1]()
        state = {"signature": signature, "out": out, "error": None,
                 "wall_ms": (time.perf_counter() - t0) * 1000.0}
    except VideoError as exc:
        state = {"signature": signature, "out": None, "error": f"Cannot use this video: {exc}"}
    except pr.PredictError as exc:
        state = {"signature": signature, "out": None, "error": str(exc)}
    except Exception as exc:  # a message, never a stack trace
        state = {"signature": signature, "out": None, "error": f"Prediction failed: {type(exc).__name__}: {exc}"}
    st.session_state["prediction"] = state

left, right = st.columns([2, 3])
result = state if state is not None and state.get("signature") == signature else None
if player is not None:
    with left:
        player()
        if skeleton is not None:  # the skeleton at a chosen frame and at the judged reps (a pose model's)
            out = (result or {}).get("out") or {}
            reps = (out.get("reps") or {}).get("reps") or []
            offset = cl[cid]["start_frame"] - out["range"][0] if source == "clip" and out.get("range") else 0
            skeleton([((r["start"] + r["end"]) // 2, f"rep {k} · {'valid' if r['valid'] else 'no-rep'}")
                      for k, r in enumerate(reps, 1)], offset)
with right:
    if result is None:
        if request is not None:
            st.caption("Press **Predict** to classify this video.")
    elif result["error"]:
        st.error(result["error"])
    else:
        out = result["out"]
        best = out["top"][0]
        if out.get("engine") == "pose":  # the answer: "none" only when the model believes it (pose_predict.decide)
            best = {"movement": out["movement"], "probability": out["confidence"]}
        st.markdown(f"### {best['movement']} · {pct(best['probability'])}")
        table = pd.DataFrame([{"rank": i, "movement": r["movement"], "probability": r["probability"]}
                              for i, r in enumerate(out["top"], 1)])
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={"probability": st.column_config.ProgressColumn(
                         "probability", min_value=0.0, max_value=1.0, format="%.3f")})
        fig = px.bar(table.iloc[::-1], x="probability", y="movement", orientation="h", range_x=[0, 1.15],
                     text=[pct(p) for p in table["probability"].iloc[::-1]])
        fig.update_layout(height=60 + 44 * len(table), margin=dict(l=0, r=10, t=10, b=0), xaxis_title=None,
                          yaxis_title=None, xaxis_tickformat=".0%", xaxis_tickvals=[0, 0.25, 0.5, 0.75, 1])
        fig.update_traces(marker_color="#d9480f", textposition="outside", cliponaxis=False)
        st.plotly_chart(fig, width="stretch", key="bars")
        t = out["timings_ms"]
        if out.get("engine") == "pose":  # the pose model: movement, reps and no-reps
            if out.get("low_confidence"):
                st.warning(out.get("message") or "Low confidence.")
            if (out.get("pose") or {}).get("warning"):
                st.warning(out["pose"]["warning"] + ".")
            reps = out.get("reps")
            if reps is not None:
                st.markdown(f"**{out['movement']}: {reps.get('summary') or reps.get('note') or ''}**")
                if reps.get("reps"):
                    st.dataframe(pd.DataFrame([{"rep": k + 1, "start frame": r["start"], "end frame": r["end"],
                                                "verdict": "valid" if r["valid"] else "no-rep",
                                                "reason": r["reason"]} for k, r in enumerate(reps["reps"])]),
                                 hide_index=True, width="stretch")
                if reps.get("note"):
                    st.caption(reps["note"])
            ps = out.get("pose") or {}
            cols = st.columns(4)
            cols[0].metric("Pose track", f"{t.get('pose', 0) / 1000:.1f} s",
                           help=f"a pose on {ps.get('share_with_pose', 0):.0%} of {ps.get('frames_sampled', 0)} "
                                "sampled frames")
            cols[1].metric("Model", f"{t['model']:.0f} ms")
            cols[2].metric("Reps + judge", f"{t.get('reps', 0):.0f} ms")
            cols[3].metric("Total", f"{t['total']:.0f} ms")
            st.caption(f"Pose model {out['model']} · frames {out['range'][0]}–{out['range'][1]} · "
                       f"{out.get('windows', 0)} windows · end to end on this page {result['wall_ms']:.0f} ms")
            st.stop()
        cols = st.columns(4)
        cols[0].metric("Decode", f"{t['decode']:.0f} ms")
        cols[1].metric("Preprocess", f"{t['preprocess']:.0f} ms")
        cols[2].metric("Model", f"{t['model']:.0f} ms")
        cols[3].metric("Total", f"{t['total']:.0f} ms", help="decode + preprocess + model, and bookkeeping")
        st.caption(f"Engine **{out['engine']}** · model {out['model']} · frames {out['range'][0]}–{out['range'][1]}, "
                   f"sampled {out['frames_used']} · end to end on this page {result['wall_ms']:.0f} ms"
                   + (f" (model load {t['load'] / 1000:.1f} s)" if "load" in t else ""))
