"""Landing page: what is in the workspace and what to do next."""
import pandas as pd
import plotly.express as px
import streamlit as st

from ui.common import demo_build_panel, page

ws = page(
    "CrossFit movement workbench",
    "🏋️",
    "From raw workout videos to a movement classifier: add videos, label every rep with the keyboard, "
    "cut clips, train MoViNet, study its errors and demo it live.",
)
store = ws.store()
counts = store.counts()
demo_build_panel(ws)

cols = st.columns(5)
for col, (name, key) in zip(cols, [("Videos", "videos"), ("Labelled reps", "reps"), ("Clips", "clips"),
                                   ("Training runs", "runs"), ("Models", "models")]):
    col.metric(name, counts[key])

st.subheader("Next steps")
steps = [
    (counts["videos"] > 0, "Add workout videos", "app_pages/1_Videos.py",
     "by URL or playlist, upload, or a folder — or run `make run` once to get the demo workouts."),
    (counts["reps"] > 0, "Label the reps", "app_pages/2_Label.py", "mark the frame range of every repetition."),
    (counts["clips"] > 0, "Cut clips and make splits", "app_pages/3_Clips.py", "frame-exact clips, statistics, splits."),
    (counts["runs"] > 0, "Train a model", "app_pages/4_Train.py", "fine-tune MoViNet locally or on a Ray cluster."),
    (counts["models"] > 0, "Evaluate and predict", "app_pages/6_Predict.py", "heatmaps, top-5 and whole workouts."),
]
next_done = False
for done, title, target, what in steps:
    mark = "✅" if done else ("👉" if not next_done else "⬜")
    if not done:
        next_done = True
    st.markdown(f"{mark} **{title}** — {what}")

st.subheader("Reps per movement")
reps = pd.DataFrame(
    {"movement": list(counts["reps_per_movement"]), "reps": list(counts["reps_per_movement"].values())}
)
if reps["reps"].sum() == 0:
    st.info("No reps labelled yet.")
else:
    st.dataframe(reps, hide_index=True, key="reps_table")
    st.plotly_chart(px.bar(reps, x="movement", y="reps"), key="reps_chart")

with st.expander("Glossary of the movements"):
    from core.base.labels import GLOSSARY, LOOK_ALIKES

    for name in store.labels():
        st.markdown(f"**{name}** — {GLOSSARY.get(name, 'a movement added to this workspace')}")
    st.markdown("Look-alikes told apart only by motion: " + "; ".join(f"{a} vs {b}" for a, b in LOOK_ALIKES) + ".")
