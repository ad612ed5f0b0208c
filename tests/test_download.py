"""core.media.download against a local HTTP server on 127.0.0.1 (no internet): direct links, feeds,
HTML pages with <video> tags, errors, cancellation, file placement and hashing."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import threading
from pathlib import Path

import av
import imageio_ffmpeg
import pytest

try:
    from tests.httpserver import serve_directory
except ImportError:  # tests/ itself on sys.path
    from httpserver import serve_directory

from core.media import download as dl
from core.media.download import DownloadCancelled, DownloadError, Downloaded, content_hash, download, expand


# --------------------------------------------------------------------------- fixtures


def _make_mp4(path: Path, seconds: float, size: str = "320x240", rate: int = 30, audio: bool = False) -> Path:
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y",
           "-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac", "-shortest"]
    cmd += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast", "-movflags", "+faststart",
            os.fspath(path)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return path


def _count_frames(path: Path) -> int:
    with av.open(os.fspath(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A served folder: two short mp4s, a large random 'mp4', non-videos, a feed and HTML pages."""
    root = tmp_path_factory.mktemp("site")
    _make_mp4(root / "clip.mp4", 2)                       # 60 frames
    _make_mp4(root / "short.mp4", 1, audio=True)           # 30 frames, with an audio track
    (root / "big.mp4").write_bytes(os.urandom(4 * 1024 * 1024))
    (root / "dash").mkdir()  # video and audio as separate DASH streams: yt-dlp merges them with ffmpeg
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", os.fspath(root / "short.mp4"),
                    "-map", "0:v", "-map", "0:a", "-c", "copy", "-f", "dash", "-seg_duration", "0.5",
                    os.fspath(root / "dash" / "manifest.mpd")], check=True, capture_output=True, timeout=60)
    (root / "hls").mkdir()  # an HLS stream, and the same without its end marker: a live stream
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", os.fspath(root / "short.mp4"),
                    "-c", "copy", "-f", "hls", "-hls_time", "0.5", "-hls_list_size", "0",
                    "-hls_playlist_type", "vod", os.fspath(root / "hls" / "vod.m3u8")],
                   check=True, capture_output=True, timeout=60)
    vod = (root / "hls" / "vod.m3u8").read_text().splitlines()
    (root / "hls" / "live.m3u8").write_text(
        "\n".join(line for line in vod if "ENDLIST" not in line and "PLAYLIST-TYPE" not in line) + "\n")
    (root / "fake.mp4").write_text("this is plain text, not a video\n" * 50)
    (root / "notes.txt").write_text("just some notes\n" * 50)
    (root / "page.html").write_text("<html><head><title>No video here</title></head><body>hi</body></html>")
    (root / "videos.html").write_text(
        "<html><head><title>Two clips</title></head><body>"
        '<video controls><source src="clip.mp4" type="video/mp4"></video>'
        '<video controls><source src="short.mp4" type="video/mp4"></video>'
        "</body></html>")
    with serve_directory(root) as server:
        server.root = root
        (root / "feed.rss").write_text(_rss(server, [
            ("First clip", "clip.mp4"), ("Second clip", "short.mp4")]))
        (root / "partly-broken.rss").write_text(_rss(server, [
            ("Good clip", "clip.mp4"), ("Missing clip", "missing.mp4")]))
        (root / "evil.rss").write_text(_rss(server, [("../../../etc/evil name", "clip.mp4")]))
        (root / "nested.rss").write_text(_rss(server, [("Inner feed", "feed.rss"), ("Third", "clip.mp4")]))
        (root / "local-file.rss").write_text(_rss(server, [("Local", "file:///etc/passwd")]))
        yield server


def _rss(server, items) -> str:
    body = "".join(
        f"<item><title>{title}</title><guid>item-{i}</guid>"
        f'<enclosure url="{name if ":" in name else server.url(name)}" type="video/mp4" length="1"/></item>'
        for i, (title, name) in enumerate(items))
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Test feed</title><link>{server.base}</link><description>clips</description>"
            f"{body}</channel></rss>")


