"""Metrics of a classifier over a probability matrix (numpy only): `evaluate_arrays(probs, y_true,
labels, clip_ids)` with `probs` [n_clips, n_classes], `y_true` the index of each clip's true movement.

- top-1: share of clips whose argmax (ties: lower class index) is the true movement; top-k (k = min(5,
  classes)) ranked by a stable sort on -p.
- mean class accuracy: mean recall over the movements with at least one clip.
- per movement precision, recall, F1, support; confusion counts[t, p] (rows = true) and row rates.
- top-1 interval: percentile bootstrap (default 1000 resamples, seed 0).
- expected calibration error over 15 equal-width confidence bins, and the reliability diagram.
- correlation heatmap (the study's figure): entry (i, j) = Pearson correlation, across the clips of
  movement j, of the probabilities of movements i and j (NaN where undefined).
- probability table: per movement the mean and sample sd of the true movement's probability.
- distributions: one row per (clip, movement) probability.

`compare(report_a, report_b)` gives the differences (b - a) of the headline numbers."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from core.inference.loader import ranks

TOPK = 5
ECE_BINS = 15
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0


# ==============================================================================================
# 1. Pure metrics
# ==============================================================================================

def _check(probs, y_true, labels) -> tuple[np.ndarray, np.ndarray, list[str]]:
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y_true)
    labels = [str(x) for x in labels]
    if p.ndim != 2:
        raise ValueError(f"probs must be [n_clips, n_classes], got shape {p.shape}")
    if p.shape[1] != len(labels):
        raise ValueError(f"probs has {p.shape[1]} classes but {len(labels)} labels were given")
    if y.shape != (p.shape[0],):
        raise ValueError(f"y_true must have one entry per clip ({p.shape[0]}), got shape {y.shape}")
    if y.size and (not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= len(labels)):
        raise ValueError("y_true must hold class indices 0 … n_classes-1")
    return p, y.astype(np.int64), labels


def predict(probs) -> np.ndarray:
    """The predicted class of each clip: argmax, ties to the lower class index."""
    return np.argmax(np.asarray(probs, dtype=np.float64), axis=1)


def topk_correct(probs, y_true, k: int) -> np.ndarray:
    """Per clip: is the true class among the k most probable (ranked as in `ranks`)?"""
    order = ranks(probs)[:, : max(1, int(k))]
    return (order == np.asarray(y_true)[:, None]).any(axis=1)


def _mean(x) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(x.mean()) if x.size else math.nan


def topk_accuracy(probs, y_true, k: int) -> float:
    return _mean(topk_correct(probs, y_true, k))


def confusion_counts(y_true, y_pred, n_classes: int) -> np.ndarray:
    """counts[t, p]: clips of true class t predicted as p (int64, rows = true)."""
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return counts


def row_rates(counts) -> np.ndarray:
    """Each row divided by its sum; rows that sum to 0 are NaN."""
    counts = np.asarray(counts, dtype=np.float64)
    sums = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sums > 0, counts / np.where(sums > 0, sums, 1), np.nan)


def per_class_metrics(counts, labels: Sequence[str]) -> list[dict]:
    """[{movement, precision, recall, f1, support, predicted}] from a confusion matrix (see module doc)."""
    counts = np.asarray(counts, dtype=np.int64)
    out = []
    for c, name in enumerate(labels):
        tp = int(counts[c, c])
        support = int(counts[c].sum())
        predicted = int(counts[:, c].sum())
        fp, fn = predicted - tp, support - tp
        out.append({
            "movement": name,
            "precision": tp / predicted if predicted else math.nan,
            "recall": tp / support if support else math.nan,
            "f1": 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else math.nan,
            "support": support,
            "predicted": predicted,
        })
    return out


def mean_class_accuracy(counts) -> float:
    """Mean of the per-class recall over the classes with at least one clip."""
    counts = np.asarray(counts, dtype=np.float64)
    support = counts.sum(axis=1)
    present = support > 0
    if not present.any():
        return math.nan
    return float(np.mean(np.diag(counts)[present] / support[present]))


def bootstrap_ci(correct, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of a 0/1 vector (the top-1 accuracy)."""
    correct = np.asarray(correct, dtype=np.float64)
    n = correct.size
    if n == 0 or resamples < 1:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(int(resamples), n))
    means = correct[idx].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)


