"""Key presses to label a workout with and without a model's draft (model-assisted labelling): the
Label page's keymap replayed on the store, from scratch and by fixing the draft.

    python bench/keypress.py [--workspace DIR] (--model MODEL | --draft-annotator model:<id>) [--video ID ...] [--json]"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.analysis.drafts import send_draft  # noqa: E402
from core.analysis.settings import AnalyzeError, Settings  # noqa: E402
from core.analysis.workout import analyze_video  # noqa: E402
from core.base.progress import Progress  # noqa: E402

# ==============================================================================================
# 7. Key presses with and without a draft (model-assisted labelling)
# ==============================================================================================

def _arrow_keys(src: int, dst: int, big: int = 10) -> list[dict]:
    """The fewest ←/→ and Shift+←/→ presses from frame src to dst (overshooting with a big step
    and coming back is allowed when shorter)."""
    d = dst - src
    if d == 0:
        return []
    key = "ArrowRight" if d > 0 else "ArrowLeft"
    back = "ArrowLeft" if d > 0 else "ArrowRight"
    a = abs(d)
    q, r = divmod(a, big)
    if r and (q + 1) + (big - r) < q + r:
        return [{"key": key, "shift": True}] * (q + 1) + [{"key": back}] * (big - r)
    return [{"key": key, "shift": True}] * q + [{"key": key}] * r


class _Session:
    """Replays key events through the Label page's keymap (`core.labeling.keymap.apply_event`) and counts
    them: every key press and every mouse click is one action."""

    def __init__(self, store, video_id: int, annotator: str):
        from core.labeling.annotator import Annotator
        from core.labeling.keymap import new_state

        self.ann = Annotator(store, video_id, annotator)
        self.state = new_state()
        self.keys = 0
        self.clicks = 0
        self.errors: list[str] = []

    def press(self, event: dict) -> None:
        from core.labeling.keymap import apply_event

        ev = {"shift": False, "alt": False, "ctrl": False, "meta": False, **event}
        self.state = apply_event(self.ann, ev, self.state)
        if ev.get("type", "key") == "key":
            self.keys += 1
        else:
            self.clicks += 1
        if self.state.get("error"):
            self.errors.append(str(self.state.get("message")))

    def go(self, frame: int) -> None:
        for ev in _arrow_keys(self.state["frame"], int(frame)):
            self.press(ev)

    def choose(self, label: str) -> None:
        labels = self.ann.store.labels()
        if self.state.get("label") != label:
            self.press({"key": str(labels.index(label) + 1)})

    def click(self) -> None:
        """A click outside the keymap (a button on the page)."""
        self.clicks += 1

    @property
    def actions(self) -> int:
        return self.keys + self.clicks


def _label_reps(sess: _Session, reps: Sequence[dict]) -> None:
    """Mark `reps` from scratch with the keyboard: go to the start, pick the movement, S, go to the
    end, E - or Enter when the next rep starts on the following frame with the same movement
    (Enter ends this one and opens the next)."""
    reps = sorted(reps, key=lambda r: r["start"])
    for i, r in enumerate(reps):
        opened = sess.ann.open_rep
        if not (opened and opened["start"] == r["start"] and opened["label"] == r["label"]):
            sess.go(r["start"])
            sess.choose(r["label"])
            sess.press({"key": "s"})
        sess.go(r["end"])
        nxt = reps[i + 1] if i + 1 < len(reps) else None
        chain = nxt is not None and nxt["start"] == r["end"] + 1 and nxt["label"] == r["label"]
        sess.press({"key": "Enter" if chain else "e"})


def simulate_without_draft(store, video_id: int, truth: Sequence[dict], annotator: str = "sim-scratch") -> dict:
    """Key presses to label `truth` on a video from nothing (cursor at frame 0)."""
    sess = _Session(store, video_id, annotator)
    _label_reps(sess, truth)
    return _outcome(sess, truth)


def _scratch_cost(rep: dict, chained: bool = False) -> int:
    """Keys to mark one rep from scratch when the cursor is already at its start (S, arrows to the
    end, E/Enter); `chained`: it was opened by the previous rep's Enter (no S)."""
    return (0 if chained else 1) + len(_arrow_keys(rep["start"], rep["end"])) + 1


