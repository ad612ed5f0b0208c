"""Adding videos to a workspace (file, upload bytes, folder, URL) and removing them.

A long-GOP video (phone, YouTube) gets its labeling proxy made in the background when it is
added (`core.media.proxy`), so the Label page steps it instantly.

A video's file gets a safe name on disk (`safe_name`: `Men's Event 1, Bayden Brown, 3_58.mp4` is
stored as `Men_s_Event_1_Bayden_Brown_3_58.mp4`), but it keeps the name it arrived under
(`original_name`: the file's or upload's name, or `<title><ext>` for a download) and its title
as its identity: imports (Supervisely exports, clip manifests) match videos by those names.
"""
from __future__ import annotations

import os
import re
import uuid
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from core.base.progress import Progress, check_cancel, report
from core.media.download import content_hash
from core.base.store import DuplicateVideo
from core.media.video import VideoError, probe
from core.base.workspace import Workspace

VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".webm", ".avi", ".mkv", ".gif"}
MAX_UPLOAD_BYTES = 2 * 1024**3  # keep in step with .streamlit/config.toml maxUploadSize


@dataclass
class Added:
    """What happened to one input: a new video id, a duplicate of an existing one, or an error."""

    name: str
    video_id: int | None = None
    duplicate_of: int | None = None
    error: str | None = None

    @property
    def message(self) -> str:
        if self.error:
            return f"{self.name}: {self.error}"
        if self.duplicate_of is not None:
            return f"{self.name}: already in the workspace (video {self.duplicate_of}), skipped."
        return f"{self.name}: added as video {self.video_id}."


def safe_name(name: str) -> str:
    """A file name with no directory part and only harmless characters; its extension is kept
    (`日本.mp4` -> `video.mp4`, not `mp4`, which would no longer be read as a video)."""
    base = Path(name.replace("\\", "/").replace("\x00", "")).name
    p = Path(base)
    if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", base):  # only an extension (".mp4", "\x00.mp4")
        base = "video" + base
        p = Path(base)
    suffix = p.suffix.lower() if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", p.suffix or "") else ""
    stem = p.stem if suffix else base
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "video"
    return stem[:120] + suffix


def _unique_path(folder: Path, name: str) -> Path:
    target = folder / name
    i = 1
    while target.exists():
        target = folder / f"{Path(name).stem}_{i}{Path(name).suffix}"
        i += 1
    return target


def register(ws: Workspace, path: Path, *, title: str = "", source_url: str | None = None,
             original_name: str | None = None, final: Path | None = None) -> Added:
    """Probe and record a file already inside the workspace; a bad or duplicate file is removed.
    `original_name`: the name the file arrived under (default: its name on disk). `final`: the name
    it gets once it has passed the probe (it is renamed just before it is recorded)."""
    store = ws.store()
    name = original_name or (final or path).name
    try:
        info = probe(path)
    except VideoError as exc:
        path.unlink(missing_ok=True)
        return Added(name, error=str(exc).replace(str(path), name))
    digest = content_hash(path)
    if final is not None:
        os.replace(path, final)
        path = final
    try:
        vid = store.add_video(
            path=ws.relative(path), sha256=digest, info=info.to_json(), title=title or path.stem,
            source_url=source_url,
        )
    except DuplicateVideo as dup:
        path.unlink(missing_ok=True)
        return Added(name, duplicate_of=dup.video_id)
    store.set_video_identity(vid, original_name=name)
    start_proxy(path, info.width, info.height)
    return Added(name, video_id=vid)


def start_proxy(path: Path, width: int, height: int):
    """Make the labeling proxy of a long-GOP video in the background (see core.media.proxy); the
    thread, or None when none is needed or it exists already."""
    from core.media import proxy
    from core.media.frame_server import display_size

    return proxy.start(path, display_size(width, height))


def add_file(ws: Workspace, source: str | Path, *, source_url: str | None = None, copy: bool = True,
             original_name: str | None = None) -> Added:
    """Add a video file from anywhere on disk: it is copied into the workspace first (under a safe
    name; the original name, default the source's, stays its identity)."""
    source = Path(source)
    name = original_name or source.name
    if not source.is_file():
        return Added(name, error="no such file")
    existing = ws.store().video_by_hash(content_hash(source))
    if existing:
        return Added(name, duplicate_of=existing["id"])
    _clean_interrupted(ws)
    # copied under a temporary name first: an interrupted add leaves no file that looks added
    tmp = ws.videos_dir / f"{ADDING_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}{Path(safe_name(name)).suffix}"
    try:
        if copy:
            shutil.copy2(source, tmp)
        else:
            shutil.move(source, tmp)
        return register(ws, tmp, title=_strip_ext(name), source_url=source_url, original_name=name,
                        final=_unique_path(ws.videos_dir, safe_name(name)))
    finally:
        tmp.unlink(missing_ok=True)


ADDING_PREFIX = ".adding-"


