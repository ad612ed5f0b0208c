"""Train: configure MoViNet training, launch it as a job (local or Ray), watch its log and curves, stop it."""
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.dataset import training_cache as cache
from core.dataset import clips
from core.modeling import jobs
from core.modeling import config as cfg_mod
from core.modeling import train as tr
from core.modeling import registry
from ui.common import page

ws = page(
    "Train",
    "🧠",
    "Train a MoViNet movement classifier on the cut clips: pick a preset or set every option, launch it on this "
    "machine or on a Ray cluster, and follow its log and curves live. Every finished run exports its best model "
    "(chosen on val) and registers it for the Evaluate and Predict pages.",
)
store = ws.store()

# --- data status ---------------------------------------------------------------------------------
n_clips = len(clips.clips(store))
split_sizes = {s: len(cache.examples(ws, s)) for s in ("train", "val", "test")} if n_clips else {}
c = st.columns(4)
c[0].metric("Clips", n_clips)
c[1].metric("Train clips", split_sizes.get("train", 0))
c[2].metric("Val clips", split_sizes.get("val", 0), help="Used only to choose the best epoch.")
c[3].metric("Test clips", split_sizes.get("test", 0), help="Never read by training; report it on Evaluate.")
if not n_clips:
    st.warning("No clips yet: label reps and cut clips on the **Clips** page first.")
elif not split_sizes.get("train"):
    st.info("No splits yet: training makes the default ones (seed 0, 70/15/15 by video), or make them on **Clips**.")

# --- the form ------------------------------------------------------------------------------------
FIELDS = cfg_mod.FORM_FIELDS
PRETRAINED = {"none": "none (scratch)", "auto": "Kinetics-600", "model": "registered model", "path": "path"}


def fill(preset: str) -> None:
    """Put a preset's values into the form's widgets."""
    cfg = cfg_mod.resolve_config(None if preset == "custom" else preset)
    for key in FIELDS:
        st.session_state[f"f_{key}"] = cfg[key]
    st.session_state["f_focus"] = cfg["focus"] or "none"
    st.session_state["f_window_scales"] = ", ".join(f"{v:g}" for v in cfg["window_scales"])
    pre = cfg["pretrained"] or "none"
    kind = pre if pre in ("none", "auto") else ("model" if pre.startswith("model:") else "path")
    st.session_state["f_pretrained"] = kind
    st.session_state["f_pretrained_path"] = pre if kind == "path" else ""
    st.session_state["f_pretrained_model"] = pre[len("model:"):] if kind == "model" else "best"


def on_preset() -> None:
    if st.session_state["f_preset"] != "custom":  # custom keeps the current values to edit
        fill(st.session_state["f_preset"])


if "f_model" not in st.session_state:
    st.session_state.setdefault("f_preset", "demo")
    fill(st.session_state["f_preset"])

# --- the pose model: no clips needed ------------------------------------------------------------------
st.subheader("The pose model")
st.caption("Reads the athlete's pose (BlazePose landmarks) instead of pixels, so it is trained on synthetic motion "
           "from the demo figure and needs no labelled clips (the reps labelled in this workspace join it, their "
           "videos' pose tracks computed first): `python -m core train --preset pose`, about 2–3 minutes "
           "on a laptop CPU. It names the nine movements (or none), counts the reps and judges each one on Predict "
           "and Analyze, on real video.")


def start_run(launch, what: str) -> None:
    """Launch a run and follow it below; a bad config or a refused job is shown, nothing else changes."""
    try:
        run_id = launch()
    except (cfg_mod.TrainError, jobs.JobError) as exc:
        st.error(str(exc))
    else:
        st.session_state["train_run"] = run_id
        st.session_state.pop("log_state", None)
        st.success(f"Launched {what} {run_id}.")


if st.button("Train the pose model", key="launch_pose"):
    from core.modeling.pose_run import launch_pose

    start_run(lambda: launch_pose(ws), "pose model run")

