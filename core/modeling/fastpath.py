"""Fast, exact CPU inference for MoViNet models (base and stream).

Why: TensorFlow's CPU kernels for the 3D convolutions MoViNet uses are slow. The Model Garden's
`Conv3D` layer compiles every call with XLA (`jit_compile=True`), and XLA's CPU code for a
*grouped* (depthwise) 3D convolution is one to two orders of magnitude slower than the
equivalent 2D depthwise convolution. An A2-Base on a 10-frame 224x224 clip takes ~7-20 s on two
cores this way; the fast form takes ~0.12-0.2 s (bench/predict.py).

How: the same function, computed with fast 2D ops. A 3D convolution with kernel kt x kh x kw
equals the sum over its kt temporal taps of 2D convolutions applied to the frames (reshaped to
[B*T, H, W, C]), each tap seeing the clip shifted in time:

    y[t] = sum_dt conv2d(x_padded[t*st + dt], W[dt])

with the layer's own temporal padding ('same': centred; 'causal': past only; buffered causal:
none, the stream buffer already holds the past) and the spatial padding that TensorFlow's
'SAME' rule gives (which is also what the causal layers compute). A depthwise kernel
(groups == channels) becomes `tf.nn.depthwise_conv2d`, a full kernel `tf.nn.conv2d`, and a
1x1x1 kernel a plain matrix multiply. For one clip the frames are laid out on the outer axis,
so each tap's window of frames is a slice TensorFlow hands out without a copy.

Around those convolutions, algebra that leaves the function unchanged, applied only where it
holds in the call being traced (batch norms folded only when they normalise with their moving
statistics: at inference, or frozen; never while training with batch statistics, so
`fast_ops()` is also safe around training steps, as core.modeling.train uses it):
- conv -> batch norm -> activation (`ConvBlock`, `StreamConvBlock`): the batch norm's moving
  statistics are folded into the kernel and bias (bn(conv(x, W)) == conv(x, W*s) + b'), and
  bias + activation run on the 2D-shaped result, where oneDNN fuses them into the conv;
- in the base models' blocks (`MobileBottleneck`), the squeeze-excite gate g (one value per
  clip and channel) and the ReZero scale r are folded into the pointwise projection:
  (x * g) @ W * r == x @ (g * W * r), which saves a pass over the block's widest tensor;
- `AveragePooling3D` with a 1 x k x k window (the skip branch) becomes a 2D average pool over
  the frames (same treatment of padded cells); the (2+1)D stream models' temporal depthwise
  conv (a kt x 1 `DepthwiseConv2D` over [B, T, H*W, C]) becomes kt shifted products.
Everything else (squeeze-excite pooling, stream buffers, causal cumulative pooling, positional
encodings, the classifier head's structure) runs through the Model Garden's own layer code, with
the model's own variables: folded weights are computed from them inside the graph, on every call.

The rewrite is applied while tracing: `fast_model(model)` traces the *same* Keras model (same
variables; no copy) into a `tf.function` concrete function with a fixed input signature while
those layers' `call` methods are temporarily replaced (`fast_ops()`); the patch is undone as
soon as the trace is done, so the reference model and training are untouched. A concrete
function never retraces, so the fast graph stays fast. Any layer whose configuration does not
fit a rewrite (dynamic shapes, dilation, other group counts, custom norms) runs unchanged.

Exactness: the same function in a different float32 summation order; the tests require
max |p_fast - p_ref| <= 1e-4 on clips of real videos for a0 and a2, base and stream (observed
differences are ~1e-6), and each rewritten op is tested against the layer it replaces.

Public API: `fast_model(model)`, `reference_model(model)`, `predictor(model, path='auto')`;
each returns a callable mapping a clip [T, H, W, 3] (or a batch [B, T, H, W, 3]) of float32 RGB
in [0, 1] to class probabilities.
"""
from __future__ import annotations

import contextlib
import os
import threading
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402
from official.projects.movinet.modeling import movinet_layers  # noqa: E402
from official.vision.modeling.layers import nn_layers  # noqa: E402
from core.media.video import clip_batch  # noqa: E402

