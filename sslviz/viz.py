"""Figure builders: arrays in, plotly figures (one Vega-Lite chart, or image arrays) out. No Streamlit here.

Colours come from the Okabe–Ito palette (Okabe & Ito, "Color Universal Design", 2008), chosen to
stay distinguishable with every common colour-vision deficiency; class markers also differ in
symbol, so colour is never the only cue. Heatmaps use cividis, which is perceptually uniform and
reads the same to colour-blind viewers. ``tests/test_viz.py`` walks every figure builder to check it.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import torch
from PIL import Image

if TYPE_CHECKING:
    import altair as alt

# Okabe–Ito, ordered so that neighbouring categories contrast most on white (yellow, the weakest on white, comes late).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
POSITIVE, WARNING, PLAIN = "#009E73", "#D55E00", "#0072B2"  # roles: the positive pair / a flagged bar / an ordinary bar
NEUTRALS = ("#222222", "#bbbbbb")  # the supervised baseline's line, guide circles
COLOR_SCALE = "Cividis"
SYMBOLS = ["circle", "square", "diamond", "cross", "x", "triangle-up", "triangle-down", "star", "hexagon", "pentagon"]
# The toolbar (zoom, download) stands in a column at the right edge, not over the title, which starts at the left.
LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), colorway=PALETTE, height=320, modebar=dict(orientation="v"))
TEMPLATE = pio.templates["plotly_white"]  # every figure's (set by _figure)
# What a chart calls a logged metric (the history keys methods and recipes write): words, not variable names.
METRIC_LABELS = {
    "loss": "loss", "step": "step", "seconds": "seconds", "round": "round",
    "positive_sim": "positive pairs", "negative_sim": "negatives", "alignment": "alignment", "uniformity": "uniformity",
    "effective_rank": "effective rank", "embedding_std": "embedding std", "raw_std": "std before normalising",
    "image_to_partner_acc": "image → partner", "partner_to_image_acc": "partner → image", "pair_acc": "pair accuracy", "word_acc": "word accuracy",
    "masked_mse": "hidden patches", "visible_mse": "visible patches", "hole_mse": "hole MSE", "colour_mse": "colour MSE",
    "reconstruction_mse": "reconstruction MSE", "pretext_acc": "pretext accuracy", "pseudo_label_acc": "pseudo-label accuracy",
    "largest_cluster": "largest cluster (share)", "empty_clusters": "empty clusters", "teacher_entropy": "teacher entropy",
    "prototypes_used": "prototypes used", "assignment_entropy": "assignment entropy", "own_keys_left_out": "own keys left out",
    "on_diagonal": "on-diagonal", "off_diagonal": "off-diagonal", "nmi": "NMI with the class", "ari": "ARI with the class",
    "nmi_previous": "NMI with the previous round", "changed": "changed cluster (share)",
}


def _figure(data: object = None) -> go.Figure:
    """A plotly figure on the plotly_white template, set as plotly sets its default template (its
    ``_initialize_layout_template``): not validated, since a registered template is valid already. Naming the template in
    the layout validated a copy of all of it every time: 20 ms a figure, 5× a line chart's other work, on the core a run
    trains beside (live pages redraw their figures every second). The figure's JSON is the same (tests/test_viz.py)."""
    fig = go.Figure(data)
    validate, fig.layout._validate = fig.layout._validate, False
    try:
        fig.layout.template = TEMPLATE
    finally:
        fig.layout._validate = validate
    return fig


def metric_label(key: str) -> str:
    """The words a chart shows for the logged metric ``key`` (``nmi_colour`` → "NMI with colour"; unknown keys lose their underscores)."""
    if key in METRIC_LABELS:
        return METRIC_LABELS[key]
    if key.startswith("nmi_"):
        return f"NMI with {key[4:].replace('_', ' ')}"
    return key.replace("_", " ")


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """N×C×H×W floats in [0, 1] -> N×H×W×3 uint8 (grey images repeated to RGB)."""
    x = images.detach().cpu().float().clamp(0, 1)
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    return (x.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)


def tile(images: torch.Tensor, cols: int = 8, scale: int = 4, pad: int = 2) -> np.ndarray:
    """A grid of images as one H×W×3 uint8 array, enlarged ``scale``× with crisp pixels."""
    arr = to_uint8(images)
    n, h, w, _ = arr.shape
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), 255, np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = arr[i]
    return out.repeat(scale, 0).repeat(scale, 1)


