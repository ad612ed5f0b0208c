"""Synthetic CrossFit workout videos with exact ground-truth rep segments.

An articulated 3D figure (pelvis, trunk, neck, head, shoulders, elbows, wrists, hips, knees, ankles,
heels, toes) is posed every frame from keyframed joint trajectories, one set per movement
(``MOVEMENTS.md``: one rep, start -> end, the end pose of a rep is the start pose of the next), placed
in a small gym with props (barbell with bumper plates, pull-up rig, jump rope, GHD, wall and mat),
projected through a pinhole camera and drawn with OpenCV as solid shapes in painter's order.
Workouts chain movements like a real WOD (rounds, rep schemes, rests and walks between stations,
all unlabelled) and are encoded to H.264 with PyAV.

Pose parameters are *sagittal segment angles* in degrees, measured in the athlete's heading frame
from straight down (0) towards the front (90; straight up is 180): trunk ``T`` (pelvis -> neck),
head ``N``, thigh ``TH*``, shank ``SH*``, foot ``FT*``, upper arm ``UA*`` and forearm ``FA*`` (L/R),
plus lateral tilts (``abdA`` arms, ``abdF`` forearms, ``abdL`` legs). A joint angle is the difference
of two adjacent segment angles (knee flexion = TH - SH, hip flexion = TH - T + 180, elbow = FA - UA),
so interpolating segment angles is the same as interpolating joint angles; ``joint_angles`` converts.
``air``/``fwd``/``side``/``turn`` move the whole body (jump height, forward/lateral offset in metres,
turn in degrees). Keyframes are interpolated with a monotone cubic (no overshoot) over a rep phase 0..1.

Public API::

    plan_workout(seed, movements=None, fps=30, target_seconds=60) -> Workout
    render_workout(workout, path, width=854, height=480, fps=30, progress=None) -> segments
    render_reps(label, n_reps, path, seed, width=854, height=480, fps=30) -> segments
    demo_plans(seed=0, n_videos=12, target_seconds=None) -> list[Workout]
    simulate(workout, width, height, fps) -> Simulation   # per-frame 2D/3D keypoints, bar, no pixels
    simulate_reps(label, n_reps, seed, ...) -> Simulation

Segments are ``{"label", "start", "end"}`` with 0-based inclusive frame indices, in order, non-overlapping.
Same seed -> same plan, same segments and the same pixels (x264 runs with a fixed thread count, so
with the same library versions the mp4 bytes are identical too).

CLI: ``python -m core.demo.synthetic OUT.mp4 --movement thruster --reps 5`` or ``--workout --seed N``;
``--preview DIR`` writes PNG frames of every movement.
"""
from __future__ import annotations

import argparse
import functools
import math
import os
import sys
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from core.base.labels import DEFAULT_MOVEMENTS, REP_FRAMES_30FPS

__all__ = [
    "Workout", "Simulation", "plan_workout", "render_workout", "render_reps", "demo_plans",
    "simulate", "simulate_reps", "rep_frame_bounds", "joint_angles", "JOINTS", "PARAMS", "STATION_OF",
]

# ----------------------------------------------------------------------------------------------
# pose parameters and skeleton
# ----------------------------------------------------------------------------------------------
PARAMS = ("T", "N", "THL", "THR", "SHL", "SHR", "FTL", "FTR", "UAL", "UAR", "FAL", "FAR",
          "abdA", "abdF", "abdL", "WR", "air", "fwd", "side", "turn")
PI = {n: i for i, n in enumerate(PARAMS)}
NP = len(PARAMS)

JOINTS = ("pelvis", "neck", "head", "chest",
          "shoulder_l", "shoulder_r", "elbow_l", "elbow_r", "wrist_l", "wrist_r", "grip_l", "grip_r",
          "hand_l", "hand_r", "hip_l", "hip_r", "knee_l", "knee_r", "ankle_l", "ankle_r",
          "heel_l", "heel_r", "toe_l", "toe_r")
JI = {n: i for i, n in enumerate(JOINTS)}
NJ = len(JOINTS)
_SH, _EL, _WR, _GR, _TIP, _HIP, _KN, _AN, _HEEL, _TOE = 4, 6, 8, 10, 12, 14, 16, 18, 20, 22

_NEUTRAL = dict(T=180.0, N=180.0, THL=0.0, THR=0.0, SHL=0.0, SHR=0.0, FTL=90.0, FTR=90.0,
                UAL=3.0, UAR=3.0, FAL=8.0, FAR=8.0, abdA=8.0, abdF=8.0, abdL=4.0, WR=0.0,
                air=0.0, fwd=0.0, side=0.0, turn=0.0)


def pose(base: dict | None = None, **kw) -> dict:
    """A pose dict from a base (default: standing) with overrides; TH/SH/FT/UA/FA set both sides."""
    p = dict(_NEUTRAL if base is None else base)
    for k, v in kw.items():
        if k in ("TH", "SH", "FT", "UA", "FA"):
            p[k + "L"] = p[k + "R"] = float(v)
        else:
            p[k] = float(v)
    if "abdA" in kw and "abdF" not in kw:
        p["abdF"] = p["abdA"]
    return p


def _vec(p: dict) -> np.ndarray:
    return np.array([p[k] for k in PARAMS], dtype=np.float64)


def joint_angles(params: np.ndarray) -> dict:
    """Anatomical joint angles (degrees) from pose parameters (..., NP): flexion is positive."""
    g = lambda k: params[..., PI[k]]  # noqa: E731
    out = {"trunk_lean": 180.0 - g("T"), "neck": g("N") - g("T")}
    for s in "LR":
        k = s.lower()
        out[f"hip_{k}"] = g("TH" + s) - g("T") + 180.0
        out[f"knee_{k}"] = g("TH" + s) - g("SH" + s)
        out[f"ankle_{k}"] = g("FT" + s) - g("SH" + s) - 90.0
        out[f"shoulder_{k}"] = g("UA" + s) - g("T") + 180.0
        out[f"elbow_{k}"] = g("FA" + s) - g("UA" + s)
    out["wrist"] = g("WR")
    return out


@dataclass
class Body:
    height: float
    thigh: float
    shank: float
    ankle_h: float
    foot: float
    trunk: float
    neck: float
    head_r: float
    upper_arm: float
    forearm: float
    hand: float
    hip_w: float
    sh_w: float
    r_thigh: float
    r_shank: float
    r_ua: float
    r_fa: float
    r_neck: float
    r_foot: float
    r_hand: float
    chest_w: float
    waist_w: float
    torso_d: float
    pelvis_w: float
    pelvis_d: float
    skin: tuple
    shirt: tuple
    shorts: tuple
    shoes: tuple
    hair: tuple
    socks: tuple
    sleeves: float  # 0 = tank/none, else fraction of the upper arm covered
    shirtless: bool
    shorts_len: float  # fraction of the thigh covered
    long_hair: bool


_SKINS = [(255, 224, 189), (241, 194, 150), (224, 172, 125), (198, 140, 95), (160, 106, 66),
          (120, 80, 50), (90, 60, 40), (234, 192, 160)]
_HAIRS = [(25, 20, 18), (60, 40, 25), (110, 75, 40), (200, 165, 100), (140, 60, 30), (120, 120, 120)]


def _hsv(h, s, v):
    c = cv2.cvtColor(np.uint8([[[int(h) % 180, int(s), int(v)]]]), cv2.COLOR_HSV2RGB)[0, 0]
    return tuple(int(x) for x in c)


def _make_body(rng: np.random.Generator, muted: bool = False) -> Body:
    H = rng.uniform(1.58, 1.93)
    build = rng.uniform(0.88, 1.22)
    leg = rng.uniform(0.96, 1.04)
    arm = rng.uniform(0.96, 1.04)
    sat = (0.25, 0.6) if muted else (0.35, 0.95)

    def col(vmin=60, vmax=235):
        return _hsv(rng.uniform(0, 180), rng.uniform(*sat) * 255, rng.uniform(vmin, vmax))

    dark = [(30, 30, 34), (45, 48, 60), (20, 28, 60), (70, 70, 74), (15, 15, 15)]
    shorts = dark[rng.integers(len(dark))] if rng.random() < 0.6 else col(50, 200)
    shoes = [(240, 240, 240), (25, 25, 25), (200, 40, 40), (40, 90, 200), (250, 200, 40)][rng.integers(5)]
    shirtless = (not muted) and rng.random() < 0.15
    skin = _SKINS[rng.integers(len(_SKINS))]
    return Body(
        height=H, thigh=0.245 * H * leg, shank=0.246 * H * leg, ankle_h=0.039 * H, foot=0.15 * H,
        trunk=0.30 * H, neck=0.05 * H, head_r=0.066 * H, upper_arm=0.172 * H * arm,
        forearm=0.157 * H * arm, hand=0.065 * H, hip_w=0.052 * H, sh_w=0.105 * H * rng.uniform(0.95, 1.08),
        r_thigh=0.040 * H * build, r_shank=0.030 * H * build, r_ua=0.026 * H * build,
        r_fa=0.021 * H * build, r_neck=0.030 * H * build, r_foot=0.022 * H, r_hand=0.022 * H,
        chest_w=0.115 * H * rng.uniform(0.95, 1.1) * (0.5 + 0.5 * build), waist_w=0.085 * H * build ** 0.5,
        torso_d=0.065 * H * build ** 0.7, pelvis_w=0.095 * H * build ** 0.4, pelvis_d=0.062 * H * build ** 0.6,
        skin=skin, shirt=skin if shirtless else col(), shorts=shorts, shoes=shoes,
        hair=_HAIRS[rng.integers(len(_HAIRS))], socks=(235, 235, 235) if rng.random() < 0.6 else (30, 30, 30),
        sleeves=0.0 if (shirtless or rng.random() < 0.45) else rng.uniform(0.35, 0.6),
        shirtless=shirtless, shorts_len=rng.uniform(0.3, 0.55) if rng.random() < 0.75 else rng.uniform(0.8, 1.05),
        long_hair=rng.random() < 0.35,
    )


def sagittal_dir(a: np.ndarray, lat, s: float) -> np.ndarray:
    """Unit vectors of segment angles `a` (from straight down towards the front) tilted sideways by `lat`."""
    cl = np.cos(lat)
    return np.stack([s * np.sin(lat) * np.ones_like(a), -np.cos(a) * cl, np.sin(a) * cl], -1)


def body_joints(params: np.ndarray, b: Body):
    """Joint positions (n, NJ, 3) in the body frame (pelvis at the origin, facing +z, y up) and
    directions (n, 3, 3): trunk axis, chest front, face front."""
    r = np.radians(params)
    n = len(params)
    g = lambda k: r[:, PI[k]]  # noqa: E731
    zero = np.zeros(n)
    J = np.zeros((n, NJ, 3))
    T = g("T")
    u = sagittal_dir(T, zero, 1.0)
    fr = sagittal_dir(T - np.pi / 2, zero, 1.0)
    J[:, 1] = b.trunk * u
    J[:, 3] = 0.62 * b.trunk * u + 0.4 * b.torso_d * fr
    hd = sagittal_dir(g("N"), zero, 1.0)
    hf = sagittal_dir(g("N") - np.pi / 2, zero, 1.0)
    J[:, 2] = J[:, 1] + (b.neck + b.head_r) * hd
    X = np.array([1.0, 0.0, 0.0])
    toe_out = np.full(n, 0.15)
    for k, (s, sd) in enumerate(((1.0, "L"), (-1.0, "R"))):
        sh = 0.93 * b.trunk * u + s * b.sh_w * X
        uad = sagittal_dir(g("UA" + sd), g("abdA"), s)
        fad = sagittal_dir(g("FA" + sd), g("abdF"), s)
        had = sagittal_dir(g("FA" + sd) + g("WR"), g("abdF"), s)
        el = sh + b.upper_arm * uad
        wr = el + b.forearm * fad
        J[:, _SH + k] = sh
        J[:, _EL + k] = el
        J[:, _WR + k] = wr
        J[:, _GR + k] = wr + 0.45 * b.hand * had
        J[:, _TIP + k] = wr + b.hand * had
        hip = np.broadcast_to(s * b.hip_w * X, (n, 3))
        kn = hip + b.thigh * sagittal_dir(g("TH" + sd), g("abdL"), s)
        an = kn + b.shank * sagittal_dir(g("SH" + sd), 0.5 * g("abdL"), s)
        ftd = sagittal_dir(g("FT" + sd), toe_out, s)
        sole = sagittal_dir(g("FT" + sd) - np.pi / 2, zero, 1.0)
        J[:, _HIP + k] = hip
        J[:, _KN + k] = kn
        J[:, _AN + k] = an
        J[:, _HEEL + k] = an + sole * b.ankle_h * 0.55 - ftd * b.foot * 0.22
        J[:, _TOE + k] = an + sole * b.ankle_h * 0.35 + ftd * b.foot * 0.75
    D = np.stack([u, fr, hf], 1)
    return J, D


def rotate_y(v: np.ndarray, h) -> np.ndarray:
    """Rotate vectors (n, ..., 3) about +y by heading h (n,) radians (0 faces +z)."""
    h = np.asarray(h, dtype=np.float64)
    c, s = np.cos(h), np.sin(h)
    while c.ndim < v.ndim - 1:
        c, s = c[..., None], s[..., None]
    out = np.empty_like(v)
    out[..., 0] = v[..., 0] * c + v[..., 2] * s
    out[..., 1] = v[..., 1]
    out[..., 2] = -v[..., 0] * s + v[..., 2] * c
    return out


def _ground_pts(b: Body):
    idx = [_HEEL, _HEEL + 1, _TOE, _TOE + 1, _KN, _KN + 1, _TIP, _TIP + 1, _GR, _GR + 1, 2, 0, 3,
           _EL, _EL + 1, 1]
    rad = [b.r_foot] * 4 + [b.r_shank] * 2 + [b.r_hand] * 4 + [b.head_r, b.r_thigh * 1.6, b.torso_d * 0.9,
                                                               b.r_ua, b.r_ua, b.r_neck]
    return np.array(idx), np.array(rad)


def _place(mode: str, Jr: np.ndarray, target: np.ndarray, air: np.ndarray, b: Body) -> np.ndarray:
    """Root (pelvis) positions (n, 3) that put the anchor of `mode` on `target` (n, 3)."""
    n = len(Jr)
    root = np.zeros((n, 3))
    if mode in ("feet", "hands"):
        if mode == "feet":
            a = Jr[:, [_HEEL, _HEEL + 1, _TOE, _TOE + 1]].mean(1)
        else:
            a = Jr[:, [_GR, _GR + 1]].mean(1)
        idx, rad = _ground_pts(b)
        low = (Jr[:, idx, 1] - rad).min(1)
        root[:, 0] = target[:, 0] - a[:, 0]
        root[:, 2] = target[:, 2] - a[:, 2]
        root[:, 1] = air - low
    elif mode == "hang":
        root = target - Jr[:, [_GR, _GR + 1]].mean(1)
    elif mode == "pelvis":
        root = target.copy()
    else:
        raise ValueError(mode)
    return root


def _anchor_point(mode: str, Jw: np.ndarray) -> np.ndarray:
    if mode == "feet":
        p = Jw[:, [_HEEL, _HEEL + 1, _TOE, _TOE + 1]].mean(1)
        p[:, 1] = 0.0
    elif mode == "hands":
        p = Jw[:, [_GR, _GR + 1]].mean(1)
        p[:, 1] = 0.0
    elif mode == "hang":
        p = Jw[:, [_GR, _GR + 1]].mean(1)
    else:
        p = Jw[:, 0].copy()
    return p


