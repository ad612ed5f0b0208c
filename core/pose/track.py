"""The athlete's pose track of a video: BlazePose landmarks on sampled frames of one person.

    track = compute_track("workout.mp4", progress=print_progress)
    track.summary()   # frames sampled, share with pose, lost ranges, mean presence
    track.save("workout.pose.npz"); PoseTrack.load("workout.pose.npz")

Frames come from the project's one decoder (`core.media.video.VideoReader`); ``frames`` holds
its indices. Default sampling: every frame up to 15 fps, i.e. ``step = max(1, round(fps / 15))``; a range of
at most 2.5 s (a cut single-rep clip, some only 13 frames) is sampled on every frame.

The athlete, not the judge. CrossFit footage has judges, camera people and other athletes in
frame, so the track follows one person:

- with ``athlete_box`` (x0, y0, x1, y1 in pixels of the displayed frame), the person whose
  detection overlaps it best on the first frames where anyone is detected;
- else a short scan first: the detector runs on a few anchor frames spread over the video and
  on a frame ~0.3 s after each; detections are linked into people (IoU / centre distance within a
  pair, centre distance and size across anchors, nearest pairs first; a body found twice at one
  anchor counts once) and the person whose body moves most is chosen (medians over the anchors
  of the keypoint deformation between the paired frames and across anchors, normalised by the
  person's size; translation counts a third as much, so a judge walking along the lane loses to
  an athlete squatting in place; a person the detector misses in the later frame, lying or
  upside down, is followed there by the landmark model and their joints measured instead), plus how
  much their landmarks' shape differs from anchor to anchor (the detector's keypoints only where the
  landmark model does not find them: a still judge's keypoints swing with the athlete's limbs beside
  them), with size, centrality and how often the person is seen as tie-breaks; the other people the
  scan saw (`ScanPeople`) are never where the track starts or goes back to within a second of their
  sighting (a clip whose first frames show the judge better than the athlete); frames before the first
  pose are filled by following the athlete back from there with the landmark model (`_follow_back`);
  BlazePose places a lying or bent body poorly from a detector's box, so where the track starts (or is
  found again) on a body that is not upright, those frames are followed back from where the athlete
  next stands (three upright poses in a row, within 2.5 s);
- then the landmark model tracks that person from frame to frame (ROI from the previous
  landmarks). Who is who is checked every ~0.5 s of video (`Athlete`): the detector runs, every
  person it finds is followed over time with their activity (how much their pose, from the
  landmark model, varied over the last seconds), the athlete's size and look are learnt. When
  the tracked person has been much stiller over the last 2 s than someone working out (a judge
  the ROI slid onto while the athlete lay on a GHD or walked past them), the track moves to the
  one working out and avoids the still one for a while; when the detector sees the tracked
  person away from where the landmarks sit, the track goes back to them.
- when the pose is lost the detector runs on every sampled frame; a detection near the
  athlete's last box (centre within about one body size, growing slowly with the time lost;
  size within 2.5x) is taken, but never one known not to be the athlete or standing still
  while the athlete moved, working people first; after 2 s lost also one farther away who is
  working out. Weaker detections (score >= 0.3) are taken when they overlap the last box
  (lying poses), and for 1.5 s the landmark model tries the last ROI again (the detector misses
  people seen from behind), not onto a still bystander. With a user's `athlete_box` the person
  given is followed and never exchanged.
"""
from __future__ import annotations

import functools
import json
import math
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from core.base.errors import PoseError
from core.base.progress import Progress, check_cancel, report
from core.media.video import VideoReader, sample_indices
from core.pose.blazepose import MODEL_NAME, Detection, PoseEstimator, Roi, intersection, iou
from core.pose.landmarks import BODY, EDGE_INDEX, INDEX, N_LANDMARKS, NAMES

__all__ = ["PoseTrack", "Athlete", "ScanPeople", "compute_track", "default_step", "choose_athlete", "find_athlete",
           "TARGET_FPS"]

TARGET_FPS = 15.0
CLIP_EVERY_FRAME_S = 2.5   # ranges up to this long (single-rep clips) are sampled on every frame
_FORMAT = 1
_SCAN_ANCHORS = 6
_SCAN_GAP_S = 0.3
_SEEN_S = 1.0    # a person the scan saw is told apart from the athlete this long before and after the sighting


def default_step(fps: float, frames: int | None = None) -> int:
    """Every frame up to 15 fps: step = max(1, round(fps / 15)) (1 when the rate is unknown); every
    frame of a range of `frames` lasting at most CLIP_EVERY_FRAME_S (one rep of a cut clip is a few
    frames: the model needs every one of them)."""
    if not fps or fps <= 0 or (frames is not None and frames / fps <= CLIP_EVERY_FRAME_S):
        return 1
    return max(1, int(round(fps / TARGET_FPS)))


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
    others_moving: int = 0  # people besides the athlete who moved about as much when the athlete was chosen
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

    def arrays(self) -> dict:
        """The arrays dict the pose model and the judge read: frames, xy, visibility, score."""
        return {"frames": np.asarray(self.frames), "xy": np.asarray(self.xy),
                "visibility": np.asarray(self.visibility), "score": np.asarray(self.score)}

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
                "athlete_box": list(self.athlete_box) if self.athlete_box is not None else None,
                "others_moving": int(self.others_moving)}

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
                "others_moving": int(self.others_moving), "names": list(self.names)}
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
                           athlete_box=tuple(box) if box is not None else None,
                           others_moving=int(meta.get("others_moving", 0)))
        except PoseError:
            raise
        except (OSError, KeyError, ValueError) as err:
            raise PoseError(f"{path}: not a readable pose track ({err}).") from err


# -- choosing the athlete ---------------------------------------------------------------------------

def body_side(box) -> float:
    """A box's size: the side of the square of its area (1 px at least)."""
    return max(1.0, math.sqrt(max(0.0, (box[2] - box[0]) * (box[3] - box[1]))))


