"""The workbench's entry point (`streamlit run Home.py`): its pages in workflow order."""
import streamlit as st

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

st.navigation(PAGES).run()
