"""core.inference.predictor: the same input tensor as training, awkward videos, clear errors, the CLI.

A tiny MoViNet-A0 (random weights, 4 frames at 32x32) is exported with core.modeling.movinet.export_model
into a temporary workspace with real clips and registered there (tests/predict_helpers.py).
"""
from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from core.evaluation import predictions as preds
from core.inference import predictor as P  # noqa: E402
from core.inference.loader import LoadedModel  # noqa: E402
from core.media.video import VideoError, load_clip, probe, sample_indices  # noqa: E402
from core.modeling import registry
from tests.predict_helpers import (  # noqa: E402
    FRAMES,
    PORTRAIT,
    export_tiny,
    make_clip_workspace,
)
from tests.videotools import ffmpeg  # noqa: E402

TOL = 1e-4


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    from tests.conftest import REAL_VIDEOS

    ws = make_clip_workspace(tmp_path_factory.mktemp("predictws"), REAL_VIDEOS)
    export_tiny(ws, "tiny")
    return ws


@pytest.fixture(scope="module")
def predictor():
    """The module-level Predictor (so the CLI and predict_file share its loaded models)."""
    return P.default_predictor()


# ------------------------------------------------------------------------------------------------
# One preprocessing
# ------------------------------------------------------------------------------------------------

def test_clip_tensor_is_load_clip_bit_for_bit(real_videos):
    path = real_videos / PORTRAIT
    n = probe(path).frames
    for start, end, frames, size, crop in [(0, n - 1, 10, 224, None), (5, 40, 4, 32, None),
                                          (7, 7, 4, 64, None), (0, 2, 8, (48, 32), (10, 20, 200, 400))]:
        timings = {}
        x, idx, rng = P.clip_tensor(path, start, end, frames, size, crop, timings)
        want = load_clip(path, start, end, frames, size, crop)
        assert x.dtype == np.float32 and x.shape == want.shape
        assert np.array_equal(x, want)
        assert idx == sample_indices(start, end, frames) and rng == (start, end)
        assert timings["decode"] > 0 and timings["preprocess"] > 0
    # start/end default to the whole video
    x, idx, rng = P.clip_tensor(path, n=4, size=32)
    assert rng == (0, n - 1) and np.array_equal(x, load_clip(path, 0, n - 1, 4, 32))


def test_prediction_sees_the_training_tensor_of_a_clip(ws, predictor, monkeypatch):
    """Prediction's input for a clip == load_clip as the cache job reads it, exactly; the training
    cache's (JPEG) tensor equals it within the JPEG tolerance."""
    from core.dataset import training_cache as cache
    from core.dataset.clips import clips as clip_rows

    seen = []
    real = P.Predictor.predict_array

    def spy(self, ws_, ref, x, topk=5, engine="auto"):
        seen.append(np.array(x))
        return real(self, ws_, ref, x, topk, engine)

    monkeypatch.setattr(P.Predictor, "predict_array", spy)
    model = registry.resolve_model(ws.store(), "tiny")
    frames, size, crop = registry.preprocessing(model)
    videos = {v["id"]: v for v in ws.store().videos()}
    rows = clip_rows(ws.store())
    cached = {}
    for x, _, path in cache.dataset(ws, None, frames, size, crop, with_paths=True):
        cached[path.numpy().decode()] = x.numpy()
    assert len(cached) == len(rows) == 5
    for row in rows:
        out = predictor.predict_clip(ws, row["id"], "tiny")
        x = seen[-1]
        job = cache.clip_source(ws, row, videos, frames, size, crop, 90)
        assert np.array_equal(x, load_clip(job["path"], job["start"], job["end"], frames, size, None))
        assert np.array_equal(x, preds.clip_input(ws, row, frames, size, crop, videos))
        # the cache stores JPEG (quality 80, 4:2:0): at 32x32 the chroma loss is relatively larger
        # than core.dataset.training_cache's 0.02 at training sizes
        assert np.abs(cached[row["path"]] - x).mean() < 0.03
        assert out["clip"] == row["path"] and out["frames_used"] == sample_indices(0, row["frames"] - 1, frames)
        # the probabilities are the model's on exactly that tensor
        fn, _, _ = predictor.runner(ws, "tiny", "fast")
        assert np.allclose([r["probability"] for r in out["top"]],
                           np.sort(fn(x))[::-1][:5], atol=1e-6, rtol=0)


