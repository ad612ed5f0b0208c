"""Clips: cut the dataset reps into frame-exact clips, statistics, splits, training cache, exports."""
import pandas as pd
import plotly.express as px
import streamlit as st

from core.dataset import training_cache as cache
from core.dataset import clips
from core.dataset import manifest, prepare
from core.dataset import splits
from core.dataset import stats
from core.labeling.annotator import DATASET_RULE
from ui import tasks
from ui.common import page

ws = page(
    "Clips",
    "✂️",
    "Cut every dataset rep into a frame-exact, browser-playable clip, see the dataset's statistics, "
    "split it into train/val/test by source video, and build the training cache the trainer reads.",
)
store = ws.store()
st.info(f"**Which reps count.** {DATASET_RULE}")

reps = stats.movement_table(store, "reps")
clip_list = clips.clips(store)
todo = clips.plan(ws, store)
split_info = splits.summary(store)

cols = st.columns(4)
cols[0].metric("Dataset reps", reps["total"]["clips"])
cols[1].metric("Clips cut", len(clip_list))
cols[2].metric("Clips to cut, re-cut or remove", len(todo.cut) + len(todo.remove))
cols[3].metric("Videos in splits", sum(len(s["videos"]) for s in split_info["splits"].values()))

# --- actions ---------------------------------------------------------------------------------
with st.expander("Settings", expanded=False):
    a, b, c = st.columns(3)
    jobs = a.number_input("Worker processes", 1, 32, 2, key="jobs")
    crop = a.checkbox("Crop clips to the athlete box (when one is drawn)", True, key="crop")
    frames = b.number_input("Cache: frames per clip", 1, 64, 10, key="cache_frames")
    size = b.number_input("Cache: resolution (square)", 32, 640, 224, step=16, key="cache_size")
    seed = c.number_input("Split seed", 0, 2**31 - 1, split_info["seed"] or 0, key="seed")
    r = st.columns(3)
    ratios = (r[0].number_input("train", 0.0, 1.0, 0.7, 0.05, key="r_train"),
              r[1].number_input("val", 0.0, 1.0, 0.15, 0.05, key="r_val"),
              r[2].number_input("test", 0.0, 1.0, 0.15, 0.05, key="r_test"))


def work(steps):
    def run(task):
        done = prepare.prepare_dataset(ws, steps, jobs=int(jobs), crop=crop, frames=int(frames), size=int(size),
                                       seed=int(seed), ratios=ratios, progress=task.report, cancel=task.cancel)
        return done.lines + [f"⚠️ {problem}" for problem in done.problems]

    return run


task = tasks.get("clips")
busy = task is not None and task.running
b1, b2, b3, b4 = st.columns([2, 1, 1, 1])
if b1.button("Cut clips, make splits, build cache", key="run_all", type="primary", disabled=busy):
    tasks.start("clips", "Cut clips, make splits, build cache", work(["cut", "splits", "cache"]))
    st.rerun()
if b2.button("Cut clips", key="cut", disabled=busy):
    tasks.start("clips", "Cutting clips", work(["cut"]))
    st.rerun()
if b3.button("Make splits", key="make_splits", disabled=busy):
    try:
        splits.make_splits(store, seed=int(seed), ratios=ratios)
        st.rerun()
    except Exception as exc:  # ratios all zero, …
        st.error(str(exc))
if b4.button("Build cache", key="build_cache", disabled=busy):
    tasks.start("clips", "Building the training cache", work(["cache"]))
    st.rerun()


def show_clip_results(lines):
    for line in lines:
        (st.warning if line.startswith("⚠️") else st.success)(line)


tasks.show("clips", show_clip_results)

# --- statistics ------------------------------------------------------------------------------
st.subheader("Statistics")
source = st.radio("Count", ["reps", "clips"], horizontal=True, key="stats_source",
                  format_func={"reps": "dataset reps", "clips": "clips cut"}.get)
table = reps if source == "reps" else stats.movement_table(store, "clips")
stats_df = pd.DataFrame([*table["rows"], table["total"]]).rename(columns={
    "label": "label", "clips": "clips", "frames_mean": "frames mean", "frames_sd": "frames sd",
    "seconds_mean": "seconds mean", "seconds_sd": "seconds sd"}).round(2)
st.dataframe(stats_df, hide_index=True, key="stats_table")
pooled = table["pooled"]


