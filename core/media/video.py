"""The one video decoder of the workbench (PyAV): probing, frame-exact random access, clip loading.

Frame convention (DESIGN.md): frames are numbered 0, 1, 2, … in presentation order, exactly as a
plain sequential decode of the file from its start produces them; ranges are inclusive on both
ends. `VideoReader.frame(i)` returns bit for bit the picture that sequential decoding yields at i.

How random access stays exact
-----------------------------
Opening a reader demuxes every packet of the video stream once (no decoding; a few ms per
thousand frames) into a table: the presentation timestamps (pts) of the frames, sorted, give
index -> pts, and the keyframe packets give the places a decode may start. Packets that produce
no picture are left out, the same ones ffmpeg drops: empty packets, packets the container marks
"discard" (edit lists, e.g. a cut made with `-ss … -c copy`), and packets before the first
keyframe (a decoder cannot start there and drops them).

`frame(i)` seeks to the last keyframe at or before frame i (by pts), decodes forward and names
each output frame by counting from that keyframe, checking its pts against the table. Anything
unexpected (the demuxer lands after the keyframe, a pts not in the table, frames missing) falls
back to decoding from the start or raises VideoError, never returns a different picture. Files
whose timestamps cannot name frames (missing or repeated pts, e.g. odd GIFs or AVIs) are read
by counting from the start only: still exact, just slower to jump backwards.

Decoded frames (still YUV, before RGB conversion, so twice as many fit) live in an LRU cache of
`cache_frames` frames; a seek decodes and caches the GOP from its keyframe up to the target, so
stepping backwards afterwards is instant, and a target a little ahead of the decoder continues
decoding instead of seeking (stepping forward by 1 never seeks).

The cost of a cold random access is decoding from the keyframe to the target: with 250-frame
GOPs (common in phone videos) up to ~250 frames, 80-140 ms at 270x480 on a 2-core machine
(decode runs at 1,800-3,000 frames/s there), 2-4x that at 720p; see `bench/decode.py`. Short-GOP
files are proportionally faster.

Errors: every unreadable input (missing, empty, random bytes, truncated, text, audio-only, still
image, undecodable stream) raises VideoError with the file name and the problem in plain words.
A truncated file is an error, not a shorter video: it fails when its index is read (the container
declares more frames than it holds) or when the decoder hits the cut.
"""
from __future__ import annotations

from core.base.errors import MediaError
import bisect
import operator
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

__all__ = ["VideoError", "FrameIndexError", "VideoInfo", "probe", "VideoReader", "read_frame",
           "iter_frames", "sample_indices", "preprocess", "load_clip"]

# A target at most this many frames ahead of the decoder is reached by decoding on, not by
# seeking: a seek costs a decoder flush plus the decode from the keyframe, so decoding a few
# frames more is cheaper, and stepping forward across a keyframe stays seek-free.
_FORWARD_SLACK = 32

# Demuxers that ffmpeg happily opens but that are not videos: text shown as "ANSI art", and
# single still images.
_NOT_VIDEO_FORMATS = {"tty": "a text file", "image2": "a still image"}


class VideoError(MediaError, ValueError):
    """A file that is not a readable video: missing, empty, corrupt, truncated, not a video,
    unsupported. The message names the file and what is wrong."""


class FrameIndexError(VideoError, IndexError):
    """A frame index outside the video (catchable as VideoError or IndexError)."""


@dataclass(frozen=True)
class VideoInfo:
    """What `probe` reports.

    frames: number of frames a sequential decode yields. fps: average frame rate (the
    container's average, as ffprobe reports it; else derived from the pts span).
    width/height: of the frames as returned, i.e. after rotation. duration_s: frames / fps, so
    frame i starts at i / fps on the product's time axis. codec: decoder name ("h264", "vp9"…).
    vfr: frame intervals are irregular (see `_is_vfr`). rotation: degrees the stored picture is
    turned clockwise for display, 0/90/180/270 (the phones' `rotate` tag; ffprobe's display
    matrix "rotation of -90" is 90 here); frames are returned already rotated.
    """

    path: str
    frames: int
    fps: float
    width: int
    height: int
    duration_s: float
    codec: str
    vfr: bool
    rotation: int

    def to_json(self) -> dict:
        return {"frames": self.frames, "fps": self.fps, "width": self.width, "height": self.height,
                "duration_s": self.duration_s, "codec": self.codec, "vfr": self.vfr,
                "rotation": self.rotation}


