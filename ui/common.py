"""Page set-up shared by every page: the workspace, its store, the sidebar."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st

# Pages run with the project root on sys.path so `import core` works however Streamlit is started.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.base.workspace import Workspace  # noqa: E402


def workspace() -> Workspace:
    """The workspace named by $WORKSPACE (default data/), created on first use."""
    return _workspace(os.environ.get("WORKSPACE", ""))


@st.cache_resource(show_spinner=False)
def _workspace(root: str) -> Workspace:
    return Workspace(root or None)


def keep_tensorflow_kernels() -> None:
    """Stop Streamlit from clearing TensorFlow's kernel cache after every script run.

    After each run Streamlit calls `keras.backend.clear_session()` when a module named `keras` is
    imported (`import tensorflow` imports one), and that clears TensorFlow's eager kernel cache: a
    loaded model's traced function is then instantiated and optimised again on the first
    prediction of every rerun (measured: +1.5-3 s for a tiny A0 on this machine, per click). The
    workbench keeps no Keras 3 state, so only the Keras part of that clean-up is skipped (the
    matplotlib part stays). Streamlit internals: if they move, nothing happens (just slower).
    """
    try:
        from streamlit.runtime.scriptrunner import script_runner as runner
    except ImportError:  # pragma: no cover
        return
    if getattr(runner._clean_problem_modules, "keeps_tf_kernels", False):  # noqa: SLF001
        return

    def clean_problem_modules() -> None:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            try:
                plt.close("all")
            except Exception:  # noqa: BLE001 - as Streamlit's own clean-up: never fail a run
                pass

    clean_problem_modules.keeps_tf_kernels = True
    runner._clean_problem_modules = clean_problem_modules  # noqa: SLF001



def page(title: str, icon: str, intro: str) -> Workspace:
    """Standard page header; returns the workspace."""
    keep_tensorflow_kernels()
    st.set_page_config(page_title=f"{title} · CrossFit workbench", page_icon=icon, layout="wide")
    ws = workspace()
    st.title(f"{icon} {title}")
    st.caption(intro)
    with st.sidebar:
        st.caption(f"Workspace: `{ws.root}`")
        build = demo_build_line(ws)
        if build:
            st.caption(build)
    return ws


def demo_build_line(ws) -> str | None:
    """One line on the demo build while it runs (every page shows what it may be waiting for)."""
    from core.demo.build import read_status

    status = read_status(ws)
    if not status or not status["running"]:
        return None
    step = next((s for s in status["steps"] if s["state"] == "running"), None) or \
        next(s for s in status["steps"] if s["state"] == "pending")
    share = f" {100 * step['done'] / step['total']:.0f}%" if step["total"] else ""
    return f"⏳ Demo build: {step['title'].lower()}{share} (see Home)"


def demo_build_panel(ws) -> None:
    """The demo build's steps with their progress, refreshed every 2 s while it runs (Home page)."""
    from core.demo.build import read_status

    @st.fragment(run_every=2.0)
    def panel():
        status = read_status(ws)
        if not status:
            return
        st.subheader("Demo build" + (" — running" if status["running"] else ""))
        marks = {"done": "✅", "running": "⏳", "pending": "⬜", "failed": "❌", "skipped": "➖"}
        for s in status["steps"]:
            state = s["state"] if status["running"] or s["state"] != "running" else "failed"
            line = f"{marks.get(state, '⬜')} {s['title']}"
            if state == "running" and s["total"]:
                st.progress(min(1.0, s["done"] / s["total"]), text=f"{line} — {s['text']}")
            else:
                st.markdown(line + (f" — {s['text']}" if s["text"] and state != "pending" else "")
                            + (" (stopped; `make run` resumes it)" if state == "failed" and not s["text"] else ""))

    panel()


def registered_models(store) -> dict:
    """The registered models by id, newest first; with none, a pointer to the Train page and the
    page stops there (Evaluate, Predict and Analyze all need one)."""
    from core.modeling.registry import list_models

    models = list_models(store)
    if not models:
        from core.base.workspace import Workspace

        building = demo_build_line(Workspace(store.path.parent))
        st.info((f"{building}: this page fills in when its first model is registered. " if building else
                 "No models registered yet — ") + "train one on the **Train** page (`python -m core train --preset "
                "pose`, minutes on a CPU); every finished training run registers its model here.")
        st.stop()
    return {m["id"]: m for m in models}


def model_picker(by_id: dict, key: str, format_func, for_workouts: bool = False) -> dict:
    """A model selectbox that keeps its choice across reruns; it starts on the best model for the
    page's job (core.modeling.registry.best_model: by val, for Analyze one made for whole workouts)."""
    from core.modeling.registry import best_model

    if st.session_state.get(key) not in by_id:
        st.session_state[key] = best_model(list(by_id.values()), for_workouts)["id"]
    return by_id[st.selectbox("Model", list(by_id), key=key, format_func=format_func)]


def md_text(text: str) -> str:
    """Text shown inside markdown as itself: markdown and HTML characters escaped (names from a URL or
    an imported file must not become links or images)."""
    import re

    return re.sub(r"([\\`*_{}\[\]()#+!|<>~])", r"\\\1", str(text))
