"""core.media.video: exact frame counts, frame-exact random access, sampling/preprocessing, formats, errors."""
import csv
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from core.media.video import (FrameIndexError, VideoError, VideoReader, iter_frames, load_clip, motion_box,
                        preprocess, probe, read_frame, sample_indices)
from tests.videotools import (digest, ffmpeg, ffmpeg_decode_rgb, ffmpeg_frame_count,
                              lavfi_video, pattern, sequential_digests, write_video)

# Real videos with different structures -> how many leading frames to check (None: all):
# 720p with a junk packet before its first IDR and a sync-sample table a few frames off the real
# IDRs (stevewoz; its first 5 GOPs, to keep the 720p reference decode short), irregular pts
# (joelo), B-frames and 91-frame GOPs (divyansh), pts starting at 1024 and 250-frame GOPs
# (gobletSquats), no B-frames and a 24000/1001 rate (formfit__deadlift).
RANDOM_ACCESS_VIDEOS = {"stevewoz__skipping.mp4": 460, "joelo__situp.mp4": None,
                        "divyansh__pull_up.mp4": None, "kbtrainer__gobletSquats.mp4": None,
                        "formfit__deadlift.mp4": None}


def real_video_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() != ".csv")


def assert_frame_exact(path, indices=None, seed=1234, n_random=20, limit=None, cache_frames=256):
    """reader.frame(i) equals the plain sequential decode at i, bit for bit, over a random walk
    with backward jumps, steps across keyframes and the last frame (of the first `limit`)."""
    ref = sequential_digests(path, limit)
    with VideoReader(path, cache_frames=cache_frames) as reader:
        assert len(reader) == len(ref) or limit is not None
        if indices is None:
            rng = random.Random(seed)
            n = len(ref)
            indices = [rng.randrange(n) for _ in range(n_random)] + [n - 1, 0, n - 1]
            for k in [k for k in reader.keyframes if k < n][1:3]:  # step across GOPs both ways
                indices += [k - 1, k, k + 1, k, k - 1, k - 2]
            indices += [n - 2, n - 1] if n > 1 else []
        bad = [i for i in indices if 0 <= i < len(ref) and digest(reader.frame(i)) != ref[i]]
    assert not bad, f"{path}: frames differ from sequential decoding at {bad[:10]}"


# -- real videos --------------------------------------------------------------------------------

def test_probe_counts_equal_ffmpeg_for_every_real_video(real_videos):
    files = real_video_files(real_videos)
    assert files
    with ThreadPoolExecutor(2) as pool:  # ffmpeg runs beside our own decoding
        reference = {p: pool.submit(ffmpeg_frame_count, p) for p in files}
        ours = {p: probe(p) for p in files}
    wrong = {p.name: (ours[p].frames, reference[p].result()) for p in files
             if ours[p].frames != reference[p].result()}
    assert not wrong, f"probe frames vs ffmpeg: {wrong}"
    # The index made by the demuxer alone agrees with the decoded count.
    for p in files:
        with VideoReader(p, cache_frames=1) as reader:
            assert len(reader) == ours[p].frames, p.name
    # Size and rate agree with the collection's index.csv where it lists the file.
    rows = {}
    with open(real_videos / "index.csv", newline="") as f:
        for row in csv.DictReader(f):
            rows[row["file"]] = row
    for p in files:
        row, info = rows.get(p.name), ours[p]
        if row and row.get("width", "").isdigit() and row.get("height", "").isdigit():
            assert (info.width, info.height) == (int(row["width"]), int(row["height"])), p.name
            assert info.fps == pytest.approx(float(row["fps"]), rel=0.02), p.name
        assert info.duration_s == pytest.approx(info.frames / info.fps)


@pytest.mark.parametrize("name", RANDOM_ACCESS_VIDEOS)
def test_random_access_is_frame_exact_on_real_videos(real_videos, name):
    assert_frame_exact(real_videos / name, limit=RANDOM_ACCESS_VIDEOS[name])


