"""Training windows: stretches of whole workout videos cut exactly as the analyser reads them.

Why: a model trained on whole-rep clips only ever saw one rep from its first frame to its last.
The analyser (`core.analysis.analyze.scan`) slides windows over a whole workout, so most of its windows
hold part of one rep and part of the next, or a rest, a walk to the next station, a set-up. On
the demo's held-out workouts a clip model right on 87-90 % of clips named only ~55 % of the
frames inside sets correctly. Training on the windows themselves, with an extra class `none`
for windows centred outside every rep, teaches the model the input it will be given.

A window is what `scan` classifies: `T` frames (the model's `frames`), every `step`-th frame
from `start`, with the span and stride of `core.analysis.analyze.window_plan` at the analyser's default
settings (a new window every 0.5 s) for the training setting `window_scales` (default 1 s and
2 s windows; the model records them and the analyser then slides the same spans). Its label is
the movement of the rep that holds its centre frame, or `none` (rest, transitions, anything unlabelled) when no rep does.
Frames go through THE preprocessing (`core.media.video.preprocess`, with the video's athlete box
when the setting crops, and the focus), so a cached window equals the scan's input up to JPEG.

Which videos: those of a split that have dataset reps (`core.labeling.annotator.dataset_segments`); a
video is taken to be fully labelled (an unlabelled rep there teaches `none`).

Windows are cached beside the clips of the same cache setting (`core.dataset.training_cache.build_windows`), keyed
by a fingerprint of (video content, window, label, box), so relabelling a video recomputes only
its changed windows. One job per video decodes it once, in order.
"""
from __future__ import annotations

import hashlib
from typing import Sequence

NONE = "none"
DEFAULT_SCALES = (1.0, 2.0)  # window spans in seconds (1 s and 2 s: short and long reps) unless a model says otherwise
WINDOW_FORMAT = 1  # bump when the window plan or labelling rule changes: every window is recomputed

__all__ = ["NONE", "DEFAULT_SCALES", "window_labels", "plan_video", "examples", "jobs", "compute_video"]


def window_labels(labels: Sequence[str]) -> list[str]:
    """The class list of a window-trained model: the movements, then `none`."""
    return [*labels, NONE] if NONE not in labels else list(labels)


def plan_video(frames: int, fps: float, clip_frames: int, reps: Sequence[dict],
               scales: Sequence[float] | None = None) -> list[dict]:
    """The windows the analyser would classify in a video of `frames` frames, labelled from its
    reps ({"label", "start", "end"}, inclusive): [{"start", "step", "label"}]. scales: the window
    spans in seconds (None: the analyser's default)."""
    from core.analysis.analyze import Settings, window_plan

    settings = Settings(scales=tuple(float(s) for s in scales) if scales else None)
    t = int(clip_frames)
    _g, stride, spans = window_plan(frames, fps, t, settings)
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


def jobs(ws, wanted: Sequence[dict], size, quality: int, focus: str | None) -> list[dict]:
    """One picklable job per video for the windows in `wanted` (see `compute_video`)."""
    store = ws.store()
    by_video: dict[int, list[dict]] = {}
    for e in wanted:
        by_video.setdefault(e["video_id"], []).append(e)
    out = []
    for vid, items in by_video.items():
        video = store.video(vid)
        out.append({"path": str(ws.absolute(video["path"])), "size": size, "quality": int(quality), "focus": focus,
                    "windows": [{k: e[k] for k in ("fingerprint", "label", "path", "start", "step", "frames", "box")}
                                for e in items]})
    return out


def compute_video(job: dict) -> list[tuple[dict, list[bytes]]]:
    """Decode one video once, in order, and return (window, [JPEG bytes] * T) for each window of
    the job, preprocessed as the analyser preprocesses it."""
    from core.dataset.training_cache import encode_frames
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
                x = preprocess([kept[j] for j in idx], job["size"], w["box"], job["focus"])
                out.append((dict(w, size=job["size"], clip=w["path"]), encode_frames(x, job["quality"], w["path"])))
                for j in idx:
                    needed[j] -= 1
                    if not needed[j]:
                        del kept[j]
                w = next(it, None)
    return out
