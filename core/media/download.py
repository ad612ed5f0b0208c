"""Download videos and playlists with yt-dlp (its Python API, never a shell command).

    expand(url)                       -> [{"url", "title", "duration"}]   no download
    download(url, dest_dir, progress=None, cancel=None, fmt=DEFAULT_FORMAT) -> [Downloaded]
    content_hash(path)                -> sha256 hex digest, for duplicate detection

Only http:// and https:// addresses are accepted. Each video is downloaded into a fresh
private folder inside `dest_dir` and, once it is complete and `core.media.video.probe` accepts it as
a video, moved to `dest_dir/<sanitised title>.<ext>` (a suffix `-1`, `-2`, … if the name is
taken). Partial files, intermediate format files and anything that is not a video are deleted;
an existing file in `dest_dir` is never overwritten.

Errors are `DownloadError` with a message meant for the user. When a playlist is downloaded,
one failing entry does not stop the others; if any failed, `DownloadError` is raised at the end
and its `downloaded` attribute lists the videos that did arrive (their files are kept), and
`failures` lists `(url, message)` pairs. `DownloadCancelled` carries the same attributes
(videos completed before the cancel are kept; the one in progress is deleted).
"""

from __future__ import annotations

from core.base.errors import MediaError
import hashlib
import logging
import os
import re
import shutil
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())  # never Python's last-resort stderr output
_ytdl_log = logging.getLogger(__name__ + ".yt_dlp")

# yt-dlp warnings that are normal for direct links and feeds: logged at debug level.
_ROUTINE_WARNINGS = re.compile(
    r"Falling back on generic information extractor|URL could be a direct video link|"
    r"Forcing generic information extractor|ffprobe not found", re.I)

# Best mp4 at most 480 p high: H.264 first (it plays everywhere and PyAV decodes it), merged
# video+audio when the site serves them apart, then any mp4, then anything at <= 480 p, then the
# smallest format above 480 p rather than failing. `height<=?480` also accepts formats whose
# height is unknown (a direct link to a file).
DEFAULT_FORMAT = (
    "bv*[height<=480][ext=mp4][vcodec^=avc]+ba[ext=m4a]"
    "/b[height<=480][ext=mp4][vcodec^=avc]"
    "/bv*[height<=480][ext=mp4]+ba[ext=m4a]"
    "/b[height<=?480][ext=mp4]"
    "/bv*[height<=480]+ba"
    "/b[height<=?480]"
    "/wv*+ba/w"
)

# The most a download may bring (per video); $WORKBENCH_MAX_DOWNLOAD_MB or download(max_bytes=) change it.
MAX_DOWNLOAD_BYTES = int(float(os.environ.get("WORKBENCH_MAX_DOWNLOAD_MB", "2048")) * 1024**2)
SOCKET_TIMEOUT_S = 20
RETRIES = 2
_CHUNK = 1 << 20
_MAX_NAME_BYTES = 100
_PROGRESS_INTERVAL_S = 0.05
_TMP_PREFIX = ".download-"


