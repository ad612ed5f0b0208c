"""BlazePose on RGB uint8 frames (H, W, 3) with LiteRT: person detection, landmarks, tracking.

The pipeline follows MediaPipe's pose graphs (``pose_detection_cpu.pbtxt``,
``pose_detection_to_roi.pbtxt``, ``pose_landmark_by_roi_cpu.pbtxt`` and its post-processing,
``pose_landmarks_to_roi.pbtxt``, ``pose_landmark_filtering.pbtxt``), re-implemented with numpy
and OpenCV:

Detector (224x224, input in [-1, 1]). The frame is letterboxed (aspect kept, centred, zero
border). 2254 SSD anchors: strides 8, 16, 32, 32, 32 over 224 px, two anchors per cell per layer
(aspect ratio 1 plus the interpolated scale), fixed size, centre offset 0.5; the three stride-32
layers share one 7x7 grid: 28²·2 + 14²·2 + 7²·6 = 2254. Each anchor regresses 12 numbers: a
face box (x, y, w, h) and four keypoints (mid hip, full-body size/rotation point, mid shoulder,
upper-body point), in 224-px units relative to the anchor centre. Score: sigmoid of the logit
clipped to ±100, candidates above 0.2, weighted non-maximum suppression at IoU 0.3 (overlapping
candidates averaged by score), then `min_detection_score` (MediaPipe's default 0.5).

ROI. A person's region of interest is a rotated square: centre at the mid hip, rotation making
the hip→size-point vector point up, side 2 × |hip − size point| × 1.25 (in pixels).

Landmarks (256x256, input in [0, 1]). The ROI is warped to 256x256 (cv2.warpAffine, replicated
border). Outputs: 39 × (x, y, z, visibility, presence) in crop pixels (33 landmarks + 2 auxiliary
ROI points + 4 unused), the pose flag (a probability), a 64x64x39 heatmap that refines x, y
(7x7 window, sigmoid weights, only where its peak is >= 0.5), segmentation and world
coordinates (unused here). Visibility is the sigmoid of its logit. Points are projected back
through the ROI to image pixels; z is scaled like x (crop px × ROI side / 256).

Tracking. The next frame's ROI comes from the two auxiliary landmarks (33: centre, 34: size and
rotation point), the same rule as from a detection. When the pose flag drops below
`presence_threshold` (0.5) the person is lost and the detector runs again (on the same frame).

Times of both models (preprocessing + inference + decoding) are kept in `timings` (ms).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple, Sequence

import cv2
import numpy as np

from core.base.errors import PoseError
from core.pose.landmarks import N_LANDMARKS

__all__ = ["Roi", "Detection", "LandmarkResult", "PoseEstimator", "ssd_anchors", "decode_detections",
           "weighted_nms", "roi_from_points", "one_euro_filter", "intersection", "iou", "nearest_detection",
           "landmark_box", "detector_views", "MODEL_NAME"]

MODEL_NAME = "blazepose-full (mediapipe 0.10.21)"

DET_SIZE = 224
LM_SIZE = 256
N_RAW_LANDMARKS = 39
ROI_SCALE = 1.25
_SCORE_CLIP = 100.0
_CANDIDATE_SCORE = 0.2
_NMS_IOU = 0.3
_HEATMAP_KERNEL = 7
_HEATMAP_MIN_CONFIDENCE = 0.5


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))


def _normalize_angle(a: float) -> float:
    return a - 2.0 * math.pi * math.floor((a + math.pi) / (2.0 * math.pi))


# -- geometry -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Roi:
    """A rotated square in image pixels: centre (cx, cy), side `size`, `rotation` in radians
    (positive turns clockwise on screen, y down; 0 = upright person)."""

    cx: float
    cy: float
    size: float
    rotation: float = 0.0

    def corners(self) -> np.ndarray:
        """float32[4, 2]: top-left, top-right, bottom-right, bottom-left of the crop, in pixels."""
        h = self.size / 2.0
        local = np.array([[-h, -h], [h, -h], [h, h], [-h, h]], np.float64)
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        rot = np.array([[c, -s], [s, c]])
        return (local @ rot.T + (self.cx, self.cy)).astype(np.float32)

    def box(self) -> tuple[float, float, float, float]:
        """Axis-aligned bounds (x0, y0, x1, y1) of the rotated square."""
        pts = self.corners()
        return (float(pts[:, 0].min()), float(pts[:, 1].min()),
                float(pts[:, 0].max()), float(pts[:, 1].max()))

    def body_box(self) -> tuple[float, float, float, float]:
        """The person's extent (x0, y0, x1, y1) this ROI was made from: the square around the
        centre with half-side |centre − scale point| (the ROI without its 1.25 margin)."""
        r = self.size / (2.0 * ROI_SCALE)
        return (self.cx - r, self.cy - r, self.cx + r, self.cy + r)

    def to_list(self) -> list[float]:
        return [self.cx, self.cy, self.size, self.rotation]


def roi_from_points(center, scale_point, scale: float = ROI_SCALE) -> Roi:
    """MediaPipe's alignment-points rectangle: centre at `center`, side 2·|scale_point − center|
    times `scale`, rotated so that center→scale_point points up (target angle 90°)."""
    x0, y0 = float(center[0]), float(center[1])
    x1, y1 = float(scale_point[0]), float(scale_point[1])
    radius = math.hypot(x1 - x0, y1 - y0)
    rotation = _normalize_angle(math.pi / 2 - math.atan2(-(y1 - y0), x1 - x0))
    return Roi(x0, y0, 2.0 * radius * scale, rotation)


def intersection(a: Sequence[float], b: Sequence[float]) -> float:
    """The area two (x0, y0, x1, y1) boxes share."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    inter = intersection(a, b)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