# ----------------------------------------------------------------------------------------------
# interpolation
# ----------------------------------------------------------------------------------------------
def _interp(kt: np.ndarray, kv: np.ndarray, x: np.ndarray, periodic: bool) -> np.ndarray:
    """Monotone cubic Hermite (Fritsch-Carlson) through keyframes kt (K,), kv (K, P) at x (m,)."""
    K = len(kt)
    if K == 1:
        return np.repeat(kv[:1], len(x), 0)
    h = np.diff(kt)
    d = np.diff(kv, axis=0) / h[:, None]

    def slope(d0, d1, h0, h1):
        w1, w2 = 2 * h1 + h0, h1 + 2 * h0
        with np.errstate(divide="ignore", invalid="ignore"):
            m = (w1 + w2) / (w1 / d0 + w2 / d1)
        return np.where(d0 * d1 > 0, m, 0.0)

    m = np.zeros_like(kv)
    for k in range(1, K - 1):
        m[k] = slope(d[k - 1], d[k], h[k - 1], h[k])
    if periodic:
        m[0] = m[-1] = slope(d[-1], d[0], h[-1], h[0])
    x = np.clip(np.asarray(x, dtype=np.float64), kt[0], kt[-1])
    i = np.clip(np.searchsorted(kt, x, side="right") - 1, 0, K - 2)
    t = ((x - kt[i]) / h[i])[:, None]
    hh = h[i][:, None]
    t2, t3 = t * t, t * t * t
    return ((2 * t3 - 3 * t2 + 1) * kv[i] + (t3 - 2 * t2 + t) * hh * m[i]
            + (-2 * t3 + 3 * t2) * kv[i + 1] + (t3 - t2) * hh * m[i + 1])


def _smooth(w):
    w = np.clip(w, 0.0, 1.0)
    return w * w * (3 - 2 * w)


# ----------------------------------------------------------------------------------------------
# segments of the timeline
# ----------------------------------------------------------------------------------------------
@dataclass
class Seg:
    """A stretch of frames posed by keyframes; the anchor pins the figure to the world."""
    n: int
    kt: np.ndarray
    kv: np.ndarray
    heading: float
    A: tuple                       # (mode, target (3,)) or (mode, callable(x) -> (m, 3))
    B: tuple | None = None         # (mode, target (3,)) or (mode, ("cont", t)) resolved from A at t
    wb: tuple = ()                 # ((t, w), ...) weight of anchor B, piecewise linear then smoothed
    periodic: bool = False
    label: str | None = None
    mod: Callable | None = None    # mod(x, params) adjusts params in place (jumps, breathing, walking)
    bar: tuple = ()                # events: ("grab", t) | ("release", t) | ("drop", t)
    rope: tuple = ()               # ("hold", t) | ("drop", t) | ("theta", callable(x) -> radians)
    kind: str = "pose"


def _keys(frames: list[tuple[float, dict]]) -> tuple[np.ndarray, np.ndarray]:
    kt = np.array([f[0] for f in frames], dtype=np.float64)
    kv = np.stack([_vec(f[1]) for f in frames])
    return kt, kv


def _seg_params(seg: Seg, x: np.ndarray) -> np.ndarray:
    p = _interp(seg.kt, seg.kv, x, seg.periodic)
    if seg.mod is not None:
        seg.mod(x, p)
    return p


def _target(spec, x: np.ndarray) -> np.ndarray:
    if callable(spec):
        return spec(x)
    return np.repeat(np.asarray(spec, dtype=np.float64)[None], len(x), 0)


def _realize(seg: Seg, b: Body, x: np.ndarray):
    """Params, heading, world joints (m, NJ, 3) and directions at phases x."""
    x = np.asarray(x, dtype=np.float64)
    p = _seg_params(seg, x)
    heading = seg.heading + np.radians(p[:, PI["turn"]])
    J, D = body_joints(p, b)
    Jr = rotate_y(J, heading)
    Dr = rotate_y(D, heading)
    off = rotate_y(np.stack([p[:, PI["side"]], np.zeros(len(x)), p[:, PI["fwd"]]], -1), np.full(len(x), seg.heading))
    air = p[:, PI["air"]]
    root = _place(seg.A[0], Jr, _target(seg.A[1], x) + off, air, b)
    if seg.B is not None:
        tb = seg.B[1]
        if isinstance(tb, tuple) and tb and tb[0] == "cont":
            tb = _resolve_cont(seg, b, tb[1])
            seg.B = (seg.B[0], tb)
        w = _smooth(np.interp(x, [t for t, _ in seg.wb], [v for _, v in seg.wb]))
        rootB = _place(seg.B[0], Jr, _target(tb, x) + off, air, b)
        root = root + w[:, None] * (rootB - root)
    return p, heading, Jr + root[:, None, :], Dr


def _resolve_cont(seg: Seg, b: Body, t: float) -> np.ndarray:
    saved = seg.B
    seg.B = None
    _, _, Jw, _ = _realize(seg, b, np.array([t]))
    seg.B = saved
    return _anchor_point(saved[0], Jw)[0]


# ----------------------------------------------------------------------------------------------
# movement library: keyframes in sagittal segment angles (see the module doc)
# ----------------------------------------------------------------------------------------------
STATION_OF = {"bar-facing burpee": "bar", "deadlift": "bar", "ohs": "bar", "power clean": "bar",
              "thruster": "bar", "chest-to-bar": "rig", "ghd": "ghd", "shspu": "wall", "double-unders": "rope"}
_BAR_LIFTS = ("deadlift", "ohs", "power clean", "thruster")

STAND = pose()
FLOOR = pose(T=118, N=150, TH=68, SH=-26, UA=1, FA=1, abdA=9, abdL=7)
HANG_BAR = pose(T=176, N=178, TH=6, SH=-3, UA=4, FA=4, abdA=9, abdL=7)
RACK = pose(T=180, N=180, UA=65, FA=218, WR=120, abdA=16, abdF=2, abdL=11)
OVER_N = pose(T=182, TH=-2, FT=84, UA=180, FA=180, abdA=17, abdF=17, abdL=11)

DL_MID = pose(T=142, N=160, TH=36, SH=-8, UA=2, FA=2, abdA=9, abdL=7)
DL_TOP = pose(T=183, N=182, TH=-2, SH=0, UA=6, FA=6, abdA=9, abdL=7)

OHS_TOP = pose(T=180, UA=180, FA=180, abdA=40, abdL=13)
OHS_MID = pose(T=166, N=174, TH=55, SH=-20, UA=182, FA=182, abdA=40, abdL=14)
OHS_BOT = pose(T=158, N=170, TH=104, SH=-35, UA=185, FA=185, abdA=40, abdL=16)

TH_BOT = pose(T=150, N=166, TH=104, SH=-34, UA=48, FA=200, WR=120, abdA=18, abdF=2, abdL=13)
TH_DRIVE = pose(T=170, N=178, TH=45, SH=-16, UA=85, FA=205, WR=80, abdA=15, abdF=6, abdL=12)
TH_PRESS = pose(T=181, TH=2, SH=0, FT=82, UA=150, FA=172, WR=15, abdA=16, abdF=14, abdL=11)
TH_RETURN = pose(T=178, TH=10, SH=-6, UA=105, FA=210, WR=60, abdA=16, abdF=6, abdL=11)

PC_KNEE = pose(T=138, N=158, TH=38, SH=-6, UA=1, FA=1, abdA=9, abdL=7)
PC_THIGH = pose(T=160, N=170, TH=24, SH=-17, UA=-4, FA=-4, abdA=9, abdL=7)
PC_EXT = pose(T=194, N=186, TH=-8, SH=-2, FT=45, UA=-8, FA=-8, abdA=10, abdL=7, air=0.02)
PC_PULL = pose(T=183, N=182, TH=22, SH=-10, FT=70, UA=-15, FA=120, WR=40, abdA=55, abdF=5, abdL=9, air=0.05)
PC_CATCH = pose(T=164, N=176, TH=60, SH=-27, UA=55, FA=206, WR=120, abdA=16, abdF=2, abdL=13)
PC_LOWER = pose(T=178, UA=35, FA=115, WR=30, abdA=12, abdF=8, abdL=11)

B_SQ = pose(T=128, N=140, TH=110, SH=-38, UA=22, FA=18, abdA=12)
B_PLANK = pose(T=96, N=100, TH=-80, SH=-82, FT=-2, UA=2, FA=2, abdA=14, abdL=6)
B_CHEST = pose(T=90, N=96, TH=-88, SH=-90, FT=-6, UA=-140, FA=12, abdA=32, abdF=10, abdL=6)
B_DIP = pose(T=156, N=170, TH=52, SH=-30, UA=-35, FA=-28, abdA=10)

C_HANG = pose(T=180, TH=4, SH=-4, FT=60, UA=180, FA=180, abdA=24)
C_ARCH = pose(T=166, N=170, TH=-22, SH=-30, FT=50, UA=192, FA=192, abdA=24)
C_HOLLOW = pose(T=198, N=192, TH=38, SH=28, FT=110, UA=166, FA=166, abdA=24)
C_TOP = pose(T=204, N=192, TH=30, SH=20, FT=105, UA=20, FA=176, abdA=62, abdF=-4)
C_PUSH = pose(T=186, N=182, TH=14, SH=6, FT=92, UA=172, FA=172, abdA=26)

G_LEGS = dict(THL=82.0, THR=82.0, SHL=62.0, SHR=62.0, FTL=150.0, FTR=150.0, abdL=6.0)
G_TOUCH = pose(pose(**G_LEGS), T=128, N=140, UA=84, FA=76, abdA=12)
G_SEAT = pose(pose(**G_LEGS), T=178, UA=150, FA=165, abdA=14)
G_MID = pose(pose(**G_LEGS), T=235, N=228, UA=222, FA=226, abdA=14)
G_BOT = pose(pose(**G_LEGS), T=298, N=300, UA=330, FA=334, abdA=16)
G_UP = pose(pose(**G_LEGS), T=238, N=232, UA=252, FA=250, abdA=14)
G_UP2 = pose(pose(**G_LEGS), T=178, N=176, UA=120, FA=112, abdA=12)

S_LOCK = pose(T=-8, N=-12, TH=-187, SH=-186, FT=-172, UA=2, FA=0, abdA=22, abdL=4)
S_BOT = pose(T=-16, N=-25, TH=-188, SH=-187, FT=-172, UA=88, FA=2, abdA=32, abdF=10, abdL=4)
S_BEND = pose(T=62, N=50, TH=6, SH=-2, UA=2, FA=0, abdA=16)

DU_READY = pose(T=178, N=182, TH=6, SH=-4, FT=78, UA=16, FA=72, abdA=24, abdF=20, abdL=4)
CROUCH = pose(T=128, N=150, TH=80, SH=-30, UA=12, FA=8, abdA=14, abdL=8)

IDLE_HIPS = pose(UA=-8, FA=8, abdA=42, abdF=-55)
IDLE_KNEES = pose(T=132, N=150, TH=34, SH=-12, UA=38, FA=26, abdA=10)
IDLE_ARMS = pose(UA=10, FA=30, abdA=20, abdL=8)
IDLE_LOOK = pose(N=196, UA=0, FA=2, abdA=6, abdL=9)

# Style noise: which parameters get per-video / per-rep jitter (degrees); jumps and offsets are not jittered.
_JITTER = np.array([3.0, 4.0, 3.0, 3.0, 3.0, 3.0, 2.0, 2.0, 3.0, 3.0, 3.0, 3.0, 2.0, 2.0, 1.5, 2.0, 0, 0, 0, 0])


def _du_mod(h):
    def mod(x, p):
        p[:, PI["air"]] = h * np.clip(1 - ((x - 0.5) / 0.39) ** 2, 0, None)
        w = 14 * np.sin(4 * np.pi * x)
        p[:, PI["FAL"]] += w
        p[:, PI["FAR"]] += w
        p[:, PI["UAL"]] += 0.3 * w
        p[:, PI["UAR"]] += 0.3 * w
    return mod


@dataclass
class MoveDef:
    keys: list            # [(t, pose dict), ...] one rep, first pose == last pose (except offsets)
    mode: str             # anchor of the rep: feet | hands | hang | pelvis
    periodic: bool = True


def _move_defs(b: Body, D_burpee: float) -> dict:
    D = D_burpee
    air = dict(air=0.34, fwd=D, turn=90)
    land = dict(fwd=2 * D, turn=180)
    return {
        "deadlift": MoveDef([(0, FLOOR), (0.2, DL_MID), (0.43, DL_TOP), (0.52, pose(DL_TOP, T=181, TH=0)),
                             (0.74, DL_MID), (1, FLOOR)], "feet"),
        "ohs": MoveDef([(0, OHS_TOP), (0.24, OHS_MID), (0.5, OHS_BOT), (0.58, pose(OHS_BOT, TH=98, SH=-33)),
                        (0.79, OHS_MID), (1, OHS_TOP)], "feet"),
        "thruster": MoveDef([(0, RACK), (0.29, TH_BOT), (0.45, TH_DRIVE), (0.56, TH_PRESS), (0.67, OVER_N),
                             (0.84, TH_RETURN), (1, RACK)], "feet"),
        "power clean": MoveDef([(0, FLOOR), (0.15, PC_KNEE), (0.25, PC_THIGH), (0.32, PC_EXT), (0.37, PC_PULL),
                                (0.44, PC_CATCH), (0.5, pose(PC_CATCH, T=168, TH=52, SH=-24)),
                                (0.62, pose(RACK, abdL=12)), (0.72, PC_LOWER), (0.8, HANG_BAR),
                                (0.9, PC_KNEE), (1, FLOOR)], "feet"),
        "bar-facing burpee": MoveDef([(0, STAND), (0.1, B_SQ), (0.2, B_PLANK), (0.31, B_CHEST), (0.43, B_PLANK),
                                      (0.53, B_SQ), (0.64, pose(UA=20, FA=30)), (0.72, B_DIP),
                                      (0.83, pose(T=170, TH=78, SH=-18, FT=60, UA=70, FA=85, abdA=14, **air)),
                                      (0.92, pose(T=158, TH=48, SH=-26, UA=40, FA=55, **land)),
                                      (1, pose(**land))], "feet"),
        "chest-to-bar": MoveDef([(0, C_ARCH), (0.3, C_HOLLOW), (0.55, C_TOP),
                                 (0.66, pose(C_TOP, UA=40, FA=178, abdA=50)), (0.84, C_PUSH), (1, C_ARCH)], "hang"),
        "ghd": MoveDef([(0, G_TOUCH), (0.12, G_SEAT), (0.32, G_MID), (0.5, G_BOT), (0.62, G_UP), (0.8, G_UP2),
                        (1, G_TOUCH)], "pelvis"),
        "shspu": MoveDef([(0, S_LOCK), (0.25, pose(S_LOCK, T=-12, UA=45, FA=1, abdA=27)), (0.5, S_BOT),
                          (0.57, S_BOT), (0.8, pose(S_LOCK, T=-12, UA=45, FA=1, abdA=27)), (1, S_LOCK)], "hands"),
        "double-unders": MoveDef([(0, pose(DU_READY, TH=12, SH=-12, FT=85)), (0.12, pose(DU_READY, TH=3, SH=0, FT=55)),
                                  (0.5, pose(DU_READY, TH=16, SH=-20, FT=50)),
                                  (0.88, pose(DU_READY, TH=4, SH=-1, FT=55)),
                                  (1, pose(DU_READY, TH=12, SH=-12, FT=85))], "feet"),
    }


