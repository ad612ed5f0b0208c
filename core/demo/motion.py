"""Synthetic pose tracks straight from the demo figure: no pixels, BlazePose's 33 landmarks.

The demo generator (`core.demo.synthetic`) poses an articulated 3D figure through the nine movements
with real rep timings. This module turns that motion into what a pose estimator would report on a video
of it, with ground truth, for training and measuring pose models without any real labels:

1. **Motion**: `simulate(workout)` gives the figure's pose parameters per 30 fps frame (the sets, rests,
   walks and transitions of `plan_workout` / `demo_plans` / `random_workout`). The pose parameters go
   through this module's own forward kinematics (the figure's, reimplemented: exact for an unchanged
   body, `fk_world`) with **random body proportions** (`MotionConfig.proportions`) and **no-rep
   variants** made by post-adjusting the parameter trajectory of a rep (`NOREP_KINDS`: shallow squats,
   soft elbows overhead, hips not open at the top of a deadlift, handstand push-ups not locked out,
   chest-to-bar pulls that stop short, reps abandoned half-way).
2. **Time**: a random time warp (tempo per set ±25 %, pauses between reps and at the bottom) maps the
   30 fps source frames onto the frames of the "video".
3. **Landmarks**: the 24 figure joints become BlazePose's 33 (face points from the head and its facing
   direction, pinky/index/thumb from the wrist and the forearm-hand direction, heel and foot index from
   the foot) in `LANDMARKS` order, which is `core.pose.landmarks.NAMES` (this package sits below
   `core.pose`; a test checks the two agree).
4. **Camera**: random pinhole cameras (`ViewRanges`): height, distance, yaw 0-90 deg from the athlete's
   front to their side on either side, roll, image size (portrait and landscape), the athlete anywhere
   in the frame at any scale, a fixed or a panning camera, mirrored videos (x flipped and left/right
   exchanged, as BlazePose would report a mirrored person).
5. **Pose estimator**: the frames are sampled every `step` frames (15 fps from 30 by default) and
   corrupted like a pose estimator's output (`TrackNoise`, a dataclass so it can be fitted to real
   tracks): Gaussian jitter proportional to the body size (temporally correlated), larger on
   low-visibility landmarks, rare outliers, short left/right swaps, the lag of a temporal smoothing
   filter, dropouts (NaN rows, score 0); visibility is low on far-side limbs in side views, on the face
   seen from behind and outside the image.

6. **Outside the nine**: `other_track(seed)` makes tracks of other exercises and idling (`OTHER_KINDS`:
   push-ups, mountain climbers, planks, lunges, jumping jacks, kettlebell swings, air squats, walking,
   standing about) from keyframes in the figure's pose parameters, through the same camera and pose
   estimator; every frame is NONE (for a pose model's "none" class).

`varied_config()` is the wider variety a pose model trains on: slow and fast sets, higher cameras,
strict (non-kipping) chest-to-bar sets, low double-under hops. The `TrackNoise` defaults are fitted
to BlazePose tracks of real videos (`bench/pose_real.py --noise-stats`).

A `MotionTrack` holds the pose-track arrays of `core.pose.landmarks` (``frames, xy, z, visibility,
score``), per-frame labels (movement index in `MOVEMENTS`, `NONE` = -1 for rests and transitions) and
the reps: ``{"label", "start", "end", "valid", "reason", "checks"}`` (decoder frame indices of the
video, inclusive). A rep's validity is the ground truth of this generator: the movement standards of
`GT_STANDARDS` measured on the 3D figure (torso-length units, reported in cm with a 50 cm torso).

Public API::

    motion_track(workout, seed, config=MotionConfig()) -> MotionTrack
    random_workout(seed, movements=None) -> Workout
    generate_tracks(seeds, config=MotionConfig(), workers=1, workouts=None, progress=None, cancel=None)
        -> list[MotionTrack]             # workouts[i] == "other": other_track(seeds[i])
    other_track(seed, config=MotionConfig(), kinds=None) -> MotionTrack
    varied_config(**overrides) -> MotionConfig
    fk_world(sim, params=None, body=None) -> (joints (n, 24, 3), heading (n,))
    landmarks_3d(joints, params, heading, body) -> (n, 33, 3)

Same seed and config -> the same track.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from core.base.labels import DEFAULT_MOVEMENTS, REP_FRAMES_30FPS
from core.base.progress import Progress, check_cancel, report
from core.demo.synthetic import (IDLE_ARMS, IDLE_HIPS, IDLE_KNEES, IDLE_LOOK, JOINTS, PARAMS, Workout, plan_workout,
                                 simulate)
from core.demo.synthetic import body_joints, rotate_y, sagittal_dir
from core.demo.synthetic import pose as spose
from core.pose.landmarks import FLIP, INDEX, NAMES

__all__ = [
    "LANDMARKS", "LANDMARK_INDEX", "FLIP_LANDMARKS", "MOVEMENTS", "NONE", "NOREP_KINDS", "GT_STANDARDS",
    "TrackNoise", "ViewRanges", "MotionConfig", "MotionTrack", "motion_track", "random_workout",
    "generate_tracks", "fk_world", "landmarks_3d", "TORSO_CM", "OTHER_KINDS", "other_track", "varied_config",
]

LANDMARKS = NAMES  # BlazePose's 33, in their order (core.pose.landmarks)
LANDMARK_INDEX = INDEX
FLIP_LANDMARKS = FLIP
MOVEMENTS = tuple(DEFAULT_MOVEMENTS)
NONE = -1
TORSO_CM = 50.0          # nominal torso length (mid-shoulder to mid-hip) used to report lengths in cm

_P = {n: i for i, n in enumerate(PARAMS)}
_J = {n: i for i, n in enumerate(JOINTS)}
_L = LANDMARK_INDEX
# anchor of the figure during a movement's reps (what stays put when the body changes); gaps: feet
_MODE = {"chest-to-bar": "hang", "ghd": "pelvis", "shspu": "hands"}
_MODES = ("feet", "hang", "pelvis", "hands")

# Movement standards of the ground truth, on the 3D figure: (check, quantity, phase, op, threshold, reason).
# Quantities in cm (torso-length units x 50) or degrees. Phases: "bottom" / "top" of the rep as
# `_phase_frame` finds them. `core.pose.reps.STANDARDS` judges the same things on 2D tracks.
GT_STANDARDS = {
    "thruster": (("depth", "hip_above_knee", "bottom", "<=", 0.0, "hip crease above the knee at the bottom"),
                 ("lockout", "elbow", "top", ">=", 160.0, "elbows not locked out overhead"),
                 ("hips_open", "hip", "top", ">=", 160.0, "hips not open at the top")),
    "ohs": (("depth", "hip_above_knee", "bottom", "<=", 0.0, "hip crease above the knee at the bottom"),
            ("lockout", "elbow", "top_end", ">=", 160.0, "elbows not locked out overhead"),
            ("hips_open", "hip", "top_end", ">=", 160.0, "hips not open at the top")),
    "deadlift": (("hips_open", "hip", "top", ">=", 160.0, "hips not open at the top"),
                 ("knees_open", "knee", "top", ">=", 160.0, "knees not open at the top")),
    "shspu": (("depth", "head_above_hands", "bottom", "<=", 10.0, "head did not reach the floor"),
              ("lockout", "elbow", "top_end", ">=", 160.0, "arms not locked out at the top")),
    "chest-to-bar": (("height", "shoulder_below_wrist", "top", "<=", 15.0, "chest did not reach the bar"),),
}

# No-rep variants per movement (chosen at random for a no-rep), made by adjusting the rep's parameters.
NOREP_KINDS = {
    "thruster": ("shallow", "soft_elbows", "partial"),
    "ohs": ("shallow", "soft_elbows", "partial"),
    "deadlift": ("hips_not_open", "partial"),
    "shspu": ("no_lockout", "partial"),
    "chest-to-bar": ("short_pull", "partial"),
}
# phase (0..1) of each movement's bottom / top in the figure's keyframes (for the variants)
_BOTTOM_X = {"thruster": 0.29, "ohs": 0.54, "shspu": 0.535, "deadlift": 0.0, "chest-to-bar": 0.0}
_TOP_X = {"thruster": 0.67, "ohs": 1.0, "shspu": 1.0, "deadlift": 0.475, "chest-to-bar": 0.6}


# ----------------------------------------------------------------------------------------------
# settings
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrackNoise:
    """How a pose estimator's track differs from the truth (per sampled frame). Lengths are fractions
    of the torso length (mid-shoulder to mid-hip in the image); rates are per sampled frame."""

    # Defaults fitted to BlazePose tracks of real videos (`bench/pose_real.py --noise-stats`: the
    # median second-difference residual of the torso and the wrists/ankles on the stillest fifth of
    # the frames, left/right swap runs, no-pose runs); `MotionConfig.noise_scale` spreads them over
    # the range the real tracks show (about 0.5x to 3x the median).
    jitter: float = 0.009             # landmark jitter SD
    jitter_low_vis: float = 0.04      # extra SD at visibility 0 (scaled by 1 - visibility)
    jitter_corr: float = 0.6          # AR(1) correlation of the jitter from one sampled frame to the next
    outlier_rate: float = 0.002       # chance that one landmark jumps in a frame
    outlier_scale: float = 0.35       # SD of such a jump
    swap_rate: float = 0.0015         # chance that a left/right swap run starts
    swap_len: float = 3.0             # its mean length (frames)
    swap_legs_only: float = 0.6       # share of swaps that exchange the legs only (else the whole body)
    lag: float = 0.25                 # exponential smoothing weight of the previous output (0 = none)
    dropout_rate: float = 0.002       # chance that a no-pose run starts (NaN rows, score 0)
    dropout_len: float = 6.0          # its mean length (frames)
    far_visibility: tuple = (0.35, 0.9)    # visibility of the far side in a pure side view
    out_of_frame_visibility: float = 0.15
    score: tuple = (0.75, 1.0)        # pose presence where there is a pose

    def scaled(self, k: float) -> "TrackNoise":
        """The same noise with every amplitude and rate times k (k = 0: a clean track)."""
        return dataclasses.replace(
            self, jitter=self.jitter * k, jitter_low_vis=self.jitter_low_vis * k, outlier_rate=self.outlier_rate * k,
            swap_rate=self.swap_rate * k, lag=min(0.6, self.lag * k), dropout_rate=self.dropout_rate * k)


CLEAN = TrackNoise(jitter=0.0, jitter_low_vis=0.0, outlier_rate=0.0, swap_rate=0.0, lag=0.0, dropout_rate=0.0,
                   far_visibility=(1.0, 1.0), score=(1.0, 1.0))


@dataclass(frozen=True)
class ViewRanges:
    """Random camera ranges (uniform unless said)."""

    yaw_deg: tuple = (0.0, 90.0)          # 0: facing the camera, 90: side view; either side at random
    height_m: tuple = (0.4, 2.4)          # camera height above the floor
    distance_m: tuple = (2.5, 9.0)        # from the athlete's centre
    look_height_m: tuple = (0.6, 1.3)     # height of the point looked at
    roll_deg: float = 10.0                # +- uniform
    sizes: tuple = ((854, 480), (1280, 720), (404, 720), (640, 360), (720, 1280), (1920, 1080))
    fill: tuple = (0.35, 1.0)             # share of the limiting image side the athlete's extent covers
    overflow_p: float = 0.08              # chance that the extent is larger than the image (cut off)
    mirror_p: float = 0.5
    follow_p: float = 0.3                 # a panning camera that follows the athlete (else fixed)


@dataclass(frozen=True)
class MotionConfig:
    fps: float = 30.0                     # video fps (the figure is simulated at this rate)
    step: int = 2                         # the pose track samples every step-th frame (15 fps)
    noise: TrackNoise = TrackNoise()
    noise_scale: tuple = (0.5, 3.0)       # per track, the noise is scaled by a factor in this range (log-uniform)
    view: ViewRanges = ViewRanges()
    proportions: float = 0.05             # SD of the random segment length factors
    tempo: tuple = (0.75, 1.25)           # per-set speed factor
    pause_p: float = 0.06                 # chance of a pause at a rep boundary
    pause_bottom_p: float = 0.03          # chance of a pause at the bottom of a rep
    pause_s: tuple = (0.2, 1.2)
    norep_p: float = 0.0                  # chance that a rep of a movement with standards is a no-rep
    norep_kinds: dict | None = None       # movement -> allowed kinds (default NOREP_KINDS)
    strict_p: float = 0.0                 # chance that a chest-to-bar set is strict (little kip, legs hang)
    du_jump: tuple = (1.0, 1.0)           # double-unders: jump height factor per track (low: single-under-like hops)


def varied_config(**overrides) -> MotionConfig:
    """The wider variety the pose model trains on (and is measured on, held out): slow and fast sets
    (scaled, tired or demonstrated reps: 0.45-1.35x the real rep speed), cameras up to 3.2 m high,
    strict chest-to-bar sets (40 %), low double-under hops, no-reps 15 %."""
    base = dict(tempo=(0.45, 1.35), view=ViewRanges(height_m=(0.4, 3.2)), strict_p=0.4, du_jump=(0.35, 1.2),
                norep_p=0.15)
    base.update(overrides)
    return MotionConfig(**base)


# ----------------------------------------------------------------------------------------------
# the track
# ----------------------------------------------------------------------------------------------
@dataclass
class MotionTrack:
    frames: np.ndarray            # int32 [T] decoder frame indices of the video
    xy: np.ndarray                # float32 [T, 33, 2] pixels, NaN where there is no pose
    z: np.ndarray                 # float32 [T, 33]
    visibility: np.ndarray        # float32 [T, 33]
    score: np.ndarray             # float32 [T]
    labels: np.ndarray            # int16 [T] movement index, NONE = -1
    reps: list                    # [{"label", "start", "end", "valid", "reason", "checks"}]
    width: int
    height: int
    fps: float
    step: int
    n_video_frames: int
    xy_clean: np.ndarray          # float32 [T, 33, 2] before the pose-estimator corruption
    meta: dict = field(default_factory=dict)

    def arrays(self) -> dict:
        """The pose-track arrays of core.pose.landmarks."""
        return {"frames": self.frames, "xy": self.xy, "z": self.z, "visibility": self.visibility,
                "score": self.score}

    def sets(self) -> list[dict]:
        """Runs of reps of one movement: {"label", "start", "end", "reps": [rep, ...]} (frames)."""
        out: list[dict] = []
        for r in self.reps:
            if out and out[-1]["label"] == r["label"] and r["start"] <= out[-1]["end"] + 1:
                out[-1]["end"] = r["end"]
                out[-1]["reps"].append(r)
            else:
                out.append({"label": r["label"], "start": r["start"], "end": r["end"], "reps": [r]})
        return out

    def frame_labels(self) -> np.ndarray:
        """int16 [n_video_frames] label of every video frame."""
        out = np.full(self.n_video_frames, NONE, np.int16)
        for r in self.reps:
            out[r["start"]:r["end"] + 1] = MOVEMENTS.index(r["label"])
        return out


# ----------------------------------------------------------------------------------------------
# forward kinematics (the figure's, see core.demo.synthetic's module doc)
# ----------------------------------------------------------------------------------------------


def _anchor(mode: str, J: np.ndarray) -> np.ndarray:
    if mode == "feet":
        return J[:, [20, 21, 22, 23]].mean(1)
    if mode in ("hang", "hands"):
        return J[:, [10, 11]].mean(1)
    return J[:, 0]


def _box_mean(x: np.ndarray, w: int) -> np.ndarray:
    """Centred moving average along axis 0 (edges: shorter windows)."""
    if w <= 1 or len(x) < 2:
        return x
    c = np.cumsum(np.concatenate([np.zeros((1,) + x.shape[1:]), x]), 0)
    i = np.arange(len(x))
    lo = np.clip(i - w // 2, 0, len(x))
    hi = np.clip(i + w // 2 + 1, 0, len(x))
    return (c[hi] - c[lo]) / (hi - lo).reshape((-1,) + (1,) * (x.ndim - 1))


def fk_world(sim, params: np.ndarray | None = None, body=None, modes: list | None = None):
    """World joints (n, 24, 3) and headings (n,) of simulation `sim` posed by `params` (default: its
    own) with `body` (default: its own). The figure stays where the simulation put it: per frame the
    anchor of its activity (feet, grips on the bar, pelvis on the GHD, hands on the floor) is kept, so
    an unchanged body and params give back `sim.joints3d` exactly."""
    Jo = sim.joints3d
    lat = Jo[:, 14] - Jo[:, 15]
    heading = np.arctan2(-lat[:, 2], lat[:, 0])
    if params is None and body is None:
        return Jo.copy(), heading
    params = sim.params if params is None else params
    body = sim.scene.body if body is None else body
    root = Jo[:, 0]
    Jr_o = Jo - root[:, None]
    Jr_n = rotate_y(body_joints(params, body)[0], heading)
    if modes is None:
        modes = [_MODE.get(lb, "feet") for lb in sim.frame_labels]
    onehot = np.zeros((len(Jo), len(_MODES)))
    onehot[np.arange(len(Jo)), [_MODES.index(m) for m in modes]] = 1.0
    w = _box_mean(onehot, 9)
    delta = np.zeros((len(Jo), 3))
    for k, m in enumerate(_MODES):
        if w[:, k].any():
            delta += w[:, k:k + 1] * (_anchor(m, Jr_o) - _anchor(m, Jr_n))
    return Jr_n + (root + delta)[:, None], heading


def landmarks_3d(J: np.ndarray, params: np.ndarray, heading: np.ndarray, body) -> np.ndarray:
    """BlazePose's 33 landmarks (n, 33, 3) in world coordinates from the figure's joints."""
    n = len(J)
    r = np.radians(params)
    zero = np.zeros(n)
    hd = J[:, 2] - J[:, 1]
    hd /= np.linalg.norm(hd, axis=-1, keepdims=True) + 1e-9
    hf = rotate_y(sagittal_dir(r[:, _P["N"]] - np.pi / 2, zero, 1.0), heading)      # face front
    lat = J[:, 4] - J[:, 5]
    lat /= np.linalg.norm(lat, axis=-1, keepdims=True) + 1e-9            # towards the left side
    R = body.head_r
    H = J[:, 2]
    L = np.zeros((n, 33, 3))

    def put(name, p):
        L[:, _L[name]] = p

    put("nose", H + 0.95 * R * hf - 0.1 * R * hd)
    for s, side in ((1.0, "left"), (-1.0, "right")):
        eye = H + 0.78 * R * hf + 0.25 * R * hd
        put(f"{side}_eye_inner", eye + s * 0.17 * R * lat)
        put(f"{side}_eye", eye + s * 0.33 * R * lat)
        put(f"{side}_eye_outer", eye + s * 0.48 * R * lat - 0.08 * R * hf)
        put(f"{side}_ear", H + s * 0.92 * R * lat - 0.1 * R * hf + 0.05 * R * hd)
        put(f"mouth_{side}", H + 0.82 * R * hf - 0.42 * R * hd + s * 0.22 * R * lat)
        k = 0 if s > 0 else 1
        put(f"{side}_shoulder", J[:, 4 + k])
        put(f"{side}_elbow", J[:, 6 + k])
        wr = J[:, 8 + k]
        put(f"{side}_wrist", wr)
        hand = J[:, 12 + k] - wr
        hl = np.linalg.norm(hand, axis=-1, keepdims=True) + 1e-9
        hdir = hand / hl
        # palm width: the body's lateral axis made perpendicular to the hand (overhand grip: the
        # thumb and index towards the middle, the pinky outside)
        side_v = s * lat - (np.sum(s * lat * hdir, -1, keepdims=True)) * hdir
        side_v /= np.linalg.norm(side_v, axis=-1, keepdims=True) + 1e-9
        put(f"{side}_pinky", wr + 0.72 * hl * hdir + 0.28 * hl * side_v)
        put(f"{side}_index", wr + 0.85 * hl * hdir - 0.18 * hl * side_v)
        put(f"{side}_thumb", wr + 0.45 * hl * hdir - 0.38 * hl * side_v)
        put(f"{side}_hip", J[:, 14 + k])
        put(f"{side}_knee", J[:, 16 + k])
        put(f"{side}_ankle", J[:, 18 + k])
        put(f"{side}_heel", J[:, 20 + k])
        put(f"{side}_foot_index", J[:, 22 + k])
    return L


# ----------------------------------------------------------------------------------------------
# no-rep variants: adjust a rep's pose parameters
# ----------------------------------------------------------------------------------------------
def _bump(x: np.ndarray, centre: float, half: float) -> np.ndarray:
    """1 at `centre`, smoothly 0 at `half` away (phases can run past 0..1 for boundary tops)."""
    w = np.clip(1.0 - np.abs(x - centre) / half, 0.0, 1.0)
    return w * w * (3 - 2 * w)


def _apply_variant(P: np.ndarray, a: int, b: int, label: str, kind: str, rng) -> tuple[int, int] | None:
    """Modify P (n, NP) in place for a no-rep of `kind` on the rep at source frames [a, b].
    Returns a partial rep's (turn frame, frames) for the time warp, else None."""
    n = len(P)
    L = b - a + 1
    if kind == "partial":
        lo = 0.18 if label != "deadlift" else 0.15
        hi = {"thruster": 0.26, "ohs": 0.42, "shspu": 0.3, "deadlift": 0.33, "chest-to-bar": 0.4}[label]
        return a + int(round(rng.uniform(lo, hi) * L)), L
    # frames affected: the rep, plus half a rep after it for tops at the rep's end
    top = _TOP_X[label]
    ext = int(round(0.35 * L)) if top >= 1.0 else 0
    idx = np.arange(a, min(n, b + 1 + ext))
    x = (idx - a) / L
    g = lambda k: P[idx, _P[k]]  # noqa: E731
    if kind == "shallow":
        th_max = max(float(g("THL").max()), float(g("THR").max()), 1.0)
        target = rng.uniform(60.0, 84.0)
        k = min(1.0, target / th_max)
        c = 1.0 - (1.0 - k) * _bump(x, _BOTTOM_X[label], max(_BOTTOM_X[label], 1 - _BOTTOM_X[label]))
        for s in "LR":
            P[idx, _P["TH" + s]] *= c
            P[idx, _P["SH" + s]] *= c
        for name in ("T", "N"):
            P[idx, _P[name]] = 180.0 - (180.0 - P[idx, _P[name]]) * (0.5 + 0.5 * c)
    elif kind == "soft_elbows":
        e = rng.uniform(30.0, 60.0)
        w = _bump(x, top, 0.22 if top < 1 else 0.35)
        for s in "LR":
            P[idx, _P["UA" + s]] -= 0.5 * e * w
            P[idx, _P["FA" + s]] += 0.5 * e * w
    elif kind == "hips_not_open":
        a_deg = rng.uniform(34.0, 55.0)
        w = _bump(x, top, 0.3)
        P[idx, _P["T"]] -= a_deg * w
        P[idx, _P["N"]] -= 0.8 * a_deg * w
        for s in "LR":
            P[idx, _P["TH" + s]] += 0.25 * a_deg * w
    elif kind == "no_lockout":
        e = rng.uniform(30.0, 60.0)
        w = _bump(x, 1.0, 0.3)
        for s in "LR":
            P[idx, _P["UA" + s]] += e * w
    elif kind == "short_pull":
        d = rng.uniform(75.0, 110.0)
        w = _bump(x, top, 0.3)
        for s in "LR":
            P[idx, _P["UA" + s]] += d * w
    else:
        raise ValueError(kind)
    return None


