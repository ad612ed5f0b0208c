"""Decoder benchmark: sequential decode speed and frame-by-index latency of core.media.video.

    python bench/decode.py [VIDEO ...]

Without arguments it picks two real videos from ../shared/real_videos/index.csv (or $REAL_VIDEOS):
the longest with height 480 and the longest with height 720, landscape when there is one. For
each it prints sequential decode speed (frames/s, RGB arrays out), random frame(i) latency
(median and p95, ms) for a default reader and with its cache emptied before every call (the cold
cost: seek + decode from the keyframe), stepping latencies, and two references for the same
random indices: decoding from the start without seeking (naive PyAV) and the ffmpeg CLI
(`select` filter), with the ratios.

Then the labeling proxy (core.media.proxy) of each long-GOP video, made in a scratch workspace:
time to make and verify it, its size against the source's, PSNR (luma) against the source frame
for frame, and the Label page's random frame — `FrameServer.jpeg(i)` with every cache emptied,
i.e. seek + decode + scale + JPEG — before (the source) and after (the proxy); target p95 ≤ 50 ms.

    python bench/decode.py --proxy-only [VIDEO ...]   # only the proxy part
"""
from __future__ import annotations

import csv
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.media.video import VideoReader, to_rgb, probe  # noqa: E402

REAL_VIDEOS = Path(os.environ.get("REAL_VIDEOS", ROOT.parent / "shared" / "real_videos"))
SEED, N_RANDOM, N_REFERENCE, REPEAT = 0, 100, 15, 3