# ------------------------------------------------------------------------------------------------
# Results, engines, models kept loaded
# ------------------------------------------------------------------------------------------------

def test_predict_file_result(ws, predictor, real_videos):
    path = real_videos / PORTRAIT  # 270x480 portrait
    out = predictor.predict_file("tiny", path, ws=ws)
    n = probe(path).frames
    assert set(out) >= {"top", "timings_ms", "engine", "frames_used", "model", "range"}
    assert out["engine"] == "fast" and out["model"] == "tiny"
    assert len(out["top"]) == 5 and all(set(r) == {"movement", "probability"} for r in out["top"])
    probs = [r["probability"] for r in out["top"]]
    assert probs == sorted(probs, reverse=True)
    assert sum(out["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert out["probabilities"][out["top"][0]["movement"]] == probs[0]
    assert out["frames_used"] == sample_indices(0, n - 1, FRAMES) and out["range"] == [0, n - 1]
    assert set(out["timings_ms"]) >= {"decode", "preprocess", "model", "total"}
    t = out["timings_ms"]
    assert t["total"] >= t["decode"] + t["preprocess"] + t["model"] - 1e-6
    assert len(predictor.predict_file("tiny", path, topk=3, ws=ws)["top"]) == 3
    assert len(predictor.predict_file("tiny", path, topk=50, ws=ws)["top"]) == 9
    # a range of frames
    part = predictor.predict_file("tiny", path, ws=ws, start=10, end=30)
    assert part["frames_used"] == sample_indices(10, 30, FRAMES) and part["range"] == [10, 30]
    with pytest.raises(VideoError, match="bad frame range"):
        predictor.predict_file("tiny", path, ws=ws, start=30, end=10)
    with pytest.raises(VideoError, match="out of range"):
        predictor.predict_file("tiny", path, ws=ws, start=0, end=n + 5)


def test_fast_and_reference_engines_agree(ws, predictor, real_videos):
    path = real_videos / "kbtrainer__burpee.mp4"
    fast = predictor.predict_file("tiny", path, ws=ws, engine="fast")
    ref = predictor.predict_file("tiny", path, ws=ws, engine="reference")
    assert (fast["engine"], ref["engine"]) == ("fast", "reference")
    diff = max(abs(fast["probabilities"][m] - ref["probabilities"][m]) for m in fast["probabilities"])
    assert diff <= TOL
    assert P.available_engines(ws, "tiny") == ["auto", "fast", "reference"]   # no TF Lite export yet
    with pytest.raises(P.PredictError, match="no registered float TF Lite export"):
        predictor.predict_file("tiny", path, ws=ws, engine="tflite")
    with pytest.raises(P.PredictError, match="Unknown engine"):
        predictor.predict_file("tiny", path, ws=ws, engine="gpu")


def test_models_stay_loaded_until_their_files_change(ws, predictor, real_videos, monkeypatch):
    path = real_videos / PORTRAIT
    predictor.predict_file("tiny", path, ws=ws)
    loads = predictor.loads
    for _ in range(3):
        predictor.predict_file("tiny", path, ws=ws, start=0, end=20)
    assert predictor.loads == loads
    # by folder path: the same files, so the same loaded model
    folder = ws.root / "models" / "tiny"
    a = predictor.predict_file(folder, path, ws=ws)
    b = predictor.predict_file(str(folder), path)
    assert predictor.loads == loads and a["probabilities"] == b["probabilities"]

    # the cache logic, with a stand-in loader: LRU of `capacity`, a changed export loads again
    small = P.Predictor(capacity=2)
    loaded = []

    def fake_load(row, folder):
        loaded.append(row["id"])
        return LoadedModel(row=row, kind="movinet", loaded=object())

    monkeypatch.setattr(small, "_load", fake_load)
    for mid in ("m1", "m2"):
        d = ws.root / "models" / mid
        d.mkdir(parents=True, exist_ok=True)
        (d / "model.json").write_text("{}")
        from core.modeling.registry import register_model
        register_model(ws, mid, d, ["a"], {"frames": 4, "resolution": 32})
    e1 = small.entry(ws, "m1")
    assert small.entry(ws, "m1") is e1 and loaded == ["m1"]
    small.entry(ws, "m2")
    small.entry(ws, "m1")
    assert loaded == ["m1", "m2"]                       # both fit
    small.entry(ws, "tiny")                             # evicts the least recently used: m2
    small.entry(ws, "m1")
    small.entry(ws, "m2")
    assert loaded == ["m1", "m2", "tiny", "m2"]
    model_json = ws.root / "models" / "m1" / "model.json"
    st = model_json.stat()
    os.utime(model_json, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))   # re-exported
    assert small.entry(ws, "m1") is not e1 and loaded[-1] == "m1"
    assert len(small._entries) == 2 and sum(k[0] == "m1" for k in small._entries) == 1
    with ws.store().write() as con:
        con.execute("DELETE FROM models WHERE id IN ('m1', 'm2')")


def test_unknown_model_and_missing_files_are_clear(ws, predictor, real_videos):
    with pytest.raises(P.PredictError, match="No model or run 'nope'"):
        predictor.predict_file("nope", real_videos / PORTRAIT, ws=ws)
    with ws.store().write() as con:
        con.execute("INSERT INTO models(id, path, labels, preprocessing, created_at) VALUES (?,?,?,?,?)",
                    ("ghost", "models/ghost", json.dumps(["a"]), json.dumps({"frames": 4, "resolution": 32}),
                     "2020-01-01"))
    with pytest.raises(P.PredictError, match="missing"):
        predictor.predict_file("ghost", real_videos / PORTRAIT, ws=ws)
    with ws.store().write() as con:
        con.execute("DELETE FROM models WHERE id = 'ghost'")


# ------------------------------------------------------------------------------------------------
# Awkward inputs
# ------------------------------------------------------------------------------------------------

def test_gif_one_frame_three_frame_and_portrait_videos_predict(ws, predictor, real_videos, tmp_path):
    src = real_videos / PORTRAIT
    gif = tmp_path / "move.gif"
    ffmpeg("-i", src, "-t", "1.2", "-vf", "fps=10,scale=90:-1", gif)
    three = tmp_path / "three.mp4"
    ffmpeg("-i", src, "-frames:v", "3", "-c:v", "libx264", "-pix_fmt", "yuv420p", three)
    one = tmp_path / "one.mp4"
    ffmpeg("-i", src, "-ss", "2", "-frames:v", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p", one)
    for path, frames in [(gif, probe(gif).frames), (three, 3), (one, 1), (src, probe(src).frames)]:
        out = predictor.predict_file("tiny", path, ws=ws)
        assert len(out["top"]) == 5, path.name
        assert out["range"] == [0, frames - 1]
        assert out["frames_used"] == sample_indices(0, frames - 1, FRAMES)
        assert sum(out["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert predictor.predict_file("tiny", three, ws=ws)["frames_used"] == [0, 1, 1, 2]
    assert predictor.predict_file("tiny", one, ws=ws)["frames_used"] == [0, 0, 0, 0]
    # the same bytes uploaded give the same answer
    up = predictor.predict_bytes("tiny", gif.read_bytes(), ".GIF", ws=ws, name="move.gif")
    assert up["probabilities"] == predictor.predict_file("tiny", gif, ws=ws)["probabilities"]


def test_corrupt_unsupported_and_empty_uploads_get_a_clear_message(ws, predictor, real_videos):
    before = set(ws.uploads_dir.iterdir())
    with pytest.raises(VideoError) as err:
        predictor.predict_bytes("tiny", b"this is not a video at all " * 50, ".mp4", ws=ws, name="my squat.mp4")
    msg = str(err.value)
    assert msg.startswith("my squat.mp4: ") and "not a readable video" in msg and ".predict-" not in msg
    truncated = (real_videos / PORTRAIT).read_bytes()[:40_000]
    with pytest.raises(VideoError, match=r"^cut\.mp4: .*(truncated|corrupt|no decodable)"):
        predictor.predict_bytes("tiny", truncated, ".mp4", ws=ws, name="cut.mp4")
    with pytest.raises(VideoError, match=r"notes\.txt: unsupported file type \.txt"):
        predictor.predict_bytes("tiny", b"hello", ".txt", ws=ws, name="notes.txt")
    with pytest.raises(VideoError, match="empty"):
        predictor.predict_bytes("tiny", b"", ".mp4", ws=ws, name="empty.mp4")
    assert set(ws.uploads_dir.iterdir()) == before      # temporary files are gone


def test_predict_video_and_clip_of_the_workspace(ws, predictor):
    out = predictor.predict_video(ws, 1, "tiny", start=5, end=25)
    assert out["video_id"] == 1 and out["range"] == [5, 25]
    assert out["frames_used"] == sample_indices(5, 25, FRAMES)
    video = ws.store().video(1)
    direct = predictor.predict_file("tiny", ws.absolute(video["path"]), ws=ws, start=5, end=25)
    assert out["probabilities"] == direct["probabilities"]
    # the module-level API, newest model by default
    first = P.predict_clip(ws, 1)
    assert first["clip_id"] == 1 and first["model"] in {m["id"] for m in registry.list_models(ws.store())}
    with pytest.raises(P.PredictError, match="No clip 999"):
        predictor.predict_clip(ws, 999, "tiny")
    with pytest.raises(P.PredictError, match="No video 999"):
        predictor.predict_video(ws, 999, "tiny")


# ------------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------------

def test_cli_predict_json(ws, real_videos, capsys):
    from core.cli.main import main

    path = real_videos / PORTRAIT
    rc = main(["predict", "tiny", str(path), "--json", "--topk", "3", "--workspace", str(ws.root)])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"top", "timings_ms", "engine", "frames_used"}
    assert len(out["top"]) == 3 and all(set(r) == {"movement", "probability"} for r in out["top"])
    assert set(out["timings_ms"]) >= {"decode", "preprocess", "model", "total"}
    want = P.predict_file("tiny", path, ws=ws, topk=3)
    assert [r["movement"] for r in out["top"]] == [r["movement"] for r in want["top"]]
    assert np.allclose([r["probability"] for r in out["top"]], [r["probability"] for r in want["top"]], atol=1e-7)
    # plain text
    assert main(["predict", "tiny", str(path), "--workspace", str(ws.root)]) == 0
    text = capsys.readouterr().out
    assert "1. " in text and "total" in text
    # a bad file: exit 2 with the clear message, no traceback
    bad = ws.root / "bad.mp4"
    bad.write_bytes(b"garbage" * 100)
    assert main(["predict", "tiny", str(bad), "--json", "--workspace", str(ws.root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not a readable video" in err and "Traceback" not in err


@pytest.mark.parametrize("labels,prep,words", [
    ('"cs"', {"frames": 4, "resolution": 32}, "list of distinct movement names"),
    ('["a", "a"]', {"frames": 4, "resolution": 32}, "list of distinct movement names"),
    ('["a"]', {"frames": 4, "resolution": 60000}, "resolution 60000"),
    ('["a"]', {"frames": -3, "resolution": 32}, "frames -3"),
])
def test_a_model_folder_with_a_bad_description_is_refused_before_anything_is_built(tmp_path, labels, prep, words):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.json").write_text("{}")
    (folder / "labels.json").write_text(labels)
    (folder / "preprocessing.json").write_text(json.dumps(prep))
    with pytest.raises(P.PredictError, match=words):
        P.Predictor().predict_file(str(folder), tmp_path / "never-read.mp4")