st.subheader("New run")
st.selectbox("Preset", ["demo", "analyze", "study", "custom"], key="f_preset", on_change=on_preset,
             help="demo: a0 from scratch, 8 frames at 80², minutes on a laptop CPU. analyze: the best demo model "
                  "fine-tuned on whole-workout windows with a 'none' class, for the Analyze page (train demo "
                  "first). study: the original study - "
                  "A2-Base fine-tuned from Kinetics-600, 10 frames at 224², batch 8, 10 epochs, RMSprop with cosine "
                  "decay from 0.01, label smoothing 0.1. Choosing one fills the fields below.")
a, b, c3, d = st.columns(4)
a.selectbox("Model", list(cfg_mod.MODEL_IDS), key="f_model", help="MoViNet a0 (smallest) … a5 (largest).")
b.selectbox("Variant", list(cfg_mod.VARIANTS), key="f_variant",
            help="base: 3D convolutions over the whole clip. stream: causal, can run frame by frame.")
c3.number_input("Frames per clip", 1, 64, key="f_frames")
d.number_input("Resolution (square)", 32, 512, step=8, key="f_resolution",
               help=f"Native: {', '.join(f'{k} {v}' for k, v in cfg_mod.NATIVE_RESOLUTION.items())}.")
a, b, c3, d = st.columns(4)
a.number_input("Epochs", 1, 1000, key="f_epochs")
b.number_input("Batch size", 1, 512, key="f_batch_size")
c3.selectbox("Optimizer", list(cfg_mod.OPTIMIZERS), key="f_optimizer")
d.number_input("Learning rate", 1e-6, 10.0, key="f_lr", format="%.5f", step=0.001)
a, b, c3, d = st.columns(4)
a.selectbox("Schedule", list(cfg_mod.SCHEDULES), key="f_schedule")
b.number_input("Label smoothing", 0.0, 0.9, key="f_label_smoothing", step=0.05)
c3.radio("Pretrained weights", list(PRETRAINED), key="f_pretrained", horizontal=True, format_func=PRETRAINED.get,
         help="auto downloads the official checkpoint once into models/pretrained/; a registered model of this "
              "workspace gives its backbone (best: the best clip model of the same architecture and input); a path "
              "may be a checkpoint folder, prefix or .tar.gz. A checkpoint that does not match the model is an error.")
d.checkbox("Freeze the backbone", key="f_freeze", help="Train the classifier head only (needs pretrained weights).")
if st.session_state["f_pretrained"] == "path":
    st.text_input("Checkpoint path", key="f_pretrained_path", placeholder="/path/to/movinet_a2_base")
elif st.session_state["f_pretrained"] == "model":
    st.selectbox("Registered model", ["best"] + [m["id"] for m in registry.list_models(store)], key="f_pretrained_model",
                 help="best: the registered clip model (no none class) with the same model, variant, frames, "
                      "resolution and focus that has the best val top-1.")
with st.expander("More options"):
    a, b, c3, d = st.columns(4)
    a.number_input("Warm-up epochs", 0.0, 100.0, key="f_warmup_epochs", step=0.5)
    b.number_input("Dropout", 0.0, 0.95, key="f_dropout", step=0.05)
    c3.selectbox("Augmentation", list(cfg_mod.AUGMENTS), key="f_augment")
    d.number_input("Seed", 0, 2**31 - 1, key="f_seed")
    a.selectbox("Focus", list(cfg_mod.FOCUS_CHOICES), key="f_focus",
                help="motion: each clip is cropped to the square around what moves (the athlete in a wide gym "
                     "shot) before resizing; athlete: to the square around the athlete's pose landmarks (each "
                     "video's pose track, computed first where missing; motion where a clip has no pose); "
                     "prediction and analysis then do the same. none: the whole frame.")
    b.number_input("Windows per epoch", 0, 100000, key="f_windows", step=100,
                   help="Whole-workout windows (as the Analyze page slides them) drawn at random each "
                        "epoch beside the clips, with an extra class 'none' for rests and set-ups; 0: clips only.")
    c3.text_input("Window spans (s)", key="f_window_scales",
                  help="Seconds each of those windows covers, comma-separated; the Analyze page then slides "
                       "windows of the same spans over a workout.")