def line_chart(history: Sequence[dict[str, float]], keys: Sequence[str], title: str, x: str = "step", right: Sequence[str] = ()) -> go.Figure:
    """One line per metric in ``keys`` against ``x`` (step or seconds); metrics in ``right`` get their own y-axis."""
    fig = _figure()
    xs = [row[x] for row in history]
    for i, key in enumerate(keys):
        mode = "lines+markers" if len(xs) <= 20 else "lines"  # few points: show where they are
        fig.add_trace(go.Scatter(x=xs, y=[row.get(key) for row in history], mode=mode, name=metric_label(key) + (" (right axis)" if key in right else ""),
                                 yaxis="y2" if key in right else "y", line=dict(color=PALETTE[i % len(PALETTE)], width=2)))
    fig.update_layout(title=title, xaxis_title=metric_label(x), **LAYOUT)
    if right:
        fig.update_layout(yaxis2=dict(overlaying="y", side="right", showgrid=False), legend=dict(orientation="h", y=-0.25))
    return fig


def embedding_scatter(coords: np.ndarray, labels: np.ndarray, class_names: Sequence[str], title: str) -> go.Figure:
    """2-D embedding, one trace (colour and symbol) per class so the legend explains it."""
    fig = _figure()
    for c, name in enumerate(class_names):
        sel = labels == c
        if sel.any():
            fig.add_trace(go.Scattergl(
                x=coords[sel, 0], y=coords[sel, 1], mode="markers", name=str(name),
                marker=dict(color=PALETTE[c % len(PALETTE)], symbol=SYMBOLS[c % len(SYMBOLS)], size=6, opacity=0.8),
            ))
    fig.update_layout(title=title, xaxis=dict(showticklabels=False), yaxis=dict(showticklabels=False), **{**LAYOUT, "height": 380})
    return fig


VEGA_SHAPES = ["circle", "square", "diamond", "cross", "triangle-up", "triangle-down", "triangle-right", "triangle-left", "wedge", "arrow"]


def data_urls(images: torch.Tensor, scale: int = 2) -> list[str]:
    """Each image as a PNG ``data:`` URL, enlarged ``scale``× with crisp pixels: what a chart's tooltip can show."""
    out = []
    for arr in to_uint8(images):
        buffer = io.BytesIO()
        Image.fromarray(arr.repeat(scale, 0).repeat(scale, 1)).save(buffer, format="PNG", optimize=True)
        out.append("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"))
    return out


def thumbnail_scatter(coords: np.ndarray, labels: np.ndarray, class_names: Sequence[str], title: str,
                      thumbnails: Sequence[str], select: str = "picked") -> alt.Chart:
    """The 2-D embedding as a Vega-Lite chart whose tooltip shows each point's image (``thumbnails``: data URLs, one per
    point) and whose click selects the point (selection parameter ``select``, field ``image_index``).

    Colour and shape both follow the class, from the same palette as :func:`embedding_scatter`. Drawn as SVG, so each
    point is an element a browser (and a browser test) can hover.
    """
    import altair as alt  # here, not at the top: most pages never draw one, and importing it costs a few tenths of a second

    if not len(coords) == len(labels) == len(thumbnails):
        raise ValueError(f"coords, labels and thumbnails must have one row per point, got {len(coords)}, {len(labels)} and {len(thumbnails)}.")
    names = [str(n) for n in class_names]
    rows = [{"x": float(x), "y": float(y), "class": names[int(c)], "image_index": i, "image": url}
            for i, ((x, y), c, url) in enumerate(zip(coords[:, :2], labels, thumbnails))]
    present = [n for n in names if any(r["class"] == n for r in rows)]
    palette = [PALETTE[names.index(n) % len(PALETTE)] for n in present]
    shapes = [VEGA_SHAPES[names.index(n) % len(VEGA_SHAPES)] for n in present]
    picked = alt.selection_point(name=select, fields=["image_index"], on="click", clear="dblclick")
    axis = alt.Axis(labels=False, ticks=False, title=None, grid=False)
    chart = alt.Chart(alt.Data(values=rows)).mark_point(filled=True, size=40).encode(
        x=alt.X("x:Q", axis=axis), y=alt.Y("y:Q", axis=axis),
        color=alt.Color("class:N", scale=alt.Scale(domain=present, range=palette), legend=alt.Legend(title=None)),
        shape=alt.Shape("class:N", scale=alt.Scale(domain=present, range=shapes)),
        opacity=alt.condition(picked, alt.value(0.85), alt.value(0.25)),
        tooltip=[alt.Tooltip("image:N"), alt.Tooltip("class:N"), alt.Tooltip("image_index:Q", title="test image")],
    ).add_params(picked).properties(title=title, height=380)
    chart.usermeta = {"embedOptions": {"renderer": "svg"}}
    return chart


