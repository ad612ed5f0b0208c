"""The workspace database: SQLite in WAL mode with numbered migrations.

Every call opens its own short-lived connection, so two Streamlit sessions (threads) or two
processes can write at once; writes run in `BEGIN IMMEDIATE` transactions and wait on
`busy_timeout` instead of failing with "database is locked".
"""
from __future__ import annotations

import json
import sqlite3
import uuid as uuidlib
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from core.base.errors import WorkbenchError
from core.base.labels import DEFAULT_MOVEMENTS

BUSY_TIMEOUT_MS = 30_000
HISTORY_LIMIT = 5_000  # label edits kept for undo per (video, annotator)


class StoreError(WorkbenchError, ValueError):
    """A write the database refuses for a reason the user can fix (message says which)."""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


# Migration i brings the schema from version i to i + 1. Append only; never edit a shipped one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE videos (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        sha256 TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL DEFAULT '',
        source_url TEXT,
        frames INTEGER NOT NULL,
        fps REAL NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        duration_s REAL NOT NULL,
        codec TEXT NOT NULL,
        vfr INTEGER NOT NULL DEFAULT 0,
        rotation INTEGER NOT NULL DEFAULT 0,
        roi TEXT,
        added_at TEXT NOT NULL
    );
    CREATE TABLE labels (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        position INTEGER NOT NULL
    );
    CREATE TABLE segments (
        uuid TEXT PRIMARY KEY,
        video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        label_id INTEGER NOT NULL REFERENCES labels(id),
        start_frame INTEGER NOT NULL CHECK (start_frame >= 0),
        end_frame INTEGER NOT NULL CHECK (end_frame >= start_frame),
        annotator TEXT NOT NULL,
        review TEXT CHECK (review IN ('accepted', 'rejected')),
        roi TEXT,
        extra TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX segments_by_video ON segments(video_id, annotator, start_frame);
    CREATE TABLE clips (
        id INTEGER PRIMARY KEY,
        segment_uuid TEXT UNIQUE REFERENCES segments(uuid) ON DELETE SET NULL,
        video_id INTEGER REFERENCES videos(id) ON DELETE CASCADE,
        label TEXT NOT NULL,
        number INTEGER NOT NULL,
        path TEXT NOT NULL UNIQUE,
        start_frame INTEGER NOT NULL,
        end_frame INTEGER NOT NULL,
        frames INTEGER NOT NULL,
        fps REAL NOT NULL,
        bytes INTEGER NOT NULL,
        crop TEXT,
        fingerprint TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (label, number)
    );
    CREATE TABLE splits (
        video_id INTEGER PRIMARY KEY REFERENCES videos(id) ON DELETE CASCADE,
        split TEXT NOT NULL CHECK (split IN ('train', 'val', 'test')),
        seed INTEGER NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL DEFAULT 'train',
        backend TEXT NOT NULL DEFAULT 'local',
        status TEXT NOT NULL,
        config TEXT NOT NULL,
        pid INTEGER,
        external_id TEXT,
        log_path TEXT,
        summary TEXT,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT
    );
    CREATE TABLE models (
        id TEXT PRIMARY KEY,
        run_id TEXT REFERENCES runs(id) ON DELETE SET NULL,
        path TEXT NOT NULL,
        labels TEXT NOT NULL,
        preprocessing TEXT NOT NULL,
        metrics TEXT,
        created_at TEXT NOT NULL
    );
    """,
    # v2: undo/redo history of label edits per (video, annotator), so it survives a reload.
    """
    CREATE TABLE edit_history (
        id INTEGER PRIMARY KEY,
        video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        annotator TEXT NOT NULL,
        action TEXT NOT NULL,
        undone INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE INDEX history_by_video ON edit_history(video_id, annotator, id);
    """,
    # v3: the open (started, not yet ended) rep of each annotator per video, so it survives a
    # reload, what an imported Supervisely file held besides its reps (given back on export),
    # and workspace settings (JSON values, e.g. the imported Supervisely project meta).
    """
    CREATE TABLE open_reps (
        video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        annotator TEXT NOT NULL,
        label TEXT NOT NULL,
        start_frame INTEGER NOT NULL CHECK (start_frame >= 0),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (video_id, annotator)
    );
    CREATE TABLE supervisely_files (
        video_id INTEGER PRIMARY KEY REFERENCES videos(id) ON DELETE CASCADE,
        dataset TEXT NOT NULL,
        name TEXT NOT NULL,
        data TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # v4: how a job ended (exit code) and its back end's bookkeeping (JSON: process start time
    # against pid reuse, exit-code file, Ray address, stop requests, notes) — see core/jobs.py.
    """
    ALTER TABLE runs ADD COLUMN exit_code INTEGER;
    ALTER TABLE runs ADD COLUMN job TEXT;
    CREATE INDEX runs_by_created ON runs(created_at);
    """,
    # v5: a model's kind (core.modeling.registry.KINDS): pixels (movinet), TF Lite export, pose.
    """
    ALTER TABLE models ADD COLUMN kind TEXT NOT NULL DEFAULT 'movinet';
    UPDATE models SET kind = 'tflite' WHERE path LIKE '%.tflite' OR metrics LIKE '%"format": "tflite"%';
    """,
    # v6: a video's identity beyond its safe file name: the name it arrived under (matched by imports),
    # its Supervisely video id, and the group its reps are split by (a source video for imported clips).
    """
    ALTER TABLE videos ADD COLUMN original_name TEXT;
    ALTER TABLE videos ADD COLUMN supervisely_id INTEGER;
    ALTER TABLE videos ADD COLUMN split_group TEXT;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


@contextmanager
def _busy_message(path: Path) -> Iterator[None]:
    """SQLite's "database is locked" after the busy timeout, as a message a user can act on."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise StoreError(f"The workspace database {path} is busy: another program has been writing to it for "
                             f"{BUSY_TIMEOUT_MS // 1000} s. Try again when it has finished.") from None
        raise


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.migrate()

    # --- connections -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        con.execute("PRAGMA foreign_keys = ON")
        return con

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One snapshot (a deferred transaction): every query inside sees the same state; in WAL
        mode a reader never waits for a writer."""
        con = self._connect()
        try:
            with _busy_message(self.path):
                con.execute("BEGIN")
            try:
                yield con
            finally:
                if con.in_transaction:
                    con.execute("COMMIT")
        finally:
            con.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A transaction that holds the write lock from its start (no lock upgrade deadlocks)."""
        con = self._connect()
        try:
            with _busy_message(self.path):
                con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            con.close()

    def schema_version(self) -> int:
        with self.read() as con:
            return con.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        con = self._connect()
        try:
            # an up-to-date database is only read: opening it never waits behind a writer
            if con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION and \
                    con.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            with _busy_message(self.path):
                con.execute("PRAGMA journal_mode = WAL")
                con.execute("BEGIN IMMEDIATE")
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                con.execute("ROLLBACK")
                raise StoreError(
                    f"{self.path} has schema version {version}, newer than this program's "
                    f"{SCHEMA_VERSION}; update the workbench before opening it."
                )
            for i in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[i].split(";"):
                    if statement.strip():
                        con.execute(statement)
                if i == 0:
                    con.executemany(
                        "INSERT INTO labels(name, position) VALUES (?, ?)",
                        [(name, pos) for pos, name in enumerate(DEFAULT_MOVEMENTS)],
                    )
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            con.execute("COMMIT")
        finally:
            con.close()

    # --- labels --------------------------------------------------------------------------------
    def labels(self) -> list[str]:
        with self.read() as con:
            return [r["name"] for r in con.execute("SELECT name FROM labels ORDER BY position")]

    def add_label(self, name: str) -> None:
        name = name.strip()
        if not name:
            raise StoreError("A movement name cannot be empty.")
        with self.write() as con:
            if con.execute("SELECT 1 FROM labels WHERE name = ?", (name,)).fetchone():
                raise StoreError(f"The movement {name!r} already exists.")
            pos = con.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM labels").fetchone()[0]
            con.execute("INSERT INTO labels(name, position) VALUES (?, ?)", (name, pos))

    def _label_id(self, con: sqlite3.Connection, name: str) -> int:
        row = con.execute("SELECT id FROM labels WHERE name = ?", (name,)).fetchone()
        if row is None:
            known = ", ".join(r["name"] for r in con.execute("SELECT name FROM labels ORDER BY position"))
            raise StoreError(f"Unknown movement {name!r}; known movements: {known}.")
        return row["id"]

    # --- videos --------------------------------------------------------------------------------
    def add_video(self, *, path: str, sha256: str, info: dict, title: str = "", source_url: str | None = None) -> int:
        """Insert a probed video; returns its id. A file with the same content is refused."""
        with self.write() as con:
            dup = con.execute("SELECT id, path FROM videos WHERE sha256 = ?", (sha256,)).fetchone()
            if dup:
                raise DuplicateVideo(dup["id"], dup["path"])
            cur = con.execute(
                """INSERT INTO videos(path, sha256, title, source_url, frames, fps, width, height,
                   duration_s, codec, vfr, rotation, added_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                (
                    path, sha256, title, source_url, info["frames"], info["fps"], info["width"],
                    info["height"], info["duration_s"], info["codec"], int(bool(info["vfr"])),
                    info.get("rotation", 0), now(),
                ),
            )
            return cur.lastrowid

    def video_by_hash(self, sha256: str) -> dict | None:
        with self.read() as con:
            row = con.execute("SELECT * FROM videos WHERE sha256 = ?", (sha256,)).fetchone()
            return _video(row) if row else None

    def video(self, video_id: int) -> dict | None:
        with self.read() as con:
            row = con.execute("SELECT * FROM videos WHERE id = ?", (video_id,)).fetchone()
            return _video(row) if row else None

    def videos(self) -> list[dict]:
        with self.read() as con:
            return [_video(r) for r in con.execute("SELECT * FROM videos ORDER BY id")]

    VIDEO_IDENTITY = ("original_name", "supervisely_id", "split_group", "title")

    def set_video_identity(self, video_id: int, **fields) -> None:
        """Set a video's original_name, supervisely_id, split_group or title (None clears one)."""
        unknown = set(fields) - set(self.VIDEO_IDENTITY)
        if unknown:
            raise StoreError(f"Unknown video fields: {', '.join(sorted(unknown))}.")
        if fields:
            with self.write() as con:
                con.execute(f"UPDATE videos SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",
                            (*fields.values(), video_id))

    def delete_video(self, video_id: int) -> None:
        with self.write() as con:
            con.execute("DELETE FROM videos WHERE id = ?", (video_id,))

    def set_video_roi(self, video_id: int, roi: tuple[int, int, int, int] | None) -> None:
        with self.write() as con:
            con.execute("UPDATE videos SET roi = ? WHERE id = ?", (json.dumps(roi) if roi else None, video_id))

    # --- rep segments -------------------------------------------------------------------------
    def add_segment(
        self, video_id: int, label: str, start: int, end: int, annotator: str, *,
        uuid: str | None = None, review: str | None = None, extra: dict | None = None,
        created_at: str | None = None, updated_at: str | None = None,
    ) -> str:
        with self.write() as con:
            return self._insert_segment(
                con, video_id, label, start, end, annotator, uuid=uuid, review=review, extra=extra,
                created_at=created_at, updated_at=updated_at,
            )

    def add_segments(self, video_id: int, segments: list[dict], annotator: str) -> list[str]:
        """Insert many segments ({label, start, end, ...}) in one transaction: all or nothing."""
        with self.write() as con:
            return [
                self._insert_segment(
                    con, video_id, s["label"], s["start"], s["end"], annotator,
                    uuid=s.get("uuid"), review=s.get("review"), extra=s.get("extra"),
                    created_at=s.get("created_at"), updated_at=s.get("updated_at"),
                )
                for s in segments
            ]

    def replace_segments(self, video_id: int, annotator: str, segments: list[dict]) -> list[str]:
        """Replace everything `annotator` has on the video by `segments`, in one transaction."""
        with self.write() as con:
            con.execute("DELETE FROM segments WHERE video_id = ? AND annotator = ?", (int(video_id), annotator))
            return [self._insert_segment(con, int(video_id), s["label"], int(s["start"]), int(s["end"]), annotator,
                                         extra=s.get("extra")) for s in segments]

    def _insert_segment(self, con, video_id, label, start, end, annotator, *, uuid=None, review=None,
                        extra=None, created_at=None, updated_at=None) -> str:
        annotator = annotator.strip()
        if not annotator:
            raise StoreError("Reps need an annotator name.")
        self._check_range(con, video_id, start, end, annotator, exclude=None)
        uuid = uuid or str(uuidlib.uuid4())
        stamp = now()
        con.execute(
            """INSERT INTO segments(uuid, video_id, label_id, start_frame, end_frame, annotator, review,
               extra, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)""",
            (uuid, video_id, self._label_id(con, label), int(start), int(end), annotator, review,
             json.dumps(extra) if extra else None, created_at or stamp, updated_at or stamp),
        )
        return uuid

    def update_segment(self, uuid: str, **changes) -> None:
        """Change label/start/end/review of a segment; refuses overlaps and ranges outside the video."""
        with self.write() as con:
            row = con.execute("SELECT * FROM segments WHERE uuid = ?", (uuid,)).fetchone()
            if row is None:
                raise StoreError(f"No rep with key {uuid}.")
            start = int(changes.get("start", row["start_frame"]))
            end = int(changes.get("end", row["end_frame"]))
            self._check_range(con, row["video_id"], start, end, row["annotator"], exclude=uuid)
            label_id = self._label_id(con, changes["label"]) if "label" in changes else row["label_id"]
            review = changes.get("review", row["review"])
            con.execute(
                "UPDATE segments SET label_id=?, start_frame=?, end_frame=?, review=?, updated_at=? WHERE uuid=?",
                (label_id, start, end, review, now(), uuid),
            )

    def delete_segment(self, uuid: str) -> None:
        with self.write() as con:
            con.execute("DELETE FROM segments WHERE uuid = ?", (uuid,))

    def _check_range(self, con, video_id, start, end, annotator, exclude) -> None:
        video = con.execute("SELECT frames FROM videos WHERE id = ?", (video_id,)).fetchone()
        if video is None:
            raise StoreError(f"No video with id {video_id}.")
        if not (0 <= start <= end < video["frames"]):
            raise StoreError(
                f"Rep {start}–{end} is outside the video (frames 0–{video['frames'] - 1}) or ends before it starts."
            )
        clash = con.execute(
            """SELECT start_frame, end_frame FROM segments WHERE video_id = ? AND annotator = ?
               AND uuid IS NOT ? AND start_frame <= ? AND end_frame >= ? LIMIT 1""",
            (video_id, annotator, exclude, end, start),
        ).fetchone()
        if clash:
            raise StoreError(
                f"Rep {start}–{end} overlaps {annotator}'s rep {clash['start_frame']}–{clash['end_frame']}."
            )

    def segments(self, video_id: int | None = None, annotator: str | None = None) -> list[dict]:
        query = """SELECT s.*, l.name AS label FROM segments s JOIN labels l ON l.id = s.label_id WHERE 1=1"""
        args: list = []
        if video_id is not None:
            query += " AND s.video_id = ?"
            args.append(video_id)
        if annotator is not None:
            query += " AND s.annotator = ?"
            args.append(annotator)
        query += " ORDER BY s.video_id, s.start_frame, s.annotator"
        with self.read() as con:
            return [_segment(r) for r in con.execute(query, args)]

    def annotators(self, video_id: int | None = None) -> list[str]:
        with self.read() as con:
            if video_id is None:
                rows = con.execute("SELECT DISTINCT annotator FROM segments ORDER BY annotator")
            else:
                rows = con.execute(
                    "SELECT DISTINCT annotator FROM segments WHERE video_id = ? ORDER BY annotator", (video_id,)
                )
            return [r[0] for r in rows]

    def segment(self, uuid: str) -> dict | None:
        with self.read() as con:
            row = con.execute(
                "SELECT s.*, l.name AS label FROM segments s JOIN labels l ON l.id = s.label_id WHERE s.uuid = ?",
                (uuid,),
            ).fetchone()
            return _segment(row) if row else None

    def import_segments(self, video_id: int, segments: list[dict]) -> list[str | StoreError]:
        """Insert each segment ({label, start, end, annotator, uuid?, review?, roi?, extra?, created_at?,
        updated_at?}) on its own merits, in one transaction: returns its key, or the StoreError that
        refused it (range, overlap, unknown movement, key already used); the others still go in."""
        results: list[str | StoreError] = []
        with self.write() as con:
            for s in segments:
                con.execute("SAVEPOINT one")
                try:
                    if s.get("uuid") and con.execute("SELECT 1 FROM segments WHERE uuid = ?", (s["uuid"],)).fetchone():
                        raise StoreError(f"The key {s['uuid']} is already used by another rep.")
                    results.append(self._put_segment(con, dict(s, video_id=video_id)))
                    con.execute("RELEASE one")
                except StoreError as exc:
                    con.execute("ROLLBACK TO one")
                    con.execute("RELEASE one")
                    results.append(exc)
        return results

    def _put_segment(self, con, row: dict, *, replace: bool = False) -> str:
        """Insert one full segment row (as `segments()` returns it), or with `replace` overwrite the
        stored row of the same key; checked for range and overlap."""
        annotator = (row.get("annotator") or "").strip()
        if not annotator:
            raise StoreError("Reps need an annotator name.")
        start, end = int(row["start"]), int(row["end"])
        self._check_range(con, row["video_id"], start, end, annotator, exclude=row.get("uuid"))
        label_id = self._label_id(con, row["label"])
        if row.get("review") not in (None, "accepted", "rejected"):
            raise StoreError(f"Unknown review state {row['review']!r}; use accepted, rejected or none.")
        stamp = now()
        uuid = row.get("uuid") or str(uuidlib.uuid4())
        values = (row["video_id"], label_id, start, end, annotator, row.get("review"),
                  json.dumps(row["roi"]) if row.get("roi") else None,
                  json.dumps(row["extra"]) if row.get("extra") else None,
                  row.get("created_at") or stamp, row.get("updated_at") or stamp, uuid)
        if replace:
            con.execute(
                """UPDATE segments SET video_id=?, label_id=?, start_frame=?, end_frame=?, annotator=?, review=?,
                   roi=?, extra=?, created_at=?, updated_at=? WHERE uuid=?""",
                values,
            )
        else:
            con.execute(
                """INSERT INTO segments(video_id, label_id, start_frame, end_frame, annotator, review, roi,
                   extra, created_at, updated_at, uuid) VALUES (?,?,?,?,?,?,?,?,?,?,?)""",
                values,
            )
        return uuid

    # --- open reps and the undo/redo history of label edits (used by core.labeling.annotator) --------------
    def open_rep(self, video_id: int, annotator: str) -> dict | None:
        """The rep `annotator` started on this video and has not ended yet: {label, start} or None."""
        with self.read() as con:
            return self._open_rep(con, video_id, annotator)

    @staticmethod
    def _open_rep(con, video_id, annotator) -> dict | None:
        row = con.execute(
            "SELECT label, start_frame FROM open_reps WHERE video_id = ? AND annotator = ?", (video_id, annotator)
        ).fetchone()
        return {"label": row["label"], "start": row["start_frame"]} if row else None

    def apply_edit(self, video_id: int, annotator: str, action: dict) -> None:
        """Apply one label edit atomically and append it to (video, annotator)'s undo history.

        `action` is JSON: {"op", "desc", "segments": [{"uuid", "before", "after"}], "open": {"before",
        "after"}} where `before`/`after` are whole rows as `segment()` returns them (None: no such rep)
        and the optional `open` holds the open rep ({label, start} or None) before and after. Every
        `before` must match what is stored now, else the edit is refused (someone changed it
        meanwhile); `after` rows are checked for range and overlap. A new edit clears the redo tail.
        """
        with self.write() as con:
            self._apply_side(con, video_id, annotator, action, "after")
            con.execute("DELETE FROM edit_history WHERE video_id = ? AND annotator = ? AND undone = 1",
                        (video_id, annotator))
            con.execute(
                "INSERT INTO edit_history(video_id, annotator, action, undone, created_at) VALUES (?,?,?,0,?)",
                (video_id, annotator, json.dumps(action), now()),
            )
            con.execute(
                """DELETE FROM edit_history WHERE video_id = ? AND annotator = ? AND id NOT IN (
                   SELECT id FROM edit_history WHERE video_id = ? AND annotator = ? ORDER BY id DESC LIMIT ?)""",
                (video_id, annotator, video_id, annotator, HISTORY_LIMIT),
            )

    def undo_edit(self, video_id: int, annotator: str) -> dict | None:
        """Undo the latest edit of (video, annotator); returns its action, or None if there is none."""
        return self._step(video_id, annotator, undo=True)

    def redo_edit(self, video_id: int, annotator: str) -> dict | None:
        """Redo the earliest undone edit of (video, annotator); returns its action, or None."""
        return self._step(video_id, annotator, undo=False)

    def edit_counts(self, video_id: int, annotator: str) -> tuple[int, int]:
        """(edits that can be undone, edits that can be redone) for (video, annotator)."""
        with self.read() as con:
            row = con.execute(
                """SELECT COALESCE(SUM(undone = 0), 0), COALESCE(SUM(undone = 1), 0) FROM edit_history
                   WHERE video_id = ? AND annotator = ?""",
                (video_id, annotator),
            ).fetchone()
            return int(row[0]), int(row[1])

    def _step(self, video_id, annotator, *, undo: bool) -> dict | None:
        with self.write() as con:
            order = "undone = 0 ORDER BY id DESC" if undo else "undone = 1 ORDER BY id"
            row = con.execute(
                f"SELECT id, action FROM edit_history WHERE video_id = ? AND annotator = ? AND {order} LIMIT 1",
                (video_id, annotator),
            ).fetchone()
            if row is None:
                return None
            action = json.loads(row["action"])
            try:
                self._apply_side(con, video_id, annotator, action, "before" if undo else "after")
            except StoreError as exc:
                what = action.get("desc", action.get("op"))
                raise StoreError(f"Can't {'undo' if undo else 'redo'} “{what}”: {exc}") from exc
            con.execute("UPDATE edit_history SET undone = ? WHERE id = ?", (int(undo), row["id"]))
            return action

    def _apply_side(self, con, video_id, annotator, action, side: str) -> None:
        """Bring the reps (and open rep) of `action` from the other side's state to `side`'s."""
        other = "before" if side == "after" else "after"
        changes = action.get("segments", [])
        for change in changes:
            row = con.execute(
                "SELECT s.*, l.name AS label FROM segments s JOIN labels l ON l.id = s.label_id WHERE s.uuid = ?",
                (change["uuid"],),
            ).fetchone()
            current = _segment(row) if row else None
            if _comparable(current) != _comparable(change[other]):
                shown = change[other] or change[side]
                raise StoreError(
                    f"rep {shown['start']}–{shown['end']} ({shown['label']}) was changed elsewhere meanwhile "
                    "(another session or an import); reload to see it."
                )
        # Rows on both sides are updated in place (a delete would unlink the rep's clip).
        for change in changes:
            if change[side] is None:
                con.execute("DELETE FROM segments WHERE uuid = ?", (change["uuid"],))
        for change in changes:
            if change[side] is not None and change[other] is not None:
                self._put_segment(con, change[side], replace=True)
        for change in changes:
            if change[side] is not None and change[other] is None:
                self._put_segment(con, change[side])
        if "open" in action:
            if self._open_rep(con, video_id, annotator) != action["open"][other]:
                raise StoreError("the open rep was changed elsewhere meanwhile (another session); reload to see it.")
            target = action["open"][side]
            con.execute("DELETE FROM open_reps WHERE video_id = ? AND annotator = ?", (video_id, annotator))
            if target is not None:
                frames = con.execute("SELECT frames FROM videos WHERE id = ?", (video_id,)).fetchone()
                if frames is None or not 0 <= int(target["start"]) < frames["frames"]:
                    raise StoreError(f"Frame {target['start']} is outside the video.")
                self._label_id(con, target["label"])
                con.execute(
                    "INSERT INTO open_reps(video_id, annotator, label, start_frame, updated_at) VALUES (?,?,?,?,?)",
                    (video_id, annotator, target["label"], int(target["start"]), now()),
                )

    # --- imported Supervisely files and settings --------------------------------------------------
    def supervisely_file(self, video_id: int) -> dict | None:
        """What an imported Supervisely annotation file held besides its reps: {dataset, name, data}."""
        with self.read() as con:
            row = con.execute("SELECT * FROM supervisely_files WHERE video_id = ?", (video_id,)).fetchone()
            return {"dataset": row["dataset"], "name": row["name"], "data": json.loads(row["data"])} if row else None

    def set_supervisely_file(self, video_id: int, dataset: str, name: str, data: dict) -> None:
        with self.write() as con:
            con.execute(
                """INSERT INTO supervisely_files(video_id, dataset, name, data, updated_at) VALUES (?,?,?,?,?)
                   ON CONFLICT(video_id) DO UPDATE SET dataset=excluded.dataset, name=excluded.name,
                   data=excluded.data, updated_at=excluded.updated_at""",
                (video_id, dataset, name, json.dumps(data), now()),
            )

    def setting(self, key: str, default=None):
        with self.read() as con:
            row = con.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
            return json.loads(row["value"]) if row else default

    def set_setting(self, key: str, value) -> None:
        with self.write() as con:
            con.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, json.dumps(value)),
            )

    # --- runs (training and other jobs; core/jobs.py keeps them up to date) ---------------------
    RUN_FIELDS = ("kind", "backend", "status", "config", "pid", "external_id", "log_path", "summary",
                  "created_at", "started_at", "finished_at", "exit_code", "job")
    RUN_JSON = ("config", "summary", "job")

    def create_run(self, run_id: str, *, status: str = "created", config: dict | None = None, **fields) -> str:
        """Insert a run (fields as in RUN_FIELDS; config/summary/job are JSON); refuses a used id."""
        unknown = set(fields) - set(self.RUN_FIELDS)
        if unknown:
            raise StoreError(f"Unknown run fields: {', '.join(sorted(unknown))}.")
        row = {"kind": "train", "backend": "local", "created_at": now(), **fields,
               "status": status, "config": config if config is not None else {}}
        for key in self.RUN_JSON:
            if row.get(key) is not None:
                row[key] = json.dumps(row[key])
        with self.write() as con:
            if con.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():
                raise StoreError(f"A run with id {run_id!r} already exists.")
            cols = ["id", *row]
            con.execute(f"INSERT INTO runs({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                        (run_id, *row.values()))
        return run_id

    def update_run(self, run_id: str, **fields) -> None:
        """Change fields of a run. `job` is merged into the stored JSON object (a None value removes
        its key; job=None changes nothing); config and summary are replaced."""
        unknown = set(fields) - set(self.RUN_FIELDS)
        if unknown:
            raise StoreError(f"Unknown run fields: {', '.join(sorted(unknown))}.")
        with self.write() as con:
            row = con.execute("SELECT job FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise StoreError(f"No run with id {run_id!r}.")
            if "job" in fields:
                merge = fields.pop("job")
                if merge:
                    job = json.loads(row["job"]) if row["job"] else {}
                    job.update(merge)
                    fields["job"] = {k: v for k, v in job.items() if v is not None}
            for key in self.RUN_JSON:
                if fields.get(key) is not None:
                    fields[key] = json.dumps(fields[key])
            if fields:
                con.execute(f"UPDATE runs SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",
                            (*fields.values(), run_id))

    def run(self, run_id: str) -> dict | None:
        with self.read() as con:
            row = con.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            return _run(row) if row else None

    def runs(self, kind: str | None = None) -> list[dict]:
        """All runs (or those of one kind), newest first."""
        with self.read() as con:
            rows = con.execute(
                "SELECT * FROM runs WHERE ? IS NULL OR kind = ? ORDER BY created_at DESC, id DESC", (kind, kind)
            ).fetchall()
            return [_run(r) for r in rows]

    def delete_run(self, run_id: str) -> None:
        with self.write() as con:
            con.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    # --- models (the registry, core.modeling.registry, is the one API over this table) -----------
    def put_model(self, row: dict) -> None:
        """Insert or replace one models row (JSON fields already encoded by the registry)."""
        cols = ("id", "run_id", "path", "kind", "labels", "preprocessing", "metrics", "created_at")
        with self.write() as con:
            con.execute(
                f"""INSERT INTO models({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})
                   ON CONFLICT(id) DO UPDATE SET {', '.join(f'{c}=excluded.{c}' for c in cols[1:])}""",
                tuple(row.get(c) for c in cols))

    # --- counts for the home page ---------------------------------------------------------------
    def counts(self) -> dict:
        with self.read() as con:
            one = lambda q: con.execute(q).fetchone()[0]  # noqa: E731
            reps = {
                r["name"]: r["n"]
                for r in con.execute(
                    """SELECT l.name, COUNT(s.uuid) AS n FROM labels l
                       LEFT JOIN segments s ON s.label_id = l.id GROUP BY l.id ORDER BY l.position"""
                )
            }
            return {
                "videos": one("SELECT COUNT(*) FROM videos"),
                "reps": one("SELECT COUNT(*) FROM segments"),
                "reps_per_movement": reps,
                "clips": one("SELECT COUNT(*) FROM clips"),
                "runs": one("SELECT COUNT(*) FROM runs"),
                "models": one("SELECT COUNT(*) FROM models"),
            }


class DuplicateVideo(StoreError):
    def __init__(self, video_id: int, path: str):
        super().__init__(f"This video is already in the workspace as {path} (id {video_id}).")
        self.video_id = video_id
        self.path = path


def _run(row: sqlite3.Row) -> dict:
    d = dict(row)
    d["config"] = json.loads(d["config"]) if d["config"] else {}
    d["summary"] = json.loads(d["summary"]) if d["summary"] else None
    d["job"] = json.loads(d["job"]) if d.get("job") else {}
    return d


def _video(row: sqlite3.Row) -> dict:
    d = dict(row)
    d["vfr"] = bool(d["vfr"])
    d["roi"] = json.loads(d["roi"]) if d["roi"] else None
    return d


SEGMENT_FIELDS = ("uuid", "video_id", "label", "start", "end", "annotator", "review", "roi", "extra",
                  "created_at", "updated_at")


def _comparable(segment: dict | None) -> dict | None:
    return None if segment is None else {k: segment.get(k) for k in SEGMENT_FIELDS}


def _segment(row: sqlite3.Row) -> dict:
    d = dict(row)
    d["start"] = d.pop("start_frame")
    d["end"] = d.pop("end_frame")
    d["extra"] = json.loads(d["extra"]) if d["extra"] else None
    d["roi"] = json.loads(d["roi"]) if d["roi"] else None
    d.pop("label_id", None)
    return d
