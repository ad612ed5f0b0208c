"""Command line: `python -m core COMMAND …` (every command takes --workspace DIR)."""
from __future__ import annotations

import argparse
import json
import sys

from core.workspace import Workspace


def _print(obj, as_json: bool) -> None:
    if as_json:
        print(json.dumps(obj, indent=2, default=str))
    elif isinstance(obj, list):
        for row in obj:
            print(row)
    else:
        print(obj)


def cmd_probe(args) -> int:
    from core.video import probe

    info = probe(args.video).to_json()
    if args.json:
        print(json.dumps(info))
    else:
        for key, value in info.items():
            print(f"{key:>11}: {value}")
    return 0


def cmd_demo(args) -> int:
    from core.demo import build_demo

    ws = Workspace(args.workspace)

    def progress(i, n, name):
        print(f"[{i}/{n}] {name}", file=sys.stderr, flush=True)

    ids = build_demo(ws, seed=args.seed, n_videos=args.videos, width=args.width, height=args.height,
                     target_seconds=args.seconds, progress=progress)
    counts = ws.store().counts()
    _print({"workspace": str(ws.root), "videos": ids, "reps_per_movement": counts["reps_per_movement"]}, True)
    return 0


def cmd_videos_add(args) -> int:
    from core.library import add_sources

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
    from core.supervisely import import_supervisely

    report = import_supervisely(Workspace(args.workspace).store(), args.dir, annotator=args.annotator)
    print(report.summary())
    for problem in report.problems:
        print(f"  problem: {problem}")
    for note in report.notes:
        print(f"  note: {note}")
    return 1 if report.problems else 0


def cmd_labels_export(args) -> int:
    from core.supervisely import export_supervisely

    ws = Workspace(args.workspace)
    report = export_supervisely(ws.store(), args.dir, annotators=args.annotator or None,
                                video_root=ws.root if args.with_videos else None)
    print(report.summary())
    return 0


def cmd_labels_list(args) -> int:
    from core.annotate import dataset_segments

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
    p.add_argument("--videos", type=int, default=12)
    p.add_argument("--width", type=int, default=854)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--seconds", type=float, default=None, help="target length of each workout")
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
    p.add_argument("--dataset", action="store_true", help="only reps that feed the dataset (see core.annotate)")
    p.set_defaults(func=cmd_labels_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    from core.store import StoreError
    from core.video import VideoError
    from core.workspace import PathError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (VideoError, StoreError, PathError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
