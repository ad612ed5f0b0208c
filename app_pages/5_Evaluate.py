"""Evaluate: a registered model on a split — metrics, the study's figures, click-through to clips."""
import json
import math

import pandas as pd
import plotly.express as px
import streamlit as st

from core.evaluation import figures, metrics
from core.evaluation import predictions as preds
from core.modeling import registry
from ui.common import page, registered_models

ws = page(
    "Evaluate",
    "📊",
    "How a trained model does on clips it never trained on: accuracy with its uncertainty, which movements it "
    "confuses (choose a cell to watch those clips), how its probabilities move together, and calibration.",
)
store = ws.store()
MAX_PLAYERS = 9


def pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x * 100:.1f}%"


def model_name(m: dict) -> str:
    run = f" · run {m['run_id']}" if m.get("run_id") and m["run_id"] != m["id"] else ""
    return f"{m['id']}{run} · {len(m['labels'])} movements · {str(m['created_at'])[:16]}"


by_id = registered_models(store)

pick, pick_split = st.columns([3, 1])
model_id = pick.selectbox("Model", list(by_id), format_func=lambda i: model_name(by_id[i]), key="model")
split = pick_split.selectbox("Split", list(preds.SPLITS), index=preds.SPLITS.index("test"), key="split")
st.caption("Report **test**: the checkpoint and the settings were chosen on **val** only, so val numbers are "
           "optimistic; train numbers show how well the model fits what it saw. Splits are by source video, "
           "so no athlete's reps are on both sides.")


def predictions(mid: str, key: str):
    """Stored predictions of `mid` on the split, or a button that computes them (None until then)."""
    try:
        pred = preds.load_predictions(ws, mid, split)
        if pred is not None:
            return pred
        clips, skipped = preds.split_clips(ws, by_id[mid], split)
    except preds.EvaluateError as exc:
        st.error(str(exc))
        return None
    if not clips:
        st.info(f"The {split} split has no clips of the movements this model knows: cut clips and make splits "
                "on the **Clips** page." + (f" ({len(skipped)} clips are of other movements.)" if skipped else ""))
        return None
    note = st.empty()  # the banner goes as soon as the model has run
    note.info(f"Model {mid} has not been run on the {len(clips)} clips of the {split} split since it or the split "
              "last changed.")
    if st.button(f"Run the model on {len(clips)} clips", key=f"predict_{key}"):
        bar = st.progress(0.0, text="loading the model…")
        try:
            pred = preds.predict_split(ws, mid, split, progress=lambda d, t, text: bar.progress(d / t, text=f"{d}/{t} {text}"))
        except preds.EvaluateError as exc:
            st.error(str(exc))
            return None
        except Exception as exc:  # shown as a message, never a stack trace
            st.error(f"Evaluation failed: {type(exc).__name__}: {exc}")
            return None
        bar.empty()
        note.empty()
        return pred
    return None


pred = predictions(model_id, "main")
if pred is None:
    st.stop()
rep = pred.report()
labels = rep["labels"]
if pred.skipped:
    st.caption(f"{len(pred.skipped)} clips of the split are of movements this model was not trained on; left out.")

# --- headline -----------------------------------------------------------------------------------
cols = st.columns(5)
cols[0].metric("Top-1 accuracy", pct(rep["top1"]),
               help="Share of clips whose most probable movement is the true one.")
cols[1].metric(f"Top-{rep['k']} accuracy", pct(rep["top5"]),
               help=f"Share of clips whose true movement is among the {rep['k']} most probable.")
cols[2].metric("Mean class accuracy", pct(rep["mean_class_acc"]),
               help="Mean over the movements with clips of the share of their clips classified right (recall).")
cols[3].metric("Clips", rep["n"])
cols[4].metric("ECE", "n/a" if math.isnan(rep["ece"]) else f"{rep['ece']:.3f}",
               help="Expected calibration error, 15 equal-width bins of the top probability.")
ci = rep["top1_ci"]
st.caption(f"Top-1 95% bootstrap interval: **{pct(ci['low'])} – {pct(ci['high'])}** ({ci['resamples']} resamples "
           f"of the {rep['n']} clips, seed {ci['seed']}). Predictions: `{ws.relative(pred.path)}`"
           + (" (stored)" if pred.reused else " (just computed)") + ".")