def accuracy_bars(rows: dict[str, dict[str, float]], title: str) -> go.Figure:
    """Grouped bars: one group per encoder (rows), one bar per metric (probe, kNN)."""
    metrics = list(next(iter(rows.values())).keys()) if rows else []
    fig = _figure()
    for i, metric in enumerate(metrics):
        ys = [r[metric] for r in rows.values()]
        fig.add_trace(go.Bar(x=list(rows), y=ys, name=metric, marker_color=PALETTE[i % len(PALETTE)], text=[f"{y:.2f}" for y in ys], textposition="outside"))
    fig.update_layout(title=title, barmode="group", yaxis=dict(range=[0, 1.08], title="test accuracy"), **LAYOUT)
    return fig


def similarity_bars(similarity: np.ndarray, probability: np.ndarray, positive: int, labels: Sequence[str], title: str) -> go.Figure:
    """InfoNCE explorer: cosine similarity and softmax probability of one anchor to every other view."""
    colours = [POSITIVE if i == positive else WARNING for i in range(len(similarity))]
    fig = _figure()
    fig.add_trace(go.Bar(x=list(labels), y=similarity, name="cosine similarity", marker_color=colours, opacity=0.45))
    fig.add_trace(go.Bar(x=list(labels), y=probability, name="softmax probability", marker_color=colours))
    fig.update_layout(title=title, barmode="overlay", yaxis=dict(range=[-1, 1.05]), xaxis=dict(title="other views (green = the positive)"), **LAYOUT)
    return fig


def similarity_matrix(sim: np.ndarray, title: str, positives: Sequence[tuple[int, int]] = ()) -> go.Figure:
    """Heatmap of a similarity matrix (e.g. the 2N×2N cosine similarities of a batch).

    ``positives`` lists (row, column) cells to outline — the positive pairs.
    """
    fig = _figure(go.Heatmap(z=sim, colorscale=COLOR_SCALE, zmin=-1, zmax=1, colorbar=dict(title="cos")))
    if positives:
        rows, cols = zip(*positives)
        fig.add_trace(go.Scatter(x=list(cols), y=list(rows), mode="markers", name="positive pair", hoverinfo="skip",
                                 marker=dict(symbol="square-open", size=9, color=WARNING, line=dict(width=2))))
        fig.update_layout(legend=dict(orientation="h", y=-0.12))
    fig.update_layout(title=title, yaxis=dict(autorange="reversed"), **{**LAYOUT, "height": 360})
    return fig


def grouped_lines(history: Sequence[dict], group: str, metric: str, title: str, x: str = "seconds") -> go.Figure:
    """One line of ``metric`` per value of ``group`` (e.g. per method in a comparison)."""
    fig = _figure()
    names = list(dict.fromkeys(row[group] for row in history))
    for i, name in enumerate(names):
        rows = [r for r in history if r[group] == name and metric in r]
        fig.add_trace(go.Scatter(x=[r[x] for r in rows], y=[r[metric] for r in rows], mode="lines", name=str(name),
                                 line=dict(color=PALETTE[i % len(PALETTE)], width=2, dash=["solid", "dash", "dot", "dashdot"][i % 4])))
    fig.update_layout(title=title, xaxis_title=metric_label(x), yaxis_title=metric_label(metric), **LAYOUT)
    return fig


def sphere_scatter(points: np.ndarray, labels: np.ndarray, class_names: Sequence[str], title: str) -> go.Figure:
    """Unit-norm 2-D or 3-D embeddings on their circle/sphere, one trace per class."""
    fig = _figure()
    three_d = points.shape[1] == 3
    if not three_d:
        t = np.linspace(0, 2 * np.pi, 200)
        fig.add_trace(go.Scatter(x=np.cos(t), y=np.sin(t), mode="lines", line=dict(color=NEUTRALS[1], width=1), showlegend=False, hoverinfo="skip"))
    for c, name in enumerate(class_names):
        sel = labels == c
        if not sel.any():
            continue
        marker = dict(color=PALETTE[c % len(PALETTE)], symbol=SYMBOLS[c % len(SYMBOLS)] if not three_d else "circle", size=5 if three_d else 7, opacity=0.8)
        if three_d:
            fig.add_trace(go.Scatter3d(x=points[sel, 0], y=points[sel, 1], z=points[sel, 2], mode="markers", name=str(name), marker=marker))
        else:
            fig.add_trace(go.Scatter(x=points[sel, 0], y=points[sel, 1], mode="markers", name=str(name), marker=marker))
    layout = {**LAYOUT, "height": 420}
    if not three_d:
        layout.update(xaxis=dict(range=[-1.15, 1.15], scaleanchor="y"), yaxis=dict(range=[-1.15, 1.15]))
    fig.update_layout(title=title, **layout)
    return fig


