"""The pose model: the nine movements + "none" from the athlete's landmarks over time.

Trained on synthetic motion only (`core.demo.motion`: the demo figure's movements seen by random
cameras through a simulated pose estimator), so it needs no real labels and runs on any BlazePose
track (`core.pose.landmarks` arrays: ``frames, xy, visibility[, score]``).

Features of a clip or window (frames ``start..end`` of a track; `clip_features`; layout version 2):

- the 33 landmarks relative to the mid-hip of each step, divided by the clip's torso length (median
  over the clip of mid-shoulder to mid-hip): translation and scale free, gravity kept (image y down);
- their velocities (torso lengths per second, x0.1);
- the body's motion in the image: the paths of the mid-hip, mid-wrist, mid-ankle, mid-shoulder and
  nose relative to their clip means (torso lengths) and their velocities, so that a pull-up (wrists
  still in the image, the body and the feet rising) is not an overhead squat (wrists going down with
  the squat, feet still) even though the body-relative poses are alike;
- a mask (1 where the frame had a pose) and log(clip seconds) (so one model sees reps of 0.4 s and
  windows of 4 s); visibility is not a feature (BlazePose reports ~1 almost everywhere on real video);
- NaN gaps (no pose: NaN rows or score < `min_score`) are linearly interpolated in time before
  resampling to `steps` equally spaced times (default 32) over the clip; a clip with no pose at all
  gives zeros and mask 0.

Models saved with the first layout (hip path only, plus visibility; no ``version`` in their
features) still load and predict with it.

Model: a small temporal conv net (tf.keras via tf_keras, as `core.modeling.movinet`): 4 Conv1D
layers with batch norm, average+max pooling, dropout, 10 logits. Training (`train_pose_model`)
generates synthetic tracks (`core.demo.motion.varied_config`: slow to fast sets, high cameras, strict
pull-ups, low hops; train and val from disjoint seeds: different athletes, cameras, plans) plus a
third as many tracks of movements outside the nine (`core.demo.motion.other_track`: push-ups,
mountain climbers, planks, lunges, jumping jacks, swings, air squats, walking, idling; all "none"),
cuts rep clips (edges jittered: partial reps), windows of 0.7-4 s inside sets, and rest/transition
windows ("none"), class-balanced (the none windows of the other movements are a pool of their own, so
none has two shares); augments every epoch (mirror with FLIP, rotation, anisotropic scale, jitter);
label smoothing 0.1; keeps the best epoch on val; then fits a softmax temperature on val
(`fit_temperature`, never below 1) that `PoseModel.logits` applies.

Saved model folder::

    out_dir/pose_model.keras     the Keras model
    out_dir/pose_model.json      {"kind": "pose", "labels", "features": {steps, min_score, version},
                                  "temperature", "metrics": {...}, ...}

API::

    train_pose_model(out_dir, *, n_train, n_val, epochs, seed, progress=None, cancel=None) -> dict
    load_pose_model(dir) -> PoseModel
    predict_clip(model, track_arrays, start=None, end=None, fps=30.0) -> probs [10]
    predict_clips(model, track_arrays, ranges, fps=30.0) -> probs [n, 10]   (mean with the mirror image)
    clip_features(track_arrays, start=None, end=None, fps=30.0, settings=FeatureSettings()) -> [steps, F]
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from core.base.errors import ModelingError  # noqa: E402
from core.base.labels import DEFAULT_MOVEMENTS  # noqa: E402
from core.base.progress import Progress, check_cancel, report  # noqa: E402
from core.pose.landmarks import FLIP, INDEX, N_LANDMARKS, torso_length  # noqa: E402

__all__ = ["LABELS", "FeatureSettings", "PoseModel", "clip_features", "train_pose_model", "load_pose_model",
           "predict_clip", "predict_clips", "build_model", "make_samples", "rep_samples", "N_FEATURES"]

LABELS = tuple(DEFAULT_MOVEMENTS) + ("none",)
REP_COPIES = 8            # samples cut from each labelled rep of a workspace video (edges jittered)
MODEL_FILE = "pose_model.keras"
META_FILE = "pose_model.json"
_FLIP = np.array(FLIP)
_LS, _RS, _LH, _RH = INDEX["left_shoulder"], INDEX["right_shoulder"], INDEX["left_hip"], INDEX["right_hip"]


@dataclass(frozen=True)
class FeatureSettings:
    steps: int = 32
    min_score: float = 0.3       # frames whose pose score is lower count as no pose
    version: int = 2             # 1: the first layout (hip path only, visibility), still loadable


# image-frame paths: mid-hip, mid-wrist, mid-ankle, mid-shoulder, nose (each relative to its clip mean)
_ANCHORS = ((INDEX["left_hip"], INDEX["right_hip"]), (INDEX["left_wrist"], INDEX["right_wrist"]),
            (INDEX["left_ankle"], INDEX["right_ankle"]), (_LS, _RS), (INDEX["nose"], INDEX["nose"]))
N_ANCHORS = len(_ANCHORS)
N_FEATURES = N_LANDMARKS * 2 * 2 + N_ANCHORS * 2 * 2 + 2
N_FEATURES_V1 = N_LANDMARKS * 2 * 2 + 4 + N_LANDMARKS + 2


def n_features(settings: "FeatureSettings") -> int:
    return N_FEATURES_V1 if settings.version == 1 else N_FEATURES


# ----------------------------------------------------------------------------------------------
# features
# ----------------------------------------------------------------------------------------------
def _fill_gaps(frames: np.ndarray, xy: np.ndarray, vis: np.ndarray, ok: np.ndarray):
    """Linearly interpolate xy/vis over frames without a pose (nearest at the ends)."""
    xy = xy.astype(np.float64)
    vis = vis.astype(np.float64)
    if ok.all():
        return xy, vis
    if not ok.any():
        return np.zeros_like(xy), np.zeros_like(vis)
    t = frames.astype(np.float64)
    good = np.flatnonzero(ok)
    i = np.clip(np.searchsorted(t[good], t, side="right") - 1, 0, len(good) - 1)
    j = np.clip(i + 1, 0, len(good) - 1)
    a, b = good[i], good[j]
    span = t[b] - t[a]
    f = np.where(span > 0, np.clip((t - t[a]) / np.where(span > 0, span, 1), 0, 1), 0.0)
    f = np.where(t < t[good[0]], 0.0, f)
    out = xy[a] * (1 - f)[:, None, None] + xy[b] * f[:, None, None]
    vo = vis[a] * (1 - f)[:, None] + vis[b] * f[:, None]
    out[ok], vo[ok] = xy[ok], vis[ok]
    return out, vo


def _pose_ok(xy: np.ndarray, score: np.ndarray | None, min_score: float) -> np.ndarray:
    ok = np.isfinite(xy).all(axis=(1, 2))
    if score is not None:
        ok &= np.nan_to_num(score, nan=0.0) >= min_score
    return ok


def _normalised(frames, xy, vis, score, start, end, fps, st: FeatureSettings):
    """Resampled hip-relative torso-scaled coords [S,33,2], image-frame anchor paths [S,A,2] (torso
    lengths from their clip means: the body's motion in the image), vis [S,33], mask [S], seconds."""
    S = st.steps
    frames = np.asarray(frames)
    sel = np.ones(len(frames), bool)
    if start is not None:
        sel &= frames >= start
    if end is not None:
        sel &= frames <= end
    idx = np.flatnonzero(sel)
    z = (np.zeros((S, N_LANDMARKS, 2)), np.zeros((S, N_ANCHORS, 2)), np.zeros((S, N_LANDMARKS)), np.zeros(S))
    if not len(idx):
        return (*z, 1.0 / fps)
    fr = frames[idx].astype(np.float64)
    t0 = float(start) if start is not None else fr[0]
    t1 = float(end) if end is not None else fr[-1]
    dur = max(t1 - t0 + 1.0, 1.0) / fps
    ok = _pose_ok(xy[idx], None if score is None else score[idx], st.min_score)
    if not ok.any():
        return (*z, dur)
    P, V = _fill_gaps(fr, xy[idx], vis[idx], ok)
    hip = 0.5 * (P[:, _LH] + P[:, _RH])
    torso = torso_length(P, ok)
    rel = (P - hip[:, None]) / torso
    ts = np.linspace(t0, t1, S)
    i = np.clip(np.searchsorted(fr, ts, side="right") - 1, 0, len(fr) - 1)
    j = np.minimum(i + 1, len(fr) - 1)
    span = fr[j] - fr[i]
    f = np.where(span > 0, np.clip((ts - fr[i]) / np.where(span > 0, span, 1), 0, 1), 0.0)
    lerp = lambda A: A[i] * (1 - f).reshape((-1,) + (1,) * (A.ndim - 1)) + A[j] * f.reshape((-1,) + (1,) * (A.ndim - 1))  # noqa: E731
    rel_s = lerp(rel)
    anc = np.stack([0.5 * (P[:, a] + P[:, b]) for a, b in _ANCHORS], 1)
    hip_s = lerp(anc)
    hip_s = (hip_s - hip_s.mean(0)) / torso
    vis_s = lerp(V)
    mask = lerp(ok.astype(np.float64))
    return rel_s, hip_s, vis_s, mask, dur


def _assemble(rel, hip, vis, mask, dur, version: int = 2) -> np.ndarray:
    """Features [N, S, F] from batched normalised arrays ([N,S,33,2], [N,S,A,2], [N,S,33], [N,S], [N]).
    The visibility is not a feature: BlazePose reports ~1 for almost every landmark on real video, so
    what it says on synthetic tracks would not carry over."""
    N, S = rel.shape[:2]
    dt = (np.asarray(dur, np.float64) / max(S - 1, 1)).reshape(N, 1, 1, 1)
    vel = np.gradient(rel, axis=1) / dt * 0.1
    hvel = np.gradient(hip, axis=1) / dt * 0.1
    ld = np.broadcast_to(np.log(np.asarray(dur, np.float64)).reshape(N, 1, 1), (N, S, 1))
    if version == 1:
        out = np.concatenate([rel.reshape(N, S, -1), np.clip(vel, -3, 3).reshape(N, S, -1), hip[:, :, 0],
                              np.clip(hvel[:, :, 0], -3, 3), vis, mask[..., None], ld], -1)
        return np.nan_to_num(out).astype(np.float32)
    out = np.concatenate([rel.reshape(N, S, -1), np.clip(vel, -3, 3).reshape(N, S, -1), hip.reshape(N, S, -1),
                          np.clip(hvel, -3, 3).reshape(N, S, -1), mask[..., None], ld], -1)
    return np.nan_to_num(out).astype(np.float32)


def clip_features(track: dict, start: int | None = None, end: int | None = None, fps: float = 30.0,
                  settings: FeatureSettings = FeatureSettings()) -> np.ndarray:
    """Features [steps, N_FEATURES] of frames start..end (decoder indices, inclusive) of a pose track."""
    rel, hip, vis, mask, dur = _normalised(track["frames"], np.asarray(track["xy"]), np.asarray(track["visibility"]),
                                           track.get("score"), start, end, fps, settings)
    return _assemble(rel[None], hip[None], vis[None], mask[None], np.array([dur]), settings.version)[0]


def _mirrored(rel, hip, vis):
    """Batched normalised arrays seen in a mirror: left and right landmarks swapped (FLIP), x negated."""
    rel, hip = rel[:, :, _FLIP].copy(), hip.copy()
    rel[..., 0] *= -1
    hip[..., 0] *= -1
    return rel, hip, vis[:, :, _FLIP]


def _augment(rel, hip, vis, mask, rng):
    """Mirror (FLIP), rotation, anisotropic scale and jitter of batched normalised arrays."""
    N = len(rel)
    rel, hip, vis = rel.copy(), hip.copy(), vis.copy()
    m = rng.random(N) < 0.5
    rel[m], hip[m], vis[m] = _mirrored(rel[m], hip[m], vis[m])
    a = np.radians(rng.uniform(-12, 12, N))
    sx, sy = rng.uniform(0.85, 1.15, N), rng.uniform(0.92, 1.08, N)
    c, s = np.cos(a), np.sin(a)
    R = np.stack([np.stack([c * sx, -s * sx], -1), np.stack([s * sy, c * sy], -1)], -2)   # [N,2,2]
    rel = np.einsum("nij,nslj->nsli", R, rel)
    hip = np.einsum("nij,nslj->nsli", R, hip)
    rel += rng.normal(0, 0.01, rel.shape)
    return rel, hip, vis, mask


# ----------------------------------------------------------------------------------------------
# samples from synthetic tracks
# ----------------------------------------------------------------------------------------------
def _candidates(tr, rng, windows_per_track: int):
    """(start, end, label index) clips of one MotionTrack."""
    out = []
    fl = tr.frame_labels()
    nv = tr.n_video_frames
    none = len(LABELS) - 1
    fps = tr.fps
    for r in tr.reps:
        L = r["end"] - r["start"] + 1
        a = r["start"] + int(round(rng.uniform(-0.15, 0.15) * L))
        b = r["end"] + int(round(rng.uniform(-0.15, 0.15) * L))
        if b - a >= 4:
            out.append((max(0, a), min(nv - 1, b), LABELS.index(r["label"])))
    for _ in range(windows_per_track):
        d = int(rng.uniform(0.7, 4.0) * fps)
        if d >= nv:
            continue
        a = int(rng.integers(0, nv - d))
        seg = fl[a:a + d]
        counts = np.bincount(seg[seg >= 0], minlength=len(DEFAULT_MOVEMENTS))
        mov = counts.sum() / len(seg)
        if mov <= 0.2:
            out.append((a, a + d - 1, none))
        elif counts.max() / len(seg) >= 0.6:
            out.append((a, a + d - 1, int(counts.argmax())))
    return out


def make_samples(tracks, n: int, seed: int, settings: FeatureSettings = FeatureSettings()):
    """n class-balanced clips from MotionTracks: normalised arrays (rel, hip, vis, mask, dur) and labels."""
    rng = np.random.default_rng([int(seed), 77])
    cands = []
    other = len(LABELS)       # pool of the none windows of tracks outside the nine (`motion.other_track`)
    for ti, tr in enumerate(tracks):
        is_other = bool(tr.meta.get("other"))
        for a, b, y in _candidates(tr, rng, windows_per_track=max(8, tr.n_video_frames // 60)):
            cands.append((ti, a, b, y, other if is_other else y))
    if not cands:
        raise ModelingError("No training clips could be cut from the synthetic tracks.")
    by = {}
    for c in cands:
        by.setdefault(c[4], []).append(c[:4])
    classes = sorted(by)
    per = int(math.ceil(n / len(classes)))
    chosen = []
    for y in classes:
        pool = by[y]
        pick = rng.choice(len(pool), size=per, replace=len(pool) < per)
        chosen += [pool[i] for i in pick]
    chosen = [chosen[i] for i in rng.permutation(len(chosen))[:n]]
    S = settings.steps
    rel = np.zeros((len(chosen), S, N_LANDMARKS, 2), np.float32)
    hip = np.zeros((len(chosen), S, N_ANCHORS, 2), np.float32)
    vis = np.zeros((len(chosen), S, N_LANDMARKS), np.float32)
    mask = np.zeros((len(chosen), S), np.float32)
    dur = np.zeros(len(chosen), np.float32)
    ys = np.zeros(len(chosen), np.int32)
    for k, (ti, a, b, y) in enumerate(chosen):
        tr = tracks[ti]
        rel[k], hip[k], vis[k], mask[k], dur[k] = _normalised(tr.frames, tr.xy, tr.visibility, tr.score, a, b,
                                                              tr.fps, settings)
        ys[k] = y
    return (rel, hip, vis, mask, dur), ys


def rep_samples(reps, copies: int, seed: int, settings: FeatureSettings = FeatureSettings()):
    """Samples of labelled reps of real (or rendered) videos: `reps` [(track arrays, start, end, label)],
    each cut `copies` times with its edges jittered as the synthetic rep clips are (the first copy as
    labelled); normalised arrays (rel, hip, vis, mask, dur) and labels, as `make_samples` gives."""
    rng = np.random.default_rng([int(seed), 78])
    rows = []
    for arrays, a, b, label in reps:
        L = b - a + 1
        for k in range(max(1, int(copies))):
            j = (0, 0) if k == 0 else tuple(int(round(rng.uniform(-0.15, 0.15) * L)) for _ in range(2))
            rows.append((arrays, a + j[0], b + j[1], LABELS.index(label)))
    S = settings.steps
    n = len(rows)
    out = (np.zeros((n, S, N_LANDMARKS, 2), np.float32), np.zeros((n, S, N_ANCHORS, 2), np.float32),
           np.zeros((n, S, N_LANDMARKS), np.float32), np.zeros((n, S), np.float32), np.zeros(n, np.float32))
    ys = np.zeros(n, np.int32)
    for k, (arrays, a, b, y) in enumerate(rows):
        parts = _normalised(np.asarray(arrays["frames"]), np.asarray(arrays["xy"]), np.asarray(arrays["visibility"]),
                            arrays.get("score"), a, b, float(arrays.get("fps", 30.0) or 30.0), settings)
        for arr, v in zip(out, parts):
            arr[k] = v
        ys[k] = y
    return out, ys


def _joined(X, y, extra):
    """Synthetic samples with labelled reps' samples (`rep_samples`) appended."""
    if extra is None or not len(extra[1]):
        return X, y
    return tuple(np.concatenate([a, b]) for a, b in zip(X, extra[0])), np.concatenate([y, extra[1]])


# ----------------------------------------------------------------------------------------------
# model
# ----------------------------------------------------------------------------------------------
def _keras():
    import tf_keras

    return tf_keras


def build_model(steps: int = 32, n_features: int = N_FEATURES, n_classes: int = len(LABELS), width: int = 96,
                seed: int = 0):
    keras = _keras()
    L = keras.layers
    init = keras.initializers.GlorotUniform(seed=seed)
    inp = keras.Input((steps, n_features), name="pose")
    x = inp
    for k, (ch, ker) in enumerate(((width, 5), (width, 5), (int(width * 4 / 3), 3), (int(width * 4 / 3), 3))):
        x = L.Conv1D(ch, ker, padding="same", use_bias=False, kernel_initializer=init, name=f"conv{k}")(x)
        x = L.BatchNormalization(momentum=0.9, name=f"bn{k}")(x)
        x = L.ReLU(name=f"relu{k}")(x)
        if k == 1:
            x = L.MaxPooling1D(2, name="pool")(x)
    x = L.Concatenate(name="pools")([L.GlobalAveragePooling1D()(x), L.GlobalMaxPooling1D()(x)])
    x = L.Dropout(0.3, seed=seed)(x)
    out = L.Dense(n_classes, kernel_initializer=init, name="logits")(x)
    return keras.Model(inp, out, name="pose_tcn")


@dataclass
class PoseModel:
    keras_model: object
    labels: tuple
    settings: FeatureSettings
    meta: dict

    @property
    def temperature(self) -> float:
        return float(self.meta.get("temperature", 1.0) or 1.0)

    def logits(self, feats: np.ndarray) -> np.ndarray:
        """Calibrated logits: the network's divided by the temperature fitted on val."""
        return np.asarray(self.keras_model(feats, training=False)) / self.temperature


def _softmax(z):
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def predict_clips(model: PoseModel, track: dict, ranges, fps: float = 30.0, batch: int = 256,
                  mirror: bool = True) -> np.ndarray:
    """Probabilities [n, len(labels)] of clips ``[(start, end), ...]`` of a pose track. `mirror`: the
    mean of the clip's and its mirror image's (the nine movements are the same in a mirror, and the model
    learnt both sides; the mean evens out what one side of a noisy track says)."""
    xy, vis = np.asarray(track["xy"]), np.asarray(track["visibility"])
    score = track.get("score")
    parts = [_normalised(track["frames"], xy, vis, score, a, b, fps, model.settings) for a, b in ranges]
    if not parts:
        return np.zeros((0, len(model.labels)), np.float32)
    rel, hip, vis_s, mask = [np.stack([p[k] for p in parts]) for k in range(4)]
    dur = np.array([p[4] for p in parts])
    views = [(rel, hip, vis_s)] + ([_mirrored(rel, hip, vis_s)] if mirror else [])
    # both views in the same calls: one model call per batch, not one per view
    feats = np.concatenate([_assemble(r, h, v, mask, dur, model.settings.version) for r, h, v in views])
    probs = np.concatenate([_softmax(model.logits(feats[i:i + batch])) for i in range(0, len(feats), batch)])
    return probs.reshape(len(views), len(parts), -1).mean(axis=0).astype(np.float32)


def predict_clip(model: PoseModel, track: dict, start: int | None = None, end: int | None = None,
                 fps: float = 30.0, mirror: bool = True) -> np.ndarray:
    """Probabilities [10] (model.labels order) of frames start..end (default: the whole track)."""
    return predict_clips(model, track, [(start, end)], fps, mirror=mirror)[0]


def load_pose_model(path) -> PoseModel:
    path = Path(path)
    meta_p, model_p = path / META_FILE, path / MODEL_FILE
    if not meta_p.is_file() or not model_p.is_file():
        raise ModelingError(f"{path} is not a pose model folder ({META_FILE} and {MODEL_FILE} expected).")
    meta = json.loads(meta_p.read_text())
    keras = _keras()
    try:
        km = keras.models.load_model(str(model_p), compile=False)
    except Exception as e:  # noqa: BLE001 - a broken file is the user's problem to see
        raise ModelingError(f"The pose model in {path} could not be loaded: {e}") from e
    feats = dict(meta.get("features", {}))
    feats.setdefault("version", 1)        # models saved before the version field have the first layout
    st = FeatureSettings(**feats)
    return PoseModel(km, tuple(meta["labels"]), st, meta)


# ----------------------------------------------------------------------------------------------
# training
# ----------------------------------------------------------------------------------------------
def _tracks(seeds, workers, progress, cancel, lo, hi, text, n_other: int = 0, other_base: int = 0):
    """Workout tracks of `seeds` and n_other tracks of movements outside the nine (all none)."""
    from core.demo.motion import generate_tracks, varied_config

    def prog(done, total, _t):
        report(progress, lo + (hi - lo) * done / max(total, 1), 100, f"{text} {done}/{total}")

    seeds = list(seeds)
    workouts = [None] * len(seeds) + ["other"] * n_other
    seeds += list(range(other_base, other_base + n_other))
    return generate_tracks(seeds, varied_config(), workers=workers, workouts=workouts, progress=prog, cancel=cancel)


def fit_temperature(logits: np.ndarray, y: np.ndarray, lo: float = 1.0, hi: float = 5.0) -> float:
    """The temperature in [lo, hi] with the least NLL of softmax(logits / T) on (logits, y). Never
    below 1: a model that is near perfect on synthetic val is not made more confident than trained."""
    best = (np.inf, 1.0)
    for T in np.exp(np.linspace(np.log(lo), np.log(hi), 41)):
        p = _softmax(logits / T)[np.arange(len(y)), y]
        nll = float(np.mean(-np.log(p + 1e-9)))
        if nll < best[0]:
            best = (nll, float(T))
    return best[1]


def evaluate_samples(model: PoseModel, X, y) -> dict:
    feats = _assemble(*X, model.settings.version)
    probs = np.concatenate([_softmax(model.logits(feats[i:i + 512])) for i in range(0, len(feats), 512)])
    pred = probs.argmax(-1)
    C = len(model.labels)
    conf = np.zeros((C, C), np.int64)
    np.add.at(conf, (y, pred), 1)
    per = {model.labels[c]: (float(conf[c, c] / conf[c].sum()) if conf[c].sum() else None) for c in range(C)}
    return {"top1": float((pred == y).mean()), "per_class": per, "confusion": conf.tolist(), "n": int(len(y))}


def train_pose_model(out_dir, *, n_train: int = 12000, n_val: int = 3000, epochs: int = 10, seed: int = 0,
                     progress: Progress | None = None, cancel=None, workers: int | None = None,
                     tracks_per_sample: float = 1 / 40, batch: int = 128, lr: float = 2e-3,
                     labelled: dict | None = None) -> dict:
    """Generate synthetic tracks, train the pose model, keep the best epoch on val, save it in out_dir.
    `labelled`: {"train": [...], "val": [...]} reps of the workspace's labelled videos (`rep_samples`'
    input) joining the synthetic train and val samples. Returns the metrics (also in pose_model.json)."""
    if n_train < 10 or n_val < 10 or epochs < 1:
        raise ModelingError("train_pose_model needs n_train >= 10, n_val >= 10 and epochs >= 1.")
    t0 = time.time()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    st = FeatureSettings()
    n_tr_tracks = max(12, int(round(n_train * tracks_per_sample)))
    n_va_tracks = max(6, int(round(n_val * tracks_per_sample)))
    n_tr_other, n_va_other = max(4, n_tr_tracks // 3), max(3, n_va_tracks // 3)
    # disjoint seeds: train 0..49999, val 50000.. in the seed's block of 100000 (other-motion tracks
    # from 20000 and 70000)
    base = int(seed) * 100_000
    report(progress, 0, 100, "generating synthetic pose tracks")
    tr_tracks = _tracks(range(base, base + n_tr_tracks), workers, progress, cancel, 0, 30, "train tracks",
                        n_tr_other, base + 20_000)
    va_tracks = _tracks(range(base + 50_000, base + 50_000 + n_va_tracks), workers, progress, cancel, 30, 38,
                        "val tracks", n_va_other, base + 70_000)
    check_cancel(cancel, "Training the pose model")
    Xtr, ytr = make_samples(tr_tracks, n_train, seed, st)
    Xva, yva = make_samples(va_tracks, n_val, seed + 1, st)
    labelled = labelled or {}
    real_tr = rep_samples(labelled.get("train") or [], REP_COPIES, seed, st)
    real_va = rep_samples(labelled.get("val") or [], 1, seed + 1, st)
    n_syn_va = len(yva)
    Xtr, ytr = _joined(Xtr, ytr, real_tr)
    Xva, yva = _joined(Xva, yva, real_va)
    gen_s = time.time() - t0
    report(progress, 40, 100, "training")

    import tensorflow as tf

    keras = _keras()
    tf.random.set_seed(int(seed))
    km = build_model(st.steps, seed=int(seed))
    steps_per_epoch = int(math.ceil(len(ytr) / batch))
    sched = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, epochs * steps_per_epoch), alpha=0.05)
    km.compile(optimizer=keras.optimizers.Adam(sched),
               loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1))
    model = PoseModel(km, LABELS, st, {})
    rng = np.random.default_rng([int(seed), 99])
    Fva = _assemble(*Xva)
    best = (-1.0, -1, None)
    history = []
    for ep in range(epochs):
        check_cancel(cancel, "Training the pose model")
        rel, hip, vis, mask = _augment(*Xtr[:4], rng)
        Ftr = _assemble(rel, hip, vis, mask, Xtr[4])
        ytr_1h = np.eye(len(LABELS), dtype=np.float32)[ytr]
        h = km.fit(Ftr, ytr_1h, batch_size=batch, epochs=1, verbose=0, shuffle=True)
        logits = np.concatenate([np.asarray(km(Fva[i:i + 1024], training=False)) for i in range(0, len(Fva), 1024)])
        va_loss = float(np.mean(-np.log(_softmax(logits)[np.arange(len(yva)), yva] + 1e-9)))
        acc = float((logits.argmax(-1) == yva).mean())
        history.append({"epoch": ep + 1, "loss": float(h.history["loss"][-1]), "val_loss": va_loss, "val_top1": acc})
        if acc > best[0]:
            best = (acc, ep + 1, [w.copy() for w in km.get_weights()])
        report(progress, 40 + 58 * (ep + 1) / epochs, 100, f"epoch {ep + 1}/{epochs}: val top-1 {acc:.3f}")
    km.set_weights(best[2])
    logits = np.concatenate([np.asarray(km(Fva[i:i + 1024], training=False)) for i in range(0, len(Fva), 1024)])
    temperature = fit_temperature(logits, yva)
    model.meta = {"temperature": temperature}
    val = evaluate_samples(model, Xva, yva)
    train_s = time.time() - t0
    metrics = {"val_top1": val["top1"], "val_per_class": val["per_class"], "val_confusion": val["confusion"],
               "best_epoch": best[1], "epochs": epochs, "history": history, "n_train": int(len(ytr)),
               "n_val": int(len(yva)), "train_tracks": n_tr_tracks, "val_tracks": n_va_tracks,
               "other_tracks": [n_tr_other, n_va_other], "temperature": round(temperature, 3),
               "generate_s": round(gen_s, 1), "total_s": round(train_s, 1), "seed": int(seed),
               "data": "synthetic (core.demo.motion); val: disjoint seeds (other athletes, cameras, plans)",
               "labelled_reps": {"train": len(labelled.get("train") or []), "val": len(labelled.get("val") or [])}}
    if len(yva) > n_syn_va:   # the workspace's own labelled val reps, apart
        metrics["val_top1_labelled"] = evaluate_samples(model, tuple(a[n_syn_va:] for a in Xva), yva[n_syn_va:])["top1"]
        metrics["data"] += "; plus the workspace's labelled reps (train and val videos)"
    km.save(str(out_dir / MODEL_FILE))
    meta = {"kind": "pose", "labels": list(LABELS), "features": asdict(st), "n_features": N_FEATURES,
            "architecture": "pose_tcn", "fps_assumed": 30.0, "temperature": temperature, "metrics": metrics,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (out_dir / META_FILE).write_text(json.dumps(meta, indent=1))
    model.meta = meta
    report(progress, 100, 100, f"saved: val top-1 {val['top1']:.3f}")
    return metrics
