"""`python -m core train [--preset demo|study|analyze|pose] [--config FILE] [--resume] …`."""
from __future__ import annotations

import json
from pathlib import Path

from core.base.workspace import Workspace
from core.modeling.config import FLAG_NAMES, PRESET_NAMES, add_arguments, resolve_config
from core.modeling.train import new_run_id, run_dir, train


def add_cli(sub, common) -> None:
    """Register `train` on core/__main__.py's subparsers."""
    p = sub.add_parser("train", parents=[common],
                       help="train MoViNet on the clip cache (a resumable run; exports and registers the model)")
    p.add_argument("--preset", choices=PRESET_NAMES,
                   help="demo (fast, CPU, from scratch), analyze (the demo model fine-tuned for whole-workout "
                        "analysis), study (A2, pretrained) or pose (the pose model on synthetic motion: no clips "
                        "needed; takes --epochs, --seed, --batch-size, --lr, --pose-samples, --synthetic-only)")
    p.add_argument("--pose-samples", dest="pose_samples", type=int, default=None,
                   help="--preset pose: synthetic training samples (val gets a quarter as many)")
    p.add_argument("--synthetic-only", dest="synthetic_only", action="store_true",
                   help="--preset pose: leave out the workspace's labelled reps (by default they join the "
                        "synthetic ones, their videos' pose tracks computed first)")
    p.add_argument("--config", metavar="FILE", help="YAML or JSON file of settings (flags override it)")
    add_arguments(p)
    p.add_argument("--run-id", dest="run_id", help="run folder name (default: a new id)")
    p.add_argument("--resume", action="store_true", help="continue the run from its latest checkpoint")
    p.set_defaults(func=cli)


def score_test_split(ws, model_id: str) -> None:
    """Store the registered model's predictions on the test split (nothing to do without test clips)."""
    import sys

    from core.evaluation.predictions import EvaluateError, predict_split

    try:
        pred = predict_split(ws, model_id, "test")
        print(f"test predictions of {model_id}: {pred.n} clips stored in {ws.relative(pred.path)}", file=sys.stderr)
    except EvaluateError as exc:
        print(f"test predictions of {model_id} not stored: {exc}", file=sys.stderr)


def cli(args) -> int:
    ws = Workspace(args.workspace)
    run_id = args.run_id or new_run_id()
    if args.preset == "pose":
        return _pose(ws, args, run_id)
    overrides = {k: getattr(args, k) for k in FLAG_NAMES if getattr(args, k, None) is not None}
    stored = None
    cfg_path = run_dir(ws, run_id) / "config.json"
    if args.resume and cfg_path.exists():
        stored = json.loads(cfg_path.read_text())
    if stored is not None and not args.preset and (not args.config or Path(args.config).resolve() == cfg_path.resolve()):
        cfg = resolve_config(None, None, overrides, base=stored)
    else:
        cfg = resolve_config(args.preset, args.config, overrides)
    summary = train(ws, cfg, run_id, resume=args.resume)
    if summary.get("stopped"):
        return 143
    if summary.get("model"):  # the Evaluate page shows its test figures at once
        score_test_split(ws, summary["model"])
    best = summary.get("best_val_top1")
    print(json.dumps({"run_id": run_id, "best_val_top1": best, "best_epoch": summary.get("best_epoch"),
                      "model": summary.get("model"), "seconds": summary.get("seconds")}))
    return 0


def _pose(ws, args, run_id: str) -> int:
    """`train --preset pose`: the pose model on synthetic motion (core.modeling.pose_run)."""
    from core.base.progress import print_progress
    from core.modeling.pose_run import train_pose_run

    over = {k: getattr(args, k, None) for k in ("epochs", "seed", "batch_size", "lr")}
    if args.pose_samples is not None:
        over.update(n_train=args.pose_samples, n_val=max(10, args.pose_samples // 4))
    if args.synthetic_only:
        over["labelled_reps"] = False
    summary = train_pose_run(ws, over, run_id, echo=lambda line: print(line, flush=True), progress=print_progress)
    print(json.dumps({"run_id": run_id, "kind": "pose", "best_val_top1": summary.get("best_val_top1"),
                      "best_epoch": summary.get("best_epoch"), "model": summary.get("model"),
                      "seconds": summary.get("seconds")}))
    return 0
