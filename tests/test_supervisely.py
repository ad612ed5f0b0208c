"""Supervisely video project import/export: lossless round trip, every problem reported, CLI."""
import json
import unicodedata
from pathlib import Path

import pytest

from core.cli.main import build_parser
from core.base.store import Store
from core.labeling.supervisely import export_supervisely, import_supervisely

INFO = {"frames": 100, "fps": 30.0, "width": 854, "height": 480, "duration_s": 100 / 30, "codec": "h264", "vfr": False}


def make_store(path, n=2):
    store = Store(path)
    for i in range(n):
        store.add_video(path=f"videos/clip{i}.mp4", sha256=f"h{i}", info=INFO, title=f"Clip {i}")
    return store


def write_project(root, files, meta=None):
    root.mkdir(parents=True, exist_ok=True)
    (root / "meta.json").write_text(json.dumps(meta or {"classes": [], "tags": [], "projectType": "videos"}))
    for name, data in files.items():
        p = root / "ds0" / "ann" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(data if isinstance(data, str) else json.dumps(data))
    return root


def ann(tags, frames=100, **extra):
    return {"size": {"height": 480, "width": 854}, "description": "", "key": "k" * 32, "tags": tags,
            "objects": [], "frames": [], "framesCount": frames, **extra}


def tag(name, start, end, key, login="alice", **extra):
    return {"name": name, "frameRange": [start, end], "key": key, "labelerLogin": login,
            "createdAt": "2020-08-23T12:06:11.963Z", "updatedAt": "2020-08-23T12:07:00.000Z", **extra}


def test_export_then_import_into_a_fresh_workspace_is_lossless(tmp_path):
    src = make_store(tmp_path / "a.db")
    src.add_segment(1, "thruster", 10, 20, "alice", review="accepted")
    sly = {"id": 77, "value": None, "x": [1]}
    src.add_segment(1, "ohs", 21, 30, "alice", extra={"note": "fast", "supervisely": sly})
    src.add_segment(1, "thruster", 12, 22, "bob", review="rejected")
    src.add_segment(2, "ghd", 0, 99, "ground-truth")
    src.set_video_roi(1, (1, 2, 3, 4))
    with src.write() as con:  # a per-rep athlete box travels too
        con.execute("UPDATE segments SET roi = ? WHERE annotator = 'bob'", (json.dumps([5, 6, 7, 8]),))
    report = export_supervisely(src, tmp_path / "out")
    assert report.reps == 4 and len(report.files) == 2
    meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    thruster = next(t for t in meta["tags"] if t["name"] == "thruster")
    assert (thruster["value_type"], thruster["applicable_type"]) == ("none", "all")
    data = json.loads((tmp_path / "out" / "workspace" / "ann" / "clip0.mp4.json").read_text())
    assert data["framesCount"] == 100 and {"size", "description", "key", "objects", "frames"} <= data.keys()
    t = next(t for t in data["tags"] if t["name"] == "ohs")
    assert t["frameRange"] == [21, 30] and t["id"] == 77 and t["labelerLogin"] == "alice" and t["x"] == [1]

    dst = make_store(tmp_path / "b.db")
    result = import_supervisely(dst, tmp_path / "out")
    assert result.problems == [] and result.imported == 4
    assert dst.segments() == src.segments()  # keys, timestamps, review, roi, extra: identical
    # importing again changes nothing and reports nothing
    again = import_supervisely(dst, tmp_path / "out")
    assert (again.imported, again.unchanged, again.problems) == (0, 4, [])
    # and a second export is the same files
    export_supervisely(dst, tmp_path / "out2")
    for name in ("meta.json", "workspace/ann/clip0.mp4.json", "workspace/ann/clip1.mp4.json"):
        assert json.loads((tmp_path / "out" / name).read_text()) == json.loads((tmp_path / "out2" / name).read_text())


