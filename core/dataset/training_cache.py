"""The training cache: each clip's model input, computed once per setting, read as a tf.data.Dataset.

A setting is (frames N, resolution H x W, crop, focus). For every clip the cache holds exactly what
`core.media.video.load_clip` returns for it — `sample_indices` over the clip, then `preprocess` (the
one preprocessing path; imported, not re-implemented) — stored as N JPEG images (uint8, quality
`JPEG_QUALITY`) in one `tf.train.Example` inside TFRecord shards, so training never decodes a
video. Reading gives float32 [N, H, W, 3] in [0, 1] again; the only difference from `load_clip`
is the JPEG loss (tested: mean absolute difference < 0.02 per clip, on the [0, 1] scale).

crop: True reads the clip file as it was cut (cropped to the athlete box when the clip is);
False gives the whole frame: the clip file if it is uncropped, else the same frames
start..end read from the source video. focus: None, or "motion" = each clip's frames further
cropped to the square around what moves (`core.media.video.motion_box`: the athlete in a wide shot),
or "athlete" = to the square around the athlete's pose landmarks over the clip
(`core.pose.focus.athlete_box` on the source video's stored pose track, computed when missing; a
clip without a pose falls back to the motion focus). A track recomputed later (the athlete
corrected on the Label page) does not re-crop records already cached: clear the setting's cache.

Layout: `cache/n<N>_<H>x<W>_<crop|full>[_<focus>]/` holds `shard-<k>.tfrecord` files and `manifest.json`
{"format", "setting", "clips": {clip fingerprint: {"shard", "bytes", "label", "path"}}, "shards"}.
An entry is keyed by the clip's fingerprint (what the clip was cut from; see core.dataset.clips), so a
re-cut clip (changed range, crop, movement) misses and is recomputed, and an unchanged clip is
never recomputed. Shards are immutable: a build appends new shards for what is missing and
forgets stale entries; shards with no live entry are deleted, and when stale records make up
more than half the bytes the live ones are copied into fresh shards. Shards and the manifest
are written under temporary names and renamed, one shard at a time, so a killed build keeps
what it finished and never leaves a half-written shard in use.

Labels and splits are not baked in: `dataset(ws, split, …)` looks them up in the database when
it is called (label = index of the clip's movement in `store.labels()`, split = its source
video's split), so remaking the splits or reordering nothing needs no rebuild.
"""
from __future__ import annotations

from core.base.errors import DatasetError
import json
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow is imported lazily; keep its start-up quiet

from core.base.workspace import Workspace  # noqa: E402
from core.dataset.clips import clips as clip_rows  # noqa: E402

CACHE_FORMAT = 1
JPEG_QUALITY = 80
SHARD_RECORDS = 256  # records per shard (a 10 x 224² record is ~50 KB at quality 80: shards of ~13 MB)
TMP_PREFIX = ".tmp-"
SPLITS = ("train", "val", "test")

Progress = Callable[[int, int, str], None]


class CacheError(DatasetError, ValueError):
    """The cache cannot answer (clips missing from it, no clips, another build running)."""


# --------------------------------------------------------------------------------------------
# settings and the manifest
# --------------------------------------------------------------------------------------------

def size_pair(size) -> tuple[int, int]:
    if isinstance(size, (tuple, list)):
        return int(size[0]), int(size[1])
    return int(size), int(size)


def setting_key(frames: int, size, crop: bool, focus: str | None = None) -> str:
    h, w = size_pair(size)
    return f"n{int(frames)}_{h}x{w}_{'crop' if crop else 'full'}" + (f"_{focus}" if focus else "")


def cache_dir(ws: Workspace, frames: int, size, crop: bool, focus: str | None = None) -> Path:
    return ws.cache_dir / setting_key(frames, size, crop, focus)


def _setting(frames, size, crop, quality, focus=None) -> dict:
    h, w = size_pair(size)
    setting = {"frames": int(frames), "height": h, "width": w, "crop": bool(crop), "jpeg_quality": int(quality)}
    if focus:  # absent rather than null, so caches built before focus existed stay valid
        setting["focus"] = focus
        setting["focus_version"] = focus_version(focus)  # a changed box rule rebuilds the records
    return setting


