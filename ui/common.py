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

from core.workspace import Workspace  # noqa: E402


def workspace() -> Workspace:
    """The workspace named by $WORKSPACE (default data/), created on first use."""
    return _workspace(os.environ.get("WORKSPACE", ""))


@st.cache_resource(show_spinner=False)
def _workspace(root: str) -> Workspace:
    return Workspace(root or None)


def page(title: str, icon: str, intro: str) -> Workspace:
    """Standard page header; returns the workspace."""
    st.set_page_config(page_title=f"{title} · CrossFit workbench", page_icon=icon, layout="wide")
    ws = workspace()
    st.title(f"{icon} {title}")
    st.caption(intro)
    with st.sidebar:
        st.caption(f"Workspace: `{ws.root}`")
    return ws
