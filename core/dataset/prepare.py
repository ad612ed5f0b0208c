"""The dataset in one call (the Clips page's main button and `python -m core split`): cut the
dataset reps into clips, make splits when asked, build the training cache; one progress bar over
the steps, one cancel."""
from __future__ import annotations

from dataclasses import dataclass, field

from core.base.progress import Progress, check_cancel, report
from core.dataset import clips, splits
from core.dataset import training_cache as cache

STEPS = ("cut", "splits", "cache")
_SHARE = {"cut": 0.6, "splits": 0.05, "cache": 0.35}  # of the progress bar


@dataclass
class Prepared:
    lines: list[str] = field(default_factory=list)     # what was done, one line per step
    problems: list[str] = field(default_factory=list)  # reps that could not be cut, with why
    cancelled: bool = False


def prepare_dataset(ws, steps=STEPS, *, jobs: int = 1, crop: bool = True, frames: int = 10, size: int = 224,
                    seed: int = 0, ratios=(0.7, 0.15, 0.15), progress: Progress | None = None,
                    cancel=None) -> Prepared:
    unknown = set(steps) - set(STEPS)
    if unknown:
        raise ValueError(f"Unknown step(s) {sorted(unknown)}; use {', '.join(STEPS)}.")
    out = Prepared()
    total = sum(_SHARE[s] for s in steps) or 1.0
    base = 0.0
    for step in [s for s in STEPS if s in steps]:
        weight = _SHARE[step] / total

        def part(done, n, text, base=base, weight=weight, step=step):
            share = base + weight * (done / n if n else 1.0)
            report(progress, int(1000 * share), 1000, f"{step}: {done}/{n} {text}".rstrip())

        if step == "cut":
            cut = clips.cut_clips(ws, jobs=int(jobs), crop=crop, progress=part, cancel=cancel)
            out.lines.append(cut.summary())
            out.problems.extend(cut.problems)
            if cut.cancelled:
                out.cancelled = True
                break
        elif step == "splits":
            check_cancel(cancel, "Preparing the dataset")
            splits.make_splits(ws.store(), seed=int(seed), ratios=ratios)
            out.lines.append(f"Splits made with seed {int(seed)}.")
        else:
            built = cache.build(ws, int(frames), int(size), crop, jobs=int(jobs), progress=part, cancel=cancel)
            out.lines.append(f"Cache {built['key']}: {built['computed']} clips computed, {built['reused']} reused"
                             + (" (cancelled)" if built["cancelled"] else "") + ".")
            out.cancelled = bool(built["cancelled"])
        base += weight
    report(progress, 1000, 1000, "done")
    return out