@dataclass(frozen=True)
class Detection:
    """One person found by the detector, in image pixels.

    score: detector confidence in [0, 1]. keypoints float32[4, 2]: mid hip, full-body size point,
    mid shoulder, upper-body size point. face_box: the detector's own box (the face).
    box: the body's extent (x0, y0, x1, y1): the circle around the mid hip through the size
    point, which BlazePose trains to enclose the whole body."""

    score: float
    box: tuple[float, float, float, float]
    keypoints: np.ndarray
    face_box: tuple[float, float, float, float]

    def roi(self) -> Roi:
        return roi_from_points(self.keypoints[0], self.keypoints[1])

    @property
    def center(self) -> tuple[float, float]:
        return float(self.keypoints[0, 0]), float(self.keypoints[0, 1])


class LandmarkResult(NamedTuple):
    """The landmark model's answer for one ROI (unpacks as a 5-tuple).

    xy float32[33, 2] image pixels (continuous coordinates: x·width of MediaPipe's normalised x);
    z float32[33] relative depth scaled like x; visibility float32[33] in [0, 1]; presence: the
    pose flag in [0, 1]; next_roi: the ROI for the next frame from the auxiliary landmarks."""

    xy: np.ndarray
    z: np.ndarray
    visibility: np.ndarray
    presence: float
    next_roi: Roi


def ssd_anchors(input_size: int = DET_SIZE, strides: Sequence[int] = (8, 16, 32, 32, 32),
                per_layer: int = 2, offset: float = 0.5) -> np.ndarray:
    """float32[N, 2] anchor centres (normalised) in the order the detector emits them: layers
    with the same stride share a grid; per cell, `per_layer` anchors for each such layer."""
    out = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        n_cell = per_layer * (j - i)
        side = math.ceil(input_size / strides[i])
        ys, xs = np.meshgrid((np.arange(side) + offset) / side, (np.arange(side) + offset) / side,
                             indexing="ij")
        centres = np.stack([xs.ravel(), ys.ravel()], axis=1)
        out.append(np.repeat(centres, n_cell, axis=0))
        i = j
    return np.concatenate(out).astype(np.float32)