t_conf, t_class, t_corr, t_prob, t_cal, t_cmp, t_exp = st.tabs(
    ["Confusion", "Per movement", "Correlation", "Probabilities", "Calibration", "Compare", "Export"])

# --- confusion matrix with click-through ----------------------------------------------------------
with t_conf:
    mode = st.radio("Show", ["counts", "rates"], horizontal=True, key="cm_mode",
                    format_func=lambda m: "clip counts" if m == "counts" else "rates (each row sums to 1)")
    counts = rep["confusion"]["counts"]
    if st.session_state.get("cell_true") not in labels or st.session_state.get("cell_pred") not in labels:
        off = [(counts[t][p], -t, -p) for t in range(len(labels)) for p in range(len(labels)) if t != p]
        best = max(off) if off else (0, 0, 0)
        t0, p0 = (-best[1], -best[2]) if best[0] > 0 else (0, 0)
        st.session_state["cell_true"], st.session_state["cell_pred"] = labels[t0], labels[p0]
    left, right = st.columns([3, 2])
    with left:
        event = st.plotly_chart(figures.figure_confusion(rep, mode), key="cm_chart", on_select="rerun",
                                selection_mode="points")
        points = ((event or {}).get("selection") or {}).get("points") or []
        if points:
            clicked = (points[0].get("y"), points[0].get("x"))
            if clicked != st.session_state.get("cm_click") and clicked[0] in labels and clicked[1] in labels:
                st.session_state["cm_click"] = clicked
                st.session_state["cell_true"], st.session_state["cell_pred"] = clicked
        st.caption("Rows: true movement; columns: predicted. Click a cell (or choose it on the right) to see its clips.")
    with right:
        true_m = st.selectbox("True movement", labels, key="cell_true")
        pred_m = st.selectbox("Predicted as", labels, key="cell_pred")
        ti, pi = labels.index(true_m), labels.index(pred_m)
        row_total = sum(counts[ti])
        st.metric("Clips in this cell", counts[ti][pi],
                  help="How many clips of the true movement the model predicted as the chosen one.")
        st.caption(f"{pct(rep['confusion']['rates'][ti][pi])} of the {row_total} clips of {true_m}."
                   if row_total else f"No clips of {true_m} in this split.")
    cell = [c for c in rep["clips"] if c["true"] == true_m and c["pred"] == pred_m]
    if cell:
        st.dataframe(pd.DataFrame([{"clip": c["path"], f"p({true_m})": round(c["p_true"], 4),
                                    f"p({pred_m})": round(c["p_pred"], 4),
                                    "top-5": " · ".join(f"{m} {p:.2f}" for m, p in c["top"])} for c in cell]),
                     hide_index=True, key="cell_clips")
        if len(cell) > MAX_PLAYERS:
            st.caption(f"Playing the first {MAX_PLAYERS} of {len(cell)} clips; the table lists them all.")
        grid = st.columns(3)
        for i, c in enumerate(cell[:MAX_PLAYERS]):
            with grid[i % 3]:
                path = ws.absolute(c["path"])
                if path.is_file():
                    st.video(str(path))
                else:
                    st.warning(f"clip file missing: {c['path']}")
                st.caption(f"**{c['path']}**  \n" + "  \n".join(f"{m}: {p:.3f}" for m, p in c["top"]))
    else:
        st.info(f"No clip of {true_m} was predicted as {pred_m}.")

# --- per movement ---------------------------------------------------------------------------------
with t_class:
    st.dataframe(pd.DataFrame(rep["per_class"]).rename(columns={"predicted": "predicted as it"}),
                 hide_index=True, key="per_class",
                 column_config={k: st.column_config.NumberColumn(format="%.3f") for k in ("precision", "recall", "f1")})
    st.caption("Precision: right among the clips predicted as the movement (empty when none was). Recall: right "
               "among the clips of the movement. F1 = 2·TP / (2·TP + FP + FN). Support: clips of the movement.")

# --- correlation heatmap --------------------------------------------------------------------------
with t_corr:
    st.plotly_chart(figures.figure_correlation(rep), key="corr_chart")
    st.caption("Column *j* looks at the clips whose true movement is *j*: entry (*i*, *j*) is the Pearson "
               "correlation, across those clips, between the probability of movement *i* and that of movement *j*. "
               "The diagonal is 1. Empty cells are undefined: a movement with fewer than two clips, or a "
               "probability that does not vary over the clips. Strongly negative cells: the movements the model "
               "hesitates between.")