def test_stepping_forward_never_seeks_and_back_is_cached(real_videos):
    path = real_videos / "joelo__situp.mp4"
    with VideoReader(path) as reader:
        seeks = []
        original = reader._seek_keyframe_for
        reader._seek_keyframe_for = lambda i: (seeks.append(i), original(i))[1]
        k = reader.keyframes[2]
        reader.frame(k - 5)
        assert len(seeks) == 1
        for i in range(k - 4, k + 40):  # across a keyframe, then on
            reader.frame(i)
        for i in range(k + 39, k - 6, -1):  # and all the way back
            reader.frame(i)
        assert len(seeks) == 1


def test_info_and_helpers_agree(real_videos):
    path = real_videos / "kbtrainer__front_squat_.mp4"
    info = probe(path)
    assert info.to_json() == {k: getattr(info, k) for k in
                              ("frames", "fps", "width", "height", "duration_s", "codec", "vfr",
                               "rotation")}
    with VideoReader(path) as reader:
        assert reader.info == info
        last = reader.frame(len(reader) - 1)
        assert last.shape == (info.height, info.width, 3) and last.dtype == np.uint8
        assert last.flags["C_CONTIGUOUS"]
        assert np.array_equal(read_frame(path, 17), reader.frame(17))
        seq = list(iter_frames(path, 300))
        assert len(seq) == info.frames - 300
        assert np.array_equal(seq[-1], last)
        assert all(np.array_equal(a, b) for a, b in zip(reader.frames(5, 9), iter_frames(path, 5, 9)))
        assert np.array_equal(reader.av_frame(17).to_ndarray(format="rgb24"), reader.frame(17))
        with pytest.raises(FrameIndexError):
            reader.frame(info.frames)
        with pytest.raises(IndexError):
            reader.frame(-1)


def test_truncated_real_mp4_is_an_error(real_videos, tmp_path):
    # Index in front (the frames are listed, the data is cut): found when the index is read.
    data = (real_videos / "kbtrainer__kbThrusters.mp4").read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")
    cut = tmp_path / "front_half.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match="truncated"):
        probe(cut)
    with pytest.raises(VideoError, match="front_half.mp4"):
        VideoReader(cut)
    # Index at the end: the first half has no index at all.
    data = (real_videos / "kbtrainer__deadlift.mp4").read_bytes()
    assert data.find(b"moov") > data.find(b"mdat")
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match="front_half.mp4"):
        probe(cut)


def test_edit_list_cut_drops_the_discarded_frames(real_videos, tmp_path):
    # A stream copy starting mid-GOP: the mp4 keeps the GOP and an edit list hides its start.
    cut = tmp_path / "cut.mp4"
    ffmpeg("-ss", 1.3, "-i", real_videos / "joelo__situp.mp4", "-t", 2, "-c", "copy", cut)
    assert probe(cut).frames == ffmpeg_frame_count(cut)
    assert_frame_exact(cut, indices=random.Random(5).sample(range(probe(cut).frames), 20))


def test_load_clip_is_preprocess_of_sampled_frames(real_videos):
    path = real_videos / "divyansh__pull_up.mp4"
    crop = (40, 100, 300, 500)
    clip = load_clip(path, 100, 160, n=10, size=112, crop=crop)
    assert clip.shape == (10, 112, 112, 3) and clip.dtype == np.float32
    with VideoReader(path) as reader:
        expected = preprocess([reader.frame(i) for i in sample_indices(100, 160, 10)], 112, crop)
    assert np.array_equal(clip, expected)
    with pytest.raises(FrameIndexError):
        load_clip(path, 500, 10_000)


# -- sampling and preprocessing ------------------------------------------------------------------

