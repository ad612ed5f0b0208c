"""The rep-editing model behind the Label page's keymap: pure logic over the Store, no Streamlit.

`Annotator(store, video_id, annotator)` is one annotator's view of one video. Every change is
written at once (autosave) as ONE edit in the `edit_history` table, as JSON holding the rep rows
before and after (and the open rep before and after), so undo/redo works per (video, annotator)
across page reloads: a new `Annotator` on the same database continues the same history. A new
edit after an undo clears the redo tail.

The open rep (S pressed, E not yet) is stored in the `open_reps` table, so it survives a reload too.

Refused edits raise `StoreError` (the store refuses) or `LabelError` (both `WorkbenchError`s) whose message is fit to show on
the page: overlaps, ranges outside the video, no open rep, nothing selected, and so on.

Selection and the current frame are page state: pass them in (`frame=`, `selected=`) or set the
attributes; the methods update them (`end` selects the rep it made, `delete_selected` clears it).
"""
from __future__ import annotations

import re

from core.base.errors import LabelingError
import uuid as uuidlib

from core.base.store import Store, now

MODEL_PREFIX = "model:"
REVIEW_STATES = ("accepted", "rejected", None)


class LabelError(LabelingError, ValueError):
    """A keymap action that cannot apply now (no open rep, nothing selected, …); message fit to show."""


def is_draft_annotator(annotator: str) -> bool:
    """Reps by `model:<run_id>` are a model's drafts, not a person's labels."""
    return annotator.startswith(MODEL_PREFIX)


ANNOTATOR_NAME = re.compile(r"^[\w .@:+-]{1,64}$")
LAST_ANNOTATOR = "last_annotator"  # the store setting: the name last used for labelling here


def check_annotator_name(name: str | None) -> str:
    """The name, stripped; a name that could be read as markup (a link, an image) is refused."""
    name = (name or "").strip()
    if not name:
        raise LabelError("Enter your annotator name before labelling.")
    if not ANNOTATOR_NAME.match(name):
        raise LabelError("An annotator name is letters, digits, spaces and . _ - : @ + (at most 64 characters).")
    return name


def default_annotator(store: Store) -> str:
    """The name last used for labelling in this workspace, else the system user's (a Label page
    opens on a frame, not on an empty name field)."""
    import getpass

    last = store.setting(LAST_ANNOTATOR)
    if isinstance(last, str) and ANNOTATOR_NAME.match(last):
        return last
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = ""
    return user if ANNOTATOR_NAME.match(user or "") else "annotator"


def remember_annotator(store: Store, name: str) -> None:
    if not name.startswith("model:") and store.setting(LAST_ANNOTATOR) != name:
        store.set_setting(LAST_ANNOTATOR, name)


