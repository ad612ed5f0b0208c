"""The analysis's settings and error."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from core.base.errors import AnalysisError
from core.dataset.windows import (  # NONE: the class of rests, transitions and unlabelled frames
    DEFAULT_SCALES,
    STRIDE_S,
    WINDOW_S,
)

DRAFT_PREFIX = "model:"



class AnalyzeError(AnalysisError):
    """An analysis that cannot run (no model, no video, nothing to evaluate); says why."""


@dataclass
class Settings:
    """Knobs of the analysis; the defaults are the ones measured in bench/analyze.py."""

    window_s: float = WINDOW_S     # span of one model window (seconds), ~ one rep
    stride_s: float = STRIDE_S     # windows start this often
    scales: tuple | None = None    # windows of window_s * scale, averaged: short and long reps; None: the spans the
                                   # model was trained on (`window_scales` of a window-trained model), else (1, 2)
    batch: int = 16                # windows per model call
    none_threshold: float = 0.20   # a frame whose best movement is less likely than this is rest (models without none)
    none_weight: float = 0.10      # a model with its own none class: its none probability is scaled by this
    switch_penalty: float = 12.0   # log-probability cost of a change of state (Viterbi)
    min_segment_s: float = 1.5     # shorter movement segments become none
    motion_pixels: int = 64 * 36   # size of the grayscale motion frames (area, aspect kept)
    margin_s: float = 0.5          # reps are looked for this far outside a segment's ends
    prior: str = "slow"            # rep duration bounds (see rep_bounds): "movement", "slow" or "broad"
    drop_repless: bool = True      # a movement segment where no rep cycle is found becomes none
    fit_to_reps: bool = True       # a segment's ends become its first rep's start and last rep's end
    boundary_check: bool = True    # an extra cycle at a set's ends must end in the reps' boundary pose
    cycle_alike: float = 10.0      # ... and its cycle within this many times the set's typical spread
    parallel: bool = True          # the model runs in a thread beside the decoder
    boundary_alike: float = 1.0    # ... i.e. within this share of two random frames' distance of a boundary
    rep_vote: bool | None = None   # re-name each segment by classifying its reps as training clips (vote_reps);
                                   # None: only for models without a none class (a window-trained model names better)
    merge_gap_s: float = 2.0       # after the vote, same-movement segments this close become one

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["scales"] = list(self.scales) if self.scales else None
        return d

    @classmethod
    def from_json(cls, d: dict | None) -> "Settings":
        d = dict(d or {})
        names = {f.name for f in dataclasses.fields(cls)}
        out = {k: v for k, v in d.items() if k in names}
        if out.get("scales"):
            out["scales"] = tuple(float(s) for s in out["scales"])
        return cls(**out)

    def for_model(self, row: dict | None) -> "Settings":
        """These settings with `scales` filled in: the window spans the model was trained on."""
        if self.scales:
            return self
        trained = ((row or {}).get("preprocessing") or {}).get("window_scales")
        return dataclasses.replace(self, scales=tuple(float(s) for s in (trained or DEFAULT_SCALES)))
