"""`python -m core pose VIDEO_ID|PATH|--all [--json] [--step N] [--recompute]`: the athlete's pose
track of workspace videos (stored in the workspace, resumed when a run was stopped) or of a file
outside it (cached by content under pose/uploads/). Prints one summary per video; --json gives
the landmarks."""
from __future__ import annotations

import json
import time
from pathlib import Path

from core.base.errors import PoseError, WorkbenchError
from core.base.progress import print_progress
from core.base.workspace import Workspace


def _summary_line(name: str, track, seconds: float | None) -> str:
    s = track.summary()
    lost = s["lost_ranges"]
    lost_text = ", ".join(f"{a}–{b}" for a, b in lost[:6]) + (f" (+{len(lost) - 6} more)"
                                                             if len(lost) > 6 else "")
    duration = track.video_frames / track.fps if track.fps else 0.0
    if seconds is None:
        timing = "stored"
    else:
        timing = f"{seconds:.1f} s" + (f", {duration / seconds:.1f}x real time" if seconds > 0
                                        and duration else "")
    box = s["athlete_box"]
    box_text = "chosen: nobody" if box is None else "(" + ", ".join(f"{v:g}" for v in box) + ")"
    return (f"{name}: {s['status']}; {s['frames_sampled']} frames sampled (every {track.step}), "
            f"{100 * s['share_with_pose']:.1f}% with pose; lost: {lost_text or 'none'}; "
            f"athlete box {box_text}; {timing}")


def _json(track, **extra) -> dict:
    return {**extra, **track.to_json()}


def cmd_pose(args) -> int:
    from core.pose import store
    from core.pose.models import model_paths

    model_paths()  # PoseError with what to run when the model files are missing
    ws = Workspace(args.workspace)
    rows = ws.store()
    progress = None if args.quiet else print_progress
    targets = []  # (name, video id or None, path or None)
    if args.all:
        if args.video:
            raise PoseError("Give either VIDEO or --all, not both.")
        store.drop_stale(ws)
        targets = [(f"video {v['id']} ({v['title']})", v["id"], None) for v in rows.videos()]
        if not targets:
            print("No videos in the workspace.")
            return 0
    elif args.video is None:
        raise PoseError("Give a video id, a video file, or --all.")
    elif args.video.isdigit() and rows.video(int(args.video)) is not None:
        v = rows.video(int(args.video))
        targets = [(f"video {v['id']} ({v['title']})", v["id"], None)]
    else:
        path = Path(args.video)
        if not path.is_file():
            raise PoseError(f"{args.video}: neither a video id of this workspace nor a file.")
        known = rows.video_by_hash(_hash(path)) if path.stat().st_size else None
        if known is not None:
            targets = [(f"video {known['id']} ({known['title']})", known["id"], None)]
        else:
            targets = [(str(path), None, path)]
    out, failed = [], 0
    for name, vid, path in targets:
        was = None if vid is None else store.load_track(ws, vid, args.step)
        t0 = time.perf_counter()
        try:
            if vid is not None:
                track = store.ensure_track(ws, vid, step=args.step, progress=progress,
                                           recompute=args.recompute)
            else:
                track = store.track_for_path(path, ws, step=args.step, progress=progress,
                                             recompute=args.recompute)
        except WorkbenchError as err:  # a bad file among many: say so, go on
            if len(targets) == 1:
                raise
            failed += 1
            print(f"{name}: error: {err}")
            continue
        seconds = None if (was is not None and not args.recompute) else time.perf_counter() - t0
        if args.json:
            out.append(_json(track, video_id=vid, name=name, seconds=seconds))
        else:
            print(_summary_line(name, track, seconds), flush=True)
    if args.json:
        print(json.dumps(out if args.all else out[0]))
    return 1 if failed else 0


def _hash(path: Path) -> str:
    from core.media.download import content_hash

    return content_hash(path)


def add_cli(sub, common) -> None:
    p = sub.add_parser("pose", parents=[common],
                       help="the athlete's pose track (BlazePose landmarks) of videos")
    p.add_argument("video", nargs="?", help="a video id of the workspace, or a video file")
    p.add_argument("--all", action="store_true", help="every video of the workspace")
    p.add_argument("--json", action="store_true", help="print the landmarks as JSON")
    p.add_argument("--step", type=int, help="sample every N-th frame (default: up to 15 fps)")
    p.add_argument("--recompute", action="store_true", help="compute again even when stored")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_pose)
