"""Supervisely video projects: import and export of reps as frame-range tags.

Layout (Supervisely's "video project" format):

    DIR/meta.json                         project meta: every movement is a tag meta
                                          ({"name", "value_type": "none", "applicable_type": "all", …})
    DIR/<dataset>/ann/<video name>.json   one annotation per video:
        {"size": {"height", "width"}, "description", "key", "tags": [...], "objects": [...],
         "frames": [...], "framesCount": N}
    DIR/<dataset>/video/<video name>      the video itself (optional; export with `video_root`)

A rep is a tag with a `frameRange` [start, end] (0-based, inclusive, as everywhere in the
workbench): {"name": movement, "frameRange": [s, e], "key": rep key, "id"?: Supervisely id,
"labelerLogin": annotator, "createdAt", "updatedAt", "value"?}. Tags without `frameRange` are
whole-video tags, not reps: they are kept with the file and written back on export.

Import matches `<video name>.json` to the workspace video whose file name (or title) is
`<video name>` (then by name without extension), and also reads the older export form that
names the video in a top-level `videoName` (with `framesCount` beside it). Each tag is checked —
frame range inside the video, start ≤ end, known movement, no overlap with another tag of the
same labeler nor with a rep already in the workspace, unique key — and every problem is reported
with its file and tag. Valid tags are imported, problem tags are not; nothing already in the
workspace is changed (a tag whose key is already there with identical content counts as unchanged).

Lossless round trip: export writes each rep's key, timestamps and labeler, and gives back what
import kept: a tag's unknown fields (and `id`, `value`) live in the rep's `extra["supervisely"]`,
the file's other fields (size, description, key, objects, frames, whole-video tags, unknown keys)
in the `supervisely_files` table, and meta.json in the `supervisely.meta` setting. Workbench-only
state (review, athlete box, other `extra`) travels in a `workbench` field of the tag.
"""
from __future__ import annotations

import json
import shutil
import uuid as uuidlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from core.base.store import SEGMENT_FIELDS, Store, StoreError

META_SETTING = "supervisely.meta"
DEFAULT_DATASET = "workspace"
DEFAULT_ANNOTATOR = "supervisely"
WORKBENCH = "workbench"  # our own tag field: {"review", "roi", "extra"}
TAG_FIELDS = {"name", "frameRange", "key", "labelerLogin", "createdAt", "updatedAt", WORKBENCH}
FILE_FIELDS_WRITTEN = ("size", "description", "key", "tags", "objects", "frames", "framesCount")
COLORS = ["#E6194B", "#3CB44B", "#FFE119", "#4363D8", "#F58231", "#911EB4", "#42D4F4", "#F032E6", "#BFEF45",
          "#FABED4", "#469990", "#DCBEFF", "#9A6324", "#800000", "#AAFFC3", "#808000", "#000075", "#A9A9A9"]


@dataclass
class Problem:
    file: str
    message: str
    tag: str | None = None

    def __str__(self) -> str:
        return f"{self.file}: {self.tag}: {self.message}" if self.tag else f"{self.file}: {self.message}"