def test_import_keeps_unknown_fields_of_tags_and_files_through_export(tmp_path):
    store = make_store(tmp_path / "ws.db")
    meta = {"classes": [{"title": "person", "shape": "rectangle", "color": "#00FF00"}], "projectType": "videos",
            "tags": [{"name": "thruster", "value_type": "none", "color": "#123456", "id": 9, "applicable_type": "all",
                      "classes": []}]}
    video_tag = {"name": "athlete", "value": "Anna", "key": "vt", "labelerLogin": "alice"}
    files = {"clip0.mp4.json": ann([video_tag, tag("thruster", 5, 9, "abc", id=123, value=None, score=0.9)],
                                   customField={"a": 1}, objects=[{"key": "o1", "classTitle": "person"}])}
    result = import_supervisely(store, write_project(tmp_path / "in", files, meta))
    assert result.problems == [] and result.imported == 1
    rep = store.segments()[0]
    assert (rep["uuid"], rep["annotator"], rep["created_at"]) == ("abc", "alice", "2020-08-23T12:06:11.963Z")
    assert rep["extra"] == {"supervisely": {"id": 123, "value": None, "score": 0.9}}
    export_supervisely(store, tmp_path / "out")
    out = json.loads((tmp_path / "out" / "ds0" / "ann" / "clip0.mp4.json").read_text())
    original = json.loads((tmp_path / "in" / "ds0" / "ann" / "clip0.mp4.json").read_text())
    assert out == original
    out_meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert out_meta["classes"] == meta["classes"]
    assert next(t for t in out_meta["tags"] if t["name"] == "thruster")["id"] == 9
    assert {t["name"] for t in out_meta["tags"]} == set(store.labels())


def test_every_problem_is_reported_with_file_and_tag_and_valid_tags_still_import(tmp_path):
    store = make_store(tmp_path / "ws.db")
    existing = store.add_segment(1, "ghd", 90, 95, "alice")
    files = {
        "clip0.mp4.json": ann([
            tag("thruster", 0, 9, "ok1"),
            tag("thruster", 95, 120, "beyond"),          # beyond the 100 frames
            tag("thruster", 30, 20, "backwards"),        # start > end
            tag("snatch", 40, 45, "unknown"),            # not a workspace movement
            tag("ohs", 5, 12, "overlap"),                # overlaps ok1 (same labeler)
            tag("ohs", 5, 12, "other", login="bob"),     # another labeler may overlap
            tag("ohs", 88, 91, "clash"),                 # overlaps a rep already in the workspace
            {"frameRange": [50, 55], "key": "noname"},   # missing name
            tag("ohs", 60, 61, "ok1"),                   # duplicate key in the file
            tag("ohs", 70, "x", "badrange"),
        ]),
        "clip1.mp4.json": "{not json",
        "missing.mp4.json": ann([tag("ohs", 0, 1, "m")]),
        "clip1.json": {"size": {"height": 1, "width": 1}},  # missing tags and framesCount
    }
    result = import_supervisely(store, write_project(tmp_path / "in", files))
    text = "\n".join(str(p) for p in result.problems)
    assert result.imported == 2  # ok1 and bob's other
    assert "ds0/ann/clip0.mp4.json: tag #2 'thruster' [95, 120] key=beyond: frameRange [95, 120] goes beyond" in text
    assert "key=backwards: frameRange starts at frame 30, after its end 20" in text
    assert "key=unknown: unknown tag name 'snatch'" in text
    assert "key=overlap: overlaps tag #1 'thruster' [0, 9] key=ok1 of the same labeler 'alice'" in text
    assert "key=clash: not imported: Rep 88–91 overlaps alice's rep 90–95" in text
    assert "key=noname: missing key 'name'" in text
    assert "key=ok1: key ok1 is used by another tag of this file" in text
    assert "key=badrange: frameRange [70, \"x\"] is not two frame numbers" in text
    assert "ds0/ann/clip1.mp4.json: malformed JSON" in text
    assert "ds0/ann/missing.mp4.json: no workspace video named 'missing.mp4'" in text
    assert "ds0/ann/clip1.json: missing key 'tags'" in text and "ds0/ann/clip1.json: missing key 'framesCount'" in text
    assert len(result.problems) == 12
    # nothing already saved is lost
    assert store.segment(existing)["start"] == 90
    assert sorted((s["uuid"], s["annotator"]) for s in store.segments(1)) == sorted(
        [(existing, "alice"), ("ok1", "alice"), ("other", "bob")])


def test_frames_count_mismatch_and_conflicting_keys_are_reported(tmp_path):
    store = make_store(tmp_path / "ws.db")
    store.add_segment(2, "ghd", 0, 5, "alice", uuid="taken")
    files = {"clip0.mp4.json": ann([tag("ohs", 0, 5, "taken"), tag("ohs", 10, 15, "fine")], frames=101)}
    result = import_supervisely(store, write_project(tmp_path / "in", files))
    text = "\n".join(map(str, result.problems))
    assert "framesCount 101 differs from the 100 frames" in text
    assert "key taken is already in the workspace as alice's ghd rep 0–5 (video 2); kept the workspace's rep" in text
    assert result.imported == 1 and store.segment("taken")["video_id"] == 2


