"""Cutting the dataset reps into frame-exact, browser-playable clips.

Which reps: exactly `core.labeling.annotator.dataset_segments(store)` (see `DATASET_RULE` there). One rep,
one clip.

What a clip is: the frames `start..end` (inclusive, `end - start + 1` of them) of its source,
decoded by `core.media.video.VideoReader` (so frame numbers mean the same picture as everywhere else),
optionally cropped to the athlete box, encoded as H.264 (libx264, yuv420p, CRF 17, see
`PRESET`/`X264_PARAMS`) in an mp4 with the index at the front (`+faststart`) so a browser plays it at once,
at the source's frame rate, no audio. Width and height are even (yuv420p needs it): an odd
dimension loses its last pixel column/row. Frame k of the clip is frame `start + k` of the source;
the tests require PSNR >= 35 dB per frame against the source.

Crop: with `crop=True` (the default) a clip is cropped to the rep's own `roi` if it has one,
else to its video's `roi`, else it is the whole frame. A box is `[x0, y0, x1, y1]` in pixels of
the frame as shown (after rotation), x1/y1 exclusive — the same convention as
`core.media.video.preprocess(crop=...)`; it is clipped to the frame. The box used is stored in the
clip's `crop` column (NULL: whole frame).

Where and what name: `clips/<movement>/<movement>_<i>.mp4` under the workspace, i = 1, 2, …
per movement. Numbering is stable: a clip keeps its number as long as its rep stays in the
dataset with the same movement. A new rep takes the smallest number of its movement not in
use (so a rerun after an interrupted run gives the numbers a clean run would have given; a
number freed by a deleted rep can be taken again by a later new rep).

Incremental: each clip row holds a fingerprint of what it was cut from (source content hash,
start, end, movement, crop box, encoder settings). A rerun keeps clips whose fingerprint,
file and size match; re-cuts a rep whose range, crop or encoder settings changed into the same
file name; a rep that changed movement, was deleted, or left the dataset loses its clip (file
and row) and, if still in the dataset, is cut anew under its new movement.

Crash safety: a clip is encoded to a temporary name (`.tmp-…` in the same folder), atomically
renamed onto its final name once complete, and only then recorded in the database. So a final
name never holds a half-written file; after a kill, leftover temporary files are removed when
the next run starts, and a final file without a row (killed between rename and record) or with
a mismatched fingerprint is simply cut again. Only one run per workspace at a time (a lock
file in `clips/`; the OS releases it when the process dies). Work is split into chunks of
consecutive reps of one video, run in `jobs` worker processes (spawned, so safe to start from
a Streamlit thread); each chunk decodes its stretch of the source once, sequentially.
"""
from __future__ import annotations

from core.base.errors import DatasetError
import hashlib
import json
import os
import signal
import re
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable

from core.labeling.annotator import DATASET_RULE, dataset_segments  # noqa: F401  (DATASET_RULE re-exported)
from core.base.store import Store, now
from core.media.video import VideoError
from core.base.workspace import Workspace

# Encoder settings; part of every fingerprint, so changing them re-cuts every clip.
CODEC = "libx264"
PIX_FMT = "yuv420p"
CRF = 17
# x264's fastest preset with the three tools that matter most for compressing a fixed camera
# put back: CABAC, B-frames and macroblock-tree rate control (10-frame lookahead), plus the
# deblocking filter. Measured on the demo and real videos (single thread): ~30% less CPU than
# `veryfast` at about its file size on the demo workouts (~1.6x on noisy real footage), and
# a higher PSNR; plain `ultrafast` is faster still but ~3x bigger.
PRESET = "ultrafast"
X264_PARAMS = "cabac=1:bframes=3:b-adapt=0:rc-lookahead=10:mbtree=1:deblock=1"
DECODER_YUV = True  # hand the decoder's yuv420p pictures to the encoder when possible (False: always RGB)
CLIP_FORMAT = f"v1:{CODEC}:{PIX_FMT}:crf{CRF}:{PRESET}:{X264_PARAMS}"

TMP_PREFIX = ".tmp-"
LOCK_NAME = ".split.lock"
CHUNK_FRAMES = 1800  # a chunk of consecutive reps of one video spans at least up to this many frames

Progress = Callable[[int, int, str], None]


class ClipError(DatasetError, ValueError):
    """Cutting cannot go on (another run holds the workspace, a worker died, …); message fit to show."""


# --------------------------------------------------------------------------------------------
# names, boxes, fingerprints
# --------------------------------------------------------------------------------------------

