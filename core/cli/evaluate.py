"""`python -m core evaluate RUN_OR_MODEL [--split test] [--json] [--out DIR]`."""
from __future__ import annotations

import json
import math

from core.evaluation.figures import write_outputs
from core.evaluation.metrics import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED
from core.evaluation.predictions import SPLITS, predict_split
from core.modeling.registry import to_jsonable

# The keys the CLI's --json promises (issue 6); evaluate_arrays returns more.
CLI_KEYS = ("top1", "top5", "mean_class_acc", "n", "per_class", "confusion", "correlation")


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