@pytest.fixture
def dest(tmp_path) -> Path:
    d = tmp_path / "videos"
    d.mkdir()
    return d


# --------------------------------------------------------------------------- direct links


def test_direct_mp4_lands_in_dest_with_progress(site, dest):
    events = []
    got = download(site.url("clip.mp4"), dest, progress=events.append)
    assert len(got) == 1
    d = got[0]
    assert isinstance(d, Downloaded)
    assert d.path.parent == dest.resolve() and d.path.is_file()
    assert d.path.suffix == ".mp4"
    assert d.source_url == site.url("clip.mp4")
    assert d.title == "clip"
    assert _count_frames(d.path) == 60
    assert content_hash(d.path) == content_hash(site.root / "clip.mp4")
    assert _leftovers(dest) == [d.path.name]  # no .part, .ytdl or work folders

    assert events, "progress never called"
    assert set(events[0]) == {"index", "count", "filename", "downloaded_bytes", "total_bytes", "fraction", "status"}
    assert all(e["index"] == 1 and e["count"] == 1 for e in events)
    fractions = [e["fraction"] for e in events if e["fraction"] is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert events[-1]["status"] == "finished" and events[-1]["filename"] == d.path.name
    assert events[-1]["downloaded_bytes"] == events[-1]["total_bytes"] == d.path.stat().st_size


def test_with_audio_and_same_name_twice_never_overwrites(site, dest):
    first = download(site.url("short.mp4"), dest)[0]
    (dest / "keep-me.txt").write_text("unrelated")
    second = download(site.url("short.mp4"), dest)[0]
    assert first.path != second.path
    assert second.path.name == "short-1.mp4"
    assert content_hash(first.path) == content_hash(second.path)
    assert _count_frames(second.path) == 30
    with av.open(os.fspath(second.path)) as c:
        assert c.streams.audio, "audio track kept"
    assert _leftovers(dest) == sorted(["keep-me.txt", "short.mp4", "short-1.mp4"])


def test_separate_video_and_audio_are_merged_to_mp4(site, dest):
    events = []
    got = download(site.url("dash/manifest.mpd"), dest, progress=events.append)
    assert len(got) == 1 and got[0].path.suffix == ".mp4"
    assert _count_frames(got[0].path) == 30
    with av.open(os.fspath(got[0].path)) as c:
        assert c.streams.video and c.streams.audio
    assert _leftovers(dest) == [got[0].path.name]  # the .f0.mp4 / .f1.m4a parts are gone
    fractions = [e["fraction"] for e in events if e["fraction"] is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(0 < f < 1 for f in fractions)
    assert "processing" in {e["status"] for e in events}  # the ffmpeg merge


def test_hls_stream_is_downloaded_as_mp4(site, dest):
    got = download(site.url("hls/vod.m3u8"), dest)
    assert len(got) == 1 and got[0].path.suffix == ".mp4"
    assert _count_frames(got[0].path) == 30
    assert _leftovers(dest) == [got[0].path.name]


def test_live_stream_is_refused(site, dest):
    with pytest.raises(DownloadError, match="live stream"):
        download(site.url("hls/live.m3u8"), dest)
    assert _leftovers(dest) == []


def test_redirect_is_followed(site, dest):
    got = download(site.redirect(site.url("clip.mp4"), "hop"), dest)
    assert len(got) == 1 and _count_frames(got[0].path) == 60


def test_redirect_to_local_file_is_refused(site, dest):
    with pytest.raises(DownloadError, match="file:"):
        download(site.redirect("file:///etc/passwd", "passwd.mp4"), dest)
    assert _leftovers(dest) == []


def test_404_is_a_download_error(site, dest):
    with pytest.raises(DownloadError, match="404"):
        download(site.url("missing.mp4"), dest)
    assert _leftovers(dest) == []


@pytest.mark.parametrize("name", ["fake.mp4", "notes.txt"])
def test_non_video_file_is_refused_and_deleted(site, dest, name):
    with pytest.raises(DownloadError, match="did not give a (readable )?video") as info:
        download(site.url(name), dest)
    assert not isinstance(info.value, DownloadCancelled)
    assert _leftovers(dest) == []


def test_page_without_video_is_unsupported(site, dest):
    with pytest.raises(DownloadError, match="No video found"):
        download(site.url("page.html"), dest)
    with pytest.raises(DownloadError, match="No video found"):
        expand(site.url("page.html"))
    assert _leftovers(dest) == []


def test_unreachable_host(dest):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match="Could not reach"):
        download(f"http://127.0.0.1:{port}/clip.mp4", dest)
    assert _leftovers(dest) == []


@pytest.mark.parametrize("url", [
    "not a url", "", "   ", "file:///etc/passwd", "FILE:///etc/passwd", "ftp://127.0.0.1/x.mp4",
    "javascript:alert(1)", "data:video/mp4;base64,AAAA", "http://", "https:///nohost.mp4",
    "127.0.0.1/clip.mp4", "http://127.0.0.1:99999/x.mp4", "ytsearch:crossfit thruster",
])
def test_malformed_or_non_http_urls_are_refused(dest, url, monkeypatch):
    import yt_dlp

    def boom(*a, **k):
        raise AssertionError("yt-dlp must not be started for a refused URL")

    monkeypatch.setattr(yt_dlp, "YoutubeDL", boom)
    with pytest.raises(DownloadError):
        download(url, dest)
    with pytest.raises(DownloadError):
        expand(url)
    assert _leftovers(dest) == []


# --------------------------------------------------------------------------- cancel


def test_cancel_during_download_leaves_nothing(site, dest):
    cancel = threading.Event()
    seen = []

    def progress(e):
        seen.append(e)
        if (e["downloaded_bytes"] or 0) > 64 * 1024:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="cancelled"):
        download(site.url("big.mp4", slow=True), dest, progress=progress, cancel=cancel)
    assert cancel.is_set()
    assert max(e["downloaded_bytes"] or 0 for e in seen) < (site.root / "big.mp4").stat().st_size
    assert _leftovers(dest) == []


