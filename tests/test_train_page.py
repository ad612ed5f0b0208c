"""AppTest of the Train page: presets fill the form; a job launched from the page's button shows its log,
curves and the runs table while it runs; Stop ends it, and the model trained so far is registered."""
import time

import pytest
from streamlit.testing.v1 import AppTest

from core.modeling import jobs
from core.modeling import config
from core.modeling import train as tr
from core.base.workspace import Workspace
from core.modeling import registry
from tests.test_train import TINY, make_tiny_ws
from tests.apptest import page_test

PAGE = "app_pages/4_Train.py"


@pytest.fixture(scope="module")
def base_ws(tmp_path_factory):
    from tests.conftest import REAL_VIDEOS

    return make_tiny_ws(tmp_path_factory.mktemp("trainpage"), REAL_VIDEOS)


@pytest.fixture
def ws(base_ws, monkeypatch):
    monkeypatch.setenv("WORKSPACE", str(base_ws.root))
    return base_ws


def page(**state) -> AppTest:
    at = page_test(PAGE, default_timeout=120)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def test_empty_workspace_is_a_message(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSPACE", str(tmp_path / "empty"))
    Workspace(tmp_path / "empty")
    at = page()
    assert any("No clips yet" in w.value for w in at.warning)
    assert at.button(key="launch").disabled


def test_choosing_a_preset_fills_the_fields(ws):
    at = page()
    assert at.selectbox(key="f_preset").value == "demo"
    assert at.selectbox(key="f_model").value == "a0" and at.radio(key="f_pretrained").value == "none"
    at.selectbox(key="f_preset").set_value("study").run()
    assert not at.exception, at.exception
    assert (at.selectbox(key="f_model").value, at.number_input(key="f_frames").value,
            at.number_input(key="f_resolution").value, at.number_input(key="f_batch_size").value,
            at.number_input(key="f_epochs").value, at.selectbox(key="f_optimizer").value,
            at.number_input(key="f_lr").value, at.selectbox(key="f_schedule").value,
            at.number_input(key="f_label_smoothing").value, at.radio(key="f_pretrained").value) == \
        ("a2", 10, 224, 8, 10, "rmsprop", 0.01, "cosine", 0.1, "auto")
    at.selectbox(key="f_preset").set_value("analyze").run()
    assert not at.exception, at.exception
    assert (at.number_input(key="f_windows").value, at.radio(key="f_pretrained").value,
            at.selectbox(key="f_pretrained_model").value) == (1000, "model", "best")
    at.radio(key="f_backend").set_value("ray").run()
    assert at.text_input(key="f_address")  # the cluster address field appears


def wait_for(pred, timeout=300, poll=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(poll)
    return False


def test_launch_watch_live_log_and_curves_then_stop(ws):
    store = ws.store()
    # the form, set to a tiny model for many epochs (so it is still running when we look and stop it)
    tiny = config.resolve_config(overrides=TINY)  # normalised types (floats where the form has floats)
    form = {f"f_{k}": v for k, v in tiny.items() if k in ("model", "variant", "frames", "resolution", "batch_size",
                                                           "optimizer", "lr", "schedule", "label_smoothing",
                                                           "warmup_epochs", "dropout", "augment", "seed")}
    at = page(f_preset="custom", **form, f_epochs=200)
    at.button(key="launch").click().run()
    assert not at.exception, at.exception
    assert any("Launched run" in s.value for s in at.success), [e.value for e in at.error]
    run_id = at.session_state["train_run"]
    run = store.run(run_id)
    assert run["status"] == "running" and run["backend"] == "local" and run["kind"] == "train"
    assert run["job"]["argv"][1:4] == ["-m", "core", "train"] and "--config" in run["job"]["argv"]
    written = __import__("json").loads((ws.runs_dir / run_id / "config.json").read_text())
    assert (written["frames"], written["resolution"], written["epochs"], written["preset"]) == (4, 32, 200, None)
    try:
        # wait for the first epoch to end (log lines, metrics, a checkpoint to export from)
        assert wait_for(lambda: any(r["kind"] == "epoch" for r in tr.read_metrics(ws, run_id))
                        or jobs.status(store, run_id) not in jobs.ACTIVE), "no epoch finished"
        assert jobs.status(store, run_id) == "running", (ws.runs_dir / run_id / "log.txt").read_text()[-3000:]
        at = page(train_run=run_id)
        log = "\n".join(c.value for c in at.code)
        assert f"run {run_id}" in log and "epoch 1/200" in log
        assert at.get("plotly_chart"), "live curves expected"
        table = next(d.value for d in at.dataframe if "best_val_top1" in d.value.columns)
        row = table[table["run"] == run_id].iloc[0]
        assert row["status"] == "running" and row["epochs"].startswith(("1/", "2/", "3/"))
        assert next(m.value for m in at.metric if m.label == "Status") == "running"
        # stop from the page: the trainer saves a checkpoint and registers its best model so far
        at.button(key="stop_run").click().run()
        assert not at.exception, at.exception
        assert wait_for(lambda: jobs.status(store, run_id) not in jobs.ACTIVE, 60)
    finally:
        if jobs.status(store, run_id) in jobs.ACTIVE:
            jobs.stop(store, run_id, grace=2)
    assert jobs.status(store, run_id) == "stopped"
    log_text = (ws.runs_dir / run_id / "log.txt").read_text()
    assert "stopped (SIGTERM)" in log_text and "registered as model" in log_text
    assert [m["id"] for m in registry.list_models(store)] == [run_id]
    at = page(train_run=run_id)
    table = next(d.value for d in at.dataframe if "best_val_top1" in d.value.columns)
    row = table[table["run"] == run_id].iloc[0]
    assert row["status"] == "stopped" and row["registered_model"] == run_id
    assert at.button(key=f"eval_{run_id}")  # a way to Evaluate it
    assert at.button(key="resume_run")  # stopped with a checkpoint: resumable