def test_old_export_form_with_video_name_and_default_annotator(tmp_path):
    store = make_store(tmp_path / "ws.db")
    old = {"videoName": "clip1.mp4", "framesCount": 100, "tags": [
        {"name": "deadlift", "frameRange": [3, 8], "key": "d1"},  # no labelerLogin → default annotator
    ]}
    root = tmp_path / "old"
    root.mkdir()
    (root / "whatever.json").write_text(json.dumps(old))
    result = import_supervisely(store, root, annotator="coach")
    assert result.problems == [] and result.imported == 1
    (rep,) = store.segments(2)
    assert (rep["uuid"], rep["label"], rep["start"], rep["end"], rep["annotator"]) == ("d1", "deadlift", 3, 8, "coach")


def test_matching_by_title_and_by_name_without_extension(tmp_path):
    store = make_store(tmp_path / "ws.db")
    files = {"Clip 1.json": ann([tag("ohs", 0, 1, "t1")]), "clip0.mov.json": ann([tag("ohs", 0, 1, "t0")])}
    result = import_supervisely(store, write_project(tmp_path / "in", files))
    assert result.problems == []
    assert store.segment("t1")["video_id"] == 2 and store.segment("t0")["video_id"] == 1


def test_cli_import_export_and_list(tmp_path, capsys):
    ws = tmp_path / "ws"
    store = make_store(ws / "workspace.db")
    store.add_segment(1, "thruster", 10, 20, "alice")
    parser = build_parser()

    def run(*argv):
        args = parser.parse_args(list(argv))
        return args.func(args)

    assert run("labels", "export-supervisely", str(tmp_path / "out"), "--workspace", str(ws)) == 0
    assert "Wrote 1 rep(s)" in capsys.readouterr().out
    assert run("labels", "list", "--json", "--workspace", str(ws)) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [{"video": "videos/clip0.mp4", "video_id": 1, "label": "thruster", "start": 10, "end": 20,
                     "annotator": "alice", "review": None, "uuid": rows[0]["uuid"]}]
    bad = write_project(tmp_path / "bad", {"clip0.mp4.json": ann([tag("snatch", 0, 1, "s")])})
    assert run("labels", "import-supervisely", str(bad), "--workspace", str(ws), "--annotator", "x") == 1
    out = capsys.readouterr().out
    assert "1 problem(s)" in out and "unknown tag name 'snatch'" in out
    assert run("labels", "import-supervisely", str(tmp_path / "out"), "--workspace", str(ws)) == 0
    assert "1 already there" in capsys.readouterr().out


@pytest.mark.parametrize("payload", ["[]", "null", '{"tags": "nope", "framesCount": 100}'])
def test_wrong_shapes_are_problems_not_crashes(tmp_path, payload):
    store = make_store(tmp_path / "ws.db")
    result = import_supervisely(store, write_project(tmp_path / "in", {"clip0.mp4.json": payload}))
    assert result.problems and result.imported == 0


# --- exports in the original pipeline's form, on real (small) videos --------------------------------------
A_NAME = "Men's Event 1, Bayden Brown, 3_58.mp4"                      # apostrophe, commas
B_NAME = "Björgvin Karl Guðmundsson – “Event 2” [Heat 3] (720p).mp4"  # non-ASCII, curly quotes, brackets
C_NAME = "Tia-Clair Toomey’s warm-up.mp4"


def small_videos(tmp_path):
    """Three short real H.264 videos: two 480p, one 720p, under awkward names."""
    import numpy as np

    from tests.videotools import pattern, write_video

    src = tmp_path / "downloads"
    src.mkdir()
    fast = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
    for name, (w, h), n in ((A_NAME, (854, 480), 40), (B_NAME, (1280, 720), 30), (C_NAME, (854, 480), 20)):
        write_video(src / name, np.stack([pattern(h, w, i) for i in range(n)]), 30, *fast)
    return src


def sly_tag(name, start, end, login="alice", **fields):
    return {"name": name, "value": None, "frameRange": [start, end], "labelerLogin": login,
            "createdAt": "2021-03-01T10:00:00.000Z", "updatedAt": "2021-03-01T10:00:00.000Z", **fields}


