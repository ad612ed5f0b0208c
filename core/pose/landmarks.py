"""BlazePose's 33 body landmarks and the pose-track arrays every pose consumer reads.

A pose track of a video holds, for each sampled frame (decoder index, the one frame convention):
``frames int32[T]``; ``xy float32[T, 33, 2]`` pixel coordinates in the displayed (rotated) frame,
x right, y down, NaN where there is no pose; ``z float32[T, 33]`` BlazePose's relative depth (same
scale as x, smaller = nearer the camera); ``visibility float32[T, 33]`` in [0, 1];
``score float32[T]`` the landmark model's pose presence (0 where no pose)."""
from __future__ import annotations

import numpy as np

NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
INDEX = {n: i for i, n in enumerate(NAMES)}
N_LANDMARKS = len(NAMES)
# The 12 joints of the trunk and limbs (what pose accuracy and shape are measured on).
BODY = tuple(INDEX[f"{s}_{j}"] for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
             for s in ("left", "right"))

# Lines drawn for a skeleton overlay (body only; the face is the nose and ears).
EDGES = (
    ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("left_ankle", "left_heel"),
    ("left_heel", "left_foot_index"), ("left_ankle", "left_foot_index"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"), ("right_ankle", "right_heel"),
    ("right_heel", "right_foot_index"), ("right_ankle", "right_foot_index"),
    ("nose", "left_ear"), ("nose", "right_ear"),
)
EDGE_INDEX = tuple((INDEX[a], INDEX[b]) for a, b in EDGES)

# Left/right pairs (a mirrored view or a tracker swap exchanges them).
def _mirror(name: str) -> str:
    for a, b in (("left", "right"), ("right", "left")):
        if a in name:
            return name.replace(a, b)
    return name


FLIP = tuple(INDEX[_mirror(n)] for n in NAMES)


def torso_length(xy, ok=None) -> float:
    """The body's scale in a track: the median over its frames (those where `ok`) of the mid-shoulder to
    mid-hip distance, in xy's units (at least 1e-3)."""
    P = np.asarray(xy, np.float64)
    hip = 0.5 * (P[:, INDEX["left_hip"]] + P[:, INDEX["right_hip"]])
    shoulder = 0.5 * (P[:, INDEX["left_shoulder"]] + P[:, INDEX["right_shoulder"]])
    d = np.linalg.norm(shoulder - hip, axis=-1)
    return max(float(np.median(d if ok is None else d[ok])), 1e-3)
