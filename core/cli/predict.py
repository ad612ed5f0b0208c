"""`python -m core predict MODEL VIDEO [--topk 5] [--engine auto] [--json]`."""
from __future__ import annotations

import json

from core.inference.predictor import ENGINES, TOPK, predict_file


def add_cli(sub, common) -> None:
    """Register the `predict` subcommand on core/__main__.py's subparsers."""
    p = sub.add_parser("predict", parents=[common], help="top-k movements of a video with a registered model")
    p.add_argument("model", metavar="MODEL", help="a registered model id, a run id, or an exported model folder")
    p.add_argument("video", metavar="VIDEO", help="a video file")
    p.add_argument("--topk", type=int, default=TOPK, help="how many movements to list (default 5)")
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="auto (fast exact CPU path), fast, reference, tflite")
    p.add_argument("--start", type=int, default=None, help="first frame (default 0)")
    p.add_argument("--end", type=int, default=None, help="last frame, inclusive (default the last)")
    p.add_argument("--json", action="store_true", help='print {"top": [...], "timings_ms": {...}, ...} as JSON')
    p.set_defaults(func=cli)


def cli(args) -> int:
    from core.base.workspace import Workspace

    ws = Workspace(args.workspace)
    out = predict_file(args.model, args.video, args.topk, args.engine, ws=ws, start=args.start, end=args.end)
    if args.json:
        print(json.dumps({k: v for k, v in out.items() if k != "probabilities"}, indent=2))
    else:
        t = out["timings_ms"]
        print(f"model {out['model']} ({out['engine']}), frames {out['range'][0]}–{out['range'][1]}, "
              f"sampled {out['frames_used']}")
        for i, r in enumerate(out["top"], 1):
            print(f"{i}. {r['movement']:<20} {r['probability'] * 100:6.2f}%")
        for note in (out.get("message"), (out.get("pose") or {}).get("warning")):  # the pose model's notes
            if note:
                print(f"note: {note}")
        print(f"decode {t['decode']:.0f} ms · preprocess {t['preprocess']:.0f} ms · model {t['model']:.0f} ms · "
              f"total {t['total']:.0f} ms")
    return 0