def real_form_exports(root):
    """Flat files with videoName/videoId and id/tagId tags, a project tree, and the awkward cases."""
    import unicodedata

    root.mkdir()
    flat_a = {"videoId": 101, "videoName": A_NAME, "datasetName": "2020", "size": {"height": 720, "width": 1280},
              "framesCount": 40, "description": "", "objects": [], "frames": [], "tags": [
                  sly_tag("thruster", 0, 5, id=9001, tagId=55),
                  sly_tag("thruster", 0, 5, id=9002, tagId=55),          # identical duplicate → one rep
                  sly_tag("thruster", 10, 10, id=9003, tagId=55),        # one-frame slip beside…
                  sly_tag("thruster", 10, 25, id=9004, tagId=55),        # …the real rep: kept
                  sly_tag("thruster", 27, 30, id=9005, tagId=55),
                  sly_tag("thruster", 29, 33, id=9006, tagId=55),        # a real overlap: reported, not kept
                  sly_tag("thruster", 29, 33, login="bob", id=9007, tagId=55),  # another labeler may overlap
              ]}
    (root / f"CrossFit Open_2020_{A_NAME}.json").write_text(json.dumps(flat_a, ensure_ascii=False), encoding="utf-8")
    # a flat file with no videoName: the video's name ends the file name
    flat_a2 = {"framesCount": 40, "tags": [sly_tag("ohs", 35, 39, login="carol", id=9101, tagId=56)]}
    (root / f"CrossFit Open_judges_{Path(A_NAME).stem}.json").write_text(json.dumps(flat_a2), encoding="utf-8")
    # the project tree, the file named in NFD (as macOS writes it)
    tree = root / "project"
    (tree / "Open 2020" / "ann").mkdir(parents=True)
    (tree / "meta.json").write_text(json.dumps({"projectType": "videos", "classes": [], "tags": [
        {"name": "thruster", "value_type": "none", "id": 55, "color": "#E6194B", "applicable_type": "all",
         "classes": []}]}))
    ann_b = {"size": {"height": 720, "width": 1280}, "description": "", "key": "b" * 32, "framesCount": 30,
             "objects": [], "frames": [], "tags": [
                 {"name": "athlete", "value": "BKG", "key": "wv", "labelerLogin": "alice"},  # whole-video tag
                 {**sly_tag("ghd", 2, 8), "key": "b1"},
                 {**sly_tag("ghd", 12, 12), "key": "b2"},                # slip before the long one
                 {**sly_tag("ghd", 12, 20), "key": "b3"},
                 {**sly_tag("muscle-up", 21, 25), "key": "b4"},          # not a workspace movement
                 {**sly_tag("ghd", 25, 31), "key": "b5"},                # beyond the 30 frames
             ]}
    nfd = unicodedata.normalize("NFD", B_NAME)
    (tree / "Open 2020" / "ann" / f"{nfd}.json").write_text(json.dumps(ann_b, ensure_ascii=False), encoding="utf-8")
    # renamed in Supervisely: matched by nothing until mapped
    flat_c = {"videoId": 303, "videoName": "toomey warmup.mp4", "framesCount": 20,
              "tags": [sly_tag("deadlift", 3, 9, id=9301, tagId=57)]}
    (root / "CrossFit Open_2020_toomey warmup.mp4.json").write_text(json.dumps(flat_c), encoding="utf-8")
    return root


def state(store):
    return (sorted((s["uuid"], s["video_id"], s["label"], s["start"], s["end"], s["annotator"],
                    json.dumps(s["extra"], sort_keys=True), s["created_at"], s["updated_at"]) for s in store.segments()),
            [store.supervisely_file(v["id"]) for v in store.videos()], store.setting("supervisely.meta"))