def test_sample_indices_rule():
    assert sample_indices(0, 9, 10) == list(range(10))
    assert sample_indices(10, 19, 10) == list(range(10, 20))
    assert sample_indices(0, 90, 10) == list(range(0, 91, 10))  # equal spacing
    s = sample_indices(7, 107, 10)
    assert s[0] == 7 and s[-1] == 107  # inclusive ends
    assert max(np.diff(s)) - min(np.diff(s)) <= 1
    assert sample_indices(0, 2, 5) == [0, 1, 1, 2, 2]  # short clip: repeats, sorted, covering
    short = sample_indices(3, 6, 10)
    assert short == sorted(short) and set(short) == {3, 4, 5, 6} and len(short) == 10
    assert sample_indices(4, 4, 10) == [4] * 10  # one-frame clip
    assert sample_indices(5, 50, 1) == [5]
    for start, end, n in [(0, 1000, 10), (3, 4, 7), (0, 299, 16), (12, 12, 1)]:
        s = sample_indices(start, end, n)
        assert len(s) == n and s == sorted(s) and s[0] == start
        assert s[-1] == (end if n > 1 else start)
    for bad in [(0, 10, 0), (5, 4, 3), (-1, 4, 3)]:
        with pytest.raises(ValueError):
            sample_indices(*bad)


def test_preprocess_range_dtype_shape_and_rgb_order():
    red = np.zeros((48, 64, 3), np.uint8)
    red[..., 0] = 255
    out = preprocess([red, red], 32)
    assert out.shape == (2, 32, 32, 3) and out.dtype == np.float32
    assert np.all(out[..., 0] == 1.0) and np.all(out[..., 1:] == 0.0)
    img = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    out = preprocess(np.stack([img]), (24, 40))
    assert out.shape == (1, 24, 40, 3) and 0.0 <= out.min() and out.max() <= 1.0
    same = preprocess([img], (48, 64))  # no resize: exactly /255
    assert np.array_equal(same[0], img.astype(np.float32) / 255)


def test_preprocess_crop_box():
    img = pattern(64, 96)  # red top-left quadrant is x 0..47, y 0..31 (a grey bar at y 28..35)
    out = preprocess([img], 16, crop=(0, 0, 48, 24))
    assert np.allclose(out[0], [1, 0, 0])
    out = preprocess([img], (8, 12), crop=(48, 40, 96, 64))  # white bottom-right
    assert out.shape == (1, 8, 12, 3) and np.allclose(out[0], 1)
    clipped = preprocess([img], 16, crop=(-20, -20, 48, 24))  # clipped to the frame
    assert np.array_equal(clipped, preprocess([img], 16, crop=(0, 0, 48, 24)))
    with pytest.raises(ValueError):
        preprocess([img], 16, crop=(100, 0, 120, 10))


# -- formats ------------------------------------------------------------------------------------

FORMATS = {
    "vp9.webm": ("-c:v", "libvpx-vp9", "-b:v", "300k", "-g", "15"),
    "vp8.webm": ("-c:v", "libvpx", "-b:v", "300k", "-g", "15"),
    "mjpeg.avi": ("-c:v", "mjpeg"),
    "mpeg4_bframes.avi": ("-c:v", "mpeg4", "-bf", "2", "-g", "12"),
    "h264_bframes.mov": ("-c:v", "libx264", "-bf", "3", "-g", "12"),
    "h264.mkv": ("-c:v", "libx264", "-bf", "3", "-g", "12"),
    "anim.gif": ("-r", "10"),
}


@pytest.mark.parametrize("name", FORMATS)
def test_formats_count_and_random_access(tmp_path, name):
    path = lavfi_video(tmp_path / name, *FORMATS[name])
    info = probe(path)
    assert info.frames == ffmpeg_frame_count(path)
    assert (info.width, info.height, info.rotation) == (160, 120, 0)
    order = list(range(info.frames))
    random.Random(7).shuffle(order)
    assert_frame_exact(path, indices=order)
    assert_frame_exact(path, indices=order[:20], cache_frames=1)  # every access decodes


def test_timestamps_that_cannot_name_frames_are_counted(tmp_path):
    # Negative timestamps in matroska come back without pts: frames are named by counting.
    src = lavfi_video(tmp_path / "src.mov", "-c:v", "libx264", "-bf", "3", "-g", "12")
    path = tmp_path / "negative.mkv"
    ffmpeg("-itsoffset", -1, "-i", src, "-c", "copy", "-avoid_negative_ts", "disabled", path)
    assert probe(path).frames == ffmpeg_frame_count(path) == 50
    order = list(range(50))
    random.Random(3).shuffle(order)
    assert_frame_exact(path, indices=order)


