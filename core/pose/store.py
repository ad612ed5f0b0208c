"""Pose tracks stored in the workspace: one file per video content, pose model and sampling step.

    track = ensure_track(ws, video_id, progress=print_progress)   # computes once, then loads
    load_track(ws, video_id)        # None until computed (or after the athlete box changed)
    ensure_all(ws)                  # every video; drop_stale(ws) first
    track_for_path("upload.mp4", ws)  # a file outside the workspace, cached by its content
    load_track_for_path("upload.mp4", ws)  # that cached track, or None (never computes)

Where: ``<workspace>/pose/<sha256[:16]>_<model>_s<step>.npz`` (`track_file`), keyed by the video
row's content hash, the pose model's version (`MODEL_VERSION`, from the model files' hashes and
this pipeline's revision) and the sampling step; uploads under ``pose/uploads/`` keyed by the
file's own hash. Beside each track a small ``.json`` holds what it was made from: the video's
hash, the file's size and mtime when computed, and the athlete box it was given (the videos
row's ``roi``, None when the athlete was chosen automatically). A track made for another box than
the video's current one is not returned (`load_track` gives None, `ensure_track` recomputes):
the user corrected who the athlete is.

Resumable: a track is computed in chunks of `CHUNK` sampled frames; after each chunk the frames
done so far are saved as ``<name>.partial.npz``, so a killed or cancelled run continues where the
last chunk ended. `core.pose.track.compute_track`'s tracker state (the ROI taken from the previous
frame's landmarks) cannot be handed over between calls, so each chunk after the first starts
with a fresh detection gated near the athlete's last box (the square around the mid hip through
the farthest landmark, the same shape as a detection's body box) — exactly what the tracker does
after losing the pose; what the tracker knows about who is who (`core.pose.track.Athlete`: the
people around, their activity, the athlete's look) is carried over from chunk to chunk within
one run (a resumed run starts it afresh). A chunk boundary therefore costs one detector call and may move the first
frame of the chunk by a pixel or two against an uncut run; it never picks another person unless
one stands where the athlete was. Who the athlete is, is decided once for the whole video (the
same scan as `compute_track`'s: detections on a few anchor frames and ~0.3 s later, the person
whose body moves most, `choose_athlete`), not per chunk.

Bad input (nobody in frame, a 1-frame video, a GIF, a portrait video) gives a track whose summary
says "no pose" or lists the lost ranges; an unreadable file raises MediaError.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np

from core.base.errors import Cancelled, PoseError, WorkbenchError
from core.base.progress import Progress, check_cancel, report
from core.base.workspace import Workspace
from core.media.download import content_hash
from core.media.video import VideoReader
from core.pose.blazepose import PoseEstimator, landmark_box
from core.pose.landmarks import INDEX
from core.pose.models import MODELS
from core.pose.track import Athlete, PoseTrack, compute_track, default_step, find_athlete

__all__ = ["MODEL_VERSION", "CHUNK", "pose_dir", "track_file", "load_track", "ensure_track",
           "ensure_all", "drop_stale", "track_for_path", "load_track_for_path", "stored_track",
           "video_step", "people_on_frame", "set_athlete", "track_status"]

# Bump when core.pose.track / blazepose change what a track holds (old files are then stale).
PIPELINE = 2  # 2: who is who checked while tracking (core.pose.track.Athlete)
MODEL_VERSION = "bp" + hashlib.sha256(
    ("|".join(MODELS[name][1] for name in sorted(MODELS)) + f"|{PIPELINE}").encode()
).hexdigest()[:8]
CHUNK = 300  # sampled frames per saved chunk (20 s of video at 15 fps)

_HIPS = (INDEX["left_hip"], INDEX["right_hip"])


def pose_dir(ws: Workspace) -> Path:
    return ws.root / "pose"


def _video_row(ws: Workspace, video) -> dict:
    if isinstance(video, dict):
        return video
    row = ws.store().video(int(video))
    if row is None:
        raise PoseError(f"There is no video {video} in this workspace.")
    return row


def video_step(video: dict, step: int | None = None) -> int:
    """The sampling step of a video row: `step`, else every frame up to 15 fps (every frame of a clip)."""
    return default_step(float(video["fps"]), int(video["frames"])) if step is None else max(1, int(step))


def track_file(ws: Workspace, video, step: int | None = None) -> Path:
    """Where the pose track of `video` (a videos row or its id) at `step` is stored."""
    v = _video_row(ws, video)
    return pose_dir(ws) / f"{v['sha256'][:16]}_{MODEL_VERSION}_s{video_step(v, step)}.npz"


def _partial(target: Path) -> Path:
    return target.with_name(target.stem + ".partial.npz")


def _sidecar(target: Path) -> Path:
    return target.with_suffix(".json")


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def _box(box) -> list[float] | None:
    return None if box is None else [round(float(v), 1) for v in box]


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _unchanged(path: Path, sha256: str, meta: dict | None, sidecar: Path | None = None) -> bool:
    """Whether the file still has the content `sha256` (by size and mtime; rehashed when they
    changed, and the recorded ones in `sidecar` updated when the content is still the same)."""
    st = _stat(path)
    if st is None:
        return False
    if meta is not None and [meta.get("size"), meta.get("mtime_ns")] == list(st):
        return True
    if content_hash(path) != sha256:
        return False
    if meta is not None and sidecar is not None:
        _write_json(sidecar, dict(meta, size=st[0], mtime_ns=st[1]))
    return True


# -- computing ---------------------------------------------------------------------------------

def _resume_box(track: PoseTrack) -> tuple | None:
    """The athlete's body box on the last frame with a pose: the square around the mid hip
    through the farthest landmark (a detection's body box has that shape)."""
    has = np.flatnonzero(track.has_pose)
    if not len(has):
        return None
    xy = track.xy[has[-1]].astype(np.float64)
    cx, cy = xy[list(_HIPS)].mean(axis=0)
    r = float(np.sqrt(((xy - (cx, cy)) ** 2).sum(axis=1)).max())
    if not math.isfinite(r) or r < 2:
        return None
    return (cx - r, cy - r, cx + r, cy + r)


def _concat(a: PoseTrack | None, b: PoseTrack, athlete_box) -> PoseTrack:
    if a is None:
        b.athlete_box = athlete_box if athlete_box is not None else b.athlete_box
        return b
    return PoseTrack(frames=np.concatenate([a.frames, b.frames]),
                     xy=np.concatenate([a.xy, b.xy]), z=np.concatenate([a.z, b.z]),
                     visibility=np.concatenate([a.visibility, b.visibility]),
                     score=np.concatenate([a.score, b.score]), fps=b.fps, width=b.width,
                     height=b.height, step=b.step, model=b.model, video_frames=b.video_frames,
                     athlete_box=athlete_box if athlete_box is not None else b.athlete_box)


def _clipped(box, width: int, height: int) -> tuple | None:
    if box is None:
        return None
    x0, y0, x1, y1 = (float(v) for v in box)
    return (round(max(0.0, x0), 1), round(max(0.0, y0), 1), round(min(float(width), x1), 1),
            round(min(float(height), y1), 1))


def _compute(path: Path, target: Path | None, meta: dict, *, step: int | None, box,
             progress: Progress | None, cancel, recompute: bool, chunk: int,
             estimator: PoseEstimator | None) -> PoseTrack:
    """The track of `path` (cached at `target` with sidecar `meta` when target is given)."""
    given = _box(box)
    if target is not None:
        side = _read_json(_sidecar(target))
        if recompute:
            for p in (target, _partial(target), _sidecar(target)):
                p.unlink(missing_ok=True)
        elif target.exists() and side is not None and side.get("complete") \
                and side.get("box") == given:
            try:
                return PoseTrack.load(target)
            except PoseError:
                pass  # unreadable: computed again below
    est = estimator if estimator is not None else PoseEstimator()
    with VideoReader(path, cache_frames=8) as reader:
        n, fps = len(reader), reader.info.fps
        width, height = reader.info.width, reader.info.height
        step = default_step(fps, n) if step is None else max(1, int(step))
        sampled = list(range(0, n, step))
        total = len(sampled)
        done: PoseTrack | None = None
        if target is not None and not recompute:
            side = _read_json(_sidecar(target))
            part = _partial(target)
            if part.exists() and side is not None and not side.get("complete") \
                    and side.get("box") == given:
                try:
                    done = PoseTrack.load(part)
                except PoseError:
                    done = None
                if done is not None and (done.step != step or done.video_frames != n
                                         or len(done) == 0 or len(done) > total
                                         or done.frames.tolist() != sampled[:len(done)]):
                    done = None
        if done is None:
            report(progress, 0, total, "finding the athlete")
            chosen = (0, box, 0, None) if box is not None else find_athlete(reader, est, sampled, fps, cancel)
            first_box, others = (tuple(float(v) for v in chosen[1]), chosen[2]) if chosen else (None, 0)
            seen = chosen[3] if chosen else None
            next_box = first_box
            start = 0
        else:
            first_box, others = done.athlete_box, done.others_moving
            seen = None  # the scan is not stored with the part done
            next_box = _resume_box(done) or first_box
            start = int(done.frames[-1]) + step
    if target is not None:
        record = dict(meta, box=given, model=MODEL_VERSION, step=step, complete=False)
    athlete = Athlete(fps)
    while start < n:
        end = min(n - 1, start + chunk * step - 1)
        offset = 0 if done is None else len(done)

        def part_progress(d, t, text, offset=offset):
            report(progress, offset + d, total, text)

        # The user's box is followed as given; an automatic pick resumes with the checks of
        # who is who, the Athlete model carried over from the chunk before.
        where = {"athlete_box": next_box} if box is not None else {"start_box": next_box, "seen": seen}
        piece = compute_track(path, step=step, start=start, end=end, progress=part_progress,
                              cancel=cancel, estimator=est, athlete=athlete, **where)
        if first_box is None and piece.athlete_box is not None:
            first_box, others = piece.athlete_box, piece.others_moving
        done = _concat(done, piece, _clipped(first_box, width, height))
        done.others_moving = others
        if target is not None and end < n - 1:
            done.save(_partial(target))
            _write_json(_sidecar(target), record)
        next_box = _resume_box(done) or next_box
        start = end + 1
    if done is None:  # cannot happen for a readable video (n >= 1); kept for clarity
        raise PoseError(f"{path}: no frames to track.")
    done.athlete_box = _clipped(first_box, width, height)
    if target is not None:
        done.save(target)
        _write_json(_sidecar(target), dict(record, complete=True))
        _partial(target).unlink(missing_ok=True)
    report(progress, total, total, "done")
    return done


# -- workspace videos --------------------------------------------------------------------------

def _meta(ws: Workspace, v: dict) -> dict:
    st = _stat(ws.absolute(v["path"]))
    return {"sha256": v["sha256"], "video_id": v["id"], "path": v["path"],
            "size": st[0] if st else None, "mtime_ns": st[1] if st else None}


def load_track(ws: Workspace, video_id: int, step: int | None = None) -> PoseTrack | None:
    """The stored pose track of a video; None when it is not computed (or only partly), was made
    for another athlete box than the video's current one, or the video's file has changed."""
    v = _video_row(ws, video_id)
    target = track_file(ws, v, step)
    side = _read_json(_sidecar(target))
    if not target.exists() or side is None or not side.get("complete") \
            or side.get("box") != _box(v["roi"]):
        return None
    if not _unchanged(ws.absolute(v["path"]), v["sha256"], side, _sidecar(target)):
        return None
    try:
        return PoseTrack.load(target)
    except PoseError:
        return None


def track_status(ws: Workspace, video_id: int, step: int | None = None) -> dict:
    """What is stored for a video: {"state": "done" | "partial" | "other box" | "none",
    "frames_done", "frames_total", "file"} (cheap: reads no landmarks)."""
    v = _video_row(ws, video_id)
    target = track_file(ws, v, step)
    side = _read_json(_sidecar(target)) or {}
    total = len(range(0, int(v["frames"]), video_step(v, step)))
    state, done = "none", 0
    if side and side.get("box") != _box(v["roi"]) and (target.exists() or
                                                      _partial(target).exists()):
        state = "other box"
    elif target.exists() and side.get("complete"):
        state, done = "done", total
    elif _partial(target).exists():
        state = "partial"
        try:
            with np.load(_partial(target), allow_pickle=False) as d:
                done = int(len(d["frames"]))
        except (OSError, KeyError, ValueError):
            done = 0
    return {"state": state, "frames_done": done, "frames_total": total, "file": str(target)}


def ensure_track(ws: Workspace, video_id: int, *, step: int | None = None,
                 progress: Progress | None = None, cancel=None, recompute: bool = False,
                 chunk: int = CHUNK, estimator: PoseEstimator | None = None) -> PoseTrack:
    """The pose track of a workspace video, computed (and stored) when missing. The video's
    athlete box (``roi``) picks the athlete when it has one. Resumes a partial computation;
    `recompute` starts over. Cancelled (from `cancel`) keeps the chunks already saved."""
    v = _video_row(ws, video_id)
    path = ws.absolute(v["path"])
    if not path.is_file():
        raise PoseError(f"The file of video {v['id']} ({v['path']}) is missing.")
    target = track_file(ws, v, step)
    side = _read_json(_sidecar(target))
    if side is not None and not _unchanged(path, v["sha256"], side, _sidecar(target)):
        recompute = True  # the file on disk is not the content the track was made from
    return _compute(path, target, _meta(ws, v), step=video_step(v, step), box=v["roi"],
                    progress=progress, cancel=cancel, recompute=recompute,
                    chunk=max(1, int(chunk)), estimator=estimator)


def ensure_all(ws: Workspace, *, step: int | None = None, progress: Progress | None = None,
               cancel=None, recompute: bool = False, chunk: int = CHUNK,
               estimator: PoseEstimator | None = None) -> dict[int, dict]:
    """Every video's pose track (stale track files are dropped first). Returns
    {video_id: summary} with {"error": message} for a video that could not be tracked;
    Cancelled stops the whole run (finished tracks and saved chunks are kept)."""
    drop_stale(ws)
    videos = ws.store().videos()
    sizes = [len(range(0, int(v["frames"]), video_step(v, step))) for v in videos]
    total = sum(sizes)
    est = estimator
    out: dict[int, dict] = {}
    offset = 0
    for v, size in zip(videos, sizes):
        check_cancel(cancel, "The pose tracks")

        def one(d, t, text, offset=offset, v=v):
            report(progress, offset + min(d, size), total, f"video {v['id']}: {text}")

        try:
            if est is None:
                est = PoseEstimator()
            out[v["id"]] = ensure_track(ws, v["id"], step=step, progress=one, cancel=cancel,
                                        recompute=recompute, chunk=chunk,
                                        estimator=est).summary()
        except Cancelled:
            raise
        except PoseError as err:
            if est is None:  # the models are missing: nothing can be tracked
                raise
            out[v["id"]] = {"error": str(err)}
        except WorkbenchError as err:
            out[v["id"]] = {"error": str(err)}
        offset += size
    report(progress, total, total, "done")
    return out


def drop_stale(ws: Workspace) -> list[Path]:
    """Delete track files that no longer belong to a video of the workspace: its row is gone,
    its file is gone or holds other content, or the track is from another pose model. Uploads'
    tracks (pose/uploads/) are dropped only for another model. Returns the deleted paths."""
    folder = pose_dir(ws)
    if not folder.is_dir():
        return []
    by_prefix = {v["sha256"][:16]: v for v in ws.store().videos()}
    checked: dict[str, bool] = {}
    removed: list[Path] = []
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.name.startswith("."):
            continue
        parts = p.name.split(".")[0].split("_")
        stale = len(parts) != 3 or parts[1] != MODEL_VERSION
        if not stale:
            v = by_prefix.get(parts[0])
            if v is None:
                stale = True
            else:
                key = f"{v['id']}:{p.name.split('.')[0]}"
                if key not in checked:
                    car = _sidecar(folder / (p.name.split(".")[0] + ".npz"))
                    checked[key] = _unchanged(ws.absolute(v["path"]), v["sha256"],
                                              _read_json(car), car)
                stale = not checked[key]
        if stale:
            p.unlink(missing_ok=True)
            removed.append(p)
    uploads = folder / "uploads"
    if uploads.is_dir():
        for p in sorted(uploads.iterdir()):
            if p.is_file() and f"_{MODEL_VERSION}_" not in p.name:
                p.unlink(missing_ok=True)
                removed.append(p)
    return removed


def _upload_target(ws: Workspace, path: Path, digest: str, step: int | None) -> Path:
    if step is None:
        with VideoReader(path, cache_frames=1) as reader:
            step = default_step(reader.info.fps, len(reader))
    return pose_dir(ws) / "uploads" / f"{digest[:16]}_{MODEL_VERSION}_s{int(step)}.npz"


def load_track_for_path(path, ws: Workspace, step: int | None = None) -> PoseTrack | None:
    """The track `track_for_path` stored for a file's content (an upload predicted or analysed with
    a pose model), or None when there is none complete; never computes."""
    path = Path(path)
    if not path.is_file():
        return None
    target = _upload_target(ws, path, content_hash(path), step)
    side = _read_json(_sidecar(target))
    if not target.exists() or side is None or not side.get("complete") or side.get("box") is not None:
        return None
    try:
        return PoseTrack.load(target)
    except PoseError:
        return None


def stored_track(ws: Workspace, *, video_id: int | None = None, path=None) -> PoseTrack | None:
    """The pose track already stored for a workspace video (`load_track`) or a file's content
    (`load_track_for_path`), or None; never computes (what a page shows without waiting)."""
    if video_id is not None:
        return load_track(ws, int(video_id))
    return load_track_for_path(path, ws)


def track_for_path(path, ws: Workspace | None = None, *, step: int | None = None,
                   athlete_box=None, progress: Progress | None = None, cancel=None,
                   recompute: bool = False, chunk: int = CHUNK,
                   estimator: PoseEstimator | None = None) -> PoseTrack:
    """The pose track of a file outside the workspace (an upload). With `ws`, cached under
    ``pose/uploads/`` by the file's sha256 (and resumable like a workspace video's)."""
    path = Path(path)
    if not path.is_file():
        raise PoseError(f"{path}: no such file.")
    target = None
    meta: dict = {}
    if ws is not None:
        digest = content_hash(path)
        target = _upload_target(ws, path, digest, step)
        st = _stat(path)
        meta = {"sha256": digest, "path": str(path), "size": st[0], "mtime_ns": st[1]}
    return _compute(path, target, meta, step=step, box=athlete_box, progress=progress,
                    cancel=cancel, recompute=recompute, chunk=max(1, int(chunk)),
                    estimator=estimator)


# -- the athlete correction (Label page) -------------------------------------------------------

def people_on_frame(ws: Workspace, video_id: int, frame: int,
                    estimator: PoseEstimator | None = None) -> list[dict]:
    """The people the detector finds on one frame of a video, best first: {"box": (x0, y0, x1,
    y1) around the person's landmarks with a margin, in pixels of the frame, "score"}. A box is
    what `set_athlete` stores."""
    v = _video_row(ws, video_id)
    est = estimator if estimator is not None else PoseEstimator()
    with VideoReader(ws.absolute(v["path"]), cache_frames=1) as reader:
        img = reader.frame(int(frame))
        h, w = img.shape[:2]
    out = []
    for det in est.detect(img):
        res = est.landmarks(img, det.roi())
        if res.presence >= est.presence_threshold:
            x0, y0, x1, y1 = landmark_box(res.xy)
        else:
            x0, y0, x1, y1 = det.box
        pad = 0.08 * max(x1 - x0, y1 - y0)
        box = (max(0, int(x0 - pad)), max(0, int(y0 - pad)), min(w, int(math.ceil(x1 + pad))),
               min(h, int(math.ceil(y1 + pad))))
        if box[2] > box[0] and box[3] > box[1]:
            out.append({"box": box, "score": round(float(det.score), 3)})
    return out


def set_athlete(ws: Workspace, video_id: int, box) -> None:
    """Store the athlete box of a video (the videos row's ``roi``; None clears it). The stored
    track then no longer counts (`load_track` gives None) until `ensure_track` recomputes it."""
    v = _video_row(ws, video_id)
    if box is not None:
        x0, y0, x1, y1 = (int(round(float(c))) for c in box)
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(int(v["width"]), x1), min(int(v["height"]), y1)
        if x1 <= x0 or y1 <= y0:
            raise PoseError(f"The athlete box {tuple(box)} is empty inside the frame.")
        box = (x0, y0, x1, y1)
    ws.store().set_video_roi(v["id"], box)