# --- probability table and distributions ----------------------------------------------------------
with t_prob:
    st.dataframe(pd.DataFrame(rep["prob_table"]), hide_index=True, key="prob_table",
                 column_config={"mean": st.column_config.NumberColumn(format="%.3f"),
                                "sd": st.column_config.NumberColumn(format="%.3f")})
    st.caption("Per movement, over its clips: the mean and the sample standard deviation (n − 1) of the probability "
               "the model gave to the true movement, highest mean first.")
    dist = pred.distributions()
    present = [m for m in labels if (dist["true"] == m).any()]
    if present:
        shown_m = st.selectbox("Clips of movement", present, key="dist_movement")
        st.plotly_chart(figures.figure_distributions(dist, shown_m), key="dist_chart")

# --- calibration ----------------------------------------------------------------------------------
with t_cal:
    st.plotly_chart(figures.figure_reliability(rep), key="rel_chart")
    st.caption("Bars: accuracy of the clips whose top probability falls in each bin; the dashed line is perfect "
               "calibration. ECE is the clip-weighted mean gap between bar and line.")
    with st.expander("Bins"):
        st.dataframe(pd.DataFrame(rep["reliability"]), hide_index=True, key="rel_table")

# --- compare two models ---------------------------------------------------------------------------
with t_cmp:
    others = [i for i in by_id if i != model_id]
    if not others:
        st.info("Only one model is registered; train another to compare.")
    else:
        other_id = st.selectbox("Compare with", others, format_func=lambda i: model_name(by_id[i]), key="compare_model")
        other = predictions(other_id, "compare")
        if other is not None:
            rep_b = other.report()
            diff = metrics.compare(rep, rep_b)
            a_col, b_col = st.columns(2)
            for col, name, r in ((a_col, model_id, rep), (b_col, other_id, rep_b)):
                col.markdown(f"**{name}**")
                col.metric("Top-1", pct(r["top1"]))
                col.metric("Mean class accuracy", pct(r["mean_class_acc"]))
            st.dataframe(pd.DataFrame(diff["headline"]), hide_index=True, key="compare_headline")
            per = pd.DataFrame(diff["per_class"])
            st.dataframe(per, hide_index=True, key="compare_per_class")
            st.plotly_chart(px.bar(per, x="movement", y="recall_diff",
                                   title=f"recall of {other_id} minus recall of {model_id}"), key="compare_chart")
            if diff["same_clips"]:
                p = diff["paired"]
                st.caption(f"Same {rep['n']} clips: both right {p['both_right']}, only {model_id} right {p['only_a']}, "
                           f"only {other_id} right {p['only_b']}, both wrong {p['both_wrong']}.")
            else:
                st.caption("The two models were scored on different clips (different movements or a changed "
                           "split): compare with care.")

# --- export ---------------------------------------------------------------------------------------
with t_exp:
    stem = f"{model_id}_{split}"
    st.markdown("**Tables (CSV)**")
    tcols = st.columns(4)
    for i, (name, df) in enumerate(metrics.tables(rep).items()):
        index = name.startswith(("confusion", "correlation"))
        tcols[i % 4].download_button(f"{name}.csv", df.to_csv(index=index).encode(), f"{stem}_{name}.csv",
                                     "text/csv", key=f"csv_{name}", on_click="ignore")
    st.download_button("report.json", json.dumps(registry.to_jsonable(rep), indent=2), f"{stem}_report.json",
                       "application/json", key="json_report", on_click="ignore")
    st.markdown("**Figures** (drawn with matplotlib when you click)")
    fcols = st.columns(len(figures.FIGURES))
    for col, name in zip(fcols, figures.FIGURES):
        for fmt in ("png", "svg"):
            col.download_button(f"{name}.{fmt}", lambda name=name, fmt=fmt: figures.render_figure(rep, name, fmt, dist=dist),
                                f"{stem}_{name}.{fmt}", "image/png" if fmt == "png" else "image/svg+xml",
                                key=f"fig_{name}_{fmt}", on_click="ignore")
