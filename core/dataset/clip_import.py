"""Folders of already cut clips as labelled data: `<movement>/<movement>_<i>.mp4`, one rep each.

The original pipeline left its users a tree of clips cut by an ffmpeg splitter, and (sometimes)
the splitter's manifests: one `<video>.json` per source video, a list of
`{"start_time": s, "length": s, "rename_to": "<movement>_<i>.mp4"}` (the format
`core.dataset.manifest` writes). `import_clips` adds each clip as a video of the workspace (copied
in, probed, deduplicated by content, as `core.media.library` adds any file) with one rep spanning
all its frames, labelled with its folder's movement, by the annotator `clips` (one annotator per
clip video, so every rep feeds the dataset).

Splits are grouped by source video so one athlete's reps never straddle splits; a clip is its
own video here, so each clip video records its group (`videos.split_group`):
- with manifests, the source video that lists the clip (`source:<video>`), so the clips of one
  source video stay in one split;
- without manifests (or for a clip no manifest lists) splits cannot be grouped by athlete: the
  group is the clip's folder (`group_by="folder"`: the folders above the movement folder, e.g.
  `athlete_3/thruster/thruster_1.mp4` → `athlete_3`; a plain `<movement>/` tree gives no folder, so
  each clip is its own group), or a key the user gives (`group_by=` a regular expression searched
  in the clip's path under DIR; its first group, else the whole match, is the key).
`core.dataset.splits.make_splits` assigns whole groups to splits (`core.dataset.splits.assign_splits` over the
groups' rep counts) and stores every video's split; videos without a group are their own group.

Movements not in the workspace's label list are not dropped: they are listed in the report
(`unknown_movements`) and added with `add_movements=True` (the CLI's `--add-movements`, a button on
the Videos page); their clips are imported once they are added. Importing the same tree twice
changes nothing.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from core.base.progress import check_cancel
from core.base.progress import report as report_progress
from core.base.store import StoreError
from core.base.workspace import Workspace
from core.media.library import VIDEO_SUFFIXES, add_file

ANNOTATOR = "clips"
_NUMBERED = re.compile(r"^(?P<movement>.+?)[_ -]+(?P<number>\d+)$")


@dataclass
class ClipFile:
    path: Path
    rel: str  # relative to the imported folder, with /
    movement: str  # as the folder names it
    number: int | None


@dataclass
class ClipImportReport:
    clips: int = 0
    added: int = 0
    already: int = 0  # clips already in the workspace (same content)
    reps: int = 0  # reps made now
    grouped_by: str = ""
    groups: dict[str, int] = field(default_factory=dict)  # group -> clips
    unknown_movements: dict[str, list[str]] = field(default_factory=dict)  # movement -> clip files
    added_movements: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    video_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.unknown_movements

    def summary(self) -> str:
        text = (f"{self.clips} clip(s): {self.added} added, {self.already} already in the workspace, {self.reps} new "
                f"rep(s); {len(self.groups)} split group(s) by {self.grouped_by}")
        if self.unknown_movements:
            text += (f"; {sum(map(len, self.unknown_movements.values()))} clip(s) of movement(s) not in the label "
                     f"list, not imported yet: {', '.join(sorted(self.unknown_movements))}")
        if self.problems:
            text += f"; {len(self.problems)} problem(s)"
        return text + "."


def normalize(name: str) -> str:
    """Movement names compare ignoring case and `_`/`-`/space differences (`power_clean` = `power clean`)."""
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


def scan(root: str | Path) -> list[ClipFile]:
    """The clips under root: every video file, its movement from its folder (a file directly in root:
    from its name, `<movement>_<i>`), its number from its name."""
    root = Path(root)
    out = []
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.suffix.lower() not in VIDEO_SUFFIXES:
            continue
        rel = p.relative_to(root).as_posix()
        m = _NUMBERED.match(p.stem)
        movement = p.parent.name if p.parent != root else (m.group("movement") if m else p.stem)
        out.append(ClipFile(p, rel, movement, int(m.group("number")) if m else None))
    return out


def read_manifests(folder: str | Path) -> tuple[dict[str, tuple[str, dict]], list[str]]:
    """{clip file name: (source video, entry)} from every `<video>.json` splitter manifest in folder,
    and the problems found (malformed files, a clip name listed by two source videos)."""
    folder = Path(folder)
    where: dict[str, tuple[str, dict]] = {}
    problems: list[str] = []
    if not folder.is_dir():
        return where, [f"{folder}: no such folder of manifests"]
    twice: set[str] = set()
    for path in sorted(folder.rglob("*.json")):
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(f"{path.name}: malformed JSON ({exc})")
            continue
        if not isinstance(entries, list):
            if path.name != "clips.csv":
                problems.append(f"{path.name}: not a splitter manifest (a list of {{start_time, length, rename_to}})")
            continue
        source = path.stem
        for i, e in enumerate(entries):
            if not isinstance(e, dict) or not isinstance(e.get("rename_to"), str):
                problems.append(f"{path.name}: entry #{i + 1} has no rename_to")
                continue
            name = Path(e["rename_to"]).name
            if name in where and where[name][0] != source:
                twice.add(name)
                problems.append(f"{name} is listed by two source videos ({where[name][0]}, {source}): "
                                "grouped as if no manifest listed it")
            where[name] = (source, e)
    for name in twice:
        where.pop(name, None)
    return where, problems


def _group_of(clip: ClipFile, group_by: str, root_pattern) -> tuple[str, bool]:
    """(group key, whether it came from the rule) for a clip no manifest lists."""
    if group_by == "folder":
        above = Path(clip.rel).parent.parent.as_posix()
        return (f"folder:{above}", True) if above not in ("", ".") else (f"clip:{clip.rel}", False)
    m = root_pattern.search(clip.rel)
    if m:
        return f"key:{m.group(1) if m.groups() and m.group(1) is not None else m.group(0)}", True
    return f"clip:{clip.rel}", False


def import_clips(ws: Workspace, root: str | Path, *, manifests: str | Path | None = None,
                 group_by: str = "folder", add_movements: bool = False, annotator: str = ANNOTATOR,
                 progress=None, cancel=None) -> ClipImportReport:
    """Import a tree of cut clips as labelled data; see the module doc."""
    root = Path(root)
    rep = ClipImportReport()
    if not root.is_dir():
        rep.problems.append(f"{root}: not a folder")
        return rep
    pattern = None
    if group_by != "folder":
        try:
            pattern = re.compile(group_by)
        except re.error as exc:
            rep.problems.append(f"--group-by {group_by!r} is neither 'folder' nor a regular expression: {exc}")
            return rep
    store = ws.store()
    clips = scan(root)
    rep.clips = len(clips)
    if not clips:
        rep.problems.append(f"{root}: no clips (<movement>/<movement>_<i>.mp4) found")
        return rep

    listed: dict[str, tuple[str, dict]] = {}
    if manifests is not None:
        listed, problems = read_manifests(manifests)
        rep.problems += problems
        rep.grouped_by = "source video (splitter manifests)"
    else:
        rep.grouped_by = "clip folder" if group_by == "folder" else f"key '{group_by}'"
        rep.notes.append("No splitter manifests: splits cannot be grouped by athlete (source video); clips are "
                         f"grouped by {rep.grouped_by}. Give --manifests DIR to keep each source video's clips "
                         "in one split.")

    labels = {normalize(n): n for n in store.labels()}
    wanted = {}
    for c in clips:
        if normalize(c.movement) not in labels:
            wanted.setdefault(c.movement, []).append(c.rel)
    if wanted and add_movements:
        for name in sorted(wanted, key=normalize):
            if normalize(name) not in labels:
                store.add_label(name)
                labels[normalize(name)] = name
                rep.added_movements.append(name)
        wanted = {}
    rep.unknown_movements = wanted

    unlisted, ungrouped = 0, 0
    for i, c in enumerate(clips):
        check_cancel(cancel, "The clip import")
        report_progress(progress, i, len(clips), c.rel)
        label = labels.get(normalize(c.movement))
        if label is None:
            continue
        source = listed.get(c.path.name)
        if source is not None:
            group = f"source:{source[0]}"
        else:
            if manifests is not None:
                unlisted += 1
            group, ruled = _group_of(c, group_by, pattern)
            ungrouped += not ruled
        added = add_file(ws, c.path)
        if added.error:
            rep.problems.append(f"{c.rel}: {added.error}")
            continue
        vid = added.video_id if added.video_id is not None else added.duplicate_of
        rep.added += added.video_id is not None
        rep.already += added.duplicate_of is not None
        video = store.video(vid)
        if video.get("split_group") != group:
            store.set_video_identity(vid, split_group=group)
        rep.groups[group] = rep.groups.get(group, 0) + 1
        rep.video_ids.append(vid)
        extra = {"clip_import": {"file": c.rel, "group": group}}
        if source is not None:
            extra["clip_import"].update(source=source[0], start_time=source[1].get("start_time"),
                                        length=source[1].get("length"))
        mine = [s for s in store.segments(vid) if s["annotator"] == annotator]
        if any(s["start"] == 0 and s["end"] == video["frames"] - 1 and s["label"] == label for s in mine):
            continue
        if store.segments(vid):
            rep.problems.append(f"{c.rel}: already has reps in the workspace (video {vid}); left as it is")
            continue
        try:
            store.import_segments(vid, [{"label": label, "start": 0, "end": video["frames"] - 1,
                                         "annotator": annotator, "extra": extra}])
            rep.reps += 1
        except StoreError as exc:
            rep.problems.append(f"{c.rel}: {exc}")
    report_progress(progress, len(clips), len(clips), "done")
    if unlisted:
        rule = "clip folder" if group_by == "folder" else f"key '{group_by}'"
        rep.notes.append(f"{unlisted} clip(s) are in no manifest: grouped by {rule} instead of source video.")
    if ungrouped:
        rep.notes.append(f"{ungrouped} clip(s) matched no group (no folder above the movement folder, or the key "
                         "did not match): each is its own group.")
    if rep.unknown_movements:
        rep.notes.append("Movements not in the workspace's label list: "
                         + "; ".join(f"{m} ({len(f)} clip(s))" for m, f in sorted(rep.unknown_movements.items()))
                         + ". Add them (--add-movements, or the button on the Videos page) and import again.")
    return rep

