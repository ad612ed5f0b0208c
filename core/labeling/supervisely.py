"""Supervisely video projects: import and export of reps as frame-range tags.

Two layouts are read:

    project tree (Supervisely's "video project" format)
    DIR/meta.json                         project meta: every movement is a tag meta
                                          ({"name", "value_type": "none", "applicable_type": "all", …})
    DIR/<dataset>/ann/<video name>.json   one annotation per video:
        {"size": {"height", "width"}, "description", "key", "tags": [...], "objects": [...],
         "frames": [...], "framesCount": N}
    DIR/<dataset>/video/<video name>      the video itself (optional; export with `video_root`)

    flat files (what the original pipeline downloaded, one per video)
    DIR/<project>_<dataset>_<video name>.json   the same annotation with a top-level `videoName`
                                          (and `videoId`, Supervisely's id of the video) beside it

A rep is a tag with a `frameRange` [start, end] (0-based, inclusive, as everywhere in the
workbench): {"name": movement, "frameRange": [s, e], "key"?: rep key, "id"?, "tagId"?: Supervisely
ids, "labelerLogin": annotator, "createdAt", "updatedAt", "value"?}. Tags without `frameRange`
are whole-video tags, not reps: they are kept with the file and written back on export. A tag
with no `key` gets a key derived from its Supervisely `id` (else from its content), so importing
the same export twice finds the same reps.

Which workspace video a file is for: a mapping the user made (`map_file`), then the video whose
original name (the name it arrived under, see `core.media.library`), title or file name is the
export's video name, then the same without extension, then the name made safe the way the
library names files, then the Supervisely `videoId` recorded at an earlier import; a flat file
without `videoName` matches the video whose name ends its file name. Names compare in Unicode
NFC (macOS writes NFD), so apostrophes, commas, curly quotes, brackets and letters like "ð" match.

Each tag is checked — frame range inside the video, start ≤ end, known movement, unique key — and
every problem is reported with its file, tag and reason. Identical tags (same movement, range and
labeler) become one rep, the others reported as duplicates. A tag overlapping another of the same
labeler is reported with both ranges; when one of the two is a one- or two-frame slip and the
other longer (e.g. `[2327, 2327]` beside `[2327, 2355]`), the longer is kept and the report says
so; otherwise the later one is not imported. A rep overlapping one already in the workspace, or
whose key is there with other content, is not imported either (the workspace's rep stays).
Nothing is lost: every tag not imported is kept, with its reason, in the file's record
(`workbenchDropped`, written back on export) — and nothing stored is replaced by less: a file's
record and meta.json are merged with what an earlier import kept, never shrunk.

Lossless round trip: export writes each rep's key, timestamps and labeler, and gives back what
import kept: a tag's unknown fields (`id`, `tagId`, `value`, …) live in the rep's
`extra["supervisely"]`, the file's other fields (size, description, key, objects, frames,
whole-video tags, `videoName`, `videoId`, unknown keys) in the `supervisely_files` table, and
meta.json in the `supervisely.meta` setting. Workbench-only state (review, athlete box, other
`extra`) travels in a `workbench` field of the tag.
"""
from __future__ import annotations

import json
import shutil
import unicodedata
import uuid as uuidlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from core.base.store import SEGMENT_FIELDS, Store, StoreError
from core.media.library import VIDEO_SUFFIXES, safe_name, video_names

