"""core.modeling.movinet: building MoViNets, pretrained checkpoints (download, verify, restore, head swap),
stream form (frame by frame == whole clip), export/load.

Tiny models only (a0, few frames, low resolution); checkpoints are made by the tests in the
official layout and served from 127.0.0.1. Nothing is downloaded from the internet.
"""
from __future__ import annotations

import json
import os
import tarfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

from core.modeling import movinet as M  # noqa: E402
from core.modeling.fastpath import fast_model  # noqa: E402
from tests.ckpt_helpers import make_official_archive, serve_ranges, tiny_model, tiny_stream  # noqa: E402
from tests.httpserver import serve_directory  # noqa: E402

tf.get_logger().setLevel("ERROR")


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """(600-class source model, archive path, checkpoint prefix) for a0 base."""
    return make_official_archive(tmp_path_factory.mktemp("official"), "a0", "base")


def _values(variables):
    return [v.numpy() for v in variables]


# ----------------------------------------------------------------------------------------------
# Building
# ----------------------------------------------------------------------------------------------

def test_build_base_and_stream_nine_classes():
    base = tiny_model("a0", "base")
    assert base.movinet_spec.conv_type == "3d" and not base.movinet_spec.causal
    assert base.output_shape == (None, 9)
    stream = tiny_model("a0", "stream")
    spec = stream.movinet_spec
    assert (spec.causal, spec.conv_type, spec.se_type, spec.activation) == (True, "2plus1d", "2plus3d", "hard_swish")
    assert not stream.backbone.use_external_states
    assert stream.output_shape == (None, 9)
    # (both are run on real clips in test_fastpath.py)


def test_official_settings_and_bad_arguments():
    assert M.backbone_settings("a3", "stream")["use_positional_encoding"] is True
    assert M.backbone_settings("a2", "stream")["use_positional_encoding"] is False
    assert M.checkpoint_url("a2", "base") == \
        "https://storage.googleapis.com/tf_model_garden/vision/movinet/movinet_a2_base.tar.gz"
    assert M.checkpoint_url("a0", "stream", "http://127.0.0.1:1/x/") == "http://127.0.0.1:1/x/movinet_a0_stream.tar.gz"
    with pytest.raises(M.ModelError, match="unknown MoViNet model id"):
        M.build_model("a9")
    with pytest.raises(M.ModelError, match="variant"):
        M.build_model("a0", "fast")
    with pytest.raises(M.ModelError, match="conv_type"):
        M.build_model("a0", "base", conv_type="2plus1d")


def test_stream_model_gets_gradients_without_external_states():
    """The stream variant trains on whole clips (Model Garden issue 10730 hits only models
    built with external states): one eager gradient step reaches every trainable variable."""
    m = M.build_model("a0", "stream", num_classes=3, frames=2, resolution=32)
    x = np.random.default_rng(1).random((2, 2, 32, 32, 3), dtype=np.float32)
    loss_fn = tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        loss = loss_fn(np.array([0, 2]), m(x, training=True))
    grads = tape.gradient(loss, m.trainable_variables)
    assert np.isfinite(loss.numpy())
    assert all(g is not None for g in grads)


# ----------------------------------------------------------------------------------------------
# Pretrained checkpoints
# ----------------------------------------------------------------------------------------------

def test_auto_download_extract_restore_and_head_swap(tmp_path, official):
    src, archive, prefix = official
    cache = tmp_path / "pretrained"
    seen = []
    with serve_directory(archive.parent) as server:
        model = M.build_model("a0", "base", num_classes=9, frames=4, resolution=64, pretrained="auto",
                              cache_dir=cache, base_url=server.url(""), freeze_backbone=True,
                              progress=lambda done, total, text: seen.append((done, total)))
        assert server.requests == ["/movinet_a0_base.tar.gz"]
        # Fetched once: a second request for the same checkpoint uses the extracted copy.
        again = M.fetch_pretrained("a0", "base", cache_dir=cache, base_url=server.url(""))
        assert server.requests == ["/movinet_a0_base.tar.gz"]
    size = archive.stat().st_size
    assert seen[-1] == (size, size) and all(d <= size for d, _ in seen)
    assert (cache / "movinet_a0_base" / "checkpoint").is_file()
    assert again.startswith(str(cache / "movinet_a0_base"))
    assert not list(cache.glob("*.part"))

    # Every backbone weight is the checkpoint's ...
    # (by name: freezing reorders `variables`, trainable ones first)
    restored = {v.name: v.numpy() for v in model.backbone.variables}
    expected = {v.name: v.numpy() for v in src.backbone.variables}
    assert len(restored) == len(expected) == 330 and restored.keys() == expected.keys()
    assert all(np.array_equal(restored[k], expected[k]) for k in expected)
    # ... checked against the checkpoint file itself for one of them.
    reader = tf.train.load_checkpoint(prefix)
    key = "model/layer_with_weights-0/layer_with_weights-0/_stem/_conv/kernel/.ATTRIBUTES/VARIABLE_VALUE"
    stem_kernel = [v for v in model.backbone.variables if v.name.startswith("stem/") and "kernel" in v.name][0]
    np.testing.assert_array_equal(stem_kernel.numpy(), reader.get_tensor(key))
    # The head is new, with 9 classes; the backbone is frozen.
    assert model.output_shape == (None, 9)
    assert model.layers[-1].weights[-1].shape == (9,)
    assert not model.backbone.trainable
    trainable = {v.name.split("/")[0] for v in model.trainable_variables}
    assert trainable and all(n.startswith("classifier_head") for n in trainable)


