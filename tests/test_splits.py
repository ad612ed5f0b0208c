"""Train/val/test splits: grouped by video, stratified by movement, deterministic for a seed."""
import json

import pytest

from core.dataset import splits
from core.cli.main import main
from core.base.workspace import Workspace
from tests.test_stats import fake_video


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path / "ws")


def crafted():
    """20 videos: 10 with 10 thrusters each, 10 with 4 ohs each (100 thrusters, 40 ohs)."""
    counts = {v: {"thruster": 10} for v in range(1, 11)}
    counts.update({v: {"ohs": 4} for v in range(11, 21)})
    return counts


def per_split(counts, where):
    out = {s: {} for s in splits.SPLITS}
    for v, s in where.items():
        for m, k in counts[v].items():
            out[s][m] = out[s].get(m, 0) + k
    return out


def test_stratified_on_a_crafted_case():
    counts = crafted()
    where = splits.assign_splits(counts, seed=0)
    assert sorted(where) == sorted(counts)  # every video in exactly one split
    got = per_split(counts, where)
    # targets 70/15/15: thruster 70/15/15 (videos of 10: 7/1.5/1.5), ohs 28/6/6 (videos of 4: 7/1.5/1.5)
    assert got["train"] == {"thruster": 70, "ohs": 28}
    for s in ("val", "test"):
        assert got[s]["thruster"] in (10, 20) and got[s]["ohs"] in (4, 8)
    assert got["val"]["thruster"] + got["test"]["thruster"] == 30


def test_deterministic_for_a_seed_and_seeds_differ():
    counts = crafted()
    assert splits.assign_splits(counts, seed=3) == splits.assign_splits(dict(reversed(counts.items())), seed=3)
    results = {tuple(sorted(splits.assign_splits(counts, seed=s).items())) for s in range(6)}
    assert len(results) > 1  # equal-sized videos: the seed picks which ones go where


def test_every_split_gets_a_video_and_ratios_are_configurable():
    lopsided = {1: {"thruster": 100}, 2: {"thruster": 1}, 3: {"ohs": 1}}
    assert sorted(splits.assign_splits(lopsided).values()) == ["test", "train", "val"]
    assert splits.assign_splits({1: {"ohs": 3}, 2: {"ohs": 3}}) != {}  # fewer videos than splits: no error
    where = splits.assign_splits(crafted(), ratios=(0.5, 0.5, 0))
    assert "test" not in where.values()
    got = per_split(crafted(), where)
    assert got["train"] == got["val"] == {"thruster": 50, "ohs": 20}
    with pytest.raises(splits.StoreError):
        splits.check_ratios((0, 0, 0))


def test_stored_splits_never_share_a_video(ws):
    store = ws.store()
    for i in range(9):
        vid = fake_video(store, f"v{i}.mp4", 30.0)
        for k in range(3 + i % 4):
            store.add_segment(vid, store.labels()[i % 3], k * 20, k * 20 + 15, "ann")
    empty = fake_video(store, "nothing.mp4", 30.0)  # no reps: no split
    where = splits.make_splits(store, seed=1)
    assert splits.current_splits(store) == where and empty not in where
    summary = splits.summary(store)
    assigned = [v for part in summary["splits"].values() for v in part["videos"]]
    assert sorted(assigned) == sorted(set(assigned)) == sorted(where)
    assert all(part["videos"] for part in summary["splits"].values())
    assert sum(part["reps"] for part in summary["splits"].values()) == len(store.segments())
    for seg in store.segments():  # each video's reps all sit in its one split
        assert seg["video_id"] in summary["splits"][where[seg["video_id"]]]["videos"]
    late = fake_video(store, "late.mp4", 30.0)
    store.add_segment(late, "ghd", 0, 10, "ann")
    assert splits.summary(store)["unassigned"] == [late]


def test_cli_splits_make_and_show(ws, capsys):
    store = ws.store()
    for i in range(6):
        vid = fake_video(store, f"v{i}.mp4", 30.0)
        store.add_segment(vid, "thruster", 0, 10, "ann")
    assert main(["splits", "make", "--seed", "4", "--ratios", "0.6", "0.2", "0.2", "--workspace", str(ws.root)]) == 0
    capsys.readouterr()
    assert main(["splits", "show", "--json", "--workspace", str(ws.root)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["seed"] == 4
    assert [len(out["splits"][s]["videos"]) for s in splits.SPLITS] == [4, 1, 1]
