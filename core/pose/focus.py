"""The athlete's box from the pose track: what MoViNet's ``focus="athlete"`` crops each clip to.

    track = focus_track(ws, video_id=3)            # the stored track (computed when missing)
    athlete_box(track, start, end)                 # (x0, y0, x1, y1) or None
    preprocess(frames, size, crop, "athlete", athlete_box(track, a, b))   # core.media.video

Why: a workout camera frames the whole gym, so the athlete is a small part of the picture. The
motion focus (`core.media.video.motion_box`) finds the athlete from what moves; the pose track
knows where the athlete's body is, also when a judge or a neighbour moves more, or the athlete
holds still in a lockout.

The box of a clip (frames start..end, inclusive) is the square around the athlete's landmarks on
the track's sampled frames in that range (a range between two sampled frames takes the nearer
one): each frame's landmark extent, smoothed over time by a running median of
three frames (one frame where the tracker slipped does not widen it), then the union over the
clip, padded by `PAD` of its size on each side, made square with a side of at least `MIN_SIDE`
of the frame's shorter side, and shifted (not shrunk) to lie inside the frame — the shape
`motion_box` gives. None when no sampled frame in the range has a pose: then
`core.media.video.preprocess` falls back to the motion focus.
"""
from __future__ import annotations

import numpy as np

from core.media.video import square_box
from core.pose.track import PoseTrack

__all__ = ["ATHLETE_BOX_VERSION", "PAD", "MIN_SIDE", "athlete_box", "focus_track"]

ATHLETE_BOX_VERSION = 1  # bump when athlete_box changes what it returns: caches of focused clips are rebuilt
PAD = 0.15       # of the box's size, on each side (hands and feet reach past the landmarks)
MIN_SIDE = 0.25  # of the frame's shorter side (a tiny far athlete is not blown up past recognition)


def _range_samples(track: PoseTrack, start: int, end: int) -> np.ndarray:
    """Indices into the track of its sampled frames in [start, end], else the one nearest the range
    when it lies within a sampling step of it (a range between two samples)."""
    frames = np.asarray(track.frames, np.int64)
    inside = np.flatnonzero((frames >= start) & (frames <= end))
    if len(inside) or not len(frames):
        return inside
    gap = np.maximum(start - frames, frames - end)
    k = int(np.argmin(gap))
    return np.asarray([k]) if gap[k] <= max(1, int(track.step)) else inside


def _running_median3(a: np.ndarray) -> np.ndarray:
    if len(a) < 3:
        return a
    padded = np.concatenate([a[:1], a, a[-1:]])
    return np.median(np.stack([padded[:-2], padded[1:-1], padded[2:]]), axis=0)


def athlete_box(track: PoseTrack | None, start: int, end: int, *, pad: float = PAD,
                min_side: float = MIN_SIDE) -> tuple[int, int, int, int] | None:
    """The square pixel box (x0, y0, x1, y1; x1/y1 exclusive) around the athlete's landmarks over
    frames start..end of the track's video, inside its frame; None without a pose there (see the
    module doc)."""
    if track is None or not len(track):
        return None
    idx = _range_samples(track, int(start), int(end))
    idx = idx[track.has_pose[idx]]
    if not len(idx):
        return None
    xy = np.asarray(track.xy[idx], np.float64)                 # [T, 33, 2]
    extent = np.concatenate([xy.min(axis=1), xy.max(axis=1)], axis=1)  # [T, 4]: x0 y0 x1 y1
    extent = _running_median3(extent)
    x0, y0 = extent[:, 0].min(), extent[:, 1].min()
    x1, y1 = extent[:, 2].max(), extent[:, 3].max()
    return square_box(x0, y0, x1, y1, int(track.width), int(track.height), pad, min_side)


def focus_track(ws, *, video_id: int | None = None, path=None, progress=None,
                cancel=None) -> PoseTrack:
    """The pose track the athlete focus reads: a workspace video's stored track
    (`core.pose.store.ensure_track`), else a file's track cached by its content under the
    workspace (`track_for_path`; uploads). Computed when missing (with progress and cancel)."""
    from core.pose import store as pose_store

    if video_id is not None:
        return pose_store.ensure_track(ws, int(video_id), progress=progress, cancel=cancel)
    return pose_store.track_for_path(path, ws, progress=progress, cancel=cancel)