def method_diagram(edges: Sequence[tuple[str, ...]]) -> str:
    """Graphviz DOT source of a method's data flow (a registry entry's ``diagram``: (from, to[, dashed-edge label]) edges), left to right."""
    if not edges:
        raise ValueError("A diagram needs at least one edge.")
    lines = ['digraph { rankdir=LR; node [shape=box, style="rounded,filled", fillcolor="#f3f6fa", fontname="Helvetica", fontsize=11];']
    for a, b, *rest in edges:
        label = rest[0] if rest else None
        style = f' [label="{label}", style=dashed, fontsize=9]' if label else ""
        lines.append(f'  "{a}" -> "{b}"{style};')
    return "\n".join(lines + ["}"])


def patch_grid(image: torch.Tensor, patch_size: int, hidden: torch.Tensor | None = None, scale: int = 8, line: int = 1) -> np.ndarray:
    """One C×H×W image enlarged, with the patch grid drawn and hidden patches (L bool, row-major) greyed out."""
    arr = to_uint8(image.unsqueeze(0))[0].repeat(scale, 0).repeat(scale, 1)
    step = patch_size * scale
    grid_h, grid_w = image.shape[1] // patch_size, image.shape[2] // patch_size
    if hidden is not None:
        for i in torch.nonzero(hidden.reshape(-1)).flatten().tolist():
            r, c = divmod(i, grid_w)
            arr[r * step : (r + 1) * step, c * step : (c + 1) * step] = 128
    red = tuple(int(WARNING[i : i + 2], 16) for i in (1, 3, 5))  # grid lines in the palette's vermillion
    for k in range(grid_h + 1):
        arr[max(0, k * step - line) : k * step + line, :] = red
    for k in range(grid_w + 1):
        arr[:, max(0, k * step - line) : k * step + line] = red
    return arr


def bars(values: Sequence[float], labels: Sequence[str], title: str, y_title: str = "", highlight: Sequence[bool] = (), log_y: bool = False) -> go.Figure:
    """Plain bars (e.g. cluster sizes); bars flagged in ``highlight`` are drawn in the warning colour."""
    colours = [WARNING if i < len(highlight) and highlight[i] else PLAIN for i in range(len(values))]
    fig = _figure(go.Bar(x=[str(x) for x in labels], y=list(values), marker_color=colours))
    fig.update_layout(title=title, yaxis=dict(title=y_title, type="log" if log_y else "linear"), xaxis=dict(type="category"), **LAYOUT)
    return fig


def count_heatmap(table: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str], title: str) -> go.Figure:
    """A table of counts (e.g. clusters × classes) as a heatmap with the numbers written in."""
    fig = _figure(go.Heatmap(z=table, x=[str(c) for c in col_labels], y=[str(r) for r in row_labels], colorscale=COLOR_SCALE,
                               text=table, texttemplate="%{text}", colorbar=dict(title="images")))
    fig.update_layout(title=title, yaxis=dict(autorange="reversed", type="category"), xaxis=dict(type="category"),
                      **{**LAYOUT, "height": max(320, 18 * len(row_labels) + 80)})
    return fig