a, b = st.columns([1, 3])
backend = a.radio("Run on", ["local", "ray"], key="f_backend", horizontal=True,
                  format_func={"local": "this machine", "ray": "Ray cluster"}.get)
address = ""
if backend == "ray":
    address = b.text_input("Ray dashboard address", key="f_address", placeholder="http://head-node:8265",
                           help="The cluster's dashboard (Jobs API). The project folder is shipped as the working "
                                "directory; the workspace path must exist on the cluster (shared storage).")


def form_config() -> dict:
    s = st.session_state
    cfg = {k: s[f"f_{k}"] for k in FIELDS}
    preset = s["f_preset"]
    base = cfg_mod.resolve_config(None if preset == "custom" else preset)
    cfg = {**base, **cfg, "preset": None if preset == "custom" else preset,
           "window_scales": s.get("f_window_scales") or base["window_scales"]}
    choice = s["f_pretrained"]
    cfg["pretrained"] = {"none": None, "auto": "auto", "model": f"model:{s.get('f_pretrained_model') or 'best'}"}.get(
        choice, s.get("f_pretrained_path") or "")
    return cfg


def launch_form() -> str:
    cfg = cfg_mod.validate_config(form_config())
    if backend == "ray" and not address.strip():
        raise cfg_mod.TrainError("Give the Ray cluster's dashboard address.")
    return tr.launch(ws, cfg, backend=backend, address=address.strip() or None)


if st.button("Launch training", key="launch", type="primary", disabled=not n_clips):
    start_run(launch_form, "run")

# --- the chosen run: live log and curves -----------------------------------------------------------
runs = jobs.list_runs(store, kind="train")
if not runs:
    st.info("No training runs yet.")
    st.stop()
by_id = {r["id"]: r for r in runs}
if st.session_state.get("train_run") not in by_id:
    active = [r["id"] for r in runs if r["status"] in jobs.ACTIVE]
    st.session_state["train_run"] = active[0] if active else runs[0]["id"]

st.subheader("Run")
run_id = st.selectbox("Run", list(by_id), key="train_run",
                      format_func=lambda i: f"{i} · {by_id[i]['status']} · {by_id[i]['backend']}"
                                            f" · {(by_id[i].get('config') or {}).get('preset') or 'custom'}")
LOG_KEEP = 40_000


def read_log(rid: str) -> str:
    """The run's log, read incrementally (offset kept in the session); the last LOG_KEEP characters."""
    state = st.session_state.get("log_state")
    if not state or state["run"] != rid:
        state = {"run": rid, "offset": 0, "text": ""}
    try:
        text, offset = jobs.tail(store, rid, state["offset"])
    except jobs.JobError as exc:
        return f"(log unavailable: {exc})"
    state["text"] = (state["text"] + text)[-LOG_KEEP:]
    state["offset"] = offset
    st.session_state["log_state"] = state
    return state["text"]


def curves(rid: str):
    rows = tr.read_metrics(ws, rid)
    steps = [r for r in rows if r.get("kind") == "step"]
    epochs = [r for r in rows if r.get("kind") == "epoch"]
    if not steps:
        return None, None
    loss = go.Figure()
    loss.add_scatter(x=[r["step"] for r in steps], y=[r["loss"] for r in steps], mode="lines", name="train (step)",
                     line={"width": 1}, opacity=0.5)
    top1 = go.Figure()
    top1.add_scatter(x=[r["step"] for r in steps], y=pd.Series([r["top1"] for r in steps]).rolling(10, 1).mean(),
                     mode="lines", name="train (step, mean of 10)", line={"width": 1}, opacity=0.5)
    if epochs:
        x = [r["step"] for r in epochs]
        loss.add_scatter(x=x, y=[r["train_loss"] for r in epochs], mode="lines+markers", name="train (epoch)")
        top1.add_scatter(x=x, y=[r["train_top1"] for r in epochs], mode="lines+markers", name="train (epoch)")
        if any("val_loss" in r for r in epochs):
            loss.add_scatter(x=x, y=[r.get("val_loss") for r in epochs], mode="lines+markers", name="val")
            top1.add_scatter(x=x, y=[r.get("val_top1") for r in epochs], mode="lines+markers", name="val")
    loss.update_layout(title="Loss", xaxis_title="step", height=320, margin={"t": 40, "b": 30})
    top1.update_layout(title="Top-1 accuracy", xaxis_title="step", yaxis_range=[0, 1.02], height=320,
                       margin={"t": 40, "b": 30})
    return loss, top1


