"""core.modeling.fastpath: the fast CPU form computes the same function as the reference MoViNet.

Max |p_fast - p_reference| <= 1e-4 on clips from real videos (../shared/real_videos), for a0
base and stream and a2 base; plus the rewritten ops one by one against the layers they replace
(paddings, strides, causal and buffered modes, odd and even sizes).
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402
from official.vision.modeling.layers import nn_layers  # noqa: E402

from core.modeling import fastpath  # noqa: E402
from core.modeling import movinet as M  # noqa: E402
from tests.ckpt_helpers import real_clips, tiny_model, tiny_stream  # noqa: E402

tf.get_logger().setLevel("ERROR")
TOL = 1e-4


@pytest.fixture
def clips(real_videos):
    """Two real clips, 8 frames at 112x112, float32 RGB in [0, 1]."""
    return real_clips(real_videos, frames=8, size=112)


def _check(fast, ref, clip):
    pf, pr = fast(clip), ref(clip)
    assert pf.shape == pr.shape
    diff = float(np.abs(pf - pr).max())
    assert diff <= TOL, f"max probability difference {diff:.2e} > {TOL}"
    # The probabilities are not trivially flat: the comparison has something to compare.
    assert pr.max() - pr.min() > 0.05
    return diff


def test_a0_base_fast_equals_reference_on_real_videos(clips):
    model = tiny_model("a0", "base")
    fast, ref = fastpath.fast_model(model), fastpath.reference_model(model)
    for clip in clips:
        _check(fast, ref, clip)
    np.testing.assert_allclose(fast.logits(clips[0]), ref.logits(clips[0]), atol=1e-4, rtol=0)
    batch = np.stack(clips)
    np.testing.assert_allclose(fast(batch), ref(batch), atol=TOL, rtol=0)


def test_a0_stream_fast_equals_reference_on_real_videos(clips):
    model = tiny_model("a0", "stream")          # trained form (no external states)
    stream = tiny_stream("a0")                  # frame-by-frame form, same weights
    ref = fastpath.reference_model(model)
    for clip in clips:
        _check(fastpath.fast_model(stream), ref, clip)
    # Frame by frame on the fast path, carrying states, ends where the whole clip does.
    fast = fastpath.fast_model(stream)
    states = None
    for t in range(clips[1].shape[0]):
        logits, states = fast.step(clips[1][None, t: t + 1], states)
    np.testing.assert_allclose(logits[0], ref.logits(clips[1]), atol=1e-4, rtol=0)


def test_a2_base_fast_equals_reference_on_real_videos(clips):
    model = M.build_model("a2", "base", num_classes=9, frames=8, resolution=112)
    fastpath.randomize_weights(model, seed=2)
    fast, ref = fastpath.fast_model(model), fastpath.reference_model(model)
    for clip in clips:
        _check(fast, ref, clip)


def test_predictor_picks_a_path():
    model = tiny_model("a0", "base")
    auto = fastpath.predictor(model)
    assert auto.fast == (not tf.config.list_logical_devices("GPU"))
    assert fastpath.predictor(model, "reference").fast is False
    assert fastpath.predictor(model, "fast").fast is True
    with pytest.raises(ValueError, match="path must be"):
        fastpath.predictor(model, "turbo")
    with pytest.raises(ValueError, match="expected a clip"):
        auto(np.zeros((8, 64, 64), np.float32))


def test_fast_ops_keep_training_semantics():
    """core.modeling.train traces its steps under fast_ops on a CPU. In training mode the batch norms
    normalise with batch statistics, so nothing may be folded: logits and gradients must equal
    the reference's."""
    model = M.build_model("a0", "base", num_classes=3, frames=3, resolution=32)
    fastpath.randomize_weights(model, seed=5)
    x = tf.constant(np.random.default_rng(5).random((2, 3, 32, 32, 3), dtype=np.float32))
    y = tf.constant([0, 2])
    loss_fn = tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def step(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = loss_fn(y, logits)
        return logits, tape.gradient(loss, model.trainable_variables)

    with fastpath.fast_ops():
        fast = tf.function(step).get_concrete_function(x, y)
    ref_logits, ref_grads = tf.function(step)(x, y)
    fast_logits, fast_grads = fast(x, y)
    np.testing.assert_allclose(fast_logits.numpy(), ref_logits.numpy(), atol=1e-4, rtol=1e-4)
    # a floor of 1e-5: a tiny gradient (~5e-4) read 1.7e-6 apart in one full run, float32 summation order through
    # the batch statistics; a folded batch norm would change gradients by about their own size
    for v, a, b in zip(model.trainable_variables, fast_grads, ref_grads):
        scale = float(np.abs(b.numpy()).max()) + 1e-6
        assert np.abs(a.numpy() - b.numpy()).max() <= 1e-3 * scale + 1e-5, v.name


# ----------------------------------------------------------------------------------------------
# The rewritten ops, one by one
# ----------------------------------------------------------------------------------------------

def _x(shape, seed=0):
    return tf.constant(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


@pytest.mark.parametrize("kernel,strides,padding,buffered,groups,size", [
    ((3, 3, 3), (1, 1, 1), "same", False, "dw", (5, 9, 9)),
    ((5, 3, 3), (1, 2, 2), "same", False, "dw", (6, 10, 10)),
    ((5, 3, 3), (1, 2, 2), "same", False, "dw", (6, 11, 11)),
    ((1, 5, 5), (1, 2, 2), "same", False, "dw", (4, 9, 8)),
    ((3, 3, 3), (2, 2, 2), "same", False, "dw", (7, 9, 9)),
    ((5, 3, 3), (1, 1, 1), "causal", False, "dw", (6, 9, 9)),
    ((5, 3, 3), (1, 2, 2), "causal", False, "dw", (6, 9, 9)),
    ((3, 3, 3), (1, 1, 1), "causal", True, "dw", (6, 8, 8)),   # stream buffer already holds the past
    ((1, 3, 3), (1, 2, 2), "same", False, 1, (4, 9, 9)),       # the stem: a full conv
    ((1, 1, 1), (1, 1, 1), "same", False, 1, (4, 5, 5)),       # pointwise: a matmul
    ((3, 1, 1), (1, 1, 1), "causal", False, "dw", (6, 5, 5)),  # (2+1)D temporal conv as Conv3D
    ((3, 3, 3), (1, 1, 1), "valid", False, "dw", (6, 9, 9)),
])
def test_conv3d_rewrite_matches_layer(kernel, strides, padding, buffered, groups, size):
    c = 6
    g = c if groups == "dw" else 1
    layer = nn_layers.Conv3D(c if g > 1 else 7, kernel, strides=strides, padding=padding, groups=g,
                             use_bias=True, use_buffered_input=buffered,
                             bias_initializer="random_normal")
    x = _x((2, *size, c))
    want = layer(x)
    got = fastpath._fast_conv3d(layer, x)
    assert got is not None
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=2e-5, rtol=1e-5)


@pytest.mark.parametrize("kt,causal,buffered", [(3, True, False), (5, True, True), (3, False, False)])
def test_temporal_depthwise_rewrite_matches_layer(kt, causal, buffered):
    layer = nn_layers.DepthwiseConv2D((kt, 1), padding="causal" if causal else "same",
                                      use_bias=True, use_buffered_input=buffered,
                                      bias_initializer="random_normal")
    x = _x((2, 7, 20, 5), seed=1)
    want = layer(x)
    got = fastpath._fast_temporal_depthwise(layer, x)
    assert got is not None and got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=2e-5, rtol=1e-5)


@pytest.mark.parametrize("size", [(3, 8, 8), (3, 9, 7)])
def test_avgpool_rewrite_matches_layer(size):
    layer = tf_keras.layers.AveragePooling3D((1, 3, 3), strides=(1, 2, 2), padding="same")
    x = _x((2, *size, 4), seed=2)
    want = layer(x)
    with fastpath.fast_ops():
        got = layer(x)
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-6, rtol=1e-6)
    assert tf_keras.layers.AveragePooling3D.call is not fastpath._avgpool3d_call  # patch undone
