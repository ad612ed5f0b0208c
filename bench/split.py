"""Clip-cutting and training-cache benchmark on a demo-like workspace.

    python bench/split.py [--workspace DIR] [--jobs 2] [--videos 6] [--seconds 30] [--no-reference]

Source workspace: --workspace DIR (its videos and reps are used; its own clips and cache are left
alone), else the demo workouts (core.demo.build.build_demo, seed 0; rendered once into
bench/out/demo-workspace and reused), else — if the demo renderer is missing — real videos from
../shared/real_videos with made-up back-to-back reps.

The run happens in a scratch copy (bench/out/split-run), pinned to 2 CPU cores when the machine has
more. It prints:
  - cutting speed: seconds of source video cut per second of wall time (`python -m core split`'s
    own function, `jobs` worker processes, from an empty clips folder); also per CPU-second, and
    the figure that CPU time gives for 2 dedicated cores (wall time on a shared, loaded machine
    understates it);
  - the reference: the earlier pipeline's way (one ffmpeg CLI process per clip, `-ss`/`-t` in
    seconds, libx264 veryfast), on the same clips, `jobs` at a time;
  - cache ratio: bytes of the 10-frame 224x224 training cache / bytes of the clips' mp4 files.
Targets: cutting >= 10x real time on 2 cores; cache ratio <= 1.0.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.dataset import training_cache as cache  # noqa: E402
from core.dataset import clips  # noqa: E402
from core.media import library  # noqa: E402
from core.base.workspace import Workspace  # noqa: E402

OUT = ROOT / "bench" / "out"
REAL_VIDEOS = Path(os.environ.get("REAL_VIDEOS", ROOT.parent / "shared" / "real_videos"))


def cpu_seconds() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def source_workspace(args) -> tuple[Workspace, str]:
    if args.workspace:
        return Workspace(args.workspace), f"workspace {args.workspace}"
    try:
        from core.demo.build import build_demo
    except ImportError:
        build_demo = None
    if build_demo is not None:
        ws = Workspace(OUT / "demo-workspace")
        t = time.perf_counter()
        build_demo(ws, seed=0, n_videos=args.videos, target_seconds=args.seconds,
                   progress=lambda i, n, name: print(f"  demo [{i}/{n}] {name}", file=sys.stderr, flush=True))
        print(f"demo workspace ready in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        return ws, f"demo workspace ({args.videos} synthetic workouts, seed 0, 854x480)"
    ws = Workspace(OUT / "real-workspace")
    store = ws.store()
    if not store.videos():
        rng = random.Random(0)
        labels = store.labels()
        for name in ("kbtrainer__kbThrusters.mp4", "kbtrainer__powerClean.mp4", "kbtrainer__burpee.mp4",
                     "joelo__situp.mp4", "formfit__deadlift.mp4", "kbtrainer__singleUnders.mp4"):
            vid = library.add_file(ws, REAL_VIDEOS / name).video_id
            n, start = store.video(vid)["frames"], 0
            label = rng.choice(labels)
            while start + 70 < n:
                length = rng.randint(15, 70)
                store.add_segment(vid, label, start, start + length - 1, "bench")
                start += length
    return ws, "real videos with made-up reps"


def scratch_copy(src: Workspace) -> Workspace:
    """A workspace with src's database (clips, splits emptied) and hard links to its videos."""
    run = OUT / "split-run"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    with sqlite3.connect(src.db_path) as a, sqlite3.connect(run / "workspace.db") as b:
        a.backup(b)
    ws = Workspace(run)
    with ws.store().write() as con:
        con.execute("DELETE FROM clips")
        con.execute("DELETE FROM splits")
    for v in ws.store().videos():
        target = ws.absolute(v["path"])
        target.parent.mkdir(parents=True, exist_ok=True)
        origin = src.absolute(v["path"])
        try:
            os.link(origin, target)
        except OSError:
            shutil.copy2(origin, target)
    return ws


