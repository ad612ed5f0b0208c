"""The skeleton view beside the Predict and Analyze players: a "Show the skeleton" toggle; when on,
the frame chosen on a slider (following the player's position) and a strip of frames at the reps,
with the athlete's skeleton from the video's stored pose track (`core.pose.store.stored_track`,
drawn by `core.pose.draw.skeleton_frames`). Nothing is computed here: without a stored track it
says how to get one."""
from __future__ import annotations

import contextlib
from pathlib import Path

import streamlit as st

from core.base.errors import WorkbenchError

STRIP = 8  # rep frames shown at most
MAIN_HEIGHT, STRIP_HEIGHT = 480, 160
NO_TRACK = ("No pose track for this video yet, so no skeleton to show. A pose model computes it when it "
            "predicts or analyses the video; for a workspace video also the **Label** page (*Pose track* "
            "panel) or `python -m core pose VIDEO`.")


def no_pose_text(track) -> str:
    return (f"The pose track found no athlete in this video: no pose on any of its {len(track)} sampled "
            "frames (nobody the detector recognises as a person), so there is no skeleton to draw.")


@contextlib.contextmanager
def _source(ws, video_id: int | None, upload):
    """(video file path, its stored pose track or None) of a workspace video or an upload (read from a
    temporary copy, removed after)."""
    from core.pose.store import stored_track

    if video_id is not None:
        yield ws.absolute(ws.store().video(int(video_id))["path"]), stored_track(ws, video_id=int(video_id))
        return
    from core.media.uploads import temporary_upload

    upload.seek(0)
    with temporary_upload(ws, upload, upload.name, purpose="skeleton") as tmp:
        yield Path(tmp), stored_track(ws, path=tmp)


def skeleton_view(ws, key: str, *, video_id: int | None = None, upload=None, first: int = 0,
                  last: int | None = None, frame: int | None = None, marks=()) -> None:
    """The toggle and, when on, the frames. Source: a workspace video (`video_id`) or an upload.
    first..last: the frames the slider spans (default the whole video); frame: where it starts and
    moves to whenever the caller's frame changes (the player's position); marks: [(frame, caption)]
    for the strip (e.g. the reps)."""
    from core.pose.draw import skeleton_frames

    if not st.toggle("Show the skeleton", key=f"{key}_skeleton",
                     help="The athlete's pose (33 BlazePose landmarks of the video's pose track) drawn on "
                          "the video's frames: left side orange, right side blue, joints it cannot see grey."):
        return
    try:
        with _source(ws, video_id, upload) as (path, track):
            if track is None:
                st.info(NO_TRACK)
                return
            if not track.has_pose.any():
                st.warning(no_pose_text(track))
                return
            last = max(0, (track.video_frames or int(track.frames[-1]) + 1) - 1) if last is None else int(last)
            first = min(max(0, int(first)), last)
            slider, anchor = f"{key}_skeleton_frame", f"{key}_skeleton_anchor"
            wanted = min(max(first, first if frame is None else int(frame)), last)
            if st.session_state.get(anchor) != wanted or slider not in st.session_state:
                st.session_state[anchor] = wanted  # the player moved: the slider follows
                st.session_state[slider] = wanted
            chosen = first if last == first else int(
                st.slider("Frame", first, last, key=slider, help="The skeleton on this frame of the video."))
            marks = [(int(f), str(c)) for f, c in marks][:STRIP]
            main = skeleton_frames(path, track, [chosen], height=MAIN_HEIGHT)
            strip = skeleton_frames(path, track, [f for f, _ in marks], height=STRIP_HEIGHT) if marks else []
    except (OSError, WorkbenchError) as exc:
        st.error(f"Cannot show the skeleton: {exc}")
        return
    if main:
        shot = main[0]
        st.image(shot.image, caption=f"Frame {shot.frame}" + (
            f" · pose of sampled frame {shot.sample}" if shot.pose and shot.sample != shot.frame else "")
            + ("" if shot.pose else " · no pose on this frame"), width="stretch")
    if strip:
        captions = dict(marks)
        st.image([s.image for s in strip],
                 caption=[captions.get(s.frame, f"frame {s.frame}") + ("" if s.pose else " · no pose")
                          for s in strip])
