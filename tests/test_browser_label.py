"""Browser test: the real app in Chromium, reps marked with the keyboard alone, checked in the database.

Needs Debian's Chromium at /usr/bin/chromium (`make test` installs it: tools/browser-deps.sh).
It fails, never skips, when Chromium is missing.
"""
import pytest

from core.media import library
from core.base.workspace import Workspace
from tests.browser import chromium, label_state, open_label_page, press, running_app, wait_frame

SMALL = "kbtrainer__front_squat_.mp4"


def right(page, n: int, start: int, shift: bool = False) -> int:
    """Press → (or Shift+→) n times; each step is shown before the next (frames are prefetched)."""
    frame = start
    for _ in range(n):
        page.keyboard.press("Shift+ArrowRight" if shift else "ArrowRight")
        frame += 10 if shift else 1
        wait_frame(page, frame)
    return frame


def reps(store, vid):
    return [(r["label"], r["start"], r["end"]) for r in store.segments(vid, "alex")]


@pytest.mark.timeout(120)
def test_mark_three_reps_of_two_movements_with_keys_reload_and_undo(tmp_path, real_videos):
    ws = Workspace(tmp_path / "ws")
    vid = library.add_file(ws, real_videos / SMALL).video_id
    store = ws.store()
    first, second = store.labels()[:2]

    with running_app(ws.root, log=tmp_path / "app.log") as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        open_label_page(page, url, "alex", vid)
        wait_frame(page, 0)

        # Keys typed into a text box are not shortcuts.
        box = page.get_by_label("Project folder, export folder or one file")
        page.get_by_text("Supervisely import / export").click()
        box.click()
        box.type("se")
        assert box.input_value() == "se"
        page.mouse.click(700, 20)  # back to the page (blur the box)
        assert store.open_rep(vid, "alex") is None and label_state(page)["seq"] == "0"

        # rep 1: movement 1, frames 0–5
        press(page, "1")
        press(page, "s")
        frame = right(page, 5, 0)
        press(page, "e")
        assert reps(store, vid) == [(first, 0, 5)]
        # rep 2 and 3: movement 2, Enter ends 10–17 and starts 18 at once; E ends 18–22
        frame = right(page, 5, frame)
        press(page, "2")
        press(page, "s")
        frame = right(page, 7, frame)
        press(page, "Enter")
        frame = right(page, 5, frame)
        press(page, "e")
        assert frame == 22
        # Shift+→ jumps 10 frames, Space/← are browser-side too
        frame = right(page, 2, frame, shift=True)
        page.keyboard.press("ArrowLeft")
        wait_frame(page, frame - 1)
        assert not errors, errors

        page.reload()
        open_label_page(page, url, "alex", vid)
        expected = [(first, 0, 5), (second, 10, 17), (second, 18, 22)]
        assert reps(store, vid) == expected  # from the database
        assert store.open_rep(vid, "alex") is None
        page.get_by_text("3 reps").first.wait_for()  # the page shows them after the reload

        page.mouse.click(700, 20)
        press(page, "Control+z")
        assert reps(store, vid) == expected[:2]
        assert store.open_rep(vid, "alex") == {"label": second, "start": 18}  # undo reopens the rep E closed
        page.get_by_text("Undone").first.wait_for()
        assert not errors, errors
