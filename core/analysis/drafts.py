"""An analysis's reps as a draft on the Label page (annotator `model:<model id>`), which an
annotator accepts rep by rep or copies in bulk."""
from __future__ import annotations

from typing import Sequence

from core.analysis.settings import DRAFT_PREFIX, AnalyzeError
from core.analysis.workout import Analysis

# ==============================================================================================
# 5. Drafts for the Label page
# ==============================================================================================

def draft_annotator(model_row_or_analysis) -> str:
    """`model:<run_id>` (the model id when the model has no run)."""
    if isinstance(model_row_or_analysis, Analysis):
        key = model_row_or_analysis.run_id or model_row_or_analysis.model
    else:
        key = model_row_or_analysis.get("run_id") or model_row_or_analysis.get("id")
    if not key:
        raise AnalyzeError("A draft needs the model's run id or model id.")
    return f"{DRAFT_PREFIX}{key}"


def write_draft(store, video_id: int, reps: Sequence[dict], annotator: str, extra: dict | None = None) -> list[str]:
    """Store `reps` ({label, start, end}) as `annotator`'s reps on the video, replacing everything
    that annotator had there, in one transaction. Only model annotators (`model:…`) are allowed:
    a person's reps are never replaced wholesale. Returns the new keys."""
    if not annotator.startswith(DRAFT_PREFIX):
        raise AnalyzeError(f"Drafts belong to a model annotator ({DRAFT_PREFIX}<run_id>), not {annotator!r}.")
    if store.video(int(video_id)) is None:
        raise AnalyzeError(f"No video {video_id} in the workspace.")
    rows = sorted(reps, key=lambda r: int(r["start"]))
    return store.replace_segments(int(video_id), annotator, [
        dict(r, extra=dict(extra or {}, **(r.get("extra") or {})) or None) for r in rows])


def send_draft(ws, analysis: Analysis, video_id: int | None = None) -> tuple[str, list[str]]:
    """Write an analysis' reps as its model's draft on its workspace video; (annotator, keys)."""
    vid = analysis.video_id if video_id is None else int(video_id)
    if vid is None:
        raise AnalyzeError("Only a workspace video can get a draft: add the video on the Videos page first.")
    annotator = draft_annotator(analysis)
    keys = write_draft(ws.store(), vid, analysis.reps(), annotator,
                       extra={"source": "analyze", "model": analysis.model})
    return annotator, keys


def copy_draft(store, video_id: int, draft_annotator: str, me: str) -> tuple[int, int]:
    """Copy a model's whole draft into `me`'s reps (each rep as the Label page's Copy to mine does):
    (copied, left out because they overlap a rep `me` already has)."""
    from core.base.store import StoreError
    from core.labeling.annotator import Annotator, LabelError

    ann = Annotator(store, int(video_id), me)
    done = skipped = 0
    for rep in store.segments(int(video_id), draft_annotator):
        try:
            ann.accept_draft(rep["uuid"])
            done += 1
        except (LabelError, StoreError):
            skipped += 1
    return done, skipped
