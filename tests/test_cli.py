"""The command line, run as a user would: `python -m core …` in a subprocess."""
import json
import os
import subprocess
import sys

from core.base.workspace import PROJECT_ROOT

SMALL = "kbtrainer__front_squat_.mp4"


def cli(*args, workspace=None, check=True):
    env = dict(os.environ)
    if workspace:
        env["WORKSPACE"] = str(workspace)
    proc = subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_probe_json_has_the_documented_keys(real_videos):
    out = json.loads(cli("probe", real_videos / SMALL, "--json").stdout)
    assert {"frames", "fps", "width", "height", "duration_s", "codec", "vfr"} <= set(out)
    assert out["frames"] > 0 and out["codec"] == "h264" and out["vfr"] is False


def test_probe_of_a_bad_file_is_a_clear_error_not_a_traceback(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is not a video")
    proc = cli("probe", bad, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "notes.mp4" in proc.stderr and "Traceback" not in proc.stderr


def test_videos_add_and_list(real_videos, tmp_path):
    ws = tmp_path / "ws"
    add = cli("videos", "add", real_videos / SMALL, real_videos / SMALL, "--workspace", ws)
    assert "added as video 1" in add.stdout and "already in the workspace" in add.stdout
    listed = json.loads(cli("videos", "list", "--json", workspace=ws).stdout)
    assert len(listed) == 1 and listed[0]["path"].startswith("videos/")
    bad = tmp_path / "x.gif"
    bad.write_bytes(b"GIF89a broken")
    proc = cli("videos", "add", bad, "--workspace", ws, check=False)
    assert proc.returncode == 1 and "x.gif" in proc.stdout