def _strict_sets(P: np.ndarray, frame_labels, p: float, rng) -> None:
    """Some chest-to-bar sets strict (in place): the kip's trunk and leg swing blended towards a still
    hang (legs straight or knees bent); the arms, so the pull's height, are unchanged."""
    if p <= 0:
        return
    lab = np.array([lb == "chest-to-bar" for lb in frame_labels], bool)
    if not lab.any():
        return
    n = len(P)
    edges = np.flatnonzero(np.diff(np.r_[0, lab.astype(int), 0]))
    w = np.zeros(n)
    for a, b in zip(edges[::2], edges[1::2]):
        if rng.random() < p:
            w[max(0, a - 10):min(n, b + 10)] = rng.uniform(0.65, 1.0)
    if not w.any():
        return
    w = _box_mean(w, 9)
    th = rng.uniform(0.0, 45.0)
    knee = rng.uniform(0.0, 95.0)
    tgt = {"T": 181.0, "N": 181.0, "THL": th, "THR": th, "SHL": th - knee, "SHR": th - knee,
           "FTL": 90.0 + th - knee - 20.0, "FTR": 90.0 + th - knee - 20.0}
    for k, v in tgt.items():
        P[:, _P[k]] += w * (v - P[:, _P[k]])


# ----------------------------------------------------------------------------------------------
# ground truth: standards measured on the 3D figure
# ----------------------------------------------------------------------------------------------
def _angle(a, b, c):
    u, v = a - b, c - b
    cos = np.sum(u * v, -1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1) + 1e-9)
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def quantities_3d(L: np.ndarray) -> dict:
    """Per-frame quantities of the standards from 3D landmarks (n, 33, 3), y up: lengths in cm."""
    g = lambda n: L[:, _L[n]]  # noqa: E731
    mid = lambda n: 0.5 * (g("left_" + n) + g("right_" + n))  # noqa: E731
    torso = np.linalg.norm(mid("shoulder") - mid("hip"), axis=-1) + 1e-9
    cm = TORSO_CM / torso
    el = np.minimum(_angle(g("left_shoulder"), g("left_elbow"), g("left_wrist")),
                    _angle(g("right_shoulder"), g("right_elbow"), g("right_wrist")))
    # hips and knees on the body's midline: the shoulders' width and the legs' spread do not bend them
    hip = _angle(mid("shoulder"), mid("hip"), mid("knee"))
    knee = _angle(mid("hip"), mid("knee"), mid("ankle"))
    return {
        "hip_above_knee": (mid("hip")[:, 1] - mid("knee")[:, 1]) * cm,
        "elbow": el, "hip": hip, "knee": knee,
        "head_above_hands": (mid("ear")[:, 1] - mid("wrist")[:, 1]) * cm,
        "shoulder_below_wrist": (mid("wrist")[:, 1] - mid("shoulder")[:, 1]) * cm,
        "hip_height": (mid("hip")[:, 1] - mid("ankle")[:, 1]) * cm,
        "wrist_height": (mid("wrist")[:, 1] - mid("ankle")[:, 1]) * cm,
        "shoulder_height": (mid("shoulder")[:, 1] - mid("ankle")[:, 1]) * cm,
    }


