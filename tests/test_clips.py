"""Clip cutting on real videos: frame-exact content, crop, stable numbering, crash resumption."""
import os
import signal
import subprocess
import sys
import time

import av
import numpy as np
import pytest

from core.dataset import clips
from core.media import library
from core.media.video import VideoReader
from core.base.workspace import PROJECT_ROOT, Workspace

SMALL = "kbtrainer__front_squat_.mp4"  # 312 frames, 270x480, keyframes at 0 and 250
SMALL2 = "kbtrainer__backSquats.mp4"  # 320 frames, 270x480


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path / "ws")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def check_clip(ws, clip, source, box=None):
    """The clip's decoded frames are the source's frames start..end (cropped), PSNR >= 35 dB each."""
    path = ws.absolute(clip["path"])
    with VideoReader(str(path)) as got, VideoReader(str(source)) as ref:
        n = clip["end_frame"] - clip["start_frame"] + 1
        assert len(got) == n == clip["frames"]
        for k, frame in enumerate(got.frames(0, n - 1)):
            want = ref.frame(clip["start_frame"] + k)
            if box:
                x0, y0, x1, y1 = box
                want = want[y0:y1, x0:x1]
            assert frame.shape == want.shape
            assert psnr(frame, want) >= 35, (clip["path"], k)
        # not the neighbouring frame: the first frame is closer to its own source frame than to the one before
        if clip["start_frame"] > 0:
            x0, y0, x1, y1 = box or (0, 0, None, None)
            first = got.frame(0)
            own = ref.frame(clip["start_frame"])[y0:y1, x0:x1]
            before = ref.frame(clip["start_frame"] - 1)[y0:y1, x0:x1]
            assert psnr(first, own) > psnr(first, before)


def test_cut_clips_are_frame_exact_including_one_frame_and_last_frame(ws, real_videos):
    vid = library.add_file(ws, real_videos / SMALL).video_id
    store = ws.store()
    store.add_segment(vid, "thruster", 10, 39, "ann")
    store.add_segment(vid, "thruster", 50, 50, "ann")  # a 1-frame rep
    store.add_segment(vid, "ohs", 240, 260, "ann")  # across the keyframe at 250
    store.add_segment(vid, "ohs", 300, 311, "ann")  # ends on the last frame
    report = clips.cut_clips(ws)
    assert (report.cut, report.kept, report.removed) == (4, 0, 0)
    rows = clips.clips(store)
    assert [(c["path"], c["start_frame"], c["end_frame"]) for c in rows] == [
        ("clips/ohs/ohs_1.mp4", 240, 260), ("clips/ohs/ohs_2.mp4", 300, 311),
        ("clips/thruster/thruster_1.mp4", 10, 39), ("clips/thruster/thruster_2.mp4", 50, 50)]
    for c in rows:
        check_clip(ws, c, real_videos / SMALL)
        assert c["fps"] == 30 and c["bytes"] == ws.absolute(c["path"]).stat().st_size
    # browser-playable: H.264 yuv420p, even size, the index (moov) before the media (mdat)
    path = ws.absolute(rows[0]["path"])
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        assert stream.average_rate == 30
    head = path.read_bytes()
    assert head.index(b"moov") < head.index(b"mdat")
    assert not list(ws.clips_dir.rglob(".tmp-*"))