def _fix_cost(draft: dict, true: dict) -> int:
    """Keys to turn a selected draft rep (cursor on its start) into the true one: Alt+←/→ once per
    frame at each edge, Shift+→ past the middle before fixing the end."""
    ds, de = true["start"] - draft["start"], true["end"] - draft["end"]
    half = (true["end"] - true["start"]) / 2.0
    return abs(ds) + abs(de) + (int(math.ceil(half / 10.0)) if de else 0)


def simulate_with_draft(store, video_id: int, truth: Sequence[dict], draft_annotator_name: str,
                        annotator: str = "sim-draft", bulk: bool = False) -> dict:
    """Key presses (and clicks) to reach `truth` starting from a model's draft (annotator
    `draft_annotator_name`), for an annotator who goes through the video once, in time order, and
    takes a draft rep only where that is cheaper than marking the rep.

    The Label page has no accept *key*: with the draft shown beside your reps ("Show another
    annotator": one click, counted once) a draft rep is accepted by clicking it on the timeline
    and clicking "Copy to mine" - 2 clicks a rep. With `bulk=True` the whole draft is copied at
    once ("Copy the draft into my reps" on the Analyze page: 1 click) and the reps not wanted are
    deleted first (a click to select + Backspace each).

    A draft rep is usable when it matches a true rep of the same movement at IoU >= 0.5 (one to
    one; a wrong movement cannot be changed by a key). It is kept when fixing it costs less than
    marking that rep (`_fix_cost` vs `_scratch_cost`): once selected (copying selects it; Tab
    selects the next rep and puts the cursor on its start), Alt+←/→ nudge the edge nearer the
    cursor one frame at a time (the cursor follows the edge); Shift+→ passes the middle before
    the end is fixed. Every other true rep is marked as without a draft (arrows, movement key,
    S, E / Enter). Replayed through the Label page's keymap (`core.labeling.keymap.apply_event`); the run
    must end with exactly the true reps.
    """
    from core.labeling.agreement import match_reps

    truth = sorted(truth, key=lambda r: r["start"])
    drafts = store.segments(video_id, draft_annotator_name)
    matches, missing, false = match_reps(list(truth), [dict(d) for d in drafts], 0.5)
    by_true = {(m.a["start"], m.a["end"]): m.b for m in matches}
    sess = _Session(store, video_id, annotator)
    sess.click()  # show the draft beside my reps (sidebar select box)

    # the plan: which true reps come from the draft
    plan = []
    for i, t in enumerate(truth):
        d = by_true.get((t["start"], t["end"]))
        use = False
        if d is not None:
            copy_cost = 0 if bulk else 2
            delete_cost = 2 if bulk else 0  # a bulk-copied rep not kept must be deleted
            use = copy_cost + _fix_cost(d, t) < _scratch_cost(t) + delete_cost
            # a single copy that would overlap the rep before it (already in place) is refused
            if use and not bulk and i and d["start"] <= truth[i - 1]["end"]:
                use = False
        plan.append(d if use else None)
    kept = [d for d in plan if d is not None]

    mine: dict[str, str] = {}  # draft uuid -> my copy's uuid
    if bulk:
        sess.click()  # "Copy the draft into my reps" (Analyze page)
        mine = {d["uuid"]: sess.ann.accept_draft(d["uuid"])["uuid"] for d in drafts}
        keep_ids = {d["uuid"] for d in kept}
        for d in drafts:  # delete what is not kept: click it, Backspace
            if d["uuid"] not in keep_ids:
                sess.press({"type": "select", "uuid": mine[d["uuid"]]})
                sess.press({"key": "Backspace"})
        sess.state["selected"] = None

    def fix_start(uuid: str, target: int) -> None:
        rep = sess.ann.store.segment(uuid)
        if abs(sess.state["frame"] - rep["start"]) >= abs(sess.state["frame"] - rep["end"]):
            sess.go(rep["start"])
        d = target - rep["start"]
        for _ in range(abs(d)):
            sess.press({"key": "ArrowRight" if d > 0 else "ArrowLeft", "alt": True})

    def fix_end(uuid: str, target: int) -> None:
        rep = sess.ann.store.segment(uuid)
        d = target - rep["end"]
        if not d:
            return
        mid = (rep["start"] + rep["end"]) / 2.0
        while sess.state["frame"] < mid:  # the end is nudged once the cursor is nearer it
            sess.press({"key": "ArrowRight", "shift": True})
        for _ in range(abs(d)):
            sess.press({"key": "ArrowRight" if d > 0 else "ArrowLeft", "alt": True})

    def make_room(j: int) -> None:
        """Bulk: when the copy of the rep after true rep j starts inside rep j, move its start
        first (click it, nudge), so rep j can be completed."""
        if not bulk or j + 1 >= len(truth) or plan[j + 1] is None:
            return
        nxt = mine[plan[j + 1]["uuid"]]
        if sess.ann.store.segment(nxt)["start"] <= truth[j]["end"]:
            sess.press({"type": "select", "uuid": nxt})
            fix_start(nxt, truth[j + 1]["start"])
            sess.state["selected"] = None

    i = 0
    while i < len(truth):
        t, d = truth[i], plan[i]
        if d is None:  # mark by hand, chaining with Enter through the following hand-marked reps
            j = i
            while j + 1 < len(truth) and plan[j + 1] is None:
                j += 1
            make_room(j)
            sess.state["selected"] = None
            _label_reps(sess, truth[i:j + 1])
            i = j + 1
            continue
        if bulk:
            uuid = mine[d["uuid"]]
            now_at = sess.ann.store.segment(uuid)
            if (now_at["start"], now_at["end"]) == (t["start"], t["end"]):
                i += 1
                continue  # nothing to fix
            if sess.state.get("selected") != uuid:
                _select(sess, uuid)
        else:
            sess.press({"type": "select", "uuid": d["uuid"]})  # click the draft rep
            sess.click()  # "Copy to mine"
            uuid = sess.ann.accept_draft(d["uuid"])["uuid"]
            sess.state["selected"] = uuid
        fix_start(uuid, t["start"])
        if bulk and t["end"] > sess.ann.store.segment(uuid)["end"]:  # growing: room first
            make_room(i)
            if sess.state.get("selected") != uuid:  # and back to this rep (a click)
                sess.press({"type": "select", "uuid": uuid})
        fix_end(uuid, t["end"])
        i += 1
    sess.state["selected"] = None
    out = _outcome(sess, truth)
    out.update(usable=len(matches), kept=len(kept), not_kept=len(drafts) - len(kept),
               marked_by_hand=len(truth) - len(kept), bulk=bulk)
    return out


