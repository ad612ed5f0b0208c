"""AppTest runs of the Label page: what an annotator sees, and key events sent as the component would."""
import json

import cv2
import numpy as np
import pytest

from core.media import library
from core.media.frame_server import unpack
from core.media.video import VideoReader
from core.base.workspace import PROJECT_ROOT as ROOT, Workspace
from ui.labeler import rect_from_roi, roi_from_rect
from tests.apptest import page_test

SMALL = "kbtrainer__front_squat_.mp4"
PAGE = "app_pages/2_Label.py"


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSPACE", str(tmp_path / "ws"))
    return Workspace(tmp_path / "ws")


@pytest.fixture
def vid(ws, real_videos):
    return library.add_file(ws, real_videos / SMALL).video_id


class Page:
    """The Label page in AppTest, plus the labeller component's side of the protocol."""

    def __init__(self, annotator: str | None = "alex", video: int | None = None):
        self.at = page_test(str(ROOT / PAGE), default_timeout=60)
        if annotator:
            self.at.query_params["annotator"] = annotator
        if video is not None:
            self.at.query_params["video"] = str(video)
        self.seq = self.rid = 0
        self.video = video
        self.run()

    def run(self):
        self.at.run()
        assert not self.at.exception, self.at.exception
        return self

    def data(self) -> dict:
        el = next(e for e in self.at.main if getattr(e.proto, "component_name", "") == "workbench_labeler")
        meta, frames = unpack(el.proto.bytes)
        return dict(meta, frames=frames)

    def send(self, *events, frame=0, need=(), resend=None):
        """Send key events (key strings or event dicts with their frame) as the browser does."""
        if resend is None:
            evs = []
            for ev in events:
                ev = {"type": "key", "key": ev} if isinstance(ev, str) else dict(ev)
                ev.setdefault("type", "key")
                self.seq += 1
                ev.update(seq=self.seq, nav=0, vid=self.video)
                ev.setdefault("frame", frame)
                evs.append(ev)
        else:
            evs = resend
        self.rid += 1
        self.last_events = evs
        self.at.session_state["labeler"] = {"msg": {
            "client": "test", "rid": self.rid, "vid": self.video, "frame": frame, "nav": 0, "playing": False,
            "events": evs, "need": list(need)}}
        return self.run()