def _phase_frame(label: str, phase: str, q: dict, a: int, b: int) -> int:
    """Frame (absolute) of the rep [a, b] where the standard of `phase` is judged."""
    sl = slice(a, b + 1)
    if phase == "bottom":
        key = {"thruster": "hip_above_knee", "ohs": "hip_above_knee", "shspu": "head_above_hands"}[label]
        return a + int(np.argmin(q[key][sl]))
    if phase == "top":
        key, sign = {"thruster": ("wrist_height", 1), "deadlift": ("shoulder_height", 1),
                     "chest-to-bar": ("shoulder_below_wrist", -1)}[label]
        return a + int(np.argmax(sign * q[key][sl]))
    # top_end: the highest point in the rep's last 40 %
    key = {"ohs": "hip_height", "shspu": "head_above_hands"}[label]
    s = a + int(0.6 * (b - a + 1))
    return s + int(np.argmax(q[key][s:b + 1]))


def judge_3d(label: str, q: dict, a: int, b: int) -> tuple[bool, str, list]:
    checks = []
    reasons = []
    for name, key, phase, op, thr, reason in GT_STANDARDS.get(label, ()):
        f = _phase_frame(label, phase, q, a, b)
        if op == ">=":   # a lockout / an open hip: the best within +-3 frames of the top
            w = slice(max(a, f - 3), min(b, f + 3) + 1)
            f = w.start + int(np.argmax(q[key][w]))
        v = float(q[key][f])
        ok = v <= thr if op == "<=" else v >= thr
        checks.append({"check": name, "value": round(v, 2), "frame": f, "ok": bool(ok)})
        if not ok:
            reasons.append(reason)
    return not reasons, "; ".join(reasons), checks


