"""Streamlit helpers shared by the pages (no business logic: that lives in core/)."""
