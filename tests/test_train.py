"""Training (core/train.py) on a tiny cache cut from real videos: loss goes down, metrics and run folder,
resume after SIGKILL without duplicated steps, export + registration loadable by core.modeling.movinet.load_model,
configuration (presets, files, flags) and clear errors."""
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from core.base.workspace import PROJECT_ROOT, Workspace
from core.modeling import config
from core.modeling import train as tr

VIDEOS = ("kbtrainer__front_squat_.mp4", "kbtrainer__backSquats.mp4", "kbtrainer__pushUps.mp4")
MOVES = ("thruster", "ohs", "deadlift")
# a0 at 4 frames of 32x32: a few seconds per step on two cores, even under load
TINY = {"model": "a0", "variant": "base", "frames": 4, "resolution": 32, "batch_size": 4, "optimizer": "adam",
        "lr": 0.003, "schedule": "constant", "warmup_epochs": 0, "label_smoothing": 0.0, "dropout": 0.0,
        "augment": "none", "bn_momentum": 0.5, "cache_jobs": 1, "seed": 1}


def make_tiny_ws(root, real_videos) -> Workspace:
    """Three short real videos, 6 reps each (2 per movement: thruster, ohs, deadlift), cut into clips;
    splits by video: two videos train (12 clips), one val (6 clips), none test."""
    from core.dataset.clips import cut_clips
    from core.dataset.splits import make_splits
    from core.media import library

    ws = Workspace(root)
    store = ws.store()
    for name in VIDEOS:
        vid = library.add_file(ws, real_videos / name).video_id
        for i in range(6):
            start = 10 + i * 40
            store.add_segment(vid, MOVES[i % 3], start, start + 15, "ann")
    report = cut_clips(ws)
    assert not report.problems, report.problems
    make_splits(store, seed=0, ratios=(0.6, 0.4, 0.0))
    return ws


@pytest.fixture(scope="module")
def tiny_ws(tmp_path_factory):
    from tests.conftest import REAL_VIDEOS

    assert REAL_VIDEOS.is_dir(), f"real videos expected at {REAL_VIDEOS}"
    return make_tiny_ws(tmp_path_factory.mktemp("trainws"), REAL_VIDEOS)


def steps_of(rows):
    return [r["step"] for r in rows if r["kind"] == "step"]


def epochs_of(rows):
    return [r["epoch"] for r in rows if r["kind"] == "epoch"]


# ---------------------------------------------------------------------------------------------
# configuration (no TensorFlow)
# ---------------------------------------------------------------------------------------------

def test_presets_config_files_and_flags_in_order(tmp_path):
    study = config.resolve_config("study")
    assert (study["model"], study["variant"], study["frames"], study["resolution"], study["batch_size"],
            study["epochs"], study["optimizer"], study["lr"], study["schedule"], study["label_smoothing"],
            study["pretrained"]) == ("a2", "base", 10, 224, 8, 10, "rmsprop", 0.01, "cosine", 0.1, "auto")
    demo = config.resolve_config("demo")
    assert demo["model"] == "a0" and demo["pretrained"] is None and demo["resolution"] <= 96
    # file over preset, flags over file; YAML and JSON
    (tmp_path / "c.yaml").write_text("preset: demo\nepochs: 3\nbatch-size: 2\nlr: 0.5\n")
    cfg = config.resolve_config(None, tmp_path / "c.yaml", {"lr": 0.1, "frames": None})
    assert (cfg["preset"], cfg["epochs"], cfg["batch_size"], cfg["lr"], cfg["frames"]) == ("demo", 3, 2, 0.1, 8)
    (tmp_path / "c.json").write_text(json.dumps({"model": "a1", "resolution": None}))
    assert config.resolve_config(None, tmp_path / "c.json")["resolution"] == 172  # native
    assert config.resolve_config(overrides={"pretrained": "none"})["pretrained"] is None


@pytest.mark.parametrize("bad, words", [
    ({"model": "a9"}, "Unknown model"), ({"optimizer": "lbfgs"}, "Unknown optimizer"),
    ({"frames": 0}, "frames"), ({"lr": 0}, "lr"), ({"label_smoothing": 1.0}, "label_smoothing"),
    ({"freeze": True}, "freeze needs pretrained"), ({"epochs": "x"}, "whole number"), ({"colour": 1}, "Unknown setting"),
])
def test_bad_settings_are_clear_errors(bad, words):
    with pytest.raises(config.TrainError, match=words):
        config.resolve_config(overrides=bad)