# ----------------------------------------------------------------------------------------------
# time warp, camera, pose-estimator corruption
# ----------------------------------------------------------------------------------------------
def _time_warp(n: int, rep_of: np.ndarray, reps: list, bottoms: dict, partial: dict, cfg: MotionConfig, rng):
    """Source position (float, into the 30 fps simulation) of every video frame."""
    rate = np.ones(n)
    dwell = np.zeros(n)
    # tempo per run of one movement (a set) and per gap
    lab = rep_of
    edges = np.flatnonzero(np.diff((lab >= 0).astype(int)) != 0) + 1
    for s, e in zip(np.r_[0, edges], np.r_[edges, n]):
        rate[s:e] = rng.uniform(*cfg.tempo) if lab[s] >= 0 else rng.uniform(0.85, 1.15)
    rate = _box_mean(rate, 15) * np.exp(0.05 * _box_mean(rng.normal(0, 1, n), 31) * 5.5)
    fps = cfg.fps
    for i, (a, b, label) in enumerate(reps):
        if rng.random() < cfg.pause_p and i > 0:
            dwell[a] += rng.uniform(*cfg.pause_s) * fps
        if label in bottoms and rng.random() < cfg.pause_bottom_p:
            dwell[a + int(bottoms[label] * (b - a + 1))] += rng.uniform(0.2, 0.6) * fps
    # the source samples in playing order: a partial rep plays forward to its turn, back to its start,
    # then skips the rest of the rep (the boundary pose is shared, so the skip is seamless)
    pos = []
    i = 0
    while i < n:
        if i in partial:
            turn, length = partial[i]
            fwd = np.arange(i, turn + 1, dtype=float)
            pos += [fwd, fwd[::-1][1:]]
            i += length
            continue
        pos.append(np.array([float(i)]))
        i += 1
    src = np.concatenate(pos)
    idx = np.clip(np.rint(src).astype(int), 0, n - 1)
    first = np.r_[True, np.diff(src) > 0]
    pause = dwell[idx] * first
    move = 1.0 / rate[idx]
    dur = pause + move
    vt = np.concatenate([[0.0], np.cumsum(dur)[:-1]])
    nv = int(math.floor(vt[-1])) + 1
    k = np.arange(nv, dtype=float)
    j = np.clip(np.searchsorted(vt, k, side="right") - 1, 0, len(vt) - 1)
    j2 = np.minimum(j + 1, len(vt) - 1)
    f = np.clip((k - vt[j] - pause[j]) / move[j], 0.0, 1.0)
    f = np.where(np.abs(src[j2] - src[j]) > 1.5, 0.0, f)     # a skip is a cut, not a blend
    return src[j] + f * (src[j2] - src[j])


