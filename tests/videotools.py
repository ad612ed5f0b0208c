"""Video helpers for tests and benchmarks: ffmpeg (from imageio-ffmpeg) as an independent
reference, synthetic test videos, and a plain-PyAV sequential decode.

Every ffmpeg call is an argument list (no shell).
"""
from __future__ import annotations

import subprocess
import zlib
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg(*args, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """Run ffmpeg quietly with `args`; raise with its stderr if it fails."""
    cmd = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *map(str, args)]
    if stdin is not None:
        cmd.remove("-nostdin")
    proc = subprocess.run(cmd, input=stdin, capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({proc.returncode}): {' '.join(cmd)}\n"
                           f"{proc.stderr.decode(errors='replace')}")
    return proc


def ffmpeg_frame_count(path) -> int:
    """Frames ffmpeg decodes from the first video stream (timestamps passed through, so no
    frame is duplicated or dropped to fit a rate), from the `frame=` lines of -progress."""
    proc = ffmpeg("-i", path, "-map", "0:v:0", "-fps_mode", "passthrough", "-f", "null",
                  "-progress", "pipe:1", "-nostats", "-")
    counts = [int(line.split("=", 1)[1]) for line in proc.stdout.decode().splitlines()
              if line.startswith("frame=")]
    assert counts, f"no frame count from ffmpeg for {path}"
    return counts[-1]


def ffmpeg_decode_rgb(path, width: int, height: int) -> np.ndarray:
    """All frames as ffmpeg's CLI decodes them (it applies the rotation itself): [N, H, W, 3]."""
    proc = ffmpeg("-i", path, "-map", "0:v:0", "-fps_mode", "passthrough", "-f", "rawvideo",
                  "-pix_fmt", "rgb24", "-")
    return np.frombuffer(proc.stdout, np.uint8).reshape(-1, height, width, 3)


def lavfi_video(path, *codec_args, seconds: float = 2, size: str = "160x120", rate: int = 25):
    """A synthetic moving test pattern (every frame differs) encoded with `codec_args`."""
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}", "-t", seconds,
           *codec_args, path)
    return Path(path)


def pattern(height: int, width: int, i: int = 0) -> np.ndarray:
    """An asymmetric RGB picture: red top-left, green top-right, blue bottom-left, white
    bottom-right quadrant, with a grey bar whose position encodes the frame number."""
    img = np.zeros((height, width, 3), np.uint8)
    h2, w2 = height // 2, width // 2
    img[:h2, :w2] = (255, 0, 0)
    img[:h2, w2:] = (0, 255, 0)
    img[h2:, :w2] = (0, 0, 255)
    img[h2:, w2:] = (255, 255, 255)
    x = (i * 4) % max(1, width - 8)
    img[h2 - 4:h2 + 4, x:x + 8] = 128
    return img


def write_video(path, frames, fps: int = 25, *codec_args, input_args=()) -> Path:
    """Encode RGB frames (sequence of HxWx3 uint8) piped to ffmpeg as raw video."""
    frames = np.asarray(frames, np.uint8)
    n, h, w, _ = frames.shape
    ffmpeg(*input_args, "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", fps,
           "-i", "-", *(codec_args or ("-c:v", "libx264", "-pix_fmt", "yuv420p")), path,
           stdin=frames.tobytes())
    return Path(path)


def digest(frame: np.ndarray) -> tuple:
    """A cheap fingerprint for bit-exact comparison of frames (shape + CRC-32 of the pixels)."""
    frame = np.ascontiguousarray(frame)
    return frame.shape, zlib.crc32(frame)


def sequential_digests(path, limit: int | None = None) -> list[tuple]:
    """Digests of the frames (the first `limit`, or all) of a plain PyAV sequential decode (no
    threads, no seeking), converted and rotated like core.media.video does: the reference for
    frame-exact access."""
    from av.video.reformatter import VideoReformatter

    from core.media.video import _display_rotation, to_rgb

    out, reformatter = [], VideoReformatter()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if limit is not None and len(out) == limit:
                break
            out.append(digest(to_rgb(frame, _display_rotation(frame, stream), reformatter)))
    return out