def test_no_clips_is_a_clear_error(tmp_path):
    ws = Workspace(tmp_path / "empty")
    with pytest.raises(config.TrainError, match="No clips to train on"):
        tr.prepare_data(ws, config.resolve_config(overrides=TINY), print)


# ---------------------------------------------------------------------------------------------
# training on the tiny cache
# ---------------------------------------------------------------------------------------------

def test_loss_goes_down_metrics_checkpoints_export_and_registration(tiny_ws):
    from core.dataset import splits
    from core.modeling import registry
    from core.modeling.movinet import load_model

    ws = tiny_ws
    lines = []
    cfg = config.resolve_config(overrides={**TINY, "epochs": 5})
    summary = tr.train(ws, cfg, "tiny-1", echo=lines.append)
    folder = ws.runs_dir / "tiny-1"
    rows = tr.read_metrics(ws, "tiny-1")
    steps = [r for r in rows if r["kind"] == "step"]
    # 12 train clips, batch 4: 3 steps per epoch; steps numbered 1..15, epochs 1..5, once each
    assert steps_of(rows) == list(range(1, 16)) and epochs_of(rows) == [1, 2, 3, 4, 5]
    assert all({"loss", "top1", "top5", "lr", "epoch"} <= set(r) for r in steps)
    ep = [r for r in rows if r["kind"] == "epoch"]
    assert all({"train_loss", "train_top1", "train_top5", "val_loss", "val_top1", "val_top5"} <= set(r) for r in ep)
    first, last = np.mean([r["loss"] for r in steps[:3]]), np.mean([r["loss"] for r in steps[-3:]])
    print("loss first epoch", first, "last epoch", last)
    assert last < 0.8 * first, (first, last)
    assert ep[-1]["train_loss"] < ep[0]["train_loss"]
    # run folder: config, log, TensorBoard events, latest + best checkpoints
    assert json.loads((folder / "config.json").read_text())["frames"] == 4
    log = (folder / "log.txt").read_text()
    assert "epoch 5/5 done" in log and "exported the best model" in log
    assert list((folder / "tb").glob("events.out.tfevents.*"))
    assert (folder / "ckpt" / "latest" / "checkpoint").exists() and (folder / "ckpt" / "best" / "checkpoint").exists()
    best_epoch = max(ep, key=lambda r: (r["val_top1"], -r["epoch"]))["epoch"]
    assert summary["best_epoch"] == best_epoch and summary["best_val_top1"] == pytest.approx(
        max(r["val_top1"] for r in ep))
    # the runs row (a plain, non-job run owns it)
    run = ws.store().run("tiny-1")
    assert run["status"] == "succeeded" and run["exit_code"] == 0 and run["summary"]["epochs_done"] == 5
    assert run["summary"]["model"] == "tiny-1"
    # exported to <ws>/models/<run_id>, registered (relative path), loadable, and evaluate finds it
    model_row = registry.resolve_model(ws.store(), "tiny-1")
    assert model_row["path"] == "models/tiny-1" and model_row["run_id"] == "tiny-1"
    assert model_row["labels"] == ws.store().labels()
    assert model_row["preprocessing"] == {"frames": 4, "resolution": 32, "crop": True, "focus": None}
    assert model_row["metrics"]["best_val_top1"] == pytest.approx(summary["best_val_top1"])
    folder_m = registry.model_dir(ws, model_row)
    assert folder_m == ws.root / "models" / "tiny-1" and (folder_m / "saved_model" / "saved_model.pb").exists()
    loaded = load_model(folder_m)
    assert loaded.labels == model_row["labels"] and loaded.frames == 4
    # the exported weights are the best epoch's: restoring the best checkpoint over them changes nothing
    import tensorflow as tf

    before = [w.numpy().copy() for w in loaded.model.weights]
    best = tf.train.latest_checkpoint(str(folder / "ckpt" / "best"))
    assert best.endswith(f"best-{best_epoch}")
    tf.train.Checkpoint(model=loaded.model).read(best).assert_existing_objects_matched()
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(before, loaded.model.weights))
    assert [m["id"] for m in registry.list_models(ws.store())] == ["tiny-1"]
    assert splits.current_splits(ws.store())  # untouched


