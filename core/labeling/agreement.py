"""Agreement between two annotators on one video: rep-level matching and frame-level Cohen's κ.

Frame ranges are inclusive on both ends, so a rep [s, e] covers e - s + 1 frames and
temporal IoU = frames in both / frames in either.

Rep level: annotator A is the reference, B is compared against it. Pairs (a, b) with the same
movement and IoU ≥ `threshold` (default 0.5) are matched one-to-one, greedily by decreasing IoU
(ties: earlier reps first). Within one annotator reps never overlap, so a rep can reach IoU ≥ 0.5
with at most one rep of the other side except in the exact-half tie; greedy is then optimal and
equals the Hungarian assignment. precision = matched / reps of B, recall = matched / reps of A,
F1 = 2·matched / (reps of A + reps of B). When both have no reps all three are 1.0 (they agree);
when only one side has reps, the undefined ratio (0/0) is None and F1 is 0.0.

Frame level: every frame of the video gets its movement or "none" from each annotator; κ =
(p_o − p_e) / (1 − p_e), with p_o the share of frames with the same value and p_e = Σ_k p_A(k)·p_B(k).
When p_e = 1 both annotators gave every frame the same single value, so they agree fully and κ = 1.0.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from core.base.store import Store, StoreError

NONE = "none"


def temporal_iou(a: dict, b: dict) -> float:
    """IoU of two inclusive frame ranges {start, end}."""
    inter = min(a["end"], b["end"]) - max(a["start"], b["start"]) + 1
    if inter <= 0:
        return 0.0
    union = (a["end"] - a["start"] + 1) + (b["end"] - b["start"] + 1) - inter
    return inter / union


@dataclass
class Match:
    a: dict
    b: dict
    iou: float


@dataclass
class Agreement:
    reps_a: int
    reps_b: int
    matches: list[Match] = field(default_factory=list)
    unmatched_a: list[dict] = field(default_factory=list)  # missed by B (false negatives)
    unmatched_b: list[dict] = field(default_factory=list)  # extra in B (false positives)
    precision: float | None = None
    recall: float | None = None
    f1: float = 0.0
    kappa: float = 1.0
    frame_agreement: float = 1.0  # p_o
    chance_agreement: float = 1.0  # p_e
    frames: int = 0
    threshold: float = 0.5

    @property
    def tp(self) -> int:
        return len(self.matches)

    @property
    def mean_iou(self) -> float | None:
        return sum(m.iou for m in self.matches) / len(self.matches) if self.matches else None

    def summary(self) -> dict:
        return {
            "reps_a": self.reps_a, "reps_b": self.reps_b, "matched": self.tp,
            "precision": self.precision, "recall": self.recall, "f1": self.f1,
            "mean_iou": self.mean_iou, "kappa": self.kappa, "frame_agreement": self.frame_agreement,
            "chance_agreement": self.chance_agreement, "frames": self.frames, "threshold": self.threshold,
        }


def match_reps(reps_a: list[dict], reps_b: list[dict], threshold: float = 0.5,
               same_label: bool = True) -> tuple[list[Match], list[dict], list[dict]]:
    """One-to-one matching at IoU ≥ threshold (greedy by IoU); returns (matches, unmatched A, unmatched B)."""
    a_sorted = sorted(reps_a, key=lambda r: (r["start"], r["end"]))
    b_sorted = sorted(reps_b, key=lambda r: (r["start"], r["end"]))
    pairs = []
    for i, a in enumerate(a_sorted):
        for j, b in enumerate(b_sorted):
            if same_label and a.get("label") != b.get("label"):
                continue
            iou = temporal_iou(a, b)
            if iou >= threshold and iou > 0:
                pairs.append((-iou, i, j))
    pairs.sort()
    used_a, used_b, matches = set(), set(), []
    for neg_iou, i, j in pairs:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        matches.append(Match(a_sorted[i], b_sorted[j], -neg_iou))
    matches.sort(key=lambda m: m.a["start"])
    return (matches, [a for i, a in enumerate(a_sorted) if i not in used_a],
            [b for j, b in enumerate(b_sorted) if j not in used_b])


def frame_labels(reps: list[dict], frames: int) -> list[str]:
    """The movement of every frame (NONE outside reps); frames beyond the video are ignored."""
    out = [NONE] * frames
    for r in reps:
        for f in range(max(0, r["start"]), min(frames - 1, r["end"]) + 1):
            out[f] = r["label"]
    return out


def cohen_kappa(x: list[str], y: list[str]) -> tuple[float, float, float]:
    """(κ, p_o, p_e) of two equally long label sequences; κ = 1.0 when p_e = 1 (see module doc)."""
    if len(x) != len(y):
        raise ValueError("both labelings must cover the same frames")
    n = len(x)
    if n == 0:
        return 1.0, 1.0, 1.0
    p_o = sum(1 for a, b in zip(x, y) if a == b) / n
    cx, cy = Counter(x), Counter(y)
    p_e = sum(cx[k] * cy.get(k, 0) for k in cx) / (n * n)
    if p_e >= 1.0:
        return 1.0, p_o, p_e
    return (p_o - p_e) / (1.0 - p_e), p_o, p_e


def compare(reps_a: list[dict], reps_b: list[dict], frames: int, threshold: float = 0.5) -> Agreement:
    """Agreement of B against reference A on a video of `frames` frames (pure; see module doc)."""
    matches, miss_a, miss_b = match_reps(reps_a, reps_b, threshold)
    na, nb, tp = len(reps_a), len(reps_b), len(matches)
    if na == 0 and nb == 0:
        precision = recall = f1 = 1.0
    else:
        precision = tp / nb if nb else None
        recall = tp / na if na else None
        f1 = 2 * tp / (na + nb)
    kappa, p_o, p_e = cohen_kappa(frame_labels(reps_a, frames), frame_labels(reps_b, frames))
    return Agreement(na, nb, matches, miss_a, miss_b, precision, recall, f1, kappa, p_o, p_e, frames, threshold)


def video_agreement(store: Store, video_id: int, annotator_a: str, annotator_b: str,
                    threshold: float = 0.5) -> Agreement:
    """Agreement of `annotator_b` against reference `annotator_a` on one workspace video."""
    video = store.video(video_id)
    if video is None:
        raise StoreError(f"No video with id {video_id}.")
    return compare(store.segments(video_id, annotator_a), store.segments(video_id, annotator_b),
                   video["frames"], threshold)