def calibration(probs, y_true, bins: int = ECE_BINS) -> tuple[float, list[dict]]:
    """(ECE, reliability bins [{bin, lo, hi, count, accuracy, confidence, gap}]); see module doc."""
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y_true)
    edges = np.linspace(0.0, 1.0, bins + 1)
    table = []
    if p.shape[0] == 0:
        return math.nan, [{"bin": b, "lo": float(edges[b]), "hi": float(edges[b + 1]), "count": 0,
                           "accuracy": math.nan, "confidence": math.nan, "gap": math.nan} for b in range(bins)]
    conf = p.max(axis=1)
    correct = (predict(p) == y).astype(np.float64)
    # bin b holds (edges[b], edges[b+1]]; confidence 0 goes to bin 0.
    which = np.clip(np.searchsorted(edges[1:-1], conf, side="left"), 0, bins - 1)
    n = conf.size
    ece = 0.0
    for b in range(bins):
        mask = which == b
        count = int(mask.sum())
        acc = float(correct[mask].mean()) if count else math.nan
        mc = float(conf[mask].mean()) if count else math.nan
        if count:
            ece += count / n * abs(acc - mc)
        table.append({"bin": b, "lo": float(edges[b]), "hi": float(edges[b + 1]), "count": count,
                      "accuracy": acc, "confidence": mc, "gap": (acc - mc) if count else math.nan})
    return float(ece), table


def correlation_matrix(probs, y_true, n_classes: int | None = None) -> np.ndarray:
    """The study's heatmap: C[i, j] = Pearson r over the clips of true class j between p_i and p_j.

    Diagonal 1 for classes with >= 1 clip; NaN where undefined (class with < 2 clips off the
    diagonal, constant p_i or p_j over the clips, or no clip at all — whole column NaN)."""
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y_true)
    k = p.shape[1] if n_classes is None else int(n_classes)
    out = np.full((k, k), np.nan)
    for j in range(k):
        rows = p[y == j]
        if rows.shape[0] == 0:
            continue
        out[j, j] = 1.0
        if rows.shape[0] < 2:
            continue
        pj = rows[:, j]
        if pj.max() == pj.min():
            continue
        dj = pj - pj.mean()
        sj = float(np.sqrt(np.sum(dj * dj)))
        for i in range(k):
            if i == j:
                continue
            pi = rows[:, i]
            if pi.max() == pi.min():
                continue
            di = pi - pi.mean()
            si = float(np.sqrt(np.sum(di * di)))
            out[i, j] = float(np.clip(np.sum(di * dj) / (si * sj), -1.0, 1.0))
    return out


def true_prob_table(probs, y_true, labels: Sequence[str]) -> list[dict]:
    """The study's table: per movement {movement, n, mean, sd} of p(true movement) over its clips;
    sd is the sample standard deviation (ddof = 1; NaN for one clip). Sorted by mean, descending,
    movements without clips (mean NaN) last; ties keep the label order."""
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y_true)
    rows = []
    for c, name in enumerate(labels):
        v = p[y == c, c]
        rows.append({"movement": name, "n": int(v.size),
                     "mean": float(v.mean()) if v.size else math.nan,
                     "sd": float(v.std(ddof=1)) if v.size > 1 else math.nan})
    return sorted(rows, key=lambda r: (math.isnan(r["mean"]), -r["mean"] if not math.isnan(r["mean"]) else 0))


def distributions(probs, y_true, labels: Sequence[str], clip_ids=None):
    """Long-form pandas DataFrame, one row per (clip, movement): clip, true, movement, prob —
    for box/violin plots of all movements' probabilities over the clips of each true movement."""
    import pandas as pd

    p, y, labels = _check(probs, y_true, labels)
    n, k = p.shape
    ids = list(range(n)) if clip_ids is None else list(clip_ids)
    return pd.DataFrame({
        "clip": np.repeat(np.asarray(ids, dtype=object), k),
        "true": np.repeat(np.asarray(labels, dtype=object)[y], k) if n else np.array([], dtype=object),
        "movement": np.tile(np.asarray(labels, dtype=object), n),
        "prob": p.reshape(-1),
    })


def clip_rows(probs, y_true, labels: Sequence[str], clip_ids=None, k: int = TOPK) -> list[dict]:
    """Per clip: {clip, true, pred, correct, p_true, p_pred, top (list of [movement, prob], k best)}."""
    p, y, labels = _check(probs, y_true, labels)
    order = ranks(p)[:, : min(k, len(labels))]
    ids = list(range(p.shape[0])) if clip_ids is None else list(clip_ids)
    out = []
    for r in range(p.shape[0]):
        pred = int(order[r, 0])
        out.append({"clip": _plain(ids[r]), "true": labels[y[r]], "pred": labels[pred], "correct": bool(pred == y[r]),
                    "p_true": float(p[r, y[r]]), "p_pred": float(p[r, pred]),
                    "top": [[labels[c], float(p[r, c])] for c in order[r]]})
    return out


def _plain(x):
    return x.item() if isinstance(x, np.generic) else x