# ----------------------------------------------------------------------------------------------
# plans
# ----------------------------------------------------------------------------------------------
@dataclass
class Workout:
    """A plan: blocks ("rest", frames) | ("transition", frames) | (movement_label, n_reps).

    Frames are counted at ``fps``; rendering at another fps scales them.
    """
    seed: int
    blocks: list
    fps: float = 30.0
    name: str = ""

    def reps(self) -> dict:
        out: dict = {}
        for kind, v in self.blocks:
            if kind not in ("rest", "transition"):
                out[kind] = out.get(kind, 0) + int(v)
        return out

    def estimated_seconds(self) -> float:
        s = 0.0
        for kind, v in self.blocks:
            if kind in ("rest", "transition"):
                s += v / self.fps
            else:
                s += v * REP_FRAMES_30FPS[kind][0] / 30.0
        return s


_EXIT_S = {"deadlift": 0.8, "power clean": 0.8, "thruster": 0.9, "ohs": 0.9, "bar-facing burpee": 0.0,
           "chest-to-bar": 0.8, "ghd": 1.4, "shspu": 1.3, "double-unders": 0.8}
_ENTER_S = {"deadlift": 0.9, "power clean": 0.9, "thruster": 1.6, "ohs": 2.4, "bar-facing burpee": 0.3,
            "chest-to-bar": 1.0, "ghd": 1.6, "shspu": 1.4, "double-unders": 1.0}
_REP_WEIGHT = {"double-unders": 2.2, "chest-to-bar": 1.0, "thruster": 1.0, "ohs": 0.8, "deadlift": 1.0,
               "power clean": 0.6, "bar-facing burpee": 0.7, "ghd": 0.7, "shspu": 0.6}
_MAX_UNBROKEN = {"double-unders": 40, "chest-to-bar": 12, "thruster": 12, "ohs": 12, "deadlift": 15,
                 "power clean": 10, "bar-facing burpee": 15, "ghd": 15, "shspu": 10}
_LADDERS = [(21, 15, 9), (15, 12, 9), (12, 9, 6), (10, 8, 6), (9, 7, 5), (7, 5, 3), (5, 4, 3), (3, 2, 1)]


def _rep_s(label: str) -> float:
    return REP_FRAMES_30FPS[label][0] / 30.0


def _walk_s(prev, nxt) -> float:
    if prev is None or nxt is None:
        return 1.0
    return 0.4 if STATION_OF[prev] == STATION_OF[nxt] else 2.0


def _gap_seconds(prev, nxt, kind, rng) -> float:
    s = (_EXIT_S[prev] if prev else 0.0) + (_ENTER_S[nxt] if nxt else 0.0)
    if kind == "transition":
        return s + _walk_s(prev, nxt) + rng.uniform(0.0, 0.6)
    return s + rng.uniform(1.2, 4.0)