def pick_videos() -> list[Path]:
    with open(REAL_VIDEOS / "index.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["height"].isdigit() and r["width"].isdigit()]
    picked = []
    for height in (480, 720):
        rows_h = [r for r in rows if int(r["height"]) == height]
        # Landscape first, then the longest.
        rows_h.sort(key=lambda r: (int(r["width"]) > height, float(r["duration_s"])), reverse=True)
        if rows_h:
            picked.append(REAL_VIDEOS / rows_h[0]["file"])
    return picked


def ms_stats(seconds: list[float]) -> str:
    a = np.asarray(seconds) * 1000
    return f"median {np.median(a):6.1f} ms   p95 {np.percentile(a, 95):6.1f} ms   max {a.max():6.1f} ms"


def timed(fn, *args) -> float:
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def naive_frame(path: Path, index: int, rotation: int) -> np.ndarray:
    """Decode from the start until frame `index` (no seeking, no index)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for i, frame in enumerate(container.decode(stream)):
            if i == index:
                return to_rgb(frame, rotation)
    raise IndexError(index)


def ffmpeg_frame(path: Path, index: int) -> bytes:
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
           "-i", str(path), "-map", "0:v:0", "-vf", f"select=eq(n\\,{index})", "-frames:v", "1",
           "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    return subprocess.run(cmd, capture_output=True, check=True).stdout


def bench(path: Path) -> None:
    with VideoReader(path) as reader:
        info, keys = reader.info, reader.keyframes
        gops = np.diff(keys + [len(reader)])
        print(f"\n{path.name}: {info.width}x{info.height}, {info.frames} frames at {info.fps:.2f} fps, "
              f"{info.codec}, {len(keys)} keyframes, GOP max {gops.max()} / mean {gops.mean():.0f} frames")

    seq = []
    for _ in range(REPEAT):
        with VideoReader(path) as reader:
            n = len(reader)
            t = time.perf_counter()
            for _ in reader.frames(0, n - 1):
                pass
            seq.append(time.perf_counter() - t)
    rate = n / min(seq)
    raw = n / min(timed(probe, path) for _ in range(REPEAT))
    print(f"  sequential frames(0, {n - 1}) -> RGB      {rate:7.0f} frames/s (best of {REPEAT})")
    print(f"  probe (decode only, no RGB)          {raw:7.0f} frames/s (best of {REPEAT})")

    rng = random.Random(SEED)
    indices = [rng.randrange(n) for _ in range(N_RANDOM)]
    with VideoReader(path) as reader:
        warm = [timed(reader.frame, i) for i in indices]
    with VideoReader(path) as reader:
        cold = []
        for i in indices:
            tries = []
            for _ in range(REPEAT):
                reader._cache.clear()  # nothing cached and the decoder parked: every call seeks
                reader._stop()
                tries.append(timed(reader.frame, i))
            cold.append(min(tries))  # the least disturbed by other processes
        # The work behind a cold access: frames decoded from the keyframe up to the target.
        work = [i - max(k for k in keys if k <= i) + 1 for i in indices]
    with VideoReader(path) as reader:
        fwd, back = [], []
        for i in indices[:30]:
            reader.frame(i)
            if i + 1 < n:
                fwd.append(timed(reader.frame, i + 1))
            if i >= 2:
                back.append(timed(reader.frame, i - 2))
    print(f"  random frame(i), default reader      {ms_stats(warm)}")
    print(f"  random frame(i), cold (min of {REPEAT})     {ms_stats(cold)}")
    print(f"    frames decoded per cold access: median {np.median(work):.0f}, p95 "
          f"{np.percentile(work, 95):.0f}; at the probe rate that alone takes "
          f"{np.median(work) / raw * 1000:.0f} / {np.percentile(work, 95) / raw * 1000:.0f} ms")
    print(f"  step +1 after a jump                 {ms_stats(fwd)}")
    print(f"  step -2 after a jump                 {ms_stats(back)}")

    ref = indices[:N_REFERENCE]
    ours = cold[:N_REFERENCE]
    naive = [timed(naive_frame, path, i, info.rotation) for i in ref]
    cli = [timed(ffmpeg_frame, path, i) for i in ref]
    for name, times in (("naive decode-from-start", naive), ("ffmpeg CLI select", cli)):
        ratio_med = statistics.median(times) / statistics.median(ours)
        ratio_p95 = np.percentile(times, 95) / np.percentile(ours, 95)
        print(f"  {name:<24}             {ms_stats(times)}   "
              f"-> ours (cold) is {ratio_med:.1f}x faster (median), {ratio_p95:.1f}x (p95)")


def server_cold(path: Path, indices: list[int], proxy: bool) -> tuple[list[float], object]:
    """Seconds per random FrameServer.jpeg(i) with nothing cached (min of REPEAT tries each)."""
    from core.media.frame_server import FrameServer

    server = FrameServer(path, proxy=proxy)
    out = []
    for i in indices:
        tries = []
        for _ in range(REPEAT):
            server._cache.clear()  # noqa: SLF001 - a cold access every time
            server._reader._cache.clear()  # noqa: SLF001
            server._reader._stop()  # noqa: SLF001
            tries.append(timed(server.jpeg, i))
        out.append(min(tries))
    made = server.proxy
    server.close()
    return out, made


def bench_proxy(path: Path) -> dict:
    import shutil
    import tempfile

    from core.base.workspace import Workspace
    from core.media import proxy
    from core.media.frame_server import display_size

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        ws.store()
        local = ws.videos_dir / path.name
        shutil.copy2(path, local)
        info = probe(local)
        long, gop = proxy.needs_proxy(local)
        rng = random.Random(SEED)
        indices = [rng.randrange(info.frames) for _ in range(N_RANDOM)]
        before, _ = server_cold(local, indices, proxy=False)
        t = time.perf_counter()
        made = proxy.make_proxy(local, display_size(info.width, info.height))
        took = time.perf_counter() - t
        after, used = server_cold(local, indices, proxy=True)
        assert used is not None, "the frame server did not take the proxy"
    b95, a95 = np.percentile(before, 95) * 1000, np.percentile(after, 95) * 1000
    print(f"\n{path.name}: {info.width}x{info.height}, {info.frames} frames, GOP max {gop} -> proxy "
          f"{made.proxy_width}x{made.proxy_height} GOP {made.gop}")
    print(f"  made + verified in {took:.1f} s ({info.frames / took:.0f} frames/s); size {made.bytes / 1e6:.2f} MB = "
          f"{made.size_ratio:.2f}x the source's {made.source_bytes / 1e6:.2f} MB; PSNR (luma) min "
          f"{made.psnr_min:.1f} dB, mean {made.psnr_mean:.1f} dB")
    print(f"  Label page random frame (FrameServer.jpeg, cold)  before {ms_stats(before)}")
    print(f"                                                   after  {ms_stats(after)}")
    print(f"  p95 {b95:.1f} -> {a95:.1f} ms ({b95 / a95:.1f}x); target p95 <= 50 ms: {'met' if a95 <= 50 else 'NOT met'}")
    return {"video": path.name, "before_p95": b95, "after_p95": a95, "ratio": made.size_ratio}


def pick_proxy_videos() -> list[Path]:
    """The real long-GOP 720p videos: every landscape 1280x720 one and a portrait phone one."""
    names = ["gulab__pushups3.mp4", "stevewoz__skipping.mp4", "myoxyn__push_ups.mp4",
             "myoxyn__wall_handstand_push_ups_facing.mp4", "myoxyn__explosive_pull_ups.mp4",
             "kbtrainer__forcaTerca1.mp4", "kbtrainer__squatClean.mp4", "divyansh__pull_up.mp4"]
    return [REAL_VIDEOS / n for n in names if (REAL_VIDEOS / n).is_file()]


def main(argv: list[str]) -> None:
    proxy_only = "--proxy-only" in argv
    argv = [a for a in argv if a != "--proxy-only"]
    print(f"core.media.video decode benchmark — PyAV {av.__version__}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    if not proxy_only:
        for path in [Path(p) for p in argv] or pick_videos():
            bench(path)
    rows = [bench_proxy(path) for path in ([Path(p) for p in argv] or pick_proxy_videos())]
    if rows:
        print("\nsummary: video, random frame p95 before -> after (ms), proxy size / source size")
        for r in rows:
            print(f"  {r['video']:<45} {r['before_p95']:7.1f} -> {r['after_p95']:5.1f}   {r['ratio']:.2f}x")


if __name__ == "__main__":
    main(sys.argv[1:])