def test_real_export_forms_import_every_valid_rep_report_every_problem_and_are_idempotent(tmp_path):
    from core.labeling.supervisely import map_file
    from core.media import library
    from core.base.workspace import Workspace

    ws = Workspace(tmp_path / "ws")
    src = small_videos(tmp_path)
    ids = {name: library.add_file(ws, src / name).video_id for name in (A_NAME, B_NAME, C_NAME)}
    store = ws.store()
    a, b, c = (store.video(ids[n]) for n in (A_NAME, B_NAME, C_NAME))
    # names survive: a safe file name on disk, the original name as identity
    assert Path(a["path"]).name == "Men_s_Event_1_Bayden_Brown_3_58.mp4"
    assert (a["original_name"], a["title"]) == (A_NAME, Path(A_NAME).stem)
    assert (b["width"], b["height"]) == (1280, 720) and b["original_name"] == B_NAME

    exports = real_form_exports(tmp_path / "exports")
    report = import_supervisely(store, exports)
    by_kind = defaultdict_list((p.kind, p) for p in report.problems)
    assert all(p.file and (p.tag or p.kind == "unmatched") and p.message for p in report.problems)
    # A: 9001 (9002 is its duplicate), 9004 (9003 its slip), 9005 (9006 overlaps it), bob's 9007, carol's 9101
    # B: b1, b3 (b2 its slip); the whole-video tag is kept with the file
    assert report.imported == 7
    reps = {(s["video_id"], s["annotator"], s["start"], s["end"]) for s in store.segments()}
    assert reps == {(a["id"], "alice", 0, 5), (a["id"], "alice", 10, 25), (a["id"], "alice", 27, 30),
                    (a["id"], "bob", 29, 33), (a["id"], "carol", 35, 39), (b["id"], "alice", 2, 8),
                    (b["id"], "alice", 12, 20)}
    assert [p.tag for p in by_kind["duplicate"]] == ["tag #2 'thruster' [0, 5] id=9002"]
    slips = {p.tag: p.message for p in by_kind["slip"]}
    assert slips.keys() == {"tag #3 'thruster' [10, 10] id=9003", "tag #3 'ghd' [12, 12] key=b2"}
    assert "1-frame tag [10, 10] overlaps [10, 25]" in slips["tag #3 'thruster' [10, 10] id=9003"]
    assert "kept the longer tag" in slips["tag #3 'ghd' [12, 12] key=b2"]
    (overlap,) = by_kind["overlap"]
    assert overlap.tag == "tag #6 'thruster' [29, 33] id=9006" and "[29, 33] and [27, 30]" in overlap.message
    errors = "\n".join(map(str, by_kind["error"]))
    assert "unknown tag name 'muscle-up'" in errors and "[25, 31] goes beyond the video's 30 frames" in errors
    assert len(by_kind["error"]) == 2
    (um,) = report.unmatched
    assert um.name == "toomey warmup.mp4" and um.video_id == 303 and by_kind["unmatched"][0].file == um.file
    assert "720x1280" not in " ".join(report.notes) and any("annotated at 1280x720" in n for n in report.notes)
    # the Supervisely ids travel with the rep, and videoId with the video
    rep = next(s for s in store.segments(a["id"]) if s["start"] == 0)
    assert rep["extra"]["supervisely"] == {"value": None, "id": 9001, "tagId": 55}
    assert store.video(a["id"])["supervisely_id"] == 101

    # one step maps the renamed file; the folder imported again then changes nothing
    one = map_file(store, um.path, c["id"], root=exports)
    assert one.imported == 1 and one.ok and store.video(c["id"])["supervisely_id"] == 303
    before = state(store)
    again = import_supervisely(store, exports)
    assert (again.imported, again.unchanged, again.unmatched) == (0, 8, [])
    assert state(store) == before

    # a failed import changes nothing; a poorer one replaces nothing
    flat = exports / f"CrossFit Open_2020_{A_NAME}.json"
    good = flat.read_text(encoding="utf-8")
    flat.write_text(good[:50], encoding="utf-8")
    import_supervisely(store, exports)
    assert state(store) == before
    poorer = json.loads(good)
    poorer["tags"] = poorer["tags"][:1]
    flat.write_text(json.dumps(poorer), encoding="utf-8")
    import_supervisely(store, exports)
    assert state(store) == before

    # export gives every tag back: reps with their ids, the dropped ones with their reasons
    export_supervisely(store, tmp_path / "out")
    out = json.loads((tmp_path / "out" / "2020" / "ann" / f"{A_NAME}.json").read_text(encoding="utf-8"))
    assert sorted(t["id"] for t in out["tags"]) == [9001, 9004, 9005, 9007, 9101]
    assert all(t["tagId"] in (55, 56) for t in out["tags"]) and out["videoId"] == 101
    assert sorted(d["tag"]["id"] for d in out["workbenchDropped"]) == [9002, 9003, 9006]
    (b_file,) = (tmp_path / "out" / "project" / "Open 2020" / "ann").iterdir()  # named as imported (NFD here)
    assert unicodedata.normalize("NFC", b_file.name) == f"{B_NAME}.json"
    out_b = json.loads(b_file.read_text(encoding="utf-8"))
    assert {"name": "athlete", "value": "BKG", "key": "wv", "labelerLogin": "alice"} in out_b["tags"]
    assert (tmp_path / "out" / "workspace" / "ann" / "toomey warmup.mp4.json").is_file()  # the Supervisely name
    # …and that export imports into a fresh workspace with the same reps (the mapping is this workspace's)
    ws2 = Workspace(tmp_path / "ws2")
    ids2 = {name: library.add_file(ws2, src / name).video_id for name in (A_NAME, B_NAME, C_NAME)}
    fresh = import_supervisely(ws2.store(), tmp_path / "out")
    assert fresh.imported == 7 and [u.name for u in fresh.unmatched] == ["toomey warmup.mp4"]
    assert map_file(ws2.store(), fresh.unmatched[0].path, ids2[C_NAME]).imported == 1
    assert sorted(state(ws2.store())[0]) == sorted(state(store)[0])