def focus_version(focus: str | None):
    """What the records of a focus depend on beyond the clip: the motion box's version; for the
    athlete focus also the athlete box's and the pose model's (its tracks are other landmarks)."""
    from core.media.video import MOTION_BOX_VERSION

    if focus == "athlete":  # falls back to the motion box where a clip has no pose
        from core.pose.focus import ATHLETE_BOX_VERSION
        from core.pose.store import MODEL_VERSION

        return f"a{ATHLETE_BOX_VERSION}-m{MOTION_BOX_VERSION}-{MODEL_VERSION}"
    return MOTION_BOX_VERSION


def setting_matches(manifest: dict, frames, size, crop, quality, focus=None) -> bool:
    """Whether a manifest was built for exactly this setting (what `build` would rebuild otherwise)."""
    return manifest.get("format") == CACHE_FORMAT and manifest.get("setting") == _setting(frames, size, crop,
                                                                                          quality, focus)


def read_manifest(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "manifest.json").read_text())
    except (FileNotFoundError, ValueError):
        return None


def _write_manifest(folder: Path, manifest: dict) -> None:
    tmp = folder / f"{TMP_PREFIX}manifest.json"
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(tmp, folder / "manifest.json")


class _Lock:
    def __init__(self, path: Path):
        self.path, self.fd = path, None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            import fcntl

            fcntl.flock(self.fd, fcntl.LOCK_EX)  # waits for a concurrent build of the same setting
        except ImportError:
            pass
        return self

    def __exit__(self, *exc):
        os.close(self.fd)


# --------------------------------------------------------------------------------------------
# computing one record (runs in worker processes)
# --------------------------------------------------------------------------------------------

def clip_source(ws: Workspace, clip: dict, videos: dict, frames: int, size, crop: bool, quality: int,
         focus: str | None = None, tracks: dict | None = None) -> dict:
    """What a worker needs to compute one clip's record (plain data, picklable). With focus
    "athlete" it holds the clip's athlete box ("athlete", None without a pose) in the pixels of the
    frames it reads; `tracks` ({video id: pose track}) saves loading a video's track per clip."""
    from_clip = crop or not clip["crop"]
    if from_clip:
        path, start, end = str(ws.absolute(clip["path"])), 0, clip["frames"] - 1
    else:  # the whole frame of a cropped clip: the same frames from the source video
        video = videos[clip["video_id"]]
        path, start, end = str(ws.absolute(video["path"])), clip["start_frame"], clip["end_frame"]
    job = {"fingerprint": clip["fingerprint"], "label": clip["label"], "clip": clip["path"], "path": path,
           "start": start, "end": end, "frames": int(frames), "size": size_pair(size), "quality": int(quality),
           "focus": focus}
    if focus == "athlete":
        job["athlete"] = clip_athlete_box(ws, clip, from_clip, tracks)
    return job


def clip_athlete_box(ws: Workspace, clip: dict, from_clip: bool, tracks: dict | None = None) -> list[int] | None:
    """The athlete box of a clip (`core.pose.focus.athlete_box` of its source video's pose track
    over the clip's frames), in the pixels of the cut clip file when `from_clip` (moved by the
    clip's crop), else of the source video. None without a pose in the clip."""
    from core.base.errors import WorkbenchError
    from core.pose.focus import athlete_box, focus_track

    vid = int(clip["video_id"])
    tracks = {} if tracks is None else tracks
    if vid not in tracks:
        try:
            tracks[vid] = focus_track(ws, video_id=vid)
        except WorkbenchError as exc:
            raise CacheError(f"The athlete focus needs the pose track of video {vid} ({clip['path']}): {exc}") from exc
    box = athlete_box(tracks[vid], clip["start_frame"], clip["end_frame"])
    if box is None:
        return None
    if from_clip and clip["crop"]:
        dx, dy = clip["crop"][0], clip["crop"][1]
        box = (box[0] - dx, box[1] - dy, box[2] - dx, box[3] - dy)
    return [int(v) for v in box]


def compute_record(job: dict) -> tuple[dict, list[bytes]]:
    """load_clip → uint8 → JPEG per frame. Returns (job, [jpeg bytes] * N)."""
    from core.media.video import load_clip

    x = load_clip(job["path"], job["start"], job["end"], job["frames"], job["size"], None, job.get("focus"),
                  job.get("athlete"))
    return job, encode_frames(x, job["quality"], job["clip"])