def test_focus_and_cache_quality_reach_the_cache_and_the_exported_model(tiny_ws):
    from core.dataset import training_cache as cache
    from core.modeling import registry
    from core.modeling.movinet import load_model

    ws = tiny_ws
    cfg = config.resolve_config(overrides={**TINY, "epochs": 1, "focus": "motion", "cache_quality": 95,
                                       "saved_model": False})
    tr.train(ws, cfg, "tiny-focus", echo=lambda line: None)
    folder = cache.cache_dir(ws, 4, 32, True, "motion")
    assert folder.name == "n4_32x32_crop_motion"
    assert cache.read_manifest(folder)["setting"]["jpeg_quality"] == 95
    row = registry.resolve_model(ws.store(), "tiny-focus")
    assert row["preprocessing"]["focus"] == "motion" and registry.focus(row) == "motion"
    assert load_model(registry.model_dir(ws, row)).focus == "motion"
    with pytest.raises(config.TrainError, match="focus"):
        config.resolve_config(overrides={"focus": "faces"})


def test_resume_after_sigkill_continues_without_duplicated_steps(tiny_ws):
    """A CLI run (1 epoch) killed with SIGKILL after a mid-epoch checkpoint is resumed with epochs=2: it goes
    on from that checkpoint (epoch, step, data position), drops the metric lines written after it, and
    ends at epoch 2 with every step and epoch listed once."""
    from core.modeling import jobs

    ws = tiny_ws
    run_id = "tiny-kill"
    folder = ws.runs_dir / run_id
    # (no SavedModel at the end: the export itself is checked above; this keeps the test shorter)
    settings = {**TINY, "saved_model": False}
    (ws.root / "tiny.yaml").write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in settings.items()))
    cmd = [sys.executable, "-m", "core", "train", "--workspace", str(ws.root), "--config", str(ws.root / "tiny.yaml"),
           "--epochs", "1", "--checkpoint-every-steps", "1", "--run-id", run_id]
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 400
        # wait for the checkpoint after step 1 (mid-epoch 1), then kill at once
        while time.monotonic() < deadline and proc.poll() is None:
            if (folder / "ckpt" / "latest" / "checkpoint").exists():
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    before = tr.read_metrics(ws, run_id)
    assert steps_of(before)[:1] == [1] and not epochs_of(before)
    assert jobs.status(ws.store(), run_id) == "lost"  # the row knew its pid: the job system sees it gone

    stored = json.loads((folder / "config.json").read_text())
    assert stored["epochs"] == 1
    cfg = config.resolve_config(None, None, {"epochs": 2}, base=stored)
    lines = []
    summary = tr.train(ws, cfg, run_id, resume=True, echo=lines.append)
    rows = tr.read_metrics(ws, run_id)
    assert steps_of(rows) == list(range(1, 7)), steps_of(rows)  # 2 epochs x 3 steps, none twice
    assert epochs_of(rows) == [1, 2]
    resumed = next(line for line in lines if "resumed from" in line)
    assert "epoch 0 done" in resumed and "into epoch 1" in resumed
    assert summary["epochs_done"] == 2
    run = ws.store().run(run_id)
    assert run["status"] == "succeeded" and run["summary"]["epochs_done"] == 2
    log = (folder / "log.txt").read_text()
    assert "resumed from" in log and "epoch 2/2 done" in log
    assert json.loads((folder / "config.json").read_text())["epochs"] == 2
    assert ws.store().run(run_id)["summary"]["model"] == run_id


def test_existing_checkpoints_need_resume(tiny_ws):
    ws = tiny_ws
    folder = ws.runs_dir / "tiny-exists" / "ckpt" / "latest"
    folder.mkdir(parents=True)
    (folder / "checkpoint").write_text('model_checkpoint_path: "ckpt-1"\n')
    with pytest.raises(config.TrainError, match="--resume"):
        tr.train(ws, config.resolve_config(overrides=TINY), "tiny-exists", echo=lambda s: None)


def test_a_cli_training_run_stores_the_test_predictions_of_its_model(tmp_path):
    """The Evaluate page shows a freshly trained model's test figures at once (no "run the model")."""
    from core.cli.main import main
    from core.dataset.splits import make_splits
    from core.evaluation import predictions as preds
    from tests.conftest import REAL_VIDEOS

    ws = make_tiny_ws(tmp_path / "ws", REAL_VIDEOS)
    make_splits(ws.store(), seed=0, ratios=(0.34, 0.33, 0.33))  # one video each
    (tmp_path / "tiny.yaml").write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in
                                                {**TINY, "saved_model": False}.items()))
    assert main(["train", "--workspace", str(ws.root), "--config", str(tmp_path / "tiny.yaml"), "--epochs", "1",
                 "--run-id", "tiny-test-preds"]) == 0
    stored = preds.load_predictions(ws, "tiny-test-preds", "test")
    assert stored is not None and stored.n == 6 and stored.probs.shape == (6, len(ws.store().labels()))