def _select(sess: _Session, uuid: str) -> None:
    """Select my rep `uuid` the cheapest way: Tab when it is the next rep (Tab also puts the
    cursor on its start), else a click on it (the cursor stays; it is moved to the start with
    arrows when the end is nearer, so Alt+←/→ act on the start)."""
    mine = [r["uuid"] for r in sess.ann.reps()]
    cur = sess.state.get("selected")
    nxt = mine[mine.index(cur) + 1] if cur in mine and mine.index(cur) + 1 < len(mine) else None
    if cur is None:
        nxt = next((r["uuid"] for r in sess.ann.reps() if r["start"] >= sess.state["frame"]), None)
    if nxt == uuid:
        sess.press({"key": "Tab"})
    else:
        sess.press({"type": "select", "uuid": uuid})
        rep = sess.ann.store.segment(uuid)
        if abs(sess.state["frame"] - rep["start"]) >= abs(sess.state["frame"] - rep["end"]):
            sess.go(rep["start"])
    if sess.state.get("selected") != uuid:
        raise AnalyzeError("key-press simulation: could not select a rep")


def _outcome(sess: _Session, truth: Sequence[dict]) -> dict:
    got = sorted((r["label"], r["start"], r["end"]) for r in sess.ann.reps())
    want = sorted((r["label"], int(r["start"]), int(r["end"])) for r in truth)
    return {"keys": sess.keys, "clicks": sess.clicks, "actions": sess.actions, "reps": len(want),
            "exact": got == want, "errors": sess.errors[:5]}