def show_run(rid: str, live: bool) -> None:
    try:
        run = jobs.refresh(store, rid)
    except jobs.JobError as exc:
        st.error(str(exc))
        return
    summ = run.get("summary") or {}
    cols = st.columns(5)
    cols[0].metric("Status", run["status"])
    cols[1].metric("Epochs", f"{summ.get('epochs_done', 0)}/{summ.get('epochs', (run.get('config') or {}).get('epochs', '?'))}")
    best = summ.get("best_val_top1")
    cols[2].metric("Best val top-1", "–" if best is None or best < 0 else f"{best * 100:.1f}%",
                   help=f"epoch {summ.get('best_epoch')}" if summ.get("best_epoch") else None)
    cols[3].metric("Backend", run["backend"])
    if run["status"] in jobs.ACTIVE:
        if cols[4].button("Stop", key="stop_run", type="secondary"):
            with st.spinner("Stopping (the trainer saves a checkpoint and exports its best model so far)…"):
                try:
                    jobs.stop(store, rid, grace=30.0)
                except jobs.JobError as exc:
                    st.error(str(exc))
            st.rerun(scope="app")
    elif run["status"] in ("stopped", "failed", "lost") and tr.can_resume(ws, rid):
        if cols[4].button("Resume", key="resume_run", help="Continue from the latest checkpoint"):
            try:
                tr.launch(ws, run.get("config") or {}, backend=run["backend"], address=run["job"].get("address"),
                          run_id=rid, resume=True)
                st.session_state.pop("log_state", None)
            except (cfg_mod.TrainError, jobs.JobError) as exc:
                st.error(str(exc))
            st.rerun(scope="app")
    note = run["job"].get("error") or run["job"].get("note")
    if note:
        st.caption(note)
    if summ.get("error"):
        st.error(summ["error"])
    loss, top1 = curves(rid)
    if loss is not None:
        left, right = st.columns(2)
        left.plotly_chart(loss, key="loss_chart")
        right.plotly_chart(top1, key="top1_chart")
    st.code(read_log(rid) or "(no output yet)", language=None, height=360)
    if live and run["status"] not in jobs.ACTIVE:
        st.rerun(scope="app")  # it just ended: redraw the page (table, buttons) and stop polling


active_now = by_id[run_id]["status"] in jobs.ACTIVE
if active_now:
    st.fragment(run_every=2, key="live_run")(show_run)(run_id, True)
else:
    show_run(run_id, False)

# --- past runs -----------------------------------------------------------------------------------
st.subheader("Runs")
table = pd.DataFrame(tr.run_table(ws, jobs.list_runs(store, kind="train", refresh_backend=False)))
st.dataframe(table, hide_index=True, key="runs_table",
             column_config={"best_val_top1": st.column_config.NumberColumn("best val top-1", format="%.3f"),
                            "duration_s": st.column_config.NumberColumn("duration (s)")})
registered = [r for r in table.to_dict("records") if r.get("registered_model")]
if registered:
    st.caption("Registered models - open one on **Evaluate**:")
    for r in registered[:10]:
        a, b = st.columns([4, 1])
        top1 = r["best_val_top1"]
        shown = "–" if top1 is None or pd.isna(top1) else f"{top1 * 100:.1f}%"
        a.markdown(f"`{r['registered_model']}` · {r['model']} · best val top-1 {shown}")
        if b.button("Evaluate", key=f"eval_{r['registered_model']}"):
            st.session_state["model"] = r["registered_model"]
            st.switch_page("app_pages/5_Evaluate.py")
    st.page_link("app_pages/5_Evaluate.py", label="Evaluate the models", icon="📊")
