"""AppTest of the Evaluate page on a workspace with real clips and stored predictions.

The predictions are written into the run folder with the fingerprint `predict_split` computes, so
the page uses them without loading a model (no training code needed). Expected numbers by hand:

    clip                 true      p(deadlift) p(ohs) p(thruster)  predicted  right?
    deadlift/deadlift_1  deadlift  .6          .3     .1           deadlift   yes
    ohs/ohs_1            ohs       .1          .7     .2           ohs        yes
    ohs/ohs_2            ohs       .2          .3     .5           thruster   no
    thruster/thruster_1  thruster  .1          .2     .7           thruster   yes
    thruster/thruster_2  thruster  .05         .15    .8           thruster   yes

    top-1 4/5 = 80.0%; top-3 (3 movements) 100.0%; mean class accuracy (1 + 1/2 + 1) / 3 = 83.3%
    ECE: confidences .6 .7 .5 .7 .8, each alone in its 1/15 bin except the two .7 (both right):
         (|1-.6| + |1-.7| + |0-.5| + |1-.7| + |1-.8|) / 5 = 1.7 / 5 = 0.340
    largest confusion: ohs -> thruster (1 clip: ohs_2), chosen by default
    p(true) table: thruster mean .75, deadlift .6, ohs .5 (sorted by mean)
"""
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.base.workspace import Workspace
from core.evaluation import predictions as preds
from core.modeling import registry
from tests.test_evaluate import make_clip_workspace, register_model, store_predictions
from tests.apptest import page_test

PAGE = "app_pages/5_Evaluate.py"
PROBS = np.array([[.6, .3, .1], [.1, .7, .2], [.2, .3, .5], [.1, .2, .7], [.05, .15, .8]], dtype=np.float32)
# a second model: gets ohs_2 right as well, and deadlift_1 wrong (-> ohs)
PROBS_B = np.array([[.3, .6, .1], [.1, .7, .2], [.2, .5, .3], [.1, .2, .7], [.05, .15, .8]], dtype=np.float32)


@pytest.fixture(scope="module")
def base_ws(tmp_path_factory):
    from tests.conftest import REAL_VIDEOS

    ws = make_clip_workspace(tmp_path_factory.mktemp("evalpage"), REAL_VIDEOS)
    register_model(ws, "model-a", run_id="run-a")
    store_predictions(ws, "model-a", PROBS)
    return ws


@pytest.fixture
def ws(base_ws, monkeypatch):
    monkeypatch.setenv("WORKSPACE", str(base_ws.root))
    return base_ws


