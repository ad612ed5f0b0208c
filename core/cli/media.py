"""`python -m core probe | demo | videos add | videos add-clips | videos list`."""
from __future__ import annotations

import json
import sys

from core.base.workspace import Workspace
from core.cli.output import print_result


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
    """The demo build, step by step (core.demo.build.STEPS), resumable: finished steps are not redone;
    its state is in the workspace's status file, which the Home page shows. One build at a time."""
    import fcntl

    from core.demo.build import DEMO_REPS, DEMO_VIDEOS, LOCK_FILE, STEPS, BuildStatus, build_demo

    ws = Workspace(args.workspace)
    wanted = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = set(wanted) - {n for n, _ in STEPS}
    if unknown:
        raise ValueError(f"Unknown demo step(s) {sorted(unknown)}; the steps are {', '.join(n for n, _ in STEPS)}.")
    if "render" in wanted:  # bad settings are refused before any step runs
        from core.demo.synthetic import demo_plans

        demo_plans(args.seed, DEMO_VIDEOS if args.videos is None else args.videos, args.seconds,
                   DEMO_REPS if args.reps is None else args.reps)
    lock = open(ws.root / LOCK_FILE, "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print("The demo build is already running in this workspace (see the Home page).", file=sys.stderr)
        return 0
    status = BuildStatus(ws, skip=[n for n, _ in STEPS if n not in wanted])
    out = {"workspace": str(ws.root)}
    for name, title in STEPS:
        if name not in wanted:
            continue
        print(f"demo build: {title}", file=sys.stderr, flush=True)
        status.update(name, "running", text="starting")
        try:
            note = _demo_step(ws, name, args, status.progress(name), out, DEMO_VIDEOS, DEMO_REPS, build_demo)
        except BaseException as exc:
            status.update(name, "failed", text=str(exc)[:300])
            raise
        status.update(name, "done", text=note)
    counts = ws.store().counts()
    out["reps_per_movement"] = counts["reps_per_movement"]
    print_result(out, True)
    return 0


def _demo_step(ws, name, args, progress, out, demo_videos, demo_reps, build_demo) -> str:
    from core.modeling.registry import list_models

    # pose: on synthetic motion (the renders do not exist yet); pose-reps: retrained once the renders are cut,
    # on their reps too, whose pose tracks carry the tracker's real errors (a better judge of real video)
    if name in ("pose", "pose-reps"):
        from core.modeling.registry import learned_from_labels

        have = [m for m in list_models(ws.store(), kind="pose") if name == "pose" or learned_from_labels(m)]
        if have:
            return f"pose model {have[0]['id']} is registered" + (
                " (it has learned from the workspace's reps)" if name == "pose-reps" else "")
        from core.modeling.pose_run import train_pose_run

        summary = train_pose_run(ws, progress=progress)
        out["pose_model"] = summary.get("model")
        note = f"pose model {summary.get('model')} registered (val top-1 {summary.get('best_val_top1')}"
        return note + (f", on the renders' val reps {summary.get('val_top1_labelled')})" if name == "pose-reps" else ")")
    if name == "render":
        ids = build_demo(ws, seed=args.seed, n_videos=demo_videos if args.videos is None else args.videos,
                         width=args.width, height=args.height, fps=args.fps, target_seconds=args.seconds,
                         progress=progress, reps_per_movement=demo_reps if args.reps is None else args.reps)
        out["videos"] = ids
        return f"{len(ids)} demo workouts"
    if name == "dataset":
        from core.dataset.prepare import prepare_dataset
        from core.dataset.splits import current_splits

        steps = ("cut",) if current_splits(ws.store()) else ("cut", "splits")
        done = prepare_dataset(ws, steps, jobs=2, progress=progress)
        return " ".join(done.lines)
    # the MoViNet demo preset (tens of minutes on a CPU)
    if list_models(ws.store(), kind="movinet"):
        return "a MoViNet model is registered"
    from core.cli.train import score_test_split
    from core.modeling.config import resolve_config
    from core.modeling.train import new_run_id, train

    summary = train(ws, resolve_config("demo"), new_run_id())
    if summary.get("model"):
        score_test_split(ws, summary["model"])
    return f"MoViNet model {summary.get('model')} (best val top-1 {summary.get('best_val_top1')})"


def cmd_videos_add(args) -> int:
    from core.base.progress import print_progress
    from core.media.library import add_sources

    ws = Workspace(args.workspace)

    results = add_sources(ws, args.sources, progress=print_progress)
    for r in results:
        print(r.message)
    _wait_for_proxies()
    return 1 if any(r.error for r in results) else 0


def _wait_for_proxies() -> None:
    from core.media import proxy

    if proxy.running():
        print("making labeling proxies of the long-GOP videos (instant frames on the Label page)…",
              file=sys.stderr, flush=True)
        proxy.wait()


def cmd_videos_proxy(args) -> int:
    from core.media import proxy
    from core.media.frame_server import display_size

    ws = Workspace(args.workspace)
    videos = [v for v in ws.store().videos() if not args.ids or v["id"] in args.ids]
    status = 0
    for v in videos:
        path = ws.absolute(v["path"])
        size = display_size(v["width"], v["height"])
        made = proxy.verified(path, size)
        long, gop = proxy.needs_proxy(path)
        if made is None and (long or args.force):
            try:
                made = proxy.make_proxy(path, size)
            except proxy.ProxyError as exc:
                print(f"{v['id']:>4}  {v['path']}: {exc}")
                status = 1
                continue
        if made is None:
            print(f"{v['id']:>4}  {v['path']}: GOP {gop} frames, no proxy needed")
        else:
            print(f"{v['id']:>4}  {v['path']}: proxy {made.proxy_width}x{made.proxy_height}, GOP {made.gop} "
                  f"(source {made.source_gop}), {made.size_ratio:.2f}x the source's size, "
                  f"PSNR min {made.psnr_min:.1f} dB")
    return status


def cmd_videos_add_clips(args) -> int:
    from core.base.progress import print_progress
    from core.dataset.clip_import import import_clips
    from core.dataset.splits import make_splits

    ws = Workspace(args.workspace)
    report = import_clips(ws, args.dir, manifests=args.manifests, group_by=args.group_by,
                          add_movements=args.add_movements, annotator=args.annotator, progress=print_progress)
    _wait_for_proxies()
    print(report.summary())
    for name in report.added_movements:
        print(f"  added movement: {name}")
    for name, files in sorted(report.unknown_movements.items()):
        print(f"  movement not in the label list: {name!r} ({len(files)} clip(s), e.g. {files[0]}); "
              "add it with --add-movements")
    for problem in report.problems:
        print(f"  problem: {problem}")
    for note in report.notes:
        print(f"  note: {note}")
    if args.make_splits:
        where = make_splits(ws.store(), seed=args.seed)
        counts = {s: sum(1 for v in where.values() if v == s) for s in ("train", "val", "test")}
        print("splits (whole groups): " + ", ".join(f"{s} {n} video(s)" for s, n in counts.items()))
    return 1 if report.problems or report.unknown_movements else 0


def cmd_videos_list(args) -> int:
    videos = Workspace(args.workspace).store().videos()
    if args.json:
        print_result(videos, True)
    else:
        for v in videos:
            print(f"{v['id']:>4}  {v['frames']:>6} fr  {v['fps']:6.2f} fps  {v['width']}x{v['height']}  {v['path']}")
    return 0


def add_cli(sub, common) -> None:
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
    p.add_argument("--steps", default="pose,render,dataset,pose-reps",
                   help="which steps, in order pose, render, dataset, pose-reps, movinet (default "
                        "pose,render,dataset,pose-reps; movinet trains the MoViNet demo preset: tens of minutes "
                        "on a CPU)")
    p.set_defaults(func=cmd_demo)

    videos = sub.add_parser("videos", help="add and list videos").add_subparsers(dest="videos_command", required=True)
    p = videos.add_parser("add", parents=[common], help="add files, folders, URLs or playlists")
    p.add_argument("sources", nargs="+")
    p.set_defaults(func=cmd_videos_add)
    p = videos.add_parser("proxy", parents=[common],
                          help="make (and verify) the labeling proxies of long-GOP videos now")
    p.add_argument("ids", nargs="*", type=int, help="video ids (default: every video)")
    p.add_argument("--force", action="store_true", help="also for short-GOP videos")
    p.set_defaults(func=cmd_videos_proxy)
    p = videos.add_parser("add-clips", parents=[common],
                          help="add a <movement>/<movement>_<i>.mp4 tree of cut clips as labelled reps")
    p.add_argument("dir")
    p.add_argument("--manifests", help="folder of splitter manifests (<video>.json = [{start_time, length, "
                                       "rename_to}]): a source video's clips stay in one split")
    p.add_argument("--group-by", default="folder", metavar="folder|KEY",
                   help="without manifests: group splits by the folder above the movement folder (default), or by "
                        "KEY, a regular expression searched in the clip's path (its first group is the key)")
    p.add_argument("--add-movements", action="store_true", help="add movements not in the label list")
    p.add_argument("--annotator", default="clips", help="annotator of the reps (default: clips)")
    p.add_argument("--make-splits", action="store_true", help="then make train/val/test splits of whole groups")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_videos_add_clips)
    p = videos.add_parser("list", parents=[common])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_videos_list)