def efficiency_chart(summary: Sequence[dict], title: str) -> go.Figure:
    """Label-efficiency curves: accuracy (mean ± std over seeds) against the share of labels used, one line per encoder and mode."""
    fig = _figure()
    lines: dict[tuple[str, str], list[dict]] = {}
    for row in summary:
        lines.setdefault((row["encoder"], row["mode"]), []).append(row)
    dashes = {"linear probe": "dot", "fine-tune": "solid"}
    encoders = list(dict.fromkeys(enc for enc, _ in lines))
    for (enc, mode), rows in lines.items():
        rows = sorted(rows, key=lambda r: r["fraction"])
        scratch = enc == mode  # the supervised baseline is its own "encoder"
        fig.add_trace(go.Scatter(
            x=[100 * r["fraction"] for r in rows], y=[r["mean"] for r in rows], error_y=dict(type="data", array=[r["std"] for r in rows], visible=True),
            mode="lines+markers", name=mode if scratch else f"{enc} · {mode}",
            customdata=[[r["labels"], r["runs"]] for r in rows], hovertemplate="%{x:g}% labels (%{customdata[0]} images): %{y:.3f} (%{customdata[1]} seeds)",
            line=dict(color=NEUTRALS[0] if scratch else PALETTE[encoders.index(enc) % len(PALETTE)], width=3 if scratch else 2, dash="dash" if scratch else dashes.get(mode)),
            marker=dict(symbol=SYMBOLS[(encoders.index(enc)) % len(SYMBOLS)], size=8),
        ))
    shares = sorted({100 * r["fraction"] for r in summary})  # ticks at the shares measured, written as percentages (not plotly's "2 3 5" minor digits)
    fig.update_layout(title=title, xaxis=dict(type="log", title="share of the training labels used (log scale)", tickvals=shares,
                                              ticktext=[f"{v:g}%" for v in shares]),
                      yaxis=dict(title="test accuracy", range=[0, 1.02]), **{**LAYOUT, "height": 420})
    return fig


def spectrogram(spec: np.ndarray, sample_rate: int, hop: int, title: str) -> go.Figure:
    """An F×T log-magnitude spectrogram with time (ms) across and frequency (Hz) up."""
    n_freq, n_time = spec.shape
    fig = _figure(go.Heatmap(z=spec, x=np.arange(n_time) * hop / sample_rate * 1000, y=np.linspace(0, sample_rate / 2, n_freq),
                               colorscale=COLOR_SCALE, colorbar=dict(title="log |STFT|")))
    fig.update_layout(title=title, xaxis=dict(title="time (ms)"), yaxis=dict(title="frequency (Hz)"), **{**LAYOUT, "height": 280})
    return fig


def score_heatmap(scores: dict[str, dict[str, float]], title: str, colorbar: str = "accuracy") -> go.Figure:
    """A rows × columns table of scores in [0, 1] (e.g. encoders × attributes) with the values written in."""
    rows = list(scores)
    cols = list(dict.fromkeys(c for r in scores.values() for c in r))
    z = np.array([[scores[r].get(c, np.nan) for c in cols] for r in rows], dtype=np.float64)  # float32 inputs would print as 0.9900000095
    fig = _figure(go.Heatmap(z=z, x=cols, y=rows, zmin=0, zmax=1, colorscale=COLOR_SCALE, text=np.round(z, 2), texttemplate="%{text}",
                               colorbar=dict(title=colorbar)))
    fig.update_layout(title=title, yaxis=dict(autorange="reversed", type="category"), xaxis=dict(type="category", side="top"),
                      **{**LAYOUT, "height": max(260, 40 * len(rows) + 120)})
    return fig


def correlation_heatmap(c: np.ndarray, title: str) -> go.Figure:
    """A D×D cross-correlation matrix on a fixed −1..1 scale (Barlow Twins' target is the identity)."""
    fig = _figure(go.Heatmap(z=c, colorscale=COLOR_SCALE, zmin=-1, zmax=1, colorbar=dict(title="corr")))
    fig.update_layout(title=title, yaxis=dict(autorange="reversed", title="dimension of z₁"), xaxis=dict(title="dimension of z₂"),
                      **{**LAYOUT, "height": 380})
    return fig


def attention_rows(images: torch.Tensor, attention: torch.Tensor, masks: torch.Tensor | None = None) -> torch.Tensor:
    """Images (N×C×H×W), the head-averaged [CLS] attention (N×heads×g×g) upsampled and scaled to each map's maximum
    (a heat colour), and optionally the object masks (N×H×W): N×3×H×(2 or 3)W, for ``tile``."""
    n, _, h, w = images.shape
    heat = torch.nn.functional.interpolate(attention.mean(dim=1, keepdim=True), size=(h, w), mode="nearest")  # N×1×H×W
    heat = heat / heat.amax(dim=(2, 3), keepdim=True).clamp_min(1e-12)
    heat_rgb = torch.cat([heat, heat.pow(2), 0.3 * (1 - heat)], dim=1)  # dark blue (little) → yellow-white (most)
    colour = images if images.shape[1] == 3 else images.expand(-1, 3, -1, -1)
    parts = [colour, heat_rgb] + ([masks.unsqueeze(1).expand(-1, 3, -1, -1)] if masks is not None else [])
    return torch.cat(parts, dim=3)
