"""core.evaluation.export: TF Lite conversions checked before they are trusted; the refusal rule; the CLI.

One tiny MoViNet-A0 (random weights, 4 frames at 32x32) exported with core.modeling.movinet.export_model
(with its SavedModel) into a workspace whose 5 real clips are all in the val split. Two real
conversions (float, dynamic-range); the int8 path and the refusal are exercised with the
conversion and the check stubbed (a unit test of the decision function covers the rule itself).
"""
from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from core.evaluation import predictions as preds
from core.inference import predictor as P  # noqa: E402
from core.cli import export as export_cli  # noqa: E402
from core.evaluation import export as X  # noqa: E402
from core.modeling import registry
from tests.predict_helpers import (  # noqa: E402
    FRAMES,
    PORTRAIT,
    RESOLUTION,
    export_tiny,
    make_clip_workspace,
)

TOL = 1e-4


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    from tests.conftest import REAL_VIDEOS

    ws = make_clip_workspace(tmp_path_factory.mktemp("exportws"), REAL_VIDEOS)
    export_tiny(ws, "tx", saved_model=True)
    return ws


@pytest.fixture(scope="module")
def float_export(ws):
    return X.export(ws, "tx", "tflite")


# ------------------------------------------------------------------------------------------------
# The decision
# ------------------------------------------------------------------------------------------------

def test_decision_rule():
    q = {"quantize": "int8", "n_val": 100, "float_top1_val": 0.80}
    assert X.decide({**q, "top1_val": 0.80})[0]
    assert X.decide({**q, "top1_val": 0.79})[0]                 # exactly 1 point: allowed
    assert X.decide({**q, "top1_val": 0.85})[0]                 # a gain is fine
    ok, why = X.decide({**q, "top1_val": 0.78})
    assert not ok and "loses 2.0 points" in why and "80.0% -> 78.0%" in why and "--force" in why
    ok, why = X.decide({**q, "top1_val": 0.78}, force=True)
    assert ok and "forced" in why
    # float conversions must also keep the numbers
    f = {"quantize": None, "n_val": 5, "float_top1_val": 0.6, "top1_val": 0.6}
    assert X.decide({**f, "max_abs_diff": 3e-7, "max_abs_diff_reference": 2e-6})[0]
    ok, why = X.decide({**f, "max_abs_diff": 3e-3})
    assert not ok and "3.00e-03" in why
    # unchecked (no val clips) is not trusted
    ok, why = X.decide({"quantize": "dynamic", "n_val": 0, "top1_val": None, "float_top1_val": None})
    assert not ok and "no val clips" in why
    assert X.decide({"quantize": "dynamic", "n_val": 0, "top1_val": None, "float_top1_val": None}, force=True)[0]


# ------------------------------------------------------------------------------------------------
# Real conversions
# ------------------------------------------------------------------------------------------------

def test_float_tflite_equals_the_reference(ws, float_export, real_videos):
    out = float_export
    m = out["metrics"]
    assert out["registered"] and out["model_id"] == "tx-tflite-float", out["reason"]
    assert m["n_val"] == 5 and m["max_abs_diff"] <= TOL and m["max_abs_diff_reference"] <= TOL
    assert m["top1_val"] == m["float_top1_val"] and m["top1_agreement"] == 1.0
    row = registry.resolve_model(ws.store(), "tx-tflite-float")
    assert row["run_id"] is None and row["path"] == "models/tx-tflite-float"
    assert row["metrics"]["format"] == "tflite" and row["metrics"]["quantize"] is None
    assert row["metrics"]["source_model"] == "tx" and row["metrics"]["top1_val"] == m["top1_val"]
    assert row["labels"] == ws.store().labels() and row["preprocessing"]["frames"] == FRAMES
    folder = ws.root / row["path"]
    assert (folder / "model.tflite").is_file() and json.loads((folder / "export.json").read_text())["registered"]
    # predicting with it: engine tflite, same numbers as the reference path
    p = P.Predictor()
    path = real_videos / PORTRAIT
    lite = p.predict_file("tx-tflite-float", path, ws=ws)
    ref = p.predict_file("tx", path, ws=ws, engine="reference")
    assert lite["engine"] == "tflite"
    assert max(abs(lite["probabilities"][k] - ref["probabilities"][k]) for k in ref["probabilities"]) <= TOL
    # the Keras model now offers its float TF Lite export as an engine
    assert P.available_engines(ws, "tx") == ["auto", "fast", "reference", "tflite"]
    assert P.available_engines(ws, "tx-tflite-float") == ["tflite"]
    via = p.predict_file("tx", path, ws=ws, engine="tflite")
    assert via["engine"] == "tflite" and via["probabilities"] == lite["probabilities"]
    with pytest.raises(P.PredictError, match="TF Lite model"):
        p.predict_file("tx-tflite-float", path, ws=ws, engine="fast")
    # a TF Lite model is not exported again
    with pytest.raises(X.ExportError, match="already a TF Lite model"):
        X.export(ws, "tx-tflite-float", "tflite")


def test_the_evaluate_page_scores_a_registered_tflite_model(ws, float_export):
    """core.evaluation.evaluate runs a TF Lite model through its interpreter: the same per-clip probabilities
    as the Keras model it came from."""
    lite = preds.predict_split(ws, "tx-tflite-float", "val", force=True)
    keras = preds.predict_split(ws, "tx", "val", force=True)
    assert lite.probs.shape == keras.probs.shape == (5, len(ws.store().labels()))
    assert np.abs(lite.probs - keras.probs).max() <= TOL


