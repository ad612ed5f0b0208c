"""The training configuration: one dataclass (`TrainConfig`) from which the defaults, the CLI flags
(`add_arguments`), the Train page's form fields (`FORM_FIELDS`), YAML/JSON loading and validation
(`resolve_config`, `validate_config`) all come; presets are data (`PRESETS`)."""
from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from core.base.errors import ModelingError
from core.dataset.windows import DEFAULT_SCALES
from core.media.video import FOCUS_MODES

MODEL_IDS = ("a0", "a1", "a2", "a3", "a4", "a5")
VARIANTS = ("base", "stream")
OPTIMIZERS = ("rmsprop", "adam", "sgd")
SCHEDULES = ("cosine", "constant")
AUGMENTS = ("none", "flip", "flip+color", "hue", "medium", "strong")
NATIVE_RESOLUTION = {"a0": 172, "a1": 172, "a2": 224, "a3": 256, "a4": 290, "a5": 320}
FOCUS_CHOICES = tuple("none" if f is None else f for f in FOCUS_MODES)


def _meta(help: str, choices=None, flag: bool = False, form: bool = False) -> dict:
    return {"help": help, "choices": choices, "flag": flag, "form": form}


@dataclass
class TrainConfig:
    """Every training setting with its default; `flag`: a `python -m core train` option; `form`: a
    field of the Train page."""

    model: str = field(default="a0", metadata=_meta(help='MoViNet a0 (smallest) … a5 (largest)', choices=MODEL_IDS, flag=True, form=True))
    variant: str = field(default="base", metadata=_meta(help='base: 3D convolutions over the whole clip; stream: causal, can run frame by frame', choices=VARIANTS, flag=True, form=True))
    frames: int = field(default=10, metadata=_meta(help='frames sampled from each clip', flag=True, form=True))
    resolution: int | None = field(default=None, metadata=_meta(help="None: the model's native resolution", flag=True, form=True))
    crop: bool = field(default=True, metadata=_meta(help='the clips as cut (cropped to the athlete box when drawn); False: whole frames'))
    focus: str | None = field(default=None, metadata=_meta(help='"motion": each clip cropped further to the square around what moves; "athlete": to the square around the athlete\'s pose landmarks (the pose track; motion where a clip has no pose)', choices=FOCUS_CHOICES, flag=True, form=True))
    epochs: int = field(default=10, metadata=_meta(help='passes over the training clips', flag=True, form=True))
    batch_size: int = field(default=8, metadata=_meta(help='clips per optimizer step', flag=True, form=True))
    optimizer: str = field(default="rmsprop", metadata=_meta(help="rmsprop (the study's), adam or sgd", choices=OPTIMIZERS, flag=True, form=True))
    lr: float = field(default=0.01, metadata=_meta(help='peak learning rate', flag=True, form=True))
    schedule: str = field(default="cosine", metadata=_meta(help='learning-rate schedule after the warm-up', choices=SCHEDULES, flag=True, form=True))
    warmup_epochs: float = field(default=0.0, metadata=_meta(help='linear warm-up of the learning rate, in epochs', flag=True, form=True))
    label_smoothing: float = field(default=0.1, metadata=_meta(help='label smoothing of the cross-entropy loss', flag=True, form=True))
    freeze: bool = field(default=False, metadata=_meta(help='train the classifier head only (needs pretrained weights)', flag=True, form=True))
    pretrained: str | None = field(default=None, metadata=_meta(help='none (random init), auto (official Kinetics-600), model:<id> (a registered model) or a checkpoint path', flag=True, form=True))
    dropout: float = field(default=0.0, metadata=_meta(help='dropout before the classifier', flag=True, form=True))
    weight_decay: float = field(default=0.0, metadata=_meta(help="decoupled weight decay (Adam, SGD; RMSprop keeps the study's settings)"))
    bn_momentum: float | None = field(default=None, metadata=_meta(help="None: MoViNet's 0.99"))
    rezero_init: float | None = field(default=None, metadata=_meta(help="from scratch only: start the residual branches' ReZero scales here (MoViNet: 0)"))
    augment: str = field(default="flip", metadata=_meta(help='training augmentation', choices=AUGMENTS, flag=True, form=True))
    windows: int = field(default=0, metadata=_meta(help='> 0: also this many whole-workout windows per epoch, as the analyser sees them, with a "none" class for rests (core.dataset.windows); 0: rep clips only', flag=True, form=True))
    window_scales: list = field(default_factory=lambda: list(DEFAULT_SCALES), metadata=_meta(help='spans of those windows in seconds (the analyser then slides these)', flag=True, form=True))
    class_weights: str = field(default="none", metadata=_meta(help='"balanced": loss weighted by inverse class frequency', choices=("none", "balanced")))
    seed: int = field(default=0, metadata=_meta(help='random seed (data order, augmentation, initialisation)', flag=True, form=True))
    steps_per_epoch: int | None = field(default=None, metadata=_meta(help='None: every train clip once per epoch', flag=True))
    checkpoint_every_steps: int = field(default=0, metadata=_meta(help='0: checkpoints at epoch ends (and when stopped) only', flag=True))
    log_every: int = field(default=0, metadata=_meta(help='0: about 20 log lines per epoch'))
    fast_ops: str | bool = field(default="auto", metadata=_meta(help='"auto": on a CPU; true / false to force'))
    mixed_precision: str | bool = field(default="auto", metadata=_meta(help='"auto": on a GPU; true / false to force'))
    cache_jobs: int = field(default=2, metadata=_meta(help='worker processes when the cache of this setting must be built'))
    cache_quality: int = field(default=80, metadata=_meta(help="JPEG quality of the cached frames (a different one rebuilds the setting's cache)", flag=True))
    saved_model: bool = field(default=True, metadata=_meta(help='export a TF SavedModel besides the weights (False: weights + descriptions only)'))
    preset: str | None = field(default=None, metadata=_meta(help='the preset these settings started from'))

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Validated (raises TrainError); unknown keys are refused."""
        return cls(**resolve_config(config=d))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


SETTINGS = {f.name: f for f in dataclasses.fields(TrainConfig)}
DEFAULTS: dict = TrainConfig().to_dict()
FLAG_NAMES = tuple(n for n, f in SETTINGS.items() if f.metadata["flag"])
FORM_FIELDS = tuple(n for n, f in SETTINGS.items() if f.metadata["form"])

PRESETS: dict[str, dict] = {
    # From scratch on a 2-core CPU in under 20 minutes: small input, Adam with a one-epoch warm-up and cosine
    # decay, ReZero scales starting at 1 (MoViNet's 0 keeps every residual branch - and every temporal conv -
    # out of the first updates), fast batch-norm statistics, flips and brightness/contrast, dropout 0.4; a0's
    # 3D convs run through core.modeling.fastpath's 2D form (16-34x faster than the XLA path on a CPU). The motion
    # focus crops each clip to the athlete (a wide gym shot leaves the athlete ~1/10 of the frame; whole
    # frames taught the model the gyms: val ~0.5) and a JPEG quality of 95 keeps the cached clips close to
    # what prediction sees (at 80 px, quality 80 cost ~10 points of val top-1). Measured on the default demo
    # workspace (36 workouts, 24 to train on): see the issue notes and bench/train.py.
    "demo": {
        "model": "a0", "variant": "base", "frames": 8, "resolution": 80, "epochs": 20, "batch_size": 8,
        "optimizer": "adam", "lr": 0.003, "schedule": "cosine", "warmup_epochs": 1.0, "label_smoothing": 0.1,
        "freeze": False, "pretrained": None, "dropout": 0.4, "bn_momentum": 0.9, "rezero_init": 1.0,
        "augment": "flip+color", "focus": "motion", "cache_quality": 95,
    },
    # The analyser's model (Analyze page): the best demo-preset clip model of the workspace, fine-tuned on
    # whole-workout windows as the analyser slides them (2 s and 3 s, every 0.5 s) with a none class for rests
    # and set-ups, beside its clips (core.dataset.windows). Chosen on the demo's val workouts (window top-1 after 6
    # epochs: 1 s + 2 s windows 0.65, 2 s + 3 s 0.78; 10 epochs 0.81). See the issue notes and core/analyze.py.
    "analyze": {
        "model": "a0", "variant": "base", "frames": 8, "resolution": 80, "epochs": 10, "batch_size": 8,
        "optimizer": "adam", "lr": 0.001, "schedule": "cosine", "warmup_epochs": 0.5, "label_smoothing": 0.1,
        "freeze": False, "pretrained": "model:best", "dropout": 0.4, "bn_momentum": 0.9, "rezero_init": None,
        "augment": "flip+color", "focus": "motion", "cache_quality": 95, "windows": 1000, "window_scales": [2.0, 3.0],
    },
    # The original study's notebook setting (MoViNet-A2-Base fine-tuned from Kinetics-600).
    "study": {
        "model": "a2", "variant": "base", "frames": 10, "resolution": 224, "epochs": 10, "batch_size": 8,
        "optimizer": "rmsprop", "lr": 0.01, "schedule": "cosine", "warmup_epochs": 0.0, "label_smoothing": 0.1,
        "freeze": False, "pretrained": "auto", "dropout": 0.0, "bn_momentum": None, "augment": "flip",
    },
}


# The pose model (core.modeling.pose_model, run by core.modeling.pose_run): trained on synthetic motion
# only, no clips needed; `python -m core train --preset pose`. 12000 train / 3000 val samples from
# disjoint synthetic seeds, 10 epochs: about 2-3 minutes on a 2-core CPU (bench/pose_model.py).
POSE_PRESET: dict = {"n_train": 12000, "n_val": 3000, "epochs": 10, "batch_size": 128, "lr": 0.002, "seed": 0,
                     "labelled_reps": True}   # the workspace's labelled reps join the synthetic ones
PRESET_NAMES = tuple(sorted(PRESETS)) + ("pose",)


class TrainError(ModelingError, ValueError):
    """Training cannot start or go on; the message says why and what to do."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per flag setting (`--batch-size`, …), typed and with the setting's help; unset
    options are None (the preset, config file or default then decides)."""
    for name in FLAG_NAMES:
        f = SETTINGS[name]
        opt = "--" + name.replace("_", "-")
        kind = str(f.type)
        kw = {"dest": name, "help": f.metadata["help"] or None, "default": None}
        if kind == "bool":
            parser.add_argument(opt, action="store_true", **kw)
            continue
        if f.metadata["choices"]:
            kw["choices"] = list(f.metadata["choices"])
        elif kind.startswith("int"):
            kw["type"] = int
        elif kind.startswith("float"):
            kw["type"] = float
        parser.add_argument(opt, **kw)


def load_config_file(path) -> dict:
    """A YAML (.yaml/.yml) or JSON config file as a dict."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise TrainError(f"Cannot read the config file {p}: {exc}") from exc
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:
        raise TrainError(f"The config file {p} is not valid {'YAML' if p.suffix in ('.yaml', '.yml') else 'JSON'}: "
                         f"{exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TrainError(f"The config file {p} must hold a mapping of settings, not {type(data).__name__}.")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def _as_bool(value, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "on", "false", "no", "0", "off"):
        return value.strip().lower() in ("true", "yes", "1", "on")
    raise TrainError(f"{name} must be true or false, not {value!r}.")


def _tristate(value, name: str):
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    return _as_bool(value, name)


def resolve_config(preset: str | None = None, config: dict | str | os.PathLike | None = None,
                   overrides: dict | None = None, base: dict | None = None) -> dict:
    """DEFAULTS <- `base` (a stored config.json, when resuming) <- preset <- config (dict or file)
    <- overrides (flags; None values are ignored). Validated; raises TrainError."""
    cfg = copy.deepcopy(DEFAULTS)
    if base:
        cfg.update(base)
    layers: list[dict] = []
    file_cfg = load_config_file(config) if isinstance(config, (str, os.PathLike)) else dict(config or {})
    preset = (overrides or {}).get("preset") or file_cfg.get("preset") or preset
    if preset:
        if preset not in PRESETS:
            raise TrainError(f"Unknown preset {preset!r}; choose one of {', '.join(PRESETS)}.")
        layers.append({**PRESETS[preset], "preset": preset})
    layers.append(file_cfg)
    layers.append({k: v for k, v in (overrides or {}).items() if v is not None})
    for layer in layers:
        unknown = set(layer) - set(DEFAULTS)
        if unknown:
            raise TrainError(f"Unknown setting(s): {', '.join(sorted(unknown))}. Known: {', '.join(DEFAULTS)}.")
        cfg.update(layer)
    return validate_config(cfg)


def validate_config(cfg: dict) -> dict:
    cfg = dict(cfg)
    cfg["model"] = str(cfg["model"]).lower()
    if cfg["model"] not in MODEL_IDS:
        raise TrainError(f"Unknown model {cfg['model']!r}; choose one of {', '.join(MODEL_IDS)}.")
    if cfg["variant"] not in VARIANTS:
        raise TrainError(f"Unknown variant {cfg['variant']!r}; choose base or stream.")
    if cfg["resolution"] in (None, "", "native", 0):
        cfg["resolution"] = NATIVE_RESOLUTION[cfg["model"]]

    def integer(name, low, high=None):
        try:
            value = int(cfg[name])
        except (TypeError, ValueError):
            raise TrainError(f"{name} must be a whole number, not {cfg[name]!r}.") from None
        if value < low or (high is not None and value > high):
            raise TrainError(f"{name} must be between {low} and {high}." if high else f"{name} must be >= {low}.")
        cfg[name] = value

    def number(name, low, high=None, low_open=False, high_open=False):
        try:
            value = float(cfg[name])
        except (TypeError, ValueError):
            raise TrainError(f"{name} must be a number, not {cfg[name]!r}.") from None
        bad = (value <= low if low_open else value < low) or (
            high is not None and (value >= high if high_open else value > high))
        if bad or math.isnan(value):
            raise TrainError(f"{name} = {value} is out of range.")
        cfg[name] = value

    integer("frames", 1, 512)
    integer("resolution", 32, 1024)
    integer("epochs", 1)
    integer("batch_size", 1, 4096)
    integer("seed", 0)
    integer("cache_jobs", 1, 64)
    integer("cache_quality", 10, 100)
    integer("checkpoint_every_steps", 0)
    integer("log_every", 0)
    integer("windows", 0)
    try:
        scales = cfg["window_scales"]
        scales = [float(v) for v in (scales.split(",") if isinstance(scales, str) else scales)]
    except (TypeError, ValueError, AttributeError):
        raise TrainError(f"window_scales must be a list of seconds, not {cfg['window_scales']!r}.") from None
    if not scales or any(not (0.1 <= v <= 30.0) for v in scales):
        raise TrainError(f"window_scales must hold 1 or more spans between 0.1 and 30 s, not {scales}.")
    cfg["window_scales"] = scales
    if cfg["steps_per_epoch"] not in (None, "", 0):
        integer("steps_per_epoch", 1)
    else:
        cfg["steps_per_epoch"] = None
    number("lr", 0.0, low_open=True)
    number("label_smoothing", 0.0, 1.0, high_open=True)
    number("warmup_epochs", 0.0)
    number("dropout", 0.0, 1.0, high_open=True)
    number("weight_decay", 0.0, 1.0)
    if cfg["bn_momentum"] not in (None, ""):
        number("bn_momentum", 0.0, 1.0, high_open=True)
    else:
        cfg["bn_momentum"] = None
    if cfg["rezero_init"] not in (None, ""):
        number("rezero_init", 0.0, 10.0)
    else:
        cfg["rezero_init"] = None
    cfg["optimizer"] = str(cfg["optimizer"]).lower()
    if cfg["optimizer"] not in OPTIMIZERS:
        raise TrainError(f"Unknown optimizer {cfg['optimizer']!r}; choose one of {', '.join(OPTIMIZERS)}.")
    cfg["schedule"] = str(cfg["schedule"]).lower()
    if cfg["schedule"] not in SCHEDULES:
        raise TrainError(f"Unknown schedule {cfg['schedule']!r}; choose one of {', '.join(SCHEDULES)}.")
    if cfg["augment"] in (None, False, ""):
        cfg["augment"] = "none"
    if cfg["augment"] not in AUGMENTS:
        raise TrainError(f"Unknown augment {cfg['augment']!r}; choose one of {', '.join(AUGMENTS)}.")
    if cfg["class_weights"] in (None, False, ""):
        cfg["class_weights"] = "none"
    if cfg["class_weights"] not in ("none", "balanced"):
        raise TrainError("class_weights must be none or balanced.")
    cfg["freeze"] = _as_bool(cfg["freeze"], "freeze")
    cfg["crop"] = _as_bool(cfg["crop"], "crop")
    if cfg["focus"] in ("", "none", False):
        cfg["focus"] = None
    if cfg["focus"] not in FOCUS_MODES:
        raise TrainError(f"Unknown focus {cfg['focus']!r}; choose none, motion or athlete.")
    cfg["saved_model"] = _as_bool(cfg["saved_model"], "saved_model")
    cfg["fast_ops"] = _tristate(cfg["fast_ops"], "fast_ops")
    cfg["mixed_precision"] = _tristate(cfg["mixed_precision"], "mixed_precision")
    pre = cfg["pretrained"]
    if pre in (None, "", False) or (isinstance(pre, str) and pre.strip().lower() in ("none", "scratch")):
        cfg["pretrained"] = None
    elif isinstance(pre, str) and pre.strip().lower() == "auto":
        cfg["pretrained"] = "auto"
    else:
        cfg["pretrained"] = str(pre)
    if cfg["freeze"] and cfg["pretrained"] is None:
        raise TrainError("freeze needs pretrained weights (a frozen random backbone learns nothing); "
                         "set pretrained to auto or a checkpoint path.")
    return cfg