def run(**state) -> AppTest:
    """The page, with model-a chosen unless `model` says otherwise (others are registered by later tests)."""
    state.setdefault("model", "model-a")
    at = page_test(PAGE, default_timeout=120)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def frame(at, *columns):
    """The first table showing these columns (st.dataframe without selection carries no key in AppTest)."""
    return next(d.value for d in at.dataframe if set(columns) <= set(d.value.columns))


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_no_models_is_a_message_not_a_stack_trace(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSPACE", str(tmp_path / "empty"))
    Workspace(tmp_path / "empty")
    at = page_test(PAGE, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert any("No models registered yet" in i.value for i in at.info)


def test_headline_numbers_equal_the_hand_computed_ones(ws):
    at = run()
    assert at.selectbox(key="model").value == "model-a" and at.selectbox(key="split").value == "test"
    assert metric(at, "Top-1 accuracy") == "80.0%"
    assert metric(at, "Top-3 accuracy") == "100.0%"
    assert metric(at, "Mean class accuracy") == "83.3%"
    assert metric(at, "Clips") == "5"
    assert metric(at, "ECE") == "0.340"
    rep = preds.load_predictions(ws, "model-a", "test").report()
    ci = rep["top1_ci"]
    assert any(f"{ci['low'] * 100:.1f}% – {ci['high'] * 100:.1f}%" in c.value and "1000 resamples" in c.value
               for c in at.caption)
    assert any("(stored)" in c.value for c in at.caption)


def test_confusion_cell_lists_its_clips_and_the_selector_changes_it(ws):
    at = run()
    # default: the largest off-diagonal cell, ohs predicted as thruster
    assert at.selectbox(key="cell_true").value == "ohs" and at.selectbox(key="cell_pred").value == "thruster"
    assert metric(at, "Clips in this cell") == "1"
    table = frame(at, "clip", "top-5")
    assert table["clip"].tolist() == ["clips/ohs/ohs_2.mp4"]
    assert table["p(ohs)"].tolist() == [pytest.approx(.3, abs=1e-4)]
    assert table["top-5"].tolist() == ["thruster 0.50 · ohs 0.30 · deadlift 0.20"]
    assert any("clips/ohs/ohs_2.mp4" in c.value and "thruster: 0.500" in c.value for c in at.caption)
    assert len(at.get("video")) == 1

    at.selectbox(key="cell_true").set_value("thruster").run()
    assert not at.exception
    assert metric(at, "Clips in this cell") == "2"
    assert frame(at, "clip", "top-5")["clip"].tolist() == ["clips/thruster/thruster_1.mp4",
                                                                     "clips/thruster/thruster_2.mp4"]
    assert len(at.get("video")) == 2

    at.selectbox(key="cell_true").set_value("deadlift").run()
    at.selectbox(key="cell_pred").set_value("ohs").run()
    assert metric(at, "Clips in this cell") == "0"
    assert any("No clip of deadlift was predicted as ohs" in i.value for i in at.info)

    at.radio(key="cm_mode").set_value("rates").run()
    assert not at.exception


def test_tables_show_the_study_figures(ws):
    at = run()
    prob = frame(at, "movement", "n", "mean", "sd")
    assert prob["movement"].tolist() == ["thruster", "deadlift", "ohs"]
    assert prob["mean"].tolist() == pytest.approx([.75, .6, .5], abs=1e-6)
    assert prob["sd"].iloc[0] == pytest.approx(np.std([.7, .8], ddof=1), abs=1e-6) and np.isnan(prob["sd"].iloc[1])
    per = frame(at, "movement", "precision", "recall", "f1").set_index("movement")
    assert per.loc["ohs", "recall"] == .5 and per.loc["thruster", "precision"] == pytest.approx(2 / 3)
    assert at.selectbox(key="dist_movement").options == ["deadlift", "ohs", "thruster"]


def test_compare_two_models(ws):
    if "model-b" not in {m["id"] for m in registry.list_models(ws.store())}:
        register_model(ws, "model-b", run_id="run-b")
        store_predictions(ws, "model-b", PROBS_B)
    at = run()
    at.selectbox(key="compare_model").set_value("model-b").run()
    assert not at.exception
    head = frame(at, "metric", "a", "b", "diff").set_index("metric")
    assert head.loc["top1", "a"] == pytest.approx(.8) and head.loc["top1", "b"] == pytest.approx(.8)
    assert head.loc["top1", "diff"] == pytest.approx(0, abs=1e-12)
    per = frame(at, "movement", "recall_a", "recall_diff").set_index("movement")
    assert per.loc["ohs", "recall_diff"] == pytest.approx(.5) and per.loc["deadlift", "recall_diff"] == pytest.approx(-1)
    assert any("only model-a right 1, only model-b right 1" in c.value for c in at.caption)


def test_missing_predictions_offer_a_run_and_an_unloadable_model_is_a_message(ws):
    if "model-c" not in {m["id"] for m in registry.list_models(ws.store())}:
        register_model(ws, "model-c", run_id="run-c")  # no stored predictions; its "weights" load nowhere
    at = run(model="model-c")
    assert any("has not been run on the 5 clips" in i.value for i in at.info)
    at.button(key="predict_main").click().run()
    assert not at.exception
    assert any("model-c" in e.value for e in at.error)