def reference_cut(ws: Workspace, rows: list[dict], jobs: int) -> tuple[float, float, float]:
    """The earlier splitter: ffmpeg per clip, seconds-based, re-encoding (fast input seek)."""
    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    videos = {v["id"]: v for v in ws.store().videos()}
    out = OUT / "reference-clips"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)

    def one(i_row):
        i, row = i_row
        v = videos[row["video_id"]]
        cmd = [ffmpeg, "-v", "error", "-y", "-ss", f"{row['start_frame'] / v['fps']:.6f}",
               "-i", str(ws.absolute(v["path"])), "-t", f"{row['frames'] / v['fps']:.6f}", "-an",
               "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-threads", "1",
               "-pix_fmt", "yuv420p", str(out / f"{i}.mp4")]
        subprocess.run(cmd, check=True)

    cpu0, t = cpu_seconds(), time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, enumerate(rows)))
    wall, cpu = time.perf_counter() - t, cpu_seconds() - cpu0
    seconds = sum(r["frames"] / r["fps"] for r in rows)
    shutil.rmtree(out, ignore_errors=True)
    return seconds, wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--videos", type=int, default=6, help="demo workouts to render (>= 6)")
    parser.add_argument("--seconds", type=float, default=30, help="target length of each demo workout")
    parser.add_argument("--no-reference", action="store_true", help="skip the ffmpeg-per-clip reference")
    args = parser.parse_args()

    src, what = source_workspace(args)
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > 2:
        os.sched_setaffinity(0, cores[:2])  # the target is for 2 cores; workers inherit this
    ws = scratch_copy(src)
    print(f"source: {what}; {len(ws.store().videos())} videos; CPU cores used: {len(os.sched_getaffinity(0))}; "
          f"load average {os.getloadavg()[0]:.1f}")

    cpu0, t0 = cpu_seconds(), time.perf_counter()
    report = clips.cut_clips(ws, jobs=args.jobs)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    rows = clips.clips(ws.store())
    cut_s = report.seconds_cut
    frames = sum(r["frames"] for r in rows)
    print(f"\ncutting: {len(rows)} clips, {frames} frames, {cut_s:.1f} s of source video, jobs={args.jobs}")
    print(f"  wall {wall:.2f} s -> {cut_s / wall:.1f}x real time (target >= 10x on 2 cores)")
    print(f"  CPU  {cpu:.2f} s -> {cut_s / cpu:.1f} s of video per CPU-second; "
          f"{2 * cut_s / cpu:.1f}x real time on 2 dedicated cores")
    print(f"  clips: {sum(r['bytes'] for r in rows) / 2**20:.1f} MB of mp4")

    if not args.no_reference:
        ref_s, ref_wall, ref_cpu = reference_cut(ws, rows, args.jobs)
        print(f"reference (ffmpeg CLI per clip, seconds-based, veryfast): wall {ref_s / ref_wall:.1f}x real time, "
              f"{2 * ref_s / ref_cpu:.1f}x on 2 dedicated cores (CPU {ref_cpu:.2f} s); the workbench needs "
              f"{cpu / ref_cpu:.2f}x its CPU time")

    t = time.perf_counter()
    built = cache.build(ws, 10, 224, True, jobs=args.jobs)
    size = cache.size_report(ws, 10, 224, True)
    print(f"\ncache {size['key']} (JPEG quality {size['jpeg_quality']}): {built['computed']} clips in "
          f"{time.perf_counter() - t:.1f} s")
    print(f"  {size['cache_bytes'] / 2**20:.2f} MB cache / {size['clip_bytes'] / 2**20:.2f} MB clips = "
          f"ratio {size['ratio']:.3f} (target <= 1.0)")
    ok_speed = 2 * cut_s / cpu >= 10 or cut_s / wall >= 10
    ok_ratio = size["ratio"] is not None and size["ratio"] <= 1.0
    print(f"\ncutting >= 10x on 2 cores: {'yes' if ok_speed else 'NO'}; cache ratio <= 1.0: "
          f"{'yes' if ok_ratio else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
