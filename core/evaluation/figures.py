"""The study's figures of an evaluation report: plotly for the pages, matplotlib PNG/SVG for export
(offline), and `write_outputs` (report.json, tables as CSV, every figure)."""
from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np

from core.evaluation.metrics import ECE_BINS, tables
from core.modeling.registry import to_jsonable


def _cell_text(value: float, fmt: str) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)


def figure_confusion(report: dict, mode: str = "counts"):
    """Plotly heatmap of the confusion matrix (rows = true, columns = predicted), hover with count
    and rate. A transparent scatter marker sits on every cell: heatmaps do not report a clicked
    cell in Streamlit, scatter points do (`on_select`, selection_mode="points"); its customdata
    is [true index, predicted index]."""
    import plotly.graph_objects as go

    labels = report["labels"]
    counts = np.asarray(report["confusion"]["counts"], dtype=np.float64)
    rates = np.asarray(report["confusion"]["rates"], dtype=np.float64)
    z = counts if mode == "counts" else rates
    text = [[_cell_text(v, ".0f" if mode == "counts" else ".2f") for v in row] for row in z]
    k = len(labels)
    xs, ys, custom, hover = [], [], [], []
    for t in range(k):
        for p in range(k):
            xs.append(labels[p])
            ys.append(labels[t])
            custom.append([t, p])
            rate = _cell_text(rates[t, p] * 100 if not math.isnan(rates[t, p]) else math.nan, ".1f")
            hover.append(f"true: {labels[t]}<br>predicted: {labels[p]}<br>clips: {int(counts[t, p])}"
                         f"<br>rate of the row: {rate + '%' if rate else 'n/a (no clips)'}")
    fig = go.Figure(go.Heatmap(z=z, x=labels, y=labels, colorscale="Blues", text=text, texttemplate="%{text}",
                               hoverinfo="skip", zmin=0, zmax=None if mode == "counts" else 1,
                               colorbar={"title": "clips" if mode == "counts" else "rate"}))
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", customdata=custom, hovertext=hover, hoverinfo="text",
                             marker={"symbol": "square", "size": 24, "color": "rgba(0,0,0,0)"},
                             selected={"marker": {"opacity": 1}}, unselected={"marker": {"opacity": 1}},
                             showlegend=False, name="cells"))
    # Fixed ranges (the markers must not pad the axes) and hoverdistance -1: a click anywhere in a
    # cell picks the nearest marker, which is that cell's centre.
    fig.update_layout(xaxis={"title": "predicted movement", "range": [-0.5, k - 0.5]},
                      yaxis={"title": "true movement", "range": [k - 0.5, -0.5]},
                      height=160 + 52 * k, margin={"t": 30}, hoverdistance=-1, hovermode="closest")
    return fig


def figure_correlation(report: dict):
    import plotly.graph_objects as go

    labels = report["labels"]
    z = np.asarray(report["correlation"], dtype=np.float64)
    text = [[_cell_text(v, ".2f") or "–" for v in row] for row in z]
    hover = [[f"clips of {labels[j]}<br>corr(p[{labels[i]}], p[{labels[j]}]) = "
              f"{_cell_text(z[i, j], '.3f') or 'undefined (fewer than 2 clips or constant probability)'}"
              for j in range(len(labels))] for i in range(len(labels))]
    fig = go.Figure(go.Heatmap(z=z, x=labels, y=labels, zmin=-1, zmax=1, colorscale="RdBu", reversescale=True,
                               text=text, texttemplate="%{text}", hovertext=hover, hoverinfo="text",
                               colorbar={"title": "Pearson r"}))
    fig.update_layout(xaxis_title="clips of true movement j", yaxis_title="probability of movement i",
                      yaxis={"autorange": "reversed"}, height=160 + 52 * len(labels), margin={"t": 30})
    return fig


def figure_distributions(dist, movement: str):
    """Box plots of every movement's probability over the clips whose true movement is `movement`."""
    import plotly.express as px

    part = dist[dist["true"] == movement]
    fig = px.box(part, x="movement", y="prob", points="all", hover_data=["clip"],
                 title=f"clips of {movement} (n = {part['clip'].nunique()})")
    fig.update_layout(yaxis={"range": [-0.02, 1.02], "title": "probability"}, xaxis_title="movement")
    return fig


def figure_reliability(report: dict):
    import plotly.graph_objects as go

    rel = report["reliability"]
    mids = [(b["lo"] + b["hi"]) / 2 for b in rel]
    width = rel[0]["hi"] - rel[0]["lo"] if rel else 0.1
    acc = [b["accuracy"] if b["count"] else None for b in rel]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=mids, y=acc, width=width * 0.95, name="accuracy",
                         customdata=[[b["count"], b["confidence"]] for b in rel],
                         hovertemplate="confidence %{x:.2f}<br>accuracy %{y:.3f}<br>clips %{customdata[0]}"
                                       "<br>mean confidence %{customdata[1]:.3f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration",
                             line={"dash": "dash", "color": "gray"}))
    fig.update_layout(xaxis={"range": [0, 1], "title": "confidence (max probability)"},
                      yaxis={"range": [0, 1], "title": "accuracy"},
                      title=f"ECE = {_cell_text(report['ece'], '.3f') or 'n/a'} ({report.get('ece_bins', ECE_BINS)} bins)",
                      height=420)
    return fig