def _interp_frames(X: np.ndarray, s: np.ndarray) -> np.ndarray:
    i0 = np.clip(np.floor(s).astype(int), 0, len(X) - 1)
    i1 = np.minimum(i0 + 1, len(X) - 1)
    f = (s - i0).reshape((-1,) + (1,) * (X.ndim - 1))
    return X[i0] * (1 - f) + X[i1] * f


def _look_at(C, L):
    fwd = L - C
    fwd = fwd / np.linalg.norm(fwd)
    right = np.cross(fwd, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, fwd)
    return np.stack([right, up, fwd])


def _camera(L3: np.ndarray, labels: np.ndarray, heading: np.ndarray, v: ViewRanges, rng):
    """Project (n, 33, 3) world landmarks through a random camera: pixels (n, 33, 2), depth (n, 33),
    image size, and camera facts."""
    n = len(L3)
    W, H = v.sizes[rng.integers(len(v.sizes))]
    pel = 0.5 * (L3[:, _L["left_hip"]] + L3[:, _L["right_hip"]])
    active = labels >= 0
    ref = active if active.any() else np.ones(n, bool)
    centre = np.median(pel[ref], 0)
    # the athlete's main facing direction: the circular mean over the rep frames
    h0 = float(np.arctan2(np.sin(heading[ref]).mean(), np.cos(heading[ref]).mean()))
    yaw = math.radians(rng.uniform(*v.yaw_deg)) * (1 if rng.random() < 0.5 else -1)
    az = h0 + yaw
    dist = rng.uniform(*v.distance_m)
    cam_h = rng.uniform(*v.height_m)
    follow = rng.random() < v.follow_p
    look_h = rng.uniform(*v.look_height_m)
    if follow:
        tgt = _box_mean(_box_mean(pel, 45), 45)
    else:
        tgt = np.repeat(centre[None], n, 0)
    tgt = tgt * [1, 0, 1] + [0, look_h, 0]
    C = tgt + dist * np.array([math.sin(az), 0.0, math.cos(az)])
    C[:, 1] = cam_h
    # rotation per frame (fixed camera: one)
    if follow:
        R = np.stack([_look_at(C[i], tgt[i]) for i in range(0, n)])
    else:
        R = np.repeat(_look_at(C[0], tgt[0])[None], n, 0)
    c = np.einsum("nij,nkj->nki", R, L3 - C[:, None])
    zc = np.maximum(c[..., 2], 0.05)
    a, bb = c[..., 0] / zc, -c[..., 1] / zc
    roll = math.radians(rng.uniform(-v.roll_deg, v.roll_deg))
    cr, sr = math.cos(roll), math.sin(roll)
    a, bb = cr * a - sr * bb, sr * a + cr * bb
    lo_a, hi_a = np.percentile(a, [0.5, 99.5])
    lo_b, hi_b = np.percentile(bb, [0.5, 99.5])
    fill = rng.uniform(*v.fill)
    if rng.random() < v.overflow_p:
        fill = rng.uniform(1.0, 1.25)
    f = fill * min(W / max(hi_a - lo_a, 1e-6), H / max(hi_b - lo_b, 1e-6))
    ew, eh = f * (hi_a - lo_a), f * (hi_b - lo_b)
    ox = rng.uniform(min(0.0, W - ew), max(0.0, W - ew)) - f * lo_a
    oy = rng.uniform(min(0.0, H - eh), max(0.0, H - eh)) - f * lo_b
    uv = np.stack([ox + f * a, oy + f * bb], -1)
    hipz = 0.5 * (zc[:, _L["left_hip"]] + zc[:, _L["right_hip"]])
    zpx = (zc - hipz[:, None]) * f / hipz[:, None]
    # towards the camera (for visibility): unit vectors from the landmarks to the camera
    tocam = C[:, None] - L3
    tocam /= np.linalg.norm(tocam, axis=-1, keepdims=True) + 1e-9
    facts = {"width": int(W), "height": int(H), "yaw_deg": round(math.degrees(yaw), 1),
             "camera_height_m": round(cam_h, 2), "distance_m": round(dist, 2), "roll_deg": round(math.degrees(roll), 1),
             "focal_px": round(float(f), 1), "fill": round(float(fill), 2), "follow": bool(follow)}
    return uv, zpx, tocam, (W, H), facts


def _visibility(L3, tocam, uv, W, H, noise: TrackNoise, rng) -> np.ndarray:
    n = len(L3)
    lat = L3[:, _L["left_shoulder"]] - L3[:, _L["right_shoulder"]]
    lat /= np.linalg.norm(lat, axis=-1, keepdims=True) + 1e-9
    # how much the left side faces the camera (+1), the right side (-1)
    side = np.sum(lat * tocam[:, _L["left_hip"]], -1)
    fv = rng.uniform(*noise.far_visibility)
    vis = np.full((n, 33), 1.0) - rng.uniform(0.0, 0.06, (n, 1))
    left = np.array(["left" in nm for nm in LANDMARKS])
    right = np.array(["right" in nm for nm in LANDMARKS])
    far_l = np.clip(-side, 0, 1)[:, None]      # left side is far
    far_r = np.clip(side, 0, 1)[:, None]
    vis[:, left] *= 1 - (1 - fv) * far_l
    vis[:, right] *= 1 - (1 - fv) * far_r
    # face from behind
    nose, head = L3[:, _L["nose"]], 0.5 * (L3[:, _L["left_ear"]] + L3[:, _L["right_ear"]])
    hf = nose - head
    hf /= np.linalg.norm(hf, axis=-1, keepdims=True) + 1e-9
    away = np.clip(-np.sum(hf * tocam[:, _L["nose"]], -1), 0, 1)[:, None]
    vis[:, :11] *= 1 - 0.7 * away
    out = (uv[..., 0] < 0) | (uv[..., 0] > W) | (uv[..., 1] < 0) | (uv[..., 1] > H)
    vis[out] = np.minimum(vis[out], noise.out_of_frame_visibility)
    vis = vis + rng.normal(0, 0.02, vis.shape)
    return np.clip(vis, 0.0, 1.0)


def _runs(rng, T: int, rate: float, mean_len: float) -> np.ndarray:
    on = np.zeros(T, bool)
    if rate <= 0:
        return on
    starts = np.flatnonzero(rng.random(T) < rate)
    for s in starts:
        on[s:s + max(1, int(rng.geometric(1.0 / max(mean_len, 1.0))))] = True
    return on


_LEG_NAMES = ("hip", "knee", "ankle", "heel", "foot_index")
_LEG_SWAP = np.arange(33)
for _nm in _LEG_NAMES:
    _LEG_SWAP[_L["left_" + _nm]], _LEG_SWAP[_L["right_" + _nm]] = _L["right_" + _nm], _L["left_" + _nm]
_FLIP = np.array(FLIP_LANDMARKS)


