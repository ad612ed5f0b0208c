"""A tree of already cut clips as labelled data: one rep per clip, splits grouped by source video."""
import json

import numpy as np

from core.base.workspace import Workspace
from core.cli.main import build_parser
from core.dataset.clip_import import import_clips, read_manifests
from core.dataset.splits import make_splits
from core.dataset.splits import SPLITS, summary
from tests.videotools import write_video
from tests.apptest import page_test

FAST = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
# source video -> its clips (movement folder, number); "muscle-up" is not a workspace movement
SOURCES = {
    "Men's Event 1, Bayden Brown.mp4": [("thruster", 1), ("thruster", 2), ("ohs", 3)],
    "Björgvin Karl Guðmundsson – 20.1.mp4": [("thruster", 4), ("ohs", 5), ("ghd", 6)],
    "Tia-Clair Toomey [heat 2].mp4": [("thruster", 7), ("ohs", 8), ("muscle-up", 9)],
}


def clip_frames(number: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(number)  # every clip its own content (the library dedupes by content)
    return rng.integers(0, 255, (n, 48, 64, 3), dtype=np.uint8)


def make_tree(root, sources=SOURCES, above=""):
    for clips in sources.values():
        for movement, number in clips:
            folder = root / above / movement if above else root / movement
            folder.mkdir(parents=True, exist_ok=True)
            write_video(folder / f"{movement}_{number}.mp4", clip_frames(number, 6 + number % 3), 30, *FAST)
    return root


def write_manifests(folder, sources=SOURCES):
    folder.mkdir()
    for video, clips in sources.items():
        entries = [{"start_time": 10.0 * k, "length": 0.2, "rename_to": f"{m}_{n}.mp4"} for k, (m, n) in enumerate(clips)]
        (folder / f"{video.rsplit('.', 1)[0]}.json").write_text(json.dumps(entries), encoding="utf-8")
    return folder


def test_clips_with_manifests_import_as_reps_and_split_by_source_video(tmp_path):
    ws = Workspace(tmp_path / "ws")
    tree = make_tree(tmp_path / "clips")
    manifests = write_manifests(tmp_path / "manifests")
    first = import_clips(ws, tree, manifests=manifests)
    # the unknown movement is offered, not dropped, and nothing else is held back
    assert first.unknown_movements == {"muscle-up": ["muscle-up/muscle-up_9.mp4"]}
    assert (first.added, first.reps, first.problems) == (8, 8, [])
    assert "muscle-up" not in ws.store().labels()
    second = import_clips(ws, tree, manifests=manifests, add_movements=True)
    assert second.added_movements == ["muscle-up"] and ws.store().labels()[-1] == "muscle-up"
    assert (second.added, second.already, second.reps, second.unknown_movements) == (1, 8, 1, {})
    # again: nothing changes
    before = sorted((s["video_id"], s["label"], s["start"], s["end"]) for s in ws.store().segments())
    third = import_clips(ws, tree, manifests=manifests, add_movements=True)
    assert (third.added, third.reps, third.problems) == (0, 0, [])
    assert sorted((s["video_id"], s["label"], s["start"], s["end"]) for s in ws.store().segments()) == before

    store = ws.store()
    videos = {v["original_name"]: v for v in store.videos()}
    for seg in store.segments():  # one rep spanning each clip
        video = store.video(seg["video_id"])
        assert (seg["start"], seg["end"], seg["annotator"]) == (0, video["frames"] - 1, "clips")
        assert seg["label"] == video["original_name"].rsplit("_", 1)[0]
    by_source = {}
    for source, clips in SOURCES.items():
        for m, n in clips:
            v = videos[f"{m}_{n}.mp4"]
            assert v["split_group"] == f"source:{source.rsplit('.', 1)[0]}"
            by_source.setdefault(source, []).append(v["id"])
    where = make_splits(store, seed=0)
    assert len(where) == 9
    for source, ids in by_source.items():
        assert len({where[i] for i in ids}) == 1, f"{source}'s clips straddle splits"
    assert {where[ids[0]] for ids in by_source.values()} == set(SPLITS)  # three sources, three splits
    assert sum(s["reps"] for s in summary(store)["splits"].values()) == 9


def test_without_manifests_the_report_says_so_and_groups_by_folder_or_key(tmp_path, capsys):
    two = {"a.mp4": [("thruster", 1), ("ohs", 2)], "b.mp4": [("thruster", 3), ("ohs", 4)]}
    tree = tmp_path / "clips"
    make_tree(tree, {"a.mp4": two["a.mp4"]}, above="athlete_a")
    make_tree(tree, {"b.mp4": two["b.mp4"]}, above="athlete_b")
    ws = tmp_path / "ws"
    args = build_parser().parse_args(["videos", "add-clips", str(tree), "--workspace", str(ws), "--make-splits"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "splits cannot be grouped by athlete" in out and "2 split group(s) by clip folder" in out
    store = Workspace(ws).store()
    groups = {v["original_name"]: v["split_group"] for v in store.videos()}
    assert groups == {"thruster_1.mp4": "folder:athlete_a", "ohs_2.mp4": "folder:athlete_a",
                      "thruster_3.mp4": "folder:athlete_b", "ohs_4.mp4": "folder:athlete_b"}
    # a user-given key instead: the clip number's parity, say
    ws2 = Workspace(tmp_path / "ws2")
    by_key = import_clips(ws2, tree, group_by=r"_(\d)\.mp4$")
    assert by_key.grouped_by == r"key '_(\d)\.mp4$'" and set(by_key.groups) == {"key:1", "key:2", "key:3", "key:4"}
    bad = import_clips(ws2, tree, group_by="(")
    assert bad.problems and "regular expression" in bad.problems[0]


def test_manifest_problems_are_reported(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "x.json").write_text("{nope")
    (folder / "y.json").write_text(json.dumps([{"start_time": 0, "length": 1, "rename_to": "ohs_1.mp4"}, {"length": 1}]))
    (folder / "z.json").write_text(json.dumps([{"start_time": 0, "length": 1, "rename_to": "ohs_1.mp4"}]))
    where, problems = read_manifests(folder)
    assert where == {}
    text = "\n".join(problems)
    assert "x.json: malformed JSON" in text and "y.json: entry #2 has no rename_to" in text
    assert "ohs_1.mp4 is listed by two source videos (y, z)" in text


def test_videos_page_imports_a_clip_tree_and_offers_unknown_movements(tmp_path, monkeypatch):

    monkeypatch.setenv("WORKSPACE", str(tmp_path / "ws"))
    tree = make_tree(tmp_path / "clips", {"t.mp4": [("thruster", 1), ("muscle-up", 2)]})
    at = page_test("app_pages/1_Videos.py", default_timeout=60)
    at.run()
    at.text_input(key="clip_dir").input(str(tree)).run()
    at.button(key="import_clips").click().run()
    assert any("not in the label list" in w.value and "muscle-up" in w.value for w in at.warning)
    assert any("splits cannot be grouped by athlete" in c.value for c in at.caption)
    at.button(key="clip_add_movements").click().run()
    store = Workspace(tmp_path / "ws").store()
    assert "muscle-up" in store.labels() and sorted(s["label"] for s in store.segments()) == ["muscle-up", "thruster"]
