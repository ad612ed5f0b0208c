"""Command line: `python -m core COMMAND …` (every command takes --workspace DIR)."""
from __future__ import annotations

import argparse
import json
import os
import sys

from core.base.workspace import Workspace


def _print(obj, as_json: bool) -> None:
    if as_json:
        print(json.dumps(obj, indent=2, default=str))
    elif isinstance(obj, list):
        for row in obj:
            print(row)
    else:
        print(obj)


def cmd_probe(args) -> int:
    from core.media.video import probe

    info = probe(args.video).to_json()
    if args.json:
        print(json.dumps(info))
    else:
        for key, value in info.items():
            print(f"{key:>11}: {value}")
    return 0


def cmd_demo(args) -> int:
    from core.demo.build import DEMO_REPS, DEMO_VIDEOS, build_demo

    ws = Workspace(args.workspace)

    def progress(i, n, name):
        print(f"[{i}/{n}] {name}", file=sys.stderr, flush=True)

    ids = build_demo(ws, seed=args.seed, n_videos=args.videos or DEMO_VIDEOS, width=args.width, height=args.height,
                     fps=args.fps, target_seconds=args.seconds, progress=progress,
                     reps_per_movement=args.reps or DEMO_REPS)
    counts = ws.store().counts()
    _print({"workspace": str(ws.root), "videos": ids, "reps_per_movement": counts["reps_per_movement"]}, True)
    return 0


def cmd_videos_add(args) -> int:
    from core.media.library import add_sources

    ws = Workspace(args.workspace)

    def progress(p):
        if p.get("fraction") is not None:
            print(f"\r{p.get('filename', '')}: {p['fraction'] * 100:5.1f}%", end="", file=sys.stderr, flush=True)

    results = add_sources(ws, args.sources, progress=progress)
    print(file=sys.stderr)
    for r in results:
        print(r.message)
    return 1 if any(r.error for r in results) else 0


def cmd_videos_list(args) -> int:
    videos = Workspace(args.workspace).store().videos()
    if args.json:
        _print(videos, True)
    else:
        for v in videos:
            print(f"{v['id']:>4}  {v['frames']:>6} fr  {v['fps']:6.2f} fps  {v['width']}x{v['height']}  {v['path']}")
    return 0


def cmd_labels_import(args) -> int:
    from core.labeling.supervisely import import_supervisely

    report = import_supervisely(Workspace(args.workspace).store(), args.dir, annotator=args.annotator)
    print(report.summary())
    for problem in report.problems:
        print(f"  problem: {problem}")
    for note in report.notes:
        print(f"  note: {note}")
    return 1 if report.problems else 0


def cmd_labels_export(args) -> int:
    from core.labeling.supervisely import export_supervisely

    ws = Workspace(args.workspace)
    report = export_supervisely(ws.store(), args.dir, annotators=args.annotator or None,
                                video_root=ws.root if args.with_videos else None)
    print(report.summary())
    return 0


def cmd_labels_list(args) -> int:
    from core.labeling.annotator import dataset_segments

    store = Workspace(args.workspace).store()
    paths = {v["id"]: v["path"] for v in store.videos()}
    segments = dataset_segments(store) if args.dataset else store.segments()
    rows = [
        {"video": paths[s["video_id"]], "video_id": s["video_id"], "label": s["label"], "start": s["start"],
         "end": s["end"], "annotator": s["annotator"], "review": s["review"], "uuid": s["uuid"]}
        for s in segments if args.annotator is None or s["annotator"] == args.annotator
    ]
    if args.json:
        _print(rows, True)
    else:
        for r in rows:
            print(f"{r['video']}  {r['start']:>6}–{r['end']:<6}  {r['label']:<18}  {r['annotator']:<14}  "
                  f"{r['review'] or '-':<8}  {r['uuid']}")
    return 0


def cmd_split(args) -> int:
    from core.dataset.clips import cut_clips

    ws = Workspace(args.workspace)

    def progress(done, total, text):
        print(f"[{done}/{total}] {text}", file=sys.stderr, flush=True)

    report = cut_clips(ws, jobs=args.jobs, crop=not args.no_crop, progress=progress)
    print(report.summary())
    for problem in report.problems:
        print(f"  problem: {problem}")
    if not args.no_cache and not report.cancelled:
        from core.dataset.training_cache import build

        built = build(ws, args.frames, args.size, not args.no_crop, jobs=args.jobs, progress=progress)
        print(f"cache {built['key']}: {built['computed']} clips computed, {built['reused']} reused")
    return 1 if report.problems else 0


