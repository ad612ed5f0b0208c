"""The athlete's skeleton drawn on video frames: the Predict and Analyze pages' skeleton view and the
benchmarks' contact sheets draw it the same way.

    shots = skeleton_frames("workout.mp4", track, [120, 135])   # decoded by the one decoder
    shots[0].image                                              # RGB uint8 with the skeleton
    draw_skeleton(frame, track.xy[k], track.visibility[k])      # one frame, one pose

Colours: the athlete's left side orange, right side blue, a bone with a landmark of visibility
below 0.5 grey; joints green (grey when not visible). A frame between two sampled frames of the
track shows the nearer sample's pose (the Label page does the same).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from core.media.video import VideoReader
from core.pose.landmarks import EDGE_INDEX, INDEX

__all__ = ["LEFT_COLOUR", "RIGHT_COLOUR", "HIDDEN_COLOUR", "JOINT_COLOUR", "draw_skeleton",
           "nearest_sample", "SkeletonFrame", "skeleton_frames"]

LEFT_COLOUR = (255, 80, 0)
RIGHT_COLOUR = (0, 160, 255)
HIDDEN_COLOUR = (128, 128, 128)
JOINT_COLOUR = (0, 255, 0)
_LEFT = frozenset(i for n, i in INDEX.items() if n.startswith("left"))


def draw_skeleton(frame_rgb: np.ndarray, xy: np.ndarray, visibility: np.ndarray | None = None, *,
                  min_visibility: float = 0.5) -> np.ndarray:
    """A copy of an HxWx3 uint8 RGB frame with the skeleton of one pose drawn on it: `xy` [33, 2]
    pixel coordinates of the frame (NaN landmarks are left out), `visibility` [33] in [0, 1]
    (None: all visible). Lines and dots scale with the frame (2 px at 480 p)."""
    img = np.ascontiguousarray(np.array(frame_rgb, dtype=np.uint8, copy=True))
    xy = np.asarray(xy, np.float64)
    vis = np.ones(len(xy)) if visibility is None else np.asarray(visibility, np.float64)
    ok = np.isfinite(xy).all(axis=1)
    scale = max(1, round(max(img.shape[:2]) / 480))
    pt = [(int(round(x)), int(round(y))) if good else None for (x, y), good in zip(xy, ok)]
    for a, b in EDGE_INDEX:
        if pt[a] is None or pt[b] is None:
            continue
        colour = LEFT_COLOUR if a in _LEFT or b in _LEFT else RIGHT_COLOUR
        if min(vis[a], vis[b]) < min_visibility:
            colour = HIDDEN_COLOUR
        cv2.line(img, pt[a], pt[b], colour, 2 * scale, cv2.LINE_AA)
    for k, p in enumerate(pt):
        if p is not None:
            cv2.circle(img, p, 2 * scale, JOINT_COLOUR if vis[k] >= min_visibility else HIDDEN_COLOUR, -1,
                       cv2.LINE_AA)
    return img


def nearest_sample(track, frame: int) -> int | None:
    """The index into `track` of the sampled frame nearest `frame` (ties: the earlier), or None when
    the track has no sampled frame within one sampling step of it."""
    frames = np.asarray(track.frames, np.int64)
    if not len(frames):
        return None
    k = int(np.argmin(np.abs(frames - int(frame))))
    return k if abs(int(frames[k]) - int(frame)) <= max(1, int(track.step)) else None


@dataclass
class SkeletonFrame:
    frame: int               # the video's frame number (the one decoder's index)
    image: np.ndarray        # HxWx3 uint8 RGB, the skeleton drawn when `pose`
    pose: bool               # whether the track has the athlete's pose here
    sample: int | None       # the sampled frame whose pose is drawn (None: none near)


def skeleton_frames(path, track, frames: Sequence[int], *, height: int | None = None) -> list[SkeletonFrame]:
    """Frames of a video file with the athlete's skeleton from its pose track (`core.pose.track.PoseTrack`
    of the same file: the same frame numbers and pixels). `height`: each image resized to it (aspect
    kept) after drawing, for a page. Frames outside the video are left out."""
    out = []
    has = track.has_pose
    with VideoReader(path, cache_frames=2) as reader:
        for f in sorted({int(f) for f in frames if 0 <= int(f) < len(reader)}):
            img = reader.frame(f)
            k = nearest_sample(track, f)
            pose = k is not None and bool(has[k])
            if pose:
                img = draw_skeleton(img, track.xy[k], track.visibility[k])
            if height and img.shape[0] != height:
                w = max(1, round(img.shape[1] * height / img.shape[0]))
                img = cv2.resize(img, (w, int(height)), interpolation=cv2.INTER_AREA)
            out.append(SkeletonFrame(f, np.ascontiguousarray(img), pose,
                                     None if k is None else int(track.frames[k])))
    return out
