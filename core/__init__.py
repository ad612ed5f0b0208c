"""Core logic of the CrossFit movement workbench: importable and testable without Streamlit."""