__all__ = ["fast_model", "reference_model", "predictor", "FastMovinet", "fast_ops",
           "randomize_weights"]

_PATCH_LOCK = threading.RLock()


# ----------------------------------------------------------------------------------------------
# The rewritten ops
# ----------------------------------------------------------------------------------------------

def _same_pads(size: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow's 'SAME' padding (before, after) along one dimension."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def _static_dims(x: tf.Tensor) -> list | None:
    dims = x.shape.as_list()
    if len(dims) != 5 or any(d is None for d in dims[1:]):
        return None
    return dims


def _conv3d_lowrank(layer, inputs: tf.Tensor, kernel: tf.Tensor | None = None):
    """The Conv3D `layer` applied to `inputs` as per-tap 2D ops, *before* bias and activation.

    Returns (y, shape5): y is [B*T', H', W', F] (or [B*T'*H'*W', F] for a 1x1x1 kernel) and
    shape5 the 5D output shape [B, T', H', W', F]; None when the rewrite does not apply
    (dynamic shapes, dilation, channels_first, grouped convs other than depthwise).
    `kernel` replaces the layer's kernel (same shape; used to fold a batch norm in).
    """
    dims = _static_dims(inputs)
    if (dims is None or layer.data_format != "channels_last"
            or tuple(layer.dilation_rate) != (1, 1, 1)):
        return None
    batch, t_in, h_in, w_in, c_in = dims
    kt, kh, kw = layer.kernel_size
    st, sh, sw = layer.strides
    groups, filters = layer.groups, layer.filters
    depthwise = groups > 1
    if depthwise and not (groups == c_in == filters):
        return None  # grouped convs other than depthwise with multiplier 1: not used by MoViNet

    # Temporal padding, exactly as the layer pads.
    padding = layer.padding
    if padding == "causal":
        buffered = bool(getattr(layer, "_use_buffered_input", False))
        t_pad = (0, 0) if buffered else (kt - 1, 0)
        spatial = "SAME"  # CausalConvMixin pads space with the 'SAME' rule (see module doc)
    elif padding == "same":
        t_pad = _same_pads(t_in, kt, st)
        spatial = "SAME"
    elif padding == "valid":
        t_pad = (0, 0)
        spatial = "VALID"
    else:
        return None
    t_padded = t_in + t_pad[0] + t_pad[1]
    t_out = (t_padded - kt) // st + 1
    if t_out <= 0:
        return None
    if spatial == "SAME":
        h_out, w_out = -(-h_in // sh), -(-w_in // sw)
    else:
        h_out, w_out = (h_in - kh) // sh + 1, (w_in - kw) // sw + 1
    b = tf.shape(inputs)[0] if batch is None else batch

    # One clip (the prediction case): frames on the outer axis, so each tap's window of frames
    # is a slice along dimension 0, which TensorFlow hands out without copying.
    time_major = batch == 1
    x = tf.reshape(inputs, [t_in, h_in, w_in, c_in]) if time_major else inputs
    if t_pad != (0, 0):
        axis = 0 if time_major else 1
        lead = [] if time_major else [b]
        parts = [tf.zeros(lead + [t_pad[0], h_in, w_in, c_in], x.dtype)] if t_pad[0] else []
        parts.append(x)
        if t_pad[1]:
            parts.append(tf.zeros(lead + [t_pad[1], h_in, w_in, c_in], x.dtype))
        x = tf.concat(parts, axis=axis)

    def frames(dt):
        whole = dt == 0 and t_padded == t_out and st == 1
        if time_major:
            return x if whole else x[dt: dt + (t_out - 1) * st + 1: st]
        xs = x if whole else x[:, dt: dt + (t_out - 1) * st + 1: st]
        return tf.reshape(xs, [-1, h_in, w_in, c_in])

    kernel = tf.convert_to_tensor(layer.kernel) if kernel is None else kernel
    pointwise = kh == kw == 1 and sh == sw == 1 and not depthwise
    taps = []
    for dt in range(kt):
        xf = frames(dt)
        k2 = kernel[dt]  # [kh, kw, c_in / groups, filters]
        if depthwise:
            y = tf.nn.depthwise_conv2d(xf, tf.reshape(k2, [kh, kw, c_in, 1]),
                                       strides=[1, sh, sw, 1], padding=spatial)
        elif pointwise:
            y = tf.matmul(tf.reshape(xf, [-1, c_in]), tf.reshape(k2, [c_in, filters]))
        else:
            y = tf.nn.conv2d(xf, k2, strides=[1, sh, sw, 1], padding=spatial)
        taps.append(y)
    y = taps[0] if len(taps) == 1 else tf.add_n(taps)
    return y, [b, t_out, h_out, w_out, filters]


def _fast_conv3d(layer, inputs: tf.Tensor) -> tf.Tensor | None:
    """The layer's Conv3D (bias and activation included) with 2D ops; None when not applicable."""
    got = _conv3d_lowrank(layer, inputs)
    if got is None:
        return None
    y, shape5 = got
    if layer.use_bias:
        y = tf.nn.bias_add(y, layer.bias)
    if not _is_linear(layer.activation):
        y = layer.activation(y)
    return tf.reshape(y, shape5)


def _training_now():
    """The training flag of the Keras call in progress: True, False, or None when unknown
    (a symbolic tensor). Keras resolves a layer's `training` the same way."""
    try:
        from tf_keras.src.engine import base_layer_utils
        t = base_layer_utils.call_context().training
    except Exception:  # pragma: no cover - private API moved: assume the worst
        return None
    if t is None:
        t = tf_keras.backend.learning_phase()
    if isinstance(t, (bool, int, np.bool_, np.integer)):
        return bool(t)
    value = tf.get_static_value(t)
    return None if value is None else bool(value)


def _bn_inference(bn) -> bool:
    """True when `bn` normalises with its moving statistics in the call in progress (so it can
    be folded): a frozen batch norm always does, a trainable one when not training."""
    return (not bn.trainable) or _training_now() is False


def _is_linear(act) -> bool:
    return act is None or act is tf_keras.activations.linear or getattr(act, "__name__", "") == "linear"


def _plain_batch_norm(bn) -> bool:
    axis = bn.axis if isinstance(bn.axis, (list, tuple)) else [bn.axis]
    return (isinstance(bn, tf_keras.layers.BatchNormalization) and list(axis) in ([-1], [4])
            and not bn.renorm and bn.virtual_batch_size is None and bn.adjustment is None)


def _conv_bn_act(conv, bn, act, x: tf.Tensor) -> tf.Tensor | None:
    """conv -> batch norm (inference) -> activation, the norm folded into the conv's weights
    and bias, bias and activation applied on the 2D-shaped result (where oneDNN fuses them)."""
    if not isinstance(conv, nn_layers.Conv3D) or (
            bn is not None and not (_plain_batch_norm(bn) and _bn_inference(bn))):
        return None  # e.g. training: the batch norm uses batch statistics, leave it be
    kernel = tf.convert_to_tensor(conv.kernel)
    bias = tf.convert_to_tensor(conv.bias) if conv.use_bias else None
    if bn is not None:
        scale, bias = _fold_bn(bn, bias)
        kernel = kernel * scale  # [kt, kh, kw, in/groups, filters]: output channels last
    got = _conv3d_lowrank(conv, x, kernel)
    if got is None:
        return None
    y, shape5 = got
    if bias is not None:
        y = tf.nn.bias_add(y, bias)
    if not _is_linear(conv.activation):
        y = conv.activation(y)
    if act is not None:
        y = act(y)
    return tf.reshape(y, shape5)


def _fast_conv_block(block, inputs, states=None, stream: bool = False):
    """ConvBlock / StreamConvBlock.call with the conv+BN+activation stages fused; None when a
    stage does not qualify (then the layer's own code runs, with the Conv3D rewrite)."""
    if block._conv_type == "2plus1d" or not isinstance(block._conv, nn_layers.Conv3D):
        return None
    if block._conv_temporal is not None and not isinstance(block._conv_temporal, nn_layers.Conv3D):
        return None
    for bn in (block._batch_norm, block._batch_norm_temporal):
        if bn is not None and not (_plain_batch_norm(bn) and _bn_inference(bn)):
            return None
    states = dict(states) if states is not None else {}
    buffer = block._stream_buffer if stream else None
    x = inputs
    if block._conv_temporal is None and buffer is not None:
        x, states = buffer(x, states=states)
    x = _conv_bn_act(block._conv, block._batch_norm, block._activation_layer, x)
    if x is None:
        return None
    if block._conv_temporal is not None:
        if buffer is not None:
            x, states = buffer(x, states=states)
        x = _conv_bn_act(block._conv_temporal, block._batch_norm_temporal, block._activation_layer, x)
        if x is None:
            return None
    return (x, states) if stream else x


def _fast_temporal_depthwise(layer, inputs: tf.Tensor) -> tf.Tensor | None:
    """A (kt x 1) depthwise Conv2D over [B, T, H*W, C] (the (2+1)D stream models' temporal conv)
    as kt shifted element-wise products; None when not applicable."""
    dims = inputs.shape.as_list()
    if (len(dims) != 4 or any(d is None for d in dims[1:]) or layer.data_format != "channels_last"
            or tuple(layer.dilation_rate) != (1, 1) or tuple(layer.strides) != (1, 1)
            or layer.depth_multiplier != 1 or layer.kernel_size[1] != 1):
        return None
    kt = layer.kernel_size[0]
    _, t_in, hw, c = dims
    if getattr(layer, "_is_causal", False):
        buffered = bool(getattr(layer, "_use_buffered_input", False))
        t_pad = (0, 0) if buffered else (kt - 1, 0)
    elif layer.padding == "same":
        t_pad = _same_pads(t_in, kt, 1)
    elif layer.padding == "valid":
        t_pad = (0, 0)
    else:
        return None
    x = inputs
    b = tf.shape(x)[0]
    if t_pad != (0, 0):
        parts = [tf.zeros([b, t_pad[0], hw, c], x.dtype)] if t_pad[0] else []
        parts.append(x)
        if t_pad[1]:
            parts.append(tf.zeros([b, t_pad[1], hw, c], x.dtype))
        x = tf.concat(parts, axis=1)
    t_out = t_in + t_pad[0] + t_pad[1] - kt + 1
    if t_out <= 0:
        return None
    kernel = tf.reshape(tf.convert_to_tensor(layer.depthwise_kernel), [kt, c])
    terms = [x[:, dt: dt + t_out] * kernel[dt] for dt in range(kt)]
    y = terms[0] if kt == 1 else tf.add_n(terms)
    if layer.use_bias:
        y = tf.nn.bias_add(y, layer.bias)
    if layer.activation is not None:
        y = layer.activation(y)
    return y


def _fold_bn(bn, bias=None):
    """(scale, shift) with bn(z) == z * scale + shift in inference, `bias` folded in too."""
    scale = tf.math.rsqrt(bn.moving_variance + bn.epsilon)
    if bn.scale:
        scale = scale * bn.gamma
    shift = -bn.moving_mean * scale
    if bn.center:
        shift = shift + bn.beta
    if bias is not None:
        shift = shift + bias * scale
    return scale, shift


def _fast_bottleneck(block, inputs, states=None):
    """MobileBottleneck.call for base models with the squeeze-excite gate and the ReZero scale
    folded into the pointwise projection's weights (x*g @ W == x @ (g*W)): one pass less over
    the block's widest tensor. None when the block does not have that form."""
    se, proj = block._attention_layer, block._projection_layer
    dims = _static_dims(inputs)
    if (dims is None or not isinstance(se, movinet_layers.StreamSqueezeExcitation)
            or se._se_type != "3d" or se._causal or se._pos_encoding is not None
            or not isinstance(proj, movinet_layers.ConvBlock) or proj._conv_type == "2plus1d"
            or proj._conv_temporal is not None or proj._activation_layer is not None
            or not isinstance(getattr(proj, "_conv", None), nn_layers.Conv3D)):
        return None
    conv = proj._conv
    bn = proj._batch_norm
    if (tuple(conv.kernel_size) != (1, 1, 1) or tuple(conv.strides) != (1, 1, 1) or conv.groups != 1
            or not _is_linear(conv.activation)
            or (bn is not None and not (_plain_batch_norm(bn) and _bn_inference(bn)))
            or (block._stochastic_depth is not None and _training_now() is not False)):
        return None  # training with batch statistics or stochastic depth: the layer's own code
    states = dict(states) if states is not None else {}
    x = block._expansion_layer(inputs)
    x, states = block._feature_layer(x, states=states)
    # The gate, computed by the layer's own sublayers: [B, 1, 1, 1, C].
    g, states = se._spatiotemporal_pool(x, states=states, output_states=True)
    g = se._se_expand(se._se_reduce(g))
    b, t, h, w, c = x.shape.as_list()
    kernel = tf.reshape(tf.convert_to_tensor(conv.kernel), [c, conv.filters])
    bias = tf.convert_to_tensor(conv.bias) if conv.use_bias else None
    if proj._batch_norm is not None:
        scale, bias = _fold_bn(proj._batch_norm, bias)
        kernel = kernel * scale
    rezero = tf.cast(block._rezero._scale, x.dtype)
    kernel = kernel * rezero
    if bias is not None:
        bias = bias * rezero
    gate = tf.reshape(g, [-1, c, 1])  # per clip and channel
    batch = b if b is not None else tf.shape(x)[0]
    if b == 1:
        y = tf.matmul(tf.reshape(x, [-1, c]), kernel * gate[0])
    else:
        y = tf.matmul(tf.reshape(x, [batch, -1, c]), kernel[None] * gate)
    if bias is not None:
        y = tf.nn.bias_add(y, bias)
    y = tf.reshape(y, [batch, t, h, w, conv.filters])
    # (stochastic depth, if any, is the identity here: not training)
    skip = block._skip_layer(inputs) if block._skip_layer is not None else inputs
    return y + skip, states


_ORIG_BOTTLENECK_CALL = movinet_layers.MobileBottleneck.call
_ORIG_CONVBLOCK_CALL = movinet_layers.ConvBlock.call
_ORIG_STREAMCONVBLOCK_CALL = movinet_layers.StreamConvBlock.call
_ORIG_CONV3D_CALL = nn_layers.Conv3D.call
_ORIG_AVGPOOL3D_CALL = tf_keras.layers.AveragePooling3D.call
_ORIG_DWCONV2D_CALL = nn_layers.DepthwiseConv2D.call


def _bottleneck_call(self, inputs, states=None):
    out = _fast_bottleneck(self, inputs, states)
    return _ORIG_BOTTLENECK_CALL(self, inputs, states=states) if out is None else out


def _convblock_call(self, inputs):
    y = _fast_conv_block(self, inputs)
    return _ORIG_CONVBLOCK_CALL(self, inputs) if y is None else y


def _streamconvblock_call(self, inputs, states=None):
    out = _fast_conv_block(self, inputs, states, stream=True)
    return _ORIG_STREAMCONVBLOCK_CALL(self, inputs, states=states) if out is None else out


def _dwconv2d_call(self, inputs):
    y = _fast_temporal_depthwise(self, inputs)
    return _ORIG_DWCONV2D_CALL(self, inputs) if y is None else y


def _conv3d_call(self, inputs):
    y = _fast_conv3d(self, inputs)
    return _ORIG_CONV3D_CALL(self, inputs) if y is None else y


def _avgpool3d_call(self, inputs):
    dims = _static_dims(inputs)
    if (dims is None or self.data_format != "channels_last" or self.pool_size[0] != 1
            or self.strides[0] != 1):
        return _ORIG_AVGPOOL3D_CALL(self, inputs)
    _, t, h, w, c = dims
    x = tf.reshape(inputs, [-1, h, w, c])
    y = tf.nn.avg_pool2d(x, ksize=[1, *self.pool_size[1:], 1], strides=[1, *self.strides[1:], 1],
                         padding=self.padding.upper())
    return tf.reshape(y, [tf.shape(inputs)[0], t, y.shape[1], y.shape[2], c])


@contextlib.contextmanager
def _no_autograph():
    """Trace Keras layers without AutoGraph conversion (MoViNet's layers have no tensor-dependent
    Python control flow): tracing is about twice as fast."""
    try:
        from tensorflow.python.autograph.core import ag_ctx
        ctx = ag_ctx.ControlStatusCtx(status=ag_ctx.Status.DISABLED)
    except Exception:  # pragma: no cover - private API moved
        ctx = contextlib.nullcontext()
    with ctx:
        yield


@contextlib.contextmanager
def fast_ops():
    """While active, MoViNet's Conv3D and AveragePooling3D layers compute with 2D ops.

    Only meant to be held while tracing a tf.function (see `fast_model`); the traced graph keeps
    the fast ops after the context exits.
    """
    with _PATCH_LOCK:
        nn_layers.Conv3D.call = _conv3d_call
        tf_keras.layers.AveragePooling3D.call = _avgpool3d_call
        nn_layers.DepthwiseConv2D.call = _dwconv2d_call
        movinet_layers.ConvBlock.call = _convblock_call
        movinet_layers.MobileBottleneck.call = _bottleneck_call
        movinet_layers.StreamConvBlock.call = _streamconvblock_call
        try:
            yield
        finally:
            nn_layers.Conv3D.call = _ORIG_CONV3D_CALL
            tf_keras.layers.AveragePooling3D.call = _ORIG_AVGPOOL3D_CALL
            nn_layers.DepthwiseConv2D.call = _ORIG_DWCONV2D_CALL
            movinet_layers.ConvBlock.call = _ORIG_CONVBLOCK_CALL
            movinet_layers.MobileBottleneck.call = _ORIG_BOTTLENECK_CALL
            movinet_layers.StreamConvBlock.call = _ORIG_STREAMCONVBLOCK_CALL


# ----------------------------------------------------------------------------------------------
# Callables
# ----------------------------------------------------------------------------------------------

def _state_specs(model, input_shape) -> dict | None:
    backbone = getattr(model, "backbone", None)
    if backbone is None or not getattr(backbone, "use_external_states", False):
        return None
    specs = backbone.initial_state_specs(input_shape)
    return {name: tf.TensorSpec(spec.shape, spec.dtype, name=name) for name, spec in specs.items()}


class FastMovinet:
    """A MoViNet classifier as a callable: clip(s) -> class probabilities (numpy).

    `fast=True` traces with the 2D rewrite (`fast_ops`), `fast=False` is the reference (the
    model exactly as built, inside a tf.function). One concrete function per input shape, traced
    on first use. Models built with external states (stream inference models) are run from
    zero states over the whole clip; `step()` runs one chunk carrying the states.
    """

    def __init__(self, model: tf_keras.Model, fast: bool = True):
        self.model = model
        self.fast = fast
        self._fns: dict = {}

    @property
    def stateful(self) -> bool:
        backbone = getattr(self.model, "backbone", None)
        return bool(backbone is not None and getattr(backbone, "use_external_states", False))

    def _concrete(self, shape: tuple):
        fn = self._fns.get(shape)
        if fn is not None:
            return fn
        model = self.model
        image_spec = tf.TensorSpec(shape, tf.float32, name="image")
        state_specs = _state_specs(model, shape)
        if state_specs is None:
            def run(image):
                out = model(image, training=False)
                if isinstance(out, (tuple, list)):
                    out = out[0]
                return out
            signature = (image_spec,)
        else:
            def run(image, states):
                out = model({**states, "image": image}, training=False)
                logits, new_states = out
                return logits, new_states
            signature = (image_spec, state_specs)
        with _PATCH_LOCK, (fast_ops() if self.fast else contextlib.nullcontext()), _no_autograph():
            fn = tf.function(run, autograph=False).get_concrete_function(*signature)
        self._fns[shape] = fn
        return fn

    def init_states(self, shape) -> dict:
        return self.model.backbone.init_states(tf.constant(shape, tf.int32))

    def logits(self, clip) -> np.ndarray:
        x, single = clip_batch(clip)
        fn = self._concrete(tuple(x.shape))
        if self.stateful:
            logits, _ = fn(tf.constant(x), self.init_states(x.shape))
        else:
            logits = fn(tf.constant(x))
        logits = logits.numpy()
        return logits[0] if single else logits

    def step(self, frames, states: dict | None = None):
        """Stream models: run a chunk [B, t, H, W, 3] from `states` -> (logits, new states)."""
        if not self.stateful:
            raise ValueError("step() needs a stream model built with external states (to_stream)")
        x = np.asarray(frames, dtype=np.float32)
        if x.ndim == 4:
            x = x[None]
        if states is None:
            states = self.init_states(x.shape)
        fn = self._concrete(tuple(x.shape))
        logits, new_states = fn(tf.constant(x), states)
        return logits.numpy(), new_states

    def __call__(self, clip) -> np.ndarray:
        logits = self.logits(clip)
        return _softmax(logits)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def _cached(model: tf_keras.Model, fast: bool) -> FastMovinet:
    # One instance per model and path, kept on the model: traced graphs are reused by every
    # later request (tracing takes seconds; a call on a traced graph takes milliseconds).
    cache = model.__dict__.setdefault("_fastpath_forms", {})
    form = cache.get(fast)
    if form is None:
        form = cache[fast] = FastMovinet(model, fast=fast)
    return form


def fast_model(model: tf_keras.Model) -> FastMovinet:
    """The fast exact CPU form of a built MoViNet classifier: callable clip -> probabilities.

    Shares the model's variables (no copy); one graph per input shape, traced on first use and
    cached with the model.
    """
    return _cached(model, True)


def reference_model(model: tf_keras.Model) -> FastMovinet:
    """The reference form (the Model Garden ops, unchanged): callable clip -> probabilities."""
    return _cached(model, False)


def _has_gpu() -> bool:
    try:
        return bool(tf.config.list_logical_devices("GPU"))
    except Exception:  # pragma: no cover - device query failures mean "no GPU"
        return False


def predictor(model: tf_keras.Model, path: str = "auto") -> FastMovinet:
    """Pick the inference path: 'fast' (2D rewrite), 'reference', or 'auto' (fast on CPU).

    'auto' takes the fast path unless a GPU is visible, where the reference ops are fast.
    """
    if path not in ("auto", "fast", "reference"):
        raise ValueError(f"path must be 'auto', 'fast' or 'reference', got {path!r}")
    if path == "auto":
        path = "reference" if _has_gpu() else "fast"
    return fast_model(model) if path == "fast" else reference_model(model)


Predictor = Callable[[np.ndarray], np.ndarray]


def randomize_weights(model: tf_keras.Model, seed: int = 0, rezero: float = 0.5,
                      logit_scale: float = 1.0) -> tf_keras.Model:
    """Give a freshly initialised MoViNet weights under which *every* layer shapes the output.

    For exactness checks and benchmarks without trained weights: a new MoViNet's residual
    branches are multiplied by ReZero scales initialised to 0 (the blocks' convolutions then do
    not reach the output at all) and its classifier starts at stddev 0.01 (near-uniform
    probabilities). This sets the ReZero scales to U(rezero/2, rezero), batch-norm statistics
    and affine parameters to random values near identity, and scales the classifier so logits
    spread over a few units. Convolution kernels keep their random initialisation.
    """
    rng = np.random.default_rng(seed)
    for v in model.weights:
        name, shape = v.name, tuple(v.shape)
        if name.endswith("scale:0") and shape == ():  # ReZero / positional-encoding scales
            value = rng.uniform(rezero / 2, rezero, shape)
        elif "moving_mean" in name or name.endswith("beta:0"):
            value = rng.normal(0.0, 0.1, shape)
        elif "moving_variance" in name:
            value = rng.uniform(0.5, 1.5, shape)
        elif name.endswith("gamma:0"):
            value = rng.uniform(0.8, 1.2, shape)
        elif "classifier" in name and "kernel" in name and "head" in name:
            fan_in = int(np.prod(shape[:-1]))
            value = rng.normal(0.0, logit_scale / np.sqrt(fan_in), shape) if "classifier/" in name \
                else v.numpy()
        else:
            continue
        v.assign(value.astype(v.dtype.as_numpy_dtype))
    return model