def test_cancel_callable_before_start_makes_no_request(site, dest):
    before = len(site.requests)
    with pytest.raises(DownloadCancelled):
        download(site.url("clip.mp4"), dest, cancel=lambda: True)
    assert len(site.requests) == before
    assert _leftovers(dest) == []


def test_cancel_between_playlist_entries_keeps_finished_ones(site, dest):
    cancel = threading.Event()

    def progress(e):
        if e["status"] == "finished":
            cancel.set()

    with pytest.raises(DownloadCancelled) as info:
        download(site.url("feed.rss"), dest, progress=progress, cancel=cancel)
    kept = info.value.downloaded
    assert [d.title for d in kept] == ["First clip"]
    assert _leftovers(dest) == [kept[0].path.name]


# --------------------------------------------------------------------------- playlists


def test_rss_feed_expands_to_its_entries(site):
    entries = expand(site.url("feed.rss"))
    assert [e["title"] for e in entries] == ["First clip", "Second clip"]
    assert [e["url"] for e in entries] == [site.url("clip.mp4"), site.url("short.mp4")]
    assert all(set(e) >= {"url", "title"} for e in entries)


def test_single_video_expands_to_one_entry(site):
    before = len(site.requests)
    entries = expand(site.url("clip.mp4"))
    assert entries == [{"url": site.url("clip.mp4"), "title": "clip", "duration": None}]
    assert len(site.requests) - before == 1  # one look, no download
    assert expand(site.url("dash/manifest.mpd"))[0]["url"] == site.url("dash/manifest.mpd")