def _center(box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _shape(det: Detection) -> np.ndarray:
    """The detection's keypoint configuration relative to its hip centre, in units of its size."""
    kp = det.keypoints.astype(np.float64)
    return ((kp[1:] - kp[0]) / body_side(det.box)).ravel()


def _match(a: Detection, candidates: Sequence[Detection]) -> Detection | None:
    best, key = None, None
    for c in candidates:
        d = math.dist(_center(a.box), _center(c.box)) / body_side(a.box)
        ratio = max(body_side(a.box), body_side(c.box)) / min(body_side(a.box), body_side(c.box))
        if d > 0.5 or ratio > 1.5:
            continue
        k = (-iou(a.box, c.box), d)
        if key is None or k < key:
            best, key = c, k
    return best


@dataclass
class _Person:
    sightings: list = field(default_factory=list)  # (frame, Detection, local motion or None, pose shape or None)

    @property
    def last(self) -> Detection:
        return self.sightings[-1][1]


@dataclass
class ScanPeople:
    """Who the scan saw where: the athlete's sightings and each other person's, as (frame, Detection)."""
    athlete: list
    others: list

    def other_at(self, frame_no: int, det: Detection, within: int) -> bool:
        """Whether `det` at `frame_no` is someone the scan told apart from the athlete: nearer (per body size)
        to another person's sighting than to the athlete's, each the one nearest in time within `within`
        frames, and within half that person's body size. Only people seen at two anchors or more count (a
        lone face box is no one)."""
        def gap(sightings) -> float:
            near = [(abs(f - frame_no), d) for f, d in sightings if abs(f - frame_no) <= within]
            if not near:
                return math.inf
            d = min(near, key=lambda x: x[0])[1]
            return math.dist(det.center, d.center) / body_side(d.box)

        own = gap(self.athlete)
        return any(g <= 0.5 and g < own for g in (gap(o) for o in self.others if len(o) >= 2))


def choose_athlete(scan: Sequence[tuple[int, list[Detection], list[float | None]]],
                   width: int, height: int) -> tuple[int, tuple, int, ScanPeople] | None:
    """From (anchor frame, detections there, each one's motion over the next ~0.3 s or None, [each one's
    landmark shape or None]: `_motion`) entries, the athlete's (anchor frame, box) where the track starts
    looking for them (below), how many other people moved about as much (`_RIVAL_SHARE` of the athlete's motion, at
    least `_RIVAL_MOTION`, seen at half the anchors or more: two athletes side by side, where the pick may
    be the wrong one) and who was seen where (`ScanPeople`); None when nobody is seen.

    People are linked across anchors by centre distance (within 1.5 body sizes, size within 2x; the
    nearest pairs of an anchor first), a detection whose body box overlaps a better one's at the same
    anchor (`_SAME_BODY_IOU`) being dropped;
    each person's score: their median motion plus half the spread of their shape across anchors (the
    median sighting's distance from their median shape; `_shapes`: landmarks, else detector keypoints),
    in body sizes, times their size against the biggest person's (motion as the picture shows it), plus
    small bonuses for size, centrality and how many anchors see it. The athlete's box: at their first
    sighting that moved (`_first_moving`), their part linked apart before it included
    (`_earlier_part`)."""
    people = _linked_people(scan)
    if not people:
        return None
    athlete = _athlete_of(people, len(scan), width, height)
    floor = max(_RIVAL_MOTION, _RIVAL_SHARE * _median_motion(athlete))
    rivals = sum(1 for p in people if p is not athlete and len(p.sightings) >= max(1, len(scan)) / 2
                 and _median_motion(p) >= floor)
    part = _earlier_part(athlete, people, floor)
    whole = _Person(part.sightings + athlete.sightings) if part is not None else athlete
    frame, det = _first_moving(whole)
    # only people seen beside the athlete at some anchor: one never seen with them may be the athlete,
    # linked apart (a pose that changed their box too much between two anchors)
    with_athlete = {s[0] for s in whole.sightings}
    seen = ScanPeople([s[:2] for s in whole.sightings],
                      [[s[:2] for s in p.sightings] for p in people
                       if p is not athlete and p is not part and any(s[0] in with_athlete for s in p.sightings)])
    return frame, det.box, rivals, seen


def _earlier_part(athlete: _Person, people: list[_Person], floor: float) -> _Person | None:
    """The part of the athlete linked apart before their first sighting, if any: a person seen only at
    earlier anchors, moving (`floor`), last seen within 1.5 body sizes of where the athlete is first seen
    (lying, a box too small to be linked to the standing athlete's); the latest such one."""
    f0, d0 = athlete.sightings[0][:2]
    parts = [p for p in people if p is not athlete and p.sightings[-1][0] < f0 and _median_motion(p) >= floor
             and math.dist(_center(p.last.box), _center(d0.box))
             <= 1.5 * max(body_side(p.last.box), body_side(d0.box))]
    return max(parts, key=lambda p: p.sightings[-1][0]) if parts else None


def _first_moving(p: _Person) -> tuple[int, Detection]:
    """The person's first sighting that moved at least half as much as their median (else their first):
    where the track starts looking for them. Linked by place alone, a person may begin as someone
    else, a still judge the athlete took the place of at the next anchors."""
    floor = 0.5 * _median_motion(p)
    s = next((s for s in p.sightings if s[2] is not None and s[2] >= floor), p.sightings[0])
    return s[0], s[1]


def _holds(big, small) -> bool:
    """Whether box `big` is `_HOLDS_SIZE` times `small`'s size or more and holds `_HOLDS_SHARE` of it."""
    area = max(1e-9, (small[2] - small[0]) * (small[3] - small[1]))
    return body_side(big) >= _HOLDS_SIZE * body_side(small) and intersection(big, small) / area >= _HOLDS_SHARE


def _linked_people(scan) -> list[_Person]:
    """The scan's detections linked into people across anchors (see `choose_athlete`)."""
    people: list[_Person] = []
    for entry in scan:
        frame, dets, motions = entry[:3]
        shapes = entry[3] if len(entry) > 3 else [None] * len(dets)
        kept: list[tuple[Detection, float | None, np.ndarray | None]] = []
        for det, motion, shape in sorted(zip(dets, motions, shapes), key=lambda x: -x[0].score):
            # one body found twice (two face candidates, e.g. in two of the wide frame's views) is one person:
            # the weaker copy, linked to the nearest other person, would lend them this one's motion; so is a
            # weaker box much larger than a better one that it holds (a box over the athlete and the judge)
            if not any(iou(det.box, k[0].box) >= _SAME_BODY_IOU or _holds(det.box, k[0].box) for k in kept):
                kept.append((det, motion, shape))
        # the nearest pairs first, over all of this anchor's detections: a judge's own detection keeps the
        # judge, and the athlete beside them is not linked to the judge for being found first
        pairs, taken = [], set()
        for di, (det, _, _) in enumerate(kept):
            for pi, p in enumerate(people):
                last = p.last
                d = math.dist(_center(det.box), _center(last.box)) / body_side(last.box)
                ratio = max(body_side(det.box), body_side(last.box)) / min(body_side(det.box), body_side(last.box))
                if d <= 1.5 and ratio <= 2.0:
                    pairs.append((d, di, pi))
        linked: dict[int, int] = {}   # detection -> person
        for _, di, pi in sorted(pairs):
            if di not in linked and pi not in taken:
                linked[di] = pi
                taken.add(pi)
        for di, sighting in enumerate(kept):
            if di not in linked:
                people.append(_Person())
                linked[di] = len(people) - 1
            people[linked[di]].sightings.append((frame, *sighting))
    return people


# medians: a box straddling a judge and the athlete beside them, linked to the judge at an anchor or
# two, reads the athlete's motion and a shape of its own, and must not make the still judge busy; of an
# even count the lower middle one (a judge seen twice, once on such a box, is not half as busy as it)
def _median_motion(p: _Person) -> float:
    local = [s[2] for s in p.sightings if s[2] is not None]
    return float(np.percentile(local, 50, method="lower")) if local else 0.0


def _shapes(p: _Person) -> np.ndarray:
    """The person's shapes over the scan: their landmarks' (`pose_shape`) where the landmark model found
    them at two anchors or more, else their detector keypoints' (`_shape`). A detection of a still judge
    beside a moving athlete changes its keypoints with the athlete's limbs beside it, while the judge's
    own landmarks stay put."""
    poses = [s[3] for s in p.sightings if s[3] is not None]
    if len(poses) >= 2:
        return np.array(poses)
    return np.array([_shape(s[1]) for s in p.sightings])


def _athlete_of(people: list[_Person], n_scanned: int, width: int, height: int):
    """The person of the scan who is the athlete (`choose_athlete`)."""
    n_anchors = max(1, n_scanned)
    diag = math.hypot(width, height)
    sizes = {id(p): float(np.mean([body_side(s[1].box) for s in p.sightings])) for p in people}
    biggest = max(max(sizes.values()), 1e-9)

    def value(p: _Person) -> float:
        shapes = _shapes(p)
        off = np.abs(shapes - np.median(shapes, axis=0)).mean(axis=1)
        spread = float(np.median(off)) if len(shapes) > 1 else 0.0
        # activity as the picture shows it: motion and spread (in body sizes) times the person's size
        # against the biggest one's; a camera films its athlete, and an athlete further back who moves
        # as much for their size moves less in the picture
        activity = (_median_motion(p) + 0.5 * spread) * sizes[id(p)] / biggest
        size = sizes[id(p)] / diag
        cx = float(np.mean([_center(s[1].box)[0] for s in p.sightings])) / max(1, width)
        cy = float(np.mean([_center(s[1].box)[1] for s in p.sightings])) / max(1, height)
        centrality = 1.0 - min(1.0, math.hypot(cx - 0.5, cy - 0.5) / 0.7071)
        seen = len(p.sightings) / n_anchors
        return activity + 0.05 * size + 0.03 * centrality + 0.05 * seen

    return max(people, key=value)


_SAME_BODY_IOU = 0.6   # two detections' body boxes overlapping this much at one anchor: one person
_HOLDS_SIZE = 1.2      # a weaker box this much larger than a better one ...
_HOLDS_SHARE = 0.7     # ... holding this share of it: no person of its own
_RIVAL_MOTION = 0.01   # a person's median motion at the scan above: moving (a still judge: ~0.005)
_RIVAL_SHARE = 0.5     # ... and at least this share of the athlete's


def find_athlete(reader: VideoReader, est: PoseEstimator, sampled: Sequence[int], fps: float,
                 cancel) -> tuple[int, tuple, int] | None:
    """`choose_athlete` over the scan of the video's sampled frames (anchor frames spread over them,
    each with the frame ~0.3 s after)."""
    return choose_athlete(_scan(reader, est, sampled, fps, cancel), reader.info.width, reader.info.height)


def _scan(reader: VideoReader, est: PoseEstimator, sampled: Sequence[int], fps: float, cancel):
    n = len(reader)
    k = min(_SCAN_ANCHORS, len(sampled))
    anchors = sorted({sampled[i] for i in sample_indices(0, len(sampled) - 1, k)}) if k else []
    gap = max(1, int(round(_SCAN_GAP_S * (fps if fps > 0 else 25))))
    wanted = [i for a in anchors for i in (a, a + gap) if i < n]
    out = []
    frames = _Prefetch(reader, wanted)  # decoded while the models look at the previous anchor
    try:
        got = iter(frames)
        for a in anchors:
            check_cancel(cancel, "The pose track")
            frame = next(got)[1]
            later = next(got)[1] if a + gap < n else None
            dets = est.detect(frame)
            if later is None or not dets:
                out.append((a, dets, [None] * len(dets), [_shape_at(est, frame, d) for d in dets]))
                continue
            # the later frame's detections only where the landmark model does not follow someone
            seen_later = functools.cache(lambda later=later: est.detect(later))
            looks = [_motion(est, frame, later, d, seen_later) for d in dets]
            out.append((a, dets, [m for m, _ in looks], [p for _, p in looks]))
    finally:
        frames.close()
    return out


def _pose_at(est: PoseEstimator, frame: np.ndarray, det: Detection):
    """The landmark model's result on the detection's ROI when its hips lie on the detection, else None."""
    r = est.landmarks(frame, det.roi())
    if r.presence >= est.presence_threshold and math.dist(_hips(r.xy), det.center) <= 0.35 * body_side(det.box):
        return r
    return None


def _shape_at(est: PoseEstimator, frame: np.ndarray, det: Detection) -> np.ndarray | None:
    r = _pose_at(est, frame, det)
    return None if r is None else pose_shape(r.xy, det.box)


def _motion(est: PoseEstimator, frame: np.ndarray, later: np.ndarray, det: Detection,
            seen_later: Callable[[], list[Detection]]):
    """(How much the detected person moves from `frame` to `later`, per body size, or None; their pose
    shape at `frame` (`pose_shape`) or None). The motion: their landmarks' deformation (relative to the
    hip) plus a third of their hips' shift, followed from their ROI as the track does; where the landmark
    model does not find them there, their detector keypoints' (against their detection in `later`,
    `seen_later()`). The landmarks come first because the detector's four keypoints of a small or weakly
    detected person jitter as much as an athlete moves."""
    side = body_side(det.box)
    r0 = _pose_at(est, frame, det)
    shape = None if r0 is None else pose_shape(r0.xy, det.box)
    if r0 is not None:
        r1 = est.landmarks(later, r0.next_roi)
        if r1.presence >= est.presence_threshold:
            deform = float(np.abs(shape - pose_shape(r1.xy, det.box)).mean())
            return deform + math.dist(_hips(r0.xy), _hips(r1.xy)) / side / 3, shape
    m = _match(det, seen_later())
    if m is None:
        return None, shape
    shift = math.dist(_center(det.box), _center(m.box)) / side
    return float(np.abs(_shape(det) - _shape(m)).mean()) + shift / 3, shape


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


# -- who is who while tracking ------------------------------------------------------------------------

_CHECK_S = 0.5       # while tracking, the detector checks who is who this often (seconds of video)
_WINDOW_S = 4.0      # a person's activity: their body's variation over this much video
_RECENT_S = 2.0     # the tracked person's recent activity (quicker to tell a switch to a judge)
_MIN_SPAN_S = 1.0    # ... seen over at least this long (else unknown)
_KEEP_S = 6.0        # a person not seen for this long is forgotten
STILL = 0.025        # activity below: standing still (a judge, a bystander, a camera person)
ACTIVE = 0.04        # activity above: working out
_HARD = 2 * ACTIVE  # ... hard: enough to follow again a person found not to be the athlete
_SWITCH_RATIO = 0.5  # the tracked person is taken for another when this much stiller than one
                     # working out
_TILES_S = 0.5       # at checks, the detector looks at a wide frame's tiles at most this often
_OTHER_S = 10.0      # a person found not to be the athlete is avoided this long
_LOW_SCORE = 0.3     # weaker detections: checked with the landmark model, or (lost) taken when
                     # they overlap the athlete's last body box (lying poses)
_MAX_OTHERS = 3      # people besides the tracked one given landmarks at a check (nearest first)
_HOLD_S = 1.5        # lost and nobody (acceptable) detected: the landmark model tries the last
                     # ROI again (a bit larger) for this long (the detector misses people seen
                     # from behind, lying, or half hidden by a bar)
_VELOCITY_S = 1.0    # a person's velocity: from two sightings at most this far apart, carried on
                     # at most this long (people walk past each other)
_LOOK_SAME = 0.93    # appearance similarity (Bhattacharyya) above: looks like the athlete
_LOOK_OTHER = 0.6    # below: looks like someone else
_BODY = list(BODY)
_HIPS = [INDEX["left_hip"], INDEX["right_hip"]]
_STANDING = 3        # upright poses in a row: the athlete stands (where a track found on a lying body is followed back from)


def pose_shape(xy: np.ndarray, box) -> np.ndarray:
    """Body joints (shoulders to ankles) relative to the mid hip, in units of the body's size."""
    xy = np.asarray(xy, np.float64)
    return ((xy[_BODY] - xy[_HIPS].mean(axis=0)) / body_side(box)).ravel()


def _look(frame: np.ndarray, det: Detection) -> np.ndarray | None:
    """The person's appearance: colour histograms (hue x saturation for coloured pixels, 4 grey
    levels for the rest) of the torso (mid hip to mid shoulder) and of the thighs below it, as
    the detector's keypoints place them. None when the person is too small."""
    import cv2

    kp = det.keypoints.astype(np.float64)
    hip, sh = kp[0], kp[2]
    v = sh - hip
    length = float(np.hypot(*v))
    if not math.isfinite(length) or length < 6:
        return None
    u = v / length
    n = np.array([-u[1], u[0]])
    out = []
    for centre, half_len, half_w in ((hip + 0.5 * v, 0.4 * length, 0.22 * length),
                                     (hip - 0.3 * v, 0.25 * length, 0.25 * length)):
        w_px, h_px = 12, 20
        src = np.float32([centre + half_len * u - half_w * n, centre + half_len * u + half_w * n,
                          centre - half_len * u - half_w * n])
        dst = np.float32([[0, 0], [w_px, 0], [0, h_px]])
        crop = cv2.warpAffine(frame, cv2.getAffineTransform(src, dst), (w_px, h_px),
                              flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
        hsv = cv2.cvtColor(crop, cv2.COLOR_RGB2HSV).reshape(-1, 3).astype(np.int32)
        coloured = (hsv[:, 1] >= 64) & (hsv[:, 2] >= 50)
        bins = np.where(coloured, (hsv[:, 0] * 12 // 180) * 2 + (hsv[:, 1] >= 160),
                        24 + np.minimum(3, hsv[:, 2] // 64))
        h = np.bincount(bins, minlength=28).astype(np.float64)
        out.append(h / max(1.0, h.sum()))
    return np.stack(out)


def _similar(a: np.ndarray | None, b: np.ndarray | None) -> float | None:
    if a is None or b is None:
        return None
    return float(np.sqrt(a * b).sum(axis=1).mean())


@dataclass
class _Seen:
    """One person the detector sees, followed from check to check."""
    sightings: list = field(default_factory=list)  # (frame, Detection, pose shape or None)
    look: np.ndarray | None = None
    other_until: int = -1  # frame until which this person is known not to be the athlete

    @property
    def last(self) -> Detection:
        return self.sightings[-1][1]

    def expected(self, frame_no: int, fps: float, upto: int | None = None) -> tuple[float, float]:
        """Where the person's mid hip should be at `frame_no`: their last sighting (of the first
        `upto`) carried on at the velocity between it and the one before."""
        seen = self.sightings[:upto] if upto is not None else self.sightings
        f1, d1, _ = seen[-1]
        if len(seen) < 2:
            return d1.center
        f0, d0, _ = seen[-2]
        horizon = _VELOCITY_S * fps
        if not 0 < f1 - f0 <= horizon or not 0 <= frame_no - f1 <= horizon:
            return d1.center
        k = (frame_no - f1) / (f1 - f0)
        (x0, y0), (x1, y1) = d0.center, d1.center
        return x1 + k * (x1 - x0), y1 + k * (y1 - y0)

    def gap(self, point, frame_no: int, fps: float, upto: int | None = None) -> float:
        """Pixels from `point` to where the person was last seen or, moving on, should be now."""
        last = (self.sightings[:upto] if upto is not None else self.sightings)[-1][1]
        return min(math.dist(point, last.center), math.dist(point, self.expected(frame_no, fps, upto)))


class Athlete:
    """What the tracker knows about the athlete and the people around them, beyond the last box.

    Everyone the detector sees is followed from check to check (`observe`), with their activity:
    how much their pose (the landmark model's joints relative to the hip, per body size) varied
    over the last seconds, plus a third of their movement across the floor; an athlete working
    out changes pose all the time, a judge or a bystander hardly. Besides: the athlete's
    appearance (colours of torso and thighs, learnt while the tracked person is clearly working
    out, so not from a judge followed by mistake) and size, and the people found not to be the
    athlete. Pass one to `compute_track` calls over consecutive ranges of a video to keep it."""

    def __init__(self, fps: float):
        self.fps = fps if fps and fps > 0 else 25.0
        self.people: list[_Seen] = []
        self.look: np.ndarray | None = None
        self.sizes: list[float] = []
        self.frame = 0
        self.tracked: _Seen | None = None  # the person the track is on
        self._tiled_at: int | None = None

    def closer_look(self, frame_no: int) -> bool:
        """Whether the detector may look at the wide frame's tiles now (`detector_views`): at most
        once per `_TILES_S` of video, since they cost three more detector runs."""
        if self._tiled_at is not None and 0 <= frame_no - self._tiled_at < self._frames(_TILES_S):
            return False
        self._tiled_at = frame_no
        return True

    def _frames(self, seconds: float) -> int:
        return int(round(seconds * self.fps))

    def observe(self, frame_no: int, frame: np.ndarray, dets: Sequence[Detection]) -> list[_Seen]:
        """Link this frame's detections to the people seen before (nearest centre within 0.8 of
        a body size, more after a gap, size within 1.6x, looking alike counts as nearer; never
        to a bystander who looks unlike them: someone else where they stood); returns each
        detection's person. The tracked person keeps any detection by distance (a blurred or
        differently lit frame changes how the athlete looks)."""
        self.frame = frame_no
        keep = self._frames(_KEEP_S)
        self.people = [p for p in self.people
                       if frame_no - p.sightings[-1][0] <= keep or p.other_until >= frame_no]
        pairs = []
        looks = [_look(frame, d) for d in dets]
        for di, d in enumerate(dets):
            for pi, p in enumerate(self.people):
                if p.sightings[-1][0] >= frame_no:
                    continue
                last = p.last
                dist = math.dist(_center(d.box), _center(last.box)) / body_side(last.box)
                ratio = max(body_side(d.box), body_side(last.box)) / min(body_side(d.box), body_side(last.box))
                gap_s = (frame_no - p.sightings[-1][0]) / self.fps
                if dist <= min(1.5, 0.6 + 0.4 * gap_s) and ratio <= 1.6:
                    sim = _similar(p.look, looks[di])
                    if sim is not None and sim < _LOOK_OTHER and p is not self.tracked:
                        continue  # someone else where they stood (the athlete walking past)
                    pairs.append((dist + 0.5 * (1.0 - (sim if sim is not None else 0.5)), di, pi))
        pairs.sort()
        owner: dict[int, _Seen] = {}
        taken: set[int] = set()
        for _, di, pi in pairs:
            if di in owner or pi in taken:
                continue
            owner[di] = self.people[pi]
            taken.add(pi)
        out = []
        for di, d in enumerate(dets):
            p = owner.get(di)
            if p is None:
                p = _Seen()
                self.people.append(p)
            self._add(p, frame_no, d, looks[di])
            out.append(p)
        return out

    def _add(self, p: _Seen, frame_no: int, d: Detection, look: np.ndarray | None) -> None:
        p.sightings.append((frame_no, d, None))
        window = self._frames(_WINDOW_S)
        p.sightings = [x for x in p.sightings if frame_no - x[0] <= window]
        if look is not None:
            p.look = look if p.look is None else 0.7 * p.look + 0.3 * look

    def follow(self, frame_no: int, frame: np.ndarray, det: Detection, res) -> _Seen:
        """The tracked person seen at `frame_no` (`det`: their detection, or one made from the
        landmarks `res` when the detector missed them), with their landmarks."""
        self.frame = frame_no
        p = self.tracked
        if p is None or p not in self.people:
            p = _Seen()
            self.people.append(p)
            self.tracked = p
        if p.sightings and p.sightings[-1][0] >= frame_no:
            p.sightings.pop()
        self._add(p, frame_no, det, _look(frame, det))
        self.pose(p, res.xy, res.next_roi.body_box())
        return p

    @staticmethod
    def pose(p: _Seen, xy: np.ndarray, box) -> None:
        """The person's landmarks on their latest sighting."""
        f, d, _ = p.sightings[-1]
        p.sightings[-1] = (f, d, (pose_shape(xy, box), np.asarray(xy, np.float64)[_HIPS].mean(0)
                                  / body_side(box)))

    def activity(self, p: _Seen, seconds: float = _WINDOW_S) -> float | None:
        """How much the person's pose changed over the last `seconds`; None when not seen with
        landmarks long enough to say."""
        recent = [x for x in p.sightings
                  if x[2] is not None and self.frame - x[0] <= self._frames(seconds)]
        s = [x[2] for x in recent]
        frames = [x[0] for x in recent]
        if len(s) < 3 or frames[-1] - frames[0] < self._frames(_MIN_SPAN_S):
            return None
        shapes = np.array([a for a, _ in s])
        hips = np.array([b for _, b in s])
        return float(shapes.std(axis=0).mean()) + float(hips.std(axis=0).mean()) / 3

    def looks_like(self, p: _Seen) -> float | None:
        return _similar(self.look, p.look)

    def learn(self, p: _Seen, box) -> None:
        """The tracked person `p` (body box `box`): their size always, their appearance when
        they are clearly working out."""
        self.sizes = (self.sizes + [body_side(box)])[-64:]
        a = self.activity(p)
        if p.look is not None and a is not None and a >= ACTIVE and p.other_until < self.frame:
            self.look = p.look.copy() if self.look is None else 0.9 * self.look + 0.1 * p.look

    def size(self) -> float | None:
        return float(np.median(self.sizes)) if self.sizes else None

    def is_other(self, p: _Seen) -> bool:
        return p.other_until >= self.frame

    def mark_other(self, p: _Seen) -> None:
        p.other_until = self.frame + self._frames(_OTHER_S)

    def still_other(self, p: _Seen) -> bool:
        """Known to stand still (over the window) and not to look like the athlete."""
        a = self.activity(p)
        sim = self.looks_like(p)
        return a is not None and a < STILL and (sim is None or sim < _LOOK_SAME)


def _switch_to(ath: Athlete, people: Sequence[_Seen], dets: Sequence[Detection],
               tracked: _Seen) -> int | None:
    """The detection to follow instead of `tracked` when that one is much stiller than a person
    working out who may be the athlete (None: stay). Appearance can veto: not when the tracked
    one looks like the athlete and the other does not. A person found not to be the athlete
    (`Athlete.mark_other`) only when the tracked one stands still and they work out hard: the
    mark follows whoever is linked to that person later (the athlete walking past where a judge
    stood), and the athlete left for a busier neighbour may be back at work."""
    a_t = ath.activity(tracked, _RECENT_S)
    if a_t is None or a_t >= ACTIVE:
        return None
    size = ath.size()
    sim_t = ath.looks_like(tracked)
    best, best_a = None, 0.0
    for i, (p, d) in enumerate(zip(people, dets)):
        if p is tracked:
            continue
        a = ath.activity(p)
        if a is None or a < ACTIVE or a_t > _SWITCH_RATIO * a:
            continue
        if ath.is_other(p) and not (a_t < STILL and a >= _HARD):
            continue
        if size is not None and max(body_side(d.box), size) / min(body_side(d.box), size) > 2.0:
            continue
        sim = ath.looks_like(p)
        if sim_t is not None and sim is not None and sim_t >= _LOOK_SAME and sim < _LOOK_OTHER:
            continue
        if a > best_a:
            best, best_a = i, a
    return best


def _reacquire(ath: Athlete, people: Sequence[_Seen], dets: Sequence[Detection], last_box,
               frames_lost: int, fps: float, given: bool,
               low: Sequence[Detection] = ()) -> Detection | None:
    """The detection to resume the athlete from.

    Near the last box (the gate widens by half a body size per second lost, up to 2.5 sizes);
    without a user's box also farther after 2 s lost, for one who works out or looks like the
    athlete. Never a person known not to be the athlete (left for one working out before) nor,
    unless they look like the athlete, one who stands still; among the rest: working out first,
    then looking like the athlete, then nearest. `low`: weaker detections, taken only when one
    overlaps the last box (lying poses the detector is unsure of). The best-scoring one when
    there is no box yet."""
    if last_box is None:
        return dets[0] if dets else None
    seconds = abs(frames_lost) / fps if fps > 0 else 0.0  # before the box's frame too
    shift = min(2.5, 1.0 + 0.5 * seconds)
    scale = 3.0 if given else 2.5
    bx, by = _center(last_box)
    bs = body_side(last_box)
    size = bs if given else (ath.size() or bs)
    best, best_key = None, None
    for p, d in zip(people, dets):
        dist = math.hypot(_center(d.box)[0] - bx, _center(d.box)[1] - by) / bs
        ratio = max(body_side(d.box), size) / min(body_side(d.box), size)
        if ratio > scale:
            continue
        if given:
            if dist > shift:
                continue
            key = (0, 0.0, -iou(d.box, last_box), dist)
        else:
            if ath.is_other(p) or ath.still_other(p):
                continue
            a = ath.activity(p)
            sim = ath.looks_like(p)
            working = a is not None and a >= ACTIVE
            alike = sim is not None and sim >= _LOOK_SAME
            unlike = sim is not None and sim < _LOOK_OTHER
            if dist > shift and not (seconds >= 2.0 and (working or alike) and not unlike):
                continue
            if unlike and dist > 0.5:
                continue
            key = (0 if working else 1, -round(sim if sim is not None else 0.5, 1),
                   -iou(d.box, last_box), dist)
        if best_key is None or key < best_key:
            best, best_key = d, key
    if low and seconds <= 3.0:
        over = [d for d in low if iou(d.box, last_box) >= 0.2]
        if over:  # a weaker detection on the last box beats a stronger one beside it
            lying = max(over, key=lambda d: iou(d.box, last_box))
            if best is None or (iou(lying.box, last_box) > iou(best.box, last_box)
                                and best_key[0] > 0):
                best = lying
    return best


# -- the track --------------------------------------------------------------------------------------

def compute_track(video_path, *, step: int | None = None, athlete_box=None,
                  progress: Progress | None = None, cancel=None,
                  start: int = 0, end: int | None = None,
                  estimator: PoseEstimator | None = None, prefetch: bool = True,
                  start_box=None, athlete: Athlete | None = None, seen: ScanPeople | None = None) -> PoseTrack:
    """The athlete's pose track of `video_path` (see the module docstring for who "the athlete"
    is). `step`: sample every step-th frame (default: every frame up to 15 fps; every
    frame for ranges up to `CLIP_EVERY_FRAME_S`, single-rep clips of a few frames). `athlete_box`:
    (x0, y0, x1, y1) pixels around the athlete on the first frames, the user's pick: that person
    is followed (re-found near their last box), never exchanged for one who moves more.
    `start_box`: where the athlete was found to be at `start` (a resumed track), without the
    automatic scan but with the checks of who is who. `athlete`: the `Athlete` model to use and
    update (to carry it over consecutive ranges). `seen`: who the scan told apart from the athlete
    (`choose_athlete`; with `start_box`): the track never starts on, nor goes back to, a detection that is
    one of them within `_SEEN_S` of their sighting. `progress(done, total, text)` is called as
    frames are done; `cancel` (a threading.Event) stops it with Cancelled.
    Raises MediaError for unreadable videos; a video without anyone gives a track with score 0
    everywhere (summary status "no pose"). `start`, `end`: the frame range to track (inclusive;
    default the whole video), sampled from `start`. `prefetch`: decode the next frames in a thread while
    the models run (the decoder releases the GIL)."""
    est = estimator if estimator is not None else PoseEstimator()
    with VideoReader(video_path, cache_frames=32) as reader:
        info = reader.info
        fps = info.fps
        last = len(reader) - 1 if end is None else min(int(end), len(reader) - 1)
        first = max(0, int(start))
        step = default_step(fps, last - first + 1) if step is None else max(1, int(step))
        if last < first:
            raise PoseError(f"{video_path}: empty frame range [{start}, {end}] "
                            f"(the video has {len(reader)} frames).")
        sampled = list(range(first, last + 1, step))
        track = PoseTrack.empty(sampled, fps=fps, width=info.width, height=info.height,
                                step=step, video_frames=len(reader))
        total = len(sampled)
        report(progress, 0, total, "finding the athlete")

        target = None  # (frame the box belongs to, box)
        for name, b in (("athlete_box", athlete_box), ("start_box", start_box)):
            if b is None:
                continue
            box = tuple(float(v) for v in b)
            if len(box) != 4 or not (box[2] > box[0] and box[3] > box[1]):
                raise PoseError(f"{name} must be (x0, y0, x1, y1) with x1 > x0 and y1 > y0; "
                                f"got {b!r}.")
            target = (first, box)
            break
        if target is None:
            chosen = find_athlete(reader, est, sampled, fps, cancel)
            if chosen is not None:
                target = chosen[:2]
                track.others_moving, seen = chosen[2], chosen[3]
        if target is not None:  # as a user would draw it: inside the frame
            x0, y0, x1, y1 = target[1]
            track.athlete_box = (round(max(0.0, x0), 1), round(max(0.0, y0), 1),
                                 round(min(float(info.width), x1), 1),
                                 round(min(float(info.height), y1), 1))

        roi: Roi | None = None
        last_box = target[1] if target else None
        last_seen = target[0] if target else 0
        given = athlete_box is not None
        ath = athlete if athlete is not None else Athlete(fps)
        rate = fps if fps > 0 else TARGET_FPS
        within = int(round(_SEEN_S * rate))
        # a single-rep clip keeps the person the scan chose over all of it: a 2 s activity window there
        # is a phase of the rep, and a switch mid-rep to a busier neighbour mixes two people's poses
        may_switch = (sampled[-1] - sampled[0] + 1) / rate > CLIP_EVERY_FRAME_S if sampled else False
        per_second = max(1, int(round(rate / step)))
        check_every = max(1, int(round(_CHECK_S * rate / step)))
        next_check = 0
        last_roi: Roi | None = None
        back = _BackPlan(int(CLIP_EVERY_FRAME_S * rate / step))
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
                if res is not None and not given and ti >= next_check:
                    res, still = _check(est, ath, fi, frame, res, may_switch)
                    next_check = ti + (max(1, check_every // 2) if still else check_every)
                if res is None:
                    dets = est.detect(frame, min_score=None if given else _LOW_SCORE)
                    strong = [d for d in dets if d.score >= est.min_detection_score]
                    low = [d for d in dets if d.score < est.min_detection_score]
                    people = ath.observe(fi, frame, strong)
                    def may_be(d, fi=fi):  # not someone the scan told apart from the athlete
                        return seen is None or given or not seen.other_at(fi, d, within)

                    pick = [(p, d) for p, d in zip(people, strong) if may_be(d)]
                    det = _reacquire(ath, [p for p, _ in pick], [d for _, d in pick], last_box, fi - last_seen,
                                     fps, given, [d for d in low if may_be(d)])
                    for p, d in zip(people, strong):
                        if d is det:
                            ath.tracked = p
                    if det is not None:
                        res = est.landmarks(frame, det.roi())
                        if res.presence < est.presence_threshold:
                            res = None
                    if res is None and last_roi is not None and not given \
                            and fi - last_seen <= _HOLD_S * rate:
                        res = est.landmarks(frame, Roi(last_roi.cx, last_roi.cy,
                                                       last_roi.size * 1.2, last_roi.rotation))
                        if res.presence < est.presence_threshold \
                                or not _held(ath, res, last_box, fi, fps):
                            res = None
                if res is None:
                    roi = None
                else:
                    back.see(ti, res, fresh=roi is None)
                    roi = last_roi = res.next_roi
                    _keep(track, ti, res)
                    last_box, last_seen = roi.body_box(), fi
                    if target is None:
                        target = (fi, last_box)
                if ti % 5 == 0 or ti == total - 1:
                    report(progress, ti + 1, total, f"frame {fi}")
        finally:
            if prefetch:
                frames.close()
        jobs = [] if given else back.jobs()
        if jobs:  # one reader for all, its cache holding the longest stretch (one seek per stretch)
            longest = max(ti - low for ti, _, low in jobs) * step + 2
            with VideoReader(video_path, cache_frames=longest) as back_reader:
                for ti, res, low in jobs:
                    _follow_back(back_reader, est, track, ti, res, low, seen, rate)
        report(progress, total, total, "done")
    return track


def _keep(track: PoseTrack, ti: int, res) -> None:
    track.xy[ti], track.z[ti] = res.xy, res.z
    track.visibility[ti] = res.visibility
    track.score[ti] = max(res.presence, 1e-6)


def _upright(xy, within_deg: float = 30.0) -> bool:
    """Whether the torso (mid hip to mid shoulder) points up within `within_deg` of the vertical."""
    xy = np.asarray(xy, np.float64)
    up = xy[[INDEX["left_shoulder"], INDEX["right_shoulder"]]].mean(axis=0) - _hips(xy)
    n = math.hypot(*up)
    return n > 0 and -up[1] >= math.cos(math.radians(within_deg)) * n


class _BackPlan:
    """Which stretches of a track to follow again backwards (`_follow_back`), as the forward pass finds
    its poses (`see`). BlazePose places a lying or bent body poorly from a detection but follows one well
    from the pose before it: poses found afresh (from a detection, or the ROI tried again after a loss) on
    a body not upright are followed back from the next upright pose within `reach` sampled frames (the
    first of `_STANDING` in a row: a lying body's pose is upright for a frame at times), as are the frames
    before the first pose, from it."""

    def __init__(self, reach: int):
        self.reach = reach
        self.first = None      # (sampled index, landmarks) of the first pose
        self.last = -1         # sampled index of the last pose
        self.standing = []     # (sampled index, landmarks) of the last upright poses in a row
        self.pending = None    # (first index found afresh not upright, lowest index to go back to)
        self.found = []        # (sampled index of an upright pose, its landmarks, lowest index)

    def see(self, ti: int, res, fresh: bool) -> None:
        if self.first is None:
            self.first = (ti, res)
        if _upright(res.xy):
            self.standing = (self.standing if self.last == ti - 1 else []) + [(ti, res)]
        else:
            self.standing = []
        if len(self.standing) == _STANDING:
            u, ures = self.standing[0]
            if self.pending is not None and u - self.pending[0] <= self.reach:
                self.found.append((u, ures, max(self.pending[1], u - self.reach)))
            self.pending = None
        elif fresh and self.pending is None and not self.standing:
            self.pending = (ti, self.last + 1 if self.last >= 0 else max(0, ti - self.reach))
        self.last = ti

    def jobs(self) -> list:
        """(sampled index, landmarks, lowest index) to follow back from, in track order."""
        if self.first is None:
            return []
        ti, res = self.first
        start = [] if self.found and self.found[0][2] <= ti else [(ti, res, max(0, ti - self.reach))]
        return [j for j in start + self.found if j[0] > j[2]]


def _follow_back(reader: VideoReader, est: PoseEstimator, track: PoseTrack, ti: int, res, low: int,
                 seen: ScanPeople | None, rate: float) -> None:
    """The sampled frames from `ti` - 1 down to `low`, before an upright pose (`ti`, `res`; the athlete
    hidden, lying or bent over at a clip's first frames, or found again so): the landmark model follows
    the athlete back from there, in place of the poses found forwards, while they stay found, their hips
    move less than half a body per sampled frame and they are not someone the scan told apart from the
    athlete."""
    for tj in range(ti - 1, max(0, low) - 1, -1):
        fi = int(track.frames[tj])
        prev = res
        res = est.landmarks(reader.frame(fi), prev.next_roi)
        body = prev.next_roi.body_box()
        if res.presence < est.presence_threshold \
                or math.dist(_hips(res.xy), _hips(prev.xy)) > 0.5 * body_side(body) \
                or (seen is not None and seen.other_at(fi, _from_landmarks(res), int(round(_SEEN_S * rate)))):
            return
        _keep(track, tj, res)


def _from_landmarks(res) -> Detection:
    """A detection made from the landmarks (when the detector misses the tracked person)."""
    xy = np.asarray(res.xy, np.float64)
    hip = xy[_HIPS].mean(axis=0)
    shoulder = xy[[INDEX["left_shoulder"], INDEX["right_shoulder"]]].mean(axis=0)
    roi = res.next_roi
    r = roi.size / 2.0
    top = (roi.cx + r * math.sin(roi.rotation), roi.cy - r * math.cos(roi.rotation))
    kp = np.array([hip, top, shoulder, shoulder], np.float32)
    box = roi.body_box()
    return Detection(score=float(res.presence), box=box, keypoints=kp, face_box=box)


def _held(ath: Athlete, res, last_box, frame_no: int, fps: float) -> bool:
    """Whether landmarks found on the last ROI again can be the athlete: hips within half a body
    size of the last box's centre, and not on a person seen in the last second who is known not
    to be the athlete or stands still (a judge right beside them)."""
    hip = _hips(res.xy)
    if math.dist(hip, _center(last_box)) > 0.5 * body_side(last_box):
        return False
    recent = frame_no - int(round(fps if fps > 0 else 25))
    for p in ath.people:
        if p is ath.tracked or p.sightings[-1][0] < recent:
            continue
        if math.dist(p.last.center, hip) <= 0.35 * body_side(p.last.box) \
                and (ath.is_other(p) or ath.still_other(p)):
            return False
    return True


def _hips(xy) -> np.ndarray:
    return np.asarray(xy, np.float64)[_HIPS].mean(axis=0)


def _check(est: PoseEstimator, ath: Athlete, fi: int, frame: np.ndarray, res, may_switch: bool = True):
    """Who is who, while tracking. The detection whose mid hip lies on the track's is the
    tracked person (observed with the track's landmarks); when there is none but the detector
    sees the person followed so far elsewhere (linked to them, looking like them), the ROI has
    slid off them onto someone else (a lying athlete next to a standing judge): the track goes
    back to them. The other people are observed with the landmark model's pose (up to
    `_MAX_OTHERS`, nearest first); when the tracked person has been much stiller than someone
    working out, the track moves to that person (unless not `may_switch`). Returns the landmarks to keep and whether the
    tracked person stands still (then the next check comes sooner)."""
    # the closer look only when the track may be on the wrong person
    a = ath.activity(ath.tracked, _RECENT_S) if ath.tracked is not None else None
    dets = est.detect(frame, min_score=_LOW_SCORE,
                      tiles=(a is None or a < ACTIVE) and ath.closer_look(fi))
    body = res.next_roi.body_box()
    bs = body_side(body)
    hip = _hips(res.xy)
    ti, best = None, 0.35
    for i, d in enumerate(dets):
        dist = math.dist(d.center, hip) / bs
        if dist <= best and max(body_side(d.box), bs) / min(body_side(d.box), bs) <= 2.0:
            ti, best = i, dist
    if ti is None and ath.tracked is not None:
        people = ath.observe(fi, frame, dets)
        k = next((i for i, p in enumerate(people) if p is ath.tracked), None)
        if k is not None:
            sim = ath.looks_like(people[k])
            seen = people[k]
            # the ROI slid off them only if the detection is nearer than the ROI to where they
            # were or, walking on, should be now (the detector often misses the athlete, arms
            # overhead, and sees a bystander near them instead)
            slid = len(seen.sightings) < 2 or seen.gap(dets[k].center, fi, ath.fps, -1) \
                < seen.gap(hip, fi, ath.fps, -1)
            r = est.landmarks(frame, dets[k].roi())
            if slid and (sim is None or sim >= _LOOK_OTHER) \
                    and r.presence >= est.presence_threshold \
                    and math.dist(_hips(r.xy), dets[k].center) <= 0.35 * body_side(dets[k].box):
                ath.pose(people[k], r.xy, r.next_roi.body_box())
                return r, False
            people[k].sightings.pop()  # not them after all
        for p in people:  # undo: observed again below, without the tracked one
            if p.sightings and p.sightings[-1][0] == fi:
                p.sightings.pop()
        ath.people = [p for p in ath.people if p.sightings or p is ath.tracked]
    tracked = ath.follow(fi, frame, dets[ti] if ti is not None else _from_landmarks(res), res)
    ath.learn(tracked, body)
    own = dets[ti].box if ti is not None else body
    others = sorted((d for i, d in enumerate(dets) if i != ti and iou(d.box, own) < 0.5),
                    key=lambda d: math.dist(_center(d.box), _center(body)))
    people = ath.observe(fi, frame, others)
    found = {}
    for i, (p, d) in enumerate(zip(people[:_MAX_OTHERS], others)):
        r = est.landmarks(frame, d.roi())
        if r.presence >= est.presence_threshold:
            ath.pose(p, r.xy, r.next_roi.body_box())
            found[i] = r
    a = ath.activity(tracked, _RECENT_S)
    still = a is not None and a < STILL
    j = _switch_to(ath, people, others, tracked) if may_switch else None
    if j is None or j not in found:
        return res, still
    ath.mark_other(tracked)
    ath.tracked = people[j]
    return found[j], False
