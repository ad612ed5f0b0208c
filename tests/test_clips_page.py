"""AppTest of the Clips page: the statistics shown, splits, the cut task, the clip browser and downloads."""

import pytest
from streamlit.testing.v1 import AppTest

from core.dataset import clips
from core.media import library
from core.labeling.annotator import DATASET_RULE
from core.base.workspace import Workspace
from tests.test_stats import EXPECTED, make_fixture
from tests.apptest import page_test

SMALL = "kbtrainer__front_squat_.mp4"


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSPACE", str(tmp_path / "ws"))
    return Workspace(tmp_path / "ws")


def run() -> AppTest:
    at = page_test("app_pages/3_Clips.py", default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_statistics_table_shows_the_hand_computed_numbers(ws):
    make_fixture(ws.store())
    at = run()
    assert any(DATASET_RULE in i.value for i in at.info)
    assert metric(at, "Dataset reps") == "4" and metric(at, "Clips cut") == "0"
    table = at.dataframe[0].value  # statistics (tables in page order: stats, per video, per annotator, splits)
    rows = {r["label"]: r for r in table.to_dict("records")}
    assert list(rows)[-1] == "TOTAL" and len(rows) == 10
    for label, (count, f_mean, f_sd, s_mean, s_sd) in EXPECTED.items():
        row = rows[label]
        assert row["clips"] == count
        for key, want in (("frames mean", f_mean), ("frames sd", f_sd), ("seconds mean", s_mean),
                          ("seconds sd", s_sd)):
            if want is None:
                assert row[key] != row[key], (label, key)  # NaN: no value
            else:
                assert row[key] == round(want, 2), (label, key)
    assert rows["TOTAL"]["frames mean"] == 30.0 and rows["TOTAL"]["seconds mean"] == 1.13
    per_annotator = at.dataframe[2].value
    assert dict(zip(per_annotator["annotator"], per_annotator["dataset_reps"])) == {
        "alice": 3, "bob": 1, "model:run1": 0}
    assert at.get("plotly_chart")  # the class balance

    at.button(key="make_splits").click().run()
    assert not at.exception
    splits_table = at.dataframe[3].value
    # two videos (fewer than splits): both in train, where each movement is closest to its 70% target
    assert list(splits_table["videos"]) == [2, 0, 0] and splits_table["reps"].sum() == 4
    assert len(at.get("plotly_chart")) == 2  # class balance + split distribution


def test_cut_task_then_browse_and_download(ws, real_videos):
    vid = library.add_file(ws, real_videos / SMALL).video_id
    store = ws.store()
    store.add_segment(vid, "thruster", 0, 9, "ann")
    store.add_segment(vid, "ohs", 10, 29, "ann")
    at = run()
    assert metric(at, "Clips to cut, re-cut or remove") == "2"
    assert any("No clips yet" in i.value for i in at.info)
    at.number_input(key="jobs").set_value(1)
    at.number_input(key="cache_frames").set_value(4)
    at.number_input(key="cache_size").set_value(64)
    at.button(key="run_all").click().run()  # cut, split, cache in a background task
    task = at.session_state["task:clips"]
    task.thread.join(timeout=90)
    assert task.error is None and len(clips.clips(store)) == 2
    at.run()
    assert not at.exception
    assert metric(at, "Clips cut") == "2" and metric(at, "Clips to cut, re-cut or remove") == "0"
    messages = [s.value for s in at.success]
    assert any("2 clips cut" in m for m in messages) and any("Splits made" in m for m in messages)
    assert any("Cache n4_64x64_crop: 2 clips computed" in m for m in messages)
    assert any("Training cache `n4_64x64_crop`: 2/2 clips" in c.value for c in at.caption)
    assert at.selectbox(key="clip_pick").options and at.get("video")
    buttons = at.get("download_button")
    assert len(buttons) == 3