META_SETTING = "supervisely.meta"
ALIAS_SETTING = "supervisely.aliases"  # {export video name: workspace video id}, made by map_file
DEFAULT_DATASET = "workspace"
DEFAULT_ANNOTATOR = "supervisely"
WORKBENCH = "workbench"  # our own tag field: {"review", "roi", "extra"}
DROPPED = "workbenchDropped"  # file field: [{"tag", "reason"}] for every tag not imported
TAG_FIELDS = {"name", "frameRange", "key", "labelerLogin", "createdAt", "updatedAt", WORKBENCH}
FILE_FIELDS_WRITTEN = ("size", "description", "key", "tags", "objects", "frames", "framesCount")
SLIP_FRAMES = 2  # a tag this short overlapping a longer one of the same labeler is a slip of the hand
_KEY_NAMESPACE = uuidlib.UUID("5b6e1f3a-8c1d-4f7e-9a51-0d6c2b8e4a11")
COLORS = ["#E6194B", "#3CB44B", "#FFE119", "#4363D8", "#F58231", "#911EB4", "#42D4F4", "#F032E6", "#BFEF45",
          "#FABED4", "#469990", "#DCBEFF", "#9A6324", "#800000", "#AAFFC3", "#808000", "#000075", "#A9A9A9"]


@dataclass
class Problem:
    """One thing the import did not take as it was. kind: "error" (not imported), "duplicate"
    (an identical tag was imported), "slip" (a 1–2-frame tag dropped for the longer one it
    overlaps), "overlap" (refused: overlaps another rep), "unmatched" (no workspace video)."""

    file: str
    message: str
    tag: str | None = None
    kind: str = "error"

    def __str__(self) -> str:
        return f"{self.file}: {self.tag}: {self.message}" if self.tag else f"{self.file}: {self.message}"


@dataclass
class Unmatched:
    """An annotation file no workspace video was found for: map it with `map_file`."""

    path: Path
    file: str  # as reported (relative to the imported folder)
    name: str  # the video name the export gives
    video_id: int | None = None  # Supervisely's videoId, when the file has one
    reason: str = ""


@dataclass
class ImportReport:
    files: int = 0
    videos: list[int] = field(default_factory=list)
    imported: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def count(self, kind: str) -> int:
        return sum(p.kind == kind for p in self.problems)

    def summary(self) -> str:
        extra = [f"{n} {what}" for what, n in (("duplicate(s) merged", self.count("duplicate")),
                                               ("slip(s) dropped for the longer tag", self.count("slip")),
                                               ("file(s) with no workspace video", len(self.unmatched))) if n]
        return (
            f"Read {self.files} annotation file(s) for {len(self.videos)} video(s): imported {self.imported} rep(s), "
            f"{self.unchanged} already there; {len(self.problems)} problem(s)"
            + (f" ({', '.join(extra)})" if extra else "") + "."
        )


@dataclass
class ExportReport:
    root: Path
    files: list[Path] = field(default_factory=list)
    reps: int = 0
    videos_copied: int = 0

    def summary(self) -> str:
        return f"Wrote {self.reps} rep(s) of {len(self.files)} video(s) and meta.json to {self.root}."


# --- import -----------------------------------------------------------------------------------------
_NOT_ANNOTATIONS = {"meta.json", "key_id_map.json"}


def annotation_files(root: Path) -> list[Path]:
    """`<dataset>/ann/*.json` under root (nested datasets too) and every other .json (flat exports)
    but meta files and what lies in `video/` or `meta/` folders."""
    root = Path(root)
    if root.is_file():
        return [root]
    tree = [p for p in root.rglob("*.json") if p.parent.name == "ann"]
    flat = [p for p in root.rglob("*.json") if p.parent.name not in ("ann", "meta", "video")
            and p.name not in _NOT_ANNOTATIONS]
    return sorted(p for p in tree + flat if p.is_file())


