"""Reps from the periodicity of the motion frames: principal components of a segment's frames,
cycle peaks within a movement's rep duration bounds, boundaries snapped to the rep's start pose."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from core.analysis.settings import Settings

# ==============================================================================================
# 3. Reps from the periodicity of the motion
# ==============================================================================================

# Motion-energy profile of one rep (32 phases from the rep's first frame to its last; mean 1),
# per movement: the mean over the labelled reps of the demo workspace's training split (videos
# 5-12 of seed 0), at the default motion_pixels; `learn_phase_templates` recomputes them.
PHASE_TEMPLATES: dict[str, list[float]] = {
    "bar-facing burpee": [0.337, 0.607, 1.209, 1.053, 0.648, 1.778, 1.501, 0.691, 1.264, 0.932, 0.276, 0.742, 1.242, 0.807, 0.725, 1.736, 1.5, 0.593, 1.33, 1.231, 0.478, 0.722, 0.816, 0.463, 1.11, 1.596, 1.359, 1.629, 1.518, 0.635, 0.691, 0.782],
    "chest-to-bar": [0.556, 0.364, 0.448, 0.661, 0.908, 1.23, 1.235, 1.146, 0.886, 0.649, 0.537, 0.695, 0.968, 1.22, 1.417, 1.35, 1.058, 0.673, 0.407, 0.52, 0.893, 0.946, 0.94, 1.447, 1.917, 2.028, 1.739, 1.223, 1.024, 1.055, 0.972, 0.89],
    "deadlift": [0.495, 0.637, 1.066, 1.481, 1.734, 1.708, 1.487, 1.238, 1.155, 1.068, 0.978, 0.846, 0.662, 0.496, 0.385, 0.486, 0.511, 0.5, 0.554, 0.587, 0.783, 0.979, 1.099, 1.153, 1.099, 1.135, 1.259, 1.395, 1.453, 1.358, 1.213, 1.0],
    "double-unders": [1.331, 1.471, 1.611, 1.562, 1.422, 1.23, 1.057, 0.972, 0.959, 0.954, 0.943, 0.907, 0.819, 0.72, 0.675, 0.702, 0.744, 0.736, 0.707, 0.724, 0.729, 0.691, 0.702, 0.797, 0.917, 1.032, 1.135, 1.183, 1.137, 1.089, 1.144, 1.198],
    "ghd": [0.305, 1.154, 1.663, 1.654, 1.312, 0.982, 0.927, 0.919, 0.871, 0.812, 0.834, 0.904, 0.863, 0.842, 1.172, 0.987, 0.488, 1.208, 1.291, 1.034, 0.911, 1.109, 1.295, 1.243, 1.326, 1.102, 0.885, 0.918, 0.95, 0.831, 0.727, 0.478],
    "ohs": [0.16, 0.153, 0.316, 0.652, 0.816, 1.004, 1.194, 1.161, 1.163, 1.225, 1.411, 1.518, 1.52, 1.355, 1.178, 0.784, 0.376, 0.543, 1.032, 1.014, 1.015, 1.127, 1.256, 1.316, 1.349, 1.269, 1.283, 1.312, 1.24, 0.992, 0.837, 0.428],
    "power clean": [0.591, 0.621, 1.018, 1.089, 0.825, 0.595, 0.588, 0.597, 0.71, 1.561, 0.678, 2.131, 1.918, 2.241, 0.826, 0.703, 0.737, 1.031, 0.761, 0.321, 0.295, 0.688, 1.082, 1.453, 1.679, 0.829, 0.446, 0.892, 1.126, 1.255, 1.53, 1.181],
    "shspu": [0.558, 0.39, 0.746, 1.037, 1.235, 1.263, 1.339, 1.14, 0.969, 0.959, 1.231, 1.077, 1.076, 0.862, 0.815, 0.605, 0.703, 1.301, 0.548, 0.481, 0.907, 0.897, 0.785, 0.912, 1.094, 1.018, 1.09, 1.559, 1.648, 1.572, 1.395, 0.787],
    "thruster": [0.319, 0.35, 0.651, 0.893, 1.171, 1.458, 1.601, 1.601, 1.381, 0.789, 0.612, 1.185, 1.637, 1.733, 1.66, 1.53, 1.655, 1.649, 1.192, 0.842, 0.628, 0.4, 0.246, 0.335, 0.702, 0.992, 0.991, 0.879, 0.742, 0.73, 0.749, 0.699],
}

PHASES = 32


def _energy(x: np.ndarray) -> np.ndarray:
    """Frame-difference energy of frames [n, d] (float): mean |x_t - x_{t-1}|, 0 for the first."""
    if len(x) < 2:
        return np.zeros(len(x))
    return np.r_[0.0, np.abs(np.diff(x, axis=0)).mean(axis=1)]


def _fold(e: np.ndarray, a: float, b: float) -> np.ndarray:
    """The energy over [a, b) resampled to PHASES values, mean 1."""
    a, b = int(round(a)), int(round(b))
    seg = e[a:max(b, a + 2)]
    xs = np.linspace(0, len(seg) - 1, PHASES)
    prof = np.interp(xs, np.arange(len(seg)), seg)
    return prof / (prof.mean() + 1e-9)


def rep_bounds(movement: str | None, fps: float, prior: str = "movement") -> tuple[int, int]:
    """(shortest, longest) plausible rep in frames.

    "movement": MOVEMENTS.md's timing of elite athletes (the synthetic generator's bounds);
    "slow": the same shortest rep, but reps may last up to 4.5 s (amateurs, kettlebells, scaled
    movements: real reps are often twice as slow as competition reps); "broad" (and unknown
    movements): 0.3-4.5 s."""
    fps = fps if fps and fps > 0 else 30.0
    broad = (max(3, int(0.3 * fps)), max(6, int(4.5 * fps)))
    if prior in ("movement", "slow") and movement:
        try:
            from core.demo.synthetic import rep_frame_bounds

            lo, hi = rep_frame_bounds(movement, fps)
        except (KeyError, ImportError):
            return broad
        return (lo, hi) if prior == "movement" else (lo, max(hi, broad[1]))
    return broad


def _components(x: np.ndarray, k: int = 4, iterations: int = 4) -> np.ndarray:
    """Projections [n, k] of frames x [n, d] on their top-k principal components (randomised
    subspace iteration with a fixed seed: deterministic, and ~50x faster than a full
    eigendecomposition of a long segment)."""
    xc = x - x.mean(axis=0)
    n, d = xc.shape
    k = min(k, n, d)
    rng = np.random.default_rng(0)
    q = np.linalg.qr(xc @ rng.standard_normal((d, k + 6)).astype(xc.dtype))[0]
    for _ in range(iterations):
        q = np.linalg.qr(xc @ (xc.T @ q))[0]
    u, sv, _ = np.linalg.svd(q.T @ xc, full_matrices=False)
    return (q @ u[:, :k]) * sv[:k]


def _cycles(x: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, float] | None:
    """Cycle points (peak frames) and the median cycle length of frames x [n, d], or None."""
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import find_peaks

    if len(x) < max(6, lo):
        return None
    comps = _components(x)
    xc = x - x.mean(axis=0)
    ref = 2.0 * float(np.mean(np.sum(xc * xc, axis=1))) + 1e-12  # mean squared distance of two frames
    if ref < 1e-9 * x.shape[1]:  # still frames: the components are rounding noise
        return None
    best = None
    for j in range(comps.shape[1]):
        sig = gaussian_filter1d(comps[:, j], 1.5)
        spread = float(np.percentile(sig, 95) - np.percentile(sig, 5))
        if spread <= 0:
            continue
        for sign in (1.0, -1.0):
            peaks, _ = find_peaks(sign * sig, distance=max(3, int(lo * 0.9)), prominence=0.3 * spread)
            if len(peaks) < 2:
                continue
            iv = np.diff(peaks)
            cv = float(iv.std() / iv.mean())
            med = float(np.median(iv))
            off = 0.0 if 0.8 * lo <= med <= 1.2 * hi else 1.0
            alike = float(np.mean(np.sum((x[peaks[1:]] - x[peaks[:-1]]) ** 2, axis=1))) / ref
            score = cv + off + alike + 0.1 * j
            if best is None or score < best[0]:
                best = (score, peaks, med)
    if best is None:
        return None
    peaks = _trim_cycles(x, best[1], best[2])
    if len(peaks) < 2:
        return None
    return peaks, float(np.median(np.diff(peaks)))


def _trim_cycles(x: np.ndarray, peaks: np.ndarray, med: float, points: int = 12) -> np.ndarray:
    """Drop cycles at either end that do not look like the set's typical cycle: a segment found
    by the classifier often reaches into the walk to or from the station, whose steps or set-up
    make peaks too. A cycle (its frames resampled to `points` frames) is dropped from an end while
    it lies more than 3x the median distance from the median cycle or lasts under 0.6x / over 1.6x
    the median cycle."""
    if len(peaks) < 4:
        return peaks
    cycles = []
    for a, b in zip(peaks[:-1], peaks[1:]):
        idx = np.linspace(a, b, points).round().astype(int)
        cycles.append(x[idx].ravel())
    cycles = np.asarray(cycles)
    typical = np.median(cycles, axis=0)
    dist = np.mean((cycles - typical) ** 2, axis=1)
    scale = float(np.median(dist)) + 1e-12
    lens = np.diff(peaks)

    def odd(i: int) -> bool:
        return dist[i] > 3.0 * scale or not 0.6 * med <= lens[i] <= 1.6 * med

    lo, hi = 0, len(cycles) - 1
    while lo < hi and odd(lo):
        lo += 1
    while hi > lo and odd(hi):
        hi -= 1
    return peaks[lo:hi + 2]


def count_reps(gray: np.ndarray, start: int, end: int, fps: float, movement: str | None = None,
               settings: Settings | None = None) -> list[tuple[int, int]]:
    """Reps [(first, last), ...] (inclusive video frames) of the movement done in frames
    start..end of the motion frames `gray` [n, h, w] (uint8), looking `margin_s` beyond both ends.
    See the module doc; [] when no rep cycle is found."""
    settings = settings or Settings()
    n = len(gray)
    margin = int(round(settings.margin_s * (fps or 30.0)))
    a, b = max(0, int(start) - margin), min(n - 1, int(end) + margin)
    if b - a < 4:
        return []
    x = gray[a:b + 1].reshape(b - a + 1, -1).astype(np.float32) / 255.0
    lo, hi = rep_bounds(movement, fps, settings.prior)
    found = _cycles(x, lo, hi)
    if found is None:
        return []
    peaks, med = found
    e = _energy(x)
    lens = np.diff(peaks).astype(np.float64)
    phase = 0.0
    template = PHASE_TEMPLATES.get(movement or "")
    if template is not None and len(peaks) >= 2:
        observed = np.mean([_fold(e, peaks[i], peaks[i + 1]) for i in range(len(peaks) - 1)], axis=0)
        tmpl = np.asarray(template, np.float64)
        shift = int(np.argmax([np.dot(np.roll(tmpl, s), observed) for s in range(PHASES)]))
        phase = shift / PHASES
    bounds = [float(peaks[i] + phase * lens[i]) for i in range(len(lens))]
    if phase == 0.0:
        bounds.append(float(peaks[-1]))
    inside = e[int(bounds[0]):int(bounds[-1]) + 1].mean() if len(bounds) > 1 else e.mean()
    slack = 0.2 * med
    last = len(x) - 1
    # A rep ends in the pose it started from: an extra cycle is taken only if its far boundary
    # looks like the boundaries found so far (and the motion in it is as active as inside).
    bx = x[np.clip(np.round(bounds).astype(int), 0, last)]
    step = np.sum((bx[1:] - bx[:-1]) ** 2, axis=1) if len(bx) > 1 else np.zeros(1)
    spread = 2.0 * float(np.mean(np.sum((x - x.mean(0)) ** 2, axis=1)))  # two random frames, squared
    alike = max(2.0 * float(np.median(step)), settings.boundary_alike * spread)

    def snap(f: float, near: float) -> float | None:
        """The frame within 0.3 cycles of f that looks most like the boundary at `near`, or None."""
        if not settings.boundary_check:
            return f
        j = int(np.clip(round(near), 0, last))
        lo_f, hi_f = int(max(0, math.floor(f - 0.3 * med))), int(min(last, math.ceil(f + 0.3 * med)))
        if hi_f < lo_f:
            return None
        d = np.sum((x[lo_f:hi_f + 1] - x[j]) ** 2, axis=1)
        # among equally good frames (a pose held still) the one nearest the expected place
        off = np.abs(np.arange(lo_f, hi_f + 1) - f) / max(1.0, 0.3 * med)
        k = int(np.argmin(d + 0.01 * alike * off))
        return float(lo_f + k) if d[k] <= alike else None

    # ... and the cycle itself must look like the set's cycles (the walk to the station and the
    # set-up before the first rep move too)
    def shape(a_: float, b_: float) -> np.ndarray:
        idx = np.clip(np.linspace(a_, b_, 12).round().astype(int), 0, last)
        return x[idx].ravel()

    inner = [shape(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
    typical = np.median(inner, axis=0) if len(inner) >= 3 else None
    if typical is not None:
        # (floored at 2 % of two random frames' difference: identical cycles - a still camera,
        # a perfectly regular athlete - must not make every other cycle look foreign)
        scale = float(np.median([np.mean((c - typical) ** 2) for c in inner])) + 0.02 * spread / x.shape[1] + 1e-12

    def like_a_rep(a_: float, b_: float) -> bool:
        return typical is None or not settings.boundary_check or \
            float(np.mean((shape(a_, b_) - typical) ** 2)) <= settings.cycle_alike * scale

    while True:  # whole cycles after the last boundary
        nxt = bounds[-1] + med
        if nxt > last + 1 + slack or e[int(bounds[-1]):min(len(x), int(nxt) + 1)].mean() < 0.7 * inside:
            break
        at = snap(min(nxt, float(last)), bounds[-1])
        if at is None or at - bounds[-1] < 0.5 * med or not like_a_rep(bounds[-1], at):
            break
        bounds.append(at if at < last else last + 1.0)
    while True:  # and before the first
        prv = bounds[0] - med
        if prv < -slack or e[max(0, int(prv)):int(bounds[0]) + 1].mean() < 0.7 * inside:
            break
        at = snap(max(prv, 0.0), bounds[0])
        if at is None or bounds[0] - at < 0.5 * med or not like_a_rep(at, bounds[0]):
            break
        bounds.insert(0, at)
    edges = np.round(bounds).astype(int)
    reps = []
    for i in range(len(edges) - 1):
        s, t = int(edges[i]) + a, int(edges[i + 1]) - 1 + a
        if t >= s:
            reps.append((s, min(t, n - 1)))
    return reps


def learn_phase_templates(videos: Sequence[tuple[np.ndarray, list[dict]]]) -> dict[str, list[float]]:
    """Per-movement energy profiles of one rep from (motion frames [n, h, w] uint8, reps
    [{label, start, end}]) pairs (see PHASE_TEMPLATES)."""
    acc: dict[str, list[np.ndarray]] = {}
    for gray, reps in videos:
        x = gray.reshape(len(gray), -1).astype(np.float32) / 255.0
        e = _energy(x)
        for r in reps:
            if r["end"] - r["start"] >= 3:
                acc.setdefault(r["label"], []).append(_fold(e, r["start"], r["end"] + 1))
    return {m: [round(float(v), 3) for v in np.mean(p, axis=0)] for m, p in sorted(acc.items())}
