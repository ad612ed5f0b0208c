"""AppTest of the Predict page with a tiny model (MoViNet-A0, random weights, 4 frames at 32x32).

The page's top-5 table must show exactly what core.inference.predictor.predict_file gives for the same video.
"""
from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from core.inference import predictor as P  # noqa: E402
from core.base.workspace import Workspace  # noqa: E402
from tests.predict_helpers import export_tiny, make_clip_workspace  # noqa: E402
from tests.apptest import page_test

PAGE = "app_pages/6_Predict.py"


@pytest.fixture(scope="module")
def base_ws(tmp_path_factory):
    from tests.conftest import REAL_VIDEOS

    ws = make_clip_workspace(tmp_path_factory.mktemp("predictpage"), REAL_VIDEOS)
    export_tiny(ws, "tiny-page")
    return ws


@pytest.fixture
def ws(base_ws, monkeypatch):
    monkeypatch.setenv("WORKSPACE", str(base_ws.root))
    return base_ws


def run(**state) -> AppTest:
    at = page_test(PAGE, default_timeout=180)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def top_table(at):
    return next(d.value for d in at.dataframe if {"movement", "probability"} <= set(d.value.columns))


def test_no_models_is_a_friendly_message(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSPACE", str(tmp_path / "empty"))
    Workspace(tmp_path / "empty")
    at = run()
    assert any("No models registered yet" in i.value and "Train" in i.value for i in at.info)


def test_workspace_video_predict_shows_the_same_top5_as_predict_file(ws):
    at = run()
    assert at.selectbox(key="model").value == "tiny-page"
    assert any("Size limit" in c.value and "MB" in c.value for c in at.caption)      # upload is the default
    at.radio(key="source").set_value("video").run()
    assert not at.exception, at.exception
    video = ws.store().videos()[1]
    at.selectbox(key="video").set_value(video["id"]).run()
    assert len(at.get("video")) == 1                                                  # it plays
    at.button(key="predict").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    table = top_table(at)
    want = P.predict_file("tiny-page", ws.absolute(video["path"]), ws=ws)
    assert len(table) == 5
    assert table["movement"].tolist() == [r["movement"] for r in want["top"]]
    for got, exp in zip(table["probability"].tolist(), [r["probability"] for r in want["top"]]):
        assert abs(got - exp) <= 1e-6
    assert {m.label for m in at.metric} >= {"Decode", "Preprocess", "Model", "Total"}
    assert any("Engine **fast**" in c.value for c in at.caption)
    assert any(f"### {want['top'][0]['movement']}" in m.value for m in at.markdown)

    # a frame range
    at.checkbox(key="use_range").check().run()
    at.slider(key=f"range_{video['id']}").set_value((10, 40)).run()
    at.button(key="predict").click().run()
    assert not at.exception, at.exception
    want = P.predict_file("tiny-page", ws.absolute(video["path"]), ws=ws, start=10, end=40)
    got = top_table(at)["probability"].tolist()
    assert max(abs(a - r["probability"]) for a, r in zip(got, want["top"])) <= 1e-6
    assert any("frames 10–40" in c.value for c in at.caption)


def test_clip_source_and_reference_engine(ws):
    at = run(source="clip", engine="reference")
    clip = at.selectbox(key="clip").value
    at.button(key="predict").click().run()
    assert not at.exception, at.exception
    want = P.predict_clip(ws, clip, "tiny-page", engine="reference")
    got = top_table(at)["probability"].tolist()
    assert max(abs(a - r["probability"]) for a, r in zip(got, want["top"])) <= 1e-6
    assert any("Engine **reference**" in c.value for c in at.caption)


def test_a_model_that_cannot_load_is_a_message(ws):
    labels = ws.store().labels()
    folder = ws.root / "models" / "broken"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.json").write_text("{}")
    (folder / "labels.json").write_text(json.dumps(labels))
    (folder / "preprocessing.json").write_text(json.dumps({"frames": 4, "resolution": 32}))
    with ws.store().write() as con:
        con.execute("INSERT INTO models(id, path, labels, preprocessing, created_at) VALUES (?,?,?,?,?)",
                    ("broken", "models/broken", json.dumps(labels),
                     json.dumps({"frames": 4, "resolution": 32}), "2020-01-01"))
    try:
        at = run(model="broken")
        assert any("Cannot load model broken" in e.value for e in at.error)
    finally:
        with ws.store().write() as con:
            con.execute("DELETE FROM models WHERE id = 'broken'")