def evaluate_arrays(probs, y_true, labels: Sequence[str], clip_ids=None, *,
                    resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED, bins: int = ECE_BINS) -> dict:
    """Every metric and figure table for one probability matrix (definitions in the module doc).

    Keys: n, labels, k, top1, top5 (top-k with k = min(5, classes)), mean_class_acc, top1_ci
    {low, high, level, resamples, seed}, per_class, confusion {counts, rates} (rows = true),
    correlation (rows i, columns j), prob_table, ece, reliability, clips (per clip top-5).
    Floats may be NaN (undefined); `to_jsonable` turns them into null."""
    p, y, labels = _check(probs, y_true, labels)
    n, c = p.shape
    k = min(TOPK, c)
    pred = predict(p) if n else np.zeros(0, dtype=np.int64)
    correct = pred == y
    counts = confusion_counts(y, pred, c)
    low, high = bootstrap_ci(correct, resamples, seed)
    ece, reliability = calibration(p, y, bins)
    return {
        "n": int(n),
        "labels": labels,
        "k": k,
        "top1": _mean(correct),
        "top5": topk_accuracy(p, y, k) if n else math.nan,
        "mean_class_acc": mean_class_accuracy(counts),
        "top1_ci": {"low": low, "high": high, "level": 0.95, "resamples": int(resamples), "seed": int(seed)},
        "per_class": per_class_metrics(counts, labels),
        "confusion": {"labels": labels, "counts": counts.tolist(), "rates": row_rates(counts).tolist()},
        "correlation": correlation_matrix(p, y, c).tolist(),
        "prob_table": true_prob_table(p, y, labels),
        "ece": ece,
        "ece_bins": int(bins),
        "reliability": reliability,
        "clips": clip_rows(p, y, labels, clip_ids, k),
    }


HEADLINE = ("top1", "top5", "mean_class_acc", "ece")


def compare(report_a: dict, report_b: dict) -> dict:
    """Differences b - a: {"headline": [{metric, a, b, diff}], "per_class": [{movement, support_a,
    support_b, precision_a, precision_b, precision_diff, recall_…, f1_…}], "same_clips": bool,
    "paired": {"both_right", "only_a", "only_b", "both_wrong"} when both were computed on the
    same clips (by clip id)}. Movements are matched by name (the union, in a's order, then b's)."""
    headline = [{"metric": m, "a": report_a.get(m, math.nan), "b": report_b.get(m, math.nan),
                 "diff": report_b.get(m, math.nan) - report_a.get(m, math.nan)} for m in HEADLINE]
    ca = {r["movement"]: r for r in report_a["per_class"]}
    cb = {r["movement"]: r for r in report_b["per_class"]}
    names = list(ca) + [m for m in cb if m not in ca]
    rows = []
    for m in names:
        ra, rb = ca.get(m, {}), cb.get(m, {})
        row = {"movement": m, "support_a": ra.get("support", 0), "support_b": rb.get("support", 0)}
        for key in ("precision", "recall", "f1"):
            a, b = ra.get(key, math.nan), rb.get(key, math.nan)
            row[f"{key}_a"], row[f"{key}_b"], row[f"{key}_diff"] = a, b, b - a
        rows.append(row)
    out = {"headline": headline, "per_class": rows, "same_clips": False}
    clips_a = {c["clip"]: c for c in report_a.get("clips", [])}
    clips_b = {c["clip"]: c for c in report_b.get("clips", [])}
    if clips_a and set(clips_a) == set(clips_b):
        out["same_clips"] = True
        paired = {"both_right": 0, "only_a": 0, "only_b": 0, "both_wrong": 0}
        for cid, a in clips_a.items():
            b = clips_b[cid]
            key = ("both_right" if b["correct"] else "only_a") if a["correct"] else \
                ("only_b" if b["correct"] else "both_wrong")
            paired[key] += 1
        out["paired"] = paired
    return out


# ----------------------------------------------------------------------------------------------
# tables (CSV export) and figures (plotly for the page; matplotlib PNG/SVG for export, offline)
# ----------------------------------------------------------------------------------------------

def tables(report: dict) -> dict:
    """The report's tables as pandas DataFrames: per_class, confusion_counts, confusion_rates,
    correlation (index = movement i, columns = true movement j), prob_table, reliability, clips."""
    import pandas as pd

    labels = report["labels"]
    clips = pd.DataFrame([{**{k: v for k, v in c.items() if k != "top"},
                           "top5": "; ".join(f"{m} {p:.3f}" for m, p in c["top"])} for c in report["clips"]])
    return {
        "per_class": pd.DataFrame(report["per_class"]),
        "confusion_counts": pd.DataFrame(report["confusion"]["counts"], index=pd.Index(labels, name="true"),
                                         columns=labels),
        "confusion_rates": pd.DataFrame(report["confusion"]["rates"], index=pd.Index(labels, name="true"),
                                        columns=labels),
        "correlation": pd.DataFrame(report["correlation"], index=pd.Index(labels, name="movement i"),
                                    columns=pd.Index(labels, name="clips of movement j")),
        "prob_table": pd.DataFrame(report["prob_table"]),
        "reliability": pd.DataFrame(report["reliability"]),
        "clips": clips,
    }