@dataclass
class ImportReport:
    files: int = 0
    videos: list[int] = field(default_factory=list)
    imported: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return (
            f"Read {self.files} annotation file(s) for {len(self.videos)} video(s): imported {self.imported} rep(s), "
            f"{self.unchanged} already there; {len(self.problems)} problem(s)."
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
def annotation_files(root: Path) -> list[Path]:
    """`<dataset>/ann/*.json` under root (nested datasets too); else every other .json but meta files."""
    if root.is_file():
        return [root]
    files = sorted(p for p in root.rglob("*.json") if p.parent.name == "ann")
    if files:
        return files
    skip = {"meta.json", "key_id_map.json"}
    return sorted(p for p in root.rglob("*.json")
                  if p.name not in skip and p.parent.name not in ("meta", "video") and p.is_file())


def import_supervisely(store: Store, root: str | Path, *, annotator: str = DEFAULT_ANNOTATOR) -> ImportReport:
    """Import a Supervisely video project folder (or one annotation file); see the module doc."""
    root = Path(root)
    report = ImportReport()
    if not root.exists():
        report.problems.append(Problem(str(root), "no such file or folder"))
        return report
    base = root.parent if root.is_file() else root
    meta_path = base / "meta.json"
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if not isinstance(meta, dict):
                raise ValueError("the top level is not an object")
            store.set_setting(META_SETTING, meta)
        except (ValueError, UnicodeDecodeError) as exc:
            report.problems.append(Problem("meta.json", f"malformed JSON: {exc}"))
    files = annotation_files(root)
    if not files:
        report.problems.append(Problem(str(root), "no annotation files (<dataset>/ann/<video>.json) found"))
    videos = store.videos()
    labels = set(store.labels())
    for path in files:
        report.files += 1
        _import_file(store, base, path, videos, labels, annotator, report)
    return report


def _import_file(store, base, path, videos, labels, default_annotator, report) -> None:
    rel = path.relative_to(base).as_posix() if path.is_relative_to(base) else str(path)
    problems = report.problems

    def problem(message, tag=None):
        problems.append(Problem(rel, message, tag))

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        return problem(f"malformed JSON: {exc}")
    if not isinstance(data, dict):
        return problem("malformed annotation: the top level is not a JSON object")
    old_form = "videoName" in data
    for key in ("tags", "framesCount"):
        if key not in data:
            problem(f"missing key {key!r}")
    tags = data.get("tags")
    if tags is not None and not isinstance(tags, list):
        problem("'tags' is not a list")
    if not isinstance(tags, list):
        return
    name = data["videoName"] if old_form else path.name[: -len(".json")]
    if not isinstance(name, str) or not name:
        return problem("'videoName' is not a file name")
    video, why = _match_video(videos, name)
    if video is None:
        return problem(why)
    frames = video["frames"]
    count = data.get("framesCount")
    if "framesCount" in data and (not _is_int(count) or count != frames):
        problem(f"framesCount {count!r} differs from the {frames} frames the workspace decodes in {video['path']}; "
                "tags are checked against the workspace's count")

    kept_tags, candidates, seen_keys = [], [], set()
    for i, tag in enumerate(tags):
        label = _tag_label(i, tag)
        if not isinstance(tag, dict):
            problem("a tag must be a JSON object", label)
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
        elif key in seen_keys:
            errors.append(f"key {key} is used by another tag of this file")
        login = tag.get("labelerLogin", default_annotator)
        if not isinstance(login, str) or not login.strip():
            errors.append(f"'labelerLogin' {login!r} is not a name")
        for stamp in ("createdAt", "updatedAt"):
            if stamp in tag and not isinstance(tag[stamp], str):
                errors.append(f"{stamp!r} is not a date-time string")
        wb = tag.get(WORKBENCH, {})
        if not isinstance(wb, dict) or wb.get("review") not in (None, "accepted", "rejected"):
            errors.append(f"{WORKBENCH!r} field is not valid: {wb!r}")
        if errors:
            for e in errors:
                problem(e, label)
            continue
        if key:
            seen_keys.add(key)
        extra = dict(wb["extra"]) if isinstance(wb.get("extra"), dict) else {}
        unknown = {k: v for k, v in tag.items() if k not in TAG_FIELDS}
        if unknown:
            extra["supervisely"] = unknown
        candidates.append((label, {
            "uuid": key or str(uuidlib.uuid4()), "video_id": video["id"], "label": tag_name,
            "start": fr[0], "end": fr[1], "annotator": login.strip(), "review": wb.get("review"),
            "roi": wb.get("roi"), "extra": extra or None,
            "created_at": tag.get("createdAt"), "updated_at": tag.get("updatedAt"),
        }))

    # Overlapping tags of the same labeler inside the file: the later one (by start) is refused.
    last: dict[str, tuple[str, dict]] = {}
    accepted = []
    for label, seg in sorted(candidates, key=lambda c: (c[1]["annotator"], c[1]["start"], c[1]["end"])):
        prev = last.get(seg["annotator"])
        if prev and prev[1]["end"] >= seg["start"]:
            problem(f"overlaps {prev[0]} of the same labeler {seg['annotator']!r}", label)
            continue
        last[seg["annotator"]] = (label, seg)
        accepted.append((label, seg))
    accepted.sort(key=lambda c: c[1]["start"])

    new = []
    for label, seg in accepted:
        existing = store.segment(seg["uuid"])
        if existing is None:
            new.append((label, seg))
        elif _same(existing, seg):
            report.unchanged += 1
        else:
            problem(f"key {seg['uuid']} is already in the workspace as {existing['annotator']}'s "
                    f"{existing['label']} rep {existing['start']}–{existing['end']} (video {existing['video_id']}); "
                    "kept the workspace's rep", label)
    results = store.import_segments(video["id"], [seg for _, seg in new]) if new else []
    for (label, _), result in zip(new, results):
        if isinstance(result, StoreError):
            problem(f"not imported: {result}", label)
        else:
            report.imported += 1
    rest = {k: v for k, v in data.items() if k != "tags"}
    rest["tags"] = kept_tags
    dataset = _dataset_of(base, path)
    store.set_supervisely_file(video["id"], dataset, name, rest)
    if video["id"] not in report.videos:
        report.videos.append(video["id"])


def _tag_label(i: int, tag) -> str:
    text = f"tag #{i + 1}"
    if isinstance(tag, dict):
        if isinstance(tag.get("name"), str):
            text += f" {tag['name']!r}"
        if "frameRange" in tag:
            text += f" {json.dumps(tag['frameRange'])}"
        if isinstance(tag.get("key"), str):
            text += f" key={tag['key']}"
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


def _match_video(videos: list[dict], name: str) -> tuple[dict | None, str]:
    """The video named `name`: by file name, then title, then file name without extension."""
    stem = Path(name).stem
    rules = [
        (name, lambda v: Path(v["path"]).name),
        (name, lambda v: v.get("title") or None),
        (stem, lambda v: Path(v["path"]).stem),
    ]
    for target, key in rules:
        hits = [v for v in videos if key(v) == target]
        if len(hits) == 1:
            return hits[0], ""
        if len(hits) > 1:
            return None, f"video name {name!r} is ambiguous: it matches " + ", ".join(v["path"] for v in hits)
    return None, f"no workspace video named {name!r}; add the video first (Videos page), then import again"


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
    for video in store.videos():
        if video_ids is not None and video["id"] not in video_ids:
            continue
        kept = store.supervisely_file(video["id"])
        if not reps[video["id"]] and kept is None:
            continue
        file_name = Path(video["path"]).name
        name = kept["name"] if kept and kept["name"] in (file_name, video.get("title")) else file_name
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
