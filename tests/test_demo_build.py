"""The demo build as one resumable job: steps in order, state in the status file the Home page shows,
a second run redoes nothing, one build at a time."""
import json
import os

from core.base.workspace import Workspace
from core.cli.main import main
from core.demo.build import LOCK_FILE, STATUS_FILE, read_status
from tests.apptest import page_test

SMALL = ["--seed", "3", "--videos", "6", "--width", "96", "--height", "64", "--fps", "10", "--reps", "60"]


def test_the_build_runs_its_steps_resumes_and_shows_on_home(tmp_path, monkeypatch, capsys):
    ws = Workspace(tmp_path / "w")
    assert main(["demo", *SMALL, "--steps", "render,dataset", "--workspace", str(ws.root)]) == 0
    status = read_status(ws)
    assert [(s["name"], s["state"]) for s in status["steps"]] == [
        ("pose", "skipped"), ("render", "done"), ("dataset", "done"), ("pose-reps", "skipped"),
        ("movinet", "skipped")]
    assert not status["running"]
    videos, clips = len(ws.store().videos()), ws.store().counts()["clips"]
    assert videos == 6 and clips > 0
    capsys.readouterr()
    assert main(["demo", *SMALL, "--steps", "render,dataset", "--workspace", str(ws.root)]) == 0
    assert "0 clips cut" in read_status(ws)["steps"][2]["text"]  # nothing redone
    assert len(ws.store().videos()) == videos and ws.store().counts()["clips"] == clips

    # while a build runs, Home shows its steps and every page's sidebar says what is going on
    status = json.loads((ws.root / STATUS_FILE).read_text())
    status["pid"] = os.getpid()
    status["steps"][0].update(state="running", done=40, total=100, text="epoch 4/10")
    (ws.root / STATUS_FILE).write_text(json.dumps(status))
    monkeypatch.setenv("WORKSPACE", str(ws.root))
    at = page_test("app_pages/0_Home.py")
    at.run()
    assert not at.exception
    assert any("Demo build — running" in h.value for h in at.subheader)
    assert any("Demo build: train the pose model" in c.value for c in at.sidebar.caption)


def test_one_build_at_a_time(tmp_path, capsys):
    import fcntl

    ws = Workspace(tmp_path / "w")
    with open(ws.root / LOCK_FILE, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main(["demo", *SMALL, "--steps", "render", "--workspace", str(ws.root)]) == 0
    assert "already running" in capsys.readouterr().err and ws.store().videos() == []
