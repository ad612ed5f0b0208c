"""The athlete's pose track of a video: BlazePose landmarks on sampled frames of one person.

    track = compute_track("workout.mp4", progress=print_progress)
    track.summary()   # frames sampled, share with pose, lost ranges, mean presence
    track.save("workout.pose.npz"); PoseTrack.load("workout.pose.npz")

Frames come from the project's one decoder (`core.media.video.VideoReader`); ``frames`` holds
its indices. Default sampling: every frame up to 15 fps, i.e. ``step = max(1, round(fps / 15))``.

The athlete, not the judge. CrossFit footage has judges, camera people and other athletes in
frame, so the track follows one person:

- with ``athlete_box`` (x0, y0, x1, y1 in pixels of the displayed frame), the person whose
  detection overlaps it best on the first frames where anyone is detected;
- else a short scan first: the detector runs on a few anchor frames spread over the video and
  on a frame ~0.3 s after each; detections are linked into people (IoU / centre distance within a
  pair, centre distance and size across anchors) and the person whose body moves most is chosen
  (keypoint deformation between the paired frames and across anchors, normalised by the
  person's size; translation counts a third as much, so a judge walking along the lane loses to
  an athlete squatting in place), with size, centrality and how often the person is seen as
  tie-breaks;
- then the landmark model tracks that person from frame to frame (ROI from the previous
  landmarks); when the pose is lost the detector runs again and only a detection near the
  athlete's last box (centre within about one body size, growing slowly with the time lost;
  size within 2.5x) is taken, so the track never jumps to a far bystander.
"""
from __future__ import annotations

import json
import math
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from core.base.errors import PoseError
from core.base.progress import Progress, check_cancel, report
from core.media.video import VideoReader, sample_indices
from core.pose.blazepose import (MODEL_NAME, Detection, PoseEstimator, Roi, iou,
                                 nearest_detection)
from core.pose.landmarks import EDGE_INDEX, N_LANDMARKS, NAMES

__all__ = ["PoseTrack", "compute_track", "default_step", "choose_athlete", "TARGET_FPS"]

TARGET_FPS = 15.0
_FORMAT = 1
_SCAN_ANCHORS = 6
_SCAN_GAP_S = 0.3


def default_step(fps: float) -> int:
    """Every frame up to 15 fps: step = max(1, round(fps / 15)) (1 when the rate is unknown)."""
    return max(1, int(round(fps / TARGET_FPS))) if fps and fps > 0 else 1


