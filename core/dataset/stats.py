"""Dataset statistics: the per-movement rep timing table of the original study, reps per video
and per annotator, class balance.

What is counted (`source`):
  - "reps" (the default): the dataset reps, `core.labeling.annotator.dataset_segments` — the reps that are,
    or will be, the clips. Available before any clip is cut, and never stale.
  - "clips": the rows of the clips table (what has been cut so far).
  Once `python -m core split` has run, both give the same numbers: every clip is exactly one
  dataset rep, with frames = end - start + 1 and the source's frame rate.

Per movement: count, frames mean and sd, seconds mean and sd, where a rep's seconds are
frames / fps of its source video (its duration on the video's time axis; a clip plays at the
same fps). The sd is the SAMPLE standard deviation (n - 1 in the denominator, what pandas'
`.std()` gives and what the original table used); it is None for a movement with fewer than 2
reps. Movements with no reps are listed with count 0 and None for the rest.

The TOTAL row follows the original study's table, whose TOTAL is the unweighted mean over
movements of the per-movement values (MOVEMENTS.md: mean of the nine frame means = 39.00, mean
of the nine sds = 7.73): TOTAL count = all reps; TOTAL frames/seconds mean = mean of the
per-movement means; TOTAL sd = mean of the per-movement sds (movements with no mean/sd left out).
So TOTAL describes "a typical movement", not all reps pooled; the pooled figures (mean and
sample sd over every rep, which weigh frequent movements more) are given separately as `pooled`.
"""
from __future__ import annotations

import math
from statistics import mean, stdev

from core.labeling.annotator import dataset_segments
from core.base.store import Store

SD_KIND = "sample"  # n - 1 denominator
TOTAL = "TOTAL"


def _summary(frames: list[int], seconds: list[float]) -> dict:
    n = len(frames)
    return {
        "clips": n,
        "frames_mean": mean(frames) if n else None,
        "frames_sd": stdev(frames) if n >= 2 else None,
        "seconds_mean": mean(seconds) if n else None,
        "seconds_sd": stdev(seconds) if n >= 2 else None,
    }


def _items(store: Store, source: str) -> list[dict]:
    """[{label, frames, seconds, video_id, annotator}] of what is counted."""
    if source == "clips":
        from core.dataset.clips import clips

        owners = {s["uuid"]: s["annotator"] for s in store.segments()}
        return [{"label": c["label"], "frames": c["frames"], "seconds": c["frames"] / c["fps"],
                 "video_id": c["video_id"], "annotator": owners.get(c["segment_uuid"])} for c in clips(store)]
    if source != "reps":
        raise ValueError(f"source must be 'reps' or 'clips', not {source!r}")
    fps = {v["id"]: v["fps"] for v in store.videos()}
    out = []
    for s in dataset_segments(store):
        frames = s["end"] - s["start"] + 1
        out.append({"label": s["label"], "frames": frames, "seconds": frames / fps[s["video_id"]],
                    "video_id": s["video_id"], "annotator": s["annotator"]})
    return out


def movement_table(store: Store, source: str = "reps") -> dict:
    """{"source", "sd", "rows": [per movement, in label order], "total": TOTAL row, "pooled": row}.

    Each row: {label, clips, frames_mean, frames_sd, seconds_mean, seconds_sd} (`clips` counts reps
    or clips, whichever `source` says)."""
    items = _items(store, source)
    labels = store.labels()
    labels += sorted({i["label"] for i in items} - set(labels))
    rows = []
    for label in labels:
        mine = [i for i in items if i["label"] == label]
        rows.append({"label": label, **_summary([i["frames"] for i in mine], [i["seconds"] for i in mine])})

    def avg(key):
        values = [r[key] for r in rows if r[key] is not None]
        return mean(values) if values else None

    total = {"label": TOTAL, "clips": len(items), **{k: avg(k) for k in
                                                    ("frames_mean", "frames_sd", "seconds_mean", "seconds_sd")}}
    pooled = {"label": "all reps pooled",
              **_summary([i["frames"] for i in items], [i["seconds"] for i in items])}
    return {"source": source, "sd": SD_KIND, "rows": rows, "total": total, "pooled": pooled}


def per_video(store: Store, source: str = "reps") -> list[dict]:
    """Reps per source video: {video_id, title, path, reps, frames, seconds, split, per movement…}."""
    items = _items(store, source)
    from core.dataset.splits import current_splits

    splits = current_splits(store)
    out = []
    for v in store.videos():
        mine = [i for i in items if i["video_id"] == v["id"]]
        row = {"video_id": v["id"], "title": v["title"], "path": v["path"], "reps": len(mine),
               "frames": sum(i["frames"] for i in mine), "seconds": sum(i["seconds"] for i in mine),
               "split": splits.get(v["id"])}
        for label in store.labels():
            row[label] = sum(1 for i in mine if i["label"] == label)
        out.append(row)
    return out


def per_annotator(store: Store, source: str = "reps") -> list[dict]:
    """Reps per annotator: {annotator, dataset_reps (counted), labelled_reps (all their reps), videos}."""
    items = _items(store, source)
    everything = store.segments()
    names = sorted({s["annotator"] for s in everything} | {i["annotator"] for i in items if i["annotator"]})
    return [{
        "annotator": name,
        "dataset_reps": sum(1 for i in items if i["annotator"] == name),
        "labelled_reps": sum(1 for s in everything if s["annotator"] == name),
        "videos": len({s["video_id"] for s in everything if s["annotator"] == name}),
    } for name in names]


def class_balance(store: Store, source: str = "reps") -> dict[str, int]:
    return {r["label"]: r["clips"] for r in movement_table(store, source)["rows"]}


def stats(store: Store, source: str = "reps") -> dict:
    """Everything the Clips page and `python -m core stats` show."""
    return {**movement_table(store, source), "per_video": per_video(store, source),
            "per_annotator": per_annotator(store, source)}


def format_table(table: dict, digits: int = 2) -> str:
    """The movement table as fixed-width text, like MOVEMENTS.md's."""
    head = f"{'label':<20} {'clips':>6} {'frames mean':>12} {'frames sd':>10} {'seconds mean':>13} {'seconds sd':>11}"

    def fmt(v, width):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return f"{'–':>{width}}"
        return f"{v:>{width}.{digits}f}"

    lines = [head]
    for r in [*table["rows"], table["total"]]:
        lines.append(f"{r['label']:<20} {r['clips']:>6} {fmt(r['frames_mean'], 12)} {fmt(r['frames_sd'], 10)} "
                     f"{fmt(r['seconds_mean'], 13)} {fmt(r['seconds_sd'], 11)}")
    lines.append(f"(source: {table['source']}; sd = {table['sd']} standard deviation; TOTAL = mean of the "
                 "per-movement values, as in the original study)")
    return "\n".join(lines)