def test_one_frame_video(tmp_path):
    path = write_video(tmp_path / "one.mp4", [pattern(64, 96)])
    info = probe(path)
    assert info.frames == 1 == ffmpeg_frame_count(path)
    frame = read_frame(path, 0)
    assert frame.shape == (64, 96, 3)
    with pytest.raises(FrameIndexError):
        read_frame(path, 1)
    clip = load_clip(path, 0, 0, n=10, size=32)
    assert clip.shape == (10, 32, 32, 3) and all(np.array_equal(c, clip[0]) for c in clip)


def test_portrait_video(tmp_path):
    path = write_video(tmp_path / "portrait.mp4", [pattern(96, 48, i) for i in range(10)])
    info = probe(path)
    assert (info.width, info.height, info.rotation, info.frames) == (48, 96, 0, 10)
    assert read_frame(path, 3).shape == (96, 48, 3)


@pytest.mark.parametrize("ccw", [90, 180, 270])
def test_rotated_video(tmp_path, ccw):
    plain = write_video(tmp_path / "plain.mp4", [pattern(64, 96, i) for i in range(12)],
                        25, "-c:v", "libx264", "-pix_fmt", "yuv444p", "-g", "5")
    rotated = tmp_path / f"rot{ccw}.mp4"
    # Same stream, only a display matrix added: ffmpeg's -display_rotation is counter-clockwise.
    ffmpeg("-display_rotation", ccw, "-i", plain, "-c", "copy", rotated)
    info = probe(rotated)
    assert info.rotation == (-ccw) % 360  # reported clockwise, like a phone's rotate tag
    assert (info.width, info.height) == ((64, 96) if ccw in (90, 270) else (96, 64))
    with VideoReader(plain) as a, VideoReader(rotated) as b:
        for i in (0, 7, 3, 11):
            assert np.array_equal(b.frame(i), np.rot90(a.frame(i), k=ccw // 90))
    # Independently: ffmpeg's own autorotation shows the same picture (up to its RGB conversion).
    theirs = ffmpeg_decode_rgb(rotated, info.width, info.height)
    ours = np.stack(list(iter_frames(rotated)))
    assert theirs.shape == ours.shape
    assert np.abs(theirs.astype(int) - ours).mean() < 4
    assert_frame_exact(rotated, indices=[11, 2, 9, 0, 5])


def test_vfr_flag(tmp_path):
    cfr = lavfi_video(tmp_path / "cfr.mp4", "-c:v", "libx264")
    vfr = lavfi_video(tmp_path / "vfr.mp4", "-vf", "setpts='if(lt(N,20),N,N+15)/(25*TB)'",
                      "-fps_mode", "passthrough", "-c:v", "libx264")
    assert probe(cfr).vfr is False
    info = probe(vfr)
    assert info.vfr is True and info.frames == ffmpeg_frame_count(vfr)


# -- files that are not videos -------------------------------------------------------------------

def _bad_files(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    noise = tmp_path / "noise.mp4"
    noise.write_bytes(np.random.default_rng(1).integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    text = tmp_path / "notes.txt"
    text.write_text("squat 3x5\nthruster 21-15-9\n" * 50)
    text_mp4 = tmp_path / "text.mp4"
    text_mp4.write_text("not really a video\n" * 50)
    audio = tmp_path / "tone.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", audio)
    still = tmp_path / "still.png"
    write_video(still, [pattern(32, 32)], 25, "-frames:v", "1")
    return {"empty": empty, "noise": noise, "text": text, "text.mp4": text_mp4, "audio": audio,
            "still image": still, "missing": tmp_path / "missing.mp4"}


def test_non_videos_raise_video_error(tmp_path):
    for what, path in _bad_files(tmp_path).items():
        for fn in (probe, VideoReader, lambda p: read_frame(p, 0), lambda p: load_clip(p, 0, 0)):
            with pytest.raises(VideoError) as err:
                fn(path)
            assert path.name in str(err.value), (what, str(err.value))
    with pytest.raises(VideoError, match="empty"):
        probe(tmp_path / "empty.mp4")
    with pytest.raises(VideoError, match="no video stream"):
        probe(tmp_path / "tone.m4a")
    with pytest.raises(VideoError, match="text"):
        probe(tmp_path / "notes.txt")


# -- focus: the athlete box from motion ------------------------------------------------------------

def _moving_square(n=8, h=120, w=320, x=230, y=40, side=30, still_noise=0):
    """n frames of a static textured scene with a bright square bobbing up and down at (x, y)."""
    rng = np.random.default_rng(3)
    scene = rng.integers(40, 90, (h, w, 3), dtype=np.uint8)
    frames = []
    for k in range(n):
        f = scene.copy()
        dy = int(round(12 * np.sin(k * np.pi / 3)))
        f[y + dy:y + dy + side, x:x + side] = 250
        if still_noise:
            f = np.clip(f.astype(int) + rng.integers(-still_noise, still_noise + 1, f.shape), 0, 255).astype(np.uint8)
        frames.append(f)
    return frames


def test_motion_box_finds_the_mover_and_is_square_inside_the_frame():
    frames = _moving_square()
    box = motion_box(frames)
    x0, y0, x1, y1 = box
    assert 0 <= x0 < x1 <= 320 and 0 <= y0 < y1 <= 120
    assert x1 - x0 == y1 - y0  # square: no distortion when resized to a square input
    assert x0 <= 230 and x1 >= 260  # holds the square's columns
    assert x0 > 100  # and not the still left part of the scene
    assert motion_box(frames) == box  # deterministic
    # sensor noise alone is not motion; nothing moving -> None (the whole frame is used)
    still = [frames[0]] * 8
    assert motion_box(still) is None and motion_box(frames[:1]) is None
    noisy = _moving_square(still_noise=3)
    nb = motion_box(noisy)
    assert nb is not None and nb[0] <= 230 and nb[2] >= 260


def test_preprocess_focus_crops_to_the_motion_and_load_clip_passes_it(real_videos):
    frames = _moving_square()
    x0, y0, x1, y1 = motion_box(frames)
    out = preprocess(frames, 32, focus="motion")
    assert np.array_equal(out, preprocess(frames, 32, crop=(x0, y0, x1, y1)))
    assert not np.array_equal(out, preprocess(frames, 32))
    with pytest.raises(ValueError):
        preprocess(frames, 32, focus="faces")
    # with a crop, the motion is searched inside it
    inner = preprocess(frames, 32, crop=(160, 0, 320, 120), focus="motion")
    cropped = [f[0:120, 160:320] for f in frames]
    assert np.array_equal(inner, preprocess(cropped, 32, focus="motion"))
    path = real_videos / "divyansh__pull_up.mp4"
    clip = load_clip(path, 100, 160, n=8, size=64, focus="motion")
    with VideoReader(path) as reader:
        expected = preprocess([reader.frame(i) for i in sample_indices(100, 160, 8)], 64, None, "motion")
    assert np.array_equal(clip, expected)


def test_a_truncated_mkv_or_ts_is_refused_not_taken_for_a_shorter_video(tmp_path):
    """An interrupted download or copy must not pass for a shorter video (frame numbers would not
    match the complete file's)."""
    import subprocess

    import imageio_ffmpeg

    from core.media.video import VideoError, probe

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    whole = tmp_path / "a.mkv"
    subprocess.run([ffmpeg, "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=30", "-t", "4",
                    "-c:v", "libx264", "-g", "30", str(whole)], check=True)
    ts = tmp_path / "a.ts"
    subprocess.run([ffmpeg, "-loglevel", "error", "-i", str(whole), "-c", "copy", str(ts)], check=True)
    for complete in (whole, ts):
        assert probe(complete).frames == 120
        cut = tmp_path / f"cut{complete.suffix}"
        data = complete.read_bytes()
        cut.write_bytes(data[: len(data) * 6 // 10])
        with pytest.raises(VideoError, match="truncated"):
            probe(cut)