def safe_label(label: str) -> str:
    """A movement name usable as a folder and file name (spaces kept; path separators replaced)."""
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "-", label).strip(" .")
    return name or "movement"


def clip_name(label: str, number: int) -> str:
    return f"{safe_label(label)}_{number}.mp4"


def clip_relpath(label: str, number: int) -> str:
    """The clip's path relative to the workspace: clips/<movement>/<movement>_<i>.mp4."""
    return f"clips/{safe_label(label)}/{clip_name(label, number)}"


def normalise_box(roi, width: int, height: int) -> list[int] | None:
    """An athlete box as [x0, y0, x1, y1] (x1/y1 exclusive) clipped to the frame, with even offsets,
    width and height (yuv420p; the box may grow by a pixel at the top/left and shrink by one at
    the bottom/right); None for no box, an empty one, or one covering the whole frame.

    Accepts [x0, y0, x1, y1] or a dict with x0/y0/x1/y1 or left/top/width/height.
    """
    if not roi:
        return None
    if isinstance(roi, dict):
        if "x0" in roi:
            x0, y0, x1, y1 = roi["x0"], roi["y0"], roi["x1"], roi["y1"]
        else:
            x0, y0 = roi["left"], roi["top"]
            x1, y1 = x0 + roi["width"], y0 + roi["height"]
    else:
        x0, y0, x1, y1 = roi
    x0, y0 = max(0, int(round(x0))), max(0, int(round(y0)))
    x0, y0 = x0 - x0 % 2, y0 - y0 % 2  # even offsets: 4:2:0 chroma stays aligned
    x1, y1 = min(width, int(round(x1))), min(height, int(round(y1)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    x1 -= (x1 - x0) % 2
    y1 -= (y1 - y0) % 2
    if (x0, y0) == (0, 0) and x1 >= width - 1 and y1 >= height - 1:
        return None  # the whole frame (give or take the odd pixel the encoder drops anyway)
    return [x0, y0, x1, y1]


def fingerprint(video_sha256: str, label: str, start: int, end: int, box: list[int] | None) -> str:
    """What a clip was cut from; equal fingerprints mean identical clip files."""
    key = json.dumps({"format": CLIP_FORMAT, "video": video_sha256, "label": label, "start": int(start),
                      "end": int(end), "crop": box}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def segment_box(segment: dict, video: dict, crop: bool = True) -> list[int] | None:
    if not crop:
        return None
    return normalise_box(segment.get("roi") or video.get("roi"), video["width"], video["height"])


# --------------------------------------------------------------------------------------------
# reading the clips table
# --------------------------------------------------------------------------------------------

def clips(store: Store) -> list[dict]:
    """Every clip row ({id, segment_uuid, video_id, label, number, path, start_frame, end_frame,
    frames, fps, bytes, crop (list or None), fingerprint, created_at}), by movement order and number."""
    order = {name: i for i, name in enumerate(store.labels())}
    with store.read() as con:
        rows = [dict(r) for r in con.execute("SELECT * FROM clips")]
    for r in rows:
        r["crop"] = json.loads(r["crop"]) if r["crop"] else None
    rows.sort(key=lambda r: (order.get(r["label"], len(order)), r["label"], r["number"]))
    return rows


def _delete_clip_rows(store: Store, ids: Iterable[int]) -> None:
    ids = list(ids)
    if ids:
        with store.write() as con:
            con.executemany("DELETE FROM clips WHERE id = ?", [(i,) for i in ids])


def _record_clip(store: Store, spec: dict, size: int, fps: float) -> None:
    """Insert or replace the row of one finished clip (keyed by its rep)."""
    with store.write() as con:
        con.execute("DELETE FROM clips WHERE segment_uuid = ? OR path = ? OR (label = ? AND number = ?)",
                    (spec["segment_uuid"], spec["path"], spec["label"], spec["number"]))
        con.execute(
            """INSERT INTO clips(segment_uuid, video_id, label, number, path, start_frame, end_frame, frames,
               fps, bytes, crop, fingerprint, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            (spec["segment_uuid"], spec["video_id"], spec["label"], spec["number"], spec["path"], spec["start"],
             spec["end"], spec["end"] - spec["start"] + 1, fps, size,
             json.dumps(spec["crop"]) if spec["crop"] else None, spec["fingerprint"], now()),
        )


# --------------------------------------------------------------------------------------------
# planning
# --------------------------------------------------------------------------------------------

@dataclass
class Plan:
    keep: list[dict] = field(default_factory=list)  # clip rows already right
    cut: list[dict] = field(default_factory=list)  # specs to (re-)cut
    remove: list[dict] = field(default_factory=list)  # clip rows to delete (row and file)


def plan(ws: Workspace, store: Store | None = None, *, crop: bool = True) -> Plan:
    """What a run would do, without doing it."""
    store = store or ws.store()
    videos = {v["id"]: v for v in store.videos()}
    wanted = {}
    for s in dataset_segments(store):
        video = videos[s["video_id"]]
        box = segment_box(s, video, crop)
        wanted[s["uuid"]] = dict(
            segment_uuid=s["uuid"], video_id=s["video_id"], label=s["label"], start=s["start"], end=s["end"],
            crop=box, fingerprint=fingerprint(video["sha256"], s["label"], s["start"], s["end"], box),
            source=str(ws.absolute(video["path"])),
        )
    out = Plan()
    used: dict[str, set[int]] = {}
    placed: set[str] = set()
    for row in clips(store):
        spec = wanted.get(row["segment_uuid"]) if row["segment_uuid"] else None
        if spec is None or spec["label"] != row["label"] or row["segment_uuid"] in placed:
            out.remove.append(row)
            continue
        placed.add(row["segment_uuid"])
        used.setdefault(row["label"], set()).add(row["number"])
        path = ws.absolute(row["path"])
        expected = clip_relpath(row["label"], row["number"])
        ok = (row["fingerprint"] == spec["fingerprint"] and row["path"] == expected and path.is_file()
              and path.stat().st_size == row["bytes"])
        if ok:
            out.keep.append(row)
        else:
            out.cut.append(dict(spec, number=row["number"], path=expected))
    new = [spec for uuid, spec in wanted.items() if uuid not in placed]
    new.sort(key=lambda s: (s["video_id"], s["start"], s["segment_uuid"]))
    for spec in new:
        taken = used.setdefault(spec["label"], set())
        n = 1
        while n in taken:
            n += 1
        taken.add(n)
        out.cut.append(dict(spec, number=n, path=clip_relpath(spec["label"], n)))
    out.cut.sort(key=lambda s: (s["video_id"], s["start"]))
    return out


def _chunks(specs: list[dict], jobs: int = 1) -> list[list[dict]]:
    """Consecutive reps of one video, so each chunk decodes its stretch of the source once (the
    reader decodes on across short gaps and seeks across long ones). Chunks span at most
    max(CHUNK_FRAMES, a quarter of each worker's share) frames, so the workers stay balanced."""
    total = sum(s["end"] - s["start"] + 1 for s in specs)
    limit = max(CHUNK_FRAMES, total // max(1, 4 * jobs))
    chunks: list[list[dict]] = []
    for spec in specs:  # sorted by video, start
        last = chunks[-1] if chunks else None
        if last and last[0]["video_id"] == spec["video_id"] and spec["end"] - last[0]["start"] < limit:
            last.append(spec)
        else:
            chunks.append([spec])
    return chunks


# --------------------------------------------------------------------------------------------
# the encoder (runs in worker processes)
# --------------------------------------------------------------------------------------------

def source_rate(path: str) -> Fraction:
    """The source's average frame rate as an exact fraction (30000/1001, not 29.97…)."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    except (av.FFmpegError, IndexError) as exc:
        raise VideoError(f"{path}: cannot read its frame rate ({exc}).") from exc
    return Fraction(rate) if rate else Fraction(30)


def _source_frames(reader, start: int, end: int, box: list[int] | None):
    """The frames start..end of an open `core.media.video.VideoReader`, cropped to `box` and trimmed to
    even size, as ("yuv", colour tags, iterator of (Y, U, V) planes) or ("rgb", None, iterator of
    RGB arrays).

    The YUV form hands the decoder's own 4:2:0 pictures to the encoder, with no RGB round trip
    (a third faster and one colour conversion less). It needs an unrotated yuv420p source and the
    reader's decoded-frame access (`VideoReader.av_frame`, the picture `frame()` converts, so frame
    numbering is the reader's); anything else (rotated phone videos, 10-bit, 4:2:2, …) takes the
    public RGB path, `VideoReader.frames`.
    """
    import av
    import numpy as np

    if not 0 <= start <= end < len(reader):
        raise ClipError(f"{reader.path}: rep {start}–{end} is outside the video (frames 0–{len(reader) - 1}).")
    get = reader.av_frame if DECODER_YUV else None
    first = get(start) if get is not None and not reader.rotation else None
    if isinstance(first, av.VideoFrame) and first.format.name == "yuv420p":
        tags = {k: getattr(first, k, None) for k in ("colorspace", "color_range", "color_primaries", "color_trc")}

        def planes():
            for i in range(start, end + 1):
                frame = get(i)
                if not isinstance(frame, av.VideoFrame) or frame.format.name != "yuv420p":
                    raise ClipError(f"{reader.path}: frame {i} changed pixel format mid-stream.")
                y, u, v = (np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, :p.width]
                           for p in frame.planes)
                x0, y0, x1, y1 = box or (0, 0, frame.width, frame.height)
                x1, y1 = x0 + (x1 - x0) // 2 * 2, y0 + (y1 - y0) // 2 * 2
                yield (y[y0:y1, x0:x1], u[y0 // 2:y1 // 2, x0 // 2:x1 // 2], v[y0 // 2:y1 // 2, x0 // 2:x1 // 2])

        return "yuv", tags, planes()

    def rgb():
        for frame in reader.frames(start, end):
            if box is not None:
                x0, y0, x1, y1 = box
                frame = frame[y0:y1, x0:x1]
            yield frame[:frame.shape[0] // 2 * 2, :frame.shape[1] // 2 * 2]

    return "rgb", None, rgb()


def encode_frames(frames: Iterable, out_path: str | Path, rate: Fraction, *, kind: str = "rgb",
                  tags: dict | None = None, threads: int = 1, cancel: threading.Event | None = None) -> int:
    """Encode frames (kind "rgb": HxWx3 uint8 RGB arrays; "yuv": (Y, U, V) 4:2:0 planes, with the
    source's colour `tags`) of even size as an H.264 yuv420p mp4 at `rate`, index at the front.
    Returns the number of frames written. Raises InterruptedError when `cancel` is set."""
    import av
    import numpy as np

    container = av.open(str(out_path), "w", format="mp4", options={"movflags": "+faststart"})
    stream = None
    n = 0
    try:
        for frame in frames:
            if cancel is not None and cancel.is_set():
                raise InterruptedError("cancelled")
            if kind == "yuv":
                y, u, v = frame
                h, w = y.shape
                packed = np.concatenate((y.ravel(), u.ravel(), v.ravel())).reshape(h * 3 // 2, w)
                picture = av.VideoFrame.from_ndarray(packed, format="yuv420p")
            else:
                h, w = frame.shape[:2]
                picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            if stream is None:
                stream = container.add_stream(CODEC, rate=rate)
                stream.width, stream.height, stream.pix_fmt = w, h, PIX_FMT
                stream.options = {"crf": str(CRF), "preset": PRESET, "x264-params": X264_PARAMS}
                stream.codec_context.thread_count = max(1, threads)
                # Tag the colours so every decoder converts them back as the source's were:
                # the source's own tags (YUV path), or BT.601 limited range, which is what the
                # RGB -> yuv420p conversion below applies.
                for key, value in (tags or {"colorspace": 5, "color_range": 1}).items():
                    if value is not None:
                        try:
                            setattr(stream.codec_context, key, value)
                        except (AttributeError, TypeError, ValueError):
                            pass
            if kind == "rgb":
                picture = picture.reformat(format=PIX_FMT, dst_colorspace=5)
            for key, value in (tags or {"colorspace": 5, "color_range": 1}).items():
                if value is not None:
                    try:
                        setattr(picture, key, value)
                    except (AttributeError, TypeError, ValueError):
                        pass
            picture.pts = n
            for packet in stream.encode(picture):
                container.mux(packet)
            n += 1
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    finally:
        container.close()
    return n


def _tmp_path(final: Path) -> Path:
    return final.with_name(f"{TMP_PREFIX}{os.getpid()}-{final.name}")


def cut_chunk(chunk: list[dict], root: str, threads: int = 1, cancel: threading.Event | None = None,
              on_clip: Callable[[dict, str, int], None] | None = None) -> list[tuple[dict, str, int, float]]:
    """Cut the reps of one chunk (one video) into temporary files next to their final names.

    Returns (spec, temporary path, frames written, fps) per rep; `on_clip` gets each as it is done.
    """
    from core.media.video import VideoReader

    root_path = Path(root)
    source = chunk[0]["source"]
    done = []
    with VideoReader(source, cache_frames=8) as reader:
        rate = source_rate(source)
        for spec in chunk:
            final = root_path / spec["path"]
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = _tmp_path(final)
            try:
                kind, tags, frames = _source_frames(reader, spec["start"], spec["end"], spec["crop"])
                n = encode_frames(frames, tmp, rate, kind=kind, tags=tags, threads=threads, cancel=cancel)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            if n != spec["end"] - spec["start"] + 1:
                tmp.unlink(missing_ok=True)
                raise ClipError(f"{source}: expected {spec['end'] - spec['start'] + 1} frames, wrote {n}.")
            item = (spec, str(tmp), n, float(rate))
            done.append(item)
            if on_clip:
                on_clip(*item)
    return done


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------

@dataclass
class CutReport:
    reps: int = 0  # dataset reps (= clips once the run is complete)
    kept: int = 0  # clips already up to date
    cut: int = 0  # clips cut or re-cut in this run
    removed: int = 0  # clips deleted (rep deleted, relabelled or out of the dataset)
    seconds_cut: float = 0.0  # seconds of source video cut in this run
    wall_s: float = 0.0
    cancelled: bool = False
    pending: int = 0  # clips still to cut (cancelled runs, failed sources)
    problems: list[str] = field(default_factory=list)  # sources that could not be cut (the rest were)

    def summary(self) -> str:
        text = (f"{self.reps} dataset reps: {self.cut} clips cut, {self.kept} already up to date, "
                f"{self.removed} removed")
        if self.cancelled:
            text += f"; cancelled with {self.pending} still to cut (run again to finish)"
        elif self.problems:
            text += f"; {self.pending} could not be cut ({len(self.problems)} problems)"
        return text + f" ({self.seconds_cut:.1f} s of video in {self.wall_s:.1f} s)."

    def to_json(self) -> dict:
        return dict(self.__dict__)


class _RunLock:
    """One split run per workspace: an exclusive lock file the OS drops when the process dies."""

    def __init__(self, path: Path):
        self.path = path
        self.fd = None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            import fcntl

            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # no flock (Windows): no protection against two runs at once
            pass
        except OSError:
            os.close(self.fd)
            self.fd = None
            raise ClipError("Another clip-cutting run is working on this workspace; wait for it to finish.")
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)  # releases the lock


def clean_temporary(ws: Workspace) -> int:
    """Remove temporary files left by a killed run; returns how many."""
    n = 0
    for tmp in ws.clips_dir.rglob(f"{TMP_PREFIX}*"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            n += 1
    return n


def _remove_strays(ws: Workspace, store: Store) -> None:
    """Delete clip files no row points to (e.g. renamed just before a kill, or whose rep went away)."""
    known = {ws.absolute(r["path"]).resolve() for r in clips(store)}
    for f in ws.clips_dir.rglob("*.mp4"):
        if f.name.startswith(TMP_PREFIX) or f.resolve() in known:
            continue
        f.unlink(missing_ok=True)
    for d in sorted((p for p in ws.clips_dir.rglob("*") if p.is_dir()), reverse=True):
        try:
            d.rmdir()  # only empty movement folders go
        except OSError:
            pass


def cut_clips(ws: Workspace, *, jobs: int = 1, crop: bool = True, progress: Progress | None = None,
              cancel: threading.Event | None = None) -> CutReport:
    """Bring `clips/` and the clips table in line with the dataset reps (see the module docstring).

    jobs: worker processes (1: in this process). progress(done, total, text) after each clip.
    cancel: set it to stop; clips finished so far are kept and recorded, the rest stay to do.
    """
    t0 = time.perf_counter()
    store = ws.store()
    report = CutReport()
    with _RunLock(ws.clips_dir / LOCK_NAME) as lock:
        clean_temporary(ws)
        todo = plan(ws, store, crop=crop)
        report.reps = len(todo.keep) + len(todo.cut)
        report.kept = len(todo.keep)
        for row in todo.remove:
            ws.absolute(row["path"]).unlink(missing_ok=True)
        _delete_clip_rows(store, (r["id"] for r in todo.remove))
        report.removed = len(todo.remove)
        total = len(todo.cut)

        def finished(spec, tmp, n, fps):
            final = ws.absolute(spec["path"])
            os.replace(tmp, final)  # atomic: the final name only ever holds a complete clip
            _record_clip(store, spec, final.stat().st_size, fps)
            report.cut += 1
            report.seconds_cut += n / fps
            if progress:
                progress(report.cut, total, f"{spec['path']} ({n} frames)")

        if progress:
            progress(0, total, f"{total} clips to cut, {report.kept} up to date")
        chunks = _chunks(todo.cut, jobs)
        jobs = max(1, min(int(jobs), len(chunks) or 1))
        try:
            if jobs == 1:
                for chunk in chunks:
                    if cancel is not None and cancel.is_set():
                        break
                    try:
                        cut_chunk(chunk, str(ws.root), threads=max(1, (os.cpu_count() or 1)), cancel=cancel,
                                  on_clip=finished)
                    except (VideoError, ClipError, OSError) as exc:  # one bad source stops only its reps
                        report.problems.append(str(exc))
            else:
                _run_pool(ws, chunks, jobs, finished, cancel, report.problems, lock.fd)
        except InterruptedError:
            pass
        report.cancelled = cancel is not None and cancel.is_set()
        report.pending = total - report.cut
        if not report.cancelled and not report.problems:
            _remove_strays(ws, store)
        clean_temporary(ws)
    report.wall_s = time.perf_counter() - t0
    return report


_WORKER: dict = {}


def _init_worker(queue, stop, lock_fd: int | None = None) -> None:
    _WORKER["queue"], _WORKER["stop"] = queue, stop
    if lock_fd is not None:  # a forked worker's copy of the run lock: the lock must die with the parent
        try:
            os.close(lock_fd)
        except OSError:
            pass
    _die_with_parent()


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when the process that started it dies (even by kill -9)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def _pool_chunk(index: int, chunk: list[dict], root: str, threads: int) -> None:
    """In a worker: cut one chunk, sending ("clip", item) per finished clip as soon as it is encoded
    (the parent renames and records it at once) and ("end", index, problem or None) at the end."""
    queue, stop = _WORKER["queue"], _WORKER["stop"]
    problem = None
    try:
        cut_chunk(chunk, root, threads, cancel=stop, on_clip=lambda *item: queue.put(("clip", item)))
    except InterruptedError:
        pass
    except (VideoError, ClipError, OSError) as exc:  # one bad source stops only its reps
        problem = str(exc)
    except Exception as exc:  # anything else: reported, the other chunks go on
        problem = f"{chunk[0]['source']}: {type(exc).__name__}: {exc}"
    queue.put(("end", index, problem))


def _run_pool(ws: Workspace, chunks: list[list[dict]], jobs: int, finished, cancel, problems: list[str],
              lock_fd: int | None = None) -> None:
    import multiprocessing as mp
    import queue as queue_module
    from concurrent.futures.process import BrokenProcessPool

    threads = max(1, (os.cpu_count() or 1) // jobs)
    # fork is cheap (no re-imports) but only safe from a single-threaded process (the CLI);
    # from Streamlit's threads, or once TensorFlow runs its thread pools, spawn.
    forkable = threading.active_count() == 1 and "tensorflow" not in sys.modules and sys.platform == "linux"
    ctx = mp.get_context("fork" if forkable else "spawn")
    messages, stop = ctx.Queue(), ctx.Event()
    # Largest chunks first, so the pool does not end waiting on one long chunk.
    order = sorted(range(len(chunks)), key=lambda i: -(chunks[i][-1]["end"] - chunks[i][0]["start"]))
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker,
                               initargs=(messages, stop, lock_fd if forkable else None))
    try:
        futures = {i: pool.submit(_pool_chunk, i, chunks[i], str(ws.root), threads) for i in order}
        open_chunks = set(futures)
        while open_chunks:
            if cancel is not None and cancel.is_set() and not stop.is_set():
                stop.set()  # running chunks stop at their next frame; queued ones never start
                for future in futures.values():
                    future.cancel()
            try:
                message = messages.get(timeout=0.2)
            except queue_module.Empty:
                for i in list(open_chunks):
                    future = futures[i]
                    if future.cancelled():
                        open_chunks.discard(i)
                    elif future.done() and future.exception() is not None:
                        raise future.exception()
                continue
            if message[0] == "clip":
                finished(*message[1])
            else:
                open_chunks.discard(message[1])
                if message[2]:
                    problems.append(message[2])
    except BrokenProcessPool as exc:
        raise ClipError(f"A clip-cutting worker died ({exc}); run again to resume.") from exc
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)


def decoded_frame_count(path: str | Path) -> int:
    from core.media.video import VideoReader

    with VideoReader(str(path), cache_frames=1) as reader:
        return len(reader)
