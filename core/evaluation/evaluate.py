"""Evaluation of a movement classifier: metrics, the original study's figures, stored predictions.

Two layers.

1. Pure metrics over a probability matrix (numpy only, no TensorFlow): `evaluate_arrays(probs,
   y_true, labels, clip_ids)` with `probs` float [n_clips, n_classes] (each row the model's class
   probabilities for one clip), `y_true` int [n_clips] (index of the clip's true movement in
   `labels`) and `labels` the class names in the model's order. Every number is defined here:

   - top-1: share of clips whose predicted movement (argmax; ties go to the lower class index)
     is the true one. top-k (k = min(5, classes)): share whose true movement is among the k
     most probable, ranked by a stable sort on -p (ties: lower class index first, so top-1 is
     exactly the k = 1 case).
   - mean class accuracy: the mean over the movements that have at least one clip of their
     recall (correct clips of the movement / clips of the movement).
   - per movement: precision tp / (tp + fp) (NaN when nothing was predicted as it), recall
     tp / (tp + fn) (NaN when it has no clip), F1 = 2 tp / (2 tp + fp + fn) (the harmonic mean of
     the two where both exist; 0 for a movement with clips that is never predicted; NaN when it
     has no clip and is never predicted), support = clips of the movement.
   - confusion matrix: counts[t, p] = clips of true movement t predicted as p (rows = true),
     rates = each row divided by its sum (NaN rows for movements without clips).
   - top-1 interval: percentile bootstrap, `resamples` (default 1000) resamples of the clips with
     replacement from `numpy.random.default_rng(seed)` (default 0); the 2.5 and 97.5 percentiles
     (numpy's default linear interpolation) of the resampled top-1. Deterministic for a seed.
   - expected calibration error: confidence = max probability; 15 equal-width bins on [0, 1]
     (bin b holds confidences in (b/15, (b+1)/15], bin 0 also holds 0);
     ECE = sum over bins of (clips in bin / n) * |accuracy in bin - mean confidence in bin|.
     The reliability diagram is the per-bin (count, accuracy, mean confidence).
   - correlation heatmap (the study's figure): entry (i, j) = the Pearson correlation, across the
     clips whose true movement is j, between the probability of movement i and the probability
     of movement j. So column j describes the clips of movement j. The diagonal is 1 for every
     movement with at least one clip (a variable's correlation with itself). Off the diagonal
     the entry is NaN (undefined) when the movement has fewer than 2 clips, or when either
     probability is constant over those clips (zero variance: max == min exactly). A movement
     with no clip has a column of NaN, diagonal included.
   - probability table (the study's table): per movement, over its clips, the mean and the
     *sample* standard deviation (ddof = 1, pandas' default; NaN for a single clip) of the
     probability the model gave to the true movement; sorted by mean, highest first (movements
     without clips last, NaN).
   - distributions (the study's per-movement plots): long-form table, one row per (clip,
     movement): the clip's true movement, the movement, its probability (`distributions`).

   `compare(report_a, report_b)` gives the differences (b - a) of the headline numbers and of
   every movement's precision, recall, F1, matched by movement name.

2. Model level: `predict_split(ws, model_id, split)` runs a registered model (store table
   `models`) over the clips of a split (`core.dataset.training_cache.examples`: the clips of the split's videos)
   with THE preprocessing (`core.media.video.load_clip`, the model's {frames, resolution, crop}) and
   stores per-clip probabilities in the run folder, `<workspace>/runs/<run_id>/predictions_<split>.npz`
   (`predictions_<split>__<model_id>.npz` when the run registered several models; a model
   without a run uses `runs/model-<model_id>/`). The file holds clip ids, paths and
   fingerprints, y_true, probs, labels and a fingerprint of what they were computed from: the
   model's files (relative name, size, mtime), its labels and preprocessing, and the split's
   clips (clip fingerprint, movement, in order). As long as that fingerprint matches, the stored
   probabilities are used and the model is not even loaded; a retrained model, a re-cut clip or
   remade splits compute them again.

   Model loading is isolated in `_load_predict_fn` (core.modeling.movinet.load_model and its predictor, the
   exact fast CPU path of core.modeling.fastpath).
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from core.base.store import StoreError

TOPK = 5
ECE_BINS = 15
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0
PREDICTIONS_FORMAT = 1
SPLITS = ("train", "val", "test")

# The keys the CLI's --json promises (issue 6); evaluate_arrays returns more.
CLI_KEYS = ("top1", "top5", "mean_class_acc", "n", "per_class", "confusion", "correlation")


class EvaluateError(StoreError):
    """Evaluation cannot run (no such model, no clips in the split, model not loadable); says why."""


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


def ranks(probs) -> np.ndarray:
    """Class indices of each row from most to least probable (stable: ties by lower index)."""
    return np.argsort(-np.asarray(probs, dtype=np.float64), axis=1, kind="stable")


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


def to_jsonable(obj):
    """Plain JSON types; NaN and infinities become None."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


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


