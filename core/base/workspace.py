"""Where a workspace lives on disk and how paths inside it are kept inside it."""
from __future__ import annotations

from core.base.errors import WorkbenchError
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_WORKSPACE = PROJECT_ROOT / "data"


class PathError(WorkbenchError, ValueError):
    """A path that would leave the workspace (e.g. one with '../')."""


def resolve_workspace(arg: str | os.PathLike | None = None) -> Path:
    """The workspace folder: the argument, else $WORKSPACE, else `data/` in the project."""
    chosen = arg or os.environ.get("WORKSPACE") or DEFAULT_WORKSPACE
    root = Path(chosen).expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise PathError(f"The workspace {root} is a file, not a folder: give a folder (it is created if missing).")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PathError(f"Cannot create the workspace folder {root}: {exc.strerror or exc}.") from None
    return root


def inside(root: Path, relative: str | os.PathLike) -> Path:
    """`root / relative`, refusing anything that resolves outside `root`."""
    root = Path(root).resolve()
    candidate = (root / relative).resolve()
    if candidate != root and root not in candidate.parents:
        raise PathError(f"{relative!s} points outside the workspace {root}")
    return candidate


class Workspace:
    """The folders of one workspace; the database is `core.base.store.Store(ws.db_path)`."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = resolve_workspace(root)
        for sub in (self.videos_dir, self.clips_dir, self.cache_dir, self.runs_dir, self.uploads_dir):
            try:
                sub.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise PathError(f"Cannot use the workspace {self.root}: {sub.name}/ cannot be created "
                                f"({exc.strerror or exc}).") from None

    db_path = property(lambda self: self.root / "workspace.db")
    videos_dir = property(lambda self: self.root / "videos")
    uploads_dir = property(lambda self: self.root / "uploads")
    clips_dir = property(lambda self: self.root / "clips")
    cache_dir = property(lambda self: self.root / "cache")
    runs_dir = property(lambda self: self.root / "runs")

    def path(self, relative: str | os.PathLike) -> Path:
        return inside(self.root, relative)

    def relative(self, path: str | os.PathLike) -> str:
        """A path stored in the database: relative to the workspace when inside it."""
        p = Path(path).resolve()
        try:
            return p.relative_to(self.root).as_posix()
        except ValueError:
            return str(p)

    def absolute(self, stored: str) -> Path:
        p = Path(stored)
        return p if p.is_absolute() else self.root / p

    def store(self):
        from core.base.store import Store

        return Store(self.db_path)
