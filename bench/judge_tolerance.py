"""The judge's side-view measurement tolerances (`core.pose.reps.TOLERANCE`), chosen on synthetic val tracks.

    .venv/bin/python bench/judge_tolerance.py [--val-workouts 200] [--json]

1. val: held-out synthetic workouts with no-reps (`motion.varied_config(norep_p=0.25)`), half demo-style WODs
   and half random plans, seeds 600000+ (disjoint from training and from `bench/pose_model.py`'s test seeds);
2. every check of every rep measured once, in every view (the counter's reps matched to the true ones by the
   largest overlap, as `evaluate_tracks` does);
3. coordinate descent over each check's side-view tolerance (0, 1, 2, ... in its unit) for the best no-rep
   F1 on val; the front-view tolerances stay as they are (synthetic front views are cleaner than real ones:
   a coach's locked-out kettlebell thrusters read 143-167 deg from the front), and no check is switched off;
4. the current and the chosen table on val and on `bench/pose_model.py`'s test workouts (all views, side views).

Synthetic figures only: they say which tolerance fits the generator's noise, not a real judge's accuracy.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from core.pose import reps as PR  # noqa: E402
from pose_model import heldout_tracks, test_tracks  # noqa: E402

STD = {(m, sd.check): sd for m, stds in PR.STANDARDS.items() for sd in stds}


def val_tracks(n: int) -> list:
    return heldout_tracks(n, 7000, 600_000)


def measure(tracks) -> list[dict]:
    """Per true rep of a judged movement: the truth, whether a counted rep matches it, and every check's
    value there (measured in every view: a table with every check judged in both)."""
    everywhere = {k: (0.0, 0.0) for k in STD}
    out = []
    for tr in tracks:
        arrays = tr.arrays()
        for st in tr.sets():
            m = st["label"]
            if m not in PR.STANDARDS:
                continue
            try:
                S = PR.set_signals(arrays, st["start"], st["end"], m)
                reps = PR.count_reps(arrays, m, st["start"], st["end"], tr.fps, signals=S)
                judged = PR.judge_reps(arrays, m, reps, tr.fps, signals=S, tolerances=everywhere)
                side = S["sideness"] >= PR.MIN_SIDENESS
            except PR.PoseError:
                judged, side = [], False
            for g in st["reps"]:
                j = PR.best_match(g, judged)
                out.append({"movement": m, "side": side, "no_rep": not g["valid"], "matched": j is not None,
                            "checks": [] if j is None else [(c["check"], c["value"]) for c in j["checks"]]})
    return out


def _fails(m: str, check: str, v, side: bool, table: dict) -> bool:
    sd = STD[(m, check)]
    tol = PR.tolerance(m, sd, side, table)
    return tol is not None and v is not None and not PR.passes(sd, v, tol)


def score(reps: list[dict], table: dict, side_only: bool = False) -> dict:
    tp = fp = fn = 0
    for r in reps:
        if side_only and not r["side"]:
            continue
        pred = r["matched"] and any(_fails(r["movement"], c, v, r["side"], table) for c, v in r["checks"])
        tp += pred and r["no_rep"]
        fp += pred and not r["no_rep"]
        fn += (not pred) and r["no_rep"]
    p = tp / (tp + fp) if tp + fp else 0.0
    rc = tp / (tp + fn) if tp + fn else 0.0
    return {"f1": round(2 * p * rc / (p + rc), 3) if p + rc else 0.0, "precision": round(p, 3), "recall": round(rc, 3),
            "tp": tp, "fp": fp, "fn": fn}


def choose_side(reps: list[dict], table: dict, rounds: int = 3) -> dict:
    table = dict(table)
    for _ in range(rounds):
        changed = False
        for key, sd in STD.items():
            side, front = (PR.tolerance(key[0], sd, view, table) for view in (True, False))
            if side is None:
                continue
            best, best_f1 = side, score(reps, table)["f1"]
            for t in range(0, 45 if sd.unit == "deg" else 40):
                f1 = score(reps, {**table, key: (float(t), front)})["f1"]
                if f1 > best_f1 + 1e-9:
                    best, best_f1 = float(t), f1
            if best != side:
                table[key] = (best, front)
                changed = True
        if not changed:
            break
    return table


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--val-workouts", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    val = measure(val_tracks(a.val_workouts))
    test = measure(test_tracks(60, 0))
    chosen = choose_side(val, PR.TOLERANCE)
    res = {"changed": {f"{m}/{c}": {"now": PR.TOLERANCE.get((m, c)), "chosen": v} for (m, c), v in chosen.items()
                       if PR.TOLERANCE.get((m, c)) != v}}
    for name, table in (("current", PR.TOLERANCE), ("chosen", chosen)):
        for split, reps in (("val", val), ("test", test)):
            res[f"{name}_{split}"] = {"all": score(reps, table), "side": score(reps, table, side_only=True)}
            print(f"{name:8s} {split:5s} all {res[f'{name}_{split}']['all']}  side {res[f'{name}_{split}']['side']}")
    for k, v in res["changed"].items():
        print(f"  {k:24s} side/front tolerance {v['now']} -> {v['chosen']}")
    if a.json:
        print(json.dumps(res, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