class Annotator:
    def __init__(self, store: Store, video_id: int, annotator: str, *, frame: int = 0, selected: str | None = None):
        annotator = check_annotator_name(annotator)
        video = store.video(video_id)
        if video is None:
            raise LabelError(f"No video with id {video_id}.")
        self.store = store
        self.video_id = video_id
        self.annotator = annotator
        self.frames: int = video["frames"]
        self.frame = self._clamp(frame)
        self.selected = selected

    # --- reading ------------------------------------------------------------------------------------
    def reps(self) -> list[dict]:
        """This annotator's reps on the video, by start frame."""
        return self.store.segments(self.video_id, self.annotator)

    def all_reps(self) -> list[dict]:
        """Every annotator's reps on the video (drafts included), by start frame."""
        return self.store.segments(self.video_id)

    @property
    def open_rep(self) -> dict | None:
        """The started, not yet ended rep: {label, start} or None."""
        return self.store.open_rep(self.video_id, self.annotator)

    @property
    def selected_rep(self) -> dict | None:
        rep = self.store.segment(self.selected) if self.selected else None
        if rep is None or rep["video_id"] != self.video_id:
            return None
        return rep

    @property
    def can_undo(self) -> bool:
        return self.store.edit_counts(self.video_id, self.annotator)[0] > 0

    @property
    def can_redo(self) -> bool:
        return self.store.edit_counts(self.video_id, self.annotator)[1] > 0

    def seek(self, frame: int) -> int:
        self.frame = self._clamp(frame)
        return self.frame

    # --- S, E, Enter -------------------------------------------------------------------------------
    def start(self, frame: int, label: str) -> dict:
        """S: open a rep of `label` at `frame`. With a rep already open, it moves to here (and takes
        the new label). Refused on a frame inside one of your reps or outside the video."""
        frame = self._at(frame)
        self._check_label(label)
        inside = self._rep_at(frame)
        if inside:
            raise LabelError(
                f"Frame {frame} is inside your rep {inside['start']}–{inside['end']} ({inside['label']}); "
                "start a new rep after it, or select that rep to change it."
            )
        before = self.open_rep
        after = {"label": label, "start": frame}
        if before == after:
            return after
        desc = f"start {label} at frame {frame}" if before is None else f"move the open rep to frame {frame}"
        self._apply("start", desc, [], open_change=(before, after))
        return after

    def end(self, frame: int) -> dict:
        """E: close the open rep at `frame` (inclusive) into a stored rep; selects it and returns it."""
        frame = self._at(frame)
        return self._close(frame, chain=False)

    def enter(self, frame: int) -> dict:
        """Enter: end the open rep at `frame` and open the next one at `frame + 1` with the same label,
        in one undoable edit. No next rep opens past the last frame or inside one of your reps."""
        frame = self._at(frame)
        return self._close(frame, chain=True)

    def cancel_open(self) -> None:
        """Drop the open rep without storing it (undoable)."""
        before = self.open_rep
        if before is None:
            raise LabelError("There is no open rep.")
        self._apply("cancel", f"cancel the open rep at frame {before['start']}", [], open_change=(before, None))

    def _close(self, frame: int, *, chain: bool) -> dict:
        open_rep = self.open_rep
        if open_rep is None:
            raise LabelError("No open rep to end: press S to start one first.")
        if frame < open_rep["start"]:
            raise LabelError(
                f"A rep can't end at frame {frame}, before its start at frame {open_rep['start']}; "
                "step forward, or press S to restart it here."
            )
        stamp = now()
        rep = self._new_row(open_rep["label"], open_rep["start"], frame, stamp)
        nxt = None
        if chain and frame + 1 < self.frames and not self._rep_at(frame + 1):
            nxt = {"label": open_rep["label"], "start": frame + 1}
        desc = f"{'end and chain' if nxt else 'end'} {rep['label']} rep {rep['start']}–{rep['end']}"
        self._apply("enter" if chain else "end", desc, [(None, rep)], open_change=(open_rep, nxt))
        self.selected = rep["uuid"]
        return rep

    # --- Tab / Shift+Tab ----------------------------------------------------------------------------
    def select_next(self, frame: int | None = None) -> dict | None:
        """Tab: the rep after the selected one (by start frame); with nothing selected, the first rep
        starting at or after the current frame. Stays on the last rep; None when there are no reps."""
        return self._select(+1, frame)

    def select_prev(self, frame: int | None = None) -> dict | None:
        """Shift+Tab: the rep before the selected one; with nothing selected, the last rep starting at
        or before the current frame. Stays on the first rep; None when there are no reps."""
        return self._select(-1, frame)

    def _select(self, step: int, frame: int | None) -> dict | None:
        if frame is not None:
            self.seek(frame)
        reps = self.reps()
        if not reps:
            self.selected = None
            return None
        keys = [r["uuid"] for r in reps]
        if self.selected in keys:
            i = min(max(keys.index(self.selected) + step, 0), len(reps) - 1)
        elif step > 0:
            i = next((j for j, r in enumerate(reps) if r["start"] >= self.frame), len(reps) - 1)
        else:
            i = next((j for j in range(len(reps) - 1, -1, -1) if reps[j]["start"] <= self.frame), 0)
        self.selected = keys[i]
        return reps[i]

    def select(self, uuid: str | None) -> dict | None:
        """Select a rep by key (a click on the timeline), or clear the selection with None."""
        self.selected = uuid
        if uuid is None:
            return None
        rep = self.selected_rep
        if rep is None:
            self.selected = None
            raise LabelError("That rep no longer exists.")
        return rep

    # --- Alt+←/→, Backspace, 1–9 ---------------------------------------------------------------------
    def nudge(self, direction: int, frame: int | None = None) -> dict:
        """Alt+←/→: move ONE edge of the selected rep by `direction` (-1 or +1) frames. The edge moved
        is the one nearer the current frame (|frame - start| vs |frame - end|); on a tie, the end.
        Refused if the rep would lose its last frame, leave the video or overlap another rep."""
        if direction not in (-1, 1):
            raise ValueError("direction must be -1 or +1")
        if frame is not None:
            self.seek(frame)
        rep = self._mine(self._require_selected())
        start, end = rep["start"], rep["end"]
        if abs(self.frame - start) < abs(self.frame - end):
            start += direction
            edge = "start"
        else:
            end += direction
            edge = "end"
        if start > end:
            raise LabelError(f"Rep {rep['start']}–{rep['end']} can't shrink further: a rep keeps at least one frame.")
        after = dict(rep, start=start, end=end, updated_at=now())
        moved_to = start if edge == "start" else end
        self._apply("nudge", f"nudge the {edge} of rep {rep['start']}–{rep['end']} to {moved_to}", [(rep, after)])
        return after

    def delete_selected(self) -> dict:
        """Backspace: delete the selected rep (undoable); clears the selection."""
        rep = self._mine(self._require_selected())
        self._apply("delete", f"delete {rep['label']} rep {rep['start']}–{rep['end']}", [(rep, None)])
        self.selected = None
        return rep

    def set_label(self, uuid: str | None, label: str) -> dict:
        """Give a rep (the selected one when `uuid` is None) another movement."""
        self._check_label(label)
        rep = self._mine(self._get(uuid) if uuid else self._require_selected())
        if rep["label"] == label:
            return rep
        after = dict(rep, label=label, updated_at=now())
        self._apply("label", f"relabel rep {rep['start']}–{rep['end']} {rep['label']} → {label}", [(rep, after)])
        return after

    # --- review and drafts --------------------------------------------------------------------------
    def review(self, uuid: str, state: str | None) -> dict:
        """Mark any annotator's rep on this video accepted, rejected or unreviewed (None). The edit
        goes into this annotator's (the reviewer's) history."""
        if state not in REVIEW_STATES:
            raise LabelError(f"Unknown review state {state!r}; use accepted, rejected or none.")
        rep = self._get(uuid)
        if rep["review"] == state:
            return rep
        after = dict(rep, review=state, updated_at=now())
        self._apply("review", f"mark {rep['annotator']}'s rep {rep['start']}–{rep['end']} {state or 'unreviewed'}",
                    [(rep, after)])
        return after

    def accept_draft(self, uuid: str) -> dict:
        """Copy another annotator's rep (typically a model draft, annotator `model:<run_id>`) into
        this annotator's reps as a new rep (new key; `extra.copied_from` names the source). The
        source is left as it is. One undoable edit; refused if it overlaps one of your reps."""
        source = self._get(uuid)
        if source["annotator"] == self.annotator:
            raise LabelError("That rep is already yours.")
        stamp = now()
        rep = self._new_row(source["label"], source["start"], source["end"], stamp)
        rep["roi"] = source.get("roi")
        rep["extra"] = {"copied_from": {"uuid": source["uuid"], "annotator": source["annotator"]}}
        self._apply("accept", f"accept {source['annotator']}'s {source['label']} rep {source['start']}–{source['end']}",
                    [(None, rep)])
        self.selected = rep["uuid"]
        return rep

    # --- Ctrl+Z / Ctrl+Shift+Z ---------------------------------------------------------------------
    def undo(self) -> str | None:
        """Undo this annotator's latest edit on the video; returns what was undone (for a toast) or None."""
        action = self.store.undo_edit(self.video_id, self.annotator)
        self._fix_selection()
        return action and action.get("desc")

    def redo(self) -> str | None:
        """Redo the latest undone edit; returns what was redone or None."""
        action = self.store.redo_edit(self.video_id, self.annotator)
        self._fix_selection()
        return action and action.get("desc")

    # --- helpers -------------------------------------------------------------------------------------
    def _apply(self, op: str, desc: str, changes: list[tuple[dict | None, dict | None]], *, open_change=None) -> None:
        action: dict = {
            "op": op,
            "desc": desc,
            "segments": [{"uuid": (b or a)["uuid"], "before": b, "after": a} for b, a in changes],
        }
        if open_change is not None:
            action["open"] = {"before": open_change[0], "after": open_change[1]}
        self.store.apply_edit(self.video_id, self.annotator, action)

    def _new_row(self, label: str, start: int, end: int, stamp: str) -> dict:
        return {
            "uuid": str(uuidlib.uuid4()), "video_id": self.video_id, "label": label, "start": int(start),
            "end": int(end), "annotator": self.annotator, "review": None, "roi": None, "extra": None,
            "created_at": stamp, "updated_at": stamp,
        }

    def _clamp(self, frame: int) -> int:
        return max(0, min(int(frame), self.frames - 1))

    def _at(self, frame: int) -> int:
        frame = int(frame)
        if not 0 <= frame < self.frames:
            raise LabelError(f"Frame {frame} is outside the video (frames 0–{self.frames - 1}).")
        self.frame = frame
        return frame

    def _check_label(self, label: str) -> None:
        if label not in self.store.labels():
            raise LabelError(f"Unknown movement {label!r}; choose one of: {', '.join(self.store.labels())}.")

    def _rep_at(self, frame: int) -> dict | None:
        return next((r for r in self.reps() if r["start"] <= frame <= r["end"]), None)

    def _get(self, uuid: str) -> dict:
        rep = self.store.segment(uuid)
        if rep is None or rep["video_id"] != self.video_id:
            raise LabelError("That rep no longer exists (deleted or undone).")
        return rep

    def _require_selected(self) -> dict:
        if not self.selected:
            raise LabelError("No rep selected: press Tab or click a rep on the timeline.")
        return self._get(self.selected)

    def _mine(self, rep: dict) -> dict:
        if rep["annotator"] != self.annotator:
            raise LabelError(
                f"That rep belongs to {rep['annotator']}; accept it into your reps to edit a copy."
            )
        return rep

    def _fix_selection(self) -> None:
        if self.selected and self.selected_rep is None:
            self.selected = None