def corrupt(xy: np.ndarray, z: np.ndarray, vis: np.ndarray, noise: TrackNoise, rng):
    """A pose estimator's version of clean sampled landmarks: (xy, z, visibility, score)."""
    T = len(xy)
    xy = xy.astype(np.float64).copy()
    z = z.astype(np.float64).copy()
    mid = lambda a, b: 0.5 * (xy[:, a] + xy[:, b])  # noqa: E731
    torso = np.linalg.norm(mid(11, 12) - mid(23, 24), axis=-1)
    size = float(np.median(torso)) if T else 1.0
    # correlated jitter
    sd = size * (noise.jitter + noise.jitter_low_vis * (1 - vis))[..., None]
    e = rng.normal(0, 1, (T, 33, 2))
    rho = noise.jitter_corr
    for t in range(1, T):
        e[t] = rho * e[t - 1] + math.sqrt(1 - rho * rho) * e[t]
    xy += e * sd
    z += e[..., 0] * sd[..., 0] * 2.0
    # outliers
    if noise.outlier_rate > 0:
        m = rng.random((T, 33)) < noise.outlier_rate
        xy[m] += rng.normal(0, noise.outlier_scale * size, (int(m.sum()), 2))
    # left/right swaps
    sw = _runs(rng, T, noise.swap_rate, noise.swap_len)
    if sw.any():
        legs = rng.random() < noise.swap_legs_only
        perm = _LEG_SWAP if legs else _FLIP
        xy[sw] = xy[sw][:, perm]
        z[sw] = z[sw][:, perm]
        vis = vis.copy()
        vis[sw] = vis[sw][:, perm]
    # temporal smoothing lag
    if noise.lag > 0:
        a = noise.lag
        for t in range(1, T):
            xy[t] = (1 - a) * xy[t] + a * xy[t - 1]
            z[t] = (1 - a) * z[t] + a * z[t - 1]
    score = rng.uniform(*noise.score) * np.ones(T) + rng.normal(0, 0.02, T)
    score = np.clip(score, 0.0, 1.0)
    drop = _runs(rng, T, noise.dropout_rate, noise.dropout_len)
    xy[drop] = np.nan
    z[drop] = np.nan
    vis = vis.copy()
    vis[drop] = 0.0
    score[drop] = 0.0
    return xy.astype(np.float32), z.astype(np.float32), vis.astype(np.float32), score.astype(np.float32)


# ----------------------------------------------------------------------------------------------
# plans
# ----------------------------------------------------------------------------------------------
def random_workout(seed: int, movements: list[str] | None = None) -> Workout:
    """A random plan for training data: one to three movements, one to three sets each (1-15 reps,
    double-unders up to 40), rests and transitions between them; a quarter are `plan_workout` WODs."""
    rng = np.random.default_rng([int(seed), 0x6D6F])
    if movements is None and rng.random() < 0.25:
        return plan_workout(int(seed), target_seconds=float(rng.uniform(25, 80)))
    if movements is None:
        k = int(rng.choice([1, 1, 2, 2, 3]))
        movements = [MOVEMENTS[i] for i in rng.permutation(len(MOVEMENTS))[:k]]
    fps = 30.0
    blocks: list = []
    for m in movements:
        blocks.append(("transition", int(rng.uniform(2.5, 5.0) * fps)))
        n_sets = int(rng.choice([1, 1, 2, 3]))
        hi = 40 if m == "double-unders" else 15
        for s in range(n_sets):
            if s:
                blocks.append(("rest", int(rng.uniform(1.5, 6.0) * fps)))
            blocks.append((m, int(rng.integers(1, hi + 1))))
    blocks.append(("rest", int(rng.uniform(1.0, 3.0) * fps)))
    return Workout(seed=int(seed), blocks=blocks, fps=fps, name="random: " + ", ".join(movements))


# ----------------------------------------------------------------------------------------------
# the generator
# ----------------------------------------------------------------------------------------------
def _perturbed_body(body, sd: float, rng):
    if sd <= 0:
        return body
    f = lambda s=1.0: float(np.clip(rng.normal(1.0, sd * s), 1 - 3 * sd * s, 1 + 3 * sd * s))  # noqa: E731
    return dataclasses.replace(
        body, trunk=body.trunk * f(), thigh=body.thigh * f(), shank=body.shank * f(),
        upper_arm=body.upper_arm * f(), forearm=body.forearm * f(), neck=body.neck * f(1.5),
        head_r=body.head_r * f(), sh_w=body.sh_w * f(1.5), hip_w=body.hip_w * f(1.5), foot=body.foot * f())


def motion_track(workout: Workout, seed: int, config: MotionConfig = MotionConfig()) -> MotionTrack:
    """The pose track a pose estimator would give on a video of `workout` (see the module doc)."""
    cfg = config
    rng = np.random.default_rng([int(seed), 0x706F7365])
    sim = simulate(workout, 854, 480, cfg.fps)
    n = sim.n_frames
    if n == 0:
        raise ValueError("the workout has no frames")
    seg = sim.segments
    rep_of = np.full(n, -1, np.int64)
    for i, s in enumerate(seg):
        rep_of[s["start"]:s["end"] + 1] = i
    # no-rep variants
    P = sim.params.copy()
    kinds = cfg.norep_kinds if cfg.norep_kinds is not None else NOREP_KINDS
    partial: dict = {}
    variant = [None] * len(seg)
    for i, s in enumerate(seg):
        allowed = kinds.get(s["label"], ())
        if allowed and cfg.norep_p > 0 and rng.random() < cfg.norep_p:
            kind = str(allowed[rng.integers(len(allowed))])
            # a partial rep's frames continue after the turn into the next rep: only for a set's last rep
            last = i + 1 == len(seg) or seg[i + 1]["label"] != s["label"] or seg[i + 1]["start"] != s["end"] + 1
            if kind == "partial" and not last:
                kind = next(k for k in allowed if k != "partial")
            res = _apply_variant(P, s["start"], s["end"], s["label"], kind, rng)
            if res is not None:
                partial[s["start"]] = res
            variant[i] = kind
    _strict_sets(P, sim.frame_labels, cfg.strict_p, rng)
    body = _perturbed_body(sim.scene.body, cfg.proportions, rng)
    J, heading = fk_world(sim, P, body)
    du = np.array([lb == "double-unders" for lb in sim.frame_labels], bool)
    if du.any():      # lower hops (single-under-like): the jump height of the whole track scaled
        J[du, :, 1] -= (1.0 - rng.uniform(*cfg.du_jump)) * np.maximum(P[du, _P["air"]], 0.0)[:, None]
    L3 = landmarks_3d(J, P, heading, body)
    # time warp -> video frames
    reps_src = [(s["start"], s["end"], s["label"]) for s in seg]
    src = _time_warp(n, rep_of, reps_src, _BOTTOM_X, partial, cfg, rng)
    Lv = _interp_frames(L3, src)
    hv = np.unwrap(heading)
    hv = np.interp(src, np.arange(n), hv)
    srci = np.clip(np.floor(src + 1e-6).astype(int), 0, n - 1)
    rep_v = rep_of[srci]
    nv = len(src)
    lab_v = np.full(nv, NONE, np.int16)
    reps: list = []
    q = quantities_3d(Lv)
    for i, s in enumerate(seg):
        where = np.flatnonzero(rep_v == i)
        if not len(where):
            continue
        a, b = int(where[0]), int(where[-1])
        lab_v[a:b + 1] = MOVEMENTS.index(s["label"])
        ok, reason, checks = judge_3d(s["label"], q, a, b)
        reps.append({"label": s["label"], "start": a, "end": b, "valid": bool(ok), "reason": reason,
                     "checks": checks, "variant": variant[i]})
    facts_extra = {"workout": workout.name}
    return _observe(Lv, lab_v, hv, reps, cfg, rng, facts_extra)


