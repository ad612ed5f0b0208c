"""`make test` on a machine without Chromium: tools/browser-deps.sh installs it with apt-get when root,
else stops with one clear line; the browser tests fail (never skip) when it is missing.

The script runs with CHROMIUM pointing where no browser is and a PATH holding only stand-ins for
`id` (root or not) and `apt-get` (which logs its arguments, and "installs" by creating $CHROMIUM),
so no branch touches the real system.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "browser-deps.sh"
BASH = "/bin/bash"
ADVICE = "sudo apt-get install -y chromium fonts-dejavu-core"


def run_script(tmp_path, *, uid: int, apt: str | None, chromium_present: bool = False):
    """Run the script; apt: None (no apt-get), 'installs', 'installs elsewhere' or 'fails'."""
    fake = tmp_path / "bin"
    fake.mkdir()
    chromium = tmp_path / "chromium"
    if chromium_present:
        chromium.write_text("#!/bin/sh\n")
        chromium.chmod(0o755)
    log = tmp_path / "apt.log"
    (fake / "id").write_text(f"#!{BASH}\necho {uid}\n")
    if apt is not None:
        make = f'printf "#!/bin/sh\\n" > "{chromium}"; /bin/chmod +x "{chromium}"' if apt == "installs" else ":"
        (fake / "apt-get").write_text(f'#!{BASH}\necho "$@" >> "{log}"\n'
                                      + (f'[ "$1" = install ] && {{ {make}; }}\n' if apt != "fails" else "exit 100\n")
                                      + "exit 0\n")
    for f in fake.iterdir():
        f.chmod(0o755)
    env = {"PATH": str(fake), "CHROMIUM": str(chromium), "HOME": str(tmp_path)}
    out = subprocess.run([BASH, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30)
    calls = log.read_text().splitlines() if log.exists() else []
    return out, calls


def test_chromium_present_is_nothing_to_do(tmp_path):
    out, calls = run_script(tmp_path, uid=0, apt="installs", chromium_present=True)
    assert (out.returncode, out.stdout, out.stderr, calls) == (0, "", "", [])


@pytest.mark.parametrize("uid,apt", [(1000, "installs"), (0, None)])
def test_missing_chromium_without_root_or_apt_is_one_clear_line(tmp_path, uid, apt):
    out, calls = run_script(tmp_path, uid=uid, apt=apt)
    assert out.returncode == 1 and calls == [] and out.stdout == ""
    assert out.stderr.count("\n") == 1 and ADVICE in out.stderr and str(tmp_path / "chromium") in out.stderr


def test_missing_chromium_as_root_is_installed_with_apt(tmp_path):
    out, calls = run_script(tmp_path, uid=0, apt="installs")
    assert out.returncode == 0, out.stderr
    assert calls == ["update -qq", "install -y -qq chromium fonts-dejavu-core"]
    assert os.access(tmp_path / "chromium", os.X_OK)


@pytest.mark.parametrize("apt,words", [("fails", "installing it with apt-get failed"),
                                       ("installs elsewhere", "there is no Chromium at")])
def test_an_apt_install_that_gives_no_chromium_says_so(tmp_path, apt, words):
    out, calls = run_script(tmp_path, uid=0, apt=apt)
    assert out.returncode == 1 and calls
    assert out.stderr.count("\n") == 1 and words in out.stderr and "CHROMIUM=" in out.stderr


def test_the_browser_helper_fails_rather_than_skips_without_chromium(tmp_path, monkeypatch):
    from tests import browser

    monkeypatch.setattr(browser, "CHROMIUM", str(tmp_path / "no-chromium"))
    with pytest.raises(FileNotFoundError, match="Chromium not found at .*no-chromium"):
        with browser.chromium():
            pass
    for name in ("browser.py", "test_browser_label.py", "test_security.py"):
        src = (ROOT / "tests" / name).read_text()
        assert "pytest.skip" not in src and "importorskip" not in src and "mark.skip" not in src, name
