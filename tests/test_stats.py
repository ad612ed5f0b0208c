"""Dataset statistics against a hand-computed fixture."""
import json

import pytest

from core.dataset import stats
from core.cli.main import main
from core.base.store import Store
from core.base.workspace import Workspace


def fake_video(store: Store, name: str, fps: float, frames: int = 1000) -> int:
    """A video row without a file: statistics and splits need only the database."""
    info = {"frames": frames, "fps": fps, "width": 640, "height": 360, "duration_s": frames / fps,
            "codec": "h264", "vfr": False}
    return store.add_video(path=f"videos/{name}", sha256=name, info=info, title=name)


def make_fixture(store: Store) -> tuple[int, int]:
    """Hand-computable: at 30 fps, thruster reps of 10, 20 and 30 frames (alice); at 25 fps one ohs rep of
    40 frames (bob). Left out by the dataset rule: a rejected rep and a model draft."""
    v1, v2 = fake_video(store, "a.mp4", 30.0), fake_video(store, "b.mp4", 25.0)
    store.add_segment(v1, "thruster", 0, 9, "alice")
    store.add_segment(v1, "thruster", 10, 29, "alice")
    store.add_segment(v1, "thruster", 30, 59, "alice")
    store.add_segment(v1, "ghd", 100, 199, "alice", review="rejected")
    store.add_segment(v1, "ohs", 300, 309, "model:run1")
    store.add_segment(v2, "ohs", 0, 39, "bob")
    return v1, v2


# Hand-computed expectations (sd = sample sd, n - 1):
#   thruster frames [10, 20, 30]: mean 20, sd 10; seconds [1/3, 2/3, 1]: mean 2/3, sd 1/3
#   ohs frames [40]: mean 40, sd undefined (one rep); seconds 40/25 = 1.6
#   TOTAL (as MOVEMENTS.md's, whose 39.00 / 7.73 are the means of its nine per-class means / sds):
#          4 reps; frames mean (20 + 40) / 2 = 30 (not the pooled 25); frames sd = mean of the sds that exist = 10;
#          seconds mean (2/3 + 1.6) / 2 = 17/15; seconds sd 1/3
#   pooled frames [10, 20, 30, 40]: mean 25, sd sqrt(500/3) = 12.9099…
EXPECTED = {
    "thruster": (3, 20.0, 10.0, 2 / 3, 1 / 3),
    "ohs": (1, 40.0, None, 1.6, None),
    "ghd": (0, None, None, None, None),
    "TOTAL": (4, 30.0, 10.0, 17 / 15, 1 / 3),
}


def row_tuple(row):
    return (row["clips"], row["frames_mean"], row["frames_sd"], row["seconds_mean"], row["seconds_sd"])


def close(a, b):
    return all((x is None and y is None) or (x is not None and y is not None and abs(x - y) < 1e-9)
               for x, y in zip(a, b))


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path / "ws")


def test_movement_table_matches_the_hand_computed_fixture(ws):
    store = ws.store()
    make_fixture(store)
    table = stats.movement_table(store)
    rows = {r["label"]: r for r in table["rows"]}
    assert list(rows) == store.labels()  # every movement, in label order
    for label in ("thruster", "ohs", "ghd"):
        assert close(row_tuple(rows[label]), EXPECTED[label]), label
    assert close(row_tuple(table["total"]), EXPECTED["TOTAL"])
    assert table["pooled"]["frames_mean"] == 25 and abs(table["pooled"]["frames_sd"] - (500 / 3) ** 0.5) < 1e-9
    assert table["sd"] == "sample" and table["source"] == "reps"


def test_reps_per_video_and_annotator(ws):
    store = ws.store()
    v1, v2 = make_fixture(store)
    per_video = {r["video_id"]: r for r in stats.per_video(store)}
    assert per_video[v1]["reps"] == 3 and per_video[v1]["thruster"] == 3 and per_video[v1]["frames"] == 60
    assert per_video[v2]["reps"] == 1 and per_video[v2]["ohs"] == 1 and abs(per_video[v2]["seconds"] - 1.6) < 1e-9
    per_annotator = {r["annotator"]: r for r in stats.per_annotator(store)}
    assert per_annotator["alice"] == {"annotator": "alice", "dataset_reps": 3, "labelled_reps": 4, "videos": 1}
    assert per_annotator["bob"]["dataset_reps"] == 1
    assert per_annotator["model:run1"]["dataset_reps"] == 0 and per_annotator["model:run1"]["labelled_reps"] == 1
    assert stats.class_balance(store)["thruster"] == 3


def test_clip_source_counts_the_clips_table(ws):
    store = ws.store()
    v1, _ = make_fixture(store)
    assert stats.movement_table(store, "clips")["total"]["clips"] == 0
    seg = store.segments(v1, "alice")[0]
    with store.write() as con:
        con.execute("""INSERT INTO clips(segment_uuid, video_id, label, number, path, start_frame, end_frame, frames,
                       fps, bytes, fingerprint, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)""",
                    (seg["uuid"], v1, "thruster", 1, "clips/thruster/thruster_1.mp4", 0, 9, 10, 30.0, 1, "x", "t"))
    rows = {r["label"]: r for r in stats.movement_table(store, "clips")["rows"]}
    assert row_tuple(rows["thruster"]) == (1, 10, None, 10 / 30, None)


def test_cli_stats_json(ws, capsys):
    make_fixture(ws.store())
    assert main(["stats", "--json", "--workspace", str(ws.root)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert close(row_tuple(out["total"]), EXPECTED["TOTAL"])
    assert {r["label"]: r["clips"] for r in out["rows"]}["thruster"] == 3
    assert main(["stats", "--workspace", str(ws.root)]) == 0
    text = capsys.readouterr().out
    assert "TOTAL                     4        30.00      10.00          1.13        0.33" in text