def _ffmpeg_error(path: str, err: Exception, doing: str) -> VideoError:
    msg = getattr(err, "strerror", None) or str(err)
    return VideoError(f"{path}: {doing} failed — the file is corrupt, truncated or in an "
                      f"unsupported format ({msg}).")


def _open_container(path: str):
    """Open `path` and return (container, video stream) or raise VideoError."""
    p = Path(path)
    if not p.exists():
        raise VideoError(f"{path}: no such file.")
    if not p.is_file():
        raise VideoError(f"{path}: not a file.")
    if p.stat().st_size == 0:
        raise VideoError(f"{path}: the file is empty (0 bytes).")
    try:
        container = av.open(path)
    except av.FFmpegError as err:
        raise VideoError(f"{path}: not a readable video — ffmpeg cannot identify or open it "
                         f"(corrupt, truncated, or not a video; "
                         f"{getattr(err, 'strerror', None) or err}).") from err
    fmt = container.format.name
    # Cover art of an audio file shows up as a one-picture video stream; it is not a video.
    streams = [s for s in container.streams.video
               if not s.disposition & av.stream.Disposition.attached_pic]
    problem = None
    if fmt in _NOT_VIDEO_FORMATS or fmt.endswith("_pipe"):  # *_pipe: single-image demuxers
        problem = f"is {_NOT_VIDEO_FORMATS.get(fmt, 'a still image')}, not a video"
    elif not streams:
        problem = "is not a video: it has no video stream" + \
            (" (audio only)" if container.streams.audio else "")
    if problem:
        container.close()
        raise VideoError(f"{path}: {problem}.")
    stream = streams[0]
    stream.thread_type = "AUTO"  # frame + slice threads; decoding stays bit-exact
    return container, stream


def _display_rotation(frame: av.VideoFrame, stream) -> int:
    """Clockwise display rotation in 0/90/180/270 from the frame's display matrix.

    Recent PyAV (18.1 pinned here) exposes the matrix's counter-clockwise angle as
    `frame.rotation` (ffmpeg >= 6.1 copies the stream's display matrix onto every decoded frame);
    older stacks only had the `rotate` stream tag, which is already clockwise. Flips in the
    matrix (rare: mirrored front-camera edits) are ignored.
    """
    ccw = getattr(frame, "rotation", None)
    if ccw is None:
        return int(round(float(stream.metadata.get("rotate", 0) or 0) / 90.0)) * 90 % 360
    return int(round(-float(ccw) / 90.0)) * 90 % 360


