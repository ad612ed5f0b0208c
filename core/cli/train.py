"""`python -m core train [--preset demo|study|analyze] [--config FILE] [--resume] …`."""
from __future__ import annotations

import json
from pathlib import Path

from core.base.workspace import Workspace
from core.modeling.train import (
    CLI_FLAGS,
    AUGMENTS,
    MODEL_IDS,
    OPTIMIZERS,
    PRESETS,
    SCHEDULES,
    VARIANTS,
    new_run_id,
    resolve_config,
    run_dir,
    train,
)


def add_cli(sub, common) -> None:
    """Register `train` on core/__main__.py's subparsers."""
    p = sub.add_parser("train", parents=[common],
                       help="train MoViNet on the clip cache (a resumable run; exports and registers the model)")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="demo (fast, CPU, from scratch), analyze (the demo model fine-tuned for whole-workout "
                        "analysis) or study (A2, pretrained)")
    p.add_argument("--config", metavar="FILE", help="YAML or JSON file of settings (flags override it)")
    p.add_argument("--model", choices=MODEL_IDS)
    p.add_argument("--variant", choices=VARIANTS)
    p.add_argument("--frames", type=int)
    p.add_argument("--resolution", type=int, help="square input size (default: the model's native one)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int, dest="batch_size")
    p.add_argument("--optimizer", choices=OPTIMIZERS)
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--schedule", choices=SCHEDULES)
    p.add_argument("--warmup-epochs", type=float, dest="warmup_epochs")
    p.add_argument("--label-smoothing", type=float, dest="label_smoothing")
    p.add_argument("--freeze", action="store_true", default=None, help="train the classifier head only")
    p.add_argument("--pretrained", help="none, auto (official Kinetics-600 checkpoint), model:<id> (a registered "
                                        "model's backbone) or a checkpoint path")
    p.add_argument("--windows", type=int,
                   help="whole-workout windows per epoch beside the clips, with a none class (for the analyser)")
    p.add_argument("--window-scales", dest="window_scales",
                   help="spans of those windows in seconds, comma-separated (default 1,2)")
    p.add_argument("--dropout", type=float)
    p.add_argument("--augment", choices=AUGMENTS)
    p.add_argument("--focus", choices=["none", "motion"],
                   help="motion: crop each clip to the square around what moves (the athlete in a wide shot)")
    p.add_argument("--steps-per-epoch", type=int, dest="steps_per_epoch", help="cap the steps per epoch")
    p.add_argument("--checkpoint-every-steps", type=int, dest="checkpoint_every_steps")
    p.add_argument("--seed", type=int)
    p.add_argument("--cache-quality", type=int, dest="cache_quality", help="JPEG quality of the training cache (80)")
    p.add_argument("--run-id", dest="run_id", help="run folder name (default: a new id)")
    p.add_argument("--resume", action="store_true", help="continue the run from its latest checkpoint")
    p.set_defaults(func=cli)


def cli(args) -> int:
    ws = Workspace(args.workspace)
    run_id = args.run_id or new_run_id()
    overrides = {k: getattr(args, k) for k in CLI_FLAGS if getattr(args, k, None) is not None}
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
    best = summary.get("best_val_top1")
    print(json.dumps({"run_id": run_id, "best_val_top1": best, "best_epoch": summary.get("best_epoch"),
                      "model": summary.get("model"), "seconds": summary.get("seconds")}))
    return 0
