"""Label: mark the frame range of every rep with the keyboard, on the exact frames of core.media.video."""
import streamlit as st

from core.labeling.annotator import (DATASET_RULE, LabelError, check_annotator_name, dataset_segments,
                                     default_annotator, remember_annotator)
from core.labeling.keymap import keymap_markdown
from ui import labeler
from ui.common import page

ws = page(
    "Label",
    "🏷️",
    "1–9 picks the movement, S starts a rep, E ends it, Enter ends it and starts the next, ? shows every key. "
    "Frames are decoded on the server by index (the numbers clips and training use); every change is saved at once.",
)
store = ws.store()
videos = store.videos()

# --- who, which video, how -----------------------------------------------------------------------
with st.sidebar:
    st.subheader("Labelling")
    if "annotator" not in st.session_state:
        st.session_state["annotator"] = st.query_params.get("annotator") or default_annotator(store)
    name = st.text_input("Your annotator name", key="annotator", placeholder="e.g. alex",
                         help="Reps are stored under this name. It is kept in the page address, so a reload keeps it.")
    try:
        name = check_annotator_name(name)
    except LabelError as exc:
        bad_name, name = str(exc), ""
    else:
        bad_name = None
        remember_annotator(store, name)
        if st.query_params.get("annotator") != name:
            st.query_params["annotator"] = name
    if not videos:
        chosen = None
    else:
        ids = [v["id"] for v in videos]
        by_id = {v["id"]: v for v in videos}
        wanted = st.query_params.get("video")
        if "label_video" not in st.session_state or st.session_state["label_video"] not in ids:
            st.session_state["label_video"] = int(wanted) if wanted and wanted.isdigit() and int(wanted) in ids else ids[0]
        chosen = st.selectbox(
            "Video", ids, key="label_video",
            format_func=lambda i: f"{i} · {by_id[i]['title']} ({by_id[i]['frames']} frames)",
        )
        if st.query_params.get("video") != str(chosen):
            st.query_params["video"] = str(chosen)
    speed = st.select_slider("Playback speed", options=labeler.SPEEDS, value=1.0, key="label_speed",
                             format_func=lambda s: f"{s:g}×")
    others = [a for a in store.annotators(chosen) if a != name] if chosen is not None else []
    if st.session_state.get("label_other") not in [None, *others]:
        st.session_state["label_other"] = None
    other = st.selectbox("Show another annotator beside yours", [None] + others, key="label_other",
                         format_func=lambda a: "— nobody —" if a is None else a)

if not videos:
    st.info("No videos yet: add some on the Videos page first.")
    st.stop()

if not name:
    st.info((bad_name + " " if bad_name else "Enter your annotator name in the sidebar to start labelling. ")
            + "Reps, undo history and reviews are kept per annotator.")
    with st.expander("Keymap", expanded=True):
        st.markdown(keymap_markdown())
    st.stop()

# --- the workbench (a fragment: a keystroke reruns only this part) -------------------------------
labeler.workbench(str(ws.root), chosen, name, other, float(speed))

counted = len(dataset_segments(store, [chosen]))
st.caption(f"**Dataset rule.** {DATASET_RULE} On this video, {counted} rep(s) feed the dataset now.")

with st.expander("Keymap (press ? on the page)"):
    st.markdown(keymap_markdown())
    st.caption("Keys typed into a text box, a select box or a slider are not shortcuts: click the frame or the "
               "page background to give the keys back to the labeller. Click a rep on the timeline to select it, "
               "click elsewhere on it to jump there, drag it to pan, use the wheel or −/+ to zoom.")

labeler.pose_panel(ws, store, chosen, name)
labeler.athlete_box(ws, store, chosen, name)
labeler.progress(store)
labeler.supervisely_panel(ws, store, name)
