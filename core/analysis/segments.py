"""Movement segments from per-frame probabilities: a Viterbi path with a switching penalty and a
none state, runs of one state, short runs dropped."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from core.analysis.settings import Settings

# ==============================================================================================
# 2. Segments: Viterbi with a switching penalty and a none state
# ==============================================================================================

def viterbi(scores: np.ndarray, switch_penalty: float) -> np.ndarray:
    """Best state path of per-frame scores [n, S] (higher is better) where every change of state
    costs `switch_penalty`. Returns [n] state indices."""
    n, s = scores.shape
    if n == 0:
        return np.zeros(0, np.int64)
    back = np.zeros((n, s), np.int64)
    cur = scores[0].astype(np.float64).copy()
    ar = np.arange(s)
    for t in range(1, n):
        best = int(np.argmax(cur))
        switch = cur[best] - switch_penalty
        stay = cur >= switch
        back[t] = np.where(stay, ar, best)
        cur = np.where(stay, cur, switch) + scores[t]
    path = np.empty(n, np.int64)
    path[-1] = int(np.argmax(cur))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def runs(path: Sequence[int]) -> list[tuple[int, int, int]]:
    """(value, start, end) of the runs of equal values in `path` (end inclusive)."""
    out = []
    path = np.asarray(path)
    if len(path) == 0:
        return out
    cuts = np.flatnonzero(np.diff(path)) + 1
    starts = np.r_[0, cuts]
    ends = np.r_[cuts - 1, len(path) - 1]
    return [(int(path[a]), int(a), int(b)) for a, b in zip(starts, ends)]


def segment_probs(fprobs: np.ndarray, fps: float, settings: Settings | None = None,
                  none_index: int | None = None) -> list[dict]:
    """Per-frame movement probabilities [n, K] -> movement segments
    [{"index": k, "start_frame", "end_frame", "confidence"}] (none left out), by start.
    none_index: the column of a model's own `none` class (a window-trained model): the none state
    scores its probability; without one, none scores the constant `none_threshold`."""
    settings = settings or Settings()
    fprobs = np.asarray(fprobs, np.float64)
    n, k = fprobs.shape
    if none_index is None:
        scores = np.empty((n, k + 1))
        scores[:, :k] = np.log(np.clip(fprobs, 1e-6, 1.0))
        scores[:, k] = math.log(max(1e-6, settings.none_threshold))
    else:
        scores = np.log(np.clip(fprobs, 1e-6, 1.0))
        k = int(none_index)
        scores[:, k] += math.log(max(1e-6, settings.none_weight))
    path = viterbi(scores, settings.switch_penalty)
    min_len = max(1, int(round(settings.min_segment_s * (fps or 30.0))))
    kept = [(state, a, b) for state, a, b in runs(path) if state != k and b - a + 1 >= min_len]
    merged: list[list[int]] = []
    for state, a, b in kept:  # a short blip dropped between two runs of one movement: one segment
        if merged and merged[-1][0] == state and a - merged[-1][2] - 1 < min_len:
            merged[-1][2] = b
        else:
            merged.append([state, a, b])
    return [{"index": s, "start_frame": a, "end_frame": b, "confidence": float(fprobs[a:b + 1, s].mean())}
            for s, a, b in merged]