def _observe(Lv, lab_v, hv, reps, cfg: MotionConfig, rng, facts_extra: dict) -> MotionTrack:
    """World landmarks per video frame -> a random camera -> sampled frames -> the pose estimator."""
    nv = len(Lv)
    uv, zpx, tocam, (W, H), facts = _camera(Lv, lab_v, hv, cfg.view, rng)
    k = cfg.noise_scale
    noise = cfg.noise.scaled(math.exp(rng.uniform(math.log(k[0]), math.log(k[1])))) if k != (1.0, 1.0) \
        else cfg.noise
    vis = _visibility(Lv, tocam, uv, W, H, noise, rng)
    if rng.random() < cfg.view.mirror_p:
        uv = uv[:, _FLIP]
        uv[..., 0] = W - uv[..., 0]
        zpx, vis = zpx[:, _FLIP], vis[:, _FLIP]
        facts["mirrored"] = True
    else:
        facts["mirrored"] = False
    off = int(rng.integers(0, cfg.step))
    frames = np.arange(off, nv, cfg.step, dtype=np.int32)
    xy_c = uv[frames].astype(np.float32)
    xy, z, visn, score = corrupt(xy_c, zpx[frames], vis[frames], noise, rng)
    facts["noise"] = dataclasses.asdict(noise)
    facts.update(facts_extra)
    return MotionTrack(frames=frames, xy=xy, z=z, visibility=visn, score=score, labels=lab_v[frames],
                       reps=reps, width=int(W), height=int(H), fps=float(cfg.fps), step=int(cfg.step),
                       n_video_frames=int(nv), xy_clean=xy_c, meta=facts)


# ----------------------------------------------------------------------------------------------
# movements outside the nine ("none"): other exercises and idling, from the figure's own poses
# ----------------------------------------------------------------------------------------------
# Every frame of such a track is labelled NONE; a pose model learns from them that a push-up is not a
# burpee nor a handstand push-up, a lunge or an air squat not a thruster, a swing not a clean.
OTHER_KINDS = ("push-up", "mountain climber", "plank", "lunge", "jumping jack", "kb swing", "air squat", "walk",
               "idle")
_PRONE = ("push-up", "mountain climber", "plank")
_ARMS = {"down": dict(UA=3, FA=8, abdA=8), "hips": dict(UA=-8, FA=8, abdA=42, abdF=-55),
         "forward": dict(UA=88, FA=90, abdA=8), "chest": dict(UA=25, FA=165, abdA=12, abdF=0),
         "overhead": dict(UA=178, FA=180, abdA=20)}


def _pvec(p: dict) -> np.ndarray:
    return np.array([p[k] for k in PARAMS], np.float64)


def _other_def(kind: str, rng):
    """(keys [(phase, pose dict)] of one periodic cycle, cycle seconds (lo, hi), jump height m)."""
    u = rng.uniform
    plank = spose(T=u(95, 101), N=104, TH=-80, SH=-81, FT=0, UA=u(0, 8), FA=4, abdA=u(10, 20), abdL=5)
    if kind == "push-up":
        d = u(0.55, 1.0)
        bot = spose(plank, T=93, N=98, UA=4 - 115 * d, FA=6, abdA=14 + 25 * d, abdF=10)
        return [(0, plank), (0.45, bot), (0.55, bot), (1, plank)], (0.9, 2.2), 0.0
    if kind == "mountain climber":
        th, sh = u(0, 30), u(-100, -80)
        lft = dict(plank, THL=th, SHL=sh, FTL=u(0, 40))
        rgt = dict(plank, THR=th, SHR=sh, FTR=u(0, 40))
        return [(0, plank), (0.25, lft), (0.5, plank), (0.75, rgt), (1, plank)], (0.6, 1.3), 0.0
    if kind == "plank":
        return [(0, plank), (0.5, spose(plank, T=plank["T"] + 3, TH=-78)), (1, plank)], (2.0, 4.0), 0.0
    stand = spose(**_ARMS[str(rng.choice(["down", "down", "hips"]))])
    if kind == "lunge":
        arms = _ARMS[str(rng.choice(["down", "hips", "forward", "overhead"]))]
        front, back = dict(TH=u(70, 92), SH=u(-12, 0), FT=90), dict(TH=u(-30, -10), SH=u(-110, -90), FT=u(10, 40))
        base = spose(stand, T=u(172, 182), N=178, **arms)
        lft = dict(base, THL=front["TH"], SHL=front["SH"], FTL=90, THR=back["TH"], SHR=back["SH"], FTR=back["FT"])
        rgt = dict(base, THR=front["TH"], SHR=front["SH"], FTR=90, THL=back["TH"], SHL=back["SH"], FTL=back["FT"])
        top = spose(stand, **arms)
        return [(0, top), (0.25, lft), (0.5, top), (0.75, rgt), (1, top)], (2.4, 4.4), 0.0
    if kind == "jumping jack":
        a = u(130, 175)
        closed = spose(UA=0, FA=0, abdA=u(4, 12), abdL=4)
        opened = spose(UA=0, FA=0, abdA=a, abdF=a + u(0, 10), abdL=u(12, 20))
        return [(0, closed), (0.5, opened), (1, closed)], (0.7, 1.2), u(0.03, 0.12)
    if kind == "kb swing":
        ua = u(160, 182) if rng.random() < 0.5 else u(70, 100)
        hinge = spose(T=u(118, 135), N=145, TH=u(18, 36), SH=u(-14, -6), UA=-25, FA=-30, abdA=6)
        top = spose(T=184, N=182, TH=-2, SH=0, UA=ua, FA=ua + 3, abdA=8)
        return [(0, hinge), (0.5, top), (1, hinge)], (1.0, 1.7), 0.0
    if kind == "air squat":
        # not the front rack: a squat with the hands at the shoulders is the thruster's own squat
        arms = _ARMS[str(rng.choice(["forward", "forward", "hips", "down"]))]
        bot = spose(T=u(138, 156), N=165, TH=u(92, 110), SH=u(-38, -26), FT=90, abdL=u(8, 18), **arms)
        top = spose(stand, **(arms if rng.random() < 0.5 else {}))
        return [(0, top), (0.5, bot), (1, top)], (1.0, 2.2), 0.0
    if kind == "walk":
        a = dict(THL=22, SHL=-8, THR=-15, SHR=-35, FTL=95, FTR=60, UAL=-18, UAR=18, FAL=-10, FAR=30)
        b = {k[:-1] + ("R" if k[-1] == "L" else "L"): v for k, v in a.items()}
        return [(0, spose(**a)), (0.5, spose(**b)), (1, spose(**a))], (0.9, 1.25), 0.0
    raise ValueError(kind)


def _cyclic(keys, x: np.ndarray) -> np.ndarray:
    """Periodic Catmull-Rom through keyframes [(phase, pose)] (first == last) at phases x (n,)."""
    kt = np.array([k for k, _ in keys], np.float64)
    kv = np.stack([_pvec(p) for _, p in keys])
    K = len(kt) - 1
    x = np.mod(x, 1.0)
    i = np.clip(np.searchsorted(kt, x, side="right") - 1, 0, K - 1)
    t = ((x - kt[i]) / (kt[i + 1] - kt[i]))[:, None]
    p0, p1, p2, p3 = kv[(i - 1) % K], kv[i], kv[i + 1], kv[(i + 2) % K]
    return 0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t * t
                  + (3 * p1 - p0 - 3 * p2 + p3) * t * t * t)