def _split_sets(label, reps, rng) -> list[int]:
    mx = _MAX_UNBROKEN[label]
    parts = max(1, math.ceil(reps / mx))
    if parts == 1 and reps >= 12 and rng.random() < 0.2:
        parts = 2
    base = [reps // parts + (1 if i < reps % parts else 0) for i in range(parts)]
    return [r for r in base if r > 0]


def _blocks(rounds: list, rng, fps: float) -> list:
    blocks: list = []
    prev = None
    for rnd in rounds:
        for label, reps in rnd:
            if reps <= 0:
                continue
            if prev is None:   # the video starts with the athlete next to the first station
                gap = _ENTER_S[label] + rng.uniform(0.6, 1.4)
            else:
                gap = _gap_seconds(prev, label, "transition", rng)
            blocks.append(("transition", int(round(gap * fps))))
            for j, r in enumerate(_split_sets(label, reps, rng)):
                if j:
                    blocks.append(("rest", int(round(_gap_seconds(label, label, "rest", rng) * fps))))
                blocks.append((label, int(r)))
            prev = label
    if prev is not None:
        blocks.append(("rest", int(round((_EXIT_S[prev] + rng.uniform(0.6, 1.5)) * fps))))
    return blocks


def _est_seconds(rounds) -> float:
    s, prev = 0.0, None
    for rnd in rounds:
        for label, reps in rnd:
            if reps <= 0:
                continue
            s += reps * _rep_s(label) + _EXIT_S.get(prev, 0) + _ENTER_S[label] + _walk_s(prev, label) + 0.7
            sets = max(1, math.ceil(reps / _MAX_UNBROKEN[label]))
            s += (sets - 1) * (_EXIT_S[label] + _ENTER_S[label] + 2.6)
            prev = label
    return s + 2.0


def _stations(movs) -> int:
    return len({STATION_OF[m] for m in movs})


def plan_workout(seed: int, movements: list[str] | None = None, fps: float = 30,
                 target_seconds: float = 60) -> Workout:
    """A WOD-like plan of about `target_seconds`: rounds of 2-4 movements with a rep scheme."""
    rng = np.random.default_rng([int(seed), 1])
    if movements is None:
        k = int(rng.choice([2, 3, 3, 4]))
        while True:
            movs = [DEFAULT_MOVEMENTS[i] for i in rng.permutation(len(DEFAULT_MOVEMENTS))[:k]]
            if _stations(movs) <= 3:
                break
    else:
        movs = list(movements)
        unknown = [m for m in movs if m not in REP_FRAMES_30FPS]
        if unknown:
            raise ValueError(f"unknown movements: {unknown}")
    pref = str(rng.choice(["ladder", "rounds", "chipper"] if len(movs) >= 3 else ["ladder", "rounds"]))
    w = {m: _REP_WEIGHT[m] * rng.uniform(0.85, 1.15) for m in movs}
    jitter = rng.uniform(0, 0.05, 64)

    def candidates():
        for li, lad in enumerate(_LADDERS):
            yield "ladder", li, [[(m, max(1, int(round(r * w[m])))) for m in movs] for r in lad]
        for n_rounds in range(1, 7):
            for base in (3, 4, 5, 6, 7, 8, 10, 12, 15):
                yield "rounds", n_rounds * 100 + base, [[(m, max(1, int(round(base * w[m])))) for m in movs]
                                                        for _ in range(n_rounds)]
        for base in (5, 8, 10, 12, 15, 20, 25, 30, 40, 50):
            yield "chipper", base, [[(m, max(1, int(round(base * w[m])))) for m in movs]]

    best = None
    for k, (fmt, key, rounds) in enumerate(candidates()):
        est = _est_seconds(rounds)
        rep_s = sum(r * _rep_s(m) for rnd in rounds for m, r in rnd)
        small = sum(1 for rnd in rounds for m, r in rnd if r < 3 * min(1.0, _REP_WEIGHT[m]))
        score = (abs(est - target_seconds) / target_seconds + 0.6 * max(0.0, 0.55 - rep_s / est)
                 + 0.08 * small + (0.0 if fmt == pref else 0.12) + jitter[k % 64])
        if best is None or score < best[0]:
            best = (score, fmt, rounds)
    fmt = best[1]
    blocks = _blocks(best[2], rng, fps)
    return Workout(seed=int(seed), blocks=blocks, fps=float(fps), name=f"{fmt}: " + ", ".join(movs))


def demo_plans(seed: int = 0, n_videos: int = 12, target_seconds: float | None = None,
               reps_per_movement: int = 60) -> list[Workout]:
    """Plans for the demo workspace.

    With the default `target_seconds=None`: every movement appears in max(6, n_videos // 2) videos
    and has >= `reps_per_movement` reps across the set (asserted; needs n_videos >= 6). Each video is a chipper
    (sometimes two rounds) of 4-5 movements at <= 3 stations; 12 videos of 60-120 s make ~15-16 min
    (60 reps of each movement at real rep speed alone take 11.7 min); more videos spread the same
    reps over more gyms, athletes and cameras (shorter sets), which is what a classifier needs to
    learn the movement rather than the gym.
    With `target_seconds` (seconds per video) the reps are scaled to that length; each movement still
    appears in >= 6 videos (n_videos >= 6) but the 60-rep floor is not guaranteed.
    """
    if n_videos < 6:
        raise ValueError("demo_plans needs n_videos >= 6 (every movement appears in >= 6 videos)")
    rng = np.random.default_rng([int(seed), 7])
    bar = [m for m in DEFAULT_MOVEMENTS if STATION_OF[m] == "bar"]
    other = [m for m in DEFAULT_MOVEMENTS if STATION_OF[m] != "bar"]
    count = {m: 0 for m in DEFAULT_MOVEMENTS}

    def spread(total):
        return [total // n_videos + (1 if v < total % n_videos else 0) for v in range(n_videos)]

    per_movement = max(6, n_videos // 2)             # videos each movement appears in
    n_other = spread(per_movement * len(other))      # 12 videos: 2 other stations each
    n_bar = spread(per_movement * len(bar))[::-1]    # videos with more "other" get fewer barbell lifts
    order_v = rng.permutation(n_videos)
    assign: list[list[str]] = []
    for v in range(n_videos):
        left = n_videos - v
        chosen: list[str] = []
        for group, k in ((other, n_other[order_v[v]]), (bar, n_bar[order_v[v]])):
            must = [m for m in group if per_movement - count[m] >= left]
            rest = sorted((m for m in group if m not in must), key=lambda m: (count[m], rng.random()))
            pick = (must + rest)[:max(k, len(must))]
            chosen += pick
        for m in chosen:
            count[m] += 1
        # a chipper: the barbell movements back to back, the other stations before/after them
        o = [m for m in chosen if m in other]
        b = [m for m in chosen if m in bar]
        o = [o[i] for i in rng.permutation(len(o))]
        b = [b[i] for i in rng.permutation(len(b))]
        cut = int(rng.integers(0, len(o) + 1))
        assign.append(o[:cut] + b + o[cut:])
    reps_each = {m: math.ceil(reps_per_movement / count[m]) for m in count}
    plans = []
    for v, movs in enumerate(assign):
        vr = np.random.default_rng([int(seed), 8, v])
        n_rounds = int(vr.choice([1, 1, 1, 1, 1, 2]))
        totals = {m: reps_each[m] for m in movs}
        if target_seconds is not None:
            est = _est_seconds([[(m, totals[m]) for m in movs]])
            f = float(target_seconds) / est
            totals = {m: max(1, int(round(totals[m] * f))) for m in movs}
        rounds = []
        for r in range(n_rounds):
            rnd = []
            for m in movs:
                tot = totals[m]
                # descending split across rounds: e.g. 10 -> 6, 4
                wts = np.arange(n_rounds, 0, -1, dtype=float) + 1
                cuts = np.floor(tot * np.cumsum(wts) / wts.sum() + 1e-9).astype(int)
                reps = cuts[r] - (cuts[r - 1] if r else 0)
                rnd.append((m, int(reps)))
            rounds.append(rnd)
        blocks = _blocks(rounds, vr, 30.0)
        plans.append(Workout(seed=int(seed) * 1000 + 500 + v, blocks=blocks, fps=30.0,
                             name=f"demo {v + 1}: " + ", ".join(movs)))
    videos = {m: sum(1 for p in plans if m in p.reps()) for m in DEFAULT_MOVEMENTS}
    reps = {m: sum(p.reps().get(m, 0) for p in plans) for m in DEFAULT_MOVEMENTS}
    assert all(v >= 6 for v in videos.values()), videos
    if target_seconds is None:
        assert all(r >= reps_per_movement for r in reps.values()), reps
    return plans


# ----------------------------------------------------------------------------------------------
# camera and scene
# ----------------------------------------------------------------------------------------------
@dataclass
class Camera:
    C: np.ndarray
    R: np.ndarray   # rows: right, up, forward
    f: float
    cx: float
    cy: float

    def project(self, P: np.ndarray, dx: float = 0.0, dy: float = 0.0):
        d = P - self.C
        c = d @ self.R.T
        z = np.maximum(c[..., 2], 0.05)
        uv = np.stack([self.cx - dx + self.f * c[..., 0] / z, self.cy - dy - self.f * c[..., 1] / z], -1)
        return uv, z


def _look_at(C, L) -> np.ndarray:
    fwd = L - C
    fwd = fwd / np.linalg.norm(fwd)
    right = np.cross(fwd, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, fwd)
    return np.stack([right, up, fwd])


@dataclass
class Station:
    kind: str
    pos: np.ndarray        # reference point on the floor (x, 0, z)
    heading: float
    geo: dict = field(default_factory=dict)


PLATE_R = 0.225


class _Scene:
    """Body, stations, props and camera of one video (all drawn from the workout seed)."""

    def __init__(self, workout: Workout, width: int, height: int):
        rng = np.random.default_rng([int(workout.seed), 2])
        self.rng = rng
        self.W, self.H = int(width), int(height)
        self.body = _make_body(rng)
        b = self.body
        movs = [k for k, _ in workout.blocks if k not in ("rest", "transition")]
        kinds = []
        for m in movs:
            k = STATION_OF[m]
            if k not in kinds:
                kinds.append(k)
        if not kinds:
            kinds = ["bar"]
        order = list(rng.permutation(len(kinds)))
        spacing = rng.uniform(2.0, 2.6)
        self.stations: dict[str, Station] = {}
        x0 = -spacing * (len(kinds) - 1) / 2
        self.yaw = math.radians(rng.uniform(22, 62)) * (1 if rng.random() < 0.5 else -1)
        for j, oi in enumerate(order):
            k = kinds[oi]
            hd = {"bar": 25, "rig": 20, "ghd": 35, "wall": 20, "rope": 30}[k]
            h = math.radians(rng.uniform(-hd, hd))
            # never film a station straight from the front: motion in depth would be invisible
            rel = (self.yaw - h + math.pi) % (2 * math.pi) - math.pi
            if abs(rel) < math.radians(20):
                h = self.yaw - math.copysign(math.radians(20), rel if rel else 1.0)
            h += math.pi if k == "wall" else 0.0
            # stations in a row across the camera's view (all at a similar distance from it)
            right = np.array([math.cos(self.yaw), 0.0, -math.sin(self.yaw)])
            back = np.array([-math.sin(self.yaw), 0.0, -math.cos(self.yaw)])
            pos = (x0 + j * spacing + rng.uniform(-0.2, 0.2)) * right + rng.uniform(-0.5, 0.5) * back
            self.stations[k] = Station(k, pos, h)
        self.style_rng = np.random.default_rng([int(workout.seed), 3])
        self.D_burpee = 0.30 + 0.45 * b.foot
        self.defs = _move_defs(b, self.D_burpee)
        self._stylize(movs)
        self._calibrate()
        self.plates = self._plate_style(rng)
        self._camera(rng)

    # -- per-video style: range of motion and timing differ a little between athletes
    def _stylize(self, movs):
        r = self.style_rng
        for m, d in self.defs.items():
            K = len(d.keys)
            offs = r.normal(0, 1, (K, NP)) * _JITTER
            offs[-1] = offs[0]
            keys = []
            ts = np.array([t for t, _ in d.keys])
            dt = r.uniform(-0.015, 0.015, K)
            dt[0] = dt[-1] = 0
            ts = np.maximum.accumulate(np.clip(ts + dt, 0, 1))
            for k, (t, p) in enumerate(d.keys):
                v = _vec(p) + offs[k]
                keys.append((float(ts[k]), {n: float(v[i]) for i, n in enumerate(PARAMS)}))
            d.keys = keys
        self.du_height = r.uniform(0.10, 0.16)
        # rep-length variance: ~16% between athletes (this speed factor), ~84% between reps
        self.speed = {m: float(np.exp(r.normal(0, 0.4 * REP_FRAMES_30FPS[m][1] / REP_FRAMES_30FPS[m][0])))
                      for m in REP_FRAMES_30FPS}

    def _grip_y(self, p: dict) -> float:
        J, _ = body_joints(_vec(p)[None], self.body)
        root = _place("feet", J, np.zeros((1, 3)), np.zeros(1), self.body)
        return float((J[0, [_GR, _GR + 1], 1] + root[0, 1]).mean())

    def _deepen(self, p: dict, target_y: float) -> dict:
        """Hinge deeper or shallower so the grip is at target_y (bar on the floor)."""
        def at(f):
            q = dict(p)
            q["T"] = 180 - (180 - p["T"]) * f
            q["N"] = 180 - (180 - p["N"]) * f
            for s in "LR":
                q["TH" + s] = p["TH" + s] * f
                q["SH" + s] = p["SH" + s] * f
            return q
        lo, hi = 0.6, 1.5
        for _ in range(30):
            mid = 0.5 * (lo + hi)
            if self._grip_y(at(mid)) > target_y:
                lo = mid
            else:
                hi = mid
        return at(0.5 * (lo + hi))

    def _calibrate(self):
        b = self.body
        # bar on the floor: the deadlift / clean start pose reaches the bar
        target = PLATE_R - 0.005
        self.floor_pose = self._deepen(FLOOR, target)
        for m in ("deadlift", "power clean"):
            d = self.defs[m]
            fp = self._deepen(d.keys[0][1], target)
            d.keys[0] = (0.0, fp)
            d.keys[-1] = (1.0, fp)
        # GHD: pad height so that the hands touch the floor at the bottom
        d = self.defs["ghd"]
        J, _ = body_joints(_vec(max(d.keys, key=lambda kp: kp[1]["T"])[1])[None], b)
        low = J[0, [_TIP, _TIP + 1], 1].min()
        self.pad_y = float(b.r_hand - low)
        st = self.stations.get("ghd")
        if st is not None:
            J0, _ = body_joints(_vec(G_SEAT)[None], b)
            st.geo["pelvis"] = st.pos + np.array([0.0, self.pad_y, 0.0])
            Jw = rotate_y(J0, np.array([st.heading]))[0] + st.geo["pelvis"]
            st.geo["ankles"] = Jw[[_AN, _AN + 1]]
            fwd = np.array([math.sin(st.heading), 0.0, math.cos(st.heading)])
            st.geo["approach"] = st.geo["pelvis"] * [1, 0, 1] - 0.55 * fwd
        # rig: bar height = grip height when reaching up with a small jump
        st = self.stations.get("rig")
        if st is not None:
            reach = self._reach_pose()
            J, _ = body_joints(_vec(reach)[None], b)
            Jr = rotate_y(J, np.array([st.heading]))
            root = _place("feet", Jr, st.pos[None], np.array([reach["air"]]), b)
            g = (Jr[0, [_GR, _GR + 1]] + root[0]).mean(0)
            st.geo["bar"] = st.pos + np.array([0.0, g[1], 0.0])
            st.geo["approach"] = st.pos - (g - st.pos) * [1, 0, 1]
        # wall: hands spot is the station; the wall is where the heels are in the handstand
        st = self.stations.get("wall")
        if st is not None:
            fwd = np.array([math.sin(st.heading), 0.0, math.cos(st.heading)])
            J, _ = body_joints(_vec(S_LOCK)[None], b)
            Jr = rotate_y(J, np.array([st.heading]))
            root = _place("hands", Jr, st.pos[None], np.zeros(1), b)
            Jw = Jr[0] + root[0]
            st.geo["wall_d"] = float(max((Jw[[_HEEL, _HEEL + 1, _TOE, _TOE + 1]] - st.pos) @ fwd)) + b.r_foot + 0.01
            J, _ = body_joints(_vec(S_BEND)[None], b)
            Jr = rotate_y(J, np.array([st.heading]))
            rf = _place("feet", Jr, np.zeros((1, 3)), np.zeros(1), b)
            hands = (Jr[0, [_GR, _GR + 1]] + rf[0]).mean(0)
            st.geo["approach"] = st.pos - hands * [1, 0, 1]
            J, _ = body_joints(_vec(S_BOT)[None], b)
            Jr = rotate_y(J, np.array([st.heading]))
            root = _place("hands", Jr, st.pos[None], np.zeros(1), b)
            st.geo["head"] = Jr[0, 2] + root[0]
        st = self.stations.get("rope")
        if st is not None:
            st.geo["R"] = self._grip_y(DU_READY) + 0.05
            st.geo["approach"] = st.pos.copy()
        st = self.stations.get("bar")
        if st is not None:
            st.geo["bar_pos"] = st.pos.copy()
            st.geo["bar_heading"] = st.heading
        # the offset of the grip from the feet in the floor pose (to approach the bar)
        J, _ = body_joints(_vec(self.floor_pose)[None], b)
        rf = _place("feet", J, np.zeros((1, 3)), np.zeros(1), b)
        self.floor_grip = (J[0, [_GR, _GR + 1]] + rf[0]).mean(0) * [1, 0, 1]

    def _reach_pose(self):
        return pose(T=182, TH=0, SH=0, FT=40, UA=180, FA=180, abdA=24, air=0.13)

    def _plate_style(self, rng):
        styles = [((30, 30, 32), (30, 30, 32)), ((200, 40, 40), (30, 30, 32)), ((40, 80, 190), (40, 140, 60)),
                  ((230, 190, 40), (30, 30, 32)), ((40, 140, 60), (40, 140, 60)), ((40, 80, 190), (30, 30, 32))]
        a, c = styles[rng.integers(len(styles))]
        return {"big": a, "small": c, "two": rng.random() < 0.6}

    def _camera(self, rng):
        W, H = self.W, self.H
        pts = []
        # extents of what happens at each station: lateral, back, front (athlete frame), top
        ext = {"bar": (1.15, 0.8, 0.8, 2.3), "rig": (0.8, 0.7, 0.7, None), "ghd": (0.35, 1.0, 1.0, 1.95),
               "wall": (0.6, 0.7, 0.25, 2.25), "rope": (0.6, 0.5, 0.5, 2.1)}
        for st in self.stations.values():
            lat, back, front, top = ext[st.kind]
            if top is None:
                top = st.geo["bar"][1] + 0.15
            for dx in (-lat, lat):
                for dz in (-back, front):
                    off = rotate_y(np.array([[dx, 0.0, dz]]), np.array([st.heading]))[0]
                    for y in (0.0, top):
                        pts.append(st.pos + off + np.array([0.0, y, 0.0]))
        pts = np.array(pts)
        center = 0.5 * (pts.min(0) + pts.max(0))
        spread = float(np.ptp(pts[:, 0]))
        yaw = self.yaw
        dist = rng.uniform(5.5, 8.0) + 0.35 * spread
        cam_h = rng.uniform(1.0, 2.1)
        L = np.array([center[0], rng.uniform(0.95, 1.2), center[2]])
        C = L + dist * np.array([math.sin(yaw), 0.0, math.cos(yaw)])
        C[1] = cam_h
        R = _look_at(C, L)
        c = (pts - C) @ R.T
        a, bb = c[:, 0] / c[:, 2], c[:, 1] / c[:, 2]
        f = min(W * 0.96 / np.ptp(a), H * 0.94 / np.ptp(bb)) * rng.uniform(0.95, 1.05)
        cx = W / 2 - f * (a.max() + a.min()) / 2 + rng.uniform(-0.02, 0.02) * W
        cy = H / 2 + f * (bb.max() + bb.min()) / 2 + rng.uniform(-0.02, 0.02) * H
        self.cam = Camera(C, R, float(f), float(cx), float(cy))


# ----------------------------------------------------------------------------------------------
# the timeline: reps and the unlabelled gaps between them
# ----------------------------------------------------------------------------------------------
def rep_frame_bounds(label: str, fps: float = 30) -> tuple[int, int]:
    """Smallest and largest rep length in frames that the generator draws for `label` at `fps`."""
    mean, sd = REP_FRAMES_30FPS[label]
    lo = max(0.55 * mean, mean - 2.6 * sd, 8.0)
    hi = min(2.0 * mean, mean + 3.0 * sd)
    k = fps / 30.0
    return max(3, int(math.floor(lo * k))), max(4, int(math.ceil(hi * k)))


class _Timeline:
    def __init__(self, workout: Workout, scene: _Scene, fps: float):
        self.w, self.sc, self.fps = workout, scene, float(fps)
        self.b = scene.body
        self.rng = np.random.default_rng([int(workout.seed), 4])
        self.out_J: list = []
        self.out_D: list = []
        self.out_P: list = []
        self.out_head: list = []
        self.bar_c: list = []
        self.bar_h: list = []
        self.bar_vis: list = []
        self.rope: list = []
        self.rope_vis: list = []
        self.label: list = []
        self.segments: list = []
        self.n = 0
        # athlete state
        self.act: str | None = None            # activity the athlete is in (reps can continue)
        self.act_target = None
        self.act_heading = 0.0
        first = next((k for k, _ in workout.blocks if k not in ("rest", "transition")), None)
        st = scene.stations[STATION_OF[first]] if first else next(iter(scene.stations.values()))
        side = 1 if self.rng.random() < 0.5 else -1
        self.feet = st.pos + np.array([side * self.rng.uniform(0.9, 1.4), 0.0, self.rng.uniform(0.2, 0.9)])
        self.heading = math.radians(self.rng.uniform(-60, 60))
        bst = scene.stations.get("bar")
        self.bar_held = False
        self.bar_pos = bst.geo["bar_pos"].copy() if bst else None
        self.bar_axis_h = bst.geo["bar_heading"] if bst else 0.0
        self.bar_fall = None                     # (frame0, start pos, end pos)
        rst = scene.stations.get("rope")
        self.rope_held = False
        self.rope_floor = self._rope_floor(rst) if rst else None
        self.gap_frames = lambda n: int(round(n * self.fps / workout.fps))

    # -- output --------------------------------------------------------------------------------
    def emit(self, seg: Seg):
        if seg.n <= 0:
            return
        x = np.arange(seg.n) / seg.n
        p, hd, Jw, Dr = _realize(seg, self.b, x)
        i0 = self.n
        self.out_J.append(Jw)
        self.out_D.append(Dr)
        self.out_P.append(p)
        self.out_head.append(hd)
        self.label.extend([seg.label] * seg.n)
        grips = Jw[:, [_GR, _GR + 1]].mean(1)
        ev = sorted(seg.bar, key=lambda e: e[1])
        rope_theta = None
        rope_ev = []
        for e in seg.rope:
            if e[0] == "theta":
                rope_theta = e[1]
            else:
                rope_ev.append(e)
        thetas = rope_theta(x) if rope_theta is not None else np.full(seg.n, 1.5 * np.pi)
        R = self.sc.stations["rope"].geo["R"] if "rope" in self.sc.stations else 1.0
        for j in range(seg.n):
            # bar events at phase t fire on the first frame with x >= t
            for kind, t in ev:
                if (j == 0 and t <= x[0]) or (j > 0 and x[j - 1] < t <= x[j]):
                    self._bar_event(kind, i0 + j, grips[j], hd[j])
            for kind, t in rope_ev:
                if (j == 0 and x[0] >= t) or (j > 0 and x[j - 1] < t <= x[j]):
                    if kind == "hold":
                        self.rope_held = True
                    else:
                        self.rope_held = False
                        self.rope_floor = self._rope_pts(Jw[j], hd[j], thetas[j], R, floor=True)
            # bar position
            if self.bar_pos is None:
                self.bar_c.append(np.full(3, np.nan))
                self.bar_h.append(0.0)
                self.bar_vis.append(False)
            elif self.bar_held:
                c = grips[j].copy()
                c[1] = max(c[1], PLATE_R)
                self.bar_c.append(c)
                self.bar_h.append(hd[j])
                self.bar_vis.append(True)
            else:
                self.bar_c.append(self._bar_now(i0 + j))
                self.bar_h.append(self.bar_axis_h)
                self.bar_vis.append(True)
            if self.rope_floor is None and not self.rope_held:
                self.rope.append(np.full((17, 3), np.nan))
                self.rope_vis.append(False)
            elif self.rope_held:
                self.rope.append(self._rope_pts(Jw[j], hd[j], thetas[j], R))
                self.rope_vis.append(True)
            else:
                self.rope.append(self.rope_floor)
                self.rope_vis.append(True)
        self.n += seg.n

    def _bar_event(self, kind, frame, grip, heading):
        if kind == "grab":
            self.bar_held = True
            self.bar_fall = None
        elif kind == "release":
            self.bar_held = False
            self.bar_pos = np.array([grip[0], PLATE_R, grip[2]])
            self.bar_axis_h = float(heading)
            self.bar_fall = None
        elif kind == "drop":
            self.bar_held = False
            fwd = np.array([math.sin(heading), 0.0, math.cos(heading)])
            start = np.array([grip[0], max(grip[1], PLATE_R), grip[2]])
            end = start + 0.22 * fwd
            end[1] = PLATE_R
            self.bar_pos = end
            self.bar_axis_h = float(heading)
            self.bar_fall = (frame, start, end)

    def _bar_now(self, frame):
        if self.bar_fall is None:
            return self.bar_pos.copy()
        f0, s, e = self.bar_fall
        t = (frame - f0) / self.fps
        T = math.sqrt(2 * max(s[1] - e[1], 1e-3) / 9.81)
        if t >= T:
            # a small bounce
            tb = t - T
            hb = 0.05 * max(0.0, 1 - tb / 0.25) * abs(math.sin(math.pi * min(tb / 0.25, 1.0)))
            return e + np.array([0.0, hb, 0.0])
        a = t / T
        c = s + (e - s) * a
        c[1] = s[1] - 0.5 * 9.81 * t * t
        return c

    def _rope_pts(self, J, heading, theta, R, floor=False):
        gL, gR = J[_GR], J[_GR + 1]
        s = np.linspace(0, 1, 17)[:, None]
        base = gL * (1 - s) + gR * s
        d = rotate_y(np.array([[0.0, -math.cos(theta), math.sin(theta)]]), np.array([heading]))[0]
        bulge = np.sin(np.pi * s) ** 0.7
        pts = base + R * bulge * d
        if floor:
            # lying on the floor: drape the loop flat around where it lands
            pts[:, 1] = 0.0
            pts[[0, -1], 1] = 0.0
        pts[:, 1] = np.maximum(pts[:, 1], 0.006)
        return pts

    def _rope_floor(self, st):
        p = _vec(DU_READY)[None]
        J, _ = body_joints(p, self.b)
        Jr = rotate_y(J, np.array([st.heading]))
        root = _place("feet", Jr, st.pos[None], np.zeros(1), self.b)
        Jw = Jr[0] + root[0]
        Jw[[_GR, _GR + 1], 1] = 0.0
        return self._rope_pts(Jw, st.heading, 1.5 * np.pi, self.sc.stations["rope"].geo["R"] * 0.6, floor=True)

    # -- movement starts -----------------------------------------------------------------------
    def _approach(self, label):
        """(feet target, heading) where the athlete stands to start `label` (and the rep target)."""
        st = self.sc.stations[STATION_OF[label]]
        if st.kind == "bar":
            bh = self.bar_axis_h
            cands = []
            for flip in (0.0, math.pi):
                h = bh + flip
                fwd = np.array([math.sin(h), 0.0, math.cos(h)])
                if label == "bar-facing burpee":
                    spot = self.bar_pos * [1, 0, 1] - self.sc.D_burpee * fwd
                else:
                    spot = self.bar_pos * [1, 0, 1] - rotate_y(self.sc.floor_grip[None], np.array([h]))[0]
                cands.append((float(np.linalg.norm(spot - self.feet)) + (0.3 if flip else 0.0), spot, h))
            _, spot, h = min(cands, key=lambda c: c[0])
            return spot, h
        return st.geo["approach"].copy(), st.heading

    def _rep_anchor(self, label, spot, heading):
        st = self.sc.stations[STATION_OF[label]]
        if label == "chest-to-bar":
            return st.geo["bar"].copy()
        if label == "ghd":
            return st.geo["pelvis"].copy()
        if label == "shspu":
            return st.pos.copy()
        return spot

    def _rep_durations(self, label, n_reps):
        mean, sd = REP_FRAMES_30FPS[label]
        sp = self.sc.speed[label]
        lo, hi = rep_frame_bounds(label, 30)
        k = self.fps / 30.0
        d30 = np.clip(mean * sp + self.rng.normal(0, 0.9 * sd, n_reps), lo, hi)
        out, acc = [], 0.0
        for d in d30:
            acc += d * k
            out.append(acc)
        ends = np.round(out).astype(int)
        durs = np.diff(np.concatenate([[0], ends]))
        return np.maximum(durs, max(3, int(round(lo * k)))).tolist()

    def reps(self, label: str, n_reps: int):
        d = self.sc.defs[label]
        # reps straight after another movement (no gap in the plan): put down what is in the hands
        if self.bar_held and label not in _BAR_LIFTS and self.bar_c:
            c = self.bar_c[-1]
            self.bar_held, self.bar_fall = False, None
            self.bar_pos = np.array([c[0], PLATE_R, c[2]])
            self.bar_axis_h = float(self.bar_h[-1])
        if self.rope_held and label != "double-unders" and self.rope:
            self.rope_held = False
            self.rope_floor = self.rope[-1].copy()
            self.rope_floor[:, 1] = 0.006
        if self.act != label:
            spot, h = self._approach(label)
            self.act, self.act_target, self.act_heading = label, self._rep_anchor(label, spot, h), h
            if label in _BAR_LIFTS:
                self.bar_held = True
        for dur in self._rep_durations(label, n_reps):
            # per-rep jitter on interior keyframes only (the boundary pose stays shared)
            keys = []
            for k, (t, p) in enumerate(d.keys):
                v = _vec(p)
                if 0 < k < len(d.keys) - 1:
                    v = v + self.rng.normal(0, 1, NP) * _JITTER * 0.45
                keys.append((t, {n: float(v[i]) for i, n in enumerate(PARAMS)}))
            kt, kv = _keys(keys)
            mod = _du_mod(self.sc.du_height) if label == "double-unders" else None
            seg = Seg(n=int(dur), kt=kt, kv=kv, heading=self.act_heading, A=(d.mode, self.act_target),
                      periodic=d.periodic, label=label, mod=mod)
            if label == "bar-facing burpee":
                seg.B = ("hands", ("cont", keys[1][0]))
                t1, t2 = keys[1][0], keys[5][0]
                seg.wb = ((0, 0), (t1, 0), (t1, 1), (t2, 1), (t2, 0), (1, 0))
            if label in _BAR_LIFTS:
                seg.bar = (("grab", 0.0),)
            if label == "double-unders":
                seg.rope = (("hold", 0.0), ("theta", lambda x: np.pi - 4 * np.pi * x))
            start = self.n
            self.emit(seg)
            self.segments.append({"label": label, "start": start, "end": self.n - 1})
            if label == "bar-facing burpee":
                fwd = np.array([math.sin(self.act_heading), 0.0, math.cos(self.act_heading)])
                self.act_target = self.act_target + 2 * self.sc.D_burpee * fwd
                self.act_heading = self.act_heading + math.pi
        self.feet = self._feet_now()
        self.heading = float(self.out_head[-1][-1])

    def _feet_now(self):
        J = self.out_J[-1][-1]
        f = J[[_HEEL, _HEEL + 1, _TOE, _TOE + 1]].mean(0)
        f[1] = 0.0
        return f

    # -- exits and entries (unlabelled) -----------------------------------------------------------
    def _end_pose(self) -> dict:
        p = self.out_P[-1][-1] if self.out_P else _vec(STAND)
        q = {n: float(p[i]) for i, n in enumerate(PARAMS)}
        q.update(air=0.0, fwd=0.0, side=0.0, turn=0.0)
        return q

    def _exit_factory(self, label):
        """Seg factory leaving the activity, ending standing; and the feet spot afterwards."""
        d = self.sc.defs[label]
        start = dict(d.keys[0][1])
        h, tgt = self.act_heading, self.act_target
        fwd = np.array([math.sin(h), 0.0, math.cos(h)])
        if label in ("deadlift", "power clean"):
            keys = [(0, start), (1, STAND)]
            return lambda n: Seg(n, *_keys(keys), heading=h, A=("feet", tgt), bar=(("release", 0.0),)), tgt
        if label in ("thruster", "ohs"):
            keys = [(0, start), (0.35, pose(UA=30, FA=40, abdA=20)), (1, pose(fwd=-0.12))]
            return lambda n: Seg(n, *_keys(keys), heading=h, A=("feet", tgt), bar=(("drop", 0.08),)), tgt - 0.12 * fwd
        if label == "bar-facing burpee":
            return None, tgt
        if label == "chest-to-bar":
            land = pose(T=165, N=175, TH=38, SH=-26, UA=150, FA=165, abdA=20)
            keys = [(0, start), (0.3, C_HANG), (0.65, land), (1, STAND)]
            spot = self.sc.stations["rig"].geo["approach"]
            return lambda n: Seg(n, *_keys(keys), heading=h, A=("hang", tgt), B=("feet", spot),
                                 wb=((0, 0), (0.3, 0), (0.65, 1), (1, 1))), spot
        if label == "ghd":
            st = self.sc.stations["ghd"]
            step = pose(T=172, THL=70, SHL=-10, THR=30, SHR=-5, UA=20, FA=30)
            keys = [(0, start), (0.35, G_SEAT), (0.7, step), (1, STAND)]
            spot = st.geo["approach"]
            return lambda n: Seg(n, *_keys(keys), heading=h, A=("pelvis", tgt), B=("feet", spot),
                                 wb=((0, 0), (0.35, 0), (0.8, 1), (1, 1))), spot
        if label == "shspu":
            st = self.sc.stations["wall"]
            kick = pose(S_LOCK, T=20, N=20, THL=-120, SHL=-125, THR=-60, SHR=-62, FTL=-40, FTR=20)
            keys = [(0, start), (0.35, kick), (0.65, S_BEND), (1, STAND)]
            spot = st.geo["approach"]
            return lambda n: Seg(n, *_keys(keys), heading=h, A=("hands", tgt), B=("feet", spot),
                                 wb=((0, 0), (0.65, 0), (0.65, 1), (1, 1))), spot
        if label == "double-unders":
            keys = [(0, start), (0.4, DU_READY), (0.72, CROUCH), (1, STAND)]
            th = lambda x: np.interp(x, [0, 0.4, 1], [np.pi, 0.35, 0.35])  # noqa: E731
            return lambda n: Seg(n, *_keys(keys), heading=h, A=("feet", tgt),
                                 rope=(("theta", th), ("drop", 0.72))), tgt
        raise ValueError(label)

    def _enter_factory(self, label, spot, h):
        st = self.sc.stations[STATION_OF[label]]
        d = self.sc.defs[label]
        start = dict(d.keys[0][1])
        fp = self.sc.floor_pose
        if label in ("deadlift", "power clean"):
            keys = [(0, STAND), (1, start)]
            return lambda n: Seg(n, *_keys(keys), heading=h, A=("feet", spot), bar=(("grab", 0.999),))
        if label == "thruster":
            keys = [(0, STAND), (0.3, fp), (0.48, PC_EXT), (0.56, PC_PULL), (0.68, PC_CATCH), (1, start)]
            return lambda n: Seg(n, *_keys(keys), heading=h, A=("feet", spot), bar=(("grab", 0.3),))
        if label == "ohs":
            dip = pose(RACK, T=176, TH=30, SH=-16)
            keys = [(0, STAND), (0.2, fp), (0.33, PC_EXT), (0.39, PC_PULL), (0.48, PC_CATCH), (0.6, RACK),
                    (0.7, dip), (0.8, pose(OVER_N, air=0.03)), (0.88, pose(OHS_TOP, TH=25, SH=-12)), (1, start)]
            return lambda n: Seg(n, *_keys(keys), heading=h, A=("feet", spot), bar=(("grab", 0.2),))
        if label == "bar-facing burpee":
            keys = [(0, STAND), (1, start)]
            return lambda n: Seg(n, *_keys(keys), heading=h, A=("feet", spot))
        if label == "chest-to-bar":
            dip = pose(T=165, N=175, TH=40, SH=-30, UA=150, FA=160, abdA=20)
            reach = self.sc._reach_pose()
            keys = [(0, STAND), (0.35, dip), (0.55, reach), (0.8, C_HANG), (1, start)]
            return lambda n: Seg(n, *_keys(keys), heading=h, A=("feet", spot), B=("hang", st.geo["bar"]),
                                 wb=((0, 0), (0.55, 0), (0.55, 1), (1, 1)))
        if label == "ghd":
            step = pose(T=172, THL=70, SHL=-10, THR=30, SHR=-5, UA=20, FA=30)
            keys = [(0, STAND), (0.3, step), (0.7, G_SEAT), (1, start)]
            return lambda n: Seg(n, *_keys(keys), heading=h, A=("feet", spot), B=("pelvis", st.geo["pelvis"]),
                                 wb=((0, 0), (0.2, 0), (0.65, 1), (1, 1)))
        if label == "shspu":
            kick = pose(S_LOCK, T=20, N=20, THL=-120, SHL=-125, THR=-60, SHR=-62, FTL=-40, FTR=20)
            keys = [(0, STAND), (0.35, S_BEND), (0.7, kick), (1, start)]
            return lambda n: Seg(n, *_keys(keys), heading=h, A=("feet", spot), B=("hands", st.pos.copy()),
                                 wb=((0, 0), (0.35, 0), (0.35, 1), (1, 1)))
        if label == "double-unders":
            keys = [(0, STAND), (0.4, CROUCH), (0.75, DU_READY), (1, start)]
            th = lambda x: np.interp(x, [0, 0.75, 1], [1.5 * np.pi, 1.5 * np.pi, np.pi])  # noqa: E731
            return lambda n: Seg(n, *_keys(keys), heading=h, A=("feet", spot),
                                 rope=(("hold", 0.4), ("theta", th)))
        raise ValueError(label)

    def _idle_factory(self, spot, h, variant=None):
        rng = self.rng
        v = [IDLE_HIPS, IDLE_KNEES, IDLE_ARMS, IDLE_LOOK, STAND][rng.integers(5) if variant is None else variant]
        sway = rng.uniform(-8, 8)
        fps = self.fps
        ph = rng.uniform(0, 2 * np.pi)

        def make(n):
            keys = [(0, STAND), (0.25, v), (0.75, pose(v, turn=sway)), (1, STAND)]

            def mod(x, p, n=n):
                t = x * n / fps
                p[:, PI["T"]] += 1.8 * np.sin(2 * np.pi * t / 1.4 + ph)
                p[:, PI["N"]] += 2.5 * np.sin(2 * np.pi * t / 1.4 + ph)
                p[:, PI["UAL"]] += 2.0 * np.sin(2 * np.pi * t / 2.3 + ph)
                p[:, PI["UAR"]] += 2.0 * np.sin(2 * np.pi * t / 2.1 + ph)
            return Seg(n, *_keys(keys), heading=h, A=("feet", spot), mod=mod, kind="idle")
        return make

    def _turn_factory(self, spot, h0, h1):
        dh = math.degrees((h1 - h0 + math.pi) % (2 * math.pi) - math.pi)
        keys = [(0, STAND), (0.5, pose(THL=12, SHL=-8, turn=dh / 2)), (1, pose(turn=dh))]
        return lambda n: Seg(n, *_keys(keys), heading=h0, A=("feet", spot), kind="turn")

    def _walk_factory(self, p0, p1):
        dist = float(np.linalg.norm(p1 - p0))
        h = math.atan2(p1[0] - p0[0], p1[2] - p0[2])
        stride = 1.25 * self.b.height / 1.75

        def make(n):
            def path(x):
                s = x - np.sin(2 * np.pi * x) / (2 * np.pi)
                return p0[None] + (p1 - p0)[None] * s[:, None]

            def mod(x, p):
                s = x - np.sin(2 * np.pi * x) / (2 * np.pi)
                phi = 2 * np.pi * s * dist / stride
                amp = 24 * np.clip(np.minimum(x, 1 - x) * 6, 0, 1)
                sw = np.sin(phi)
                p[:, PI["THL"]] = amp * sw
                p[:, PI["THR"]] = -amp * sw
                p[:, PI["SHL"]] = p[:, PI["THL"]] - amp / 24 * (8 + 30 * np.clip(np.sin(phi + 2.2), 0, None))
                p[:, PI["SHR"]] = p[:, PI["THR"]] - amp / 24 * (8 + 30 * np.clip(np.sin(phi + 2.2 + np.pi), 0, None))
                p[:, PI["UAL"]] = -0.8 * amp * sw
                p[:, PI["UAR"]] = 0.8 * amp * sw
                p[:, PI["FAL"]] = p[:, PI["UAL"]] + 18
                p[:, PI["FAR"]] = p[:, PI["UAR"]] + 18
                p[:, PI["T"]] = 177
            kt, kv = _keys([(0, STAND), (1, STAND)])
            return Seg(n, kt, kv, heading=h, A=("feet", path), mod=mod, kind="walk")
        return make, dist, h

    def gap(self, n_frames: int, prev: str | None, nxt: str | None, kind: str):
        """Unlabelled frames: leave `prev`, idle or walk, get into the start pose of `nxt`."""
        N = int(n_frames)
        if N <= 0:
            return
        fps = self.fps
        parts: list = []   # [nominal frames, factory]
        feet, h = self.feet.copy(), self.heading
        if self.act is not None:
            fac, feet_after = self._exit_factory(self.act)
            if fac is not None:
                parts.append([_EXIT_S[self.act] * fps, fac])
            feet = feet_after.copy() * [1, 0, 1]
            h = self.act_heading
            self.act = None
        idle_at = len(parts)
        if nxt is not None:
            spot, h1 = self._approach_after(nxt, feet)
            dist = float(np.linalg.norm((spot - feet) * [1, 0, 1]))
            if dist > 0.3:
                wf, wd, wh = self._walk_factory(feet, spot)
                parts.append([0.3 * fps, self._turn_factory(feet, h, wh)])
                parts.append([(0.4 + wd / 1.45) * fps, wf])
                parts.append([0.3 * fps, self._turn_factory(spot, wh, h1)])
            elif dist > 0.02 or abs(h1 - h) > 0.05:
                kt, kv = _keys([(0, STAND), (0.5, pose(THL=15, SHL=-10)), (1, STAND)])
                f0 = feet.copy()
                path = (lambda x, f0=f0, spot=spot: f0[None] + (spot - f0)[None] * _smooth(x)[:, None])
                dh = math.degrees((h1 - h + math.pi) % (2 * math.pi) - math.pi)
                kv[:, PI["turn"]] = [0, dh / 2, dh]
                parts.append([0.5 * fps, lambda n, kt=kt, kv=kv, path=path, hh=h: Seg(n, kt, kv, heading=hh,
                                                                                     A=("feet", path))])
            parts.append([_ENTER_S[nxt] * fps, self._enter_factory(nxt, spot, h1)])
            end_feet, end_h = spot, h1
        else:
            end_feet, end_h = feet, h
        need = sum(p[0] for p in parts)
        if need > N:      # not enough time: everything happens faster
            sizes = self._int_sizes([p[0] for p in parts], N)
        else:             # time to spare: catch breath before walking on
            sizes = self._int_sizes([p[0] for p in parts], int(round(need)))
            idle = N - sum(sizes)
            if idle > 0:
                parts.insert(idle_at, [idle, self._idle_factory(feet, h)])
                sizes.insert(idle_at, idle)
        for (nom, fac), n in zip(parts, sizes):
            if n > 0:
                self.emit(fac(n))
        self.feet = end_feet.copy()
        self.heading = end_h
        if nxt is not None:
            self.act = nxt
            self.act_heading = end_h
            self.act_target = self._rep_anchor(nxt, end_feet, end_h)
            if nxt in _BAR_LIFTS:
                self.bar_held = True

    def _approach_after(self, nxt, feet):
        saved = self.feet
        self.feet = feet
        try:
            return self._approach(nxt)
        finally:
            self.feet = saved

    @staticmethod
    def _int_sizes(noms, total):
        if not noms:
            return []
        c = np.round(np.cumsum(noms) / max(sum(noms), 1e-9) * total).astype(int)
        return np.diff(np.concatenate([[0], c])).tolist()

    def build(self):
        blocks = self.w.blocks
        labels = [k for k, _ in blocks]
        for i, (kind, v) in enumerate(blocks):
            if kind in ("rest", "transition"):
                nxt = next((k for k in labels[i + 1:] if k not in ("rest", "transition")), None)
                # a gap followed by another gap: only the last one enters the next movement
                if i + 1 < len(labels) and labels[i + 1] in ("rest", "transition"):
                    nxt_here = None
                else:
                    nxt_here = nxt
                self.gap(self.gap_frames(v), self.act, nxt_here, kind)
            else:
                if int(v) > 0:
                    self.reps(kind, int(v))
        return self


# ----------------------------------------------------------------------------------------------
# simulation (no pixels) and rendering
# ----------------------------------------------------------------------------------------------
class Simulation:
    """Per-frame state of a rendered workout: 3D joints, 2D keypoints, bar and rope, segments."""

    def __init__(self, workout: Workout, width: int = 854, height: int = 480, fps: float = 30):
        self.workout, self.width, self.height, self.fps = workout, int(width), int(height), float(fps)
        self.scene = _Scene(workout, width, height)
        tl = _Timeline(workout, self.scene, fps).build()
        self.n_frames = tl.n
        self.segments = tl.segments
        if tl.n:
            self.joints3d = np.concatenate(tl.out_J)
            self.dirs = np.concatenate(tl.out_D)
            self.params = np.concatenate(tl.out_P)
        else:
            self.joints3d = np.zeros((0, NJ, 3))
            self.dirs = np.zeros((0, 3, 3))
            self.params = np.zeros((0, NP))
        self.bar3d = np.array(tl.bar_c).reshape(-1, 3)
        self.bar_heading = np.array(tl.bar_h)
        self.bar_visible = np.array(tl.bar_vis, dtype=bool)
        self.rope3d = np.array(tl.rope).reshape(-1, 17, 3)
        self.rope_visible = np.array(tl.rope_vis, dtype=bool)
        self.frame_labels = tl.label
        rng = np.random.default_rng([int(workout.seed), 5])
        amp = rng.choice([0.0, 0.0, 1.0, 2.0, 3.0]) * max(self.width / 854, 0.25)
        if amp > 0 and self.n_frames:
            walk = np.cumsum(rng.normal(0, 1, (self.n_frames + 30, 2)), 0)
            k = np.ones(15) / 15
            walk = np.stack([np.convolve(walk[:, i], k, "same") for i in range(2)], 1)[15:15 + self.n_frames]
            walk = walk - walk.mean(0)
            s = np.abs(walk).max() or 1.0
            self.shake = np.round(walk / s * amp).astype(int)
        else:
            self.shake = np.zeros((self.n_frames, 2), dtype=int)
        self.noise_sigma = float(rng.uniform(0.6, 2.6))
        self._renderer = None

    @property
    def keypoints2d(self) -> np.ndarray:
        """(n, NJ, 2) pixel coordinates of JOINTS, camera shake included."""
        uv, _ = self.scene.cam.project(self.joints3d)
        return uv - self.shake[:, None, :]

    @property
    def bar2d(self) -> np.ndarray:
        """(n, 2) pixel position of the bar's centre (NaN where there is no barbell)."""
        uv, _ = self.scene.cam.project(np.nan_to_num(self.bar3d))
        uv = uv - self.shake
        uv[~self.bar_visible] = np.nan
        return uv

    def labels_per_frame(self) -> list:
        return list(self.frame_labels)

    def frame(self, i: int) -> np.ndarray:
        """RGB uint8 (H, W, 3) image of frame i."""
        if self._renderer is None:
            self._renderer = _Renderer(self)
        return self._renderer.frame(i)


def simulate(workout: Workout, width: int = 854, height: int = 480, fps: float = 30) -> Simulation:
    return Simulation(workout, width, height, fps)


def _reps_workout(label: str, n_reps: int, seed: int, fps: float = 30, pad_seconds: float = 0.8) -> Workout:
    if label not in REP_FRAMES_30FPS:
        raise ValueError(f"unknown movement {label!r}")
    rng = np.random.default_rng([int(seed), 9])
    lead = int(round((_ENTER_S[label] + pad_seconds + rng.uniform(0, 0.4)) * fps))
    tail = int(round((_EXIT_S[label] + pad_seconds) * fps))
    blocks = ([("transition", lead)] if pad_seconds >= 0 else []) + [(label, int(n_reps))]
    if pad_seconds > 0:
        blocks.append(("rest", tail))
    return Workout(seed=int(seed), blocks=blocks, fps=float(fps), name=f"{n_reps} x {label}")


def simulate_reps(label: str, n_reps: int, seed: int, width: int = 854, height: int = 480,
                  fps: float = 30, pad_seconds: float = 0.8) -> Simulation:
    return Simulation(_reps_workout(label, n_reps, seed, fps, pad_seconds), width, height, fps)


@functools.lru_cache(maxsize=4096)
def _shade(c, k):
    return (int(min(255, c[0] * k)), int(min(255, c[1] * k)), int(min(255, c[2] * k)))


_CIRC = np.stack([np.cos(np.linspace(0, 2 * np.pi, 14, endpoint=False)),
                  np.sin(np.linspace(0, 2 * np.pi, 14, endpoint=False))], 1)
_SHIFT = 3
_SC = float(1 << _SHIFT)


def _ip(p):
    return (int(round(p[0] * _SC)), int(round(p[1] * _SC)))


class _Renderer:
    def __init__(self, sim: Simulation):
        self.sim = sim
        sc = sim.scene
        self.cam = sc.cam
        self.W, self.H = sim.width, sim.height
        self.pad = int(np.abs(sim.shake).max()) if len(sim.shake) else 0
        rng = np.random.default_rng([int(sim.workout.seed), 6])
        self.rng = rng
        self.px = max(self.W / 854, 0.2)
        self.outline = 1 if self.W >= 320 else 0
        self._static_items()
        self.bg = self._background(rng)
        self._people(rng)
        nr = np.random.default_rng([int(sim.workout.seed), 10])
        # sensor noise: a fixed pattern plus a little temporal noise (cheap for x264 at crf 23)
        self.noise = []
        fixed = nr.normal(0, sim.noise_sigma, (self.H, self.W))
        for _ in range(6):
            z = fixed + nr.normal(0, 0.45 * sim.noise_sigma, (self.H, self.W))
            self.noise.append((np.clip(z, 0, 40).astype(np.uint8), np.clip(-z, 0, 40).astype(np.uint8)))
        self.noise_pick = nr.integers(0, 6, max(sim.n_frames, 1))
        self.gain = 1.0 + 0.015 * np.sin(np.arange(max(sim.n_frames, 1)) / sim.fps * 2 * np.pi * nr.uniform(0.1, 0.4))

    # -- background ------------------------------------------------------------------------------
    def _background(self, rng):
        W, H, pad = self.W, self.H, self.pad
        cam = self.cam
        sc = self.sim.scene
        ys, xs = np.mgrid[0:H + 2 * pad, 0:W + 2 * pad].astype(np.float32)
        px = (xs - pad - cam.cx) / cam.f
        py = (ys - pad - cam.cy) / cam.f
        R = cam.R.astype(np.float32)
        d = R[2][None, None] + px[..., None] * R[0][None, None] - py[..., None] * R[1][None, None]
        C = cam.C.astype(np.float32)
        xs_all = np.array([s.pos[0] for s in sc.stations.values()])
        zs_all = np.array([s.pos[2] for s in sc.stations.values()])
        zb = float(zs_all.min()) - rng.uniform(3.0, 6.0)
        xl = float(xs_all.min()) - rng.uniform(3.5, 7.0)
        xr = float(xs_all.max()) + rng.uniform(3.5, 7.0)
        self.room = (zb, xl, xr)
        big = np.float32(1e9)
        with np.errstate(divide="ignore", invalid="ignore"):
            tf = np.where(d[..., 1] < -1e-6, -C[1] / d[..., 1], big)
            tb = np.where(d[..., 2] < -1e-6, (zb - C[2]) / d[..., 2], big)
            tl = np.where(d[..., 0] < -1e-6, (xl - C[0]) / d[..., 0], big)
            tr = np.where(d[..., 0] > 1e-6, (xr - C[0]) / d[..., 0], big)
        T = np.stack([tf, tb, tl, tr], -1)
        which = T.argmin(-1)
        t = T.min(-1)
        P = C[None, None] + t[..., None] * d
        img = np.zeros((H + 2 * pad, W + 2 * pad, 3), np.float32)
        # floor
        fcols = [(52, 52, 56), (35, 35, 38), (70, 66, 62), (48, 55, 70), (88, 80, 70), (60, 60, 52)]
        fc = np.array(fcols[rng.integers(len(fcols))], np.float32) * rng.uniform(0.8, 1.2)
        tile = float(rng.choice([0.5, 1.0, 1.0]))
        ix = np.floor(P[..., 0] / tile)
        iz = np.floor(P[..., 2] / tile)
        hsh = ((ix * 73856093).astype(np.int64) ^ (iz * 19349663).astype(np.int64)) % 997 / 997.0
        fx = P[..., 0] / tile - ix
        fz = P[..., 2] / tile - iz
        seam = (np.minimum(np.minimum(fx, 1 - fx), np.minimum(fz, 1 - fz)) < 0.012 / tile).astype(np.float32)
        floor = fc[None, None] * (0.93 + 0.12 * hsh[..., None]) * (1 - 0.25 * seam[..., None])
        # wooden platform under the barbell
        bst = sc.stations.get("bar")
        if bst is not None and rng.random() < 0.5:
            q = rotate_y((P - bst.pos.astype(np.float32))[None], np.array([-bst.heading]))[0]
            plat = (np.abs(q[..., 0]) < 1.3) & (np.abs(q[..., 2]) < 1.2)
            wood = np.array([150, 112, 70], np.float32) * (0.9 + 0.1 * np.sin(q[..., 0] * 40)[..., None])
            floor = np.where(plat[..., None], wood, floor)
        # walls
        wcols = [(200, 200, 205), (170, 175, 185), (90, 95, 105), (210, 200, 180), (60, 62, 70), (140, 60, 50),
                 (230, 230, 230), (80, 110, 140)]
        wc = np.array(wcols[rng.integers(len(wcols))], np.float32)
        wc2 = np.array(wcols[rng.integers(len(wcols))], np.float32)
        along = np.where(which == 1, P[..., 0], P[..., 2])
        y = P[..., 1]
        style = rng.integers(3)
        if style == 0:   # vertical panels / stripes
            pw = rng.uniform(0.6, 1.6)
            stripe = (np.floor(along / pw) % 2)[..., None]
            wall = wc * (1 - stripe) + (0.85 * wc + 0.15 * wc2) * stripe
        elif style == 1:  # band
            b0 = rng.uniform(0.8, 1.4)
            band = ((y > b0) & (y < b0 + rng.uniform(0.2, 0.6)))[..., None]
            wall = np.where(band, wc2, wc * (0.9 + 0.1 * (y[..., None] / 4.0)))
        else:            # blocks
            bh, bw = 0.2, 0.4
            row = np.floor(y / bh)
            off = (row % 2) * bw / 2
            fx2 = (along + off) / bw
            mortar = (np.minimum(fx2 % 1, 1 - fx2 % 1) < 0.04) | (np.minimum((y / bh) % 1, 1 - (y / bh) % 1) < 0.06)
            wall = wc[None, None] * (1 - 0.12 * mortar[..., None])
        wall = np.broadcast_to(wall, P.shape).copy()
        side_dark = np.where(which >= 2, 0.82, 1.0)[..., None]
        ceil_h = rng.uniform(3.4, 4.6)
        wall = np.where((y > ceil_h)[..., None], np.array([40, 40, 45], np.float32), wall * side_dark)
        # windows / posters on the back wall
        for _ in range(rng.integers(0, 4)):
            cxw = rng.uniform(xl + 1, xr - 1)
            wy = rng.uniform(1.6, 2.6)
            ww, wh = rng.uniform(0.6, 2.0), rng.uniform(0.5, 1.2)
            m = (which == 1) & (np.abs(P[..., 0] - cxw) < ww / 2) & (np.abs(y - wy) < wh / 2)
            col = np.array(_hsv(rng.uniform(0, 180), rng.uniform(0, 200), rng.uniform(80, 250)), np.float32)
            wall = np.where(m[..., None], col, wall)
        img = np.where((which == 0)[..., None], floor, wall)
        dist = np.linalg.norm(P - C, axis=-1)
        img *= np.clip(1.08 - 0.018 * dist, 0.6, 1.1)[..., None]
        vy, vx = np.ogrid[0:H + 2 * pad, 0:W + 2 * pad]
        r2 = ((vx - (W / 2 + pad)) / (W * 0.75)) ** 2 + ((vy - (H / 2 + pad)) / (H * 0.85)) ** 2
        img *= (1 - 0.25 * r2)[..., None].astype(np.float32)
        img = np.clip(img * rng.uniform(0.85, 1.1), 0, 255).astype(np.uint8)
        self._draw_clutter(img, rng)
        return img

    def _draw_clutter(self, img, rng):
        """Static gym equipment along the back wall (drawn once into the background)."""
        zb, xl, xr = self.room
        items = []
        for _ in range(rng.integers(2, 7)):
            kind = rng.choice(["box", "plates", "ball"])
            x = rng.uniform(xl + 0.5, xr - 0.5)
            z = zb + rng.uniform(0.3, 1.2)
            col = _hsv(rng.uniform(0, 180), rng.uniform(50, 200), rng.uniform(60, 200))
            if kind == "box":
                w, hgt, dd = rng.uniform(0.5, 0.8), rng.choice([0.5, 0.6, 0.75]), rng.uniform(0.4, 0.6)
                corners = np.array([[x + sx * w / 2, sy * hgt, z + sz * dd / 2]
                                    for sx in (-1, 1) for sy in (0, 1) for sz in (-1, 1)])
                items.append((corners, (150, 110, 70) if rng.random() < 0.6 else col))
            elif kind == "plates":
                for k in range(rng.integers(2, 6)):
                    ang = np.linspace(0, 2 * np.pi, 14, endpoint=False)
                    r = 0.225
                    ring = np.stack([x + r * np.cos(ang), 0.04 * k + 0.0 * ang, z + r * np.sin(ang)], 1)
                    top = ring + [0, 0.04, 0]
                    items.append((np.concatenate([ring, top]), col if k % 2 else (35, 35, 35)))
            else:
                ang = np.linspace(0, 2 * np.pi, 14, endpoint=False)
                r = 0.18
                pts = np.stack([x + r * np.cos(ang), r + r * np.sin(ang), z + 0 * ang], 1)
                items.append((pts, col))
        pad = self.pad
        for pts, col in sorted(items, key=lambda it: -np.linalg.norm(it[0].mean(0) - self.cam.C)):
            uv, _ = self.cam.project(pts)
            uv = uv + pad
            hull = cv2.convexHull((uv * _SC).astype(np.int32))
            cv2.fillConvexPoly(img, hull, col, cv2.LINE_AA, _SHIFT)
            cv2.polylines(img, [hull], True, _shade(col, 0.6), 1, cv2.LINE_AA, _SHIFT)

    def _people(self, rng):
        """Background people (baked in, still) and a judge (drawn every frame, swaying)."""
        sc = self.sim.scene
        cam = self.cam
        zb, xl, xr = self.room
        self.judge = None
        sts = list(sc.stations.values())
        depth = lambda P: float((P - cam.C) @ cam.R[2])  # noqa: E731
        far = max(depth(s.pos) for s in sts) + 2.0
        people = []
        for _ in range(int(rng.integers(0, 4))):
            for _try in range(40):
                P = np.array([rng.uniform(xl + 0.6, xr - 0.6), 0.0, rng.uniform(zb + 0.5, zb + 4.0)])
                uv, _ = cam.project(np.array([P, P + [0, 1.7, 0]]))
                if depth(P) > far and -0.05 * self.W < uv[0, 0] < 1.05 * self.W and \
                        all(np.linalg.norm(P - q) > 0.8 for q, _ in people):
                    people.append((P, rng.uniform(-np.pi, np.pi)))
                    break
        for pos, h in sorted(people, key=lambda ph: -depth(ph[0])):
            body = _make_body(rng, muted=True)
            p = [IDLE_HIPS, IDLE_ARMS, IDLE_LOOK, STAND][rng.integers(4)]
            J, D = body_joints(_vec(p)[None], body)
            Jr, Dr = rotate_y(J, np.array([h])), rotate_y(D, np.array([h]))
            root = _place("feet", Jr, pos[None], np.zeros(1), body)
            items: list = []
            self._figure_items(items, Jr[0] + root[0], Dr[0], body, dx=-self.pad, dy=-self.pad)
            for it in sorted(items, key=lambda it: -it[0]):
                it[1](self.bg, *it[2])
        if rng.random() < 0.7 and sts:
            st = sts[rng.integers(len(sts))]
            away = (st.pos - cam.C) * [1, 0, 1]
            away /= np.linalg.norm(away)
            lat = np.cross(away, [0.0, 1.0, 0.0])       # the camera's right, on the floor
            pos = None
            for _try in range(40):
                side = 1 if rng.random() < 0.5 else -1
                P = st.pos + side * rng.uniform(1.3, 2.0) * lat + rng.uniform(0.2, 1.0) * away
                if all(np.linalg.norm((P - q.pos) * [1, 0, 1]) > 1.6 for q in sts):
                    pos = P
                    break
            if pos is None:
                return
            h = math.atan2(st.pos[0] - pos[0], st.pos[2] - pos[2]) + rng.uniform(-0.4, 0.4)
            body = _make_body(rng, muted=True)
            body.shirt = [(20, 20, 20), (230, 230, 230), (200, 30, 30)][rng.integers(3)]
            n = max(self.sim.n_frames, 1)
            t = np.arange(n) / self.sim.fps
            base = [STAND, IDLE_HIPS, pose(UA=40, FA=150, abdA=10, abdF=-20)][rng.integers(3)]
            P = np.repeat(_vec(base)[None], n, 0)
            ph = rng.uniform(0, 2 * np.pi)
            P[:, PI["T"]] += 2.0 * np.sin(2 * np.pi * t / 3.1 + ph)
            P[:, PI["N"]] += 6.0 * np.sin(2 * np.pi * t / 5.3 + ph)
            P[:, PI["turn"]] += 8.0 * np.sin(2 * np.pi * t / 7.0 + ph)
            P[:, PI["THL"]] += 3.0 * np.sin(2 * np.pi * t / 3.1)
            J, D = body_joints(P, body)
            hh = h + np.radians(P[:, PI["turn"]])
            Jr, Dr = rotate_y(J, hh), rotate_y(D, hh)
            root = _place("feet", Jr, np.repeat(pos[None], n, 0), np.zeros(n), body)
            self.judge = (Jr + root[:, None], Dr, body)

    # -- static props (projected once; moved by the shake offset) --------------------------------
    def _static_items(self):
        """Rig, GHD, wall and mat as 3D boxes/capsules: (kind, points3d, colour, depth bias)."""
        sc = self.sim.scene
        self.static = []
        b = sc.body

        def box(center, axes, half, col, bias=0.0):
            pts = np.array([center + sx * half[0] * axes[0] + sy * half[1] * axes[1] + sz * half[2] * axes[2]
                            for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
            self.static.append(("poly", pts, col, bias))

        def capsule(p, q, r, col, bias=0.0):
            self.static.append(("cap", np.array([p, q]), col, bias, r))

        up = np.array([0.0, 1.0, 0.0])
        steel = (45, 45, 50)
        for st in sc.stations.values():
            fwd = np.array([math.sin(st.heading), 0.0, math.cos(st.heading)])
            lat = np.cross(up, fwd)
            if st.kind == "rig":
                bar = st.geo["bar"]
                top = bar[1] + 0.12
                for s in (-1, 1):
                    c = bar * [1, 0, 1] + s * 0.72 * lat
                    box(c + up * top / 2, (lat, up, fwd), (0.04, top / 2, 0.04), steel)
                    box(c + up * 0.02, (lat, up, fwd), (0.05, 0.02, 0.55), steel)
                capsule(bar - 0.76 * lat, bar + 0.76 * lat, 0.017, (150, 150, 155))
                capsule(bar * [1, 0, 1] + up * top - 0.76 * lat, bar * [1, 0, 1] + up * top + 0.76 * lat, 0.03, steel)
            elif st.kind == "ghd":
                pel = st.geo["pelvis"]
                an = st.geo["ankles"].mean(0)
                pad_top = pel[1] - b.r_thigh * 1.2
                pc = pel - up * (pel[1] - pad_top) - 0.05 * fwd
                box(pc - up * 0.07, (lat, up, fwd), (0.2, 0.07, 0.24), (30, 30, 34), bias=5.0)
                box(pc * [1, 0, 1] + up * (pad_top - 0.14) / 2, (lat, up, fwd), (0.04, (pad_top - 0.14) / 2, 0.04),
                    steel, bias=6.0)
                fp = an * [1, 0, 1] + 0.06 * fwd
                box(fp + up * (an[1] - 0.05) / 2, (lat, up, fwd), (0.04, max(an[1] - 0.05, 0.05) / 2, 0.04), steel,
                    bias=6.0)
                box(fp + up * (an[1] - 0.08), (lat, up, fwd), (0.18, 0.015, 0.12), steel, bias=5.5)
                mid = 0.5 * (pc + fp) * [1, 0, 1]
                L = float(np.linalg.norm((fp - pc) * [1, 0, 1])) / 2 + 0.35
                box(mid + up * 0.04, (lat, up, fwd), (0.06, 0.04, L), steel, bias=7.0)
                for dz, dy in ((0.07, 0.04), (-0.06, -0.05)):
                    c = an + dz * fwd + dy * up
                    capsule(c - 0.17 * lat, c + 0.17 * lat, 0.045, (25, 25, 28), bias=-0.3)
            elif st.kind == "wall":
                wd = st.geo["wall_d"]
                c = st.pos + wd * fwd + 0.02 * fwd
                box(c + up * 1.3, (lat, up, fwd), (1.1, 1.3, 0.02), (222, 205, 170), bias=20.0)
                hd = st.geo["head"] * [1, 0, 1]
                box(hd + up * 0.02, (lat, up, fwd), (0.28, 0.02, 0.2), (40, 90, 170), bias=19.0)
                tape = c - 0.03 * fwd + up * 1.6
                box(tape, (lat, up, fwd), (0.5, 0.012, 0.005), (250, 250, 250), bias=19.5)

    # -- figure ----------------------------------------------------------------------------------
    def _figure_items(self, items, Jw, D, body, dx=0.0, dy=0.0, shade_far=True):
        """Append (depth, fn, args) draw items for one figure at world joints Jw (NJ,3)."""
        cam = self.cam
        u, fr, hf = D
        lat = Jw[_SH] - Jw[_SH + 1]
        lat = lat / (np.linalg.norm(lat) + 1e-9)
        pel = Jw[0]
        tr = body.trunk

        def boxpts(a0, a1, w0, w1, d0, d1, fwd_off=0.0):
            c0 = pel + a0 * tr * u + fwd_off * fr
            c1 = pel + a1 * tr * u + fwd_off * fr
            return np.array([c + sx * w * lat + sz * dd * fr for c, w, dd in ((c0, w0, d0), (c1, w1, d1))
                             for sx in (-1, 1) for sz in (-1, 1)])

        torso = boxpts(0.3, 0.96, body.waist_w, body.chest_w, body.torso_d * 0.9, body.torso_d)
        pelvis = boxpts(-0.12, 0.42, body.pelvis_w, body.waist_w * 1.02, body.pelvis_d, body.torso_d * 0.92)
        hc = Jw[2]
        hr = body.head_r
        head_pts = np.array([hc + hf * hr * 0.14, hc - hf * hr * 0.22 + u * hr * 0.1])
        hu = Jw[2] - Jw[1]
        hu = hu / (np.linalg.norm(hu) + 1e-9)
        face_pts, face_n = _face_points(hc + hf * hr * 0.14, hc, hr, hu, hf, np.cross(hu, hf))
        allp = np.concatenate([Jw, torso, pelvis, head_pts, face_pts])
        uv, z = cam.project(allp, dx, dy)
        f = cam.f
        O = 0.55
        ol = self.outline
        zp = z[0]

        def kcol(col, depth):
            return _shade(col, 0.86) if (shade_far and depth > zp + 0.03) else col

        uvi = np.rint(uv * _SC).astype(np.int64).tolist()
        zl = z.tolist()

        def cap(i, j, r, col, frac0=0.0, frac1=1.0, widen=1.0, bias=0.0):
            if frac0 == 0.0 and frac1 == 1.0:
                p, q = uvi[i], uvi[j]
                zz = 0.5 * (zl[i] + zl[j])
            else:
                p, q = _ip(uv[i] + (uv[j] - uv[i]) * frac0), _ip(uv[i] + (uv[j] - uv[i]) * frac1)
                zz = zl[i] + (zl[j] - zl[i]) * (frac0 + frac1) / 2
            t = max(1, int(2 * r * widen * f / zz + 0.5))
            c = kcol(col, zz)
            items.append((zz + bias, _draw_cap, (tuple(p), tuple(q), t, c, _shade(c, O), ol)))

        # torso and pelvis boxes
        ztor = float(z[NJ:NJ + 8].mean())
        items.append((float(z[NJ + 8:NJ + 16].mean()) + 0.001, _draw_hull,
                      (uv[NJ + 8:NJ + 16], kcol(body.shorts, 0), _shade(body.shorts, O), ol)))
        items.append((ztor, _draw_hull, (uv[NJ:NJ + 8], body.shirt, _shade(body.shirt, O), ol)))
        # the neck a shade darker than the face (the shadow under the jaw), so head and neck read apart
        cap(1, 2, body.r_neck, _shade(body.skin, 0.86), 0.0, 0.55, bias=0.002)
        # head: hair behind, face in front
        rh = max(1.0, body.head_r * f / z[2])
        fpt, hpt = uv[NJ + 16], uv[NJ + 17]
        face_near = z[NJ + 16] < z[NJ + 17]
        k0 = NJ + 18
        ears, feats = _face_ops(uv[k0:], (self.cam.C - allp[k0:]), face_n, uv[2], fpt, rh, body.skin,
                                body.hair, face_near)
        items.append((float(z[2]), _draw_head, (_ip(hpt), _ip(fpt), int(round(rh * _SC)), body.hair, body.skin,
                                                face_near, body.long_hair, _ip(uv[2] + (uv[1] - uv[2]) * 0.9),
                                                ears, feats)))
        for k in (0, 1):
            # legs
            cap(_HIP + k, _KN + k, body.r_thigh, body.skin)
            if body.shorts_len > 0:
                cap(_HIP + k, _KN + k, body.r_thigh, body.shorts, 0.0, min(body.shorts_len, 1.0), widen=1.12,
                    bias=-0.001)
            cap(_KN + k, _AN + k, body.r_shank, body.skin if body.shorts_len < 1.0 else body.shorts)
            cap(_KN + k, _AN + k, body.r_shank, body.socks, 0.8, 1.0, widen=1.05, bias=-0.001)
            cap(_HEEL + k, _TOE + k, body.r_foot, body.shoes, bias=-0.002)
            # arms
            cap(_SH + k, _EL + k, body.r_ua, body.skin)
            if body.sleeves > 0:
                cap(_SH + k, _EL + k, body.r_ua, body.shirt, 0.0, body.sleeves, widen=1.15, bias=-0.001)
            cap(_EL + k, _WR + k, body.r_fa, body.skin)
            # a hand, not a forearm that just ends: a little wider than the wrist, its outline drawn
            # over the forearm's end
            cap(_WR + k, _TIP + k, max(body.r_hand, body.r_fa) * 1.25, body.skin, 0.12, 1.0, bias=-0.003)
        return items

    # -- per frame -------------------------------------------------------------------------------
    def frame(self, i: int) -> np.ndarray:
        sim = self.sim
        dx, dy = (int(sim.shake[i, 0]), int(sim.shake[i, 1])) if len(sim.shake) else (0, 0)
        pad = self.pad
        img = self.bg[pad + dy:pad + dy + self.H, pad + dx:pad + dx + self.W].copy()
        items: list = []
        self._figure_items(items, sim.joints3d[i], sim.dirs[i], sim.scene.body, dx, dy)
        if self.judge is not None:
            Jj, Dj, bj = self.judge
            self._figure_items(items, Jj[i], Dj[i], bj, dx, dy)
        self._prop_items(items, i, dx, dy)
        items.sort(key=lambda it: -it[0])
        for it in items:
            it[1](img, *it[2])
        return img

    def _prop_items(self, items, i, dx, dy):
        sim = self.sim
        cam = self.cam
        f = cam.f
        ol = self.outline
        for st in self.static:
            uv, z = cam.project(st[1], dx, dy)
            zz = float(z.mean()) + st[3]
            if st[0] == "poly":
                items.append((zz, _draw_hull, (uv, st[2], _shade(st[2], 0.6), ol)))
            else:
                t = max(2, int(round(2 * st[4] * f / z.mean())))
                items.append((zz, _draw_cap, (_ip(uv[0]), _ip(uv[1]), t, st[2], _shade(st[2], 0.6), ol)))
        if sim.bar_visible[i]:
            self._bar_items(items, sim.bar3d[i], sim.bar_heading[i], dx, dy)
        if sim.rope_visible[i]:
            pts = sim.rope3d[i]
            uv, z = cam.project(pts, dx, dy)
            t = max(1, int(round(2.2 * self.px)))
            col = self._rope_col
            mid = float(z[5:12].mean())
            items.append((mid, _draw_rope, ((uv * _SC).astype(np.int32), t, col)))

    _rope_col = (25, 25, 30)

    def _bar_items(self, items, c, h, dx, dy):
        cam = self.cam
        axis = np.array([math.cos(h), 0.0, -math.sin(h)])   # body lateral axis (x rotated by heading)
        up = np.array([0.0, 1.0, 0.0])
        e2 = np.cross(axis, up)
        pst = self.sim.scene.plates
        segs = [(0.665, 0.76, pst["big"])]
        if pst["two"]:
            segs.append((0.76, 0.80, pst["small"]))
        ring = _CIRC[:, 0:1] * up + _CIRC[:, 1:2] * e2
        pts = [c - 1.1 * axis, c - 0.66 * axis, c + 0.66 * axis, c + 1.1 * axis]
        plates = []
        for s in (-1, 1):
            for a0, a1, col in segs:
                pi_ = c + s * a0 * axis + PLATE_R * ring
                po_ = c + s * a1 * axis + PLATE_R * ring
                plates.append((np.concatenate([pi_, po_]), col, s))
        allp = np.concatenate([np.array(pts)] + [p[0] for p in plates])
        uv, z = cam.project(allp, dx, dy)
        f = cam.f
        steel = (175, 175, 180)
        t = max(2, int(round(2 * 0.015 * f / z[:4].mean())))
        ol = self.outline
        items.append((float(z[1:3].mean()), _draw_cap, (_ip(uv[1]), _ip(uv[2]), t, steel, (90, 90, 95), ol)))
        ts = max(2, int(round(2 * 0.025 * f / z[:4].mean())))
        items.append((float(z[0:2].mean()), _draw_cap, (_ip(uv[0]), _ip(uv[1]), ts, steel, (90, 90, 95), ol)))
        items.append((float(z[2:4].mean()), _draw_cap, (_ip(uv[2]), _ip(uv[3]), ts, steel, (90, 90, 95), ol)))
        k = 4
        toC = cam.C - c
        for P3, col, s in plates:
            n = len(P3)
            puv, pz = uv[k:k + n], z[k:k + n]
            k += n
            face_out = float(np.dot(s * axis, toC - s * 0.7 * axis)) > 0
            face = puv[n // 2:] if face_out else puv[:n // 2]
            items.append((float(pz.mean()), _draw_plate, (puv, face, col)))


def _draw_cap(img, p, q, t, col, ocol, ol):
    if ol:
        cv2.line(img, p, q, ocol, t + 2 * ol, cv2.LINE_AA, _SHIFT)
    cv2.line(img, p, q, col, t, cv2.LINE_AA, _SHIFT)


def _draw_hull(img, uv, col, ocol, ol):
    hull = cv2.convexHull((uv * _SC).astype(np.int32))
    cv2.fillConvexPoly(img, hull, col, cv2.LINE_AA, _SHIFT)
    if ol:
        cv2.polylines(img, [hull], True, ocol, ol, cv2.LINE_AA, _SHIFT)


def _draw_plate(img, puv, face, col):
    hull = cv2.convexHull((puv * _SC).astype(np.int32))
    cv2.fillConvexPoly(img, hull, _shade(col, 0.7), cv2.LINE_AA, _SHIFT)
    f = (face * _SC).astype(np.int32)
    cv2.fillConvexPoly(img, f, col, cv2.LINE_AA, _SHIFT)
    c = face.mean(0)
    hub = ((face - c) * 0.2 + c) * _SC
    cv2.fillConvexPoly(img, hub.astype(np.int32), (185, 185, 190), cv2.LINE_AA, _SHIFT)


# Face features as directions on the face sphere in the head frame (front, up, left); the nose tip
# stands out of the sphere so that in profile it makes the nose bump.
_EYE, _BROW, _MOUTH = 0.47, 0.62, 0.36
_FACE_DIRS = np.array([
    [math.cos(_EYE), 0.02, math.sin(_EYE)], [math.cos(_EYE), 0.02, -math.sin(_EYE)],            # eyes
    [math.cos(_BROW) * 0.93, 0.3, math.sin(_BROW) * 0.93], [math.cos(_BROW) * 0.93, 0.3, -math.sin(_BROW) * 0.93],
    [0.99, 0.0, 0.0], [1.16, -0.26, 0.0], [0.93, -0.36, 0.0],                                   # nose root, tip, base
    [0.86, -0.5, 0.0], [math.cos(_MOUTH) * 0.84, -0.47, math.sin(_MOUTH) * 0.84],               # mouth
    [math.cos(_MOUTH) * 0.84, -0.47, -math.sin(_MOUTH) * 0.84],
    [0.8, 0.6, 0.0],                                                                             # hairline
])
_EARS = np.array([[-0.08, -0.02, 1.0], [-0.08, -0.02, -1.0]])
_FACE_N = np.concatenate([_FACE_DIRS, _EARS, [[0.0, 1.0, 0.0]]])
_FACE_N = _FACE_N / np.linalg.norm(_FACE_N, axis=1, keepdims=True)


def _face_points(fc, hc, r, hu, hf, hl):
    """3D points of the face features (11 on the face sphere at fc, 2 ears on the head at hc, the top
    of the head) and their outward normals."""
    B = np.stack([hf, hu, hl])
    pts = np.concatenate([fc + 0.92 * r * (_FACE_DIRS @ B), hc + r * (_EARS @ B), (hc + r * hu)[None]])
    return pts, _FACE_N @ B


def _face_ops(uv, to_cam, normals, huv, fpt, rh, skin, hair, face_near):
    """cv2 calls (fn, args) drawing the ears (first list: before the head, peeking out at its sides)
    and the face (second list: over it); a feature is drawn where its surface faces the camera."""
    if rh < 3.0:   # too small to see: keep far bystanders cheap
        return (), ()
    cos = ((to_cam * normals).sum(1) / np.sqrt((to_cam * to_cam).sum(1))).tolist()
    P = np.rint(uv * _SC).astype(np.int64).tolist()
    q = uv.tolist()
    hx, hy = float(huv[0]), float(huv[1])
    ux, uy = q[13][0] - hx, q[13][1] - hy
    n = math.hypot(ux, uy) + 1e-9
    ux, uy = ux / n, uy / n
    ang = math.degrees(math.atan2(uy, ux)) + 90.0   # the head's left-right axis in the image
    S, L, R = _SHIFT, cv2.LINE_AA, rh * _SC
    before, after = [], []
    for e in (11, 12):
        c = cos[e]
        ax = (int(R * 0.24 * max(c, 0.35)), int(R * 0.3))
        if c > 0.3:
            after.append((cv2.ellipse, (P[e], ax, ang, 0, 360, _shade(skin, 0.9), -1, L, S)))
            after.append((cv2.ellipse, (P[e], (max(1, ax[0] // 2), max(1, ax[1] // 2)), ang, 0, 360,
                                        _shade(skin, 0.7), -1, L, S)))
        else:
            before.append((cv2.ellipse, (P[e], ax, ang, 0, 360, _shade(skin, 0.9), -1, L, S)))
    if face_near:
        # hair over the top of the head down to the hairline (set back from the face in profile)
        t = min((q[10][0] - hx) * ux + (q[10][1] - hy) * uy, 0.8 * rh)
        cx = hx - (float(fpt[0]) - hx) * 0.8 + ux * t
        cy = hy - (float(fpt[1]) - hy) * 0.8 + uy * t
        a, b = 1.04 * math.sqrt(max(rh * rh - t * t, 0.0)), 1.02 * rh - t
        after.append((cv2.ellipse, (_ip((cx, cy)), (int(a * _SC), int(b * _SC)), ang, 180, 360, hair, -1, L, S)))
    brow = _shade(hair, 0.6)
    lx, ly = -uy, ux
    for e, b in ((0, 2), (1, 3)):
        c = cos[e]
        if c <= 0.15:
            continue
        w = R * 0.19 * min(1.0, c + 0.15)
        after.append((cv2.ellipse, (P[e], (int(w), int(R * 0.12)), ang, 0, 360, (238, 238, 232), -1, L, S)))
        pupil = (int(P[e][0] + (P[4][0] - P[e][0]) * 0.08), int(P[e][1] + (P[4][1] - P[e][1]) * 0.08))
        after.append((cv2.circle, (pupil, int(max(0.8 * _SC, R * 0.1)), (28, 22, 20), -1, L, S)))
        if cos[b] > 0.1:
            dx, dy = int(lx * w * 1.1), int(ly * w * 1.1)
            after.append((cv2.line, ((P[b][0] - dx, P[b][1] - dy), (P[b][0] + dx, P[b][1] + dy), brow,
                                     max(1, int(rh * 0.1 + 0.5)), L, S)))
    if cos[4] > -0.2 or cos[5] > 0:
        after.append((cv2.fillConvexPoly, (np.int32([P[4], P[5], P[6]]), _shade(skin, 0.8), L, S)))
    m = [P[i] for i in (8, 7, 9) if cos[i] > 0.05]
    if len(m) >= 2:
        lips = (int(0.45 * skin[0] + 90), int(0.45 * skin[1] + 25), int(0.45 * skin[2] + 30))
        after.append((cv2.polylines, ([np.int32(m)], False, lips, max(1, int(rh * 0.11 + 0.5)), L, S)))
    return before, after


def _draw_head(img, hpt, fpt, r, hair, skin, face_near, long_hair, nape, ears=(), face=()):
    if long_hair:
        cv2.line(img, hpt, nape, hair, max(1, int(r / _SC)), cv2.LINE_AA, _SHIFT)
    for fn, args in ears:
        fn(img, *args)
    if face_near:
        cv2.circle(img, hpt, int(r * 1.02), hair, -1, cv2.LINE_AA, _SHIFT)
        cv2.circle(img, fpt, int(r * 0.92), skin, -1, cv2.LINE_AA, _SHIFT)
    else:
        cv2.circle(img, fpt, int(r * 0.92), skin, -1, cv2.LINE_AA, _SHIFT)
        cv2.circle(img, hpt, int(r * 1.02), hair, -1, cv2.LINE_AA, _SHIFT)
    for fn, args in face:
        fn(img, *args)


def _draw_rope(img, pts, t, col):
    cv2.polylines(img, [pts], False, col, t, cv2.LINE_AA, _SHIFT)


# ----------------------------------------------------------------------------------------------
# encoding
# ----------------------------------------------------------------------------------------------
def _encode(sim: Simulation, path, progress=None) -> None:
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.part{os.getpid()}.mp4")
    W, H = sim.width, sim.height
    if W % 2 or H % 2:
        raise ValueError("width and height must be even (yuv420p)")
    n = sim.n_frames
    try:
        container = av.open(str(tmp), "w", format="mp4")
        try:
            rate = Fraction(sim.fps).limit_denominator(1001)
            stream = container.add_stream("libx264", rate=rate)
            stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
            # mbtree=0: x264's macroblock-tree rate control made output depend on heap state here
            # (same input, different bytes); without it the bytes are reproducible.
            stream.options = {"crf": "23", "preset": "veryfast", "g": "30", "keyint_min": "30",
                              "threads": "2", "sc_threshold": "0", "x264-params": "mbtree=0"}
            stream.codec_context.time_base = Fraction(1, 1) / rate
            r = _Renderer(sim)
            for i in range(n):
                img = r.frame(i)
                yuv = cv2.cvtColor(img, cv2.COLOR_RGB2YUV_I420)
                Y = yuv[:H]
                pos, neg = r.noise[r.noise_pick[i]]
                cv2.add(Y, pos, dst=Y)
                cv2.subtract(Y, neg, dst=Y)
                fr = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
                fr.pts = i
                for pkt in stream.encode(fr):
                    container.mux(pkt)
                if progress is not None and (i % 15 == 14 or i == n - 1):
                    progress(i + 1, n)
            for pkt in stream.encode():
                container.mux(pkt)
        finally:
            container.close()
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


def render_workout(workout: Workout, path, width: int = 854, height: int = 480, fps: float = 30,
                   progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Render `workout` to an H.264 mp4 at `path`; return its ground-truth rep segments."""
    sim = Simulation(workout, width, height, fps)
    _encode(sim, path, progress)
    return [dict(s) for s in sim.segments]


def render_reps(label: str, n_reps: int, path, seed: int, width: int = 854, height: int = 480,
                fps: float = 30, pad_seconds: float = 0.8) -> list[dict]:
    """A single-movement video: getting into position, `n_reps` reps, a short rest."""
    return render_workout(_reps_workout(label, n_reps, seed, fps, pad_seconds), path, width, height, fps)


# ----------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------
def _preview(out_dir, seed, width, height):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, label in enumerate(DEFAULT_MOVEMENTS):
        sim = simulate_reps(label, 2, seed + k, width, height)
        seg = sim.segments[0]
        n = seg["end"] - seg["start"] + 1
        tiles = []
        for ph in (0.0, 0.25, 0.5, 0.75):
            tiles.append(sim.frame(seg["start"] + int(ph * n)))
        img = np.concatenate([np.concatenate(tiles[:2], 1), np.concatenate(tiles[2:], 1)], 0)
        p = out / f"{k}_{label.replace(' ', '_')}.png"
        cv2.imwrite(str(p), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        paths.append(p)
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m core.demo.synthetic", description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", help="output .mp4")
    ap.add_argument("--movement", choices=DEFAULT_MOVEMENTS)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--workout", action="store_true", help="render a planned workout")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--width", type=int, default=854)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--preview", metavar="DIR", help="write PNG frames (4 phases of a rep) of every movement")
    a = ap.parse_args(argv)
    if a.preview:
        for p in _preview(a.preview, a.seed, a.width, a.height):
            print(p)
        if not a.out:
            return 0
    if not a.out:
        ap.error("OUT.mp4 is required (or --preview DIR)")
    t0 = time.time()
    if a.workout or not a.movement:
        w = plan_workout(a.seed, fps=a.fps, target_seconds=a.seconds)
        print(w.name)
        segs = render_workout(w, a.out, a.width, a.height, a.fps)
    else:
        segs = render_reps(a.movement, a.reps, a.out, a.seed, a.width, a.height, a.fps)
    for s in segs:
        print(f"{s['label']:>18s} {s['start']:6d} {s['end']:6d}")
    print(f"{len(segs)} reps, {time.time() - t0:.1f} s -> {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
