"""Training windows: stretches of whole workout videos cut exactly as the analyser reads them.

Why: a model trained on whole-rep clips only ever saw one rep from its first frame to its last.
The analyser (`core.analysis.scan.scan`) slides windows over a whole workout, so most of its windows
hold part of one rep and part of the next, or a rest, a walk to the next station, a set-up. On
the demo's held-out workouts a clip model right on 87-90 % of clips named only ~55 % of the
frames inside sets correctly. Training on the windows themselves, with an extra class `none`
for windows centred outside every rep, teaches the model the input it will be given.

A window is what `scan` classifies: `T` frames (the model's `frames`), every `step`-th frame
from `start`, with the span and stride of `window_plan` at the analyser's default
settings (a new window every 0.5 s) for the training setting `window_scales` (default 1 s and
2 s windows; the model records them and the analyser then slides the same spans). Its label is
the movement of the rep that holds its centre frame, or `none` (rest, transitions, anything unlabelled) when no rep does.
Frames go through THE preprocessing (`core.media.video.preprocess`, with the video's athlete box
when the setting crops, and the focus), so a cached window equals the scan's input up to JPEG.

Which videos: those of a split that have dataset reps (`core.labeling.annotator.dataset_segments`); a
video is taken to be fully labelled (an unlabelled rep there teaches `none`).

Windows are cached beside the clips of the same cache setting (`build_windows`), keyed
by a fingerprint of (video content, window, label, box), so relabelling a video recomputes only
its changed windows. One job per video decodes it once, in order.
"""
from __future__ import annotations

import hashlib
import math
import threading
from typing import Sequence

from core.base.progress import Progress
from core.base.workspace import Workspace
from core.dataset.training_cache import JPEG_QUALITY, encode_frames, pose_tracks, size_pair, update_records

NONE = "none"
DEFAULT_SCALES = (1.0, 2.0)  # window spans in seconds (1 s and 2 s: short and long reps) unless a model says otherwise
WINDOW_S, STRIDE_S = 1.0, 0.5  # the analyser's default window span and stride
WINDOW_FORMAT = 1  # bump when the window plan or labelling rule changes: every window is recomputed

__all__ = ["NONE", "DEFAULT_SCALES", "window_labels", "plan_video", "examples", "window_jobs", "compute_video", "build_windows"]


def window_plan(frames: int, fps: float, clip_frames: int, window_s: float = 1.0, stride_s: float = 0.5,
                scales: Sequence[float] | None = None) -> tuple[int, int, list[int]]:
    """(g, stride in frames, spans per scale) for a video: a window of scale s takes every
    round(base * s)-th frame, base being the step of a `window_s` window; windows start every
    `stride_s`; every frame a window uses is a multiple of g (the analyser's scan keeps only those)."""
    t = max(1, int(clip_frames))
    fps = fps if fps and fps > 0 else 30.0
    base = max(1, int(round(window_s * fps / max(1, t - 1))))
    stride = base * max(1, int(round(stride_s * fps / base)))
    steps = [max(1, int(round(base * s))) for s in (scales or DEFAULT_SCALES)]
    g = math.gcd(stride, *steps)
    return g, stride, [(t - 1) * step + 1 for step in steps]


def window_labels(labels: Sequence[str]) -> list[str]:
    """The class list of a window-trained model: the movements, then `none`."""
    return [*labels, NONE] if NONE not in labels else list(labels)


def plan_video(frames: int, fps: float, clip_frames: int, reps: Sequence[dict],
               scales: Sequence[float] | None = None) -> list[dict]:
    """The windows the analyser would classify in a video of `frames` frames, labelled from its
    reps ({"label", "start", "end"}, inclusive): [{"start", "step", "label"}]. scales: the window
    spans in seconds (None: the analyser's default)."""
    t = int(clip_frames)
    _g, stride, spans = window_plan(frames, fps, t, WINDOW_S, STRIDE_S, scales)
    owner = [None] * frames
    for r in reps:
        for i in range(max(0, int(r["start"])), min(frames - 1, int(r["end"])) + 1):
            owner[i] = r["label"]
    out = []
    for span in spans:
        step = (span - 1) // max(1, t - 1)
        for start in range(0, frames - span + 1, stride):
            centre = start + (span - 1) // 2
            out.append({"start": start, "step": step, "label": owner[centre] or NONE})
    return out


def _fingerprint(video_sha: str, w: dict, t: int, box) -> str:
    key = f"window{WINDOW_FORMAT}|{video_sha}|{t}|{w['start']}|{w['step']}|{w['label']}|{box}"
    return "w" + hashlib.sha1(key.encode()).hexdigest()[:23]