def test_rgb_path_and_crop_to_the_athlete_box(ws, real_videos, monkeypatch):
    vid = library.add_file(ws, real_videos / SMALL).video_id
    store = ws.store()
    store.set_video_roi(vid, (21, 41, 200, 301))  # odd corner: the box is made even → [20, 40, 200, 300]
    store.add_segment(vid, "deadlift", 100, 119, "ann")
    store.import_segments(vid, [{"label": "ghd", "start": 120, "end": 124, "annotator": "ann",
                                 "roi": {"left": 10, "top": 10, "width": 101, "height": 81}}])
    clips.cut_clips(ws)
    video_box, rep_box = [20, 40, 200, 300], [10, 10, 110, 90]
    by_label = {c["label"]: c for c in clips.clips(store)}
    assert by_label["deadlift"]["crop"] == video_box and by_label["ghd"]["crop"] == rep_box
    check_clip(ws, by_label["deadlift"], real_videos / SMALL, video_box)
    check_clip(ws, by_label["ghd"], real_videos / SMALL, rep_box)
    # the RGB path (rotated or non-4:2:0 sources) gives the same pictures
    monkeypatch.setattr(clips, "DECODER_YUV", False)
    with VideoReader(str(real_videos / SMALL)) as reader:
        kind, tags, frames = clips._source_frames(reader, 100, 104, video_box)
        assert kind == "rgb"
        out = ws.root / "rgb.mp4"
        assert clips.encode_frames(frames, out, clips.source_rate(real_videos / SMALL), kind=kind) == 5
    with VideoReader(str(out)) as got, VideoReader(str(real_videos / SMALL)) as ref:
        for k in range(5):
            assert psnr(got.frame(k), ref.frame(100 + k)[40:300, 20:200]) >= 35
    # crop=False cuts whole frames (a new fingerprint: both clips re-cut)
    report = clips.cut_clips(ws, crop=False)
    assert report.cut == 2 and all(c["crop"] is None for c in clips.clips(store))


def _state(ws):
    return {c["path"]: (c["segment_uuid"], c["fingerprint"], ws.absolute(c["path"]).stat().st_mtime_ns)
            for c in clips.clips(ws.store())}


def test_numbering_is_stable_and_only_changed_reps_are_recut(ws, real_videos):
    vid = library.add_file(ws, real_videos / SMALL).video_id
    store = ws.store()
    keys = [store.add_segment(vid, "thruster", s, s + 9, "ann") for s in (0, 20, 40)]
    other = store.add_segment(vid, "ohs", 60, 69, "ann")
    clips.cut_clips(ws)
    before = _state(ws)
    assert sorted(before) == ["clips/ohs/ohs_1.mp4", "clips/thruster/thruster_1.mp4",
                              "clips/thruster/thruster_2.mp4", "clips/thruster/thruster_3.mp4"]

    again = clips.cut_clips(ws)  # nothing new: nothing cut, nothing touched
    assert (again.cut, again.kept, again.removed) == (0, 4, 0)
    assert _state(ws) == before

    store.update_segment(keys[1], end=33)  # a changed range re-cuts only that clip, same name
    report = clips.cut_clips(ws)
    assert (report.cut, report.kept) == (1, 3)
    after = _state(ws)
    changed = [p for p in after if after[p] != before[p]]
    assert changed == ["clips/thruster/thruster_2.mp4"]
    assert clips.decoded_frame_count(ws.absolute("clips/thruster/thruster_2.mp4")) == 14

    store.delete_segment(keys[0])  # a deleted rep loses its clip; the others keep their numbers
    store.update_segment(other, label="thruster")  # a relabelled rep moves to its new movement
    new = store.add_segment(vid, "ohs", 80, 84, "ann")
    report = clips.cut_clips(ws)
    assert report.removed == 2 and report.cut == 2
    rows = {c["segment_uuid"]: c["path"] for c in clips.clips(store)}
    assert rows == {keys[1]: "clips/thruster/thruster_2.mp4", keys[2]: "clips/thruster/thruster_3.mp4",
                    other: "clips/thruster/thruster_1.mp4", new: "clips/ohs/ohs_1.mp4"}
    files = sorted(p.relative_to(ws.root).as_posix() for p in ws.clips_dir.rglob("*.mp4"))
    assert files == sorted(rows.values())

    # a clip file damaged or replaced behind the database's back is cut again
    ws.absolute("clips/ohs/ohs_1.mp4").write_bytes(b"junk")
    assert clips.cut_clips(ws).cut == 1
    assert clips.decoded_frame_count(ws.absolute("clips/ohs/ohs_1.mp4")) == 5


