"""`python -m core models list [--kind pose] [--json]`: the registered models (core.modeling.registry)."""
from __future__ import annotations

import json

from core.modeling.registry import KINDS, list_models, to_jsonable, val_top1


def add_cli(sub, common) -> None:
    """Register `models` on core/__main__.py's subparsers."""
    p = sub.add_parser("models", parents=[common], help="the registered models: id, kind, labels, metrics")
    msub = p.add_subparsers(dest="models_command", required=True)
    ls = msub.add_parser("list", parents=[common], help="list the registered models, newest first")
    ls.add_argument("--kind", choices=KINDS, help="only models of this kind")
    ls.add_argument("--json", action="store_true",
                    help="print [{id, kind, labels, metrics, created_at, run_id, path}] as JSON")
    ls.set_defaults(func=cmd_list)


def model_rows(ws, kind: str | None = None) -> list[dict]:
    """The registry's rows as the command prints them (JSON-safe)."""
    return [to_jsonable({"id": m["id"], "kind": m["kind"], "labels": m["labels"], "metrics": m["metrics"],
                         "created_at": m["created_at"], "run_id": m.get("run_id"), "path": m["path"]})
            for m in list_models(ws.store(), kind=kind)]


def cmd_list(args) -> int:
    from core.base.workspace import Workspace

    rows = model_rows(Workspace(args.workspace), args.kind)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no models registered yet: python -m core train --preset pose (or --preset demo)")
        return 0
    for m in rows:
        top1 = val_top1(m)
        print(f"{m['id']:<28} {m['kind']:<8} {len(m['labels']):>2} labels  "
              f"val top-1 {'-' if top1 is None else f'{top1:.3f}'}  {m['created_at'][:19]}")
    return 0