def decode_detections(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
                      min_score: float = _CANDIDATE_SCORE, size: int = DET_SIZE):
    """(scores[K], boxes[K, 4] as x0, y0, x1, y1, keypoints[K, 4, 2]) in detector-input pixels,
    for the anchors whose score passes `min_score`."""
    scores = _sigmoid(np.clip(raw_scores.reshape(-1), -_SCORE_CLIP, _SCORE_CLIP))
    keep = np.nonzero(scores >= min_score)[0]
    raw = raw_boxes.reshape(len(anchors), -1)[keep].astype(np.float64)
    a = anchors[keep].astype(np.float64) * size
    cx, cy = raw[:, 0] + a[:, 0], raw[:, 1] + a[:, 1]
    w, h = raw[:, 2], raw[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    kps = raw[:, 4:12].reshape(-1, 4, 2) + a[:, None, :]
    return scores[keep], boxes, kps


def weighted_nms(scores, boxes, keypoints, threshold: float = _NMS_IOU):
    """MediaPipe's WEIGHTED suppression: the best remaining candidate absorbs every candidate
    overlapping it by IoU > threshold; box and keypoints become their score-weighted mean, the
    score stays the best one's. Returns a list of (score, box[4], keypoints[4, 2])."""
    order = np.argsort(-scores)
    remaining = list(order)
    out = []
    boxes = np.asarray(boxes, np.float64)
    area = (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)
    while remaining:
        idx = np.asarray(remaining)
        top = idx[0]
        ix = (np.minimum(boxes[idx, 2], boxes[top, 2]) - np.maximum(boxes[idx, 0], boxes[top, 0])).clip(0)
        iy = (np.minimum(boxes[idx, 3], boxes[top, 3]) - np.maximum(boxes[idx, 1], boxes[top, 1])).clip(0)
        inter = ix * iy
        union = area[idx] + area[top] - inter
        overlap = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
        group = idx[overlap > threshold]
        if len(group) == 0:
            group = idx[:1]
        w = scores[group][:, None]
        box = (boxes[group] * w).sum(0) / w.sum()
        kp = (keypoints[group] * w[:, :, None]).sum(0) / w.sum()
        out.append((float(scores[top]), box, kp))
        grouped = set(group.tolist())
        remaining = [i for i in remaining if i not in grouped]
    return out


def detector_views(width: int, height: int, tiles: bool = True) -> list[tuple[int, int, int, int]]:
    """The parts of a frame the detector looks at, as (x0, y0, width, height): the whole frame,
    and with `tiles`, when the frame is at least 1.3 times as wide as high, squares of its height
    along it, overlapping by half (any person narrower than half the height lies wholly in one of
    them). Not for tall frames: there squares would cut the standing people in two."""
    views = [(0, 0, width, height)]
    if not tiles or width < 1.3 * height:
        return views
    n = math.ceil((width - height) / (0.5 * height)) + 1
    return views + [(round(i * (width - height) / (n - 1)), 0, height, height) for i in range(n)]


def _detector_inputs(frame: np.ndarray, views):
    """Each view of `frame` (`detector_views`) scaled to fit the detector's input (INTER_AREA,
    aspect kept), with its scale (x, y: input px per frame px) and its offset in the frame. The
    tiles, squares of the frame's height, are cut from one strip of the whole frame scaled to the
    input's height, and the whole view from that strip: one large resize instead of one per view
    (INTER_AREA costs milliseconds per 720p view)."""
    h, w = frame.shape[:2]
    if len(views) == 1:
        x0, y0, vw, vh = views[0]
        view = frame[y0:y0 + vh, x0:x0 + vw]
        s = DET_SIZE / max(vh, vw)
        nw, nh = max(1, round(vw * s)), max(1, round(vh * s))
        small = cv2.resize(np.ascontiguousarray(view), (nw, nh), interpolation=cv2.INTER_AREA)
        return [(small, (nw / vw, nh / vh), (x0, y0))]
    s = DET_SIZE / h
    sw = max(DET_SIZE, round(w * s))
    strip = cv2.resize(frame, (sw, DET_SIZE), interpolation=cv2.INTER_AREA)
    fh = max(1, round(h * DET_SIZE / w))
    out = [(cv2.resize(strip, (DET_SIZE, fh), interpolation=cv2.INTER_AREA), (DET_SIZE / w, fh / h),
            (0, 0))]
    for x0, y0, vw, vh in views[1:]:
        o = min(sw - DET_SIZE, round(x0 * s))
        out.append((strip[:, o:o + DET_SIZE], (sw / w, DET_SIZE / h), (o * w / sw, 0)))
    return out


# -- the models -----------------------------------------------------------------------------------

def _interpreter(path: Path, threads: int):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - the venv has LiteRT; TensorFlow's copy also works
        import tensorflow as tf
        Interpreter = tf.lite.Interpreter
    try:
        it = Interpreter(model_path=str(path), num_threads=int(threads))
        it.allocate_tensors()
    except Exception as err:  # noqa: BLE001 - a model that does not load is a user-level error
        raise PoseError(f"{path}: the pose model cannot be loaded ({err}).") from err
    return it


class _Model:
    def __init__(self, path: Path, threads: int):
        self.it = _interpreter(path, threads)
        inp = self.it.get_input_details()[0]
        self.input_index = inp["index"]
        self.input_shape = tuple(inp["shape"])
        self.outputs = {d["name"]: d["index"] for d in self.it.get_output_details()}

    def __call__(self, x: np.ndarray) -> dict[str, np.ndarray]:
        self.it.set_tensor(self.input_index, x)
        self.it.invoke()
        return {name: self.it.get_tensor(i) for name, i in self.outputs.items()}


@dataclass
class _Timings:
    detector: list = field(default_factory=list)
    landmark: list = field(default_factory=list)


class PoseEstimator:
    """BlazePose (full) on RGB uint8 frames. Not thread-safe: one estimator per thread.

    est = PoseEstimator()
    dets = est.detect(frame)                       # every person, best first
    xy, z, vis, presence, next_roi = est.landmarks(frame, dets[0].roi())
    for res in est.track(frames): ...              # LandmarkResult or None per frame
    """

    def __init__(self, models: dict[str, Path] | None = None, *, threads: int = 2,
                 min_detection_score: float = 0.5, presence_threshold: float = 0.5,
                 refine_with_heatmap: bool = True):
        if models is None:
            from core.pose.models import model_paths
            models = model_paths()
        self.detector = _Model(Path(models["pose_detection"]), threads)
        self.landmarker = _Model(Path(models["pose_landmark_full"]), threads)
        self.anchors = ssd_anchors()
        n = self.detector.it.get_output_details()[0]["shape"][1]
        if n != len(self.anchors):
            raise PoseError(f"The pose detector emits {n} boxes, the anchors are "
                            f"{len(self.anchors)}: not the expected model.")
        self.min_detection_score = float(min_detection_score)
        self.presence_threshold = float(presence_threshold)
        self.refine_with_heatmap = bool(refine_with_heatmap)
        self.timings = _Timings()
        self._det_buf = np.zeros((1, DET_SIZE, DET_SIZE, 3), np.float32)

    # -- detector ---------------------------------------------------------------------------------

    def detect(self, frame: np.ndarray, min_score: float | None = None, *,
               tiles: bool = True) -> list[Detection]:
        """Every person in the frame (score >= `min_score`, default min_detection_score), best
        score first. `tiles`: also look at overlapping squares along a wide frame
        (`detector_views`), where people are seen about twice as large: the detector misses
        people who are small in its 224² input (a wide shot, an athlete beside a rig)."""
        t0 = time.perf_counter()
        frame = _check_frame(frame)
        h, w = frame.shape[:2]
        scores, boxes, kps = [], [], []
        for small, (sx, sy), (x0, y0) in _detector_inputs(frame, detector_views(w, h, tiles)):
            sc, bx, kp = self._detect_view(small)
            scores.append(sc)
            boxes.append(bx / (sx, sy, sx, sy) + (x0, y0, x0, y0))
            kps.append(kp / (sx, sy) + (x0, y0))
        scores, boxes, kps = np.concatenate(scores), np.concatenate(boxes), np.concatenate(kps)
        found = []
        for score, box, kp in weighted_nms(scores, boxes, kps) if len(scores) else ():
            if score < (self.min_detection_score if min_score is None else min_score):
                continue
            kp_img = kp.astype(np.float32)
            r = float(np.hypot(*(kp_img[1] - kp_img[0])))
            cx, cy = float(kp_img[0, 0]), float(kp_img[0, 1])
            found.append(Detection(score=score, box=(cx - r, cy - r, cx + r, cy + r),
                                   keypoints=kp_img, face_box=tuple(float(v) for v in box)))
        found.sort(key=lambda d: -d.score)
        self.timings.detector.append((time.perf_counter() - t0) * 1000)
        return found

    def _detect_view(self, small: np.ndarray):
        """The detector's candidates (scores, face boxes, keypoints) on one view already scaled to
        fit its input (`_detector_inputs`), in that view's pixels."""
        nh, nw = small.shape[:2]
        ox, oy = (DET_SIZE - nw) // 2, (DET_SIZE - nh) // 2
        buf = self._det_buf
        buf.fill(0.0)  # zero border in [-1, 1] space (mid grey), MediaPipe's BORDER_ZERO
        buf[0, oy:oy + nh, ox:ox + nw] = small.astype(np.float32) / 127.5 - 1.0
        out = self.detector(buf)
        scores, boxes, kps = decode_detections(out["Identity"], out["Identity_1"], self.anchors)
        return scores, boxes - (ox, oy, ox, oy), kps - (ox, oy)

    # -- landmark model ---------------------------------------------------------------------------

    def crop(self, frame: np.ndarray, roi: Roi) -> np.ndarray:
        """The ROI warped to LM_SIZE² (uint8 RGB), upright."""
        a = roi.size / LM_SIZE
        c, s = math.cos(roi.rotation), math.sin(roi.rotation)
        k = a / 2 - roi.size / 2  # pixel centres: dst index i sits at (i + 0.5) · a − size / 2
        m = np.array([[a * c, -a * s, roi.cx - 0.5 + c * k - s * k],
                      [a * s, a * c, roi.cy - 0.5 + s * k + c * k]], np.float64)
        return cv2.warpAffine(frame, m, (LM_SIZE, LM_SIZE),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)

    def landmarks(self, frame: np.ndarray, roi: Roi) -> LandmarkResult:
        """The 33 landmarks of the person in `roi` (image pixels), its presence and the ROI for
        the next frame. Presence below `presence_threshold` means no person there; the
        coordinates are still returned (they mean nothing then)."""
        t0 = time.perf_counter()
        frame = _check_frame(frame)
        crop = self.crop(frame, roi)
        x = (crop.astype(np.float32) * (1.0 / 255.0))[None]
        out = self.landmarker(x)
        raw = out["Identity"].reshape(N_RAW_LANDMARKS, 5).astype(np.float64)
        presence = float(np.asarray(out["Identity_1"]).reshape(-1)[0])
        uv = raw[:, :2] / LM_SIZE  # normalised crop coordinates
        if self.refine_with_heatmap and "Identity_3" in out:
            uv = _refine_from_heatmap(uv, out["Identity_3"][0])
        # Crop -> image: p = centre + R · ((uv − 0.5) · size)
        c, s = math.cos(roi.rotation), math.sin(roi.rotation)
        d = (uv - 0.5) * roi.size
        px = roi.cx + c * d[:, 0] - s * d[:, 1]
        py = roi.cy + s * d[:, 0] + c * d[:, 1]
        xy_all = np.stack([px, py], axis=1)
        z = raw[:N_LANDMARKS, 2] / LM_SIZE * roi.size
        vis = _sigmoid(raw[:N_LANDMARKS, 3])
        next_roi = roi_from_points(xy_all[33], xy_all[34])
        self.timings.landmark.append((time.perf_counter() - t0) * 1000)
        return LandmarkResult(xy_all[:N_LANDMARKS].astype(np.float32), z.astype(np.float32),
                              vis.astype(np.float32), presence, next_roi)

    # -- conveniences -----------------------------------------------------------------------------

    def pick(self, detections: Sequence[Detection], near_box=None, *, max_shift: float = 1.0,
             max_scale_change: float = 2.5) -> Detection | None:
        """The detection to follow: without `near_box`, the best score; with it, the one that
        best overlaps it (IoU, then centre distance), and none whose centre lies more than
        `max_shift` box sides away or whose size differs more than `max_scale_change` times."""
        if not detections:
            return None
        if near_box is None:
            return detections[0]
        return nearest_detection(detections, near_box, max_shift=max_shift,
                                 max_scale_change=max_scale_change)

    def track(self, frames: Iterable[np.ndarray], target_box=None) -> Iterator[LandmarkResult | None]:
        """Landmarks of one person through `frames` (LandmarkResult, or None where there is no
        pose). ROI from the previous frame's landmarks; the detector runs on the first frame and
        whenever the person is lost, then picks the detection nearest to `target_box` (or the
        person's last box), best score when there is neither."""
        roi: Roi | None = None
        last_box = target_box
        for frame in frames:
            res = None
            if roi is not None:
                res = self.landmarks(frame, roi)
                if res.presence < self.presence_threshold:
                    res = None
            if res is None:
                det = self.pick(self.detect(frame), last_box)
                if det is not None:
                    res = self.landmarks(frame, det.roi())
                    if res.presence < self.presence_threshold:
                        res = None
            if res is None:
                roi = None
                yield None
                continue
            roi = res.next_roi
            last_box = roi.body_box()
            yield res

    def ms_per_frame(self) -> dict[str, float]:
        """Mean ms per call of each model so far (preprocessing, inference and decoding)."""
        return {name: float(np.mean(v)) if v else float("nan")
                for name, v in (("detector", self.timings.detector),
                                ("landmark", self.timings.landmark))}


def landmark_box(xy: np.ndarray) -> tuple[float, float, float, float]:
    """Axis-aligned bounds (x0, y0, x1, y1) of the finite landmarks."""
    pts = np.asarray(xy, np.float64).reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(1)]
    if len(pts) == 0:
        return (0.0, 0.0, 0.0, 0.0)
    return (float(pts[:, 0].min()), float(pts[:, 1].min()),
            float(pts[:, 0].max()), float(pts[:, 1].max()))