def _cell_text(value: float, fmt: str) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)


def figure_confusion(report: dict, mode: str = "counts"):
    """Plotly heatmap of the confusion matrix (rows = true, columns = predicted), hover with count
    and rate. A transparent scatter marker sits on every cell: heatmaps do not report a clicked
    cell in Streamlit, scatter points do (`on_select`, selection_mode="points"); its customdata
    is [true index, predicted index]."""
    import plotly.graph_objects as go

    labels = report["labels"]
    counts = np.asarray(report["confusion"]["counts"], dtype=np.float64)
    rates = np.asarray(report["confusion"]["rates"], dtype=np.float64)
    z = counts if mode == "counts" else rates
    text = [[_cell_text(v, ".0f" if mode == "counts" else ".2f") for v in row] for row in z]
    k = len(labels)
    xs, ys, custom, hover = [], [], [], []
    for t in range(k):
        for p in range(k):
            xs.append(labels[p])
            ys.append(labels[t])
            custom.append([t, p])
            rate = _cell_text(rates[t, p] * 100 if not math.isnan(rates[t, p]) else math.nan, ".1f")
            hover.append(f"true: {labels[t]}<br>predicted: {labels[p]}<br>clips: {int(counts[t, p])}"
                         f"<br>rate of the row: {rate + '%' if rate else 'n/a (no clips)'}")
    fig = go.Figure(go.Heatmap(z=z, x=labels, y=labels, colorscale="Blues", text=text, texttemplate="%{text}",
                               hoverinfo="skip", zmin=0, zmax=None if mode == "counts" else 1,
                               colorbar={"title": "clips" if mode == "counts" else "rate"}))
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", customdata=custom, hovertext=hover, hoverinfo="text",
                             marker={"symbol": "square", "size": 24, "color": "rgba(0,0,0,0)"},
                             selected={"marker": {"opacity": 1}}, unselected={"marker": {"opacity": 1}},
                             showlegend=False, name="cells"))
    # Fixed ranges (the markers must not pad the axes) and hoverdistance -1: a click anywhere in a
    # cell picks the nearest marker, which is that cell's centre.
    fig.update_layout(xaxis={"title": "predicted movement", "range": [-0.5, k - 0.5]},
                      yaxis={"title": "true movement", "range": [k - 0.5, -0.5]},
                      height=160 + 52 * k, margin={"t": 30}, hoverdistance=-1, hovermode="closest")
    return fig


def figure_correlation(report: dict):
    import plotly.graph_objects as go

    labels = report["labels"]
    z = np.asarray(report["correlation"], dtype=np.float64)
    text = [[_cell_text(v, ".2f") or "–" for v in row] for row in z]
    hover = [[f"clips of {labels[j]}<br>corr(p[{labels[i]}], p[{labels[j]}]) = "
              f"{_cell_text(z[i, j], '.3f') or 'undefined (fewer than 2 clips or constant probability)'}"
              for j in range(len(labels))] for i in range(len(labels))]
    fig = go.Figure(go.Heatmap(z=z, x=labels, y=labels, zmin=-1, zmax=1, colorscale="RdBu", reversescale=True,
                               text=text, texttemplate="%{text}", hovertext=hover, hoverinfo="text",
                               colorbar={"title": "Pearson r"}))
    fig.update_layout(xaxis_title="clips of true movement j", yaxis_title="probability of movement i",
                      yaxis={"autorange": "reversed"}, height=160 + 52 * len(labels), margin={"t": 30})
    return fig