def test_reps_outside_the_dataset_get_no_clip(ws, real_videos):
    vid = library.add_file(ws, real_videos / SMALL).video_id
    store = ws.store()
    store.add_segment(vid, "thruster", 0, 9, "ann")
    store.add_segment(vid, "thruster", 10, 19, "ann", review="rejected")
    store.add_segment(vid, "thruster", 30, 39, "model:run1")
    clips.cut_clips(ws)
    assert [(c["start_frame"], c["label"]) for c in clips.clips(store)] == [(0, "thruster")]
    store.add_segment(vid, "ohs", 0, 9, "bob")  # a second annotator: only accepted reps count now
    assert clips.cut_clips(ws).removed == 1 and clips.clips(store) == []


def test_a_killed_split_run_resumes_cleanly(ws, real_videos):
    store = ws.store()
    expected = {}
    for name in (SMALL, SMALL2):
        vid = library.add_file(ws, real_videos / name).video_id
        for i, start in enumerate(range(0, 300, 12)):
            label = ("thruster", "ohs", "deadlift")[i % 3]
            store.add_segment(vid, label, start, start + 10, "ann")
    plan = clips.plan(ws)
    for spec in plan.cut:
        expected[spec["path"]] = spec
    assert len(expected) == 50

    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    cmd = [sys.executable, "-m", "core", "split", "--workspace", str(ws.root), "--jobs", "2", "--no-cache"]
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and len(clips.clips(store)) < 3 and proc.poll() is None:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the run and its workers, mid-way
    proc.wait()
    gone = time.time() + 10  # the workers die a moment later (until then they hold the run lock)
    while time.time() < gone:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    done = len(clips.clips(store))
    assert 0 < done < len(expected), f"the kill should land mid-way ({done} clips done)"
    # no final name holds a partial file: every one decodes completely to its rep's length
    for f in ws.clips_dir.rglob("*.mp4"):
        rel = f.relative_to(ws.root).as_posix()
        if f.name.startswith(clips.TMP_PREFIX):
            continue
        spec = expected[rel]
        assert clips.decoded_frame_count(f) == spec["end"] - spec["start"] + 1

    report = clips.cut_clips(ws, jobs=2)
    assert report.cut + report.kept == len(expected) and not report.cancelled
    rows = clips.clips(store)
    # the same names a clean run gives, every clip exact, nothing left over
    assert {c["path"]: (c["start_frame"], c["end_frame"]) for c in rows} == {
        p: (s["start"], s["end"]) for p, s in expected.items()}
    for c in rows:
        assert clips.decoded_frame_count(ws.absolute(c["path"])) == c["frames"]
    check_clip(ws, rows[-1], ws.absolute(store.video(rows[-1]["video_id"])["path"]))
    assert not list(ws.clips_dir.rglob(".tmp-*"))
    assert len(list(ws.clips_dir.rglob("*.mp4"))) == len(expected)


@pytest.mark.parametrize("jobs", [1, 2])
def test_cancel_keeps_finished_clips_and_a_rerun_finishes(ws, real_videos, jobs):
    import threading

    store = ws.store()
    for name in (SMALL, SMALL2):
        vid = library.add_file(ws, real_videos / name).video_id
        for start in range(0, 300, 30):
            store.add_segment(vid, "thruster", start, start + 29, "ann")
    cancel = threading.Event()

    def progress(done, total, text):
        if done >= 1:
            cancel.set()

    report = clips.cut_clips(ws, jobs=jobs, progress=progress, cancel=cancel)
    assert report.cancelled and 1 <= report.cut < 15 and report.pending == 20 - report.cut
    assert len(clips.clips(store)) == report.cut and not list(ws.clips_dir.rglob(".tmp-*"))
    for c in clips.clips(store):
        assert clips.decoded_frame_count(ws.absolute(c["path"])) == 30
    again = clips.cut_clips(ws, jobs=jobs)
    assert (again.cut, again.kept) == (20 - report.cut, report.cut)