def cmd_stats(args) -> int:
    from core.dataset.stats import format_table, stats

    result = stats(Workspace(args.workspace).store(), source=args.source)
    if args.json:
        _print(result, True)
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
        _print(result, True)
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
    _print({**built, **size_report(ws, args.frames, args.size, not args.no_crop)}, True)
    return 0


def cmd_cache_size(args) -> int:
    from core.dataset.training_cache import size_report

    _print(size_report(Workspace(args.workspace), args.frames, args.size, not args.no_crop), True)
    return 0


def cmd_export_manifest(args) -> int:
    from core.dataset.manifest import export

    result = export(Workspace(args.workspace), args.out_dir)
    print(f"wrote {len(result['files'])} files to {result['out_dir']}")
    return 0


def _add_clip_commands(sub, common) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--workspace", help="workspace folder (default: data/ or $WORKSPACE)")
    parser = argparse.ArgumentParser(prog="python -m core", description="CrossFit movement workbench")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("probe", parents=[common], help="exact frame count, fps, size of a video")
    p.add_argument("video")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_probe)

    p = sub.add_parser("demo", parents=[common], help="build the demo workspace of synthetic workouts")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--videos", type=int, default=None, help="number of workouts (default 36)")
    p.add_argument("--width", type=int, default=854)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--fps", type=float, default=30)
    p.add_argument("--seconds", type=float, default=None, help="target length of each workout")
    p.add_argument("--reps", type=int, default=None, help="reps of each movement over all the videos (default 90)")
    p.set_defaults(func=cmd_demo)

    videos = sub.add_parser("videos", help="add and list videos").add_subparsers(dest="videos_command", required=True)
    p = videos.add_parser("add", parents=[common], help="add files, folders, URLs or playlists")
    p.add_argument("sources", nargs="+")
    p.set_defaults(func=cmd_videos_add)
    p = videos.add_parser("list", parents=[common])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_videos_list)

    labels = sub.add_parser("labels", help="list, import and export rep labels").add_subparsers(
        dest="labels_command", required=True)
    p = labels.add_parser("import-supervisely", parents=[common],
                          help="import a Supervisely video project (meta.json + <dataset>/ann/<video>.json)")
    p.add_argument("dir")
    p.add_argument("--annotator", default="supervisely", help="annotator for tags without labelerLogin")
    p.set_defaults(func=cmd_labels_import)
    p = labels.add_parser("export-supervisely", parents=[common], help="write reps as a Supervisely video project")
    p.add_argument("dir")
    p.add_argument("--annotator", action="append", help="only this annotator's reps (repeatable)")
    p.add_argument("--with-videos", action="store_true", help="also copy the videos to <dataset>/video/")
    p.set_defaults(func=cmd_labels_export)
    p = labels.add_parser("list", parents=[common], help="list reps")
    p.add_argument("--json", action="store_true")
    p.add_argument("--annotator", help="only this annotator's reps")
    p.add_argument("--dataset", action="store_true", help="only reps that feed the dataset (see core.labeling.annotator)")
    p.set_defaults(func=cmd_labels_list)
    _add_clip_commands(sub, common)
    from core.evaluation.evaluate import add_cli as add_evaluate_command

    add_evaluate_command(sub, common)  # python -m core evaluate RUN_OR_MODEL [--split test] [--json]
    from core.modeling.train import add_cli as add_train_command

    add_train_command(sub, common)  # python -m core train [--preset demo|study] [--config FILE] [--resume] …
    from core.inference.predictor import add_cli as add_predict_command

    add_predict_command(sub, common)  # python -m core predict MODEL VIDEO [--topk 5] [--engine auto] [--json]
    from core.modeling.export import add_cli as add_export_command

    add_export_command(sub, common)  # python -m core export MODEL --format saved_model|tflite [--quantize …]
    from core.analysis.analyze import add_cli as add_analyze_commands

    add_analyze_commands(sub, common)  # python -m core analyze MODEL VIDEO [--json] [--draft] | analyze-eval MODEL
    return parser


def main(argv: list[str] | None = None) -> int:
    from core.base.store import StoreError
    from core.media.video import VideoError
    from core.base.workspace import PathError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (VideoError, StoreError, PathError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