def figure_distributions(dist, movement: str):
    """Box plots of every movement's probability over the clips whose true movement is `movement`."""
    import plotly.express as px

    part = dist[dist["true"] == movement]
    fig = px.box(part, x="movement", y="prob", points="all", hover_data=["clip"],
                 title=f"clips of {movement} (n = {part['clip'].nunique()})")
    fig.update_layout(yaxis={"range": [-0.02, 1.02], "title": "probability"}, xaxis_title="movement")
    return fig


def figure_reliability(report: dict):
    import plotly.graph_objects as go

    rel = report["reliability"]
    mids = [(b["lo"] + b["hi"]) / 2 for b in rel]
    width = rel[0]["hi"] - rel[0]["lo"] if rel else 0.1
    acc = [b["accuracy"] if b["count"] else None for b in rel]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=mids, y=acc, width=width * 0.95, name="accuracy",
                         customdata=[[b["count"], b["confidence"]] for b in rel],
                         hovertemplate="confidence %{x:.2f}<br>accuracy %{y:.3f}<br>clips %{customdata[0]}"
                                       "<br>mean confidence %{customdata[1]:.3f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration",
                             line={"dash": "dash", "color": "gray"}))
    fig.update_layout(xaxis={"range": [0, 1], "title": "confidence (max probability)"},
                      yaxis={"range": [0, 1], "title": "accuracy"},
                      title=f"ECE = {_cell_text(report['ece'], '.3f') or 'n/a'} ({report.get('ece_bins', ECE_BINS)} bins)",
                      height=420)
    return fig


FIGURES = ("confusion_counts", "confusion_rates", "correlation", "reliability", "distributions")


