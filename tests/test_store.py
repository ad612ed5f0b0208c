"""The workspace database: schema, migrations, constraints, and two writers at once."""
import sqlite3
import subprocess
import sys
import threading

import pytest

from core.base.labels import DEFAULT_MOVEMENTS
from core.base.store import MIGRATIONS, SCHEMA_VERSION, DuplicateVideo, Store, StoreError
from core.base.workspace import PROJECT_ROOT as ROOT

INFO = {"frames": 100, "fps": 30.0, "width": 854, "height": 480, "duration_s": 100 / 30, "codec": "h264", "vfr": False}


def make_store(tmp_path, n_videos=1):
    store = Store(tmp_path / "ws.db")
    ids = [store.add_video(path=f"videos/v{i}.mp4", sha256=f"h{i}", info=INFO) for i in range(n_videos)]
    return store, ids


def test_new_store_has_schema_wal_and_default_labels(tmp_path):
    store = Store(tmp_path / "ws.db")
    assert store.schema_version() == SCHEMA_VERSION
    assert store.labels() == DEFAULT_MOVEMENTS
    con = sqlite3.connect(tmp_path / "ws.db")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_migrates_a_version_1_database_keeping_its_rows(tmp_path):
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    for statement in MIGRATIONS[0].split(";"):
        if statement.strip():
            con.execute(statement)
    con.execute("INSERT INTO labels(name, position) VALUES ('thruster', 0)")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    store = Store(path)
    assert store.schema_version() == SCHEMA_VERSION
    assert store.labels() == ["thruster"]  # kept, not re-seeded
    with store.read() as c:
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "edit_history" in tables


def test_refuses_a_database_from_a_newer_program(tmp_path):
    path = tmp_path / "new.db"
    Store(path)
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="newer"):
        Store(path)


def test_segments_are_refused_when_they_overlap_or_leave_the_video(tmp_path):
    store, (vid,) = make_store(tmp_path)
    store.add_segment(vid, "thruster", 10, 20, "ann")
    store.add_segment(vid, "thruster", 10, 20, "other")  # another annotator may overlap
    with pytest.raises(StoreError, match="overlaps"):
        store.add_segment(vid, "ohs", 20, 25, "ann")  # inclusive ranges: frame 20 is shared
    with pytest.raises(StoreError, match="outside"):
        store.add_segment(vid, "ohs", 95, 100, "ann")  # last frame is 99
    with pytest.raises(StoreError, match="Unknown movement"):
        store.add_segment(vid, "snatch", 30, 40, "ann")
    seg = store.add_segment(vid, "ohs", 21, 25, "ann")
    with pytest.raises(StoreError, match="overlaps"):
        store.update_segment(seg, start=15)
    store.update_segment(seg, end=30, label="deadlift")
    mine = store.segments(vid, "ann")
    assert [(s["label"], s["start"], s["end"]) for s in mine] == [("thruster", 10, 20), ("deadlift", 21, 30)]
    assert all(s["created_at"] and s["updated_at"] for s in mine)


def test_batch_insert_is_all_or_nothing(tmp_path):
    store, (vid,) = make_store(tmp_path)
    with pytest.raises(StoreError):
        store.add_segments(vid, [{"label": "ghd", "start": 0, "end": 5}, {"label": "ghd", "start": 5, "end": 9}], "a")
    assert store.segments(vid) == []


def test_duplicate_content_is_refused(tmp_path):
    store, _ = make_store(tmp_path)
    with pytest.raises(DuplicateVideo, match="already in the workspace"):
        store.add_video(path="videos/copy.mp4", sha256="h0", info=INFO)


def test_deleting_a_video_deletes_its_reps(tmp_path):
    store, (vid,) = make_store(tmp_path)
    store.add_segment(vid, "ghd", 0, 5, "a")
    store.delete_video(vid)
    assert store.segments() == []


def _label_many(db_path, annotator, n, video_id):
    store = Store(db_path)
    for i in range(n):
        store.add_segment(video_id, "thruster", 2 * i, 2 * i, annotator)


def test_two_processes_and_threads_write_at_once_without_losing_anything(tmp_path):
    store, (v0, v1) = make_store(tmp_path, n_videos=2)
    # Separate interpreters (not multiprocessing: page tests replace __main__, which spawn re-runs).
    code = "import sys; from tests.test_store import _label_many; _label_many(sys.argv[1], sys.argv[2], 40, int(sys.argv[3]))"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(store.path), f"p{i}", str((v0, v1)[i])], cwd=ROOT)
             for i in range(2)]
    threads = [threading.Thread(target=_label_many, args=(store.path, f"t{i}", 40, v0)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(p.wait(60) == 0 for p in procs)
    assert len(store.segments()) == 160
    assert {a: len(store.segments(annotator=a)) for a in store.annotators()} == {"p0": 40, "p1": 40, "t0": 40, "t1": 40}


def test_readers_never_wait_behind_a_writer_and_a_busy_write_says_so(tmp_path, monkeypatch):
    import sqlite3
    import subprocess
    import sys
    import time

    from core.base import store as store_module
    from core.base.workspace import PROJECT_ROOT

    s = Store(tmp_path / "w" / "workspace.db")
    blocker = sqlite3.connect(s.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    blocker.execute("INSERT INTO labels(name, position) VALUES ('pending', 99)")
    try:
        t0 = time.time()
        out = subprocess.run([sys.executable, "-m", "core", "labels", "list", "--workspace", str(tmp_path / "w")],
                             cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and time.time() - t0 < 20, out.stderr  # not 30 s and a traceback
        assert "pending" not in Store(s.path).labels()  # a snapshot of what was committed
        monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 200)
        with pytest.raises(StoreError, match="busy"):
            Store(s.path).add_label("squat")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    Store(s.path).add_label("squat")  # free again