def table_with(at, column: str):
    """The first dataframe on the page with this column (non-widget dataframes carry no key here)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def spans(ws, vid, who="alex"):
    return [(r["label"], r["start"], r["end"]) for r in ws.store().segments(vid, who)]


def decode(jpeg: bytes) -> np.ndarray:
    raw = jpeg
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def test_the_page_opens_on_a_frame_with_the_last_annotator_or_the_system_user(ws, vid):
    import getpass

    p = Page(annotator=None)
    assert not p.at.exception
    assert p.data()["me"] == getpass.getuser()  # no name typed yet: the system user
    p.at.text_input(key="annotator").input("bea").run()
    assert p.at.query_params["annotator"] == ["bea"] or p.at.query_params["annotator"] == "bea"
    assert p.data()["me"] == "bea"
    assert Page(annotator=None).data()["me"] == "bea"  # the last name used here


def test_a_name_that_is_markup_is_refused_not_rendered(ws, vid):
    """?annotator=![x](http://…) made the browser fetch a URL: names are plain words, shown as text."""
    p = Page(annotator="![x](http://127.0.0.1:9/pixel.png)")
    assert not p.at.exception
    assert any("letters, digits, spaces" in i.value for i in p.at.info)
    assert not [e for e in p.at.main if getattr(e.proto, "component_name", "") == "workbench_labeler"]
    assert not any("](http" in m.value and "\\]" not in m.value for m in p.at.markdown)
    assert ws.store().segments(vid) == []


def test_the_page_shows_the_exact_frames_decoded_on_the_server(ws, vid, real_videos):
    p = Page(video=vid)
    data = p.data()
    video = ws.store().video(vid)
    assert data["video"]["id"] == vid and data["video"]["frames"] == video["frames"] == 312
    assert data["frame"] == 0 and data["seek"]["frame"] == 0
    assert 0 in data["frames"] and set(data["frames"]) <= set(range(-15, 41))  # the first ones, within 0.3 s
    p.send(frame=0, need=[0, 7, 40])
    data = p.data()
    assert [lab["name"] for lab in data["labels"]] == ws.store().labels()
    with VideoReader(real_videos / SMALL) as r:
        for i in (0, 7, 40):
            shown = decode(data["frames"][i])
            truth = r.frame(i)
            assert shown.shape == truth.shape  # 270x480: shown at full size
            assert np.abs(shown.astype(int) - truth).mean() < 4  # JPEG of the same picture
            other = r.frame(i + 20)
            assert np.abs(shown.astype(int) - other).mean() > np.abs(shown.astype(int) - truth).mean()
    # frames the browser asks for come back; no question, no frames
    p.send(frame=200, need=[200, 201, 202])
    assert {200, 201, 202} <= set(p.data()["frames"])
    p.send(frame=200)
    assert p.data()["frames"] == {}
    assert p.data()["frame"] == 200


def test_keys_mark_reps_once_each_and_undo_works(ws, vid):
    p = Page(video=vid)
    p.send("1", {"key": "s", "frame": 10}, {"key": "e", "frame": 15}, frame=15)
    movement = ws.store().labels()[0]
    assert spans(ws, vid) == [(movement, 10, 15)]
    data = p.data()
    assert data["ack"] == 3 and data["client"] == "test"
    assert [r[:3] for r in data["reps"]] == [[10, 15, 0]]
    assert data["selected"] == data["reps"][0][3] and "10–15" in data["message"]["text"]
    # The same events again (a lost answer, a merged rerun): nothing happens twice.
    p.send(resend=p.last_events, frame=15)
    assert spans(ws, vid) == [(movement, 10, 15)] and p.data()["message"]["kind"] == "info"
    # Enter chains; 2 chooses the second movement
    p.send("2", {"key": "s", "frame": 20}, {"key": "Enter", "frame": 30}, {"key": "Enter", "frame": 40}, frame=40)
    second = ws.store().labels()[1]
    assert spans(ws, vid) == [(movement, 10, 15), (second, 20, 30), (second, 31, 40)]
    assert p.data()["open"] == {"label": 1, "start": 41}
    p.send({"key": "z", "ctrl": True}, frame=40)
    assert spans(ws, vid) == [(movement, 10, 15), (second, 20, 30)]
    assert p.data()["open"] == {"label": 1, "start": 31}
    p.send({"key": "z", "ctrl": True}, {"key": "z", "ctrl": True}, frame=40)
    assert spans(ws, vid) == [(movement, 10, 15)] and p.data()["open"] is None


def test_a_refused_edit_is_a_message_and_a_toast_not_a_stack_trace(ws, vid):
    ws.store().add_segment(vid, "ghd", 10, 20, "alex")
    p = Page(video=vid)
    p.send({"key": "s", "frame": 15}, frame=15)
    msg = p.data()["message"]
    assert msg["kind"] == "error" and "inside your rep 10–20" in msg["text"]
    assert any("inside your rep" in t.value for t in p.at.toast)
    assert spans(ws, vid) == [("ghd", 10, 20)]


def test_tab_selects_and_jumps_and_review_buttons_mark_the_rep(ws, vid):
    store = ws.store()
    store.add_segment(vid, "ghd", 10, 20, "alex")
    store.add_segment(vid, "ghd", 30, 40, "alex")
    p = Page(video=vid)
    p.send({"key": "Tab", "frame": 25}, frame=25)
    data = p.data()
    assert data["selected"] == store.segments(vid)[1]["uuid"]
    assert data["seek"]["frame"] == 30 and data["seek"]["nav"] == 0 and data["frame"] == 30
    p.at.button(key="review_accept").click()
    p.run()
    assert store.segments(vid)[1]["review"] == "accepted"
    assert p.at.button(key="review_accept").disabled
    p.at.button(key="review_reject").click()
    p.run()
    assert store.segments(vid)[1]["review"] == "rejected"
    table = table_with(p.at, "length")
    assert list(table["start"]) == [10, 30] and list(table["length"]) == [11, 11]
    assert list(table["review"]) == ["", "rejected"]
    assert any("Dataset rule" in c.value for c in p.at.caption)


def test_another_annotator_is_shown_beside_with_agreement(ws, vid):
    store = ws.store()
    for a, b in [(10, 20), (30, 40), (50, 60)]:
        store.add_segment(vid, "ghd", a, b, "alex")
    for a, b in [(11, 21), (70, 80)]:
        store.add_segment(vid, "ghd", a, b, "bea")
    p = Page(video=vid)
    p.at.selectbox(key="label_other").select("bea")
    p.run()
    data = p.data()
    assert data["other_name"] == "bea" and [r[:2] for r in data["other"]] == [[11, 21], [70, 80]]
    metrics = {m.label: m.value for m in p.at.metric}
    assert metrics["Precision"] == "0.50" and metrics["Recall"] == "0.33" and metrics["F1"] == "0.40"
    assert "Frame κ" in metrics
    # select bea's rep (a click on her lane) and copy it into mine: refused, it overlaps 10–20
    p.send({"type": "select", "uuid": store.segments(vid, "bea")[1]["uuid"]}, frame=0)
    p.at.button(key="accept_draft").click()
    p.run()
    assert spans(ws, vid)[-1] == ("ghd", 70, 80)


def test_progress_lists_reps_per_annotator_and_videos_without_labels(ws, vid, real_videos):
    other = library.add_file(ws, real_videos / "kbtrainer__backSquats.mp4").video_id
    ws.store().add_segment(vid, "ghd", 10, 20, "alex")
    ws.store().add_segment(vid, "ohs", 30, 40, "bea")
    p = Page(video=vid)
    table = table_with(p.at, "annotator")
    assert list(table["annotator"]) == ["alex", "bea"] and list(table["ghd"]) == [1, 0]
    assert any("1 video(s) still need labels" in m.value and f"{other} ·" in m.value for m in p.at.markdown)


def test_supervisely_export_and_import_from_the_page(ws, vid, tmp_path):
    store = ws.store()
    store.add_segment(vid, "ghd", 10, 20, "alex")
    p = Page(video=vid)
    out = tmp_path / "sv"
    p.at.text_input(key="sv_out").input(str(out))
    p.run()
    p.at.button(key="sv_export").click()
    p.run()
    assert any("Wrote 1 rep(s)" in s.value for s in p.at.success)
    ann = json.loads(next(out.glob("*/ann/*.json")).read_text())
    assert [t["frameRange"] for t in ann["tags"]] == [[10, 20]]
    # a bad tag: beyond the video's 312 frames
    ann["tags"].append({"name": "ghd", "frameRange": [300, 400], "key": "bad"})
    next(out.glob("*/ann/*.json")).write_text(json.dumps(ann))
    store.delete_segment(store.segments(vid)[0]["uuid"])
    p.at.text_input(key="sv_in").input(str(out))
    p.run()
    p.at.button(key="sv_import").click()
    p.run()
    assert spans(ws, vid) == [("ghd", 10, 20)]
    problems = table_with(p.at, "problem")
    assert len(problems) == 1 and "300" in problems["problem"][0]
    assert any("1 problem" in w.value for w in p.at.warning)


def test_the_athlete_box_is_shown_in_full_resolution_pixels(ws, vid):
    ws.store().set_video_roi(vid, (20, 40, 200, 400))
    p = Page(video=vid)
    assert any("Stored box: **(20, 40) – (200, 400)**, 180×360 px of 270×480" in m.value for m in p.at.markdown)


def test_box_geometry_round_trips_between_canvas_and_frame():
    canvas, frame = (640, 360), (1280, 720)
    rect = rect_from_roi((100, 50, 500, 700), canvas, frame)
    assert rect["left"] == 50 and rect["top"] == 25 and rect["width"] == 200 and rect["height"] == 325
    assert roi_from_rect(rect, canvas, frame) == (100, 50, 500, 700)
    # scaled by a resize handle, dragged from bottom-right to top-left, partly outside the frame
    assert roi_from_rect({"left": 600, "top": 300, "width": 100, "height": 50, "scaleX": 1, "scaleY": 2},
                         canvas, frame) == (1200, 600, 1280, 720)
    assert roi_from_rect({"left": 10, "top": 10, "width": 0, "height": 5}, canvas, frame) is None


def test_odd_events_are_messages_never_stack_traces(ws, vid):
    p = Page(video=vid)
    p.send({"type": "bogus"}, {"type": "select", "uuid": "no-such-rep"}, {"key": "s", "frame": "x"},
           {"key": "F13"}, frame=5)
    data = p.data()
    assert data["ack"] == 4 and data["message"]["kind"] == "error"
    assert ws.store().open_rep(vid, "alex") is None
    p.send({"key": "s"}, frame=7)  # and the page goes on working
    assert ws.store().open_rep(vid, "alex")["start"] == 7
    # a message for another video (the browser switched meanwhile) is ignored
    p.at.session_state["labeler"] = {"msg": {"client": "test", "rid": 99, "vid": vid + 1, "frame": 0,
                                             "events": [{"key": "e", "seq": 9}]}}
    p.run()
    assert ws.store().open_rep(vid, "alex")["start"] == 7


def test_the_box_editor_opens_on_demand(ws, vid):
    p = Page(video=vid)
    canvases = lambda: [e for e in p.at.main if "drawable_canvas" in getattr(e.proto, "component_name", "")]  # noqa: E731
    assert not canvases()  # the drawing canvas loads only when asked for
    p.at.toggle(key=f"roi_edit_{vid}").set_value(True).run()
    assert not p.at.exception
    assert canvases() and p.at.button(key="roi_save").disabled