FIGURES = ("confusion_counts", "confusion_rates", "correlation", "reliability", "distributions")


def render_figure(report: dict, name: str, fmt: str = "png", dist=None) -> bytes:
    """A report figure as PNG or SVG bytes, drawn with matplotlib (works offline; plotly's own
    image export needs kaleido and a Chrome). `name` in FIGURES; `distributions` draws one box
    plot panel per movement with clips (pass `dist` to reuse a `distributions` frame)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if fmt not in ("png", "svg"):
        raise ValueError("fmt must be png or svg")
    labels = report["labels"]
    k = len(labels)
    if name in ("confusion_counts", "confusion_rates", "correlation"):
        if name == "correlation":
            z = np.asarray(report["correlation"], dtype=np.float64)
            cmap, vmin, vmax, fmt_cell = "RdBu_r", -1, 1, ".2f"
            xlabel, ylabel, title = "clips of true movement j", "probability of movement i", \
                "Correlation of probabilities (column j: clips of movement j)"
        else:
            z = np.asarray(report["confusion"]["counts" if name == "confusion_counts" else "rates"], dtype=np.float64)
            cmap, vmin = "Blues", 0
            vmax = None if name == "confusion_counts" else 1
            fmt_cell = ".0f" if name == "confusion_counts" else ".2f"
            xlabel, ylabel = "predicted movement", "true movement"
            title = "Confusion matrix (" + ("counts" if name == "confusion_counts" else "row rates") + ")"
        fig, ax = plt.subplots(figsize=(1.0 + 0.75 * k, 0.8 + 0.7 * k))
        im = ax.imshow(np.ma.masked_invalid(z), cmap=cmap, vmin=vmin, vmax=vmax)
        fig.colorbar(im, ax=ax, fraction=0.046)
        ax.set_xticks(range(k), labels, rotation=45, ha="right")
        ax.set_yticks(range(k), labels)
        finite = z[np.isfinite(z)]
        top = vmax if vmax is not None else (finite.max() if finite.size else 1)
        for i in range(k):
            for j in range(k):
                v = z[i, j]
                cell = _cell_text(v, fmt_cell) or "–"
                dark = np.isfinite(v) and (abs(v) > 0.6 * top if name != "correlation" else abs(v) > 0.6)
                ax.text(j, i, cell, ha="center", va="center", fontsize=8, color="white" if dark else "black")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
    elif name == "reliability":
        rel = report["reliability"]
        fig, ax = plt.subplots(figsize=(5, 5))
        mids = [(b["lo"] + b["hi"]) / 2 for b in rel]
        acc = [b["accuracy"] if b["count"] else 0 for b in rel]
        width = (rel[0]["hi"] - rel[0]["lo"]) * 0.95 if rel else 0.05
        ax.bar(mids, acc, width=width, edgecolor="black", label="accuracy")
        ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence (max probability)")
        ax.set_ylabel("accuracy")
        ax.set_title(f"Reliability, ECE = {_cell_text(report['ece'], '.3f') or 'n/a'}")
        ax.legend(loc="upper left")
    elif name == "distributions":
        if dist is None:
            raise ValueError("distributions needs the `distributions` frame (dist=…)")
        present = [m for m in labels if (dist["true"] == m).any()]
        cols = min(3, max(1, len(present)))
        rows = max(1, math.ceil(len(present) / cols))
        fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.2 * rows), squeeze=False)
        for ax in axes.flat:
            ax.set_visible(False)
        for ax, m in zip(axes.flat, present):
            ax.set_visible(True)
            part = dist[dist["true"] == m]
            data = [part.loc[part["movement"] == x, "prob"].to_numpy() for x in labels]
            ax.boxplot(data, tick_labels=labels)
            ax.set_ylim(-0.02, 1.02)
            ax.set_title(f"clips of {m} (n = {part['clip'].nunique()})", fontsize=9)
            ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    else:
        raise ValueError(f"unknown figure {name!r}; one of {', '.join(FIGURES)}")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=150)
    plt.close(fig)
    return buf.getvalue()


def write_outputs(rep: dict, out_dir, dist=None) -> list[Path]:
    """report.json, every table as CSV and every figure as PNG and SVG into out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "report.json"]
    written[0].write_text(json.dumps(to_jsonable(rep), indent=2))
    for name, df in tables(rep).items():
        path = out / f"{name}.csv"
        df.to_csv(path, index=name.startswith(("confusion", "correlation")))
        written.append(path)
    for name in FIGURES:
        if name == "distributions" and dist is None:
            continue
        for fmt in ("png", "svg"):
            path = out / f"{name}.{fmt}"
            path.write_bytes(render_figure(rep, name, fmt, dist=dist))
            written.append(path)
    return written