def import_supervisely(store: Store, root: str | Path, *, annotator: str = DEFAULT_ANNOTATOR,
                       mapping: dict[str, int] | None = None) -> ImportReport:
    """Import a Supervisely video project folder, a folder of flat export files, or one file; see
    the module doc. `mapping`: {file as reported, or export video name: workspace video id} for
    files the names do not match (remembered, see `map_file`)."""
    root = Path(root)
    report = ImportReport()
    if not root.exists():
        report.problems.append(Problem(str(root), "no such file or folder"))
        return report
    base = root.parent if root.is_file() else root
    meta_path = base / "meta.json"
    if meta_path.is_file():
        try:
            meta = read_json(meta_path)
            if not isinstance(meta, dict):
                raise ValueError("the top level is not an object")
            merged = _merge_meta(store.setting(META_SETTING), meta)
            if merged != store.setting(META_SETTING):
                store.set_setting(META_SETTING, merged)
        except (ValueError, UnicodeDecodeError) as exc:
            report.problems.append(Problem("meta.json", f"malformed JSON: {exc}"))
    files = annotation_files(root)
    if not files:
        report.problems.append(Problem(str(root), "no annotation files (<dataset>/ann/<video>.json or "
                                                  "<project>_<dataset>_<video>.json) found"))
    videos = store.videos()
    labels = set(store.labels())
    aliases = dict(store.setting(ALIAS_SETTING) or {})
    for path in files:
        report.files += 1
        _import_file(store, base, path, videos, labels, annotator, report, aliases, mapping or {})
    return report


def map_file(store: Store, path: str | Path, video_id: int, *, annotator: str = DEFAULT_ANNOTATOR,
             root: str | Path | None = None) -> ImportReport:
    """Map one unmatched export file to a workspace video and import it, in one step. The mapping is
    remembered (by the export's video name, and by its videoId), so importing the folder again
    finds the video."""
    path = Path(path)
    video = store.video(video_id)
    if video is None:
        report = ImportReport()
        report.problems.append(Problem(path.name, f"no workspace video {video_id}"))
        return report
    try:
        data = read_json(path)
    except (OSError, ValueError, UnicodeDecodeError):
        data = None
    name = _video_name(path, data if isinstance(data, dict) else {})
    aliases = dict(store.setting(ALIAS_SETTING) or {})
    aliases[name] = video_id
    store.set_setting(ALIAS_SETTING, aliases)
    sly_id = data.get("videoId") if isinstance(data, dict) else None
    if _is_int(sly_id) and video.get("supervisely_id") is None:
        store.set_video_identity(video_id, supervisely_id=sly_id)
    report = ImportReport(files=1)
    base = Path(root) if root is not None and Path(root).is_dir() else path.parent
    _import_file(store, base, path, store.videos(), set(store.labels()), annotator, report, aliases,
                 {name: video_id})
    return report


def _merge_meta(old: dict | None, new: dict) -> dict:
    """meta.json as imported, keeping tag metas and classes an earlier import had that this one lacks."""
    if not old:
        return new
    merged = {**old, **new}
    for key, ident in (("tags", "name"), ("classes", "title")):
        have = [t for t in new.get(key, []) if isinstance(t, dict)]
        names = {t.get(ident) for t in have}
        merged[key] = list(new.get(key, [])) + [t for t in old.get(key, []) if isinstance(t, dict)
                                                  and t.get(ident) not in names]
    return merged


def read_json(path: Path):
    """A JSON file as Python data; a duplicate key (which would silently drop reps) or nesting too
    deep to read is a ValueError with a message, like malformed JSON."""
    def no_duplicates(pairs):
        seen = {}
        for k, v in pairs:
            if k in seen:
                raise ValueError(f"the key {k!r} appears twice in one object")
            seen[k] = v
        return seen

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"), object_pairs_hook=no_duplicates)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply to be an annotation") from None


def _is_box(roi, video: dict) -> bool:
    if not isinstance(roi, (list, tuple)) or len(roi) != 4 or \
            not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in roi):
        return False
    x0, y0, x1, y1 = roi
    return 0 <= x0 < x1 <= video["width"] and 0 <= y0 < y1 <= video["height"]


def _video_name(path: Path, data: dict) -> str:
    name = data.get("videoName")
    if isinstance(name, str) and name:
        return name
    return path.name[: -len(".json")] if path.name.lower().endswith(".json") else path.name


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def _strip_ext(name: str) -> str:
    p = Path(name)
    return p.stem if p.suffix.lower() in VIDEO_SUFFIXES else name