def test_dynamic_quantisation_reports_val_top1_next_to_float(ws, float_export):
    out = X.export(ws, "tx", "tflite", quantize="dynamic")
    m = out["metrics"]
    assert m["quantize"] == "dynamic" and m["n_val"] == 5
    assert m["top1_val"] is not None and m["float_top1_val"] is not None
    assert m["float_top1_val"] == float_export["metrics"]["float_top1_val"]
    assert m["top1_drop"] == pytest.approx(m["float_top1_val"] - m["top1_val"])
    assert m["size_bytes"] < float_export["metrics"]["size_bytes"] / 2     # int8 weights
    # registered exactly when it loses at most 1 point
    assert out["registered"] == (m["top1_drop"] <= 0.01)
    assert out["registered"] == any(r["id"] == "tx-tflite-dynamic" for r in registry.list_models(ws.store()))
    text = export_cli.format_report(out)
    assert f"{m['top1_val'] * 100:.1f}% TF Lite vs {m['float_top1_val'] * 100:.1f}% float model" in text


# ------------------------------------------------------------------------------------------------
# Refusal, int8 calibration data, the CLI (conversion and check stubbed)
# ------------------------------------------------------------------------------------------------

@pytest.fixture
def stubbed(ws, float_export, monkeypatch):
    """Conversion returns the float file; the check reports a 20-point loss."""
    data = (ws.root / "models" / "tx-tflite-float" / "model.tflite").read_bytes()
    calls = []

    def convert(saved_model_dir, quantize=None, representative=None):
        calls.append((quantize, representative))
        return data

    def check(ws_, model, path, quantize, reference_clips=2, progress=None):
        return {"quantize": quantize, "n_val": 5, "top1_val": 0.4, "float_top1_val": 0.6, "top1_drop": 0.2,
                "max_abs_diff": 0.3, "top1_agreement": 0.8}

    monkeypatch.setattr(X, "convert_tflite", convert)
    monkeypatch.setattr(X, "check_tflite", check)
    return calls


def test_a_quantised_model_that_loses_too_much_is_refused_unless_forced(ws, stubbed):
    with ws.store().write() as con:
        con.execute("DELETE FROM models WHERE id = 'tx-tflite-dynamic'")
    out = X.export(ws, "tx", "tflite", quantize="dynamic")
    assert not out["registered"] and out["model_id"] is None
    assert "loses 20.0 points" in out["reason"] and "60.0% -> 40.0%" in out["reason"]
    assert "tx-tflite-dynamic" not in {m["id"] for m in registry.list_models(ws.store())}
    refused = ws.root / "models" / "tx-tflite-dynamic-refused"
    assert (refused / "model.tflite").is_file()
    assert json.loads((refused / "export.json").read_text())["registered"] is False
    forced = X.export(ws, "tx", "tflite", quantize="dynamic", force=True)
    assert forced["registered"] and forced["metrics"]["forced"]
    row = registry.resolve_model(ws.store(), "tx-tflite-dynamic")
    assert row["metrics"]["top1_val"] == 0.4 and row["metrics"]["float_top1_val"] == 0.6
    assert not list((ws.root / "models").glob(".tmp-*"))


def test_cli_export_exit_codes_and_messages(ws, stubbed, capsys):
    from core.cli.main import main

    rc = main(["export", "tx", "--format", "tflite", "--quantize", "dynamic", "--workspace", str(ws.root)])
    captured = capsys.readouterr()
    assert rc == 1 and "not registered" in captured.out and "60.0% float model" in captured.out
    rc = main(["export", "tx", "--format", "tflite", "--quantize", "dynamic", "--force", "--json",
               "--workspace", str(ws.root)])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["registered"] and out["metrics"]["top1_val"] == 0.4
    # int8 calibrates on train clips: this workspace has none -> a clear error, exit 2
    rc = main(["export", "tx", "--format", "tflite", "--quantize", "int8", "--workspace", str(ws.root)])
    assert rc == 2 and "calibrates on train clips" in capsys.readouterr().err
    assert main(["export", "nope", "--format", "tflite", "--workspace", str(ws.root)]) == 2
    assert "No model or run 'nope'" in capsys.readouterr().err
    assert main(["export", "tx", "--format", "saved_model", "--quantize", "int8", "--workspace", str(ws.root)]) == 2


def test_int8_representative_data_comes_from_the_train_cache(tmp_path):
    from tests.conftest import REAL_VIDEOS

    ws2 = make_clip_workspace(tmp_path / "trainws", REAL_VIDEOS, ratios=(1.0, 0.0, 0.0))
    model = export_tiny(ws2, "t8")
    gen = X.representative_dataset(ws2, model, n=3)
    batches = list(gen())
    assert len(batches) == 3
    for (x,) in batches:
        assert x.shape == (1, FRAMES, RESOLUTION, RESOLUTION, 3) and x.dtype == np.float32
        assert 0.0 <= x.min() and x.max() <= 1.0
    assert len(list(X.representative_dataset(ws2, model)())) == 5          # all 5 train clips (< 48)
