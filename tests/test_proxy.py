"""Labeling proxies: long-GOP videos get a verified short-GOP copy; frames keep the source's numbers."""
import json

import numpy as np
import pytest

from core.base.workspace import Workspace
from core.media import library, proxy
from core.media.frame_server import FrameServer, display_size
from core.media.video import VideoReader
from tests.videotools import lavfi_video


def psnr(a, b) -> float:
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


@pytest.fixture
def long_gop(tmp_path):
    """A workspace with one 1280x720 video of 60 frames and a single keyframe (GOP 60 > LONG_GOP)."""
    src = lavfi_video(tmp_path / "phone video.mp4", "-c:v", "libx264", "-preset", "ultrafast", "-g", "250",
                      "-pix_fmt", "yuv420p", seconds=2.4, size="1280x720", rate=25)
    ws = Workspace(tmp_path / "ws")
    added = library.add_file(ws, src)
    proxy.wait(120)
    return ws, ws.store().video(added.video_id)


def test_a_long_gop_video_gets_a_verified_proxy_at_add_time(long_gop):
    ws, video = long_gop
    path = ws.absolute(video["path"])
    made = proxy.verified(path, display_size(1280, 720))
    assert made is not None, proxy.failed(path)
    assert (made.frames, made.proxy_width, made.proxy_height, made.gop) == (60, 960, 540, proxy.GOP)
    assert made.source_gop == 60 and made.psnr_min >= proxy.PSNR_FLOOR
    assert ws.cache_dir in proxy.paths(path)[0].parents
    with VideoReader(made.proxy) as r:
        assert len(r) == 60 and max(np.diff(r.keyframes + [60])) <= proxy.GOP


def test_the_frame_server_serves_the_proxy_with_the_source_frame_numbers(long_gop):
    ws, video = long_gop
    path = ws.absolute(video["path"])
    fast, plain = FrameServer(path), FrameServer(path, proxy=False)
    assert fast.proxy is not None and plain.proxy is None
    assert (fast.frames, fast.width, fast.height, fast.size) == (plain.frames, 1280, 720, (960, 540))
    import cv2

    def rgb(jpeg):
        return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)

    for i in (0, 7, 8, 31, 59, 30, 3):  # random order: seeks on the proxy
        a = rgb(fast.jpeg(i))
        assert psnr(a, rgb(plain.jpeg(i))) > 30
        for j in (i - 1, i + 1):  # the same picture, not a neighbour
            if 0 <= j < 60:
                assert psnr(a, rgb(plain.jpeg(i))) > psnr(a, rgb(plain.jpeg(j))) + 3
    fast.close(), plain.close()


def test_a_proxy_that_does_not_verify_is_not_used_and_not_retried(long_gop, monkeypatch):
    ws, video = long_gop
    path = ws.absolute(video["path"])
    proxy.remove(path)
    with pytest.raises(proxy.ProxyError, match="PSNR"):
        proxy.make_proxy(path, (960, 540), psnr_floor=99.0)
    assert not proxy.paths(path)[0].exists() and proxy.verified(path) is None
    assert "PSNR" in proxy.failed(path)
    assert proxy.start(path, (960, 540)) is None  # failed for this very file: not again
    server = FrameServer(path)
    assert server.proxy is None and server.jpeg(5)  # the source is served
    server.close()


def test_a_changed_source_or_a_short_gop_has_no_proxy(long_gop, tmp_path):
    ws, video = long_gop
    path = ws.absolute(video["path"])
    assert proxy.verified(path) is not None
    verdict = proxy.paths(path)[1]
    data = json.loads(verdict.read_text())
    data["source_bytes"] += 1
    verdict.write_text(json.dumps(data))
    assert proxy.verified(path) is None
    short = lavfi_video(tmp_path / "short.mp4", "-c:v", "libx264", "-preset", "ultrafast", "-g", "10",
                        "-pix_fmt", "yuv420p", seconds=2, size="320x240")
    assert proxy.needs_proxy(short) == (False, 10)
    assert proxy.start(short, (320, 240)) is None  # outside a workspace: never
    added = library.add_file(ws, short)
    proxy.wait(60)
    assert proxy.verified(ws.absolute(ws.store().video(added.video_id)["path"])) is None
    library.delete_video(ws, video["id"])
    assert not proxy.paths(path)[0].exists()


def test_a_server_opened_before_the_proxy_exists_switches_to_it_when_verified(long_gop):
    import time

    ws, video = long_gop
    path = ws.absolute(video["path"])
    proxy.remove(path)
    server = FrameServer(path)  # no proxy: serves the source, starts making one
    assert server.proxy is None and server.jpeg(10)
    proxy.wait(120)
    time.sleep(1.1)  # the server looks again at most once a second
    server.jpeg(45)  # not cached: decoded, after a look for the proxy
    assert server.proxy is not None and server.frames == 60
    server.close()