def _clean_interrupted(ws: Workspace) -> None:
    """Remove the temporary copies of adds whose process is gone (killed mid-copy)."""
    for f in ws.videos_dir.glob(f"{ADDING_PREFIX}*"):
        try:
            pid = int(f.name[len(ADDING_PREFIX):].split("-", 1)[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            f.unlink(missing_ok=True)
        except (ValueError, OSError):
            continue


def _strip_ext(name: str) -> str:
    """The name without its extension when that is a video extension (a title may hold dots)."""
    p = Path(name.replace("\\", "/"))
    return p.stem if p.suffix.lower() in VIDEO_SUFFIXES else p.name


def video_names(video: dict) -> list[str]:
    """The names a stored video answers to, most specific first: the name it arrived under, its
    title, its file name on disk (no duplicates, no empty ones)."""
    out = []
    for n in (video.get("original_name"), video.get("title"), Path(video["path"]).name):
        if n and n not in out:
            out.append(n)
    return out


def add_bytes(ws: Workspace, name: str, data: bytes) -> Added:
    """Add uploaded bytes; see `add_upload`."""
    import io

    return add_upload(ws, name, io.BytesIO(data))


def add_upload(ws: Workspace, name: str, stream, max_bytes: int = MAX_UPLOAD_BYTES) -> Added:
    """Add an upload (a file-like object): streamed under uploads/ with a sanitised name (stopping
    as soon as it passes the limit), then moved into videos/; nothing is left behind on failure."""
    tmp = _unique_path(ws.uploads_dir, "." + safe_name(name))
    try:
        size = stream_to_file(stream, tmp, max_bytes)
        if size == 0:
            return Added(name, error="the file is empty")
        result = add_file(ws, tmp, copy=False, original_name=Path(name.replace("\\", "/")).name)
    except UploadTooLarge:
        return Added(name, error=f"file is larger than the {max_bytes // 1024**2} MB upload limit")
    finally:
        tmp.unlink(missing_ok=True)
    result.name = name
    return result


class UploadTooLarge(ValueError):
    pass


def stream_to_file(stream, path: Path, max_bytes: int, chunk: int = 1 << 20) -> int:
    """Copy `stream` to `path` in chunks; UploadTooLarge as soon as more than `max_bytes` arrived."""
    size = 0
    with open(path, "wb") as out:
        while block := stream.read(chunk):
            size += len(block)
            if size > max_bytes:
                raise UploadTooLarge(size)
            out.write(block)
    return size


def add_folder(ws: Workspace, folder: str | Path, progress: Progress | None = None, cancel=None) -> list[Added]:
    folder = Path(folder)
    if not folder.is_dir():
        return [Added(str(folder), error="not a folder")]
    inner, outer = folder.resolve(), ws.root.resolve()
    if inner == outer or outer in inner.parents:
        return [Added(str(folder), error=f"this folder is inside the workspace {ws.root} (its own videos and "
                                         "clips): add the folder your videos came from")]
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()
                   and outer not in p.resolve().parents)  # never the workspace's own files
    if not files:
        return [Added(str(folder), error="no video files in this folder "
                                         f"({', '.join(sorted(s.lstrip('.') for s in VIDEO_SUFFIXES))})")]
    results = []
    for i, f in enumerate(files):
        check_cancel(cancel, "Adding the folder")
        results.append(add_file(ws, f))
        report(progress, i + 1, len(files), f.name)
    return results


def add_url(ws: Workspace, url: str, progress: Progress | None = None, cancel=None) -> list[Added]:
    """Download a video or a playlist with yt-dlp into the workspace and add each video.
    progress(done, total, text): per mille of the current video, "i/n name 42%"."""
    from core.media.download import DownloadError, download

    def detailed(p: dict) -> None:  # yt-dlp's progress, in the one progress shape
        share = p.get("fraction")
        text = f"{p.get('index', 1)}/{p.get('count', 1)} {p.get('filename') or ''}".rstrip()
        report(progress, int(1000 * (share or 0.0)), 1000 if share is not None else 0,
               text + (f" {share * 100:.0f}%" if share is not None else ""))

    failed: list[Added] = []
    try:
        downloaded = download(url, ws.videos_dir, progress=detailed if progress else None, cancel=cancel)
    except DownloadError as exc:
        # A playlist with some bad entries (or a cancel) still keeps the videos that arrived.
        downloaded = exc.downloaded
        failed = [Added(u, error=m) for u, m in exc.failures] or [Added(url, error=str(exc))]
    return [register(ws, d.path, title=d.title, source_url=d.source_url,
                     original_name=f"{d.title}{d.path.suffix}" if d.title else None)
            for d in downloaded] + failed


def add_sources(ws: Workspace, sources: Iterable[str], progress: Progress | None = None, cancel=None) -> list[Added]:
    """URLs, files or folders, as given on the command line."""
    results: list[Added] = []
    for src in sources:
        if re.match(r"^[a-z][a-z0-9+.-]*://", src, re.I):
            results += add_url(ws, src, progress=progress, cancel=cancel)
        elif Path(src).is_dir():
            results += add_folder(ws, src, progress, cancel)
        else:
            results.append(add_file(ws, src))
    return results


def delete_video(ws: Workspace, video_id: int) -> None:
    """Remove a video, its reps and its file (only if the file lies inside the workspace)."""
    store = ws.store()
    video = store.video(video_id)
    if video is None:
        return
    store.delete_video(video_id)
    path = ws.absolute(video["path"])
    if ws.root in path.resolve().parents:
        from core.media import proxy

        proxy.remove(path)
        path.unlink(missing_ok=True)


def thumbnail(ws: Workspace, video: dict, width: int = 160) -> Path | None:
    """A small JPEG of the video's middle frame, cached by content hash; None if it cannot be decoded."""
    import cv2

    from core.media.video import read_frame

    target = ws.cache_dir / "thumbs" / f"{video['sha256'][:16]}_{width}.jpg"
    if target.exists():
        return target
    try:
        rgb = read_frame(ws.absolute(video["path"]), video["frames"] // 2)
    except (VideoError, OSError):
        return None
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp.jpg")
    cv2.imwrite(str(tmp), cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
    tmp.replace(target)
    return target