def test_local_directory_and_archive_are_accepted(tmp_path, official):
    src, archive, prefix = official
    ckpt_dir = os.path.dirname(prefix)
    assert M.resolve_checkpoint(ckpt_dir, "a0", "base") == prefix
    assert M.resolve_checkpoint(prefix, "a0", "base") == prefix
    from_archive = M.resolve_checkpoint(str(archive), "a0", "base", cache_dir=tmp_path)
    assert os.path.basename(os.path.dirname(from_archive)).startswith("local-movinet_a0_base-")
    assert from_archive.startswith(str(tmp_path)) and from_archive.endswith("/ckpt-1")
    with pytest.raises(M.ModelError, match="does not exist"):
        M.resolve_checkpoint(tmp_path / "nowhere", "a0", "base")
    (tmp_path / "empty").mkdir()
    with pytest.raises(M.ModelError, match="no TensorFlow checkpoint"):
        M.resolve_checkpoint(tmp_path / "empty", "a0", "base")


def test_checkpoint_of_another_variant_is_refused(official):
    """An a0 *base* checkpoint for an a0 *stream* model: most variables get nothing."""
    _, _, prefix = official
    with pytest.raises(M.ModelError, match=r"leaves \d+ of \d+ variables without a value"):
        M.build_model("a0", "stream", num_classes=9, frames=2, resolution=32, pretrained=prefix)


def test_checkpoint_of_another_model_id_is_refused(official):
    """The a0 checkpoint for an a1 model: same layer names, other shapes."""
    _, _, prefix = official
    with pytest.raises(M.ModelError, match="does not fit this model"):
        M.build_model("a1", "base", num_classes=9, frames=2, resolution=32, pretrained=prefix)


def test_unrelated_checkpoint_matches_nothing(tmp_path):
    module = tf.Module()
    module.w = tf.Variable(tf.ones([3]))
    prefix = tf.train.Checkpoint(model=module).save(str(tmp_path / "unrelated" / "ckpt"))
    model = tiny_model("a0", "base")
    before = _values(model.variables)
    with pytest.raises(M.ModelError, match="matches none of the model's"):
        M.restore_weights(model, prefix)
    assert all(np.array_equal(a, b) for a, b in zip(before, _values(model.variables)))


def test_interrupted_download_resumes_with_range(tmp_path, official):
    _, archive, _ = official
    size = archive.stat().st_size
    cut = size // 3
    with serve_ranges(archive.parent, cut_after=cut) as server:
        prefix = M.fetch_pretrained("a0", "base", cache_dir=tmp_path, base_url=server.base)
    assert [s.range for s in server.seen] == [None, f"bytes={cut}-"]
    assert prefix.endswith("movinet_a0_base/ckpt-1")
    assert tf.train.load_checkpoint(prefix) is not None