def encode_frames(x, quality: int, name: str) -> list[bytes]:
    """Preprocessed frames float32 [N, H, W, 3] in [0, 1] -> N JPEG images (exact uint8 first:
    preprocess scales uint8 / 255)."""
    import cv2
    import numpy as np

    images = []
    for frame in x:
        u8 = np.clip(np.rint(frame * 255.0), 0, 255).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(u8, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        if not ok:
            raise CacheError(f"JPEG encoding failed for {name}")
        images.append(buf.tobytes())
    return images


def compute_records(jobs: list[dict]) -> list[tuple[dict, list[bytes]]]:
    return [compute_record(j) for j in jobs]


def _example(job: dict, images: list[bytes]) -> bytes:
    import tensorflow as tf

    h, w = job["size"]
    feature = {
        "fingerprint": tf.train.Feature(bytes_list=tf.train.BytesList(value=[job["fingerprint"].encode()])),
        "label": tf.train.Feature(bytes_list=tf.train.BytesList(value=[job["label"].encode()])),
        "frames": tf.train.Feature(bytes_list=tf.train.BytesList(value=images)),
        "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=[len(images), h, w, 3])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


# --------------------------------------------------------------------------------------------
# building
# --------------------------------------------------------------------------------------------

def build(ws: Workspace, frames: int = 10, size=224, crop: bool = True, *, quality: int = JPEG_QUALITY,
          jobs: int = 1, progress: Progress | None = None, cancel: threading.Event | None = None,
          focus: str | None = None) -> dict:
    """Bring the cache of one setting up to date with the clips table. Returns a summary
    {"key", "clips", "computed", "reused", "dropped", "cancelled", "seconds"}."""
    store = ws.store()
    wanted = {c["fingerprint"]: c for c in clip_rows(store)}

    def make_jobs(missing):
        videos = {v["id"]: v for v in store.videos()}
        tracks = pose_tracks(ws, {c["video_id"] for c in missing}, progress, cancel) if focus == "athlete" else None
        return [clip_source(ws, c, videos, frames, size, crop, quality, focus, tracks) for c in missing]

    return update_records(ws, frames, size, crop, quality, focus, "clip", wanted, make_jobs, compute_records, 16,
                   jobs, progress, cancel)


def pose_tracks(ws: Workspace, video_ids, progress: Progress | None = None, cancel=None) -> dict:
    """{video id: pose track} for the athlete focus: each video's stored track, computed first
    where missing (the slow part of an athlete-focus build: reported as progress)."""
    from core.base.errors import Cancelled, WorkbenchError
    from core.pose.focus import focus_track

    out = {}
    ids = sorted(int(v) for v in video_ids)
    for k, vid in enumerate(ids):
        def prog(done, total, text, k=k, vid=vid):
            if progress:
                progress(done, total, f"pose track of video {vid} ({k + 1}/{len(ids)}): {text}")

        try:
            out[vid] = focus_track(ws, video_id=vid, progress=prog, cancel=cancel)
        except Cancelled:
            raise
        except WorkbenchError as exc:
            raise CacheError(f"The athlete focus needs the pose track of video {vid}: {exc}") from exc
    return out


def update_records(ws: Workspace, frames, size, crop, quality, focus, kind: str, wanted: dict, make_jobs, compute,
            per_batch: int, jobs: int, progress, cancel, replaced_only: bool = False) -> dict:
    """The build of one kind of record ("clip" or "window") into one setting's folder: drop that
    kind's stale entries, compute the missing ones (`compute(list of jobs) -> [(entry, images)]`),
    write shards, compact. Stale: every entry of the kind not wanted (`wanted` is the whole set),
    or with replaced_only (`wanted` is one run's share of a folder others may be reading) only an
    entry at a wanted place (its "path") whose content or label changed."""
    t0 = time.perf_counter()
    folder = cache_dir(ws, frames, size, crop, focus)
    folder.mkdir(parents=True, exist_ok=True)
    setting = _setting(frames, size, crop, quality, focus)
    noun = "clips" if kind == "clip" else "windows"
    with _Lock(folder / ".lock"):
        for tmp in folder.glob(f"{TMP_PREFIX}*"):
            tmp.unlink(missing_ok=True)
        manifest = read_manifest(folder)
        if not manifest or not setting_matches(manifest, frames, size, crop, quality, focus):
            for f in folder.glob("shard-*.tfrecord"):
                f.unlink()
            manifest = {"format": CACHE_FORMAT, "setting": setting, "clips": {}, "shards": {}}
        for f in folder.glob("shard-*.tfrecord"):  # renamed by a killed build, never recorded
            if f.name not in manifest["shards"]:
                f.unlink()
        places = {c["path"] for c in wanted.values()} if replaced_only else None
        stale = [fp for fp, e in manifest["clips"].items() if e.get("kind", "clip") == kind and fp not in wanted
                 and (places is None or e["path"] in places)]
        for fp in stale:
            del manifest["clips"][fp]
        missing = [c for fp, c in wanted.items() if fp not in manifest["clips"]
                   or manifest["clips"][fp]["shard"] not in manifest["shards"]]
        todo = make_jobs(missing)
        summary = {"key": folder.name, "clips": len(wanted), "computed": 0, "reused": len(wanted) - len(missing),
                   "dropped": len(stale), "cancelled": False}
        if progress:
            progress(0, len(missing), f"{len(missing)} {noun} to cache, {summary['reused']} cached")
        _drop_empty_shards(folder, manifest)
        _write_manifest(folder, manifest)

        pending: list[tuple[dict, list[bytes]]] = []

        def flush():
            if pending:
                _write_shard(folder, manifest, pending, kind)
                pending.clear()

        try:
            for job, images in _records(todo, jobs, cancel, compute, per_batch):
                pending.append((job, images))
                summary["computed"] += 1
                if progress:
                    progress(summary["computed"], len(missing), job["clip"])
                if len(pending) >= SHARD_RECORDS:
                    flush()
        finally:
            flush()
        summary["cancelled"] = bool(cancel is not None and cancel.is_set() and summary["computed"] < len(missing))
        _compact(folder, manifest)
    summary["seconds"] = time.perf_counter() - t0
    return summary


def _records(todo: list[dict], jobs: int, cancel, compute=compute_records, per_batch: int = 16):
    """Yield (entry, images) for each job's records, in worker processes when jobs > 1 (batches of
    `per_batch` jobs); stops on cancel."""
    if jobs <= 1 or len(todo) < 2 * per_batch:
        for job in todo:
            if cancel is not None and cancel.is_set():
                return
            yield from compute([job])
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, wait

    batches = [todo[i:i + per_batch] for i in range(0, len(todo), per_batch)]
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(compute, b) for b in batches]
        try:
            for future in futures:  # in submission order: the shards' content does not depend on jobs
                while True:
                    if cancel is not None and cancel.is_set():
                        return
                    done, _ = wait([future], timeout=0.2)
                    if done:
                        break
                yield from future.result()
        finally:
            for future in futures:
                future.cancel()


def _write_shard(folder: Path, manifest: dict, records: list[tuple[dict, list[bytes]]], kind: str = "clip") -> None:
    import tensorflow as tf

    k = max((int(name[6:-9]) for name in manifest["shards"]), default=-1) + 1
    name = f"shard-{k:05d}.tfrecord"
    tmp = folder / f"{TMP_PREFIX}{name}"
    sizes = {}
    with tf.io.TFRecordWriter(str(tmp)) as writer:
        for job, images in records:
            data = _example(job, images)
            writer.write(data)
            sizes[job["fingerprint"]] = (len(data) + 16, job)  # 16 bytes of TFRecord framing
    os.replace(tmp, folder / name)
    manifest["shards"][name] = {"bytes": (folder / name).stat().st_size, "records": len(records)}
    for fp, (n, job) in sizes.items():
        manifest["clips"][fp] = {"shard": name, "bytes": n, "label": job["label"], "path": job["clip"]}
        if kind != "clip":  # clips carry no kind (manifests from before windows stay valid)
            manifest["clips"][fp]["kind"] = kind
    _write_manifest(folder, manifest)


def _drop_empty_shards(folder: Path, manifest: dict) -> None:
    live = {e["shard"] for e in manifest["clips"].values()}
    for name in list(manifest["shards"]):
        if name not in live:
            del manifest["shards"][name]
            (folder / name).unlink(missing_ok=True)


def _compact(folder: Path, manifest: dict) -> None:
    """Drop shards with no live record; rewrite the live records when stale ones are most bytes."""
    _drop_empty_shards(folder, manifest)
    total = sum(s["bytes"] for s in manifest["shards"].values())
    live = sum(e["bytes"] for e in manifest["clips"].values())
    if total <= 2 * live or total - live < 8 * 2**20:
        _write_manifest(folder, manifest)
        return
    import tensorflow as tf

    old = sorted(manifest["shards"])
    keep = set(manifest["clips"])
    batch: list[bytes] = []
    fps: list[str] = []

    def flush():
        if not batch:
            return
        k = max((int(n[6:-9]) for n in manifest["shards"]), default=-1) + 1
        name = f"shard-{k:05d}.tfrecord"
        tmp = folder / f"{TMP_PREFIX}{name}"
        with tf.io.TFRecordWriter(str(tmp)) as writer:
            for data in batch:
                writer.write(data)
        os.replace(tmp, folder / name)
        manifest["shards"][name] = {"bytes": (folder / name).stat().st_size, "records": len(batch)}
        for fp in fps:
            manifest["clips"][fp]["shard"] = name
        _write_manifest(folder, manifest)
        batch.clear()
        fps.clear()

    spec = {"fingerprint": tf.io.FixedLenFeature([], tf.string)}
    for name in old:
        for raw in tf.data.TFRecordDataset(str(folder / name)):
            fp = tf.io.parse_single_example(raw, spec)["fingerprint"].numpy().decode()
            if fp in keep and manifest["clips"][fp]["shard"] == name:
                batch.append(raw.numpy())
                fps.append(fp)
                if len(batch) >= SHARD_RECORDS:
                    flush()
    flush()
    _drop_empty_shards(folder, manifest)
    _write_manifest(folder, manifest)


def clear(ws: Workspace, frames: int | None = None, size=None, crop: bool | None = None,
          focus: str | None = None) -> None:
    """Delete one setting's cache, or (no arguments) the whole cache folder's contents."""
    if frames is None:
        for sub in ws.cache_dir.iterdir():
            if sub.is_dir() and (sub / "manifest.json").exists():
                shutil.rmtree(sub)
    else:
        shutil.rmtree(cache_dir(ws, frames, size, bool(crop), focus), ignore_errors=True)


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------

def examples(ws: Workspace, split: str | None = None) -> list[dict]:
    """The clips of a split ("train", "val", "test"; None or "all": every clip), in the order of
    the clips table: {path, label, label_id, video_id, split, fingerprint, frames}. label_id is the
    index of the movement in `store.labels()`: the class id the model is trained on."""
    from core.dataset.splits import current_splits

    store = ws.store()
    labels = store.labels()
    splits = current_splits(store)
    if split not in (None, "all", *SPLITS):
        raise CacheError(f"Unknown split {split!r}; use train, val, test or all.")
    out = []
    for c in clip_rows(store):
        s = splits.get(c["video_id"])
        if split not in (None, "all") and s != split:
            continue
        if c["label"] not in labels:
            continue
        out.append({"path": c["path"], "label": c["label"], "label_id": labels.index(c["label"]),
                    "video_id": c["video_id"], "split": s, "fingerprint": c["fingerprint"], "frames": c["frames"]})
    return out


def dataset(ws: Workspace, split: str | None, frames: int = 10, size=224, crop: bool = True,
            batch_size: int | None = None, shuffle: bool = False, seed: int = 0, *, build_missing: bool = True,
            jobs: int = 1, with_paths: bool = False, focus: str | None = None, entries: list[dict] | None = None):
    """A tf.data.Dataset of (frames float32 [N, H, W, 3] in [0, 1], label int32) for the clips of
    `split` (see `examples`), from the cache of (frames, size, crop), built first if anything is
    missing (`build_missing=False` raises CacheError instead). Batched when batch_size is given
    (the last batch may be smaller). shuffle: shard order and a buffer of up to 1024 clips,
    deterministic for a seed, reshuffled each epoch. Without shuffle: the order the clips were
    cached in (the clips table's order within one build; later builds' clips after).
    with_paths: elements are (frames, label, clip path as a tf.string) — to tie predictions to
    clips in evaluation. entries: these examples instead of the split's clips (e.g. training
    windows, `core.dataset.windows.examples`, built beforehand with `core.dataset.windows.build_windows`)."""
    import tensorflow as tf

    wanted = examples(ws, split) if entries is None else list(entries)
    if not wanted:
        raise CacheError(f"No clips in split {split!r}: cut clips and make splits first.")
    if entries is not None:
        build_missing = False  # windows are built with their whole set (windows.build_windows), not piecemeal
    folder = cache_dir(ws, frames, size, crop, focus)
    manifest = read_manifest(folder)
    if manifest and focus:
        if (manifest.get("setting") or {}).get("focus_version") != focus_version(focus):
            manifest = None  # cropped by an older box rule: every record is stale
    need = [e for e in wanted if not manifest or e["fingerprint"] not in manifest["clips"]
            or manifest["clips"][e["fingerprint"]]["shard"] not in manifest["shards"]]
    if need:
        if not build_missing:
            raise CacheError(f"{len(need)} clips of split {split!r} are not in the cache {folder.name}; "
                             "build it (python -m core cache build).")
        build(ws, frames, size, crop, jobs=jobs, focus=focus)
        manifest = read_manifest(folder)
    h, w = size_pair(size)
    n = int(frames)
    shards = sorted({manifest["clips"][e["fingerprint"]]["shard"] for e in wanted})
    files = [str(folder / s) for s in shards]
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant([e["fingerprint"] for e in wanted]),
                                            tf.constant([e["label_id"] for e in wanted], dtype=tf.int32)),
        default_value=-1)
    spec = {"fingerprint": tf.io.FixedLenFeature([], tf.string),
            "frames": tf.io.FixedLenFeature([n], tf.string)}

    paths = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant([e["fingerprint"] for e in wanted]),
                                            tf.constant([e["path"] for e in wanted])),
        default_value="")

    def parse(raw):
        ex = tf.io.parse_single_example(raw, spec)
        return ex["frames"], table.lookup(ex["fingerprint"]), ex["fingerprint"]

    def decode(images, label, fp):
        x = tf.map_fn(lambda b: tf.io.decode_jpeg(b, channels=3, dct_method="INTEGER_ACCURATE"), images,
                      fn_output_signature=tf.TensorSpec([None, None, 3], tf.uint8))
        x = tf.ensure_shape(tf.image.convert_image_dtype(x, tf.float32), [n, h, w, 3])
        return (x, label, paths.lookup(fp)) if with_paths else (x, label)

    ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=min(4, len(files)),
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.filter(lambda images, label, fp: label >= 0)
    if shuffle:
        ds = ds.shuffle(min(len(wanted), 1024), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if batch_size:
        ds = ds.batch(int(batch_size))
    return ds.prefetch(tf.data.AUTOTUNE)


def size_report(ws: Workspace, frames: int = 10, size=224, crop: bool = True, focus: str | None = None) -> dict:
    """Cache bytes of one setting vs the mp4 bytes of the clips it covers:
    {"key", "cache_bytes" (shards + manifest on disk), "clip_bytes", "ratio", "clips", "cached"}."""
    folder = cache_dir(ws, frames, size, crop, focus)
    manifest = read_manifest(folder) or {"clips": {}, "shards": {}}
    rows = clip_rows(ws.store())
    cache_bytes = sum(f.stat().st_size for f in folder.glob("*") if f.is_file() and f.name != ".lock") \
        if folder.exists() else 0
    clip_bytes = sum(c["bytes"] for c in rows)
    cached = sum(1 for c in rows if c["fingerprint"] in manifest["clips"])
    return {"key": folder.name, "cache_bytes": cache_bytes, "clip_bytes": clip_bytes,
            "ratio": cache_bytes / clip_bytes if clip_bytes else None, "clips": len(rows), "cached": cached,
            "jpeg_quality": (manifest.get("setting") or {}).get("jpeg_quality", JPEG_QUALITY)}
