"""Frames for the Label page: exact frames by index, JPEG-encoded, cached, prefetched, packed."""
import threading

import cv2
import numpy as np
import pytest

from core.media.frame_server import FrameServer, display_size, encode_jpeg, pack, unpack, window
from core.media.video import FrameIndexError, VideoReader

SMALL = "kbtrainer__front_squat_.mp4"  # 270x480, 312 frames
HD = "myoxyn__push_ups.mp4"  # 1280x720, 303 frames


def rgb_of(jpeg: bytes) -> np.ndarray:
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def test_display_size_scales_down_only_and_keeps_the_shape():
    assert display_size(1280, 720) == (960, 540)
    assert display_size(270, 480) == (270, 480)
    assert display_size(1080, 1920) == (304, 540)
    assert display_size(3840, 2160) == (960, 540)


def test_window_order_and_clipping():
    assert window(5, 100, 3, 2) == [5, 6, 7, 8, 4, 3]
    assert window(1, 4, 5, 5) == [1, 2, 3, 0]


def test_pack_round_trips():
    meta = {"video": {"id": 3}, "reps": [[1, 2, 0, "k", 0]], "text": "é–"}
    frames = {10: b"\xff\xd8abc", 11: b"", 2: b"xyz"}
    assert unpack(pack(meta, frames)) == (meta, frames)
    assert unpack(pack(meta, {})) == (meta, {})
    with pytest.raises(ValueError):
        unpack(b"nope")


def test_frames_are_the_exact_frames_by_index(real_videos):
    server = FrameServer(real_videos / SMALL)
    assert (server.frames, server.size) == (312, (270, 480))
    with VideoReader(real_videos / SMALL) as r:
        for i in (0, 1, 155, 311):
            shown = rgb_of(server.jpeg(i)).astype(int)
            err = np.abs(shown - r.frame(i)).mean()
            assert err < 4
            assert err < np.abs(shown - r.frame(min(311, i + 15) if i < 300 else i - 15)).mean()
    with pytest.raises(FrameIndexError):
        server.jpeg(312)
    assert server.uri(0).startswith("data:image/jpeg;base64,")


def test_scaled_frames_of_a_720p_video(real_videos):
    server = FrameServer(real_videos / HD)
    assert server.size == (960, 540)
    with VideoReader(real_videos / HD) as r:
        truth = cv2.resize(r.frame(100), (960, 540), interpolation=cv2.INTER_AREA)
    assert np.abs(rgb_of(server.jpeg(100)).astype(int) - truth).mean() < 4


def test_frames_for_serves_cached_first_and_always_the_first_wanted(real_videos):
    server = FrameServer(real_videos / SMALL)
    server.jpeg(50)
    got = server.frames_for([200, 50, 201], budget_s=0.0)
    assert 200 in got and 50 in got  # the first wanted is decoded even with no time left; cached ones come free
    got = server.frames_for(range(0, 40), budget_s=5)
    assert sorted(got) == list(range(40))
    assert server.frames_for([-1, 400]) == {}


def test_prefetch_fills_the_cache_in_the_background(real_videos):
    server = FrameServer(real_videos / SMALL)
    server.prefetch(window(100, server.frames, 30, 10))
    assert server.idle(30)
    assert all(server.cached(i) is not None for i in range(90, 131))
    decoded = server.decoded
    server.frames_for(range(95, 125))
    assert server.decoded == decoded  # all from the cache


def test_concurrent_requests_and_prefetch_give_the_same_bytes(real_videos):
    reference = FrameServer(real_videos / SMALL)
    expected = {i: reference.jpeg(i) for i in range(0, 120)}
    server = FrameServer(real_videos / SMALL)
    results, errors = {}, []

    def ask(indices):
        try:
            for i in indices:
                results[i] = server.jpeg(i)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    server.prefetch(range(0, 120))
    threads = [threading.Thread(target=ask, args=(range(k, 120, 3),)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert server.idle(30)
    assert results == expected
    assert all(server.cached(i) == expected[i] for i in range(120))


def test_encode_jpeg_keeps_colours():
    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[..., 0] = 200  # red
    back = rgb_of(encode_jpeg(rgb, (32, 32)))
    assert back.shape == (32, 32, 3) and back[..., 0].mean() > 180 and back[..., 2].mean() < 20
