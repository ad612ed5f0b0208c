"""`python -m core split | stats | splits make/show | cache build/size | export-manifest`."""
from __future__ import annotations

import argparse
import os
import sys

from core.base.workspace import Workspace
from core.cli.output import print_result


def cmd_split(args) -> int:
    from core.dataset.prepare import prepare_dataset

    ws = Workspace(args.workspace)

    def progress(done, total, text):
        print(f"[{done}/{total}] {text}", file=sys.stderr, flush=True)

    done = prepare_dataset(ws, ("cut",) if args.no_cache else ("cut", "cache"), jobs=args.jobs,
                           crop=not args.no_crop, frames=args.frames, size=args.size, progress=progress)
    print("\n".join(done.lines))
    for problem in done.problems:
        print(f"  problem: {problem}")
    return 1 if done.problems else 0


def cmd_stats(args) -> int:
    from core.dataset.stats import format_table, stats

    result = stats(Workspace(args.workspace).store(), source=args.source)
    if args.json:
        print_result(result, True)
    else:
        print(format_table(result))
    return 0


def cmd_splits_make(args) -> int:
    from core.dataset.splits import make_splits, summary

    store = Workspace(args.workspace).store()
    make_splits(store, seed=args.seed, ratios=args.ratios)
    result = summary(store)
    for name, part in result["splits"].items():
        print(f"{name:>5}: {len(part['videos'])} videos, {part['reps']} reps")
    return 0


def cmd_splits_show(args) -> int:
    from core.dataset.splits import summary

    result = summary(Workspace(args.workspace).store())
    if args.json:
        print_result(result, True)
    else:
        print(f"seed {result['seed']}")
        for name, part in result["splits"].items():
            print(f"{name:>5}: {len(part['videos'])} videos, {part['reps']} reps  {part['per_movement']}")
        if result["unassigned"]:
            print(f"videos with reps but no split (make splits again): {result['unassigned']}")
    return 0


def cmd_cache_build(args) -> int:
    from core.dataset.training_cache import build, size_report

    ws = Workspace(args.workspace)

    def progress(done, total, text):
        print(f"[{done}/{total}] {text}", file=sys.stderr, flush=True)

    built = build(ws, args.frames, args.size, not args.no_crop, jobs=args.jobs, progress=progress)
    print_result({**built, **size_report(ws, args.frames, args.size, not args.no_crop)}, True)
    return 0


def cmd_cache_size(args) -> int:
    from core.dataset.training_cache import size_report

    print_result(size_report(Workspace(args.workspace), args.frames, args.size, not args.no_crop), True)
    return 0


def cmd_export_manifest(args) -> int:
    from core.dataset.manifest import export

    result = export(Workspace(args.workspace), args.out_dir)
    print(f"wrote {len(result['files'])} files to {result['out_dir']}")
    return 0


def add_cli(sub, common) -> None:
    """split, stats, splits, cache, export-manifest (core.dataset.clips, stats, splits, cache, export)."""
    setting = argparse.ArgumentParser(add_help=False)
    setting.add_argument("--frames", type=int, default=10, help="frames per clip in the cache (default 10)")
    setting.add_argument("--size", type=int, default=224, help="cache resolution, square (default 224)")
    setting.add_argument("--no-crop", action="store_true", help="whole frames, not the athlete box")
    setting.add_argument("--jobs", type=int, default=max(1, min(4, os.cpu_count() or 1)),
                         help="worker processes (default: cores, at most 4)")

    p = sub.add_parser("split", parents=[common, setting],
                       help="cut the dataset reps into frame-exact clips (incremental, resumable), then cache them")
    p.add_argument("--no-cache", action="store_true", help="only cut clips; skip building the training cache")
    p.set_defaults(func=cmd_split)

    p = sub.add_parser("stats", parents=[common], help="frames and seconds per movement, reps per video/annotator")
    p.add_argument("--json", action="store_true")
    p.add_argument("--source", choices=("reps", "clips"), default="reps",
                   help="count the dataset reps (default) or the clips cut so far")
    p.set_defaults(func=cmd_stats)

    splits = sub.add_parser("splits", help="train/val/test splits grouped by video").add_subparsers(
        dest="splits_command", required=True)
    p = splits.add_parser("make", parents=[common], help="assign videos to train/val/test (stratified by movement)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ratios", type=float, nargs=3, default=(0.7, 0.15, 0.15), metavar=("TRAIN", "VAL", "TEST"))
    p.set_defaults(func=cmd_splits_make)
    p = splits.add_parser("show", parents=[common], help="the current splits")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_splits_show)

    cache = sub.add_parser("cache", help="the training cache (JPEG frames in TFRecord shards)").add_subparsers(
        dest="cache_command", required=True)
    p = cache.add_parser("build", parents=[common, setting], help="build or update the cache of one setting")
    p.set_defaults(func=cmd_cache_build)
    p = cache.add_parser("size", parents=[common, setting], help="cache bytes vs clip mp4 bytes")
    p.set_defaults(func=cmd_cache_size)

    p = sub.add_parser("export-manifest", parents=[common],
                       help="splitter manifests (<video>.json: start_time, length, rename_to) and clips.csv")
    p.add_argument("out_dir")
    p.set_defaults(func=cmd_export_manifest)
