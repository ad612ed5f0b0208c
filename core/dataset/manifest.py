"""Export of the clips for the earlier pipeline: splitter manifests and a CSV of clips.

Splitter manifest: one JSON list per source video, as the earlier ffmpeg splitter read it:
    [{"start_time": seconds, "length": seconds, "rename_to": "<movement>_<i>.mp4"}, …]
Seconds come from frames on the video's time axis (frame i starts at i / fps, fps = the video's
average frame rate as probed): start_time = start / fps, length = (end - start + 1) / fps — the
inclusive range, so the last frame is covered. Only clips that have been cut are listed (their
numbers are the clip names). A seconds-based cutter may still land a frame off (it seeks by time,
and variable-frame-rate videos have no exact frame time); the clips cut by the workbench are exact.

CSV of clips: path, movement, source video, video id, start, end (frames, inclusive), frames,
fps, split (empty when the video has no split).
"""
from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

from core.dataset.clips import clip_name, clips
from core.dataset.splits import current_splits
from core.base.workspace import Workspace

CSV_FIELDS = ("path", "movement", "source_video", "video_id", "start", "end", "frames", "fps", "split")


def splitter_manifests(ws: Workspace) -> dict[str, list[dict]]:
    """{source video file name: [{start_time, length, rename_to}, …] by start} for every video with clips."""
    store = ws.store()
    videos = {v["id"]: v for v in store.videos()}
    out: dict[str, list[tuple[int, dict]]] = {}
    for c in clips(store):
        video = videos.get(c["video_id"])
        if video is None:
            continue
        fps = video["fps"]
        entry = {"start_time": c["start_frame"] / fps, "length": (c["end_frame"] - c["start_frame"] + 1) / fps,
                 "rename_to": clip_name(c["label"], c["number"])}
        out.setdefault(Path(video["path"]).name, []).append((c["start_frame"], entry))
    return {name: [e for _, e in sorted(items, key=lambda t: t[0])] for name, items in sorted(out.items())}


def clip_table(ws: Workspace) -> list[dict]:
    store = ws.store()
    videos = {v["id"]: v for v in store.videos()}
    splits = current_splits(store)
    rows = []
    for c in clips(store):
        video = videos.get(c["video_id"]) or {}
        rows.append({"path": c["path"], "movement": c["label"], "source_video": video.get("path", ""),
                     "video_id": c["video_id"], "start": c["start_frame"], "end": c["end_frame"],
                     "frames": c["frames"], "fps": c["fps"], "split": splits.get(c["video_id"], "")})
    return rows


def clips_csv(ws: Workspace) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(clip_table(ws))
    return buf.getvalue()


def manifest_json(ws: Workspace) -> str:
    """All videos' splitter manifests in one JSON object {video file name: [entries]}."""
    return json.dumps(splitter_manifests(ws), indent=2)


def export(ws: Workspace, out_dir: str | Path) -> dict:
    """Write <video stem>.json (one splitter manifest per source video) and clips.csv into out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, entries in splitter_manifests(ws).items():
        target = out / f"{Path(name).stem}.json"
        target.write_text(json.dumps(entries, indent=2))
        written.append(str(target))
    (out / "clips.csv").write_text(clips_csv(ws))
    written.append(str(out / "clips.csv"))
    return {"out_dir": str(out), "files": written}


def export_zip(ws: Workspace) -> bytes:
    """The same files as `export`, as a zip (for a download button)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, entries in splitter_manifests(ws).items():
            z.writestr(f"{Path(name).stem}.json", json.dumps(entries, indent=2))
        z.writestr("clips.csv", clips_csv(ws))
    return buf.getvalue()