def to_rgb(frame: av.VideoFrame, rotation: int, reformatter=None) -> np.ndarray:
    """HxWx3 uint8 RGB of a decoded frame, turned `rotation` degrees clockwise (C-contiguous).

    Pass a VideoReformatter to reuse its swscale context (twice as fast at 720p as a fresh one
    per frame; same pixels). A reformatter must not be shared between threads.
    """
    rf = reformatter if reformatter is not None else VideoReformatter()
    rgb = rf.reformat(frame, format="rgb24").to_ndarray()
    if rotation:
        rgb = np.rot90(rgb, k=-(rotation // 90))  # k > 0 turns counter-clockwise
    return np.ascontiguousarray(rgb)


def _is_vfr(pts: Sequence[int]) -> bool:
    """Variable frame rate, judged by what matters here: whether `i / fps` names the right moment.

    True when some frame's timestamp lies more than one mean frame interval away from where a
    constant rate puts it (first pts + i * mean interval). Freezes, dropped stretches and rate
    changes trip it; rounding jitter and an odd short interval or two do not.
    """
    if len(pts) < 3:
        return False
    t = np.asarray(pts, dtype=np.float64)
    mean = (t[-1] - t[0]) / (len(t) - 1)
    if mean <= 0:
        return True
    drift = t - t[0] - mean * np.arange(len(t))
    return bool(np.abs(drift).max() > mean)


def _fps(stream, pts: Sequence[int]) -> float:
    rate = stream.average_rate
    if rate and rate > 0:
        return float(rate)
    if len(pts) >= 2 and pts[-1] > pts[0]:
        return float((len(pts) - 1) / ((pts[-1] - pts[0]) * stream.time_base))
    rate = stream.guessed_rate or stream.base_rate
    return float(rate) if rate and rate > 0 else 0.0


class VideoReader:
    """Random and sequential access to the frames of one video; keeps the file open.

    with VideoReader(path) as r:
        r.info, len(r), r.frame(i), r.frames(start, end), r.av_frame(i), r.keyframes

    Not thread-safe: one reader per thread (or a lock around it).
    """

    def __init__(self, path, cache_frames: int = 256, cache_mb: int = 512):
        """cache_frames: how many decoded frames to keep (a whole 250-frame GOP fits by default);
        cache_mb caps their memory (decoded YUV: ~0.2 MB a frame at 270x480, 1.4 MB at 720p,
        3 MB at 1080p), so 1080p keeps ~170 frames."""
        self.path = str(path)
        self._cache_size = max(1, int(cache_frames))
        self._cache: OrderedDict[int, av.VideoFrame] = OrderedDict()
        self._reformatter = VideoReformatter()
        self._container = None
        self._packets = None  # live demux iterator while the decoder is mid-stream
        try:
            self._reopen()
            self._build_index()
            first = self._decode_to(0)
            self.rotation = _display_rotation(first, self._stream)
            frame_bytes = max(1, sum(plane.buffer_size for plane in first.planes))
            self._cache_size = max(1, min(self._cache_size, cache_mb * 2**20 // frame_bytes))
            cc = self._stream.codec_context
            w, h = first.width, first.height
            if self.rotation in (90, 270):
                w, h = h, w
            n = len(self._pts)
            fps = _fps(self._stream, self._pts if self._seekable else [])
            self.info = VideoInfo(path=self.path, frames=n, fps=fps, width=w, height=h,
                                  duration_s=n / fps if fps else 0.0, codec=cc.name,
                                  vfr=self._seekable and _is_vfr(self._pts), rotation=self.rotation)
        except BaseException:
            self.close()
            raise

    # -- public API -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._pts)

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def keyframes(self) -> list[int]:
        """Indices of the frames a decode can start from (the GOP starts)."""
        return sorted({bisect.bisect_left(self._pts, k) for k in self._key_pts} - {len(self._pts)})

    def frame(self, index: int) -> np.ndarray:
        """Frame `index` as HxWx3 uint8 RGB, rotation applied."""
        return to_rgb(self._get(self.check_index(index)), self.rotation, self._reformatter)

    def av_frame(self, index: int) -> av.VideoFrame:
        """Frame `index` as the decoder's own picture (PyAV VideoFrame: YUV, not rotated), the
        one `frame()` converts; shared with the cache, so read it, do not modify it."""
        return self._get(self.check_index(index))

    def frames(self, start: int, end: int) -> Iterator[np.ndarray]:
        """Frames start..end (inclusive) in order, decoded sequentially."""
        start, end = self.check_index(start), self.check_index(end)
        for i in range(start, end + 1):
            yield self.frame(i)

    def close(self) -> None:
        self._stop()
        self._cache.clear()
        if self._container is not None:
            self._container.close()
            self._container = None

    # -- index ------------------------------------------------------------------------------

    def _build_index(self) -> None:
        """Demux all packets once: frame pts in presentation order and keyframe pts."""
        kept, keys, total, seen_key = [], [], 0, False
        try:
            for pkt in self._container.demux(self._stream):
                if pkt.size == 0:  # the flush packet at the end
                    continue
                total += 1
                seen_key = seen_key or pkt.is_keyframe
                if not seen_key:  # before the first keyframe: decoders drop it
                    continue
                if pkt.is_keyframe:
                    keys.append((pkt.pts, pkt.pts if pkt.dts is None else min(pkt.pts, pkt.dts)))
                if not pkt.is_discard:
                    kept.append(pkt.pts)
        except av.FFmpegError as err:
            raise _ffmpeg_error(self.path, err, "reading the packets") from err
        # A container index listing more packets than the file holds means the file was cut
        # short (mp4 with its index in front, AVI). Not `stream.frames`: edit lists may trim it.
        listed = len(getattr(self._stream, "index_entries", ()))
        if listed > total:
            raise VideoError(f"{self.path}: the file is truncated — its index lists {listed} "
                             f"frames but only {total} are present.")
        if not kept:
            raise VideoError(f"{self.path}: the video stream holds no decodable frames.")
        # Timestamps name frames only when every frame has a distinct one.
        self._seekable = None not in kept and len(set(kept)) == len(kept) and \
            all(pts is not None for pts, _ in keys)
        if self._seekable:
            self._pts = sorted(kept)
            keys.sort()
            self._key_pts = [pts for pts, _ in keys]
            self._key_seek_ts = [ts for _, ts in keys]  # where to aim a seek (see below)
        else:  # count from the start; pts only give the length
            self._pts = list(range(len(kept)))
            self._key_pts = self._key_seek_ts = []
        self._stop()  # the scan consumed the demuxer: the next decode repositions

    def check_index(self, index) -> int:
        i = operator.index(index)
        if not 0 <= i < len(self._pts):
            raise FrameIndexError(f"{self.path}: frame {i} is out of range "
                                  f"(the video has {len(self._pts)} frames, 0..{len(self._pts) - 1}).")
        return i

    # -- decoding ---------------------------------------------------------------------------

    def _get(self, i: int) -> av.VideoFrame:
        hit = self._cache.get(i)
        if hit is not None:
            self._cache.move_to_end(i)
            return hit
        return self._decode_to(i)

    def _reopen(self) -> None:
        """Position the decoder at the very start (a fresh open: exactly a sequential decode)."""
        self._stop()
        if self._container is not None:
            self._container.close()
        self._container, self._stream = _open_container(self.path)
        self._packets, self._floor, self._next = self._container.demux(self._stream), None, 0

    def _stop(self) -> None:
        if self._packets is not None:
            self._packets.close()
            self._packets = None

    def _seek_keyframe_for(self, i: int) -> None:
        """Position the decoder on the last keyframe at or before frame i.

        Demuxers do not land exactly: mov seeks by its sync-sample table (which some phones write
        a few samples off the real IDR frames) and by dts, matroska by cues. So the seek aims at
        the keyframe packet itself (`any_frame`, at its dts, which mov's index uses), the packets
        before the first keyframe packet that follows are dropped (undecodable without their
        past), and landing after our keyframe falls back to decoding from the start.
        """
        k = bisect.bisect_right(self._key_pts, self._pts[i]) - 1 if self._seekable else -1
        if k <= 0:  # from the start is exact by definition
            return self._reopen()
        self._stop()
        key = self._key_pts[k]
        try:
            self._container.seek(self._key_seek_ts[k], stream=self._stream, backward=True,
                                 any_frame=True)
            packets = self._container.demux(self._stream)
            first = next((p for p in packets if p.size and p.is_keyframe), None)
        except av.FFmpegError:
            first = None
        if first is None or first.pts is None or first.pts > key:
            return self._reopen()
        # Frames are named by counting from the first one at or after the landing keyframe.
        self._packets = _prepend(first, packets)
        self._floor, self._next = first.pts, bisect.bisect_left(self._pts, first.pts)

    def _decode_to(self, target: int | None) -> av.VideoFrame | None:
        """Decode until frame `target` comes out (None: to the end) and return it.

        Continues from the decoder's position when the target is just ahead; otherwise seeks.
        Every frame that comes out is named by counting, checked against the index and cached.
        """
        if target is not None and not self._can_continue_to(target):
            self._seek_keyframe_for(target)
        found = None
        try:
            for pkt in self._packets:
                for frame in self._stream.decode(pkt):
                    if self._floor is not None and frame.pts is not None and frame.pts < self._floor:
                        continue  # leading pictures of an open GOP: they need the previous GOP
                    i = self._next
                    if i >= len(self._pts) or (self._seekable and frame.pts != self._pts[i]):
                        raise self._mismatch(i, frame.pts)
                    self._next = i + 1
                    self._cache[i] = frame
                    self._cache.move_to_end(i)
                    if len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
                    if i == target:
                        found = frame
                if found is not None:
                    return found
        except av.FFmpegError as err:
            self._stop()
            raise _ffmpeg_error(self.path, err, f"decoding frame {self._next}") from err
        except VideoError:
            self._stop()
            raise
        self._stop()  # end of stream: the decoder is drained
        if self._next != len(self._pts):
            raise VideoError(f"{self.path}: the file is truncated or damaged — only {self._next} "
                             f"of its {len(self._pts)} frames decode.")
        return None

    def _can_continue_to(self, i: int) -> bool:
        if self._packets is None or self._next > i:
            return False
        if i - self._next < _FORWARD_SLACK or not self._seekable:
            return True
        # Would a seek restart at a keyframe the decoder has already passed? Then decode on.
        k = bisect.bisect_right(self._key_pts, self._pts[i]) - 1
        return k >= 0 and bisect.bisect_left(self._pts, self._key_pts[k]) < self._next

    def _mismatch(self, i: int, pts) -> VideoError:
        return VideoError(f"{self.path}: the decoder's frames do not match the container's index "
                          f"(frame {i} has pts {pts}); frame numbers would be ambiguous. "
                          f"Re-encode the file (e.g. ffmpeg -i in out.mp4).")

    def _decode_all(self) -> int:
        """Decode the whole stream from the start; return the number of frames (verified)."""
        if self._packets is None or self._floor is not None:  # not on the from-the-start pass
            self._reopen()
        self._decode_to(None)
        return self._next


def _prepend(first, rest):
    yield first
    yield from rest


def probe(path) -> VideoInfo:
    """Facts about a video; decodes the whole stream, so `frames` is exact.

    Raises VideoError when the file is unreadable or when its packet index and its decoded
    frames disagree (then frame numbers would not be stable).
    """
    with VideoReader(path, cache_frames=1) as reader:
        reader._decode_all()  # raises on any disagreement with the index
        info = reader.info
    check_complete(path, info)
    return info


def check_complete(path, info: VideoInfo) -> None:
    """Raise VideoError for a file cut short (an interrupted download or copy): its container
    declares more than its frames cover, or an MPEG-TS file ends inside a packet. A truncated file
    must not pass for a shorter video: its frame numbers would not match the complete one's."""
    try:
        with av.open(str(path)) as container:
            declared = (container.duration or 0) / 1_000_000
            fmt = container.format.name or ""
    except (av.FFmpegError, OSError):
        return
    decoded = info.frames / info.fps if info.fps else 0.0
    if declared > 0 and declared - decoded > max(0.5, 0.1 * declared):
        raise VideoError(f"{path}: the file is truncated — its container says {declared:.1f} s but only "
                         f"{decoded:.1f} s of frames are in it (an interrupted download or copy?); "
                         "add the complete file.")
    size = os.path.getsize(path)
    if "mpegts" in fmt and size % 188 and size % 192:
        raise VideoError(f"{path}: the file is truncated — an MPEG-TS file ends inside a packet "
                         f"({size} bytes is not a whole number of packets); add the complete file.")


def read_frame(path, index: int) -> np.ndarray:
    """One frame (HxWx3 uint8 RGB) of a video file."""
    with VideoReader(path, cache_frames=1) as reader:
        return reader.frame(index)


def iter_frames(path, start: int = 0, end: int | None = None) -> Iterator[np.ndarray]:
    """Frames start..end (inclusive; None = the last frame) of a video file, in order."""
    with VideoReader(path, cache_frames=1) as reader:
        yield from reader.frames(start, len(reader) - 1 if end is None else end)


def sample_indices(start: int, end: int, n: int) -> list[int]:
    """The frame-sampling rule: n frame indices equally spaced over the inclusive [start, end].

    index_k = start + round(k * (end - start) / (n - 1)) for k = 0 … n-1, halves rounded up,
    so the first and last frames are always included (n >= 2). n = 1 gives [start]. A clip
    shorter than n frames repeats frames (the list stays sorted and covers the clip):
    sample_indices(0, 2, 5) == [0, 1, 1, 2, 2].
    """
    start, end, n = operator.index(start), operator.index(end), operator.index(n)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if start < 0 or end < start:
        raise ValueError(f"bad frame range [{start}, {end}]")
    if n == 1:
        return [start]
    span = end - start
    # Exact integer form of round-half-up(k * span / (n - 1)).
    return [start + (2 * k * span + n - 1) // (2 * (n - 1)) for k in range(n)]


# "athlete": the box of the athlete's pose landmarks, which the caller computes (core.pose.focus)
# and passes in, since the media layer sits below the pose layer.
FOCUS_MODES = (None, "motion", "athlete")
MOTION_BOX_VERSION = 2  # bump when motion_box changes what it returns: caches of focused clips are rebuilt


def motion_box(frames, pad: float = 0.4, min_side: float = 0.5, floor: float = 6.0,
               high: float = 0.35, low: float = 0.12) -> tuple[int, int, int, int] | None:
    """The square pixel box (x0, y0, x1, y1) around what moves most in `frames` (the athlete
    doing a rep; the camera is fixed), or None when nothing moves (then the whole frame is used).

    Why: a workout camera frames the whole gym, so the athlete is a small part of the picture and
    most pixels (walls, idle bystanders, unused stations) say more about the gym than about the
    movement. From a ~96-pixel-wide grayscale copy: the mean absolute difference of consecutive
    frames, blurred; regions of strong motion (>= `high` of the peak, and >= `floor` grey levels)
    seed a hysteresis threshold: the connected region of weaker motion (>= `low` of the peak) that
    holds the most strong motion is the athlete (so a hanging athlete whose legs swing keeps the
    slowly moving torso, and an idle bystander apart from the athlete stays out). Its box is padded
    by `pad` of its size on each side, made square with a side of at least `min_side` of the
    frame's shorter side, and shifted (not shrunk) to lie inside the frame. Deterministic.
    """
    frames = [np.asarray(f) for f in frames]
    if len(frames) < 2:
        return None
    h, w = frames[0].shape[:2]
    scale = 96.0 / max(w, h)
    sw, sh = max(8, int(round(w * scale))), max(8, int(round(h * scale)))
    small = [cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32)
             for f in frames]
    motion = np.mean([np.abs(b - a) for a, b in zip(small, small[1:])], axis=0)
    motion = cv2.GaussianBlur(motion, (3, 3), 0)
    peak = float(motion.max())
    if peak < floor:
        return None
    strong = motion >= max(high * peak, floor)
    weak = (motion >= max(low * peak, floor * 0.5)).astype(np.uint8)
    count, labels_, stats, _ = cv2.connectedComponentsWithStats(weak, connectivity=8)
    if count < 2:
        return None
    seeded = np.bincount(labels_[strong], weights=motion[strong], minlength=count)
    best = 1 + int(np.argmax(seeded[1:]))
    x, y, bw, bh = (int(v) for v in stats[best, :4])
    # back to full-resolution pixels, padded and squared
    return square_box(x / scale, y / scale, (x + bw) / scale, (y + bh) / scale, w, h, pad, min_side)


def square_box(x0: float, y0: float, x1: float, y1: float, w: int, h: int, pad: float,
               min_side: float) -> tuple[int, int, int, int]:
    """The square around (x0, y0)-(x1, y1) padded by `pad` of its size on each side, at least `min_side`
    of the frame's shorter side, moved inside the w x h frame: (x0, y0, x1, y1) integer pixels."""
    side = max(x1 - x0, y1 - y0) * (1 + 2 * pad)
    side = min(max(side, min_side * min(w, h)), min(w, h))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    bx0 = int(round(min(max(cx - side / 2, 0), w - side)))
    by0 = int(round(min(max(cy - side / 2, 0), h - side)))
    s = int(round(side))
    return bx0, by0, min(w, bx0 + s), min(h, by0 + s)


def _crop(f: np.ndarray, crop) -> np.ndarray:
    x0, y0, x1, y1 = (int(round(v)) for v in crop)
    x0, x1 = max(0, x0), min(f.shape[1], x1)
    y0, y1 = max(0, y0), min(f.shape[0], y1)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"crop box {tuple(crop)} is empty inside the {f.shape[1]}x{f.shape[0]} frame")
    return f[y0:y1, x0:x1]


def _athlete_in_crop(athlete, crop, shape) -> tuple | None:
    """The athlete box given in the pixels of the frames before `crop`, moved into the cropped
    frames and clipped to them; None when nothing of it is left."""
    x0, y0, x1, y1 = (float(v) for v in athlete)
    if crop is not None:
        cx, cy = (max(0.0, float(v)) for v in crop[:2])
        x0, y0, x1, y1 = x0 - cx, y0 - cy, x1 - cx, y1 - cy
    h, w = shape[:2]
    x0, y0, x1, y1 = max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1)
    return (x0, y0, x1, y1) if x1 - x0 >= 2 and y1 - y0 >= 2 else None


def preprocess(frames, size, crop=None, focus=None, athlete=None) -> np.ndarray:
    """The model-boundary preprocessing: crop, focus, resize, scale. Shared by training, eval, predict.

    frames: sequence (or array) of HxWx3 uint8 RGB frames (one clip or window: `focus` looks at
    them together). crop: pixel box (x0, y0, x1, y1) in the (rotated) frame, x1/y1 exclusive,
    clipped to the frame; None = whole frame. focus: None; "motion" = then crop further to
    `motion_box` of the (cropped) frames; "athlete" = crop further to `athlete`, the box of the
    athlete's pose landmarks over these frames (`core.pose.focus.athlete_box`), given in the pixels
    of `frames` before `crop`; without one (no pose in these frames) "athlete" falls back to the
    motion focus, which also looks for the athlete. size: int for a square, or (height, width).
    Resized with cv2.INTER_AREA. Returns float32 [N, H, W, 3] in [0, 1], RGB.
    """
    if focus not in FOCUS_MODES:
        raise ValueError(f"focus must be one of {FOCUS_MODES}, got {focus!r}")
    h, w = (size, size) if np.isscalar(size) else size
    h, w = int(h), int(w)
    frames = [np.asarray(f) for f in frames]
    for f in frames:
        if f.dtype != np.uint8 or f.ndim != 3 or f.shape[2] != 3:
            raise ValueError(f"frames must be HxWx3 uint8 RGB, got {f.dtype} {f.shape}")
    if crop is not None:
        frames = [_crop(f, crop) for f in frames]
    box = None
    if focus == "athlete" and athlete is not None and frames:
        box = _athlete_in_crop(athlete, crop, frames[0].shape)
    if focus == "motion" or (focus == "athlete" and box is None):
        box = motion_box(frames)
    if box is not None:
        frames = [_crop(f, box) for f in frames]
    out = np.empty((len(frames), h, w, 3), dtype=np.float32)
    for j, f in enumerate(frames):
        out[j] = cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA)
    out /= 255.0
    return out


def clip_batch(clip) -> tuple[np.ndarray, bool]:
    """A model input as a float32 batch [B, T, H, W, 3], and whether it was one clip [T, H, W, 3]."""
    x = np.asarray(clip, dtype=np.float32)
    single = x.ndim == 4
    if single:
        x = x[None]
    if x.ndim != 5 or x.shape[-1] != 3:
        raise ValueError(f"expected a clip [T, H, W, 3] or a batch [B, T, H, W, 3], got {x.shape}")
    return x, single


def load_clip(path, start: int, end: int, n: int = 10, size=224, crop=None, focus=None,
              athlete=None) -> np.ndarray:
    """The clip loader used by training, evaluation and prediction: float32 [n, H, W, 3].

    sample_indices(start, end, n), those frames decoded in one forward pass (the reader decodes on
    between nearby indices and seeks across long gaps), then preprocess(frames, size, crop, focus,
    athlete).
    """
    indices = sample_indices(start, end, n)
    with VideoReader(path, cache_frames=max(8, n)) as reader:
        reader.check_index(end)
        decoded = {}
        for i in indices:
            if i not in decoded:
                decoded[i] = reader.frame(i)
    return preprocess([decoded[i] for i in indices], size, crop, focus, athlete)