def _idle(n: int, prone: bool, rng) -> np.ndarray:
    """Params (n, NP) of standing about (or holding a plank): random held poses, smooth changes."""
    if prone:
        keys, _, _ = _other_def("plank", rng)
        return _cyclic(keys, np.arange(n) / (rng.uniform(2.0, 4.0) * 30.0))
    poses = [spose(), IDLE_HIPS, IDLE_ARMS, IDLE_LOOK, IDLE_KNEES, spose(UA=40, FA=150, abdA=10, abdF=-20)]
    out = np.zeros((n, len(PARAMS)))
    t, cur = 0, _pvec(poses[rng.integers(len(poses))])
    while t < n:
        hold, move = int(rng.uniform(0.5, 2.5) * 30), int(rng.uniform(0.4, 1.0) * 30)
        nxt = _pvec(poses[rng.integers(len(poses))])
        w = np.clip(np.arange(hold + move) - hold, 0, move) / max(move, 1)
        w = (w * w * (3 - 2 * w))[:, None]
        seg = cur + w * (nxt - cur)
        out[t:t + len(seg)] = seg[:n - t]
        t += len(seg)
        cur = nxt
    return out


def _prone_pivot(J: np.ndarray) -> np.ndarray:
    """Body-frame joints tilted about the hands so that the supporting toes are as low as the hands."""
    g = J[:, [10, 11]].mean(1)
    sup = np.where(J[:, 22, 2] < J[:, 23, 2], 22, 23)          # the foot further back supports
    v = J[np.arange(len(J)), sup] - g
    a = np.arctan(v[:, 1] / np.where(np.abs(v[:, 2]) > 1e-6, v[:, 2], -1e-6))
    c, s = np.cos(a)[:, None], np.sin(a)[:, None]
    r = J - g[:, None]
    out = r.copy()
    out[..., 1] = r[..., 1] * c - r[..., 2] * s
    out[..., 2] = r[..., 1] * s + r[..., 2] * c
    return out + g[:, None]


def other_track(seed: int, config: MotionConfig = MotionConfig(), kinds: tuple | None = None) -> MotionTrack:
    """A track of movements outside the nine (`OTHER_KINDS`: sets of one or two of them with idling
    between), every frame NONE; the same camera and pose-estimator model as `motion_track`."""
    cfg = config
    rng = np.random.default_rng([int(seed), 0x6F746872])
    fps = cfg.fps
    if kinds is None:
        prone = rng.random() < 0.35
        fam = _PRONE if prone else tuple(k for k in OTHER_KINDS if k not in _PRONE and k != "idle")
        kinds = tuple(str(k) for k in rng.choice(fam, size=int(rng.integers(1, 3)), replace=False))
    kinds = tuple(kinds)
    prone = any(k in _PRONE for k in kinds)
    sim = simulate(Workout(seed=int(seed), blocks=[("rest", 4)], fps=fps), 854, 480, fps)
    body = _perturbed_body(sim.scene.body, cfg.proportions, rng)
    parts, air, walk = [], [], []
    parts.append(_idle(int(rng.uniform(0.5, 2.0) * fps), prone, rng))
    for j in range(int(rng.integers(1, 4))):
        kind = kinds[j % len(kinds)] if kinds != ("idle",) else "idle"
        if kind == "idle":
            parts.append(_idle(int(rng.uniform(4, 10) * fps), prone, rng))
        else:
            keys, (lo, hi), h = _other_def(kind, rng)
            cyc = rng.uniform(lo, hi) * fps
            n_cyc = rng.uniform(4, 10) * fps / cyc if kind == "walk" else int(rng.integers(3, 13)) / (
                2 if kind in ("lunge", "mountain climber") else 1)
            n = max(8, int(n_cyc * cyc))
            rate = (1.0 + 0.06 * _box_mean(rng.normal(0, 1, n), int(cyc) + 1) * 3) / cyc
            x = np.cumsum(rate) - rate[0]
            parts.append(_cyclic(keys, x))
            if h > 0:
                air.append((sum(len(p) for p in parts[:-1]), h * np.abs(np.sin(2 * np.pi * x))))
            if kind == "walk":
                walk.append((sum(len(p) for p in parts[:-1]), n, 1.35 / cyc * rng.uniform(0.8, 1.2)))
        parts.append(_idle(int(rng.uniform(1.0, 4.0) * fps), prone, rng))
    P = np.concatenate(parts)
    n = len(P)
    b = 0
    for p in parts[:-1]:            # cross-fade the joins
        b += len(p)
        lo, hi = max(0, b - 6), min(n - 1, b + 6)
        w = ((np.arange(lo, hi + 1) - lo) / max(hi - lo, 1))[:, None]
        P[lo:hi + 1] = P[lo] + w * (P[hi] - P[lo])
    h0 = rng.uniform(-np.pi, np.pi)
    heading = np.full(n, h0)
    pos = np.zeros(n)
    for a, m, v in walk:            # back and forth over a few metres, turning at the ends
        L = rng.uniform(1.5, 4.0)
        s = np.arange(m) * v
        tri = np.abs(np.mod(s, 2 * L) - L)
        pos[a:a + m] = L - tri
        back = np.mod(s, 2 * L) >= L
        heading[a:a + m] = h0 + np.pi * _box_mean(back.astype(float), 15)
        pos[a + m:] = pos[a + m - 1]
    Jb = body_joints(P, body)[0]
    if prone:
        Jb = _prone_pivot(Jb)
    J = rotate_y(Jb, heading)
    lift = np.zeros(n)
    for a, h in air:
        lift[a:a + len(h)] += h[:n - a]
    if prone:
        ref = J[:, [10, 11]].mean(1)
        low = J[:, [10, 11, 22, 23, 16, 17, 3, 2]][..., 1].min(1) - 0.03
    else:
        ref = J[:, [20, 21, 22, 23]].mean(1)
        ref = _box_mean(ref, 31)
        low = J[:, [20, 21, 22, 23, 16, 17, 10, 11, 2]][..., 1].min(1) - 0.03
    fwd = np.stack([np.sin(h0) * pos, np.zeros(n), np.cos(h0) * pos], -1)
    root = fwd - ref * [1, 0, 1] - low[:, None] * [0, 1, 0] + lift[:, None] * [0, 1, 0]
    J = J + root[:, None]
    L3 = landmarks_3d(J, P, heading, body)
    lab = np.full(n, NONE, np.int16)
    return _observe(L3, lab, heading, [], cfg, rng, {"workout": "other: " + ", ".join(kinds), "other": list(kinds)})


def _one(args):
    seed, cfg, workout = args
    if workout == "other":
        return other_track(seed, cfg)
    w = workout if workout is not None else random_workout(seed)
    return motion_track(w, seed, cfg)


def generate_tracks(seeds, config: MotionConfig = MotionConfig(), workers: int = 1, workouts: list | None = None,
                    progress: Progress | None = None, cancel=None) -> list[MotionTrack]:
    """One track per seed (of `random_workout(seed)`, or of `workouts[i]`; the string "other" there:
    `other_track(seed)`), in order; `workers` > 1 runs them in spawned processes."""
    seeds = [int(s) for s in seeds]
    jobs = [(s, config, workouts[i] if workouts is not None else None) for i, s in enumerate(seeds)]
    out: list = []
    total = len(jobs)
    if workers <= 1 or total < 4:
        for j in jobs:
            check_cancel(cancel, "Generating synthetic pose tracks")
            out.append(_one(j))
            report(progress, len(out), total, "synthetic pose tracks")
        return out
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    with ctx.Pool(int(workers)) as pool:
        for t in pool.imap(_one, jobs, chunksize=max(1, min(16, total // (4 * workers)))):
            out.append(t)
            report(progress, len(out), total, "synthetic pose tracks")
            if len(out) % 8 == 0:
                try:
                    check_cancel(cancel, "Generating synthetic pose tracks")
                except BaseException:
                    pool.terminate()
                    raise
    return out


def rep_durations_30fps() -> dict:
    """MOVEMENTS.md's rep timing (frames at 30 fps: mean, sd) per movement."""
    return dict(REP_FRAMES_30FPS)
