"""`python -m core labels list | import-supervisely | export-supervisely`."""
from __future__ import annotations

from core.base.workspace import Workspace
from core.cli.output import print_result


def cmd_labels_import(args) -> int:
    from pathlib import Path

    from core.labeling.supervisely import import_supervisely, map_file

    store = Workspace(args.workspace).store()
    mapped = []
    for item in args.map or []:
        file, _, vid = item.rpartition("=")
        if not file or not vid.strip().isdigit():
            print(f"error: --map takes FILE=VIDEO_ID, not {item!r}")
            return 2
        path = Path(file) if Path(file).is_file() else Path(args.dir) / file
        mapped.append(map_file(store, path, int(vid), annotator=args.annotator, root=args.dir))
    report = import_supervisely(store, args.dir, annotator=args.annotator)
    for one in mapped:
        print(f"mapped: {one.summary()}")
    print(report.summary())
    for problem in report.problems:
        print(f"  {problem.kind if problem.kind != 'error' else 'problem'}: {problem}")
    for note in report.notes:
        print(f"  note: {note}")
    if report.unmatched:
        print("  map a file to a workspace video with --map FILE=VIDEO_ID (videos: `python -m core videos list`)")
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
        print_result(rows, True)
    else:
        for r in rows:
            print(f"{r['video']}  {r['start']:>6}–{r['end']:<6}  {r['label']:<18}  {r['annotator']:<14}  "
                  f"{r['review'] or '-':<8}  {r['uuid']}")
    return 0


def add_cli(sub, common) -> None:
    labels = sub.add_parser("labels", help="list, import and export rep labels").add_subparsers(
        dest="labels_command", required=True)
    p = labels.add_parser("import-supervisely", parents=[common],
                          help="import a Supervisely video project (meta.json + <dataset>/ann/<video>.json) or flat export files")
    p.add_argument("dir")
    p.add_argument("--annotator", default="supervisely", help="annotator for tags without labelerLogin")
    p.add_argument("--map", action="append", metavar="FILE=VIDEO_ID",
                   help="import this export file for this workspace video (remembered; repeatable)")
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