def match_video(videos: list[dict], name: str, *, sly_id=None, aliases: dict | None = None,
                flat_stem: str | None = None) -> tuple[dict | None, str]:
    """The workspace video an export names (see the module doc), or (None, why not)."""
    by_id = {v["id"]: v for v in videos}
    for key in (name, _nfc(name)):
        vid = (aliases or {}).get(key)
        if vid in by_id:
            return by_id[vid], ""
    target = _nfc(name)
    rules = [
        ("name", target, lambda v: {_nfc(n) for n in video_names(v)}),
        ("name without extension", _nfc(_strip_ext(name)), lambda v: {_nfc(_strip_ext(n)) for n in video_names(v)}),
        ("safe file name", safe_name(target), lambda v: {Path(v["path"]).name, Path(v["path"]).stem}
         | {safe_name(_nfc(n)) for n in video_names(v)}),
    ]
    if not _strip_ext(name) == name:
        rules.append(("safe file name", safe_name(_strip_ext(target)),
                      lambda v: {Path(v["path"]).stem} | {safe_name(_nfc(_strip_ext(n))) for n in video_names(v)}))
    for _, want, names in rules:
        hits = [v for v in videos if want in names(v)]
        if len(hits) > 1 and _is_int(sly_id):
            hits = [v for v in hits if v.get("supervisely_id") == sly_id] or hits
        if len(hits) == 1:
            return hits[0], ""
        if len(hits) > 1:
            return None, f"video name {name!r} is ambiguous: it matches " + ", ".join(v["path"] for v in hits)
    if _is_int(sly_id):
        hits = [v for v in videos if v.get("supervisely_id") == sly_id]
        if len(hits) == 1:
            return hits[0], ""
    if flat_stem:  # <project>_<dataset>_<video name>.json without videoName: the name ends the file name
        stem = _nfc(flat_stem)
        hits = [v for v in videos if any(stem.endswith("_" + _nfc(n)) or stem.endswith("_" + _nfc(_strip_ext(n)))
                                         for n in video_names(v))]
        if len(hits) == 1:
            return hits[0], ""
    hint = f" (videoId {sly_id})" if _is_int(sly_id) else ""
    return None, (f"no workspace video named {name!r}{hint}; add the video first (Videos page), or map this "
                  "file to a workspace video (Label page, Supervisely panel), then import again")


