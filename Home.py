"""The workbench's entry point (`streamlit run Home.py`): its pages in workflow order."""
import importlib
import os
import threading

import streamlit as st


@st.cache_resource(show_spinner=False)
def _warm_imports() -> threading.Thread:
    """TensorFlow takes seconds to import: start it once per server in the background, so that the first
    model a page opens (Predict, Evaluate, Analyze) does not wait for it."""
    def work() -> None:
        for name in ("tensorflow", "tf_keras"):
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the page that needs it reports the error itself
                return
    thread = threading.Thread(target=work, name="warm-imports", daemon=True)
    if os.environ.get("WORKBENCH_WARM_IMPORTS", "1") != "0":  # off in the tests (a process may exit mid-import)
        thread.start()
    return thread


PAGES = [
    st.Page("app_pages/0_Home.py", title="Home", icon="🏋️", default=True),
    st.Page("app_pages/1_Videos.py", title="Videos", icon="🎬", url_path="Videos"),
    st.Page("app_pages/2_Label.py", title="Label", icon="🏷️", url_path="Label"),
    st.Page("app_pages/3_Clips.py", title="Clips", icon="✂️", url_path="Clips"),
    st.Page("app_pages/4_Train.py", title="Train", icon="🧠", url_path="Train"),
    st.Page("app_pages/5_Evaluate.py", title="Evaluate", icon="📊", url_path="Evaluate"),
    st.Page("app_pages/6_Predict.py", title="Predict", icon="🔮", url_path="Predict"),
    st.Page("app_pages/7_Analyze.py", title="Analyze", icon="⏱️", url_path="Analyze"),
]

_warm_imports()
st.navigation(PAGES).run()