@dataclass
class PoseTrack:
    """One person's landmarks on the sampled frames of a video (arrays as in
    `core.pose.landmarks`): frames int32[T], xy float32[T, 33, 2] (NaN: no pose), z float32[T, 33],
    visibility float32[T, 33], score float32[T] (pose presence, 0 where none); plus the video's
    fps and size (after rotation), the sampling step and the model's name."""

    frames: np.ndarray
    xy: np.ndarray
    z: np.ndarray
    visibility: np.ndarray
    score: np.ndarray
    fps: float
    width: int
    height: int
    step: int
    model: str = MODEL_NAME
    video_frames: int = 0
    athlete_box: tuple | None = None  # where the track started (given or chosen), in the frame
    names: tuple = field(default=NAMES, repr=False)
    edges: tuple = field(default=EDGE_INDEX, repr=False)

    def __len__(self) -> int:
        return len(self.frames)

    @classmethod
    def empty(cls, frames: Sequence[int], *, fps: float, width: int, height: int, step: int,
              video_frames: int = 0) -> "PoseTrack":
        t = len(frames)
        return cls(frames=np.asarray(frames, np.int32).reshape(t),
                   xy=np.full((t, N_LANDMARKS, 2), np.nan, np.float32),
                   z=np.full((t, N_LANDMARKS), np.nan, np.float32),
                   visibility=np.zeros((t, N_LANDMARKS), np.float32),
                   score=np.zeros(t, np.float32), fps=float(fps), width=int(width),
                   height=int(height), step=int(step), video_frames=int(video_frames))

    @property
    def has_pose(self) -> np.ndarray:
        """bool[T]: frames where the athlete's pose was found."""
        return (self.score > 0) & np.isfinite(self.xy).all(axis=(1, 2))

    def lost_ranges(self) -> list[list[int]]:
        """[[a, b], …]: runs of consecutive sampled frames without a pose, as first and last
        frame numbers (inclusive)."""
        out: list[list[int]] = []
        start = prev = None
        for f, ok in zip(self.frames.tolist(), self.has_pose.tolist()):
            if not ok:
                if start is None:
                    start = f
                prev = f
            elif start is not None:
                out.append([start, prev])
                start = None
        if start is not None:
            out.append([start, prev])
        return out

    def summary(self) -> dict:
        has = self.has_pose
        n = len(self.frames)
        share = float(has.mean()) if n else 0.0
        status = "no pose" if not has.any() else ("ok" if share >= 0.5 else "partial")
        return {"frames_sampled": n, "step": self.step,
                "frames_with_pose": int(has.sum()), "share_with_pose": round(share, 4),
                "lost_ranges": self.lost_ranges(),
                "mean_presence": round(float(self.score[has].mean()), 4) if has.any() else 0.0,
                "status": status, "model": self.model,
                "athlete_box": list(self.athlete_box) if self.athlete_box is not None else None}

    def to_json(self) -> dict:
        """Everything, JSON-ready (NaN becomes null; coordinates rounded to 0.1 px)."""
        def clean(a, nd):
            a = np.round(np.asarray(a, np.float64), nd)
            return np.where(np.isfinite(a), a, None).tolist()

        return {"format": _FORMAT, "model": self.model, "fps": self.fps, "width": self.width,
                "height": self.height, "step": self.step, "video_frames": self.video_frames,
                "athlete_box": list(self.athlete_box) if self.athlete_box is not None else None,
                "names": list(self.names), "edges": [list(e) for e in self.edges],
                "summary": self.summary(), "frames": self.frames.tolist(),
                "xy": clean(self.xy, 1), "z": clean(self.z, 1),
                "visibility": clean(self.visibility, 3), "score": clean(self.score, 4)}

    def save(self, path) -> Path:
        """Write the track as .npz (atomically: a temporary file renamed into place)."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"format": _FORMAT, "model": self.model, "fps": self.fps, "width": self.width,
                "height": self.height, "step": self.step, "video_frames": self.video_frames,
                "athlete_box": list(self.athlete_box) if self.athlete_box is not None else None,
                "names": list(self.names)}
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "wb") as f:
            np.savez_compressed(f, frames=self.frames, xy=self.xy, z=self.z,
                                visibility=self.visibility, score=self.score,
                                meta=np.array(json.dumps(meta)))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path) -> "PoseTrack":
        try:
            with np.load(Path(path), allow_pickle=False) as d:
                meta = json.loads(str(d["meta"]))
                if meta.get("format") != _FORMAT:
                    raise PoseError(f"{path}: pose track format {meta.get('format')} is not "
                                    f"supported (expected {_FORMAT}).")
                box = meta.get("athlete_box")
                return cls(frames=d["frames"].astype(np.int32), xy=d["xy"].astype(np.float32),
                           z=d["z"].astype(np.float32),
                           visibility=d["visibility"].astype(np.float32),
                           score=d["score"].astype(np.float32), fps=float(meta["fps"]),
                           width=int(meta["width"]), height=int(meta["height"]),
                           step=int(meta["step"]), model=str(meta["model"]),
                           video_frames=int(meta.get("video_frames", 0)),
                           athlete_box=tuple(box) if box is not None else None)
        except PoseError:
            raise
        except (OSError, KeyError, ValueError) as err:
            raise PoseError(f"{path}: not a readable pose track ({err}).") from err


# -- choosing the athlete ---------------------------------------------------------------------------

def _side(box) -> float:
    return max(1.0, math.sqrt(max(0.0, (box[2] - box[0]) * (box[3] - box[1]))))


def _center(box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _shape(det: Detection) -> np.ndarray:
    """The detection's keypoint configuration relative to its hip centre, in units of its size."""
    kp = det.keypoints.astype(np.float64)
    return ((kp[1:] - kp[0]) / _side(det.box)).ravel()


def _match(a: Detection, candidates: Sequence[Detection]) -> Detection | None:
    best, key = None, None
    for c in candidates:
        d = math.dist(_center(a.box), _center(c.box)) / _side(a.box)
        ratio = max(_side(a.box), _side(c.box)) / min(_side(a.box), _side(c.box))
        if d > 0.5 or ratio > 1.5:
            continue
        k = (-iou(a.box, c.box), d)
        if key is None or k < key:
            best, key = c, k
    return best


@dataclass
class _Person:
    sightings: list = field(default_factory=list)  # (frame, Detection, local motion or None)

    @property
    def last(self) -> Detection:
        return self.sightings[-1][1]


