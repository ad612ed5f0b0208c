"""Adding videos to a workspace: copies inside it, dedupe by content, clear errors, nothing lost."""
import shutil

import pytest

from core.media import library
from core.media.video import probe
from core.base.workspace import PathError, Workspace, inside

SMALL = "kbtrainer__front_squat_.mp4"


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path / "ws")


def test_add_file_copies_into_the_workspace_with_exact_metadata(ws, real_videos):
    src = real_videos / SMALL
    result = library.add_file(ws, src)
    assert result.error is None and result.video_id
    video = ws.store().video(result.video_id)
    stored = ws.absolute(video["path"])
    assert ws.videos_dir in stored.parents and stored.read_bytes() == src.read_bytes()
    assert video["frames"] == probe(src).frames
    assert src.exists()  # the original is untouched


def test_same_content_under_another_name_is_a_duplicate(ws, real_videos, tmp_path):
    first = library.add_file(ws, real_videos / SMALL)
    copy = tmp_path / "renamed.mp4"
    shutil.copy(real_videos / SMALL, copy)
    again = library.add_file(ws, copy)
    assert again.duplicate_of == first.video_id and "already in the workspace" in again.message
    assert len(ws.store().videos()) == 1


def test_bad_uploads_get_a_clear_message_and_lose_nothing(ws, real_videos):
    good = library.add_file(ws, real_videos / SMALL)
    ws.store().add_segment(good.video_id, "thruster", 0, 10, "ann")
    data = (real_videos / SMALL).read_bytes()
    for name, payload in [("notes.mp4", b"just text, not a video"), ("half.mp4", data[: len(data) // 3]),
                          ("empty.mp4", b""), ("../../escape.mp4", b"\x00" * 100)]:
        result = library.add_bytes(ws, name, payload)
        assert result.error, name
        assert name in result.message
    assert [v["id"] for v in ws.store().videos()] == [good.video_id]
    assert len(ws.store().segments()) == 1
    assert list(ws.uploads_dir.iterdir()) == []
    assert not (ws.root.parent / "escape.mp4").exists()


def test_upload_names_cannot_leave_the_workspace(ws):
    assert library.safe_name("../../etc/passwd") == "passwd"
    assert library.safe_name("..\\..\\evil.mp4") == "evil.mp4"
    assert library.safe_name("...") == "video"
    with pytest.raises(PathError):
        inside(ws.root, "../outside.mp4")
    assert inside(ws.root, "videos/a.mp4") == ws.root / "videos" / "a.mp4"


def test_add_folder_adds_every_video_and_reports_bad_ones(ws, real_videos, tmp_path):
    folder = tmp_path / "incoming"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(real_videos / SMALL, folder / "a.mp4")
    shutil.copy(real_videos / "kbtrainer__backSquats.mp4", folder / "sub" / "b.mp4")
    (folder / "broken.mov").write_bytes(b"nope")
    (folder / "readme.txt").write_text("ignored")
    seen = []
    results = library.add_folder(ws, folder, progress=lambda i, n, name: seen.append((i, n)))
    assert sorted(r.name for r in results if r.video_id) == ["a.mp4", "b.mp4"]
    assert [r.name for r in results if r.error] == ["broken.mov"]
    assert seen[-1] == (3, 3)


def test_delete_video_removes_file_and_reps(ws, real_videos):
    result = library.add_file(ws, real_videos / SMALL)
    path = ws.absolute(ws.store().video(result.video_id)["path"])
    ws.store().add_segment(result.video_id, "ohs", 0, 5, "ann")
    library.delete_video(ws, result.video_id)
    assert not path.exists() and ws.store().videos() == [] and ws.store().segments() == []


def test_thumbnail_is_cached(ws, real_videos):
    result = library.add_file(ws, real_videos / SMALL)
    video = ws.store().video(result.video_id)
    thumb = library.thumbnail(ws, video)
    assert thumb and thumb.stat().st_size > 500
    assert library.thumbnail(ws, video) == thumb


def test_add_url_registers_what_arrived_and_reports_what_failed(ws, real_videos, tmp_path):
    from tests.httpserver import serve_directory

    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(real_videos / SMALL, site / "squat.mp4")
    with serve_directory(site) as server:
        feed = ('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>x</link><description>d'
                f'</description><item><title>Squat</title><guid>1</guid><enclosure url="{server.url("squat.mp4")}"'
                f' type="video/mp4" length="1"/></item><item><title>Gone</title><guid>2</guid><enclosure url="'
                f'{server.url("gone.mp4")}" type="video/mp4" length="1"/></item></channel></rss>')
        (site / "feed.rss").write_text(feed)
        results = library.add_url(ws, server.url("feed.rss"))
        again = library.add_url(ws, server.url("squat.mp4"))
    added = [r for r in results if r.video_id]
    assert len(added) == 1 and any(r.error for r in results)
    video = ws.store().video(added[0].video_id)
    assert video["source_url"].endswith("squat.mp4") and video["frames"] == probe(real_videos / SMALL).frames
    assert again[0].duplicate_of == added[0].video_id
    assert len(list(ws.videos_dir.glob("*.mp4"))) == 1


def test_a_video_keeps_the_name_it_arrived_under_whatever_its_safe_file_name(ws, real_videos):
    name = "Men's Event 1, Bayden Brown, 3_58.mp4"
    up = library.add_bytes(ws, name, (real_videos / SMALL).read_bytes())
    video = ws.store().video(up.video_id)
    assert up.name == name and video["path"] == "videos/Men_s_Event_1_Bayden_Brown_3_58.mp4"
    assert (video["original_name"], video["title"]) == (name, "Men's Event 1, Bayden Brown, 3_58")
    assert library.video_names(video) == [name, "Men's Event 1, Bayden Brown, 3_58", "Men_s_Event_1_Bayden_Brown_3_58.mp4"]


@pytest.mark.parametrize("name", ["日本.mp4", "\x00.mp4", ".mp4", "Björgvin “Event 2”.MP4"])
def test_an_upload_with_a_strange_name_stays_a_video(tmp_path, real_videos, name):
    """Non-ASCII or extension-only names kept their extension lost (then shown as a still image)."""
    ws = Workspace(tmp_path / "w")
    with open(real_videos / "kbtrainer__front_squat_.mp4", "rb") as f:
        added = library.add_upload(ws, name, f)
    assert added.error is None, added.error
    row = ws.store().video(added.video_id)
    assert row["path"].endswith(".mp4") and row["frames"] > 0
    assert [p.name for p in ws.uploads_dir.iterdir()] == []


def test_an_upload_over_the_limit_is_refused_without_reading_it_all(tmp_path):
    import io

    ws = Workspace(tmp_path / "w")
    stream = io.BytesIO(b"\0" * (6 * 1024**2))
    added = library.add_upload(ws, "big.mp4", stream, max_bytes=2 * 1024**2)
    assert "larger than the 2 MB upload limit" in added.error
    assert stream.tell() < 4 * 1024**2 and ws.store().videos() == [] and list(ws.uploads_dir.iterdir()) == []


def test_adding_the_workspace_itself_or_an_empty_folder_says_so(tmp_path, real_videos):
    ws = Workspace(tmp_path / "w")
    library.add_file(ws, real_videos / "kbtrainer__front_squat_.mp4")
    for folder in (ws.root, ws.videos_dir, ws.clips_dir):
        [r] = library.add_folder(ws, folder)
        assert r.error and "inside the workspace" in r.error
    empty = tmp_path / "x.mp4"
    empty.mkdir()
    [r] = library.add_sources(ws, [str(empty)])
    assert r.error and "no video files" in r.error
    assert len(ws.store().videos()) == 1


def test_an_add_killed_mid_copy_leaves_no_video_behind(tmp_path, real_videos):
    """The copy goes to a temporary name and is renamed only once it is a video; a dead add's
    temporary copy is removed by the next add (it made `_1` duplicates before)."""
    import subprocess
    import sys

    ws = Workspace(tmp_path / "w")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = ws.videos_dir / f"{library.ADDING_PREFIX}{int(dead.stdout)}-deadbeef.mp4"
    leftover.write_bytes(b"\0" * 1000)  # what a kill during the copy leaves
    added = library.add_file(ws, real_videos / "kbtrainer__front_squat_.mp4")
    assert added.error is None
    kept = [p.name for p in ws.videos_dir.iterdir()]
    assert kept == [ws.store().video(added.video_id)["path"].split("/")[-1]]
    (tmp_path / "bad.mp4").write_bytes(b"not a video")
    assert "not a readable video" in library.add_file(ws, tmp_path / "bad.mp4").error
    assert [p.name for p in ws.videos_dir.iterdir()] == kept