def test_rss_feed_downloads_every_entry(site, dest):
    events = []
    got = download(site.url("feed.rss"), dest, progress=events.append)
    assert [d.title for d in got] == ["First clip", "Second clip"]
    assert [d.source_url for d in got] == [site.url("clip.mp4"), site.url("short.mp4")]
    assert [_count_frames(d.path) for d in got] == [60, 30]
    assert [d.path.name for d in got] == ["First_clip.mp4", "Second_clip.mp4"]
    assert _leftovers(dest) == sorted(d.path.name for d in got)
    assert {(e["index"], e["count"]) for e in events} == {(1, 2), (2, 2)}
    for index in (1, 2):
        fr = [e["fraction"] for e in events if e["index"] == index and e["fraction"] is not None]
        assert fr == sorted(fr) and fr[-1] == 1.0


def test_feed_inside_a_feed_downloads_its_videos(site, dest):
    assert [e["title"] for e in expand(site.url("nested.rss"))] == ["Inner feed", "Third"]
    events = []
    got = download(site.url("nested.rss"), dest, progress=events.append)
    assert [d.title for d in got] == ["First clip", "Second clip", "Third"]
    assert [d.source_url for d in got] == [site.url("clip.mp4"), site.url("short.mp4"), site.url("clip.mp4")]
    assert [_count_frames(d.path) for d in got] == [60, 30, 60]
    assert {e["count"] for e in events} == {2}  # counted in entries of the outer feed
    assert _leftovers(dest) == sorted(d.path.name for d in got)


def test_html_page_with_video_tags_is_a_playlist(site, dest):
    entries = expand(site.url("videos.html"))
    assert [e["url"] for e in entries] == [site.url("clip.mp4"), site.url("short.mp4")]
    assert all(e["title"].startswith("Two clips") for e in entries)
    got = download(site.url("videos.html"), dest)
    assert [d.source_url for d in got] == [site.url("clip.mp4"), site.url("short.mp4")]
    assert [_count_frames(d.path) for d in got] == [60, 30]
    assert len(_leftovers(dest)) == 2


def test_playlist_with_a_broken_entry_keeps_the_good_one(site, dest):
    with pytest.raises(DownloadError, match="1 of 2 videos") as info:
        download(site.url("partly-broken.rss"), dest)
    err = info.value
    assert [d.title for d in err.downloaded] == ["Good clip"]
    assert [u for u, _ in err.failures] == [site.url("missing.mp4")]
    assert "404" in err.failures[0][1]
    assert _leftovers(dest) == [err.downloaded[0].path.name]


def test_feed_pointing_at_local_file_is_refused(site, dest):
    with pytest.raises(DownloadError) as info:
        download(site.url("local-file.rss"), dest)
    assert info.value.failures and "file" in info.value.failures[0][1]
    assert _leftovers(dest) == []


def test_hostile_title_stays_inside_dest(site, dest, tmp_path):
    got = download(site.url("evil.rss"), dest)
    assert len(got) == 1
    path = got[0].path
    assert path.parent == dest.resolve()
    assert "/" not in path.name and not path.name.startswith(".")
    assert got[0].title == "../../../etc/evil name"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [path.name]


# --------------------------------------------------------------------------- options and hashing


def test_options_are_quiet_and_local(monkeypatch, site, dest):
    import yt_dlp

    seen = []
    real = yt_dlp.YoutubeDL

    def spy(params=None, *a, **k):
        seen.append(dict(params or {}))
        return real(params, *a, **k)

    monkeypatch.setattr(yt_dlp, "YoutubeDL", spy)
    download(site.url("clip.mp4"), dest)
    assert seen
    for p in seen:
        assert p["quiet"] and p["noprogress"] and p["logger"] is not None
        assert p["noplaylist"] is False and p["default_search"] == "error"
        assert not p.get("cookiesfrombrowser") and not p.get("cookiefile") and not p.get("usenetrc")
        assert not p.get("enable_file_urls")
        assert p["socket_timeout"] <= 30 and p["retries"] <= 3
    dl_params = seen[-1]
    assert dl_params["format"] == dl.DEFAULT_FORMAT
    assert dl_params["merge_output_format"] == "mp4"
    assert dl_params["ffmpeg_location"] == imageio_ffmpeg.get_ffmpeg_exe()
    assert dl_params["restrictfilenames"] is True


