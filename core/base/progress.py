"""The one progress and cancel contract of every long operation (cut, cache, download, train,
analyse, pose):

- ``progress(done, total, text)``: called as work advances; ``total`` may be 0 when unknown.
- ``cancel``: a ``threading.Event`` (or anything with ``is_set()``); the operation calls
  ``check_cancel(cancel)`` between units of work, which raises `Cancelled`.

Pages turn both into a progress bar and a Stop button in one place (``ui.tasks``)."""
from __future__ import annotations

from typing import Callable, Protocol

from core.base.errors import Cancelled

Progress = Callable[[int, int, str], None]


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


def is_cancelled(cancel: CancelFlag | Callable[[], bool] | None) -> bool:
    if cancel is None:
        return False
    is_set = getattr(cancel, "is_set", None)
    return bool(is_set() if callable(is_set) else cancel())


def check_cancel(cancel: CancelFlag | None, what: str = "The operation") -> None:
    if is_cancelled(cancel):
        raise Cancelled(f"{what} was cancelled.")


def report(progress: Progress | None, done: int, total: int, text: str = "") -> None:
    if progress is not None:
        progress(int(done), int(total), str(text))


def print_progress(done: int, total: int, text: str = "") -> None:
    """The CLI's progress printer: one line per update on stderr."""
    import sys

    share = f"{100 * done / total:5.1f}%" if total else f"{done}"
    print(f"\r{share} {text}"[:120].ljust(60), end="" if total and done < total else "\n",
          file=sys.stderr, flush=True)
