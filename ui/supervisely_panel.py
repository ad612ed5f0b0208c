"""The Label page's Supervisely panel: export, import (project tree or flat export files), the
import's report, and one-step mapping of each export file no workspace video was found for.
The same as `python -m core labels import-supervisely DIR [--map FILE=VIDEO_ID]` and
`… export-supervisely DIR`; the logic is `core.labeling.supervisely`."""
from __future__ import annotations

import streamlit as st

REPORT_KEY = "sv_report"  # the last import's report (kept across reruns for the mapping step)


def panel(ws, store, annotator_name: str) -> None:
    from core.labeling.supervisely import DEFAULT_ANNOTATOR, export_supervisely

    with st.expander("Supervisely import / export", expanded=bool(st.session_state.get(REPORT_KEY))):
        st.caption("A Supervisely video project folder (meta.json + <dataset>/ann/<video>.json) or a folder of flat "
                   "export files (<project>_<dataset>_<video>.json with videoName / videoId); reps are tags with a "
                   "0-based inclusive frameRange. Videos are matched by the name they were added under (not the "
                   "safe name of their file), then without extension, then by Supervisely videoId.")
        left, right = st.columns(2)
        with left:
            st.markdown("**Export**")
            out = st.text_input("Folder to write", value=str(ws.root / "exports" / "supervisely"), key="sv_out")
            only_mine = st.checkbox(f"Only {annotator_name}'s reps", key="sv_only_mine")
            with_videos = st.checkbox("Copy the videos too", key="sv_videos")
            if st.button("Export", key="sv_export", disabled=not out.strip()):
                try:
                    report = export_supervisely(store, out.strip(), annotators=[annotator_name] if only_mine else None,
                                                video_root=ws.root if with_videos else None)
                    st.success(report.summary())
                except OSError as exc:
                    st.error(f"Export failed: {exc}")
        with right:
            st.markdown("**Import**")
            src = st.text_input("Project folder, export folder or one file", key="sv_in",
                                placeholder="/path/to/export")
            who = st.text_input("Annotator for tags without labelerLogin", value=DEFAULT_ANNOTATOR, key="sv_who")
            if st.button("Import", key="sv_import", disabled=not src.strip()):
                _import(store, src.strip(), who.strip() or DEFAULT_ANNOTATOR)
        shown = st.session_state.get(REPORT_KEY)
        if shown:
            _show(store, shown)


def _import(store, src: str, who: str) -> None:
    from core.labeling.supervisely import import_supervisely

    report = import_supervisely(store, src, annotator=who)
    st.session_state[REPORT_KEY] = {"report": report, "src": src, "who": who}


def _show(store, shown: dict) -> None:
    import pandas as pd

    report = shown["report"]
    (st.success if report.ok else st.warning)(report.summary())
    problems = [p for p in report.problems if p.kind != "unmatched"]
    if problems:
        st.dataframe(pd.DataFrame([{"file": p.file, "tag": p.tag or "", "kind": p.kind, "problem": p.message}
                                   for p in problems]), hide_index=True, key="sv_problems")
    for note in report.notes:
        st.caption(note)
    if report.unmatched:
        _mapping(store, shown)
    if st.button("Clear the report", key="sv_clear"):
        st.session_state.pop(REPORT_KEY, None)
        st.rerun()


def _mapping(store, shown: dict) -> None:
    """One row per unmatched file: choose the workspace video, one click maps and imports it."""
    from core.labeling.supervisely import map_file

    report = shown["report"]
    videos = store.videos()
    st.markdown(f"**{len(report.unmatched)} file(s) with no workspace video** — choose the video each is for:")
    if not videos:
        st.info("The workspace has no videos yet: add them on the Videos page, then import again.")
        return
    by_id = {v["id"]: v for v in videos}
    for i, um in enumerate(report.unmatched):
        cols = st.columns([3, 3, 1])
        cols[0].markdown(f"`{um.file}`  \nvideo name: *{um.name}*"
                         + (f" · videoId {um.video_id}" if um.video_id is not None else ""))
        choice = cols[1].selectbox(
            "Workspace video", [None, *by_id], key=f"sv_map_{i}", label_visibility="collapsed",
            format_func=lambda v: "— choose a video —" if v is None else
            f"{v} · {by_id[v].get('original_name') or by_id[v]['title']} ({by_id[v]['frames']} frames)")
        if cols[2].button("Map and import", key=f"sv_map_go_{i}", disabled=choice is None):
            one = map_file(store, um.path, choice, annotator=shown["who"], root=shown["src"])
            (st.success if one.ok else st.warning)(f"{um.file} → video {choice}: {one.summary()}")
            for p in one.problems:
                st.caption(str(p))
            report.unmatched = [u for u in report.unmatched if u.path != um.path]
            report.problems = [p for p in report.problems if not (p.kind == "unmatched" and p.file == um.file)]
            report.imported += one.imported
            report.problems += one.problems
