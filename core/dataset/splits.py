"""Train/val/test splits grouped by source video and stratified by movement.

Grouped: a split is a set of videos; every rep (clip) of a video is in its video's split, so one
athlete's reps never straddle splits. Only videos with at least one dataset rep
(`core.labeling.annotator.dataset_segments`) are assigned.

Stratified, as far as whole videos allow: the target of split s for movement m is
ratio_s x (reps of m). `assign_splits` places videos greedily, largest first (ties in an order
shuffled by `seed`), each into the split where it lowers the cost most, then improves the
result by moving single videos and swapping pairs between splits while that lowers the cost.
The cost is the sum over splits and movements of ((count - target) / reps of the movement)^2,
plus the same term for the split's total reps, so rare movements weigh as much as common ones.
Every split with a ratio > 0 gets at least one video when there are at least as many videos
as such splits. Deterministic: same reps, ratios and seed, same splits.

Stored in the `splits` table (video_id -> split, seed); making splits replaces the previous ones.
"""
from __future__ import annotations

import math
import random
from typing import Sequence

from core.labeling.annotator import dataset_segments
from core.base.store import Store, StoreError, now

SPLITS = ("train", "val", "test")
DEFAULT_RATIOS = (0.7, 0.15, 0.15)
_SWAP_LIMIT = 80  # pairwise swaps are tried only up to this many videos (the cost is quadratic)


def check_ratios(ratios: Sequence[float]) -> tuple[float, float, float]:
    if len(ratios) != 3:
        raise StoreError("Give three ratios: train, val, test (e.g. 0.7 0.15 0.15).")
    try:
        r = [float(x) for x in ratios]
    except (TypeError, ValueError):
        raise StoreError(f"Split ratios must be numbers, not {list(ratios)}.") from None
    if any(not math.isfinite(x) or x < 0 for x in r) or sum(r) <= 0:
        raise StoreError(f"Split ratios must be finite, non-negative and not all zero, not {r}.")
    total = sum(r)
    return tuple(x / total for x in r)  # type: ignore[return-value]


def video_counts(store: Store) -> dict[int, dict[str, int]]:
    """Dataset reps per video and movement (videos with no dataset rep are left out)."""
    counts: dict[int, dict[str, int]] = {}
    for s in dataset_segments(store):
        per = counts.setdefault(s["video_id"], {})
        per[s["label"]] = per.get(s["label"], 0) + 1
    return counts


class _State:
    def __init__(self, counts, ratios, labels):
        self.counts, self.ratios, self.labels = counts, ratios, labels
        self.totals = {m: sum(c.get(m, 0) for c in counts.values()) for m in labels}
        self.grand = sum(self.totals.values())
        self.n = {s: {m: 0 for m in labels} for s in SPLITS}
        self.size = {s: 0 for s in SPLITS}
        self.videos = {s: 0 for s in SPLITS}

    def split_cost(self, s, delta=None, sign=0) -> float:
        r = self.ratios[SPLITS.index(s)]
        cost = 0.0
        size = self.size[s]
        for m in self.labels:
            c = self.n[s][m] + (sign * delta.get(m, 0) if delta else 0)
            size_m = self.totals[m] or 1
            cost += ((c - r * self.totals[m]) / size_m) ** 2
        if delta:
            size += sign * sum(delta.values())
        cost += ((size - r * self.grand) / (self.grand or 1)) ** 2
        return cost

    def add(self, s, v, sign=1):
        for m, k in self.counts[v].items():
            self.n[s][m] += sign * k
        self.size[s] += sign * sum(self.counts[v].values())
        self.videos[s] += sign