def _box_center_side(b):
    return (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, max(1.0, math.sqrt(max(0.0, (b[2] - b[0]) * (b[3] - b[1]))))


def nearest_detection(detections: Sequence[Detection], box, *, max_shift: float = 1.0,
                      max_scale_change: float = 2.5) -> Detection | None:
    """The detection nearest to `box` among those close enough (gated by centre distance in units
    of the box's side and by size ratio); None when every one is too far or too different."""
    bx, by, bs = _box_center_side(box)
    best, best_key = None, None
    for d in detections:
        dx, dy, ds = _box_center_side(d.box)
        dist = math.hypot(dx - bx, dy - by) / bs
        ratio = max(ds, bs) / min(ds, bs)
        if dist > max_shift or ratio > max_scale_change:
            continue
        key = (-iou(d.box, box), dist)
        if best_key is None or key < best_key:
            best, best_key = d, key
    return best


def _refine_from_heatmap(uv: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """MediaPipe's heatmap refinement: each landmark's x, y become the sigmoid-weighted mean cell
    position of a 7x7 window of its heatmap channel around it (cells outside the heatmap count
    as zero), where the window's peak is >= 0.5."""
    hh, hw, nc = heatmap.shape
    n = min(nc, len(uv))
    off = (_HEATMAP_KERNEL - 1) // 2
    col = np.trunc(uv[:n, 0] * hw).astype(np.int64)  # C++ int cast, as MediaPipe
    row = np.trunc(uv[:n, 1] * hh).astype(np.int64)
    inside = (col >= 0) & (col < hw) & (row >= 0) & (row < hh)
    steps = np.arange(-off, off + 1)
    rows = np.clip(row, 0, hh - 1)[:, None] + steps  # [n, 7]
    cols = np.clip(col, 0, hw - 1)[:, None] + steps
    valid = ((rows >= 0) & (rows < hh))[:, :, None] & ((cols >= 0) & (cols < hw))[:, None, :]
    vals = heatmap[rows.clip(0, hh - 1)[:, :, None], cols.clip(0, hw - 1)[:, None, :],
                   np.arange(n)[:, None, None]]
    conf = np.where(valid, _sigmoid(vals.astype(np.float64)), 0.0)  # [n, 7, 7]
    total = conf.sum(axis=(1, 2))
    peak = conf.max(axis=(1, 2))
    ok = inside & (total > 0) & (peak >= _HEATMAP_MIN_CONFIDENCE)
    safe = np.where(total > 0, total, 1.0)
    x = (conf * cols[:, None, :]).sum(axis=(1, 2)) / safe / hw
    y = (conf * rows[:, :, None]).sum(axis=(1, 2)) / safe / hh
    out = uv.copy()
    out[:n, 0] = np.where(ok, x, uv[:n, 0])
    out[:n, 1] = np.where(ok, y, uv[:n, 1])
    return out


def _check_frame(frame) -> np.ndarray:
    a = np.asarray(frame)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4) or a.shape[0] < 1 or a.shape[1] < 1:
        raise PoseError(f"A frame must be an RGB image (H, W, 3); got shape {a.shape}.")
    if a.shape[2] == 4:
        a = a[:, :, :3]
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(a)


# -- smoothing --------------------------------------------------------------------------------------

def one_euro_filter(xy: np.ndarray, times: np.ndarray, *, min_cutoff: float = 0.1,
                    beta: float = 40.0, d_cutoff: float = 1.0) -> np.ndarray:
    """One-Euro smoothing of landmark tracks like MediaPipe's pose filter.

    xy float[T, K, 2] pixels (NaN rows = no pose: the filter restarts after them), times float[T]
    seconds. As in MediaPipe, values are divided by the pose's size (mean of its landmark box's
    width and height) before filtering, so the same parameters suit near and far athletes.
    Returns a filtered copy (float32)."""
    xy = np.asarray(xy, np.float64)
    t = np.asarray(times, np.float64)
    out = xy.copy()
    prev = prev_d = None
    prev_t = None

    def alpha(cutoff, dt):
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    for i in range(len(xy)):
        frame = xy[i]
        if not np.isfinite(frame).all():
            prev = prev_d = prev_t = None
            continue
        box = landmark_box(frame)
        scale = max(1e-6, ((box[2] - box[0]) + (box[3] - box[1])) / 2)
        v = frame / scale
        if prev is None or t[i] <= prev_t:
            prev, prev_d, prev_t = v, np.zeros_like(v), t[i]
            continue
        dt = t[i] - prev_t
        d = (v - prev) / dt
        a_d = alpha(d_cutoff, dt)
        d_hat = a_d * d + (1 - a_d) * prev_d
        cutoff = min_cutoff + beta * np.abs(d_hat)
        tau = 1.0 / (2 * math.pi * cutoff)
        a = 1.0 / (1.0 + tau / dt)
        v_hat = a * v + (1 - a) * prev
        prev, prev_d, prev_t = v_hat, d_hat, t[i]
        out[i] = v_hat * scale
    return out.astype(np.float32)