def _import_file(store, base, path, videos, labels, default_annotator, report, aliases, mapping) -> None:
    rel = path.relative_to(base).as_posix() if path.is_relative_to(base) else str(path)
    problems = report.problems

    def problem(message, tag=None, kind="error"):
        problems.append(Problem(rel, message, tag, kind))

    try:
        data = read_json(path)
    except (ValueError, UnicodeDecodeError) as exc:
        return problem(f"malformed JSON: {exc}")
    if not isinstance(data, dict):
        return problem("malformed annotation: the top level is not a JSON object")
    for key in ("tags", "framesCount"):
        if key not in data:
            problem(f"missing key {key!r}")
    tags = data.get("tags")
    if tags is not None and not isinstance(tags, list):
        problem("'tags' is not a list")
    if not isinstance(tags, list):
        return
    if "videoName" in data and (not isinstance(data["videoName"], str) or not data["videoName"]):
        return problem("'videoName' is not a file name")
    name = _video_name(path, data)
    sly_id = data.get("videoId")
    in_tree = path.parent.name == "ann"
    forced = mapping.get(rel, mapping.get(name))
    by_id = {v["id"]: v for v in videos}
    if forced is not None and forced in by_id:
        video, why = by_id[forced], ""
    else:
        video, why = match_video(videos, name, sly_id=sly_id, aliases=aliases,
                                 flat_stem=None if in_tree or "videoName" in data else name)
    if video is None:
        report.unmatched.append(Unmatched(path, rel, name, sly_id if _is_int(sly_id) else None, why))
        return problem(why, kind="unmatched")
    if _is_int(sly_id):
        if video.get("supervisely_id") is None:
            store.set_video_identity(video["id"], supervisely_id=sly_id)
            video["supervisely_id"] = sly_id
        elif video["supervisely_id"] != sly_id:
            report.notes.append(f"{rel}: videoId {sly_id} differs from the {video['supervisely_id']} recorded for "
                                f"{video['path']}; matched by name")
    frames = video["frames"]
    count = data.get("framesCount")
    if "framesCount" in data and (not _is_int(count) or count != frames):
        problem(f"framesCount {count!r} differs from the {frames} frames the workspace decodes in {video['path']}; "
                "tags are checked against the workspace's count")
    size = data.get("size")
    if isinstance(size, dict) and (size.get("width"), size.get("height")) != (video["width"], video["height"]) \
            and _is_int(size.get("width")):
        report.notes.append(f"{rel}: annotated at {size.get('width')}x{size.get('height')}, the workspace video is "
                            f"{video['width']}x{video['height']}: frame ranges are frame numbers, used as they are")

    kept_tags: list = []
    dropped: list[dict] = []
    candidates = []  # (label, tag, seg)

    def drop(tag, reason):
        dropped.append({"tag": tag, "reason": reason})

    for i, tag in enumerate(tags):
        label = _tag_label(i, tag)
        if not isinstance(tag, dict):
            problem("a tag must be a JSON object", label)
            drop(tag, "a tag must be a JSON object")
            continue
        if "frameRange" not in tag:  # a whole-video tag, not a rep: kept for export
            kept_tags.append(tag)
            report.notes.append(f"{rel}: {label}: whole-video tag (no frameRange) kept, not a rep")
            continue
        errors = []
        tag_name = tag.get("name")
        if "name" not in tag:
            errors.append("missing key 'name'")
        elif not isinstance(tag_name, str):
            errors.append("'name' is not a string")
        elif tag_name not in labels:
            errors.append(f"unknown tag name {tag_name!r}: not a movement of this workspace")
        fr = tag["frameRange"]
        if not (isinstance(fr, list) and len(fr) == 2 and all(_is_int(v) for v in fr)):
            errors.append(f"frameRange {json.dumps(fr)} is not two frame numbers [start, end]")
        else:
            start, end = fr
            if start > end:
                errors.append(f"frameRange starts at frame {start}, after its end {end}")
            if start < 0 or end >= frames:
                errors.append(f"frameRange [{start}, {end}] goes beyond the video's {frames} frames "
                              f"(0–{frames - 1})")
        key = tag.get("key")
        if "key" in tag and (not isinstance(key, str) or not key):
            errors.append(f"'key' {key!r} is not a non-empty string")
        login = tag.get("labelerLogin", default_annotator)
        if not isinstance(login, str) or not login.strip():
            errors.append(f"'labelerLogin' {login!r} is not a name")
        for stamp in ("createdAt", "updatedAt"):
            if stamp in tag and not isinstance(tag[stamp], str):
                errors.append(f"{stamp!r} is not a date-time string")
        wb = tag.get(WORKBENCH, {})
        if not isinstance(wb, dict) or wb.get("review") not in (None, "accepted", "rejected"):
            errors.append(f"{WORKBENCH!r} field is not valid: {wb!r}")
        elif wb.get("roi") is not None and not _is_box(wb["roi"], video):
            errors.append(f"{WORKBENCH!r} roi {wb['roi']!r} is not a box [x0, y0, x1, y1] inside the video's "
                          f"{video['width']}x{video['height']} frame")
        if errors:
            for e in errors:
                problem(e, label)
            drop(tag, "; ".join(errors))
            continue
        extra = dict(wb["extra"]) if isinstance(wb.get("extra"), dict) else {}
        unknown = {k: v for k, v in tag.items() if k not in TAG_FIELDS}
        if unknown:
            extra["supervisely"] = unknown
        candidates.append((label, tag, {
            "uuid": key or _derived_key(video, tag, login.strip()), "video_id": video["id"], "label": tag_name,
            "start": fr[0], "end": fr[1], "annotator": login.strip(), "review": wb.get("review"),
            "roi": wb.get("roi"), "extra": extra or None,
            "created_at": tag.get("createdAt"), "updated_at": tag.get("updatedAt"),
        }))

    # Identical tags (movement, range, labeler): one rep.
    first_of: dict[tuple, str] = {}
    unique = []
    for label, tag, seg in candidates:
        ident = (seg["annotator"], seg["label"], seg["start"], seg["end"])
        if ident in first_of:
            reason = f"duplicate of {first_of[ident]}: the same movement, range and labeler; imported once"
            problem(reason, label, kind="duplicate")
            drop(tag, reason)
            continue
        first_of[ident] = label
        unique.append((label, tag, seg))
    # Keys are unique within a file.
    seen_keys: set[str] = set()
    keyed = []
    for label, tag, seg in unique:
        if seg["uuid"] in seen_keys:
            reason = f"key {seg['uuid']} is used by another tag of this file"
            problem(reason, label)
            drop(tag, reason)
            continue
        seen_keys.add(seg["uuid"])
        keyed.append((label, tag, seg))

    # Overlapping tags of the same labeler: a 1–2-frame slip gives way to the longer tag; otherwise the
    # later one (by start) is refused.
    last: dict[str, tuple] = {}
    accepted: dict[str, tuple] = {}
    for item in sorted(keyed, key=lambda c: (c[2]["annotator"], c[2]["start"], -c[2]["end"])):
        label, tag, seg = item
        prev = last.get(seg["annotator"])
        if prev and prev[2]["end"] >= seg["start"]:
            plabel, ptag, pseg = prev
            n_prev, n_this = pseg["end"] - pseg["start"] + 1, seg["end"] - seg["start"] + 1
            who = seg["annotator"]
            if min(n_prev, n_this) <= SLIP_FRAMES < max(n_prev, n_this):
                short, long_ = (item, prev) if n_this < n_prev else (prev, item)
                n = min(n_prev, n_this)
                reason = (f"{n}-frame tag [{short[2]['start']}, {short[2]['end']}] overlaps "
                          f"[{long_[2]['start']}, {long_[2]['end']}] ({long_[0]}) of the same labeler {who!r}: "
                          f"taken for a {n}-frame slip; kept the longer tag, dropped this one")
                problem(reason, short[0], kind="slip")
                drop(short[1], reason)
                if short is prev:
                    del accepted[prev[2]["uuid"]]
                    accepted[seg["uuid"]] = item
                    last[who] = item
                continue
            reason = (f"overlaps {plabel} of the same labeler {who!r}: "
                      f"[{seg['start']}, {seg['end']}] and [{pseg['start']}, {pseg['end']}]; not imported")
            problem(reason, label, kind="overlap")
            drop(tag, reason)
            continue
        last[seg["annotator"]] = item
        accepted[seg["uuid"]] = item
    ordered = sorted(accepted.values(), key=lambda c: (c[2]["start"], c[2]["annotator"]))

    new = []
    for label, tag, seg in ordered:
        existing = store.segment(seg["uuid"])
        if existing is None:
            new.append((label, tag, seg))
        elif _same(existing, seg):
            report.unchanged += 1
        else:
            reason = (f"key {seg['uuid']} is already in the workspace as {existing['annotator']}'s "
                      f"{existing['label']} rep {existing['start']}–{existing['end']} (video {existing['video_id']}); "
                      "kept the workspace's rep")
            problem(reason, label, kind="conflict")
            drop(tag, reason)
    results = store.import_segments(video["id"], [seg for _, _, seg in new]) if new else []
    for (label, tag, _), result in zip(new, results):
        if isinstance(result, StoreError):
            reason = f"not imported: {result}"
            problem(reason, label, kind="overlap")
            drop(tag, reason)
        else:
            report.imported += 1
    rest = {k: v for k, v in data.items() if k != "tags"}
    rest["tags"] = kept_tags
    if dropped:
        rest[DROPPED] = dropped
    dataset = _dataset_of(base, path) if in_tree else (data.get("datasetName") if isinstance(
        data.get("datasetName"), str) else "")
    kept = store.supervisely_file(video["id"])
    if kept is not None:  # never replace what an earlier import kept by less
        rest = _merge_file(kept["data"], rest)
        if kept["name"] != name and kept["name"] in video_names(video) and name not in video_names(video):
            name, dataset = kept["name"], kept["dataset"] or dataset
    if kept is None or kept["data"] != rest or kept["name"] != name or kept["dataset"] != dataset:
        store.set_supervisely_file(video["id"], dataset, name, rest)
    if video["id"] not in report.videos:
        report.videos.append(video["id"])


