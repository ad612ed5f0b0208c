"""Long work (downloads, demo builds, pose tracks) in a background thread that survives reruns and can
be cancelled: the one place where core's progress contract (`progress(done, total, text)`, `cancel`
event; core.base.progress) becomes a progress bar with a Cancel button."""
from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import streamlit as st

from core.base.errors import WorkbenchError


@dataclass
class Task:
    label: str
    cancel: threading.Event = field(default_factory=threading.Event)
    progress: float = 0.0
    status: str = "starting…"
    result: Any = None
    error: str | None = None
    thread: threading.Thread | None = None

    def report(self, done: int, total: int, text: str = "") -> None:
        """The core progress callback (core.base.progress): pass `task.report` and `task.cancel`."""
        self.progress = min(1.0, done / total) if total else 0.0
        self.status = text or f"{done}/{total}"

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


def start(key: str, label: str, work: Callable[[Task], Any]) -> Task:
    """Run `work(task)` in a thread; it reports through task.progress/status and checks task.cancel."""
    task = Task(label)

    def run():
        try:
            task.result = work(task)
        except WorkbenchError as exc:  # a message written for the user
            task.error = str(exc)
        except Exception as exc:  # shown on the page as a message, never as a stack trace
            task.error = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()

    task.thread = threading.Thread(target=run, daemon=True, name=f"task-{key}")
    st.session_state[f"task:{key}"] = task
    task.thread.start()
    return task


def get(key: str) -> Task | None:
    return st.session_state.get(f"task:{key}")


def clear(key: str) -> None:
    st.session_state.pop(f"task:{key}", None)


def show(key: str, show_result: Callable[[Any], None], cancel_label: str = "Cancel") -> None:
    """A self-refreshing progress area for task `key`: bar and Cancel while it runs, then its result.

    Runs as a fragment polling once a second, so only this area reruns while the work goes on.
    """

    @st.fragment(run_every=1.0)
    def progress_area():
        task = get(key)
        if task is None:
            return
        if task.running:
            st.progress(task.progress, text=f"{task.label}: {task.status}")
            if st.button(cancel_label, key=f"cancel_{key}"):
                task.cancel.set()
            return
        if task.error:
            st.error(task.error)
        elif task.result is not None:
            show_result(task.result)
        if st.button("Clear", key=f"clear_{key}"):
            clear(key)
            st.rerun(scope="app")

    progress_area()