def keypress_study(ws, video_ids: Sequence[int] | None = None, model_ref=None, truth_annotator: str = "ground-truth",
                   draft: str | None = None, settings: Settings | None = None, progress: Progress | None = None) -> dict:
    """Key presses to label workspace videos from scratch vs from a model draft.

    For each video: the truth is `truth_annotator`'s reps; the draft is `draft` (an annotator name,
    e.g. model:<run_id>) or, with `model_ref`, made now by analysing the video and stored as that
    model's draft. The simulations run on a scratch copy of the database, so the workspace only
    gains the draft. Returns per video and total counts.
    """
    import shutil
    import tempfile

    from core.base.store import Store

    store = ws.store()
    if video_ids is None:
        video_ids = sorted({s["video_id"] for s in store.segments(annotator=truth_annotator)})
    rows = []
    for k, vid in enumerate(video_ids):
        truth = [{"label": s["label"], "start": s["start"], "end": s["end"]}
                 for s in store.segments(int(vid), truth_annotator)]
        if not truth:
            continue
        name = draft
        if model_ref is not None:
            result = analyze_video(ws, model_ref, int(vid), settings,
                                   progress=(lambda d, t, s, k=k: progress(k, len(video_ids), s)) if progress else None)
            name, _ = send_draft(ws, result)
        if not name:
            raise AnalyzeError("keypress_study needs a draft annotator or a model to make one.")
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "workspace.db"
            with store.read() as con:  # a consistent copy of the WAL database
                dst = __import__("sqlite3").connect(db)
                con.backup(dst)
                dst.close()
            scratch = Store(db)
            without = simulate_without_draft(scratch, int(vid), truth)
            per_rep = simulate_with_draft(scratch, int(vid), truth, name, annotator="sim-draft-clicks")
            bulk = simulate_with_draft(scratch, int(vid), truth, name, annotator="sim-draft-bulk", bulk=True)
            shutil.rmtree(tmp, ignore_errors=True)
        rows.append({"video_id": int(vid), "draft": name, "reps": len(truth), "without_draft": without,
                     "with_draft": per_rep, "with_draft_bulk": bulk})
    total = {key: sum(r[key]["actions"] for r in rows) for key in ("without_draft", "with_draft", "with_draft_bulk")}
    total["reps"] = sum(r["reps"] for r in rows)
    return {"videos": rows, "total": total}


def main(argv=None) -> int:
    import argparse

    from core.base.workspace import Workspace

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workspace", default=None)
    p.add_argument("--model", help="analyse with this model and store its draft first")
    p.add_argument("--draft-annotator", help="use this existing draft (model:<run_id>)")
    p.add_argument("--video", type=int, action="append", help="only this video (repeatable)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if not args.model and not args.draft_annotator:
        p.error("give --model MODEL (analyse and draft now) or --draft-annotator model:<run_id> (an existing draft)")
    ws = Workspace(args.workspace)
    res = keypress_study(ws, args.video or None, model_ref=args.model, draft=args.draft_annotator)
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        for r in res["videos"]:
            w, d, b = r["without_draft"], r["with_draft"], r["with_draft_bulk"]
            print(f"video {r['video_id']}: {r['reps']} reps — without draft {w['actions']} actions "
                  f"({w['keys']} keys); with draft {d['actions']} ({d['keys']} keys + {d['clicks']} clicks; "
                  f"{d['kept']} kept, {d['marked_by_hand']} marked by hand); bulk copy {b['actions']} "
                  f"({b['keys']} keys + {b['clicks']} clicks)")
        t = res["total"]
        print(f"total over {t['reps']} reps: without draft {t['without_draft']}, with draft {t['with_draft']} "
              f"(per-rep copy) / {t['with_draft_bulk']} (bulk copy)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