def _merge_file(old: dict, new: dict) -> dict:
    """A file's record as imported again: its lists merged with the kept ones, and an empty value (a blank
    description, no size) never replacing a kept one."""
    merged = {**old, **{k: v for k, v in new.items() if v not in ("", None, {}, []) or k not in old}}
    for key in ("tags", DROPPED, "objects", "frames"):
        a, b = old.get(key), new.get(key)
        if isinstance(a, list) and isinstance(b, list):
            have = {json.dumps(x, sort_keys=True) for x in b}
            merged[key] = b + [x for x in a if json.dumps(x, sort_keys=True) not in have]
    if DROPPED in merged and not merged[DROPPED]:
        del merged[DROPPED]
    return merged


def _derived_key(video: dict, tag: dict, login: str) -> str:
    """A stable key for a tag without one: from its Supervisely id, else its content."""
    if _is_int(tag.get("id")) or isinstance(tag.get("id"), str):
        basis = f"supervisely-tag:{tag['id']}"
    else:
        basis = f"{video['sha256']}:{tag.get('name')}:{tag.get('frameRange')}:{login}"
    return str(uuidlib.uuid5(_KEY_NAMESPACE, basis))


def _tag_label(i: int, tag) -> str:
    text = f"tag #{i + 1}"
    if isinstance(tag, dict):
        if isinstance(tag.get("name"), str):
            text += f" {tag['name']!r}"
        if "frameRange" in tag:
            text += f" {json.dumps(tag['frameRange'])}"
        if isinstance(tag.get("key"), str):
            text += f" key={tag['key']}"
        elif _is_int(tag.get("id")):
            text += f" id={tag['id']}"
    return text


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _same(existing: dict, seg: dict) -> bool:
    a = {k: existing.get(k) for k in SEGMENT_FIELDS if k not in ("created_at", "updated_at")}
    b = {k: seg.get(k) for k in SEGMENT_FIELDS if k not in ("created_at", "updated_at")}
    stamps = all(seg.get(k) in (None, existing.get(k)) for k in ("created_at", "updated_at"))
    return a == b and stamps