def _num(value):
    return "–" if value is None else f"{value:.2f}"


st.caption(
    "sd = sample standard deviation (n − 1). Seconds = frames / the source video's fps. TOTAL, as in the "
    "original study, is the mean of the per-movement values (a typical movement), with the count of all "
    f"reps. Pooled over all reps: frames {_num(pooled['frames_mean'])} mean, {_num(pooled['frames_sd'])} sd; "
    f"seconds {_num(pooled['seconds_mean'])} mean, {_num(pooled['seconds_sd'])} sd."
)

balance = pd.DataFrame({"movement": [r["label"] for r in table["rows"]], "count": [r["clips"] for r in table["rows"]]})
if balance["count"].sum():
    st.plotly_chart(px.bar(balance, x="movement", y="count", title="Class balance"), key="balance_chart")

left, right = st.columns(2)
with left:
    st.markdown("**Reps per source video**")
    st.dataframe(pd.DataFrame(stats.per_video(store, source)), hide_index=True, key="per_video_table")
with right:
    st.markdown("**Reps per annotator**")
    st.dataframe(pd.DataFrame(stats.per_annotator(store, source)), hide_index=True, key="per_annotator_table")

# --- splits ----------------------------------------------------------------------------------
st.subheader("Splits")
if not any(s["videos"] for s in split_info["splits"].values()):
    st.info("No splits yet: press **Make splits** (grouped by source video, stratified by movement).")
else:
    rows = [{"split": name, "movement": m, "reps": k}
            for name, part in split_info["splits"].items() for m, k in part["per_movement"].items()]
    st.plotly_chart(px.bar(pd.DataFrame(rows), x="movement", y="reps", color="split", barmode="group",
                           title=f"Label distribution per split (seed {split_info['seed']})"), key="splits_chart")
    st.dataframe(pd.DataFrame([{"split": name, "videos": len(part["videos"]), "reps": part["reps"],
                                "video ids": ", ".join(map(str, part["videos"]))}
                               for name, part in split_info["splits"].items()]),
                 hide_index=True, key="splits_table")
    if split_info["unassigned"]:
        st.warning(f"Videos {split_info['unassigned']} have dataset reps but no split: make splits again.")

# --- cache -----------------------------------------------------------------------------------
size_info = cache.size_report(ws, int(frames), int(size), crop)
if size_info["cached"]:
    st.caption(f"Training cache `{size_info['key']}`: {size_info['cached']}/{size_info['clips']} clips, "
               f"{size_info['cache_bytes'] / 2**20:.1f} MB = {size_info['ratio']:.2f}× the clips' "
               f"{size_info['clip_bytes'] / 2**20:.1f} MB of mp4 (JPEG quality {size_info['jpeg_quality']}).")

# --- clip browser and downloads --------------------------------------------------------------
st.subheader("Clips")
if not clip_list:
    st.info("No clips yet: press **Cut clips**.")
else:
    by_path = {c["path"]: c for c in clip_list}
    chosen = st.selectbox("Clip", list(by_path), key="clip_pick",
                          format_func=lambda p: f"{p.rsplit('/', 1)[-1]} · video {by_path[p]['video_id']} · "
                                                f"frames {by_path[p]['start_frame']}–{by_path[p]['end_frame']}")
    clip = by_path[chosen]
    v, info = st.columns([3, 2])
    with v:
        path = ws.absolute(clip["path"])
        if path.is_file():
            st.video(str(path))
        else:
            st.warning("The clip file is missing: cut clips again.")
    with info:
        st.json({k: clip[k] for k in ("label", "number", "video_id", "start_frame", "end_frame", "frames", "fps",
                                      "bytes", "crop")})

    d1, d2, d3 = st.columns(3)
    d1.download_button("Splitter manifest (JSON, all videos)", manifest.manifest_json(ws), "manifest.json",
                       "application/json", key="dl_manifest")
    d2.download_button("Clips (CSV)", manifest.clips_csv(ws), "clips.csv", "text/csv", key="dl_csv")
    d3.download_button("Per-video manifests + CSV (zip)", manifest.export_zip(ws), "clips_export.zip",
                       "application/zip", key="dl_zip")
    st.caption("Manifest entries: start_time = start / fps, length = (end − start + 1) / fps (seconds on the "
               "video's time axis), rename_to = the clip's file name. `python -m core export-manifest DIR` writes "
               "the same files.")
