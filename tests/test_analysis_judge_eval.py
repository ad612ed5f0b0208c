"""The evaluation's judge verdicts on the true reps (a pose model's analysis)."""
import numpy as np

from core.analysis import evaluation as an_eval
from core.analysis.settings import Settings
from core.analysis.workout import Analysis


def _analysis(segments):
    return Analysis(video="v.mp4", fps=30.0, frames=200, labels=["squat", "none"], model="m",
                    segments=segments, centers=np.zeros(0), probs=np.zeros((0, 2)), timings={},
                    settings=Settings())


def test_judge_counts_the_verdicts_on_true_reps():
    truth = [{"label": "squat", "start": a, "end": a + 29} for a in (0, 30, 60, 90)]
    reps = [[0, 29], [30, 59], [62, 89], [140, 160]]  # the last lies outside every true rep
    judged = [{"start": a, "end": b, "valid": v, "reason": "" if v else "depth"}
              for (a, b), v in zip(reps, (True, False, True, False))]
    seg = {"movement": "squat", "start_frame": 0, "end_frame": 160, "confidence": 0.9, "count": 4,
           "reps": reps, "judged": judged}
    summary = an_eval.summarize([an_eval.evaluate_analysis(_analysis([seg]), truth)])
    assert summary["judge"]["matched"] == {"reps": 3, "valid": 2, "no_rep": 1, "valid_share": 2 / 3}
    assert summary["judge"]["inside"]["reps"] == 3


def test_judge_is_empty_without_verdicts():
    truth = [{"label": "squat", "start": 0, "end": 29}]
    seg = {"movement": "squat", "start_frame": 0, "end_frame": 29, "confidence": 0.9, "count": 1,
           "reps": [[0, 29]]}
    summary = an_eval.summarize([an_eval.evaluate_analysis(_analysis([seg]), truth)])
    assert summary["judge"]["matched"] == {"reps": 0, "valid": 0, "no_rep": 0, "valid_share": None}