def test_default_format_prefers_h264_mp4_at_480p():
    import yt_dlp

    def fmt(fid, h, ext, vcodec, acodec="none"):
        return {"format_id": fid, "url": f"http://127.0.0.1/{fid}", "height": h, "width": h * 16 // 9,
                "ext": ext, "vcodec": vcodec, "acodec": acodec, "tbr": h}

    def pick(formats):
        info = {"id": "x", "title": "x", "extractor": "test", "extractor_key": "Test",
                "webpage_url": "http://127.0.0.1/x", "formats": formats}
        with yt_dlp.YoutubeDL({"quiet": True, "format": dl.DEFAULT_FORMAT, "logger": dl._YtdlLogger(),
                               "merge_output_format": "mp4",
                               "ffmpeg_location": imageio_ffmpeg.get_ffmpeg_exe()}) as ydl:
            return ydl.process_ie_result(info, download=False)["format_id"]

    site_like = [
        fmt("a-m4a", 0, "m4a", "none", "mp4a.40.2"), fmt("a-webm", 0, "webm", "none", "opus"),
        fmt("360-avc", 360, "mp4", "avc1.4d401e"), fmt("480-avc", 480, "mp4", "avc1.4d401f"),
        fmt("480-av1", 480, "mp4", "av01.0.04M.08"), fmt("480-vp9", 480, "webm", "vp9"),
        fmt("720-avc", 720, "mp4", "avc1.64001f"), fmt("1080-vp9", 1080, "webm", "vp9"),
        fmt("360-muxed", 360, "mp4", "avc1.42001E", "mp4a.40.2"),
    ]
    assert pick(site_like) == "480-avc+a-m4a"
    assert pick([fmt("360-muxed", 360, "mp4", "avc1.42001E", "mp4a.40.2"),
                 fmt("720-muxed", 720, "mp4", "avc1.64001f", "mp4a.40.2")]) == "360-muxed"
    only_big = [fmt("720-muxed", 720, "mp4", "avc1.64001f", "mp4a.40.2"),
                fmt("1080-muxed", 1080, "mp4", "avc1.640028", "mp4a.40.2")]
    assert pick(only_big) == "720-muxed"  # nothing at <= 480p: the smallest rather than failing
    unknown = [{"format_id": "mp4", "url": "http://127.0.0.1/x.mp4", "ext": "mp4"}]
    assert pick(unknown) == "mp4"  # a direct link: height unknown


def test_no_console_output(site, dest, capfd):
    download(site.url("clip.mp4"), dest)
    with pytest.raises(DownloadError):
        download(site.url("missing.mp4"), dest)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_content_hash_streams_the_file(tmp_path, monkeypatch):
    f = tmp_path / "x.bin"
    data = os.urandom(3 * (1 << 20) + 17)
    f.write_bytes(data)
    assert content_hash(f) == hashlib.sha256(data).hexdigest()
    assert content_hash(os.fspath(f)) == hashlib.sha256(data).hexdigest()


def test_a_download_over_the_size_limit_stops_early_and_keeps_nothing(site, dest):
    big = (site.root / "big.mp4").stat().st_size
    seen = []
    with pytest.raises(DownloadError, match="larger than the 1 MB download limit"):
        download(site.url("big.mp4", slow=True), dest, progress=seen.append, max_bytes=1024**2)
    assert max((e["downloaded_bytes"] or 0) for e in seen) < big / 2  # stopped, not fetched and then checked
    assert _leftovers(dest) == []
