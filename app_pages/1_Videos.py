"""Videos: add by URL/playlist, upload or folder; see their exact metadata; preview; delete."""
import base64

import pandas as pd
import streamlit as st

from core.media import library
from ui import tasks
from ui.common import page

ws = page(
    "Videos",
    "🎞️",
    "Add workout videos. Every video is probed by decoding it completely, so the frame count here is the "
    "frame numbering used everywhere (labels, clips, training). Duplicates are recognised by content.",
)
store = ws.store()


def show_results(results):
    for r in results:
        (st.error if r.error else st.warning if r.duplicate_of is not None else st.success)(r.message)


add_url, add_upload, add_folder, add_clips = st.tabs(
    ["From a URL or playlist", "Upload", "From a folder", "Cut clips (labelled)"])

with add_url:
    url = st.text_input("Video or playlist URL", key="url", placeholder="https://…")
    st.caption("Downloaded with yt-dlp as the best mp4 at 480p or less; a playlist adds each of its videos.")

    def download_work(task):
        return library.add_url(ws, url.strip(), progress=task.report, cancel=task.cancel)

    if st.button("Download", key="download", disabled=not url.strip()):
        tasks.start("download", f"Downloading {url.strip()}", download_work)

    tasks.show("download", show_results, cancel_label="Cancel download")

with add_upload:
    st.caption(
        f"mp4, mov, webm, avi, mkv or GIF, up to {library.MAX_UPLOAD_BYTES // 1024**2} MB each. "
        "Files are stored inside the workspace; a file that is not a readable video is refused."
    )
    uploads = st.file_uploader(
        "Video files", accept_multiple_files=True, key="uploads",
        type=sorted(s.lstrip(".") for s in library.VIDEO_SUFFIXES),
    )
    if uploads and st.button("Add uploaded files", key="add_uploads"):
        bar = st.progress(0.0)
        results = []
        for i, up in enumerate(uploads):
            results.append(library.add_upload(ws, up.name, up))
            bar.progress((i + 1) / len(uploads), text=up.name)
        show_results(results)

with add_folder:
    folder = st.text_input("Folder on this machine", key="folder", placeholder="/path/to/videos")
    st.caption("Every video file under the folder is copied into the workspace.")
    if st.button("Add folder", key="add_folder", disabled=not folder.strip()):
        bar = st.progress(0.0)
        show_results(library.add_folder(ws, folder.strip(), progress=lambda i, n, name: bar.progress(
            i / n, text=f"{i}/{n} {name}")))

with add_clips:
    from core.dataset.clip_import import import_clips

    st.caption("A folder of already cut clips, `<movement>/<movement>_<i>.mp4`: each clip becomes a video with one "
               "rep spanning it. With the splitter manifests (`<video>.json` = [{start_time, length, rename_to}] per "
               "source video) a source video's clips stay in one split; without them splits cannot be grouped by "
               "athlete. The same as `python -m core videos add-clips DIR --manifests DIR`.")
    clip_dir = st.text_input("Clip folder", key="clip_dir", placeholder="/path/to/clips")
    manifest_dir = st.text_input("Manifest folder (optional)", key="clip_manifests", placeholder="/path/to/manifests")
    group_by = st.text_input("Without manifests, group by", value="folder", key="clip_group_by",
                             help="`folder`: the folder above the movement folder (athlete_3/thruster/… → athlete_3); "
                                  "or a regular expression searched in the clip's path (its first group is the key).")

    def run_clip_import(add_movements: bool) -> None:
        bar = st.progress(0.0)
        st.session_state["clip_report"] = import_clips(
            ws, clip_dir.strip(), manifests=manifest_dir.strip() or None, group_by=group_by.strip() or "folder",
            add_movements=add_movements, progress=lambda i, n, text: bar.progress(i / n if n else 0.0, text=text))

    if st.button("Import clips", key="import_clips", disabled=not clip_dir.strip()):
        run_clip_import(False)
    clip_report = st.session_state.get("clip_report")
    if clip_report is not None:
        (st.success if clip_report.ok else st.warning)(clip_report.summary())
        for note in clip_report.notes:
            st.caption(note)
        for problem in clip_report.problems:
            st.error(problem)
        if clip_report.unknown_movements:
            st.markdown("**Movements not in the label list:** " + ", ".join(
                f"`{m}` ({len(f)} clip(s))" for m, f in sorted(clip_report.unknown_movements.items())))
            if st.button("Add these movements and import their clips", key="clip_add_movements",
                         disabled=not clip_dir.strip()):
                run_clip_import(True)
                st.rerun()

st.divider()
videos = store.videos()
if not videos:
    st.info("No videos yet. Add some above, or run `python -m core demo` for synthetic demo workouts.")
    st.stop()

reps_by_video = {}
for seg in store.segments():
    reps_by_video[seg["video_id"]] = reps_by_video.get(seg["video_id"], 0) + 1


@st.cache_data(show_spinner=False, max_entries=2000)
def thumb_uri(video_id: int, sha256: str) -> str | None:
    path = library.thumbnail(ws, store.video(video_id))
    return "data:image/jpeg;base64," + base64.b64encode(path.read_bytes()).decode() if path else None


table = pd.DataFrame(
    [
        {
            "id": v["id"],
            "thumbnail": thumb_uri(v["id"], v["sha256"]),
            "title": v["title"],
            "frames": v["frames"],
            "fps": round(v["fps"], 3),
            "duration (s)": round(v["duration_s"], 2),
            "size": f"{v['width']}×{v['height']}",
            "rotation": v["rotation"],
            "codec": v["codec"],
            "VFR": "⚠️ variable" if v["vfr"] else "",
            "reps": reps_by_video.get(v["id"], 0),
            "source": v["source_url"] or "",
            "file": v["path"],
        }
        for v in videos
    ]
)
st.subheader(f"{len(videos)} videos")
st.dataframe(
    table, hide_index=True, key="videos_table",
    column_config={"thumbnail": st.column_config.ImageColumn("thumbnail", width="small"),
                   "source": st.column_config.LinkColumn("source")},
)
if any(v["vfr"] for v in videos):
    st.warning("Videos marked variable frame rate: frame numbers stay exact, but seconds are approximate.")

names = {v["id"]: f"{v['id']} · {v['title']}" for v in videos}
chosen = st.selectbox("Preview", list(names), format_func=names.get, key="preview")
video = store.video(chosen)
left, right = st.columns([3, 2])
with left:
    path = ws.absolute(video["path"])
    if path.suffix.lower() in {".mp4", ".webm", ".mov", ".m4v"}:
        st.video(str(path))
    else:
        thumb = library.thumbnail(ws, video, width=480)
        if thumb:
            st.image(str(thumb), caption="This format does not play in a browser; the middle frame is shown.")
with right:
    st.json({k: video[k] for k in ("frames", "fps", "duration_s", "width", "height", "rotation", "codec", "vfr")})
    with st.expander("Delete this video"):
        st.write(f"Deletes the file and its **{reps_by_video.get(chosen, 0)} labelled reps**. This cannot be undone.")
        sure = st.checkbox("Yes, delete it", key="confirm_delete")
        if st.button("Delete video", key="delete", disabled=not sure, type="primary"):
            library.delete_video(ws, chosen)
            st.session_state.pop("confirm_delete", None)
            st.rerun()