def render_figure(report: dict, name: str, fmt: str = "png", dist=None) -> bytes:
    """A report figure as PNG or SVG bytes, drawn with matplotlib (works offline; plotly's own
    image export needs kaleido and a Chrome). `name` in FIGURES; `distributions` draws one box
    plot panel per movement with clips (pass `dist` to reuse a `distributions` frame)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if fmt not in ("png", "svg"):
        raise ValueError("fmt must be png or svg")
    labels = report["labels"]
    k = len(labels)
    if name in ("confusion_counts", "confusion_rates", "correlation"):
        if name == "correlation":
            z = np.asarray(report["correlation"], dtype=np.float64)
            cmap, vmin, vmax, fmt_cell = "RdBu_r", -1, 1, ".2f"
            xlabel, ylabel, title = "clips of true movement j", "probability of movement i", \
                "Correlation of probabilities (column j: clips of movement j)"
        else:
            z = np.asarray(report["confusion"]["counts" if name == "confusion_counts" else "rates"], dtype=np.float64)
            cmap, vmin = "Blues", 0
            vmax = None if name == "confusion_counts" else 1
            fmt_cell = ".0f" if name == "confusion_counts" else ".2f"
            xlabel, ylabel = "predicted movement", "true movement"
            title = "Confusion matrix (" + ("counts" if name == "confusion_counts" else "row rates") + ")"
        fig, ax = plt.subplots(figsize=(1.0 + 0.75 * k, 0.8 + 0.7 * k))
        im = ax.imshow(np.ma.masked_invalid(z), cmap=cmap, vmin=vmin, vmax=vmax)
        fig.colorbar(im, ax=ax, fraction=0.046)
        ax.set_xticks(range(k), labels, rotation=45, ha="right")
        ax.set_yticks(range(k), labels)
        finite = z[np.isfinite(z)]
        top = vmax if vmax is not None else (finite.max() if finite.size else 1)
        for i in range(k):
            for j in range(k):
                v = z[i, j]
                cell = _cell_text(v, fmt_cell) or "–"
                dark = np.isfinite(v) and (abs(v) > 0.6 * top if name != "correlation" else abs(v) > 0.6)
                ax.text(j, i, cell, ha="center", va="center", fontsize=8, color="white" if dark else "black")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
    elif name == "reliability":
        rel = report["reliability"]
        fig, ax = plt.subplots(figsize=(5, 5))
        mids = [(b["lo"] + b["hi"]) / 2 for b in rel]
        acc = [b["accuracy"] if b["count"] else 0 for b in rel]
        width = (rel[0]["hi"] - rel[0]["lo"]) * 0.95 if rel else 0.05
        ax.bar(mids, acc, width=width, edgecolor="black", label="accuracy")
        ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence (max probability)")
        ax.set_ylabel("accuracy")
        ax.set_title(f"Reliability, ECE = {_cell_text(report['ece'], '.3f') or 'n/a'}")
        ax.legend(loc="upper left")
    elif name == "distributions":
        if dist is None:
            raise ValueError("distributions needs the `distributions` frame (dist=…)")
        present = [m for m in labels if (dist["true"] == m).any()]
        cols = min(3, max(1, len(present)))
        rows = max(1, math.ceil(len(present) / cols))
        fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.2 * rows), squeeze=False)
        for ax in axes.flat:
            ax.set_visible(False)
        for ax, m in zip(axes.flat, present):
            ax.set_visible(True)
            part = dist[dist["true"] == m]
            data = [part.loc[part["movement"] == x, "prob"].to_numpy() for x in labels]
            ax.boxplot(data, tick_labels=labels)
            ax.set_ylim(-0.02, 1.02)
            ax.set_title(f"clips of {m} (n = {part['clip'].nunique()})", fontsize=9)
            ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    else:
        raise ValueError(f"unknown figure {name!r}; one of {', '.join(FIGURES)}")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=150)
    plt.close(fig)
    return buf.getvalue()


# ==============================================================================================
# 2. Models, splits, stored predictions
# ==============================================================================================

def _model_row(row) -> dict:
    d = dict(row)
    d["labels"] = json.loads(d["labels"]) if d.get("labels") else []
    d["preprocessing"] = json.loads(d["preprocessing"]) if d.get("preprocessing") else {}
    d["metrics"] = json.loads(d["metrics"]) if d.get("metrics") else None
    return d


def list_models(store) -> list[dict]:
    """Registered models, newest first: {id, run_id, path, labels, preprocessing, metrics, created_at}."""
    with store.read() as con:
        rows = con.execute("SELECT * FROM models ORDER BY created_at DESC, id DESC").fetchall()
    return [_model_row(r) for r in rows]


def resolve_model(store, run_or_model: str) -> dict:
    """The model with this id, else the newest model registered by the run with this id."""
    with store.read() as con:
        row = con.execute("SELECT * FROM models WHERE id = ?", (run_or_model,)).fetchone()
        if row is None:
            row = con.execute("SELECT * FROM models WHERE run_id = ? ORDER BY created_at DESC, id DESC LIMIT 1",
                              (run_or_model,)).fetchone()
    if row is None:
        known = ", ".join(m["id"] for m in list_models(store)) or "none registered yet (train one first)"
        raise EvaluateError(f"No model or run {run_or_model!r} with a registered model; models: {known}.")
    return _model_row(row)


def model_dir(ws, model: dict) -> Path:
    """The model's folder: an absolute path as stored; a relative one inside the workspace, or
    else inside the project (models/ lives there)."""
    from core.base.workspace import PROJECT_ROOT

    p = Path(model["path"])
    if p.is_absolute():
        return p
    in_ws = ws.root / p
    return in_ws if in_ws.exists() or not (PROJECT_ROOT / p).exists() else PROJECT_ROOT / p


def predictions_path(ws, model: dict, split: str) -> Path:
    """Where the predictions of `model` on `split` are stored (see module doc)."""
    store = ws.store()
    run_id = model.get("run_id")
    if not run_id:
        return ws.runs_dir / f"model-{model['id']}" / f"predictions_{split}.npz"
    with store.read() as con:
        n = con.execute("SELECT COUNT(*) FROM models WHERE run_id = ?", (run_id,)).fetchone()[0]
    name = f"predictions_{split}.npz" if n <= 1 else f"predictions_{split}__{model['id']}.npz"
    return ws.runs_dir / run_id / name


def preprocessing(model: dict) -> tuple[int, tuple[int, int], bool]:
    """(frames, (height, width), crop) of a model row's preprocessing JSON {frames, resolution, crop}.

    crop has the training cache's meaning (core.dataset.training_cache): True reads each clip as it was cut (cropped
    to the athlete box when the clip is), False the whole frame. Only an explicit false means
    False: a missing crop, null or a pixel box (core.modeling.movinet.export_model writes the box it applies
    to whole videos, or null) mean the clips as cut, which is what training read."""
    pre = model.get("preprocessing") or {}
    frames = int(pre.get("frames", 10))
    res = pre.get("resolution", pre.get("size", 224))
    size = (int(res), int(res)) if np.isscalar(res) else (int(res[0]), int(res[1]))
    return frames, size, pre.get("crop", True) is not False


def focus(model: dict) -> str | None:
    """The model's focus setting (core.media.video.preprocess): None, or "motion" (each clip or window
    cropped to the square around what moves). Missing in models exported before it existed."""
    return (model.get("preprocessing") or {}).get("focus") or None


def split_clips(ws, model: dict, split: str) -> tuple[list[dict], list[dict]]:
    """(clips of the split the model can be scored on, each with `y` = index of its movement in the
    model's labels; clips of movements the model does not know, left out)."""
    from core.dataset.training_cache import examples

    if split not in SPLITS:
        raise EvaluateError(f"Unknown split {split!r}; use train, val or test.")
    labels = list(model["labels"])
    store = ws.store()
    with store.read() as con:
        ids = {r["path"]: r["id"] for r in con.execute("SELECT id, path FROM clips")}
    keep, skipped = [], []
    for e in examples(ws, split):
        e = dict(e, id=ids.get(e["path"]))
        if e["label"] in labels:
            keep.append(dict(e, y=labels.index(e["label"])))
        else:
            skipped.append(e)
    return keep, skipped


def _model_files(folder: Path) -> list:
    if folder.is_file():
        st = folder.stat()
        return [[folder.name, st.st_size, st.st_mtime_ns]]
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for f in sorted(filenames):
            p = Path(dirpath) / f
            st = p.stat()
            out.append([p.relative_to(folder).as_posix(), st.st_size, st.st_mtime_ns])
    return out


def prediction_fingerprint(ws, model: dict, split: str, clips: list[dict] | None = None) -> str:
    """What stored predictions depend on: the model's files (name, size, mtime), id, labels and
    preprocessing, and the split's clips (fingerprint, movement, in order)."""
    if clips is None:
        clips, _ = split_clips(ws, model, split)
    key = {
        "format": PREDICTIONS_FORMAT,
        "model": model["id"],
        "labels": list(model["labels"]),
        "preprocessing": model.get("preprocessing") or {},
        "files": _model_files(model_dir(ws, model)),
        "split": split,
        "clips": [[c["fingerprint"], c["label"]] for c in clips],
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


@dataclass
class Predictions:
    """Per-clip class probabilities of one model on one split."""
    model_id: str
    split: str
    labels: list[str]
    clip_ids: np.ndarray       # clips table ids (int64; -1 if unknown)
    clip_paths: list[str]      # workspace-relative clip files
    clip_fingerprints: list[str]
    y_true: np.ndarray         # int64 index into labels
    probs: np.ndarray          # float32 [n, len(labels)]
    fingerprint: str
    path: Path
    reused: bool = False
    skipped: list[dict] = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(self.y_true.size)

    def report(self, **kwargs) -> dict:
        rep = evaluate_arrays(self.probs, self.y_true, self.labels, [int(i) for i in self.clip_ids], **kwargs)
        rep.update(model_id=self.model_id, split=self.split, skipped=len(self.skipped))
        for c, path in zip(rep["clips"], self.clip_paths):
            c["path"] = path
        return rep

    def distributions(self):
        return distributions(self.probs, self.y_true, self.labels, [int(i) for i in self.clip_ids])


def save_predictions(path: Path, *, model_id: str, split: str, labels: Sequence[str], clip_ids, clip_paths,
                     clip_fingerprints, y_true, probs, fingerprint: str) -> Path:
    """Write a predictions file atomically (temporary name, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{threading.get_ident()}-{path.name}")
    with open(tmp, "wb") as f:
        np.savez(f, format=np.int64(PREDICTIONS_FORMAT), model_id=np.str_(model_id), split=np.str_(split),
                 labels=np.asarray(list(labels), dtype=str), clip_ids=np.asarray(clip_ids, dtype=np.int64),
                 clip_paths=np.asarray(list(clip_paths), dtype=str),
                 clip_fingerprints=np.asarray(list(clip_fingerprints), dtype=str),
                 y_true=np.asarray(y_true, dtype=np.int64), probs=np.asarray(probs, dtype=np.float32),
                 fingerprint=np.str_(fingerprint))
    os.replace(tmp, path)
    return path


def read_predictions(path: Path) -> Predictions | None:
    """A stored predictions file, or None when there is none (or it is unreadable or of another format)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z["format"]) != PREDICTIONS_FORMAT:
                return None
            return Predictions(
                model_id=str(z["model_id"]), split=str(z["split"]), labels=[str(x) for x in z["labels"]],
                clip_ids=z["clip_ids"].astype(np.int64), clip_paths=[str(x) for x in z["clip_paths"]],
                clip_fingerprints=[str(x) for x in z["clip_fingerprints"]], y_true=z["y_true"].astype(np.int64),
                probs=z["probs"].astype(np.float32), fingerprint=str(z["fingerprint"]), path=path, reused=True)
    except (OSError, ValueError, KeyError):
        return None


def load_predictions(ws, model_id: str, split: str = "test") -> Predictions | None:
    """The stored predictions of the model on the split if they are still valid (same fingerprint),
    else None. Never loads the model."""
    model = resolve_model(ws.store(), model_id)
    clips, skipped = split_clips(ws, model, split)
    stored = read_predictions(predictions_path(ws, model, split))
    if stored is None or stored.fingerprint != prediction_fingerprint(ws, model, split, clips):
        return None
    stored.skipped = skipped
    return stored


def _softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def _as_probs(out) -> np.ndarray:
    """Model output as probabilities: rows already on the simplex are kept, anything else is
    taken as logits (softmax)."""
    out = np.asarray(out, dtype=np.float64)
    if out.ndim == 1:
        out = out[None]
    if out.min() >= 0 and np.allclose(out.sum(axis=-1), 1.0, atol=1e-3):
        return out
    return _softmax(out)


def _load_predict_fn(model: dict, folder: Path) -> Callable[[np.ndarray], np.ndarray]:
    """The one place that turns a registered model into `f(batch float32 [B, T, H, W, 3] in [0, 1])
    -> probabilities [B, classes]`: `core.modeling.movinet.load_model(dir)` (the exported folder: model.json,
    labels.json, preprocessing.json, weights/) and its `predictor()` (core.modeling.fastpath: exact fast CPU
    inference, the reference ops on a GPU). Its labels must be the registered ones, in order."""
    try:
        from core.modeling import movinet as model_module
    except ImportError as exc:  # the training code (TensorFlow) is not there
        raise EvaluateError(f"Cannot load model {model['id']}: core.modeling.movinet is not available ({exc}).") from exc
    if not folder.exists():
        raise EvaluateError(f"The files of model {model['id']} are missing: {folder}.")
    from core.inference.predictor import TFLITE_FILE, PredictError, TFLiteModel, model_kind

    if model_kind(folder) == "tflite":  # a registered TF Lite export (core.modeling.export): its interpreter
        try:
            return TFLiteModel(folder if folder.suffix == ".tflite" else folder / TFLITE_FILE)
        except PredictError as exc:
            raise EvaluateError(f"Cannot load model {model['id']}: {exc}") from exc
    try:
        loaded = model_module.load_model(folder)
    except Exception as exc:
        raise EvaluateError(f"Cannot load model {model['id']} from {folder}: {type(exc).__name__}: {exc}") from exc
    labels = getattr(loaded, "labels", None)
    if labels is not None and list(labels) != list(model["labels"]):
        raise EvaluateError(f"Model {model['id']}: its folder's labels {list(labels)} differ from the registered "
                            f"ones {list(model['labels'])}.")
    if hasattr(loaded, "predictor"):
        fn = loaded.predictor()
    else:  # a bare Keras model
        from core.modeling.fastpath import predictor

        fn = predictor(loaded)

    def run(batch: np.ndarray) -> np.ndarray:
        out = fn(batch)
        if isinstance(out, dict):  # a SavedModel signature: {"logits", "probabilities"}
            out = out.get("probabilities", next(iter(out.values())))
        if hasattr(out, "numpy"):
            out = out.numpy()
        return _as_probs(out)

    return run


def clip_input(ws, clip: dict, frames: int, size, crop: bool, videos: dict, focus: str | None = None) -> np.ndarray:
    """The model input of one clip (a clips-table row as `core.dataset.clips.clips` gives it): float32
    [frames, H, W, 3] in [0, 1], from THE preprocessing (core.media.video.load_clip), read exactly as the
    training cache reads it (core.dataset.training_cache._job: the clip file as cut, or for crop=False on a cropped
    clip the same frames of the source video). `videos`: {id: video row}."""
    from core.dataset.training_cache import _job
    from core.media.video import load_clip

    job = _job(ws, clip, videos, frames, size, crop, 90)
    return load_clip(job["path"], job["start"], job["end"], frames, size, None, focus)


def predict_split(ws, model_id: str, split: str = "test", *, batch_size: int = 4, force: bool = False,
                  progress: Callable[[int, int, str], None] | None = None,
                  cancel: threading.Event | None = None) -> Predictions:
    """Per-clip probabilities of a registered model (id, or a run id) on a split, stored in the run
    folder and reused while the model and the split's clips are unchanged (`force` recomputes).
    progress(done, total, text) after each batch; `cancel` stops (EvaluateError, nothing stored)."""
    store = ws.store()
    model = resolve_model(store, model_id)
    clips, skipped = split_clips(ws, model, split)
    if not clips:
        raise EvaluateError(f"No clips of split {split!r} to evaluate model {model['id']} on: "
                            "cut clips and make splits first" + (f" ({len(skipped)} clips are of movements "
                                                                 "the model does not know)" if skipped else "") + ".")
    fp = prediction_fingerprint(ws, model, split, clips)
    path = predictions_path(ws, model, split)
    if not force:
        stored = read_predictions(path)
        if stored is not None and stored.fingerprint == fp:
            stored.skipped = skipped
            return stored
    folder = model_dir(ws, model)
    predict_fn = _load_predict_fn(model, folder)
    frames, size, crop = preprocessing(model)
    model_focus = focus(model)
    videos = {v["id"]: v for v in store.videos()}
    from core.dataset.clips import clips as clip_table

    rows = {r["path"]: r for r in clip_table(store)}
    probs = np.zeros((len(clips), len(model["labels"])), dtype=np.float32)
    total = len(clips)
    for start in range(0, total, batch_size):
        if cancel is not None and cancel.is_set():
            raise EvaluateError("Evaluation cancelled; nothing was stored.")
        part = clips[start:start + batch_size]
        x = np.stack([clip_input(ws, rows[c["path"]], frames, size, crop, videos, model_focus)
                      for c in part]).astype(np.float32)
        if len(part) < batch_size and total > batch_size:
            # pad the last batch to the same shape: a traced model (core.modeling.fastpath) would trace again
            x = np.concatenate([x, np.repeat(x[-1:], batch_size - len(part), axis=0)])
        out = predict_fn(x)
        if out.shape != (len(x), len(model["labels"])):
            raise EvaluateError(f"Model {model['id']} returned shape {out.shape} for a batch of {len(x)}; "
                                f"expected ({len(x)}, {len(model['labels'])}) — does it match its labels?")
        probs[start:start + len(part)] = out[: len(part)]
        if progress:
            progress(min(start + len(part), total), total, part[-1]["path"])
    save_predictions(path, model_id=model["id"], split=split, labels=model["labels"],
                     clip_ids=[c["id"] if c["id"] is not None else -1 for c in clips],
                     clip_paths=[c["path"] for c in clips], clip_fingerprints=[c["fingerprint"] for c in clips],
                     y_true=[c["y"] for c in clips], probs=probs, fingerprint=fp)
    result = read_predictions(path)
    result.reused = False
    result.skipped = skipped
    return result


def evaluate_model(ws, run_or_model: str, split: str = "test", *, progress=None, cancel=None,
                   resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> dict:
    """predict_split + evaluate_arrays: the report of a model on a split, with model/split info."""
    pred = predict_split(ws, run_or_model, split, progress=progress, cancel=cancel)
    rep = pred.report(resamples=resamples, seed=seed)
    rep["predictions_path"] = ws.relative(pred.path)
    rep["reused_predictions"] = pred.reused
    return rep


# ==============================================================================================
# Command line: python -m core evaluate RUN_OR_MODEL [--split test] [--json] [--out DIR]
# ==============================================================================================

def add_cli(sub, common) -> None:
    """Register the `evaluate` subcommand on core/__main__.py's subparsers."""
    p = sub.add_parser("evaluate", parents=[common],
                       help="metrics and figures of a registered model (or a run's model) on a split")
    p.add_argument("run", metavar="RUN_OR_MODEL", help="a model id, or a run id (its newest model)")
    p.add_argument("--split", choices=SPLITS, default="test",
                   help="clips to score (default test; model selection uses val only)")
    p.add_argument("--json", action="store_true", help="print the whole report as JSON (NaN as null)")
    p.add_argument("--out", metavar="DIR", help="also write report.json, tables (CSV) and figures (PNG, SVG) here")
    p.add_argument("--resamples", type=int, default=BOOTSTRAP_RESAMPLES, help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, default=BOOTSTRAP_SEED, help="bootstrap seed (default 0)")
    p.add_argument("--force", action="store_true", help="recompute the predictions even if stored ones match")
    p.set_defaults(func=cli)


def _pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x * 100:.1f}%"


def format_report(rep: dict) -> str:
    lines = [f"model {rep.get('model_id', '?')} on {rep.get('split', '?')}: {rep['n']} clips",
             f"top-1 {_pct(rep['top1'])} (95% CI {_pct(rep['top1_ci']['low'])}–{_pct(rep['top1_ci']['high'])})  "
             f"top-{rep['k']} {_pct(rep['top5'])}  mean class accuracy {_pct(rep['mean_class_acc'])}  "
             f"ECE {rep['ece']:.3f}" if rep["n"] else "no clips",
             "", f"{'movement':<20}{'precision':>10}{'recall':>10}{'F1':>10}{'support':>9}"]
    for r in rep["per_class"]:
        lines.append(f"{r['movement']:<20}{_pct(r['precision']):>10}{_pct(r['recall']):>10}{_pct(r['f1']):>10}"
                     f"{r['support']:>9}")
    return "\n".join(lines)


def write_outputs(rep: dict, out_dir, dist=None) -> list[Path]:
    """report.json, every table as CSV and every figure as PNG and SVG into out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "report.json"]
    written[0].write_text(json.dumps(to_jsonable(rep), indent=2))
    for name, df in tables(rep).items():
        path = out / f"{name}.csv"
        df.to_csv(path, index=name.startswith(("confusion", "correlation")))
        written.append(path)
    for name in FIGURES:
        if name == "distributions" and dist is None:
            continue
        for fmt in ("png", "svg"):
            path = out / f"{name}.{fmt}"
            path.write_bytes(render_figure(rep, name, fmt, dist=dist))
            written.append(path)
    return written


def cli(args) -> int:
    import sys

    from core.base.workspace import Workspace

    ws = Workspace(args.workspace)

    def progress(done, total, text):
        print(f"[{done}/{total}] {text}", file=sys.stderr, flush=True)

    pred = predict_split(ws, args.run, args.split, progress=progress, force=args.force)
    rep = pred.report(resamples=args.resamples, seed=args.seed)
    rep["predictions_path"] = ws.relative(pred.path)
    rep["reused_predictions"] = pred.reused
    if args.out:
        for path in write_outputs(rep, args.out, dist=pred.distributions()):
            print(f"wrote {path}", file=sys.stderr)
    if args.json:
        print(json.dumps(to_jsonable(rep), indent=2))
    else:
        print(format_report(rep))
    return 0