def choose_athlete(scan: Sequence[tuple[int, list[Detection], list[Detection]]],
                   width: int, height: int) -> tuple[int, tuple] | None:
    """From (anchor frame, detections there, detections ~0.3 s later) triples, the athlete's
    (anchor frame, box) at the first anchor where they are seen; None when nobody is.

    People are linked across anchors by centre distance (within 1.5 body sizes, size within 2x);
    each person's score: deformation (keypoints relative to the hip, per size) between the paired
    frames and across anchors, plus a third of its translation, plus small bonuses for size,
    centrality and how many anchors see it."""
    people: list[_Person] = []
    for frame, dets, later in scan:
        used: set[int] = set()
        for det in dets:
            m = _match(det, later)
            motion = None
            if m is not None:
                deform = float(np.abs(_shape(det) - _shape(m)).mean())
                shift = math.dist(_center(det.box), _center(m.box)) / _side(det.box)
                motion = deform + shift / 3
            best, key = None, None
            for pi, p in enumerate(people):
                if pi in used:
                    continue
                last = p.last
                d = math.dist(_center(det.box), _center(last.box)) / _side(last.box)
                ratio = max(_side(det.box), _side(last.box)) / min(_side(det.box), _side(last.box))
                if d > 1.5 or ratio > 2.0:
                    continue
                if key is None or d < key:
                    best, key = pi, d
            if best is None:
                people.append(_Person())
                best = len(people) - 1
            used.add(best)
            people[best].sightings.append((frame, det, motion))
    if not people:
        return None
    n_anchors = max(1, len(scan))
    diag = math.hypot(width, height)

    def value(p: _Person) -> float:
        local = [m for _, _, m in p.sightings if m is not None]
        local_motion = float(np.mean(local)) if local else 0.0
        shapes = np.array([_shape(d) for _, d, _ in p.sightings])
        spread = float(shapes.std(axis=0).mean()) if len(shapes) > 1 else 0.0
        size = float(np.mean([_side(d.box) for _, d, _ in p.sightings])) / diag
        cx = float(np.mean([_center(d.box)[0] for _, d, _ in p.sightings])) / max(1, width)
        cy = float(np.mean([_center(d.box)[1] for _, d, _ in p.sightings])) / max(1, height)
        centrality = 1.0 - min(1.0, math.hypot(cx - 0.5, cy - 0.5) / 0.7071)
        seen = len(p.sightings) / n_anchors
        return local_motion + 0.5 * spread + 0.05 * size + 0.03 * centrality + 0.05 * seen

    athlete = max(people, key=value)
    frame, det, _ = athlete.sightings[0]
    return frame, det.box


def _scan(reader: VideoReader, est: PoseEstimator, sampled: Sequence[int], fps: float, cancel):
    n = len(reader)
    k = min(_SCAN_ANCHORS, len(sampled))
    anchors = sorted({sampled[i] for i in sample_indices(0, len(sampled) - 1, k)}) if k else []
    gap = max(1, int(round(_SCAN_GAP_S * (fps if fps > 0 else 25))))
    out = []
    for a in anchors:
        check_cancel(cancel, "The pose track")
        dets = est.detect(reader.frame(a))
        later = []
        if dets and a + gap < n:
            later = est.detect(reader.frame(a + gap))
        out.append((a, dets, later))
    return out


# -- the track --------------------------------------------------------------------------------------

