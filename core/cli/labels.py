"""`python -m core labels list | import-supervisely | export-supervisely`."""
from __future__ import annotations

from core.base.workspace import Workspace
from core.cli.output import print_result


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