def defaultdict_list(pairs):
    from collections import defaultdict

    out = defaultdict(list)
    for k, v in pairs:
        out[k].append(v)
    return out


def test_hostile_files_are_problems_and_nothing_bad_is_stored(tmp_path):
    """A roi that is not a box (every later split crashed on it), JSON nested 100,000 deep (a
    RecursionError traceback), and "tags" given twice (the first list of reps silently lost)."""
    store = make_store(tmp_path / "ws.db")
    bad_roi = ann([tag("ohs", 0, 9, "a" * 32, workbench={"roi": "abcd"}),
                   tag("ohs", 20, 29, "b" * 32, workbench={"roi": [0, 0, 5000, 10]}),
                   tag("ohs", 40, 49, "c" * 32, workbench={"roi": [10, 20, 110, 220]})])
    deep = "[" * 100_000 + "]" * 100_000
    twice = json.dumps(ann([tag("thruster", 0, 9, "d" * 32)]))[:-1] + ', "tags": []}'
    result = import_supervisely(store, write_project(tmp_path / "in", {
        "clip0.mp4.json": bad_roi, "clip1.mp4.json": deep, "Clip 1.json": twice}))
    text = " ".join(f"{p.file} {p.message}" for p in result.problems)
    assert "roi 'abcd' is not a box" in text and "[0, 0, 5000, 10]" in text
    assert "nested too deeply" in text and "appears twice" in text
    reps = store.segments()
    assert [(r["start"], r["roi"]) for r in reps] == [(40, [10, 20, 110, 220])]


def test_a_reimport_that_brings_less_keeps_what_was_stored(tmp_path):
    """Issue 18's data loss: a second file for the same video whose tags are all rejected, with an empty
    meta.json and no description, whole-video tags or objects, must not replace the description,
    whole-video tags, objects and project meta the first import kept (they go back out on export)."""
    store = make_store(tmp_path / "ws.db")
    meta = {"classes": [{"title": "person", "shape": "rectangle"}], "projectType": "videos",
            "tags": [{"name": "thruster", "value_type": "none", "id": 9, "applicable_type": "all", "classes": []}]}
    first = ann([{"name": "athlete", "value": "Anna", "key": "vt", "labelerLogin": "alice"},
                 tag("thruster", 5, 9, "abc")], description="Open 24.1, lane 3",
                objects=[{"key": "o1", "classTitle": "person"}])
    assert import_supervisely(store, write_project(tmp_path / "in", {"clip0.mp4.json": first}, meta)).imported == 1
    poorer = ann([tag("not a movement", 20, 30, "zzz")])            # every tag rejected
    again = write_project(tmp_path / "again", {"clip0.mp4.json": poorer}, {})
    (again / "meta.json").write_text("{}")
    result = import_supervisely(store, again)
    assert result.imported == 0 and result.problems
    export_supervisely(store, tmp_path / "out")
    out = json.loads((tmp_path / "out" / "ds0" / "ann" / "clip0.mp4.json").read_text())
    assert out["description"] == "Open 24.1, lane 3" and out["objects"] == [{"key": "o1", "classTitle": "person"}]
    assert {"name": "athlete", "value": "Anna", "key": "vt", "labelerLogin": "alice"} in out["tags"]
    assert any(t.get("key") == "abc" for t in out["tags"])
    out_meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert out_meta["classes"] == meta["classes"] and out_meta["projectType"] == "videos"
    assert [s["uuid"] for s in store.segments()] == ["abc"]