def test_partial_file_from_earlier_run_is_resumed(tmp_path, official):
    _, archive, _ = official
    data = archive.read_bytes()
    (tmp_path / "movinet_a0_base.tar.gz.part").write_bytes(data[: len(data) // 2])
    got = []
    with serve_ranges(archive.parent) as server:
        M.fetch_pretrained("a0", "base", cache_dir=tmp_path, base_url=server.base,
                           progress=lambda d, t, text: got.append((d, t)))
    assert [s.range for s in server.seen] == [f"bytes={len(data) // 2}-"]
    assert got[0] == (len(data) // 2, len(data)) and got[-1] == (len(data), len(data))


def test_stale_partial_file_is_replaced(tmp_path, official):
    """Bytes kept from another file: the resumed archive fails verification, so the download
    starts over once, from scratch."""
    _, archive, _ = official
    (tmp_path / "movinet_a0_base.tar.gz.part").write_bytes(b"x" * 1000)
    with serve_ranges(archive.parent) as server:
        prefix = M.fetch_pretrained("a0", "base", cache_dir=tmp_path, base_url=server.base)
    assert [s.range for s in server.seen] == ["bytes=1000-", None]
    assert tf.train.load_checkpoint(prefix) is not None


def test_server_without_range_support_restarts_cleanly(tmp_path, official):
    _, archive, _ = official
    (tmp_path / "movinet_a0_base.tar.gz.part").write_bytes(b"stale bytes from somewhere else")
    with serve_directory(archive.parent) as server:  # ignores Range: answers 200 + whole file
        prefix = M.fetch_pretrained("a0", "base", cache_dir=tmp_path, base_url=server.url(""))
    assert tf.train.load_checkpoint(prefix) is not None


def test_corrupt_or_missing_archive_is_a_clear_error(tmp_path, official):
    _, archive, _ = official
    serve = tmp_path / "serve"
    serve.mkdir()
    data = archive.read_bytes()
    (serve / "movinet_a0_base.tar.gz").write_bytes(data[: len(data) // 2])  # truncated
    (serve / "movinet_a1_base.tar.gz").write_bytes(b"<html>not an archive</html>")
    notckpt = serve / "movinet_a2_base.tar.gz"
    with tarfile.open(notckpt, "w:gz") as tar:
        (tmp_path / "readme.txt").write_text("hello")
        tar.add(tmp_path / "readme.txt", arcname="movinet_a2_base/readme.txt")
    cache = tmp_path / "cache"
    with serve_directory(serve) as server:
        base = server.url("")
        with pytest.raises(M.ModelError, match="not a valid checkpoint archive"):
            M.fetch_pretrained("a0", "base", cache_dir=cache, base_url=base)
        with pytest.raises(M.ModelError, match="not a valid checkpoint archive"):
            M.fetch_pretrained("a1", "base", cache_dir=cache, base_url=base)
        with pytest.raises(M.ModelError, match="no TensorFlow checkpoint"):
            M.fetch_pretrained("a2", "base", cache_dir=cache, base_url=base)
        with pytest.raises(M.ModelError, match="HTTP 404"):
            M.fetch_pretrained("a3", "base", cache_dir=cache, base_url=base)
        with pytest.raises(M.ModelError, match="SHA-256 mismatch"):
            M.fetch_pretrained("a0", "base", cache_dir=tmp_path / "c2", base_url=base, sha256="0" * 64)
    assert not list(cache.glob("*.part")) and not (cache / "movinet_a0_base").exists()


def test_unreachable_server_is_a_clear_error(tmp_path):
    import socket
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(M.ModelError, match="offline\\? give a local checkpoint"):
        M.fetch_pretrained("a0", "base", cache_dir=tmp_path, base_url=f"http://127.0.0.1:{port}")


# ----------------------------------------------------------------------------------------------
# Stream form
# ----------------------------------------------------------------------------------------------

def test_frame_by_frame_equals_whole_clip():
    model = tiny_model("a0", "stream")
    stream = tiny_stream("a0")
    # Weights are matched by place, not list order (freezing reorders model.weights).
    model.backbone.trainable = False
    try:
        M.copy_weights(model, stream)
    finally:
        model.backbone.trainable = True
    clip = np.random.default_rng(3).random((8, 64, 64, 3), dtype=np.float32)
    whole = model(clip[None], training=False).numpy()[0]
    last, per_frame = M.stream_predict(stream, clip, return_all=True)
    assert per_frame.shape == (8, 9)
    np.testing.assert_allclose(last, whole, atol=1e-5, rtol=0)
    assert np.abs(per_frame[0] - whole).max() > 1e-3  # the states really carry information
    with pytest.raises(M.ModelError, match="to_stream"):
        M.stream_predict(model, clip)


def test_base_model_has_no_stream_form():
    with pytest.raises(M.ModelError, match="base model"):
        M.to_stream(tiny_model("a0", "base"))


# ----------------------------------------------------------------------------------------------
# Export / load
# ----------------------------------------------------------------------------------------------

def test_export_and_load_round_trip(tmp_path):
    model = tiny_model("a0", "base")
    labels = [f"m{i}" for i in range(9)]
    out = M.export_model(model, tmp_path / "exported", labels, frames=4, resolution=64, crop=(0, 0, 10, 10),
                         focus="motion")
    assert json.loads((out / "labels.json").read_text()) == labels
    assert json.loads((out / "preprocessing.json").read_text()) == {"frames": 4, "resolution": 64,
                                                                     "crop": [0, 0, 10, 10], "focus": "motion"}
    assert M.load_model(out).focus == "motion"
    assert json.loads((out / "model.json").read_text())["model_id"] == "a0"
    loaded = M.load_model(out)
    assert (loaded.frames, loaded.resolution, loaded.labels) == (4, 64, labels)
    assert all(np.array_equal(a, b) for a, b in zip(_values(model.weights), _values(loaded.model.weights)))
    assert loaded.predictor("fast") is fast_model(loaded.model)
    clip = np.random.default_rng(4).random((1, 4, 64, 64, 3), dtype=np.float32)
    want = fast_model(model).logits(clip)
    served = tf.saved_model.load(str(out / "saved_model")).signatures["serving_default"](image=tf.constant(clip))
    np.testing.assert_allclose(served["logits"].numpy(), want, atol=1e-5, rtol=0)
    np.testing.assert_allclose(served["probabilities"].numpy(), tf.nn.softmax(want).numpy(), atol=1e-6)


def test_load_refuses_incomplete_folder(tmp_path):
    with pytest.raises(M.ModelError, match="not an exported model folder"):
        M.load_model(tmp_path)