def test_a_broken_source_stops_only_its_own_reps(ws, real_videos):
    store = ws.store()
    good = library.add_file(ws, real_videos / SMALL).video_id
    bad = library.add_file(ws, real_videos / SMALL2).video_id
    store.add_segment(good, "thruster", 0, 9, "ann")
    store.add_segment(bad, "thruster", 0, 9, "ann")
    ws.absolute(store.video(bad)["path"]).write_bytes(b"gone")
    report = clips.cut_clips(ws)
    assert report.cut == 1 and report.pending == 1 and len(report.problems) == 1
    assert SMALL2 in report.problems[0] and "1 could not be cut" in report.summary()
    assert [c["video_id"] for c in clips.clips(store)] == [good]


def test_normalise_box():
    assert clips.normalise_box(None, 100, 80) is None
    assert clips.normalise_box([0, 0, 100, 80], 100, 80) is None  # the whole frame
    assert clips.normalise_box([-5, 3, 51, 90], 100, 80) == [0, 2, 50, 80]
    assert clips.normalise_box({"x0": 1, "y0": 1, "x1": 12, "y1": 12}, 100, 80) == [0, 0, 12, 12]
    assert clips.normalise_box([10, 10, 11, 50], 100, 80) is None  # empty
    assert clips.clip_relpath("power clean", 3) == "clips/power clean/power clean_3.mp4"
    assert clips.clip_relpath("a/b", 1) == "clips/a-b/a-b_1.mp4"


def test_export_manifest_and_csv(ws, real_videos, tmp_path, capsys):
    import csv
    import json

    from core.dataset import splits
    from core.cli.main import main

    vid = library.add_file(ws, real_videos / SMALL).video_id
    store = ws.store()
    store.add_segment(vid, "ohs", 45, 59, "ann")
    store.add_segment(vid, "thruster", 0, 29, "ann")
    clips.cut_clips(ws)
    splits.make_splits(store)
    out = tmp_path / "export"
    assert main(["export-manifest", str(out), "--workspace", str(ws.root)]) == 0
    stem = ws.absolute(store.video(vid)["path"]).stem
    manifest = json.loads((out / f"{stem}.json").read_text())
    assert manifest == [  # the earlier splitter's format, by start; seconds = frames / 30 fps, inclusive
        {"start_time": 0.0, "length": 1.0, "rename_to": "thruster_1.mp4"},
        {"start_time": 1.5, "length": 0.5, "rename_to": "ohs_1.mp4"},
    ]
    rows = list(csv.DictReader((out / "clips.csv").open()))
    assert [(r["path"], r["movement"], r["start"], r["end"], r["split"]) for r in rows] == [
        ("clips/ohs/ohs_1.mp4", "ohs", "45", "59", "train"),
        ("clips/thruster/thruster_1.mp4", "thruster", "0", "29", "train")]
    assert rows[0]["source_video"] == store.video(vid)["path"]


def test_kill_9_of_the_run_alone_frees_the_workspace(ws, real_videos):
    """kill -9 of `split --jobs 2` itself (not its process group): its workers die with it and do not
    keep the run lock, so the next run starts at once."""
    store = ws.store()
    vid = library.add_file(ws, real_videos / "kbtrainer__cardioSegunda2.mp4").video_id  # 55 s: long chunks
    for i, start in enumerate(range(0, 1600, 16)):
        store.add_segment(vid, ("thruster", "ohs")[i % 2], start, start + 14, "ann")
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    cmd = [sys.executable, "-m", "core", "split", "--workspace", str(ws.root), "--jobs", "2", "--no-cache"]
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and len(clips.clips(store)) < 2 and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the run should still be going"
    os.kill(proc.pid, signal.SIGKILL)  # the parent only
    proc.wait()
    report = clips.cut_clips(ws, jobs=1)  # at once: not "Another clip-cutting run is working on this workspace"
    assert not report.cancelled and report.cut + report.kept == 100
    try:
        os.killpg(proc.pid, 0)  # any worker left in its group?
    except ProcessLookupError:
        return
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("the workers outlived the killed run")