def _dataset_of(base: Path, path: Path) -> str:
    folder = path.parent.parent if path.parent.name == "ann" else path.parent
    try:
        rel = folder.relative_to(base).as_posix()
    except ValueError:
        return ""
    return "" if rel == "." else rel


# --- export ---------------------------------------------------------------------------------------
def project_meta(store: Store) -> dict:
    """meta.json: the imported meta kept as it was, with a tag meta for every workspace movement."""
    meta = dict(store.setting(META_SETTING) or {})
    known = {t.get("name"): t for t in meta.get("tags", []) if isinstance(t, dict)}
    tags = []
    for i, name in enumerate(store.labels()):
        tags.append(known.pop(name, None) or {
            "name": name, "value_type": "none", "color": COLORS[i % len(COLORS)],
            "hotkey": str(i + 1) if i < 9 else "", "applicable_type": "all", "classes": [],
        })
    tags.extend(known.values())
    meta["tags"] = tags
    meta.setdefault("classes", [])
    meta.setdefault("projectType", "videos")
    return meta


def segment_tag(seg: dict) -> dict:
    """A rep as a Supervisely frame-range tag (the inverse of what import reads)."""
    extra = dict(seg.get("extra") or {})
    sly = extra.pop("supervisely", {}) or {}
    tag = {"name": seg["label"]}
    if "value" in sly:
        tag["value"] = sly["value"]
    tag["frameRange"] = [seg["start"], seg["end"]]
    tag["key"] = seg["uuid"]
    if "id" in sly:
        tag["id"] = sly["id"]
    tag["labelerLogin"] = seg["annotator"]
    tag["createdAt"] = seg["created_at"]
    tag["updatedAt"] = seg["updated_at"]
    for k, v in sly.items():
        if k not in tag and k not in TAG_FIELDS:
            tag[k] = v
    wb = {k: v for k, v in (("review", seg.get("review")), ("roi", seg.get("roi")), ("extra", extra)) if v}
    if wb:
        tag[WORKBENCH] = wb
    return tag