def compute_track(video_path, *, step: int | None = None, athlete_box=None,
                  progress: Progress | None = None, cancel=None,
                  start: int = 0, end: int | None = None,
                  estimator: PoseEstimator | None = None, prefetch: bool = True) -> PoseTrack:
    """The athlete's pose track of `video_path` (see the module docstring for who "the athlete"
    is). `step`: sample every step-th frame (default: every frame up to 15 fps). `athlete_box`:
    (x0, y0, x1, y1) pixels around the athlete on the first frames. `progress(done, total, text)`
    is called as frames are done; `cancel` (a threading.Event) stops it with Cancelled.
    Raises MediaError for unreadable videos; a video without anyone gives a track with score 0
    everywhere (summary status "no pose"). `start`, `end`: the frame range to track (inclusive;
    default the whole video), sampled from `start`. `prefetch`: decode the next frames in a thread while
    the models run (the decoder releases the GIL)."""
    est = estimator if estimator is not None else PoseEstimator()
    with VideoReader(video_path, cache_frames=32) as reader:
        info = reader.info
        fps = info.fps
        step = default_step(fps) if step is None else max(1, int(step))
        last = len(reader) - 1 if end is None else min(int(end), len(reader) - 1)
        first = max(0, int(start))
        if last < first:
            raise PoseError(f"{video_path}: empty frame range [{start}, {end}] "
                            f"(the video has {len(reader)} frames).")
        sampled = list(range(first, last + 1, step))
        track = PoseTrack.empty(sampled, fps=fps, width=info.width, height=info.height,
                                step=step, video_frames=len(reader))
        total = len(sampled)
        report(progress, 0, total, "finding the athlete")

        target = None  # (frame the box belongs to, box)
        if athlete_box is not None:
            box = tuple(float(v) for v in athlete_box)
            if len(box) != 4 or not (box[2] > box[0] and box[3] > box[1]):
                raise PoseError(f"athlete_box must be (x0, y0, x1, y1) with x1 > x0 and y1 > y0; "
                                f"got {athlete_box!r}.")
            target = (first, box)
        else:
            chosen = choose_athlete(_scan(reader, est, sampled, fps, cancel), info.width,
                                    info.height)
            if chosen is not None:
                target = chosen
        if target is not None:  # as a user would draw it: inside the frame
            x0, y0, x1, y1 = target[1]
            track.athlete_box = (round(max(0.0, x0), 1), round(max(0.0, y0), 1),
                                 round(min(float(info.width), x1), 1),
                                 round(min(float(info.height), y1), 1))

        roi: Roi | None = None
        last_box = target[1] if target else None
        last_seen = target[0] if target else 0
        given = athlete_box is not None
        per_second = max(1, int(round((fps if fps > 0 else TARGET_FPS) / step)))
        frames = _Prefetch(reader, sampled) if prefetch else ((i, reader.frame(i)) for i in sampled)
        try:
            for ti, (fi, frame) in enumerate(frames):
                check_cancel(cancel, "The pose track")
                if target is None and ti % per_second:  # nobody seen yet: look once a second
                    if ti % 5 == 0:
                        report(progress, ti + 1, total, f"frame {fi}")
                    continue
                res = None
                if roi is not None:
                    res = est.landmarks(frame, roi)
                    if res.presence < est.presence_threshold:
                        res = None
                if res is None:
                    dets = est.detect(frame)
                    det = _reacquire(dets, last_box, fi - last_seen, fps, given)
                    if det is not None:
                        res = est.landmarks(frame, det.roi())
                        if res.presence < est.presence_threshold:
                            res = None
                if res is None:
                    roi = None
                else:
                    roi = res.next_roi
                    track.xy[ti], track.z[ti] = res.xy, res.z
                    track.visibility[ti] = res.visibility
                    track.score[ti] = max(res.presence, 1e-6)
                    last_box, last_seen = roi.body_box(), fi
                    if target is None:
                        target = (fi, last_box)
                if ti % 5 == 0 or ti == total - 1:
                    report(progress, ti + 1, total, f"frame {fi}")
        finally:
            if prefetch:
                frames.close()
        report(progress, total, total, "done")
    return track


class _Prefetch:
    """Frames (index, RGB) decoded ahead in a thread; `close()` stops it. The reader is used
    by this thread only until close() returns."""

    _END = object()

    def __init__(self, reader: VideoReader, indices: Sequence[int], depth: int = 4):
        self._q: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(reader, list(indices)),
                                        name="pose-decode", daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, reader, indices) -> None:
        try:
            for i in indices:
                if self._stop.is_set() or not self._put((i, reader.frame(i))):
                    return
        except BaseException as err:  # handed to the consumer, raised there
            self._put((self._END, err))
            return
        self._put((self._END, None))

    def __iter__(self):
        while True:
            i, item = self._q.get()
            if i is self._END:
                if item is not None:
                    raise item
                return
            yield i, item

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._q.get(timeout=0.05)
            except queue.Empty:
                pass
        self._thread.join()


def _reacquire(dets: Sequence[Detection], last_box, frames_lost: int, fps: float,
               given: bool) -> Detection | None:
    """The detection to resume the athlete from: near the last box (the gate widens by half a
    body size per second lost, up to 2.5 sizes); the best-scoring one when there is no box yet."""
    if not dets:
        return None
    if last_box is None:
        return dets[0]
    seconds = abs(frames_lost) / fps if fps > 0 else 0.0  # before the box's frame too
    shift = min(2.5, 1.0 + 0.5 * seconds)
    return nearest_detection(dets, last_box, max_shift=shift,
                             max_scale_change=3.0 if given else 2.5)