def dataset_segments(store: Store, video_ids: list[int] | None = None) -> list[dict]:
    """The reps that feed the dataset (clips, statistics, training). THE rule, in one place:

    A rep counts if and only if all three hold:
      1. its annotator is a person: reps by `model:<run_id>` are drafts and never count, nor do
         they count as an annotator of the video;
      2. its review is not `rejected`;
      3. its review is `accepted`, OR its video has reps from exactly one annotator (counting every
         non-draft annotator with at least one rep on that video, whatever its review state).

    The `ground-truth` annotator (the demo videos' synthetic truth) is an ordinary annotator.
    So: a video labelled by one person gives all its reps except rejected ones; once a second person
    labels the same video, only its accepted reps count, until a reviewer accepts the ones to keep
    (accept one version of each rep: two accepted overlapping reps by different people both count).
    The open (unfinished) rep is never a rep. Returns rows as `Store.segments` does, by video and start.
    """
    reps = [s for s in store.segments() if not is_draft_annotator(s["annotator"])]
    if video_ids is not None:
        wanted = set(video_ids)
        reps = [s for s in reps if s["video_id"] in wanted]
    people: dict[int, set[str]] = {}
    for s in reps:
        people.setdefault(s["video_id"], set()).add(s["annotator"])
    return [
        s for s in reps
        if s["review"] != "rejected" and (s["review"] == "accepted" or len(people[s["video_id"]]) == 1)
    ]


DATASET_RULE = (
    "Only these reps feed the dataset: accepted reps, and every rep not rejected on a video labelled "
    "by a single annotator. Model drafts (annotator model:…) never count; ground-truth is an ordinary annotator."
)
