"""The two BlazePose model files, fetched once from PyPI and checked by hash.

The files are MediaPipe's own BlazePose models as shipped inside the ``mediapipe==0.10.21``
wheel on PyPI:

- ``pose_detection.tflite``: the person detector (SSD, 224x224 input, 2254 anchors; a face box
  plus four keypoints per person: mid hip, full-body size/rotation point, mid shoulder,
  upper-body size/rotation point);
- ``pose_landmark_full.tflite``: the landmark model (256x256 crop of one person; 33 landmarks
  plus 6 auxiliary ones with x, y, z, visibility, presence; a pose flag; heatmaps; segmentation;
  world coordinates).

Licence: both files are part of MediaPipe, Copyright The MediaPipe Authors (Google), licensed
under the Apache License 2.0 (https://www.apache.org/licenses/LICENSE-2.0). The wheel's LICENSE
file is copied next to them as ``LICENSE.mediapipe``.

The ``mediapipe`` package itself is never installed (its protobuf pin conflicts with
TensorFlow's): `ensure_models` downloads the wheel with pip into a temporary folder, takes only
the two files out of it (a wheel is a zip), checks their sha256 against the hashes below and
writes them atomically into ``models/pose/`` (git-ignored). The tflite files are the same in
every platform's wheel; the one for CPython 3.11 / manylinux_2_28 x86_64 is the one asked for,
whatever machine runs this, so the hashes always match.

    python -m core.pose.models      # what `make install` runs; prints where the files are
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from core.base.errors import PoseError
from core.base.workspace import PROJECT_ROOT

__all__ = ["WHEEL", "MODELS", "DEFAULT_DEST", "ensure_models", "model_paths", "verify", "sha256"]

WHEEL = "mediapipe==0.10.21"
_WHEEL_PLATFORM = ("--platform", "manylinux_2_28_x86_64", "--python-version", "3.11",
                   "--implementation", "cp", "--abi", "cp311")

# name -> (path inside the wheel, sha256 of the file), measured on mediapipe-0.10.21-cp311-cp311-
# manylinux_2_28_x86_64.whl from PyPI.
MODELS: dict[str, tuple[str, str]] = {
    "pose_detection": (
        "mediapipe/modules/pose_detection/pose_detection.tflite",
        "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c"),
    "pose_landmark_full": (
        "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"),
}
_LICENSE_SUFFIX = ".dist-info/LICENSE"

DEFAULT_DEST = PROJECT_ROOT / "models" / "pose"

# (path, size, mtime_ns) -> sha256: a file is hashed once per process unless it changes.
_HASHED: dict[tuple[str, int, int], str] = {}


def sha256(path: Path) -> str:
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASHED:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _HASHED[key] = h.hexdigest()
    return _HASHED[key]


def _file_name(name: str) -> str:
    return Path(MODELS[name][0]).name


def verify(path: Path, name: str) -> bool:
    """Whether `path` is the model file `name` (exists and has its sha256)."""
    path = Path(path)
    return path.is_file() and sha256(path) == MODELS[name][1]


def _status(dest: Path) -> tuple[dict[str, Path], list[str]]:
    paths = {name: dest / _file_name(name) for name in MODELS}
    bad = [name for name, p in paths.items() if not verify(p, name)]
    return paths, bad


def model_paths(dest: Path | str | None = None) -> dict[str, Path]:
    """The model files' paths; PoseError when one is missing or not the expected file."""
    dest = Path(dest) if dest is not None else DEFAULT_DEST
    paths, bad = _status(dest)
    if bad:
        what = ", ".join(f"{_file_name(n)} ({'corrupt' if paths[n].exists() else 'missing'})"
                         for n in bad)
        raise PoseError(f"The pose model files are not in place in {dest}: {what}. "
                        f"Run `make install` (or `python -m core.pose.models`) once with access "
                        f"to PyPI.")
    return paths


def _download_wheel(tmp: Path) -> Path:
    argv = [sys.executable, "-m", "pip", "download", WHEEL, "--no-deps", "--only-binary=:all:",
            *_WHEEL_PLATFORM, "--disable-pip-version-check", "--timeout", "30", "--retries", "2",
            "-q", "-d", str(tmp)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise PoseError(f"Could not fetch the pose models: `pip download {WHEEL}` did not "
                        f"finish ({err}).") from err
    wheels = sorted(tmp.glob("mediapipe-*.whl"))
    if done.returncode != 0 or not wheels:
        lines = [ln.strip() for ln in (done.stderr or done.stdout or "").splitlines() if ln.strip()]
        last = lines[-1] if lines else f"exit status {done.returncode}"
        raise PoseError(f"Could not fetch the pose models: PyPI is unreachable or refused "
                        f"`pip download {WHEEL}` ({last[:200]}).")
    return wheels[0]


def _write_atomic(data: bytes, target: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _extract(wheel: Path, dest: Path, names: list[str]) -> None:
    try:
        with zipfile.ZipFile(wheel) as z:
            members = set(z.namelist())
            for name in names:
                inner, expected = MODELS[name]
                if inner not in members:
                    raise PoseError(f"{wheel.name} does not contain {inner}.")
                data = z.read(inner)
                got = hashlib.sha256(data).hexdigest()
                if got != expected:
                    raise PoseError(f"{inner} in {wheel.name} has sha256 {got}, expected "
                                    f"{expected}: not the model this code was written for.")
                _write_atomic(data, dest / _file_name(name))
            lic = next((m for m in members if m.endswith(_LICENSE_SUFFIX)), None)
            if lic is not None:
                _write_atomic(z.read(lic), dest / "LICENSE.mediapipe")
    except zipfile.BadZipFile as err:
        raise PoseError(f"{wheel.name} is not a readable wheel ({err}).") from err


def ensure_models(dest: Path | str | None = None, *, wheel: Path | str | None = None
                  ) -> dict[str, Path]:
    """The model files in `dest` (default ``models/pose/``), fetched first when missing or corrupt.

    Files already present with the right sha256 are reused without any network access. Otherwise
    the mediapipe wheel is downloaded from PyPI (or `wheel`, a local copy of it, is used), the
    missing files are taken out of it, checked and written atomically. PoseError when PyPI
    cannot be reached, or when the wheel's files are not the expected ones.
    """
    dest = Path(dest) if dest is not None else DEFAULT_DEST
    paths, bad = _status(dest)
    if not bad:
        return paths
    dest.mkdir(parents=True, exist_ok=True)
    if wheel is not None:
        _extract(Path(wheel), dest, bad)
    else:
        with tempfile.TemporaryDirectory(prefix="mediapipe-wheel-") as tmp:
            _extract(_download_wheel(Path(tmp)), dest, bad)
    return model_paths(dest)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    dest = Path(argv[0]) if argv else None
    try:
        paths = ensure_models(dest)
    except PoseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for name, p in paths.items():
        print(f"{name}: {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
