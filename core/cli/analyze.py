"""`python -m core analyze MODEL VIDEO` / `analyze draft MODEL VIDEO_ID` / `analyze-eval MODEL`."""
from __future__ import annotations

import json
from pathlib import Path

from core.base.progress import print_progress
from core.analysis.drafts import send_draft
from core.analysis.evaluation import evaluate_split
from core.analysis.settings import AnalyzeError, Settings
from core.analysis.workout import Analysis, analyze_file


def _resolve_video_arg(ws, arg: str) -> tuple[Path, dict | None]:
    """A workspace video id or a file path -> (path, video row or None)."""
    store = ws.store()
    if str(arg).isdigit():
        video = store.video(int(arg))
        if video is None:
            raise AnalyzeError(f"No video {arg} in the workspace.")
        return ws.absolute(video["path"]), video
    p = Path(arg).expanduser()
    rel = ws.relative(p)
    match = next((v for v in store.videos() if v["path"] == rel), None)
    return p, match


def format_analysis(a: Analysis) -> str:
    lines = [f"{Path(a.video).name}: {a.frames} frames at {a.fps:g} fps ({a.duration_s:.1f} s), model {a.model}, "
             f"analysed in {a.timings.get('total', 0):.1f} s ({a.realtime_factor:.1f}x real time)"]
    for s in a.segments:
        t0, t1 = s["start_frame"] / a.fps, (s["end_frame"] + 1) / a.fps
        lines.append(f"  {t0:7.1f}-{t1:7.1f} s  frames {s['start_frame']:>6}-{s['end_frame']:<6} "
                     f"{s['movement']:<18} {s['count']:>3} reps  (confidence {s['confidence']:.2f})")
    lines.append("  counts: " + (", ".join(f"{m} {c}" for m, c in a.counts().items()) or "no movement found"))
    return "\n".join(lines)


def cmd_analyze(args) -> int:
    from core.base.workspace import Workspace

    ws = Workspace(args.workspace)
    words = list(args.args)
    draft = bool(args.draft)
    if words and words[0] == "draft":
        draft, words = True, words[1:]
    if len(words) != 2:
        raise AnalyzeError("usage: analyze MODEL VIDEO [--json] [--draft] | analyze draft MODEL VIDEO_ID")
    model_ref, video_arg = words
    path, video = _resolve_video_arg(ws, video_arg)
    settings = Settings.from_json(json.loads(args.settings)) if args.settings else Settings()
    progress = None if args.quiet else print_progress
    result = analyze_file(ws, model_ref, path, settings, progress, engine=args.engine, video=video)
    if video is not None:
        result.video_id = int(video["id"])
    sent = None
    if draft:
        if video is None:
            raise AnalyzeError(f"{video_arg} is not a workspace video: add it first to get a draft.")
        annotator, keys = send_draft(ws, result)
        sent = {"annotator": annotator, "reps": len(keys), "video_id": result.video_id}
    if args.json:
        out = result.to_json(probabilities=args.probabilities)
        if sent:
            out["draft"] = sent
        print(json.dumps(out, indent=2))
    else:
        print(format_analysis(result))
        if sent:
            print(f"  draft: {sent['reps']} reps stored as {sent['annotator']} on video {sent['video_id']} "
                  "(Label page: show that annotator beside yours, select a rep, Copy to mine)")
    return 0


def format_eval(rep: dict) -> str:
    pct = lambda v: "—" if v is None else f"{v * 100:.1f}%"  # noqa: E731
    c, m = rep["count"], rep["motion_only"]
    lines = [
        f"model {rep['model']} on the {rep['split']} split ({rep['videos']} videos)",
        f"  frame accuracy (labelled frames) {pct(rep['frame_accuracy'])}; all frames with none "
        f"{pct(rep['frame_accuracy_all'])}",
        f"  segment F1 @ IoU 0.5 {pct(rep['segment_f1'])} (precision {pct(rep['segment_precision'])}, "
        f"recall {pct(rep['segment_recall'])})",
        f"  rep count over {c['n']} sets: MAE {c['mae'] if c['mae'] is None else round(c['mae'], 2)}, "
        f"off-by-one {pct(c['off_by_one'])}, exact {pct(c['exact'])}",
        f"  motion counter alone on the true sets: MAE {m['mae'] if m['mae'] is None else round(m['mae'], 2)}, "
        f"off-by-one {pct(m['off_by_one'])}, exact {pct(m['exact'])}",
        f"  rep F1 @ IoU 0.5 {pct(rep['rep_f1'])}; speed {rep['realtime_factor'] or 0:.1f}x real time",
    ]
    j = (rep.get("judge") or {}).get("matched") or {}
    if j.get("reps"):  # a pose model: the judge's verdicts on the true reps
        i = rep["judge"]["inside"]
        lines.append(f"  judge on the true reps found (IoU 0.5): {j['valid']} valid, {j['no_rep']} no-rep of {j['reps']} "
                     f"({pct(j['valid_share'])} valid); on every predicted rep centred in a true rep: "
                     f"{i['valid']} of {i['reps']} ({pct(i['valid_share'])})")
    return "\n".join(lines)


def cmd_analyze_eval(args) -> int:
    from core.base.workspace import Workspace

    ws = Workspace(args.workspace)
    settings = Settings.from_json(json.loads(args.settings)) if args.settings else Settings()
    rep = evaluate_split(ws, args.model, args.split, settings, None if args.quiet else print_progress,
                         engine=args.engine)
    if args.json:
        if not args.full:
            for v in rep["per_video"]:
                v.pop("analysis", None)
        print(json.dumps(rep, indent=2))
    else:
        print(format_eval(rep))
    return 0


def add_cli(sub, common) -> None:
    """Register `analyze` and `analyze-eval` on core/__main__.py's subparsers."""
    p = sub.add_parser(
        "analyze", parents=[common],
        help="whole-workout analysis: movement timeline, rep counts, drafts",
        description="analyze MODEL VIDEO [--json] [--draft]  |  analyze draft MODEL VIDEO_ID. VIDEO is a file or a workspace video id.")
    p.add_argument("args", nargs="+", metavar="ARG", help="MODEL VIDEO, or draft MODEL VIDEO_ID")
    p.add_argument("--json", action="store_true", help="print the analysis as JSON")
    p.add_argument("--draft", action="store_true", help="also store the reps as the model's draft (workspace video)")
    p.add_argument("--probabilities", action="store_true", help="with --json: include the window probabilities")
    p.add_argument("--engine", default="auto", help="auto (fast exact CPU path), fast, reference, tflite")
    p.add_argument("--settings", help='JSON of analysis settings, e.g. \'{"stride_s": 0.25}\'')
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("analyze-eval", parents=[common],
                       help="score the analysis on the workout videos of a split (frame accuracy, segment F1, rep counts)")
    p.add_argument("model", metavar="MODEL", help="a registered model id or run id")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--json", action="store_true")
    p.add_argument("--full", action="store_true", help="with --json: include each video's analysis")
    p.add_argument("--engine", default="auto")
    p.add_argument("--settings", help="JSON of analysis settings")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_analyze_eval)