def export_supervisely(store: Store, out_dir: str | Path, *, video_ids: list[int] | None = None,
                       annotators: list[str] | None = None, video_root: str | Path | None = None) -> ExportReport:
    """Write meta.json and `<dataset>/ann/<video>.json` for every video with reps (or with a kept
    imported file); with `video_root` (the workspace folder) also copy each video to `<dataset>/video/`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport(out)
    (out / "meta.json").write_text(json.dumps(project_meta(store), indent=2, ensure_ascii=False), encoding="utf-8")
    reps = defaultdict(list)
    for seg in store.segments():
        if annotators is None or seg["annotator"] in annotators:
            reps[seg["video_id"]].append(seg)
    taken: set[tuple[str, str]] = set()
    aliases = store.setting(ALIAS_SETTING) or {}
    for video in store.videos():
        if video_ids is not None and video["id"] not in video_ids:
            continue
        kept = store.supervisely_file(video["id"])
        if not reps[video["id"]] and kept is None:
            continue
        file_name = Path(video["path"]).name
        names = {_nfc(n) for n in video_names(video)}
        names |= {_nfc(_strip_ext(n)) for n in names} | {_nfc(a) for a, vid in aliases.items() if vid == video["id"]}
        # the name it was imported under (as written there: NFC or NFD) when it still names this video,
        # else the name the video arrived under, else its file name
        name = kept["name"] if kept and _nfc(kept["name"]) in names else video.get("original_name") or file_name
        dataset = (kept["dataset"] if kept else "") or DEFAULT_DATASET
        candidate, n = dataset, 1
        while (candidate, name) in taken:
            n += 1
            candidate = f"{dataset}-{n}"
        dataset = candidate
        taken.add((dataset, name))
        data = dict(kept["data"]) if kept else {}
        rep_list = sorted(reps[video["id"]], key=lambda s: (s["start"], s["annotator"]))
        ann = {
            "size": data.get("size") or {"height": video["height"], "width": video["width"]},
            "description": data.get("description", ""),
            "key": data.get("key") or video["sha256"][:32],
            "tags": list(data.get("tags") or []) + [segment_tag(s) for s in rep_list],
            "objects": data.get("objects", []),
            "frames": data.get("frames", []),
            "framesCount": video["frames"],
        }
        for k, v in data.items():
            if k not in FILE_FIELDS_WRITTEN:
                ann[k] = v
        path = out / dataset / "ann" / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(ann, indent=2, ensure_ascii=False), encoding="utf-8")
        report.files.append(path)
        report.reps += len(rep_list)
        if video_root is not None:
            src = Path(video["path"])
            src = src if src.is_absolute() else Path(video_root) / src
            dst = out / dataset / "video" / name
            if src.is_file() and not dst.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
                report.videos_copied += 1
    return report
