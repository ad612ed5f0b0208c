"""AppTest runs of the Home and Videos pages: what a user sees for a given workspace."""
import pytest
from streamlit.testing.v1 import AppTest

from core.media import library
from core.base.workspace import Workspace
from tests.apptest import page_test

SMALL = "kbtrainer__front_squat_.mp4"


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSPACE", str(tmp_path / "ws"))
    return Workspace(tmp_path / "ws")


def run(page: str) -> AppTest:
    at = page_test(page, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_home_on_an_empty_workspace_points_to_adding_videos(ws):
    at = run("app_pages/0_Home.py")
    assert metric(at, "Videos") == "0" and metric(at, "Labelled reps") == "0"
    assert any("👉 **Add workout videos**" in m.value for m in at.markdown)
    assert any("No reps labelled yet" in i.value for i in at.info)


def test_home_counts_videos_and_reps_per_movement(ws, real_videos):
    vid = library.add_file(ws, real_videos / SMALL).video_id
    store = ws.store()
    store.add_segment(vid, "thruster", 0, 10, "ann")
    store.add_segment(vid, "thruster", 11, 20, "ann")
    store.add_segment(vid, "ohs", 21, 30, "ann")
    at = run("app_pages/0_Home.py")
    assert metric(at, "Videos") == "1" and metric(at, "Labelled reps") == "3"
    table = at.dataframe[0].value
    reps = dict(zip(table["movement"], table["reps"]))
    assert reps["thruster"] == 2 and reps["ohs"] == 1 and reps["ghd"] == 0
    assert any("👉 **Cut clips" in m.value for m in at.markdown)


def test_videos_page_lists_exact_metadata(ws, real_videos):
    for name in (SMALL, "kbtrainer__backSquats.mp4"):
        library.add_file(ws, real_videos / name)
    at = run("app_pages/1_Videos.py")
    table = at.dataframe[0].value
    videos = ws.store().videos()
    assert list(table["frames"]) == [v["frames"] for v in videos]
    assert list(table["size"]) == [f"{v['width']}×{v['height']}" for v in videos]
    assert all(str(t).startswith("data:image/jpeg;base64,") for t in table["thumbnail"])
    assert at.subheader[0].value == "2 videos"


def test_videos_page_deletes_only_after_confirmation(ws, real_videos):
    vid = library.add_file(ws, real_videos / SMALL).video_id
    at = run("app_pages/1_Videos.py")
    assert at.button(key="delete").disabled
    at.checkbox(key="confirm_delete").check().run()
    at.button(key="delete").click().run()
    assert not at.exception
    assert ws.store().video(vid) is None
    assert any("No videos yet" in i.value for i in at.info)


def test_videos_page_adds_a_folder_and_reports_a_bad_file(ws, real_videos, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / SMALL).write_bytes((real_videos / SMALL).read_bytes())
    (folder / "bad.mp4").write_bytes(b"not a video")
    at = run("app_pages/1_Videos.py")
    at.text_input(key="folder").input(str(folder)).run()
    at.button(key="add_folder").click().run()
    assert not at.exception
    assert any("added as video" in s.value for s in at.success)
    assert any("bad.mp4" in e.value for e in at.error)
    assert len(ws.store().videos()) == 1
