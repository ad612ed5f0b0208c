"""The one error root. Each layer raises its own subclass; the CLI and the pages catch
`WorkbenchError` and show its message, which is written to be read by a user."""
from __future__ import annotations


class WorkbenchError(Exception):
    """A failure with a message fit to show a user; nothing already saved was lost."""


class MediaError(WorkbenchError):
    """Videos: probing, decoding, downloading, the library."""


class PoseError(WorkbenchError):
    """Pose models and pose tracks."""


class LabelingError(WorkbenchError):
    """Annotations, keymap, agreement, Supervisely import/export."""


class DatasetError(WorkbenchError):
    """Clips, splits, statistics, manifests, the training cache and windows."""


class ModelingError(WorkbenchError):
    """Training configuration, model building, runs, jobs, export, the model registry."""


class InferenceError(WorkbenchError):
    """Loading a registered model and predicting with it."""


class EvaluationError(WorkbenchError):
    """Metrics, stored predictions and figures."""


class AnalysisError(WorkbenchError):
    """Whole-workout analysis: scan, segments, reps, judging, drafts."""


class Cancelled(WorkbenchError):
    """A long operation was asked to stop; what it had finished is kept."""
