"""`python -m core export MODEL --format saved_model|tflite [--quantize …]`."""
from __future__ import annotations

import json

from core.evaluation.export import FORMATS, QUANTIZE, export
from core.modeling import registry


def add_cli(sub, common) -> None:
    """Register the `export` subcommand on core/__main__.py's subparsers."""
    p = sub.add_parser("export", parents=[common],
                       help="export a registered model as a checked SavedModel or TF Lite (optionally quantised)")
    p.add_argument("model", metavar="MODEL", help="a registered model id, or a run id (its newest model)")
    p.add_argument("--format", dest="fmt", choices=FORMATS, default="saved_model")
    p.add_argument("--quantize", choices=QUANTIZE, default=None,
                   help="TF Lite quantisation: dynamic (int8 weights) or int8 (calibrated on train clips)")
    p.add_argument("--force", action="store_true",
                   help="register a TF Lite model even if it fails its check; rewrite an existing SavedModel")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cli)


def _pct(x) -> str:
    return "n/a" if x is None else f"{x * 100:.1f}%"


def format_report(out: dict) -> str:
    m = out.get("metrics") or {}
    lines = [f"{out['format']}{' (' + out['quantize'] + ')' if out.get('quantize') else ''} export of "
             f"{out['source_model']}: {out['path']}"]
    if out["format"] == "tflite":
        lines.append(f"val top-1: {_pct(m.get('top1_val'))} TF Lite vs {_pct(m.get('float_top1_val'))} float model "
                     f"({m.get('n_val', 0)} clips; agreement {_pct(m.get('top1_agreement'))}); "
                     f"max |p diff| {m.get('max_abs_diff', float('nan')):.2e}"
                     + (f", vs reference {m['max_abs_diff_reference']:.2e}" if m.get("max_abs_diff_reference")
                        is not None else "")
                     + f"; {m.get('size_bytes', 0) / 1e6:.1f} MB")
        lines.append((f"registered as model {out['model_id']}: " if out["registered"] else "") + out["reason"])
    else:
        lines.append(out["reason"])
    return "\n".join(lines)


def cli(args) -> int:
    import sys

    from core.base.workspace import Workspace

    ws = Workspace(args.workspace)
    out = export(ws, args.model, args.fmt, args.quantize, args.force,
                 progress=lambda done, total, text: print(text, file=sys.stderr, flush=True))
    if args.json:
        print(json.dumps(registry.to_jsonable(out), indent=2))
    else:
        print(format_report(out))
    return 0 if out["registered"] else 1
