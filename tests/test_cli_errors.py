"""Careless command lines get one clear line and exit 2 — never a traceback — and change nothing."""
import subprocess
import sys

import pytest

from core.base.workspace import PROJECT_ROOT, Workspace
from core.cli.main import main


@pytest.mark.parametrize("videos", ["0", "-1", "3"])
def test_demo_with_too_few_videos_is_refused_before_any_work(tmp_path, capsys, videos):
    assert main(["demo", "--videos", videos, "--workspace", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err
    assert "n_videos >= 6" in err and "Traceback" not in err
    assert Workspace(tmp_path / "w").store().videos() == []


def test_split_ratios_that_are_not_numbers_are_refused(tmp_path, capsys):
    assert main(["splits", "make", "--ratios", "nan", "1", "1", "--workspace", str(tmp_path / "w")]) == 2
    assert "finite" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["export-manifest", "OUT"], ["labels", "export-supervisely", "OUT"],
                                  ["videos", "list"]])
def test_a_workspace_that_is_a_file_is_refused(tmp_path, capsys, argv):
    f = tmp_path / "afile"
    f.write_text("not a workspace")
    argv = [a.replace("OUT", str(tmp_path / "out")) for a in argv]
    assert main([*argv, "--workspace", str(f)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert f.read_text() == "not a workspace"


def test_a_workspace_that_cannot_be_created_is_refused(capsys):
    assert main(["videos", "list", "--workspace", "/proc/no-such-workspace"]) == 2
    assert "Cannot create the workspace folder" in capsys.readouterr().err


def test_output_piped_into_head_ends_quietly(tmp_path):
    ws = Workspace(tmp_path / "w")
    store = ws.store()
    info = {"frames": 100000, "fps": 30.0, "width": 64, "height": 48, "duration_s": 3333.3, "codec": "h264",
            "vfr": False, "rotation": 0}
    vid = store.add_video(path="videos/v.mp4", sha256="0" * 64, info=info)
    store.add_segments(vid, [{"label": "thruster", "start": 10 * i, "end": 10 * i + 8} for i in range(3000)], "ann")
    proc = subprocess.Popen([sys.executable, "-m", "core", "labels", "list", "--workspace", str(ws.root)],
                            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # as `| head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0 and "Traceback" not in err, err