def examples(ws, split: str, clip_frames: int, crop: bool = True, scales: Sequence[float] | None = None) -> list[dict]:
    """The windows of the videos of `split` ("train", "val", "test"), in video order, as cache
    examples: {"kind": "window", "fingerprint", "label", "label_id", "video_id", "split", "path",
    "start", "step", "frames", "box"}; label_id indexes `window_labels(store.labels())`."""
    from core.labeling.annotator import dataset_segments
    from core.dataset.clips import normalise_box
    from core.dataset.splits import current_splits

    store = ws.store()
    classes = window_labels(store.labels())
    splits = current_splits(store)
    reps: dict[int, list[dict]] = {}
    for s in dataset_segments(store):
        if splits.get(s["video_id"]) == split and s["label"] in classes:
            reps.setdefault(s["video_id"], []).append(s)
    out = []
    t = int(clip_frames)
    for video in store.videos():
        if video["id"] not in reps or not video.get("frames"):
            continue
        box = normalise_box(video.get("roi"), video["width"], video["height"]) if crop else None
        for w in plan_video(int(video["frames"]), float(video.get("fps") or 30.0), t, reps[video["id"]], scales):
            end = w["start"] + (t - 1) * w["step"]
            out.append({"kind": "window", "fingerprint": _fingerprint(video["sha256"], w, t, box),
                        "label": w["label"], "label_id": classes.index(w["label"]), "video_id": video["id"],
                        "split": split, "path": f"{video['path']}#{w['start']}-{end}", "start": w["start"],
                        "step": w["step"], "frames": t, "box": box})
    return out


def window_jobs(ws, wanted: Sequence[dict], size, quality: int, focus: str | None, progress=None,
                cancel=None) -> list[dict]:
    """One picklable job per video for the windows in `wanted` (see `compute_video`). With focus
    "athlete" each window carries its athlete box (`core.pose.focus.athlete_box` over its frames,
    from the video's pose track, computed first where missing)."""
    store = ws.store()
    by_video: dict[int, list[dict]] = {}
    for e in wanted:
        by_video.setdefault(e["video_id"], []).append(e)
    tracks = pose_tracks(ws, by_video, progress, cancel) if focus == "athlete" else {}
    out = []
    for vid, items in by_video.items():
        video = store.video(vid)
        windows = [{k: e[k] for k in ("fingerprint", "label", "path", "start", "step", "frames", "box")}
                   for e in items]
        if focus == "athlete":
            from core.pose.focus import athlete_box

            for w in windows:
                w["athlete"] = athlete_box(tracks[vid], w["start"], w["start"] + (w["frames"] - 1) * w["step"])
        out.append({"path": str(ws.absolute(video["path"])), "size": size, "quality": int(quality), "focus": focus,
                    "windows": windows})
    return out


def compute_video(job: dict) -> list[tuple[dict, list[bytes]]]:
    """Decode one video once, in order, and return (window, [JPEG bytes] * T) for each window of
    the job, preprocessed as the analyser preprocesses it."""
    from core.media.video import VideoReader, preprocess

    windows = sorted(job["windows"], key=lambda w: w["start"] + (w["frames"] - 1) * w["step"])
    needed: dict[int, int] = {}  # frame -> how many windows still need it
    for w in windows:
        for i in range(w["start"], w["start"] + w["frames"] * w["step"], w["step"]):
            needed[i] = needed.get(i, 0) + 1
    out = []
    kept = {}
    with VideoReader(job["path"], cache_frames=2) as reader:
        it = iter(windows)
        w = next(it, None)
        for i in range(min(len(reader), max(needed) + 1 if needed else 0)):
            if i in needed:
                kept[i] = reader.frame(i)
            while w is not None and w["start"] + (w["frames"] - 1) * w["step"] == i:
                idx = list(range(w["start"], i + 1, w["step"]))
                x = preprocess([kept[j] for j in idx], job["size"], w["box"], job["focus"], w.get("athlete"))
                out.append((dict(w, size=job["size"], clip=w["path"]), encode_frames(x, job["quality"], w["path"])))
                for j in idx:
                    needed[j] -= 1
                    if not needed[j]:
                        del kept[j]
                w = next(it, None)
    return out


def build_windows(ws: Workspace, wanted: list[dict], frames: int, size, crop: bool, *, quality: int = JPEG_QUALITY,
                  jobs: int = 1, progress: Progress | None = None, cancel: threading.Event | None = None,
                  focus: str | None = None) -> dict:
    """Bring the training windows (`examples`) of one setting up to date: `wanted` are
    the windows to have (a cached window at the same place with an older labelling is dropped;
    windows elsewhere, e.g. of other spans, and clips are left alone).
    Each video is decoded once. Returns the summary of `build` (counting windows)."""
    return update_records(ws, frames, size, crop, quality, focus, "window", {e["fingerprint"]: e for e in wanted},
                   lambda missing: window_jobs(ws, missing, size_pair(size), quality, focus, progress, cancel),
                   compute_videos, 1,
                   jobs, progress, cancel, replaced_only=True)


def compute_videos(jobs: list[dict]) -> list[tuple[dict, list[bytes]]]:
    return [rec for job in jobs for rec in compute_video(job)]