class DownloadError(MediaError):
    """A download failed; str(exc) is a message for the user."""

    def __init__(self, message: str, *, url: str | None = None,
                 downloaded: list["Downloaded"] | None = None,
                 failures: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.url = url
        self.downloaded: list[Downloaded] = list(downloaded or [])
        self.failures: list[tuple[str, str]] = list(failures or [])


class DownloadCancelled(DownloadError):
    """The cancel event was set; partial files have been deleted."""


@dataclass
class Downloaded:
    path: Path
    source_url: str
    title: str


# --------------------------------------------------------------------------- helpers


def content_hash(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes (hex), read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def check_url(url: str) -> str:
    """The URL stripped of surrounding blanks, or DownloadError if it is not an http(s) address."""
    if not isinstance(url, str) or not url.strip():
        raise DownloadError("No address given: paste a link that starts with http:// or https://.", url=url)
    url = url.strip()
    if any(c.isspace() for c in url) or any(ord(c) < 32 for c in url):
        raise DownloadError(f"{url!r} is not a web address (it contains spaces).", url=url)
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise DownloadError(f"{url!r} is not a valid web address ({exc}).", url=url) from None
    if parts.scheme.lower() not in ("http", "https"):
        if parts.scheme:
            raise DownloadError(
                f"{url!r}: only http:// and https:// links can be downloaded, not {parts.scheme}:.", url=url)
        raise DownloadError(f"{url!r} is not a web address: it must start with http:// or https://.", url=url)
    if not host:
        raise DownloadError(f"{url!r} has no host name.", url=url)
    return url


def _unsmuggle(url: str) -> str:
    from yt_dlp.utils import unsmuggle_url

    return unsmuggle_url(url, {})[0]


def _is_cancelled(cancel) -> bool:
    if cancel is None:
        return False
    is_set = getattr(cancel, "is_set", None)
    return bool(is_set() if callable(is_set) else cancel())


class _YtdlLogger:
    """yt-dlp's messages go to a Python logger; the last error is kept for our own message."""

    def __init__(self):
        self.last_error: str | None = None

    def debug(self, msg: str) -> None:
        _ytdl_log.debug(msg)

    def info(self, msg: str) -> None:
        _ytdl_log.debug(msg)

    def warning(self, msg: str) -> None:
        if _ROUTINE_WARNINGS.search(msg):
            _ytdl_log.debug(msg)
        else:
            _ytdl_log.warning(msg)

    def error(self, msg: str) -> None:
        self.last_error = msg
        _ytdl_log.error(msg)


def _base_params(logger: _YtdlLogger) -> dict[str, Any]:
    """Options shared by listing and downloading: quiet, no console output, nothing but the URL
    itself is contacted (no config files, cookies, netrc, browser cookies or update checks: the
    Python API reads none of them unless asked), short timeouts, few retries."""
    return {
        "quiet": True,
        "no_warnings": False,  # warnings go to the logger, not the console
        "noprogress": True,
        "logger": logger,
        "color": {"stdout": "never", "stderr": "never"},
        "consoletitle": False,
        "noplaylist": False,
        "default_search": "error",  # never turn a non-URL into a web search
        "socket_timeout": SOCKET_TIMEOUT_S,
        "retries": RETRIES,
        "fragment_retries": RETRIES,
        "extractor_retries": 1,
        "file_access_retries": 1,
        "ignoreerrors": False,
        "usenetrc": False,
        "cookiefile": None,
        "cookiesfrombrowser": None,
        "enable_file_urls": False,
        "check_formats": None,
        "cachedir": False,
        "lazy_playlist": False,
    }


def _friendly(exc: BaseException, url: str, logger: _YtdlLogger | None = None) -> str:
    """A message for the user from a yt-dlp exception."""
    from yt_dlp.networking.exceptions import HTTPError, TransportError
    from yt_dlp.utils import ExtractorError, UnsupportedError

    cause = exc
    inner = getattr(exc, "exc_info", None)
    if inner and inner[1] is not None:
        cause = inner[1]
    seen = set()
    # Walk down .cause / __cause__ to the network error, if there is one.
    node: BaseException | None = cause
    http_error = transport_error = None
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        if isinstance(node, HTTPError) and http_error is None:
            http_error = node
        elif isinstance(node, TransportError) and transport_error is None:
            transport_error = node
        node = getattr(node, "cause", None) or node.__cause__ or node.__context__
        if not isinstance(node, BaseException):
            node = None
    if http_error is not None:
        reason = http_error.reason or ""
        status = http_error.status
        hint = {
            401: "it needs a login",
            403: "access is forbidden",
            404: "there is nothing at that address",
            410: "it has been removed",
            429: "too many requests, try again later",
        }.get(status, "the server refused it" if status < 500 else "the server failed")
        return f"Could not download {url}: the server answered HTTP {status} {reason} ({hint})."
    if transport_error is not None:
        return f"Could not reach {url}: {transport_error.msg or transport_error}."
    if isinstance(cause, UnsupportedError):
        return f"No video found at {url}: the site is not supported or the page holds no video."
    text = str(getattr(cause, "orig_msg", None) or cause) if isinstance(cause, ExtractorError) else str(exc)
    if logger is not None and logger.last_error and not text:
        text = logger.last_error
    text = re.sub(r"^(ERROR:\s*)+", "", text.strip())
    text = re.sub(r"\s*;\s*please report this issue.*$", "", text, flags=re.S | re.I)
    return f"Could not download {url}: {text or type(exc).__name__}"


# --------------------------------------------------------------------------- listing


def _extract(url: str, logger: _YtdlLogger) -> dict:
    """Flat extraction: a video's info, or a playlist whose entries are not resolved yet."""
    import yt_dlp

    params = {**_base_params(logger), "extract_flat": "in_playlist", "skip_download": True}
    with yt_dlp.YoutubeDL(params) as ydl:
        try:
            info = ydl.extract_info(url, download=False, process=True)
        except yt_dlp.utils.DownloadError as exc:
            raise DownloadError(_friendly(exc, url, logger), url=url) from None
        except Exception as exc:  # noqa: BLE001 - anything from an extractor becomes a clear error
            raise DownloadError(_friendly(exc, url, logger), url=url) from exc
    if not info:
        raise DownloadError(f"No video found at {url}.", url=url)
    return info


def _is_http(url) -> bool:
    return isinstance(url, str) and urllib.parse.urlsplit(url).scheme.lower() in ("http", "https")


def _flat_entries(info: dict) -> list[dict]:
    """The entries of a flat playlist (nested playlists stay entries: they expand on download)."""
    if info.get("_type") not in ("playlist", "multi_video"):
        return [info]
    return [e for e in (info.get("entries") or []) if e]


def _entry_source(entry: dict, playlist: dict, fallback_url: str) -> str:
    """The address of one playlist entry: its own page, or for a video embedded in the playlist's
    page (several <video> tags on one page) the media file itself."""
    if entry.get("_type") in ("url", "url_transparent"):
        return _unsmuggle(entry.get("url") or fallback_url)
    page = entry.get("webpage_url")
    media = entry.get("url")
    same_page = page in (None, playlist.get("webpage_url"), playlist.get("original_url"), fallback_url)
    if same_page and _is_http(media) and not entry.get("requested_formats"):
        return _unsmuggle(media)
    return _unsmuggle(page or fallback_url)


def _public_entry(entry: dict, playlist: dict, url: str) -> dict:
    is_playlist = playlist.get("_type") in ("playlist", "multi_video")
    return {
        "url": _entry_source(entry, playlist, url) if is_playlist else url,
        "title": entry.get("title") or entry.get("id") or "",
        "duration": entry.get("duration"),
    }


def _reprocessable(entry: dict) -> dict:
    """A playlist entry ready for the downloading YoutubeDL: URL results as they are; a video
    already processed during listing without its earlier format choice (as --load-info-json)."""
    if entry.get("_type") in ("url", "url_transparent", "playlist", "multi_video"):
        return dict(entry)
    import yt_dlp

    clean = yt_dlp.YoutubeDL.sanitize_info(entry, remove_private_keys=True)
    if clean.get("formats"):
        for key in yt_dlp.YoutubeDL._format_fields - {"http_headers"}:
            clean.pop(key, None)
    return clean


def expand(url: str) -> list[dict]:
    """The videos behind a URL without downloading them: a playlist's entries, or one entry for a
    single video. Each entry: {"url": str, "title": str, "duration": float | None}."""
    url = check_url(url)
    info = _extract(url, _YtdlLogger())
    return [_public_entry(e, info, url) for e in _flat_entries(info)]


# --------------------------------------------------------------------------- downloading


class _TooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(limit)
        self.limit = limit


class _Cancelled(Exception):
    """Raised inside yt-dlp's hooks; yt-dlp lets unknown exceptions through."""


class _Progress:
    """Turns yt-dlp's progress hooks into our progress dicts and checks the cancel flag."""

    def __init__(self, progress: Callable[[dict], Any] | None, cancel, max_bytes: int = MAX_DOWNLOAD_BYTES):
        self.progress = progress
        self.cancel = cancel
        self.max_bytes = int(max_bytes)
        self.index = 0
        self.count = 0
        self._last_emit = 0.0
        self._last_fraction = -1.0
        self._parts_done: set[str] = set()
        self._n_parts = 1

    def start_entry(self, index: int, count: int) -> None:
        self.index, self.count = index, count
        self.start_video({})

    def start_video(self, info: dict) -> None:
        """Called before each video's download with its full info (a nested playlist has several)."""
        self._last_fraction = -1.0
        self._parts_done = set()
        self._n_parts = max(len(info.get("requested_formats") or ()), 1)

    def check_cancel(self) -> None:
        if _is_cancelled(self.cancel):
            raise _Cancelled()

    def emit(self, status: str, filename: str = "", downloaded: int | None = None,
             total: int | None = None, fraction: float | None = None, force: bool = False) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if fraction is not None:
            fraction = max(fraction, self._last_fraction)  # never goes backwards within a video
        if not force and status == "downloading" and now - self._last_emit < _PROGRESS_INTERVAL_S:
            return
        self._last_emit = now
        if fraction is not None:
            self._last_fraction = fraction
        self.progress({
            "index": self.index,
            "count": self.count,
            "filename": filename,
            "downloaded_bytes": downloaded,
            "total_bytes": total,
            "fraction": fraction,
            "status": status,
        })

    def hook(self, d: dict) -> None:
        """yt-dlp progress hook (status downloading / finished / error)."""
        self.check_cancel()
        status = d.get("status")
        info = d.get("info_dict") or {}
        filename = os.path.basename(d.get("filename") or d.get("tmpfilename") or "")
        downloaded = d.get("downloaded_bytes")
        total = d.get("total_bytes") or d.get("total_bytes_estimate")
        if status == "downloading" and max(downloaded or 0, d.get("total_bytes") or 0) > self.max_bytes:
            raise _TooLarge(self.max_bytes)  # at once: the rest is never fetched
        # Video and audio downloaded separately count as equal parts of one video.
        n_parts = self._n_parts
        done = len(self._parts_done)
        if status == "downloading":
            part = total and downloaded is not None and min(downloaded / total, 1.0)
            fraction = (done + (part or 0.0)) / n_parts if total else None
            self.emit("downloading", filename, downloaded, total, fraction)
        elif status == "finished":
            self._parts_done.add(info.get("format_id") or filename)
            fraction = min(len(self._parts_done) / n_parts, 1.0)
            # Not 1.0 until the file is checked; "finished" is sent once the video is in place.
            self.emit("downloading", filename, downloaded or total, total, min(fraction, 0.999), force=True)

    def pp_hook(self, d: dict) -> None:
        """yt-dlp post-processor hook (merging formats with ffmpeg, moving files)."""
        self.check_cancel()
        if d.get("status") == "started" and d.get("postprocessor") not in ("MoveFiles", "Collect", "Announce"):
            name = os.path.basename((d.get("info_dict") or {}).get("filepath") or "")
            self.emit("processing", name, None, None, None, force=True)


def _make_postprocessors(tracker: _Progress):
    """Two yt-dlp post-processors: one tells the tracker how many parts (video, audio) a video
    is downloaded in, before its download; one records each file once it is in its final place."""
    from yt_dlp.postprocessor import PostProcessor

    class AnnouncePP(PostProcessor):
        def run(self, info):
            tracker.start_video(info)
            return [], info

    class CollectPP(PostProcessor):
        def __init__(self, downloader=None):
            super().__init__(downloader)
            self.files: list[tuple[str, dict]] = []

        def run(self, info):
            # A copy: yt-dlp goes on changing the dict after this post-processor.
            self.files.append((info.get("filepath") or info.get("_filename"), {
                "title": info.get("title"), "webpage_url": info.get("webpage_url")}))
            return [], info

    return AnnouncePP(), CollectPP()


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _safe_stem(title: str) -> str:
    from yt_dlp.utils import sanitize_filename

    stem = sanitize_filename(title or "video", restricted=True) or "video"
    stem = stem.strip("._-") or "video"
    return stem.encode("ascii", "ignore")[:_MAX_NAME_BYTES].decode("ascii").rstrip("._-") or "video"


def _claim(dest_dir: Path, stem: str, suffix: str, source: Path) -> Path:
    """Move `source` to dest_dir/stem[-n]suffix without ever replacing an existing file."""
    for n in range(10_000):
        target = dest_dir / (f"{stem}{suffix}" if n == 0 else f"{stem}-{n}{suffix}")
        if not _inside(target, dest_dir):
            raise DownloadError(f"Refusing to write outside {dest_dir}: {target}")
        try:
            os.link(source, target)  # atomic: fails if the name is taken
        except FileExistsError:
            continue
        except OSError:  # no hard links on this filesystem
            if target.exists():
                continue
            shutil.move(os.fspath(source), os.fspath(target))
            return target
        source.unlink()
        return target
    raise DownloadError(f"No free file name for {stem}{suffix} in {dest_dir}")


def _check_video(path: Path, url: str) -> None:
    from core.media.video import VideoError, probe

    try:
        probe(path)
    except VideoError as exc:
        why = str(exc).replace(os.fspath(path), path.name)  # the work folder is about to go
        raise DownloadError(f"{url} did not give a video: {why}", url=url) from None
    except Exception as exc:  # noqa: BLE001 - a file the prober chokes on is not a usable video
        why = str(exc).replace(os.fspath(path), path.name)
        raise DownloadError(f"{url} did not give a readable video ({type(exc).__name__}: {why}).", url=url) from None


def _download_entry(entry: dict | None, source_url: str, dest_dir: Path, fmt: str,
                    tracker: _Progress) -> list[Downloaded]:
    """Download one playlist entry (a video, or a URL result that may itself be a playlist), or
    with entry None the video at source_url, into a private folder; check each file and move it
    into dest_dir."""
    import imageio_ffmpeg
    import yt_dlp

    logger = _YtdlLogger()
    skipped: list[str] = []

    def refuse_live(info: dict, *, incomplete: bool = False) -> str | None:
        if info.get("is_live") or info.get("live_status") in ("is_live", "is_upcoming", "post_live"):
            reason = f"{info.get('title') or info.get('id') or 'it'} is a live stream, not a recorded video"
            skipped.append(reason)
            return reason
        return None

    work = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=dest_dir))
    try:
        params = {
            **_base_params(logger),
            "format": fmt,
            "merge_output_format": "mp4",
            "ffmpeg_location": imageio_ffmpeg.get_ffmpeg_exe(),
            "paths": {"home": os.fspath(work), "temp": os.fspath(work)},
            "outtmpl": {"default": f"%(title).{_MAX_NAME_BYTES}B-%(id).40B.%(ext)s"},
            "restrictfilenames": True,
            "windowsfilenames": True,
            "trim_file_name": 150,
            "overwrites": True,
            "continuedl": False,
            "updatetime": False,
            "writethumbnail": False,
            "writesubtitles": False,
            # yt-dlp's own downloaders only (no external programs fed with URLs from a page),
            # and no live streams: they never end.
            "external_downloader": {"default": "native"},
            "hls_prefer_native": True,
            "match_filter": refuse_live,
            "progress_hooks": [tracker.hook],
            "postprocessor_hooks": [tracker.pp_hook],
        }
        with yt_dlp.YoutubeDL(params) as ydl:
            announce, collector = _make_postprocessors(tracker)
            ydl.add_post_processor(announce, when="before_dl")
            ydl.add_post_processor(collector, when="after_move")
            try:
                if entry is None:
                    ydl.extract_info(source_url, download=True)
                else:
                    ydl.process_ie_result(_reprocessable(entry), download=True)
            except _Cancelled:
                raise
            except _TooLarge as exc:
                raise DownloadError(f"{source_url} is larger than the {exc.limit / 1024**2:.0f} MB download limit "
                                    "(WORKBENCH_MAX_DOWNLOAD_MB); nothing was kept.", url=source_url) from None
            except yt_dlp.utils.DownloadError as exc:
                raise DownloadError(_friendly(exc, source_url, logger), url=source_url) from None
            except DownloadError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise DownloadError(_friendly(exc, source_url, logger), url=source_url) from exc
        tracker.check_cancel()
        if not collector.files:
            why = f": {'; '.join(skipped)}" if skipped else ""
            raise DownloadError(f"Nothing was downloaded from {source_url}{why}.", url=source_url)

        checked: list[tuple[Path, str, str]] = []
        for filepath, info in collector.files:  # every file is checked before any is moved
            path = Path(filepath or "")
            if not filepath or not path.is_file() or not _inside(path, work):
                raise DownloadError(f"yt-dlp wrote an unexpected file for {source_url}: {filepath}",
                                    url=source_url)
            item_url = source_url
            if len(collector.files) > 1:  # a nested playlist: each video has its own page
                item_url = _unsmuggle(info.get("webpage_url") or source_url)
            _check_video(path, item_url)
            title = info.get("title") or (entry or {}).get("title") or path.stem
            checked.append((path, item_url, title))
        return [Downloaded(path=_claim(dest_dir, _safe_stem(title), path.suffix.lower() or ".mp4", path),
                           source_url=item_url, title=title)
                for path, item_url, title in checked]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def download(url: str, dest_dir: str | os.PathLike, progress: Callable[[dict], Any] | None = None,
             cancel: threading.Event | Callable[[], bool] | None = None,
             fmt: str = DEFAULT_FORMAT, max_bytes: int | None = None) -> list[Downloaded]:
    """Download the video at `url`, or every video of a playlist, into `dest_dir`.

    progress(dict) is called often with keys index (1-based), count, filename, downloaded_bytes,
    total_bytes (None if unknown), fraction (0..1 for the current video, None if unknown) and
    status ("downloading", "processing", "finished"). `cancel` is a threading.Event or a callable
    returning True to stop: DownloadCancelled is raised and partial files are deleted. A video larger
    than `max_bytes` (default MAX_DOWNLOAD_BYTES) is stopped as soon as that shows (its announced
    size, or the bytes so far) and refused with DownloadError.
    """
    url = check_url(url)
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest_dir = dest_dir.resolve()
    tracker = _Progress(progress, cancel, MAX_DOWNLOAD_BYTES if max_bytes is None else max_bytes)
    done: list[Downloaded] = []
    failures: list[tuple[str, str]] = []

    def cancelled() -> DownloadCancelled:
        return DownloadCancelled(
            f"Download of {url} cancelled" + (f" after {len(done)} video(s)." if done else "."),
            url=url, downloaded=done, failures=failures)

    try:
        tracker.check_cancel()
        info = _extract(url, _YtdlLogger())
        tracker.check_cancel()
    except _Cancelled:
        raise cancelled() from None

    is_playlist = info.get("_type") in ("playlist", "multi_video")
    entries = _flat_entries(info)
    if is_playlist and not entries:
        raise DownloadError(f"The playlist at {url} has no videos.", url=url)

    for i, entry in enumerate(entries, start=1):
        entry_url = _entry_source(entry, info, url) if is_playlist else url
        tracker.start_entry(i, len(entries))
        try:
            tracker.check_cancel()
            if is_playlist:
                check_url(entry_url)  # a feed must not point at file:// or other schemes
            tracker.emit("downloading", "", 0, None, 0.0, force=True)
            # A single video is extracted afresh for the download (one more request, but no
            # state carried over from the listing pass).
            got = _download_entry(entry if is_playlist else None, entry_url, dest_dir, fmt, tracker)
        except _Cancelled:
            raise cancelled() from None
        except DownloadError as exc:
            if not is_playlist:
                raise
            log.warning("playlist entry %d/%d failed: %s", i, len(entries), exc)
            failures.append((entry_url, str(exc)))
            continue
        for d in got:
            size = d.path.stat().st_size
            tracker.emit("finished", d.path.name, size, size, 1.0, force=True)
        done.extend(got)

    if failures:
        lines = "\n".join(f"- {u}: {m}" for u, m in failures)
        raise DownloadError(
            f"{len(failures)} of {len(entries)} videos from {url} could not be downloaded "
            f"({len(done)} arrived):\n{lines}", url=url, downloaded=done, failures=failures)
    return done