def assign_splits(counts: dict[int, dict[str, int]], seed: int = 0,
                  ratios: Sequence[float] = DEFAULT_RATIOS) -> dict[int, str]:
    """Pure assignment: {video_id: {movement: reps}} -> {video_id: split}. See the module docstring."""
    ratios = check_ratios(ratios)
    vids = sorted(counts)
    if not vids:
        return {}
    labels = sorted({m for c in counts.values() for m in c})
    rng = random.Random(seed)
    rng.shuffle(vids)
    vids.sort(key=lambda v: -sum(counts[v].values()))  # stable: ties stay in the seeded order
    active = [s for s, r in zip(SPLITS, ratios) if r > 0]
    state = _State(counts, ratios, labels)
    where: dict[int, str] = {}

    def gain_add(s, v):  # cost change of adding v to s
        return state.split_cost(s, counts[v], +1) - state.split_cost(s)

    for v in vids:
        best = min(active, key=lambda s: (gain_add(s, v), -state.ratios[SPLITS.index(s)]))
        state.add(best, v)
        where[v] = best

    must_fill = len(vids) >= len(active)

    def move_delta(v, dst):
        src = where[v]
        return (state.split_cost(src, counts[v], -1) - state.split_cost(src)
                + state.split_cost(dst, counts[v], +1) - state.split_cost(dst))

    def move(v, dst):
        state.add(where[v], v, -1)
        state.add(dst, v, +1)
        where[v] = dst

    # Every active split gets a video: take the smallest video from the split with the most.
    if must_fill:
        for s in active:
            if state.videos[s] == 0:
                donor = max(active, key=lambda d: (state.videos[d], -SPLITS.index(d)))
                v = min((u for u in vids if where[u] == donor),
                        key=lambda u: (sum(counts[u].values()), move_delta(u, s), u))
                move(v, s)

    def keeps_nonempty(src):
        return not must_fill or state.videos[src] > 1

    for _ in range(200):
        best = (-1e-12, None)
        for v in vids:
            if not keeps_nonempty(where[v]):
                continue
            for dst in active:
                if dst != where[v]:
                    d = move_delta(v, dst)
                    if d < best[0]:
                        best = (d, ("move", v, dst))
        if len(vids) <= _SWAP_LIMIT:
            for i, a in enumerate(vids):
                for b in vids[i + 1:]:
                    sa, sb = where[a], where[b]
                    if sa == sb:
                        continue
                    before = state.split_cost(sa) + state.split_cost(sb)
                    move(a, sb)
                    move(b, sa)
                    d = state.split_cost(sa) + state.split_cost(sb) - before
                    move(a, sa)
                    move(b, sb)
                    if d < best[0]:
                        best = (d, ("swap", a, b))
        if best[1] is None:
            break
        op, a, b = best[1]
        if op == "move":
            move(a, b)
        else:
            sa, sb = where[a], where[b]
            move(a, sb)
            move(b, sa)
    return dict(sorted(where.items()))


def make_splits(store: Store, seed: int = 0, ratios: Sequence[float] = DEFAULT_RATIOS) -> dict[int, str]:
    """Assign the videos with dataset reps to splits and store them (replacing earlier splits).
    Videos that share a split group (`videos.split_group`: imported clips of one source video, or a
    user's key) go to one split together; a video without a group is its own."""
    counts = video_counts(store)
    groups = {v["id"]: v.get("split_group") for v in store.videos() if v.get("split_group")}
    # a group is one unit of the assignment (negative keys: never a video id); others stay video by video
    key_of = {g: -(i + 1) for i, g in enumerate(sorted(set(groups.values())))}
    units: dict[int, dict[str, int]] = {}
    for vid, per in counts.items():
        unit = units.setdefault(key_of[groups[vid]] if vid in groups else vid, {})
        for m, k in per.items():
            unit[m] = unit.get(m, 0) + k
    placed = assign_splits(units, seed, ratios)
    where = {vid: placed[key_of[groups[vid]] if vid in groups else vid] for vid in counts}
    stamp = now()
    with store.write() as con:
        con.execute("DELETE FROM splits")
        con.executemany("INSERT INTO splits(video_id, split, seed, created_at) VALUES (?,?,?,?)",
                        [(v, s, int(seed), stamp) for v, s in where.items()])
    return where


def current_splits(store: Store) -> dict[int, str]:
    with store.read() as con:
        return {r["video_id"]: r["split"] for r in con.execute("SELECT video_id, split FROM splits")}


def split_seed(store: Store) -> int | None:
    with store.read() as con:
        row = con.execute("SELECT seed FROM splits LIMIT 1").fetchone()
        return row["seed"] if row else None


def summary(store: Store) -> dict:
    """{"seed", "splits": {split: {"videos": [ids], "reps": n, "per_movement": {label: n}}},
    "unassigned": [video ids with dataset reps but no split (labelled after the splits were made)]}."""
    where = current_splits(store)
    counts = video_counts(store)
    labels = store.labels()
    out = {s: {"videos": [], "reps": 0, "per_movement": {m: 0 for m in labels}} for s in SPLITS}
    for v, s in sorted(where.items()):
        out[s]["videos"].append(v)
        for m, k in counts.get(v, {}).items():
            out[s]["per_movement"][m] = out[s]["per_movement"].get(m, 0) + k
            out[s]["reps"] += k
    return {"seed": split_seed(store), "splits": out, "unassigned": sorted(set(counts) - set(where))}
